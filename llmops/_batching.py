"""From ``span.end()`` to an exporter: the bounded export queue and its thread, counted.

llmops' own processor instead of the SDK's ``BatchSpanProcessor``, for what that one cannot
do (``docs/architecture.md``, "The export queue"):

* the queue is bounded in bytes as well as in spans (``tracing.max_queue_bytes``): 2,048
  spans of 10 MB would otherwise be 20 GB;
* one export stays under ``max_export_bytes`` (a gRPC receiver refuses a message over
  4 MiB by default; OpenTelemetry's HTTP exporter drops a request over 64 MiB after
  encoding it), and a span too large to send alone is dropped, counted, not sent to fail;
* every drop is counted without a lock and without logging (``_stats.counter``), so 50
  threads dropping spans while the collector is down never queue behind each other;
* shutdown knows what it gives up on: spans still queued (``abandoned``) and spans in an
  export that has not answered (``unconfirmed``), and it counts spans ended after it.

``span.end()`` does a size estimate, two length checks and a ``deque.append``; it never
waits on the network or on a lock.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from operator import itemgetter

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from . import _span_size
from ._span_size import ITEM_OVERHEAD, KEY_ALLOWANCE, SCALARS, SPAN_OVERHEAD, UTF8_MAX

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "DROP_WARNING_INTERVAL_S",
    "BatchExportProcessor",
    "SyncExportProcessor",
]

logger = logging.getLogger("llmops")

DROP_WARNING_INTERVAL_S = 60.0
"""While spans are being dropped, the warning is repeated at most this often."""


_first, _second = itemgetter(0), itemgetter(1)


def _sampled(span: ReadableSpan) -> bool:
    """Whether a span that is not the SDK's own is sampled (one of an unknown kind is)."""
    try:
        return span.context is not None and bool(span.context.trace_flags.sampled)
    except Exception:  # a span of another kind: queued, as the SDK's processor would
        return True


class _Drops:
    """A processor's drop counters and their warnings. Counting takes no lock; the first
    drop of a streak is logged at once, from the thread that ended the span (at most every
    :data:`DROP_WARNING_INTERVAL_S`, once a minute, so the log handler's lock is met once a
    minute, not once a span), and the counts it quotes are read without a lock."""

    def __init__(self, platform: str, max_spans: int, max_bytes: int) -> None:
        from . import _stats

        self.platform = platform
        self.queue_full = _stats.counter(platform, "queue_full")
        self.queue_bytes = _stats.counter(platform, "queue_bytes")
        self.too_large = _stats.counter(platform, "too_large")
        self.after_shutdown = _stats.counter(platform, "after_shutdown")
        self._limits = f"{max_spans} spans or {max_bytes:,} bytes"
        self._next_full = 0.0
        self._next_large = 0.0

    def dropped(self) -> int:
        from . import _stats

        counters = (self.queue_full, self.queue_bytes, self.too_large)
        return sum(_stats.value_of(c) for c in counters)

    def full(self, count: Callable[[], int]) -> None:
        count()
        now = time.monotonic()
        if now < self._next_full:
            return
        # Unlocked: two threads may both warn once; neither waits on the other.
        self._next_full = now + DROP_WARNING_INTERVAL_S
        logger.warning(
            "llmops: the export queue for %s is full (%s; is the collector slow or down?); "
            "new spans are dropped and counted (%d so far; llmops.stats(), total logged at "
            "shutdown, this warning at most every %.0f s)",
            self.platform or "the platform",
            self._limits,
            self.dropped(),
            DROP_WARNING_INTERVAL_S,
        )

    def oversized(self, size: int, limit: int) -> None:
        self.too_large()
        now = time.monotonic()
        if now < self._next_large:
            return
        self._next_large = now + DROP_WARNING_INTERVAL_S
        logger.warning(
            "llmops: a span for %s takes about %d bytes, more than one export may carry "
            "(tracing.max_export_bytes: %d); such spans are dropped and counted "
            "(llmops.stats(), this warning at most every %.0f s)",
            self.platform or "the platform",
            size,
            limit,
            DROP_WARNING_INTERVAL_S,
        )


