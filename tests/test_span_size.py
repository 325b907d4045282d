"""The span sizes that bound the export queue and cut the exports (``llmops/_span_size.py``):
the estimate ``span.end()`` computes inline agrees with the reference one, and the bound the
export thread relies on holds against what OpenTelemetry's encoder really produces."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmops import _span_size
from llmops._batching import BatchExportProcessor

_provider = TracerProvider(shutdown_on_exit=False)
_tracer = _provider.get_tracer("size")

_keys = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    min_size=1,
    max_size=_span_size.KEY_ALLOWANCE,
)
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
_scalar = st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), _text)
_value = st.one_of(
    _scalar,
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40),
    st.lists(st.floats(allow_nan=False), max_size=40),
    st.lists(_text, max_size=10),
    st.binary(max_size=200),
)


class _Null(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _span(name: str, attributes: dict[str, object], events: int, status: str) -> ReadableSpan:
    span = _tracer.start_span(name)
    span.set_attributes(attributes)  # type: ignore[arg-type]
    for i in range(events):
        span.add_event(f"event {i}", {"event.i": i, "event.text": name})
    if status:
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR, status))
    span.end()
    return span._readable_span()  # type: ignore[attr-defined, no-any-return]


def _queued_size(span: ReadableSpan) -> int:
    processor = BatchExportProcessor(
        _Null(),
        "size",
        max_spans=10,
        max_bytes=1 << 40,
        max_batch=10,
        max_export_bytes=1 << 40,
        delay_s=3600.0,
    )
    try:
        processor.on_end(span)
        ((queued, size),) = processor._queue
        assert queued is span
        return size
    finally:
        processor.give_up()


def _encoded(span: ReadableSpan) -> int:
    request = encode_spans([span])
    return int(request.resource_spans[0].scope_spans[0].spans[0].ByteSize())


@settings(max_examples=150, deadline=None)
@given(
    name=_text,
    attributes=st.dictionaries(_keys, _value, max_size=12),
    events=st.integers(0, 3),
    status=_text,
)
def test_the_inlined_estimate_is_the_reference_one_and_bounds_the_wire(
    name: str, attributes: dict[str, object], events: int, status: str
) -> None:
    span = _span(name, attributes, events, status)
    estimate = _span_size.estimate(span)
    assert _queued_size(span) == estimate
    wire = _span_size.wire_size(span)
    encoded = _encoded(span)
    # The export thread sends a batch without measuring it while UTF8_MAX times the
    # estimates fit the limit: that must bound the span as OpenTelemetry encodes it.
    assert encoded <= _span_size.UTF8_MAX * estimate
    # The exact measure is what a batch near the limit is cut by: never under the encoding.
    assert encoded <= wire


def test_an_estimate_that_cannot_read_the_span_is_a_fixed_guess() -> None:
    class Odd(ReadableSpan):
        @property
        def attributes(self) -> object:  # type: ignore[override]
            raise RuntimeError("no attributes here")

    assert _span_size.estimate(Odd(name="odd")) == _span_size.FALLBACK


def test_a_foreign_span_is_estimated_the_general_way() -> None:
    from opentelemetry.trace import SpanContext, TraceFlags

    context = SpanContext(1, 1, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    span = ReadableSpan(name="foreign", context=context, attributes={"input.value": "x" * 1000})
    assert _queued_size(span) == _span_size.estimate(span) >= 1000
