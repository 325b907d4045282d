"""Run llmops' loopback Gemini stub for the benchmarks, with Nagle's algorithm off.

``llmops.testing.gemini_stub`` writes the response headers and body in separate sends on a
keep-alive connection; with Nagle on, the body waits for the client's delayed ACK, about 40 ms
per call here, which would drown the instrumentation overhead figure 6 measures.
"""

from __future__ import annotations

from llmops.testing import gemini_stub

gemini_stub._Handler.disable_nagle_algorithm = True  # type: ignore[attr-defined]

if __name__ == "__main__":
    raise SystemExit(gemini_stub.main())
