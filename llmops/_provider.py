"""Building the provider: from a plan and the platforms' contributions to the process's
TracerProvider, its resource, its sampler, and a batch processor around each exporter.
Imported only by ``instrument()``: it needs the OpenTelemetry SDK.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from ._plugin import PlatformSetup

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from ._config import Settings, TracingConfig
    from ._exporters import GuardedExporter
    from ._plan import Plan, Target
    from ._plugin import Destination
    from ._processors import ProviderSlot

__all__ = [
    "Contribution",
    "Pipeline",
    "Setup",
    "SwappableSampler",
    "build",
    "build_resource",
    "contribute",
    "export_limit",
    "new_provider",
]

logger = logging.getLogger("llmops")


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
    """The configured sampler, which a later setup can change.

    The SDK fixes a tracer's sampler when ``get_tracer()`` is called, so a provider that llmops
    keeps across setups (the global one) needs a sampler object that stays while its policy
    changes. The policies are OpenTelemetry's, by their ``OTEL_TRACES_SAMPLER`` names.
    """

    def __init__(self, tracing: TracingConfig) -> None:
        self.set_policy(tracing)

    def set_policy(self, tracing: TracingConfig) -> None:
        ratio = tracing.sample_ratio
        # At 1.0 a ratio is ALWAYS_ON, which skips the trace-id arithmetic.
        by_ratio = ALWAYS_ON if ratio >= 1.0 else TraceIdRatioBased(ratio)
        policies: dict[str | None, Sampler] = {
            "always_on": ALWAYS_ON,
            "always_off": ALWAYS_OFF,
            "traceidratio": by_ratio,
            "parentbased_always_on": ParentBased(ALWAYS_ON),
            "parentbased_always_off": ParentBased(ALWAYS_OFF),
        }
        self.inner: Sampler = policies.get(tracing.sampler) or ParentBased(by_ratio)
        # Binding the inner method skips a Python frame per span (docs/performance.md).
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
    sampler = SwappableSampler(settings.tracing)
    # shutdown_on_exit=False: the SDK's own atexit hook waits up to 30 s on a dead collector;
    # llmops registers a bounded one instead.
    return TracerProvider(resource=resource, sampler=sampler, shutdown_on_exit=False)


GRPC_EXPORT_LIMIT = 4_000_000
"""Bytes in one OTLP/gRPC export by default: under gRPC's usual 4 MiB message limit."""
HTTP_EXPORT_LIMIT = 16_000_000
"""Bytes in one export otherwise: under the OpenTelemetry Collector's 20 MiB request limit."""


def export_limit(tracing: TracingConfig, destination: Destination | None) -> int:
    """The most bytes one export may carry: ``tracing.max_export_bytes``, else by transport."""
    if tracing.max_export_bytes is not None:
        return tracing.max_export_bytes
    grpc = destination is not None and destination.transport == "grpc"
    return GRPC_EXPORT_LIMIT if grpc else HTTP_EXPORT_LIMIT


# -- building a setup from a plan -----------------------------------------------------------


class Pipeline(msgspec.Struct):
    """One export queue: a platform's exporter behind llmops' export processor (``guard`` is
    the exporter's guard), or a processor the platform contributed as it is (no guard)."""

    platform: str
    processor: SpanProcessor
    guard: GuardedExporter | None = None


class Setup(msgspec.Struct):
    """What one ``instrument()`` built: what to flush, uninstrument and shut down."""

    key: tuple[Any, ...]
    platforms: tuple[str, ...]
    provider: TracerProvider
    slot: ProviderSlot
    """llmops' one processor on ``provider``, which routes spans to this setup's."""
    owns_provider: bool
    timeout_s: float
    baselines: dict[str, Any]
    """Each platform's counts when the setup started: the shutdown summary is about this
    setup only."""
    enricher: Any = None
    pipelines: list[Pipeline] = msgspec.field(default_factory=list)
    hooks: list[Callable[[], None]] = msgspec.field(default_factory=list)
    applied: list[Any] = msgspec.field(default_factory=list)


class Contribution(msgspec.Struct, frozen=True):
    """A platform's part of a setup, and how to make its exporters again in a forked child."""

    name: str
    setup: PlatformSetup
    remake: Callable[[], PlatformSetup]
    destination: Destination | None = None
    secrets: tuple[str, ...] = ()
    """The config's and the destination's secrets, masked in whatever is relayed."""


def contribute(target: Target, settings: Settings) -> Contribution:
    """Run the platform's ``setup`` hook, or build its OTLP exporter when it has none."""

    def remake() -> PlatformSetup:
        return _contribution(target, settings)

    return Contribution(target.name, remake(), remake, target.destination, _secrets(target))


def _secrets(target: Target) -> tuple[str, ...]:
    from ._config import secret_values

    secrets = list(secret_values(target.config))
    if target.destination is not None:
        secrets += target.destination.headers.values()
    return tuple(secrets)


def _contribution(target: Target, settings: Settings) -> PlatformSetup:
    from ._exporters import otlp_exporter
    from ._plugin import hook

    destination = target.destination
    if hook(target.plugin_class, "setup") is None:
        assert destination is not None  # checked by the plan: without setup(), OTLP
        assert destination.otlp
        return PlatformSetup(
            exporters=[otlp_exporter(destination)],
            resource_attributes=destination.resource_attributes,
            description=destination.description,
        )
    from ._plugin import call_hook, checked_setup

    given = destination if destination is not None else target.config
    result: PlatformSetup = call_hook(
        target.name,
        target.plugin_class,
        "setup",
        (given, settings),
        PlatformSetup,
        _secrets(target),
    )
    return checked_setup(target.name, result)


