"""Loading the config: the msgspec Structs of the common sections, file discovery, YAML/TOML
decoding, ``${ENV}`` interpolation and error messages that say what, where and how to fix.

The document is a mapping of sections. The core owns ``platform``, ``service``, ``tracing``
and the other common sections; every other top-level key is a platform's section, kept raw
here and validated by the plan (``_plan``) with that platform's own Struct. This module knows
nothing of the registry. Values that hold secrets are masked in every ``repr``; error
messages never quote values.
"""

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args

import msgspec

from ._errors import ConfigurationError
from ._masking import MASK, mask
from ._suggest import did_you_mean
from ._types import mapping_value_type, struct_type, unwrap

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_FILES",
    "LoadedConfig",
    "Section",
    "ServiceConfig",
    "Settings",
    "TracingConfig",
    "load_config",
]

CONFIG_ENV = "LLMOPS_CONFIG"
DEFAULT_FILES = ("llmops.yaml", "llmops.yml", "llmops.toml")
MAX_CONFIG_BYTES = 1 << 20
"""A config file is small; a bigger one is a mistake (or an attack), refused before parsing."""
MAX_CONFIG_VALUES = 100_000
"""Values in a decoded document, YAML aliases expanded: nested aliases ("billion laughs") make
a small file expand to billions of values, refused instead of walked."""

T = TypeVar("T")


class Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every config section (``llmops.Section``): unknown keys are errors, secrets
    never show in a repr.

    >>> import llmops
    >>> class AcmeConfig(llmops.Section):
    ...     secret_fields = frozenset({"token"})
    ...     endpoint: str = "http://127.0.0.1:4318/v1/traces"
    ...     token: str | None = None
    >>> AcmeConfig(token="s3cret-token")
    AcmeConfig(endpoint='http://127.0.0.1:4318/v1/traces', token='***')

    A subclass lists its secret fields in ``secret_fields``; a field that is a mapping of
    header values is masked value by value.
    """

    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        parts = [f"{name}={shown(self, name)!r}" for name in self.__struct_fields__]
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__


def secret_values(struct: Any) -> list[str]:
    """The secret values a section (any Struct, nested ones included) holds."""
    found: list[str] = []
    secret_fields: frozenset[str] = getattr(struct, "secret_fields", frozenset())
    for name in getattr(struct, "__struct_fields__", ()):
        value = getattr(struct, name)
        if isinstance(value, msgspec.Struct):
            found += secret_values(value)
        elif name in secret_fields and isinstance(value, Mapping):
            found += [str(v) for v in value.values()]
        elif name in secret_fields and value:
            found.append(str(value))
    return found


def shown(section: Any, name: str) -> Any:
    """The value of field ``name`` as llmops may print it: secrets masked."""
    value = getattr(section, name)
    if name in getattr(section, "secret_fields", frozenset()) and value:
        return {k: MASK for k in value} if isinstance(value, Mapping) else MASK
    if isinstance(value, str) and "@" in value:
        return mask(value)
    return value


class ServiceConfig(Section):
    """``service:`` — who emits the spans (OpenTelemetry resource attributes)."""

    name: str | None = None
    """``service.name``; else ``OTEL_SERVICE_NAME``; else OpenTelemetry's ``unknown_service``."""
    version: str | None = None
    """``service.version``."""
    environment: str | None = None
    """``deployment.environment.name`` (and the older ``deployment.environment``)."""
    attributes: dict[str, str] = {}
    """More resource attributes; they win over ``OTEL_RESOURCE_ATTRIBUTES``."""


PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


