"""Builds the process's TracerProvider and the OTLP exporters that platforms plug into it.

Imported only by ``instrument()``: it is the module that needs the OpenTelemetry SDK.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from ._config import Settings, TracingConfig

__all__ = [
    "DetachableProcessor",
    "GuardedExporter",
    "ResourceMergingExporter",
    "build_resource",
    "new_provider",
    "otlp_exporter",
    "processor_for",
    "quiet_sdk_loggers",
    "run_all_bounded",
]

logger = logging.getLogger("llmops")

Protocol = Literal["grpc", "http"]


def build_resource(settings: Settings, extra: Mapping[str, str]) -> Resource:
    """The resource: OpenTelemetry's defaults and env detector, then the config, then ``extra``.

    ``Resource.create`` reads ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME``; the
    attributes given here win over them, so the file wins over the environment.
    """
    service = settings.service
    attributes: dict[str, str] = dict(service.attributes)
    if service.name:
        attributes["service.name"] = service.name
    if service.version:
        attributes["service.version"] = service.version
    if service.environment:
        attributes["deployment.environment.name"] = service.environment
        attributes["deployment.environment"] = service.environment
    attributes.update(extra)
    return Resource.create(attributes)


class SwappableSampler(Sampler):
    """Parent-based trace-id-ratio sampling whose ratio a later setup can change.

    The SDK fixes a tracer's sampler when ``get_tracer()`` is called, so a provider that llmops
    keeps across setups (the global one) needs a sampler object that stays while its policy
    changes.
    """

    def __init__(self, ratio: float) -> None:
        self.set_ratio(ratio)

    def set_ratio(self, ratio: float) -> None:
        # ALWAYS_ON at 1.0 skips the trace-id arithmetic; binding the inner method skips a
        # Python frame per span (~280 ns, measured in docs/performance.md).
        root = ALWAYS_ON if ratio >= 1.0 else TraceIdRatioBased(ratio)
        self.inner: Sampler = ParentBased(root)
        self.should_sample = self.inner.should_sample  # type: ignore[method-assign]

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return self.inner.get_description()


def new_provider(settings: Settings, resource: Resource) -> TracerProvider:
    """A TracerProvider with the configured sampler; llmops, not the SDK, shuts it down."""
    sampler = SwappableSampler(settings.tracing.sample_ratio)
    # shutdown_on_exit=False: the SDK's own atexit hook waits up to 30 s on a dead collector;
    # llmops registers a bounded one instead.
    return TracerProvider(resource=resource, sampler=sampler, shutdown_on_exit=False)


def processor_for(exporter: SpanExporter, tracing: TracingConfig) -> SpanProcessor:
    """Wrap ``exporter`` as the ``tracing`` section says: batching (default) or synchronous."""
    if not tracing.batch:
        return SimpleSpanProcessor(exporter)
    return BatchSpanProcessor(
        exporter,
        max_queue_size=tracing.max_queue_size,
        schedule_delay_millis=tracing.schedule_delay_ms,
        max_export_batch_size=min(tracing.max_export_batch_size, tracing.max_queue_size),
        export_timeout_millis=tracing.export_timeout_s * 1000,
    )


def otlp_exporter(
    endpoint: str,
    protocol: Protocol,
    *,
    headers: Mapping[str, str],
    tracing: TracingConfig,
    insecure: bool | None = None,
) -> SpanExporter:
    """An OTLP span exporter for ``endpoint`` over gRPC or HTTP/protobuf.

    Every parameter is passed explicitly so that ``OTEL_EXPORTER_OTLP_*`` variables cannot
    silently redirect what the config says.
    """
    timeout = tracing.export_timeout_s
    if protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        exporter: SpanExporter = GrpcExporter(
            endpoint=endpoint,
            # gRPC metadata keys must be lower case.
            headers=tuple((k.lower(), v) for k, v in headers.items()),
            timeout=timeout,
            insecure=insecure if insecure is not None else endpoint.startswith("http://"),
            compression=Compression.Gzip
            if tracing.compression == "gzip"
            else Compression.NoCompression,
        )
        _drop_env_headers(exporter, headers)
        return exporter
    from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    exporter = HttpExporter(
        endpoint=endpoint,
        headers=dict(headers),
        timeout=timeout,
        compression=(
            HttpCompression.Gzip if tracing.compression == "gzip" else HttpCompression.NoCompression
        ),
    )
    _drop_env_headers(exporter, headers)
    return exporter


_ENV_HEADERS = ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")


def _drop_env_headers(exporter: SpanExporter, headers: Mapping[str, str]) -> None:
    """Remove the headers the exporter took from ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS``.

    The OTLP exporters add them to (HTTP) or use them instead of empty (gRPC) explicit headers;
    they are meant for whatever backend those variables configure, perhaps with its
    credentials, not for the platform's collector. The config's headers are what is sent.
    """
    import os

    from opentelemetry.util.re import parse_env_headers

    ours = {k.lower() for k in headers}
    foreign: set[str] = set()
    for name in _ENV_HEADERS:
        foreign.update(k.lower() for k in parse_env_headers(os.environ.get(name, ""), liberal=True))
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
        _scope.processor = self
        try:
            self.inner.on_end(span)
        finally:
            _scope.processor = None

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


class _ExportScope(threading.local):
    exporter: GuardedExporter | None = None
    processor: DetachableProcessor | None = None


_scope = _ExportScope()


class _SdkLogFilter(logging.Filter):
    """Absorbs what the SDK and the OTLP exporters log while a :class:`GuardedExporter` is
    exporting on this thread (a retry notice per attempt, a traceback per failed batch): the
    guard logs one named warning per failure streak instead. Absorbed records stay visible at
    DEBUG on the ``llmops`` logger. A "Queue full" record logged while llmops' processor hands
    a span to the SDK (a race between threads) is counted as a drop instead. Other records,
    such as those of the application's own exporters, pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        exporter = _scope.exporter
        if exporter is not None:
            exporter.note(record)
            return False
        processor = _scope.processor
        if processor is not None and str(record.msg).startswith("Queue full"):
            processor._drop()
            return False
        return True


