"""A loopback stub of the OpenAI HTTP API, for tests that must run offline.

The real ``openai`` client (and everything built on it: litellm's ``openai/`` models, LangChain's
``ChatOpenAI``, ...) talks to it unchanged, so the real OpenInference instrumentors record real
spans without any network access::

    from openai import OpenAI

    from llmops.testing import OpenAIStub

    with OpenAIStub() as stub:
        client = OpenAI(base_url=stub.base_url, api_key="test")
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello world"}]
        )
        assert completion.choices[0].message.content == "Echo: hello world"
        assert completion.usage.total_tokens == 5
        response = client.responses.create(model="gpt-4o-mini", input="hello world")
        assert response.output_text == "Echo: hello world"
        path, body = stub.requests[0]  # "/v1/chat/completions", {...}

Routes (``base_url`` is ``http://127.0.0.1:PORT/v1``):

* ``POST /v1/chat/completions`` answers a ``chat.completion`` object. With ``"stream": true`` it
  answers server-sent events: one ``chat.completion.chunk`` with the assistant role, one per
  word of the reply, one with the ``finish_reason``, then, when
  ``stream_options.include_usage`` is true, a chunk with no choices and the ``usage`` (every
  earlier chunk then carries ``"usage": null``, as the real API does), then ``data: [DONE]``.
* ``POST /v1/responses`` (the Responses API) answers a ``response`` object. With
  ``"stream": true`` it answers the events the real API sends for a text reply, each with its
  ``sequence_number``: ``response.created``, ``response.in_progress``,
  ``response.output_item.added``, ``response.content_part.added``, one
  ``response.output_text.delta`` per word, ``response.output_text.done``,
  ``response.content_part.done``, ``response.output_item.done`` and ``response.completed``
  (which carries the whole response, usage included).
* Anything else answers ``404`` with an OpenAI-style body
  ``{"error": {"message": ..., "type": "invalid_request_error", "param": null, "code": null}}``;
  a body that is not a JSON object, or without a ``model``, answers ``400``.

Everything is deterministic:

* ``prompt`` is the text of every ``user`` and ``tool`` message of a chat request, in order,
  joined by single spaces (string contents and ``text`` parts; ``system`` and ``assistant``
  messages are ignored); for the Responses API it is the ``input`` string, or the text of every
  ``user`` message item (``input_text`` parts) and every ``function_call_output`` item;
* the reply text is ``"Echo: " + prompt``;
* a chat request with ``tools`` and no ``tool`` message (and ``tool_choice`` not ``"none"``)
  answers instead with one call of the first function tool (``finish_reason`` ``tool_calls``,
  ``content`` null): its arguments are a JSON object that sets every ``string`` property of
  the tool's parameters to ``prompt`` (:func:`tool_arguments`). The follow-up request that
  carries the ``tool`` message gets a text reply by the rules above;
* ``prompt_tokens`` (``input_tokens``) is ``len(prompt.split())``; ``completion_tokens``
  (``output_tokens``) is the word count of the reply text, or of the arguments of a tool call;
  ``total_tokens`` is their sum;
* ``model`` is the model of the request, so ``llm.model_name`` equals the requested model;
* ids count in the order requests arrive: ``chatcmpl-stub-1``, ``resp_stub_2``,
  ``call_stub_3``, ...; ``created`` is always ``1700000000``.

:func:`chat_prompt`, :func:`responses_prompt`, :func:`reply_text`, :func:`token_count` and
:func:`tool_arguments` compute the same values for assertions. The server binds ``127.0.0.1``
only, on an ephemeral port unless one is given.

Run it standalone with ``python -m llmops.testing.openai_stub --port 8090``; it prints its base
URL and stops on SIGINT or SIGTERM. The module uses the standard library and msgspec only.
"""

from __future__ import annotations

import json
import re
import sys
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import urlsplit

import msgspec

from llmops.testing import _loopback
from llmops.testing._loopback import HOST as HOST
from llmops.testing._loopback import RecordedRequest

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

__all__ = [
    "OpenAIStub",
    "RecordedRequest",
    "chat_prompt",
    "reply_text",
    "responses_prompt",
    "token_count",
    "tool_arguments",
]

CREATED: Final = 1_700_000_000
"""The ``created`` / ``created_at`` timestamp of every reply."""

_WORD: Final = re.compile(r"\S+\s*")


# -- the deterministic formulas -------------------------------------------------------------


def _texts(content: Any, part_types: frozenset[str]) -> list[str]:
    """The text of a message ``content``: a string, or the text of its parts of ``part_types``."""
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for part in content if isinstance(content, list) else []:
        if (
            isinstance(part, dict)
            and part.get("type") in part_types
            and isinstance(part.get("text"), str)
        ):
            texts.append(part["text"])
    return texts


_CHAT_PARTS: Final = frozenset({"text"})
_RESPONSES_PARTS: Final = frozenset({"input_text", "text"})