class TracingConfig(Section):
    """``tracing:`` — how spans are processed and exported."""

    batch: bool = True
    """Batch spans in a background thread (``span.end()`` never waits on the network).
    ``false`` exports each span synchronously: for debugging only."""
    sampler: (
        Literal[
            "always_on",
            "always_off",
            "traceidratio",
            "parentbased_always_on",
            "parentbased_always_off",
            "parentbased_traceidratio",
        ]
        | None
    ) = None
    """OpenTelemetry's sampler names; else ``OTEL_TRACES_SAMPLER``; else
    ``parentbased_traceidratio`` with ``sample_ratio``."""
    sample_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    """Fraction of traces kept by the ratio samplers (parent-based by default); else
    ``OTEL_TRACES_SAMPLER_ARG``."""
    shutdown_timeout_s: PositiveSeconds = 3.0
    """Upper bound on ``llmops.shutdown()`` and on exit, even with the collector unreachable."""
    export_timeout_s: PositiveSeconds = 10.0
    """Upper bound on one export call (with its retries); else ``OTEL_BSP_EXPORT_TIMEOUT``, then
    ``OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`` (milliseconds)."""
    schedule_delay_ms: Annotated[int, msgspec.Meta(ge=1, le=3_600_000)] = 1000
    """Longest wait before a partial batch is exported; else ``OTEL_BSP_SCHEDULE_DELAY``."""
    max_queue_size: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 2048
    """Spans buffered while the collector is slow or down; past it spans are dropped, counted;
    else ``OTEL_BSP_MAX_QUEUE_SIZE``."""
    max_export_batch_size: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 512
    """Spans sent in one export request; else ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE``."""
    max_queue_bytes: Annotated[int, msgspec.Meta(ge=65_536, le=2**40)] = 64 * 1024 * 1024
    """Bytes of spans buffered per platform (their names, attributes and events, as sent);
    past it spans are dropped, counted. Bounds memory when spans are large."""
    max_export_bytes: Annotated[int, msgspec.Meta(ge=65_536, le=2**31)] | None = None
    """Bytes in one export request; a span larger than it alone is dropped, counted. Else
    4,000,000 for OTLP/gRPC (gRPC's usual 4 MiB message limit) and 16,000,000 otherwise."""
    compression: Literal["none", "gzip"] = "none"
    """OTLP payload compression; else ``OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION``."""
    set_global: bool = True
    """Make the provider the global OpenTelemetry TracerProvider when none is set yet."""
    announce: bool = True
    """One line on stderr at set-up: where traces go and what is instrumented; else
    ``LLMOPS_ANNOUNCE`` (``false`` or ``0`` silences it)."""

    # OpenInference privacy controls, passed to every OpenInference instrumentor as its
    # ``TraceConfig``. ``None`` leaves OpenInference's default (and its OPENINFERENCE_* variable).
    hide_inputs: bool | None = None
    """Record no inputs (``input.value``, input messages): ``OPENINFERENCE_HIDE_INPUTS``."""
    hide_outputs: bool | None = None
    """Record no outputs (``output.value``, output messages)."""
    hide_input_messages: bool | None = None
    """Record no ``llm.input_messages``."""
    hide_output_messages: bool | None = None
    """Record no ``llm.output_messages``."""
    hide_input_images: bool | None = None
    """Record no images in input messages."""
    hide_input_text: bool | None = None
    """Record no text in input messages."""
    hide_output_text: bool | None = None
    """Record no text in output messages."""
    hide_embedding_vectors: bool | None = None
    """Record no embedding vectors."""
    hide_llm_invocation_parameters: bool | None = None
    """Record no ``llm.invocation_parameters``."""
    base64_image_max_length: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] | None = None
    """Longest base64-encoded image kept in a span (longer ones are redacted)."""

    def trace_config(self) -> dict[str, bool | int]:
        """The privacy fields that are set, by their OpenInference ``TraceConfig`` names."""
        return {
            name: value for name in PRIVACY_FIELDS if (value := getattr(self, name)) is not None
        }


PRIVACY_FIELDS = (
    "hide_inputs",
    "hide_outputs",
    "hide_input_messages",
    "hide_output_messages",
    "hide_input_images",
    "hide_input_text",
    "hide_output_text",
    "hide_embedding_vectors",
    "hide_llm_invocation_parameters",
    "base64_image_max_length",
)


class EnrichmentConfig(Section):
    """``enrichment:`` — defaults for the span attributes ``llmops.enrich`` sets."""

    metadata: dict[str, str | int | float | bool] = {}
    """Metadata on every span (``metadata``, a JSON object); ``llmops.enrich`` keys win."""
    tags: list[Annotated[str, msgspec.Meta(min_length=1)]] = []
    """Tags on every span (``tag.tags``); ``llmops.enrich`` tags are added to them."""


