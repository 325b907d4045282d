"""A loopback OTLP/HTTP trace receiver for tests: records what exporters send.

    with OtlpReceiver() as receiver:
        ...  # point an exporter at receiver.endpoint ("http://127.0.0.1:PORT/v1/traces")
        receiver.wait_for_spans(10, timeout=5)
        name, resource, attributes = receiver.spans[0]

``mode`` decides how ``POST /v1/traces`` is answered and may be changed while running:

* ``"ok"``: decode the protobuf ``ExportTraceServiceRequest``, record its spans, answer 200;
* ``"error"``: answer ``error_status`` (500 by default; 503 is one OTLP exporters retry),
  record nothing;
* ``"stall"``: read the request and never answer (until ``stop()``), record nothing.

It binds 127.0.0.1 only. ``requests`` counts every POST received, whatever the mode, and
``headers`` keeps each request's headers (lower-case names).

Two variants record the same way:

* :class:`TlsReceiver`: the same receiver behind TLS, given an ``ssl.SSLContext`` (mutual TLS
  when the context demands a client certificate); it also records failed handshakes and the
  client certificates presented;
* :class:`GrpcReceiver`: an OTLP/gRPC trace receiver (``grpcio``), plaintext or, given
  :func:`grpc_server_credentials`, TLS / mutual TLS.
"""

from __future__ import annotations

import gzip
import ssl
import threading
import time
import zlib
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, NamedTuple

TYPE_CHECKING = False  # the package's convention: no typing import for it
if TYPE_CHECKING:
    import grpc

    from tests.servers.tls import CertificateSet

__all__ = [
    "GrpcReceiver",
    "OtlpReceiver",
    "ReceivedSpan",
    "SpanIds",
    "TlsReceiver",
    "any_value",
    "attributes_of",
    "grpc_server_credentials",
]

Mode = Literal["ok", "error", "stall"]


class ReceivedSpan(NamedTuple):
    name: str
    resource: dict[str, Any]
    attributes: dict[str, Any]


