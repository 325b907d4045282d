"""Helpers for the fault tests (``tests/test_reliability_*.py``).

* :func:`record` prints a measured figure and, when ``LLMOPS_RELIABILITY_OUT`` names a file,
  appends it there as a JSON line: ``docs/reliability.md`` is written from those lines.
* :class:`FixedPortReceiver` is the OTLP receiver on a port of our choosing, so a "collector"
  can die and come back on the same endpoint.
* :class:`StallingServer` accepts TCP connections, reads whatever arrives and never answers.
* :func:`run_app` runs :data:`APP`, a small instrumented application, in a fresh interpreter
  and returns what it reported, its stderr and how long its exit took.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.core_support import subprocess_env
from tests.otlp_receiver import OtlpReceiver, _Handler, _Server

__all__ = [
    "APP",
    "AppRun",
    "FixedPortReceiver",
    "StallingServer",
    "llmops_lines",
    "record",
    "run_app",
    "wait_until",
]

OUT_ENV = "LLMOPS_RELIABILITY_OUT"
_OUT = os.environ.get(OUT_ENV)  # read at import: the tests clear LLMOPS_* variables


def record(fault: str, **values: Any) -> None:
    """Print a measurement (visible with ``-s``) and append it to ``$LLMOPS_RELIABILITY_OUT``."""
    line = json.dumps({"fault": fault, **values}, sort_keys=True, default=str)
    print(f"RELIABILITY {line}")
    out = _OUT
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def wait_until(predicate: Any, timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passed; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


class FixedPortReceiver(OtlpReceiver):
    """An :class:`OtlpReceiver` that binds a given loopback port (0: any), so that it can be
    stopped and started again on the same endpoint."""

    def __init__(self, port: int = 0, mode: Any = "ok") -> None:
        super().__init__(mode)
        self.fixed_port = port

    def start(self) -> FixedPortReceiver:
        server = _TrackingServer.__new__(_TrackingServer)
        server.receiver = self
        server.connections = []
        ThreadingHTTPServer.__init__(server, ("127.0.0.1", self.fixed_port), _Handler)
        self.fixed_port = int(server.server_address[1])
        self.release.clear()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Die like a collector does: the listener and every open connection go away."""
        server = self._server
        super().stop()
        if isinstance(server, _TrackingServer):
            for conn in server.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            server.connections.clear()


class _TrackingServer(_Server):
    """Remembers its accepted connections (keep-alive ones outlive ``server_close()``)."""

    connections: list[socket.socket]

    def get_request(self) -> tuple[Any, Any]:
        conn, address = super().get_request()
        self.connections.append(conn)
        return conn, address


class StallingServer:
    """A loopback TCP listener that accepts, reads and never writes a byte (until closed)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self.bytes_read = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def _serve(self) -> None:
        self._sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            conn.settimeout(0.05)
            self._conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            self.bytes_read += len(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self._sock.close()

    def __enter__(self) -> StallingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


APP = r"""
import atexit, json, os, sys, time

report = {}


def final():
    import llmops

    stats = llmops.stats()
    report.update(
        exported=stats.exported, dropped=stats.dropped, failed=stats.failed,
        abandoned=stats.abandoned, export_errors=stats.export_errors,
    )
    print("REPORT " + json.dumps(report), flush=True)


atexit.register(final)  # before instrument(): runs after llmops' own exit hook

import llmops
from opentelemetry import trace

config, calls, spread_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
started = time.monotonic()
llmops.instrument(config_path=config)
report["instrument_s"] = time.monotonic() - started
tracer = trace.get_tracer("app")


def call(i):
    with tracer.start_as_current_span("call") as span:
        span.set_attribute("i", i)
        return i * 2


ok, slowest = 0, 0.0
began = time.monotonic()
for i in range(calls):
    t = time.perf_counter()
    if call(i) == i * 2:
        ok += 1
    slowest = max(slowest, time.perf_counter() - t)
    if spread_s:  # the application's own work between calls
        time.sleep(spread_s / calls)
report.update(calls=calls, calls_ok=ok, slowest_call_ms=slowest * 1000,
              run_s=time.monotonic() - began)
report["main_end"] = time.monotonic()
"""


@dataclass
class AppRun:
    returncode: int
    report: dict[str, Any]
    stderr: str
    stdout: str
    exit_s: float
    """From the end of the application's main code to the end of the process."""
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def run_app(config: Path, calls: int, spread_s: float, *, cwd: Path, timeout: float = 60) -> AppRun:
    """Run :data:`APP` with ``config`` in a fresh interpreter (no ambient llmops/OTel env)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", APP, str(config), str(calls), str(spread_s)],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    ended = time.monotonic()
    report: dict[str, Any] = {}
    for line in result.stdout.splitlines():
        if line.startswith("REPORT "):
            report = json.loads(line[len("REPORT ") :])
    main_end = report.get("main_end")
    exit_s = ended - main_end if isinstance(main_end, float) else float("nan")
    return AppRun(result.returncode, report, result.stderr, result.stdout, exit_s, ended - started)


def llmops_lines(stderr: str) -> list[str]:
    """The non-empty lines of ``stderr``."""
    return [line for line in stderr.splitlines() if line.strip()]