def chat_prompt(body: Any) -> str:
    """The prompt the stub sees in a chat completions request: ``user`` and ``tool`` texts."""
    texts: list[str] = []
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") in {"user", "tool"}:
            texts.extend(_texts(message.get("content"), _CHAT_PARTS))
    return " ".join(texts)


def responses_prompt(body: Any) -> str:
    """The prompt the stub sees in a Responses API request: the ``input`` text (see the module
    docs for a list of input items)."""
    items = body.get("input") if isinstance(body, dict) else None
    if isinstance(items, str):
        return items
    texts: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("type", "message") == "message" and item.get("role") == "user":
            texts.extend(_texts(item.get("content"), _RESPONSES_PARTS))
        elif item.get("type") == "function_call_output" and isinstance(item.get("output"), str):
            texts.append(item["output"])
    return " ".join(texts)


def reply_text(prompt: str) -> str:
    """Return the stub's reply to ``prompt``: ``"Echo: " + prompt``."""
    return f"Echo: {prompt}"


def token_count(text: str) -> int:
    """Return the stub's token count of ``text``: its number of whitespace-separated words."""
    return len(text.split())


def tool_arguments(tool: Any, prompt: str) -> str:
    """The JSON arguments of the stub's call of ``tool`` (a chat ``tools`` entry): every
    ``string`` property of its parameters set to ``prompt``."""
    function = tool.get("function") if isinstance(tool, dict) else None
    parameters = function.get("parameters") if isinstance(function, dict) else None
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    arguments = {
        name: prompt
        for name, schema in (properties.items() if isinstance(properties, dict) else ())
        if isinstance(schema, dict) and schema.get("type") == "string"
    }
    return json.dumps(arguments)


