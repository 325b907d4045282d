"""End to end: llmops + the real google-genai client + OpenInference -> a real Phoenix.

Each test writes a YAML config, calls ``llmops.instrument(Platform.ARIZE, config_path=...)``,
makes one ``generate_content`` and one ``generate_content_stream`` call with the real
``google.genai`` client against the loopback Gemini stub, calls ``llmops.shutdown()`` (which
flushes), then reads the spans back from Phoenix's REST API.

The three tests cover the transport rules of ``docs/platforms/arize.md``: an endpoint ending in
``/v1/traces`` is OTLP/HTTP; a gRPC endpoint on a port other than 4317 needs ``protocol: grpc``;
``PHOENIX_COLLECTOR_ENDPOINT`` (a Phoenix base URL) fills an endpoint the file leaves unset and
means OTLP/HTTP to ``<base>/v1/traces``.

Phoenix keeps only ``openinference.project.name`` of a span's OTLP resource (it picks the
project with it; ``phoenix.trace.otel.decode_otlp_span`` sees the span alone, and neither the
REST API nor GraphQL returns a resource). That the spans are in the configured project proves
the project attribute arrived; for ``service.*`` the tests spy on the real OTLP exporters'
``export`` and decode the very request sent to Phoenix, and check that the ``ResourceSpans``
holding the spans Phoenix stored carry ``service.name``, ``service.version`` and the
deployment environment. (``provider.resource`` would not do: the first setup in the process
becomes the global provider and later setups reuse it, merging their resource into the spans
at export time, so its ``.resource`` still shows the first setup's service.)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from google import genai
from google.genai import types
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult

import llmops
from llmops import Platform
from llmops.testing.gemini_stub import reply_text, token_count
from tests.core_support import clear_proxy_environment

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.sdk.trace import ReadableSpan

    from llmops.testing.gemini_stub import GeminiStub
    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e

MODEL = "gemini-2.0-flash"
PROMPT = "Why is the sky blue at noon"
STREAM_PROMPT = "Tell me a short story about a lighthouse"
SERVICE_VERSION = "1.4.0"
SERVICE_ENVIRONMENT = "e2e"


@dataclass(frozen=True)
class Export:
    """One call of a real OTLP exporter's ``export``: what went on the wire, and how it went."""

    transport: str
    endpoint: str
    request: ExportTraceServiceRequest
    result: SpanExportResult


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable from the outer environment (the rest of the isolation, llmops'
    variables and the reset after the test: ``tests/conftest.py``)."""
    clear_proxy_environment(monkeypatch)


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> list[Export]:
    """Record every export of the gRPC and HTTP OTLP exporters (they still send as usual)."""
    recorded: list[Export] = []
    for transport, cls in (("grpc", GrpcSpanExporter), ("http", HttpSpanExporter)):
        original = cls.export

        def export(
            self: Any,
            spans: Sequence[ReadableSpan],
            _original: Any = original,
            _transport: str = transport,
        ) -> SpanExportResult:
            result: SpanExportResult = _original(self, spans)
            recorded.append(Export(_transport, str(self._endpoint), encode_spans(spans), result))
            return result

        monkeypatch.setattr(cls, "export", export)
    return recorded


@pytest.fixture
def llmops_session(no_proxy_env: None, exports: list[Export]) -> None:
    """No proxy variable, every export recorded; llmops is reset after the test, whatever
    happened, by ``tests/conftest.py``."""


def _project(label: str) -> str:
    return f"llmops-e2e-{label}-{uuid.uuid4().hex[:10]}"


def _write_config(tmp_path: Path, service_name: str, arize: dict[str, str]) -> Path:
    config = {
        "service": {
            "name": service_name,
            "version": SERVICE_VERSION,
            "environment": SERVICE_ENVIRONMENT,
        },
        "instrumentation": {"google_genai": True},
        "arize": arize,
    }
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _call_gemini(gemini_stub: GeminiStub) -> None:
    """One ``generate_content`` and one consumed ``generate_content_stream`` call."""
    # Keep the client referenced until the calls are done: it closes its HTTP client when
    # it is garbage-collected.
    client = genai.Client(
        api_key="x", http_options=types.HttpOptions(base_url=gemini_stub.base_url)
    )
    try:
        response = client.models.generate_content(model=MODEL, contents=PROMPT)
        assert response.text == reply_text(PROMPT)
        chunks = list(client.models.generate_content_stream(model=MODEL, contents=STREAM_PROMPT))
        assert "".join(chunk.text or "" for chunk in chunks) == reply_text(STREAM_PROMPT)
    finally:
        client.close()


def _exported_span_count(exports: list[Export]) -> int:
    return sum(
        len(scope_spans.spans)
        for export in exports
        for resource_spans in export.request.resource_spans
        for scope_spans in resource_spans.scope_spans
    )


def _run(
    config_path: Path,
    gemini_stub: GeminiStub,
    phoenix_server: PhoenixServer,
    project: str,
    exports: list[Export],
) -> list[dict[str, Any]]:
    """Instrument, call Gemini, shut down (flushing), and return the spans Phoenix stored."""
    provider = llmops.instrument(Platform.ARIZE, config_path=config_path)
    assert isinstance(provider, TracerProvider)
    _call_gemini(gemini_stub)
    llmops.shutdown()
    # shutdown() flushes: both spans have been sent by the time it returns.
    assert _exported_span_count(exports) == 2
    return phoenix_server.wait_for_spans(project, 2, timeout=30)


def _assert_llm_spans(spans: list[dict[str, Any]]) -> None:
    """The two instrumentor spans, with model, tokens by the stub's formula, input and output."""
    by_name = {span["name"]: span for span in spans}
    assert len(spans) == 2, [span["name"] for span in spans]
    assert set(by_name) == {"GenerateContent", "GenerateContentStream"}
    for name, prompt in (("GenerateContent", PROMPT), ("GenerateContentStream", STREAM_PROMPT)):
        span = by_name[name]
        attributes = span["attributes"]
        prompt_tokens = token_count(prompt)
        completion_tokens = token_count(reply_text(prompt))
        assert completion_tokens == prompt_tokens + 1
        assert span["span_kind"] == "LLM", name
        assert span["status_code"] in {"OK", "UNSET"}, name
        assert attributes["llm.model_name"] == MODEL, name
        assert attributes["llm.token_count.prompt"] == prompt_tokens, name
        assert attributes["llm.token_count.completion"] == completion_tokens, name
        assert attributes["llm.token_count.total"] == prompt_tokens + completion_tokens, name
        assert prompt in attributes["input.value"], name
        assert reply_text(prompt) in attributes["output.value"], name


