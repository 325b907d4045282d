"""Shutting down within the bound: every flush at once, each in a daemon thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import SpanProcessor

from ._batching import BatchExportProcessor, SyncExportProcessor

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from ._provider import Setup
    from ._stats import SpanStats

ExportProcessor = (BatchExportProcessor, SyncExportProcessor)

__all__ = ["close", "run_all_bounded"]

logger = logging.getLogger("llmops")


def run_all_bounded(
    tasks: Sequence[tuple[Callable[[], object], str]],
    timeout_s: float,
    unfinished: list[int] | None = None,
) -> bool:
    """Run each ``(fn, what)`` in its own daemon thread, all at once, waiting at most
    ``timeout_s`` in total; never raises. Returns whether every task finished cleanly.
    With ``unfinished``, the indexes of the tasks still running are appended to it instead
    of logged.

    The SDK's flush and shutdown can wait on the network far longer than a process should
    take to exit; daemon threads still running at exit are abandoned, not waited for. Running
    the tasks side by side keeps one dead backend from eating another's time.
    """
    outcomes: dict[int, BaseException | None] = {}

    def runner(index: int, fn: Callable[[], object]) -> None:
        try:
            fn()
            outcomes[index] = None
        except BaseException as exc:  # reported below, never raised into the application
            outcomes[index] = exc

    threads = []
    for index, (fn, what) in enumerate(tasks):
        thread = threading.Thread(
            target=runner, args=(index, fn), name=f"llmops {what}", daemon=True
        )
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + max(timeout_s, 0.0)
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    clean = True
    for index, (thread, (_, what)) in enumerate(zip(threads, tasks, strict=True)):
        if thread.is_alive():
            clean = False
            if unfinished is not None:
                unfinished.append(index)
                continue
            logger.warning(
                "llmops: %s did not finish within %.1f s (is the collector reachable?); "
                "exiting without waiting for it",
                what,
                timeout_s,
            )
        elif (exc := outcomes.get(index)) is not None:
            clean = False
            logger.warning("llmops: %s failed: %s: %s", what, type(exc).__name__, exc)
    return clean


def close(setup: Setup, *, keep_provider: bool) -> None:
    """Flush and stop ``setup`` within its bound; one summary line per platform.

    ``keep_provider``: the provider is llmops' global one, kept for the next setup (the
    global provider can be set once per process), so only its pipelines are stopped.
    """
    for applied in setup.applied:
        applied.uninstrument()
    if setup.enricher is not None:
        setup.enricher.shutdown()
    setup.slot.vacate(setup.platforms)  # spans ended from now on are counted as late
    for pipeline in setup.pipelines:
        if pipeline.guard is not None:
            pipeline.guard.begin_shutdown()
        if isinstance(pipeline.processor, ExportProcessor):
            pipeline.processor.begin_shutdown()
    deadline = time.monotonic() + setup.timeout_s
    tasks = [
        (_stopper(p.processor, setup.timeout_s), f"flushing the spans for {p.platform}")
        for p in setup.pipelines
    ]
    tasks += [(hook, "the platform's shutdown hook") for hook in setup.hooks]
    unfinished: list[int] = []
    run_all_bounded(tasks, setup.timeout_s, unfinished)
    if setup.owns_provider and not keep_provider:
        remaining = max(deadline - time.monotonic(), 0.0)
        run_all_bounded([(setup.provider.shutdown, "shutting the provider down")], remaining)
    _count_given_up(setup)
    late: dict[str, list[str]] = {name: [] for name in setup.platforms}
    for index in unfinished:
        # A pipeline's task belongs to its platform; a hook's to the last platform's line.
        owner = setup.pipelines[index].platform if index < len(setup.pipelines) else None
        late[owner or setup.platforms[-1]].append(tasks[index][1])
    for name in setup.platforms:
        _summarise(setup, name, late[name])


def _stopper(processor: SpanProcessor, timeout_s: float) -> Callable[[], None]:
    if isinstance(processor, ExportProcessor):
        return lambda: processor.shutdown(timeout_s)
    return processor.shutdown


def _count_given_up(setup: Setup) -> None:
    """What each export processor still held when shutdown stopped waiting."""
    from . import _stats

    for pipeline in setup.pipelines:
        if isinstance(pipeline.processor, ExportProcessor):
            queued, in_flight = pipeline.processor.give_up()
            if queued:
                _stats.record(pipeline.platform, "abandoned", queued)
            if in_flight:
                _stats.record(pipeline.platform, "unconfirmed", in_flight)


def _summarise(setup: Setup, platform: str, unfinished: list[str]) -> None:
    """One log line at shutdown: what this setup never delivered, what did not finish."""
    from . import _stats

    late = ""
    if unfinished:
        late = (
            f"; {' and '.join(dict.fromkeys(unfinished))} did not finish within "
            f"{setup.timeout_s:.1f} s (is the collector reachable?), not waited for"
        )
    total = _stats.stats().by_platform.get(platform) or _stats.SpanStats()
    now = total.since(setup.baselines.get(platform) or _stats.SpanStats())
    unconfirmed = ""
    if now.unconfirmed:
        unconfirmed = (
            f"; {now.unconfirmed} span(s) not confirmed: in an export the collector had not "
            "answered when shutdown stopped waiting (it may have stored them)"
        )
    if now.lost <= 0:
        if late or unconfirmed:
            logger.warning(
                "llmops: shutting down %s: %d delivered%s%s",
                platform,
                now.exported,
                unconfirmed,
                late,
            )
        return
    logger.warning(
        "llmops: %d span(s) for %s were not delivered (%s, %d in failed exports, %d still "
        "queued at shutdown), %d delivered%s%s. Counts: llmops.stats()",
        now.lost,
        platform,
        _dropped(now),
        now.failed,
        now.abandoned,
        now.exported,
        unconfirmed,
        late,
    )


_REASONS = {
    "queue_full": "with the export queue full",
    "queue_bytes": "with the export queue full in bytes (tracing.max_queue_bytes)",
    "too_large": "too large to send (tracing.max_export_bytes)",
    "after_shutdown": "ended after shutdown",
}


def _dropped(counts: SpanStats) -> str:
    if not counts.dropped:
        return "0 dropped"
    parts = [f"{n} {_REASONS[r]}" for r, n in counts.dropped_by_reason.items()]
    return f"{counts.dropped} dropped: " + ", ".join(parts)
