"""The MLflow platform: a tracking server over OTLP/HTTP, or a local store written in-process.

* ``http://`` / ``https://`` tracking URI: spans go, as OTLP/HTTP protobuf, to the server's
  ``/v1/traces`` with the header ``x-mlflow-experiment-id``. The experiment is resolved (or
  created) through the server's documented REST API with the same credentials and headers.
* ``sqlite:///…`` (the default, ``sqlite:///mlflow.db``) or another SQLAlchemy database URI:
  no server. The exporter turns each batch into OTLP protobuf spans and hands them to the
  store's ``log_spans``, which is what the server's ``/v1/traces`` handler does, so both targets
  store the same traces. This needs mlflow-skinny, sqlalchemy and alembic (``llmops[mlflow]``).

Problems of the server or the store (unreachable, too old, unknown experiment) are logged and
retried; they never stop the application. Why this mechanism: ``docs/architecture.md``.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlsplit

import msgspec

from .._config import Section
from .._errors import ConfigurationError
from .._plugin import PlatformSetup
from .._registry import register_platform
from .._urls import check_credentials_transport, split_url

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from .._config import Settings, TracingConfig

__all__ = ["MlflowConfig", "MlflowPlatform", "Target", "Unresolved", "redact"]

logger = logging.getLogger("llmops")

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
"""The default of ``mlflow server`` and ``mlflow ui`` too: they show it from the same folder."""
DEFAULT_EXPERIMENT_ID = "0"
"""MLflow's ``Default`` experiment, which every store has."""
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
TRACES_PATH = "/v1/traces"
MIN_SERVER_VERSION = (3, 4)
"""The first MLflow release whose server accepts OTLP at ``/v1/traces``."""
SERVER_SCHEMES = frozenset({"http", "https"})
DATABASE_SCHEMES = frozenset({"sqlite", "postgresql", "mysql", "mssql"})
LOCAL_STORE_PACKAGES = ("mlflow", "sqlalchemy", "alembic")


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
    """Upper bound on each request that resolves the experiment."""
    allow_insecure: bool = False
    """Allow credentials over plain ``http://`` to a host that is not loopback."""
    telemetry: bool = False
    """MLflow's own usage telemetry; off (``MLFLOW_DISABLE_TELEMETRY=true``) unless true."""


class Unresolved(Exception):
    """The experiment cannot be resolved yet; ``str(self)`` says why and what to do."""

    def __init__(self, message: str, level: int = logging.ERROR) -> None:
        super().__init__(message)
        self.level = level


@register_platform("mlflow")
class MlflowPlatform:
    """An MLflow tracking server or local store; see ``docs/platforms/mlflow.md``."""

    config_type = MlflowConfig

    def setup(self, config: MlflowConfig, settings: Settings) -> PlatformSetup:
        env = os.environ
        if config.tracking_uri is not None:
            uri, where = config.tracking_uri.strip(), "$.mlflow.tracking_uri"
        elif env.get("MLFLOW_TRACKING_URI"):
            uri, where = env["MLFLOW_TRACKING_URI"].strip(), "$MLFLOW_TRACKING_URI"
        else:
            uri, where = DEFAULT_TRACKING_URI, "$.mlflow.tracking_uri"
        name, experiment_id = _experiment(config, settings)
        scheme = urlsplit(uri).scheme.lower().partition("+")[0]
        if scheme in SERVER_SCHEMES:
            target: Target = _ServerTarget(uri, where, config, settings.tracing)
        elif scheme in DATABASE_SCHEMES:
            target = _StoreTarget(uri, where, config)
        else:
            raise _bad_scheme(uri, scheme, where)
        if not config.telemetry and not ({"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"} & set(env)):
            # MLflow reads it when imported and before each usage event it would send.
            env["MLFLOW_DISABLE_TELEMETRY"] = "true"
        from ._mlflow_export import ExperimentExporter

        exporter = ExperimentExporter(target, name, experiment_id, config.create_experiment)
        exporter.try_resolve()
        return PlatformSetup(exporters=[exporter], description=exporter.describe())


def _experiment(config: MlflowConfig, settings: Settings) -> tuple[str | None, str | None]:
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
    env = os.environ
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


