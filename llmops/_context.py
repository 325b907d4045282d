"""``llmops.enrich``: session and user ids, metadata and tags on every span of a block of code.

It puts OpenInference's context attributes (the ones ``using_session``, ``using_user``,
``using_metadata`` and ``using_tags`` set) on the OpenTelemetry context, as a context manager
or a decorator. The OpenInference instrumentors copy them onto the spans they make;
:class:`~llmops._enrichment.ContextAttributesProcessor`, which ``instrument()`` adds to the
provider, copies them onto every other span too and adds the config's defaults.

Unlike nesting OpenInference's context managers, nested ``enrich`` blocks *merge*: the inner
block's metadata is laid over the outer one's, its tags are added to the outer ones, and an
inner session or user id replaces the outer one for the block.

Imported only when ``llmops.enrich`` is first used: it needs ``openinference.instrumentation``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openinference.instrumentation import using_attributes
from opentelemetry.context import Context, get_current, get_value, set_value

from . import _enrichment
from ._enrichment import (
    METADATA,
    SESSION_ID,
    TAGS,
    USER_ID,
    ContextAttributesProcessor,
    _as_tags,
    _check_id,
    _check_metadata,
    _check_tags,
    _dumps,
    _merged_tags,
    _parse_metadata,
    current_enrichment,
)

__all__ = ["ContextAttributesProcessor", "current_enrichment", "enrich"]


class enrich(using_attributes):  # lower case, like OpenInference's using_* helpers
    """Add a session id, a user id, metadata and tags to every span made inside a block.

    >>> import llmops
    >>> with llmops.enrich(session_id="s-42", user_id="u-7", metadata={"plan": "pro"},
    ...                    tags=["beta"]):
    ...     pass  # every span started here carries session.id, user.id, metadata, tag.tags

    Also a decorator, on plain, ``async``, generator and async generator functions (the
    attributes apply while the function, or the generator's body, runs)::

        @llmops.enrich(tags=["checkout"])
        def answer(question: str) -> str: ...

    Every argument is optional. Nested blocks merge: metadata keys of the inner block win,
    tags accumulate (each once), an inner ``session_id`` / ``user_id`` replaces the outer one.
    The attributes follow OpenInference's conventions (``session.id``, ``user.id``,
    ``metadata`` as a JSON string, ``tag.tags``), which Phoenix shows as the span's session,
    user, metadata and tags, and MLflow as the trace's session and user
    (``mlflow.trace.session``, ``mlflow.trace.user``) with metadata and tags on the spans.

    Raises ``TypeError`` / ``ValueError`` at once for arguments that cannot become span
    attributes (a bare string for ``tags``, non-str metadata keys, an empty id).
    """

    def __init__(
        self,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
    ) -> None:
        self.session_id = _check_id(session_id, "session_id")
        self.user_id = _check_id(user_id, "user_id")
        self.metadata = _check_metadata(metadata)
        self.tags = _check_tags(tags)
        super().__init__(
            session_id=self.session_id or "",
            user_id=self.user_id or "",
            metadata=self.metadata or None,
            tags=list(self.tags) or None,
        )

    def __repr__(self) -> str:
        parts = [
            f"{name}={value!r}"
            for name, value in (
                ("session_id", self.session_id),
                ("user_id", self.user_id),
                ("metadata", self.metadata or None),
                ("tags", list(self.tags) or None),
            )
            if value is not None
        ]
        return f"llmops.enrich({', '.join(parts)})"

    # Called by OpenInference's base class whenever the block is entered (the `with`, or each
    # call of a decorated function): merges with what an outer block set at that moment.
    def _context_with_attributes(self) -> Context:
        context = get_current()
        if self.session_id is not None:
            context = set_value(SESSION_ID, self.session_id, context)
        if self.user_id is not None:
            context = set_value(USER_ID, self.user_id, context)
        # The outermost block starts from the config's defaults: instrumentors copy the
        # context's metadata and tags onto their spans after the processor has seen them.
        defaults = _enrichment._defaults
        if self.metadata:
            outer = get_value(METADATA, context)
            base = (
                _parse_metadata(outer)
                if outer is not None
                else dict(defaults.metadata if defaults is not None else {})
            )
            context = set_value(METADATA, _dumps({**base, **self.metadata}), context)
        if self.tags:
            outer_tags = get_value(TAGS, context)
            base_tags = (
                _as_tags(outer_tags)
                if outer_tags is not None
                else list(defaults.tags if defaults is not None else ())
            )
            context = set_value(TAGS, _merged_tags(base_tags, self.tags), context)
        return context
