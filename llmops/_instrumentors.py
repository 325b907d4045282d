"""The catalogue of OpenInference auto-instrumentors and the runner that applies them.

A catalogue entry is a config key (``google_genai``), the instrumentor's import path, the pip
package that provides it, the library it instruments and the module the application imports.
By default (``instrumentation: auto``) every entry whose instrumentor is installed is applied
when the application imports its module (at once if it already has); an entry set to
``false`` stays off, and ``instrumentation: false`` turns them all off. ``instrument()``
imports no instrumented library and no instrumentor itself. A library imported without its
instrumentor gets one hint with the ``pip install`` line. Platforms may add entries with
:func:`register_instrumentor`.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import msgspec

from ._errors import ConfigurationError

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = [
    "AUTO_KEY",
    "CATALOGUE",
    "STRICT_KEY",
    "InstrumentorSpec",
    "Selection",
    "apply_instrumentors",
    "installed_instrumentors",
    "register_instrumentor",
    "selection",
]

logger = logging.getLogger("llmops")


class InstrumentorSpec(msgspec.Struct, frozen=True):
    """Where an instrumentor lives and what it needs."""

    target: str
    """``module:Class`` of a ``BaseInstrumentor`` subclass."""
    package: str
    """The pip package that provides ``target``."""
    library: str
    """The distribution it instruments (for messages)."""
    watch: str | None = None
    """The module the application imports (``google.genai``). When set and not imported yet,
    the instrumentor is applied when it is, so ``instrument()`` does not pay for importing a
    library the application may load later or never (docs/performance.md has the cost).
    Entries without it are applied only when enabled explicitly."""
    extra: str | None = None
    """llmops' extra that installs the client and its instrumentor (``llmops[openai]``)."""
    hint: bool = True
    """Point out a missing instrumentor when ``watch`` is imported (not for a module as
    general as ``boto3``, which most applications import for something else)."""

    def install_line(self) -> str:
        """What to run to get this instrumentor."""
        return (
            f"pip install 'llmops[{self.extra}]'" if self.extra else f"pip install {self.package}"
        )


def _oi(
    module: str,
    cls: str,
    package: str,
    library: str,
    watch: str,
    extra: str | None = None,
) -> InstrumentorSpec:
    return InstrumentorSpec(
        f"openinference.instrumentation.{module}:{cls}", package, library, watch, extra
    )


CATALOGUE: dict[str, InstrumentorSpec] = {
    "google_genai": _oi(
        "google_genai",
        "GoogleGenAIInstrumentor",
        "openinference-instrumentation-google-genai",
        "google-genai",
        "google.genai",
        "google-genai",
    ),
    "google_adk": _oi(
        "google_adk",
        "GoogleADKInstrumentor",
        "openinference-instrumentation-google-adk",
        "google-adk",
        "google.adk",
    ),
    "openai": _oi(
        "openai",
        "OpenAIInstrumentor",
        "openinference-instrumentation-openai",
        "openai",
        "openai",
        "openai",
    ),
    "anthropic": _oi(
        "anthropic",
        "AnthropicInstrumentor",
        "openinference-instrumentation-anthropic",
        "anthropic",
        "anthropic",
        "anthropic",
    ),
    "vertexai": _oi(
        "vertexai",
        "VertexAIInstrumentor",
        "openinference-instrumentation-vertexai",
        "google-cloud-aiplatform",
        "vertexai",
    ),
    "langchain": _oi(
        "langchain",
        "LangChainInstrumentor",
        "openinference-instrumentation-langchain",
        "langchain-core",
        "langchain_core",
        "langchain",
    ),
    "llama_index": _oi(
        "llama_index",
        "LlamaIndexInstrumentor",
        "openinference-instrumentation-llama-index",
        "llama-index-core",
        "llama_index.core",
    ),
    "litellm": _oi(
        "litellm",
        "LiteLLMInstrumentor",
        "openinference-instrumentation-litellm",
        "litellm",
        "litellm",
        "litellm",
    ),
    "bedrock": InstrumentorSpec(
        "openinference.instrumentation.bedrock:BedrockInstrumentor",
        "openinference-instrumentation-bedrock",
        "boto3",
        "boto3",
        hint=False,
    ),
    "mistralai": _oi(
        "mistralai",
        "MistralAIInstrumentor",
        "openinference-instrumentation-mistralai",
        "mistralai",
        "mistralai",
    ),
    "groq": _oi("groq", "GroqInstrumentor", "openinference-instrumentation-groq", "groq", "groq"),
    "dspy": _oi("dspy", "DSPyInstrumentor", "openinference-instrumentation-dspy", "dspy", "dspy"),
    "crewai": _oi(
        "crewai", "CrewAIInstrumentor", "openinference-instrumentation-crewai", "crewai", "crewai"
    ),
}

