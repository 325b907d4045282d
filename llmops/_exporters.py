"""Wrapping exporters: the OTLP exporter built from a destination, the guard around every
exporter a platform contributes, and the resource merger. Imported only by ``instrument()``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from typing import Any

    import requests
    from grpc import ChannelCredentials

    from ._plugin import Destination

__all__ = ["GuardedExporter", "ResourceMergingExporter", "hurry", "otlp_exporter"]

logger = logging.getLogger("llmops")


def otlp_exporter(destination: Destination) -> SpanExporter:
    """The OpenTelemetry OTLP span exporter for an OTLP ``destination`` (gRPC or HTTP).

    Every parameter is passed explicitly, TLS files included, so that ``OTEL_EXPORTER_OTLP_*``
    variables cannot silently redirect what the plan resolved.
    """
    from ._log_filters import quiet_grpc_core, quiet_sdk_loggers

    quiet_sdk_loggers()  # the exporters parse the OTEL_* header variables when made
    headers = destination.headers
    gzip = destination.compression == "gzip"
    if destination.transport == "grpc":
        quiet_grpc_core()
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        insecure = destination.insecure
        if insecure is None:
            insecure = destination.endpoint.startswith("http:")
        exporter: SpanExporter = GrpcExporter(
            endpoint=destination.endpoint,
            # gRPC metadata keys must be lower case.
            headers=tuple((k.lower(), v) for k, v in headers.items()),
            timeout=destination.timeout_s,
            insecure=insecure,
            credentials=None if insecure else _grpc_credentials(destination),
            compression=Compression.Gzip if gzip else Compression.NoCompression,
        )
        _drop_env_headers(exporter, headers)
        return exporter
    from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    exporter = HttpExporter(
        endpoint=destination.endpoint,
        headers=dict(headers),
        timeout=destination.timeout_s,
        compression=HttpCompression.Gzip if gzip else HttpCompression.NoCompression,
        certificate_file=destination.certificate_file,
        client_key_file=destination.client_key_file,
        client_certificate_file=destination.client_certificate_file,
        session=_session(),
    )
    _drop_env_headers(exporter, headers)
    return exporter


def hurry(exporter: SpanExporter) -> None:
    """Make an OTLP exporter try each export once, without backoff, from now on.

    At exit a collector that refuses the connection would otherwise hold the process for the
    whole shutdown bound: OpenTelemetry's OTLP exporters sleep between retries on an event that
    only their ``shutdown()`` sets, and ``shutdown()`` also refuses every export after it, so
    the spans still queued would not get their one last attempt. Setting that event alone
    wakes an exporter from its backoff and turns each later failure into an immediate one;
    a collector that answers still gets everything, and a stalled one still gets the bound.
    ``tests/test_exit_refused.py`` checks that the exporters still keep these events.
    """
    for event in (
        getattr(exporter, "_shutdown_in_progress", None),  # OTLP/gRPC
        getattr(getattr(exporter, "_client", None), "_shutdown_event", None),  # OTLP/HTTP
    ):
        if isinstance(event, threading.Event):
            event.set()


def _session() -> requests.Session:
    """A requests session that keeps the CA file it is given: a plain one lets
    ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` replace it on every request (requests merges
    the environment over a session's ``verify``), so ``certificate_file`` would be ignored."""
    import requests

    class PinnedVerifySession(requests.Session):
        def merge_environment_settings(
            self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
        ) -> Any:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            if verify is None and self.verify is not True:
                settings["verify"] = self.verify
            return settings

    return PinnedVerifySession()


def _grpc_credentials(destination: Destination) -> ChannelCredentials:
    """TLS for gRPC from the destination's files (the system's CAs without a CA file)."""
    from grpc import ssl_channel_credentials

    def read(path: str | None) -> bytes | None:
        if path is None:
            return None
        with open(path, "rb") as f:
            return f.read()

    return ssl_channel_credentials(
        root_certificates=read(destination.certificate_file),
        private_key=read(destination.client_key_file),
        certificate_chain=read(destination.client_certificate_file),
    )


_ENV_HEADERS = ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")


def _drop_env_headers(exporter: SpanExporter, headers: Mapping[str, str]) -> None:
    """Remove the headers the exporter took from ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS``.

    The OTLP exporters add them to (HTTP) or use them instead of empty (gRPC) explicit headers;
    they are meant for whatever backend those variables configure, perhaps with its
    credentials, not for the platform's collector. The config's headers are what is sent.
    """
    from urllib.parse import unquote

    ours = {k.lower() for k in headers}
    foreign: set[str] = set()
    for name in _ENV_HEADERS:
        # Only the names, and without OpenTelemetry's parser, which logs a bad entry whole.
        for item in os.environ.get(name, "").split(","):
            if "=" in item:
                foreign.add(unquote(item.partition("=")[0]).strip().lower())
    foreign -= ours | {"content-type", "content-encoding", "user-agent"}  # protocol, not auth
    if not foreign:
        return
    grpc_headers = getattr(exporter, "_headers", None)
    if isinstance(grpc_headers, tuple):  # the gRPC exporter: metadata pairs
        exporter._headers = tuple(  # type: ignore[attr-defined]
            (k, v) for k, v in grpc_headers if k.lower() not in foreign
        )
    client = getattr(exporter, "_client", None)
    session = getattr(exporter, "_session", None)
    for mapping in (  # the HTTP exporter, as laid out by current and older releases
        getattr(client, "_headers", None),
        grpc_headers,
        getattr(session, "headers", None),
    ):
        if isinstance(mapping, MutableMapping):
            for key in [k for k in mapping if k.lower() in foreign]:
                del mapping[key]


_QUOTED_HEADER = r"(?i)(header values?\s*[:=]\s*|headers?\s*[:=]\s*)(b?'[^']*'|b?\"[^\"]*\"|\S+)"
"""A header quoted in an exporter's message (requests: "... in header value: 'Bearer …'").
A pattern string: `re` compiles it for the first failure's message, not at every set-up."""


def relayable(text: str, secrets: Sequence[str]) -> str:
    """``text`` from an exporter or its transport, safe to log: the destination's secrets,
    each word of them and anything quoted as a header value masked, whatever the exporter
    put in it."""
    from ._masking import MASK, mask

    words = [w for s in secrets for w in s.split() if w != s]
    text = mask(text, [*secrets, *words, *(repr(s)[1:-1] for s in secrets)])
    return re.sub(_QUOTED_HEADER, lambda m: f"{m[1]}{MASK}", text)


_rebuilding = threading.Lock()
"""Held while a guard makes its exporter for a forked child; made anew in every child."""


def _new_rebuilding_lock() -> None:
    global _rebuilding
    _rebuilding = threading.Lock()


if hasattr(os, "register_at_fork"):  # before any processor's own hook restarts its threads
    os.register_at_fork(after_in_child=_new_rebuilding_lock)


class GuardedExporter(SpanExporter):
    """Wraps every exporter a platform contributes: it never lets an export raise, reports a
    failure streak in one warning that names the platform, the exporter and where it sends,
    and gives a forked child its own exporter. The processor in front of it counts.

    * An exception from ``inner.export`` (a broken in-house exporter) is caught: one warning
      per streak, ``FAILURE`` returned, the call counted in ``export_errors``. The SDK would
      log a traceback for every batch.
    * ``FAILURE`` (collector unreachable, error status, timeout) gets the same warning; the
      OTLP exporters' own per-attempt log lines are absorbed into it. What it relays from
      them is masked (:func:`relayable`): an exporter may quote a header, credentials and all.
    * In a process forked after ``instrument()`` (``os.fork``, ``multiprocessing`` with the
      fork start method, a pre-forking server), the inherited exporter shares the parent's
      connections; ``rebuild`` makes a fresh one the first time the child exports.
    """

    def __init__(
        self,
        inner: SpanExporter,
        platform: str,
        rebuild: Callable[[], SpanExporter | None] | None = None,
        *,
        where: str = "",
        secrets: Sequence[str] = (),
    ) -> None:
        self.inner = inner
        self.platform = platform
        self.where = where
        """Where it sends (an endpoint, a store), named in the warning."""
        self._secrets = tuple(secrets)
        self._rebuild = rebuild
        self._pid = os.getpid()
        self._inherited: list[SpanExporter] = []
        self._failing = False
        self._last_note: str | None = None
        self._closing = False

    def begin_shutdown(self) -> None:
        """From now on failures are only counted (the shutdown summary reports them), and
        each export is tried once: see :func:`hurry`."""
        self._closing = True
        hurry(self.inner)

    @property
    def culprit(self) -> str:
        cls = type(self.inner)
        where = f" to {relayable(self.where, self._secrets)}" if self.where else ""
        return f"platform {self.platform!r} ({cls.__module__}.{cls.__qualname__}{where})"

    def note(self, record: logging.LogRecord) -> None:
        """A log record of the SDK or exporter, absorbed during an export on this thread."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break the export thread
            message = str(record.msg)
        message = relayable(message, self._secrets)
        self._last_note = message.splitlines()[0][:300] if message else None
        logger.debug("llmops: %s: %s: %s", self.culprit, record.name, message)
        if not self._failing and not self._closing and "retrying" in message.lower():
            # The exporter retries until export_timeout_s; say it now, not when it gives up.
            self._failing = True
            logger.warning(
                "llmops: %s: the export is failing (%s); it is retried until "
                "tracing.export_timeout_s, then counted as failed. The application carries "
                "on; further failures are counted (llmops.stats()) and summarised at shutdown",
                self.culprit,
                self._last_note,
            )

    def _for_this_process(self) -> None:
        # Two export threads may meet the fork at once (exports_in_flight): one rebuilds,
        # the other waits for it, and neither exports through the parent's exporter.
        with _rebuilding:
            if self._pid != os.getpid():
                self._rebuild_here()
                self._pid = os.getpid()

    def _rebuild_here(self) -> None:
        pid = os.getpid()
        if self._rebuild is None:
            return
        try:
            fresh = self._rebuild()
        except Exception as exc:
            logger.warning(
                "llmops: %s: could not make a new exporter in the forked process %d (%s: %s); "
                "using the one inherited from the parent",
                self.culprit,
                pid,
                type(exc).__name__,
                relayable(str(exc), self._secrets),
            )
            return
        if fresh is not None:
            # Kept, never closed: closing would touch connections the parent still uses.
            self._inherited.append(self.inner)
            self.inner = fresh

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from ._log_filters import export_scope

        if self._pid != os.getpid():
            self._for_this_process()
        self._last_note = None
        problem: str | None = None
        export_scope.exporter = self
        try:
            result = self.inner.export(spans)
        except Exception as exc:
            from . import _stats

            result = SpanExportResult.FAILURE
            text = relayable(str(exc), self._secrets)[:300]
            problem = f"its export raised {type(exc).__name__}: {text}"
            _stats.record(self.platform, "export_errors")
        finally:
            export_scope.exporter = None
        if result is SpanExportResult.SUCCESS:
            if self._failing:
                self._failing = False
                logger.warning("llmops: %s: exporting works again", self.culprit)
            return result
        if not self._failing and not self._closing:
            self._failing = True
            if problem is None:
                problem = "the export failed" + (f" ({self._last_note})" if self._last_note else "")
            logger.warning(
                "llmops: %s: %s; %d span(s) not delivered. The application carries on; "
                "further failures are counted (llmops.stats()) and summarised at shutdown",
                self.culprit,
                problem,
                len(spans),
            )
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        from ._log_filters import export_scope

        export_scope.exporter = self
        try:
            self.inner.shutdown()
        finally:
            export_scope.exporter = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class ResourceMergingExporter(SpanExporter):
    """Exports spans with ``extra`` merged into their resource, or replacing it.

    A provider's resource cannot change after it is created. When llmops adds its exporter to
    a provider the application created, ``extra`` (say, the Phoenix project name) is merged
    into each span's resource; when llmops reuses the global provider it created for an earlier
    setup, ``replace=True`` sends the new setup's resource instead of the old one. The copy
    happens in the export thread, never on ``span.end()``.
    """

    def __init__(self, inner: SpanExporter, extra: Resource, *, replace: bool = False) -> None:
        self.inner = inner
        self.extra = extra
        self.replace = replace
        self._merged: dict[int, tuple[Resource, Resource]] = {}

    def _resource_for(self, original: Resource) -> Resource:
        if self.replace:
            return self.extra
        cached = self._merged.get(id(original))
        if cached is None or cached[0] is not original:
            cached = (original, original.merge(self.extra))
            self._merged[id(original)] = cached
        return cached[1]

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        copies = [
            ReadableSpan(
                name=s.name,
                context=s.context,
                parent=s.parent,
                resource=self._resource_for(s.resource),
                attributes=s.attributes,
                events=s.events,
                links=s.links,
                kind=s.kind,
                status=s.status,
                start_time=s.start_time,
                end_time=s.end_time,
                instrumentation_scope=s.instrumentation_scope,
            )
            for s in spans
        ]
        return self.inner.export(copies)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
