"""What reaches the application's logs from the OpenTelemetry SDK, the exporters and gRPC.

One rule: a problem is one line when it starts, named, and a count; never a line per span,
per attribute or per retry. The filters here carry it out:

* during an export, on the export thread, the SDK's and exporters' records are absorbed
  into the guard's one warning per failure streak (:class:`_ExportLogFilter`);
* records the SDK writes on the application's threads for every span or attribute (the
  attribute limit, a value too long, a call on an ended span) pass once per
  :data:`REPEAT_INTERVAL_S` per message, the next one saying how many were held back;
* records that quote a header list or a resource attribute whole lose their arguments;
* gRPC's C core, which writes to stderr outside Python logging, is kept to errors that
  Python never sees, unless the application chose its own ``GRPC_VERBOSITY``.
"""

from __future__ import annotations

import logging
import os
import threading
import time

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from ._exporters import GuardedExporter

__all__ = ["REPEAT_INTERVAL_S", "export_scope", "quiet_grpc_core", "quiet_sdk_loggers"]

REPEAT_INTERVAL_S = 60.0
"""A message the SDK repeats on the application's threads passes at most this often."""


class ExportScope(threading.local):
    exporter: GuardedExporter | None = None


export_scope = ExportScope()
"""The guard exporting on this thread now, if any."""


class _ExportLogFilter(logging.Filter):
    """Absorbs what the SDK and the OTLP exporters log while a guard is exporting on this
    thread (a retry notice per attempt, a traceback per failed batch): the guard logs one
    named warning per failure streak instead. Absorbed records stay visible at DEBUG on the
    ``llmops`` logger. Records of other threads (the application's own exporters) pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        exporter = export_scope.exporter
        if exporter is not None:
            exporter.note(record)
            return False
        return True


class _RepeatFilter(logging.Filter):
    """One record per message template per interval; the next says how many were held."""

    def __init__(self) -> None:
        super().__init__()
        self._until: dict[object, float] = {}
        self._held: dict[object, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = time.monotonic()
        if now < self._until.get(key, 0.0):
            # Unlocked: a lost increment under a race only understates the held-back count.
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._until[key] = now + REPEAT_INTERVAL_S
        held = self._held.pop(key, 0)
        note = f"{held} more like it were held back; " if held else ""
        record.msg = (
            f"{record.getMessage()} (llmops: {note}repeats are held back for "
            f"{REPEAT_INTERVAL_S:.0f} s)"
        )
        record.args = None
        return True


class _SecretArgumentsFilter(logging.Filter):
    """OpenTelemetry logs a header list or a resource attribute it cannot parse whole, and
    either may hold a secret (``OTEL_EXPORTER_OTLP_HEADERS=authorization Bearer …``): the
    record keeps its text and loses its argument."""

    PREFIXES = ("Header format invalid", "Invalid key value resource attribute pair")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and str(record.msg).startswith(self.PREFIXES):
            record.args = tuple("(not shown: it may hold a secret)" for _ in record.args)
        return True


_EXPORT_FILTER = _ExportLogFilter()
_REPEATS = _RepeatFilter()
_SECRET_ARGUMENTS = _SecretArgumentsFilter()
_SECRET_LOGGERS = ("opentelemetry.util.re", "opentelemetry.sdk.resources")
_EXPORT_PREFIXES = ("opentelemetry.sdk", "opentelemetry.exporter")
_EXPORT_LOGGERS = (
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
)
_REPEATING_LOGGERS = ("opentelemetry.attributes", "opentelemetry.sdk.trace")
"""Where the SDK logs per span or per attribute on the application's threads."""


def _first(log: logging.Logger, flt: logging.Filter) -> None:
    # First: the SDK's own duplicate filter would otherwise hide repeats from it.
    if flt not in log.filters:
        log.filters.insert(0, flt)


def quiet_sdk_loggers() -> None:
    """Attach the filters to the SDK's and the OTLP exporters' loggers (idempotent)."""
    manager = logging.Logger.manager
    names = [
        *_EXPORT_LOGGERS,
        *(n for n in list(manager.loggerDict) if n.startswith(_EXPORT_PREFIXES)),
    ]
    for name in names:
        _first(logging.getLogger(name), _EXPORT_FILTER)
    for name in _REPEATING_LOGGERS:
        log = logging.getLogger(name)
        if _REPEATS not in log.filters:
            log.filters.append(_REPEATS)
    for name in _SECRET_LOGGERS:
        _first(logging.getLogger(name), _SECRET_ARGUMENTS)


def quiet_grpc_core() -> bool:
    """Before llmops imports gRPC: keep its C core's INFO lines ("Handshake failed …", one
    per attempt, written to stderr outside Python logging) off stderr, keeping its errors.

    The C core reads ``GRPC_VERBOSITY`` when ``grpc`` is first imported, so this works only
    if the application has not imported it yet; a value the application set, or a
    ``GRPC_TRACE`` it asked for, is left alone. Returns whether it set the variable.
    """
    import sys

    if os.environ.get("GRPC_VERBOSITY") is not None or os.environ.get("GRPC_TRACE"):
        return False
    if "grpc" in sys.modules:
        return False
    os.environ["GRPC_VERBOSITY"] = "ERROR"
    return True