class Settings(Section):
    """The common sections of a config document (platform sections are decoded separately)."""

    platform: str | None = None
    """The platform ``instrument()`` uses when called without one."""
    platforms: list[str] | None = None
    """Several platforms for ``instrument()`` called without one: every span goes to each."""
    service: ServiceConfig = msgspec.field(default_factory=ServiceConfig)
    tracing: TracingConfig = msgspec.field(default_factory=TracingConfig)
    instrumentation: dict[str, bool] | bool | Literal["auto", "none"] = "auto"
    """``auto`` (the default): every catalogue entry whose instrumentor is installed, applied
    when the application imports its library. ``false`` or ``none``: none. A mapping sets
    entries (``openai: false`` keeps one off; ``auto: false`` applies only the entries set to
    ``true``); its key ``strict`` makes an enabled entry that cannot run an error."""
    enrichment: EnrichmentConfig = msgspec.field(default_factory=EnrichmentConfig)
    plugins: bool = True
    """Discover platform plugins from the ``llmops.platforms`` entry points; ``false`` (or
    ``LLMOPS_DISABLE_PLUGINS=1``) imports no third-party platform code implicitly."""


COMMON_SECTIONS = frozenset(f.encode_name for f in msgspec.structs.fields(Settings))
"""The core's top-level keys; a platform cannot be named after one of them."""

SETTINGS_ENVIRONMENT: Mapping[str, tuple[str, ...]] = {
    "service.name": ("OTEL_SERVICE_NAME",),
    "tracing.sampler": ("OTEL_TRACES_SAMPLER",),
    "tracing.sample_ratio": ("OTEL_TRACES_SAMPLER_ARG",),
    "tracing.schedule_delay_ms": ("OTEL_BSP_SCHEDULE_DELAY",),
    # One key bounds both the batch processor's export and the exporter's request.
    "tracing.export_timeout_s": (
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ),
    "tracing.compression": (
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
    ),
    "tracing.max_queue_size": ("OTEL_BSP_MAX_QUEUE_SIZE",),
    "tracing.max_export_batch_size": ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",),
    "tracing.announce": ("LLMOPS_ANNOUNCE",),
}
"""Common keys that an OpenTelemetry variable fills when the file leaves them unset."""
ENVIRONMENT_SCALE: Mapping[str, float] = {"tracing.export_timeout_s": 0.001}
"""Keys whose variable is in another unit: OpenTelemetry writes milliseconds."""


class LoadedConfig(msgspec.Struct, frozen=True):
    """A decoded config document: the common ``settings`` and the raw platform sections.

    ``raw`` is the document as written, before ``${VAR}`` interpolation: it tells a value
    the file set from one it read from the environment.
    """

    settings: Settings
    sections: Mapping[str, Any] = msgspec.field(default_factory=dict)
    path: Path | None = None
    text: str | None = None
    raw: Mapping[str, Any] = msgspec.field(default_factory=dict)

    def __repr__(self) -> str:
        # The raw platform sections hold secrets (api_key, header values): only their names.
        return (
            f"LoadedConfig(settings={self.settings!r}, sections={sorted(self.sections)!r}, "
            f"path={self.path!r})"
        )

    __str__ = __repr__

    def platform_names(self) -> list[str]:
        """The platforms the config names: ``platforms:`` (each once, in order), else
        ``platform:``; ``[]`` if neither is set."""
        settings = self.settings
        if settings.platforms is None:
            return [settings.platform] if settings.platform is not None else []
        if settings.platform is not None:
            raise partial_error(
                self,
                "$.platforms",
                "set 'platform' (one name) or 'platforms' (a list), not both",
            )
        if not settings.platforms:
            raise partial_error(
                self, "$.platforms", "list at least one platform, such as [arize, mlflow]"
            )
        return list(dict.fromkeys(settings.platforms))

    @property
    def where(self) -> str:
        """The file's name for messages, or ``<defaults>``."""
        return str(self.path) if self.path else "<defaults>"

    def section(self, name: str, config_type: type[T]) -> T:
        """Decode and validate the platform section ``name`` with its Struct ``config_type``."""
        raw = self.sections.get(name)
        if raw is None:
            raw = {}
        return convert(raw, config_type, prefix=f"$.{name}", config=self)

    def error(self, where: str, message: str) -> ConfigurationError:
        """A ConfigurationError at ``where`` (``$.a.b``), with the file and line."""
        return partial_error(self, where, message)

    def locate(self, exc: ConfigurationError) -> ConfigurationError:
        """``exc`` (raised by a platform, which knows the field but not the file) with the
        file and line in front; unchanged if it already names a file."""
        if exc.path is not None or self.path is None:
            return exc
        if exc.field and exc.field[1:2].isupper():  # `$VARIABLE`: not in the file
            return exc
        line = _line_of(self, exc.field) if exc.field and exc.field.startswith("$") else None
        location = self.where + (f":{line}" if line else "")
        return ConfigurationError(f"{location}: {exc}", path=str(self.path), field=exc.field)

    def line_of(self, where: str) -> int | None:
        """The 1-based line of ``where`` (``$.arize.endpoint``) in the file, if found."""
        return _line_of(self, where)


