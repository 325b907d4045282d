"""The bulk writer: new traces into MLflow's SQLite store in a few set-based statements.

MLflow's ``SqlAlchemyStore.log_spans`` writes every trace through the ORM: a flush to create
it, an UPDATE, and a merge (a SELECT, then a write) per tag, milliseconds per trace. The
spans of a batch are nearly all of traces the store does not hold yet; for those this writer
computes what ``log_spans`` would leave in the store and writes it with one multi-row INSERT
per table, in one transaction. The spans of traces the store already holds still go through
``log_spans``, as does the whole batch when anything here fails (the transaction is rolled
back first), so MLflow's own code stays the authority. :meth:`BulkWriter.convert` makes
MLflow's span objects the way ``Span.from_otel_proto`` does on the server, without the
protobuf round trip.

Both mirror MLflow's code (``SqlAlchemyStore._log_spans_once``, ``Span.from_otel_proto``) of
the releases in :data:`VERIFIED` only: ``tests/mlflow/test_mlflow_bulk.py`` fills two
stores, one the way MLflow's server does and one through this writer, and compares every row
of every table. With any other release, a store that is not plain SQLite, or MLflow's opt-in
trace rollups, :func:`bulk_writer` returns ``None`` and MLflow's own path does all the work.
The values are computed with MLflow's own functions wherever ``log_spans`` calls one.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sqlite3
import threading
import types
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from sqlalchemy.exc import DBAPIError, OperationalError

__all__ = ["VERIFIED", "BulkWriter", "bulk_writer"]

logger = logging.getLogger("llmops")

VERIFIED = frozenset({"3.17.2"})
"""The MLflow releases whose ``log_spans`` this writer reproduces row for row."""

CACHE_KIB = 8192
"""SQLite's page cache, in KiB, for each connection the writer uses (SQLite's default is
2,000). One batch's INSERTs touch more pages than that (seven rows a trace, at random places
in each index), and a full cache writes pages out in the middle of the transaction. Memory
only: the file, its journal mode and its durability stay as MLflow left them."""


def bulk_writer(store: Any, *, force: bool = False) -> BulkWriter | None:
    """A writer for ``store`` (a tracking store), or ``None`` where only ``log_spans`` is safe.

    ``force`` skips the release check (the row-for-row test uses it on a new release).
    """
    import mlflow

    if not force and mlflow.__version__ not in VERIFIED:
        return None
    try:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
        from mlflow.store.tracking.utils.sql_trace_rollups import rollups_enabled

        _mlflow()  # every name the writer uses, or none of the writer
    except (ImportError, AttributeError) as exc:  # a release laid out otherwise (forced)
        logger.debug("llmops: MLflow: no bulk writer: %r", exc)
        return None
    # A subclass may scope queries (workspaces) or change the writes.
    if type(store) is not SqlAlchemyStore or store.db_type != "sqlite" or rollups_enabled():
        return None
    return BulkWriter(store)


class BulkWriter:
    """``log_spans(location, spans)`` with the new traces written in bulk."""

    def __init__(self, store: Any) -> None:
        from mlflow.store.tracking.dbmodels import models

        self.store = store
        self._models = models
        self._failing = False
        self._writing = threading.Lock()
        self._artifact_paths: dict[str, Callable[[str], str]] = {}

    def convert(self, spans: Sequence[ReadableSpan]) -> list[Any] | None:
        """MLflow's spans for ``spans``, as ``Span.from_otel_proto`` makes them from their OTLP
        form, without the protobuf round trip; ``None`` when a span has what the round trip
        changes (a link, a value OTLP cannot carry) or is not what the SDK makes: then the
        caller takes the OTLP path."""
        try:
            return self._convert(spans)
        except Exception as exc:  # a span of another shape: the OTLP path knows it
            logger.debug("llmops: MLflow: converting through OTLP: %r", exc)
            return None

    def _convert(self, spans: Sequence[ReadableSpan]) -> list[Any] | None:
        m = _mlflow()
        dump = m.encode_json
        out = []
        resources: dict[int, Any] = {}
        for span in _otlp_order(spans):
            context = span.context
            if context is None or span.links:
                return None
            attributes = _dumped(span.attributes, dump)
            if attributes is None:
                return None
            if any(not _carried(event.attributes) for event in span.events):
                return None
            resource = resources.get(id(span.resource))
            if resource is None:
                given = span.resource.attributes
                if not _carried(given):
                    return None
                resource = m.Resource({k: _decoded(v) for k, v in given.items()})
                resources[id(span.resource)] = resource
            trace_id = context.trace_id
            attributes[m.SpanAttributeKey.REQUEST_ID] = m.dump_span_attribute_value(
                m.generate_mlflow_trace_id_from_otel_trace_id(trace_id)
            )
            parent = span.parent
            copy = ReadableSpan(
                name=span.name,
                context=m.build_otel_context(trace_id, context.span_id),
                parent=m.build_otel_context(trace_id, parent.span_id) if parent else None,
                start_time=span.start_time or 0,
                end_time=span.end_time or 0,
                attributes=attributes,
                status=m.Status(span.status.status_code, span.status.description or None),
                events=[
                    m.Event(
                        event.name,
                        {k: _decoded(v) for k, v in (event.attributes or {}).items()},
                        event.timestamp,
                    )
                    for event in span.events
                ],
                resource=resource,
            )
            converted = m.Span(copy)
            converted._links = []
            out.append(converted)
        return out

    def log_spans(self, location: str, spans: list[Any]) -> None:
        """Stores ``spans`` as ``store.log_spans(location, spans)`` would. Safe to call from
        two threads at once: the rows are computed in the caller's thread, in parallel with
        another call's write, and the writes take turns (SQLite has one writer at a time;
        its commit releases the interpreter, so the next batch's rows are computed meanwhile)."""
        if not spans:
            return
        try:
            rows = self._rows(location, spans)
        except Exception as exc:  # computed wrong is never written: log_spans does it all
            if (unavailable := _unavailable(exc)) is not None:
                raise unavailable from None  # locked or gone: log_spans would wait for it
            self._fell_back(exc)
            rows = None
        with self._writing:
            self._write(location, spans, rows)

    def _rows(self, location: str, spans: list[Any]) -> _Rows:
        """The rows of every trace of ``spans``, as if the store held none of them (the write
        leaves out those it holds). Reads nothing from the database but, once, the
        experiment."""
        by_trace: dict[str, list[Any]] = defaultdict(list)
        for span in spans:
            by_trace[span.trace_id].append(span)
        artifact_path = self._artifact_paths.get(location)
        if artifact_path is None:  # an experiment's artifact location never changes
            experiment = self.store.get_experiment(location)
            artifact_path = _artifact_path(self.store, experiment.artifact_location)
            self._artifact_paths[location] = artifact_path
        rows = _Rows(self.store, location, artifact_path)
        for trace_id, trace_spans in by_trace.items():
            rows.add_trace(trace_id, trace_spans)
        return rows

    def _write(self, location: str, spans: list[Any], rows: _Rows | None) -> None:
        rest = spans
        if rows is not None:
            try:
                rest = self._write_new(spans, rows)
            except Exception as exc:  # MLflow's own path decides; nothing is half-written
                if (unavailable := _unavailable(exc)) is not None:
                    raise unavailable from None  # locked or gone: log_spans would wait again
                self._fell_back(exc)
                rest = spans
            else:
                self._failing = False
        if rest:
            self.store.log_spans(location, rest)

    def _fell_back(self, exc: Exception) -> None:
        if not self._failing:
            logger.debug(
                "llmops: MLflow: bulk write failed, using log_spans: %s: %s",
                type(exc).__name__,
                str(exc)[:300],
            )
        self._failing = True

    def _write_new(self, spans: list[Any], rows: _Rows) -> list[Any]:
        """Writes the traces the store does not hold; returns the spans of the others."""
        store = self.store
        with store.ManagedSessionMaker(read_only=False) as session:
            _size_cache(session)
            held = self._held(session, rows.trace_ids)
            if held:
                rows.leave_out(held)
            new = [trace_id for trace_id in rows.trace_ids if trace_id not in held]
            if not new:
                return spans
            for table, table_rows in rows.take():
                _insert(session, table, table_rows)
            store._advance_db_payload_generations_for_db_span_writes(session, new)
        return [span for span in spans if span.trace_id in held]

    def _held(self, session: Any, trace_ids: list[str]) -> set[str]:
        """Which of ``trace_ids`` the store holds (another writer may add one before the
        commit: then the INSERT fails, the transaction is rolled back, and log_spans writes)."""
        info = self._models.SqlTraceInfo
        return {
            request_id
            for (request_id,) in self.store._trace_query(session)
            .with_entities(info.request_id)
            .filter(info.request_id.in_(trace_ids))
        }


