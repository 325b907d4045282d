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
    llmops.shutdown()
    stats = llmops.stats()
    print(json.dumps({
        "before_mb": before, "after_mb": after, "peak_mb": max(peak, after), "seconds": took,
        "dropped": stats.dropped, "failed": stats.failed, "exported": stats.exported,
        "abandoned": stats.abandoned, "unconfirmed": stats.unconfirmed,
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
        + report["abandoned"]
        + report["unconfirmed"]
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
    # Every span is accounted for: exported, failed, abandoned, unconfirmed or dropped.
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
    assert any("not delivered" in line and "with the export queue full" in line for line in lines)