# -- loading ----------------------------------------------------------------------------------


def load_config(
    config_path: str | os.PathLike[str] | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Find, read, interpolate and validate the common sections; see :func:`llmops.instrument`.

    The other top-level keys are kept raw in ``sections``: the plan decides which platform
    each names and validates it with that platform's Struct.
    """
    env = os.environ if env is None else env
    path = discover(config_path, cwd=cwd, env=env)
    if path is None:
        return LoadedConfig(Settings())
    text = _read_text(path)
    raw = _parse(path, text)
    partial = LoadedConfig(Settings(), path=path, text=text, raw=raw)
    data = _interpolate(raw, "$", partial, env)
    common = {k: v for k, v in data.items() if k in COMMON_SECTIONS}
    settings = convert(common, Settings, prefix="$", config=partial)
    sections = {k: v for k, v in data.items() if k not in COMMON_SECTIONS}
    return LoadedConfig(settings, sections, path=path, text=text, raw=raw)


def discover(
    config_path: str | os.PathLike[str] | None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    """The config file to read: the argument, ``$LLMOPS_CONFIG``, then the default names."""
    if config_path is not None:
        if not isinstance(config_path, str | os.PathLike):
            raise ConfigurationError(
                f"config_path must be a str or a path, got {type(config_path).__name__}"
            )
        return _existing(Path(config_path), "the config_path argument")
    if from_env := (os.environ if env is None else env).get(CONFIG_ENV):
        return _existing(Path(from_env), f"${CONFIG_ENV}")
    base = cwd or Path.cwd()
    for name in DEFAULT_FILES:
        if (base / name).is_file():
            return base / name
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        try:
            table = _llmops_table(_toml_loads(_read_text(pyproject), pyproject))
        except ConfigurationError:
            return None  # a broken pyproject.toml that is not ours to judge
        if table is not None:
            return pyproject
    return None


def _llmops_table(document: dict[str, Any]) -> Any:
    """The ``[tool.llmops]`` value of a pyproject document, or ``None`` when it has none
    (``tool`` may be anything in a file that is not ours)."""
    tool = document.get("tool")
    return tool.get("llmops") if isinstance(tool, dict) else None


def _existing(path: Path, origin: str) -> Path:
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        pass  # not found: said below
    except OSError as exc:  # a name too long, a loop of links, a folder not searchable
        raise ConfigurationError(
            f"{path}: cannot use this config path ({exc.strerror or type(exc).__name__}; from "
            f"{origin}); pass the path of a .yaml, .yml or .toml file",
            path=str(path),
        ) from None
    if not path.exists():
        raise ConfigurationError(
            f"{path}: config file not found (from {origin}); check the path, or omit it to use "
            f"{', '.join(DEFAULT_FILES)} in the working directory or the defaults",
            path=str(path),
        )
    if path.is_dir():
        raise ConfigurationError(
            f"{path}: is a directory, not a config file (from {origin}); pass the path of a "
            ".yaml, .yml or .toml file",
            path=str(path),
        )
    if not path.is_file():
        # A FIFO would block the read forever; a device or socket is not a config either.
        raise ConfigurationError(
            f"{path}: is not a regular file (a pipe, socket or device; from {origin}); pass "
            "the path of a .yaml, .yml or .toml file",
            path=str(path),
        )
    return path


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"{path}: cannot read the config file ({exc.strerror or type(exc).__name__}); "
            "check that it exists and is readable by this process",
            path=str(path),
        ) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigurationError(
            f"{path}: the config file is larger than {MAX_CONFIG_BYTES // 1024} KiB; "
            "is this the right file?",
            path=str(path),
        )
    try:
        # Not the utf-8-sig codec: same result, without importing it.
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path}: the config file is not valid UTF-8 (byte {exc.start}); save it as UTF-8",
            path=str(path),
        ) from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        data = _yaml_loads(text, path)
    elif suffix == ".toml":
        data = _toml_loads(text, path)
        if path.name == "pyproject.toml":
            data = _llmops_table(data)
            if data is None:
                raise ConfigurationError(
                    f"{path}: has no [tool.llmops] table; add one, or point config_path at an "
                    "llmops.yaml or llmops.toml",
                    path=str(path),
                )
    else:
        raise ConfigurationError(
            f"{path}: unsupported config file type {suffix or '(no suffix)'!r}; use .yaml, .yml "
            "or .toml (the suffix chooses the parser)",
            path=str(path),
        )
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: the document must be a mapping of sections (such as 'service:' and "
            f"'tracing:'), got {_type_name(data)}",
            path=str(path),
            field="$",
        )
    return data


def _yaml_loads(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_strict_yaml_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit
            problem = "nested too deeply; a config is a few levels deep"
        raise ConfigurationError(
            f"{path}{line}: invalid YAML: {problem}; fix the syntax at that line",
            path=str(path),
        ) from None
    except RecursionError:
        raise ConfigurationError(
            f"{path}: invalid YAML: nested too deeply; a config is a few levels deep",
            path=str(path),
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
        # TypeError / AttributeError: PyYAML's constructors on malformed tagged nodes.
        raise ConfigurationError(
            f"{path}: invalid YAML ({type(exc).__name__}); fix the syntax", path=str(path)
        ) from None


_LOADER: type | None = None


def _strict_yaml_loader() -> type:
    """PyYAML's safe loader (no Python objects; libyaml's C parser where PyYAML has it) that
    also refuses duplicate keys."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
            def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
                if not isinstance(node, yaml.MappingNode):  # `!!set [a]`, `!!omap x`, ...
                    raise yaml.constructor.ConstructorError(
                        None, None, f"expected a mapping, found {node.id}", node.start_mark
                    )
                seen: dict[Any, Any] = {}
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=deep)
                    try:
                        duplicate = key in seen
                    except TypeError:
                        duplicate = False  # unhashable keys are rejected by validation later
                    if duplicate:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key!r}", key_node.start_mark
                        )
                    with contextlib.suppress(TypeError):
                        seen[key] = True
                mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
                return mapping

        _LOADER = StrictLoader
    return _LOADER


