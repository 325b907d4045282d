"""The MLflow platform: a tracking server over OTLP/HTTP, or a local store written in-process.

* ``http://`` / ``https://`` tracking URI: spans go, as OTLP/HTTP protobuf, to the server's
  ``/v1/traces`` with the header ``x-mlflow-experiment-id``. The experiment is resolved (or
  created) through the server's documented REST API with the same credentials and headers.
* ``sqlite:///…`` (the default, ``sqlite:///mlflow.db``) or another SQLAlchemy database URI:
  no server. The exporter turns each batch into OTLP protobuf spans and hands them to the
  store's ``log_spans``, which is what the server's ``/v1/traces`` handler does, so both targets
  store the same traces. This needs mlflow-skinny, sqlalchemy and alembic (``llmops[mlflow]``).

``resolve`` checks everything that can be checked without the network; ``setup`` makes the
exporter (in ``_mlflow_export``), which resolves the experiment. Problems of the server or
the store (unreachable, too old, unknown experiment) are logged and retried; they never stop
the application. Why this mechanism: ``docs/architecture.md``.
"""

from __future__ import annotations

import base64
import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from .._config import Section, Settings
from .._errors import ConfigurationError
from .._masking import mask
from .._plan import env_value
from .._plugin import Destination, PlatformSetup, Probe
from .._urls import check_credentials_transport, split_url

__all__ = ["MlflowConfig", "MlflowDetails", "MlflowPlatform"]

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
"""The default of ``mlflow server`` and ``mlflow ui`` too: they show it from the same folder."""
DEFAULT_EXPERIMENT_ID = "0"
"""MLflow's ``Default`` experiment, which every store has."""
TRACES_PATH = "/v1/traces"
SERVER_SCHEMES = frozenset({"http", "https"})
DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "mysql", "mssql"})
LOCAL_STORE_PACKAGES = ("mlflow", "sqlalchemy", "alembic")

ENVIRONMENT: Mapping[str, tuple[str, ...]] = {
    "tracking_uri": ("MLFLOW_TRACKING_URI",),
    "experiment_name": ("MLFLOW_EXPERIMENT_NAME",),
    "experiment_id": ("MLFLOW_EXPERIMENT_ID",),
    "token": ("MLFLOW_TRACKING_TOKEN",),
    "username": ("MLFLOW_TRACKING_USERNAME",),
    "password": ("MLFLOW_TRACKING_PASSWORD",),
}
"""MLflow's own variables, by the key of ``mlflow:`` each fills."""


class MlflowConfig(Section):
    """``mlflow:`` — which MLflow, which experiment, which credentials."""

    secret_fields = frozenset({"token", "password", "headers"})

    tracking_uri: str | None = None
    """``http(s)://host:port`` (a tracking server) or ``sqlite:///path/mlflow.db`` (a local
    store); else ``MLFLOW_TRACKING_URI``; else ``sqlite:///mlflow.db``."""
    experiment_name: str | None = None
    """Else ``MLFLOW_EXPERIMENT_NAME``; else ``service.name``; else MLflow's ``Default``."""
    experiment_id: str | int | None = None
    """Instead of a name; else ``MLFLOW_EXPERIMENT_ID``."""
    create_experiment: bool = True
    """Create the named experiment when it does not exist."""
    token: str | None = None
    """Sent as ``authorization: Bearer <token>``; else ``MLFLOW_TRACKING_TOKEN``."""
    username: str | None = None
    """HTTP basic auth with ``password``; else ``MLFLOW_TRACKING_USERNAME``."""
    password: str | None = None
    """Else ``MLFLOW_TRACKING_PASSWORD``."""
    headers: dict[str, str] = {}
    """Extra headers on every request to the server."""
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 5.0
    """Upper bound on resolving the experiment on a server: all its requests together (version
    check, lookup, creation), at ``instrument()`` and at each retry."""
    allow_insecure: bool = False
    """Allow credentials over plain ``http://`` to a host that is not loopback."""
    telemetry: bool = False
    """MLflow's own usage telemetry; off (``MLFLOW_DISABLE_TELEMETRY=true``) unless true."""


class MlflowDetails(msgspec.Struct, frozen=True, kw_only=True):
    """What the MLflow exporter needs beyond the OTLP destination."""

    kind: Literal["server", "store"]
    uri: str
    """The server's base URL, or the store's database URI (it may hold a password)."""
    experiment_name: str | None
    experiment_id: str | None
    create_experiment: bool
    timeout_s: float
    telemetry: bool


