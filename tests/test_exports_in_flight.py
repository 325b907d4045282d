"""``PlatformSetup.exports_in_flight``: a platform may let the core run two exports of one
exporter at once (MLflow's local store does: one batch is converted while the last commits).

Every export here waits on a gate the test opens, so what is in flight is known exactly:
two batches are taken at once with two slots and one with one; a flush, a shutdown and
``give_up()`` account for both; and every span is counted once.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import llmops
from llmops import PlatformSetup
from llmops._batching import BatchExportProcessor

_names = itertools.count()


class GateExporter(SpanExporter):
    """Each export waits until ``gate`` is set, or its own event in ``calls`` is; records how
    many ran at once."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.calls: list[threading.Event] = []
        self.active = 0
        self.most = 0
        self.spans = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        own = threading.Event()
        with self._lock:
            self.calls.append(own)
            self.active += 1
            self.most = max(self.most, self.active)
            self.threads.add(threading.current_thread().name)
        try:
            deadline = time.monotonic() + 30
            while not (self.gate.is_set() or own.wait(0.01)):
                if time.monotonic() > deadline:
                    return SpanExportResult.FAILURE
            with self._lock:
                self.spans += len(spans)
            return SpanExportResult.SUCCESS
        finally:
            with self._lock:
                self.active -= 1


def _processor(exporter: SpanExporter, in_flight: int) -> tuple[BatchExportProcessor, str]:
    platform = f"in-flight-{next(_names)}"
    processor = BatchExportProcessor(
        exporter,
        platform,
        max_spans=2048,
        max_bytes=64 * 1024 * 1024,
        max_batch=10,
        max_export_bytes=16_000_000,
        delay_s=3600.0,  # full batches only: each export is one batch of 10
        in_flight=in_flight,
    )
    return processor, platform


def _end(processor: BatchExportProcessor, count: int) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for _ in range(count):
        tracer.start_span("s").end()


