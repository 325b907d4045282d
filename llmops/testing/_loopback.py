"""A loopback HTTP stub server and its lifecycle: what the provider stubs share.

Each stub module (``gemini_stub``, ``openai_stub``, ``anthropic_stub``) subclasses
:class:`LoopbackHandler` with its routes, payloads and errors, and :class:`LoopbackStub` with
its ``base_url``; this module binds ``127.0.0.1`` only, serves in a daemon thread, stops within a
bounded time even with idle keep-alive connections open, and records the requests. It uses the
standard library and msgspec only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Generic, TypeVar, cast

import msgspec

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from types import FrameType, TracebackType
    from typing import ClassVar, Self

HOST: Final = "127.0.0.1"
"""The only address the stubs bind."""

STOP_TIMEOUT_S: Final = 5.0

RequestT = TypeVar("RequestT")
StubT = TypeVar("StubT", bound="LoopbackStub[Any]")


class RecordedRequest(msgspec.Struct, frozen=True):
    """One request the stub received: the path (with its query string) and the decoded JSON body.

    ``body`` is ``None`` when the request carried no valid JSON. It unpacks as a pair:
    ``path, body = stub.requests[0]``.
    """

    path: str
    body: Any

    def __iter__(self) -> Iterator[Any]:
        return iter((self.path, self.body))


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on ``127.0.0.1`` that knows its open connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, port: int, handler: type[LoopbackHandler[Any]], stub: LoopbackStub[Any]
    ) -> None:
        self.stub = stub
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, port), handler)

    def close_connections(self) -> None:
        """Shut down open (keep-alive) connections so their handler threads end promptly."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class LoopbackHandler(BaseHTTPRequestHandler, Generic[StubT]):
    """The plumbing of a stub's handler; a stub adds ``do_POST`` and ``_not_found``.

    Every method answers: ``GET``, ``PUT``, ``PATCH`` and ``DELETE`` read the body and answer
    ``_not_found()``.
    """

    protocol_version = "HTTP/1.1"
    # Without it, each response's last small write waits for the client's delayed ACK
    # (measured in docs/performance.md).
    disable_nagle_algorithm = True
    timeout = 30.0  # an idle keep-alive connection is dropped after this many seconds
    json_type: ClassVar[str] = "application/json"
    """The ``Content-Type`` of a JSON reply."""

    @property
    def _server(self) -> LoopbackServer:
        return cast("LoopbackServer", self.server)

    @property
    def _stub(self) -> StubT:
        return cast("StubT", self._server.stub)

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
        if self._stub.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._read_body()  # drained, so the keep-alive connection stays usable
        self._not_found()

    do_PUT = do_PATCH = do_DELETE = do_GET

    def _not_found(self) -> None:
        raise NotImplementedError

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_json(self) -> Any:
        """The request body decoded from JSON; ``None`` when it is empty or not JSON."""
        raw = self._read_body()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _reply_headers(self) -> dict[str, str]:
        """Headers every reply carries besides the content ones (a stub's request id, say)."""
        return {}

    def _send_head(self, code: HTTPStatus, headers: dict[str, str]) -> None:
        self.send_response(code)
        for name, value in {**headers, **self._reply_headers()}.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, code: HTTPStatus, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self._send_head(code, {"Content-Type": self.json_type, "Content-Length": str(len(data))})
        self.wfile.write(data)

    def _send_chunked(self, headers: dict[str, str], chunks: Iterable[bytes]) -> None:
        """Answer ``200`` with ``chunks`` (none empty) in chunked transfer encoding, each sent
        as it comes, so that a streaming client sees every event when it is produced."""
        self._send_head(HTTPStatus.OK, {**headers, "Transfer-Encoding": "chunked"})
        for chunk in chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class LoopbackStub(Generic[RequestT]):
    """A stub's lifecycle and request log; a stub names its ``_handler`` and documents its
    ``base_url`` (see a stub's class docs for the arguments)."""

    _handler: ClassVar[type[LoopbackHandler[Any]]]
    _server_class: ClassVar[type[LoopbackServer]] = LoopbackServer

    def __init__(self, port: int = 0, *, verbose: bool = False) -> None:
        self._port = port
        self.verbose = verbose
        self._lock = threading.Lock()
        self._requests: list[RequestT] = []
        self._served = 0
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the port and serve in a daemon thread; return ``self``."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        server = self._server_class(self._port, self._handler, self)
        self._port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self._port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
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

    def __enter__(self) -> Self:
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
        """``http://127.0.0.1:PORT``, for the client's ``base_url``."""
        return self._base_url()

    def _base_url(self, path: str = "") -> str:
        if self._server is None:
            name = type(self).__name__
            raise RuntimeError(f"{name} is not running; call start() or use it with 'with'")
        return f"http://{HOST}:{self._port}{path}"

    @property
    def requests(self) -> list[RequestT]:
        """A snapshot of the requests received so far, oldest first (thread-safe)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests (the ids of later replies keep counting)."""
        with self._lock:
            self._requests.clear()

    def _record(self, request: RequestT) -> int:
        """Record ``request``; return its number, 1, 2, ... in the order requests arrive."""
        with self._lock:
            self._requests.append(request)
            self._served += 1
            return self._served

    def __repr__(self) -> str:
        state = f"running on {HOST}:{self._port}" if self.running else "stopped"
        return f"<{type(self).__name__} {state}>"


def main(
    stub_class: type[LoopbackStub[Any]],
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
) -> int:
    """Run a ``stub_class`` in the foreground until SIGINT or SIGTERM; print its base URL."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    with stub_class(args.port, verbose=args.verbose) as stub:
        print(stub.base_url, flush=True)
        while not stopping.wait(0.5):  # a short wait keeps the main thread responsive to signals
            pass
    return 0