STRICT_KEY = "strict"
AUTO_KEY = "auto"
"""In an ``instrumentation`` mapping: ``auto: false`` applies only the entries set to true."""


def register_instrumentor(key: str, spec: InstrumentorSpec, *, replace: bool = False) -> None:
    """Add an instrumentor to the catalogue under the config key ``key``."""
    if key in CATALOGUE and not replace and CATALOGUE[key] != spec:
        raise ValueError(f"instrumentor {key!r} is already in the catalogue; pass replace=True")
    if key in (STRICT_KEY, AUTO_KEY) or not key.isidentifier():
        raise ValueError(f"invalid instrumentor key {key!r}")
    CATALOGUE[key] = spec


class Selection(msgspec.Struct, frozen=True):
    """What ``instrumentation:`` asks for: automatic or not, the entries set explicitly, and
    whether an explicitly enabled entry that cannot run is an error."""

    auto: bool = True
    explicit: dict[str, bool] = {}
    strict: bool = False


def selection(value: Mapping[str, bool] | bool | str) -> Selection:
    """``instrumentation:`` as written (``auto``, ``none``, a boolean or a mapping)."""
    if value is False or value == "none":
        return Selection(auto=False)
    if value is True or value == "auto":
        return Selection()
    assert isinstance(value, Mapping)
    entries = dict(value)
    strict = bool(entries.pop(STRICT_KEY, False))
    auto = bool(entries.pop(AUTO_KEY, True))
    return Selection(auto=auto, explicit=entries, strict=strict)


class Applied(msgspec.Struct):
    """An instrumentor that llmops turned on (or will, when its library is imported), or a
    hint waiting for a library imported without its instrumentor; all undone on shutdown."""

    key: str
    instrumentor: Any = None
    """``None`` while waiting for the library's import (or for a hint)."""
    cancelled: bool = False
    hint: bool = False
    cancel_hook: Any = None

    def uninstrument(self) -> None:
        self.cancelled = True  # a pending import hook does nothing any more
        if self.cancel_hook is not None:
            self.cancel_hook()
        if self.instrumentor is None:
            return
        try:
            self.instrumentor.uninstrument()
        except Exception as exc:
            logger.warning("llmops: uninstrumenting %s failed: %s", self.key, exc)


def apply_instrumentors(
    value: Mapping[str, bool] | bool | str,
    provider: TracerProvider,
    *,
    where: str,
    trace_config: Mapping[str, Any] | None = None,
    hinted: set[str] | None = None,
) -> list[Applied]:
    """Instrument what ``value`` (``instrumentation:``) selects with ``provider``; return what
    was applied or is waiting for its library's import.

    ``trace_config`` holds OpenInference privacy settings (``hide_inputs``, ...) from the
    ``tracing`` section; every OpenInference instrumentor gets them as its ``TraceConfig``.
    ``hinted`` holds the keys whose missing instrumentor was already pointed out.

    An explicitly enabled entry whose package is missing is a warning naming what to install
    (an error with ``strict: true``). An instrumentor that raises is reported by name and the
    others still run: the host application is never broken.
    """
    chosen = selection(value)
    applied: list[Applied] = []
    hinted = set() if hinted is None else hinted
    installed: set[str] | None = None
    for key, spec in CATALOGUE.items():
        on = chosen.explicit.get(key)
        if on is True:
            _quiet_native_tracing(key, applied)
            _apply_explicit(key, spec, provider, trace_config, applied, chosen.strict, where)
        elif on is None and chosen.auto and spec.watch is not None:
            if installed is None:
                installed = installed_instrumentors()
            if _module_of(spec) in installed:
                _quiet_native_tracing(key, applied)
                applied.append(_when_imported(key, spec, provider, trace_config))
            elif spec.hint and key not in hinted:
                applied.append(_hint_when_imported(key, spec, hinted))
    return applied


