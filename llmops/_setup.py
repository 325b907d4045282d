"""``instrument()`` and ``shutdown()``: compose config, platform, provider and instrumentors.

One setup is active per process. The heavy modules (OpenTelemetry SDK, exporters, platform
code) are imported inside ``instrument()``, never when ``llmops`` is imported.
"""

from __future__ import annotations

import atexit
import threading
import time

from ._errors import ConfigurationError
from ._registry import available_platforms, get_platform

TYPE_CHECKING = False  # keeps typing out of `import llmops`
if TYPE_CHECKING:
    import os
    from collections.abc import Callable
    from typing import Any

    from opentelemetry.sdk.trace import TracerProvider

    from ._config import Settings
    from ._instrumentors import Applied
    from ._platform import Platform
    from ._plugin import PlatformSetup
    from ._tracing import DetachableProcessor

__all__ = ["instrument", "shutdown"]

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
        self.provider = provider
        self.owns_provider = owns
        self.timeout_s = timeout_s
        self.processors: list[DetachableProcessor] = []
        self.applied: list[Applied] = []
        self.hooks: list[Callable[[], None]] = []

    def close(self) -> None:
        from ._tracing import run_all_bounded

        for applied in self.applied:
            applied.uninstrument()
        deadline = time.monotonic() + self.timeout_s
        run_all_bounded(
            [(p.shutdown, "flushing spans") for p in self.processors]
            + [(hook, "the platform's shutdown hook") for hook in self.hooks],
            self.timeout_s,
        )
        remaining = max(deadline - time.monotonic(), 0.0)
        if self.owns_provider and self.provider is not _owned_global:
            run_all_bounded([(self.provider.shutdown, "shutting the provider down")], remaining)


def instrument(
    platform: Platform | str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> TracerProvider:
    """Set up tracing to ``platform`` and return the OpenTelemetry ``TracerProvider``.

    >>> import llmops
    >>> from llmops import Platform
    >>> provider = llmops.instrument(Platform.ARIZE, config_path="llmops.yaml")  # doctest: +SKIP

    ``platform`` is a :class:`Platform` member or a registered name (``"arize"``, ``"acme"``);
    without it the config's ``platform:`` is used. ``config_path`` is a YAML or TOML file
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
    if platform is not None and not isinstance(platform, str):
        raise TypeError(
            f"platform must be a llmops.Platform or a str, got {type(platform).__name__}"
        )
    from ._config import load_config
    from ._instrumentors import validate

    with _lock:
        config = load_config(config_path, known_sections=available_platforms())
        name = str(platform) if platform is not None else config.settings.platform
        if name is None:
            raise ConfigurationError(
                f"{config.where}: no platform given; call instrument(Platform.ARIZE, ...) or set "
                "'platform: arize' (or another registered name) in the config",
                path=str(config.path) if config.path else None,
                field="$.platform",
            )
        plugin_class = get_platform(name)
        section = config.section(name, plugin_class.config_type)
        validate(config.settings.instrumentation, config.where)
        key = (name, config.settings, section)
        if _active is not None and _active.key == key:
            return _active.provider
        # The platform checks its section before the previous setup is touched: a config it
        # rejects leaves the application traced as before.
        contribution = _contribution(name, plugin_class(), section, config.settings, config.where)
        if _active is not None:
            previous, _active = _active, None
            previous.close()
        _active = _build(name, contribution, config.settings, key, config.where)
        _register_atexit()
        return _active.provider


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


def _build(
    name: str, contribution: PlatformSetup, settings: Settings, key: tuple[Any, ...], where: str
) -> _Active:
    global _owned_global
    import logging

    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from ._instrumentors import apply_instrumentors

    logger = logging.getLogger("llmops")
    from ._tracing import (
        DetachableProcessor,
        ResourceMergingExporter,
        SwappableSampler,
        build_resource,
        new_provider,
        processor_for,
    )

    resource = build_resource(settings, contribution.resource_attributes)
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
        merge = Resource(dict(contribution.resource_attributes))
        logger.info(
            "llmops: the application already set an OpenTelemetry SDK TracerProvider; adding "
            "the %s exporter to it instead of creating a second one (its resource and sampler "
            "stay as the application set them)",
            name,
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
    for exporter in contribution.exporters:
        if merge is not None:
            exporter = ResourceMergingExporter(exporter, merge, replace=replace_resource)
        active.processors.append(DetachableProcessor(processor_for(exporter, settings.tracing)))
    active.processors.extend(DetachableProcessor(p) for p in contribution.processors)
    for processor in active.processors:
        provider.add_span_processor(processor)
    if contribution.on_shutdown is not None:
        active.hooks.append(contribution.on_shutdown)
    try:
        active.applied = apply_instrumentors(settings.instrumentation, provider, where=where)
    except BaseException:
        active.close()
        raise
    logger.info("llmops: tracing to %s", contribution.description or name)
    return active


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
