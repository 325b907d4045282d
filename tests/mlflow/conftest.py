"""Fixtures of the MLflow tests: a real ``mlflow server``, MLflow kept offline, helpers.

The server runs from ``.venvs/mlflow`` (full ``mlflow``; ``LLMOPS_MLFLOW_BIN`` overrides it),
started once per session. Traces are read back with ``mlflow.search_traces`` from this
process's mlflow-skinny, the API a user would use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.core_support import REQUIRE_E2E, clear_proxy_environment
from tests.servers.mlflow import MlflowServer, binary_available, default_binary

# Resolved at import: every test clears LLMOPS_* (LLMOPS_MLFLOW_BIN included), and the server
# may first be requested from inside a test (``request.getfixturevalue("mlflow_server")``).
_MLFLOW_BIN = default_binary()


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[MlflowServer]:
    """A real MLflow tracking server on loopback for the whole session (about 10 s to start)."""
    if not binary_available(_MLFLOW_BIN):
        reason = f"mlflow executable not found at {_MLFLOW_BIN} (set LLMOPS_MLFLOW_BIN)"
        if REQUIRE_E2E:
            pytest.fail(f"{reason}; LLMOPS_REQUIRE_E2E=1 requires it", pytrace=False)
        pytest.skip(reason)
    server = MlflowServer(binary=_MLFLOW_BIN)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _mlflow_env(_isolated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """On top of the isolation of ``tests/conftest.py``: no proxy variable, and MLflow offline.

    ``MLFLOW_DISABLE_TELEMETRY`` and ``MLFLOW_MODEL_CATALOG_URI``, which llmops sets when they
    are unset, are restored by monkeypatch as well.
    """
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")  # this process reads traces back
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")  # offline: no price-list download


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
