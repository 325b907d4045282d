"""The platform registry: one dict of names to classes, plus lazy built-ins and entry points.

It knows nothing of OpenTelemetry. Built-in platforms are import paths until first looked up
(so ``import llmops`` imports none of them); third-party platforms come from the entry-point
group ``llmops.platforms``, whose metadata is read once, lazily, and whose plugins are loaded
one by one when their name is asked for.
"""

from __future__ import annotations

import keyword
import os
import threading

from ._errors import PluginLoadError, UnknownPlatformError

TYPE_CHECKING = False  # not from typing: `import llmops` stays clear of it
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from importlib.metadata import EntryPoint
    from typing import TypeVar

    from ._plugin import PlatformPlugin

    P = TypeVar("P", bound=type)

__all__ = [
    "BUILTIN_PLATFORMS",
    "ENTRY_POINT_GROUP",
    "PlatformRegistry",
    "PluginLoadError",
    "available_platforms",
    "get_platform",
    "register_platform",
]

ENTRY_POINT_GROUP = "llmops.platforms"
DISABLE_PLUGINS_ENV = "LLMOPS_DISABLE_PLUGINS"
"""Set to 1/true/yes/on, it turns entry-point discovery off (as ``plugins: false``)."""

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")

BUILTIN_PLATFORMS: Mapping[str, Mapping[str, str]] = {
    "arize": {
        "class": "llmops._platforms.arize:ArizePlatform",
        "err": "install its dependencies with: pip install 'llmops[arize]'",
        "extra": "arize",
    },
    "mlflow": {
        "class": "llmops._platforms.mlflow:MlflowPlatform",
        "err": "install its dependencies with: pip install 'llmops[mlflow]'",
        "extra": "mlflow",
    },
    "otlp": {
        "class": "llmops._platforms.otlp:OtlpPlatform",
        "err": "install its dependencies with: pip install 'llmops[otlp]'",
        "extra": "otlp",
    },
}
"""The platforms shipped with llmops, as fsspec lists its built-in filesystems: an import
path, imported on first lookup, and the error text for a missing dependency."""


def validate_name(name: object) -> str:
    """Return ``name`` if it is a valid platform name, else raise ``ValueError`` saying why."""
    if not isinstance(name, str):
        raise ValueError(f"a platform name must be a str, got {type(name).__name__}")
    valid = (
        0 < len(name) <= 64
        and "a" <= name[0] <= "z"
        and _NAME_CHARS.issuperset(name)
        and not keyword.iskeyword(name)
    )
    if not valid:
        raise ValueError(
            f"invalid platform name {name!r}: use a lower-case identifier of at most 64 "
            "characters (letters a-z, digits and '_', starting with a letter), such as 'acme'"
        )
    from ._config import COMMON_SECTIONS  # the core's own sections: the one list of them

    if name in COMMON_SECTIONS:
        raise ValueError(
            f"invalid platform name {name!r}: it is a reserved config section "
            f"({', '.join(sorted(COMMON_SECTIONS))}); choose another name"
        )
    return name