def _tool_to_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool a chat request makes the stub call, or ``None`` for a text reply."""
    tools = body.get("tools")
    if not isinstance(tools, list) or body.get("tool_choice") == "none":
        return None
    messages = body.get("messages")
    if any(isinstance(m, dict) and m.get("role") == "tool" for m in messages or []):
        return None
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type", "function") == "function":
            function = tool.get("function")
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                return tool
    return None


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _error_body(message: str, error_type: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


# -- chat completions -------------------------------------------------------------------------


class _Chat(msgspec.Struct, frozen=True):
    """What one chat completions request is answered with."""

    id: str
    model: str
    prompt_tokens: int
    text: str | None
    tool_call: dict[str, Any] | None

    @property
    def completion_tokens(self) -> int:
        if self.tool_call is not None:
            return token_count(self.tool_call["function"]["arguments"])
        return token_count(self.text or "")

    @property
    def finish_reason(self) -> str:
        return "stop" if self.tool_call is None else "tool_calls"

    def usage(self) -> dict[str, Any]:
        return _usage(self.prompt_tokens, self.completion_tokens)

    def _envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": CREATED,
            "model": self.model,
            "system_fingerprint": "fp_stub",
            "service_tier": "default",
            "choices": choices,
        }

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.text,
            "refusal": None,
            "annotations": [],
        }
        if self.tool_call is not None:
            message["tool_calls"] = [self.tool_call]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": self.finish_reason,
        }
        return {**self._envelope("chat.completion", [choice]), "usage": self.usage()}

    def chunks(self, include_usage: bool) -> Iterator[dict[str, Any]]:
        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            payload = self._envelope("chat.completion.chunk", [choice])
            if include_usage:
                payload["usage"] = None
            return payload

        yield chunk({"role": "assistant", "content": "" if self.tool_call is None else None})
        if self.tool_call is not None:
            function = self.tool_call["function"]
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": self.tool_call["id"],
                            "type": "function",
                            "function": {"name": function["name"], "arguments": ""},
                        }
                    ]
                }
            )
            for piece in _WORD.findall(function["arguments"]):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        else:
            for piece in _WORD.findall(self.text or ""):
                yield chunk({"content": piece})
        yield chunk({}, self.finish_reason)
        if include_usage:
            yield {**self._envelope("chat.completion.chunk", []), "usage": self.usage()}


def _chat(body: dict[str, Any], number: int) -> _Chat:
    prompt = chat_prompt(body)
    model = str(body["model"])
    tool = _tool_to_call(body)
    if tool is None:
        return _Chat(
            f"chatcmpl-stub-{number}", model, token_count(prompt), reply_text(prompt), None
        )
    call = {
        "id": f"call_stub_{number}",
        "type": "function",
        "function": {"name": tool["function"]["name"], "arguments": tool_arguments(tool, prompt)},
    }
    return _Chat(f"chatcmpl-stub-{number}", model, token_count(prompt), None, call)


# -- the Responses API ------------------------------------------------------------------------


def _response(body: dict[str, Any], number: int, *, done: bool) -> dict[str, Any]:
    """The ``response`` object: complete (``done``), or as ``response.created`` shows it."""
    prompt = responses_prompt(body)
    reply = reply_text(prompt)
    input_tokens, output_tokens = token_count(prompt), token_count(reply)
    instructions = body.get("instructions")
    return {
        "id": f"resp_stub_{number}",
        "object": "response",
        "created_at": CREATED,
        "status": "completed" if done else "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": instructions if isinstance(instructions, str) else None,
        "max_output_tokens": body.get("max_output_tokens"),
        "model": str(body["model"]),
        "output": [_message_item(number, reply, done=True)] if done else [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }
        if done
        else None,
        "user": None,
        "metadata": {},
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(number: int, text: str | None, *, done: bool) -> dict[str, Any]:
    return {
        "id": f"msg_stub_{number}",
        "type": "message",
        "status": "completed" if done else "in_progress",
        "role": "assistant",
        "content": [_text_part(text)] if text is not None else [],
    }


def _response_events(body: dict[str, Any], number: int) -> Iterator[dict[str, Any]]:
    """The stream of a text reply, as the real API sends it (without ``sequence_number``)."""
    reply = reply_text(responses_prompt(body))
    item_id = f"msg_stub_{number}"
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    yield {"type": "response.created", "response": _response(body, number, done=False)}
    yield {"type": "response.in_progress", "response": _response(body, number, done=False)}
    yield {
        "type": "response.output_item.added",
        "output_index": 0,
        "item": _message_item(number, None, done=False),
    }
    yield {"type": "response.content_part.added", **where, "part": _text_part("")}
    for piece in _WORD.findall(reply):
        yield {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
    yield {"type": "response.output_text.done", **where, "text": reply, "logprobs": []}
    yield {"type": "response.content_part.done", **where, "part": _text_part(reply)}
    yield {
        "type": "response.output_item.done",
        "output_index": 0,
        "item": _message_item(number, reply, done=True),
    }
    yield {"type": "response.completed", "response": _response(body, number, done=True)}


# -- the server -------------------------------------------------------------------------------


_SSE_HEADERS: Final = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
}


class _Handler(_loopback.LoopbackHandler["OpenAIStub"]):
    server_version = "OpenAIStub/1.0"

    def do_POST(self) -> None:
        body = self._read_json()
        route = urlsplit(self.path).path.rstrip("/")
        number = self._stub._record(RecordedRequest(self.path, body))
        if route not in {"/v1/chat/completions", "/v1/responses"}:
            self._not_found()
            return
        if not isinstance(body, dict):
            self._send_json(HTTPStatus.BAD_REQUEST, _error_body("The body must be a JSON object."))
            return
        if not isinstance(body.get("model"), str):
            self._send_json(
                HTTPStatus.BAD_REQUEST, _error_body("you must provide a model parameter")
            )
            return
        stream = body.get("stream") is True
        if route == "/v1/chat/completions":
            chat = _chat(body, number)
            if not stream:
                self._send_json(HTTPStatus.OK, chat.completion())
                return
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            self._send_sse(((None, chunk) for chunk in chat.chunks(include_usage)), done=True)
        elif not stream:
            self._send_json(HTTPStatus.OK, _response(body, number, done=True))
        else:
            events = (
                (event["type"], {**event, "sequence_number": index})
                for index, event in enumerate(_response_events(body, number))
            )
            self._send_sse(events)

    def _not_found(self) -> None:
        message = f"Invalid URL ({self.command} {urlsplit(self.path).path})"
        self._send_json(HTTPStatus.NOT_FOUND, _error_body(message))

    def _reply_headers(self) -> dict[str, str]:
        return {"x-request-id": "req_stub"}

    def _send_sse(
        self, events: Iterable[tuple[str | None, dict[str, Any]]], *, done: bool = False
    ) -> None:
        """Stream ``events`` (``event:`` name or ``None``, data), then ``data: [DONE]`` if
        ``done`` (as chat completions end)."""

        def chunks() -> Iterator[bytes]:
            for name, data in events:
                prefix = f"event: {name}\n" if name is not None else ""
                yield f"{prefix}data: {json.dumps(data)}\n\n".encode()
            if done:
                yield b"data: [DONE]\n\n"

        self._send_chunked(_SSE_HEADERS, chunks())


class OpenAIStub(_loopback.LoopbackStub[RecordedRequest]):
    """A threaded loopback HTTP server that answers like the OpenAI API (see the module docs).

    Example::

        with OpenAIStub() as stub:
            client = OpenAI(base_url=stub.base_url, api_key="test")
            stream = client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "a b"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            chunks = list(stream)
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
                "Echo: a b"
            )
            assert chunks[-1].usage.total_tokens == 5
            assert len(stub.requests) == 1

    Args:
        port: the TCP port to bind on ``127.0.0.1``; ``0`` (the default) picks a free one.
            After a ``stop()``, ``start()`` binds the same port again.
        verbose: log each request to stderr, as ``http.server`` does.
    """

    _handler = _Handler

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``OpenAI(base_url=...)`` or litellm's ``api_base``."""
        return self._base_url("/v1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stub in the foreground until SIGINT or SIGTERM."""
    return _loopback.main(
        OpenAIStub,
        argv,
        prog="python -m llmops.testing.openai_stub",
        description="Serve a loopback stub of the OpenAI HTTP API on 127.0.0.1.",
    )


if __name__ == "__main__":
    sys.exit(main())
