"""Whole-process behaviour, each in a fresh interpreter: exit, global provider, imports.

* Exit: a program that makes one LLM call and exits at once (no ``shutdown()``) still has its
  trace stored: llmops' exit hook flushes, within ``tracing.shutdown_timeout_s``.
* The global TracerProvider: instrumenting never replaces one the application set, never
  touches MLflow's global tracking URI or experiment, and MLflow's own
  ``set_tracking_uri`` / ``set_experiment`` (which reset the global provider when
  ``MLFLOW_USE_DEFAULT_TRACER_PROVIDER=false``) do not cut llmops' traces off.
* ``import llmops`` and looking the platform up import neither mlflow nor OpenTelemetry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.mlflow.support import PROMPT, experiment_id, search_traces, unique, wait_for_traces

if TYPE_CHECKING:
    from tests.servers.mlflow import MlflowServer

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, timeout: float = 120.0) -> tuple[dict[str, object], float]:
    """Run ``script`` in a fresh interpreter; return the JSON of its last stdout line and time."""
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )
    elapsed = time.monotonic() - began
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    lines = result.stdout.strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), elapsed


_EXIT_SCRIPT = """
    import sys
    import llmops
    from google import genai
    from google.genai import types
    from llmops.testing import GeminiStub

    stub = GeminiStub().start()
    llmops.instrument(llmops.Platform.MLFLOW, config_path=sys.argv[1])
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=stub.base_url))
    client.models.generate_content(model="gemini-2.0-flash", contents=sys.argv[2])
    print("{}")
    # no llmops.shutdown(), no stub.stop(): the interpreter exits right here
"""


@pytest.mark.e2e
@pytest.mark.parametrize("target", ["sqlite", "server"])
def test_trace_survives_an_immediate_exit(
    target: str, request: pytest.FixtureRequest, tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    if target == "server":
        server: MlflowServer = request.getfixturevalue("mlflow_server")
        uri = server.tracking_uri
    else:
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    name = unique("exit")
    # A long batch delay: only the exit hook can have flushed the span. A new local store is
    # made in the background from instrument() (MLflow's import and schema, about 2.4 s on an
    # idle machine, more on a loaded one): the exit flush waits for it within its bound.
    path = write_config(
        mlflow={"tracking_uri": uri, "experiment_name": name},
        tracing={"schedule_delay_ms": 600_000, "shutdown_timeout_s": 15},
    )
    _, elapsed = _run(_EXIT_SCRIPT, str(path), PROMPT)

    experiment = experiment_id(uri, name)
    assert experiment is not None
    (trace,) = wait_for_traces(uri, experiment, 1, timeout=10)
    assert trace.data.spans[0].name == "GenerateContent"
    assert PROMPT in json.dumps(trace.data.spans[0].inputs)
    assert elapsed < 60


_GUARD_SCRIPT = """
    import json, os, sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    app_sets_provider = sys.argv[2] == "app-provider"
    memory = InMemorySpanExporter()
    if app_sets_provider:
        app_provider = TracerProvider()
        app_provider.add_span_processor(SimpleSpanProcessor(memory))
        trace.set_tracer_provider(app_provider)

    import mlflow
    import llmops
    from google import genai
    from google.genai import types
    from llmops.testing import GeminiStub

    tracking_before = mlflow.get_tracking_uri()
    env_before = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")}
    provider = llmops.instrument(llmops.Platform.MLFLOW, config_path=sys.argv[1])
    out = {
        "global_kept": (trace.get_tracer_provider() is app_provider) if app_sets_provider
        else (trace.get_tracer_provider() is provider),
        "returned_app_provider": app_sets_provider and provider is app_provider,
        "tracking_uri_kept": mlflow.get_tracking_uri() == tracking_before,
        "env_kept": env_before == {k: os.environ.get(k) for k in env_before},
    }
    with GeminiStub() as stub:
        client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=stub.base_url))
        client.models.generate_content(model="gemini-2.0-flash", contents="before")
        # The application uses MLflow itself: in unified mode this resets the global provider.
        mlflow.set_tracking_uri(sys.argv[3])
        mlflow.set_experiment("the-apps-own-experiment")
        with mlflow.start_span("the-apps-own-span"):
            pass
        out["global_replaced_by_mlflow"] = trace.get_tracer_provider() is not provider
        client.models.generate_content(model="gemini-2.0-flash", contents="after")
    llmops.shutdown()
    out["app_exporter_spans"] = [s.name for s in memory.get_finished_spans()]
    print(json.dumps(out))
