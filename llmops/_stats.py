"""Process-wide span delivery counters, read with :func:`llmops.stats`.

Imported when ``instrument()`` runs or ``llmops.stats()`` is first read; the export path
(``_exporters``, ``_processors``) updates it. Nothing is ever dropped silently: what does
not reach a platform is counted here and summarised in one log line at shutdown.
"""

from __future__ import annotations

import os
import threading

import msgspec

__all__ = ["SpanStats", "record", "reset", "stats"]

_FIELDS = ("exported", "dropped", "failed", "abandoned", "export_errors")


class SpanStats(msgspec.Struct, frozen=True):
    """Counts of spans since the process started (or since the fork that made it).

    * ``exported``: spans a platform's exporter accepted;
    * ``dropped``: spans dropped because the export queue was full (``tracing.max_queue_size``),
      typically while the collector is slow or down;
    * ``failed``: spans in batches the exporter could not deliver (collector unreachable,
      error status, timeout) or that raised;
    * ``abandoned``: spans still queued when shutdown gave up (``tracing.shutdown_timeout_s``);
    * ``export_errors``: export calls that raised an exception (a broken in-house exporter).

    ``lost`` is ``dropped + failed + abandoned``. ``by_platform`` has the same counts per
    platform name.
    """

    exported: int = 0
    dropped: int = 0
    failed: int = 0
    abandoned: int = 0
    export_errors: int = 0
    by_platform: dict[str, SpanStats] = msgspec.field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Spans that never reached their platform."""
        return self.dropped + self.failed + self.abandoned

    def since(self, earlier: SpanStats) -> SpanStats:
        """The counts added after ``earlier`` was taken."""
        return _counted([getattr(self, n) - getattr(earlier, n) for n in _FIELDS])

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={getattr(self, name)}" for name in _FIELDS)
        return f"SpanStats({counts})"


_lock = threading.Lock()
_counts: dict[str, list[int]] = {}


def record(platform: str, field: str, count: int = 1) -> None:
    """Add ``count`` to ``field`` (one of the :class:`SpanStats` counters) for ``platform``."""
    index = _FIELDS.index(field)
    with _lock:
        row = _counts.get(platform)
        if row is None:
            row = _counts[platform] = [0] * len(_FIELDS)
        row[index] += count


def stats() -> SpanStats:
    """How many spans were exported, dropped, failed or abandoned, in total and per platform.

    >>> import llmops
    >>> llmops.stats().lost >= 0
    True
    """
    with _lock:
        rows = {name: list(row) for name, row in _counts.items()}
    per = {name: _counted(row) for name, row in sorted(rows.items())}
    totals = [sum(row[i] for row in rows.values()) for i in range(len(_FIELDS))]
    return _counted(totals, per)


def _counted(row: list[int], per: dict[str, SpanStats] | None = None) -> SpanStats:
    return SpanStats(**dict(zip(_FIELDS, row, strict=True)), by_platform=per or {})


def reset() -> None:
    """Start counting from zero (a forked child, or tests)."""
    with _lock:
        _counts.clear()


def _reinit_after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _counts.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
