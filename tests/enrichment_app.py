"""The application code of the enrichment end-to-end tests: a CHAIN root (started by the
application with a plain OpenTelemetry tracer) around a google-genai call, inside
``llmops.enrich`` blocks, with the config's defaults on top."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import llmops

if TYPE_CHECKING:
    from llmops.testing.gemini_stub import GeminiStub

MODEL = "gemini-2.0-flash"
PROMPT = "Which ocean is the largest"
DEFAULTS: dict[str, Any] = {"metadata": {"team": "search", "plan": "free"}, "tags": ["e2e"]}
"""The ``enrichment:`` section the tests write."""


@dataclass(frozen=True)
class Expected:
    session_id: str = field(default_factory=lambda: f"session-{uuid.uuid4().hex[:10]}")
    user_id: str = field(default_factory=lambda: f"user-{uuid.uuid4().hex[:10]}")
    metadata: dict[str, Any] = field(
        # The config's defaults, the outer block's, then the decorated function's on top.
        default_factory=lambda: {"team": "search", "plan": "pro", "step": "answer"}
    )
    tags: list[str] = field(default_factory=lambda: ["e2e", "beta", "answer"])


def run(provider: Any, stub: GeminiStub, expected: Expected) -> None:
    """One enriched CHAIN root with the instrumented LLM call under it."""
    from google import genai
    from google.genai import types

    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=stub.base_url))
    tracer = provider.get_tracer("enrichment-app")

    @llmops.enrich(metadata={"step": "answer"}, tags=["answer"])
    def answer() -> None:
        client.models.generate_content(model=MODEL, contents=PROMPT)

    with (
        llmops.enrich(
            session_id=expected.session_id,
            user_id=expected.user_id,
            metadata={"plan": "pro"},
            tags=["beta"],
        ),
        tracer.start_as_current_span(
            "handle-request", attributes={"openinference.span.kind": "CHAIN"}
        ),
    ):
        answer()
    client.close()
