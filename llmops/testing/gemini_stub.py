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

import argparse
import contextlib
import json
import re
import signal
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast
from urllib.parse import parse_qs, urlsplit

import msgspec

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import FrameType, TracebackType

__all__ = ["GeminiStub", "RecordedRequest", "prompt_text", "reply_text", "token_count"]

HOST: Final = "127.0.0.1"
"""The only address the stub binds."""

_ROUTE: Final = re.compile(
    r"^/(?P<version>[A-Za-z0-9_.-]+)/models/(?P<model>[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent)$"
)
_WORD: Final = re.compile(r"\S+\s*")
_STOP_TIMEOUT_S: Final = 5.0


class RecordedRequest(msgspec.Struct, frozen=True):
    """One request the stub received: the path (with its query string) and the decoded JSON body.

    ``body`` is ``None`` when the request carried no valid JSON. It unpacks as a pair:
    ``path, body = stub.requests[0]``.
    """

    path: str
    body: Any

    def __iter__(self) -> Iterator[Any]:
        return iter((self.path, self.body))


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, stub: GeminiStub) -> None:
        self.stub = stub
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def close_connections(self) -> None:
        """Shut down open (keep-alive) connections so their handler threads end promptly."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GeminiStub/1.0"
    # Without it, each response's last small write waits for the client's delayed ACK
    # (measured in docs/performance.md).
    disable_nagle_algorithm = True
    timeout = 30.0  # an idle keep-alive connection is dropped after this many seconds

    @property
    def _server(self) -> _Server:
        return cast("_Server", self.server)

    def setup(self) -> None:
        super().setup()
        with self._server.connections_lock:
            self._server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self._server.connections_lock:
                self._server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        if self._server.stub.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._read_body()
        self._not_found()

    def do_POST(self) -> None:
        raw = self._read_body()
        url = urlsplit(self.path)
        match = _ROUTE.match(url.path)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        stub = self._server.stub
        response_id = stub._record(self.path, body)
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
            self._send_sse(chunks)
        else:
            self._send_json(HTTPStatus.OK, chunks)

    do_PUT = do_PATCH = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _not_found(self) -> None:
        message = f"Method not found: {self.command} {urlsplit(self.path).path}"
        self._send_json(
            HTTPStatus.NOT_FOUND, _error_body(HTTPStatus.NOT_FOUND, message, "NOT_FOUND")
        )

    def _send_json(self, code: HTTPStatus, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, chunks: list[dict[str, Any]]) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            event = f"data: {json.dumps(chunk)}\r\n\r\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


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


class GeminiStub:
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

    def __init__(self, port: int = 0, *, verbose: bool = False) -> None:
        self._port = port
        self.verbose = verbose
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._served = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> GeminiStub:
        """Bind the port and serve in a daemon thread; return ``self``."""
        if self._server is not None:
            raise RuntimeError("GeminiStub is already running")
        server = _Server(self._port, self)
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"GeminiStub:{self._port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = _STOP_TIMEOUT_S) -> None:
        """Stop serving and close the port; idempotent, returns within about ``timeout``."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()  # shutdown() waits for serve_forever(); never wait on it unboundedly
        stopper.join(timeout)
        thread.join(timeout)
        server.close_connections()
        server.server_close()

    def __enter__(self) -> GeminiStub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (the requested one before the first ``start()``)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``types.HttpOptions(base_url=...)``."""
        if self._server is None:
            raise RuntimeError("GeminiStub is not running; call start() or use it with 'with'")
        return f"http://{HOST}:{self._port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first (thread-safe)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests (the ``responseId`` counter keeps counting)."""
        with self._lock:
            self._requests.clear()

    def _record(self, path: str, body: Any) -> str:
        with self._lock:
            self._requests.append(RecordedRequest(path, body))
            self._served += 1
            return f"stub-{self._served}"

    def __repr__(self) -> str:
        state = f"running on {HOST}:{self._port}" if self.running else "stopped"
        return f"<GeminiStub {state}>"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stub in the foreground until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m llmops.testing.gemini_stub",
        description="Serve a loopback stub of the Gemini REST API on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    with GeminiStub(args.port, verbose=args.verbose) as stub:
        print(stub.base_url, flush=True)
        while not stopping.wait(0.5):  # a short wait keeps the main thread responsive to signals
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
