"""``llmops.enrich``: session and user ids, metadata and tags on spans (unit level, in memory).

End to end (Phoenix, MLflow): ``tests/test_enrichment_e2e.py`` and
``tests/mlflow/test_mlflow_enrichment.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmops
from llmops._context import ContextAttributesProcessor, current_enrichment


@pytest.fixture
def traced() -> Iterator[tuple[Any, InMemorySpanExporter]]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(ContextAttributesProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def attributes(exporter: InMemorySpanExporter) -> dict[str, dict[str, Any]]:
    return {s.name: dict(s.attributes or {}) for s in exporter.get_finished_spans()}


def test_attribute_names_are_openinference_s() -> None:
    # _enrichment spells them out rather than importing openinference.semconv at set-up.
    from openinference.semconv.trace import SpanAttributes

    from llmops import _enrichment

    assert _enrichment.SESSION_ID == SpanAttributes.SESSION_ID
    assert _enrichment.USER_ID == SpanAttributes.USER_ID
    assert _enrichment.METADATA == SpanAttributes.METADATA
    assert _enrichment.TAGS == SpanAttributes.TAG_TAGS


def test_enrich_is_exported_lazily() -> None:
    from llmops._context import enrich

    assert llmops.enrich is enrich
    assert "enrich" in llmops.__all__
    assert "enrich" in dir(llmops)


def test_a_block_sets_every_attribute_and_restores_the_context(traced: Any) -> None:
    tracer, exporter = traced
    with llmops.enrich(session_id="s-1", user_id="u-1", metadata={"plan": "pro"}, tags=["beta"]):
        with tracer.start_as_current_span("inside"):
            pass
        assert current_enrichment() == {
            "session_id": "s-1",
            "user_id": "u-1",
            "metadata": {"plan": "pro"},
            "tags": ["beta"],
        }
    with tracer.start_as_current_span("outside"):
        pass
    assert current_enrichment() == {}
    spans = attributes(exporter)
    assert spans["inside"]["session.id"] == "s-1"
    assert spans["inside"]["user.id"] == "u-1"
    assert json.loads(spans["inside"]["metadata"]) == {"plan": "pro"}
    assert list(spans["inside"]["tag.tags"]) == ["beta"]
    assert spans["outside"] == {}


def test_nested_blocks_merge(traced: Any) -> None:
    tracer, exporter = traced
    outer = llmops.enrich(session_id="s-outer", metadata={"a": 1, "b": 1}, tags=["x", "y"])
    inner = llmops.enrich(session_id="s-inner", user_id="u", metadata={"b": 2}, tags=["y", "z"])
    with outer, inner, tracer.start_as_current_span("span"):
        pass
    span = attributes(exporter)["span"]
    assert span["session.id"] == "s-inner"
    assert span["user.id"] == "u"
    assert json.loads(span["metadata"]) == {"a": 1, "b": 2}
    assert list(span["tag.tags"]) == ["x", "y", "z"]


def test_as_a_decorator_on_every_kind_of_function(traced: Any) -> None:
    tracer, exporter = traced
    tag = llmops.enrich(tags=["decorated"])

    @tag
    def plain() -> str:
        with tracer.start_as_current_span("plain"):
            return "ok"

    @tag
    async def coroutine() -> str:
        with tracer.start_as_current_span("coroutine"):
            return "ok"

    @tag
    def generator() -> Iterator[int]:
        with tracer.start_as_current_span("generator"):
            yield 1
            yield 2

    @tag
    async def async_generator() -> AsyncIterator[int]:
        with tracer.start_as_current_span("async_generator"):
            yield 1

    async def consume() -> list[int]:
        return [item async for item in async_generator()]

    assert plain() == "ok"
    assert asyncio.run(coroutine()) == "ok"
    assert list(generator()) == [1, 2]
    assert asyncio.run(consume()) == [1]
    with tracer.start_as_current_span("after"):
        pass
    spans = attributes(exporter)
    for name in ("plain", "coroutine", "generator", "async_generator"):
        assert list(spans[name]["tag.tags"]) == ["decorated"], name
    assert "tag.tags" not in spans["after"]


def test_decorated_calls_merge_with_the_caller_s_block(traced: Any) -> None:
    tracer, exporter = traced

    @llmops.enrich(tags=["inner"], metadata={"step": "answer"})
    def answer() -> None:
        with tracer.start_as_current_span("answer"):
            pass

    with llmops.enrich(session_id="s", tags=["outer"]):
        answer()
    span = attributes(exporter)["answer"]
    assert span["session.id"] == "s"
    assert list(span["tag.tags"]) == ["outer", "inner"]
    assert json.loads(span["metadata"]) == {"step": "answer"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"tags": "prod"}, TypeError),
        ({"tags": ["ok", 3]}, TypeError),
        ({"tags": [""]}, TypeError),
        ({"session_id": ""}, ValueError),
        ({"session_id": "   "}, ValueError),
        ({"user_id": 7}, TypeError),
        ({"user_id": "u" * 1025}, ValueError),
        ({"metadata": ["a"]}, TypeError),
        ({"metadata": {1: "a"}}, TypeError),
    ],
)
def test_arguments_that_cannot_become_attributes_fail_at_once(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        llmops.enrich(**kwargs)


def test_unserialisable_metadata_values_become_strings(traced: Any) -> None:
    tracer, exporter = traced
    with llmops.enrich(metadata={"when": object}), tracer.start_as_current_span("span"):
        pass
    assert json.loads(attributes(exporter)["span"]["metadata"])["when"].startswith("<class")


def test_the_processor_adds_config_defaults_and_keeps_what_a_span_has() -> None:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(
        ContextAttributesProcessor(metadata={"team": "search", "plan": "free"}, tags=["prod"])
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("bare"):
        pass
    with llmops.enrich(metadata={"plan": "pro"}, tags=["beta"], user_id="u"):
        with tracer.start_as_current_span("enriched"):
            pass
        # An instrumentor copies the context's attributes itself: the defaults are added.
        own = {"metadata": json.dumps({"plan": "pro"}), "tag.tags": ["beta"], "user.id": "own"}
        with tracer.start_as_current_span("instrumented", attributes=own):
            pass
    spans = attributes(exporter)
    provider.shutdown()
    assert json.loads(spans["bare"]["metadata"]) == {"team": "search", "plan": "free"}
    assert list(spans["bare"]["tag.tags"]) == ["prod"]
    assert json.loads(spans["enriched"]["metadata"]) == {"team": "search", "plan": "pro"}
    assert list(spans["enriched"]["tag.tags"]) == ["prod", "beta"]
    assert json.loads(spans["instrumented"]["metadata"]) == {"team": "search", "plan": "pro"}
    assert list(spans["instrumented"]["tag.tags"]) == ["prod", "beta"]
    assert spans["instrumented"]["user.id"] == "own"


def test_the_google_genai_instrumentor_reads_the_same_context(gemini_stub: Any) -> None:
    from google import genai
    from google.genai import types
    from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = genai.Client(
            api_key="x", http_options=types.HttpOptions(base_url=gemini_stub.base_url)
        )
        with llmops.enrich(session_id="s-g", user_id="u-g", metadata={"k": "v"}, tags=["t"]):
            client.models.generate_content(model="gemini-2.0-flash", contents="hello")
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "GenerateContent"]
    assert span.attributes is not None
    assert span.attributes["session.id"] == "s-g"
    assert span.attributes["user.id"] == "u-g"
    assert json.loads(str(span.attributes["metadata"])) == {"k": "v"}
    assert list(span.attributes["tag.tags"]) == ["t"]  # type: ignore[arg-type]


def test_repr_shows_what_is_set() -> None:
    assert repr(llmops.enrich(user_id="u", tags=["a"])) == "llmops.enrich(user_id='u', tags=['a'])"


_ROUTED_LATER = """
import sys
import llmops
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

