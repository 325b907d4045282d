"""Helpers for testing applications and platform plugins offline.

``llmops.testing`` is cheap to import: each helper's module loads on first use.

* :class:`GeminiStub` -- a loopback stub of the Gemini REST API that the real ``google-genai``
  client (and the OpenInference instrumentor wrapped around it) can talk to::

      from llmops.testing import GeminiStub

      with GeminiStub() as stub:
          client = genai.Client(
              api_key="x", http_options=types.HttpOptions(base_url=stub.base_url)
          )

* :class:`PlatformConformance` -- the conformance kit for platform plugins: subclass it in
  your tests and implement four hooks (start the target, the section pointing at it, a section
  whose target is down, read back what arrived); see ``docs/plugins.md``. Needs pytest and
  hypothesis (``llmops[testing]``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmops.testing.conformance import PlatformConformance, ReceivedSpan, emit_span_tree
    from llmops.testing.gemini_stub import GeminiStub

__all__ = ["GeminiStub", "PlatformConformance", "ReceivedSpan", "emit_span_tree"]

_LAZY: dict[str, str] = {
    "GeminiStub": "llmops.testing.gemini_stub",
    "PlatformConformance": "llmops.testing.conformance",
    "ReceivedSpan": "llmops.testing.conformance",
    "emit_span_tree": "llmops.testing.conformance",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
