"""The OTLP platform: any OTLP backend, and the OpenTelemetry Collector in front of them.

With no config it follows the OpenTelemetry exporter variables exactly as the SDK reads them
(``OTEL_EXPORTER_OTLP_*`` and their ``TRACES_`` variants, the per-signal one winning); a key in
the ``otlp:`` section wins over its variable. It adds no backend-specific attribute unless the
section asks for one (``resource_attributes``). See ``docs/platforms/otlp.md``.
"""

from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from .._config import Section, Settings
from .._errors import ConfigurationError
from .._otlp import (
    GRPC_PORT,
    HTTP_PORT,
    OTEL_ENVIRONMENT,
    TRACES_PATH,
    Endpoint,
    Transport,
    exporter_options,
    parse_header_list,
    parse_protocol,
    split_endpoint,
    traces_url,
)
from .._plan import env_value
from .._plugin import Destination
from .._urls import check_credentials_transport

__all__ = ["OtlpConfig", "OtlpPlatform"]

DEFAULT_ENDPOINTS: Mapping[Transport, str] = {
    "grpc": "http://localhost:4317",
    "http": "http://localhost:4318/v1/traces",
}
"""The specification's defaults."""


class OtlpConfig(Section):
    """``otlp:`` — an OTLP/gRPC or OTLP/HTTP endpoint: a collector, Jaeger, Tempo, Langfuse,
    Logfire, Honeycomb, ..."""

    secret_fields = frozenset({"headers"})

    endpoint: str | None = None
    """Base URL (OTLP/HTTP appends ``/v1/traces``), ``grpc://host:port`` or ``host:port``
    (gRPC); else ``OTEL_EXPORTER_OTLP_ENDPOINT``; else the specification's default for the
    protocol (``http://localhost:4318``, ``http://localhost:4317``)."""
    traces_endpoint: str | None = None
    """The full URL of the traces endpoint, used as it is; wins over ``endpoint``; else
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``."""
    protocol: Literal["grpc", "http/protobuf", "http"] | None = None
    """Else ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``; else what the endpoint says (gRPC for
    ``grpc://``, ``host:port`` and port 4317; HTTP for ``/v1/traces`` and port 4318); else
    ``http/protobuf``, the specification's default."""
    headers: dict[str, str] = {}
    """Sent with every export; else ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS``."""
    compression: Literal["none", "gzip"] | None = None
    """Else ``OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION``; else ``tracing.compression``."""
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] | None = None
    """One export's bound; else ``OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`` (milliseconds); else
    ``tracing.export_timeout_s``."""
    certificate_file: str | None = None
    """CA bundle that verifies the server; else ``OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE``."""
    client_certificate_file: str | None = None
    """Client certificate for mutual TLS; else
    ``OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_CERTIFICATE``."""
    client_key_file: str | None = None
    """Client private key for mutual TLS; else ``OTEL_EXPORTER_OTLP_(TRACES_)CLIENT_KEY``."""
    insecure: bool | None = None
    """gRPC without TLS for ``grpc://`` and ``host:port`` endpoints; else
    ``OTEL_EXPORTER_OTLP_(TRACES_)INSECURE``; else TLS (``http://`` is always plaintext)."""
    resource_attributes: dict[str, str] = {}
    """Resource attributes for this backend only (a Langfuse or Logfire project, say)."""
    allow_insecure: bool = False
    """Allow headers over plain ``http://`` to a host that is not loopback."""


class OtlpPlatform:
    """Any OTLP backend; the destination is plain OTLP, so the core builds the exporter."""

    config_type = OtlpConfig

    def environment(
        self, config: OtlpConfig, env: Mapping[str, str]
    ) -> Mapping[str, tuple[str, ...]]:
        return OTEL_ENVIRONMENT

    def resolve(
        self, config: OtlpConfig, settings: Settings, env: Mapping[str, str]
    ) -> Destination:
        url, transport, where, insecure = _endpoint(config, env)
        headers = dict(config.headers)
        if not headers and (found := env_value(env, OTEL_ENVIRONMENT["headers"])):
            headers = parse_header_list(found[1], where=f"${found[0]}")
        headers = {k.lower(): v for k, v in headers.items()}
        check_credentials_transport(
            url,
            has_credentials=bool(headers),
            allow_insecure=config.allow_insecure,
            where=where,
            section="otlp",
        )
        label = "OTLP/gRPC" if transport == "grpc" else "OTLP/HTTP"
        return Destination(
            description=f"{label} {url}",
            transport=transport,
            endpoint=url,
            headers=headers,
            resource_attributes=dict(config.resource_attributes),
            **{**exporter_options(config, settings, env), "insecure": insecure},
        )


def _endpoint(
    config: OtlpConfig, env: Mapping[str, str]
) -> tuple[str, Transport, str, bool | None]:
    """(URL, transport, where it came from, gRPC ``insecure``)."""
    protocol: Transport | None = None
    if config.protocol is not None:
        protocol = parse_protocol(config.protocol, where="$.otlp.protocol")
    elif found := env_value(env, OTEL_ENVIRONMENT["protocol"]):
        protocol = parse_protocol(found[1], where=f"${found[0]}")
    given = _given_endpoint(config, env)
    if given is None:
        transport: Transport = protocol or "http"
        insecure = exporter_options(config, None, env)["insecure"]
        return DEFAULT_ENDPOINTS[transport], transport, "$.otlp.endpoint", insecure
    text, exact, where = given
    endpoint = split_endpoint(text, where=where)
    transport = protocol or _inferred(endpoint)
    if transport == "grpc":
        insecure = exporter_options(config, None, env)["insecure"]
        return endpoint.grpc_url(insecure), "grpc", where, None
    if endpoint.says_grpc:
        raise ConfigurationError(
            f"{where}: OTLP/HTTP needs an http:// or https:// URL; this endpoint is written for "
            "gRPC (grpc:// or host:port); set protocol: grpc, or give the URL",
            field=where,
        )
    url = f"{endpoint.base}{endpoint.path}" if exact else traces_url(endpoint)
    return url, "http", where, None


def _given_endpoint(config: OtlpConfig, env: Mapping[str, str]) -> tuple[str, bool, str] | None:
    """(the endpoint, whether it is a full traces URL, where it came from), or ``None``."""
    if config.traces_endpoint is not None:
        return config.traces_endpoint, True, "$.otlp.traces_endpoint"
    if config.endpoint is not None:
        return config.endpoint, False, "$.otlp.endpoint"
    if found := env_value(env, OTEL_ENVIRONMENT["traces_endpoint"]):
        return found[1], True, f"${found[0]}"
    if found := env_value(env, OTEL_ENVIRONMENT["endpoint"]):
        return found[1], False, f"${found[0]}"
    return None


def _inferred(endpoint: Endpoint) -> Transport:
    if endpoint.says_grpc or (endpoint.port == GRPC_PORT and not endpoint.path):
        return "grpc"
    if endpoint.path.endswith(TRACES_PATH) or endpoint.port == HTTP_PORT:
        return "http"
    return "http"  # the specification's default protocol
