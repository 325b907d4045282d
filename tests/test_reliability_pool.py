"""Issue 13: ``multiprocessing.Pool`` workers (fork start method) deliver their spans.

A pool's exit (``with ... Pool() as pool:``) terminates its workers with SIGTERM; llmops
flushes, bounded by ``tracing.shutdown_timeout_s``, before the worker dies. The documented
``pool.close(); pool.join()`` pattern delivers too. Each of the six tasks ends one span in a
worker; the OTLP/HTTP receiver on loopback must get each exactly once. A 10-minute batch delay
makes sure only the flush at each worker's end can send them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.core_support import subprocess_env
from tests.otlp_receiver import OtlpReceiver
from tests.reliability_support import record

TASKS = 6

POOL_APP = textwrap.dedent(
    """
    import json, multiprocessing, os, sys, time
    import llmops
    from opentelemetry import trace

    config, style, tasks = sys.argv[1], sys.argv[2], int(sys.argv[3])
    llmops.instrument("arize", config_path=config)
    tracer = trace.get_tracer("app")


    def f(i):
        with tracer.start_as_current_span(f"pool-{i}") as span:
            span.set_attribute("pid", os.getpid())
        return os.getpid()


    began = time.monotonic()
    context = multiprocessing.get_context("fork")
    if style == "with":
        with context.Pool(2) as pool:
            pids = pool.map(f, range(tasks))
    else:
        pool = context.Pool(2)
        pids = pool.map(f, range(tasks))
        pool.close()
        pool.join()
    print("REPORT " + json.dumps({
        "pids": sorted(set(pids)), "pool_s": time.monotonic() - began,
        "llmops_file": llmops.__file__,
    }), flush=True)
    """
)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("style", ["with", "close-join"])
def test_pool_workers_deliver_their_spans(tmp_path: Path, style: str) -> None:
    with OtlpReceiver() as receiver:
        config = tmp_path / "llmops.yaml"
        config.write_text(
            "tracing: {schedule_delay_ms: 600000, shutdown_timeout_s: 3}\n"
            f"arize: {{endpoint: '{receiver.endpoint}'}}\n",
            encoding="utf-8",
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", POOL_APP, str(config), style, str(TASKS)],
            cwd=tmp_path,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        wall = time.monotonic() - started
        assert result.returncode == 0, result.stderr[-3000:]
        report = next(
            json.loads(line[len("REPORT ") :])
            for line in result.stdout.splitlines()
            if line.startswith("REPORT ")
        )
        # Workers flush before they die, so the spans are there by the time the app exited;
        # a short grace for the receiver's own threads.
        spans = receiver.wait_for_spans(TASKS, timeout=5)
    names = sorted(s.name for s in spans if s.name.startswith("pool-"))
    record(
        f"multiprocessing.Pool(2), fork, {style}",
        spans_expected=TASKS,
        spans_received=len(names),
        worker_pids=len(report["pids"]),
        pool_s=round(report["pool_s"], 2),
        wall_s=round(wall, 2),
        stderr=[line for line in result.stderr.splitlines() if line.strip()][:6],
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert names == sorted(f"pool-{i}" for i in range(TASKS)), (
        f"pool: {len(names)} of {TASKS} spans delivered",
        names,
    )
    worker_pids = {s.attributes["pid"] for s in spans if s.name.startswith("pool-")}
    assert worker_pids <= set(report["pids"])
    assert report["pool_s"] < 3 + 5, report  # a flush bounded by shutdown_timeout_s
