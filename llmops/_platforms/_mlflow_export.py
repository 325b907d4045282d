"""The MLflow platform's span exporters; imported by its ``setup()``, never by ``import llmops``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .mlflow import Unresolved, redact

if TYPE_CHECKING:
    from .mlflow import Target

__all__ = ["ExperimentExporter", "StoreExporter"]

logger = logging.getLogger("llmops")


class ExperimentExporter(SpanExporter):
    """Resolves the experiment, then exports through the target's exporter.

    Until the experiment resolves (server down, experiment missing, ...) each batch is dropped
    and counted, resolution is retried at most every ``retry_interval_s``, and the reason is
    logged once per change: the application never waits on MLflow nor stops because of it.
    """

    retry_interval_s = 10.0

    def __init__(
        self, target: Target, name: str | None, experiment_id: str | None, create: bool
    ) -> None:
        self.target = target
        self.name = name
        self.wanted_id = experiment_id
        self.create = create
        self.experiment_id: str | None = None
        self.dropped = 0
        self._inner: SpanExporter | None = None
        self._lock = threading.Lock()
        self._next_try = 0.0
        self._problem: str | None = None

    def describe(self) -> str:
        what = f"experiment {self.name!r}" if self.name is not None else "experiment"
        return f"{self.target.describe()}, {what} (id {self.experiment_id or 'unresolved'})"

    def try_resolve(self) -> SpanExporter | None:
        """The inner exporter, resolving the experiment first when a try is due; else ``None``."""
        with self._lock:
            if self._inner is not None or time.monotonic() < self._next_try:
                return self._inner
            try:
                if self.name is not None:
                    experiment_id = self.target.experiment_by_name(self.name, self.create)
                else:
                    assert self.wanted_id is not None
                    experiment_id = self.target.experiment_by_id(self.wanted_id)
                inner = self.target.exporter(experiment_id)
            except Exception as exc:  # whatever it is, it must not reach the application
                problem = (
                    exc
                    if isinstance(exc, Unresolved)
                    else Unresolved(f"unexpected {type(exc).__name__}: {str(exc)[:300]}")
                )
                self._next_try = time.monotonic() + self.retry_interval_s
                if str(problem) != self._problem:
                    self._problem = str(problem)
                    logger.log(
                        problem.level,
                        "llmops: MLflow: %s. Traces for MLflow are dropped until this is fixed "
                        "(retried every %.0f s); the application carries on.",
                        problem,
                        self.retry_interval_s,
                    )
                return None
            self.experiment_id = experiment_id
            self._inner = inner
            if self._problem is not None:
                logger.warning(
                    "llmops: MLflow: sending traces to %s now; %d span(s) were dropped before",
                    self.describe(),
                    self.dropped,
                )
            return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        inner = self.try_resolve()
        if inner is None:
            self.dropped += len(spans)
            return SpanExportResult.FAILURE
        return inner.export(spans)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis) if self._inner is not None else True

    def shutdown(self) -> None:
        if self._inner is not None:
            self._inner.shutdown()


class StoreExporter(SpanExporter):
    """Writes spans into an MLflow store in-process, as the server's ``/v1/traces`` does:
    OTLP protobuf spans, then ``mlflow.entities.Span.from_otel_proto``, then ``log_spans``.
    """

    def __init__(self, uri: str, experiment_id: str) -> None:
        from mlflow.entities import Span
        from mlflow.tracing.client import TracingClient
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        self._from_proto = Span.from_otel_proto
        self._encode = encode_spans
        self._client = TracingClient(uri)
        self._uri = redact(uri)
        self._experiment_id = experiment_id
        self._failing = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            request = self._encode(spans)
            converted = [
                self._from_proto(span, resource=resource_spans.resource)
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            ]
            self._client.log_spans(self._experiment_id, converted)
        except Exception as exc:  # never into the export thread; logged once per failure streak
            if not self._failing:
                logger.warning(
                    "llmops: MLflow: could not store %d span(s) in %s: %s: %s",
                    len(spans),
                    self._uri,
                    type(exc).__name__,
                    str(exc)[:300],
                )
            self._failing = True
            return SpanExportResult.FAILURE
        self._failing = False
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass
