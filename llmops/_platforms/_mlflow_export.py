"""The MLflow platform's runtime half: the server and store clients that resolve an
experiment, and the span exporters. Imported by the platform's ``setup()``, never by
``import llmops``; it imports nothing of ``mlflow.py`` but its records.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import msgspec
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .._masking import mask

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from .._config import Settings
    from .._plugin import Destination
    from .mlflow import MlflowDetails

__all__ = ["ExperimentExporter", "ServerTarget", "StoreExporter", "StoreTarget", "Unresolved"]

logger = logging.getLogger("llmops")

EXPERIMENT_HEADER = "x-mlflow-experiment-id"
MIN_SERVER_VERSION = (3, 4)
"""The first MLflow release whose server accepts OTLP at ``/v1/traces``."""


def server_too_old(text: str) -> bool:
    """Whether ``/version`` answered ``text``, a release without the OTLP endpoint."""
    try:
        version = tuple(int(p) for p in text.strip().split(".")[:2])
    except ValueError:
        return False
    return bool(version) and version < MIN_SERVER_VERSION


def too_old_message(subject: str, text: str) -> str:
    shown = text.strip() or "older than 2.0"
    return (
        f"{subject} is version {shown}, too old to accept OpenTelemetry "
        f"traces; upgrade it to MLflow {'.'.join(map(str, MIN_SERVER_VERSION))} or later"
    )


class Unresolved(Exception):
    """The experiment cannot be resolved yet; ``str(self)`` says why and what to do."""

    def __init__(self, message: str, level: int = logging.ERROR) -> None:
        super().__init__(message)
        self.level = level


# -- one deadline for every request of a resolution ------------------------------------------


class Attempt:
    """The requests of one resolution: one deadline, and the sockets to cut once it passes.

    requests' timeout bounds each socket read, so a server that sends a byte before each read
    would time out holds a request for ever; only cutting the socket ends it.
    """

    current = threading.local()
    """``.attempt``: the attempt of the worker thread running it."""

    def __init__(self, timeout_s: float) -> None:
        self.deadline = time.monotonic() + timeout_s
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._session: Any = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def session(self) -> Any:
        """A ``requests.Session`` whose connections report their sockets to this attempt."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            adapter = _watching_adapter()()
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
        return self._session

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _cut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _cut(sock)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


@functools.cache
def _watching_adapter() -> type[Any]:
    """An ``HTTPAdapter`` whose urllib3 connections hand their sockets to the running
    :class:`Attempt`. urllib3 has no public hook for that: this relies on its connection
    classes assigning ``self.sock`` (as ``http.client`` does, before any TLS handshake) and on
    ``PoolManager.pool_classes_by_scheme``; if either changes, the deadline still bounds the
    caller, and only the abandoned worker lingers until its socket times out."""
    import urllib3.poolmanager
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def get_sock(self: Any) -> Any:
        return self.__dict__.get("_llmops_sock")

    def set_sock(self: Any, value: Any) -> None:
        self.__dict__["_llmops_sock"] = value
        attempt = getattr(Attempt.current, "attempt", None)
        if isinstance(value, socket.socket) and attempt is not None:
            attempt.watch(value)

    watched = {"sock": property(get_sock, set_sock)}
    pools = {
        "http": type(
            "_Pool",
            (HTTPConnectionPool,),
            {"ConnectionCls": type("_Connection", (HTTPConnection,), watched)},
        ),
        "https": type(
            "_TLSPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": type("_TLSConnection", (HTTPSConnection,), watched)},
        ),
    }
    default = urllib3.poolmanager.pool_classes_by_scheme

    def use_pools(manager: Any) -> Any:
        # A SOCKS proxy manager has pools of its own: left alone.
        if getattr(manager, "pool_classes_by_scheme", None) is default:
            manager.pool_classes_by_scheme = pools
        return manager

    class WatchingAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            use_pools(self.poolmanager)

        def proxy_manager_for(self, proxy: Any, **proxy_kwargs: Any) -> Any:
            return use_pools(super().proxy_manager_for(proxy, **proxy_kwargs))

    return WatchingAdapter


# -- targets: where the spans of an experiment go ---------------------------------------------


