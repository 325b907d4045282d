"""End to end: ``llmops.enrich`` + the ``enrichment:`` defaults -> a real Phoenix.

The application's own CHAIN root and the google-genai LLM span under it both arrive with
``session.id``, ``user.id``, ``metadata`` and ``tag.tags``, merged across the nested blocks and
the config's defaults. MLflow: ``tests/mlflow/test_mlflow_enrichment.py``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

import llmops
from llmops import Platform
from tests.core_support import clear_proxy_environment
from tests.enrichment_app import DEFAULTS, Expected, run

if TYPE_CHECKING:
    from llmops.testing.gemini_stub import GeminiStub
    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable either (the rest of the isolation: ``conftest.py``)."""
    clear_proxy_environment(monkeypatch)


def _metadata(attributes: dict[str, Any]) -> dict[str, Any]:
    """Phoenix stores the ``metadata`` JSON as an object: its REST API returns it flattened."""
    if "metadata" in attributes:
        value = attributes["metadata"]
        return json.loads(value) if isinstance(value, str) else dict(value)
    prefix = "metadata."
    return {k.removeprefix(prefix): v for k, v in attributes.items() if k.startswith(prefix)}


def test_enrichment_reaches_phoenix(
    tmp_path: Path, phoenix_server: PhoenixServer, gemini_stub: GeminiStub
) -> None:
    project = f"llmops-enrich-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "llmops.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "instrumentation": {"google_genai": True},
                "enrichment": DEFAULTS,
                "arize": {"endpoint": phoenix_server.http_endpoint, "project_name": project},
            }
        )
    )
    expected = Expected()
    provider = llmops.instrument(Platform.ARIZE, config_path=config)
    run(provider, gemini_stub, expected)
    llmops.shutdown()
    spans = phoenix_server.wait_for_spans(project, 2, timeout=30)
    by_name = {span["name"]: span for span in spans}
    assert set(by_name) == {"handle-request", "GenerateContent"}
    assert (
        by_name["GenerateContent"]["parent_id"] == by_name["handle-request"]["context"]["span_id"]
    )
    outer = {"team": "search", "plan": "pro"}  # the root is outside the decorated function
    for name, metadata, tags in (
        ("handle-request", outer, ["e2e", "beta"]),
        ("GenerateContent", expected.metadata, expected.tags),
    ):
        attributes = by_name[name]["attributes"]
        assert attributes["session.id"] == expected.session_id, name
        assert attributes["user.id"] == expected.user_id, name
        assert _metadata(attributes) == metadata, name
        assert list(attributes["tag.tags"]) == tags, name
