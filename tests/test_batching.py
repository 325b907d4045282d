"""llmops' export queue (``_batching.BatchExportProcessor``) at its edges: what the SDK lets
an application do must not raise out of ``span.end()``, and every wait has its bound."""

from __future__ import annotations

import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import llmops
from llmops._batching import BatchExportProcessor


class SlowExporter(SpanExporter):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        time.sleep(self.seconds)  # the collector's latency, simulated
        return SpanExportResult.SUCCESS


def _processor(exporter: SpanExporter, **limits: int) -> BatchExportProcessor:
    return BatchExportProcessor(
        exporter,
        "edge",
        max_spans=limits.get("max_spans", 2048),
        max_bytes=limits.get("max_bytes", 64 * 1024 * 1024),
        max_batch=limits.get("max_batch", 512),
        max_export_bytes=16_000_000,
        delay_s=3600.0,
    )


def test_a_span_without_a_string_name_is_queued_not_raised() -> None:
    processor = _processor(SlowExporter(0))
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    span = provider.get_tracer("t").start_span(None)  # type: ignore[arg-type]
    span.add_event(None)  # type: ignore[arg-type]
    span.end()  # the SDK accepts both; the size estimate must too
    assert processor.force_flush(5000)
    processor.shutdown(1)


def test_force_flush_keeps_to_its_timeout() -> None:
    exporter = SlowExporter(0.3)
    processor = _processor(exporter, max_batch=1)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for _ in range(50):
        tracer.start_span("s").end()
    started = time.monotonic()
    assert processor.force_flush(timeout_millis=100) is False
    assert time.monotonic() - started < 0.7  # one export in flight at the deadline, no more
    assert exporter.calls <= 2
    exporter.seconds = 0  # the rest drains now, not into the counts of the tests after this
    processor.shutdown(5)


def test_the_applications_provider_shutdown_is_bounded_and_counted(tmp_path: object) -> None:
    """llmops added to the application's provider: its ``provider.shutdown()`` stops llmops'
    setup as ``llmops.shutdown()`` would, within ``shutdown_timeout_s``, counting what it
    gives up on."""
    import socket
    from pathlib import Path

    from opentelemetry import trace

    stalled = socket.socket()
    stalled.bind(("127.0.0.1", 0))
    stalled.listen(16)  # accepts, never answers
    port = stalled.getsockname()[1]
    config = Path(str(tmp_path)) / "llmops.yaml"
    config.write_text(
        "tracing: {shutdown_timeout_s: 1, export_timeout_s: 30, schedule_delay_ms: 50}\n"
        f"arize: {{endpoint: 'http://127.0.0.1:{port}/v1/traces'}}\n",
        encoding="utf-8",
    )
    provider = TracerProvider(shutdown_on_exit=False)
    trace.set_tracer_provider(provider)
    assert llmops.instrument("arize", config_path=config) is provider
    for _ in range(10):
        provider.get_tracer("app").start_span("s").end()
    setup = llmops._lifecycle.current()
    assert setup is not None
    processor = setup.pipelines[0].processor
    deadline = time.monotonic() + 5
    while getattr(processor, "_taken", 0) == 0:  # the batch is in flight to the stalled socket
        assert time.monotonic() < deadline, "the export thread never took the batch"
        time.sleep(0.01)
    started = time.monotonic()
    provider.shutdown()
    took = time.monotonic() - started
    stalled.close()
    stats = llmops.stats().by_platform["arize"]
    assert took < 1.5, took
    assert stats.exported + stats.dropped + stats.failed + stats.abandoned + stats.unconfirmed == 10
    assert llmops._lifecycle.current() is None