"""


@pytest.mark.parametrize("mlflow_mode", ["unified", "isolated"])
@pytest.mark.parametrize("app_provider", ["app-provider", "llmops-provider"])
def test_mlflow_global_state_does_not_cut_llmops_off(
    app_provider: str,
    mlflow_mode: str,
    tmp_path: Path,
    write_config: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if mlflow_mode == "unified":  # MLflow shares the global provider instead of its own
        monkeypatch.setenv("MLFLOW_USE_DEFAULT_TRACER_PROVIDER", "false")
    ours = f"sqlite:///{tmp_path / 'llmops.db'}"
    theirs = f"sqlite:///{tmp_path / 'app.db'}"
    name = unique("guard")
    path = write_config(mlflow={"tracking_uri": ours, "experiment_name": name})

    out, _ = _run(_GUARD_SCRIPT, str(path), app_provider, theirs)

    assert out["global_kept"], "instrument() must not replace the global provider"
    assert out["tracking_uri_kept"], "instrument() must not set MLflow's tracking URI"
    assert out["env_kept"], "instrument() must not set MLFLOW_TRACKING_URI / _EXPERIMENT_ID"
    if app_provider == "app-provider":
        assert out["returned_app_provider"]
        # The application's own exporter saw the LLM spans made before and after MLflow's reset.
        assert out["app_exporter_spans"] == ["GenerateContent", "GenerateContent"]
    # What MLflow does to the global provider (documented in docs/architecture.md): unified
    # mode replaces it on set_tracking_uri / set_experiment; the default isolated mode does not.
    assert out["global_replaced_by_mlflow"] == (mlflow_mode == "unified")
    experiment = experiment_id(ours, name)
    assert experiment is not None
    traces = search_traces(ours, experiment)
    prompts = [json.dumps(t.data.spans[0].inputs) for t in traces]
    assert len(traces) == 2, prompts
    assert '"before"' in prompts[0]
    assert '"after"' in prompts[1]


def test_import_and_lookup_import_neither_mlflow_nor_opentelemetry() -> None:
    out, _ = _run(
        """
        import json, sys
        import llmops
        llmops.get_platform("mlflow")
        heavy = sorted(
            m for m in sys.modules
            if m.split(".")[0] in {"mlflow", "opentelemetry", "requests", "sqlalchemy"}
        )
        print(json.dumps({"heavy": heavy}))
        """
    )
    assert out["heavy"] == []


def test_mlflow_usage_telemetry_stays_off(
    tmp_path: Path, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no opt-in and no CI marker variables, MLflow starts no telemetry client."""
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY")
    for marker in ("CI", "PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "DO_NOT_TRACK"):
        monkeypatch.delenv(marker, raising=False)
    path = write_config(mlflow={"tracking_uri": f"sqlite:///{tmp_path / 'm.db'}"})
    out, _ = _run(
        """
        import json, os, sys
        import llmops
        llmops.instrument("mlflow", config_path=sys.argv[1])
        from mlflow.telemetry import get_telemetry_client
        from mlflow.telemetry.utils import is_telemetry_disabled
        print(json.dumps({
            "client": repr(get_telemetry_client()),
            "disabled": is_telemetry_disabled(),
            "env": os.environ.get("MLFLOW_DISABLE_TELEMETRY"),
        }))
        """,
        str(path),
    )
    assert out == {"client": "None", "disabled": True, "env": "true"}
    assert os.environ.get("MLFLOW_DISABLE_TELEMETRY") is None  # the test process untouched
