"""Fixtures of the MLflow tests: a real ``mlflow server``, a clean environment, helpers.

The server runs from ``.venvs/mlflow`` (full ``mlflow``; ``LLMOPS_MLFLOW_BIN`` overrides it),
started once per session. Traces are read back with ``mlflow.search_traces`` from this
process's mlflow-skinny, the API a user would use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import llmops
from tests.servers.mlflow import MlflowServer, binary_available, default_binary

# Variables that would change what llmops, MLflow, the exporters or the HTTP clients do.
_ENV_PREFIXES = ("MLFLOW_", "OTEL_", "LLMOPS_", "PHOENIX_")
_PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[MlflowServer]:
    """A real MLflow tracking server on loopback for the whole session (about 10 s to start)."""
    if not binary_available():
        reason = f"mlflow executable not found at {default_binary()} (set LLMOPS_MLFLOW_BIN)"
        if os.environ.get("LLMOPS_REQUIRE_E2E") == "1":
            pytest.fail(f"{reason}; LLMOPS_REQUIRE_E2E=1 requires it", pytrace=False)
        pytest.skip(reason)
    server = MlflowServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No MLFLOW_*, OTEL_*, LLMOPS_* or proxy variable from outside; llmops shut down after.

    ``MLFLOW_DISABLE_TELEMETRY`` and ``MLFLOW_MODEL_CATALOG_URI``, which llmops sets when they
    are unset, are restored by monkeypatch as well.
    """
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES) or key.lower() in _PROXY_ENV:
            monkeypatch.delenv(key)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")  # this process reads traces back
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")  # offline: no price-list download
    yield
    llmops.shutdown()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """``write_config(mlflow={...}, **sections)`` writes ``llmops.yaml`` and returns its path.

    ``instrumentation: {google_genai: true}`` is added unless given.
    """

    def write(name: str = "llmops.yaml", **sections: Any) -> Path:
        sections.setdefault("instrumentation", {"google_genai": True})
        path = tmp_path / name
        path.write_text(yaml.safe_dump(sections))
        return path

    return write
