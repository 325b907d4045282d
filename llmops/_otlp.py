"""OTLP's conventions, in one place: endpoint forms, protocol spellings, header lists and
values, and the ``OTEL_EXPORTER_OTLP_*`` variables, as the OpenTelemetry specification
writes them. The platforms that speak OTLP (``otlp``, ``arize``) resolve through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import unquote

import msgspec

from ._errors import ConfigurationError

__all__ = [
    "OTEL_ENVIRONMENT",
    "Endpoint",
    "check_headers",
    "exporter_options",
    "parse_bool",
    "parse_header_list",
    "parse_protocol",
    "parse_timeout_ms",
    "split_endpoint",
    "traces_url",
]

Transport = Literal["grpc", "http"]

_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~")
"""The characters of an HTTP header name (RFC 9110's token)."""
_GRPC_KEY = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")

GRPC_PORT = 4317
HTTP_PORT = 4318
TRACES_PATH = "/v1/traces"
PROTOCOLS: Mapping[str, Transport] = {"grpc": "grpc", "http/protobuf": "http", "http": "http"}
"""The specification's spellings (``grpc``, ``http/protobuf``) and llmops' ``http``."""

OTEL_ENVIRONMENT: Mapping[str, tuple[str, ...]] = {
    "traces_endpoint": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",),
    "endpoint": ("OTEL_EXPORTER_OTLP_ENDPOINT",),
    "headers": ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
    "protocol": ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
    "compression": ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"),
    "timeout_s": ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
    "certificate_file": (
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
    ),
    "client_certificate_file": (
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    ),
    "client_key_file": (
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    ),
    "insecure": ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"),
}
"""The variables of the OTLP exporter, by the key of an OTLP section each fills; the
per-signal ``TRACES_`` variable wins, as the specification says. ``traces_endpoint`` is used
as it is; ``endpoint`` is a base URL to which OTLP/HTTP appends ``/v1/traces``."""


class Endpoint(msgspec.Struct, frozen=True):
    """An endpoint taken apart: ``scheme`` is ``""`` for a bare ``host:port``."""

    scheme: str
    host: str
    port: int | None
    path: str

    @property
    def base(self) -> str:
        """``scheme://host:port`` (``http://`` for ``grpc://`` and a bare ``host:port``)."""
        scheme = self.scheme if self.scheme in ("http", "https") else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}" + (f":{self.port}" if self.port is not None else "")

    def grpc_url(self, insecure: bool | None) -> str:
        """The URL OTel's gRPC exporter is given: ``http(s)://`` as written; for ``grpc://``
        and a bare ``host:port``, TLS unless ``insecure``, as the specification says (OTel's
        exporter then reads the scheme: ``http://`` is plaintext)."""
        if not self.says_grpc:
            return f"{self.base}{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'http' if insecure else 'https'}://{host}:{self.port}"

    @property
    def says_grpc(self) -> bool:
        """``grpc://host:port`` or a bare ``host:port``: gRPC, as OTel's gRPC exporter reads it."""
        return self.scheme in ("", "grpc")


def split_endpoint(endpoint: str, *, where: str, what: str = "the endpoint") -> Endpoint:
    """Take ``endpoint`` apart, refusing what no collector URL has (no host, a bad port,
    ``user:password@``, a query)."""
    from ._urls import split_url

    text = endpoint.strip()
    bare = "://" not in text
    scheme = "" if bare else text.partition("://")[0].lower()
    fix = "such as http://collector:4318 (OTLP/HTTP), grpc://collector:4317 or collector:4317"
    if scheme not in ("", "grpc", "http", "https"):
        raise ConfigurationError(
            f"{where}: {what} must start with http://, https:// or grpc://, or be host:port, {fix}",
            field=where,
        )
    parts = split_url(
        f"grpc://{text}" if bare else text,
        where=where,
        what=what,
        credentials_hint="put them in a header or an api_key setting, for example ${MY_API_KEY}",
    )
    port = parts.port
    if bare and port is None:
        raise ConfigurationError(
            f"{where}: {what} without a scheme must be host:port (gRPC), {fix}", field=where
        )
    assert parts.hostname is not None  # split_url refuses a URL without a host
    return Endpoint(scheme, parts.hostname, port, parts.path.rstrip("/"))


def traces_url(endpoint: Endpoint) -> str:
    """The OTLP/HTTP URL for a base ``endpoint``: ``/v1/traces`` appended to its path, unless
    the path already ends in it (a base ending in ``/v1``, the version, gets ``/traces``)."""
    path = endpoint.path
    if path.endswith(TRACES_PATH):
        return f"{endpoint.base}{path}"
    if path.endswith("/v1"):
        return f"{endpoint.base}{path}/traces"
    return f"{endpoint.base}{path}{TRACES_PATH}"