def _toml_loads(text: str, path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"{path}: invalid TOML: {exc}; fix the syntax at that line", path=str(path)
        ) from None
    except RecursionError:
        raise ConfigurationError(
            f"{path}: invalid TOML: nested too deeply", path=str(path)
        ) from None


# -- interpolation ----------------------------------------------------------------------------

_VAR = r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\})"


def _interpolate(
    value: Any,
    where: str,
    config: LoadedConfig,
    env: Mapping[str, str],
    depth: int = 0,
    budget: list[int] | None = None,
) -> Any:
    """Replace ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``$$`` in strings."""
    if depth > 64:
        raise partial_error(config, where, "the document is nested too deeply (more than 64)")
    if budget is None:
        budget = [MAX_CONFIG_VALUES]
    budget[0] -= 1
    if budget[0] < 0:
        raise partial_error(
            config,
            where,
            f"the document holds more than {MAX_CONFIG_VALUES} values once YAML aliases are "
            "expanded; a config file is small, remove the repeated aliases",
        )
    if isinstance(value, str):
        return _substitute(value, where, config, env) if "$" in value else value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise partial_error(
                    config, where, f"keys must be strings, got {_type_name(k)} {k!r}"
                )
            out[k] = _interpolate(v, f"{where}.{k}", config, env, depth + 1, budget)
        return out
    if isinstance(value, list):
        return [
            _interpolate(v, f"{where}[{i}]", config, env, depth + 1, budget)
            for i, v in enumerate(value)
        ]
    return value