NATIVE_TRACING_SWITCHES = {"anthropic": "ANTHROPIC_OPEN_TELEMETRY"}
"""Clients that trace themselves once a global TracerProvider exists: with their OpenInference
instrumentor on as well, every call would be two LLM spans (and, streamed, two traces)."""


def _quiet_native_tracing(key: str, applied: list[Applied]) -> None:
    """Turn a client's own tracing off while its instrumentor is on; restored on shutdown."""
    import os

    variable = NATIVE_TRACING_SWITCHES.get(key)
    if variable is None or variable in os.environ:  # an explicit value wins
        return
    os.environ[variable] = "false"
    restore = Applied(f"{key} (its own tracing)", hint=True)
    restore.cancel_hook = lambda: os.environ.pop(variable, None)
    applied.append(restore)


def _apply_explicit(
    key: str,
    spec: InstrumentorSpec,
    provider: TracerProvider,
    trace_config: Mapping[str, Any] | None,
    applied: list[Applied],
    strict: bool,
    where: str,
) -> None:
    """An entry set to ``true``: applied now, or when its library is imported (not strict)."""

    def refuse(message: str, cause: Exception | None = None) -> None:
        """An error with ``strict`` (undoing what this call applied), else a warning."""
        if strict:
            _undo(applied)
            raise ConfigurationError(
                f"{where}: $.instrumentation.{key}: {message}",
                path=None if where == "<defaults>" else where,
                field=f"$.instrumentation.{key}",
            ) from cause
        warnings.warn(f"llmops: {message}", RuntimeWarning, stacklevel=5)

    deferred = not strict and spec.watch is not None and spec.watch not in sys.modules
    problem = _missing_package(spec) if deferred else dependency_problem(spec)
    if problem is not None:
        refuse(f"instrumentation.{key} is enabled but {problem}")
    elif deferred:
        applied.append(_when_imported(key, spec, provider, trace_config))
    else:
        try:
            instrumentor = _instrument_now(key, spec, provider, trace_config)
        except Exception as exc:
            message = f"instrumenting {key} ({spec.target}) failed: {type(exc).__name__}: {exc}"
            refuse(message, exc)
            return
        if instrumentor is not None:
            applied.append(Applied(key, instrumentor))
            logger.debug("llmops: instrumented %s", key)


def _module_of(spec: InstrumentorSpec) -> str:
    return spec.target.partition(":")[0]


def installed_instrumentors() -> set[str]:
    """The instrumentor modules installed, found without importing any: the subpackages of
    ``openinference.instrumentation`` on disk, by full name."""
    import importlib.util
    import os

    try:
        found = importlib.util.find_spec("openinference.instrumentation")
    except (ImportError, ValueError):
        found = None
    names: set[str] = set()
    for folder in (found.submodule_search_locations or []) if found is not None else []:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        names.update(
            f"openinference.instrumentation.{entry}"
            for entry in entries
            if entry.isidentifier() and os.path.isfile(os.path.join(folder, entry, "__init__.py"))
        )
    for spec in CATALOGUE.values():  # entries a platform added, outside OpenInference
        module = _module_of(spec)
        if not module.startswith("openinference.") and _top_level_exists(module):
            names.add(module)
    return names