def parse_protocol(text: str, *, where: str) -> Transport:
    """``grpc``, ``http/protobuf`` or ``http`` (any case) as a transport."""
    value = text.strip().lower()
    if value in PROTOCOLS:
        return PROTOCOLS[value]
    hint = "; OTLP/HTTP JSON is not supported, use http/protobuf" if value == "http/json" else ""
    raise ConfigurationError(
        f"{where}: the protocol must be 'grpc' or 'http/protobuf' (or 'http'){hint}",
        field=where,
    )


def parse_header_list(text: str, *, where: str) -> dict[str, str]:
    """A header list as the OTel variables write it: comma-separated ``key=value`` pairs,
    URL-decoded and trimmed, keys lower-cased (OpenTelemetry's own parser, which logs a bad
    entry whole and so would print a secret, is not used)."""
    headers: dict[str, str] = {}
    for number, item in enumerate(text.split(","), 1):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = unquote(key).strip().lower()
        if not sep or not key:
            raise ConfigurationError(
                f"{where}: entry {number} is not key=value; write comma-separated key=value "
                "pairs, with URL-encoded values (%20 for a space)",
                field=where,
            )
        headers[key] = unquote(value).strip()
    return headers


def check_headers(headers: Mapping[str, str], transport: str, *, where: str) -> None:
    """Refuse a header that cannot travel, naming the header and never its value: a control
    character (a trailing newline from a Kubernetes secret made from a file), and for gRPC
    metadata anything but printable ASCII."""
    for key, value in headers.items():
        if not key or not set(key) <= _TOKEN:
            raise ConfigurationError(
                f"{where}: the header name {key!r} is not a valid header name (letters, digits "
                "and !#$%&'*+-.^_`|~)",
                field=where,
            )
        if transport == "grpc" and (not set(key) <= _GRPC_KEY or key.endswith("-bin")):
            raise ConfigurationError(
                f"{where}: the header name {key!r} cannot be gRPC metadata: lower-case letters, "
                "digits, '-', '_' and '.', and not ending in -bin (binary metadata)",
                field=where,
            )
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ConfigurationError(
                f"{where}: the value of the header {key!r} holds a newline or another control "
                "character, so no export could carry it; strip it where the value is set (a "
                "Kubernetes secret made from a file keeps the file's trailing newline)",
                field=where,
            )
        if transport == "grpc" and not value.isascii():
            raise ConfigurationError(
                f"{where}: the value of the header {key!r} is not ASCII, which gRPC metadata "
                "cannot carry; URL-encode it",
                field=where,
            )
        if any(ord(c) > 0xFF for c in value):
            raise ConfigurationError(
                f"{where}: the value of the header {key!r} has a character HTTP headers cannot "
                "carry (beyond Latin-1); URL-encode it",
                field=where,
            )


def parse_timeout_ms(text: str, *, where: str) -> float:
    """An ``OTEL_*_TIMEOUT`` value: milliseconds, as the specification says; seconds back."""
    try:
        milliseconds = float(text.strip())
    except ValueError:
        milliseconds = -1.0
    if not 0 < milliseconds <= 3_600_000:
        raise ConfigurationError(
            f"{where}: expected a timeout in milliseconds (the OpenTelemetry unit), such as 10000",
            field=where,
        )
    return milliseconds / 1000


def parse_bool(text: str, *, where: str) -> bool:
    """``true`` or ``false``, in any case, as the specification spells booleans."""
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise ConfigurationError(f"{where}: expected true or false", field=where)
    return value == "true"


def exporter_options(config: Any, settings: Any, env: Mapping[str, str]) -> dict[str, Any]:
    """Compression, timeout, TLS files and gRPC ``insecure`` for a destination: the section's
    key where it has one and it is set; else, for compression and timeout, the ``tracing``
    section (which the ``OTEL_EXPORTER_OTLP_*`` variables fill when the file leaves it unset:
    ``_config.with_environment``); else, for the TLS files and ``insecure``, the variable.
    ``settings`` may be ``None`` when only ``insecure`` is wanted."""

    def given(key: str) -> tuple[Any, str] | None:
        value = getattr(config, key, None)
        if value is not None:
            return value, ""
        for name in OTEL_ENVIRONMENT[key]:
            if text := (env.get(name) or "").strip():
                return text, f"${name}"
        return None

    options: dict[str, Any] = {}
    found = given("insecure")
    options["insecure"] = (
        None
        if found is None
        else found[0]
        if not found[1]
        else parse_bool(found[0], where=found[1])
    )
    if settings is None:
        return options
    compression = getattr(config, "compression", None)
    options["compression"] = compression or settings.tracing.compression
    timeout = getattr(config, "timeout_s", None)
    options["timeout_s"] = timeout if timeout is not None else settings.tracing.export_timeout_s
    for key in ("certificate_file", "client_certificate_file", "client_key_file"):
        found = given(key)
        options[key] = None if found is None else str(found[0])
    return options