class MlflowPlatform:
    """An MLflow tracking server or local store; see ``docs/platforms/mlflow.md``."""

    config_type = MlflowConfig

    def environment(
        self, config: MlflowConfig, env: Mapping[str, str]
    ) -> Mapping[str, tuple[str, ...]]:
        return ENVIRONMENT

    def resolve(
        self, config: MlflowConfig, settings: Settings, env: Mapping[str, str]
    ) -> Destination:
        if config.tracking_uri is not None:
            uri, where = config.tracking_uri.strip(), "$.mlflow.tracking_uri"
        elif (found := env_value(env, ENVIRONMENT["tracking_uri"])) is not None:
            uri, where = found[1].strip(), f"${found[0]}"
        else:
            uri, where = DEFAULT_TRACKING_URI, "$.mlflow.tracking_uri"
        name, experiment_id = _experiment(config, settings, env)
        try:
            scheme = urlsplit(uri).scheme.lower().partition("+")[0]
        except ValueError:  # such as an unclosed [IPv6 address
            raise ConfigurationError(
                f"{where}: the tracking URI is not a valid URI", field=where
            ) from None
        details = MlflowDetails(
            kind="server" if scheme in SERVER_SCHEMES else "store",
            uri=uri,
            experiment_name=name,
            experiment_id=experiment_id,
            create_experiment=config.create_experiment,
            timeout_s=config.timeout_s,
            telemetry=config.telemetry,
        )
        what = f"experiment {name!r}" if name is not None else f"experiment id {experiment_id}"
        if scheme in SERVER_SCHEMES:
            base, headers = _server(uri, where, config, env)
            return Destination(
                description=f"MLflow tracking server {base}, {what}, OTLP/HTTP {base}{TRACES_PATH}",
                transport="http",
                endpoint=f"{base}{TRACES_PATH}",
                headers=headers,
                compression=settings.tracing.compression,
                timeout_s=settings.tracing.export_timeout_s,
                details=msgspec.structs.replace(details, uri=base),
            )
        if scheme in DATABASE_SCHEMES:
            _check_store(uri, where, config)
            return Destination(
                description=f"MLflow local store {mask(uri)}, {what}",
                transport="in-process",
                endpoint=mask(uri),
                details=details,
            )
        raise _bad_scheme(uri, scheme, where)

    def setup(self, destination: Destination, settings: Settings) -> PlatformSetup:
        from ._mlflow_export import ExperimentExporter, ServerTarget, StoreTarget

        details: MlflowDetails = destination.details
        if not details.telemetry and not (
            {"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"} & set(os.environ)
        ):
            # MLflow reads it when imported and before each usage event it would send.
            os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
        if details.kind == "server":
            target: ServerTarget | StoreTarget = ServerTarget(details, destination, settings)
        else:
            # Without a remote price list, MLflow skips cost estimates instead of stalling
            # the first export on a network that cannot reach it. An explicit value wins.
            os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")
            # MLflow prices LLM spans through litellm when it is installed, whose import
            # fetches a price list from the internet unless told to use its own copy.
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            target = StoreTarget(details)
        exporter = ExperimentExporter(target, details)
        if details.kind == "server":
            exporter.try_resolve()
        else:
            # A local store is opened in a thread of its own, from now: MLflow's import and a
            # new store's migrations take seconds, which instrument() does not wait for and a
            # short program's exit flush should not have to. Spans wait in the queue; the
            # first export waits for the store (try_resolve holds a lock).
            import threading

            threading.Thread(
                target=exporter.try_resolve, name="llmops MLflow store", daemon=True
            ).start()
        return PlatformSetup(
            exporters=[exporter],
            description=exporter.describe(),
            # A local store's export is half conversion (the interpreter) and half SQLite
            # (outside it): with two in flight, one batch is converted while the last commits.
            exports_in_flight=1 if details.kind == "server" else 2,
        )

    def probes(self, destination: Destination) -> list[Probe]:
        details: MlflowDetails = destination.details
        if details.kind == "server":
            return [
                Probe(name="MLflow /health", kind="http", url=f"{details.uri}/health"),
                Probe(
                    name="MLflow /version",
                    kind="http",
                    url=f"{details.uri}/version",
                    check=_version_problem,
                ),
            ]
        return [
            Probe(
                name="MLflow local store",
                kind="local",
                check=lambda _: _store_problem(details.uri),
                detail=f"{mask(details.uri)}: {', '.join(LOCAL_STORE_PACKAGES)} installed",
            )
        ]


def _server(
    uri: str, where: str, config: MlflowConfig, env: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """The server's base URL and the headers of every request to it."""
    parts = split_url(
        uri,
        where=where,
        what="the tracking URI",
        credentials_hint="put them in mlflow.username / mlflow.password (or "
        "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD)",
    )
    if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is None:
        raise ConfigurationError(
            f"{where}: sending to an MLflow server needs the OTLP/HTTP exporter: "
            "pip install 'llmops[mlflow]'",
            field=where,
        )
    headers = _headers(config, env)
    check_credentials_transport(
        uri,
        has_credentials=bool(headers),
        allow_insecure=config.allow_insecure,
        where=where,
        section="mlflow",
    )
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}", headers


