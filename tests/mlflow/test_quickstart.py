"""``examples/quickstart.py`` runs as a user would run it: offline, no server, no API key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"


def _run(cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"GEMINI_API_KEY", "GOOGLE_API_KEY"}}
    env.pop("MLFLOW_MODEL_CATALOG_URI", None)  # as a user has it: llmops keeps it offline
    env.pop("MLFLOW_DISABLE_TELEMETRY", None)
    result = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.e2e
def test_quickstart_prints_the_traces_it_stored(tmp_path: Path) -> None:
    out = _run(tmp_path)

    assert "GEMINI_API_KEY is not set: using the loopback Gemini stub" in out
    assert "plain call  -> 'Echo: Say hello in five words.'" in out
    assert "MLflow recorded 2 trace(s) in experiment 'llmops-quickstart'" in out
    assert re.search(
        r"└─ GenerateContent  \[LLM\]  model=gemini-2\.5-flash  "
        r"tokens in=5 out=6 total=11  [\d.]+ ms",
        out,
    ), out
    assert re.search(r"└─ GenerateContentStream  \[LLM\]  .*tokens in=7 out=8 total=15", out), out
    assert (tmp_path / "mlflow.db").is_file()

    # A second run adds its own two traces and shows only those.
    assert "MLflow recorded 2 trace(s)" in _run(tmp_path)
