"""The Arize platform: Arize Phoenix (self-hosted or Phoenix Cloud) and Arize AX, over OTLP.

Two modes share the section ``arize:``. Without a space id spans go to Phoenix, as
``phoenix.otel`` sends them; with ``space_id`` (or ``ARIZE_SPACE_ID``) they go to Arize AX with
the headers and resource attributes that ``arize-otel`` sends. The endpoint rules are
documented in ``docs/platforms/arize.md`` and implemented in :func:`resolve_endpoint`, on the
OTLP conventions of ``llmops._otlp``.
"""

import platform as _python
from collections.abc import Mapping
from typing import Literal

from .._config import Section, Settings
from .._errors import ConfigurationError
from .._otlp import (
    GRPC_PORT,
    HTTP_PORT,
    OTEL_ENVIRONMENT,
    TRACES_PATH,
    Transport,
    exporter_options,
    parse_header_list,
    parse_protocol,
    split_endpoint,
    traces_url,
)
from .._plan import env_value
from .._plugin import Destination, Probe
from .._urls import check_credentials_transport

__all__ = ["ArizeConfig", "ArizePlatform", "parse_header_list", "resolve_endpoint"]

PROJECT_NAME_ATTRIBUTE = "openinference.project.name"
"""OpenInference's resource attribute that routes spans to a Phoenix / Arize project."""
PROJECT_TYPE_ATTRIBUTE = "arize.project.type"
"""What arize-otel 0.14 tells Arize AX the project is."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_ARIZE_ENDPOINT = "https://otlp.arize.com/v1"
PHOENIX_CLOUD_HOST = "app.phoenix.arize.com"
PHOENIX_HTTP_PORT = 6006
ARIZE_HOST_SUFFIX = "arize.com"


class ArizeConfig(Section):
    """``arize:`` — where and how spans reach Phoenix or Arize AX."""

    secret_fields = frozenset({"api_key", "headers"})

    endpoint: str | None = None
    """Collector URL; else ``PHOENIX_COLLECTOR_ENDPOINT`` (a base URL), then
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and ``OTEL_EXPORTER_OTLP_ENDPOINT`` (Phoenix), or
    ``ARIZE_COLLECTOR_ENDPOINT`` (Arize AX); else ``http://127.0.0.1:4317`` (Phoenix, gRPC;
    ``PHOENIX_GRPC_PORT`` changes the port), ``http://127.0.0.1:6006/v1/traces`` (Phoenix with
    ``protocol: http``) or ``https://otlp.arize.com/v1`` (Arize AX)."""
    protocol: Literal["grpc", "http/protobuf", "http"] | None = None
    """``grpc`` or ``http/protobuf`` (``http`` also); else ``OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL``
    (Phoenix); wins over what the endpoint suggests."""
    project_name: str | None = None
    """Phoenix / Arize project; else ``PHOENIX_PROJECT``, then ``PHOENIX_PROJECT_NAME``
    (Phoenix) or ``ARIZE_PROJECT_NAME`` (Arize AX); else ``service.name``; else ``default``."""
    project_type: Literal["application", "harness", "experiment"] | None = None
    """Arize AX's ``arize.project.type``; else ``ARIZE_PROJECT_TYPE``; else ``application``."""
    api_key: str | None = None
    """Sent as ``authorization: Bearer <key>`` to Phoenix (else ``PHOENIX_API_KEY``), or as
    Arize AX's ``api_key`` (else ``ARIZE_API_KEY``)."""
    headers: dict[str, str] = {}
    """Extra headers; they win key by key over ``PHOENIX_CLIENT_HEADERS``, else
    ``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`` (Phoenix)."""
    space_id: str | None = None
    """Arize AX space id: switches to the Arize AX mode; else ``ARIZE_SPACE_ID``."""
    allow_insecure: bool = False
    """Allow sending credentials over plain ``http://`` to a host that is not loopback."""