class BatchExportProcessor(SpanProcessor):
    """Queues ended spans, bounded in count and bytes, and exports them from a daemon thread
    in batches of at most ``max_batch`` spans and ``max_export_bytes`` bytes.

    ``in_flight`` threads export at once (:attr:`~llmops.PlatformSetup.exports_in_flight`):
    more than one only for an exporter that is safe to call from several threads and spends
    part of each export outside the interpreter (a database commit), so the next batch is
    prepared meanwhile.

    ``exporter`` is llmops' :class:`~llmops._exporters.GuardedExporter` (it never raises);
    this processor counts what each export delivered or failed to, and at shutdown what it
    gave up on.
    """

    kind = "batch"

    def __init__(
        self,
        exporter: SpanExporter,
        platform: str,
        *,
        max_spans: int,
        max_bytes: int,
        max_batch: int,
        max_export_bytes: int,
        delay_s: float,
        export_timeout_s: float = 10.0,
        in_flight: int = 1,
    ) -> None:
        self.exporter = exporter
        self.platform = platform
        self.max_spans = self._max_spans = max_spans
        self.max_bytes = self._max_bytes = max_bytes
        self.max_batch = self._max_batch = max(1, min(max_batch, max_spans))
        self.max_export_bytes = self._max_export_bytes = max_export_bytes
        self.delay_s = self._delay_s = delay_s
        self.export_timeout_s = export_timeout_s
        """The exporter's bound on one export (for reading back; the exporter applies it)."""
        self._drops = _Drops(platform, max_spans, max_bytes)
        self._queue: collections.deque[tuple[ReadableSpan, int]] = collections.deque()
        self._bytes = 0
        """Estimated bytes queued. Updated without a lock by the threads that end spans and
        the export thread; under the GIL an int attribute's ``+=`` is not interrupted, and
        the bound is a bound, not a count: what is counted is in ``_stats``."""
        self._closing = False
        self._given_up = False
        self._crashed = False
        self.in_flight = max(1, in_flight)
        self._taken = 0
        """Spans the export threads took from the queue and have not finished exporting."""
        self._lock = threading.Lock()  # export threads and shutdown only, never span.end()
        self._slots = threading.Semaphore(self.in_flight)  # an export thread's, or a flush's
        self._flushing = threading.Lock()  # one flush at a time takes every slot
        self._start_workers()
        if hasattr(os, "register_at_fork"):
            reinit = weakref.WeakMethod(self._after_fork)

            def after_fork() -> None:
                method = reinit()
                if method is not None:
                    method()

            os.register_at_fork(after_in_child=after_fork)

    def _start_workers(self) -> None:
        self._wake = threading.Event()
        name = f"llmops export {self.platform}"
        self._workers = [
            threading.Thread(
                target=self._run,
                args=(i == 0,),
                name=name if i == 0 else f"{name} #{i + 1}",
                daemon=True,
            )
            for i in range(self.in_flight)
        ]
        for worker in self._workers:
            worker.start()

    def _after_fork(self) -> None:
        # The parent's queue is the parent's to export; the child starts empty.
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(self.in_flight)
        self._flushing = threading.Lock()
        self._queue.clear()
        self._bytes = self._taken = 0
        if not self._closing:
            self._start_workers()

    def on_end(self, span: ReadableSpan) -> None:
        try:
            sampled = span._context[3] & 1  # type: ignore[index]  # .context.trace_flags.sampled
            ours = True
        except Exception:  # not the SDK's own span: through its properties
            sampled, ours = _sampled(span), False
        if not sampled:
            return
        if self._closing:
            self._drops.after_shutdown()
            return
        queue = self._queue
        if len(queue) >= self._max_spans:  # dropped before it is measured: the drop path
            self._drops.full(self._drops.queue_full)
            return
        # _span_size.estimate, inlined for an SDK span and read through its fields, past the
        # properties that copy what they return: this runs for every span queued
        # (docs/performance.md, "The hot path"); tests/test_span_size.py checks they agree.
        if not ours:
            size = _span_size.estimate(span)  # the general way, which never raises
        else:
            try:
                name = span._name
                size = SPAN_OVERHEAD + len(name) if type(name) is str else SPAN_OVERHEAD
                items = span._attributes._dict  # type: ignore[union-attr]
                if items:
                    size += (ITEM_OVERHEAD + KEY_ALLOWANCE) * len(items)
                    for value in items.values():
                        if type(value) is str:
                            size += len(value)
                        elif type(value) not in SCALARS:
                            size += _span_size.value_size(value)
                description = span._status._description
                if description:
                    size += len(description)
                if span._events._dq or span._links._dq:  # type: ignore[attr-defined]
                    size += _span_size.extras(span._events, span._links)
            except Exception:  # fields of another shape: the general way
                size = _span_size.estimate(span)
        if self._bytes + size > self._max_bytes:
            if size > self._max_export_bytes:  # it could never be sent; do not hold it
                self._drops.oversized(size, self._max_export_bytes)
            else:
                self._drops.full(self._drops.queue_bytes)
            return
        self._bytes += size
        item = (span, size)
        queue.append(item)
        if self._closing:
            self._retract(queue, item)
        elif len(queue) >= self._max_batch and not self._wake.is_set():
            self._wake.set()

    def _retract(self, queue: collections.deque[tuple[ReadableSpan, int]], item: Any) -> None:
        """Shutdown began between the check and the append: whoever takes the span out of
        the queue counts it, this thread (as ended after shutdown) or shutdown (abandoned)."""
        try:
            queue.remove(item)
        except ValueError:  # the export thread or give_up() took it, and counts it
            return
        self._drops.after_shutdown()

    def _run(self, first: bool) -> None:
        def full() -> bool:
            return len(self._queue) >= self._max_batch

        while not self._closing:
            woken = self._wake.wait(self._delay_s)
            self._wake.clear()
            if self._closing:  # the wake-up was shutdown's: the other threads must see it too
                self._wake.set()
            # Woken: full batches only (a wake-up that came during the last export must not
            # send the rest early, in a small batch); the delay passed: what is queued too,
            # by the first thread alone, so the delay is the delay whatever the threads.
            self._guarded(full, at_least_once=first and not woken)
        self._guarded(lambda: True, at_least_once=True)

    def _guarded(self, more: Callable[[], bool], *, at_least_once: bool) -> None:
        """One round of the export thread; nothing it meets ends the thread."""
        try:
            self._export_while(more, at_least_once=at_least_once)
        except Exception as exc:  # a bug here must not leave the queue without its thread
            if not self._crashed:
                self._crashed = True
                logger.warning(
                    "llmops: the export thread for %s met %s: %s; it carries on",
                    self.platform or "the platform",
                    type(exc).__name__,
                    exc,
                )

    def _export_while(self, more: Callable[[], bool], *, at_least_once: bool) -> None:
        with self._slots:
            first = at_least_once
            while self._queue and (first or more()) and not self._given_up:
                first = False
                self._export_one_batch()

    def _take(self) -> list[ReadableSpan]:
        """The next batch, oldest first, within the count and byte limits of one export."""
        batch: list[ReadableSpan] = []
        total = 0
        queue = self._queue
        limit = self._max_export_bytes
        with self._lock:
            if self._given_up:
                return batch
            if UTF8_MAX * self._bytes <= limit:
                # Everything queued fits one export even at four bytes a character: the
                # oldest spans go as they are, without a look at each (the usual case).
                taken = [queue.popleft() for _ in range(min(len(queue), self._max_batch))]
                self._bytes -= sum(map(_second, taken))
                self._taken += len(taken)
                return list(map(_first, taken))
            while queue and len(batch) < self._max_batch and not self._given_up:
                span, estimate = queue[0]
                # A character is at most 4 bytes in UTF-8: while four times the estimate
                # fits, the span's exact size is not needed (the usual batch never needs it).
                size = UTF8_MAX * estimate
                if total + size > limit:
                    size = _span_size.wire_size(span)
                if size > limit:
                    queue.popleft()
                    self._bytes -= estimate
                    self._drops.oversized(size, limit)
                    continue
                if batch and total + size > limit:
                    break
                queue.popleft()
                self._bytes -= estimate
                total += size
                batch.append(span)
            self._taken += len(batch)
        return batch

    def _export_one_batch(self) -> int:
        from . import _stats

        batch = self._take()
        if not batch:
            return 0
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            result = self.exporter.export(batch)
        except Exception:  # the guard catches; a platform's bare exporter might not
            result = SpanExportResult.FAILURE
        finally:
            detach(token)
        with self._lock:
            self._taken -= len(batch)
            if self._given_up:  # shutdown counted this batch as unconfirmed already
                return len(batch)
        field = "exported" if result is SpanExportResult.SUCCESS else "failed"
        _stats.record(self.platform, field, len(batch))
        return len(batch)

    @property
    def closing(self) -> bool:
        """Shut down, or shutting down: new spans are counted as dropped, not queued."""
        return self._closing

    def give_up(self) -> tuple[int, int]:
        """Stop exporting: (spans still queued, spans in the export in flight), which the
        caller counts as abandoned and unconfirmed; neither is counted again."""
        with self._lock:
            self._given_up = self._closing = True
            queued = 0
            while True:  # popped one by one: a span ending now is either taken here or not
                try:
                    self._queue.popleft()
                except IndexError:
                    break
                queued += 1
            self._bytes = 0
            return queued, self._taken

    def begin_shutdown(self) -> None:
        """Spans ended from now on are counted as dropped (``after_shutdown``)."""
        self._closing = True
        self._wake.set()

    def shutdown(self, timeout_s: float | None = None) -> None:
        """Export what is queued, then shut the exporter down; waits at most ``timeout_s``
        in all for the export threads (the caller gives up on what is left)."""
        self.begin_shutdown()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for worker in self._workers:
            worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if not any(worker.is_alive() for worker in self._workers):
            self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export the spans queued now, in the calling thread (as the SDK's processor does),
        within ``timeout_millis``: the exports already running are waited for, and no batch
        starts after the deadline. Returns whether they were all exported."""
        if self._closing:
            return False
        deadline = time.monotonic() + max(timeout_millis, 0) / 1000

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        if not self._flushing.acquire(timeout=left()):
            return False
        held = 0
        try:
            while held < self.in_flight:  # every slot: no export of another thread runs
                if not self._slots.acquire(timeout=left()):
                    return False
                held += 1
            remaining = len(self._queue)
            while remaining > 0 and self._queue and not self._given_up:
                if time.monotonic() >= deadline:
                    return False
                remaining -= self._export_one_batch()
            return remaining <= 0 or not self._queue
        finally:
            for _ in range(held):
                self._slots.release()
            self._flushing.release()


class SyncExportProcessor(SpanProcessor):
    """``tracing.batch: false``: each span exported as it ends, in the ending thread
    (debugging only: ``span.end()`` then waits on the network), counted the same way."""

    kind = "simple"

    def __init__(self, exporter: SpanExporter, platform: str) -> None:
        from . import _stats

        self.exporter = exporter
        self.platform = platform
        self._after_shutdown = _stats.counter(platform, "after_shutdown")
        self._closing = False

    def on_end(self, span: ReadableSpan) -> None:
        from . import _stats

        if not span.context.trace_flags.sampled:
            return
        if self._closing:
            self._after_shutdown()
            return
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            result = self.exporter.export((span,))
        except Exception:
            result = SpanExportResult.FAILURE
        finally:
            detach(token)
        field = "exported" if result is SpanExportResult.SUCCESS else "failed"
        _stats.record(self.platform, field)

    @property
    def closing(self) -> bool:
        return self._closing

    def give_up(self) -> tuple[int, int]:
        self._closing = True
        return 0, 0

    def begin_shutdown(self) -> None:
        self._closing = True

    def shutdown(self, timeout_s: float | None = None) -> None:
        self._closing = True
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def export_processor(
    exporter: SpanExporter,
    platform: str,
    *,
    batch: bool,
    max_spans: int,
    max_bytes: int,
    max_batch: int,
    max_export_bytes: int,
    delay_s: float,
    export_timeout_s: float,
    in_flight: int = 1,
) -> BatchExportProcessor | SyncExportProcessor:
    """The processor for one exporter, as ``tracing.batch`` says."""
    if not batch:
        return SyncExportProcessor(exporter, platform)
    return BatchExportProcessor(
        exporter,
        platform,
        max_spans=max_spans,
        max_bytes=max_bytes,
        max_batch=max_batch,
        max_export_bytes=max_export_bytes,
        delay_s=delay_s,
        export_timeout_s=export_timeout_s,
        in_flight=in_flight,
    )
