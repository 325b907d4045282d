"""Fault 5: concurrency and processes.

* 16 threads end spans while another thread registers platforms: no deadlock (every join has
  a deadline), no lost registration, every span delivered or counted.
* A child made by ``os.fork()`` or by ``multiprocessing`` with the fork start method exports
  its own spans through its own connection (OTLP/HTTP to a real receiver, OTLP/gRPC to the
  real Phoenix) and exits cleanly, ``multiprocessing``'s ``os._exit`` included; a fork while
  another thread holds llmops' lock does not deadlock the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

import llmops
from llmops import PlatformSetup
from llmops._registry import _default
from tests.core_support import subprocess_env
from tests.otlp_receiver import OtlpReceiver
from tests.reliability_support import record

if TYPE_CHECKING:
    from tests.servers.phoenix import PhoenixServer

THREADS = 16
SPANS_PER_THREAD = 2000
REGISTRATIONS = 300


@pytest.fixture(autouse=True)
def _unregister_conc() -> Iterator[None]:
    """The ``conc_*`` platforms a test registered are gone after it (isolation: ``conftest.py``)."""
    yield
    for i in range(REGISTRATIONS):
        _default.unregister(f"conc_{i}")


class _Config(msgspec.Struct, forbid_unknown_fields=True):
    pass


def _platform_class(index: int) -> type:
    def setup(self: Any, config: _Config, settings: Any) -> PlatformSetup:
        return PlatformSetup(description=f"conc {index}")

    return type(f"Conc{index}", (), {"config_type": _Config, "setup": setup})


def test_threads_ending_spans_while_platforms_register(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        config = tmp_path / "llmops.yaml"
        config.write_text(
            "tracing: {max_queue_size: 100000, schedule_delay_ms: 50}\n"
            f"arize: {{endpoint: '{receiver.endpoint}'}}\n",
            encoding="utf-8",
        )
        provider = llmops.instrument("arize", config_path=config)
        tracer = provider.get_tracer("app")
        start = threading.Barrier(THREADS + 1)
        errors: list[BaseException] = []
        classes = [_platform_class(i) for i in range(REGISTRATIONS)]

        def end_spans(worker: int) -> None:
            try:
                start.wait(10)
                for i in range(SPANS_PER_THREAD):
                    with tracer.start_as_current_span(f"w{worker}") as span:
                        span.set_attribute("i", i)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        def register() -> None:
            try:
                start.wait(10)
                for i, cls in enumerate(classes):
                    llmops.register_platform(f"conc_{i}")(cls)
                    if i % 25 == 0:
                        llmops.available_platforms()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=end_spans, args=(w,)) for w in range(THREADS)]
        threads.append(threading.Thread(target=register))
        began = time.monotonic()
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        stuck = [t.name for t in threads if t.is_alive()]
        assert not stuck, f"deadlock: {stuck} still running"
        took = time.monotonic() - began
        assert not errors, errors
        names = set(llmops.available_platforms())
        assert {f"conc_{i}" for i in range(REGISTRATIONS)} <= names
        for i in (0, REGISTRATIONS // 2, REGISTRATIONS - 1):
            assert llmops.get_platform(f"conc_{i}") is classes[i]
        llmops.shutdown()
        total = THREADS * SPANS_PER_THREAD
        received = len(receiver.wait_for_spans(total, timeout=20))
        stats = llmops.stats()
        assert received == stats.exported
        assert stats.exported + stats.lost == total
        assert received == total  # the queue is large enough here: nothing lost
        record(
            "16 threads end spans while a thread registers 300 platforms",
            threads=THREADS,
            spans=total,
            spans_received=received,
            registrations=f"{REGISTRATIONS}/{REGISTRATIONS}",
            seconds=round(took, 2),
        )


# -- fork ------------------------------------------------------------------------------------------

FORKING_APP = textwrap.dedent(
    """
    import json, multiprocessing, os, sys, threading, time
    import llmops
    from opentelemetry import trace

    llmops.instrument("arize", config_path=sys.argv[1])
    tracer = trace.get_tracer("app")
    tracer.start_span("parent-before").end()
    llmops._lifecycle.current().provider.force_flush()  # the parent's connection is open and used


    def work(tag):
        with tracer.start_as_current_span(f"child-{tag}") as span:
            span.set_attribute("pid", os.getpid())


    results = {}
    # 1. os.fork(), the child returning normally (atexit runs)
    pid = os.fork()
    if pid == 0:
        work("fork")
        sys.exit(0)
    results["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    # 2. os.fork() while another thread holds llmops' lock: the child must not deadlock
    held, release = threading.Event(), threading.Event()

    def hold():
        with llmops._lifecycle._default.lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    pid = os.fork()
    if pid == 0:
        work("fork-locked")
        llmops.shutdown()  # takes the lock
        os._exit(0)        # after an explicit shutdown, os._exit loses nothing
    release.set()
    holder.join()
    results["fork-locked"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    # 3. multiprocessing, fork start method: the child ends with os._exit, skipping atexit
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=work, args=(f"mp{i}",)) for i in range(3)]
    started = time.monotonic()
    for p in processes:
        p.start()
    for p in processes:
        p.join(30)
    results["mp"] = [p.exitcode for p in processes]
    results["mp_seconds"] = time.monotonic() - started
    tracer.start_span("parent-after").end()
    print(json.dumps(results), flush=True)
    """
)

EXPECTED = {
    "parent-before",
    "parent-after",
    "child-fork",
    "child-fork-locked",
    "child-mp0",
    "child-mp1",
    "child-mp2",
}


def _run_forking_app(config: Path, cwd: Path) -> tuple[dict[str, Any], str, float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", FORKING_APP, str(config)],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["fork"] == 0
    assert report["fork-locked"] == 0
    assert report["mp"] == [0, 0, 0]
    assert "Traceback" not in result.stderr, result.stderr
    return report, result.stderr, took


def test_forked_children_export_their_own_spans_http(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        config = tmp_path / "llmops.yaml"
        config.write_text(
            # A long batch delay: only the flush at each process's exit sends its spans.
            "tracing: {schedule_delay_ms: 600000, shutdown_timeout_s: 5}\n"
            f"arize: {{endpoint: '{receiver.endpoint}'}}\n",
            encoding="utf-8",
        )
        report, stderr, took = _run_forking_app(config, tmp_path)
        spans = receiver.wait_for_spans(len(EXPECTED), timeout=10)
    names = [s.name for s in spans]
    assert sorted(names) == sorted(EXPECTED), names  # each exactly once
    pids = {s.attributes["pid"] for s in spans if s.name.startswith("child-")}
    assert len(pids) == 5  # five different child processes
    assert stderr.strip() == ""
    record(
        "os.fork / multiprocessing(fork) children (OTLP/HTTP receiver)",
        spans_expected=len(EXPECTED),
        spans_received=len(spans),
        children_exit_codes="0 0 0 0 0",
        wall_s=round(took, 2),
        mp_children_s=round(report["mp_seconds"], 2),
    )


@pytest.mark.e2e
def test_forked_children_export_their_own_spans_grpc_phoenix(
    tmp_path: Path, phoenix_server: PhoenixServer
) -> None:
    project = f"llmops-fork-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "llmops.yaml"
    config.write_text(
        "tracing: {schedule_delay_ms: 600000, shutdown_timeout_s: 5}\n"
        f"arize: {{endpoint: '{phoenix_server.grpc_endpoint}', protocol: grpc, "
        f"project_name: {project}}}\n",
        encoding="utf-8",
    )
    report, stderr, took = _run_forking_app(config, tmp_path)
    spans = phoenix_server.wait_for_spans(project, len(EXPECTED), timeout=30)
    names = sorted(s["name"] for s in spans)
    assert names == sorted(EXPECTED), names
    assert "llmops:" not in stderr, stderr
    record(
        "os.fork / multiprocessing(fork) children (real Phoenix, OTLP/gRPC)",
        spans_expected=len(EXPECTED),
        spans_received=len(spans),
        children_exit_codes="0 0 0 0 0",
        wall_s=round(took, 2),
        mp_children_s=round(report["mp_seconds"], 2),
        stderr=[line for line in stderr.splitlines() if line.strip()],
    )