PHOENIX_ENVIRONMENT: Mapping[str, tuple[str, ...]] = {
    "endpoint": (
        "PHOENIX_COLLECTOR_ENDPOINT",
        *OTEL_ENVIRONMENT["traces_endpoint"],
        *OTEL_ENVIRONMENT["endpoint"],
    ),
    "protocol": OTEL_ENVIRONMENT["protocol"],
    "api_key": ("PHOENIX_API_KEY",),
    "project_name": ("PHOENIX_PROJECT", "PHOENIX_PROJECT_NAME"),
    "headers": ("PHOENIX_CLIENT_HEADERS", *OTEL_ENVIRONMENT["headers"]),
    "space_id": ("ARIZE_SPACE_ID",),
}
"""The variables phoenix.otel reads, by the key of ``arize:`` each fills (Phoenix mode); the
OpenTelemetry ones are its fallback, as they are phoenix.otel's."""
ARIZE_ENVIRONMENT: Mapping[str, tuple[str, ...]] = {
    "endpoint": ("ARIZE_COLLECTOR_ENDPOINT",),
    "api_key": ("ARIZE_API_KEY",),
    "project_name": ("ARIZE_PROJECT_NAME",),
    "project_type": ("ARIZE_PROJECT_TYPE",),
    "space_id": ("ARIZE_SPACE_ID",),
}
"""The variables arize-otel reads (Arize AX mode)."""


def resolve_endpoint(
    endpoint: str,
    protocol: Transport | None,
    *,
    where: str,
    grpc_port: int = GRPC_PORT,
    insecure: bool | None = None,
    cloud: bool = False,
) -> tuple[str, Transport]:
    """The exporter URL and transport for ``endpoint``, by the documented rules.

    >>> resolve_endpoint("http://127.0.0.1:4317", None, where="$.arize.endpoint")
    ('http://127.0.0.1:4317', 'grpc')
    >>> resolve_endpoint("http://127.0.0.1:6006", None, where="$.arize.endpoint")
    ('http://127.0.0.1:6006/v1/traces', 'http')
    >>> resolve_endpoint("phoenix:4317", None, where="$.arize.endpoint")  # TLS, as OTel reads it
    ('https://phoenix:4317', 'grpc')
    >>> resolve_endpoint("https://phoenix.example", None, where="$.arize.endpoint")
    ('https://phoenix.example/v1/traces', 'http')
    >>> resolve_endpoint("http://10.0.0.7:9000", "http", where="$.arize.endpoint")
    ('http://10.0.0.7:9000/v1/traces', 'http')
    """
    parts = split_endpoint(endpoint, where=where)
    arize_host = parts.host == ARIZE_HOST_SUFFIX or parts.host.endswith(f".{ARIZE_HOST_SUFFIX}")
    if not cloud and arize_host and parts.host != PHOENIX_CLOUD_HOST:
        raise ConfigurationError(
            f"{where}: {parts.host} is Arize AX; set arize.space_id (or ARIZE_SPACE_ID) and "
            "arize.api_key for it",
            field=where,
        )
    if protocol == "grpc" or (protocol is None and parts.says_grpc):
        return parts.grpc_url(insecure), "grpc"
    if parts.says_grpc:
        raise ConfigurationError(
            f"{where}: OTLP/HTTP needs an http:// or https:// URL; this endpoint is written "
            "for gRPC (grpc:// or host:port); set arize.protocol: grpc, or give the URL",
            field=where,
        )
    if protocol == "http":
        return traces_url(parts), "http"
    path, port = parts.path, parts.port
    if path.endswith(TRACES_PATH) or parts.host == PHOENIX_CLOUD_HOST:
        return traces_url(parts), "http"
    if not path and port == grpc_port:
        return parts.base, "grpc"
    if not path and (
        port in (HTTP_PORT, PHOENIX_HTTP_PORT) or (port is None and parts.scheme == "https")
    ):
        return traces_url(parts), "http"
    raise ConfigurationError(
        f"{where}: cannot tell whether this endpoint speaks OTLP/gRPC or OTLP/HTTP; set "
        "arize.protocol to 'grpc' or 'http/protobuf', or use an endpoint on port 4317 (gRPC), "
        "on port 4318 or 6006 (HTTP), ending in /v1/traces (HTTP), grpc://host:port or "
        "host:port (gRPC)",
        field=where,
    )


