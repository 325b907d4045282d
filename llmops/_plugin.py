"""The contract every platform fulfils, and the records it hands back to the core.

A platform is a class with a ``config_type`` and any of the optional hooks below; it
implements only what it needs, as a pluggy plugin does:

* ``resolve(config, settings, env) -> Destination``: where the spans go, fully resolved and
  checked, without touching the network. ``llmops check``, ``doctor`` and ``run`` read it;
  ``instrument()`` builds from it. A platform without it is checked by its Struct alone.
* ``setup(config_or_destination, settings) -> PlatformSetup``: the exporters and processors
  to add. It receives what ``resolve`` returned when the platform has ``resolve``, else its
  decoded section. A platform whose ``resolve`` returns an OTLP destination may leave it out:
  the core then builds the OTLP exporter itself.
* ``environment(config, env) -> {key: (VAR, ...)}``: which environment variables fill which keys
  of the section when the file leaves them unset, so that ``llmops check`` names the source.
* ``probes(destination) -> [Probe, ...]``: what ``llmops doctor`` checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from ._masking import MASK, mask

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace.export import SpanExporter


__all__ = [
    "OPTIONAL_HOOKS",
    "Destination",
    "PlatformPlugin",
    "PlatformSetup",
    "Probe",
    "Transport",
    "missing_members",
]

Transport = Literal["grpc", "http", "in-process", "custom"]
"""How a destination's spans travel: OTLP/gRPC, OTLP/HTTP protobuf, written in-process (a
local store), or by an exporter the platform makes (``custom``)."""

OPTIONAL_HOOKS = ("resolve", "setup", "environment", "probes")


class Destination(msgspec.Struct, frozen=True, kw_only=True):
    """Where one platform's spans go, resolved from the config and the environment.

    >>> import llmops
    >>> llmops.Destination(
    ...     description="Acme, OTLP/HTTP http://127.0.0.1:4318/v1/traces",
    ...     transport="http",
    ...     endpoint="http://127.0.0.1:4318/v1/traces",
    ...     headers={"authorization": "Bearer s3cret"},
    ... ).headers_shown()
    {'authorization': '***'}

    ``description`` is the one line ``llmops check`` and ``instrument()`` show (no secrets).
    For ``grpc`` and ``http`` the core can build the OTLP exporter from ``endpoint``,
    ``headers``, ``compression``, ``timeout_s`` and the TLS files; ``details`` holds what a
    platform needs beyond that (a msgspec Struct, compared to tell whether a new
    ``instrument()`` call changes anything).
    """

    description: str
    transport: Transport = "custom"
    endpoint: str = ""
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)
    """Sent with every export; the values are secrets, masked wherever llmops prints them."""
    compression: Literal["none", "gzip"] = "none"
    timeout_s: float = 10.0
    """Upper bound on one export call, with its retries."""
    insecure: bool | None = None
    """gRPC without TLS; ``None``: TLS unless the endpoint is ``http://``."""
    certificate_file: str | None = None
    """CA bundle that verifies the server (TLS)."""
    client_certificate_file: str | None = None
    """Client certificate, for mutual TLS."""
    client_key_file: str | None = None
    """Client private key, for mutual TLS."""
    resource_attributes: Mapping[str, str] = msgspec.field(default_factory=dict)
    details: Any = None

    def __repr__(self) -> str:
        fields = {name: getattr(self, name) for name in self.__struct_fields__}
        fields["headers"] = self.headers_shown()
        text = f"Destination({', '.join(f'{k}={v!r}' for k, v in fields.items())})"
        return mask(text, self.headers.values())  # and the userinfo of any URI in `details`

    __str__ = __repr__

    def headers_shown(self) -> dict[str, str]:
        """The header names, each value masked."""
        return dict.fromkeys(self.headers, MASK)

    @property
    def otlp(self) -> bool:
        """Whether the core can build this destination's exporter (OTLP/gRPC or HTTP)."""
        return self.transport in ("grpc", "http")


class Probe(msgspec.Struct, frozen=True, kw_only=True):
    """One check of ``llmops doctor``.

    ``kind="tcp"``: ``url``'s host and port accept a connection. ``kind="http"``: ``GET url``
    answers 200; ``check``, if given, reads the body and returns a problem (a sentence) or
    ``None``. ``kind="local"``: ``check("")`` runs on this machine (a folder, a package).
    ``detail`` is shown when the probe passes.
    """

    name: str
    kind: Literal["tcp", "http", "local"] = "tcp"
    url: str = ""
    check: Callable[[str], str | None] | None = None
    detail: str = ""


