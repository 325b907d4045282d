"""The bulk writer leaves the store exactly as MLflow's ``log_spans`` does, row for row.

Two fresh SQLite stores get the same batches of spans, one through MLflow's
``SqlAlchemyStore.log_spans``, the other through llmops' ``BulkWriter``; then every row of every
table is compared. The batches cover what ``log_spans`` reads: OpenInference LLM spans with
token counts and a cost, a session, a user, trace tags and a trace name set on the root span,
resource attributes, an error status, text outside ASCII, events, and traces split across
batches (children first, root later, which the writer hands to ``log_spans``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow")

import mlflow
from mlflow.entities import Span
from mlflow.tracing.client import TracingClient
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Status, StatusCode

from llmops._platforms._mlflow_bulk import VERIFIED, BulkWriter, bulk_writer

VERIFIED_HERE = mlflow.__version__ in VERIFIED


class _Keep(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


LLM = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gemini-2.0-flash",
    "llm.provider": "google",
    "input.value": "Pourquoi le ciel est-il bleu ? 空はなぜ青い",
    "output.value": "La lumière est diffusée par l'air.",
    "llm.token_count.prompt": 12,
    "llm.token_count.completion": 40,
    "llm.token_count.total": 52,
}


def _batches() -> list[list[ReadableSpan]]:
    """Batches in the order an export queue would make them (spans in end order)."""
    keep = _Keep()
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "bulk-test",
                "deployment.environment": "ci",
                "deployment.replicas": 3,
                "cloud.regions": ("eu", "us"),
            }
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("bulk-test")
    for n in range(6):  # single-span LLM traces, one with an error, one with a NaN
        attributes = {**LLM, "eval.score": float("nan")} if n == 4 else LLM
        with tracer.start_as_current_span(f"llm-{n}", attributes=attributes) as span:
            if n == 3:
                span.set_status(Status(StatusCode.ERROR, "quota"))
                span.add_event("exception", {"exception.message": "quota exceeded"})
    with tracer.start_as_current_span(  # an agent: session, user, tags, a name, a cost
        "agent",
        attributes={
            "openinference.span.kind": "AGENT",
            "session.id": "session-7",
            "user.id": "user-3",
            "mlflow.traceTag.team": "search",
            "mlflow.traceName": "answer",
            "input.value": json.dumps({"question": "why?"}),
            "output.value": json.dumps({"answer": "because"}),
        },
    ):
        for n in range(3):
            with tracer.start_as_current_span(
                "GenerateContent",
                attributes={**LLM, "mlflow.llm.cost": json.dumps({"input_cost": 0.001 * n})},
            ):
                pass
        with tracer.start_as_current_span("tool", attributes={"openinference.span.kind": "TOOL"}):
            pass
    # Two scopes in one trace: OTLP groups spans by scope, and the first session id wins.
    other = provider.get_tracer("other-scope")
    with tracer.start_as_current_span("outer", attributes={"session.id": "from-first-scope"}):
        with tracer.start_as_current_span("inner", attributes={"maybe": ("a", None)}):
            pass
        with other.start_as_current_span("call", attributes={"session.id": "from-other-scope"}):
            pass
    first = list(keep.spans)
    keep.spans.clear()
    # A trace split across two batches: its children are exported before its root ends.
    with tracer.start_as_current_span("chain", attributes={"openinference.span.kind": "CHAIN"}):
        for n in range(2):
            with tracer.start_as_current_span(f"step-{n}", attributes=LLM):
                pass
        children = list(keep.spans)
        keep.spans.clear()
        with tracer.start_as_current_span("plain", attributes={"k": [1, 2, 3]}):
            pass
    with tracer.start_as_current_span("new-in-a-mixed-batch", attributes=LLM):
        pass
    rest = list(keep.spans)
    keep.spans.clear()
    # A link, a lone surrogate and an int beyond int64: the writer converts this batch through
    # OTLP, whose encoder drops the last two, as MLflow's server receives it.
    with tracer.start_as_current_span(
        "linked",
        links=[trace.Link(children[0].context)],
        attributes={"cut": "half an emoji \ud83d", "big": 2**70},
    ):
        pass
    return [first + children, rest, list(keep.spans)]


def _converted(spans: list[ReadableSpan]) -> list[Span]:
    request = encode_spans(spans)
    return [
        Span.from_otel_proto(span, resource=resource_spans.resource)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {table: sorted(db.execute(f'SELECT * FROM "{table}"'), key=repr) for table in tables}


def _store(tmp_path: Path, name: str) -> tuple[TracingClient, str, Path]:
    path = tmp_path / f"{name}.db"
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}")
    experiment_id = client.create_experiment("bulk", artifact_location="file:///artifacts")
    return TracingClient(f"sqlite:///{path}"), experiment_id, path


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    # As in llmops' export thread: MLflow prices spans with litellm when it can import it,
    # and litellm downloads its price list.
    monkeypatch.setitem(sys.modules, "litellm", None)
    return _store(tmp_path, "mlflow"), _store(tmp_path, "bulk")


def _in_turns(writer: BulkWriter, location: str, first: list[Span], second: list[Span]) -> None:
    """``first`` and ``second`` written from two threads, as two exports in flight are: the
    second batch's rows are computed while the first one holds the write turn (the first
    write waits until they are), then the second batch takes its turn."""
    in_turn, second_ready = threading.Event(), threading.Event()
    rows, write = writer._rows, writer._write

    def computing(location: str, spans: list[Span]) -> Any:
        out = rows(location, spans)
        if spans is second:
            second_ready.set()
        return out

    def writing(location: str, spans: list[Span], computed: Any) -> None:
        if spans is first:
            in_turn.set()
            assert second_ready.wait(60), "the second batch waited for the first one's write"
        write(location, spans, computed)

    writer._rows, writer._write = computing, writing  # type: ignore[method-assign]
    failures: list[BaseException] = []

    def run(spans: list[Span]) -> None:
        try:
            writer.log_spans(location, spans)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(first,))]
    threads[0].start()
    assert in_turn.wait(60), "the first write never began"
    threads.append(threading.Thread(target=run, args=(second,)))
    threads[1].start()
    for thread in threads:
        thread.join(60)
    writer._rows, writer._write = rows, write  # type: ignore[method-assign]
    assert not failures, failures
    assert not writer._writing.locked()


def _written(
    stores: tuple[Any, ...], *, two_at_once: bool = False, later_half_first: bool = False
) -> tuple[dict[str, Any], dict[str, Any], BulkWriter]:
    """The tables the writes changed, in each store (the experiments' times differ).
    ``two_at_once``: the first two batches go through the writer from two threads.
    ``later_half_first``: both stores get the second batch first (two exports in flight may
    finish in either order), so the split trace's root and sibling arrive before its children."""
    (theirs, their_id, their_path), (ours, our_id, our_path) = stores
    assert their_id == our_id
    before = {"theirs": _dump(their_path), "ours": _dump(our_path)}
    writer = bulk_writer(ours.store, force=True)
    assert writer is not None
    handed_on: list[str] = []  # the spans the writer left to MLflow's log_spans
    log_spans = ours.store.log_spans

    def spy(location: str, spans: list[Span]) -> Any:
        handed_on.extend(span.name for span in spans)
        return log_spans(location, spans)

    ours.store.log_spans = spy
    converted_directly = []
    ours_batches = []
    batches = _batches()
    if later_half_first:
        batches[0], batches[1] = batches[1], batches[0]
    for batch in batches:
        theirs.store.log_spans(their_id, _converted(batch))
        ours_converted = writer.convert(batch)
        converted_directly.append(ours_converted is not None)
        ours_batches.append(ours_converted or _converted(batch))
    if two_at_once:
        _in_turns(writer, our_id, ours_batches[0], ours_batches[1])
        ours_batches = ours_batches[2:]
    for converted in ours_batches:
        writer.log_spans(our_id, converted)
    assert converted_directly == [True, True, False]  # the last batch has a link
    # Only the spans of the trace split across batches that came second went to log_spans:
    # the rest, new traces, was written in bulk; no batch fell back whole.
    second_half = ["step-0", "step-1"] if later_half_first else ["chain", "plain"]
    assert sorted(handed_on) == second_half
    after = {"theirs": _dump(their_path), "ours": _dump(our_path)}
    changed = {
        table
        for side in after
        for table in after[side]
        if after[side][table] != before[side][table]
    }
    assert {"trace_info", "spans", "trace_tags"} <= changed
    theirs_changed, ours_changed = (
        {table: after[side][table] for table in changed} for side in ("theirs", "ours")
    )
    return theirs_changed, ours_changed, writer


@pytest.mark.skipif(not VERIFIED_HERE, reason=f"MLflow {mlflow.__version__} is not verified")
@pytest.mark.parametrize(
    ("two_at_once", "later_half_first"),
    [(False, False), (True, False), (False, True)],
    ids=["one-thread", "two-threads", "later-half-first"],
)
def test_every_row_is_what_log_spans_writes(
    stores: tuple[Any, ...], two_at_once: bool, later_half_first: bool
) -> None:
    theirs, ours, _ = _written(stores, two_at_once=two_at_once, later_half_first=later_half_first)
    assert theirs.keys() == ours.keys()
    for table in theirs:
        assert ours[table] == theirs[table], table
    assert len(theirs["trace_info"]) == 11
    assert len(theirs["spans"]) == 20


def test_a_release_not_verified_gets_log_spans_alone(
    stores: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    (_, _, _), (ours, _, _) = stores
    assert (bulk_writer(ours.store) is not None) == VERIFIED_HERE
    monkeypatch.setattr(mlflow, "__version__", "0.0.0")
    assert bulk_writer(ours.store) is None


def test_a_failed_bulk_write_falls_back_to_log_spans(
    stores: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything failing in the bulk transaction leaves nothing of it: log_spans writes all."""
    (theirs, their_id, their_path), (ours, our_id, our_path) = stores
    writer = bulk_writer(ours.store, force=True)
    assert writer is not None

    advance = ours.store._advance_db_payload_generations_for_db_span_writes
    calls: list[int] = []

    def once_broken(session: Any, trace_ids: Any) -> None:
        calls.append(1)  # the bulk transaction's call, after its inserts, fails once
        if len(calls) == 1:
            raise RuntimeError("archived meanwhile")
        advance(session, trace_ids)

    monkeypatch.setattr(
        ours.store, "_advance_db_payload_generations_for_db_span_writes", once_broken
    )
    for batch in _batches():
        theirs.store.log_spans(their_id, _converted(batch))
        writer.log_spans(our_id, _converted(batch))
        if len(calls) == 1:
            assert writer._failing
    assert len(calls) > 2  # log_spans did the first batch, the writer the second
    theirs_now, ours_now = _dump(their_path), _dump(our_path)
    del theirs_now["experiments"], ours_now["experiments"]
    assert ours_now == theirs_now


def test_the_store_exporter_writes_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exporter llmops uses for a SQLite store takes the bulk writer exactly when the
    release is verified, and what it exports is stored whole."""
    from llmops._platforms._mlflow_export import StoreExporter

    monkeypatch.setitem(sys.modules, "litellm", None)
    client, experiment_id, _ = _store(tmp_path, "exported")
    exporter = StoreExporter(f"sqlite:///{tmp_path / 'exported.db'}", experiment_id)
    assert (exporter._bulk is not None) == VERIFIED_HERE
    batches = _batches()
    for batch in batches:
        assert exporter.export(batch) is SpanExportResult.SUCCESS
    exporter.shutdown()
    stored = client.store.search_traces(locations=[experiment_id], max_results=100)[0]
    assert len(stored) == 11
    assert sum(len(client.get_trace(t.trace_id).data.spans) for t in stored) == sum(
        map(len, batches)
    )


@pytest.mark.skipif(not VERIFIED_HERE, reason=f"MLflow {mlflow.__version__} is not verified")
def test_the_writer_sizes_its_connection_cache_and_nothing_else(
    stores: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each connection the writer writes through gets CACHE_KIB of page cache; the file's
    journal mode stays MLflow's, and so does the durability of every connection."""
    from llmops._platforms import _mlflow_bulk

    (_, _, _), (ours, our_id, our_path) = stores
    writer = bulk_writer(ours.store, force=True)
    assert writer is not None
    with sqlite3.connect(our_path) as db:
        journal = db.execute("PRAGMA journal_mode").fetchone()
    used: list[Any] = []
    size_cache = _mlflow_bulk._size_cache

    def spy(session: Any) -> None:
        size_cache(session)
        pooled = session.connection().connection
        used.append((pooled.dbapi_connection, pooled.info))

    monkeypatch.setattr(_mlflow_bulk, "_size_cache", spy)
    for batch in _batches():
        writer.log_spans(our_id, writer.convert(batch) or _converted(batch))
    assert used
    for raw, info in used:
        assert raw.execute("PRAGMA cache_size").fetchone()[0] == -_mlflow_bulk.CACHE_KIB
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, SQLite's default
        assert info["llmops_cache_kib"] == _mlflow_bulk.CACHE_KIB
    with sqlite3.connect(our_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == journal


def test_a_trace_written_meanwhile_by_another_writer(
    stores: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trace another process stored after the writer looked: its INSERT fails, the bulk
    transaction is rolled back whole, and log_spans stores the batch, as MLflow alone would."""
    (theirs, their_id, their_path), (ours, our_id, our_path) = stores
    writer = bulk_writer(ours.store, force=True)
    assert writer is not None
    first, second, _ = _batches()
    for store, location in ((theirs.store, their_id), (ours.store, our_id)):
        store.log_spans(location, _converted(first))
    monkeypatch.setattr(writer, "_held", lambda session, trace_ids: set())  # looked too early
    theirs.store.log_spans(their_id, _converted(second))
    writer.log_spans(our_id, _converted(second))  # its chain trace is in the store already
    assert writer._failing
    theirs_now, ours_now = _dump(their_path), _dump(our_path)
    del theirs_now["experiments"], ours_now["experiments"]
    assert ours_now == theirs_now


def test_convert_makes_what_from_otel_proto_makes(tmp_path: Path) -> None:
    """Span by span, with the resource: what the writer hands on is what the server's
    conversion makes; a span whose values OTLP would change goes through OTLP."""
    (client, _, _) = _store(tmp_path, "convert")
    writer = bulk_writer(client.store, force=True)
    assert writer is not None
    first, second, third = _batches()
    for batch in (first, second):
        ours = writer.convert(batch)
        assert ours is not None
        theirs = _converted(batch)
        assert [s.to_dict() for s in ours] == [s.to_dict() for s in theirs]
        assert [dict(s._span.resource.attributes) for s in ours] == [
            dict(s._span.resource.attributes) for s in theirs
        ]
    linked = third[0]
    assert writer.convert([linked]) is None
    keep = _Keep()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("edge")
    for attributes in ({"cut": "half an emoji \ud83d"}, {"big": 2**70}, {"bigs": (1, 2**70)}):
        keep.spans.clear()
        with tracer.start_as_current_span("edge", attributes=attributes):
            pass
        assert writer.convert(keep.spans) is None, attributes


def test_a_refused_insert_is_told_in_one_short_line(
    stores: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The multi-row INSERT's text is tens of kB and holds span content: when the database
    refuses it, no log record carries it, at any level, and log_spans still stores the batch."""
    (_, _, _), (ours, our_id, our_path) = stores
    writer = bulk_writer(ours.store, force=True)
    assert writer is not None
    first = _batches()[0]
    writer.log_spans(our_id, _converted(first))
    before = _dump(our_path)
    monkeypatch.setattr(writer, "_held", lambda session, trace_ids: set())
    with caplog.at_level(logging.DEBUG):
        writer.log_spans(our_id, _converted(first))  # every trace is in the store: refused
    assert writer._failing
    refused = [r for r in caplog.records if "bulk write failed" in r.getMessage()]
    assert len(refused) == 1
    assert "IntegrityError" in refused[0].getMessage()
    assert max(len(r.getMessage()) for r in caplog.records) < 1000
    assert not any("Pourquoi" in r.getMessage() for r in caplog.records)
    assert "INSERT into trace_info: IntegrityError" in refused[0].getMessage()
    assert _dump(our_path)["spans"] == before["spans"]  # log_spans upserted the same rows


def test_an_unavailable_database_is_not_waited_for_twice(
    stores: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An OperationalError (a locked or vanished database; here a missing table) ends the
    export with a short error: log_spans, which would wait for the database again, is not
    called, and MLflow's session logs no statement."""
    from llmops._platforms import _mlflow_bulk

    (_, _, _), (ours, our_id, _) = stores
    writer = bulk_writer(ours.store, force=True)
    assert writer is not None
    real_take = _mlflow_bulk._Rows.take

    def missing_table(self: Any) -> list[tuple[Any, list[dict[str, Any]]]]:
        (_, rows), *rest = real_take(self)
        return [(type("Table", (), {"name": "no_such_table"})(), rows), *rest]

    monkeypatch.setattr(_mlflow_bulk._Rows, "take", missing_table)
    called: list[int] = []
    monkeypatch.setattr(ours.store, "log_spans", lambda *a, **k: called.append(1))
    with caplog.at_level(logging.DEBUG), pytest.raises(_mlflow_bulk._Refused) as raised:
        writer.log_spans(our_id, _converted(_batches()[0]))
    assert "no such table" in str(raised.value)
    assert raised.value.unavailable
    assert called == []
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)


def test_a_locked_database_before_the_rows_is_not_waited_for_twice(
    stores: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first batch reads the experiment before its rows are computed: when MLflow says
    the database is unavailable there, the export ends; log_spans would wait for it again."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

    (_, _, _), (ours, our_id, _) = stores
    writer = bulk_writer(ours.store, force=True)
    assert writer is not None

    def locked(experiment_id: str) -> Any:
        raise MlflowException("database is locked", error_code=TEMPORARILY_UNAVAILABLE)

    monkeypatch.setattr(ours.store, "get_experiment", locked)
    called: list[int] = []
    monkeypatch.setattr(ours.store, "log_spans", lambda *a, **k: called.append(1))
    with pytest.raises(MlflowException, match="database is locked"):
        writer.log_spans(our_id, _converted(_batches()[0]))
    assert called == []
    assert not writer._artifact_paths  # asked again on the next batch
