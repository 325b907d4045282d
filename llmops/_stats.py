"""Process-wide span delivery counters, read with :func:`llmops.stats`.

Imported when ``instrument()`` runs or ``llmops.stats()`` is first read; the export path
(``_batching``, ``_processors``, ``_exporters``) updates it. Nothing is ever dropped
silently: what does not reach a platform is counted here, whatever the logging
configuration, and summarised in one log line at shutdown.

Two ways in, by who counts:

* :func:`counter` gives an application thread (the one that ends a span) a lock-free,
  exact increment by one: ``itertools.count.__next__``, a single C call. Fifty threads
  dropping spans at once never queue on a lock (``docs/performance.md``, the 50-thread
  figure).
* :func:`record` adds a batch's count from an export thread, under a lock that only export
  threads and readers take.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable

import msgspec

__all__ = ["DROP_REASONS", "SpanStats", "counter", "record", "reset", "stats"]

_FIELDS = ("exported", "dropped", "failed", "abandoned", "unconfirmed", "export_errors")

DROP_REASONS = ("queue_full", "queue_bytes", "too_large", "after_shutdown")
"""Why a span was dropped: the export queue held ``tracing.max_queue_size`` spans, or
``tracing.max_queue_bytes`` bytes; the span alone was larger than one export may be
(``tracing.max_export_bytes``); it ended after ``llmops.shutdown()``."""


class SpanStats(msgspec.Struct, frozen=True):
    """Counts of spans since the process started (or since the fork that made it).

    * ``exported``: spans a platform's exporter accepted;
    * ``dropped``: spans never queued for export, by reason in ``dropped_by_reason``
      (:data:`DROP_REASONS`): the queue was full, in spans or in bytes (typically while the
      collector is slow or down), the span was too large to send, or it ended after shutdown;
    * ``failed``: spans in batches the exporter could not deliver (collector unreachable,
      error status, timeout) or that raised;
    * ``abandoned``: spans still queued, never sent, when shutdown stopped waiting
      (``tracing.shutdown_timeout_s``);
    * ``unconfirmed``: spans in an export still in flight when shutdown stopped waiting: the
      collector may have stored them, it had not answered;
    * ``export_errors``: export calls that raised an exception (a broken in-house exporter).

    Every span ended on a provider llmops set up is counted once per platform:
    ``exported + dropped + failed + abandoned + unconfirmed`` is the number ended.
    ``lost`` is ``dropped + failed + abandoned``. ``by_platform`` has the same counts per
    platform name.
    """

    exported: int = 0
    dropped: int = 0
    failed: int = 0
    abandoned: int = 0
    unconfirmed: int = 0
    export_errors: int = 0
    dropped_by_reason: dict[str, int] = msgspec.field(default_factory=dict)
    by_platform: dict[str, SpanStats] = msgspec.field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Spans known not to have reached their platform."""
        return self.dropped + self.failed + self.abandoned

    def since(self, earlier: SpanStats) -> SpanStats:
        """The counts added after ``earlier`` was taken."""
        counts = [getattr(self, n) - getattr(earlier, n) for n in _FIELDS]
        reasons = {
            r: n - earlier.dropped_by_reason.get(r, 0) for r, n in self.dropped_by_reason.items()
        }
        return _counted(counts, {r: n for r, n in reasons.items() if n})

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={getattr(self, name)}" for name in _FIELDS)
        return f"SpanStats({counts})"


_lock = threading.Lock()
_counts: dict[str, list[int]] = {}
"""platform -> one count per field (``dropped`` excluded: it is the sum of the reasons)."""
_drops: dict[tuple[str, str], itertools.count[int]] = {}
"""(platform, reason) -> the lock-free counter application threads increment."""
_drop_offsets: dict[tuple[str, str], int] = {}
"""What a counter read at the last :func:`reset`: a processor keeps its counter across one."""


def counter(platform: str, reason: str) -> Callable[[], int]:
    """The increment-by-one for drops of ``platform`` for ``reason``: exact and lock-free.

    Made once per platform and reason (under the lock, at set-up), shared by every processor
    of that platform since.
    """
    if reason not in DROP_REASONS:
        raise ValueError(f"unknown drop reason {reason!r}")
    key = (platform, reason)
    with _lock:
        made = _drops.get(key)
        if made is None:
            made = _drops[key] = itertools.count()
    return made.__next__


def value_of(increment: Callable[[], int]) -> int:
    """How many times an increment of :func:`counter` ran (lock-free), before any reset."""
    return _value(increment.__self__)  # type: ignore[attr-defined]


def _value(made: itertools.count[int]) -> int:
    # The count's next value is the number of increments; reading it takes no lock and
    # does not increment (repr is "count(N)" in every CPython release).
    return int(repr(made)[6:-1])


def record(platform: str, field: str, count: int = 1) -> None:
    """Add ``count`` to ``field`` (one of the :class:`SpanStats` counters other than
    ``dropped``, which :func:`counter` counts) for ``platform``; for export threads."""
    index = _FIELDS.index(field)
    if field == "dropped":
        raise ValueError("drops are counted with counter(platform, reason)")
    with _lock:
        row = _counts.get(platform)
        if row is None:
            row = _counts[platform] = [0] * len(_FIELDS)
        row[index] += count


def stats() -> SpanStats:
    """How many spans were exported, dropped, failed, abandoned or left unconfirmed, in total
    and per platform.

    >>> import llmops
    >>> llmops.stats().lost >= 0
    True
    """
    with _lock:
        rows = {name: list(row) for name, row in _counts.items()}
        drops = {k: _value(c) - _drop_offsets.get(k, 0) for k, c in _drops.items()}
    reasons: dict[str, dict[str, int]] = {}
    for (platform, reason), count in drops.items():
        if count:
            reasons.setdefault(platform, {})[reason] = count
            rows.setdefault(platform, [0] * len(_FIELDS))
    per = {name: _counted(row, reasons.get(name, {})) for name, row in sorted(rows.items())}
    totals = [sum(getattr(s, f) for s in per.values()) for f in _FIELDS]
    total_reasons: dict[str, int] = {}
    for platform_reasons in reasons.values():
        for reason, count in platform_reasons.items():
            total_reasons[reason] = total_reasons.get(reason, 0) + count
    return _counted(totals, total_reasons, per)


def _counted(
    row: list[int], reasons: dict[str, int], per: dict[str, SpanStats] | None = None
) -> SpanStats:
    counts = dict(zip(_FIELDS, row, strict=True))
    counts["dropped"] = sum(reasons.values())
    ordered = {r: reasons[r] for r in DROP_REASONS if reasons.get(r)}
    return SpanStats(**counts, dropped_by_reason=ordered, by_platform=per or {})


def reset() -> None:
    """Start counting from zero (a forked child, or tests)."""
    with _lock:
        _counts.clear()
        for key, made in _drops.items():
            _drop_offsets[key] = _value(made)


def _reinit_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _counts.clear()
    for key, made in _drops.items():
        _drop_offsets[key] = _value(made)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