def redact(uri: str) -> str:
    """``uri`` without a password (database URIs may carry one)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


# -- targets: where the spans of an experiment go ---------------------------------------------


class Target:
    """A kind of MLflow backend: resolves experiments and makes the exporter for one."""

    uri: str

    def experiment_by_id(self, experiment_id: str) -> str:
        raise NotImplementedError

    def experiment_by_name(self, name: str, create: bool) -> str:
        raise NotImplementedError

    def exporter(self, experiment_id: str) -> SpanExporter:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class _ServerTarget(Target):
    """A tracking server: REST for the experiment, OTLP/HTTP for the spans."""

    def __init__(self, uri: str, where: str, config: MlflowConfig, tracing: TracingConfig) -> None:
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
        self.uri = f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}"
        self.headers = _headers(config)
        self.timeout_s = config.timeout_s
        self.tracing = tracing
        check_credentials_transport(
            uri,
            has_credentials=bool(self.headers),
            allow_insecure=config.allow_insecure,
            where=where,
            section="mlflow",
        )

    def describe(self) -> str:
        return f"MLflow tracking server {self.uri}, OTLP/HTTP to {self.uri}{TRACES_PATH}"

    def exporter(self, experiment_id: str) -> SpanExporter:
        from .._tracing import otlp_exporter

        headers = {**self.headers, EXPERIMENT_HEADER: experiment_id}
        return otlp_exporter(
            f"{self.uri}{TRACES_PATH}", "http", headers=headers, tracing=self.tracing
        )

    def experiment_by_id(self, experiment_id: str) -> str:
        self._check_version()
        status, body = self._call("GET", f"/experiments/get?experiment_id={quote(experiment_id)}")
        if status == 200:
            return _active_id(body.get("experiment"), f"id {experiment_id}")
        if _error_code(body) in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise Unresolved(
                f"the MLflow server {self.uri} has no experiment with id {experiment_id!r}; "
                "check mlflow.experiment_id (or MLFLOW_EXPERIMENT_ID), or use experiment_name"
            )
        raise self._unexpected(status, body)

    def experiment_by_name(self, name: str, create: bool) -> str:
        self._check_version()
        status, body = self._call("GET", f"/experiments/get-by-name?experiment_name={quote(name)}")
        if status == 200:
            return _active_id(body.get("experiment"), repr(name))
        if _error_code(body) != "RESOURCE_DOES_NOT_EXIST":
            raise self._unexpected(status, body)
        if not create:
            raise _missing(name, self.uri)
        status, body = self._call("POST", "/experiments/create", {"name": name})
        if status == 200 and isinstance(body.get("experiment_id"), str):
            logger.info("llmops: created the MLflow experiment %r on %s", name, self.uri)
            return str(body["experiment_id"])
        if _error_code(body) == "RESOURCE_ALREADY_EXISTS":  # created meanwhile by someone else
            return self.experiment_by_name(name, create=False)
        raise self._unexpected(status, body)

    def _check_version(self) -> None:
        status, body = self._call("GET", "/version", api=False)
        text = body.get("text", "") if status == 200 else ""
        try:
            version = tuple(int(p) for p in text.strip().split(".")[:2])
        except ValueError:
            version = ()
        if status == 404 or (status == 200 and version and version < MIN_SERVER_VERSION):
            shown = text.strip() or "older than 2.0"
            raise Unresolved(
                f"the MLflow server {self.uri} is version {shown}, too old to accept "
                f"OpenTelemetry traces; upgrade it to MLflow "
                f"{'.'.join(map(str, MIN_SERVER_VERSION))} or later"
            )
        if status != 200:
            raise self._unexpected(status, body)

    def _call(
        self, method: str, path: str, payload: dict[str, Any] | None = None, *, api: bool = True
    ) -> tuple[int, dict[str, Any]]:
        """One request; (status, JSON object or ``{"text": body}``). Raises when unreachable."""
        import requests

        url = f"{self.uri}/api/2.0/mlflow{path}" if api else f"{self.uri}{path}"
        try:
            response = requests.request(
                method, url, json=payload, headers=self.headers, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise Unresolved(
                f"cannot reach the MLflow server {self.uri} ({type(exc).__name__}); is it "
                "running and is mlflow.tracking_uri right?",
                level=logging.WARNING,
            ) from None
        if response.status_code in {401, 403}:
            raise Unresolved(
                f"the MLflow server {self.uri} refused the credentials (HTTP "
                f"{response.status_code}); set mlflow.token or mlflow.username / "
                "mlflow.password (or MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME / "
                "MLFLOW_TRACKING_PASSWORD)"
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"text": response.text[:200]}
        return response.status_code, body

    def _unexpected(self, status: int, body: dict[str, Any]) -> Unresolved:
        detail = body.get("message") or body.get("text") or ""
        return Unresolved(
            f"the MLflow server {self.uri} answered HTTP {status} ({str(detail)[:200]}); is "
            "mlflow.tracking_uri the server's base URL?"
        )


class _StoreTarget(Target):
    """A database store (SQLite by default) written in-process through mlflow-skinny."""

    def __init__(self, uri: str, where: str, config: MlflowConfig) -> None:
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
        # Without a remote price list, MLflow skips cost estimates instead of stalling the
        # first export for seconds on a network that cannot reach it. An explicit value wins.
        os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")
        self.uri = uri

    def describe(self) -> str:
        return f"MLflow local store {redact(self.uri)}"

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    def experiment_by_id(self, experiment_id: str) -> str:
        from mlflow.exceptions import MlflowException

        try:
            experiment = self._client().get_experiment(experiment_id)
        except MlflowException as exc:
            raise Unresolved(
                f"the MLflow store {redact(self.uri)} has no experiment with id "
                f"{experiment_id!r} ({exc.error_code}); check mlflow.experiment_id (or "
                "MLFLOW_EXPERIMENT_ID), or use experiment_name"
            ) from None
        except Exception as exc:
            raise self._failed(exc) from None
        return _active_id(
            {
                "experiment_id": experiment.experiment_id,
                "lifecycle_stage": experiment.lifecycle_stage,
            },
            f"id {experiment_id}",
        )

    def experiment_by_name(self, name: str, create: bool) -> str:
        from mlflow.exceptions import MlflowException

        try:
            client = self._client()
            experiment = client.get_experiment_by_name(name)
            if experiment is not None:
                return _active_id(
                    {
                        "experiment_id": experiment.experiment_id,
                        "lifecycle_stage": experiment.lifecycle_stage,
                    },
                    repr(name),
                )
            if not create:
                raise _missing(name, redact(self.uri))
            try:
                experiment_id = str(client.create_experiment(name))
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                return self.experiment_by_name(name, create=False)
            logger.info("llmops: created the MLflow experiment %r in %s", name, redact(self.uri))
            return experiment_id
        except Unresolved:
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    def exporter(self, experiment_id: str) -> SpanExporter:
        from ._mlflow_export import StoreExporter

        return StoreExporter(self.uri, experiment_id)

    def _failed(self, exc: Exception) -> Unresolved:
        return Unresolved(
            f"cannot open the MLflow store {redact(self.uri)}: {type(exc).__name__}: "
            f"{str(exc)[:300]}"
        )


def _headers(config: MlflowConfig) -> dict[str, str]:
    env = os.environ
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


def _error_code(body: dict[str, Any]) -> str | None:
    code = body.get("error_code")
    return code if isinstance(code, str) else None


def _active_id(experiment: Any, what: str) -> str:
    if not isinstance(experiment, dict) or experiment.get("experiment_id") is None:
        raise Unresolved(f"the MLflow experiment {what} could not be read")
    if experiment.get("lifecycle_stage") == "deleted":
        raise Unresolved(
            f"the MLflow experiment {what} is deleted; restore it (mlflow experiments restore) "
            "or use another experiment"
        )
    return str(experiment["experiment_id"])


def _missing(name: str, where: str) -> Unresolved:
    return Unresolved(
        f"the MLflow experiment {name!r} does not exist in {where} and mlflow.create_experiment "
        "is false; create it, or set create_experiment: true"
    )