class PlatformSetup(msgspec.Struct, frozen=True, kw_only=True):
    """What a platform contributes to the process's one TracerProvider.

    The core owns the provider: it wraps every exporter in a batching processor tuned by
    the ``tracing`` section, adds ``processors`` as they are, merges ``resource_attributes``
    into the provider's resource, and calls ``on_shutdown`` (bounded) when llmops shuts down.
    Fields are keyword-only; ``msgspec.structs.replace(setup, description=...)`` copies one
    with changes.
    """

    exporters: Sequence[SpanExporter] = ()
    processors: Sequence[SpanProcessor] = ()
    resource_attributes: Mapping[str, str] = msgspec.field(default_factory=dict)
    on_shutdown: Callable[[], None] | None = None
    description: str = ""
    """One line for logs, such as ``"OTLP/gRPC to http://127.0.0.1:4317"`` (no secrets)."""
    exports_in_flight: int = 1
    """How many exports of each exporter may run at once, each on a thread of its own. More
    than 1 is for an exporter that is safe to call from several threads and spends part of
    each export outside the interpreter (MLflow's local store: a SQLite commit), so the next
    batch is prepared meanwhile; batches may then finish out of order."""


@runtime_checkable
class PlatformPlugin(Protocol):
    """The contract of a platform: a config section type, and optional hooks.

    >>> import msgspec, llmops
    >>> class AcmeConfig(llmops.Section):
    ...     endpoint: str = "http://127.0.0.1:4318/v1/traces"
    >>> @llmops.register_platform("acme_doc")
    ... class Acme:
    ...     config_type = AcmeConfig
    ...     def resolve(self, config, settings, env):
    ...         return llmops.Destination(
    ...             description=f"Acme, OTLP/HTTP {config.endpoint}",
    ...             transport="http",
    ...             endpoint=config.endpoint,
    ...         )

    ``config_type`` is the msgspec Struct that validates the platform's own config section
    (the top-level key equal to the platform's name); :class:`llmops.Section` is a base that
    masks secrets. The optional hooks (``resolve``, ``setup``, ``environment``, ``probes``)
    are described in this module's docstring and in ``docs/plugins.md``; a platform needs
    ``resolve`` or ``setup``, or both. Either may raise :class:`~llmops.ConfigurationError`
    for a config that cannot work; from ``resolve`` that error reaches ``llmops check`` too.
    """

    config_type: type[Any]


def missing_members(cls: type) -> list[str]:
    """What ``cls`` lacks (or has in the wrong form) to be a platform."""
    missing = []
    config_type = getattr(cls, "config_type", None)
    if config_type is None:
        missing.append("config_type")
    elif not isinstance(config_type, type):
        missing.append("config_type (must be a class, such as a msgspec.Struct)")
    for hook in OPTIONAL_HOOKS:
        if hasattr(cls, hook) and not callable(getattr(cls, hook)):
            missing.append(f"{hook} (must be a method)")
    if not hasattr(cls, "setup") and not hasattr(cls, "resolve"):
        missing.append("setup or resolve (a platform needs at least one)")
    return missing


def call_hook(
    platform: str,
    plugin_class: type,
    name: str,
    arguments: Sequence[Any],
    returns: type,
    secrets: Sequence[str] = (),
) -> Any:
    """Call the hook ``name`` of a platform: a ``ConfigurationError`` passes through; any other
    exception becomes a ``RuntimeError`` naming the platform (its text masked); a result of the
    wrong type is a ``TypeError``."""
    from ._errors import ConfigurationError

    method = getattr(plugin_class(), name)
    try:
        result = method(*arguments)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise RuntimeError(
            f"platform {platform!r} ({plugin_class.__module__}): {name}() failed: "
            f"{type(exc).__name__}: {mask(str(exc), secrets)}"
        ) from exc
    if not isinstance(result, returns):
        raise TypeError(
            f"platform {platform!r}: {name}() must return a llmops.{returns.__name__}, got "
            f"{type(result).__name__}"
        )
    return result


MAX_EXPORTS_IN_FLIGHT = 8


def checked_setup(platform: str, setup: PlatformSetup) -> PlatformSetup:
    """``setup`` once its fields that the core acts on are of use (a Struct's constructor does
    not check them)."""
    in_flight = setup.exports_in_flight
    if type(in_flight) is not int or not 1 <= in_flight <= MAX_EXPORTS_IN_FLIGHT:
        raise TypeError(
            f"platform {platform!r}: setup() returned a PlatformSetup with exports_in_flight="
            f"{in_flight!r}; it must be an int from 1 to {MAX_EXPORTS_IN_FLIGHT}"
        )
    return setup


def hook(plugin: object, name: str) -> Callable[..., Any] | None:
    """The bound optional hook ``name`` of ``plugin``, or ``None`` if it does not have it."""
    found = getattr(plugin, name, None)
    return found if callable(found) else None
