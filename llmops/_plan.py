"""The plan: one step from a platform selection, a config path and the environment to an
immutable description of everything ``instrument()`` will set up.

Every check that can refuse a config runs here: the file, the common sections, which
platform each section names, each section against its platform's Struct, the
instrumentation keys, and each platform's own ``resolve`` hook. ``instrument()`` executes a
plan; ``llmops check``, ``doctor`` and ``run`` read the same plan, so what one refuses, the
others refuse.

>>> import llmops
>>> plan = llmops.plan("arize")
>>> plan.platforms
('arize',)
>>> plan.describe()  # doctest: +SKIP
["arize → Phoenix project 'default', OTLP/gRPC http://127.0.0.1:4317"]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from ._config import (
    SETTINGS_ENVIRONMENT,
    LoadedConfig,
    Settings,
    load_config,
    shown,
    with_environment,
)
from ._errors import ConfigurationError
from ._masking import MASK, mask
from ._plugin import Destination, call_hook, hook
from ._registry import PlatformRegistry, plugins_disabled_by_env
from ._registry import _default as _default_registry
from ._suggest import did_you_mean

__all__ = ["Plan", "Target", "Value", "env_value", "make_plan"]


class Value(msgspec.Struct, frozen=True, kw_only=True):
    """One resolved value and where it came from."""

    key: str
    """``service.name``, ``arize.endpoint``, ..."""
    value: Any
    """As llmops may show it: secrets masked."""
    source: str
    """``llmops.yaml:7``, ``llmops.yaml:7 (${PHOENIX_API_KEY})``, ``env MLFLOW_TRACKING_URI``
    or ``default``."""
    secret: bool = False

    @property
    def is_default(self) -> bool:
        return self.source == "default"


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One selected platform: its class, its decoded section and, when the platform has a
    ``resolve`` hook, its resolved destination."""

    name: str
    plugin_class: type
    config: Any
    destination: Destination | None = None

    def describe(self) -> str:
        if self.destination is not None:
            return f"{self.name} → {self.destination.description}"
        cls = self.plugin_class
        return f"{self.name} → set up by {cls.__module__}.{cls.__qualname__} (no resolve hook)"


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What ``instrument()`` will do, resolved and checked; see :func:`llmops.plan`."""

    config: LoadedConfig
    targets: tuple[Target, ...]
    environment: Mapping[str, str]
    """The variables read, as they were when the plan was made."""

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)

    @property
    def where(self) -> str:
        return self.config.where

    def key(self) -> tuple[Any, ...]:
        """Equal for two plans that set up the same thing (``instrument()`` called again)."""
        return (
            self.platforms,
            self.settings,
            tuple(t.config for t in self.targets),
            tuple(t.destination for t in self.targets),
        )

    def describe(self) -> list[str]:
        """One line per destination: ``arize → Phoenix project 'x', OTLP/gRPC http://…``."""
        return [target.describe() for target in self.targets]

    def secrets(self) -> list[str]:
        """Every secret the plan holds (section fields, header values, userinfo), for
        :func:`llmops._masking.mask`."""
        from ._config import secret_values

        found = secret_values(self.settings)
        for target in self.targets:
            found += secret_values(target.config)
            if target.destination is not None:
                found += [str(v) for v in target.destination.headers.values()]
        for value in self.values(everything=True):
            if value.secret and value.source.startswith("env "):
                found.append(self.environment.get(value.source[4:], ""))
        return [s for s in found if s]

    def values(self, *, everything: bool = False) -> list[Value]:
        """The values the file or the environment set, with their sources; with
        ``everything``, the defaults too. Secrets are masked."""
        rows = _walk(self, "", self.settings, self.config.raw, SETTINGS_ENVIRONMENT)
        for target in self.targets:
            environment = hook(target.plugin_class(), "environment")
            declared = environment(target.config, self.environment) if environment else {}
            raw = self.config.raw.get(target.name)
            prefixed = {f"{target.name}.{k}": tuple(v) for k, v in declared.items()}
            rows += _walk(self, f"{target.name}.", target.config, raw, prefixed)
        return rows if everything else [r for r in rows if not r.is_default]


def env_value(env: Mapping[str, str], names: Sequence[str]) -> tuple[str, str] | None:
    """The first of the variables ``names`` that is set and not blank: ``(name, value)``.

    The value is trimmed of surrounding white space, as phoenix.otel reads its variables and
    OpenTelemetry's parser its header lists: a key from a Kubernetes secret made from a file
    keeps the file's trailing newline, which no header could carry.
    """
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return name, value
    return None