def _substitute(text: str, where: str, config: LoadedConfig, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, op, default = match.groups()
        if name is None:
            return "$"
        value = env.get(name)
        if value is None or (op == ":-" and value == ""):
            if op is not None:
                return default
            raise partial_error(
                config,
                where,
                f"environment variable {name} is not set; set it, or give a default with "
                f"${{{name}:-default}}",
            )
        return value

    return re.sub(_VAR, replace, text)


# -- validation -------------------------------------------------------------------------------

_AT = r"(?s)^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$"


def convert(raw: Any, config_type: type[T], *, prefix: str, config: LoadedConfig) -> T:
    """``msgspec.convert`` with unknown-key suggestions and errors in llmops' format."""
    check_unknown_keys(raw, config_type, prefix, config)
    try:
        # strict=False lets "${PORT}"-style strings become numbers and booleans.
        return msgspec.convert(raw, config_type, strict=False)
    except msgspec.ValidationError as exc:
        match = re.match(_AT, str(exc))
        assert match is not None
        sub = _name_dict_keys(raw, config_type, match["path"] or "$")
        where = prefix + sub[1:]
        message = _without_values(match["msg"], config_type, sub)
        raise partial_error(config, where, f"{message}; fix the value at this key") from None


def _without_values(message: str, config_type: Any, sub: str) -> str:
    """msgspec's message, lower-cased, without the value it quotes (it may be a secret
    pasted into the wrong key); an enum names its choices instead."""
    message = message[:1].lower() + message[1:]
    if not message.startswith("invalid enum value"):
        return message
    choices = _choices_at(config_type, sub)
    listed = f"; use one of {', '.join(map(repr, choices))}" if choices else ""
    return f"invalid enum value{listed}"


def _choices_at(typ: Any, sub: str) -> tuple[Any, ...]:
    """The ``Literal`` choices of the field at ``sub`` (``$.a.b``), or ``()``."""
    for name in sub.split(".")[1:]:
        struct = struct_type(typ)
        fields = {f.encode_name: f.type for f in msgspec.structs.fields(struct)} if struct else {}
        if name not in fields:
            return ()
        typ = fields[name]
    base, _ = unwrap(typ)
    for member in (base, *get_args(base)):
        if getattr(member, "__origin__", None) is Literal:
            return get_args(member)
    return ()


_STEP = r"\.([^.\[]+)|\[(\d+|\.\.\.)\]"


def _name_dict_keys(raw: Any, typ: Any, sub: str) -> str:
    """msgspec writes ``[...]`` for "some value of this mapping"; name the key instead (the
    first whose value does not convert, as msgspec checks them in order)."""
    if "[...]" not in sub:
        return sub
    out = "$"
    for step in re.compile(_STEP).finditer(sub, 1):
        name, index = step.groups()
        if name is not None:
            struct = struct_type(typ)
            if struct is None or not isinstance(raw, dict):
                return sub
            fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
            if name not in fields:
                return sub
            raw, typ, out = raw.get(name), fields[name].type, f"{out}.{name}"
        elif index == "...":
            value_type = mapping_value_type(typ)
            if value_type is None or not isinstance(raw, dict):
                return sub
            for key, value in raw.items():
                try:
                    msgspec.convert(value, value_type, strict=False)
                except msgspec.ValidationError:
                    raw, typ, out = value, value_type, f"{out}.{key}"
                    break
            else:
                return sub
        else:
            args = get_args(typ)
            if not isinstance(raw, list) or not args or int(index) >= len(raw):
                return sub
            raw, typ, out = raw[int(index)], args[0], f"{out}[{index}]"
    return out


def check_unknown_keys(raw: Any, typ: Any, where: str, config: LoadedConfig) -> None:
    """Raise for a key that ``typ`` (a Struct, maybe nested) does not have, suggesting one."""
    struct = struct_type(typ)
    if struct is None or not isinstance(raw, dict):
        return
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise partial_error(config, where, f"keys must be strings, got {_type_name(key)}")
        if key not in fields:
            raise partial_error(
                config,
                f"{where}.{key}",
                f"unknown key {key!r}{did_you_mean(key, fields)} Valid keys here: "
                f"{', '.join(sorted(fields))}.",
            )
        check_unknown_keys(value, fields[key].type, f"{where}.{key}", config)


def partial_error(config: LoadedConfig, where: str, message: str) -> ConfigurationError:
    """A ConfigurationError located at ``where`` (``$.a.b``) in ``config``'s file."""
    line = _line_of(config, where)
    location = config.where + (f":{line}" if line else "")
    return ConfigurationError(
        f"{location}: {where}: {message}",
        path=str(config.path) if config.path else None,
        field=where,
    )


def _type_name(value: object) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)