class SpanIds(NamedTuple):
    """A received span's ids, lower-case hex; ``parent_id`` is None for a root."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: dict[str, Any]


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_of(key_values: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in key_values}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with receiver.lock:
            receiver.requests += 1
            receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
            receiver.changed.notify_all()
        mode = receiver.mode
        if mode == "stall":
            receiver.release.wait(60)
            self.close_connection = True
            return
        if mode == "error" or self.path.split("?")[0] != "/v1/traces":
            self._answer(receiver.error_status if mode == "error" else 404, b"")
            return
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        receiver.record(body)
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        self._answer(200, ExportTraceServiceResponse().SerializeToString())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        super().__init__(("127.0.0.1", 0), _Handler)


class OtlpReceiver:
    """Records spans posted to ``/v1/traces``; see the module docstring."""

    def __init__(self, mode: Mode = "ok") -> None:
        self.mode: Mode = mode
        self.spans: list[ReceivedSpan] = []
        self.ids: list[SpanIds] = []
        """The same spans with their trace, span and parent ids."""
        self.requests = 0
        self.error_status = 500
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OtlpReceiver:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the receiver is not started"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def record(self, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        request = ExportTraceServiceRequest.FromString(body)
        received = []
        ids = []
        for resource_spans in request.resource_spans:
            resource = attributes_of(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = attributes_of(span.attributes)
                    received.append(ReceivedSpan(span.name, resource, attributes))
                    parent = span.parent_span_id.hex() or None
                    ids.append(
                        SpanIds(
                            span.name, span.trace_id.hex(), span.span_id.hex(), parent, attributes
                        )
                    )
        with self.lock:
            self.ids.extend(ids)
            self.spans.extend(received)
            self.changed.notify_all()

    def wait_for_spans(self, count: int, timeout: float) -> list[ReceivedSpan]:
        """Wait until at least ``count`` spans arrived (or ``timeout`` passed); return them all."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.spans) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return list(self.spans)

    def wait_for_requests(self, count: int, timeout: float) -> int:
        """Wait until at least ``count`` POSTs arrived (or ``timeout`` passed); return the count."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.requests < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return self.requests


class TlsReceiver(OtlpReceiver):
    """The loopback OTLP/HTTP receiver behind TLS (``https://127.0.0.1:PORT/v1/traces``).

    ``tls_errors`` lists failed handshakes (an untrusted server certificate on the client's
    side shows up here as an alert, a missing client certificate as a refusal);
    ``peer_certs`` holds, per accepted connection, the client certificate it presented
    (``{}`` without one).
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self.context = context
        self.tls_errors: list[str] = []
        self.peer_certs: list[dict[str, Any]] = []

    def __enter__(self) -> TlsReceiver:
        return self.start()

    def start(self) -> TlsReceiver:
        self._server = _TlsServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/v1/traces"

    @property
    def base_url(self) -> str:
        """What an exporter that appends ``/v1/traces`` itself is given (rotel's, for one)."""
        return f"https://127.0.0.1:{self.port}"

    def wait_for_tls_errors(self, count: int, timeout: float) -> list[str]:
        """Wait until at least ``count`` handshakes failed (or ``timeout`` passed); return them."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.tls_errors) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return list(self.tls_errors)


class _TlsServer(_Server):
    receiver: TlsReceiver

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The handshake, in the connection's own thread, then the plain receiver's handler."""
        receiver = self.receiver
        request.settimeout(5)
        try:
            tls = receiver.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            with receiver.lock:
                receiver.tls_errors.append(f"{type(error).__name__}: {error}")
                receiver.changed.notify_all()
            return
        try:
            with receiver.lock:
                receiver.peer_certs.append(tls.getpeercert() or {})
            super().finish_request(tls, client_address)
        finally:
            tls.close()


class GrpcReceiver(OtlpReceiver):
    """A loopback OTLP/gRPC trace receiver (``grpcio``): plaintext without ``credentials``,
    TLS / mutual TLS with them (see :func:`grpc_server_credentials`).

    Records like :class:`OtlpReceiver` (``requests``, ``spans``, ``ids``); ``headers`` holds
    each call's invocation metadata. ``mode`` is not consulted: every call is answered.
    """

    def __init__(self, credentials: grpc.ServerCredentials | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self._grpc_server: grpc.Server | None = None
        self._grpc_port = 0

    def __enter__(self) -> GrpcReceiver:
        return self.start()

    def start(self) -> GrpcReceiver:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        receiver = self

        class Servicer(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:
                with receiver.lock:
                    receiver.requests += 1
                    receiver.headers.append(dict(context.invocation_metadata()))
                receiver.record(request.SerializeToString())
                return trace_service_pb2.ExportTraceServiceResponse()

        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=2), options=[("grpc.so_reuseport", 0)]
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Servicer(), server)  # type: ignore[no-untyped-call]
        address = "127.0.0.1:0"
        if self.credentials is None:
            self._grpc_port = server.add_insecure_port(address)
        else:
            self._grpc_port = server.add_secure_port(address, self.credentials)
        server.start()
        self._grpc_server = server
        return self

    def stop(self) -> None:
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait(5)
        self._grpc_server = None

    @property
    def port(self) -> int:
        assert self._grpc_server is not None, "the receiver is not started"
        return self._grpc_port

    @property
    def endpoint(self) -> str:
        """gRPC has no path: the same as :attr:`base_url`."""
        return self.base_url

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, or ``https://`` with credentials."""
        scheme = "http" if self.credentials is None else "https"
        return f"{scheme}://127.0.0.1:{self._grpc_port}"


def grpc_server_credentials(
    certs: CertificateSet, *, require_client_cert: bool
) -> grpc.ServerCredentials:
    """Server credentials for :class:`GrpcReceiver` from ``certs``' server certificate and key;
    with ``require_client_cert``, mutual TLS: a client certificate signed by ``certs``' CA."""
    import grpc

    return grpc.ssl_server_credentials(
        [(certs.server_key.read_bytes(), certs.server_cert.read_bytes())],
        root_certificates=certs.ca_cert.read_bytes() if require_client_cert else None,
        require_client_auth=require_client_cert,
    )