assert "openinference.instrumentation" not in sys.modules
open("llmops.yaml", "w").write("platform: otlp\\notlp: {endpoint: 'http://127.0.0.1:9'}\\n")
provider = llmops.instrument(config_path="llmops.yaml")
(slot,) = provider._active_span_processor._span_processors
kinds = lambda: [type(p).__name__ for p in slot.processors]
before = kinds()
import openinference.instrumentation  # what llmops.enrich and every instrumentor import
after = kinds()
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
memory = InMemorySpanExporter()
provider.add_span_processor(SimpleSpanProcessor(memory))
with llmops.enrich(session_id="s-9"):
    provider.get_tracer("t").start_span("plain").end()
print(before, after, dict(memory.get_finished_spans()[0].attributes))
llmops.shutdown()
"""


def test_spans_skip_the_enrichment_processor_until_something_can_enrich(tmp_path: Any) -> None:
    """With no defaults in the config, nothing can put enrichment on the context before
    ``openinference.instrumentation`` is imported, so the processor is not on the hot path
    until then; once it is, plain spans are enriched as before (docs/performance.md)."""
    from tests.core_support import run_python

    result, _ = run_python(_ROUTED_LATER, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("['BatchExportProcessor'] ['ContextAttributesProcessor', "), line
    assert "'session.id': 's-9'" in line, line


def test_config_defaults_keep_the_enrichment_processor_from_the_start() -> None:
    from llmops._enrichment import ContextAttributesProcessor
    from llmops._processors import ProviderSlot

    slot = ProviderSlot()
    queue = SimpleSpanProcessor(InMemorySpanExporter())
    ContextAttributesProcessor(tags=["prod"]).route(slot, [queue])
    assert [type(p) for p in slot.processors] == [ContextAttributesProcessor, SimpleSpanProcessor]


def test_a_late_import_leaves_a_replaced_setup_alone() -> None:
    from llmops._enrichment import ContextAttributesProcessor
    from llmops._processors import ProviderSlot

    slot = ProviderSlot()
    first, second = (
        SimpleSpanProcessor(InMemorySpanExporter()),
        SimpleSpanProcessor(InMemorySpanExporter()),
    )
    enricher = ContextAttributesProcessor()
    slot.use([first])
    slot.use([second])  # a later set-up took the slot
    assert not slot.prepend(enricher, [first])
    assert slot.processors == (second,)
