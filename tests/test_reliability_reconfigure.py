"""Issue 13: reconfiguring any number of times leaves the provider holding one set-up.

``instrument()`` again with a different config shuts the previous set-up down and builds the
new one. On the provider that stays (llmops' own global provider, or the application's SDK
provider that llmops joined), what remains must be what one set-up holds: the number of span
processors after 300 reconfigurations is the number after 1, spans go only to the current
set-up's collector, and the cost of a span does not grow (within 1.5x; a correctness guard,
not a benchmark: the minimum over several blocks, so noise only makes it pass more easily).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import pytest

import llmops
from tests.otlp_receiver import OtlpReceiver
from tests.reliability_support import record

RECONFIGURATIONS = 300
BLOCKS = 40
"""Best of this many blocks: the old set-ups' channels close in background threads for a while
after the reconfigurations, and the cheapest block is the one they did not slow down."""
PER_BLOCK = 400  # under the batch size: the export thread sleeps while a block is timed


def _configs(tmp_path: Path, receivers: list[OtlpReceiver]) -> list[Path]:
    paths = []
    for index, receiver in enumerate(receivers):
        path = tmp_path / f"llmops-{index}.yaml"
        path.write_text(
            f"service: {{name: svc-{index}}}\n"
            "tracing: {schedule_delay_ms: 600000, max_queue_size: 10000, "
            "max_export_batch_size: 512, shutdown_timeout_s: 5}\n"
            f"arize: {{endpoint: '{receiver.endpoint}'}}\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def _processor_count(provider: Any) -> int:
    return len(provider._active_span_processor._span_processors)


def _per_span_us(provider: Any) -> float:
    """The cheapest of ``BLOCKS`` blocks of start+end, µs per span; flushed between blocks."""
    gc.collect()  # what 300 set-ups left for the collector is not the cost of a span
    tracer = provider.get_tracer("cost")
    best = float("inf")
    for _ in range(BLOCKS):
        began = time.perf_counter()
        for _ in range(PER_BLOCK):
            tracer.start_span("cost").end()
        best = min(best, (time.perf_counter() - began) / PER_BLOCK * 1e6)
        provider.force_flush()
    return best


def _reconfigure(
    tmp_path: Path, *, own_provider: bool
) -> tuple[dict[str, Any], list[OtlpReceiver], Any]:
    receivers = [OtlpReceiver().start(), OtlpReceiver().start()]
    configs = _configs(tmp_path, receivers)
    app_provider = None
    if own_provider:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider

        app_provider = TracerProvider(shutdown_on_exit=False)
        trace.set_tracer_provider(app_provider)
    provider = llmops.instrument("arize", config_path=configs[0])
    provider = llmops.instrument("arize", config_path=configs[1])  # reconfiguration 1
    if own_provider:
        assert provider is app_provider
    after_one = _processor_count(provider)
    cost_one = _per_span_us(provider)
    began = time.monotonic()
    for n in range(2, RECONFIGURATIONS + 1):
        same = llmops.instrument("arize", config_path=configs[n % 2])
        assert same is provider
    took = time.monotonic() - began
    current = RECONFIGURATIONS % 2
    after_many = _processor_count(provider)
    cost_many = _per_span_us(provider)
    figures = {
        "processors_after_1": after_one,
        "processors_after_300": after_many,
        "per_span_us_after_1": round(cost_one, 2),
        "per_span_us_after_300": round(cost_many, 2),
        "reconfigure_ms": round(took / (RECONFIGURATIONS - 1) * 1000, 1),
        "current": current,
    }
    return figures, receivers, provider


@pytest.mark.timeout(240)
@pytest.mark.parametrize("own_provider", [False, True], ids=["llmops-provider", "app-provider"])
def test_three_hundred_reconfigurations(tmp_path: Path, own_provider: bool) -> None:
    figures, receivers, provider = _reconfigure(tmp_path, own_provider=own_provider)
    try:
        current = figures["current"]
        other = receivers[1 - current]
        # What the cost blocks and earlier set-ups sent is flushed: start counting from here.
        provider.force_flush()
        before_current = len(receivers[current].spans)
        before_other = len(other.spans)
        tracer = provider.get_tracer("check")
        for i in range(20):
            tracer.start_span(f"final-{i}").end()
        provider.force_flush()
        arrived = receivers[current].wait_for_spans(before_current + 20, timeout=10)
        final = [s for s in arrived if s.name.startswith("final-")]
        strays = [s for s in other.spans[before_other:] if s.name.startswith("final-")]
        record(
            f"{RECONFIGURATIONS} reconfigurations "
            f"({'application provider' if own_provider else 'llmops provider'})",
            **figures,
            final_spans_at_current=len(final),
            final_spans_at_other=len(strays),
        )
        assert figures["processors_after_300"] == figures["processors_after_1"], figures
        assert len(final) == 20, figures
        assert not strays, f"{len(strays)} spans went to the previous set-up's collector"
        if not own_provider:  # llmops' provider carries the current config's resource
            assert {s.resource.get("service.name") for s in final} == {f"svc-{current}"}
        assert figures["per_span_us_after_300"] <= 1.5 * figures["per_span_us_after_1"], figures
    finally:
        llmops.shutdown()
        for receiver in receivers:
            receiver.stop()
        if own_provider:
            provider.shutdown()