def _size_cache(session: Any) -> None:
    """:data:`CACHE_KIB` of page cache for the connection this write uses, set once on each."""
    pooled = session.connection().connection  # its info lives as long as the connection
    if pooled.info.get("llmops_cache_kib") != CACHE_KIB:
        pooled.dbapi_connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        pooled.info["llmops_cache_kib"] = CACHE_KIB


def _insert(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """``rows`` into ``table`` with as few multi-row INSERTs as SQLite's variable limit allows:
    one statement is one ``sqlite3_step``, where ``executemany`` steps (and converts) row by
    row. The columns have no Python-side defaults and need no bind conversion, which the
    row-for-row test checks."""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    columns = list(rows[0])
    if any(len(row) != len(columns) for row in rows):  # a column missing from some rows
        raise ValueError(f"rows of {table.name} with different columns")
    limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)
    names = ", ".join(f'"{column}"' for column in columns)
    one = "(" + ", ".join("?" * len(columns)) + ")"
    for start in range(0, len(rows), limit):
        chunk = rows[start : start + limit]
        values = [row[column] for row in chunk for column in columns]
        try:
            connection.exec_driver_sql(
                f'INSERT INTO "{table.name}" ({names}) VALUES {", ".join([one] * len(chunk))}',
                tuple(values),
            )
        except DBAPIError as exc:  # its text holds the statement: tens of kB, and span content
            raise _Refused(table.name, exc) from None


