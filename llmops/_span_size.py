"""How many bytes a span takes: the estimate that bounds the export queue, and the exact
size that keeps one export under the transport's limit.

Two measures, for two places:

* :func:`estimate`, for ``span.end()``: one byte per character of the span's name, values,
  status description and events, plus fixed overheads. It runs for every span, so attribute
  *keys* are counted at :data:`KEY_ALLOWANCE` each rather than measured: a key is a name an
  instrumentor or the application spells once (the SDK keeps the same string object on every
  span), not a payload, and measuring three keys costs as much as the rest of the estimate
  (``docs/performance.md``, "The hot path"). :meth:`BatchExportProcessor.on_end
  <llmops._batching.BatchExportProcessor.on_end>` inlines the part an SDK span takes;
  ``tests/test_batching.py`` checks that the two agree.
* :func:`wire_size`, for the export thread, only when a batch comes near the export limit:
  the UTF-8 bytes of every string, keys included.

A character takes at most :data:`UTF8_MAX` bytes, so ``UTF8_MAX * estimate(span)`` bounds the
span's size as long as its keys are no longer than the allowance four times over; a batch
that stays under the limit by that bound never needs :func:`wire_size`.

>>> from opentelemetry.sdk.trace import TracerProvider
>>> span = TracerProvider().get_tracer("doc").start_span("answer")
>>> span.set_attribute("input.value", "héllo")
>>> span.end()
>>> estimate(span), wire_size(span)
(221, 169)
"""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from typing import Any

    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "FALLBACK",
    "ITEM_OVERHEAD",
    "KEY_ALLOWANCE",
    "SCALARS",
    "SPAN_OVERHEAD",
    "UTF8_MAX",
    "estimate",
    "extras",
    "value_size",
    "wire_size",
]

SPAN_OVERHEAD = 128
"""Bytes a span (or an event, or a link) takes in OTLP besides its text: ids, times, kind,
status, tags and lengths."""
ITEM_OVERHEAD = 18
"""Bytes an attribute takes besides its key and value text: tags, lengths, a number."""
KEY_ALLOWANCE = 64
"""Bytes an attribute key is counted at by :func:`estimate` (OpenInference's longest usual
keys, ``llm.input_messages.0.message.contents.0.message_content.text``, are under it)."""
FALLBACK = 4096
"""The size assumed for a span whose parts cannot be measured."""
UTF8_MAX = 4
"""Bytes one character can take in UTF-8."""
SCALARS = frozenset((int, float, bool))
"""Value types whose text the overheads cover (a varint or eight bytes)."""


def value_size(value: object) -> int:
    """Bytes of an attribute value that is not a str or a number at the top level (the
    SDK's values: str, bytes, numbers, tuples of them and, since OpenTelemetry 1.45,
    mappings): a character a byte, eight for a number, four more for each item of a sequence
    (the ``AnyValue`` around it)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, tuple | list):
        return sum(value_size(v) + 4 for v in value)
    if isinstance(value, Mapping):
        return sum(ITEM_OVERHEAD + len(str(k)) + value_size(v) for k, v in value.items())
    return 8


def _attributes(attributes: Any) -> int:
    items = getattr(attributes, "_dict", attributes)  # the plain dict: no Python __len__
    if not items:
        return 0
    size = (ITEM_OVERHEAD + KEY_ALLOWANCE) * len(items)
    for value in items.values():  # as BatchExportProcessor.on_end does it, inlined
        if type(value) is str:
            size += len(value)
        elif type(value) not in SCALARS:
            size += value_size(value)
    return size


def estimate(span: ReadableSpan) -> int:
    """About how many bytes ``span`` takes in an OTLP export, one byte a character, keys at
    :data:`KEY_ALLOWANCE`. Never raises: it runs in ``span.end()``, and the SDK accepts
    spans whose name is not a string."""
    try:
        name = span.name
        size = SPAN_OVERHEAD + (len(name) if type(name) is str else 0)
        size += _attributes(span.attributes)
        description = span.status.description if span.status is not None else None
        if description:
            size += len(description)
        return size + extras(span.events or (), span.links or ())
    except Exception:  # an attribute container of another kind: a fixed guess, never a raise
        return FALLBACK


def extras(events: Any, links: Any) -> int:
    """What a span's events and links add to :func:`estimate`."""
    size = 0
    for event in events:
        name = event.name
        size += SPAN_OVERHEAD + (len(name) if type(name) is str else 0)
        size += _attributes(event.attributes)
    for link in links:
        size += SPAN_OVERHEAD + _attributes(link.attributes)
    return size


def _utf8(value: object) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "replace"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, tuple | list):
        return sum(_utf8(v) + 4 for v in value)
    if isinstance(value, Mapping):
        return sum(ITEM_OVERHEAD + _utf8(str(k)) + _utf8(v) for k, v in value.items())
    return 8 if isinstance(value, int | float) else 0


def _utf8_attributes(attributes: Any) -> int:
    if not attributes:
        return 0
    return sum(ITEM_OVERHEAD + _utf8(k) + _utf8(v) for k, v in attributes.items())


def wire_size(span: ReadableSpan) -> int:
    """The bytes of ``span``'s text in UTF-8, keys included, plus the same overheads as
    :func:`estimate` (export thread only: it encodes non-ASCII text to measure it)."""
    try:
        size = SPAN_OVERHEAD + _utf8(span.name) + _utf8_attributes(span.attributes)
        if span.status is not None:
            size += _utf8(span.status.description)
        for event in span.events or ():
            size += SPAN_OVERHEAD + _utf8(event.name) + _utf8_attributes(event.attributes)
        for link in span.links or ():
            size += SPAN_OVERHEAD + _utf8_attributes(link.attributes)
        return size
    except Exception:
        return estimate(span)