class PlatformRegistry:
    """Names to platform classes. Thread-safe; the module-level functions use one instance.

    ``builtins`` maps names to ``{"class": "module:Class", "err": ...}`` entries imported on
    first lookup; ``entry_point_group`` (``None`` to disable) names where installed
    distributions advertise more platforms.
    """

    def __init__(
        self,
        builtins: Mapping[str, Mapping[str, str]] | None = None,
        entry_point_group: str | None = ENTRY_POINT_GROUP,
    ) -> None:
        self._classes: dict[str, type[PlatformPlugin]] = {}
        self._origins: dict[str, str] = {}
        self._builtins = dict(builtins or {})
        self._group = entry_point_group
        self._entry_points: dict[str, EntryPoint] | None = None
        self._lock = threading.RLock()

    # -- registration ---------------------------------------------------------------------

    def register(self, name: str, cls: type, *, replace: bool = False, origin: str = "") -> None:
        """Register ``cls`` under ``name``; see :func:`register_platform`."""
        from ._plugin import missing_members

        validate_name(name)
        if not isinstance(cls, type):
            raise TypeError(f"platform {name!r}: expected a class, got {type(cls).__name__}")
        if missing := missing_members(cls):
            raise TypeError(
                f"platform {name!r}: {cls.__module__}.{cls.__qualname__} does not satisfy the "
                f"llmops.PlatformPlugin protocol; missing: {', '.join(missing)}"
            )
        with self._lock:
            taken = name in self._classes or name in self._builtins
            if taken and not replace:
                current = self._origins.get(name) or f"built-in ({self._builtins[name]['class']})"
                raise ValueError(
                    f"platform {name!r} is already registered ({current}); pass replace=True "
                    "to replace it"
                )
            self._classes[name] = cls
            self._origins[name] = origin or f"registered by {cls.__module__}"

    def unregister(self, name: str) -> None:
        """Forget ``name`` (a built-in becomes lazily importable again). Mostly for tests."""
        with self._lock:
            self._classes.pop(name, None)
            self._origins.pop(name, None)

    # -- lookup ---------------------------------------------------------------------------

    def get(self, name: str, *, discover: bool = True) -> type[PlatformPlugin]:
        """The class registered under ``name``, importing a built-in or plugin on first use;
        with ``discover=False`` no entry point is read or loaded."""
        if not isinstance(name, str):
            raise TypeError(f"a platform name must be a str, got {type(name).__name__}")
        key = str(name)  # a Platform member becomes its plain value
        with self._lock:
            if (cls := self._classes.get(key)) is not None:
                return cls
            if key in self._builtins:
                self._import_builtin(key)
            elif discover and key in self._discovered():
                self._load_entry_point(key)
            if (cls := self._classes.get(key)) is not None:
                return cls
        raise self._unknown(key, discover=discover)

    def names(self, *, discover: bool = True) -> list[str]:
        """Every known name, sorted: built-in, registered and (unless ``discover=False``)
        advertised by entry points."""
        with self._lock:
            found = self._discovered() if discover else {}
            return sorted({*self._builtins, *self._classes, *found})

    def knows(self, name: str, *, discover: bool = True) -> bool:
        """Whether ``name`` is a platform; entry points are read only if no built-in or
        registered platform has that name."""
        with self._lock:
            if name in self._builtins or name in self._classes:
                return True
            return discover and name in self._discovered()

    def origin(self, name: str) -> str:
        """Where ``name`` comes from: built-in, registered by a module, or an entry point."""
        with self._lock:
            if name in self._origins:
                return self._origins[name]
            if name in self._builtins:
                return "built-in"
            if (ep := self._discovered().get(name)) is not None:
                return _describe(ep)
        raise self._unknown(name)

    # -- internals ------------------------------------------------------------------------

    def _unknown(self, name: str, *, discover: bool = True) -> UnknownPlatformError:
        from ._suggest import closest

        names = self.names(discover=discover)
        return UnknownPlatformError(name, names, closest(name, names))

    def _import_builtin(self, name: str) -> None:
        import importlib

        entry = self._builtins[name]
        module, _, attr = entry["class"].partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise PluginLoadError(
                f"the built-in platform {name!r} could not be imported ({exc}); {entry['err']}"
            ) from exc
        self._classes[name] = cls
        self._origins[name] = "built-in"

    def _discovered(self) -> dict[str, EntryPoint]:
        """The entry points of the group, read once (the lock is held by the caller)."""
        if self._entry_points is None:
            self._entry_points = {}
            if self._group and not plugins_disabled_by_env():
                from importlib.metadata import entry_points

                for ep in entry_points(group=self._group):
                    problem = None
                    if ep.name in self._entry_points:
                        problem = (
                            f"it duplicates {_describe(self._entry_points[ep.name])}; "
                            "using the first"
                        )
                    else:
                        try:
                            validate_name(ep.name)
                        except ValueError as exc:
                            problem = str(exc)
                    if problem is not None:
                        import logging

                        logging.getLogger("llmops").warning(
                            "llmops: ignoring the platform plugin %r (%s): %s",
                            ep.name,
                            _describe(ep),
                            problem,
                        )
                        continue
                    self._entry_points[ep.name] = ep
        return self._entry_points

    def _load_entry_point(self, name: str) -> None:
        ep = self._discovered()[name]
        try:
            loaded = ep.load()
        except Exception as exc:
            raise PluginLoadError(
                f"the platform plugin {name!r} ({_describe(ep)}) failed to load: "
                f"{type(exc).__name__}: {exc}. Fix or uninstall that package; "
                "other platforms are not affected"
            ) from exc
        # ``module:Class`` advertises a class; a bare module registers itself on import.
        if name not in self._classes and isinstance(loaded, type):
            try:
                self.register(name, loaded, origin=_describe(ep))
            except TypeError as exc:
                raise TypeError(f"{exc} (from {_describe(ep)})") from None
        elif name in self._classes:
            self._origins[name] = _describe(ep)
        if name not in self._classes:
            raise PluginLoadError(
                f"the platform plugin {name!r} ({_describe(ep)}) loaded but registered no "
                f"platform named {name!r}; point the entry point at the platform class"
            )


def _describe(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    where = f" from {dist.name} {dist.version}" if dist is not None else ""
    return f"entry point {ep.value}{where}"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def plugins_disabled_by_env() -> bool:
    """``LLMOPS_DISABLE_PLUGINS`` is set to a true value."""
    return _env_flag(DISABLE_PLUGINS_ENV)


_default = PlatformRegistry(BUILTIN_PLATFORMS)


def register_platform(name: str, *, replace: bool = False) -> Callable[[P], P]:
    """Class decorator that registers an in-house platform under ``name``.

    >>> import msgspec, llmops
    >>> class AcmeConfig(msgspec.Struct, forbid_unknown_fields=True):
    ...     endpoint: str = "http://127.0.0.1:4318/v1/traces"
    >>> @llmops.register_platform("acme_example")
    ... class Acme:
    ...     config_type = AcmeConfig
    ...     def setup(self, config, settings):
    ...         return llmops.PlatformSetup()
    >>> llmops.get_platform("acme_example") is Acme
    True

    ``name`` must be a lower-case identifier (``ValueError`` otherwise) and not yet taken
    (``ValueError`` unless ``replace=True``); the class must satisfy
    :class:`llmops.PlatformPlugin` (``TypeError`` naming what is missing). The class is
    returned unchanged.
    """
    validate_name(name)

    def decorator(cls: P) -> P:
        _default.register(name, cls, replace=replace)
        return cls

    return decorator


def get_platform(name: str) -> type[PlatformPlugin]:
    """The platform class registered under ``name`` (a :class:`Platform` member or a string).

    Raises :class:`UnknownPlatformError` (a ``LookupError``) listing what exists and the
    closest name, or :class:`llmops.PluginLoadError` (an ``ImportError``) naming a plugin that
    failed to import.
    """
    return _default.get(name)


def available_platforms() -> list[str]:
    """The names of every built-in, registered and entry-point platform, sorted.

    >>> import llmops
    >>> {"arize", "mlflow"} <= set(llmops.available_platforms())
    True
    """
    return _default.names()