def _until(done: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def _counts(platform: str) -> dict[str, int]:
    stats = llmops.stats().by_platform.get(platform)
    fields = ("exported", "dropped", "failed", "abandoned", "unconfirmed")
    return {f: getattr(stats, f) if stats is not None else 0 for f in fields}


def _in_child(run: Callable[[], str]) -> str:
    """What ``run`` returns in a forked child ("" if it raised there)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, run().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        reply = answer.read()
    os.waitpid(pid, 0)
    return reply


def _two_in_flight(spans: int) -> tuple[GateExporter, BatchExportProcessor, str]:
    """A processor with two slots, ``spans`` ended, and two exports held at their gates."""
    exporter = GateExporter()
    processor, platform = _processor(exporter, in_flight=2)
    _end(processor, spans)
    _until(lambda: exporter.active == 2, "two exports never ran at once")
    return exporter, processor, platform


def test_two_slots_export_two_batches_at_once() -> None:
    exporter, processor, platform = _two_in_flight(30)
    assert processor._taken == 20
    assert len(processor._queue) == 10  # the third batch waits for a slot
    exporter.gate.set()
    _until(lambda: _counts(platform)["exported"] == 30, "not every span was exported")
    assert exporter.most == 2
    assert exporter.threads == {f"llmops export {platform}", f"llmops export {platform} #2"}
    processor.shutdown(5)
    assert _counts(platform) == {**_counts(platform), "exported": 30, "failed": 0}


def test_one_slot_exports_one_batch_at_a_time() -> None:
    exporter = GateExporter()
    processor, platform = _processor(exporter, in_flight=1)
    _end(processor, 30)
    _until(lambda: exporter.active == 1, "the export never started")
    # The only export thread is inside the first export: the other two batches stay queued.
    assert (processor._taken, len(processor._queue)) == (10, 20)
    exporter.gate.set()
    _until(lambda: _counts(platform)["exported"] == 30, "not every span was exported")
    assert exporter.most == 1
    processor.shutdown(5)


def test_a_flush_waits_for_both_exports_in_flight() -> None:
    exporter, processor, platform = _two_in_flight(25)
    started = time.monotonic()
    assert processor.force_flush(timeout_millis=200) is False  # both slots are busy
    assert time.monotonic() - started < 2.0
    exporter.calls[0].set()  # one export answers; the other is still in flight
    _until(lambda: exporter.active == 1, "the first export never returned")
    assert processor.force_flush(timeout_millis=200) is False
    exporter.gate.set()
    assert processor.force_flush(timeout_millis=10_000) is True
    # True only once both exports have answered and the last five were sent by the flush.
    assert _counts(platform)["exported"] == 25
    processor.shutdown(5)


def test_give_up_counts_both_batches_in_flight_once() -> None:
    exporter, processor, platform = _two_in_flight(27)
    assert processor.give_up() == (7, 20)  # queued, in flight (unconfirmed)
    exporter.gate.set()
    _until(lambda: exporter.active == 0, "the exports never returned")
    _until(lambda: not any(w.is_alive() for w in processor._workers), "threads did not end")
    # The two exports that answered after give_up() are not counted again.
    assert _counts(platform)["exported"] == 0


def test_shutdown_waits_for_both_threads_within_one_bound() -> None:
    exporter, processor, platform = _two_in_flight(20)
    started = time.monotonic()
    processor.shutdown(1.0)  # both threads stuck: the bound is for the two together
    took = time.monotonic() - started
    assert 0.9 < took < 1.7, took  # not 1.0 for each
    assert processor.give_up() == (0, 20)  # as llmops' shutdown does once the bound is over
    exporter.gate.set()
    _until(lambda: not any(w.is_alive() for w in processor._workers), "threads did not end")
    assert _counts(platform)["exported"] == 0  # answered after give_up(): not counted again


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_has_both_export_threads() -> None:
    exporter = GateExporter()
    exporter.gate.set()
    processor, _ = _processor(exporter, in_flight=2)

    def child() -> str:  # its own two threads export its own spans
        _end(processor, 20)
        ok = processor.force_flush(10_000)
        alive = sum(w.is_alive() for w in processor._workers)
        return f"{ok} {exporter.spans} {alive}"

    assert _in_child(child) == "True 20 2"
    processor.shutdown(5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_in_a_forked_child_no_export_goes_through_the_parents_exporter() -> None:
    """Both export threads of a child meet the fork at once: one makes the child's exporter
    (slowly, here), the other waits for it instead of using the parent's."""
    from llmops._exporters import GuardedExporter

    parents, childs = GateExporter(), GateExporter()
    parents.gate.set()
    childs.gate.set()
    made: list[int] = []

    def rebuild() -> SpanExporter:
        made.append(os.getpid())
        time.sleep(0.3)  # a platform's set-up, made again in the child
        return childs

    guard = GuardedExporter(parents, "fork-race", rebuild=rebuild)
    processor, _ = _processor(guard, in_flight=2)

    def child() -> str:
        _end(processor, 30)  # three full batches: both threads start an export at once
        _until(lambda: childs.most == 2 or childs.spans == 30, "no export ran", 20)
        ok = processor.force_flush(10_000)
        return f"{ok} {parents.spans} {childs.spans} {len(made)}"

    assert _in_child(child) == "True 0 30 1"
    processor.shutdown(5)


class _Config(msgspec.Struct, forbid_unknown_fields=True):
    pass


def _platform(name: str, in_flight: Any, sink: SpanExporter) -> None:
    class InFlight:
        config_type = _Config

        def setup(self, config: _Config, settings: Any) -> PlatformSetup:
            return PlatformSetup(exporters=[sink], exports_in_flight=in_flight)

    llmops.register_platform(name, replace=True)(InFlight)


def test_a_platform_gets_the_slots_it_asks_for(tmp_path: Any) -> None:
    sink = GateExporter()
    sink.gate.set()
    _platform("acme_in_flight", 2, sink)
    config = tmp_path / "llmops.yaml"
    config.write_text("tracing: {set_global: false}\n", encoding="utf-8")
    provider = llmops.instrument("acme_in_flight", config_path=config)
    try:
        setup = llmops._lifecycle.current()
        assert setup is not None
        processor = setup.pipelines[0].processor
        assert isinstance(processor, BatchExportProcessor)
        assert processor.in_flight == 2
        assert len(processor._workers) == 2
        provider.get_tracer("t").start_span("s").end()
        assert processor.force_flush(5000)
        assert sink.spans == 1
    finally:
        llmops.shutdown()


@pytest.mark.parametrize("wrong", [0, 9, "2", 2.0, None])
def test_a_platform_asking_for_slots_it_cannot_have_is_refused(tmp_path: Any, wrong: Any) -> None:
    _platform("acme_in_flight_wrong", wrong, GateExporter())
    config = tmp_path / "llmops.yaml"
    config.write_text("tracing: {set_global: false}\n", encoding="utf-8")
    with pytest.raises(TypeError, match=r"exports_in_flight=.*an int from 1 to 8"):
        llmops.instrument("acme_in_flight_wrong", config_path=config)
    assert llmops._lifecycle.current() is None
