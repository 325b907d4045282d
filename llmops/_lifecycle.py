"""``instrument()`` and ``shutdown()``: compose config, platform, provider and instrumentors.

One setup is active per process. The heavy modules (OpenTelemetry SDK, exporters, platform
code) are imported inside ``instrument()``, never when ``llmops`` is imported.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time

from . import _stats
from ._errors import ConfigurationError
from ._registry import _default as _registry
from ._registry import plugins_disabled_by_env

TYPE_CHECKING = False  # keeps typing out of `import llmops`
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence
    from typing import Any

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from ._config import LoadedConfig, Settings
    from ._enrichment import ContextAttributesProcessor
    from ._instrumentors import Applied
    from ._platform import Platform
    from ._plugin import PlatformSetup
    from ._registry import KnownNames
    from ._tracing import DetachableProcessor, GuardedExporter

__all__ = ["instrument", "shutdown", "stats"]

stats = _stats.stats

_lock = threading.RLock()
_active: _Active | None = None
_owned_global: TracerProvider | None = None
"""The provider llmops made the global one: kept alive so a later setup can reuse it
(OpenTelemetry allows setting the global provider only once per process)."""
_atexit_registered = False


class _Active:
    """The setup in force: what to flush, uninstrument and shut down."""

    def __init__(
        self, key: tuple[Any, ...], provider: TracerProvider, owns: bool, timeout_s: float
    ) -> None:
        self.key = key
        self.platforms: tuple[str, ...] = tuple(key[0])
        self.baselines = {
            name: _stats.stats().by_platform.get(name) or _stats.SpanStats()
            for name in self.platforms
        }
        self.enricher: ContextAttributesProcessor | None = None
        self.provider = provider
        self.owns_provider = owns
        self.timeout_s = timeout_s
        self.processors: list[DetachableProcessor] = []
        self.guards: list[GuardedExporter] = []
        self.applied: list[Applied] = []
        self.hooks: list[Callable[[], None]] = []

    def close(self) -> None:
        from ._tracing import run_all_bounded

        for applied in self.applied:
            applied.uninstrument()
        if self.enricher is not None:
            self.enricher.shutdown()
        for guard in self.guards:
            guard.closing = True
        deadline = time.monotonic() + self.timeout_s
        unfinished: list[str] = []
        run_all_bounded(
            [(p.shutdown, f"flushing the spans for {p.platform}") for p in self.processors]
            + [(hook, "the platform's shutdown hook") for hook in self.hooks],
            self.timeout_s,
            unfinished,
        )
        remaining = max(deadline - time.monotonic(), 0.0)
        if self.owns_provider and self.provider is not _owned_global:
            run_all_bounded(
                [(self.provider.shutdown, "shutting the provider down")], remaining, unfinished
            )
        abandoned = dict.fromkeys(self.platforms, 0)
        for processor in self.processors:
            abandoned[processor.platform] = (
                abandoned.get(processor.platform, 0) + processor.queued()
            )
        for guard in self.guards:
            if guard.in_flight:
                abandoned[guard.platform] = abandoned.get(guard.platform, 0) + guard.in_flight
                guard.written_off = True
        for name, count in abandoned.items():
            if count:
                _stats.record(name, "abandoned", count)
        for name in self.platforms:
            # Each platform's line says what of its own did not finish; what belongs to no
            # one platform (the provider, a hook) goes with the last line.
            own = [u for u in unfinished if u.endswith(f" for {name}")]
            if name == self.platforms[-1]:
                own += [u for u in unfinished if not u.startswith("flushing the spans for ")]
            self._summarise(name, own)

    def _summarise(self, platform: str, unfinished: list[str]) -> None:
        """One log line at shutdown: what this setup never delivered, what did not finish."""
        import logging

        log = logging.getLogger("llmops")
        late = ""
        if unfinished:
            late = (
                f"; {' and '.join(dict.fromkeys(unfinished))} did not finish within "
                f"{self.timeout_s:.1f} s (is the collector reachable?), not waited for"
            )

        total = _stats.stats().by_platform.get(platform) or _stats.SpanStats()
        base = self.baselines.get(platform) or _stats.SpanStats()
        now = _stats.SpanStats(
            total.exported - base.exported,
            total.dropped - base.dropped,
            total.failed - base.failed,
            total.abandoned - base.abandoned,
        )
        if now.lost <= 0:
            if late:
                log.warning("llmops: shutting down %s%s", platform, late)
            return
        log.warning(
            "llmops: %d span(s) for %s were not delivered (%d dropped with the export queue "
            "full, %d in failed exports, %d still queued or in flight at shutdown), %d "
            "delivered%s. Counts: llmops.stats()",
            now.lost,
            platform,
            now.dropped,
            now.failed,
            now.abandoned,
            now.exported,
            late,
        )


def instrument(
    platform: Platform | str | Sequence[Platform | str] | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> TracerProvider:
    """Set up tracing to ``platform`` (or several) and return the OpenTelemetry
    ``TracerProvider``.

    >>> import llmops
    >>> from llmops import Platform
    >>> provider = llmops.instrument(Platform.ARIZE, config_path="llmops.yaml")  # doctest: +SKIP

    ``platform`` is a :class:`Platform` member or a registered name (``"arize"``, ``"acme"``),
    or a list of them: ``instrument([Platform.ARIZE, Platform.MLFLOW])`` sends every span to
    each, through one provider, the instrumentors applied once, each platform with its own
    export queue so that one being down delays nothing for the others. Without it the
    config's ``platforms:`` (a list) or ``platform:`` is used.

    ``config_path`` is a YAML or TOML file
    (the suffix decides); without it llmops reads ``$LLMOPS_CONFIG``, then ``./llmops.yaml``,
    ``./llmops.yml``, ``./llmops.toml``, ``[tool.llmops]`` in ``./pyproject.toml``, else the
    defaults.

    Calling it again with the same platform and the same configuration returns the same
    provider and instruments nothing twice; with anything different, the previous setup is
    shut down (flushed, uninstrumented) first. If the application already set a global SDK
    ``TracerProvider``, the platform's exporter is added to that provider, which is returned.

    Raises :class:`ConfigurationError` for an invalid config, :class:`UnknownPlatformError`
    for an unknown platform name.
    """
    global _active
    requested = _requested_platforms(platform)
    from ._config import load_config
    from ._instrumentors import validate

    def known_sections(settings: Settings) -> KnownNames:
        return _registry.known(discover=_discover(settings))

    with _lock:
        config = load_config(config_path, known_sections=known_sections)
        names = requested if requested is not None else _configured_platforms(config)
        classes = [_registry.get(name, discover=_discover(config.settings)) for name in names]
        sections = [config.section(n, c.config_type) for n, c in zip(names, classes, strict=True)]
        validate(config.settings.instrumentation, config.where)
        key = (tuple(names), config.settings, tuple(sections))
        if _active is not None and _active.key == key:
            return _active.provider
        # Every platform checks its section before the previous setup is touched: a config
        # one of them rejects leaves the application traced as before.
        settings, where = config.settings, config.where
        plans: list[_Plan] = []
        try:
            for name, plugin_class, section in zip(names, classes, sections, strict=True):
                contribution = _contribution(name, plugin_class(), section, settings, where)
                remake = _remaker(name, plugin_class, section, settings, where)
                plans.append(_Plan(name, contribution, remake))
        except BaseException:
            _discard(plans)
            raise
        if _active is not None:
            previous, _active = _active, None
            previous.close()
        _active = _build(plans, settings, key, where)
        _register_atexit()
        return _active.provider


def _requested_platforms(platform: object) -> list[str] | None:
    """The platform names ``instrument()`` was given (each once, in order), or ``None``."""
    if platform is None:
        return None
    if isinstance(platform, str):
        return [str(platform)]  # a Platform member becomes its plain value
    from collections.abc import Sequence

    if not isinstance(platform, Sequence) or isinstance(platform, bytes | bytearray):
        raise TypeError(
            "platform must be a llmops.Platform, a str or a list of them, got "
            f"{type(platform).__name__}"
        )
    names: list[str] = []
    for item in platform:
        if not isinstance(item, str):
            raise TypeError(
                f"each platform must be a llmops.Platform or a str, got {type(item).__name__}"
            )
        names.append(str(item))
    if not names:
        raise ConfigurationError(
            "instrument() needs at least one platform; got an empty list (pass Platform.ARIZE, "
            "a registered name, or a list of them)"
        )
    return list(dict.fromkeys(names))


def _configured_platforms(config: LoadedConfig) -> list[str]:
    names = config.platform_names()
    if not names:
        raise ConfigurationError(
            f"{config.where}: no platform given; call instrument(Platform.ARIZE, ...) or set "
            "'platform: arize' or 'platforms: [arize, mlflow]' (or other registered names) in "
            "the config",
            path=str(config.path) if config.path else None,
            field="$.platform",
        )
    return names


class _Plan:
    """One platform of a setup: its name, what it contributed, how to set it up again."""

    __slots__ = ("contribution", "name", "remake")

    def __init__(
        self, name: str, contribution: PlatformSetup, remake: Callable[[], PlatformSetup]
    ) -> None:
        self.name = name
        self.contribution = contribution
        self.remake = remake


def _remaker(
    name: str, plugin_class: Any, section: Any, settings: Settings, where: str
) -> Callable[[], PlatformSetup]:
    """Runs the platform's ``setup()`` again (in a forked child, for its own connections)."""

    def remake() -> PlatformSetup:
        return _contribution(name, plugin_class(), section, settings, where)

    return remake