def _top_level_exists(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module.partition(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _instrument_now(
    key: str,
    spec: InstrumentorSpec,
    provider: TracerProvider,
    trace_config: Mapping[str, Any] | None,
) -> Any:
    """Apply ``spec``'s instrumentor; ``None`` if the application already did."""
    instrumentor = _load(spec)()
    if instrumentor.is_instrumented_by_opentelemetry:
        logger.info("llmops: %s is already instrumented by the application; leaving it as is", key)
        return None
    kwargs: dict[str, Any] = {"tracer_provider": provider}
    if trace_config and spec.target.startswith("openinference."):
        kwargs["config"] = _trace_config(trace_config)
    instrumentor.instrument(**kwargs)
    return instrumentor


def _when_imported(
    key: str,
    spec: InstrumentorSpec,
    provider: TracerProvider,
    trace_config: Mapping[str, Any] | None,
) -> Applied:
    """Apply ``spec`` when the application imports ``spec.watch`` (at once if it already has).

    The hook runs inside the application's import statement: it never raises into it.
    """
    from ._import_hooks import when_imported

    pending = Applied(key)

    def hook(_module: object) -> None:
        if pending.cancelled or pending.instrumentor is not None:
            return
        try:
            problem = dependency_problem(spec)
            if problem is not None:
                warnings.warn(
                    f"llmops: instrumentation.{key} cannot run: {problem}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return
            pending.instrumentor = _instrument_now(key, spec, provider, trace_config)
        except Exception as exc:
            warnings.warn(
                f"llmops: instrumenting {key} ({spec.target}) failed: {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        logger.debug("llmops: instrumented %s when %s was imported", key, spec.watch)

    assert spec.watch is not None
    pending.cancel_hook = when_imported(spec.watch, hook)
    return pending


def _hint_when_imported(key: str, spec: InstrumentorSpec, hinted: set[str]) -> Applied:
    """Say once, when the application imports ``spec.watch``, that its calls are not traced
    for want of the instrumentor: the commonest reason for an empty trace view."""
    from ._import_hooks import when_imported

    waiting = Applied(key, hint=True)

    def hint(_module: object) -> None:
        if waiting.cancelled or key in hinted:
            return
        hinted.add(key)
        logger.warning(
            "llmops: the application uses %s, but %s is not installed, so its calls are not "
            "traced: %s (or set instrumentation.%s: false)",
            spec.watch,
            spec.package,
            spec.install_line(),
            key,
        )

    assert spec.watch is not None
    waiting.cancel_hook = when_imported(spec.watch, hint)
    return waiting


def _trace_config(settings: Mapping[str, Any]) -> Any:
    """An OpenInference ``TraceConfig`` with ``settings``; a field the installed
    openinference-instrumentation does not know is an error naming it."""
    import dataclasses

    from openinference.instrumentation import TraceConfig

    known = {f.name for f in dataclasses.fields(TraceConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise RuntimeError(
            f"the installed openinference-instrumentation has no {', '.join(unknown)} "
            "privacy setting; upgrade it, or remove the setting from the tracing section"
        )
    return TraceConfig(**settings)


def _undo(applied: list[Applied]) -> None:
    """Uninstrument what this call applied before it failed: the caller never sees them."""
    for done in reversed(applied):
        done.uninstrument()


def _load(spec: InstrumentorSpec) -> Any:
    module, _, attr = spec.target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _missing_package(spec: InstrumentorSpec) -> str | None:
    """Which package of ``spec`` is not installed, without importing anything, or ``None``."""
    from importlib.metadata import PackageNotFoundError, version

    for name, what in ((spec.package, "its package"), (spec.library, "the library it instruments")):
        try:
            version(name)
        except PackageNotFoundError:
            return f"{what} is not installed: pip install {name}"
    return None


def dependency_problem(spec: InstrumentorSpec) -> str | None:
    """Why ``spec`` cannot run here (missing or incompatible packages), or ``None``."""
    if (missing := _missing_package(spec)) is not None:
        return missing
    try:
        from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

        conflict = get_dependency_conflicts(_load(spec)().instrumentation_dependencies())
    except Exception as exc:  # an instrumentor that fails to import is a problem too
        return f"{spec.target} cannot be imported ({type(exc).__name__}: {exc})"
    if conflict is not None:
        return f"the installed version does not fit it: {conflict}"
    return None
