"""The ``otlp`` platform (``llmops.Platform.OTLP``): any OTLP backend, configured by its
``otlp:`` section or, with none, by the OpenTelemetry exporter variables.

The endpoint forms the specification and the collectors accept (and the ones refused), the
header lists (decoded, trimmed, lower-cased; refused without ever quoting a value), the TLS
files, then spans exported end to end: over OTLP/HTTP with gzip and headers to
``tests/otlp_receiver.py``'s receiver, over OTLP/gRPC (plaintext and mutual TLS) to a small
``grpcio`` receiver defined here, and with the ``OTEL_*`` variables alone. Last,
``llmops check --platform otlp`` naming the source of each value.

Every receiver binds 127.0.0.1; the remote host names in the tables are only planned, and
planning contacts nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest

import llmops
from llmops import ConfigurationError, Platform
from llmops._cli import EXIT_FAILED, EXIT_OK, main
from tests.core_support import clear_proxy_environment, exporter_endpoint, exporters_of
from tests.otlp_receiver import GrpcReceiver, OtlpReceiver, grpc_server_credentials
from tests.servers.tls import make_certificates

X = "OTEL_EXPORTER_OTLP_"
"""The OTLP exporter variables' prefix: ``f"{X}ENDPOINT"``."""
TRACING = {"schedule_delay_ms": 50, "shutdown_timeout_s": 1}


