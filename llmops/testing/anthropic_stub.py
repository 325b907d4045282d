"""A loopback stub of the Anthropic Messages API, for tests that must run offline.

The real ``anthropic`` client talks to it unchanged, so the real OpenInference
``AnthropicInstrumentor`` records real spans without any network access::

    import anthropic

    from llmops.testing.anthropic_stub import AnthropicStub

    with AnthropicStub() as stub:
        client = anthropic.Anthropic(base_url=stub.base_url, api_key="test")
        message = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "hello world"}],
        )
        assert message.content[0].text == "Echo: hello world"
        assert message.usage.input_tokens == 2 and message.usage.output_tokens == 3
        path, body = stub.requests[0]  # "/v1/messages", {...}
        assert stub.requests[0].response == message.to_dict()

Routes:

* ``POST /v1/messages`` answers one ``message`` JSON object; with ``"stream": true`` in the
  body it answers server-sent events (sent with chunked transfer encoding) as the real API
  does: ``message_start`` (the message with empty ``content`` and the input usage), ``ping``,
  then per content block ``content_block_start``, one ``content_block_delta`` per word
  (``text_delta``) or per JSON piece (``input_json_delta``), ``content_block_stop``; then
  ``message_delta`` (``stop_reason`` and the cumulative usage) and ``message_stop``.
* ``POST /v1/messages/count_tokens`` answers ``{"input_tokens": N}``.
* Anything else answers ``404`` with an Anthropic-style body
  ``{"type": "error", "error": {"type": "not_found_error", "message": ...}}``; a body that is
  not a JSON object, or lacks ``model`` or ``messages``, answers ``400`` with
  ``invalid_request_error``.

Everything is deterministic:

* ``prompt`` is the text of every message of the request's ``messages``, in order, joined by
  single spaces: a string ``content``, ``text`` blocks, and the content of ``tool_result``
  blocks (a string or its ``text`` blocks); ``system``, images and ``tool_use`` blocks are
  ignored;
* a request with ``tools`` whose last message carries no ``tool_result`` (and whose
  ``tool_choice`` is not ``none``) is answered with one ``tool_use`` block calling the tool
  ``tool_choice`` names, else the first tool: its ``input`` is :func:`tool_input` (the first
  property of the tool's ``input_schema``, required ones first, set to the last user text),
  its ``id`` ``toolu_stub_N``; ``stop_reason`` is ``tool_use``;
* any other request is answered with one ``text`` block ``"Echo: " + prompt`` and
  ``stop_reason`` ``end_turn``;
* ``usage.input_tokens = len(prompt.split())``; ``usage.output_tokens`` is the word count of
  the reply text, or, for a tool call, of ``name + " " + json.dumps(input)``;
  ``cache_creation_input_tokens`` and ``cache_read_input_tokens`` are ``0``;
* ``model`` is the model of the request, so ``llm.model_name`` equals the requested model;
* ``id`` is ``msg_stub_1``, ``msg_stub_2``, ... in the order requests arrive.

:func:`prompt_text`, :func:`reply_text`, :func:`token_count` and :func:`tool_input` compute
the same values for assertions, and every :class:`RecordedRequest` keeps the full message the
stub answered with (``response``; for a stream, the message the events add up to). The server
binds ``127.0.0.1`` only, on an ephemeral port unless one is given.

Run it standalone with ``python -m llmops.testing.anthropic_stub --port 8090``; it prints its
base URL and stops on SIGINT or SIGTERM. The module uses the standard library and msgspec only.
"""

from __future__ import annotations

import json
import re
import sys
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import urlsplit

from llmops.testing import _loopback
from llmops.testing._loopback import HOST as HOST

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = [
    "AnthropicStub",
    "RecordedRequest",
    "prompt_text",
    "reply_text",
    "token_count",
    "tool_input",
]

MESSAGES_PATH: Final = "/v1/messages"
COUNT_TOKENS_PATH: Final = "/v1/messages/count_tokens"

_WORD: Final = re.compile(r"\S+\s*")
_JSON_PIECE: Final = 8  # characters of tool input per input_json_delta


class RecordedRequest(_loopback.RecordedRequest, frozen=True):
    """One request the stub received: the path (with its query string), the decoded JSON body
    and the message the stub answered with.

    ``body`` is ``None`` when the request carried no valid JSON; ``response`` is ``None`` when
    the stub answered with an error (or counted tokens). It unpacks as a pair:
    ``path, body = stub.requests[0]``.
    """

    response: dict[str, Any] | None = None

    @property
    def stream(self) -> bool:
        """Whether the request asked for server-sent events."""
        return isinstance(self.body, dict) and self.body.get("stream") is True


def _block_texts(content: Any) -> Iterator[str]:
    """The texts of one message's ``content`` (a string, or a list of blocks)."""
    if isinstance(content, str):
        yield content
        return
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            yield block["text"]
        elif block.get("type") == "tool_result":
            yield from _block_texts(block.get("content"))


def prompt_text(body: Any) -> str:
    """Return the prompt the stub sees in a request body: all texts of all ``messages``."""
    messages = body.get("messages") if isinstance(body, dict) else None
    texts: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            texts.extend(_block_texts(message.get("content")))
    return " ".join(texts)


def reply_text(prompt: str) -> str:
    """Return the stub's text reply to ``prompt``: ``"Echo: " + prompt``."""
    return f"Echo: {prompt}"


def token_count(text: str) -> int:
    """Return the stub's token count of ``text``: its number of whitespace-separated words."""
    return len(text.split())


def _last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return " ".join(_block_texts(message.get("content")))
    return ""


