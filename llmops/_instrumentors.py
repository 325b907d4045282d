"""The catalogue of OpenInference auto-instrumentors and the runner that applies them.

A catalogue entry is a config key (``google_genai``), the instrumentor's import path, the pip
package that provides it and the library it instruments. Nothing is imported until an entry is
enabled. Platforms may add entries with :func:`register_instrumentor`.
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
    "CATALOGUE",
    "InstrumentorSpec",
    "apply_instrumentors",
    "register_instrumentor",
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
    library the application may load later or never (docs/performance.md has the cost)."""


def _oi(
    module: str, cls: str, package: str, library: str, watch: str | None = None
) -> InstrumentorSpec:
    return InstrumentorSpec(
        f"openinference.instrumentation.{module}:{cls}", package, library, watch
    )


CATALOGUE: dict[str, InstrumentorSpec] = {
    "google_genai": _oi(
        "google_genai",
        "GoogleGenAIInstrumentor",
        "openinference-instrumentation-google-genai",
        "google-genai",
        watch="google.genai",
    ),
    "google_adk": _oi(
        "google_adk",
        "GoogleADKInstrumentor",
        "openinference-instrumentation-google-adk",
        "google-adk",
    ),
    "openai": _oi("openai", "OpenAIInstrumentor", "openinference-instrumentation-openai", "openai"),
    "anthropic": _oi(
        "anthropic", "AnthropicInstrumentor", "openinference-instrumentation-anthropic", "anthropic"
    ),
    "vertexai": _oi(
        "vertexai",
        "VertexAIInstrumentor",
        "openinference-instrumentation-vertexai",
        "google-cloud-aiplatform",
    ),
    "langchain": _oi(
        "langchain", "LangChainInstrumentor", "openinference-instrumentation-langchain", "langchain"
    ),
    "llama_index": _oi(
        "llama_index",
        "LlamaIndexInstrumentor",
        "openinference-instrumentation-llama-index",
        "llama-index",
    ),
    "litellm": _oi(
        "litellm", "LiteLLMInstrumentor", "openinference-instrumentation-litellm", "litellm"
    ),
    "bedrock": _oi(
        "bedrock", "BedrockInstrumentor", "openinference-instrumentation-bedrock", "boto3"
    ),
    "mistralai": _oi(
        "mistralai", "MistralAIInstrumentor", "openinference-instrumentation-mistralai", "mistralai"
    ),
    "groq": _oi("groq", "GroqInstrumentor", "openinference-instrumentation-groq", "groq"),
    "dspy": _oi("dspy", "DSPyInstrumentor", "openinference-instrumentation-dspy", "dspy"),
    "crewai": _oi("crewai", "CrewAIInstrumentor", "openinference-instrumentation-crewai", "crewai"),
}

STRICT_KEY = "strict"


def register_instrumentor(key: str, spec: InstrumentorSpec, *, replace: bool = False) -> None:
    """Add an instrumentor to the catalogue under the config key ``key``."""
    if key in CATALOGUE and not replace and CATALOGUE[key] != spec:
        raise ValueError(f"instrumentor {key!r} is already in the catalogue; pass replace=True")
    if key == STRICT_KEY or not key.isidentifier():
        raise ValueError(f"invalid instrumentor key {key!r}")
    CATALOGUE[key] = spec


class Applied(msgspec.Struct):
    """An instrumentor that llmops turned on (or will, when its library is imported), and so
    must turn off."""

    key: str
    instrumentor: Any = None
    """``None`` while waiting for the library's import."""
    cancelled: bool = False

    def uninstrument(self) -> None:
        self.cancelled = True  # a pending import hook does nothing any more
        if self.instrumentor is None:
            return
        try:
            self.instrumentor.uninstrument()
        except Exception as exc:
            logger.warning("llmops: uninstrumenting %s failed: %s", self.key, exc)


def apply_instrumentors(
    selection: Mapping[str, bool],
    provider: TracerProvider,
    *,
    where: str,
    trace_config: Mapping[str, Any] | None = None,
) -> list[Applied]:
    """Instrument every enabled entry with ``provider``; return what was applied.

    ``trace_config`` holds OpenInference privacy settings (``hide_inputs``, ...) from the
    ``tracing`` section; every OpenInference instrumentor gets them as its ``TraceConfig``.

    A missing package is a warning naming what to install (an error with ``strict: true``).
    An instrumentor that raises is reported by name and the others still run: the host
    application is never broken.
    """
    strict = bool(selection.get(STRICT_KEY, False))
    applied: list[Applied] = []

    def refuse(key: str, message: str, cause: Exception | None = None) -> None:
        """An error with ``strict`` (undoing what this call applied), else a warning."""
        if strict:
            _undo(applied)
            raise ConfigurationError(
                f"{where}: $.instrumentation.{key}: {message}",
                path=None if where == "<defaults>" else where,
                field=f"$.instrumentation.{key}",
            ) from cause
        warnings.warn(f"llmops: {message}", RuntimeWarning, stacklevel=4)

    for key, on in selection.items():
        if key == STRICT_KEY or not on:
            continue
        spec = CATALOGUE[key]
        deferred = not strict and spec.watch is not None and spec.watch not in sys.modules
        problem = _missing_package(spec) if deferred else dependency_problem(spec)
        if problem is not None:
            refuse(key, f"instrumentation.{key} is enabled but {problem}")
        elif deferred:
            applied.append(_when_imported(key, spec, provider, trace_config))
        else:
            try:
                instrumentor = _instrument_now(key, spec, provider, trace_config)
            except Exception as exc:
                refuse(
                    key,
                    f"instrumenting {key} ({spec.target}) failed: {type(exc).__name__}: {exc}",
                    exc,
                )
                continue
            if instrumentor is not None:
                applied.append(Applied(key, instrumentor))
                logger.debug("llmops: instrumented %s", key)
    return applied


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
    from wrapt import register_post_import_hook

    pending = Applied(key)

    def hook(_module: object) -> None:
        if pending.cancelled or pending.instrumentor is not None:
            return
        try:
            problem = dependency_problem(spec)
            if problem is not None:
                warnings.warn(
                    f"llmops: instrumentation.{key} is enabled but {problem}",
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
    register_post_import_hook(hook, spec.watch)
    return pending


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
