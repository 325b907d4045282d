"""What every command does before its own work: import the ``--import`` modules, and make the
plan ``instrument()`` would execute (:func:`llmops._plan.make_plan`), so that what
``instrument()`` refuses, the commands refuse, with the same message.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._errors import ConfigurationError

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from .._plan import Plan

__all__ = ["REFUSED", "config_arg", "import_modules", "make", "no_platform_hint"]

REFUSED: tuple[type[Exception], ...] = (
    ConfigurationError,  # the file, a section, an endpoint, ...
    LookupError,  # UnknownPlatformError
    ImportError,  # PluginLoadError: a platform's module or its dependencies
    TypeError,  # a platform class that breaks the contract
    RuntimeError,  # a platform's resolve() that crashed
)
"""What :func:`make` raises for a plan that cannot be made: what ``instrument()`` raises."""


def import_modules(modules: Sequence[str]) -> None:
    """``--import MODULE``: modules whose ``@register_platform`` decorators must run."""
    import importlib

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: local modules are importable
    for module in modules:
        importlib.import_module(module)


def config_arg(args: argparse.Namespace) -> str | None:
    """The config path given as ``CONFIG`` or ``--config``, if any."""
    value: str | None = getattr(args, "config_pos", None) or getattr(args, "config", None)
    return value


def make(
    platforms: Sequence[str] | None, config_path: str | None, *, require_platform: bool = True
) -> Plan:
    """The plan of ``--platform`` (else the config's) and the config; raises one of
    :data:`REFUSED`."""
    from .._plan import make_plan

    selected = list(platforms) if platforms else None
    return make_plan(selected, config_path, require_platform=require_platform)


def no_platform_hint(platforms: Sequence[str] | None, exc: BaseException) -> str:
    """How to select a platform, when ``exc`` says none is selected; else ``""``."""
    if platforms or not isinstance(exc, ConfigurationError) or exc.field != "$.platform":
        return ""
    return "pass --platform NAME (repeatable), or set 'platform: NAME' in the config"
