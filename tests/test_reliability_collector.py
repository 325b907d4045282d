"""Fault 2: the collector dies mid-run, then comes back.

Against a real OTLP/HTTP receiver stopped and restarted on the same port, and against the
session's real Phoenix (OTLP/gRPC) stopped and restarted with ``PhoenixServer.stop()`` /
``start()``. While the collector is away nothing blocks (every ``span.end()`` is timed);
spans ended after it is back arrive; what was lost meanwhile is counted, never silent.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import llmops
from llmops import Platform
from tests.reliability_support import FixedPortReceiver, record, wait_until

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from tests.servers.phoenix import PhoenixServer

BURST = 200


def _burst(provider: TracerProvider, label: str, count: int = BURST) -> float:
    """End ``count`` spans named ``label-i``; return the slowest ``span.end()`` in ms."""
    tracer = provider.get_tracer("app")
    slowest = 0.0
    for i in range(count):
        span = tracer.start_span(f"{label}-{i}")
        started = time.perf_counter()
        span.end()
        slowest = max(slowest, time.perf_counter() - started)
    return slowest * 1000


def test_otlp_receiver_dies_and_comes_back(tmp_path: Path) -> None:
    receiver = FixedPortReceiver().start()
    try:
        config = tmp_path / "llmops.yaml"
        config.write_text(
            "tracing: {schedule_delay_ms: 100, export_timeout_s: 1, shutdown_timeout_s: 2}\n"
            f"arize: {{endpoint: '{receiver.endpoint}'}}\n",
            encoding="utf-8",
        )
        provider = llmops.instrument(Platform.ARIZE, config_path=config)
        _burst(provider, "before")
        assert len(receiver.wait_for_spans(BURST, timeout=10)) == BURST

        receiver.stop()
        down_at = time.monotonic()
        slowest_down = _burst(provider, "down")
        assert wait_until(lambda: llmops.stats().failed > 0, timeout=10), llmops.stats()
        down_s = time.monotonic() - down_at

        receiver.start()  # the same port
        slowest_after = _burst(provider, "after")
        spans = receiver.wait_for_spans(2 * BURST, timeout=15)
        names = {s.name for s in spans}
        assert {f"after-{i}" for i in range(BURST)} <= names
        llmops.shutdown()
        stats = llmops.stats()
        lost = sum(1 for i in range(BURST) if f"down-{i}" not in names)
        assert stats.lost == lost  # counted exactly
        assert slowest_down < 50
        assert slowest_after < 50
        record(
            "collector dies mid-run, comes back (OTLP/HTTP receiver)",
            slowest_span_end_ms_while_down=round(slowest_down, 2),
            spans_lost=lost,
            spans_ended_while_down=BURST,
            after_spans_arrived=f"{BURST}/{BURST}",
            down_s=round(down_s, 2),
            stats=repr(stats),
        )
    finally:
        receiver.stop()


@pytest.mark.e2e
def test_phoenix_dies_and_comes_back(tmp_path: Path, phoenix_server: PhoenixServer) -> None:
    project = f"llmops-restart-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "llmops.yaml"
    config.write_text(
        "tracing: {schedule_delay_ms: 200, export_timeout_s: 2, shutdown_timeout_s: 5}\n"
        f"arize: {{endpoint: '{phoenix_server.grpc_endpoint}', protocol: grpc, "
        f"project_name: {project}}}\n",
        encoding="utf-8",
    )
    try:
        provider = llmops.instrument(Platform.ARIZE, config_path=config)
        _burst(provider, "before", 20)
        assert len(phoenix_server.wait_for_spans(project, 20, timeout=30)) >= 20

        phoenix_server.stop()
        slowest_down = _burst(provider, "down", 20)
        assert wait_until(lambda: llmops.stats().failed > 0, timeout=15), llmops.stats()

        restarted = time.monotonic()
        phoenix_server.start()
        restart_s = time.monotonic() - restarted
        slowest_after = _burst(provider, "after", 20)
        arrived_at = time.monotonic()

        def after_arrived() -> bool:
            stored = {s["name"] for s in phoenix_server.spans(project)}
            return {f"after-{i}" for i in range(20)} <= stored

        assert wait_until(after_arrived, timeout=60, interval=0.5)
        delay_s = time.monotonic() - arrived_at
        llmops.shutdown()
        stored = {s["name"] for s in phoenix_server.spans(project)}
        lost = sum(1 for i in range(20) if f"down-{i}" not in stored)
        assert llmops.stats().lost == lost
        assert slowest_down < 50
        assert slowest_after < 50
        record(
            "collector dies mid-run, comes back (real Phoenix, OTLP/gRPC)",
            slowest_span_end_ms_while_down=round(slowest_down, 2),
            spans_lost=lost,
            spans_ended_while_down=20,
            after_spans_arrived="20/20",
            phoenix_restart_s=round(restart_s, 1),
            after_spans_visible_after_s=round(delay_s, 1),
        )
    finally:
        if not phoenix_server.is_running:
            phoenix_server.start()
