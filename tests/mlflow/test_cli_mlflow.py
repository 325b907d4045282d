"""``llmops doctor`` and ``llmops check`` against the session's real MLflow tracking server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmops._cli import EXIT_FAILED, EXIT_OK, main
from tests.servers.mlflow import MlflowServer, free_port


def _doctor(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", str(config), "--platform", "mlflow", "--json", "--timeout", "5"])
    return code, {row["check"]: row for row in json.loads(capsys.readouterr().out)}


@pytest.mark.e2e
def test_doctor_passes_against_a_real_mlflow_server(
    mlflow_server: MlflowServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "llmops.yaml"
    config.write_text(f"mlflow: {{tracking_uri: '{mlflow_server.tracking_uri}'}}\n")
    code, rows = _doctor(capsys, config)
    assert code == EXIT_OK, rows
    assert rows["MLflow /health"]["status"] == "PASS"
    assert rows["MLflow /version"]["status"] == "PASS"
    assert rows["MLflow /version"]["detail"].rpartition(": ")[2].startswith("3.")


def test_doctor_fails_when_the_mlflow_server_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "llmops.yaml"
    config.write_text(f"mlflow: {{tracking_uri: 'http://127.0.0.1:{free_port()}'}}\n")
    code, rows = _doctor(capsys, config)
    assert code == EXIT_FAILED
    assert rows["MLflow /health"]["status"] == "FAIL"


def test_check_shows_the_mlflow_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter2")
    config = tmp_path / "llmops.yaml"
    config.write_text("mlflow: {experiment_name: bot, username: me}\n")
    assert main(["check", str(config), "--platform", "mlflow", "--json", "--all"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "hunter2" not in out
    rows = {row["key"]: row for row in json.loads(out)["values"]}
    assert rows["mlflow.tracking_uri"]["source"] == "env MLFLOW_TRACKING_URI"
    assert rows["mlflow.tracking_uri"]["value"] == "http://127.0.0.1:5000"
    assert rows["mlflow.password"] == {
        "key": "mlflow.password",
        "value": "***",
        "source": "env MLFLOW_TRACKING_PASSWORD",
        "secret": True,
    }
    assert rows["mlflow.experiment_name"]["source"] == f"{config}:1"
    assert rows["mlflow.timeout_s"]["source"] == "default"


def test_doctor_refuses_a_file_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "llmops.yaml"
    config.write_text("mlflow: {tracking_uri: 'file:///tmp/mlruns'}\n")
    code, rows = _doctor(capsys, config)
    assert code == EXIT_FAILED
    # The plan refuses it, as instrument() does: the config row is the only one.
    assert list(rows) == ["config"]
    assert rows["config"]["status"] == "FAIL"
    assert "$.mlflow.tracking_uri" in rows["config"]["detail"]
