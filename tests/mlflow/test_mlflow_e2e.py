"""End to end: llmops + the real google-genai client + OpenInference -> MLflow, both targets.

Each test writes a YAML config, calls ``llmops.instrument(Platform.MLFLOW, config_path=...)``
(or ``llmops.mlflow.instrument``), makes a plain and a streaming call with the real
``google.genai`` client against the loopback Gemini stub, calls ``llmops.shutdown()`` (which
flushes) and reads the traces back with ``mlflow.search_traces``:

* ``server``: a real ``mlflow server`` (full ``mlflow``, its own venv), OTLP/HTTP to ``/v1/traces``;
* ``sqlite``: the embedded local store, no server, written in-process through mlflow-skinny.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import llmops
from llmops import Platform
from llmops.testing.gemini_stub import reply_text, token_count
from tests.mlflow.support import (
    MODEL,
    PROMPT,
    STREAM_PROMPT,
    call_gemini,
    experiment_id,
    search_traces,
    unique,
    wait_for_traces,
)

if TYPE_CHECKING:
    from mlflow.entities import Trace

    from llmops.testing.gemini_stub import GeminiStub
    from tests.servers.mlflow import MlflowServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def write_config(write_config: Callable[..., Path]) -> Callable[..., Path]:
    """The conftest's, with room to make a fresh SQLite store: every ``sqlite`` case starts
    with one, and the first export makes it (seconds on a loaded machine) within
    ``shutdown_timeout_s``."""

    def write(name: str = "llmops.yaml", **sections: Any) -> Path:
        tracing = {"shutdown_timeout_s": 20, **sections.pop("tracing", {})}
        return write_config(name, tracing=tracing, **sections)

    return write


@pytest.fixture(params=["server", "sqlite"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The tracking URI of each target: the session's real server, or a fresh SQLite file."""
    if request.param == "server":
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        return server.tracking_uri
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def _usage(prompt: str) -> dict[str, int]:
    prompt_tokens = token_count(prompt)
    completion_tokens = token_count(reply_text(prompt))
    return {
        "input_tokens": prompt_tokens,
        "output_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _check_llm_trace(trace: Trace, name: str, prompt: str, experiment: str) -> None:
    info = trace.info
    assert info.experiment_id == experiment
    assert info.state.value == "OK"
    assert info.token_usage == _usage(prompt)
    assert info.execution_duration is not None
    assert info.execution_duration >= 0
    (span,) = trace.data.spans
    assert span.name == name
    assert span.span_type == "LLM"
    assert span.parent_id is None
    assert span.attributes["mlflow.llm.model"] == MODEL
    assert span.attributes["mlflow.chat.tokenUsage"] == _usage(prompt)
    assert prompt in json.dumps(span.inputs)
    assert reply_text(prompt) in json.dumps(span.outputs)
    assert span.end_time_ns > span.start_time_ns


def test_plain_and_streaming_calls_arrive_as_traces(
    tracking_uri: str, write_config: Callable[..., Path], gemini_stub: GeminiStub
) -> None:
    name = unique("e2e")
    path = write_config(mlflow={"tracking_uri": tracking_uri, "experiment_name": name})

    provider = llmops.instrument(Platform.MLFLOW, config_path=path)
    assert provider is not None
    setup = llmops._lifecycle.current()
    assert setup is not None  # a server gets one export at a time; a local store two
    in_flight = 2 if tracking_uri.startswith("sqlite:") else 1
    assert getattr(setup.pipelines[0].processor, "in_flight", None) == in_flight
    call_gemini(gemini_stub)
    llmops.shutdown()

    experiment = experiment_id(tracking_uri, name)
    assert experiment is not None, "llmops creates the named experiment"
    plain, streamed = wait_for_traces(tracking_uri, experiment, 2)
    _check_llm_trace(plain, "GenerateContent", PROMPT, experiment)
    _check_llm_trace(streamed, "GenerateContentStream", STREAM_PROMPT, experiment)


def test_existing_experiment_by_id_and_module_entry_point(
    tracking_uri: str, write_config: Callable[..., Path], gemini_stub: GeminiStub
) -> None:
    from mlflow import MlflowClient

    experiment = str(MlflowClient(tracking_uri).create_experiment(unique("by-id")))
    path = write_config(mlflow={"tracking_uri": tracking_uri, "experiment_id": experiment})

    llmops.mlflow.instrument(config_path=path)
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()

    (trace,) = wait_for_traces(tracking_uri, experiment, 1)
    _check_llm_trace(trace, "GenerateContent", PROMPT, experiment)


def test_environment_fills_what_the_file_leaves_unset(
    tracking_uri: str,
    write_config: Callable[..., Path],
    gemini_stub: GeminiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = unique("env")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", name)
    path = write_config(mlflow={})

    llmops.instrument("mlflow", config_path=path)
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()

    experiment = experiment_id(tracking_uri, name)
    assert experiment is not None
    (trace,) = wait_for_traces(tracking_uri, experiment, 1)
    _check_llm_trace(trace, "GenerateContent", PROMPT, experiment)


def test_experiment_id_from_environment(
    tracking_uri: str,
    write_config: Callable[..., Path],
    gemini_stub: GeminiStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow import MlflowClient

    experiment = str(MlflowClient(tracking_uri).create_experiment(unique("env-id")))
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment)
    path = write_config(mlflow={"tracking_uri": tracking_uri})

    llmops.instrument(Platform.MLFLOW, config_path=path)
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()

    assert len(wait_for_traces(tracking_uri, experiment, 1)) == 1


def test_service_name_is_the_default_experiment(
    tracking_uri: str, write_config: Callable[..., Path], gemini_stub: GeminiStub
) -> None:
    service = unique("service")
    path = write_config(service={"name": service}, mlflow={"tracking_uri": tracking_uri})

    llmops.instrument(Platform.MLFLOW, config_path=path)
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()

    experiment = experiment_id(tracking_uri, service)
    assert experiment is not None
    assert len(wait_for_traces(tracking_uri, experiment, 1)) == 1


def test_unknown_experiment_is_reported_and_the_application_carries_on(
    tracking_uri: str,
    write_config: Callable[..., Path],
    gemini_stub: GeminiStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = write_config(mlflow={"tracking_uri": tracking_uri, "experiment_id": "987654"})

    with caplog.at_level("WARNING", logger="llmops"):
        provider = llmops.instrument(Platform.MLFLOW, config_path=path)
        assert provider is not None
        call_gemini(gemini_stub, stream=False)  # still works; its trace has nowhere to go
        llmops.shutdown()  # a local store is opened, and the id looked up, by the first export
    messages = [r.getMessage() for r in caplog.records if r.name == "llmops"]
    assert any("no experiment with id '987654'" in m for m in messages), messages
    assert any("the application carries on" in m for m in messages), messages


def test_missing_experiment_without_create_is_reported(
    tracking_uri: str,
    write_config: Callable[..., Path],
    gemini_stub: GeminiStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = unique("no-create")
    path = write_config(
        mlflow={"tracking_uri": tracking_uri, "experiment_name": name, "create_experiment": False}
    )

    with caplog.at_level("WARNING", logger="llmops"):
        llmops.instrument(Platform.MLFLOW, config_path=path)
        call_gemini(gemini_stub, stream=False)
        llmops.shutdown()
    assert any(
        f"{name!r} does not exist" in r.getMessage() and "create_experiment" in r.getMessage()
        for r in caplog.records
    )
    assert experiment_id(tracking_uri, name) is None


def test_server_down_at_start_up_then_up(
    mlflow_server: MlflowServer,
    write_config: Callable[..., Path],
    gemini_stub: GeminiStub,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unreachable at instrument(): a warning, the app runs, traces flow once the server is up."""
    from llmops._platforms._mlflow_export import ExperimentExporter

    monkeypatch.setattr(ExperimentExporter, "retry_interval_s", 0.0)
    name = unique("late")
    path = write_config(
        mlflow={"tracking_uri": mlflow_server.tracking_uri, "experiment_name": name},
        tracing={"schedule_delay_ms": 50},
    )
    mlflow_server.stop()
    try:
        with caplog.at_level("WARNING", logger="llmops"):
            llmops.instrument(Platform.MLFLOW, config_path=path)
            call_gemini(gemini_stub, stream=False)
            assert any("cannot reach the MLflow server" in r.getMessage() for r in caplog.records)
    finally:
        mlflow_server.start()
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()

    experiment = experiment_id(mlflow_server.tracking_uri, name)
    assert experiment is not None
    traces = search_traces(mlflow_server.tracking_uri, experiment)
    assert 1 <= len(traces) <= 2  # the call made while the server was down may be lost
    assert any("were dropped before" in r.getMessage() for r in caplog.records)
