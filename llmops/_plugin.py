"""The contract every platform fulfils, and what a platform hands back to the core."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace.export import SpanExporter

    from ._config import Settings

__all__ = ["PlatformPlugin", "PlatformSetup"]


class PlatformSetup(msgspec.Struct, frozen=True, kw_only=True):
    """What a platform contributes to the process's one TracerProvider.

    The core owns the provider: it wraps every exporter in a batching processor tuned by
    the ``tracing`` section, adds ``processors`` as they are, merges ``resource_attributes``
    into the provider's resource, and calls ``on_shutdown`` (bounded) when llmops shuts down.
    Fields are keyword-only; ``msgspec.structs.replace(setup, description=...)`` copies one
    with changes. (A msgspec Struct, not a dataclass: defining a dataclass costs about 0.3 ms
    of every set-up.)
    """

    exporters: Sequence[SpanExporter] = ()
    processors: Sequence[SpanProcessor] = ()
    resource_attributes: Mapping[str, str] = msgspec.field(default_factory=dict)
    on_shutdown: Callable[[], None] | None = None
    description: str = ""
    """One line for logs, such as ``"OTLP/gRPC to http://127.0.0.1:4317"`` (no secrets)."""


@runtime_checkable
class PlatformPlugin(Protocol):
    """The contract of a platform: a config section type and a ``setup`` method.

    >>> import msgspec, llmops
    >>> class AcmeConfig(msgspec.Struct, forbid_unknown_fields=True):
    ...     endpoint: str = "http://127.0.0.1:4318/v1/traces"
    >>> @llmops.register_platform("acme_doc")
    ... class Acme:
    ...     config_type = AcmeConfig
    ...     def setup(self, config: AcmeConfig, settings: object) -> llmops.PlatformSetup:
    ...         return llmops.PlatformSetup()

    ``config_type`` is the msgspec Struct that validates the platform's own config section
    (the top-level key equal to the platform's name). ``setup`` receives that section, decoded
    and validated, and the common settings; it returns a :class:`PlatformSetup`. It may raise
    :class:`~llmops.ConfigurationError` for a config that cannot work.
    """

    config_type: type[Any]

    def setup(self, config: Any, settings: Settings) -> PlatformSetup: ...