def exporter_target(
    config: ArizeConfig, env: Mapping[str, str], *, cloud: bool
) -> tuple[str, Transport, str]:
    """The exporter URL, transport and the source of the endpoint (for messages), resolved
    from the section, the variables and the defaults, by the documented rules."""
    declared = ARIZE_ENVIRONMENT if cloud else PHOENIX_ENVIRONMENT
    protocol: Transport | None = None
    if config.protocol is not None:
        protocol = parse_protocol(config.protocol, where="$.arize.protocol")
    elif not cloud and (found := env_value(env, PHOENIX_ENVIRONMENT["protocol"])):
        protocol = parse_protocol(found[1], where=f"${found[0]}")
    grpc_port = _grpc_port(env)
    if config.endpoint is not None:
        endpoint, where = config.endpoint, "$.arize.endpoint"
    elif found := env_value(env, declared["endpoint"]):
        endpoint, where = found[1], f"${found[0]}"
        if found[0] == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" and protocol != "grpc":
            parts = split_endpoint(endpoint, where=where)
            if not parts.says_grpc:  # the specification: the per-signal URL is used as it is
                return f"{parts.base}{parts.path}", "http", where
        if found[0] != "ARIZE_COLLECTOR_ENDPOINT" and protocol is None:
            # A base URL (Phoenix documents its variable so): HTTP unless it names the
            # gRPC port or is written for gRPC.
            parts = split_endpoint(endpoint, where=where)
            grpc = parts.says_grpc or (parts.port == grpc_port and not parts.path)
            protocol = "grpc" if grpc else "http"
    elif cloud:
        endpoint, where = DEFAULT_ARIZE_ENDPOINT, "$.arize.endpoint"
    else:
        where = "$.arize.endpoint"
        port = PHOENIX_HTTP_PORT if protocol == "http" else grpc_port
        endpoint = f"http://{DEFAULT_HOST}:{port}"
    if cloud and protocol is None and not endpoint.rstrip("/").endswith(TRACES_PATH):
        protocol = "grpc"  # Arize AX's default transport, as arize-otel uses
    insecure = exporter_options(None, None, env)["insecure"]
    url, transport = resolve_endpoint(
        endpoint, protocol, where=where, grpc_port=grpc_port, insecure=insecure, cloud=cloud
    )
    return url, transport, where


def _grpc_port(env: Mapping[str, str]) -> int:
    text = (env.get("PHOENIX_GRPC_PORT") or "").strip()
    if not text:
        return GRPC_PORT
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigurationError(
            "$PHOENIX_GRPC_PORT: expected a port number between 1 and 65535",
            field="$PHOENIX_GRPC_PORT",
        )
    return int(text)


class ArizePlatform:
    """Phoenix or Arize AX over OTLP; see ``docs/platforms/arize.md``.

    It only resolves: the destination is plain OTLP, so the core builds the exporter.
    """

    config_type = ArizeConfig

    def environment(
        self, config: ArizeConfig, env: Mapping[str, str]
    ) -> Mapping[str, tuple[str, ...]]:
        if _cloud(config, env):
            return ARIZE_ENVIRONMENT
        if _endpoint_from_otel(config, env):
            return PHOENIX_ENVIRONMENT
        headers = tuple(n for n in PHOENIX_ENVIRONMENT["headers"] if not n.startswith("OTEL_"))
        return {**PHOENIX_ENVIRONMENT, "headers": headers}

    def resolve(
        self, config: ArizeConfig, settings: Settings, env: Mapping[str, str]
    ) -> Destination:
        cloud = _cloud(config, env)
        declared = self.environment(config, env)
        url, protocol, where = exporter_target(config, env, cloud=cloud)
        from_env = env_value(env, declared["api_key"])
        api_key = config.api_key or (from_env[1] if from_env else None)
        if cloud:
            headers = _ax_headers(config, env, api_key)
        else:
            headers = _phoenix_headers(config, env, api_key, declared["headers"])
        check_credentials_transport(
            url,
            has_credentials=bool(headers),
            allow_insecure=config.allow_insecure,
            where=where,
            section="arize",
        )
        found_project = env_value(env, declared["project_name"])
        project = (
            config.project_name
            or (found_project[1].strip() if found_project else None)
            or settings.service.name
            or env.get("OTEL_SERVICE_NAME")
            or "default"
        )
        attributes = {PROJECT_NAME_ATTRIBUTE: project}
        if cloud:
            attributes[PROJECT_TYPE_ATTRIBUTE] = _project_type(config, env)
        target = "Arize AX" if cloud else "Phoenix"
        transport = "OTLP/gRPC" if protocol == "grpc" else "OTLP/HTTP"
        # The exporter's own variables (compression, timeout, TLS files, insecure) apply in
        # both modes, as the OpenTelemetry exporters arize-otel builds read them.
        options = exporter_options(None, settings, env)
        return Destination(
            description=f"{target} project {project!r}, {transport} {url}",
            transport=protocol,
            endpoint=url,
            headers=headers,
            resource_attributes=attributes,
            # The URL already says TLS or not (resolve_endpoint applied `insecure`).
            **{**options, "insecure": None},
        )

    def probes(self, destination: Destination) -> list[Probe]:
        transport = "OTLP/gRPC" if destination.transport == "grpc" else "OTLP/HTTP"
        probes = [Probe(name=f"{transport} port", kind="tcp", url=destination.endpoint)]
        if destination.transport == "http" and "arize-space-id" not in destination.headers:
            base = destination.endpoint.removesuffix(TRACES_PATH)
            probes.append(Probe(name="Phoenix /healthz", kind="http", url=f"{base}/healthz"))
        return probes


