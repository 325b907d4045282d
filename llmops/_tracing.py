"""Builds the process's TracerProvider and the OTLP exporters that platforms plug into it.

Imported only by ``instrument()``: it is the module that needs the OpenTelemetry SDK.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Literal

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
    "ResourceMergingExporter",
    "build_resource",
    "new_provider",
    "otlp_exporter",
    "processor_for",
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
        self.inner: Sampler = ParentBased(TraceIdRatioBased(ratio))

    def set_ratio(self, ratio: float) -> None:
        self.inner = ParentBased(TraceIdRatioBased(ratio))

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


class DetachableProcessor(SpanProcessor):
    """Forwards to ``inner`` until detached; lets llmops leave a provider it does not own.

    The SDK has no public way to remove a processor from a provider, so llmops adds this
    wrapper and, on shutdown, detaches it: the provider keeps calling it, and it does nothing.
    """

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.attached = True

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.attached:
            self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.attached:
            self.inner.on_end(span)

    def shutdown(self) -> None:
        if self.attached:
            self.attached = False
            self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis) if self.attached else True


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


def run_all_bounded(tasks: Sequence[tuple[Callable[[], object], str]], timeout_s: float) -> bool:
    """Run each ``(fn, what)`` in its own daemon thread, all at once, waiting at most
    ``timeout_s`` in total; never raises. Returns whether every task finished cleanly.

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