_FILTER = _SdkLogFilter()
_QUIET_PREFIXES = ("opentelemetry.sdk", "opentelemetry.exporter")


def quiet_sdk_loggers() -> None:
    """Attach the filter to the SDK's and the OTLP exporters' loggers (idempotent)."""
    manager = logging.Logger.manager
    names = [
        "opentelemetry.sdk._shared_internal",
        "opentelemetry.sdk.trace.export",
        "opentelemetry.exporter.otlp.proto.grpc.exporter",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.exporter.otlp.proto.http._common",
        *(n for n in list(manager.loggerDict) if n.startswith(_QUIET_PREFIXES)),
    ]
    for name in names:
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            # First: the SDK's own duplicate filter would otherwise hide repeats from it.
            log.filters.insert(0, _FILTER)


class GuardedExporter(SpanExporter):
    """Wraps every exporter a platform contributes: it never lets an export raise, counts
    what was delivered and what was not, reports a failure streak in one warning that names
    the platform and the exporter, and gives a forked child its own exporter.

    * An exception from ``inner.export`` (a broken in-house exporter) is caught: one warning
      per streak, ``FAILURE`` returned, the batch counted as failed. The SDK would log a
      traceback for every batch.
    * ``FAILURE`` (collector unreachable, error status, timeout) is counted the same way; the
      OTLP exporters' own per-attempt log lines are absorbed into that one warning.
    * In a process forked after ``instrument()`` (``os.fork``, ``multiprocessing`` with the
      fork start method, a pre-forking server), the inherited exporter shares the parent's
      connections; ``rebuild`` makes a fresh one the first time the child exports.
    """

    def __init__(
        self,
        inner: SpanExporter,
        platform: str,
        rebuild: Callable[[], SpanExporter | None] | None = None,
    ) -> None:
        self.inner = inner
        self.platform = platform
        self._rebuild = rebuild
        self._pid = os.getpid()
        self._inherited: list[SpanExporter] = []
        self._failing = False
        self._last_note: str | None = None
        self.in_flight = 0
        """Spans in the export call running now (lost if shutdown gives up on it)."""
        self.closing = False
        self.written_off = False
        """Set by shutdown when it counted the export in flight as abandoned."""
        """Set when llmops shuts down: failures are then only counted, the shutdown summary
        reports them."""

    @property
    def culprit(self) -> str:
        cls = type(self.inner)
        return f"platform {self.platform!r} ({cls.__module__}.{cls.__qualname__})"

    def note(self, record: logging.LogRecord) -> None:
        """A log record of the SDK or exporter, absorbed during an export on this thread."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break the export thread
            message = str(record.msg)
        self._last_note = message.splitlines()[0][:300] if message else None
        logger.debug("llmops: %s: %s: %s", self.culprit, record.name, message)

    def _for_this_process(self) -> None:
        pid = os.getpid()
        if pid == self._pid:
            return
        self._pid = pid
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
                exc,
            )
            return
        if fresh is not None:
            # Kept, never closed: closing would touch connections the parent still uses.
            self._inherited.append(self.inner)
            self.inner = fresh

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from . import _stats

        if self._pid != os.getpid():
            self._for_this_process()
        count = len(spans)
        self._last_note = None
        problem: str | None = None
        _scope.exporter = self
        self.in_flight = count
        try:
            result = self.inner.export(spans)
        except Exception as exc:
            result = SpanExportResult.FAILURE
            problem = f"its export raised {type(exc).__name__}: {str(exc)[:300]}"
            _stats.record(self.platform, "export_errors")
        finally:
            _scope.exporter = None
            self.in_flight = 0
        if self.written_off:  # shutdown gave up on this export and counted it already
            self.written_off = False
            return result
        if result is SpanExportResult.SUCCESS:
            _stats.record(self.platform, "exported", count)
            if self._failing:
                self._failing = False
                logger.warning("llmops: %s: exporting works again", self.culprit)
            return result
        _stats.record(self.platform, "failed", count)
        if not self._failing and not self.closing:
            self._failing = True
            if problem is None:
                problem = "the export failed" + (f" ({self._last_note})" if self._last_note else "")
            logger.warning(
                "llmops: %s: %s; %d span(s) not delivered. The application carries on; "
                "further failures are counted (llmops.stats()) and summarised at shutdown",
                self.culprit,
                problem,
                count,
            )
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        _scope.exporter = self
        try:
            self.inner.shutdown()
        finally:
            _scope.exporter = None

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


def run_all_bounded(
    tasks: Sequence[tuple[Callable[[], object], str]],
    timeout_s: float,
    unfinished: list[str] | None = None,
) -> bool:
    """Run each ``(fn, what)`` in its own daemon thread, all at once, waiting at most
    ``timeout_s`` in total; never raises. Returns whether every task finished cleanly.
    With ``unfinished``, the tasks still running are appended to it instead of logged.

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
                unfinished.append(what)
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