def _check_store(uri: str, where: str, config: MlflowConfig) -> None:
    """Refuse what a local store cannot use, and a store that cannot be opened."""
    missing = [p for p in LOCAL_STORE_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise ConfigurationError(
            f"{where}: a local MLflow store needs {', '.join(missing)} (not installed); "
            "pip install 'llmops[mlflow]', or point tracking_uri at a tracking server",
            field=where,
        )
    for field in ("token", "username", "password"):
        if getattr(config, field) is not None:
            raise ConfigurationError(
                f"$.mlflow.{field}: credentials are for a tracking server (an http(s) "
                "tracking_uri); a local store does not use them",
                field=f"$.mlflow.{field}",
            )
    if config.headers:
        raise ConfigurationError(
            "$.mlflow.headers: headers are for a tracking server (an http(s) tracking_uri)",
            field="$.mlflow.headers",
        )
    if uri.lower().startswith("sqlite"):
        path = uri.partition(":///")[2]
        if not path or path == ":memory:":
            raise ConfigurationError(
                f"{where}: name a database file, such as sqlite:///mlflow.db (relative to "
                "the working directory) or sqlite:////absolute/path/mlflow.db",
                field=where,
            )
        folder = Path(path).expanduser().parent
        if not folder.is_dir():
            raise ConfigurationError(
                f"{where}: the folder {folder} of the SQLite file does not exist; create it "
                "or fix the path",
                field=where,
            )


def _store_problem(uri: str) -> str | None:
    """What stops llmops writing the local store here (doctor), or ``None``."""
    if uri.lower().startswith("sqlite"):
        folder = Path(uri.partition(":///")[2]).expanduser().resolve().parent
        if not os.access(folder, os.W_OK):
            return f"the folder {folder} is not writable"
    return None


def _version_problem(body: str) -> str | None:
    """``/version`` answered ``body``: a server too old for OTLP, or ``None``."""
    from ._mlflow_export import server_too_old, too_old_message

    return too_old_message("the server", body) if server_too_old(body) else None


def _experiment(
    config: MlflowConfig, settings: Settings, env: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The experiment (name, id) to use; exactly one of them is set."""
    if config.experiment_name is not None and config.experiment_id is not None:
        raise ConfigurationError(
            "$.mlflow.experiment_id: set experiment_name or experiment_id, not both",
            field="$.mlflow.experiment_id",
        )
    if config.experiment_name is not None:
        return _non_empty(config.experiment_name, "$.mlflow.experiment_name"), None
    if config.experiment_id is not None:
        return None, _non_empty(str(config.experiment_id), "$.mlflow.experiment_id")
    if env.get("MLFLOW_EXPERIMENT_NAME"):  # as in MLflow, the name wins over the id
        return env["MLFLOW_EXPERIMENT_NAME"].strip(), None
    if env.get("MLFLOW_EXPERIMENT_ID"):
        return None, env["MLFLOW_EXPERIMENT_ID"].strip()
    if settings.service.name:
        return settings.service.name, None
    return None, DEFAULT_EXPERIMENT_ID


def _non_empty(value: str, where: str) -> str:
    if not value.strip():
        raise ConfigurationError(f"{where}: must not be empty", field=where)
    return value.strip()


def _bad_scheme(uri: str, scheme: str, where: str) -> ConfigurationError:
    path_like = scheme == "file" or (scheme == "" and ("/" in uri or uri.endswith(".db")))
    path = uri.removeprefix("file://") if path_like else None
    if path is not None and path.endswith(".db"):
        hint = f"for a local store use sqlite:///{Path(path).expanduser().resolve()}"
    elif path is not None:
        hint = (
            "MLflow's file store cannot hold trace spans; use a SQLite store such as "
            "sqlite:///mlflow.db, or a tracking server http://host:5000"
        )
    else:
        what = f"the scheme {scheme!r} is not supported" if scheme else "this is not a URI"
        hint = (
            f"{what}; use http(s)://host:port (a tracking server) or sqlite:///path/mlflow.db "
            "(a local store)"
        )
    return ConfigurationError(f"{where}: {hint}", field=where)


def _headers(config: MlflowConfig, env: Mapping[str, str]) -> dict[str, str]:
    token = config.token or env.get("MLFLOW_TRACKING_TOKEN") or None
    username = config.username or env.get("MLFLOW_TRACKING_USERNAME") or None
    password = config.password or env.get("MLFLOW_TRACKING_PASSWORD") or None
    if (username is None) != (password is None):
        where = "$.mlflow.password" if password is None else "$.mlflow.username"
        raise ConfigurationError(
            f"{where}: basic auth needs both username and password (mlflow.username and "
            "mlflow.password, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)",
            field=where,
        )
    headers: dict[str, str] = {}
    if username is not None and password is not None:  # MLflow's own order: basic, then token
        pair = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers["authorization"] = f"Basic {pair}"
    elif token is not None:
        headers["authorization"] = f"Bearer {token}"
    headers.update({k.lower(): v for k, v in config.headers.items()})
    return headers
