"""Fake OpenTelemetry instrumentors for the instrumentor-runner tests.

The runner imports them by path (``tests.instrumentor_fakes:RecordingInstrumentor``), as it
imports the real OpenInference instrumentors. ``BaseInstrumentor`` keeps one instance per
class, so the records live on the class; :func:`reset` clears them between tests.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

__all__ = ["ExplodingInstrumentor", "RecordingInstrumentor", "reset"]


class RecordingInstrumentor(BaseInstrumentor):
    """Records every instrument (with its tracer provider) and uninstrument call."""

    instrumented_with: ClassVar[list[Any]] = []
    uninstrument_calls: ClassVar[int] = 0

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        type(self).instrumented_with.append(kwargs.get("tracer_provider"))

    def _uninstrument(self, **kwargs: Any) -> None:
        type(self).uninstrument_calls += 1


class ExplodingInstrumentor(BaseInstrumentor):
    """``instrument()`` raises, as a broken or incompatible instrumentor would."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        raise RuntimeError("exploding instrumentor says boom")

    def _uninstrument(self, **kwargs: Any) -> None:
        pass


def reset() -> None:
    """Forget every record and leave both fakes uninstrumented."""
    for cls in (RecordingInstrumentor, ExplodingInstrumentor):
        instance = cls()
        instance._is_instrumented_by_opentelemetry = False
    RecordingInstrumentor.instrumented_with = []
    RecordingInstrumentor.uninstrument_calls = 0
