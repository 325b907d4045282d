"""Span enrichment, the part ``instrument()`` needs: the OpenInference attribute names, argument
checks, and the processor that copies the context's enrichment onto every span.

``llmops.enrich`` itself lives in ``_context``: it subclasses OpenInference's
``using_attributes``, and importing ``openinference.instrumentation`` (it pulls pydantic) is
a cost a set-up which never calls ``enrich`` must not pay (docs/performance.md).

Overview of the feature:

``llmops.enrich(...)`` puts OpenInference's context attributes (the ones ``using_session``,
``using_user``, ``using_metadata`` and ``using_tags`` set) on the OpenTelemetry context, as a
context manager or a decorator. The OpenInference instrumentors copy them onto the spans they
make; :class:`ContextAttributesProcessor`, which ``instrument()`` adds to the provider, copies
them onto every other span too (an application's own ``tracer.start_as_current_span``), and
adds the config's defaults.

Unlike nesting OpenInference's context managers, nested ``enrich`` blocks *merge*: the inner
block's metadata is laid over the outer one's, its tags are added to the outer ones, and an
inner session or user id replaces the outer one for the block.

"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.context import Context, get_current, get_value
from opentelemetry.sdk.trace import Span, SpanProcessor

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.util.types import AttributeValue

    from ._processors import ProviderSlot

__all__ = [
    "METADATA",
    "SESSION_ID",
    "TAGS",
    "USER_ID",
    "ContextAttributesProcessor",
    "current_enrichment",
]

logger = logging.getLogger("llmops")

# OpenInference's names, spelled out rather than importing openinference.semconv at every
# set-up; tests/test_enrichment.py checks they still agree.
SESSION_ID = "session.id"
"""``session.id``: MLflow stores it as the trace's ``mlflow.trace.session`` metadata."""
USER_ID = "user.id"
"""``user.id``: MLflow stores it as the trace's ``mlflow.trace.user`` metadata."""
METADATA = "metadata"
"""``metadata``: a JSON object, as a string (OpenInference's convention)."""
TAGS = "tag.tags"
"""``tag.tags``: a list of strings."""

MAX_ID_LENGTH = 1024
"""Longest session or user id accepted; an id is a key, not a payload."""


def _check_id(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not value.strip() or len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{what} must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    return value


def _check_tags(tags: object) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str | bytes) or not isinstance(tags, Iterable):
        # enrich(tags="prod") would otherwise tag the span "p", "r", "o", "d".
        raise TypeError(f"tags must be a list of str, got {type(tags).__name__}")
    checked = tuple(tags)
    for tag in checked:
        if not isinstance(tag, str) or not tag:
            raise TypeError(f"each tag must be a non-empty str, got {tag!r}")
    return checked


def _check_metadata(metadata: object) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a mapping of str keys, got {type(metadata).__name__}")
    checked = dict(metadata)
    for key in checked:
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be str, got {type(key).__name__}")
    try:
        json.dumps(checked, default=str)
    except (TypeError, ValueError) as exc:  # circular references, NaN keys...
        raise ValueError(f"metadata must be JSON-serialisable: {exc}") from None
    return checked


def _context_metadata(context: Context | None = None) -> dict[str, Any]:
    """The metadata on ``context`` (a JSON string, as OpenInference stores it), as a dict."""
    return _parse_metadata(get_value(METADATA, context))


def _parse_metadata(raw: object) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return dict(raw) if isinstance(raw, Mapping) else {}


def _context_tags(context: Context | None = None) -> list[str]:
    return _as_tags(get_value(TAGS, context))


def _as_tags(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Sequence):
        return [str(t) for t in raw]
    return []


def _merged_tags(outer: Iterable[str], inner: Iterable[str]) -> list[str]:
    """``outer`` then the new ones of ``inner``, each once, in order."""
    return list(dict.fromkeys([*outer, *inner]))


def _dumps(metadata: Mapping[str, Any]) -> str:
    return json.dumps(metadata, default=str, ensure_ascii=False, separators=(",", ":"))


def current_enrichment() -> dict[str, Any]:
    """What :func:`enrich` blocks set on the current context: ``session_id``, ``user_id``,
    ``metadata`` (a dict) and ``tags`` (a list), each only when set.

    >>> import llmops
    >>> from llmops._enrichment import current_enrichment
    >>> with llmops.enrich(user_id="u-7"), llmops.enrich(tags=["a"]):
    ...     current_enrichment()
    {'user_id': 'u-7', 'tags': ['a']}
    """
    found: dict[str, Any] = {}
    if isinstance(session := get_value(SESSION_ID), str):
        found["session_id"] = session
    if isinstance(user := get_value(USER_ID), str):
        found["user_id"] = user
    if metadata := _context_metadata():
        found["metadata"] = metadata
    if tags := _context_tags():
        found["tags"] = tags
    return found


