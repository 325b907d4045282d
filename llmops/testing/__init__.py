"""Helpers for testing applications and platform plugins offline.

``llmops.testing`` is cheap to import: each helper's module loads on first use.

* :class:`GeminiStub` -- a loopback stub of the Gemini REST API that the real ``google-genai``
  client (and the OpenInference instrumentor wrapped around it) can talk to::

      from llmops.testing import GeminiStub

      with GeminiStub() as stub:
          client = genai.Client(
              api_key="x", http_options=types.HttpOptions(base_url=stub.base_url)
          )

* :class:`OpenAIStub` -- a loopback stub of the OpenAI HTTP API (chat completions, streamed or
  not, tool calls, and the Responses API) for the real ``openai`` client and what is built on
  it (litellm's ``openai/`` models, LangChain's ``ChatOpenAI``)::

      from llmops.testing import OpenAIStub

      with OpenAIStub() as stub:
          client = openai.OpenAI(base_url=stub.base_url, api_key="test")

* :func:`reset` -- shut llmops down and forget the global TracerProvider, as in a fresh
  process: the supported way for a test suite to isolate its tests::

      @pytest.fixture(autouse=True)
      def _fresh_llmops():
          yield
          llmops.testing.reset()

* :class:`PlatformConformance` -- the conformance kit for platform plugins: subclass it in
  your tests and implement four hooks (start the target, the section pointing at it, a section
  whose target is down, read back what arrived); see ``docs/plugins.md``. Needs pytest and
  hypothesis (``llmops[testing]``).
"""

from __future__ import annotations

import importlib
from typing import Any

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from llmops.testing.conformance import PlatformConformance, ReceivedSpan, emit_span_tree
    from llmops.testing.gemini_stub import GeminiStub
    from llmops.testing.openai_stub import OpenAIStub

__all__ = [
    "GeminiStub",
    "OpenAIStub",
    "PlatformConformance",
    "ReceivedSpan",
    "emit_span_tree",
    "reset",
]

_LAZY: dict[str, str] = {
    "GeminiStub": "llmops.testing.gemini_stub",
    "OpenAIStub": "llmops.testing.openai_stub",
    "PlatformConformance": "llmops.testing.conformance",
    "ReceivedSpan": "llmops.testing.conformance",
    "emit_span_tree": "llmops.testing.conformance",
}


def reset() -> None:
    """Shut llmops down, zero :func:`llmops.stats` and forget the global ``TracerProvider``.

    OpenTelemetry lets a process set its global provider once; its own test suite resets the
    same module globals between tests. Use it only in tests.
    """
    from llmops._lifecycle import reset_for_tests

    reset_for_tests()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
