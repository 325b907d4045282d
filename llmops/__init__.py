"""llmops: LLM observability in one call.

>>> import llmops
>>> from llmops import Platform
>>> provider = llmops.instrument(Platform.ARIZE, config_path="llmops.yaml")  # doctest: +SKIP

``instrument()`` builds an OpenTelemetry ``TracerProvider``, points it at the platform
(Arize Phoenix, MLflow, or one you register with :func:`register_platform`), applies the
OpenInference auto-instrumentors named in the config and returns the provider.
``import llmops`` itself imports no OpenTelemetry SDK, gRPC, protobuf, MLflow or google module.
"""

from __future__ import annotations

from ._errors import ConfigurationError, PluginLoadError, UnknownPlatformError
from ._lifecycle import instrument, shutdown
from ._platform import Platform
from ._registry import available_platforms, get_platform, register_platform

TYPE_CHECKING = False  # not from typing: `import llmops` stays clear of it
if TYPE_CHECKING:
    from typing import Any

    from . import arize, mlflow, testing
    from ._config import Section, Settings
    from ._context import enrich
    from ._plan import Plan, plan
    from ._plugin import Destination, PlatformPlugin, PlatformSetup, Probe
    from ._stats import SpanStats, stats

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "Destination",
    "Plan",
    "Platform",
    "PlatformPlugin",
    "PlatformSetup",
    "PluginLoadError",
    "Probe",
    "Section",
    "Settings",
    "SpanStats",
    "UnknownPlatformError",
    "arize",
    "available_platforms",
    "enrich",
    "get_platform",
    "instrument",
    "mlflow",
    "plan",
    "register_platform",
    "shutdown",
    "stats",
    "testing",
]

_LAZY_MODULES = frozenset({"arize", "mlflow", "testing"})
_LAZY_NAMES = {
    "Destination": "_plugin",
    "Plan": "_plan",
    "PlatformPlugin": "_plugin",
    "PlatformSetup": "_plugin",
    "Probe": "_plugin",
    "Section": "_config",
    "Settings": "_config",
    "enrich": "_context",
    "plan": "_plan",
    "SpanStats": "_stats",
    "stats": "_stats",
}


if not TYPE_CHECKING:  # hidden from type checkers, so that `llmops.typo` stays an error

    def __getattr__(name: str) -> Any:
        # PEP 562: the per-platform modules, and msgspec behind Settings, load on first access.
        import importlib

        if name in _LAZY_MODULES:
            value: Any = importlib.import_module(f"{__name__}.{name}")
        elif name in _LAZY_NAMES:
            value = getattr(importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*__all__, "__version__"})
