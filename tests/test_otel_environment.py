"""Issue 12's precedence, as one table: explicit config > the platform's own variables
(``PHOENIX_*``, ``ARIZE_*``) > the OpenTelemetry variables (``OTEL_*``) > the defaults.

Each row of :data:`TABLE` writes a file (or none), sets variables, makes the plan and reads
one key twice: the value the plan resolved (the destination's, or the common settings') and
the source ``plan.values()`` gives for it (what ``llmops check`` prints). :data:`ERRORS` is
the other half: a bad variable is a ConfigurationError naming the variable, and never quoting
a secret. Then the sampler as applied on the provider (``always_off`` exports nothing, to a
loopback receiver), and MLflow, which does not read ``OTEL_EXPORTER_OTLP_ENDPOINT``.

Nothing here leaves the machine: planning contacts nothing, and the one export goes to
``tests/otlp_receiver.py``'s loopback receiver.
"""

from __future__ import annotations

import json
import platform as python
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

import llmops
from llmops import ConfigurationError, Platform
from llmops._provider import SwappableSampler
from tests.core_support import free_port
from tests.otlp_receiver import OtlpReceiver

X = "OTEL_EXPORTER_OTLP_"
"""The OTLP exporter variables' prefix: ``f"{X}ENDPOINT"``."""
FILE = "file"
"""Expected source: the row's own file, at the line of the key."""
DEFAULT = "default"

AX_HEADERS = {
    "authorization": "ax-key",
    "api_key": "ax-key",
    "arize-space-id": "space-1",
    "space_id": "space-1",
    "arize-interface": "otel",
    "sdk-language": "python",
    "language-version": python.python_version(),
    "sdk-version": llmops.__version__,
    "sdk-package-name": "llmops",
}
AX = {"ARIZE_SPACE_ID": "space-1", "ARIZE_API_KEY": "ax-key"}
"""The variables alone that select Arize AX."""
OTEL_EVERYTHING = {
    f"{X}TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces",
    f"{X}ENDPOINT": "http://127.0.0.1:4318",
    f"{X}HEADERS": "x-otel=1",
    f"{X}TRACES_HEADERS": "x-otel-traces=1",
    f"{X}PROTOCOL": "http/protobuf",
    f"{X}COMPRESSION": "gzip",
    f"{X}TIMEOUT": "2500",
    f"{X}INSECURE": "true",
    f"{X}CERTIFICATE": "ca.pem",
}
"""Every OTLP exporter variable, set to something other than Arize AX's defaults."""
TLS_FILES = ("ca.pem", "other-ca.pem", "client.pem", "client.key", "other.pem", "other.key")
"""Written in the working directory (the test's tmp_path) before each row is planned."""


class Row(NamedTuple):
    id: str
    platform: str
    file: Mapping[str, Mapping[str, Any]]
    """Top-level sections written to llmops.yaml (none: no file at all)."""
    env: Mapping[str, str]
    key: str
    """The config key examined, as ``plan.values()`` names it."""
    expected: Any
    """What the plan resolved for that key (see :func:`resolved`)."""
    source: str | None
    """``FILE``, ``DEFAULT``, ``env NAME``; ``None``: not part of this row."""


def row(
    id: str,
    platform: str,
    key: str,
    expected: Any,
    source: str | None,
    *,
    file: Mapping[str, Mapping[str, Any]] | None = None,
    env: Mapping[str, str] | None = None,
) -> Row:
    return Row(id, platform, file or {}, env or {}, key, expected, source)


def env(name: str) -> str:
    return f"env {name}"


