"""The Arize platform: Arize Phoenix (self-hosted or Phoenix Cloud) and Arize AX, over OTLP.

Two modes share the section ``arize:``. Without ``space_id`` spans go to Phoenix; with it they
go to Arize AX with the headers that ``arize-otel`` sends. The endpoint rules are documented in
``docs/platforms/arize.md`` and implemented in :func:`resolve_endpoint`.
"""

from collections.abc import Mapping
from typing import Literal
from urllib.parse import unquote, urlsplit

from .._config import Section, Settings
from .._errors import ConfigurationError
from .._plan import env_value
from .._plugin import Destination, Probe
from .._urls import check_credentials_transport, split_url

__all__ = ["ArizeConfig", "ArizePlatform", "resolve_endpoint"]

PROJECT_NAME_ATTRIBUTE = "openinference.project.name"
"""OpenInference's resource attribute that routes spans to a Phoenix / Arize project."""

DEFAULT_PHOENIX_ENDPOINT = "http://127.0.0.1:4317"
DEFAULT_ARIZE_ENDPOINT = "https://otlp.arize.com/v1"
PHOENIX_CLOUD_HOST = "app.phoenix.arize.com"
GRPC_PORT = 4317
PHOENIX_HTTP_PORT = 6006
TRACES_PATH = "/v1/traces"


class ArizeConfig(Section):
    """``arize:`` — where and how spans reach Phoenix or Arize AX."""

    secret_fields = frozenset({"api_key", "headers"})

    endpoint: str | None = None
    """Collector URL; else ``PHOENIX_COLLECTOR_ENDPOINT``; else ``http://127.0.0.1:4317``
    (Phoenix) or ``https://otlp.arize.com/v1`` (Arize AX, with ``space_id``)."""
    protocol: Literal["grpc", "http"] | None = None
    """``grpc`` or ``http`` (OTLP/HTTP protobuf); wins over what the endpoint suggests."""
    project_name: str | None = None
    """Phoenix / Arize project; else ``PHOENIX_PROJECT_NAME``; else ``service.name``; else
    ``default``."""
    api_key: str | None = None
    """Sent as ``authorization: Bearer <key>`` to Phoenix (else ``PHOENIX_API_KEY``), or as
    Arize AX's ``api_key`` (else ``ARIZE_API_KEY``)."""
    headers: dict[str, str] = {}
    """Extra headers; they win over ``PHOENIX_CLIENT_HEADERS`` key by key."""
    space_id: str | None = None
    """Arize AX space id: switches to the Arize AX mode."""
    allow_insecure: bool = False
    """Allow sending credentials over plain ``http://`` to a host that is not loopback."""


def resolve_endpoint(
    endpoint: str, protocol: Literal["grpc", "http"] | None, *, where: str
) -> tuple[str, Literal["grpc", "http"]]:
    """The exporter URL and transport for ``endpoint``, by the documented rules.

    >>> resolve_endpoint("http://127.0.0.1:4317", None, where="$.arize.endpoint")
    ('http://127.0.0.1:4317', 'grpc')
    >>> resolve_endpoint("http://127.0.0.1:6006", None, where="$.arize.endpoint")
    ('http://127.0.0.1:6006/v1/traces', 'http')
    >>> resolve_endpoint("https://phoenix.example/v1/traces", None, where="$.arize.endpoint")
    ('https://phoenix.example/v1/traces', 'http')
    >>> resolve_endpoint("http://10.0.0.7:9000", "http", where="$.arize.endpoint")
    ('http://10.0.0.7:9000/v1/traces', 'http')
    """
    parts = urlsplit(endpoint.strip())
    fix = "such as http://127.0.0.1:4317 (gRPC) or http://127.0.0.1:6006/v1/traces (HTTP)"
    if parts.scheme not in {"http", "https"}:
        raise ConfigurationError(
            f"{where}: the endpoint must start with http:// or https://, {fix}", field=where
        )
    split_url(
        endpoint,
        where=where,
        what="the endpoint",
        credentials_hint="put the key in arize.api_key or arize.headers "
        "(for example ${PHOENIX_API_KEY})",
    )
    port = parts.port
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    as_http = f"{base}{path}{TRACES_PATH}" if not path.endswith(TRACES_PATH) else f"{base}{path}"
    if protocol == "grpc":
        return f"{base}{path}", "grpc"
    if protocol == "http":
        return as_http, "http"
    if path.endswith(TRACES_PATH):
        return f"{base}{path}", "http"
    if parts.hostname == PHOENIX_CLOUD_HOST:
        return as_http, "http"
    if not path and port == GRPC_PORT:
        return base, "grpc"
    if not path and port == PHOENIX_HTTP_PORT:
        return as_http, "http"
    raise ConfigurationError(
        f"{where}: cannot tell whether this endpoint speaks OTLP/gRPC or OTLP/HTTP; set "
        "arize.protocol to 'grpc' or 'http', or use an endpoint on port 4317 (gRPC), on port "
        "6006 (a Phoenix base URL) or ending in /v1/traces (HTTP)",
        field=where,
    )


