"""Faults 1 and 3: a collector that is not there, that never answers, or that answers errors.

Each case runs a small instrumented application (``reliability_support.APP``) in a fresh
interpreter against a real loopback endpoint and checks what the application saw: every call
succeeded and none was slowed down, ``instrument()`` returned promptly, stderr holds no
traceback and at most the documented llmops warnings, and the process exited within
``tracing.shutdown_timeout_s`` + 1 s. The figures go to ``docs/reliability.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.core_support import free_port
from tests.otlp_receiver import OtlpReceiver
from tests.reliability_support import AppRun, StallingServer, llmops_lines, record, run_app

SHUTDOWN_TIMEOUT_S = 2.0
EXPORT_TIMEOUT_S = 1.0
CALLS = 300
SPREAD_S = 1.5  # calls spread over 1.5 s: several batches are attempted while the app runs


def write_config(tmp_path: Path, platform_section: str) -> Path:
    path = tmp_path / "llmops.yaml"
    path.write_text(
        "tracing:\n"
        f"  shutdown_timeout_s: {SHUTDOWN_TIMEOUT_S}\n"
        f"  export_timeout_s: {EXPORT_TIMEOUT_S}\n"
        "  schedule_delay_ms: 200\n" + platform_section,
        encoding="utf-8",
    )
    return path


def check_app(run: AppRun, *, max_warnings: int) -> list[str]:
    """The guarantees every fault case shares; returns the stderr lines."""
    lines = llmops_lines(run.stderr)
    assert run.returncode == 0, run.stderr
    report = run.report
    assert report, f"no report; stdout={run.stdout!r} stderr={run.stderr!r}"
    assert report["calls_ok"] == report["calls"] == CALLS
    assert report["instrument_s"] < 3.0, report
    assert report["slowest_call_ms"] < 100, report  # span.end() never waits on the network
    assert "Traceback" not in run.stderr, run.stderr
    assert all(line.startswith("llmops: ") for line in lines), lines
    assert len(lines) <= max_warnings, lines
    assert run.exit_s <= SHUTDOWN_TIMEOUT_S + 1.0, (run.exit_s, lines)
    # Nothing silent: every span is delivered or counted as lost.
    assert report["exported"] + report["dropped"] + report["failed"] + report["abandoned"] == CALLS
    return lines


def record_run(fault: str, run: AppRun, lines: list[str]) -> None:
    report = run.report
    record(
        fault,
        calls_ok=f"{report['calls_ok']}/{report['calls']}",
        instrument_s=round(report["instrument_s"], 3),
        slowest_call_ms=round(report["slowest_call_ms"], 2),
        spans_lost=report["dropped"] + report["failed"] + report["abandoned"],
        spans_exported=report["exported"],
        exit_s=round(run.exit_s, 2),
        stderr_lines=len(lines),
        stderr=lines,
    )


# -- 1. nothing listens -------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_collector_unreachable_at_start(tmp_path: Path, transport: str) -> None:
    port = free_port()
    endpoint = (
        f"http://127.0.0.1:{port}" if transport == "grpc" else f"http://127.0.0.1:{port}/v1/traces"
    )
    config = write_config(
        tmp_path, f"arize:\n  endpoint: {endpoint}\n  protocol: {transport}\nplatform: arize\n"
    )
    run = run_app(config, CALLS, SPREAD_S, cwd=tmp_path)
    # One warning when exports start failing, one summary at exit.
    lines = check_app(run, max_warnings=2)
    assert run.report["exported"] == 0
    assert any("not delivered" in line and "arize" in line for line in lines), lines
    record_run(f"collector unreachable at start (arize, OTLP/{transport})", run, lines)


def test_mlflow_server_unreachable_at_start(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f"mlflow:\n  tracking_uri: http://127.0.0.1:{free_port()}\n  timeout_s: 1\n"
        "platform: mlflow\n",
    )
    run = run_app(config, CALLS, SPREAD_S, cwd=tmp_path)
    # MLflow's own "cannot reach the server" at instrument(), the failure, the exit summary.
    lines = check_app(run, max_warnings=3)
    assert any("cannot reach the MLflow server" in line for line in lines), lines
    assert run.report["exported"] == 0
    record_run("collector unreachable at start (mlflow server)", run, lines)


# -- 3. accepts and never answers; answers errors -------------------------------------------------


def test_collector_that_never_answers_http(tmp_path: Path) -> None:
    with OtlpReceiver(mode="stall") as receiver:
        config = write_config(
            tmp_path, f"arize:\n  endpoint: {receiver.endpoint}\nplatform: arize\n"
        )
        run = run_app(config, CALLS, SPREAD_S, cwd=tmp_path)
        assert receiver.requests >= 1  # it did connect and send
    lines = check_app(run, max_warnings=2)
    assert run.report["exported"] == 0
    record_run("collector accepts, never answers (OTLP/HTTP)", run, lines)


def test_collector_that_never_answers_grpc(tmp_path: Path) -> None:
    with StallingServer() as server:
        config = write_config(
            tmp_path,
            f"arize:\n  endpoint: http://127.0.0.1:{server.port}\n  protocol: grpc\n"
            "platform: arize\n",
        )
        run = run_app(config, CALLS, SPREAD_S, cwd=tmp_path)
        assert server.bytes_read > 0  # the exporter connected and wrote
    lines = check_app(run, max_warnings=2)
    assert run.report["exported"] == 0
    record_run("collector accepts, never answers (OTLP/gRPC)", run, lines)


def test_collector_that_answers_errors(tmp_path: Path) -> None:
    with OtlpReceiver(mode="error") as receiver:
        config = write_config(
            tmp_path, f"arize:\n  endpoint: {receiver.endpoint}\nplatform: arize\n"
        )
        run = run_app(config, CALLS, SPREAD_S, cwd=tmp_path)
        assert receiver.requests >= 1
    lines = check_app(run, max_warnings=2)
    assert run.report["exported"] == 0
    record_run("collector answers every export with HTTP 500", run, lines)


def test_healthy_collector_baseline(tmp_path: Path) -> None:
    """The same application against a healthy receiver: everything arrives, nothing is said."""
    with OtlpReceiver() as receiver:
        config = write_config(
            tmp_path, f"arize:\n  endpoint: {receiver.endpoint}\nplatform: arize\n"
        )
        run = run_app(config, CALLS, SPREAD_S, cwd=tmp_path)
        assert len(receiver.wait_for_spans(CALLS, timeout=5)) == CALLS
    lines = check_app(run, max_warnings=0)
    assert run.report["exported"] == CALLS
    record_run("healthy collector (baseline)", run, lines)


# -- exporter timeouts are bounded and follow the config ---------------------------------------


def _one_export_seconds(endpoint: str, protocol: str, timeout_s: float) -> float:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExportResult

    from llmops import Destination
    from llmops._exporters import otlp_exporter

    exporter = otlp_exporter(
        Destination(
            description="test",
            transport=protocol,  # type: ignore[arg-type]
            endpoint=endpoint,
            timeout_s=timeout_s,
        )
    )
    provider = TracerProvider(shutdown_on_exit=False)
    span = provider.get_tracer("t").start_span("s")
    span.end()
    started = time.monotonic()
    result = exporter.export([span])  # type: ignore[list-item]
    took = time.monotonic() - started
    assert result is SpanExportResult.FAILURE
    exporter.shutdown()
    return took


@pytest.mark.parametrize("timeout_s", [0.5, 1.5])
@pytest.mark.parametrize("fault", ["stall-http", "stall-grpc", "error-http"])
def test_export_timeout_is_bounded_and_configurable(fault: str, timeout_s: float) -> None:
    if fault == "stall-grpc":
        with StallingServer() as server:
            took = _one_export_seconds(f"http://127.0.0.1:{server.port}", "grpc", timeout_s)
    else:
        with OtlpReceiver(mode="stall" if fault == "stall-http" else "error") as receiver:
            took = _one_export_seconds(receiver.endpoint, "http", timeout_s)
    record(f"one export, {fault}", export_timeout_s=timeout_s, took_s=round(took, 2))
    assert took <= timeout_s + 0.5, took