def make_plan(
    platform: str | Sequence[str] | None = None,
    config_path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    registry: PlatformRegistry | None = None,
    require_platform: bool = True,
) -> Plan:
    """Resolve a plan; see :func:`llmops.plan`. Raises what ``instrument()`` raises."""
    env = dict(os.environ if env is None else env)
    registry = registry if registry is not None else _default_registry
    names = _requested(platform)
    config = with_environment(load_config(config_path, env=env), env)
    decoded: dict[str, Any] = {}
    try:
        discover = config.settings.plugins and not plugins_disabled_by_env()
        for section in config.sections:  # every section is checked, used or not
            if not registry.knows(section, discover=discover):
                raise _unknown_section(config, section, registry, discover)
            plugin_class = registry.get(section, discover=discover)
            decoded[section] = config.section(section, plugin_class.config_type)
        if names is None:
            names = config.platform_names()
        if not names and require_platform:
            raise config.error(
                "$.platform",
                "no platform given; call instrument(Platform.ARIZE, ...) or set "
                "'platform: arize' or 'platforms: [arize, mlflow]' (or other registered names) "
                "in the config",
            )
        _check_instrumentation(config)
        _check_batching(config, env)
        targets = tuple(
            _target(config, name, registry.get(name, discover=discover), decoded, env)
            for name in names
        )
    except ConfigurationError as exc:
        secrets = [s for section in decoded.values() for s in _secrets_of(section)]
        raise _masked(exc, secrets) from None
    return Plan(config=config, targets=targets, environment=env)


def _requested(platform: object) -> list[str] | None:
    """The platform names given to ``instrument()`` (each once, in order), or ``None``."""
    if platform is None:
        return None
    if isinstance(platform, str):
        return [str(platform)]  # a Platform member becomes its plain value
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


def _target(
    config: LoadedConfig,
    name: str,
    plugin_class: type,
    decoded: dict[str, Any],
    env: Mapping[str, str],
) -> Target:
    section = decoded.get(name)
    if section is None:
        section = config.section(name, plugin_class.config_type)  # type: ignore[attr-defined]
    plugin = plugin_class()
    destination = None
    if hook(plugin, "resolve") is not None:
        arguments = (section, config.settings, env)
        try:
            destination = call_hook(
                name, plugin_class, "resolve", arguments, Destination, _secrets_of(section)
            )
        except ConfigurationError as exc:
            raise config.locate(exc) from None
    if destination is not None:
        try:
            _check_destination(destination, name, env, hook(plugin, "environment"), section)
        except ConfigurationError as exc:
            raise config.locate(exc) from None
    if hook(plugin, "setup") is None and (destination is None or not destination.otlp):
        raise TypeError(
            f"platform {name!r}: without a setup() method, resolve() must return an OTLP "
            "destination (transport 'grpc' or 'http')"
        )
    return Target(name=name, plugin_class=plugin_class, config=section, destination=destination)


def _check_destination(
    destination: Destination,
    name: str,
    env: Mapping[str, str],
    environment: Any,
    section: Any,
) -> None:
    """What any destination must satisfy, whichever platform resolved it: headers that can
    travel, TLS files that exist."""
    from ._otlp import check_headers

    if destination.otlp:
        declared = environment(section, env) if environment is not None else {}
        for key, value in destination.headers.items():
            try:
                check_headers({key: value}, destination.transport, where=f"$.{name}.headers")
            except ConfigurationError as exc:
                # Name the variable the header came from, if one did (never its value).
                culprits = [
                    n
                    for names in declared.values()
                    for n in names
                    if (text := env.get(n, "")).strip()
                    and (key.lower() in text.lower() or any(ord(c) < 0x20 for c in text.strip()))
                ]
                if not culprits:
                    raise
                variables = ", ".join(f"${n}" for n in dict.fromkeys(culprits))
                raise ConfigurationError(f"{exc} (from {variables})", field=exc.field) from None
    for key in ("certificate_file", "client_certificate_file", "client_key_file"):
        path = getattr(destination, key)
        if path is not None and not os.path.isfile(path):
            raise ConfigurationError(
                f"$.{name}.{key}: the file {path} does not exist or is not a file; fix the "
                "path (or the OTEL_EXPORTER_OTLP_* variable that set it)",
                field=f"$.{name}.{key}",
            )
    if (destination.client_certificate_file is None) != (destination.client_key_file is None):
        raise ConfigurationError(
            f"$.{name}.client_key_file: mutual TLS needs both client_certificate_file and "
            "client_key_file",
            field=f"$.{name}.client_key_file",
        )


def _check_batching(config: LoadedConfig, env: Mapping[str, str]) -> None:
    """A batch larger than the queue cannot be sent; the SDK refuses it too. A batch size
    left at its default is lowered to a small queue instead (``_batching``)."""
    tracing = config.settings.tracing
    if tracing.max_export_batch_size <= tracing.max_queue_size:
        return
    written = config.raw.get("tracing")
    in_file = isinstance(written, dict) and "max_export_batch_size" in written
    variable = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
    if not in_file and not (env.get(variable) or "").strip():
        return
    message = (
        f"the batch size ({tracing.max_export_batch_size}) exceeds the queue size "
        f"({tracing.max_queue_size}, tracing.max_queue_size or OTEL_BSP_MAX_QUEUE_SIZE); make "
        "it at most the queue size"
    )
    if in_file:
        raise config.error("$.tracing.max_export_batch_size", message)
    raise ConfigurationError(f"${variable}: {message}", field=f"${variable}")