# -- line numbers for messages ----------------------------------------------------------------

_PART = r"\.([^.\[]+)|\[(\d+)\]"


def _line_of(config: LoadedConfig, where: str) -> int | None:
    """The 1-based line of ``where`` in a YAML or TOML file, when it can be found."""
    if config.path is None or config.text is None:
        return None
    parts: list[str | int] = [
        m[1] if m[1] is not None else int(m[2]) for m in re.finditer(_PART, where)
    ]
    try:
        if config.path.suffix.lower() in {".yaml", ".yml"}:
            return _yaml_line(config.text, parts)
        return _toml_line(config.text, parts)
    except Exception:  # a location is a nicety; never let it hide the real error
        return None


def _yaml_line(text: str, parts: list[str | int]) -> int | None:
    import yaml

    node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _toml_line(text: str, parts: list[str | int]) -> int | None:
    keys = [p for p in parts if isinstance(p, str)]
    if not keys:
        return None
    lines = text.splitlines()
    # The last key as `key =` or as a `[table]` header mentioning it.
    last = re.escape(keys[-1])
    patterns = [re.compile(rf"^\s*\[+[^\]]*\b{last}\]+\s*$"), re.compile(rf"^\s*\"?{last}\"?\s*=")]
    for pattern in patterns:
        for number, line in enumerate(lines, 1):
            if pattern.search(line):
                return number
    return None


# -- the OpenTelemetry variables of the common sections -----------------------------------


def with_environment(config: LoadedConfig, env: Mapping[str, str]) -> LoadedConfig:
    """``config`` with the common keys the file leaves unset filled from the OpenTelemetry
    variables (:data:`SETTINGS_ENVIRONMENT`); a bad value is an error naming the variable."""
    settings = config.settings
    for key, names in SETTINGS_ENVIRONMENT.items():
        section, _, field = key.partition(".")
        written = config.raw.get(section)
        if isinstance(written, dict) and field in written:
            continue
        name = next((n for n in names if (env.get(n) or "").strip()), None)
        if name is None:
            continue
        text = env[name].strip()
        value: Any = text.lower() if field in ("sampler", "compression") else text
        if key in ENVIRONMENT_SCALE:
            try:
                value = float(text) * ENVIRONMENT_SCALE[key]
            except ValueError:
                raise ConfigurationError(
                    f"${name}: expected a duration in milliseconds (the OpenTelemetry unit), "
                    f"such as 10000; fix the variable, or set {key} in the config",
                    field=f"${name}",
                ) from None
        part = getattr(settings, section)
        try:
            updated = msgspec.convert(
                {**msgspec.structs.asdict(part), field: value}, type(part), strict=False
            )
        except msgspec.ValidationError as exc:
            message = _without_values(str(exc).partition(" - at ")[0], type(part), f"$.{field}")
            if key in ENVIRONMENT_SCALE:
                message += " (the variable is in milliseconds)"
            raise ConfigurationError(
                f"${name}: {message}; fix the variable, or set {key} in the config",
                field=f"${name}",
            ) from None
        settings = msgspec.structs.replace(settings, **{section: updated})
    if settings is config.settings:
        return config
    return msgspec.structs.replace(config, settings=settings)
