"""A real Phoenix accepts OTLP over HTTP and gRPC on loopback, and survives a restart."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

if TYPE_CHECKING:
    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e


def _project() -> str:
    return f"llmops-e2e-{uuid.uuid4().hex[:12]}"


def _send_span(exporter: SpanExporter, project: str, name: str) -> None:
    """Export one finished LLM span synchronously through ``exporter``."""
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        with provider.get_tracer("llmops.tests").start_as_current_span(name) as span:
            span.set_attribute("openinference.span.kind", "LLM")
            span.set_attribute("llm.model_name", "gemini-2.0-flash")
            span.set_attribute("llm.token_count.total", 13)
    finally:
        provider.shutdown()


def _named(name: str) -> Any:
    def has_span(spans: list[dict[str, Any]]) -> bool:
        return any(span["name"] == name for span in spans)

    has_span.__name__ = f"has span {name!r}"
    return has_span


def test_spans_of_an_unknown_project_are_empty(phoenix_server: PhoenixServer) -> None:
    assert phoenix_server.spans(_project()) == []


def test_otlp_http_and_grpc_spans_reach_phoenix(phoenix_server: PhoenixServer) -> None:
    project = _project()
    _send_span(HttpSpanExporter(endpoint=phoenix_server.http_endpoint, timeout=10), project, "h")
    _send_span(
        GrpcSpanExporter(endpoint=phoenix_server.grpc_endpoint, insecure=True, timeout=10),
        project,
        "g",
    )

    spans = phoenix_server.wait_for_spans(project, 2, timeout=30)

    assert sorted(span["name"] for span in spans) == ["g", "h"]
    for span in spans:
        assert span["span_kind"] == "LLM"  # Phoenix moves openinference.span.kind out here
        assert span["attributes"]["llm.model_name"] == "gemini-2.0-flash"
        assert span["attributes"]["llm.token_count.total"] == 13
        assert set(span["context"]) == {"trace_id", "span_id"}
        assert span["status_code"] in {"OK", "UNSET"}


def test_restart_on_the_same_ports_keeps_spans(phoenix_server: PhoenixServer) -> None:
    project = _project()
    endpoints = (phoenix_server.http_endpoint, phoenix_server.grpc_endpoint)
    grpc_exporter = GrpcSpanExporter(
        endpoint=phoenix_server.grpc_endpoint, insecure=True, timeout=10
    )
    _send_span(HttpSpanExporter(endpoint=phoenix_server.http_endpoint), project, "before")
    phoenix_server.wait_for_spans(project, _named("before"), timeout=30)

    try:
        phoenix_server.stop()
        assert not phoenix_server.is_running
        phoenix_server.start()
    finally:
        if not phoenix_server.is_running:  # leave the session server running for later tests
            phoenix_server.start()

    assert (phoenix_server.http_endpoint, phoenix_server.grpc_endpoint) == endpoints
    _send_span(grpc_exporter, project, "after")  # a gRPC channel made before the restart
    spans = phoenix_server.wait_for_spans(project, _named("after"), timeout=30)
    assert sorted(span["name"] for span in spans) == ["after", "before"]