class Target:
    """A kind of MLflow backend: resolves experiments and makes the exporter for one."""

    uri: str

    def resolve(self, name: str | None, wanted_id: str | None, create: bool) -> str:
        """The id of the experiment named ``name`` (made if ``create``), else of ``wanted_id``."""
        if name is not None:
            return self.experiment_by_name(name, create)
        assert wanted_id is not None
        return self.experiment_by_id(wanted_id)

    def experiment_by_id(self, experiment_id: str) -> str:
        raise NotImplementedError

    def experiment_by_name(self, name: str, create: bool) -> str:
        raise NotImplementedError

    def exporter(self, experiment_id: str) -> SpanExporter:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class ServerTarget(Target):
    """A tracking server: REST for the experiment, OTLP/HTTP for the spans."""

    def __init__(
        self, details: MlflowDetails, destination: Destination, settings: Settings
    ) -> None:
        self.uri = details.uri
        self.destination = destination
        self.headers = dict(destination.headers)
        self.timeout_s = details.timeout_s
        self.settings = settings
        self._late: threading.Thread | None = None
        """The worker of an attempt given up on at its deadline, while it winds down."""

    def describe(self) -> str:
        return f"MLflow tracking server {self.uri}, OTLP/HTTP {self.destination.endpoint}"

    def exporter(self, experiment_id: str) -> SpanExporter:
        from .._exporters import otlp_exporter

        headers = {**self.headers, EXPERIMENT_HEADER: experiment_id}
        return otlp_exporter(msgspec.structs.replace(self.destination, headers=headers))

    def resolve(self, name: str | None, wanted_id: str | None, create: bool) -> str:
        """Every request of the resolution in a worker thread, under one deadline: at the
        deadline the caller gives up and the worker's sockets are cut, so it ends too."""
        if self._late is not None and self._late.is_alive():
            raise self._too_slow()
        attempt = Attempt(self.timeout_s)
        outcome: list[str | BaseException] = []

        def run() -> None:
            Attempt.current.attempt = attempt
            try:
                outcome.append(Target.resolve(self, name, wanted_id, create))
            except BaseException as exc:  # handed to the caller, which raises it
                outcome.append(exc)
            finally:
                attempt.close()

        worker = threading.Thread(target=run, name="llmops-mlflow-resolve", daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if not outcome:
            attempt.expire()
            self._late = worker
            raise self._too_slow()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _too_slow(self) -> Unresolved:
        return Unresolved(
            f"the MLflow server {self.uri} did not answer within {self.timeout_s:g} s "
            "(mlflow.timeout_s); is it overloaded, or is a slow proxy in the way?",
            level=logging.WARNING,
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
        if status == 404 or (status == 200 and server_too_old(text)):
            raise Unresolved(too_old_message(f"the MLflow server {self.uri}", text))
        if status != 200:
            raise self._unexpected(status, body)

    def _call(
        self, method: str, path: str, payload: dict[str, Any] | None = None, *, api: bool = True
    ) -> tuple[int, dict[str, Any]]:
        """One request; (status, JSON object or ``{"text": body}``). Raises when unreachable."""
        import requests

        url = f"{self.uri}/api/2.0/mlflow{path}" if api else f"{self.uri}{path}"
        attempt: Attempt = getattr(Attempt.current, "attempt", None) or Attempt(self.timeout_s)
        remaining = attempt.remaining()
        if remaining <= 0:
            raise self._too_slow()
        try:
            response = attempt.session().request(
                method, url, json=payload, headers=self.headers, timeout=remaining
            )
        except requests.RequestException as exc:
            if attempt.expired:
                raise self._too_slow() from None
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


class StoreTarget(Target):
    """A database store (SQLite by default) written in-process through mlflow-skinny."""

    def __init__(self, details: MlflowDetails) -> None:
        self.uri = details.uri

    def describe(self) -> str:
        return f"MLflow local store {mask(self.uri)}"

    def resolve(self, name: str | None, wanted_id: str | None, create: bool) -> str:
        # Opening a new store logs each step at INFO on MLflow's own stderr handler.
        with _records_as_debug("mlflow.store.db.utils"):
            self._create_whole()
            return Target.resolve(self, name, wanted_id, create)

    def _create_whole(self) -> None:
        """A new SQLite store is made under a temporary name and put in place once MLflow
        has created its whole schema (seconds, in the export thread): a process that exits
        meanwhile leaves a stray temporary file, never a half-migrated store that MLflow
        then refuses ("table _alembic_tmp_... already exists")."""
        path = _sqlite_file(self.uri)
        if path is None or os.path.exists(path):
            return
        temporary = f"{path}.llmops-{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=f"sqlite:///{temporary}")
            client.search_experiments(max_results=1)  # creates the schema
            engine = getattr(getattr(client._tracking_client, "store", None), "engine", None)
            if engine is not None:
                engine.dispose()  # every connection closed: the file is complete
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)  # only if no other process made it meanwhile
        except Exception as exc:  # MLflow makes it in place instead, as before
            logger.debug("llmops: MLflow: preparing %s aside failed: %s", mask(self.uri), exc)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    def experiment_by_id(self, experiment_id: str) -> str:
        from mlflow.exceptions import MlflowException

        try:
            experiment = self._client().get_experiment(experiment_id)
        except MlflowException as exc:
            raise Unresolved(
                f"the MLflow store {mask(self.uri)} has no experiment with id "
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
                raise _missing(name, mask(self.uri))
            try:
                experiment_id = str(client.create_experiment(name))
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                return self.experiment_by_name(name, create=False)
            logger.info("llmops: created the MLflow experiment %r in %s", name, mask(self.uri))
            return experiment_id
        except Unresolved:
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    def exporter(self, experiment_id: str) -> SpanExporter:
        return StoreExporter(self.uri, experiment_id)

    def _failed(self, exc: Exception) -> Unresolved:
        return Unresolved(
            f"cannot open the MLflow store {mask(self.uri)}: {type(exc).__name__}: {str(exc)[:300]}"
        )


class _AsDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        logger.debug("llmops: MLflow: %s: %s", record.name, record.getMessage())
        return False


def _sqlite_file(uri: str) -> str | None:
    """The file of a ``sqlite:///`` store URI (``sqlite:////abs`` is ``/abs``), or ``None``
    for another database or memory."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return path if path and path != ":memory:" else None


@contextlib.contextmanager
def _records_as_debug(name: str) -> Iterator[None]:
    """While inside, the records of logger ``name`` below WARNING are llmops' DEBUG records."""
    quiet = _AsDebug()
    logging.getLogger(name).addFilter(quiet)
    try:
        yield
    finally:
        logging.getLogger(name).removeFilter(quiet)


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


class ExperimentExporter(SpanExporter):
    """Resolves the experiment, then exports through the target's exporter.

    Until the experiment resolves (server down, experiment missing, ...) each batch is dropped
    and counted, resolution is retried at most every ``retry_interval_s``, and the reason is
    logged once per change: the application never waits on MLflow nor stops because of it.
    """

    retry_interval_s = 10.0

    def __init__(self, target: Target, details: MlflowDetails) -> None:
        self.target = target
        self.name = details.experiment_name
        self.wanted_id = details.experiment_id
        self.create = details.create_experiment
        self.experiment_id: str | None = None
        self.dropped = 0
        self._inner: SpanExporter | None = None
        self._lock = threading.Lock()
        self._next_try = 0.0
        self._problem: str | None = None

    def describe(self) -> str:
        what = f"experiment {self.name!r}" if self.name is not None else "experiment"
        return f"{self.target.describe()}, {what} (id {self.experiment_id or 'not resolved yet'})"

    def try_resolve(self) -> SpanExporter | None:
        """The inner exporter, resolving the experiment first when a try is due; else ``None``."""
        with self._lock:
            if self._inner is not None or time.monotonic() < self._next_try:
                return self._inner
            try:
                experiment_id = self.target.resolve(self.name, self.wanted_id, self.create)
                inner = self.target.exporter(experiment_id)
            except Exception as exc:  # whatever it is, it must not reach the application
                problem = (
                    exc
                    if isinstance(exc, Unresolved)
                    else Unresolved(f"unexpected {type(exc).__name__}: {str(exc)[:300]}")
                )
                self._next_try = time.monotonic() + self.retry_interval_s
                if str(problem) != self._problem:
                    self._problem = str(problem)
                    logger.log(
                        problem.level,
                        "llmops: MLflow: %s. Traces for MLflow are dropped until this is fixed "
                        "(retried every %.0f s); the application carries on.",
                        problem,
                        self.retry_interval_s,
                    )
                return None
            self.experiment_id = experiment_id
            self._inner = inner
            if self._problem is not None:
                logger.warning(
                    "llmops: MLflow: sending traces to %s now; %d span(s) were dropped before",
                    self.describe(),
                    self.dropped,
                )
            return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        inner = self.try_resolve()
        if inner is None:
            with self._lock:  # two exports may be in flight
                self.dropped += len(spans)
            return SpanExportResult.FAILURE
        return inner.export(spans)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis) if self._inner is not None else True

    def shutdown(self) -> None:
        if self._inner is not None:
            self._inner.shutdown()


class _NoLitellmHere:
    """On ``sys.meta_path``: refuses ``import litellm`` on a thread that asked it to.

    MLflow prices every LLM span it stores with litellm when litellm is installed, and
    importing litellm takes seconds (``docs/platforms/mlflow.md``): done in the export thread,
    it holds the first export past the exit bound and competes with the application for the
    interpreter. Refused there, MLflow uses its own price table. Other threads, and a litellm
    the application has already imported, are untouched.
    """

    def __init__(self) -> None:
        self.refusing = threading.local()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if getattr(self.refusing, "on", False) and name.partition(".")[0] == "litellm":
            raise ImportError("llmops: litellm is not imported from MLflow's export thread")
        return None


_NO_LITELLM = _NoLitellmHere()


@contextlib.contextmanager
def _without_litellm_import() -> Iterator[None]:
    if "litellm" in sys.modules:
        yield
        return
    if _NO_LITELLM not in sys.meta_path:
        sys.meta_path.insert(0, _NO_LITELLM)
    _NO_LITELLM.refusing.on = True
    try:
        yield
    finally:
        _NO_LITELLM.refusing.on = False


class StoreExporter(SpanExporter):
    """Writes spans into an MLflow store in-process, as the server's ``/v1/traces`` does:
    OTLP protobuf spans, then ``mlflow.entities.Span.from_otel_proto``, then ``log_spans``.

    Two exports may run at once (``exports_in_flight``): the spans are converted in parallel,
    and the writes take turns (the bulk writer's own turns, or a lock around ``log_spans``).
    """

    def __init__(self, uri: str, experiment_id: str) -> None:
        from mlflow.entities import Span
        from mlflow.tracing.client import TracingClient
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        from ._mlflow_bulk import bulk_writer

        self._from_proto = Span.from_otel_proto
        self._encode = encode_spans
        self._client = TracingClient(uri)
        store = self._client.store
        self._bulk = bulk_writer(store)
        self._writer = self._bulk or _OneAtATime(store)
        self._uri = mask(uri)
        self._experiment_id = experiment_id
        self._failing = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            with _without_litellm_import():
                converted = self._bulk.convert(spans) if self._bulk is not None else None
                if converted is None:
                    request = self._encode(spans)
                    converted = [
                        self._from_proto(span, resource=resource_spans.resource)
                        for resource_spans in request.resource_spans
                        for scope_spans in resource_spans.scope_spans
                        for span in scope_spans.spans
                    ]
                self._writer.log_spans(self._experiment_id, converted)
        except Exception as exc:  # never into the export thread; logged once per failure streak
            if not self._failing:
                logger.warning(
                    "llmops: MLflow: could not store %d span(s) in %s: %s: %s",
                    len(spans),
                    self._uri,
                    type(exc).__name__,
                    str(exc)[:300],
                )
            self._failing = True
            return SpanExportResult.FAILURE
        self._failing = False
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class _OneAtATime:
    """``store.log_spans`` for one thread at a time: MLflow's own writes of a batch are many
    small transactions, and two batches interleaved would only wait on SQLite's lock."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._lock = threading.Lock()

    def log_spans(self, location: str, spans: list[Any]) -> None:
        with self._lock:
            self.store.log_spans(location, spans)
