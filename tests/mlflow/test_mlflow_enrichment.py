"""End to end: ``llmops.enrich`` + the ``enrichment:`` defaults -> a real MLflow server.

MLflow turns ``session.id`` and ``user.id`` into the trace's ``mlflow.trace.session`` and
``mlflow.trace.user`` metadata (what ``mlflow.search_sessions`` and the UI's Sessions use);
OpenInference metadata and tags stay span attributes. Phoenix:
``tests/test_enrichment_e2e.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import llmops
from llmops import Platform
from tests.enrichment_app import DEFAULTS, Expected, run
from tests.mlflow.support import experiment_id, unique, wait_for_traces

if TYPE_CHECKING:
    from llmops.testing.gemini_stub import GeminiStub
    from tests.servers.mlflow import MlflowServer

pytestmark = pytest.mark.e2e


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def test_enrichment_reaches_mlflow(
    mlflow_server: MlflowServer, gemini_stub: GeminiStub, write_config: Callable[..., Path]
) -> None:
    name = unique("enrich")
    config = write_config(
        enrichment=DEFAULTS,
        mlflow={"tracking_uri": mlflow_server.tracking_uri, "experiment_name": name},
    )
    expected = Expected()
    provider = llmops.instrument(Platform.MLFLOW, config_path=config)
    run(provider, gemini_stub, expected)
    llmops.shutdown()
    experiment = experiment_id(mlflow_server.tracking_uri, name)
    assert experiment is not None
    (trace,) = wait_for_traces(mlflow_server.tracking_uri, experiment, 1)
    metadata = trace.info.trace_metadata
    assert metadata["mlflow.trace.session"] == expected.session_id
    assert metadata["mlflow.trace.user"] == expected.user_id
    spans = {span.name: span for span in trace.data.spans}
    assert set(spans) == {"handle-request", "GenerateContent"}
    root, llm = spans["handle-request"], spans["GenerateContent"]
    assert root.parent_id is None
    assert llm.parent_id == root.span_id
    assert root.attributes["session.id"] == expected.session_id
    assert llm.attributes["user.id"] == expected.user_id
    # MLflow decodes attribute values that are JSON: the metadata comes back as a dict.
    assert _json(llm.attributes["metadata"]) == expected.metadata
    assert list(llm.attributes["tag.tags"]) == expected.tags
    assert _json(root.attributes["metadata"]) == {"team": "search", "plan": "pro"}
    assert list(root.attributes["tag.tags"]) == ["e2e", "beta"]