def _discard(plans: list[_Plan]) -> None:
    """Shut down the exporters of platforms set up before another one failed (bounded)."""
    if not plans:
        return
    from ._tracing import run_all_bounded

    run_all_bounded(
        [
            (exporter.shutdown, "discarding an exporter")
            for plan in plans
            for exporter in plan.contribution.exporters
        ],
        1.0,
    )


def _discover(settings: Settings) -> bool:
    """Whether entry points may be read: ``plugins: false`` or the variable turn it off."""
    return settings.plugins and not plugins_disabled_by_env()


def _contribution(
    name: str, plugin: Any, section: Any, settings: Settings, where: str
) -> PlatformSetup:
    try:
        contribution: PlatformSetup = plugin.setup(section, settings)
    except ConfigurationError as exc:
        if exc.path is None and where != "<defaults>":
            raise ConfigurationError(f"{where}: {exc}", path=where, field=exc.field) from None
        raise
    except Exception as exc:
        raise RuntimeError(
            f"platform {name!r} ({type(plugin).__module__}) failed to set up: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return contribution


def _build(plans: list[_Plan], settings: Settings, key: tuple[Any, ...], where: str) -> _Active:
    global _owned_global
    import logging

    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from ._instrumentors import apply_instrumentors

    logger = logging.getLogger("llmops")
    from ._tracing import (
        DetachableProcessor,
        GuardedExporter,
        ResourceMergingExporter,
        SwappableSampler,
        build_resource,
        new_provider,
        processor_for,
        quiet_sdk_loggers,
    )

    quiet_sdk_loggers()

    names = ", ".join(plan.name for plan in plans)
    platform_attributes = _merged_resource_attributes(plans)
    resource = build_resource(settings, platform_attributes)
    current = trace.get_tracer_provider()
    merge: Resource | None = None
    replace_resource = False
    if current is _owned_global and settings.tracing.set_global:
        # Ours from an earlier setup, and global for good: keep it, with the new policy.
        provider, owns = current, True
        merge, replace_resource = resource, True
        assert isinstance(provider.sampler, SwappableSampler)
        provider.sampler.set_ratio(settings.tracing.sample_ratio)
    elif isinstance(current, TracerProvider) and current is not _owned_global:
        provider, owns = current, False
        merge = Resource(platform_attributes)
        logger.info(
            "llmops: the application already set an OpenTelemetry SDK TracerProvider; adding "
            "the %s exporter to it instead of creating a second one (its resource and sampler "
            "stay as the application set them)",
            names,
        )
    else:
        provider, owns = new_provider(settings, resource), True
        if settings.tracing.set_global:
            if type(current).__name__ == "ProxyTracerProvider":
                trace.set_tracer_provider(provider)
                _owned_global = provider
            else:
                logger.info(
                    "llmops: a non-SDK global TracerProvider (%s) is set; leaving it, use the "
                    "provider instrument() returns",
                    type(current).__name__,
                )

    active = _Active(key, provider, owns, settings.tracing.shutdown_timeout_s)
    active.enricher = _enricher(settings)
    # First: the attributes are on the span before any platform's processor sees it.
    provider.add_span_processor(active.enricher)
    # Each platform's exporters get their own batch processor (queue and export thread): a
    # platform that is down fills only its own queue; the others export on their schedule.
    for plan in plans:
        name, contribution = plan.name, plan.contribution
        per_process = _PerProcess(plan.remake)
        for index, platform_exporter in enumerate(contribution.exporters):
            guard = GuardedExporter(platform_exporter, name, rebuild=per_process.rebuilder(index))
            active.guards.append(guard)
            exporter: SpanExporter = guard
            if merge is not None:
                exporter = ResourceMergingExporter(exporter, merge, replace=replace_resource)
            active.processors.append(
                DetachableProcessor(processor_for(exporter, settings.tracing), platform=name)
            )
        active.processors.extend(
            DetachableProcessor(p, platform=name) for p in contribution.processors
        )
        if contribution.on_shutdown is not None:
            active.hooks.append(contribution.on_shutdown)
    for processor in active.processors:
        provider.add_span_processor(processor)
    try:
        active.applied = apply_instrumentors(
            settings.instrumentation,
            provider,
            where=where,
            trace_config=settings.tracing.trace_config(),
        )
    except BaseException:
        active.close()
        raise
    logger.info(
        "llmops: tracing to %s",
        "; ".join(plan.contribution.description or plan.name for plan in plans),
    )
    return active


def _merged_resource_attributes(plans: list[_Plan]) -> dict[str, str]:
    """Every platform's resource attributes; on a conflict the later platform wins, logged."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for plan in plans:
        for key, value in plan.contribution.resource_attributes.items():
            if key in merged and merged[key] != value:
                import logging

                logging.getLogger("llmops").warning(
                    "llmops: platforms %s and %s both set the resource attribute %r; using %s's",
                    owner[key],
                    plan.name,
                    key,
                    plan.name,
                )
            merged[key], owner[key] = value, plan.name
    return merged


def _enricher(settings: Settings) -> ContextAttributesProcessor:
    """The processor that puts ``llmops.enrich`` attributes and the ``enrichment`` defaults
    on every span."""
    from ._enrichment import ContextAttributesProcessor

    enricher = ContextAttributesProcessor(
        metadata=settings.enrichment.metadata, tags=settings.enrichment.tags
    )
    enricher.activate()
    return enricher


def shutdown() -> None:
    """Flush and stop what :func:`instrument` set up, within ``tracing.shutdown_timeout_s``.

    Uninstruments the instrumentors llmops applied. Safe to call more than once, and called
    at interpreter exit; it never raises and never waits longer than the configured timeout,
    even when the collector is unreachable.
    """
    global _active
    with _lock:
        active, _active = _active, None
    if active is not None:
        try:
            active.close()
        except Exception as exc:  # pragma: no cover - close() is already defensive
            import logging

            logging.getLogger("llmops").warning("llmops: shutdown failed: %s", exc)


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(shutdown)
        _atexit_registered = True


class _PerProcess:
    """Runs the platform's ``setup()`` again, once, in a process forked after ``instrument()``,
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


# -- fork ----------------------------------------------------------------------------------------


class _ForkToken:
    """What ``multiprocessing.util.register_after_fork`` holds (it keeps weak references)."""


_FORK_TOKEN = _ForkToken()


def _after_fork_in_child() -> None:
    """In a child made by ``os.fork()``: fresh locks; and when the child is a
    ``multiprocessing`` process (which ends with ``os._exit``, skipping ``atexit``), flush
    at its exit through multiprocessing's own finalizers."""
    global _lock
    _lock = threading.RLock()
    if _active is None:
        return
    _active.baselines = dict.fromkeys(_active.platforms, _stats.SpanStats())  # from zero
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        # Runs in the child's bootstrap, after it clears the finalizers it inherited.
        util.register_after_fork(_FORK_TOKEN, _flush_at_process_exit)


def _flush_at_process_exit(_token: object) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, shutdown, exitpriority=100)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def reset_for_tests() -> None:
    """What :func:`llmops.testing.reset` does: shut down, zero the counters, forget the global
    provider (OpenTelemetry's own tests reset the same module globals)."""
    global _owned_global
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    shutdown()
    _stats.reset()
    _owned_global = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


def current() -> _Active | None:
    """The setup in force, or ``None`` (for tests and the CLI; not public API)."""
    return _active