_defaults: ContextAttributesProcessor | None = None
"""The processor of the setup in force: its ``metadata`` and ``tags`` are the config's."""


class ContextAttributesProcessor(SpanProcessor):
    """Copies the enrichment of the current context, and the config's defaults, onto every
    span when it starts.

    OpenInference's instrumentors copy context attributes onto their own spans only; spans an
    application makes with a plain OpenTelemetry tracer (a ``CHAIN`` root around an LLM call,
    say) would miss them, and MLflow reads a trace's session and user from its spans. An
    attribute the span already has (an instrumentor set it) is left as it is. ``on_start`` is
    a handful of context lookups; nothing here touches the network.

    ``metadata`` and ``tags`` are defaults: the context's metadata keys win over them, the
    context's tags are added to them.
    """

    def __init__(
        self,
        *,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        self.metadata = _check_metadata(metadata)
        self.tags = _check_tags(tags)
        self.active = True
        """False once shut down: a provider llmops leaves keeps calling it, to no effect."""
        self._defaults_json = _dumps(self.metadata) if self.metadata else None
        self._cancel_hook: Callable[[], None] | None = None
        self._merged: dict[object, str] = {}
        """Context metadata (its JSON string) -> with the defaults: one parse per distinct
        value, not one per span."""

    def _metadata_with_defaults(self, source: object) -> str | None:
        if source is None:
            return self._defaults_json
        if not self.metadata:
            return source if isinstance(source, str) else _dumps(_parse_metadata(source))
        key = source if isinstance(source, str) else None
        if key is not None and (cached := self._merged.get(key)) is not None:
            return cached
        merged = _dumps({**self.metadata, **_parse_metadata(source)})
        if key is not None:
            if len(self._merged) >= 256:
                self._merged.clear()
            self._merged[key] = merged
        return merged

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if not self.active:
            return
        try:
            # The hot path of every span: without enrichment in the context and without
            # config defaults, four dict lookups and out (a Context is a dict).
            context = parent_context if parent_context is not None else get_current()
            if (
                not self.metadata
                and not self.tags
                and context.get(SESSION_ID) is None
                and context.get(USER_ID) is None
                and context.get(METADATA) is None
                and context.get(TAGS) is None
            ):
                return
            present = span.attributes or {}
            values: dict[str, AttributeValue] = {}
            for key in (SESSION_ID, USER_ID):
                value = get_value(key, parent_context)
                if isinstance(value, str) and key not in present:
                    values[key] = value
            existing = present.get(METADATA)
            source = get_value(METADATA, parent_context) if existing is None else existing
            if source is not None or self.metadata:
                metadata = self._metadata_with_defaults(source)
                if metadata is not None and metadata != existing:
                    values[METADATA] = metadata
            existing_tags = present.get(TAGS)
            if existing_tags is None:
                tags = _merged_tags(self.tags, _context_tags(parent_context))
            elif self.tags:
                tags = _merged_tags(self.tags, _as_tags(existing_tags))
            else:
                tags = []
            if tags:
                values[TAGS] = tags
            if values:
                span.set_attributes(values)
        except Exception as exc:  # pragma: no cover - never break the application's span
            logger.debug("llmops: could not enrich span %s: %s", span.name, exc)

    def route(self, slot: ProviderSlot, processors: Sequence[SpanProcessor]) -> None:
        """Route ``slot``'s spans to ``processors``, with this one first (the attributes are
        on a span before any platform's processor sees it) once it can have work to do.

        With no defaults in the config, a span has nothing to copy until something has put
        enrichment on the context, and only ``openinference.instrumentation`` does
        (``llmops.enrich`` and OpenInference's ``using_*`` helpers live there, and every
        OpenInference instrumentor imports it): until that module is imported, spans skip
        this processor altogether.
        """
        if self.metadata or self.tags:
            slot.use([self, *processors])
            return
        from ._import_hooks import when_imported

        def needed(_module: object) -> None:
            if self.active:
                slot.prepend(self, processors)

        slot.use(processors)
        self._cancel_hook = when_imported("openinference.instrumentation", needed)

    def activate(self) -> None:
        """Make this processor's defaults the ones :class:`enrich` blocks start from."""
        global _defaults
        _defaults = self

    def shutdown(self) -> None:
        global _defaults
        self.active = False
        if self._cancel_hook is not None:
            self._cancel_hook()
        if _defaults is self:
            _defaults = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
