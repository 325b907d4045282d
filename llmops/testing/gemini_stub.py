"""A loopback stub of the Gemini REST API, for tests that must run offline.

The real ``google-genai`` client talks to it unchanged, so the real OpenInference
``GoogleGenAIInstrumentor`` records real spans without any network access::

    from google import genai
    from google.genai import types

    from llmops.testing import GeminiStub

    with GeminiStub() as stub:
        client = genai.Client(
            api_key="x", http_options=types.HttpOptions(base_url=stub.base_url)
        )
        response = client.models.generate_content(
            model="gemini-2.0-flash", contents="hello world"
        )
        assert response.text == "Echo: hello world"
        assert response.usage_metadata.total_token_count == 5
        path, body = stub.requests[0]  # "/v1/models/gemini-2.0-flash:generateContent", {...}

Routes (any API version, e.g. ``v1`` or ``v1beta``):

* ``POST /{api_version}/models/{model}:generateContent`` answers one JSON response.
* ``POST /{api_version}/models/{model}:streamGenerateContent?alt=sse`` answers server-sent
  events (``data: {json}`` blocks, sent with chunked transfer encoding), one per word of the
  reply; the last event carries ``finishReason`` and ``usageMetadata``. Without ``alt=sse`` the
  same chunks come back as one JSON array, as the real API does.
* Anything else answers ``404`` with a Google-style body
  ``{"error": {"code": 404, "message": ..., "status": "NOT_FOUND"}}``; a body that is not a
  JSON object answers ``400`` with status ``INVALID_ARGUMENT``.

Everything is deterministic:

* ``prompt`` is every ``text`` part of every item of the request's ``contents``, in order,
  joined by single spaces (``systemInstruction`` and non-text parts are ignored);
* the reply text is ``"Echo: " + prompt``;
* ``promptTokenCount = len(prompt.split())``;
* ``candidatesTokenCount = len(reply.split()) = promptTokenCount + 1``;
* ``totalTokenCount = promptTokenCount + candidatesTokenCount``;
* ``modelVersion`` is the model named in the URL (``gemini-2.0-flash`` for
  ``models/gemini-2.0-flash``), so ``llm.model_name`` equals the requested model;
* ``responseId`` is ``stub-1``, ``stub-2``, ... in the order requests arrive.

:func:`prompt_text`, :func:`reply_text` and :func:`token_count` compute the same values for
assertions. The server binds ``127.0.0.1`` only, on an ephemeral port unless one is given.

Run it standalone with ``python -m llmops.testing.gemini_stub --port 8089``; it prints its base
URL and stops on SIGINT or SIGTERM. The module uses the standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from llmops.testing import _loopback
from llmops.testing._loopback import HOST as HOST
from llmops.testing._loopback import RecordedRequest

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["GeminiStub", "RecordedRequest", "prompt_text", "reply_text", "token_count"]

_ROUTE: Final = re.compile(
    r"^/(?P<version>[A-Za-z0-9_.-]+)/models/(?P<model>[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent)$"
)
_WORD: Final = re.compile(r"\S+\s*")


def prompt_text(body: Any) -> str:
    """Return the prompt the stub sees in a request body: all text parts of ``contents``."""
    texts: list[str] = []
    contents = body.get("contents") if isinstance(body, dict) else None
    if isinstance(contents, dict):
        contents = [contents]
    for content in contents if isinstance(contents, list) else []:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return " ".join(texts)


def reply_text(prompt: str) -> str:
    """Return the stub's reply to ``prompt``: ``"Echo: " + prompt``."""
    return f"Echo: {prompt}"


def token_count(text: str) -> int:
    """Return the stub's token count of ``text``: its number of whitespace-separated words."""
    return len(text.split())


def _error_body(code: HTTPStatus, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": int(code), "message": message, "status": status}}


class _Handler(_loopback.LoopbackHandler["GeminiStub"]):
    server_version = "GeminiStub/1.0"
    json_type = "application/json; charset=UTF-8"

    def do_POST(self) -> None:
        body = self._read_json()
        url = urlsplit(self.path)
        match = _ROUTE.match(url.path)
        response_id = f"stub-{self._stub._record(RecordedRequest(self.path, body))}"
        if match is None:
            self._not_found()
            return
        if not isinstance(body, dict):
            message = "Invalid JSON payload received. Expected a JSON object."
            self._send_json(
                HTTPStatus.BAD_REQUEST,
                _error_body(HTTPStatus.BAD_REQUEST, message, "INVALID_ARGUMENT"),
            )
            return
        model = match["model"]
        chunks = list(_response_chunks(prompt_text(body), model, response_id))
        if match["method"] == "generateContent":
            self._send_json(HTTPStatus.OK, _merge_chunks(chunks))
        elif parse_qs(url.query).get("alt") == ["sse"]:
            events = (f"data: {json.dumps(chunk)}\r\n\r\n".encode() for chunk in chunks)
            self._send_chunked({"Content-Type": "text/event-stream"}, events)
        else:
            self._send_json(HTTPStatus.OK, chunks)

    def _not_found(self) -> None:
        message = f"Method not found: {self.command} {urlsplit(self.path).path}"
        self._send_json(
            HTTPStatus.NOT_FOUND, _error_body(HTTPStatus.NOT_FOUND, message, "NOT_FOUND")
        )


def _response_chunks(prompt: str, model: str, response_id: str) -> Iterator[dict[str, Any]]:
    """Yield the streamed form of the reply: one chunk per word, usage in the last one."""
    reply = reply_text(prompt)
    pieces = _WORD.findall(reply)  # "".join(pieces) == reply, since reply starts with "Echo:"
    prompt_tokens = token_count(prompt)
    completion_tokens = token_count(reply)
    for index, piece in enumerate(pieces):
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": piece}], "role": "model"},
            "index": 0,
        }
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if index == len(pieces) - 1:
            candidate["finishReason"] = "STOP"
            chunk["usageMetadata"] = {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": completion_tokens,
                "totalTokenCount": prompt_tokens + completion_tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
            }
        chunk["modelVersion"] = model
        chunk["responseId"] = response_id
        yield chunk


def _merge_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold streamed chunks into the single response ``generateContent`` returns."""
    last = chunks[-1]
    text = "".join(chunk["candidates"][0]["content"]["parts"][0]["text"] for chunk in chunks)
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": last["usageMetadata"],
        "modelVersion": last["modelVersion"],
        "responseId": last["responseId"],
    }


class GeminiStub(_loopback.LoopbackStub[RecordedRequest]):
    """A threaded loopback HTTP server that answers like the Gemini API (see the module docs).

    Example::

        with GeminiStub() as stub:
            client = genai.Client(
                api_key="x", http_options=types.HttpOptions(base_url=stub.base_url)
            )
            chunks = list(client.models.generate_content_stream(model="m", contents="a b"))
            assert "".join(c.text or "" for c in chunks) == "Echo: a b"
            assert len(stub.requests) == 1

    Args:
        port: the TCP port to bind on ``127.0.0.1``; ``0`` (the default) picks a free one.
            After a ``stop()``, ``start()`` binds the same port again.
        verbose: log each request to stderr, as ``http.server`` does.
    """

    _handler = _Handler

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``types.HttpOptions(base_url=...)``."""
        return self._base_url()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stub in the foreground until SIGINT or SIGTERM."""
    return _loopback.main(
        GeminiStub,
        argv,
        prog="python -m llmops.testing.gemini_stub",
        description="Serve a loopback stub of the Gemini REST API on 127.0.0.1.",
    )


if __name__ == "__main__":
    sys.exit(main())
