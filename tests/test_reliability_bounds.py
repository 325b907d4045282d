"""Issue 13: memory, exit time and request size stay bounded when spans are big.

* 100 spans of 10 MB each (distinct strings), a collector that accepts and never answers
  (OTLP/HTTP and OTLP/gRPC), ``shutdown_timeout_s: 2``, in a fresh interpreter: the exit (end
  of the main code to the end of the process, measured by the parent) stays within
  ``shutdown_timeout_s + 0.5`` s, the peak RSS growth (``VmHWM``) stays well under the 64 MiB
  queue bound plus a few export buffers (< 250 MB), and every span is counted.
* ``tracing.max_queue_bytes``: 50 spans of 100 kB into a 1,000,000-byte queue (nothing
  drains it) keep at most ~10 queued; the rest are dropped with reason ``"queue_bytes"``.
* ``tracing.max_export_bytes``: 30 spans of 100 kB to a real receiver arrive in several
  requests, each under 1,000,000 bytes on the wire, all 30 delivered.
* Over gRPC (default ``max_export_bytes`` 4,000,000), a 10 MB span is dropped as
  ``"too_large"`` instead of failing its whole batch at a receiver with gRPC's 4 MB limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import llmops
from tests.core_support import subprocess_env
from tests.otlp_receiver import GrpcReceiver, OtlpReceiver
from tests.reliability_support import StallingServer, record

FIELDS = ("exported", "dropped", "failed", "abandoned", "unconfirmed")
SHUTDOWN_TIMEOUT_S = 2.0
BIG_SPANS = 100
BIG_BYTES = 10_000_000
RSS_LIMIT_MB = 250

BIG_APP = textwrap.dedent(
    """
    import atexit, json, sys, time

    report = {}


    def hwm_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")


    def final():
        import llmops

        per = llmops.stats().by_platform.get("arize") or llmops.stats()
        report["counts"] = {
            f: getattr(per, f, 0)
            for f in ("exported", "dropped", "failed", "abandoned", "unconfirmed")
        }
        report["dropped_by_reason"] = dict(getattr(per, "dropped_by_reason", None) or {})
        report["hwm_exit_mb"] = hwm_mb()
        report["llmops_file"] = llmops.__file__
        print("REPORT " + json.dumps(report), flush=True)


    atexit.register(final)  # before instrument(): runs after llmops' own exit hook

    import llmops

    config, spans, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    provider = llmops.instrument("arize", config_path=config)
    tracer = provider.get_tracer("app")
    tracer.start_span("warm").end()
    report["hwm_before_mb"] = hwm_mb()
    began = time.monotonic()
    unit = size // 10
    for i in range(spans):
        value = f"{i:09d}-" * unit  # a distinct 10 MB string per span
        span = tracer.start_span("big")
        span.set_attribute("payload", value)
        span.end()
        del value, span
    report["end_s"] = time.monotonic() - began
    report["hwm_main_mb"] = hwm_mb()
    report["spans"] = spans + 1
    report["main_end"] = time.monotonic()
    """
)


def _run_big(config: Path, cwd: Path) -> tuple[dict[str, Any], str, float]:
    result = subprocess.run(
        [sys.executable, "-c", BIG_APP, str(config), str(BIG_SPANS), str(BIG_BYTES)],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    ended = time.monotonic()
    report: dict[str, Any] = {}
    for line in result.stdout.splitlines():
        if line.startswith("REPORT "):
            report = json.loads(line[len("REPORT ") :])
    assert result.returncode == 0, result.stderr[-3000:]
    assert report, (result.stdout[-2000:], result.stderr[-3000:])
    return report, result.stderr, ended - report["main_end"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_hundred_ten_megabyte_spans_stalled_collector(tmp_path: Path, transport: str) -> None:
    if not Path("/proc/self/status").exists():  # pragma: no cover - Linux only
        pytest.skip("needs /proc/self/status")
    with StallingServer() as server:
        endpoint = f"http://127.0.0.1:{server.port}" + ("/v1/traces" if transport == "http" else "")
        config = tmp_path / "llmops.yaml"
        config.write_text(
            f"tracing: {{shutdown_timeout_s: {SHUTDOWN_TIMEOUT_S}}}\n"
            f"arize: {{endpoint: '{endpoint}', protocol: {transport}}}\n",
            encoding="utf-8",
        )
        report, stderr, exit_s = _run_big(config, tmp_path)
    counts = report["counts"]
    growth_main = report["hwm_main_mb"] - report["hwm_before_mb"]
    growth_exit = report["hwm_exit_mb"] - report["hwm_before_mb"]
    accounted = sum(counts[f] for f in FIELDS)
    record(
        f"100 spans of 10 MB, collector stalls (OTLP/{transport})",
        exit_s=round(exit_s, 2),
        rss_growth_mb_end_of_main=round(growth_main, 1),
        rss_growth_mb_at_exit=round(growth_exit, 1),
        rss_before_mb=round(report["hwm_before_mb"], 1),
        end_s=round(report["end_s"], 2),
        counts=counts,
        dropped_by_reason=report["dropped_by_reason"],
        spans=report["spans"],
        accounted=accounted,
        stderr=[line for line in stderr.splitlines() if line.strip()][:6],
    )
    assert "Traceback" not in stderr, stderr[-3000:]
    assert exit_s <= SHUTDOWN_TIMEOUT_S + 0.5, f"exit took {exit_s:.2f} s"
    assert max(growth_main, growth_exit) < RSS_LIMIT_MB, (
        f"RSS +{growth_main:.0f} MB by the end of main, +{growth_exit:.0f} MB at exit"
    )
    assert accounted == report["spans"], (
        f"{report['spans'] - accounted} of {report['spans']} spans uncounted",
        counts,
    )
    assert counts["exported"] == 0
    assert counts["dropped"] > 0  # the 64 MiB byte bound dropped most of them
    assert (
        report["dropped_by_reason"].get("queue_bytes", 0)
        + report["dropped_by_reason"].get("too_large", 0)
        == counts["dropped"]
    ), report["dropped_by_reason"]


def _counts(platform: str = "arize") -> tuple[dict[str, int], dict[str, int]]:
    per = llmops.stats().by_platform.get(platform) or llmops.stats()
    counts = {f: int(getattr(per, f, 0)) for f in FIELDS}
    return counts, dict(getattr(per, "dropped_by_reason", None) or {})


def test_queue_is_bounded_in_bytes(tmp_path: Path) -> None:
    with StallingServer() as server:
        config = tmp_path / "llmops.yaml"
        # Nothing drains the queue while the spans are ended: the worker waits for 512 spans
        # or 10 minutes, and the collector never answers.
        config.write_text(
            "tracing: {max_queue_bytes: 1000000, schedule_delay_ms: 600000, "
            "shutdown_timeout_s: 1}\n"
            f"arize: {{endpoint: 'http://127.0.0.1:{server.port}/v1/traces'}}\n",
            encoding="utf-8",
        )
        provider = llmops.instrument("arize", config_path=config)
        tracer = provider.get_tracer("app")
        for i in range(50):
            span = tracer.start_span("s")
            span.set_attribute("payload", f"{i:04d}" * 25_000)  # 100 kB
            span.end()
        ended, reasons = _counts()
        llmops.shutdown()
    counts, reasons_after = _counts()
    kept = 50 - counts["dropped"]
    record(
        "queue bound in bytes: 50 spans of 100 kB, max_queue_bytes 1,000,000",
        dropped_when_ended=ended["dropped"],
        dropped_by_reason=reasons,
        kept=kept,
        counts_after_shutdown=counts,
    )
    assert ended["dropped"] >= 40, (
        f"only {ended['dropped']} of 50 dropped; {50 - ended['dropped']} queued"
    )
    assert reasons == {"queue_bytes": ended["dropped"]}, reasons
    assert kept <= 10
    assert sum(counts.values()) == 50, counts
    assert counts["abandoned"] + counts["unconfirmed"] == kept, counts
    assert reasons_after == reasons


def test_export_requests_stay_under_max_export_bytes(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        config = tmp_path / "llmops.yaml"
        config.write_text(
            "tracing: {max_export_bytes: 1000000, schedule_delay_ms: 600000, "
            "shutdown_timeout_s: 10}\n"
            f"arize: {{endpoint: '{receiver.endpoint}'}}\n",
            encoding="utf-8",
        )
        provider = llmops.instrument("arize", config_path=config)
        tracer = provider.get_tracer("app")
        for i in range(30):
            span = tracer.start_span(f"s{i}")
            span.set_attribute("payload", f"{i:04d}" * 25_000)  # 100 kB
            span.end()
        llmops.shutdown()  # the flush sends everything
        spans = receiver.wait_for_spans(30, timeout=10)
        sizes = [int(h.get("content-length", 0)) for h in receiver.headers]
    counts, _ = _counts()
    record(
        "export size bound: 30 spans of 100 kB, max_export_bytes 1,000,000 (OTLP/HTTP)",
        requests=len(sizes),
        request_bytes=sizes,
        delivered=len(spans),
        counts=counts,
    )
    assert sorted(s.name for s in spans) == sorted(f"s{i}" for i in range(30))
    assert len(sizes) >= 4, sizes
    assert max(sizes) < 1_000_000, sizes
    assert counts["exported"] == 30, counts


def test_grpc_span_larger_than_the_export_bound_is_dropped_too_large(tmp_path: Path) -> None:
    with GrpcReceiver() as receiver:  # grpcio's default: 4 MB per received message
        config = tmp_path / "llmops.yaml"
        config.write_text(
            "tracing: {schedule_delay_ms: 600000, export_timeout_s: 2, shutdown_timeout_s: 5}\n"
            f"arize: {{endpoint: '{receiver.endpoint}', protocol: grpc}}\n",
            encoding="utf-8",
        )
        provider = llmops.instrument("arize", config_path=config)
        tracer = provider.get_tracer("app")
        for i in range(3):
            tracer.start_span(f"small-{i}").end()
        span = tracer.start_span("huge")
        span.set_attribute("payload", "x" * BIG_BYTES)
        span.end()
        del span
        for i in range(3, 6):
            tracer.start_span(f"small-{i}").end()
        llmops.shutdown()
        spans = receiver.wait_for_spans(6, timeout=3)
    counts, reasons = _counts()
    record(
        "a 10 MB span over OTLP/gRPC (receiver limit 4 MB)",
        delivered=len(spans),
        counts=counts,
        dropped_by_reason=reasons,
    )
    assert sorted(s.name for s in spans) == sorted(f"small-{i}" for i in range(6)), counts
    assert counts["exported"] == 6, counts
    assert counts["failed"] == 0, counts
    assert counts["dropped"] == 1, (counts, reasons)
    assert reasons == {"too_large": 1}, (counts, reasons)
