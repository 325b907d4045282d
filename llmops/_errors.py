"""The exceptions llmops raises at its users."""

from __future__ import annotations

__all__ = ["ConfigurationError", "PluginLoadError", "UnknownPlatformError"]


class ConfigurationError(ValueError):
    """The configuration is invalid; the message says what, where and how to fix it.

    ``path`` is the config file (``None`` for defaults and the environment) and
    ``field`` the JSON-path-like location of the bad value (``$.arize.endpoint``).
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.field = field


class UnknownPlatformError(LookupError):
    """No platform is registered under the requested name.

    >>> import llmops
    >>> llmops.get_platform("arise")
    Traceback (most recent call last):
        ...
    llmops._errors.UnknownPlatformError: unknown platform 'arise'; did you mean 'arize'? ...
    """

    def __init__(self, name: str, available: list[str], suggestion: str | None = None) -> None:
        hint = f"; did you mean {suggestion!r}?" if suggestion else "."
        hint += _ALIASES.get(name, "")
        known = ", ".join(available) or "none"
        super().__init__(
            f"unknown platform {name!r}{hint} Available platforms: {known}. "
            "Register an in-house platform with @llmops.register_platform(name) or install a "
            "package that provides one through the 'llmops.platforms' entry-point group."
        )
        self.name = name
        self.available = available
        self.suggestion = suggestion


_ALIASES = {
    "phoenix": " Arize Phoenix is served by the 'arize' platform: Platform.ARIZE.",
    "arize_ax": " Arize AX is the 'arize' platform with arize.space_id set.",
}
"""Names people reach for that lead to a built-in platform."""


class PluginLoadError(ImportError):
    """An entry-point plugin or a built-in platform module failed to import."""