def write_config(directory: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    """llmops.yaml with ``sections`` in block style, each value as JSON (which YAML reads)."""
    lines: list[str] = []
    for section, body in sections.items():
        lines.append(f"{section}:")
        lines += [f"  {key}: {json.dumps(value)}" for key, value in body.items()]
    path = directory / "llmops.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plan_otlp(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    section: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:
    """The ``otlp`` destination the plan resolves for ``section`` and the variables ``env``."""
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    path = write_config(tmp_path, {"otlp": section}) if section else None
    return llmops.plan(Platform.OTLP, config_path=path).targets[0].destination


def refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    section: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        plan_otlp(tmp_path, monkeypatch, section, env)
    return info.value


# -- endpoint forms ----------------------------------------------------------------------------

FORMS = [
    # (section, variables) -> (exporter URL, transport)
    ({}, {}, "http://localhost:4318/v1/traces", "http"),
    ({"protocol": "grpc"}, {}, "http://localhost:4317", "grpc"),
    ({}, {f"{X}PROTOCOL": "grpc"}, "http://localhost:4317", "grpc"),
    # grpc:// and a bare host:port: gRPC, TLS unless insecure
    ({"endpoint": "grpc://collector.example:4317"}, {}, "https://collector.example:4317", "grpc"),
    (
        {"endpoint": "grpc://collector.example:4317", "insecure": True},
        {},
        "http://collector.example:4317",
        "grpc",
    ),
    ({"endpoint": "collector.example:4317"}, {}, "https://collector.example:4317", "grpc"),
    ({"endpoint": "collector.example:9000"}, {}, "https://collector.example:9000", "grpc"),
    (
        {"endpoint": "collector.example:4317"},
        {f"{X}INSECURE": "true"},
        "http://collector.example:4317",
        "grpc",
    ),
    ({}, {f"{X}ENDPOINT": "collector.example:4317"}, "https://collector.example:4317", "grpc"),
    ({"endpoint": "[::1]:4317"}, {}, "https://[::1]:4317", "grpc"),
    ({"endpoint": "grpc://[::1]:4317", "insecure": True}, {}, "http://[::1]:4317", "grpc"),
    # port 4317 without a path: gRPC, the scheme as written
    ({"endpoint": "http://collector.example:4317"}, {}, "http://collector.example:4317", "grpc"),
    ({"endpoint": "https://collector.example:4317"}, {}, "https://collector.example:4317", "grpc"),
    ({"endpoint": "http://[::1]:4317"}, {}, "http://[::1]:4317", "grpc"),
    # 4318, /v1/traces, a base ending in /v1, no port, a path prefix: OTLP/HTTP
    (
        {"endpoint": "http://collector.example:4318"},
        {},
        "http://collector.example:4318/v1/traces",
        "http",
    ),
    (
        {"endpoint": "http://collector.example:4318/"},
        {},
        "http://collector.example:4318/v1/traces",
        "http",
    ),
    ({"endpoint": "http://[::1]:4318"}, {}, "http://[::1]:4318/v1/traces", "http"),
    (
        {"endpoint": "http://collector.example:4317/v1/traces"},
        {},
        "http://collector.example:4317/v1/traces",
        "http",
    ),
    ({"endpoint": "https://api.example/v1"}, {}, "https://api.example/v1/traces", "http"),
    ({}, {f"{X}ENDPOINT": "https://api.example/v1/"}, "https://api.example/v1/traces", "http"),
    ({"endpoint": "https://api.example"}, {}, "https://api.example/v1/traces", "http"),
    (
        {"endpoint": "https://cloud.example/api/public/otel"},
        {},
        "https://cloud.example/api/public/otel/v1/traces",
        "http",
    ),
    ({"endpoint": "https://api.example/otel/"}, {}, "https://api.example/otel/v1/traces", "http"),
    (
        {"endpoint": "http://collector.example:4317/otel"},
        {},
        "http://collector.example:4317/otel/v1/traces",
        "http",
    ),
    # neither port nor path says: the specification's default, http/protobuf
    (
        {"endpoint": "http://collector.example:9000"},
        {},
        "http://collector.example:9000/v1/traces",
        "http",
    ),
    # traces_endpoint and its variable: used as they are
    (
        {"traces_endpoint": "https://api.example/custom/ingest"},
        {},
        "https://api.example/custom/ingest",
        "http",
    ),
    (
        {},
        {f"{X}TRACES_ENDPOINT": "http://collector.example:4318/custom"},
        "http://collector.example:4318/custom",
        "http",
    ),
    # the protocol spellings win over what the endpoint says
    (
        {"endpoint": "http://collector.example:4317", "protocol": "http/protobuf"},
        {},
        "http://collector.example:4317/v1/traces",
        "http",
    ),
    (
        {"endpoint": "http://collector.example:4317", "protocol": "http"},
        {},
        "http://collector.example:4317/v1/traces",
        "http",
    ),
    (
        {"endpoint": "http://collector.example:4318", "protocol": "grpc"},
        {},
        "http://collector.example:4318",
        "grpc",
    ),
    (
        {"endpoint": "http://collector.example:4318"},
        {f"{X}TRACES_PROTOCOL": "grpc"},
        "http://collector.example:4318",
        "grpc",
    ),
    (
        {"endpoint": "http://collector.example:4317"},
        {f"{X}PROTOCOL": "http/protobuf"},
        "http://collector.example:4317/v1/traces",
        "http",
    ),
]


@pytest.mark.parametrize(
    ("section", "env", "url", "transport"),
    FORMS,
    ids=[f"{json.dumps(s)}|{json.dumps(e)}" for s, e, _, _ in FORMS],
)
def test_endpoint_forms(
    section: dict[str, Any],
    env: dict[str, str],
    url: str,
    transport: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    destination = plan_otlp(tmp_path, monkeypatch, section, env)
    assert (destination.endpoint, destination.transport) == (url, transport)
    label = "OTLP/gRPC" if transport == "grpc" else "OTLP/HTTP"
    assert destination.description == f"{label} {url}"
    assert destination.resource_attributes == {}  # nothing backend-specific unless asked


REFUSED_FORMS = [
    # (section, variables, what the message says, what it must not say)
    ({"protocol": "http/json"}, {}, "$.otlp.protocol", None),
    ({}, {f"{X}PROTOCOL": "http/json"}, "use http/protobuf", None),
    ({}, {f"{X}TRACES_PROTOCOL": "thrift"}, f"${X}TRACES_PROTOCOL", None),
    ({"endpoint": "grpc://collector.example:4317", "protocol": "http"}, {}, "grpc", None),
    ({"endpoint": "collector.example:4317", "protocol": "http/protobuf"}, {}, "grpc", None),
    (
        {"endpoint": "grpc://collector.example:4317"},
        {f"{X}PROTOCOL": "http/protobuf"},
        "grpc",
        None,
    ),
    (
        {"endpoint": "http://user:s3cret-pw@collector.example:4318"},
        {},
        "user:password@",
        "s3cret-pw",
    ),
    (
        {"traces_endpoint": "https://user:s3cret-pw@api.example/v1/traces"},
        {},
        "$.otlp.traces_endpoint",
        "s3cret-pw",
    ),
    ({}, {f"{X}ENDPOINT": "https://:s3cret-pw@api.example"}, f"${X}ENDPOINT", "s3cret-pw"),
    ({"endpoint": "http://collector.example:4318/?token=s3cret-q"}, {}, "query", "s3cret-q"),
    ({"endpoint": "http://collector.example:4318/#s3cret-f"}, {}, "fragment", "s3cret-f"),
    ({"endpoint": "ftp://collector.example:21"}, {}, "grpc://", None),
    ({"endpoint": "collector.example"}, {}, "host:port", None),
    ({"endpoint": "http://collector.example:99999"}, {}, "port", None),
    ({"endpoint": "http://:4318"}, {}, "no host", None),
]


@pytest.mark.parametrize(
    ("section", "env", "needle", "secret"),
    REFUSED_FORMS,
    ids=[f"{json.dumps(s)}|{json.dumps(e)}" for s, e, _, _ in REFUSED_FORMS],
)
def test_refused_endpoint_forms(
    section: dict[str, Any],
    env: dict[str, str],
    needle: str,
    secret: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = refused(tmp_path, monkeypatch, section, env)
    assert needle in str(error)
    if secret is not None:
        assert secret not in str(error)
        assert secret not in repr(error)


# -- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%20key%20=%20value%20", {"key": "value"}),
        ("A=1, B=x%20y,,c=k%3Dv", {"a": "1", "b": "x y", "c": "k=v"}),
        ("Authorization=Bearer%20t%2Fk%3D%3D", {"authorization": "Bearer t/k=="}),
        ("x-team = search , X-Env=prod", {"x-team": "search", "x-env": "prod"}),
        ("x=1,x=2", {"x": "2"}),
    ],
)
def test_header_lists_are_decoded_trimmed_and_lower_cased(
    text: str, expected: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = plan_otlp(tmp_path, monkeypatch, env={f"{X}HEADERS": text})
    assert dict(destination.headers) == expected


def test_section_headers_replace_the_variables_whole_and_are_lower_cased(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = plan_otlp(
        tmp_path,
        monkeypatch,
        {"endpoint": "https://api.example", "headers": {"X-Team": "search"}},
        {f"{X}TRACES_HEADERS": "x-a=1", f"{X}HEADERS": "x-b=2"},
    )
    assert dict(destination.headers) == {"x-team": "search"}


@pytest.mark.parametrize(
    ("section", "env", "named"),
    [
        ({"headers": {"x-api-key": "s3cret-value\n"}}, {}, ("'x-api-key'", "$.otlp.headers")),
        ({"headers": {"x-api-key": "s3cret\x7fvalue"}}, {}, ("'x-api-key'",)),
        ({"headers": {"x-api-key": "s3cret\x00value"}}, {}, ("'x-api-key'",)),
        ({}, {f"{X}HEADERS": "x-api-key=s3cret\x01value"}, ("'x-api-key'", f"${X}HEADERS")),
        (
            {"endpoint": "grpc://127.0.0.1:4317", "headers": {"x-name": "s3cret-café"}},
            {},
            ("'x-name'", "ASCII"),
        ),
        (
            {"endpoint": "http://127.0.0.1:4317", "headers": {"x-name": "s3cret-café"}},
            {},
            ("'x-name'", "ASCII"),
        ),
        ({"headers": {"bad name": "s3cret-value"}}, {}, ("header name",)),
    ],
    ids=[
        "newline",
        "delete",
        "nul",
        "control-in-variable",
        "non-ascii-grpc",
        "non-ascii-grpc-4317",
        "bad-name",
    ],
)
def test_header_values_that_cannot_travel_are_refused_without_the_value(
    section: dict[str, Any],
    env: dict[str, str],
    named: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = refused(tmp_path, monkeypatch, section, env)
    for needle in named:
        assert needle in str(error)
    assert "s3cret" not in str(error)
    assert "s3cret" not in repr(error)


def test_non_ascii_header_over_http_is_not_a_grpc_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = plan_otlp(
        tmp_path, monkeypatch, {"endpoint": "https://api.example", "headers": {"x-name": "café"}}
    )
    assert destination.transport == "http"
    assert destination.headers == {"x-name": "café"}


@pytest.mark.parametrize(
    ("section", "env"),
    [
        ({"endpoint": "http://collector.example:4318", "headers": {"authorization": "s3cret"}}, {}),
        ({}, {f"{X}ENDPOINT": "http://10.1.2.3:4318", f"{X}HEADERS": "x-key=s3cret"}),
        (
            {
                "endpoint": "grpc://collector.example:4317",
                "insecure": True,
                "headers": {"k": "s3cret"},
            },
            {},
        ),
    ],
    ids=["file", "variables", "insecure-grpc"],
)
def test_credentials_over_plain_http_to_a_remote_host_are_refused(
    section: dict[str, Any], env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = refused(tmp_path, monkeypatch, section, env)
    assert "otlp.allow_insecure" in str(error)
    assert "s3cret" not in str(error)


def test_allow_insecure_lets_credentials_over_plain_http_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="llmops"):
        destination = plan_otlp(
            tmp_path,
            monkeypatch,
            {
                "endpoint": "http://collector.example:4318",
                "headers": {"authorization": "s3cret"},
                "allow_insecure": True,
            },
        )
    assert destination.endpoint == "http://collector.example:4318/v1/traces"
    assert "collector.example" in caplog.text
    assert "s3cret" not in caplog.text


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:4318", "http://localhost:4318", "http://[::1]:4318", "https://api.example"],
)
def test_credentials_over_loopback_or_tls_are_fine(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = {"endpoint": endpoint, "headers": {"authorization": "Bearer k"}}
    assert plan_otlp(tmp_path, monkeypatch, section).headers == {"authorization": "Bearer k"}


# -- TLS files ---------------------------------------------------------------------------------


@pytest.fixture
def pem_files(tmp_path: Path) -> Path:
    """ca.pem, client.pem and client.key in the working directory (existence is what the plan
    checks; the end-to-end TLS test uses real certificates)."""
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    (tmp_path / "a-directory").mkdir()
    return tmp_path


@pytest.mark.usefixtures("pem_files")
@pytest.mark.parametrize(
    ("section", "env", "key"),
    [
        ({"certificate_file": "missing-ca.pem"}, {}, "certificate_file"),
        ({"certificate_file": "a-directory"}, {}, "certificate_file"),
        ({}, {f"{X}CERTIFICATE": "missing-ca.pem"}, "certificate_file"),
        ({}, {f"{X}TRACES_CERTIFICATE": "missing-ca.pem"}, "certificate_file"),
        (
            {"client_certificate_file": "missing.pem", "client_key_file": "client.key"},
            {},
            "client_certificate_file",
        ),
        (
            {"client_certificate_file": "client.pem", "client_key_file": "missing.key"},
            {},
            "client_key_file",
        ),
        (
            {},
            {f"{X}CLIENT_CERTIFICATE": "client.pem", f"{X}CLIENT_KEY": "missing.key"},
            "client_key_file",
        ),
    ],
)
def test_tls_files_must_exist(
    section: dict[str, Any],
    env: dict[str, str],
    key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = refused(tmp_path, monkeypatch, section, env)
    assert key in str(error)
    assert error.field == f"$.otlp.{key}"


@pytest.mark.usefixtures("pem_files")
@pytest.mark.parametrize(
    ("section", "env"),
    [
        ({"client_certificate_file": "client.pem"}, {}),
        ({"client_key_file": "client.key"}, {}),
        ({}, {f"{X}CLIENT_CERTIFICATE": "client.pem"}),
        ({}, {f"{X}TRACES_CLIENT_KEY": "client.key"}),
    ],
    ids=["cert-only", "key-only", "cert-only-variable", "key-only-variable"],
)
def test_a_client_certificate_and_its_key_go_together(
    section: dict[str, Any], env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = refused(tmp_path, monkeypatch, section, env)
    assert "client_certificate_file" in str(error)
    assert "client_key_file" in str(error)


@pytest.mark.usefixtures("pem_files")
def test_mutual_tls_files_from_the_section_and_the_variables_pair_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = plan_otlp(
        tmp_path,
        monkeypatch,
        {"endpoint": "https://api.example", "client_certificate_file": "client.pem"},
        {f"{X}CLIENT_KEY": "client.key", f"{X}CERTIFICATE": "ca.pem"},
    )
    assert destination.client_certificate_file == "client.pem"
    assert destination.client_key_file == "client.key"
    assert destination.certificate_file == "ca.pem"


# -- end to end --------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def grpc_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrpcReceiver]:
    clear_proxy_environment(monkeypatch)
    with GrpcReceiver() as running:
        yield running


def send_spans(provider: Any, count: int = 2) -> None:
    tracer = provider.get_tracer("otlp-platform")
    for index in range(count):
        with tracer.start_as_current_span(f"span-{index}") as span:
            span.set_attribute("index", index)
    assert provider.force_flush(5000)


def test_spans_reach_an_http_receiver_with_gzip_and_headers(
    receiver: OtlpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{X}HEADERS", "x-from-env=1")  # the section's headers win whole
    path = write_config(
        tmp_path,
        {
            "service": {"name": "svc-otlp"},
            "tracing": TRACING,
            "otlp": {
                "endpoint": f"http://127.0.0.1:{receiver.port}",
                "compression": "gzip",
                "headers": {"Authorization": "Bearer k-e2e", "x-team": "search"},
                "resource_attributes": {"langfuse.project": "p-e2e"},
            },
        },
    )
    provider = llmops.instrument(Platform.OTLP, config_path=path)
    assert exporter_endpoint(exporters_of(provider)[0]) == ("http", receiver.endpoint)
    send_spans(provider)
    spans = receiver.wait_for_spans(2, timeout=5)
    assert sorted(s.name for s in spans) == ["span-0", "span-1"]
    assert {s.attributes["index"] for s in spans} == {0, 1}
    assert spans[0].resource["service.name"] == "svc-otlp"
    assert spans[0].resource["langfuse.project"] == "p-e2e"
    assert "openinference.project.name" not in spans[0].resource
    headers = receiver.headers[0]
    assert headers["content-encoding"] == "gzip"
    assert headers["authorization"] == "Bearer k-e2e"
    assert headers["x-team"] == "search"
    assert "x-from-env" not in headers


def test_spans_reach_a_grpc_receiver_with_gzip_and_metadata(
    grpc_receiver: GrpcReceiver, tmp_path: Path
) -> None:
    path = write_config(
        tmp_path,
        {
            "tracing": TRACING,
            "otlp": {
                "endpoint": f"grpc://127.0.0.1:{grpc_receiver.port}",
                "insecure": True,
                "compression": "gzip",
                "headers": {"X-Team": "search"},
            },
        },
    )
    provider = llmops.instrument(Platform.OTLP, config_path=path)
    send_spans(provider)
    spans = grpc_receiver.wait_for_spans(2, timeout=5)
    assert sorted(s.name for s in spans) == ["span-0", "span-1"]
    assert grpc_receiver.headers[0]["x-team"] == "search"
    # grpcio hides the message encoding from the servicer: the exporter is asked for gzip.
    assert exporters_of(provider)[0]._compression == grpc.Compression.Gzip


def test_spans_reach_a_grpc_receiver_over_mutual_tls_with_the_files_of_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_proxy_environment(monkeypatch)
    certs = make_certificates(tmp_path / "tls")
    with GrpcReceiver(grpc_server_credentials(certs, require_client_cert=True)) as tls_receiver:
        monkeypatch.setenv(f"{X}TRACES_ENDPOINT", f"127.0.0.1:{tls_receiver.port}")
        monkeypatch.setenv(f"{X}CERTIFICATE", str(certs.ca_cert))
        monkeypatch.setenv(f"{X}CLIENT_CERTIFICATE", str(certs.client_cert))
        monkeypatch.setenv(f"{X}CLIENT_KEY", str(certs.client_key))
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
        provider = llmops.instrument(Platform.OTLP)
        destination = llmops.plan(Platform.OTLP).targets[0].destination
        assert destination.endpoint == f"https://127.0.0.1:{tls_receiver.port}"
        send_spans(provider, 1)
        assert [s.name for s in tls_receiver.wait_for_spans(1, timeout=5)] == ["span-0"]


def test_instrument_otlp_with_the_otel_variables_only(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{X}ENDPOINT", f"http://127.0.0.1:{receiver.port}")
    monkeypatch.setenv(f"{X}HEADERS", "X-Team=env%20only,authorization=Bearer%20k-env")
    monkeypatch.setenv(f"{X}COMPRESSION", "gzip")
    monkeypatch.setenv(f"{X}TIMEOUT", "5000")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc-env")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    provider = llmops.instrument(Platform.OTLP)
    send_spans(provider)
    spans = receiver.wait_for_spans(2, timeout=5)
    assert sorted(s.name for s in spans) == ["span-0", "span-1"]
    assert spans[0].resource["service.name"] == "svc-env"
    assert "openinference.project.name" not in spans[0].resource
    headers = receiver.headers[0]
    assert headers["x-team"] == "env only"
    assert headers["authorization"] == "Bearer k-env"
    assert headers["content-encoding"] == "gzip"


def test_instrument_otlp_over_grpc_with_the_otel_variables_only(
    grpc_receiver: GrpcReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{X}ENDPOINT", f"127.0.0.1:{grpc_receiver.port}")  # bare: gRPC
    monkeypatch.setenv(f"{X}INSECURE", "true")
    monkeypatch.setenv(f"{X}HEADERS", "x-team=grpc")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    provider = llmops.instrument(Platform.OTLP)
    send_spans(provider, 1)
    assert [s.name for s in grpc_receiver.wait_for_spans(1, timeout=5)] == ["span-0"]
    assert grpc_receiver.headers[0]["x-team"] == "grpc"


# -- llmops check --platform otlp --------------------------------------------------------------


def check_rows(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[list[str], dict]:
    assert main(["check", "--platform", "otlp", *args]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    return lines, rows


def test_check_names_the_source_of_every_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(f"{X}ENDPOINT", "https://collector.example")
    monkeypatch.setenv(f"{X}HEADERS", "authorization=Bearer%20s3cret-check")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    path = tmp_path / "llmops.yaml"
    path.write_text("otlp:\n  compression: gzip\n  timeout_s: 4\n", encoding="utf-8")
    lines, rows = check_rows(capsys, str(path))
    assert lines[0] == f"valid: {path}"
    assert lines[1] == "otlp → OTLP/HTTP https://collector.example/v1/traces"
    assert rows["otlp.endpoint"] == ["https://collector.example", "env", f"{X}ENDPOINT"]
    assert rows["otlp.headers"][-2:] == ["env", f"{X}HEADERS"]
    assert rows["otlp.compression"] == ["gzip", f"{path}:2"]
    assert rows["otlp.timeout_s"] == ["4.0", f"{path}:3"]
    assert rows["tracing.sampler"] == ["always_on", "env", "OTEL_TRACES_SAMPLER"]
    assert "otlp.protocol" not in rows  # a default: only with --all

    lines, rows = check_rows(capsys, str(path), "--all")
    assert rows["otlp.protocol"][-1] == "default"
    assert rows["otlp.traces_endpoint"][-1] == "default"
    assert rows["otlp.insecure"][-1] == "default"
    out = "\n".join(lines)
    assert "s3cret-check" not in out


def test_check_refuses_what_instrument_refuses_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(f"{X}TIMEOUT", "10s")
    assert main(["check", "--platform", "otlp"]) == EXIT_FAILED
    assert re.search(rf"\${X}TIMEOUT: .*milliseconds", capsys.readouterr().err)
    with pytest.raises(ConfigurationError, match=rf"\${X}TIMEOUT"):
        llmops.instrument(Platform.OTLP)