PHOENIX_ENVIRONMENT: Mapping[str, tuple[str, ...]] = {
    "endpoint": ("PHOENIX_COLLECTOR_ENDPOINT",),
    "api_key": ("PHOENIX_API_KEY",),
    "project_name": ("PHOENIX_PROJECT_NAME",),
    "headers": ("PHOENIX_CLIENT_HEADERS",),
}
"""The variables phoenix.otel reads, by the key of ``arize:`` each fills (Phoenix mode)."""
ARIZE_ENVIRONMENT: Mapping[str, tuple[str, ...]] = {
    "api_key": ("ARIZE_API_KEY",),
    "project_name": ("ARIZE_PROJECT_NAME", "PHOENIX_PROJECT_NAME"),
}
"""The variables arize-otel reads (Arize AX mode: ``space_id`` is set)."""


def exporter_target(
    config: ArizeConfig, env: Mapping[str, str]
) -> tuple[str, Literal["grpc", "http"], str]:
    """The exporter URL, transport and the source of the endpoint (for messages), resolved
    from the section, ``PHOENIX_COLLECTOR_ENDPOINT`` and the defaults, by the documented rules.
    """
    cloud = config.space_id is not None
    protocol = config.protocol
    if config.endpoint is not None:
        endpoint, where = config.endpoint, "$.arize.endpoint"
    elif not cloud and (found := env_value(env, PHOENIX_ENVIRONMENT["endpoint"])):
        # Phoenix documents this variable as the server's base URL: HTTP unless it names
        # the gRPC port.
        endpoint, where = found[1], f"${found[0]}"
        if protocol is None and _port(endpoint) != GRPC_PORT:
            protocol = "http"
    else:
        endpoint = DEFAULT_ARIZE_ENDPOINT if cloud else DEFAULT_PHOENIX_ENDPOINT
        where = "$.arize.endpoint"
    if cloud and protocol is None and not endpoint.rstrip("/").endswith(TRACES_PATH):
        protocol = "grpc"  # Arize AX's default transport, as arize-otel uses
    url, protocol = resolve_endpoint(endpoint, protocol, where=where)
    return url, protocol, where


def parse_header_list(text: str, *, where: str) -> dict[str, str]:
    """Parse ``PHOENIX_CLIENT_HEADERS``: ``key=value`` pairs separated by commas, URL-encoded."""
    headers: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(
                f"{where}: expected comma-separated key=value pairs (URL-encoded values)"
            )
        headers[unquote(key.strip()).lower()] = unquote(value.strip())
    return headers


def _port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None  # resolve_endpoint reports it


class ArizePlatform:
    """Phoenix or Arize AX over OTLP; see ``docs/platforms/arize.md``.

    It only resolves: the destination is plain OTLP, so the core builds the exporter.
    """

    config_type = ArizeConfig

    def environment(self, config: ArizeConfig) -> Mapping[str, tuple[str, ...]]:
        return ARIZE_ENVIRONMENT if config.space_id is not None else PHOENIX_ENVIRONMENT

    def resolve(
        self, config: ArizeConfig, settings: Settings, env: Mapping[str, str]
    ) -> Destination:
        cloud = config.space_id is not None
        declared = self.environment(config)
        url, protocol, where = exporter_target(config, env)

        headers = {}
        if not cloud and (found := env_value(env, PHOENIX_ENVIRONMENT["headers"])):
            headers.update(parse_header_list(found[1], where=f"${found[0]}"))
        headers.update({k.lower(): v for k, v in config.headers.items()})
        from_env = env_value(env, declared["api_key"])
        api_key = config.api_key or (from_env[1] if from_env else None)
        if cloud:
            if not api_key:
                raise ConfigurationError(
                    "$.arize.api_key: Arize AX (space_id is set) needs an API key; set "
                    "arize.api_key (for example ${ARIZE_API_KEY}) or ARIZE_API_KEY",
                    field="$.arize.api_key",
                )
            space_id = config.space_id or ""
            # The headers arize-otel sends, old and new names, so any Arize collector accepts them.
            headers = {
                "authorization": api_key,
                "api_key": api_key,
                "arize-space-id": space_id,
                "space_id": space_id,
                "arize-interface": "otel",
                **headers,
            }
        elif api_key and "authorization" not in headers:
            headers["authorization"] = f"Bearer {api_key}"

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
            or (found_project[1] if found_project else None)
            or settings.service.name
            or env.get("OTEL_SERVICE_NAME")
            or "default"
        )
        target = "Arize AX" if cloud else "Phoenix"
        transport = "OTLP/gRPC" if protocol == "grpc" else "OTLP/HTTP"
        return Destination(
            description=f"{target} project {project!r}, {transport} {url}",
            transport=protocol,
            endpoint=url,
            headers=headers,
            compression=settings.tracing.compression,
            timeout_s=settings.tracing.export_timeout_s,
            resource_attributes={PROJECT_NAME_ATTRIBUTE: project},
        )

    def probes(self, destination: Destination) -> list[Probe]:
        transport = "OTLP/gRPC" if destination.transport == "grpc" else "OTLP/HTTP"
        probes = [Probe(name=f"{transport} port", kind="tcp", url=destination.endpoint)]
        if destination.transport == "http" and "arize-space-id" not in destination.headers:
            base = destination.endpoint.removesuffix(TRACES_PATH)
            probes.append(Probe(name="Phoenix /healthz", kind="http", url=f"{base}/healthz"))
        return probes
