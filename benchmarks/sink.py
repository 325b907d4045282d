"""A null OTLP/gRPC trace collector on loopback: it acknowledges every export at once.

Figure 5 runs the delivery ladder against it as well as against Phoenix, to separate what the
exporting side can deliver from what the collector can ingest. Run with a venv that has grpcio:
``python benchmarks/sink.py`` prints ``http://127.0.0.1:PORT`` and serves until killed.
"""

from __future__ import annotations

import signal
import threading
from concurrent import futures

import grpc

METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _export(request: bytes, context: object) -> bytes:
    return b""  # an empty ExportTraceServiceResponse: full success


def main() -> int:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {
            "Export": grpc.unary_unary_rpc_method_handler(
                _export, request_deserializer=None, response_serializer=None
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"http://127.0.0.1:{port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