def _endpoint_from_otel(config: ArizeConfig, env: Mapping[str, str]) -> bool:
    """Whether Phoenix's endpoint comes from an ``OTEL_EXPORTER_OTLP_*`` variable: only then
    do that backend's ``OTEL_EXPORTER_OTLP_*HEADERS`` apply."""
    if config.endpoint is not None:
        return False
    found = env_value(env, PHOENIX_ENVIRONMENT["endpoint"])
    return found is not None and found[0].startswith("OTEL_")


def _cloud(config: ArizeConfig, env: Mapping[str, str]) -> bool:
    """Arize AX mode: a space id in the section or in ``ARIZE_SPACE_ID``."""
    return config.space_id is not None or bool((env.get("ARIZE_SPACE_ID") or "").strip())


def _phoenix_headers(
    config: ArizeConfig, env: Mapping[str, str], api_key: str | None, names: tuple[str, ...]
) -> dict[str, str]:
    """``PHOENIX_CLIENT_HEADERS``; the ``OTEL_EXPORTER_OTLP_*HEADERS`` only when the endpoint
    came from an ``OTEL_EXPORTER_OTLP_*`` variable too (they configure one backend: its
    credentials are not for another; :meth:`ArizePlatform.environment` decides); then the
    section's headers, key by key."""
    headers: dict[str, str] = {}
    if found := env_value(env, names):
        headers.update(parse_header_list(found[1], where=f"${found[0]}"))
    if api_key:  # over the variables' authorization, as phoenix.otel; under the section's
        headers["authorization"] = f"Bearer {api_key}"
    headers.update({k.lower(): v for k, v in config.headers.items()})
    return headers


def _ax_headers(config: ArizeConfig, env: Mapping[str, str], api_key: str | None) -> dict[str, str]:
    """What arize-otel 0.14 sends: the credentials under their old and new names, and the
    SDK's identity (here llmops')."""
    if not api_key:
        raise ConfigurationError(
            "$.arize.api_key: Arize AX (a space id is set) needs an API key; set "
            "arize.api_key (for example ${ARIZE_API_KEY}) or ARIZE_API_KEY",
            field="$.arize.api_key",
        )
    from .. import __version__

    space_id = config.space_id or (env.get("ARIZE_SPACE_ID") or "").strip()
    return {
        "authorization": api_key,
        "api_key": api_key,
        "arize-space-id": space_id,
        "space_id": space_id,
        "arize-interface": "otel",
        "sdk-language": "python",
        "language-version": _python.python_version(),
        "sdk-version": __version__,
        "sdk-package-name": "llmops",
        **{k.lower(): v for k, v in config.headers.items()},
    }


def _project_type(config: ArizeConfig, env: Mapping[str, str]) -> str:
    if config.project_type is not None:
        return config.project_type
    value = (env.get("ARIZE_PROJECT_TYPE") or "application").strip()
    if value not in ("application", "harness", "experiment"):
        raise ConfigurationError(
            "$ARIZE_PROJECT_TYPE: expected application, harness or experiment",
            field="$ARIZE_PROJECT_TYPE",
        )
    return value
