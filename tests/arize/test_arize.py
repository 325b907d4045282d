"""The Arize platform at unit level: endpoint rules, exporters, headers, resource, env precedence.

Nothing here leaves the machine: endpoints are loopback ports nothing listens on (or the
loopback OTLP receiver of ``tests/otlp_receiver.py``); tests that configure a remote host
build the exporter and shut it down without creating a span (gRPC channels connect lazily),
and the default Arize AX endpoint is checked through a recording stand-in for the exporter.
"""

from __future__ import annotations

import logging
import platform
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import llmops
from llmops import ConfigurationError, Platform
from llmops._config import Settings
from llmops._platforms.arize import ArizeConfig, ArizePlatform, parse_header_list, resolve_endpoint
from tests.core_support import (
    exporter_endpoint,
    exporter_headers,
    exporters_of,
    free_port,
)
from tests.otlp_receiver import OtlpReceiver

WHERE = "$.arize.endpoint"


@pytest.fixture
def config(tmp_path: Path) -> Any:
    """``config(yaml_text)`` writes llmops.yaml (with a short shutdown timeout) and returns it."""

    def write(text: str, *, name: str = "llmops.yaml") -> Path:
        body = textwrap.dedent(text).lstrip("\n")
        if "tracing:" not in body:
            body += "tracing:\n  shutdown_timeout_s: 0.5\n"
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        return path

    return write


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def only_exporter(provider: TracerProvider) -> Any:
    exporters = exporters_of(provider)
    assert len(exporters) == 1, exporters
    return exporters[0]


def instrument_yaml(config: Any, text: str) -> tuple[TracerProvider, Any]:
    provider = llmops.instrument(Platform.ARIZE, config_path=config(text))
    return provider, only_exporter(provider)


# -- resolve_endpoint: the documented rules ---------------------------------------------------

RULES = [
    # (endpoint, protocol) -> (url, transport)
    (("http://127.0.0.1:4317", None), ("http://127.0.0.1:4317", "grpc")),
    (("http://localhost:4317/", None), ("http://localhost:4317", "grpc")),
    (("https://phoenix.example:4317", None), ("https://phoenix.example:4317", "grpc")),
    ((" http://[::1]:4317 ", None), ("http://[::1]:4317", "grpc")),
    (("HTTP://127.0.0.1:4317", None), ("http://127.0.0.1:4317", "grpc")),
    # a Phoenix base URL on 6006 -> OTLP/HTTP at /v1/traces
    (("http://127.0.0.1:6006", None), ("http://127.0.0.1:6006/v1/traces", "http")),
    (("http://127.0.0.1:6006/", None), ("http://127.0.0.1:6006/v1/traces", "http")),
    # an explicit /v1/traces -> OTLP/HTTP, whatever the port
    (("http://127.0.0.1:6006/v1/traces", None), ("http://127.0.0.1:6006/v1/traces", "http")),
    (("http://127.0.0.1:4317/v1/traces", None), ("http://127.0.0.1:4317/v1/traces", "http")),
    (("https://phoenix.example/v1/traces", None), ("https://phoenix.example/v1/traces", "http")),
    (("https://x.example/prefix/v1/traces/", None), ("https://x.example/prefix/v1/traces", "http")),
    # the explicit protocol wins, both ways
    (("http://127.0.0.1:6006", "grpc"), ("http://127.0.0.1:6006", "grpc")),
    (("http://127.0.0.1:4317", "http"), ("http://127.0.0.1:4317/v1/traces", "http")),
    (("http://10.0.0.7:9000", "http"), ("http://10.0.0.7:9000/v1/traces", "http")),
    (("http://10.0.0.7:9000", "grpc"), ("http://10.0.0.7:9000", "grpc")),
    (("https://otlp.example", "grpc"), ("https://otlp.example", "grpc")),
    (("http://127.0.0.1:6006/v1/traces", "http"), ("http://127.0.0.1:6006/v1/traces", "http")),
    # the forms phoenix.otel and OpenTelemetry accept (issue 12)
    (("grpc://127.0.0.1:4317", None), ("https://127.0.0.1:4317", "grpc")),
    (("127.0.0.1:4317", None), ("https://127.0.0.1:4317", "grpc")),
    (("phoenix:9999", None), ("https://phoenix:9999", "grpc")),
    (("http://127.0.0.1:4318", None), ("http://127.0.0.1:4318/v1/traces", "http")),
    (("https://phoenix.example", None), ("https://phoenix.example/v1/traces", "http")),
    (("http://127.0.0.1:6006", "http"), ("http://127.0.0.1:6006/v1/traces", "http")),
    # Phoenix Cloud
    (("https://app.phoenix.arize.com", None), ("https://app.phoenix.arize.com/v1/traces", "http")),
    (
        ("https://app.phoenix.arize.com/s/my-space", None),
        ("https://app.phoenix.arize.com/s/my-space/v1/traces", "http"),
    ),
    # a path prefix (a reverse proxy) with protocol http
    (
        ("https://proxy.example/phoenix", "http"),
        ("https://proxy.example/phoenix/v1/traces", "http"),
    ),
    (
        ("https://proxy.example/phoenix/", "http"),
        ("https://proxy.example/phoenix/v1/traces", "http"),
    ),
]


