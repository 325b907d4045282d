"""The migration parity table: every set-up behaviour the peers' own tests pin, what the peer
does, what llmops does, and why when the two differ.

One row per behaviour. The peers are ``phoenix-otel`` (``phoenix.otel.register``),
``arize-otel`` (``arize.otel.register``) and ``otel`` (OpenTelemetry Python's own exporters
and SDK, configured from the environment as ``opentelemetry-instrument`` does). The tests in
this package build both sides in fresh interpreters (:mod:`tests.migration.peers`) and check,
for each row, the keys in ``compare`` of what was built (:mod:`tests.migration.probe` names
them):

* the peer's values are ``expect`` (so an upgraded peer that changed is noticed);
* ``relation == "same"``: llmops' values are the peer's;
* otherwise ``relation`` names a :data:`REASONS` entry, and llmops' values are
  ``llmops_expect``.

``docs/migration.md`` holds this table rendered by :func:`render_table`, between the markers
``<!-- parity:begin -->`` and ``<!-- parity:end -->``; a test keeps the two equal. After
editing this file: ``.venv/bin/python -m tests.migration.behaviours --write``.

Observation keys: ``transport`` (``grpc``/``http``), ``target`` (the gRPC ``host:port`` or the
HTTP URL the exporter posts to), ``host``, ``port``, ``path``, ``tls``, ``headers`` (all of
them, lower-cased, without the HTTP exporter's own ``content-type``/``user-agent``),
``header:<name>``, ``header_names``, ``compression``, ``timeout_s``, ``ca`` and
``client_cert`` (the text of the PEM file loaded), ``processor`` (``batch``/``simple``),
``bsp`` (the batch processor's four settings), ``sampler`` (its description; a trace-id
ratio of 1 reads ``AlwaysOnSampler``), ``recording`` (a span of the provider records),
``resource:<attribute>``, and ``refused`` (the set-up raised).

Placeholders in expected values, filled from the side that observed them: ``<python>``
(its Python version), ``<arize-otel>`` and ``<llmops>`` (those distributions' versions).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BEHAVIOURS", "PEERS", "REASONS", "Behaviour", "render_table"]

PEERS = {
    "phoenix-otel": "phoenix.otel",
    "arize-otel": "arize-otel",
    "otel": "OpenTelemetry Python",
}
"""Peer id (its ``benchmarks/requirements/<id>.txt`` and ``.venvs/peer-<id>``) → its name."""

REASONS: dict[str, str] = {
    "loopback-literal": (
        "llmops' Phoenix default is the address `127.0.0.1`, not the name `localhost`: "
        "`localhost` may resolve to `::1` first while Phoenix listens on IPv4 only."
    ),
    "batch-default": (
        "phoenix.otel exports every span synchronously unless `batch=True`, so each "
        "`span.end()` waits on the network; llmops batches by default (`tracing.batch: false` "
        "is the synchronous mode, for debugging)."
    ),
    "bsp-defaults": (
        "llmops' batch processor exports a partial batch after at most 1 s (not 5 s) and "
        "bounds an export at 10 s (not 30 s), so a short-lived process loses less and exits "
        "sooner. `OTEL_BSP_*` and the `tracing` keys change them."
    ),
    "signal-path": (
        "An OTLP/HTTP base URL gets `/v1/traces` appended, as the OTLP specification writes "
        "it; the peer posts to the URL exactly as written, where Phoenix and the Collector "
        "answer 404/405 and Arize AX documents `/v1/traces`."
    ),
    "no-guess": (
        "An endpoint that names no protocol (no `/v1/traces`, no known port, no `protocol`) "
        "is refused with a message asking for `protocol`; the peer guesses OTLP/HTTP, warns "
        "and posts to the URL as written."
    ),
    "protocol-alias": (
        "llmops also accepts `http`, its earlier spelling of `http/protobuf`; phoenix.otel "
        "refuses it."
    ),
    "env-url-kept": (
        "`PHOENIX_COLLECTOR_ENDPOINT` is Phoenix's base URL and llmops sends to the host and "
        "port it names (OTLP/HTTP unless it is the gRPC port). phoenix.otel, gRPC by default, "
        "swaps the port for `PHOENIX_GRPC_PORT` (4317), even in a URL ending in `/v1/traces`, "
        "which it then posts to over HTTP on the gRPC port."
    ),
    "otel-vars-per-spec": (
        "`OTEL_EXPORTER_OTLP_*` mean what the OpenTelemetry specification says (a base URL "
        "gets `/v1/traces`; port 4318 is OTLP/HTTP; the `TRACES_` variable is the full URL); "
        "phoenix.otel reads `OTEL_EXPORTER_OTLP_ENDPOINT` as a Phoenix base URL, swaps its "
        "port for 4317, and ignores `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`."
    ),
    "headers-merged": (
        "The config's `headers` are added to `PHOENIX_CLIENT_HEADERS`, winning key by key; "
        "phoenix.otel's `headers=` replaces the variable's headers whole."
    ),
    "otel-headers-scoped": (
        "`OTEL_EXPORTER_OTLP_(TRACES_)HEADERS` hold the credentials of the backend the "
        "`OTEL_EXPORTER_OTLP_*ENDPOINT` variables name, so llmops sends them only when the "
        "endpoint came from those variables too. The OpenTelemetry exporters under "
        "phoenix.otel and arize-otel add them to whatever Phoenix or Arize endpoint they were "
        "given (over gRPC, only when no other header is set): a collector's token would "
        "reach Phoenix."
    ),
    "refuse-invalid": (
        "A value llmops cannot read (a header entry without `=`, an unknown sampler, a "
        "ratio or a size that is not a number, an unknown compression) is a "
        "`ConfigurationError` naming the variable; the peer logs a warning and carries on "
        "with a default, so the setting silently does not apply."
    ),
    "project-from-service": (
        "Without a project name llmops files spans under the service name (`service.name`, "
        "`OTEL_SERVICE_NAME`) rather than `default`, so each service gets its own project."
    ),
    "no-dotenv": (
        "llmops reads its config file and the process environment, nothing else: it does "
        "not walk up the directory tree looking for a `.env.phoenix` file (a credential "
        "picked up from a parent directory is a source `llmops check` could not show). Export "
        "the variables, or write `${PHOENIX_API_KEY}` in the config."
    ),
    "sdk-identity": (
        "The `sdk-*` headers identify the exporting SDK, so llmops names itself "
        "(`sdk-package-name: llmops`, its own version) instead of claiming to be arize-otel."
    ),
    "peer-bug": (
        "arize-otel 0.14.1 cannot register OTLP/HTTP with the OpenTelemetry 1.4x exporters: "
        "`register(transport=Transport.HTTP)` raises `AttributeError` (it reads the "
        "exporter's former `_headers`). llmops builds it."
    ),
    "spec-default-protocol": (
        "With neither a protocol nor an endpoint that says which, the `otlp` platform uses "
        "`http/protobuf`, the specification's default, and port 4318 means OTLP/HTTP; "
        "OpenTelemetry Python's auto-configuration defaults to gRPC, even on port 4318."
    ),
    "timeout-ms": (
        "`OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT` are milliseconds, as the specification says; "
        "OpenTelemetry Python reads them as seconds (open-telemetry/opentelemetry-python#4044): "
        "`5000` is 5 s in llmops and 83 minutes there."
    ),
    "version-suffix": (
        "A base URL that already ends in the OTLP version, `/v1`, gets `/traces`, not a "
        "second `/v1`: `https://otlp.arize.com/v1` is how Arize writes its endpoint. "
        "OpenTelemetry Python appends `/v1/traces` to any base and posts to `/v1/v1/traces`."
    ),
    "credentials-plaintext": (
        "An API key or headers are refused over plain `http://` to a host that is not "
        "loopback, unless `arize.allow_insecure: true`; phoenix.otel sends the key in the "
        "clear."
    ),
    "gzip-only": (
        "llmops compresses with gzip or not at all: gzip is what every OTLP receiver must "
        "accept; OpenTelemetry Python's HTTP exporter also offers deflate (its gRPC exporter "
        "refuses it)."
    ),
    "insecure-scheme": (
        "`OTEL_EXPORTER_OTLP_INSECURE` applies to a gRPC endpoint written without a scheme, "
        "as the specification says: `http://` is always plaintext, `https://` always TLS. "
        "OpenTelemetry Python turns TLS on for `http://` when the variable is `false`."
    ),
}
"""Why llmops differs, by the id a row's ``relation`` names (the table's last column)."""


@dataclass(frozen=True)
class Behaviour:
    id: str
    peer: str
    title: str
    """The setting, as the docs table shows it (Markdown)."""
    source: str
    """Where the peer pins it: its test, or the code its tests exercise."""
    compare: tuple[str, ...]
    expect: Mapping[str, Any]
    relation: str = "same"
    llmops_expect: Mapping[str, Any] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    peer_call: Mapping[str, Any] = field(default_factory=dict)
    llmops_call: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)

    def scenario(self, side: str) -> dict[str, Any]:
        """What :mod:`tests.migration.probe` runs for ``side`` (the peer or ``llmops``)."""
        call = self.llmops_call if side == "llmops" else self.peer_call
        return {
            "id": self.id,
            "env": dict(self.env),
            "call": dict(call),
            "files": dict(self.files),
        }


# -- helpers: one peer call, and the llmops config that says the same -------------------------


def _phoenix_config(call: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    arize = {
        key: call[name]
        for name, key in (
            ("endpoint", "endpoint"),
            ("protocol", "protocol"),
            ("api_key", "api_key"),
            ("headers", "headers"),
            ("project_name", "project_name"),
        )
        if name in call
    }
    config: dict[str, Any] = {"arize": arize}
    if call.get("batch") is False:
        config["tracing"] = {"batch": False}
    for key, value in extra.items():
        config.setdefault(key, {}).update(value)
    return {"platform": "arize", "config": config}


def phoenix(
    id: str,
    title: str,
    source: str,
    compare: tuple[str, ...],
    expect: Mapping[str, Any],
    *,
    call: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    relation: str = "same",
    llmops_expect: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
) -> Behaviour:
    """A phoenix.otel row: ``register(**call)`` (``batch=True`` unless given) against
    ``instrument("arize")`` with the equivalent ``arize:`` section (plus ``config``)."""
    call = {"batch": True, **(call or {})}
    if call["batch"] is None:  # register()'s own default
        del call["batch"]
    return Behaviour(
        id=f"phoenix.{id}",
        peer="phoenix-otel",
        title=title,
        source=source,
        compare=compare,
        expect=expect,
        relation=relation,
        llmops_expect=llmops_expect,
        env=env or {},
        peer_call=call,
        llmops_call=_phoenix_config(call, config or {}),
        files=files or {},
    )


ARIZE_URLS = {
    "ARIZE": "https://otlp.arize.com/v1",
    "ARIZE_EUROPE": "https://otlp.eu-west-1a.arize.com/v1",
}


def arize(
    id: str,
    title: str,
    source: str,
    compare: tuple[str, ...],
    expect: Mapping[str, Any],
    *,
    call: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    relation: str = "same",
    llmops_expect: Mapping[str, Any] | None = None,
) -> Behaviour:
    """An arize-otel row: ``register(**call)`` against ``instrument("arize")`` with the
    ``arize:`` section that says the same (``space_id`` selects Arize AX)."""
    call = dict(call or {})
    section: dict[str, Any] = {}
    for name in ("space_id", "api_key", "project_name", "headers"):
        if name in call:
            section[name] = call[name]
    if "endpoint" in call:
        section["endpoint"] = ARIZE_URLS.get(call["endpoint"], call["endpoint"])
    if call.get("transport") == "http":
        section["protocol"] = "http/protobuf"
    config: dict[str, Any] = {"arize": section}
    if call.get("batch") is False:
        config["tracing"] = {"batch": False}
    return Behaviour(
        id=f"arize.{id}",
        peer="arize-otel",
        title=title,
        source=source,
        compare=compare,
        expect=expect,
        relation=relation,
        llmops_expect=llmops_expect,
        env=env or {},
        peer_call=call,
        llmops_call={"platform": "arize", "config": config},
    )


def otel(
    id: str,
    title: str,
    source: str,
    compare: tuple[str, ...],
    expect: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    relation: str = "same",
    llmops_expect: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
) -> Behaviour:
    """An OpenTelemetry row: the SDK's auto-configuration (``OTEL_TRACES_EXPORTER=otlp``)
    against ``instrument("otlp")`` with an empty ``otlp:`` section, both from ``env``."""
    return Behaviour(
        id=f"otel.{id}",
        peer="otel",
        title=title,
        source=source,
        compare=compare,
        expect=expect,
        relation=relation,
        llmops_expect=llmops_expect,
        env=env or {},
        peer_call={},
        llmops_call={"platform": "otlp", "config": {"otlp": {}}},
        files=files or {},
    )


GRPC = ("transport", "target", "tls")
PARENT_ON = (
    "ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler,"
    "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
    "localParentNotSampled:AlwaysOffSampler}"
)
SDK_BSP = {
    "max_queue_size": 2048,
    "schedule_delay_ms": 5000.0,
    "max_export_batch_size": 512,
    "export_timeout_ms": 30000.0,
}
LLMOPS_BSP = {
    "max_queue_size": 2048,
    "schedule_delay_ms": 1000.0,
    "max_export_batch_size": 512,
    "export_timeout_ms": 10000.0,
}
ENV_BSP = {
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "OTEL_BSP_MAX_QUEUE_SIZE": "100",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50",
    "OTEL_BSP_EXPORT_TIMEOUT": "3000",
}
BSP_FROM_ENV = {
    "max_queue_size": 100,
    "schedule_delay_ms": 200.0,
    "max_export_batch_size": 50,
    "export_timeout_ms": 3000.0,
}
PROJECT = "resource:openinference.project.name"
HTTP = "http/protobuf"
CA = "-----BEGIN CERTIFICATE-----\nCA-ONE\n-----END CERTIFICATE-----"
CA_TWO = "-----BEGIN CERTIFICATE-----\nCA-TWO\n-----END CERTIFICATE-----"
AX_AUTH = ("header:authorization", "header:api_key", "header:arize-space-id")
AX_AUTH_MORE = ("header:space_id", "header:arize-interface")
SPACE = {"space_id": "U3BhY2U6MQ==", "api_key": "ak-123"}
AX_ENV = {"ARIZE_SPACE_ID": "U3BhY2U6MQ==", "ARIZE_API_KEY": "ak-123"}

P_OTEL = "phoenix-otel tests/test_otel.py"
P_SETTINGS = "phoenix-otel tests/test_settings.py"
P_CODE = "phoenix-otel src/phoenix/otel/otel.py"
A_TEST = "arize-otel tests/test_otel.py"
A_CODE = "arize-otel src/arize/otel/otel.py"
G_TEST = "opentelemetry-exporter-otlp-proto-grpc tests/test_otlp_trace_exporter.py"
H_TEST = "opentelemetry-exporter-otlp-proto-http tests/test_proto_span_exporter.py"
S_TRACE = "opentelemetry-sdk tests/trace/test_trace.py"
S_EXPORT = "opentelemetry-sdk tests/trace/export/test_export.py"
S_RES = "opentelemetry-sdk tests/resources/test_resources.py"
S_CONF = "opentelemetry-sdk _configuration/__init__.py"


PHOENIX_ROWS = [
    # -- endpoint and transport --------------------------------------------------------------
    phoenix(
        "default-transport",
        "no endpoint, no variable",
        f"{P_OTEL}::test_register_basic",
        ("transport", "port", "tls"),
        {"transport": "grpc", "port": 4317, "tls": False},
    ),
    phoenix(
        "default-host",
        "no endpoint, no variable: the host",
        f"{P_OTEL}::TestEndpointNormalization::test_normalized_endpoint_none_defaults",
        ("host",),
        {"host": "localhost"},
        relation="loopback-literal",
        llmops_expect={"host": "127.0.0.1"},
    ),
    phoenix(
        "processor-default",
        "`register()` without `batch`",
        f"{P_OTEL}::test_register_basic",
        ("processor",),
        {"processor": "simple"},
        call={"batch": None},
        relation="batch-default",
        llmops_expect={"processor": "batch"},
    ),
    phoenix(
        "processor-batch",
        "`batch=True`",
        f"{P_OTEL}::test_register_with_batch_processor",
        ("processor",),
        {"processor": "batch"},
    ),
    phoenix(
        "processor-simple",
        "`batch=False` / `tracing.batch: false`",
        f"{P_OTEL}::test_register_with_simple_processor",
        ("processor",),
        {"processor": "simple"},
        call={"batch": False},
    ),
    phoenix(
        "endpoint-v1-traces",
        '`endpoint="http://127.0.0.1:6006/v1/traces"`',
        f"{P_OTEL}::test_register_with_http_endpoint",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:6006/v1/traces", "tls": False},
        call={"endpoint": "http://127.0.0.1:6006/v1/traces"},
    ),
    phoenix(
        "endpoint-4318-v1-traces",
        '`endpoint="http://127.0.0.1:4318/v1/traces"`',
        f"{P_OTEL}::TestTracerProvider::test_tracer_provider_with_http_endpoint",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:4318/v1/traces", "tls": False},
        call={"endpoint": "http://127.0.0.1:4318/v1/traces"},
    ),
    phoenix(
        "endpoint-prefix-v1-traces",
        '`endpoint="http://127.0.0.1:6006/prefix/v1/traces"`',
        f"{P_SETTINGS}::test_construct_http_endpoint",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:6006/prefix/v1/traces", "tls": False},
        call={"endpoint": "http://127.0.0.1:6006/prefix/v1/traces"},
    ),
    phoenix(
        "endpoint-4317",
        '`endpoint="http://127.0.0.1:4317"`',
        f"{P_OTEL}::TestEndpointNormalization",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": False},
        call={"endpoint": "http://127.0.0.1:4317"},
    ),
    phoenix(
        "endpoint-grpc-scheme",
        '`endpoint="grpc://127.0.0.1:4317"`',
        f"{P_OTEL}::test_register_with_grpc_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": True},
        call={"endpoint": "grpc://127.0.0.1:4317"},
    ),
    phoenix(
        "endpoint-bare",
        '`endpoint="127.0.0.1:4317"` (no scheme)',
        f"{P_OTEL}::TestTracerProvider::test_tracer_provider_with_grpc_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": True},
        call={"endpoint": "127.0.0.1:4317"},
    ),
    phoenix(
        "endpoint-6006-base",
        '`endpoint="http://127.0.0.1:6006"`',
        f"{P_CODE} (SimpleSpanProcessor: 'Could not infer collector endpoint protocol')",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:6006", "tls": False},
        call={"endpoint": "http://127.0.0.1:6006"},
        relation="signal-path",
        llmops_expect={
            "transport": "http",
            "target": "http://127.0.0.1:6006/v1/traces",
            "tls": False,
        },
    ),
    phoenix(
        "endpoint-4318-base",
        '`endpoint="http://127.0.0.1:4318"`',
        f"{P_CODE} (SimpleSpanProcessor: 'Could not infer collector endpoint protocol')",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:4318", "tls": False},
        call={"endpoint": "http://127.0.0.1:4318"},
        relation="signal-path",
        llmops_expect={
            "transport": "http",
            "target": "http://127.0.0.1:4318/v1/traces",
            "tls": False,
        },
    ),
    phoenix(
        "endpoint-https-no-port",
        '`endpoint="https://phoenix.example.com"`',
        f"{P_CODE} (SimpleSpanProcessor: 'Could not infer collector endpoint protocol')",
        GRPC,
        {"transport": "http", "target": "https://phoenix.example.com", "tls": True},
        call={"endpoint": "https://phoenix.example.com"},
        relation="signal-path",
        llmops_expect={
            "transport": "http",
            "target": "https://phoenix.example.com/v1/traces",
            "tls": True,
        },
    ),
    phoenix(
        "endpoint-unknown-port",
        '`endpoint="http://127.0.0.1:9000"`',
        f"{P_CODE} (SimpleSpanProcessor: 'Could not infer collector endpoint protocol')",
        ("refused", "transport", "target"),
        {"refused": False, "transport": "http", "target": "http://127.0.0.1:9000"},
        call={"endpoint": "http://127.0.0.1:9000"},
        relation="no-guess",
        llmops_expect={"refused": True, "transport": None, "target": None},
    ),
    phoenix(
        "protocol-http",
        '`protocol="http/protobuf"`, no endpoint',
        f"{P_OTEL}::test_register_with_http_protocol",
        ("transport", "port", "path"),
        {"transport": "http", "port": 6006, "path": "/v1/traces"},
        call={"protocol": HTTP},
    ),
    phoenix(
        "protocol-grpc",
        '`protocol="grpc"`, no endpoint',
        f"{P_OTEL}::test_register_with_grpc_protocol",
        ("transport", "port"),
        {"transport": "grpc", "port": 4317},
        call={"protocol": "grpc"},
    ),
    phoenix(
        "protocol-grpc-endpoint",
        '`protocol="grpc"`, `endpoint="http://127.0.0.1:6006"`',
        f"{P_OTEL}::TestSpanProcessors::test_batch_span_processor_grpc",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:6006", "tls": False},
        call={"protocol": "grpc", "endpoint": "http://127.0.0.1:6006"},
    ),
    phoenix(
        "protocol-http-endpoint",
        '`protocol="http/protobuf"`, `endpoint="http://127.0.0.1:6006"`',
        f"{P_CODE} (an explicit endpoint is used as written)",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:6006", "tls": False},
        call={"protocol": HTTP, "endpoint": "http://127.0.0.1:6006"},
        relation="signal-path",
        llmops_expect={
            "transport": "http",
            "target": "http://127.0.0.1:6006/v1/traces",
            "tls": False,
        },
    ),
    phoenix(
        "protocol-http-alias",
        '`protocol="http"`',
        f"{P_OTEL}::TestOTLPTransportProtocol::test_invalid_protocols",
        ("refused", "transport"),
        {"refused": True, "transport": None},
        call={"protocol": "http"},
        relation="protocol-alias",
        llmops_expect={"refused": False, "transport": "http"},
    ),
    phoenix(
        "protocol-invalid",
        '`protocol="thrift"`',
        f"{P_OTEL}::TestOTLPTransportProtocol::test_invalid_protocols",
        ("refused",),
        {"refused": True},
        call={"protocol": "thrift"},
    ),
    # -- endpoint from the environment -------------------------------------------------------
    phoenix(
        "env-endpoint-6006",
        "`PHOENIX_COLLECTOR_ENDPOINT=http://127.0.0.1:6006`",
        f"{P_SETTINGS}::test_get_env_collector_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": False},
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:6006"},
        relation="env-url-kept",
        llmops_expect={
            "transport": "http",
            "target": "http://127.0.0.1:6006/v1/traces",
            "tls": False,
        },
    ),
    phoenix(
        "env-endpoint-v1-traces",
        "`PHOENIX_COLLECTOR_ENDPOINT=http://127.0.0.1:6006/v1/traces`",
        f"{P_CODE} (_construct_grpc_endpoint)",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:4317/v1/traces", "tls": False},
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:6006/v1/traces"},
        relation="env-url-kept",
        llmops_expect={
            "transport": "http",
            "target": "http://127.0.0.1:6006/v1/traces",
            "tls": False,
        },
    ),
    phoenix(
        "env-endpoint-4317",
        "`PHOENIX_COLLECTOR_ENDPOINT=http://127.0.0.1:4317`",
        f"{P_SETTINGS}::test_get_env_collector_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": False},
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:4317"},
    ),
    phoenix(
        "env-endpoint-protocol-http",
        '`PHOENIX_COLLECTOR_ENDPOINT=http://127.0.0.1:6006`, `protocol="http/protobuf"`',
        f"{P_SETTINGS}::test_construct_http_endpoint",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:6006/v1/traces", "tls": False},
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:6006"},
        call={"protocol": HTTP},
    ),
    phoenix(
        "env-endpoint-prefix",
        '`PHOENIX_COLLECTOR_ENDPOINT=http://127.0.0.1:6006/prefix`, `protocol="http/protobuf"`',
        f"{P_SETTINGS}::test_construct_http_endpoint",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:6006/prefix/v1/traces", "tls": False},
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:6006/prefix"},
        call={"protocol": HTTP},
    ),
    phoenix(
        "cloud-space",
        "`PHOENIX_COLLECTOR_ENDPOINT=https://app.phoenix.arize.com/s/my-space`",
        f"{P_OTEL}::TestEndpointNormalization::test_normalized_endpoint_known_provider",
        GRPC,
        {
            "transport": "http",
            "target": "https://app.phoenix.arize.com/s/my-space/v1/traces",
            "tls": True,
        },
        env={"PHOENIX_COLLECTOR_ENDPOINT": "https://app.phoenix.arize.com/s/my-space"},
    ),
    phoenix(
        "cloud-root",
        "`PHOENIX_COLLECTOR_ENDPOINT=https://app.phoenix.arize.com`",
        f"{P_OTEL}::TestEndpointNormalization::test_normalized_endpoint_known_provider",
        GRPC,
        {"transport": "http", "target": "https://app.phoenix.arize.com/v1/traces", "tls": True},
        env={"PHOENIX_COLLECTOR_ENDPOINT": "https://app.phoenix.arize.com"},
    ),
    phoenix(
        "grpc-port",
        "`PHOENIX_GRPC_PORT=14317`",
        f"{P_SETTINGS}::TestEnvFileDiscovery::test_file_supports_multiple_values",
        ("transport", "port"),
        {"transport": "grpc", "port": 14317},
        env={"PHOENIX_GRPC_PORT": "14317"},
    ),
    phoenix(
        "grpc-port-endpoint",
        '`PHOENIX_GRPC_PORT=14317`, `endpoint="http://127.0.0.1:14317"`',
        f"{P_CODE} (_maybe_grpc_endpoint)",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:14317", "tls": False},
        env={"PHOENIX_GRPC_PORT": "14317"},
        call={"endpoint": "http://127.0.0.1:14317"},
    ),
    phoenix(
        "grpc-port-invalid",
        "`PHOENIX_GRPC_PORT=abc`",
        f"{P_SETTINGS} (get_env_grpc_port)",
        ("refused",),
        {"refused": True},
        env={"PHOENIX_GRPC_PORT": "abc"},
    ),
    phoenix(
        "otel-endpoint",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`",
        f"{P_SETTINGS}::test_get_env_collector_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": False},
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        relation="otel-vars-per-spec",
        llmops_expect={
            "transport": "http",
            "target": "http://127.0.0.1:4318/v1/traces",
            "tls": False,
        },
    ),
    phoenix(
        "otel-traces-endpoint",
        "`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:4318/v1/traces`",
        f"{P_CODE} (an explicit endpoint is always passed to the exporter)",
        ("transport", "port", "path"),
        {"transport": "grpc", "port": 4317, "path": ""},
        env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"},
        relation="otel-vars-per-spec",
        llmops_expect={"transport": "http", "port": 4318, "path": "/v1/traces"},
    ),
    phoenix(
        "collector-endpoint-wins",
        "`PHOENIX_COLLECTOR_ENDPOINT` and `OTEL_EXPORTER_OTLP_ENDPOINT` both set",
        f"{P_SETTINGS}::test_get_env_collector_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": False},
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.2:4318",
        },
    ),
    # -- headers ------------------------------------------------------------------------------
    phoenix(
        "api-key-env",
        "`PHOENIX_API_KEY=k1`",
        f"{P_SETTINGS} (get_env_phoenix_auth_header)",
        ("headers",),
        {"headers": {"authorization": "Bearer k1"}},
        env={"PHOENIX_API_KEY": "k1"},
    ),
    phoenix(
        "api-key-arg",
        '`api_key="k2"` / `arize.api_key: k2`',
        f"{P_CODE} (register: api_key)",
        ("headers",),
        {"headers": {"authorization": "Bearer k2"}},
        call={"api_key": "k2"},
    ),
    phoenix(
        "api-key-plaintext",
        "`PHOENIX_API_KEY` to `http://phoenix.internal:6006/v1/traces` (not loopback)",
        f"{P_CODE} (HTTPSpanExporter: the auth header, whatever the scheme)",
        ("refused", "headers"),
        {"refused": False, "headers": {"authorization": "Bearer k1"}},
        env={
            "PHOENIX_API_KEY": "k1",
            "PHOENIX_COLLECTOR_ENDPOINT": "http://phoenix.internal:6006/v1/traces",
        },
        relation="credentials-plaintext",
        llmops_expect={"refused": True, "headers": None},
    ),
    phoenix(
        "client-headers",
        "`PHOENIX_CLIENT_HEADERS='x-a=1, X-B = two ,x-c=a%20b'`",
        f"{P_SETTINGS}::test_parse_env_headers_skips_malformed_segments",
        ("headers",),
        {"headers": {"x-a": "1", "x-b": "two", "x-c": "a b"}},
        env={"PHOENIX_CLIENT_HEADERS": "x-a=1, X-B = two ,x-c=a%20b"},
    ),
    phoenix(
        "client-headers-unencoded",
        "`PHOENIX_CLIENT_HEADERS='x-a=a b'` (not URL-encoded)",
        f"{P_SETTINGS} (parse_env_headers)",
        ("headers",),
        {"headers": {"x-a": "a b"}},
        env={"PHOENIX_CLIENT_HEADERS": "x-a=a b"},
    ),
    phoenix(
        "client-headers-malformed",
        "`PHOENIX_CLIENT_HEADERS='x-a=1,bad'`",
        f"{P_SETTINGS}::test_parse_env_headers_skips_malformed_segments",
        ("refused", "headers"),
        {"refused": False, "headers": {"x-a": "1"}},
        env={"PHOENIX_CLIENT_HEADERS": "x-a=1,bad"},
        relation="refuse-invalid",
        llmops_expect={"refused": True, "headers": None},
    ),
    phoenix(
        "client-headers-and-api-key",
        "`PHOENIX_CLIENT_HEADERS` and `PHOENIX_API_KEY`",
        f"{P_OTEL}::TestSpanExporters::test_grpc_span_exporter_env_headers",
        ("headers",),
        {"headers": {"x-custom": "value", "authorization": "Bearer k1"}},
        env={"PHOENIX_CLIENT_HEADERS": "X-Custom=value", "PHOENIX_API_KEY": "k1"},
    ),
    phoenix(
        "api-key-over-client-authorization",
        "`PHOENIX_API_KEY` and an `authorization` in `PHOENIX_CLIENT_HEADERS`",
        f"{P_CODE} (GRPCSpanExporter: env headers, then the auth header)",
        ("headers",),
        {"headers": {"authorization": "Bearer k1"}},
        env={"PHOENIX_CLIENT_HEADERS": "authorization=Basic%20zz", "PHOENIX_API_KEY": "k1"},
    ),
    phoenix(
        "headers-arg-and-api-key",
        '`headers={"X-Team": "s"}` and `PHOENIX_API_KEY`',
        f"{P_OTEL}::TestSpanExporters::test_grpc_span_exporter_with_explicit_headers",
        ("headers",),
        {"headers": {"x-team": "s", "authorization": "Bearer k1"}},
        env={"PHOENIX_API_KEY": "k1"},
        call={"headers": {"X-Team": "s"}},
    ),
    phoenix(
        "headers-arg-authorization-wins",
        '`headers={"Authorization": "Bearer mine"}` and `PHOENIX_API_KEY`',
        f"{P_OTEL}::test_register_with_headers",
        ("headers",),
        {"headers": {"authorization": "Bearer mine"}},
        env={"PHOENIX_API_KEY": "k1"},
        call={"headers": {"Authorization": "Bearer mine"}},
    ),
    phoenix(
        "headers-arg-and-client-headers",
        '`headers={"x-b": "2"}` and `PHOENIX_CLIENT_HEADERS=x-a=1`',
        f"{P_CODE} (GRPCSpanExporter: explicit headers replace the environment's)",
        ("headers",),
        {"headers": {"x-b": "2"}},
        env={"PHOENIX_CLIENT_HEADERS": "x-a=1"},
        call={"headers": {"x-b": "2"}},
        relation="headers-merged",
        llmops_expect={"headers": {"x-a": "1", "x-b": "2"}},
    ),
    phoenix(
        "otel-headers",
        "`OTEL_EXPORTER_OTLP_HEADERS=x-o=1`, the endpoint from elsewhere",
        f"{P_OTEL}::TestSpanExporters (headers=None: the exporter reads the variable)",
        ("headers",),
        {"headers": {"x-o": "1"}},
        env={"OTEL_EXPORTER_OTLP_HEADERS": "x-o=1"},
        relation="otel-headers-scoped",
        llmops_expect={"headers": {}},
    ),
    phoenix(
        "otel-headers-with-otel-endpoint",
        "`OTEL_EXPORTER_OTLP_HEADERS` with `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317`",
        f"{P_SETTINGS}::test_get_env_collector_endpoint",
        ("transport", "target", "headers"),
        {"transport": "grpc", "target": "127.0.0.1:4317", "headers": {"x-o": "1"}},
        env={
            "OTEL_EXPORTER_OTLP_HEADERS": "x-o=1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        },
    ),
    phoenix(
        "otel-headers-and-api-key-grpc",
        "`OTEL_EXPORTER_OTLP_HEADERS` and `PHOENIX_API_KEY`, gRPC",
        f"{G_TEST}::test_otlp_headers_from_env",
        ("headers",),
        {"headers": {"authorization": "Bearer k1"}},
        env={"OTEL_EXPORTER_OTLP_HEADERS": "x-o=1", "PHOENIX_API_KEY": "k1"},
    ),
    phoenix(
        "otel-headers-and-api-key-http",
        "`OTEL_EXPORTER_OTLP_HEADERS` and `PHOENIX_API_KEY`, OTLP/HTTP",
        f"{H_TEST}::test_exporter_env",
        ("headers",),
        {"headers": {"authorization": "Bearer k1", "x-o": "1"}},
        env={"OTEL_EXPORTER_OTLP_HEADERS": "x-o=1", "PHOENIX_API_KEY": "k1"},
        call={"endpoint": "http://127.0.0.1:6006/v1/traces"},
        relation="otel-headers-scoped",
        llmops_expect={"headers": {"authorization": "Bearer k1"}},
    ),
    # -- project and resource ----------------------------------------------------------------
    phoenix(
        "project-default",
        "no project name",
        f"{P_SETTINGS}::test_get_env_project_name",
        (PROJECT,),
        {PROJECT: "default"},
    ),
    phoenix(
        "project-arg",
        '`project_name="c"` over `PHOENIX_PROJECT=b`',
        f"{P_OTEL}::test_register_with_project_name",
        (PROJECT,),
        {PROJECT: "c"},
        env={"PHOENIX_PROJECT": "b"},
        call={"project_name": "c"},
    ),
    phoenix(
        "project-env-name",
        "`PHOENIX_PROJECT_NAME=a`",
        f"{P_SETTINGS}::test_get_env_project_name",
        (PROJECT,),
        {PROJECT: "a"},
        env={"PHOENIX_PROJECT_NAME": "a"},
    ),
    phoenix(
        "project-env-canonical",
        "`PHOENIX_PROJECT=b`",
        f"{P_SETTINGS}::test_get_env_project_name",
        (PROJECT,),
        {PROJECT: "b"},
        env={"PHOENIX_PROJECT": "b"},
    ),
    phoenix(
        "project-canonical-wins",
        "`PHOENIX_PROJECT=b` and `PHOENIX_PROJECT_NAME=a`",
        f"{P_SETTINGS}::test_get_env_project_name",
        (PROJECT,),
        {PROJECT: "b"},
        env={"PHOENIX_PROJECT": "b", "PHOENIX_PROJECT_NAME": "a"},
    ),
    phoenix(
        "project-from-service",
        "`OTEL_SERVICE_NAME=svc`, no project name",
        f"{P_SETTINGS}::test_get_env_project_name",
        (PROJECT,),
        {PROJECT: "default"},
        env={"OTEL_SERVICE_NAME": "svc"},
        relation="project-from-service",
        llmops_expect={PROJECT: "svc"},
    ),
    phoenix(
        "resource-attributes",
        "`OTEL_RESOURCE_ATTRIBUTES=openinference.project.name=fromenv,team=x%20y`",
        f"{P_CODE} (Resource.create: the project attribute wins)",
        (PROJECT, "resource:team"),
        {PROJECT: "default", "resource:team": "x y"},
        env={"OTEL_RESOURCE_ATTRIBUTES": "openinference.project.name=fromenv,team=x%20y"},
    ),
    phoenix(
        "service-name",
        "`OTEL_SERVICE_NAME=svc`: the service",
        f"{S_RES} (OTEL_SERVICE_NAME)",
        ("resource:service.name",),
        {"resource:service.name": "svc"},
        env={"OTEL_SERVICE_NAME": "svc"},
    ),
    phoenix(
        "dotenv-file",
        "a `.env.phoenix` file in the working directory",
        f"{P_SETTINGS}::TestEnvFileDiscovery::test_file_supports_multiple_values",
        ("headers", PROJECT),
        {"headers": {"authorization": "Bearer filekey"}, PROJECT: "fileproj"},
        files={".env.phoenix": "PHOENIX_API_KEY=filekey\nPHOENIX_PROJECT=fileproj\n"},
        relation="no-dotenv",
        llmops_expect={"headers": {}, PROJECT: "default"},
    ),
    # -- the SDK underneath ------------------------------------------------------------------
    phoenix(
        "sampler-env",
        "`OTEL_TRACES_SAMPLER=traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.25`",
        f"{S_TRACE}::TestTracerSampling",
        ("sampler",),
        {"sampler": "TraceIdRatioBased{0.25}"},
        env={"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
    ),
    phoenix(
        "bsp-env",
        "`OTEL_BSP_SCHEDULE_DELAY`, `_MAX_QUEUE_SIZE`, `_MAX_EXPORT_BATCH_SIZE`, `_EXPORT_TIMEOUT`",
        f"{S_EXPORT}::TestBatchSpanProcessor::test_args_env_var",
        ("bsp",),
        {"bsp": BSP_FROM_ENV},
        env=ENV_BSP,
    ),
    phoenix(
        "bsp-defaults",
        "`batch=True`, no `OTEL_BSP_*`",
        f"{S_EXPORT} (the SDK's defaults)",
        ("bsp",),
        {"bsp": SDK_BSP},
        relation="bsp-defaults",
        llmops_expect={"bsp": LLMOPS_BSP},
    ),
    phoenix(
        "otel-compression",
        "`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`",
        f"{G_TEST}::test_otlp_exporter_otlp_compression_envvar",
        ("compression",),
        {"compression": "gzip"},
        env={"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
    ),
]


ARIZE_ROWS = [
    arize(
        "default-endpoint",
        "`space_id` and `api_key`, nothing else",
        f"{A_TEST}::test_register_adds_custom_span_processors_before_arize_exporter",
        GRPC,
        {"transport": "grpc", "target": "otlp.arize.com", "tls": True},
        call=SPACE,
    ),
    arize(
        "auth-headers",
        "the authentication headers",
        f"{A_TEST}::test_register_preserves_arize_headers_with_custom_span_processors",
        AX_AUTH + AX_AUTH_MORE,
        {
            "header:authorization": "ak-123",
            "header:api_key": "ak-123",
            "header:arize-space-id": "U3BhY2U6MQ==",
            "header:space_id": "U3BhY2U6MQ==",
            "header:arize-interface": "otel",
        },
        call=SPACE,
    ),
    arize(
        "header-names",
        "the headers sent",
        f"{A_CODE} (_get_arize_auth_headers, _get_arize_sdk_metadata_headers)",
        ("header_names",),
        {
            "header_names": [
                "api_key",
                "arize-interface",
                "arize-space-id",
                "authorization",
                "language-version",
                "sdk-language",
                "sdk-package-name",
                "sdk-version",
                "space_id",
            ]
        },
        call=SPACE,
    ),
    arize(
        "sdk-language",
        "`sdk-language` and `language-version`",
        f"{A_CODE} (_get_arize_sdk_metadata_headers)",
        ("header:sdk-language", "header:language-version"),
        {"header:sdk-language": "python", "header:language-version": "<python>"},
        call=SPACE,
    ),
    arize(
        "sdk-identity",
        "`sdk-package-name` and `sdk-version`",
        f"{A_CODE} (_get_arize_sdk_metadata_headers)",
        ("header:sdk-package-name", "header:sdk-version"),
        {"header:sdk-package-name": "arize-otel", "header:sdk-version": "<arize-otel>"},
        call=SPACE,
        relation="sdk-identity",
        llmops_expect={"header:sdk-package-name": "llmops", "header:sdk-version": "<llmops>"},
    ),
    arize(
        "custom-headers",
        '`headers={"X-Custom": "custom-value"}`',
        f"{A_TEST}::test_register_preserves_arize_headers_with_custom_span_processors",
        ("header:x-custom", "header:authorization", "header:arize-space-id"),
        {
            "header:x-custom": "custom-value",
            "header:authorization": "ak-123",
            "header:arize-space-id": "U3BhY2U6MQ==",
        },
        call={**SPACE, "headers": {"X-Custom": "custom-value"}},
    ),
    arize(
        "env-only",
        "`ARIZE_SPACE_ID` and `ARIZE_API_KEY` only",
        f"{A_CODE} (register: get_env_arize_space_id, get_env_arize_api_key)",
        (*GRPC, "header:arize-space-id", "header:authorization"),
        {
            "transport": "grpc",
            "target": "otlp.arize.com",
            "tls": True,
            "header:arize-space-id": "U3BhY2U6MQ==",
            "header:authorization": "ak-123",
        },
        env=AX_ENV,
    ),
    arize(
        "missing-api-key",
        "`space_id` without an API key",
        f"{A_CODE} (_validate_inputs)",
        ("refused",),
        {"refused": True},
        call={"space_id": "U3BhY2U6MQ=="},
    ),
    arize(
        "europe",
        "`endpoint=Endpoint.ARIZE_EUROPE` / `https://otlp.eu-west-1a.arize.com/v1`",
        f"{A_CODE} (Endpoint)",
        GRPC,
        {"transport": "grpc", "target": "otlp.eu-west-1a.arize.com", "tls": True},
        call={**SPACE, "endpoint": "ARIZE_EUROPE"},
    ),
    arize(
        "collector-endpoint-env",
        "`ARIZE_COLLECTOR_ENDPOINT=https://otlp.example.com/v1`",
        f"{A_CODE} (get_env_collector_endpoint)",
        GRPC,
        {"transport": "grpc", "target": "otlp.example.com", "tls": True},
        env={**AX_ENV, "ARIZE_COLLECTOR_ENDPOINT": "https://otlp.example.com/v1"},
    ),
    arize(
        "http-register",
        "`transport=Transport.HTTP` / `protocol: http/protobuf`",
        f"{A_CODE} (register → TracerProvider._tracing_details)",
        ("refused", "transport"),
        {"refused": True, "transport": None},
        call={**SPACE, "transport": "http"},
        relation="peer-bug",
        llmops_expect={"refused": False, "transport": "http"},
    ),
    arize(
        "http-url",
        'OTLP/HTTP to `endpoint="https://otlp.arize.com/v1"`',
        f"{A_CODE} (HTTPSpanExporter: the endpoint as written)",
        GRPC,
        {"transport": "http", "target": "https://otlp.arize.com/v1", "tls": True},
        call={
            "via": "processor",
            **SPACE,
            "endpoint": "https://otlp.arize.com/v1",
            "transport": "http",
        },
        relation="signal-path",
        llmops_expect={
            "transport": "http",
            "target": "https://otlp.arize.com/v1/traces",
            "tls": True,
        },
    ),
    arize(
        "otel-endpoint-ignored",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317` in Arize AX mode",
        f"{A_CODE} (an explicit endpoint is always passed to the exporter)",
        GRPC,
        {"transport": "grpc", "target": "otlp.arize.com", "tls": True},
        env={**AX_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
    ),
    arize(
        "otel-compression",
        "`OTEL_EXPORTER_OTLP_COMPRESSION=gzip` in Arize AX mode",
        f"{G_TEST}::test_otlp_exporter_otlp_compression_envvar (the exporter arize-otel makes)",
        ("compression",),
        {"compression": "gzip"},
        env={**AX_ENV, "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
    ),
    arize(
        "otel-timeout",
        "`OTEL_EXPORTER_OTLP_TIMEOUT=5000` in Arize AX mode",
        f"{G_TEST}::test_env_variables (the exporter arize-otel makes)",
        ("timeout_s",),
        {"timeout_s": 5000.0},
        env={**AX_ENV, "OTEL_EXPORTER_OTLP_TIMEOUT": "5000"},
        relation="timeout-ms",
        llmops_expect={"timeout_s": 5.0},
    ),
    arize(
        "otel-headers-http",
        "`OTEL_EXPORTER_OTLP_HEADERS=x-o=1`, Arize AX over OTLP/HTTP",
        f"{H_TEST}::test_exporter_env (the exporter arize-otel makes)",
        ("header:x-o", "header:arize-space-id"),
        {"header:x-o": "1", "header:arize-space-id": "U3BhY2U6MQ=="},
        call={
            "via": "processor",
            **SPACE,
            "endpoint": "https://otlp.arize.com/v1",
            "transport": "http",
        },
        env={"OTEL_EXPORTER_OTLP_HEADERS": "x-o=1"},
        relation="otel-headers-scoped",
        llmops_expect={"header:x-o": None, "header:arize-space-id": "U3BhY2U6MQ=="},
    ),
    arize(
        "processor",
        "`register()`: the span processor",
        f"{A_CODE} (register: batch=True)",
        ("processor",),
        {"processor": "batch"},
        call=SPACE,
    ),
    arize(
        "processor-simple",
        "`batch=False` / `tracing.batch: false`",
        f"{A_TEST}::test_register_adds_custom_span_processors_before_arize_exporter",
        ("processor",),
        {"processor": "simple"},
        call={**SPACE, "batch": False},
    ),
    arize(
        "project-default",
        "no project name",
        f"{A_CODE} (get_env_project_name)",
        (PROJECT,),
        {PROJECT: "default"},
        call=SPACE,
    ),
    arize(
        "project-arg",
        '`project_name="support-bot"`',
        f"{A_TEST}::test_register_adds_custom_span_processors_before_arize_exporter",
        (PROJECT,),
        {PROJECT: "support-bot"},
        call={**SPACE, "project_name": "support-bot"},
    ),
    arize(
        "project-env",
        "`ARIZE_PROJECT_NAME=p1`",
        f"{A_CODE} (get_env_project_name)",
        (PROJECT,),
        {PROJECT: "p1"},
        call=SPACE,
        env={"ARIZE_PROJECT_NAME": "p1"},
    ),
    arize(
        "project-ignores-phoenix-variable",
        "`PHOENIX_PROJECT_NAME=p2` in Arize AX mode",
        f"{A_CODE} (get_env_project_name reads ARIZE_PROJECT_NAME only)",
        (PROJECT,),
        {PROJECT: "default"},
        call=SPACE,
        env={"PHOENIX_PROJECT_NAME": "p2"},
    ),
    arize(
        "project-from-service",
        "`OTEL_SERVICE_NAME=svc`, no project name",
        f"{A_CODE} (get_env_project_name)",
        (PROJECT,),
        {PROJECT: "default"},
        call=SPACE,
        env={"OTEL_SERVICE_NAME": "svc"},
        relation="project-from-service",
        llmops_expect={PROJECT: "svc"},
    ),
    arize(
        "project-type-default",
        "the project type",
        f"{A_CODE} (register: arize.project.type)",
        ("resource:arize.project.type",),
        {"resource:arize.project.type": "application"},
        call=SPACE,
    ),
    arize(
        "project-type-env",
        "`ARIZE_PROJECT_TYPE=experiment`",
        f"{A_CODE} (get_env_project_type)",
        ("resource:arize.project.type",),
        {"resource:arize.project.type": "experiment"},
        call=SPACE,
        env={"ARIZE_PROJECT_TYPE": "experiment"},
    ),
    arize(
        "project-type-invalid",
        "`ARIZE_PROJECT_TYPE=nope`",
        f"{A_CODE} (parse_project_type)",
        ("refused",),
        {"refused": True},
        call=SPACE,
        env={"ARIZE_PROJECT_TYPE": "nope"},
    ),
]


OTEL_ROWS = [
    # -- protocol and endpoint ---------------------------------------------------------------
    otel(
        "default",
        "no `OTEL_EXPORTER_OTLP_*` variable",
        f"{S_CONF} (_get_exporter_entry_point: otlp → otlp_proto_grpc)",
        GRPC,
        {"transport": "grpc", "target": "localhost:4317", "tls": False},
        relation="spec-default-protocol",
        llmops_expect={
            "transport": "http",
            "target": "http://localhost:4318/v1/traces",
            "tls": False,
        },
    ),
    otel(
        "protocol-http",
        "`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`",
        f"{H_TEST}::test_constructor_default",
        GRPC,
        {"transport": "http", "target": "http://localhost:4318/v1/traces", "tls": False},
        env={"OTEL_EXPORTER_OTLP_PROTOCOL": HTTP},
    ),
    otel(
        "protocol-grpc",
        "`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`",
        f"{S_CONF} (_EXPORTER_BY_OTLP_PROTOCOL)",
        GRPC,
        {"transport": "grpc", "target": "localhost:4317", "tls": False},
        env={"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ),
    otel(
        "protocol-traces-wins",
        "`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` over `OTEL_EXPORTER_OTLP_PROTOCOL`",
        f"{S_CONF} (_PROTOCOL_ENV_BY_SIGNAL_TYPE)",
        ("transport",),
        {"transport": "http"},
        env={"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": HTTP},
    ),
    otel(
        "protocol-invalid",
        "`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`",
        f"{S_CONF} (Unsupported OTLP protocol)",
        ("refused",),
        {"refused": True},
        env={"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
    ),
    otel(
        "endpoint-grpc",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317`",
        f"{G_TEST}::test_otlp_exporter_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": False},
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
    ),
    otel(
        "endpoint-grpc-https",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:4317`",
        f"{G_TEST}::test_otlp_exporter_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": True},
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4317"},
    ),
    otel(
        "endpoint-bare",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=127.0.0.1:4317` (no scheme)",
        f"{G_TEST}::test_otlp_exporter_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": True},
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317"},
    ),
    otel(
        "endpoint-bare-insecure",
        "no scheme, `OTEL_EXPORTER_OTLP_INSECURE=true`",
        f"{G_TEST}::test_otlp_insecure_from_env",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": False},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        },
    ),
    otel(
        "insecure-traces-wins",
        "`OTEL_EXPORTER_OTLP_TRACES_INSECURE=true` over `OTEL_EXPORTER_OTLP_INSECURE=false`",
        f"{G_TEST}::test_otlp_insecure_from_env",
        ("tls",),
        {"tls": False},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_INSECURE": "false",
            "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true",
        },
    ),
    otel(
        "insecure-ignored-for-https",
        "`https://`, `OTEL_EXPORTER_OTLP_INSECURE=true`",
        f"{G_TEST}::test_otlp_exporter_endpoint",
        ("tls",),
        {"tls": True},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        },
    ),
    otel(
        "insecure-false-http",
        "`http://`, `OTEL_EXPORTER_OTLP_INSECURE=false`",
        f"{G_TEST}::test_otlp_exporter_endpoint",
        ("tls",),
        {"tls": True},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_INSECURE": "false",
        },
        relation="insecure-scheme",
        llmops_expect={"tls": False},
    ),
    otel(
        "endpoint-grpc-scheme",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=grpc://127.0.0.1:4317`",
        f"{G_TEST}::test_otlp_exporter_endpoint",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4317", "tls": True},
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://127.0.0.1:4317"},
    ),
    otel(
        "endpoint-http-base",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`, `http/protobuf`",
        f"{H_TEST}::test_exporter_env_endpoint_without_slash",
        GRPC,
        {"transport": "http", "target": "http://127.0.0.1:4318/v1/traces", "tls": False},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
        },
    ),
    otel(
        "endpoint-http-slash",
        "the same with a trailing `/`",
        f"{H_TEST}::test_exporter_env_endpoint_with_slash",
        ("target",),
        {"target": "http://127.0.0.1:4318/v1/traces"},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
        },
    ),
    otel(
        "endpoint-http-prefix",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318/otlp`, `http/protobuf`",
        f"{H_TEST}::test_exporter_env_endpoint_without_slash",
        ("target",),
        {"target": "http://127.0.0.1:4318/otlp/v1/traces"},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
        },
    ),
    otel(
        "endpoint-http-version",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:4318/v1`, `http/protobuf`",
        f"{H_TEST}::test_exporter_env_endpoint_without_slash",
        ("target",),
        {"target": "https://127.0.0.1:4318/v1/v1/traces"},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4318/v1",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
        },
        relation="version-suffix",
        llmops_expect={"target": "https://127.0.0.1:4318/v1/traces"},
    ),
    otel(
        "traces-endpoint-as-is",
        "`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:4318/custom` over the base variable",
        f"{H_TEST}::test_exporter_traces_env_take_priority",
        ("target",),
        {"target": "http://127.0.0.1:4318/custom"},
        env={
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/custom",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.2:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
        },
    ),
    otel(
        "traces-endpoint-grpc",
        "`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` over the base variable, gRPC",
        f"{G_TEST}::test_env_variables",
        ("target",),
        {"target": "127.0.0.1:4317"},
        env={
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.2:4317",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        },
    ),
    otel(
        "endpoint-4318-no-protocol",
        "`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`, no protocol",
        f"{S_CONF} (_get_exporter_entry_point)",
        GRPC,
        {"transport": "grpc", "target": "127.0.0.1:4318", "tls": False},
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        relation="spec-default-protocol",
        llmops_expect={
            "transport": "http",
            "target": "http://127.0.0.1:4318/v1/traces",
            "tls": False,
        },
    ),
    # -- headers ------------------------------------------------------------------------------
    otel(
        "headers",
        "`OTEL_EXPORTER_OTLP_HEADERS=' api-key = a%20b , X-Tenant=t1,x-eq=a==b'`",
        f"{G_TEST}::test_otlp_headers_from_env",
        ("headers",),
        {"headers": {"api-key": "a b", "x-tenant": "t1", "x-eq": "a==b"}},
        env={"OTEL_EXPORTER_OTLP_HEADERS": " api-key = a%20b , X-Tenant=t1,x-eq=a==b"},
    ),
    otel(
        "headers-http",
        "the same over OTLP/HTTP",
        f"{H_TEST}::test_exporter_env",
        ("headers",),
        {"headers": {"api-key": "a b", "x-tenant": "t1", "x-eq": "a==b"}},
        env={
            "OTEL_EXPORTER_OTLP_HEADERS": " api-key = a%20b , X-Tenant=t1,x-eq=a==b",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
        },
    ),
    otel(
        "headers-traces-wins",
        "`OTEL_EXPORTER_OTLP_TRACES_HEADERS` replaces `OTEL_EXPORTER_OTLP_HEADERS`",
        f"{H_TEST}::test_exporter_traces_env_take_priority",
        ("headers",),
        {"headers": {"x-c": "3"}},
        env={
            "OTEL_EXPORTER_OTLP_HEADERS": "x-a=1,x-b=2",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-c=3",
        },
    ),
    otel(
        "headers-malformed",
        "`OTEL_EXPORTER_OTLP_HEADERS='x-a=1,missingValue'`",
        f"{H_TEST}::test_headers_parse_from_env",
        ("refused", "headers"),
        {"refused": False, "headers": {"x-a": "1"}},
        env={"OTEL_EXPORTER_OTLP_HEADERS": "x-a=1,missingValue"},
        relation="refuse-invalid",
        llmops_expect={"refused": True, "headers": None},
    ),
    # -- compression, timeout, TLS files -----------------------------------------------------
    otel(
        "compression",
        "`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`",
        f"{G_TEST}::test_otlp_exporter_otlp_compression_envvar",
        ("compression",),
        {"compression": "gzip"},
        env={"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
    ),
    otel(
        "compression-traces-wins",
        "`OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip` over `OTEL_EXPORTER_OTLP_COMPRESSION=none`",
        f"{G_TEST}::test_otlp_exporter_otlp_compression_precendence",
        ("compression",),
        {"compression": "gzip"},
        env={
            "OTEL_EXPORTER_OTLP_COMPRESSION": "none",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
        },
    ),
    otel(
        "compression-http",
        "`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`, OTLP/HTTP",
        f"{H_TEST}::test_exporter_env",
        ("compression",),
        {"compression": "gzip"},
        env={"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP},
    ),
    otel(
        "compression-deflate-http",
        "`OTEL_EXPORTER_OTLP_COMPRESSION=deflate`, OTLP/HTTP",
        f"{H_TEST}::test_exporter_traces_env_take_priority",
        ("refused", "compression"),
        {"refused": False, "compression": "deflate"},
        env={"OTEL_EXPORTER_OTLP_COMPRESSION": "deflate", "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP},
        relation="gzip-only",
        llmops_expect={"refused": True, "compression": None},
    ),
    otel(
        "compression-deflate-grpc",
        "`OTEL_EXPORTER_OTLP_COMPRESSION=deflate`, gRPC",
        "opentelemetry-exporter-otlp-proto-grpc exporter.py (environ_to_compression)",
        ("refused",),
        {"refused": True},
        env={"OTEL_EXPORTER_OTLP_COMPRESSION": "deflate", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ),
    otel(
        "compression-invalid-http",
        "`OTEL_EXPORTER_OTLP_COMPRESSION=zstd`, OTLP/HTTP",
        "opentelemetry-exporter-otlp-proto-http _common (Unsupported compression type)",
        ("refused", "compression"),
        {"refused": False, "compression": "none"},
        env={"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP},
        relation="refuse-invalid",
        llmops_expect={"refused": True, "compression": None},
    ),
    otel(
        "timeout",
        "`OTEL_EXPORTER_OTLP_TIMEOUT=5000`",
        f"{G_TEST}::test_env_variables",
        ("timeout_s",),
        {"timeout_s": 5000.0},
        env={"OTEL_EXPORTER_OTLP_TIMEOUT": "5000", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        relation="timeout-ms",
        llmops_expect={"timeout_s": 5.0},
    ),
    otel(
        "timeout-traces-wins",
        "`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=2000` over `OTEL_EXPORTER_OTLP_TIMEOUT=5000`, HTTP",
        f"{H_TEST}::test_exporter_traces_env_take_priority",
        ("timeout_s",),
        {"timeout_s": 2000.0},
        env={
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5000",
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2000",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
        },
        relation="timeout-ms",
        llmops_expect={"timeout_s": 2.0},
    ),
    otel(
        "timeout-default",
        "no timeout variable",
        f"{H_TEST}::test_constructor_default",
        ("timeout_s",),
        {"timeout_s": 10.0},
    ),
    otel(
        "timeout-invalid",
        "`OTEL_EXPORTER_OTLP_TIMEOUT=soon`",
        "opentelemetry-exporter-otlp-proto-grpc exporter.py (float(OTEL_EXPORTER_OTLP_TIMEOUT))",
        ("refused",),
        {"refused": True},
        env={"OTEL_EXPORTER_OTLP_TIMEOUT": "soon", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ),
    otel(
        "certificate-grpc",
        "`OTEL_EXPORTER_OTLP_CERTIFICATE`, gRPC over TLS",
        f"{G_TEST}::test_env_variables",
        ("tls", "ca"),
        {"tls": True, "ca": CA},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_CERTIFICATE": "{dir}/ca.pem",
        },
        files={"ca.pem": CA + "\n"},
    ),
    otel(
        "certificate-traces-wins",
        "`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE` over `OTEL_EXPORTER_OTLP_CERTIFICATE`",
        f"{H_TEST}::test_exporter_traces_env_take_priority",
        ("ca",),
        {"ca": CA_TWO},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_CERTIFICATE": "{dir}/ca.pem",
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": "{dir}/ca2.pem",
        },
        files={"ca.pem": CA + "\n", "ca2.pem": CA_TWO + "\n"},
    ),
    otel(
        "certificate-http",
        "`OTEL_EXPORTER_OTLP_CERTIFICATE`, OTLP/HTTP over TLS",
        f"{H_TEST}::test_exporter_env",
        ("tls", "ca"),
        {"tls": True, "ca": CA},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
            "OTEL_EXPORTER_OTLP_CERTIFICATE": "{dir}/ca.pem",
        },
        files={"ca.pem": CA + "\n"},
    ),
    otel(
        "client-certificate-http",
        "`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`, OTLP/HTTP",
        f"{H_TEST}::test_exporter_env",
        ("client_cert",),
        {"client_cert": "CLIENT-CERT"},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": HTTP,
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "{dir}/client.pem",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY": "{dir}/client-key.pem",
        },
        files={"client.pem": "CLIENT-CERT\n", "client-key.pem": "CLIENT-KEY\n"},
    ),
    otel(
        "client-certificate-grpc",
        "`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`, gRPC",
        "opentelemetry-exporter-otlp-proto-grpc exporter.py (_get_credentials)",
        ("ca", "client_cert"),
        {"ca": CA, "client_cert": "CLIENT-CERT"},
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4317",
            "OTEL_EXPORTER_OTLP_CERTIFICATE": "{dir}/ca.pem",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "{dir}/client.pem",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY": "{dir}/client-key.pem",
        },
        files={
            "ca.pem": CA + "\n",
            "client.pem": "CLIENT-CERT\n",
            "client-key.pem": "CLIENT-KEY\n",
        },
    ),
    # -- sampler -------------------------------------------------------------------------------
    otel(
        "sampler-default",
        "no `OTEL_TRACES_SAMPLER`",
        f"{S_TRACE}::TestTracerSampling::test_default_sampler_type",
        ("sampler",),
        {"sampler": PARENT_ON},
    ),
    otel(
        "sampler-always-on",
        "`OTEL_TRACES_SAMPLER=always_on`",
        f"{S_TRACE}::TestTracerSampling::test_sampler_with_env",
        ("sampler",),
        {"sampler": "AlwaysOnSampler"},
        env={"OTEL_TRACES_SAMPLER": "always_on"},
    ),
    otel(
        "sampler-always-off",
        "`OTEL_TRACES_SAMPLER=always_off`",
        f"{S_TRACE}::TestTracerSampling::test_sampler_with_env",
        ("sampler",),
        {"sampler": "AlwaysOffSampler"},
        env={"OTEL_TRACES_SAMPLER": "always_off"},
    ),
    otel(
        "sampler-traceidratio",
        "`OTEL_TRACES_SAMPLER=traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.25`",
        f"{S_TRACE}::TestTracerSampling::test_ratio_sampler_with_env",
        ("sampler",),
        {"sampler": "TraceIdRatioBased{0.25}"},
        env={"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
    ),
    otel(
        "sampler-parentbased-traceidratio",
        "`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.5`",
        f"{S_TRACE}::TestTracerSampling::test_ratio_sampler_with_env",
        ("sampler",),
        {
            "sampler": "ParentBased{root:TraceIdRatioBased{0.5},"
            "remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,"
            "localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"
        },
        env={"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"},
    ),
    otel(
        "sampler-parentbased-always-off",
        "`OTEL_TRACES_SAMPLER=parentbased_always_off`",
        f"{S_TRACE}::TestTracerSampling::test_sampler_with_env",
        ("sampler",),
        {
            "sampler": "ParentBased{root:AlwaysOffSampler,remoteParentSampled:AlwaysOnSampler,"
            "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
            "localParentNotSampled:AlwaysOffSampler}"
        },
        env={"OTEL_TRACES_SAMPLER": "parentbased_always_off"},
    ),
    otel(
        "sampler-case",
        "`OTEL_TRACES_SAMPLER=AlWaYs_OfF` (any case)",
        "opentelemetry-sdk trace/sampling.py (_get_from_env_or_default: .lower())",
        ("sampler",),
        {"sampler": "AlwaysOffSampler"},
        env={"OTEL_TRACES_SAMPLER": "AlWaYs_OfF"},
    ),
    otel(
        "sampler-unknown",
        "`OTEL_TRACES_SAMPLER=sometimes`",
        "opentelemetry-sdk trace/sampling.py (Couldn't recognize sampler)",
        ("refused", "sampler"),
        {"refused": False, "sampler": PARENT_ON},
        env={"OTEL_TRACES_SAMPLER": "sometimes"},
        relation="refuse-invalid",
        llmops_expect={"refused": True, "sampler": None},
    ),
    otel(
        "sampler-bad-ratio",
        "`OTEL_TRACES_SAMPLER=traceidratio`, `OTEL_TRACES_SAMPLER_ARG=lots`",
        f"{S_TRACE}::TestTracerSampling::test_ratio_sampler_with_env",
        ("refused", "sampler"),
        {"refused": False, "sampler": "AlwaysOnSampler"},
        env={"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "lots"},
        relation="refuse-invalid",
        llmops_expect={"refused": True, "sampler": None},
    ),
    otel(
        "sampler-ratio-without-arg",
        "`OTEL_TRACES_SAMPLER=traceidratio` without `OTEL_TRACES_SAMPLER_ARG`",
        "opentelemetry-sdk trace/sampling.py (_get_from_env_or_default: rate 1.0)",
        ("refused", "sampler"),
        {"refused": False, "sampler": "AlwaysOnSampler"},
        env={"OTEL_TRACES_SAMPLER": "traceidratio"},
    ),
    otel(
        "sampler-ratio-out-of-range",
        "`OTEL_TRACES_SAMPLER=traceidratio`, `OTEL_TRACES_SAMPLER_ARG=2`",
        "opentelemetry-sdk trace/sampling.py (TraceIdRatioBased: rate in [0, 1])",
        ("refused", "sampler"),
        {"refused": False, "sampler": "AlwaysOnSampler"},
        env={"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
        relation="refuse-invalid",
        llmops_expect={"refused": True, "sampler": None},
    ),
    otel(
        "sdk-disabled",
        "`OTEL_SDK_DISABLED=true`",
        f"{S_TRACE}::TestTracerProvider::test_get_tracer_with_sdk_disabled",
        ("recording",),
        {"recording": False},
        env={"OTEL_SDK_DISABLED": "true"},
    ),
    otel(
        "sdk-enabled",
        "no `OTEL_SDK_DISABLED`: spans record",
        f"{S_TRACE}::TestTracerSampling::test_default_sampler",
        ("recording",),
        {"recording": True},
    ),
    # -- batch processor ---------------------------------------------------------------------
    otel(
        "bsp-env",
        "`OTEL_BSP_SCHEDULE_DELAY`, `_MAX_QUEUE_SIZE`, `_MAX_EXPORT_BATCH_SIZE`, `_EXPORT_TIMEOUT`",
        f"{S_EXPORT}::TestBatchSpanProcessor::test_args_env_var",
        ("bsp",),
        {"bsp": BSP_FROM_ENV},
        env=ENV_BSP,
    ),
    otel(
        "bsp-defaults",
        "no `OTEL_BSP_*`",
        f"{S_EXPORT}::TestBatchSpanProcessor (the defaults)",
        ("bsp",),
        {"bsp": SDK_BSP},
        relation="bsp-defaults",
        llmops_expect={"bsp": LLMOPS_BSP},
    ),
    otel(
        "bsp-batch-above-queue",
        "`OTEL_BSP_MAX_EXPORT_BATCH_SIZE=50` above `OTEL_BSP_MAX_QUEUE_SIZE=10`",
        f"{S_EXPORT}::TestBatchSpanProcessor (BatchSpanProcessor._validate_arguments)",
        ("refused",),
        {"refused": True},
        env={"OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "50"},
    ),
    otel(
        "bsp-invalid",
        "`OTEL_BSP_SCHEDULE_DELAY=soon`",
        f"{S_EXPORT}::TestBatchSpanProcessor (an unreadable value)",
        ("refused", "bsp"),
        {"refused": False, "bsp": SDK_BSP},
        env={"OTEL_BSP_SCHEDULE_DELAY": "soon"},
        relation="refuse-invalid",
        llmops_expect={"refused": True, "bsp": None},
    ),
    # -- resource ------------------------------------------------------------------------------
    otel(
        "service-name",
        "`OTEL_SERVICE_NAME=svc` over `service.name` in `OTEL_RESOURCE_ATTRIBUTES`",
        f"{S_RES}::test_service_name_env",
        ("resource:service.name",),
        {"resource:service.name": "svc"},
        env={"OTEL_SERVICE_NAME": "svc", "OTEL_RESOURCE_ATTRIBUTES": "service.name=other"},
    ),
    otel(
        "resource-attributes",
        "`OTEL_RESOURCE_ATTRIBUTES=team=a%20b,deployment.environment.name=prod`",
        f"{S_RES} (OTELResourceDetector)",
        ("resource:team", "resource:deployment.environment.name"),
        {"resource:team": "a b", "resource:deployment.environment.name": "prod"},
        env={"OTEL_RESOURCE_ATTRIBUTES": "team=a%20b,deployment.environment.name=prod"},
    ),
    otel(
        "resource-no-project",
        "no backend attribute added",
        f"{S_RES} (Resource.create)",
        (PROJECT,),
        {PROJECT: None},
    ),
]


BEHAVIOURS: list[Behaviour] = [*PHOENIX_ROWS, *ARIZE_ROWS, *OTEL_ROWS]


# -- the docs table ---------------------------------------------------------------------------

BEGIN, END = "<!-- parity:begin -->", "<!-- parity:end -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "migration.md"


def _short_sampler(text: str) -> str:
    if text.startswith("ParentBased{root:"):
        root = text[len("ParentBased{root:") :]
        depth, end = 0, len(root)
        for index, char in enumerate(root):
            depth += char == "{"
            depth -= char == "}"
            if char == "," and depth == 0:
                end = index
                break
        return f"ParentBased({root[:end]})"
    return text


def render_value(key: str, value: Any) -> str:
    """One observed value as the docs table writes it."""
    if key == "refused":
        return "refuses" if value else "accepts"
    if value is None:
        return f"no `{key.split(':', 1)[-1]}`" if ":" in key else f"no {key}"
    if key == "transport":
        return "gRPC" if value == "grpc" else "OTLP/HTTP"
    if key == "tls":
        return "TLS" if value else "plaintext"
    if key == "processor":
        return "batches" if value == "batch" else "exports synchronously"
    if key == "recording":
        return "spans record" if value else "spans do not record"
    if key == "sampler":
        return f"`{_short_sampler(value)}`"
    if key == "timeout_s":
        return f"timeout {value:g} s"
    if key == "bsp":
        return (
            f"every {value['schedule_delay_ms']:g} ms, queue {value['max_queue_size']}, "
            f"batch {value['max_export_batch_size']}, timeout {value['export_timeout_ms']:g} ms"
        )
    if key == "headers":
        if not value:
            return "no headers"
        return ", ".join(f"`{k}: {v}`" for k, v in value.items())
    if key == "header_names":
        return ", ".join(f"`{name}`" for name in value)
    if key.startswith("header:"):
        return f"`{key[7:]}: {value}`"
    if key.startswith("resource:"):
        return f"`{key[9:]}={value}`"
    if key in ("ca", "client_cert"):
        label = "CA bundle" if key == "ca" else "client certificate"
        return f"{label} loaded" if value else f"no {label}"
    if key in ("target", "host", "path"):
        return f"`{value}`" if value else f"no {key}"
    if key == "port":
        return f"port {value}"
    if key == "compression":
        return f"compression `{value}`"
    return f"`{key}={value}`"


def render(values: Mapping[str, Any], compare: tuple[str, ...]) -> str:
    if values.get("refused") is True:
        return "refuses"
    parts = [render_value(k, values.get(k)) for k in compare if k != "refused"]
    return ", ".join(parts)


def render_table() -> str:
    """The Markdown table ``docs/migration.md`` holds between the parity markers."""
    lines = [
        BEGIN,
        "",
        f"{len(BEHAVIOURS)} behaviours, "
        f"{sum(b.relation == 'same' for b in BEHAVIOURS)} the same, "
        f"{sum(b.relation != 'same' for b in BEHAVIOURS)} different on purpose. "
        "Generated from `tests/migration/behaviours.py`; each row is a test. `<python>`, "
        "`<arize-otel>` and `<llmops>` stand for the versions of the running Python and of "
        "those packages.",
        "",
    ]
    for peer, name in PEERS.items():
        rows = [b for b in BEHAVIOURS if b.peer == peer]
        lines += [
            f"#### {name}",
            "",
            f"| id | setting | {name} | llmops | why |",
            "| --- | --- | --- | --- | --- |",
        ]
        for b in rows:
            ours = "the same" if b.relation == "same" else render(b.llmops_expect or {}, b.compare)
            why = "" if b.relation == "same" else f"[{b.relation}](#{b.relation})"
            cells = [f"`{b.id}`", b.title, render(b.expect, b.compare), ours, why]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    lines += ["#### Why llmops differs", ""]
    used = [r for r in REASONS if any(b.relation == r for b in BEHAVIOURS)]
    for reason in used:
        lines.append(f"- **{reason}**{{ #{reason} }}: {REASONS[reason]}")
    lines.append("")
    lines.append(END)
    return "\n".join(lines)


def _write() -> None:
    text = DOC.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + render_table() + text[stop:])


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        _write()
    else:
        print(render_table())