def _unknown_section(
    config: LoadedConfig, key: str, registry: PlatformRegistry, discover: bool
) -> ConfigurationError:
    from ._config import COMMON_SECTIONS

    allowed = COMMON_SECTIONS | set(registry.names(discover=discover))
    lead = " Arize Phoenix is the 'arize' platform." if key == "phoenix" else ""
    return config.error(
        f"$.{key}",
        f"unknown section {key!r}{did_you_mean(key, allowed)}{lead} Known sections: "
        f"{', '.join(sorted(allowed))}. A platform's section is known once the platform is "
        "registered (@llmops.register_platform or an installed plugin).",
    )


def _check_instrumentation(config: LoadedConfig) -> None:
    """Every key names a catalogue entry; with ``strict``, every enabled one can run here
    (``instrument()`` would refuse it later otherwise, and ``llmops check`` must too)."""
    from ._instrumentors import AUTO_KEY, CATALOGUE, STRICT_KEY, dependency_problem, selection

    value = config.settings.instrumentation
    if not isinstance(value, dict):
        return
    reserved = [STRICT_KEY, AUTO_KEY]
    for key in value:
        if key not in reserved and key not in CATALOGUE:
            raise config.error(
                f"$.instrumentation.{key}",
                f"unknown instrumentor {key!r}{did_you_mean(key, [*CATALOGUE, *reserved])} "
                f"Known: {', '.join(sorted(CATALOGUE))} (and 'auto', 'strict').",
            )
    chosen = selection(value)
    if not chosen.strict:
        return
    for key, on in chosen.explicit.items():
        if on and (problem := dependency_problem(CATALOGUE[key])):
            raise config.error(
                f"$.instrumentation.{key}", f"instrumentation.{key} is enabled but {problem}"
            )


def _secrets_of(section: Any) -> list[str]:
    from ._config import secret_values

    return secret_values(section)


def _masked(exc: ConfigurationError, secrets: list[str]) -> ConfigurationError:
    text = mask(str(exc), secrets)
    if text == str(exc):
        return exc
    return ConfigurationError(text, path=exc.path, field=exc.field)


def _walk(
    plan: Plan,
    prefix: str,
    struct: Any,
    raw: Any,
    declared: Mapping[str, tuple[str, ...]],
) -> list[Value]:
    """The rows of one section, nested sections first-class (``tracing.sample_ratio``)."""
    raw = raw if isinstance(raw, dict) else {}
    secret_fields: frozenset[str] = getattr(struct, "secret_fields", frozenset())
    rows: list[Value] = []
    for field in msgspec.structs.fields(struct):
        key = f"{prefix}{field.encode_name}"
        value = getattr(struct, field.name)
        if isinstance(value, msgspec.Struct):
            rows += _walk(plan, f"{key}.", value, raw.get(field.encode_name), declared)
            continue
        secret = field.name in secret_fields
        if field.encode_name in raw:
            source = _file_source(plan.config, key, raw[field.encode_name])
            value = shown(struct, field.name)
        elif (found := env_value(plan.environment, declared.get(key, ()))) is not None:
            source = f"env {found[0]}"
            # The common sections hold the converted value (milliseconds to seconds, say);
            # a platform's section leaves the variable's text to its resolve().
            if key in SETTINGS_ENVIRONMENT:
                value = shown(struct, field.name)
            else:
                value = MASK if secret else mask(found[1])
        else:
            source = "default"
            value = shown(struct, field.name)
        rows.append(Value(key=key, value=value, source=source, secret=secret))
    return rows


def _file_source(config: LoadedConfig, key: str, written: Any) -> str:
    import re

    line = config.line_of(f"$.{key}")
    source = config.where + (f":{line}" if line else "")
    if isinstance(written, str) and "${" in written:
        names = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", written)
        if names:
            source += f" (${{{', '.join(names)}}})"
    return source


def plan(
    platform: str | Sequence[str] | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
) -> Plan:
    """What ``instrument(platform, config_path=...)`` would set up, without setting it up.

    >>> import llmops
    >>> llmops.plan("mlflow").describe()  # doctest: +SKIP
    ['mlflow → MLflow local store sqlite:///mlflow.db, experiment id 0']
    >>> llmops.plan("mlflow").platforms
    ('mlflow',)

    It reads the same files and variables and runs every check ``instrument()`` runs, so
    it raises the same :class:`~llmops.ConfigurationError`; it touches no network. ``llmops
    check`` prints it.
    """
    return make_plan(platform, config_path)