def _resource_of_stored_spans(exports: list[Export], spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The OTLP resource attributes sent with the spans Phoenix stored (one resource)."""
    wanted = {span["context"]["span_id"] for span in spans}
    resources: list[dict[str, Any]] = []
    found: set[str] = set()
    for export in exports:
        for resource_spans in export.request.resource_spans:
            ids = {
                span.span_id.hex()
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            }
            if ids & wanted:
                found |= ids & wanted
                attributes = resource_spans.resource.attributes
                resources.append({kv.key: kv.value.string_value for kv in attributes})
    assert found == wanted, "some spans Phoenix stored were not seen by the exporters"
    assert resources
    assert all(resource == resources[0] for resource in resources)
    return resources[0]


def _assert_exported(
    exports: list[Export],
    spans: list[dict[str, Any]],
    *,
    transport: str,
    endpoint: str,
    service_name: str,
    project: str,
) -> None:
    """Every export went over ``transport`` to ``endpoint``, succeeded, and had the resource."""
    assert exports
    assert {(e.transport, e.endpoint) for e in exports} == {(transport, endpoint)}
    assert all(e.result is SpanExportResult.SUCCESS for e in exports)
    resource = _resource_of_stored_spans(exports, spans)
    assert resource["service.name"] == service_name
    assert resource["service.version"] == SERVICE_VERSION
    assert resource["deployment.environment.name"] == SERVICE_ENVIRONMENT
    assert resource["openinference.project.name"] == project


@pytest.mark.usefixtures("llmops_session")
def test_otlp_http_endpoint_ending_in_v1_traces(
    tmp_path: Path,
    phoenix_server: PhoenixServer,
    gemini_stub: GeminiStub,
    exports: list[Export],
) -> None:
    project = _project("http")
    service = f"svc-{project}"
    # Rule 2: a path ending in /v1/traces means OTLP/HTTP, without any protocol key.
    config = _write_config(
        tmp_path, service, {"endpoint": phoenix_server.http_endpoint, "project_name": project}
    )

    spans = _run(config, gemini_stub, phoenix_server, project, exports)

    _assert_llm_spans(spans)
    _assert_exported(
        exports,
        spans,
        transport="http",
        endpoint=phoenix_server.http_endpoint,
        service_name=service,
        project=project,
    )


@pytest.mark.usefixtures("llmops_session")
def test_otlp_grpc_with_explicit_protocol(
    tmp_path: Path,
    phoenix_server: PhoenixServer,
    gemini_stub: GeminiStub,
    exports: list[Export],
) -> None:
    project = _project("grpc")
    service = f"svc-{project}"
    # Rule 1: the gRPC port is random (not 4317), so the protocol must be stated.
    config = _write_config(
        tmp_path,
        service,
        {"endpoint": phoenix_server.grpc_endpoint, "protocol": "grpc", "project_name": project},
    )

    spans = _run(config, gemini_stub, phoenix_server, project, exports)

    _assert_llm_spans(spans)
    # The gRPC exporter keeps the endpoint without its scheme.
    grpc_target = phoenix_server.grpc_endpoint.removeprefix("http://")
    _assert_exported(
        exports,
        spans,
        transport="grpc",
        endpoint=grpc_target,
        service_name=service,
        project=project,
    )


@pytest.mark.usefixtures("llmops_session")
def test_phoenix_collector_endpoint_from_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    phoenix_server: PhoenixServer,
    gemini_stub: GeminiStub,
    exports: list[Export],
) -> None:
    project = _project("env")
    service = f"svc-{project}"
    # No endpoint in the file: the Phoenix base URL from the environment means OTLP/HTTP to
    # <base>/v1/traces (it is not on port 4317).
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", phoenix_server.base_url)
    config = _write_config(tmp_path, service, {"project_name": project})

    spans = _run(config, gemini_stub, phoenix_server, project, exports)

    _assert_llm_spans(spans)
    _assert_exported(
        exports,
        spans,
        transport="http",
        endpoint=f"{phoenix_server.base_url}/v1/traces",
        service_name=service,
        project=project,
    )