def _unavailable(exc: Exception) -> Exception | None:
    """What to raise when ``exc`` says the database is locked or gone (MLflow's
    ``TEMPORARILY_UNAVAILABLE``, or a refused INSERT), where ``log_spans`` would wait out
    SQLite's busy timeout a second time; ``None`` for any other failure."""
    refused = exc.__cause__ if isinstance(exc.__cause__, _Refused) else exc
    if getattr(refused, "unavailable", False):
        return refused
    if getattr(exc, "error_code", None) == "TEMPORARILY_UNAVAILABLE":
        return exc
    return None


class _Refused(Exception):
    """A bulk INSERT the database refused, in SQLite's own words and without the statement
    (MLflow's session logs an OperationalError's text at ERROR, and every error re-raised)."""

    def __init__(self, table: str, exc: DBAPIError) -> None:
        super().__init__(f"INSERT into {table}: {type(exc.orig).__name__}: {str(exc.orig)[:200]}")
        self.unavailable = isinstance(exc, OperationalError)  # locked, or the file is gone


class _Rows:
    """The rows ``log_spans`` leaves for traces it creates, table by table.

    Each step names the phase of ``_log_spans_once`` it stands for; values are computed with
    the same MLflow functions, in the same order.
    """

    def __init__(self, store: Any, location: str, artifact_path: Callable[[str], str]) -> None:
        from mlflow.store.tracking.dbmodels import models

        self.models = models
        self.store = store
        self.location = location
        self.artifact_path = artifact_path
        self.trace_ids: list[str] = []
        self.traces: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []
        self.metadata: list[dict[str, Any]] = []
        self._resources: dict[int, tuple[Any, dict[str, str]]] = {}

    def take(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        """The rows per table, parents first (the tables' foreign keys)."""
        models = self.models
        tables = [
            (models.SqlTraceInfo.__table__, self.traces),
            (models.SqlSpan.__table__, self.spans),
            (models.SqlTraceTag.__table__, self.tags),
            (models.SqlTraceMetadata.__table__, self.metadata),
        ]
        return [(table, rows) for table, rows in tables if rows]

    def leave_out(self, trace_ids: set[str]) -> None:
        """Drops the rows of ``trace_ids`` (traces the store turned out to hold)."""
        self.trace_ids = [t for t in self.trace_ids if t not in trace_ids]
        self.traces = [row for row in self.traces if row["request_id"] not in trace_ids]
        self.spans = [row for row in self.spans if row["trace_id"] not in trace_ids]
        self.tags = [row for row in self.tags if row["request_id"] not in trace_ids]
        self.metadata = [row for row in self.metadata if row["request_id"] not in trace_ids]

    def add_trace(self, trace_id: str, trace_spans: list[Any]) -> None:
        m = _mlflow()
        self.trace_ids.append(trace_id)
        SpanAttributeKey, TraceTagKey = m.SpanAttributeKey, m.TraceTagKey
        store = self.store
        # -- the aggregates (log_spans computes them before its session opens)
        min_start_ms = min(s.start_time_ns for s in trace_spans) // 1_000_000
        end_times = [s.end_time_ns for s in trace_spans if s.end_time_ns is not None]
        max_end_ms = (max(end_times) // 1_000_000) if end_times else None
        root_span_status = store._get_trace_status_from_root_span(trace_spans)
        usage_nodes = []
        cost_nodes = []
        session_id = None
        user_id = None
        root_span_dict = None
        trace_tags: dict[str, str] = {}
        for span in trace_spans:
            span_dict = m.translate_span_when_storing(span)
            span_cost = None
            attributes = span_dict.get("attributes", {})
            # Read once: MLflow's Span formats its ids and status on every read.
            span_id, parent_id = span.span_id, span.parent_id
            usage_nodes.append(
                m._span_aggregation_node(
                    span_id, parent_id, attributes, SpanAttributeKey.CHAT_USAGE
                )
            )
            cost_nodes.append(
                m._span_aggregation_node(span_id, parent_id, attributes, SpanAttributeKey.LLM_COST)
            )
            if attributes:
                if session_id is None and (
                    span_session_id := (
                        attributes.get(SpanAttributeKey.SESSION_ID)
                        or attributes.get(m.GenAiSemconvKey.CONVERSATION_ID)
                    )
                ):
                    session_id = m.validate_session_id(m._try_parse_json_string(span_session_id))
                if user_id is None and (span_user_id := attributes.get("user.id")):
                    user_id = m._try_parse_json_string(span_user_id)
                span_cost = attributes.get(SpanAttributeKey.LLM_COST)
            content = m.encode_json(span_dict)
            cost_values: dict[str, Any] = {}
            if span_cost:
                with contextlib.suppress(TypeError, ValueError):  # as log_spans: skipped
                    cost_values = json.loads(span_cost)
            self.spans.append(
                {
                    "trace_id": span.trace_id,
                    "experiment_id": self.location,
                    "span_id": span_id,
                    "parent_span_id": parent_id,
                    "name": span.name,
                    "type": span.span_type,
                    "status": span.status.status_code,
                    "start_time_unix_nano": span.start_time_ns,
                    "end_time_unix_nano": span.end_time_ns,
                    "content": content,
                    "input_cost": m.finite_float_or_none(cost_values.get("input_cost")),
                    "output_cost": m.finite_float_or_none(cost_values.get("output_cost")),
                    "total_cost": m.finite_float_or_none(cost_values.get("total_cost")),
                    "model_name": m.bounded_model_dimension(
                        m._try_parse_json_string(attributes.get(SpanAttributeKey.MODEL))
                    ),
                    "model_provider": m.bounded_model_dimension(
                        m._try_parse_json_string(attributes.get(SpanAttributeKey.MODEL_PROVIDER))
                    ),
                }
            )
            if parent_id is None:
                root_span_dict = span_dict
                prefix = SpanAttributeKey.TRACE_TAG_PREFIX
                for key, value in attributes.items():
                    if key.startswith(prefix):
                        tag_key = key[len(prefix) :]
                        tag_value = str(m._try_parse_json_string(value))
                        try:
                            tag_key, tag_value = m._validate_trace_tag(tag_key, tag_value)
                        except Exception:
                            continue
                        if tag_key == TraceTagKey.TRACE_NAME:
                            tag_value = m.validate_trace_name(tag_value)
                        trace_tags[tag_key] = tag_value
        usage = m.aggregate_usage_from_span_nodes(usage_nodes) or {}
        cost = m.aggregate_cost_from_span_nodes(cost_nodes) or {}

        # -- phase 2 (created), then phase 5's UPDATE folded into the same row
        trace: dict[str, Any] = {
            "request_id": trace_id,
            "experiment_id": self.location,
            "timestamp_ms": min_start_ms,
            "execution_time_ms": max_end_ms - min_start_ms if max_end_ms is not None else None,
            "status": root_span_status or m.TraceState.IN_PROGRESS.value,
            "client_request_id": None,
            "request_preview": None,
            "response_preview": None,
            "trace_name": trace_tags.get(TraceTagKey.TRACE_NAME),
            "session_id": session_id or None,
        }
        if root_span_dict is not None:
            blank = _Blank()
            for column, value in store._update_trace_info_attributes(blank, root_span_dict).items():
                trace[column.key] = value
        for key, column in m.TOKEN_COLUMN_BY_KEY.items():
            trace[column] = m.token_count_or_none(usage.get(key)) if usage else None
        for key, column in m.COST_COLUMN_BY_KEY.items():
            trace[column] = m.finite_float_or_none(cost.get(key)) if cost else None
        self.traces.append(trace)

        # -- tags: the artifact location (phase 2), then phase 5's merges, last one wins
        tags = {
            m.MLFLOW_ARTIFACT_LOCATION: self.artifact_path(trace_id),
            TraceTagKey.SPANS_LOCATION: m.SpansLocation.TRACKING_STORE.value,
        }
        tags.update(self._resource_tags(trace_spans))
        tags.update((k, v) for k, v in trace_tags.items() if k != TraceTagKey.TRACE_NAME)
        self.tags.extend({"request_id": trace_id, "key": k, "value": v} for k, v in tags.items())
        if user_id:
            self.metadata.append(
                {"request_id": trace_id, "key": m.TraceMetadataKey.TRACE_USER, "value": user_id}
            )

    def _resource_tags(self, trace_spans: list[Any]) -> dict[str, str]:
        """The trace tags of the first span's resource (phase 5); one resource is shared by
        every span of an OTLP ``ResourceSpans`` block, so its tags are computed once."""
        resource = next(
            (
                r
                for span in trace_spans
                if (r := getattr(span._span, "resource", None)) is not None and r.attributes
            ),
            None,
        )
        if resource is None:
            return {}
        known = self._resources.get(id(resource))
        if known is not None and known[0] is resource:
            return known[1]
        tags: dict[str, str] = {}
        for key, value in resource.attributes.items():
            if key.startswith(("telemetry.sdk.", "mlflow.")):
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            try:
                key, text = _mlflow()._validate_trace_tag(key, text)
            except Exception:
                continue
            tags[key] = text
        self._resources[id(resource)] = (resource, tags)
        return tags


def _artifact_path(store: Any, artifact_location: str) -> Callable[[str], str]:
    """A trace's artifact location, as ``_get_trace_artifact_location_tag`` makes it. MLflow
    parses the experiment's URI again for each trace; its answer for one trace id, with the
    id replaced, is its answer for any other of the same form ("tr-" and 32 hex digits),
    which two ids check before the shortcut is taken."""
    append = _mlflow().append_to_uri_path
    folders = (store.TRACE_FOLDER_NAME, store.ARTIFACTS_FOLDER_NAME)

    def mlflow_path(trace_id: str) -> str:
        return str(append(artifact_location, folders[0], trace_id, folders[1]))

    probe, other = "tr-" + "0" * 32, "tr-" + "f" * 32
    parts = mlflow_path(probe).split(probe)
    if len(parts) != 2 or mlflow_path(other) != other.join(parts):
        return mlflow_path
    head, tail = parts

    def path(trace_id: str) -> str:
        if len(trace_id) == 35 and trace_id.startswith("tr-"):
            return head + trace_id + tail
        return mlflow_path(trace_id)

    return path


def _otlp_order(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """``spans`` in the order of their OTLP request: grouped by resource, then by scope."""
    groups: dict[Any, dict[Any, list[ReadableSpan]]] = {}
    for span in spans:
        groups.setdefault(span.resource, {}).setdefault(span.instrumentation_scope, []).append(span)
    return [span for scopes in groups.values() for group in scopes.values() for span in group]


_INT64 = range(-(2**63), 2**63)
_SCALARS = (bool, float, bytes, type(None))


def _utf8(text: str) -> bool:
    """Whether protobuf takes ``text`` (a lone surrogate is not UTF-8: the encoder drops it)."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _carried_value(value: object) -> bool:
    if isinstance(value, str):
        return _utf8(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value in _INT64
    return isinstance(value, _SCALARS)


def _carried(attributes: Any) -> bool:
    """Whether OTLP carries every key and value as it is: the encoder drops what it cannot
    encode, one attribute at a time, and logs it."""
    return _dumped(attributes, _nothing) is not None


def _nothing(value: object) -> str:
    return ""


def _dumped(attributes: Any, dump: Callable[[Any], str]) -> dict[str, str] | None:
    """A span's attributes as ``Span.from_otel_proto`` stores them from OTLP, each value as
    JSON (a sequence as a list), in one pass; ``None`` when OTLP would not carry one as it is
    (the one place for that rule: :func:`_carried` asks it too)."""
    out = {}
    for key, value in (attributes or {}).items():
        if type(key) is not str or not _utf8(key):
            return None
        if isinstance(value, (tuple, list)):
            if not all(map(_carried_value, value)):
                return None
            value = list(value)
        elif not _carried_value(value):
            return None
        out[key] = dump(value)
    return out


def _decoded(value: Any) -> Any:
    """A value as OTLP decodes it: a sequence becomes a list."""
    return list(value) if isinstance(value, tuple) else value


class _Blank:
    """A trace row before phase 5: what ``_update_trace_info_attributes`` reads of it (the
    two previews; a release that reads more fails the row-for-row test, as it should)."""

    request_preview = None
    response_preview = None


@functools.cache
def _mlflow() -> types.SimpleNamespace:
    """The MLflow names ``_log_spans_once`` uses, imported once."""
    from mlflow import entities
    from mlflow.entities import trace_state
    from mlflow.store.tracking import sqlalchemy_store
    from mlflow.store.tracking.utils import trace_analytics
    from mlflow.tracing import constant, utils
    from mlflow.tracing.otel import translation
    from mlflow.utils import mlflow_tags, uri
    from opentelemetry import trace as trace_api
    from opentelemetry.sdk import resources
    from opentelemetry.sdk import trace as sdk_trace

    names = {
        trace_state: ["TraceState"],
        sqlalchemy_store: [
            "_span_aggregation_node",
            "_try_parse_json_string",
            "_validate_trace_tag",
        ],
        trace_analytics: [
            "COST_COLUMN_BY_KEY",
            "TOKEN_COLUMN_BY_KEY",
            "bounded_model_dimension",
            "finite_float_or_none",
            "token_count_or_none",
            "validate_session_id",
            "validate_trace_name",
        ],
        constant: [
            "GenAiSemconvKey",
            "SpanAttributeKey",
            "SpansLocation",
            "TraceMetadataKey",
            "TraceTagKey",
        ],
        translation: ["translate_span_when_storing"],
        utils: [
            "TraceJSONEncoder",
            "aggregate_cost_from_span_nodes",
            "aggregate_usage_from_span_nodes",
            "build_otel_context",
            "dump_span_attribute_value",
            "generate_mlflow_trace_id_from_otel_trace_id",
        ],
        mlflow_tags: ["MLFLOW_ARTIFACT_LOCATION"],
        uri: ["append_to_uri_path"],
        entities: ["Span"],
        resources: ["Resource"],
        sdk_trace: ["Event"],
        trace_api: ["Status"],
    }
    m = types.SimpleNamespace(
        **{name: getattr(module, name) for module, wanted in names.items() for name in wanted}
    )
    # json.dumps(value, cls=TraceJSONEncoder, ensure_ascii=False), as MLflow writes an
    # attribute value and a span's content, without making an encoder for each value.
    m.encode_json = m.TraceJSONEncoder(ensure_ascii=False).encode
    return m