def tool_input(tool: Any, text: str) -> dict[str, Any]:
    """Return the ``input`` of the stub's call of ``tool`` (a ``tools`` item): the first
    property of its ``input_schema`` (required ones first) set to ``text``; ``{}`` without one.
    """
    schema = tool.get("input_schema") if isinstance(tool, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    names = [str(name) for name in properties] if isinstance(properties, dict) else []
    required = schema.get("required") if isinstance(schema, dict) else None
    first = [n for n in required if n in names] if isinstance(required, list) else []
    names = first + [n for n in names if n not in first]
    return {names[0]: text} if names else {}


def _has_tool_result(body: dict[str, Any]) -> bool:
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    content = last.get("content") if isinstance(last, dict) else None
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def _chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool the stub calls for ``body``, or ``None`` if it answers with text."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    choice = body.get("tool_choice")
    choice = choice if isinstance(choice, dict) else {}
    if not tools or choice.get("type") == "none" or _has_tool_result(body):
        return None
    if choice.get("type") == "tool":
        for tool in tools:
            if tool.get("name") == choice.get("name"):
                return tool
    return tools[0]


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def _message(body: dict[str, Any], message_id: str, tool_id: str) -> dict[str, Any]:
    """The complete message the stub answers ``body`` with."""
    prompt = prompt_text(body)
    tool = _chosen_tool(body)
    content: dict[str, Any]
    if tool is None:
        reply = reply_text(prompt)
        content = {"type": "text", "text": reply}
        stop_reason, output_tokens = "end_turn", token_count(reply)
    else:
        name = str(tool.get("name"))
        arguments = tool_input(tool, _last_user_text(body))
        content = {"type": "tool_use", "id": tool_id, "name": name, "input": arguments}
        stop_reason = "tool_use"
        output_tokens = token_count(f"{name} {json.dumps(arguments)}")
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [content],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(token_count(prompt), output_tokens),
    }


def _events(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The server-sent events of ``message``, in the order the real API sends them."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**usage, "output_tokens": 1}  # as the real API: a placeholder count
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        empty: dict[str, Any]
        deltas: list[dict[str, Any]]
        if block["type"] == "text":
            empty = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _WORD.findall(block["text"])]
        else:
            empty = {**block, "input": {}}
            raw = json.dumps(block["input"])
            deltas = [
                {"type": "input_json_delta", "partial_json": raw[i : i + _JSON_PIECE]}
                for i in range(0, len(raw), _JSON_PIECE)
            ]
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": empty},
        )
        for delta in deltas:
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": usage,  # cumulative, as the real API sends it
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


class _Server(_loopback.LoopbackServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its keep-alive connection is not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(_loopback.LoopbackHandler["AnthropicStub"]):
    server_version = "AnthropicStub/1.0"

    def do_POST(self) -> None:
        body = self._read_json()
        path = urlsplit(self.path).path
        stub = self._stub
        if path not in (MESSAGES_PATH, COUNT_TOKENS_PATH):
            stub._record(RecordedRequest(self.path, body))
            self._not_found()
            return
        problem = _invalid(body)
        if problem is not None:
            stub._record(RecordedRequest(self.path, body))
            self._send_json(HTTPStatus.BAD_REQUEST, _error_body("invalid_request_error", problem))
            return
        if path == COUNT_TOKENS_PATH:
            stub._record(RecordedRequest(self.path, body))
            self._send_json(HTTPStatus.OK, {"input_tokens": token_count(prompt_text(body))})
            return
        message = stub._answer(self.path, body)
        if body.get("stream") is True:
            events = (
                f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                for name, data in _events(message)
            )
            headers = {
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
            self._send_chunked(headers, events)
        else:
            self._send_json(HTTPStatus.OK, message)

    def _not_found(self) -> None:
        message = f"Not found: {self.command} {urlsplit(self.path).path}"
        self._send_json(HTTPStatus.NOT_FOUND, _error_body("not_found_error", message))

    def _reply_headers(self) -> dict[str, str]:
        return {"request-id": f"req_stub_{self._stub._served}"}


def _invalid(body: Any) -> str | None:
    """Why ``body`` is not a Messages request the stub can answer, or ``None``."""
    if not isinstance(body, dict):
        return "The request body is not valid JSON: expected an object."
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("messages"), list):
        return "messages: Field required"
    return None


class AnthropicStub(_loopback.LoopbackStub[RecordedRequest]):
    """A threaded loopback HTTP server that answers like the Anthropic Messages API (see the
    module docs).

    Example::

        with AnthropicStub() as stub:
            client = anthropic.Anthropic(base_url=stub.base_url, api_key="test")
            with client.messages.stream(
                model="m", max_tokens=16, messages=[{"role": "user", "content": "a b"}]
            ) as stream:
                assert "".join(stream.text_stream) == "Echo: a b"
            assert stub.requests[0].stream

    Args:
        port: the TCP port to bind on ``127.0.0.1``; ``0`` (the default) picks a free one.
            After a ``stop()``, ``start()`` binds the same port again.
        verbose: log each request to stderr, as ``http.server`` does.
    """

    _handler = _Handler
    _server_class = _Server

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``anthropic.Anthropic(base_url=...)``."""
        return self._base_url()

    def _answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Build, record and return the message answering ``body`` (ids in arrival order)."""
        with self._lock:
            self._served += 1
            n = self._served
            message = _message(body, f"msg_stub_{n}", f"toolu_stub_{n}")
            self._requests.append(RecordedRequest(path, body, message))
            return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stub in the foreground until SIGINT or SIGTERM."""
    return _loopback.main(
        AnthropicStub,
        argv,
        prog="python -m llmops.testing.anthropic_stub",
        description="Serve a loopback stub of the Anthropic Messages API on 127.0.0.1.",
    )


if __name__ == "__main__":
    sys.exit(main())