TABLE = [
    # -- otlp: the endpoint ------------------------------------------------------------------
    row(
        "otlp-traces_endpoint-file-beats-env",
        "otlp",
        "otlp.traces_endpoint",
        "https://file.example/custom/traces",
        FILE,
        file={"otlp": {"traces_endpoint": "https://file.example/custom/traces"}},
        env={f"{X}TRACES_ENDPOINT": "https://env.example/v1/traces"},
    ),
    row(
        "otlp-endpoint-file-beats-both-env",
        "otlp",
        "otlp.endpoint",
        "https://file.example/v1/traces",
        FILE,
        file={"otlp": {"endpoint": "https://file.example"}},
        env={
            f"{X}TRACES_ENDPOINT": "https://env.example/v1/traces",
            f"{X}ENDPOINT": "https://env.example",
        },
    ),
    row(
        "otlp-traces_endpoint-file-beats-endpoint-file",
        "otlp",
        "otlp.traces_endpoint",
        "https://exact.example/otlp",
        FILE,
        file={
            "otlp": {
                "endpoint": "https://base.example",
                "traces_endpoint": "https://exact.example/otlp",
            }
        },
    ),
    row(
        "otlp-traces_endpoint-env-as-is-beats-endpoint-env",
        "otlp",
        "otlp.traces_endpoint",
        "https://traces.example/custom",
        env(f"{X}TRACES_ENDPOINT"),
        env={
            f"{X}TRACES_ENDPOINT": "https://traces.example/custom",
            f"{X}ENDPOINT": "https://base.example",
        },
    ),
    row(
        "otlp-endpoint-env-is-a-base",
        "otlp",
        "otlp.endpoint",
        "https://base.example/v1/traces",
        env(f"{X}ENDPOINT"),
        env={f"{X}ENDPOINT": "https://base.example"},
    ),
    row(
        "otlp-endpoint-default-http",
        "otlp",
        "otlp.endpoint",
        "http://localhost:4318/v1/traces",
        DEFAULT,
    ),
    row(
        "otlp-endpoint-default-grpc-by-file-protocol",
        "otlp",
        "otlp.endpoint",
        "http://localhost:4317",
        DEFAULT,
        file={"otlp": {"protocol": "grpc"}},
    ),
    row(
        "otlp-endpoint-default-grpc-by-env-protocol",
        "otlp",
        "otlp.endpoint",
        "http://localhost:4317",
        DEFAULT,
        env={f"{X}PROTOCOL": "grpc"},
    ),
    # -- otlp: the protocol ------------------------------------------------------------------
    row(
        "otlp-protocol-file-beats-env-and-port",
        "otlp",
        "otlp.protocol",
        "http",
        FILE,
        file={"otlp": {"protocol": "http/protobuf"}},
        env={f"{X}PROTOCOL": "grpc", f"{X}ENDPOINT": "http://127.0.0.1:4317"},
    ),
    row(
        "otlp-protocol-traces-env-beats-generic",
        "otlp",
        "otlp.protocol",
        "grpc",
        env(f"{X}TRACES_PROTOCOL"),
        env={f"{X}TRACES_PROTOCOL": "grpc", f"{X}PROTOCOL": "http/protobuf"},
    ),
    row(
        "otlp-protocol-generic-env-beats-inferred",
        "otlp",
        "otlp.protocol",
        "http",
        env(f"{X}PROTOCOL"),
        env={f"{X}PROTOCOL": "http/protobuf", f"{X}ENDPOINT": "http://127.0.0.1:4317"},
    ),
    row(
        "otlp-protocol-inferred-from-4317",
        "otlp",
        "otlp.protocol",
        "grpc",
        DEFAULT,
        env={f"{X}ENDPOINT": "http://127.0.0.1:4317"},
    ),
    row("otlp-protocol-default", "otlp", "otlp.protocol", "http", DEFAULT),
    # -- otlp: headers (whole-list replacement) ----------------------------------------------
    row(
        "otlp-headers-file-win-whole",
        "otlp",
        "otlp.headers",
        {"x-file": "1"},
        FILE,
        file={"otlp": {"endpoint": "https://c.example", "headers": {"X-File": "1"}}},
        env={f"{X}TRACES_HEADERS": "x-env=2", f"{X}HEADERS": "x-env=3"},
    ),
    row(
        "otlp-headers-traces-env-win-whole",
        "otlp",
        "otlp.headers",
        {"a": "1"},
        env(f"{X}TRACES_HEADERS"),
        env={f"{X}TRACES_HEADERS": "a=1", f"{X}HEADERS": "a=2,b=3"},
    ),
    row(
        "otlp-headers-generic-env-decoded",
        "otlp",
        "otlp.headers",
        {"key": "va lue", "authorization": "Bearer t"},
        env(f"{X}HEADERS"),
        env={f"{X}HEADERS": "%20Key%20=%20va%20lue%20, Authorization=Bearer%20t"},
    ),
    row("otlp-headers-default", "otlp", "otlp.headers", {}, DEFAULT),
    # -- otlp: compression -------------------------------------------------------------------
    row(
        "otlp-compression-file-beats-env",
        "otlp",
        "otlp.compression",
        "gzip",
        FILE,
        file={"otlp": {"compression": "gzip"}},
        env={f"{X}TRACES_COMPRESSION": "none", f"{X}COMPRESSION": "none"},
    ),
    row(
        "otlp-compression-traces-env-beats-generic",
        "otlp",
        "otlp.compression",
        "gzip",
        env(f"{X}TRACES_COMPRESSION"),
        env={f"{X}TRACES_COMPRESSION": "gzip", f"{X}COMPRESSION": "none"},
    ),
    row(
        "otlp-compression-generic-env",
        "otlp",
        "otlp.compression",
        "gzip",
        env(f"{X}COMPRESSION"),
        env={f"{X}COMPRESSION": "gzip"},
    ),
    row(
        "otlp-compression-tracing-section",
        "otlp",
        "otlp.compression",
        "gzip",
        None,
        file={"tracing": {"compression": "gzip"}},
    ),
    row("otlp-compression-default", "otlp", "otlp.compression", "none", DEFAULT),
    # -- otlp: timeout (the variables are milliseconds) --------------------------------------
    row(
        "otlp-timeout-file-beats-env",
        "otlp",
        "otlp.timeout_s",
        3.0,
        FILE,
        file={"otlp": {"timeout_s": 3}},
        env={f"{X}TRACES_TIMEOUT": "2500", f"{X}TIMEOUT": "7000"},
    ),
    row(
        "otlp-timeout-traces-env-ms",
        "otlp",
        "otlp.timeout_s",
        2.5,
        env(f"{X}TRACES_TIMEOUT"),
        env={f"{X}TRACES_TIMEOUT": "2500", f"{X}TIMEOUT": "7000"},
    ),
    row(
        "otlp-timeout-generic-env-ms",
        "otlp",
        "otlp.timeout_s",
        7.0,
        env(f"{X}TIMEOUT"),
        env={f"{X}TIMEOUT": "7000"},
    ),
    row(
        "otlp-timeout-from-bsp-export-timeout",
        "otlp",
        "otlp.timeout_s",
        4.0,
        None,
        env={"OTEL_BSP_EXPORT_TIMEOUT": "4000"},
    ),
    row("otlp-timeout-default", "otlp", "otlp.timeout_s", 10.0, DEFAULT),
    # -- otlp: TLS files ---------------------------------------------------------------------
    row(
        "otlp-certificate-file-beats-env",
        "otlp",
        "otlp.certificate_file",
        "ca.pem",
        FILE,
        file={"otlp": {"certificate_file": "ca.pem"}},
        env={f"{X}TRACES_CERTIFICATE": "other-ca.pem", f"{X}CERTIFICATE": "other-ca.pem"},
    ),
    row(
        "otlp-certificate-traces-env-beats-generic",
        "otlp",
        "otlp.certificate_file",
        "ca.pem",
        env(f"{X}TRACES_CERTIFICATE"),
        env={f"{X}TRACES_CERTIFICATE": "ca.pem", f"{X}CERTIFICATE": "other-ca.pem"},
    ),
    row(
        "otlp-certificate-generic-env",
        "otlp",
        "otlp.certificate_file",
        "ca.pem",
        env(f"{X}CERTIFICATE"),
        env={f"{X}CERTIFICATE": "ca.pem"},
    ),
    row("otlp-certificate-default", "otlp", "otlp.certificate_file", None, DEFAULT),
    row(
        "otlp-client-certificate-file-beats-env",
        "otlp",
        "otlp.client_certificate_file",
        "client.pem",
        FILE,
        file={"otlp": {"client_certificate_file": "client.pem", "client_key_file": "client.key"}},
        env={f"{X}CLIENT_CERTIFICATE": "other.pem", f"{X}CLIENT_KEY": "other.key"},
    ),
    row(
        "otlp-client-key-file-beats-env",
        "otlp",
        "otlp.client_key_file",
        "client.key",
        FILE,
        file={"otlp": {"client_certificate_file": "client.pem", "client_key_file": "client.key"}},
        env={f"{X}CLIENT_CERTIFICATE": "other.pem", f"{X}CLIENT_KEY": "other.key"},
    ),
    row(
        "otlp-client-certificate-traces-env-beats-generic",
        "otlp",
        "otlp.client_certificate_file",
        "client.pem",
        env(f"{X}TRACES_CLIENT_CERTIFICATE"),
        env={
            f"{X}TRACES_CLIENT_CERTIFICATE": "client.pem",
            f"{X}CLIENT_CERTIFICATE": "other.pem",
            f"{X}TRACES_CLIENT_KEY": "client.key",
            f"{X}CLIENT_KEY": "other.key",
        },
    ),
    row(
        "otlp-client-key-traces-env-beats-generic",
        "otlp",
        "otlp.client_key_file",
        "client.key",
        env(f"{X}TRACES_CLIENT_KEY"),
        env={
            f"{X}TRACES_CLIENT_CERTIFICATE": "client.pem",
            f"{X}CLIENT_CERTIFICATE": "other.pem",
            f"{X}TRACES_CLIENT_KEY": "client.key",
            f"{X}CLIENT_KEY": "other.key",
        },
    ),
    row(
        "otlp-client-key-generic-env",
        "otlp",
        "otlp.client_key_file",
        "client.key",
        env(f"{X}CLIENT_KEY"),
        env={f"{X}CLIENT_CERTIFICATE": "client.pem", f"{X}CLIENT_KEY": "client.key"},
    ),
    row("otlp-client-key-default", "otlp", "otlp.client_key_file", None, DEFAULT),
    # -- otlp: insecure (seen in the URL of a grpc:// endpoint) ------------------------------
    row(
        "otlp-insecure-file-beats-env",
        "otlp",
        "otlp.insecure",
        "https://collector.example:4317",
        FILE,
        file={"otlp": {"endpoint": "grpc://collector.example:4317", "insecure": False}},
        env={f"{X}TRACES_INSECURE": "true", f"{X}INSECURE": "true"},
    ),
    row(
        "otlp-insecure-traces-env-beats-generic",
        "otlp",
        "otlp.insecure",
        "https://collector.example:4317",
        env(f"{X}TRACES_INSECURE"),
        file={"otlp": {"endpoint": "grpc://collector.example:4317"}},
        env={f"{X}TRACES_INSECURE": "false", f"{X}INSECURE": "true"},
    ),
    row(
        "otlp-insecure-generic-env",
        "otlp",
        "otlp.insecure",
        "http://collector.example:4317",
        env(f"{X}INSECURE"),
        file={"otlp": {"endpoint": "collector.example:4317"}},
        env={f"{X}INSECURE": "true"},
    ),
    row(
        "otlp-insecure-default-is-tls",
        "otlp",
        "otlp.insecure",
        "https://collector.example:4317",
        DEFAULT,
        env={f"{X}ENDPOINT": "grpc://collector.example:4317"},
    ),
    # -- otlp: no resource attributes unless asked -------------------------------------------
    row(
        "otlp-resource-attributes-file",
        "otlp",
        "otlp.resource_attributes",
        {"langfuse.project": "p"},
        FILE,
        file={"otlp": {"resource_attributes": {"langfuse.project": "p"}}},
    ),
    row(
        "otlp-resource-attributes-none-by-default",
        "otlp",
        "otlp.resource_attributes",
        {},
        DEFAULT,
        env={"PHOENIX_PROJECT": "p", "OTEL_SERVICE_NAME": "svc"},
    ),
    # -- arize (Phoenix): the endpoint -------------------------------------------------------
    row(
        "phoenix-endpoint-file-beats-every-variable",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:6006/v1/traces",
        FILE,
        file={"arize": {"endpoint": "http://127.0.0.1:6006"}},
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:4317",
            f"{X}TRACES_ENDPOINT": "http://127.0.0.1:9000/v1/traces",
            f"{X}ENDPOINT": "http://127.0.0.1:4317",
        },
    ),
    row(
        "phoenix-endpoint-collector-variable-beats-otel",
        "arize",
        "arize.endpoint",
        "https://phoenix.example/v1/traces",
        env("PHOENIX_COLLECTOR_ENDPOINT"),
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "https://phoenix.example",
            f"{X}TRACES_ENDPOINT": "http://127.0.0.1:9000/v1/traces",
            f"{X}ENDPOINT": "http://127.0.0.1:4317",
        },
    ),
    row(
        "phoenix-endpoint-collector-variable-is-an-http-base",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:9000/v1/traces",
        env("PHOENIX_COLLECTOR_ENDPOINT"),
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:9000"},
    ),
    row(
        "phoenix-endpoint-collector-variable-on-the-grpc-port",
        "arize",
        "arize.protocol",
        "grpc",
        DEFAULT,
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://phoenix.example:4317"},
    ),
    row(
        "phoenix-endpoint-collector-variable-on-phoenix-grpc-port",
        "arize",
        "arize.endpoint",
        "http://phoenix.example:4999",
        env("PHOENIX_COLLECTOR_ENDPOINT"),
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "http://phoenix.example:4999",
            "PHOENIX_GRPC_PORT": "4999",
        },
    ),
    row(
        "phoenix-endpoint-collector-variable-written-for-grpc",
        "arize",
        "arize.endpoint",
        "https://phoenix.example:9000",
        env("PHOENIX_COLLECTOR_ENDPOINT"),
        env={"PHOENIX_COLLECTOR_ENDPOINT": "grpc://phoenix.example:9000"},
    ),
    row(
        "phoenix-endpoint-otel-traces-as-is-beats-otel-base",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:9000/custom",
        env(f"{X}TRACES_ENDPOINT"),
        env={
            f"{X}TRACES_ENDPOINT": "http://127.0.0.1:9000/custom",
            f"{X}ENDPOINT": "http://127.0.0.1:4317",
        },
    ),
    row(
        "phoenix-endpoint-otel-base",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:9000/v1/traces",
        env(f"{X}ENDPOINT"),
        env={f"{X}ENDPOINT": "http://127.0.0.1:9000"},
    ),
    row(
        "phoenix-endpoint-default-grpc",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:4317",
        DEFAULT,
    ),
    row(
        "phoenix-endpoint-default-grpc-port-variable",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:4999",
        None,
        env={"PHOENIX_GRPC_PORT": "4999"},
    ),
    row(
        "phoenix-endpoint-default-http-by-file-protocol",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:6006/v1/traces",
        DEFAULT,
        file={"arize": {"protocol": "http"}},
    ),
    row(
        "phoenix-endpoint-default-http-by-otel-protocol",
        "arize",
        "arize.endpoint",
        "http://127.0.0.1:6006/v1/traces",
        DEFAULT,
        env={f"{X}PROTOCOL": "http/protobuf"},
    ),
    # -- arize (Phoenix): the protocol -------------------------------------------------------
    row(
        "phoenix-protocol-file-beats-otel",
        "arize",
        "arize.protocol",
        "grpc",
        FILE,
        file={"arize": {"protocol": "grpc"}},
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:6006",
            f"{X}PROTOCOL": "http/protobuf",
        },
    ),
    row(
        "phoenix-protocol-otel-traces-beats-generic",
        "arize",
        "arize.protocol",
        "grpc",
        env(f"{X}TRACES_PROTOCOL"),
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:6006",
            f"{X}TRACES_PROTOCOL": "grpc",
            f"{X}PROTOCOL": "http/protobuf",
        },
    ),
    row(
        "phoenix-protocol-otel-generic-beats-the-endpoint",
        "arize",
        "arize.protocol",
        "http",
        env(f"{X}PROTOCOL"),
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:4317",
            f"{X}PROTOCOL": "http/protobuf",
        },
    ),
    row("phoenix-protocol-default-grpc", "arize", "arize.protocol", "grpc", DEFAULT),
    # -- arize (Phoenix): the project --------------------------------------------------------
    row(
        "phoenix-project-file-beats-variables",
        "arize",
        "arize.project_name",
        "p-file",
        FILE,
        file={"arize": {"project_name": "p-file"}, "service": {"name": "svc-file"}},
        env={"PHOENIX_PROJECT": "p-env", "PHOENIX_PROJECT_NAME": "pn-env"},
    ),
    row(
        "phoenix-project-variable-beats-project-name-variable",
        "arize",
        "arize.project_name",
        "p-env",
        env("PHOENIX_PROJECT"),
        env={"PHOENIX_PROJECT": "p-env", "PHOENIX_PROJECT_NAME": "pn-env"},
    ),
    row(
        "phoenix-project-name-variable-beats-service-name",
        "arize",
        "arize.project_name",
        "pn-env",
        env("PHOENIX_PROJECT_NAME"),
        file={"service": {"name": "svc-file"}},
        env={"PHOENIX_PROJECT_NAME": "pn-env", "OTEL_SERVICE_NAME": "svc-env"},
    ),
    row(
        "phoenix-project-service-name-beats-otel-service-name",
        "arize",
        "arize.project_name",
        "svc-file",
        DEFAULT,
        file={"service": {"name": "svc-file"}},
        env={"OTEL_SERVICE_NAME": "svc-env"},
    ),
    row(
        "phoenix-project-otel-service-name",
        "arize",
        "arize.project_name",
        "svc-env",
        DEFAULT,
        env={"OTEL_SERVICE_NAME": "svc-env"},
    ),
    row("phoenix-project-default", "arize", "arize.project_name", "default", DEFAULT),
    # -- arize (Phoenix): headers and the API key --------------------------------------------
    row(
        "phoenix-headers-file-win-key-by-key-over-client-headers",
        "arize",
        "arize.headers",
        {"a": "env", "b": "file"},
        FILE,
        file={"arize": {"headers": {"B": "file"}}},
        env={"PHOENIX_CLIENT_HEADERS": "a=env,b=env"},
    ),
    row(
        "phoenix-headers-client-headers-variable",
        "arize",
        "arize.headers",
        {"a": "1"},
        env("PHOENIX_CLIENT_HEADERS"),
        env={"PHOENIX_CLIENT_HEADERS": "A=1"},
    ),
    row(
        "phoenix-headers-client-headers-beat-otel-headers",
        "arize",
        "arize.headers",
        {"a": "phoenix"},
        env("PHOENIX_CLIENT_HEADERS"),
        env={
            "PHOENIX_CLIENT_HEADERS": "a=phoenix",
            f"{X}ENDPOINT": "http://127.0.0.1:4318",
            f"{X}HEADERS": "b=otel",
        },
    ),
    row(
        "phoenix-headers-otel-headers-with-an-otel-endpoint",
        "arize",
        "arize.headers",
        {"b": "otel"},
        env(f"{X}HEADERS"),
        env={f"{X}ENDPOINT": "http://127.0.0.1:4318", f"{X}HEADERS": "b=otel"},
    ),
    row(
        "phoenix-headers-otel-traces-headers-with-an-otel-traces-endpoint",
        "arize",
        "arize.headers",
        {"c": "traces"},
        env(f"{X}TRACES_HEADERS"),
        env={
            f"{X}TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces",
            f"{X}TRACES_HEADERS": "c=traces",
            f"{X}HEADERS": "b=otel",
        },
    ),
    row(
        "phoenix-headers-otel-headers-ignored-with-the-default-endpoint",
        "arize",
        "arize.headers",
        {},
        DEFAULT,
        env={f"{X}HEADERS": "b=otel"},
    ),
    row(
        "phoenix-headers-otel-headers-ignored-with-the-collector-variable",
        "arize",
        "arize.headers",
        {},
        DEFAULT,
        env={"PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:6006", f"{X}HEADERS": "b=otel"},
    ),
    row(
        "phoenix-headers-otel-headers-ignored-with-a-file-endpoint",
        "arize",
        "arize.headers",
        {},
        DEFAULT,
        file={"arize": {"endpoint": "http://127.0.0.1:6006"}},
        env={f"{X}HEADERS": "b=otel"},
    ),
    row(
        "phoenix-api-key-file-beats-variable",
        "arize",
        "arize.api_key",
        "Bearer k-file",
        FILE,
        file={"arize": {"api_key": "k-file"}},
        env={"PHOENIX_API_KEY": "k-env"},
    ),
    row(
        "phoenix-api-key-variable",
        "arize",
        "arize.api_key",
        "Bearer k-env",
        env("PHOENIX_API_KEY"),
        env={"PHOENIX_API_KEY": "k-env"},
    ),
    row("phoenix-api-key-default", "arize", "arize.api_key", None, DEFAULT),
    row(
        "phoenix-authorization-header-in-file-beats-api-key",
        "arize",
        "arize.headers",
        {"authorization": "Basic abc"},
        FILE,
        file={"arize": {"headers": {"Authorization": "Basic abc"}}},
        env={"PHOENIX_API_KEY": "k-env"},
    ),
    row(
        "phoenix-api-key-beats-a-client-header-authorization",  # as phoenix.otel
        "arize",
        "arize.headers",
        {"authorization": "Bearer k-env"},
        env("PHOENIX_CLIENT_HEADERS"),
        env={"PHOENIX_CLIENT_HEADERS": "authorization=Basic%20abc", "PHOENIX_API_KEY": "k-env"},
    ),
    # -- arize (Arize AX) --------------------------------------------------------------------
    row(
        "ax-selected-by-space-id-in-the-file",
        "arize",
        "arize.space_id",
        "space-1",
        FILE,
        file={"arize": {"space_id": "space-1", "api_key": "ax-key"}},
    ),
    row(
        "ax-selected-by-the-space-id-variable-alone",
        "arize",
        "arize.headers",
        AX_HEADERS,
        DEFAULT,
        env=AX,
    ),
    row(
        "ax-space-id-file-beats-variable",
        "arize",
        "arize.space_id",
        "space-file",
        FILE,
        file={"arize": {"space_id": "space-file"}},
        env=AX,
    ),
    row(
        "ax-space-id-variable",
        "arize",
        "arize.space_id",
        "space-1",
        env("ARIZE_SPACE_ID"),
        env=AX,
    ),
    row(
        "ax-api-key-file-beats-variable",
        "arize",
        "arize.api_key",
        "k-file",
        FILE,
        file={"arize": {"api_key": "k-file"}},
        env=AX,
    ),
    row("ax-api-key-variable", "arize", "arize.api_key", "ax-key", env("ARIZE_API_KEY"), env=AX),
    row(
        "ax-project-file-beats-variable",
        "arize",
        "arize.project_name",
        "p-file",
        FILE,
        file={"arize": {"project_name": "p-file"}},
        env={**AX, "ARIZE_PROJECT_NAME": "p-ax"},
    ),
    row(
        "ax-project-variable-not-phoenix-one",
        "arize",
        "arize.project_name",
        "p-ax",
        env("ARIZE_PROJECT_NAME"),
        env={**AX, "ARIZE_PROJECT_NAME": "p-ax", "PHOENIX_PROJECT": "p-phoenix"},
    ),
    row(
        "ax-project-service-name",
        "arize",
        "arize.project_name",
        "svc-env",
        DEFAULT,
        env={**AX, "OTEL_SERVICE_NAME": "svc-env"},
    ),
    row("ax-project-default", "arize", "arize.project_name", "default", DEFAULT, env=AX),
    row(
        "ax-project-type-file-beats-variable",
        "arize",
        "arize.project_type",
        "experiment",
        FILE,
        file={"arize": {"project_type": "experiment"}},
        env={**AX, "ARIZE_PROJECT_TYPE": "harness"},
    ),
    row(
        "ax-project-type-variable",
        "arize",
        "arize.project_type",
        "harness",
        env("ARIZE_PROJECT_TYPE"),
        env={**AX, "ARIZE_PROJECT_TYPE": "harness"},
    ),
    row("ax-project-type-default", "arize", "arize.project_type", "application", DEFAULT, env=AX),
    row(
        "ax-endpoint-file-beats-variable",
        "arize",
        "arize.endpoint",
        "https://file.arize.example/v1",
        FILE,
        file={"arize": {"endpoint": "https://file.arize.example/v1"}},
        env={**AX, "ARIZE_COLLECTOR_ENDPOINT": "https://otlp.eu-west-1a.arize.com/v1"},
    ),
    row(
        "ax-endpoint-collector-variable",
        "arize",
        "arize.endpoint",
        "https://otlp.eu-west-1a.arize.com/v1",
        env("ARIZE_COLLECTOR_ENDPOINT"),
        env={**AX, "ARIZE_COLLECTOR_ENDPOINT": "https://otlp.eu-west-1a.arize.com/v1"},
    ),
    row(
        "ax-endpoint-default-grpc",
        "arize",
        "arize.endpoint",
        "https://otlp.arize.com/v1",
        DEFAULT,
        env=AX,
    ),
    row(
        "ax-endpoint-default-http-by-file-protocol",
        "arize",
        "arize.endpoint",
        "https://otlp.arize.com/v1/traces",
        DEFAULT,
        file={"arize": {"protocol": "http"}},
        env=AX,
    ),
    # ... and no OTEL_* variable applies in the Arize AX mode
    row(
        "ax-ignores-otel-endpoint",
        "arize",
        "arize.endpoint",
        "https://otlp.arize.com/v1",
        DEFAULT,
        env={**AX, **OTEL_EVERYTHING},
    ),
    row(
        "ax-ignores-otel-protocol",
        "arize",
        "arize.protocol",
        "grpc",
        DEFAULT,
        env={**AX, **OTEL_EVERYTHING},
    ),
    row(
        "ax-ignores-otel-headers",
        "arize",
        "arize.headers",
        AX_HEADERS,
        DEFAULT,
        env={**AX, **OTEL_EVERYTHING},
    ),
    row(
        "ax-uses-the-exporter-variable-otel-compression",  # as arize-otel's exporters
        "arize",
        "arize.compression",
        "gzip",
        None,
        env={**AX, **OTEL_EVERYTHING},
    ),
    row(
        "ax-uses-the-exporter-variable-otel-timeout",  # as arize-otel's exporters
        "arize",
        "arize.timeout_s",
        2.5,
        None,
        env={**AX, **OTEL_EVERYTHING},
    ),
    row(
        "ax-uses-the-exporter-variable-otel-certificate",  # as arize-otel's exporters
        "arize",
        "arize.certificate_file",
        "ca.pem",
        None,
        env={**AX, **OTEL_EVERYTHING},
    ),
    # -- the common settings -----------------------------------------------------------------
    row(
        "sampler-file-beats-env",
        "otlp",
        "tracing.sampler",
        "always_on",
        FILE,
        file={"tracing": {"sampler": "always_on"}},
        env={"OTEL_TRACES_SAMPLER": "always_off"},
    ),
    row(
        "sampler-file-wins-over-a-bad-env-value",
        "otlp",
        "tracing.sampler",
        "traceidratio",
        FILE,
        file={"tracing": {"sampler": "traceidratio"}},
        env={"OTEL_TRACES_SAMPLER": "sometimes"},
    ),
    row(
        "sampler-env",
        "otlp",
        "tracing.sampler",
        "parentbased_always_off",
        env("OTEL_TRACES_SAMPLER"),
        env={"OTEL_TRACES_SAMPLER": "parentbased_always_off"},
    ),
    row("sampler-default", "otlp", "tracing.sampler", None, DEFAULT),
    row(
        "sample-ratio-file-beats-env",
        "otlp",
        "tracing.sample_ratio",
        0.5,
        FILE,
        file={"tracing": {"sample_ratio": 0.5}},
        env={"OTEL_TRACES_SAMPLER_ARG": "0.1"},
    ),
    row(
        "sample-ratio-env",
        "otlp",
        "tracing.sample_ratio",
        0.25,
        env("OTEL_TRACES_SAMPLER_ARG"),
        env={"OTEL_TRACES_SAMPLER_ARG": "0.25"},
    ),
    row("sample-ratio-default", "otlp", "tracing.sample_ratio", 1.0, DEFAULT),
    row(
        "schedule-delay-file-beats-env",
        "otlp",
        "tracing.schedule_delay_ms",
        200,
        FILE,
        file={"tracing": {"schedule_delay_ms": 200}},
        env={"OTEL_BSP_SCHEDULE_DELAY": "50"},
    ),
    row(
        "schedule-delay-env",
        "otlp",
        "tracing.schedule_delay_ms",
        50,
        env("OTEL_BSP_SCHEDULE_DELAY"),
        env={"OTEL_BSP_SCHEDULE_DELAY": "50"},
    ),
    row("schedule-delay-default", "otlp", "tracing.schedule_delay_ms", 1000, DEFAULT),
    row(
        "export-timeout-file-beats-env",
        "otlp",
        "tracing.export_timeout_s",
        3.0,
        FILE,
        file={"tracing": {"export_timeout_s": 3}},
        env={"OTEL_BSP_EXPORT_TIMEOUT": "2500"},
    ),
    row(
        "export-timeout-env-ms",
        "otlp",
        "tracing.export_timeout_s",
        2.5,
        env("OTEL_BSP_EXPORT_TIMEOUT"),
        env={"OTEL_BSP_EXPORT_TIMEOUT": "2500"},
    ),
    row("export-timeout-default", "otlp", "tracing.export_timeout_s", 10.0, DEFAULT),
    row(
        "max-queue-size-file-beats-env",
        "otlp",
        "tracing.max_queue_size",
        100,
        FILE,
        file={"tracing": {"max_queue_size": 100}},
        env={"OTEL_BSP_MAX_QUEUE_SIZE": "64"},
    ),
    row(
        "max-queue-size-env",
        "otlp",
        "tracing.max_queue_size",
        64,
        env("OTEL_BSP_MAX_QUEUE_SIZE"),
        env={"OTEL_BSP_MAX_QUEUE_SIZE": "64"},
    ),
    row("max-queue-size-default", "otlp", "tracing.max_queue_size", 2048, DEFAULT),
    row(
        "max-export-batch-size-file-beats-env",
        "otlp",
        "tracing.max_export_batch_size",
        100,
        FILE,
        file={"tracing": {"max_export_batch_size": 100}},
        env={"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "lots"},
    ),
    row(
        "max-export-batch-size-env",
        "otlp",
        "tracing.max_export_batch_size",
        32,
        env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
        env={"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "32"},
    ),
    row("max-export-batch-size-default", "otlp", "tracing.max_export_batch_size", 512, DEFAULT),
    row(
        "service-name-file-beats-env",
        "otlp",
        "service.name",
        "svc-file",
        FILE,
        file={"service": {"name": "svc-file"}},
        env={"OTEL_SERVICE_NAME": "svc-env"},
    ),
    row(
        "service-name-env",
        "otlp",
        "service.name",
        "svc-env",
        env("OTEL_SERVICE_NAME"),
        env={"OTEL_SERVICE_NAME": "svc-env"},
    ),
    row("service-name-default", "otlp", "service.name", None, DEFAULT),
]

DESTINATION_FIELDS = {
    "endpoint": "endpoint",
    "traces_endpoint": "endpoint",
    "insecure": "endpoint",  # a grpc:// endpoint's URL says it: https:// (TLS) or http://
    "protocol": "transport",
    "headers": "headers",
    "compression": "compression",
    "timeout_s": "timeout_s",
    "certificate_file": "certificate_file",
    "client_certificate_file": "client_certificate_file",
    "client_key_file": "client_key_file",
    "resource_attributes": "resource_attributes",
}


def resolved(plan: Any, key: str) -> Any:
    """What the plan resolved for the config key ``key``."""
    section, _, field = key.partition(".")
    if section in ("tracing", "service"):
        return getattr(getattr(plan.settings, section), field)
    destination = plan.targets[0].destination
    if section == "arize" and field == "project_name":
        return destination.resource_attributes["openinference.project.name"]
    if section == "arize" and field == "project_type":
        return destination.resource_attributes.get("arize.project.type")
    if section == "arize" and field == "api_key":
        return destination.headers.get("authorization")
    if section == "arize" and field == "space_id":
        return destination.headers.get("arize-space-id")
    value = getattr(destination, DESTINATION_FIELDS[field])
    return dict(value) if isinstance(value, Mapping) else value


def write_config(directory: Path, sections: Mapping[str, Mapping[str, Any]]) -> tuple[Path, dict]:
    """llmops.yaml with ``sections`` in block style (each value as JSON, which YAML reads),
    and the line of each ``section.key``."""
    lines: list[str] = []
    where: dict[str, int] = {}
    for section, body in sections.items():
        lines.append(f"{section}:")
        for key, value in body.items():
            where[f"{section}.{key}"] = len(lines) + 1
            lines.append(f"  {key}: {json.dumps(value)}")
    path = directory / "llmops.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, where


@pytest.fixture
def tls_files(tmp_path: Path) -> None:
    for name in TLS_FILES:
        (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")


@pytest.mark.usefixtures("tls_files")
@pytest.mark.parametrize("case", [pytest.param(r, id=r.id) for r in TABLE])
def test_precedence(case: Row, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    path, lines = write_config(tmp_path, case.file) if case.file else (None, {})
    plan = llmops.plan(case.platform, config_path=path)
    assert resolved(plan, case.key) == case.expected
    if case.source is None:
        return
    sources = {value.key: value.source for value in plan.values(everything=True)}
    expected = f"{path}:{lines[case.key]}" if case.source == FILE else case.source
    assert sources[case.key] == expected


# -- errors: a bad variable names itself, never a secret ---------------------------------------


class Refused(NamedTuple):
    id: str
    platform: str
    env: Mapping[str, str]
    named: tuple[str, ...]
    """Each in the message."""
    secret: str | None = None
    """Never in the message."""
    file: Mapping[str, Mapping[str, Any]] | None = None


ERRORS = [
    Refused("sampler", "otlp", {"OTEL_TRACES_SAMPLER": "sometimes"}, ("$OTEL_TRACES_SAMPLER",)),
    Refused(
        "sampler-arg-above-one",
        "otlp",
        {"OTEL_TRACES_SAMPLER_ARG": "1.5"},
        ("$OTEL_TRACES_SAMPLER_ARG",),
    ),
    Refused(
        "sampler-arg-not-a-number",
        "otlp",
        {"OTEL_TRACES_SAMPLER_ARG": "half"},
        ("$OTEL_TRACES_SAMPLER_ARG",),
    ),
    Refused(
        "bsp-schedule-delay",
        "otlp",
        {"OTEL_BSP_SCHEDULE_DELAY": "soon"},
        ("$OTEL_BSP_SCHEDULE_DELAY",),
    ),
    Refused(
        "bsp-export-timeout",
        "otlp",
        {"OTEL_BSP_EXPORT_TIMEOUT": "0"},
        ("$OTEL_BSP_EXPORT_TIMEOUT",),
    ),
    Refused(
        "bsp-max-queue-size",
        "otlp",
        {"OTEL_BSP_MAX_QUEUE_SIZE": "-1"},
        ("$OTEL_BSP_MAX_QUEUE_SIZE",),
    ),
    Refused(
        "bsp-max-export-batch-size",
        "otlp",
        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "many"},
        ("$OTEL_BSP_MAX_EXPORT_BATCH_SIZE",),
    ),
    Refused(
        "otlp-protocol-http-json",
        "otlp",
        {f"{X}PROTOCOL": "http/json"},
        (f"${X}PROTOCOL", "http/protobuf"),
    ),
    Refused(
        "otlp-traces-timeout-not-milliseconds",
        "otlp",
        {f"{X}TRACES_TIMEOUT": "10s"},
        (f"${X}TRACES_TIMEOUT", "milliseconds"),
    ),
    Refused("otlp-insecure", "otlp", {f"{X}INSECURE": "yes"}, (f"${X}INSECURE",)),
    Refused("otlp-compression", "otlp", {f"{X}COMPRESSION": "brotli"}, (f"${X}COMPRESSION",)),
    Refused(
        "otlp-headers-not-key-value",
        "otlp",
        {f"{X}HEADERS": "Bearer%20s3cret-no-equals"},
        (f"${X}HEADERS",),
        "s3cret-no-equals",
    ),
    Refused(
        "otlp-headers-non-ascii-over-grpc",
        "otlp",
        {f"{X}ENDPOINT": "grpc://127.0.0.1:4317", f"{X}HEADERS": "x-name=s3cr%C3%A9t"},
        ("'x-name'", "ASCII"),
        "s3cr",
    ),
    Refused(
        "otlp-endpoint-userinfo",
        "otlp",
        {f"{X}ENDPOINT": "http://user:s3cret-pw@127.0.0.1:4318"},
        (f"${X}ENDPOINT", "credentials"),
        "s3cret-pw",
    ),
    Refused(
        "otlp-credentials-over-plain-http",
        "otlp",
        {f"{X}ENDPOINT": "http://collector.example:4318", f"{X}HEADERS": "x-key=s3cret-plain"},
        (f"${X}ENDPOINT", "allow_insecure"),
        "s3cret-plain",
    ),
    Refused(
        "otlp-certificate-missing",
        "otlp",
        {f"{X}CERTIFICATE": "missing-ca.pem"},
        ("certificate_file",),
    ),
    Refused(
        "otlp-client-certificate-without-key",
        "otlp",
        {f"{X}TRACES_CLIENT_CERTIFICATE": "client.pem"},
        ("client_certificate_file", "client_key_file"),
    ),
    Refused(
        "phoenix-client-headers-control-character",
        "arize",
        {"PHOENIX_CLIENT_HEADERS": "x-token=s3cret\tvalue"},
        ("'x-token'", "$PHOENIX_CLIENT_HEADERS"),
        "s3cret",
    ),
    Refused(
        "phoenix-collector-endpoint-scheme",
        "arize",
        {"PHOENIX_COLLECTOR_ENDPOINT": "ftp://127.0.0.1:6006"},
        ("$PHOENIX_COLLECTOR_ENDPOINT",),
    ),
    Refused(
        "phoenix-collector-endpoint-arize-ax-without-space-id",
        "arize",
        {"PHOENIX_COLLECTOR_ENDPOINT": "https://otlp.arize.com/v1"},
        ("space_id",),
    ),
    Refused(
        "phoenix-endpoint-arize-ax-without-space-id",
        "arize",
        {},
        ("space_id",),
        file={"arize": {"endpoint": "https://otlp.arize.com/v1"}},
    ),
    Refused("phoenix-grpc-port", "arize", {"PHOENIX_GRPC_PORT": "four"}, ("$PHOENIX_GRPC_PORT",)),
    Refused("ax-without-api-key", "arize", {"ARIZE_SPACE_ID": "space-1"}, ("api_key",)),
    Refused(
        "ax-project-type",
        "arize",
        {**AX, "ARIZE_PROJECT_TYPE": "production"},
        ("$ARIZE_PROJECT_TYPE",),
    ),
]


@pytest.mark.usefixtures("tls_files")
@pytest.mark.parametrize("case", [pytest.param(e, id=e.id) for e in ERRORS])
def test_refused(case: Refused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    path = write_config(tmp_path, case.file)[0] if case.file else None
    with pytest.raises(ConfigurationError) as info:
        llmops.plan(case.platform, config_path=path)
    message = str(info.value)
    for needle in case.named:
        assert needle in message
    if case.secret is not None:
        assert case.secret not in message
        assert case.secret not in repr(info.value)


# -- surrounding white space is trimmed -----------------------------------------------------


TRIMMED = [
    # (id, platform, env, the header, its value): a newline around a value is trimmed, as
    # OpenTelemetry's parser trims header lists and phoenix.otel its variables (a Kubernetes
    # secret made from a file keeps the file's trailing newline); one inside is refused above.
    (
        "otlp-headers-trailing-newline",
        "otlp",
        {f"{X}HEADERS": "x-api-key=s3cret-nl\n"},
        "x-api-key",
        "s3cret-nl",
    ),
    (
        "otlp-headers-encoded-newline",
        "otlp",
        {f"{X}HEADERS": "x-api-key=s3cret-enc%0A"},
        "x-api-key",
        "s3cret-enc",
    ),
    (
        "phoenix-api-key-trailing-newline",
        "arize",
        {"PHOENIX_API_KEY": "s3cret-phoenix\n"},
        "authorization",
        "Bearer s3cret-phoenix",
    ),
    (
        "phoenix-otel-headers-trailing-newline",
        "arize",
        {f"{X}ENDPOINT": "http://127.0.0.1:4318", f"{X}HEADERS": "x-key=s3cret-otel\n"},
        "x-key",
        "s3cret-otel",
    ),
    (
        "ax-api-key-trailing-newline",
        "arize",
        {"ARIZE_SPACE_ID": "space-1", "ARIZE_API_KEY": "s3cret-ax\n"},
        "authorization",
        "s3cret-ax",
    ),
]


@pytest.mark.parametrize(
    ("platform", "env", "header", "value"), [t[1:] for t in TRIMMED], ids=[t[0] for t in TRIMMED]
)
def test_surrounding_white_space_is_trimmed(
    platform: str, env: dict[str, str], header: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, text in env.items():
        monkeypatch.setenv(name, text)
    (target,) = llmops.plan(platform).targets
    assert target.destination is not None
    assert target.destination.headers[header] == value


# -- the sampler, applied on the provider ------------------------------------------------------


def inner_sampler(sampler: str, ratio: str | None, monkeypatch: pytest.MonkeyPatch) -> Sampler:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", sampler)
    if ratio is not None:
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", ratio)
    monkeypatch.setenv(f"{X}ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens
    provider = llmops.instrument(Platform.OTLP)
    assert isinstance(provider.sampler, SwappableSampler)
    return provider.sampler.inner


@pytest.mark.parametrize(
    ("sampler", "ratio", "root", "parent_based"),
    [
        ("always_on", None, ALWAYS_ON, False),
        ("always_off", None, ALWAYS_OFF, False),
        ("traceidratio", "0.25", 0.25, False),
        ("parentbased_always_on", None, ALWAYS_ON, True),
        ("parentbased_always_off", None, ALWAYS_OFF, True),
        ("parentbased_traceidratio", "0.25", 0.25, True),
    ],
)
def test_sampler_from_the_environment_is_on_the_provider(
    sampler: str, ratio: str | None, root: Any, parent_based: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = inner_sampler(sampler, ratio, monkeypatch)
    if parent_based:
        assert isinstance(inner, ParentBased)
        inner = inner._root
    if isinstance(root, float):
        assert isinstance(inner, TraceIdRatioBased)
        assert inner.rate == root
    else:
        assert inner is root


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.mark.parametrize(("sampler", "exported"), [("always_off", 0), ("always_on", 2)])
def test_always_off_exports_nothing(
    sampler: str,
    exported: int,
    receiver: OtlpReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", sampler)
    path, _ = write_config(
        tmp_path,
        {
            "otlp": {"endpoint": f"http://127.0.0.1:{receiver.port}", "protocol": "http/protobuf"},
            "tracing": {"schedule_delay_ms": 50, "shutdown_timeout_s": 1},
        },
    )
    provider = llmops.instrument(Platform.OTLP, config_path=path)
    tracer = provider.get_tracer("sampling")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass
    assert provider.force_flush(5000)
    spans = receiver.wait_for_spans(exported, timeout=5)
    if not exported:
        receiver.wait_for_requests(1, timeout=0.3)  # a late export would show here
    assert len(spans) == exported
    assert len(receiver.spans) == exported


# -- MLflow has tracking_uri, not OTEL_EXPORTER_OTLP_ENDPOINT ----------------------------------


@pytest.mark.parametrize(
    "file",
    [None, {"mlflow": {"tracking_uri": "http://127.0.0.1:5000"}}],
    ids=["default-store", "tracking-server"],
)
def test_mlflow_ignores_the_otlp_endpoint_variables(
    file: Mapping[str, Mapping[str, Any]] | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, file)[0] if file else None
    before = llmops.plan("mlflow", config_path=path).targets[0].destination
    monkeypatch.setenv(f"{X}ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv(f"{X}TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
    after = llmops.plan("mlflow", config_path=path).targets[0].destination
    assert after == before
    assert "4318" not in after.endpoint


# -- what a second review found ---------------------------------------------------------------


def test_the_file_wins_over_the_exporter_variables_for_compression_and_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explicit config > OTEL_*: `tracing.compression` and `tracing.export_timeout_s` written
    in the file beat OTEL_EXPORTER_OTLP_COMPRESSION / _TIMEOUT, for every OTLP platform."""
    monkeypatch.setenv(f"{X}COMPRESSION", "none")
    monkeypatch.setenv(f"{X}TIMEOUT", "20000")
    path = tmp_path / "llmops.yaml"
    path.write_text("tracing: {compression: gzip, export_timeout_s: 5}\n", encoding="utf-8")
    for platform in ("arize", "otlp"):
        (target,) = llmops.plan(platform, config_path=path).targets
        assert target.destination is not None
        assert (target.destination.compression, target.destination.timeout_s) == ("gzip", 5.0)
    path.write_text("service: {name: s}\n", encoding="utf-8")
    (target,) = llmops.plan("otlp", config_path=path).targets
    assert target.destination is not None
    assert (target.destination.compression, target.destination.timeout_s) == ("none", 20.0)


def test_check_shows_a_variable_s_value_converted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmops._cli import main

    monkeypatch.setenv("OTEL_BSP_EXPORT_TIMEOUT", "3000")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "ALWAYS_OFF")
    assert main(["check", "--platform", "otlp", "--json"]) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)["values"]}
    assert rows["tracing.export_timeout_s"]["value"] == 3.0
    assert rows["tracing.export_timeout_s"]["source"] == "env OTEL_BSP_EXPORT_TIMEOUT"
    assert rows["tracing.sampler"]["value"] == "always_off"


def test_an_error_from_a_variable_names_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "llmops.yaml"
    path.write_text("service: {name: s}\n", encoding="utf-8")
    monkeypatch.setenv(f"{X}ENDPOINT", "http://[::1:4318")
    with pytest.raises(ConfigurationError) as info:
        llmops.plan("otlp", config_path=path)
    assert str(info.value).startswith(f"${X}ENDPOINT: ")


def test_plaintext_url_stays_plaintext_whatever_insecure_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`http://` is plaintext and `https://` TLS; OTEL_EXPORTER_OTLP_INSECURE speaks only to
    `grpc://` and `host:port` endpoints, for Phoenix as for the otlp platform."""
    from llmops._exporters import otlp_exporter

    monkeypatch.setenv(f"{X}INSECURE", "false")
    for platform in ("arize", "otlp"):
        if platform == "otlp":
            monkeypatch.setenv(f"{X}ENDPOINT", "http://127.0.0.1:4317")
        (target,) = llmops.plan(platform).targets
        assert target.destination is not None
        assert target.destination.endpoint == "http://127.0.0.1:4317"
        assert target.destination.insecure is None
        exporter = otlp_exporter(target.destination)
        assert exporter._insecure is True  # type: ignore[attr-defined]
        exporter.shutdown()


@pytest.mark.parametrize(
    ("endpoint", "header"),
    [
        ("grpc://127.0.0.1:4317", "x(y=v"),  # not a gRPC metadata key
        ("grpc://127.0.0.1:4317", "x-bin=v"),  # binary metadata takes bytes
        ("http://127.0.0.1:4318", "x-name=%E2%82%AC"),  # € is beyond Latin-1
    ],
)
def test_headers_no_export_could_carry_are_refused(
    endpoint: str, header: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{X}ENDPOINT", endpoint)
    monkeypatch.setenv(f"{X}HEADERS", header)
    with pytest.raises(ConfigurationError, match=r"\$OTEL_EXPORTER_OTLP_HEADERS"):
        llmops.plan("otlp")


def test_a_malformed_otel_variable_is_not_logged_with_its_secret(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """OpenTelemetry logs a header list or resource attribute it cannot parse whole; llmops'
    filter keeps the record and drops the text, even where the plan ignores the variable."""
    import logging

    monkeypatch.setenv(f"{X}HEADERS", "authorization Bearer s3cret-malformed")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "s3cret-attribute")
    caplog.set_level(logging.DEBUG)
    path = Path("llmops.yaml")
    path.write_text(
        f"arize: {{endpoint: 'http://127.0.0.1:{free_port()}/v1/traces'}}\n"
        "tracing: {shutdown_timeout_s: 0.5}\n",
        encoding="utf-8",
    )
    llmops.instrument("arize", config_path=path)
    llmops.shutdown()
    assert "Header format invalid" in caplog.text  # the warning is kept
    assert "s3cret-malformed" not in caplog.text
    assert "s3cret-attribute" not in caplog.text
