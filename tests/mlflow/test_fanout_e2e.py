"""End to end: one ``instrument()`` to a real Phoenix and a real MLflow server at once.

The real google-genai client and OpenInference instrumentor run against the loopback Gemini
stub; the spans are read back from Phoenix's REST API and with ``mlflow.search_traces``.
One platform down (MLflow's port refusing connections, or Arize's collector accepting and never
answering) must not delay or lose anything for the other, and shutdown stays bounded.

The delivery delays measured here are printed (``pytest -s``) and bounded well below the
export timeout (10 s), which is what a platform waiting on the other would cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import llmops
from llmops import Platform
from tests.core_support import free_port, llmops_processors
from tests.mlflow.support import call_gemini, experiment_id, unique, wait_for_traces
from tests.otlp_receiver import OtlpReceiver

if TYPE_CHECKING:
    from llmops.testing.gemini_stub import GeminiStub
    from tests.servers.mlflow import MlflowServer
    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e

TRACING = {"schedule_delay_ms": 100, "shutdown_timeout_s": 2, "export_timeout_s": 10}
DELIVERY_BOUND_S = 5.0
"""Well under the 10 s export timeout a blocked pipeline would wait."""


@pytest.fixture
def stalled() -> Iterator[OtlpReceiver]:
    with OtlpReceiver(mode="stall") as receiver:
        yield receiver


def _phoenix_spans(phoenix: PhoenixServer, project: str, count: int) -> tuple[list[Any], float]:
    started = time.monotonic()
    spans = phoenix.wait_for_spans(project, count, timeout=30, interval=0.05)
    return spans, time.monotonic() - started


def _mlflow_traces(uri: str, name: str, count: int) -> tuple[list[Any], float]:
    started = time.monotonic()
    deadline = started + 30
    while (experiment := experiment_id(uri, name)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert experiment is not None, f"experiment {name} was never created"
    traces = wait_for_traces(uri, experiment, count, timeout=30)
    return traces, time.monotonic() - started


def test_spans_reach_phoenix_and_mlflow(
    phoenix_server: PhoenixServer,
    mlflow_server: MlflowServer,
    gemini_stub: GeminiStub,
    write_config: Callable[..., Path],
) -> None:
    project, experiment = unique("fanout"), unique("fanout")
    config = write_config(
        platforms=["arize", "mlflow"],
        tracing=TRACING,
        arize={
            "endpoint": phoenix_server.grpc_endpoint,
            "protocol": "grpc",
            "project_name": project,
        },
        mlflow={"tracking_uri": mlflow_server.tracking_uri, "experiment_name": experiment},
    )
    provider = llmops.instrument(config_path=config)
    assert len(llmops_processors(provider)) == 2
    assert llmops.instrument([Platform.ARIZE, Platform.MLFLOW], config_path=config) is provider
    call_gemini(gemini_stub)  # a plain and a streaming call: two LLM spans, two traces
    spans, phoenix_s = _phoenix_spans(phoenix_server, project, 2)
    traces, mlflow_s = _mlflow_traces(mlflow_server.tracking_uri, experiment, 2)
    print(f"\nfan-out, both up: Phoenix {phoenix_s:.2f} s, MLflow {mlflow_s:.2f} s")
    llmops.shutdown()
    # Instrumented once: exactly one span per call on each platform.
    assert sorted(s["name"] for s in spans) == ["GenerateContent", "GenerateContentStream"]
    assert len(phoenix_server.spans(project)) == 2
    assert sorted(t.data.spans[0].name for t in traces) == [
        "GenerateContent",
        "GenerateContentStream",
    ]
    assert {s["context"]["trace_id"] for s in spans} == {
        t.info.trace_id.removeprefix("tr-") for t in traces
    }


def test_mlflow_down_phoenix_gets_everything_promptly(
    phoenix_server: PhoenixServer, gemini_stub: GeminiStub, write_config: Callable[..., Path]
) -> None:
    project = unique("fanout-mlflow-down")
    config = write_config(
        platforms=["arize", "mlflow"],
        tracing=TRACING,
        arize={
            "endpoint": phoenix_server.grpc_endpoint,
            "protocol": "grpc",
            "project_name": project,
        },
        mlflow={"tracking_uri": f"http://127.0.0.1:{free_port()}", "timeout_s": 2},
    )
    started = time.monotonic()
    llmops.instrument(config_path=config)
    setup_s = time.monotonic() - started
    call_gemini(gemini_stub)
    spans, delay = _phoenix_spans(phoenix_server, project, 2)
    print(f"\nMLflow down: instrument() {setup_s:.2f} s, Phoenix delivery {delay:.2f} s")
    assert len(spans) == 2
    assert delay < DELIVERY_BOUND_S
    started = time.monotonic()
    llmops.shutdown()
    took = time.monotonic() - started
    print(f"MLflow down: shutdown {took:.2f} s")
    assert took < TRACING["shutdown_timeout_s"] + 1


def test_arize_stalled_mlflow_gets_everything_promptly(
    mlflow_server: MlflowServer,
    stalled: OtlpReceiver,
    gemini_stub: GeminiStub,
    write_config: Callable[..., Path],
) -> None:
    experiment = unique("fanout-arize-down")
    config = write_config(
        platforms=["arize", "mlflow"],
        tracing=TRACING,
        # A collector that accepts the request and never answers: each Arize export hangs
        # for the 10 s export timeout.
        arize={"endpoint": stalled.endpoint, "project_name": "never"},
        mlflow={"tracking_uri": mlflow_server.tracking_uri, "experiment_name": experiment},
    )
    llmops.instrument(config_path=config)
    call_gemini(gemini_stub, stream=False)
    assert stalled.wait_for_requests(1, timeout=5) >= 1  # the Arize export is hanging now
    call_gemini(gemini_stub)  # two more calls while it hangs
    traces, delay = _mlflow_traces(mlflow_server.tracking_uri, experiment, 3)
    print(f"\nArize stalled: MLflow delivery {delay:.2f} s")
    assert len(traces) == 3
    assert delay < DELIVERY_BOUND_S
    started = time.monotonic()
    llmops.shutdown()
    took = time.monotonic() - started
    print(f"Arize stalled: shutdown {took:.2f} s")
    assert took < TRACING["shutdown_timeout_s"] + 1
