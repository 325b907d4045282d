"""Resolving the experiment on a tracking server runs under one deadline (``mlflow.timeout_s``).

A server or proxy that accepts and then answers one byte at a time defeats a per-read socket
timeout: each byte restarts it. These tests run such a server on a loopback socket and check
that ``instrument()`` returns by the deadline, says why, and that the later retries from the
export thread are bounded by the same deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops
from llmops import Platform

TIMEOUT_S = 1.0
"""``mlflow.timeout_s`` of these tests."""
SLACK_S = 1.5
"""What a loaded machine may add to the deadline (thread start, logging, teardown)."""
BYTE_INTERVAL_S = 0.1
"""Well under ``TIMEOUT_S``: no single read ever times out."""


class TricklingServer:
    """Accepts, reads the request, then answers one byte every ``BYTE_INTERVAL_S`` for ever:
    a status line, then header after header."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()
        self.connections: list[socket.socket] = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self.connections.append(connection)
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        try:
            connection.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\n" + b"x-slow: y\r\n" * 10_000
            for byte in answer:
                if self.stopped.wait(BYTE_INTERVAL_S):
                    return
                connection.sendall(bytes([byte]))
        except OSError:
            pass

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):  # closed by the client already
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.fixture
def trickling() -> Iterator[TricklingServer]:
    server = TricklingServer()
    yield server
    server.stop()


def _instrument_within(path: Path, limit: float, server: TricklingServer) -> tuple[float, Any]:
    """Run ``instrument()`` in a thread: (its duration, the provider); fail once ``limit`` has
    passed."""
    done = threading.Event()
    provider: list[Any] = []

    def run() -> None:
        provider.append(llmops.instrument(Platform.MLFLOW, config_path=path))
        done.set()

    began = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not done.wait(limit):
        server.stop()  # the blocked request then fails, and instrument() ends before teardown
        thread.join(10)
        pytest.fail(f"instrument() had not returned after {limit} s (mlflow.timeout_s {TIMEOUT_S})")
    return time.monotonic() - began, provider[0]


def test_instrument_returns_by_the_deadline_of_a_trickling_server(
    trickling: TricklingServer,
    write_config: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = write_config(
        mlflow={"tracking_uri": trickling.uri, "experiment_name": "x", "timeout_s": TIMEOUT_S},
        instrumentation={},
    )
    with caplog.at_level("WARNING", logger="llmops"):
        took, _ = _instrument_within(path, TIMEOUT_S + SLACK_S, trickling)
    assert took >= TIMEOUT_S * 0.9  # it did wait for the server, up to the deadline
    messages = [r.getMessage() for r in caplog.records if r.name == "llmops"]
    assert any(f"did not answer within {TIMEOUT_S:g} s" in m for m in messages), messages
    assert any("the application carries on" in m for m in messages), messages
    # Its socket was cut: the worker that waited on the server ends too.
    deadline = time.monotonic() + SLACK_S
    while any(t.name == "llmops-mlflow-resolve" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the resolving thread still waits on the server"
        time.sleep(0.02)


def test_retries_from_the_export_thread_are_bounded_too(
    trickling: TricklingServer,
    write_config: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmops._platforms._mlflow_export import ExperimentExporter

    monkeypatch.setattr(ExperimentExporter, "retry_interval_s", 0.0)
    path = write_config(
        mlflow={"tracking_uri": trickling.uri, "experiment_name": "x", "timeout_s": TIMEOUT_S},
        tracing={"schedule_delay_ms": 50, "shutdown_timeout_s": 30},
        instrumentation={},
    )
    _, provider = _instrument_within(path, TIMEOUT_S + SLACK_S, trickling)
    before = trickling.accepted
    with provider.get_tracer("test").start_as_current_span("work"):
        pass
    began = time.monotonic()
    llmops.shutdown()  # flushes: the export retries the resolution, under the deadline
    took = time.monotonic() - began
    assert trickling.accepted > before, "the export thread tried the server again"
    # Unbounded, the export would hold shutdown for its whole 30 s cap.
    assert took < TIMEOUT_S + SLACK_S + 1
    assert llmops.stats().failed == 1