def build(
    plan: Plan,
    contributions: Sequence[Contribution],
    *,
    reuse: TracerProvider | None,
    baselines: dict[str, Any],
    slot_for: Callable[[TracerProvider], ProviderSlot],
) -> Setup:
    """The provider with every contribution added: ``reuse`` is llmops' own global provider
    from an earlier setup (kept, with the new resource and sampling policy); ``slot_for``
    gives llmops' one processor on a provider (added the first time)."""
    from ._log_filters import quiet_sdk_loggers

    quiet_sdk_loggers()
    settings = plan.settings
    platform_attributes = _merged_resource_attributes(contributions)
    provider, owns, merge, replace = _provider_for(plan, platform_attributes, reuse)
    built = Setup(
        key=plan.key(),
        platforms=plan.platforms,
        provider=provider,
        slot=slot_for(provider),
        owns_provider=owns,
        timeout_s=settings.tracing.shutdown_timeout_s,
        baselines=baselines,
    )
    for contribution in contributions:
        _add_pipelines(built, contribution, settings.tracing, merge, replace)
    return built


def _provider_for(
    plan: Plan, platform_attributes: dict[str, str], reuse: TracerProvider | None
) -> tuple[TracerProvider, bool, Resource | None, bool]:
    """(provider, whether llmops owns it, the resource to merge into exported spans, whether
    that resource replaces the span's): llmops' own global provider kept, the application's
    SDK provider joined, or a new one."""
    from opentelemetry import trace

    settings = plan.settings
    current = trace.get_tracer_provider()
    if reuse is not None and current is reuse and settings.tracing.set_global:
        assert isinstance(reuse.sampler, SwappableSampler)
        reuse.sampler.set_policy(settings.tracing)
        return reuse, True, build_resource(settings, platform_attributes), True
    if isinstance(current, TracerProvider) and current is not reuse:
        logger.info(
            "llmops: the application already set an OpenTelemetry SDK TracerProvider; adding "
            "the %s exporter to it instead of creating a second one (its resource and sampler "
            "stay as the application set them)",
            ", ".join(plan.platforms),
        )
        return current, False, Resource(platform_attributes), False
    provider = new_provider(settings, build_resource(settings, platform_attributes))
    if settings.tracing.set_global:
        if type(current).__name__ == "ProxyTracerProvider":
            trace.set_tracer_provider(provider)
        else:
            logger.info(
                "llmops: a non-SDK global TracerProvider (%s) is set; leaving it, use the "
                "provider instrument() returns",
                type(current).__name__,
            )
    return provider, True, None, False


def _add_pipelines(
    built: Setup,
    contribution: Contribution,
    tracing: TracingConfig,
    merge: Resource | None,
    replace: bool,
) -> None:
    """One export processor (queue and export thread) per exporter: a platform that is down
    fills only its own queue; the others export on their schedule."""
    from ._batching import export_processor
    from ._exporters import GuardedExporter, ResourceMergingExporter

    name = contribution.name
    destination = contribution.destination
    per_process = _PerProcess(contribution.remake)
    for index, platform_exporter in enumerate(contribution.setup.exporters):
        guard = GuardedExporter(
            platform_exporter,
            name,
            rebuild=per_process.rebuilder(index),
            where=destination.endpoint if destination is not None else "",
            secrets=contribution.secrets,
        )
        exporter: SpanExporter = guard
        if merge is not None:
            exporter = ResourceMergingExporter(exporter, merge, replace=replace)
        processor = export_processor(
            exporter,
            name,
            batch=tracing.batch,
            max_spans=tracing.max_queue_size,
            max_bytes=tracing.max_queue_bytes,
            max_batch=tracing.max_export_batch_size,
            max_export_bytes=export_limit(tracing, destination),
            delay_s=tracing.schedule_delay_ms / 1000,
            export_timeout_s=tracing.export_timeout_s,
            in_flight=contribution.setup.exports_in_flight,
        )
        built.pipelines.append(Pipeline(name, processor, guard))
    built.pipelines.extend(Pipeline(name, p) for p in contribution.setup.processors)
    if contribution.setup.on_shutdown is not None:
        built.hooks.append(contribution.setup.on_shutdown)


def _merged_resource_attributes(contributions: Sequence[Contribution]) -> dict[str, str]:
    """Every platform's resource attributes; on a conflict the later platform wins, logged."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for contribution in contributions:
        for key, value in contribution.setup.resource_attributes.items():
            if key in merged and merged[key] != value:
                logger.warning(
                    "llmops: platforms %s and %s both set the resource attribute %r; using %s's",
                    owner[key],
                    contribution.name,
                    key,
                    contribution.name,
                )
            merged[key], owner[key] = value, contribution.name
    return merged


class _PerProcess:
    """Runs the platform's set-up again, once, in a process forked after ``instrument()``,
    so that a child exports through its own connections, not the parent's."""

    def __init__(self, remake: Callable[[], PlatformSetup]) -> None:
        self._remake = remake
        self._pid = os.getpid()
        self._exporters: list[SpanExporter] = []
        self._lock = threading.Lock()

    def rebuilder(self, index: int) -> Callable[[], SpanExporter | None]:
        return lambda: self._exporter(index)

    def _exporter(self, index: int) -> SpanExporter | None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._exporters = list(self._remake().exporters)
        return self._exporters[index] if index < len(self._exporters) else None