@pytest.mark.parametrize(("given", "expected"), RULES, ids=[f"{g[0]}|{g[1]}" for g, _ in RULES])
def test_endpoint_rules(given: tuple[str, Any], expected: tuple[str, str]) -> None:
    assert resolve_endpoint(given[0], given[1], where=WHERE) == expected


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:9000",  # neither 4317, 4318 nor 6006, no path
        "http://phoenix.example",  # plain http on port 80: could be either
        "http://127.0.0.1:4317/otlp",  # a path that is not /v1/traces
        "https://proxy.example/phoenix",
        "http://127.0.0.1:0",
    ],
)
def test_unclassifiable_endpoint_asks_for_protocol(endpoint: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_endpoint(endpoint, None, where=WHERE)
    assert "arize.protocol" in str(info.value)
    assert "'grpc' or 'http/protobuf'" in str(info.value)
    assert info.value.field == WHERE


def test_an_arize_ax_endpoint_without_space_id_names_space_id() -> None:
    for protocol in (None, "grpc", "http"):
        with pytest.raises(ConfigurationError, match=r"set arize\.space_id"):
            resolve_endpoint("https://otlp.arize.com/v1", protocol, where=WHERE)  # type: ignore[arg-type]
    assert resolve_endpoint("https://otlp.arize.com/v1", "http", where=WHERE, cloud=True) == (
        "https://otlp.arize.com/v1/traces",
        "http",
    )


@pytest.mark.parametrize(
    ("endpoint", "needle"),
    [
        ("ftp://127.0.0.1:4317", "http://, https:// or grpc://"),
        ("", "no host"),
        ("127.0.0.1", "host:port"),
        ("http://:4317", "no host"),
        ("http:///v1/traces", "no host"),
        ("http://127.0.0.1:70000", "port"),
        ("http://127.0.0.1:port", "port"),
        ("http://127.0.0.1:6006/v1/traces?project=x", "query"),
        ("http://127.0.0.1:4317#frag", "query or fragment"),
    ],
)
def test_invalid_endpoints(endpoint: str, needle: str) -> None:
    for protocol in (None, "grpc", "http"):
        with pytest.raises(ConfigurationError, match=needle) as info:
            resolve_endpoint(endpoint, protocol, where=WHERE)  # type: ignore[arg-type]
        assert info.value.field == WHERE


def test_parse_header_list() -> None:
    assert parse_header_list("a=1, B=x%20y,,c=k%3Dv", where="$X") == {
        "a": "1",
        "b": "x y",
        "c": "k=v",
    }
    with pytest.raises(ConfigurationError):
        parse_header_list("novalue", where="$X")
    with pytest.raises(ConfigurationError):
        parse_header_list("=v", where="$X")


# -- through llmops.instrument -----------------------------------------------------------------


def test_three_call_styles_return_the_same_tracer_provider(config: Any) -> None:
    path = config(
        f"""
        platform: arize
        arize:
          endpoint: http://127.0.0.1:{free_port()}/v1/traces
        """
    )
    provider = llmops.instrument(Platform.ARIZE, config_path=path)
    assert type(provider) is TracerProvider
    assert llmops.instrument(platform="arize", config_path=path) is provider
    assert llmops.instrument("arize", config_path=str(path)) is provider
    assert llmops.arize.instrument(config_path=path) is provider
    assert llmops.instrument(config_path=path) is provider  # platform: from the file
    assert len(exporters_of(provider)) == 1  # and it was set up once


def test_resource_attributes(config: Any) -> None:
    provider, _ = instrument_yaml(
        config,
        f"""
        service:
          name: support-bot
          version: "1.4.0"
          environment: production
          attributes:
            team: search
        arize:
          endpoint: http://127.0.0.1:{free_port()}
          protocol: grpc
          project_name: support-project
        """,
    )
    attributes = dict(provider.resource.attributes)
    assert attributes["openinference.project.name"] == "support-project"
    assert attributes["service.name"] == "support-bot"
    assert attributes["service.version"] == "1.4.0"
    assert attributes["deployment.environment.name"] == "production"
    assert attributes["team"] == "search"


def test_grpc_exporter(config: Any) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    port = free_port()
    _, exporter = instrument_yaml(
        config,
        f"""
        arize:
          endpoint: http://127.0.0.1:{port}
          protocol: grpc
          api_key: phx-key
          headers:
            X-Team: search
        """,
    )
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter_endpoint(exporter) == ("grpc", f"127.0.0.1:{port}")
    assert exporter._insecure is True  # http:// means plaintext
    assert exporter_headers(exporter) == {"authorization": "Bearer phx-key", "x-team": "search"}


def test_grpc_over_tls_for_https(config: Any) -> None:
    _, exporter = instrument_yaml(config, "arize:\n  endpoint: https://phoenix.example:4317\n")
    assert exporter_endpoint(exporter) == ("grpc", "phoenix.example:4317")
    assert exporter._insecure is False


def test_http_exporter(config: Any) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    port = free_port()
    _, exporter = instrument_yaml(
        config,
        f"""
        arize:
          endpoint: http://127.0.0.1:{port}
          protocol: http
          api_key: phx-key
          headers: {{x-team: search, x-other: "2"}}
        """,
    )
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter_endpoint(exporter) == ("http", f"http://127.0.0.1:{port}/v1/traces")
    headers = exporter_headers(exporter)
    assert headers["authorization"] == "Bearer phx-key"
    assert headers["x-team"] == "search"
    assert headers["x-other"] == "2"


def test_explicit_authorization_header_wins_over_api_key(config: Any) -> None:
    _, exporter = instrument_yaml(
        config,
        f"""
        arize:
          endpoint: http://127.0.0.1:{free_port()}/v1/traces
          api_key: ignored-key
          headers: {{Authorization: Basic abc}}
        """,
    )
    assert exporter_headers(exporter)["authorization"] == "Basic abc"


def test_otel_exporter_variables_do_not_redirect_or_add_headers(
    config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config is what you get: OTEL_EXPORTER_OTLP_* (meant for another backend, perhaps
    with its credentials) neither redirects llmops' exporter nor adds headers to it."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.2:1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.2:1/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-other-backend=other-secret")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-other-backend=other-secret")
    for protocol in ("grpc", "http"):
        port = free_port()
        for extra in ("", "  headers: {x-team: search}\n"):
            _, exporter = instrument_yaml(
                config,
                f"arize:\n  endpoint: http://127.0.0.1:{port}\n  protocol: {protocol}\n" + extra,
            )
            assert str(port) in exporter_endpoint(exporter)[1]
            assert "x-other-backend" not in exporter_headers(exporter), (protocol, extra)
            llmops.shutdown()


def test_otel_exporter_variables_are_the_fallback_and_travel_together(
    config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As phoenix.otel: with no Phoenix variable, the OTel endpoint is used, with its headers."""
    port = free_port()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=search%20team")
    _, exporter = instrument_yaml(config, "arize: {}\n")
    assert exporter_endpoint(exporter) == ("http", f"http://127.0.0.1:{port}/v1/traces")
    assert exporter_headers(exporter)["x-team"] == "search team"


def test_phoenix_client_headers_merged_file_wins_key_by_key(
    config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PHOENIX_CLIENT_HEADERS", "x-env=from%20env,x-both=env,Authorization=env-auth"
    )
    _, exporter = instrument_yaml(
        config,
        f"""
        arize:
          endpoint: http://127.0.0.1:{free_port()}/v1/traces
          api_key: file-key
          headers: {{x-both: file, x-file: only-file}}
        """,
    )
    assert exporter_headers(exporter) == {
        "x-env": "from env",
        "x-both": "file",
        "x-file": "only-file",
        # The API key over the variable's authorization, as phoenix.otel does; a header in
        # the section would win over both (test_explicit_authorization_header_wins_over_api_key).
        "authorization": "Bearer file-key",
    }


def test_invalid_phoenix_client_headers(config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_CLIENT_HEADERS", "not-a-pair")
    with pytest.raises(ConfigurationError, match="PHOENIX_CLIENT_HEADERS"):
        instrument_yaml(config, f"arize:\n  endpoint: http://127.0.0.1:{free_port()}/v1/traces\n")


# -- environment precedence: file, then environment, then defaults -------------------------------


@pytest.mark.parametrize(
    ("file_endpoint", "env_endpoint", "expected"),
    [
        ("http://127.0.0.1:4317", "http://127.0.0.1:6006", ("grpc", "127.0.0.1:4317")),
        (None, "http://127.0.0.1:6006", ("http", "http://127.0.0.1:6006/v1/traces")),
        (None, "http://127.0.0.1:4317", ("grpc", "127.0.0.1:4317")),
        (None, "http://127.0.0.1:9123", ("http", "http://127.0.0.1:9123/v1/traces")),
        (None, "http://127.0.0.1:9123/v1/traces", ("http", "http://127.0.0.1:9123/v1/traces")),
        (None, None, ("grpc", "127.0.0.1:4317")),
    ],
)
def test_collector_endpoint_precedence(
    config: Any,
    monkeypatch: pytest.MonkeyPatch,
    file_endpoint: str | None,
    env_endpoint: str | None,
    expected: tuple[str, str],
) -> None:
    if env_endpoint is not None:
        monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", env_endpoint)
    section = f"  endpoint: {file_endpoint}\n" if file_endpoint else "  project_name: p\n"
    _, exporter = instrument_yaml(config, "arize:\n" + section)
    assert exporter_endpoint(exporter) == expected


def test_collector_endpoint_from_env_with_explicit_protocol(
    config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", "http://127.0.0.1:6006")
    _, exporter = instrument_yaml(config, "arize:\n  protocol: grpc\n")
    assert exporter_endpoint(exporter) == ("grpc", "127.0.0.1:6006")


def test_invalid_collector_endpoint_from_env_names_the_variable(
    config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", "ftp://127.0.0.1:6006")
    with pytest.raises(ConfigurationError) as info:
        instrument_yaml(config, "arize:\n  project_name: p\n")
    assert "PHOENIX_COLLECTOR_ENDPOINT" in str(info.value)


@pytest.mark.parametrize(
    ("file_key", "env_key", "expected"),
    [
        ("file-key", "env-key", "Bearer file-key"),
        (None, "env-key", "Bearer env-key"),
        (None, None, None),
    ],
)
def test_api_key_precedence(
    config: Any,
    monkeypatch: pytest.MonkeyPatch,
    file_key: str | None,
    env_key: str | None,
    expected: str | None,
) -> None:
    if env_key:
        monkeypatch.setenv("PHOENIX_API_KEY", env_key)
    text = f"arize:\n  endpoint: http://127.0.0.1:{free_port()}/v1/traces\n"
    if file_key:
        text += f"  api_key: {file_key}\n"
    _, exporter = instrument_yaml(config, text)
    assert exporter_headers(exporter).get("authorization") == expected


def test_empty_api_key_from_interpolation_means_none(config: Any) -> None:
    _, exporter = instrument_yaml(
        config,
        f"arize:\n  endpoint: http://127.0.0.1:{free_port()}/v1/traces\n"
        "  api_key: ${PHOENIX_API_KEY:-}\n",
    )
    assert "authorization" not in exporter_headers(exporter)


@pytest.mark.parametrize(
    ("file_project", "env_project", "file_service", "env_service", "expected"),
    [
        ("file-project", "env-project", "file-svc", "env-svc", "file-project"),
        (None, "env-project", "file-svc", "env-svc", "env-project"),
        (None, None, "file-svc", "env-svc", "file-svc"),
        (None, None, None, "env-svc", "env-svc"),
        (None, None, None, None, "default"),
    ],
)
def test_project_name_precedence(
    config: Any,
    monkeypatch: pytest.MonkeyPatch,
    file_project: str | None,
    env_project: str | None,
    file_service: str | None,
    env_service: str | None,
    expected: str,
) -> None:
    if env_project:
        monkeypatch.setenv("PHOENIX_PROJECT_NAME", env_project)
    if env_service:
        monkeypatch.setenv("OTEL_SERVICE_NAME", env_service)
    text = f"arize:\n  endpoint: http://127.0.0.1:{free_port()}/v1/traces\n"
    if file_project:
        text += f"  project_name: {file_project}\n"
    if file_service:
        text += f"service:\n  name: {file_service}\n"
    provider, _ = instrument_yaml(config, text)
    assert provider.resource.attributes["openinference.project.name"] == expected


@pytest.mark.parametrize(
    ("file_service", "env_service", "expected"),
    [
        ("file-svc", "env-svc", "file-svc"),
        (None, "env-svc", "env-svc"),
        (None, None, "unknown_service:python"),
    ],
)
def test_service_name_precedence(
    config: Any,
    monkeypatch: pytest.MonkeyPatch,
    file_service: str | None,
    env_service: str | None,
    expected: str,
) -> None:
    if env_service:
        monkeypatch.setenv("OTEL_SERVICE_NAME", env_service)
    text = f"arize:\n  endpoint: http://127.0.0.1:{free_port()}/v1/traces\n"
    if file_service:
        text += f"service:\n  name: {file_service}\n"
    provider, _ = instrument_yaml(config, text)
    assert provider.resource.attributes["service.name"] == expected


def test_resource_attributes_env_fills_file_wins(
    config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES",
        "team=env-team,region=eu,service.version=0.0.env,deployment.environment.name=env-env",
    )
    provider, _ = instrument_yaml(
        config,
        f"""
        service:
          version: "2.0"
          attributes: {{team: file-team}}
        arize:
          endpoint: http://127.0.0.1:{free_port()}/v1/traces
        """,
    )
    attributes = provider.resource.attributes
    assert attributes["team"] == "file-team"
    assert attributes["region"] == "eu"
    assert attributes["service.version"] == "2.0"
    assert attributes["deployment.environment.name"] == "env-env"


# -- spans actually sent (loopback OTLP/HTTP receiver) -------------------------------------------


def test_spans_reach_the_collector_with_resource_and_headers(
    config: Any, receiver: OtlpReceiver
) -> None:
    provider, _ = instrument_yaml(
        config,
        f"""
        service: {{name: svc, version: "3.1", environment: staging}}
        arize:
          endpoint: {receiver.endpoint}
          project_name: proj-e2e
          api_key: key-e2e
          headers: {{x-team: search}}
        """,
    )
    tracer = provider.get_tracer("test")
    for index in range(3):
        with tracer.start_as_current_span(f"span-{index}") as span:
            span.set_attribute("index", index)
    assert provider.force_flush(5000)
    spans = receiver.wait_for_spans(3, timeout=5)
    assert sorted(s.name for s in spans) == ["span-0", "span-1", "span-2"]
    resource = spans[0].resource
    assert resource["openinference.project.name"] == "proj-e2e"
    assert resource["service.name"] == "svc"
    assert resource["service.version"] == "3.1"
    assert resource["deployment.environment.name"] == "staging"
    assert {s.attributes["index"] for s in spans} == {0, 1, 2}
    assert receiver.headers[0]["authorization"] == "Bearer key-e2e"
    assert receiver.headers[0]["x-team"] == "search"
    assert receiver.headers[0]["content-type"] == "application/x-protobuf"


def test_gzip_compression(config: Any, receiver: OtlpReceiver) -> None:
    provider, _ = instrument_yaml(
        config,
        f"""
        tracing: {{compression: gzip, shutdown_timeout_s: 0.5}}
        arize: {{endpoint: {receiver.endpoint}}}
        """,
    )
    with provider.get_tracer("t").start_as_current_span("zipped"):
        pass
    provider.force_flush(5000)
    assert [s.name for s in receiver.wait_for_spans(1, timeout=5)] == ["zipped"]
    assert receiver.headers[0].get("content-encoding") == "gzip"


# -- Arize AX ------------------------------------------------------------------------------------

AX_HEADERS = {
    "authorization": "ax-key",
    "api_key": "ax-key",
    "arize-space-id": "space-1",
    "space_id": "space-1",
    "arize-interface": "otel",
    # arize-otel 0.14's SDK identity headers, naming llmops
    "sdk-language": "python",
    "language-version": platform.python_version(),
    "sdk-version": llmops.__version__,
    "sdk-package-name": "llmops",
}


def test_arize_ax_headers(config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_CLIENT_HEADERS", "x-phoenix-only=1")  # a Phoenix setting
    port = free_port()
    provider, exporter = instrument_yaml(
        config,
        f"""
        arize:
          space_id: space-1
          api_key: ax-key
          endpoint: http://127.0.0.1:{port}
          protocol: grpc
          project_name: ax-project
          headers: {{x-extra: "1"}}
        """,
    )
    assert exporter_endpoint(exporter) == ("grpc", f"127.0.0.1:{port}")
    assert exporter_headers(exporter) == {**AX_HEADERS, "x-extra": "1"}
    assert provider.resource.attributes["openinference.project.name"] == "ax-project"


def test_arize_ax_endpoint_without_port_or_path_defaults_to_grpc(config: Any) -> None:
    _, exporter = instrument_yaml(
        config,
        f"arize:\n  space_id: space-1\n  api_key: ax-key\n  endpoint: http://127.0.0.1:{free_port()}\n",
    )
    assert exporter_endpoint(exporter)[0] == "grpc"


class RecordingExporterFactory:
    """What the destinations that :func:`setup_arize` resolved ask the OTLP exporter for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []


_RECORDED: list[RecordingExporterFactory] = []


@pytest.fixture
def recorded() -> Iterator[RecordingExporterFactory]:
    factory = RecordingExporterFactory()
    _RECORDED.append(factory)
    yield factory
    _RECORDED.remove(factory)


def setup_arize(**fields: Any) -> Any:
    """The platform's ``resolve`` (what ``setup`` was before the plan) on a section."""
    import os

    destination = ArizePlatform().resolve(ArizeConfig(**fields), Settings(), os.environ)
    for factory in _RECORDED:
        factory.calls.append(
            (destination.endpoint, destination.transport, dict(destination.headers))
        )
    return destination


def test_arize_ax_default_endpoint(recorded: RecordingExporterFactory) -> None:
    setup = setup_arize(space_id="space-1", api_key="ax-key")
    assert recorded.calls == [("https://otlp.arize.com/v1", "grpc", AX_HEADERS)]
    assert "Arize AX" in setup.description
    assert "ax-key" not in setup.description


def test_arize_ax_api_key_from_env(
    recorded: RecordingExporterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIZE_API_KEY", "ax-key")
    monkeypatch.setenv("PHOENIX_COLLECTOR_ENDPOINT", "http://127.0.0.1:6006")  # Phoenix only
    setup_arize(space_id="space-1")
    assert recorded.calls == [("https://otlp.arize.com/v1", "grpc", AX_HEADERS)]


def test_arize_ax_http_endpoint(recorded: RecordingExporterFactory) -> None:
    setup_arize(space_id="s", api_key="k", endpoint="https://otlp.eu-west-1a.arize.com/v1/traces")
    assert recorded.calls[0][:2] == ("https://otlp.eu-west-1a.arize.com/v1/traces", "http")


def test_phoenix_default_endpoint(recorded: RecordingExporterFactory) -> None:
    setup = setup_arize()
    assert recorded.calls == [("http://127.0.0.1:4317", "grpc", {})]
    assert setup.resource_attributes == {"openinference.project.name": "default"}


def test_space_id_without_api_key(config: Any) -> None:
    path = config("arize:\n  space_id: space-1\n  endpoint: http://127.0.0.1:4317\n")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    assert info.value.field == "$.arize.api_key"
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    assert "ARIZE_API_KEY" in str(info.value)


# -- credentials over plain http ------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    ["  api_key: k\n", "  headers: {x-auth: v}\n", "  space_id: s\n  api_key: k\n"],
    ids=["api_key", "headers", "arize-ax"],
)
def test_credentials_over_plain_http_to_remote_host_refused(config: Any, credentials: str) -> None:
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never routed; nothing is sent anyway.
    path = config("arize:\n  endpoint: http://192.0.2.10:4317\n" + credentials)
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    message = str(info.value)
    assert "allow_insecure" in message
    assert "https://" in message
    assert "192.0.2.10" in message
    assert info.value.path == str(path)
    assert info.value.field == WHERE


def test_credentials_over_plain_http_allowed_when_insecure_is_allowed(
    config: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="llmops")
    _, exporter = instrument_yaml(
        config,
        "arize:\n  endpoint: http://192.0.2.10:4317\n  api_key: k-insecure\n"
        "  allow_insecure: true\n",
    )
    assert exporter_endpoint(exporter) == ("grpc", "192.0.2.10:4317")
    llmops.shutdown()  # built and shut down: no span was created, nothing was sent
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("plain http" in m and "192.0.2.10" in m for m in warnings)
    assert not any("k-insecure" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:{port}",
        "http://127.9.9.9:{port}",
        "http://localhost:{port}",
        "http://[::1]:{port}",
        "https://phoenix.example:4317",
    ],
)
def test_credentials_allowed_over_loopback_or_tls(config: Any, endpoint: str) -> None:
    url = endpoint.format(port=free_port())
    _, exporter = instrument_yaml(
        config, f"arize:\n  endpoint: {url}\n  protocol: grpc\n  api_key: k\n"
    )
    assert exporter_headers(exporter)["authorization"] == "Bearer k"


def test_unclassifiable_endpoint_through_instrument(config: Any) -> None:
    path = config("arize:\n  endpoint: http://127.0.0.1:9000\n")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    assert str(info.value).startswith(str(path))
    assert info.value.field == WHERE
    assert "protocol" in str(info.value)


def test_secrets_never_logged(
    config: Any, caplog: pytest.LogCaptureFixture, receiver: OtlpReceiver
) -> None:
    secret, header_secret = "phx-SECRET-4d1c", "hdr-SECRET-93aa"
    caplog.set_level(logging.DEBUG)
    provider, _ = instrument_yaml(
        config,
        f"""
        arize:
          endpoint: {receiver.endpoint}
          api_key: {secret}
          headers: {{x-auth: {header_secret}}}
        """,
    )
    with provider.get_tracer("t").start_as_current_span("s"):
        pass
    provider.force_flush(5000)
    llmops.shutdown()
    assert receiver.headers[0]["authorization"] == f"Bearer {secret}"  # it was sent...
    for record in caplog.records:  # ... and never logged
        assert secret not in record.getMessage()
        assert header_secret not in record.getMessage()
