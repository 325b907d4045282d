"""The one processor llmops adds to a provider, whatever the number of set-ups.

The SDK has no public way to remove a processor from a provider, so a set-up that added its
own each time would leave them behind: 300 reconfigurations, 600 dead processors, each
span paying for all of them. llmops adds one :class:`ProviderSlot` to a provider, once, and
each set-up puts its processors in it; shutting a set-up down empties it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ProviderSlot"]


def _overrides(processor: SpanProcessor, method: str) -> bool:
    """Whether ``processor`` does something in ``method`` (the base class's does nothing)."""
    return getattr(type(processor), method, None) is not getattr(SpanProcessor, method)


def _ignore_start(span: Span, parent_context: Context | None = None) -> None:
    return None


class ProviderSlot(SpanProcessor):
    """Forwards to the processors of the set-up in force; with none, counts late spans.

    A processor that has nothing to do when a span starts (or ends) is not called for it:
    with one processor interested, the slot's ``on_end`` *is* that processor's bound method,
    so the SDK's processor loop calls it directly, without a frame of the slot's own.
    """

    def __init__(self, closer: Callable[[], None] | None = None) -> None:
        self.closer = closer
        """What stops the set-up routing through this slot, bounded (``Lifecycle``)."""
        self.processors: tuple[SpanProcessor, ...] = ()
        self.on_start = _ignore_start  # type: ignore[method-assign]
        self.on_end = self._ignore_end  # type: ignore[method-assign]
        self._late: tuple[Callable[[], int], ...] = ()
        self._starters: tuple[SpanProcessor, ...] = ()
        self._enders: tuple[SpanProcessor, ...] = ()
        self._lock = threading.Lock()  # set-up and import hooks only, never a span

    def use(self, processors: Sequence[SpanProcessor]) -> None:
        """Route every span to ``processors`` from now on (in order)."""
        with self._lock:
            self._use(tuple(processors))

    def prepend(self, processor: SpanProcessor, to: Sequence[SpanProcessor]) -> bool:
        """Put ``processor`` ahead of ``to`` if the slot still routes to ``to`` (a set-up
        that has been replaced or shut down meanwhile is left alone). Returns whether it did.
        """
        with self._lock:
            if self.processors != tuple(to):
                return False
            self._use((processor, *to))
            return True

    def _use(self, processors: tuple[SpanProcessor, ...]) -> None:
        self.processors = processors
        self._starters = tuple(p for p in self.processors if _overrides(p, "on_start"))
        self._enders = tuple(p for p in self.processors if _overrides(p, "on_end"))
        if len(self._starters) == 1:
            self.on_start = self._starters[0].on_start  # type: ignore[method-assign]
        else:
            self.on_start = (  # type: ignore[method-assign]
                self._start_all if self._starters else _ignore_start
            )
        if len(self._enders) == 1:
            self.on_end = self._enders[0].on_end  # type: ignore[method-assign]
        else:
            self.on_end = self._end_all if self._enders else self._ignore_end  # type: ignore[method-assign]

    def vacate(self, platforms: Sequence[str]) -> tuple[SpanProcessor, ...]:
        """Stop routing; spans ended from now on are counted as dropped after shutdown for
        each of ``platforms``. Returns the processors that were in use."""
        from . import _stats

        previous = self.processors
        self._late = tuple(_stats.counter(p, "after_shutdown") for p in platforms)
        self.use(())
        return previous

    def _start_all(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._starters:
            processor.on_start(span, parent_context=parent_context)

    def _end_all(self, span: ReadableSpan) -> None:
        for processor in self._enders:
            processor.on_end(span)

    def _ignore_end(self, span: ReadableSpan) -> None:
        if self._late and span.context.trace_flags.sampled:
            for count in self._late:
                count()

    def shutdown(self) -> None:
        """The provider is shutting down (the application called its ``shutdown()``): the
        set-up routing through this slot is stopped within its bound, and what it gives up
        on is counted. A vacated slot has nothing to stop: its set-up is stopped already
        (llmops shuts the providers it made down after their set-up)."""
        if not self.processors:
            return
        if self.closer is not None:
            self.closer()
            return
        for processor in self.processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every processor within one shared ``timeout_millis``."""
        import time

        deadline = time.monotonic() + timeout_millis / 1000
        done = True
        for processor in self.processors:
            left = int(max(deadline - time.monotonic(), 0) * 1000)
            done = processor.force_flush(left) and done
        return done
