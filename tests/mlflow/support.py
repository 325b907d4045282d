"""Helpers of the MLflow tests: experiment names, reading traces back, the google-genai calls."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.entities import Trace

    from llmops.testing.gemini_stub import GeminiStub

MODEL = "gemini-2.0-flash"
PROMPT = "Why is the sky blue at noon"
STREAM_PROMPT = "Tell me a short story about a lighthouse"


def unique(label: str) -> str:
    """An experiment name no other test uses."""
    return f"llmops-{label}-{uuid.uuid4().hex[:8]}"


def experiment_id(tracking_uri: str, name: str) -> str | None:
    """The id of the experiment ``name``, or None."""
    from mlflow import MlflowClient

    experiment = MlflowClient(tracking_uri).get_experiment_by_name(name)
    return None if experiment is None else str(experiment.experiment_id)


def search_traces(tracking_uri: str, experiment: str) -> list[Trace]:
    """``mlflow.search_traces`` of the experiment id ``experiment``, oldest first."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        traces: list[Trace] = mlflow.search_traces(locations=[experiment], return_type="list")
    finally:
        mlflow.set_tracking_uri(previous)
    return sorted(traces, key=lambda t: t.info.request_time)


def wait_for_traces(
    tracking_uri: str, experiment: str, count: int, timeout: float = 30.0
) -> list[Trace]:
    """Poll :func:`search_traces` until ``count`` traces are there; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        traces = search_traces(tracking_uri, experiment)
        if len(traces) >= count:
            return traces
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"experiment {experiment} of {tracking_uri} had {len(traces)} trace(s), "
                f"not {count}, after {timeout} s"
            )
        time.sleep(0.2)


def call_gemini(stub: GeminiStub, *, stream: bool = True) -> None:
    """One plain ``generate_content`` call and, unless ``stream`` is false, one streaming call."""
    from google import genai
    from google.genai import types

    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=stub.base_url))
    client.models.generate_content(model=MODEL, contents=PROMPT)
    if stream:
        for _ in client.models.generate_content_stream(model=MODEL, contents=STREAM_PROMPT):
            pass
