"""The processor llmops puts around each export queue: detachable, and counting drops."""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from ._exporters import export_scope

__all__ = ["DetachableProcessor"]

logger = logging.getLogger("llmops")


DROP_WARNING_INTERVAL_S = 60.0
"""While spans are being dropped, the warning is repeated at most this often."""


class DetachableProcessor(SpanProcessor):
    """Forwards to ``inner`` until detached; lets llmops leave a provider it does not own.

    The SDK has no public way to remove a processor from a provider, so llmops adds this
    wrapper and, on shutdown, detaches it: the provider keeps calling it, and it does nothing.

    When ``inner`` is a ``BatchSpanProcessor`` whose queue is full (the collector is slow or
    down), a span is dropped here and counted (``llmops.stats().dropped``), before the SDK
    would log a warning for each one: the first drop of a streak is logged once, the total
    at shutdown.
    """

    def __init__(self, inner: SpanProcessor, platform: str = "") -> None:
        self.inner = inner
        self.attached = True
        self.platform = platform
        self.dropped = 0
        self._next_warning = 0.0
        self._drop_lock = threading.Lock()
        self._queue = _batch_queue(inner)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.attached:
            self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if not self.attached:
            return
        queue = self._queue
        if queue is not None and queue.maxlen is not None and len(queue) >= queue.maxlen:
            self._drop()
            return
        # Another thread may fill the queue between the check and the append: the SDK then
        # drops its oldest span and logs "Queue full"; the log filter counts that as a drop.
        export_scope.processor = self
        try:
            self.inner.on_end(span)
        finally:
            export_scope.processor = None

    def _drop(self) -> None:
        from . import _stats

        now = time.monotonic()
        with self._drop_lock:
            self.dropped += 1
            due = self._next_warning <= now
            if due:
                self._next_warning = now + DROP_WARNING_INTERVAL_S
        _stats.record(self.platform, "dropped")
        if due:
            logger.warning(
                "llmops: the export queue for %s is full (%d spans; is the collector slow or "
                "down?); new spans are dropped and counted (%d so far; llmops.stats(), total "
                "logged at shutdown, this warning at most every %.0f s)",
                self.platform or "the platform",
                self._queue.maxlen if self._queue is not None else 0,
                self.dropped,
                DROP_WARNING_INTERVAL_S,
            )

    def queued(self) -> int:
        """Spans waiting in the batch queue (0 for a synchronous processor)."""
        return len(self._queue) if self._queue is not None else 0

    def shutdown(self) -> None:
        if self.attached:
            self.attached = False
            self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis) if self.attached else True


def _batch_queue(processor: SpanProcessor) -> Any:
    """The bounded deque of a ``BatchSpanProcessor`` (SDK internals), or ``None``."""
    batch = getattr(processor, "_batch_processor", None)
    queue = getattr(batch, "_queue", None)
    return queue if isinstance(queue, collections.deque) else None
