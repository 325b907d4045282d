"""Fault 4: memory stays bounded while the collector is down, and drops are counted.

A fresh interpreter instruments Arize with an endpoint where nothing listens, ends 1,000,000
spans, and reports its resident set size (``VmRSS`` of ``/proc/self/status``) before and after,
the time it took, ``llmops.stats()`` and what it wrote to stderr. The SDK alone would log a
"Queue full, dropping span" warning per dropped span (rate-limited by its duplicate filter);
llmops drops new spans before that, counts them and says so once, then once more at exit.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from tests.core_support import free_port, run_python
from tests.reliability_support import record

SPANS = int(os.environ.get("LLMOPS_MEMORY_SPANS", "1000000"))
LIMIT_MB = 50

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import llmops
    from opentelemetry import trace


    def rss_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


    llmops.instrument("arize", config_path=sys.argv[1])
    tracer = trace.get_tracer("app")
    total = int(sys.argv[2])
    for i in range(20_000):  # warm up: the queue fills, caches and allocator pools settle
        tracer.start_span("warm").end()
    before = rss_mb()
    peak = before
    started = time.monotonic()
    for i in range(total):
        span = tracer.start_span("call")
        span.set_attribute("i", i)
        span.end()
        if i % 100_000 == 0:
            peak = max(peak, rss_mb())
    took = time.monotonic() - started
    after = rss_mb()
    stats = llmops.stats()
    print(json.dumps({
        "before_mb": before, "after_mb": after, "peak_mb": max(peak, after), "seconds": took,
        "dropped": stats.dropped, "failed": stats.failed, "exported": stats.exported,
        "queued": sum(p.processor.queued() for p in llmops._lifecycle.current().pipelines),
        "in_flight": sum(
            p.guard.in_flight for p in llmops._lifecycle.current().pipelines if p.guard
        ),
    }), flush=True)
    """
)


@pytest.mark.timeout(240)
def test_a_million_spans_with_the_collector_down(tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():  # pragma: no cover - Linux only
        pytest.skip("needs /proc/self/status")
    config = tmp_path / "llmops.yaml"
    config.write_text(
        "tracing: {shutdown_timeout_s: 2, export_timeout_s: 1}\n"
        f"arize: {{endpoint: 'http://127.0.0.1:{free_port()}/v1/traces'}}\n",
        encoding="utf-8",
    )
    result, wall = run_python(CHILD, str(config), str(SPANS), cwd=tmp_path, timeout=200)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    growth = report["peak_mb"] - report["before_mb"]
    warm = 20_000
    accounted = (
        report["dropped"]
        + report["failed"]
        + report["exported"]
        + report["queued"]
        + report["in_flight"]
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    record(
        f"{SPANS:,} spans ended, collector down",
        rss_growth_mb=round(growth, 1),
        rss_before_mb=round(report["before_mb"], 1),
        rss_after_mb=round(report["after_mb"], 1),
        seconds=round(report["seconds"], 1),
        us_per_span=round(report["seconds"] / SPANS * 1e6, 1),
        dropped=report["dropped"],
        failed=report["failed"],
        wall_s=round(wall, 1),
        stderr=lines,
        python=sys.version.split()[0],
    )
    assert growth < LIMIT_MB, report
    # Every span is accounted for: exported, failed, still queued or in flight, or dropped.
    assert accounted == SPANS + warm, report
    # Most spans overflow the 2,048-span queue; the export thread still drains (and fails)
    # some batches, more on a loaded machine, so the exact split varies: the accounting above
    # is the exact check, this one only says the queue did overflow and was counted.
    assert report["dropped"] >= SPANS * 9 // 10, report
    # No flood: one warning when the queue fills, one when exports fail, one summary at exit.
    assert "Traceback" not in result.stderr
    assert "Queue full" not in result.stderr
    assert len(lines) <= 3, lines
    assert any("export queue for arize is full" in line for line in lines), lines
    assert any(
        "not delivered" in line and "dropped with the export queue full" in line for line in lines
    )


def test_a_drop_inside_the_sdk_is_counted_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """When threads race past llmops' queue check, the SDK drops a span and logs "Queue full";
    that record is turned into a counted drop (no log line). Forced here deterministically."""
    import logging

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import llmops
    from llmops._exporters import _FILTER, quiet_sdk_loggers
    from llmops._processors import DetachableProcessor

    llmops._stats.reset()
    quiet_sdk_loggers()
    caplog.set_level(logging.DEBUG)
    batch = BatchSpanProcessor(
        InMemorySpanExporter(),
        max_queue_size=4,
        max_export_batch_size=4,
        schedule_delay_millis=600_000,
    )
    # Keep the export thread asleep: the queue only fills.
    awaken = batch._batch_processor._worker_awaken
    batch._batch_processor._worker_awaken = _AlwaysSet()
    processor = DetachableProcessor(batch, platform="race")
    processor._queue = None  # skip llmops' own check: the SDK meets the full queue
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for _ in range(10):
        tracer.start_span("s").end()
    assert processor.dropped == 6
    assert llmops.stats().by_platform["race"].dropped == 6
    assert not [r for r in caplog.records if "Queue full" in r.getMessage()]
    # Outside llmops' processor (another thread, an application's own processor) the SDK's
    # record is left alone.
    record = logging.LogRecord(
        "opentelemetry.sdk._shared_internal",
        logging.WARNING,
        "f",
        1,
        "Queue full, dropping %s.",
        ("span",),
        None,
    )
    assert _FILTER.filter(record) is True
    batch._batch_processor._worker_awaken = awaken
    batch.shutdown()


class _AlwaysSet:
    """Stands in for the batch processor's wake-up event: "already set", so never set."""

    def is_set(self) -> bool:
        return True

    def set(self) -> None:
        pass
