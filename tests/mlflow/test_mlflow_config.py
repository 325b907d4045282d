"""The ``mlflow:`` section: validation errors, precedence, secrets, telemetry; no server needed.

Every error is a ``llmops.ConfigurationError`` whose ``field`` names the key (``$.mlflow.x``)
and whose message says how to fix it. None of these tests sends anything anywhere: each
config is refused before a request, or points at a local SQLite file.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import llmops
from llmops import ConfigurationError, Platform
from llmops._platforms.mlflow import MlflowConfig

SECRET = "s3cr3t-t0ken-value"


def _error(write_config: Callable[..., Path], **mlflow: Any) -> ConfigurationError:
    path = write_config(mlflow=mlflow)
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.MLFLOW, config_path=path)
    return info.value


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("ftp://example.invalid/x", "scheme 'ftp' is not supported"),
        ("databricks", "this is not a URI"),
        ("databricks://profile", "scheme 'databricks' is not supported"),
        ("/tmp/mlruns", "file store cannot hold trace spans"),
        ("file:///tmp/mlruns", "file store cannot hold trace spans"),
        ("file:///tmp/traces.db", "use sqlite:////tmp/traces.db"),
        ("http://", "has no host"),
        ("http://127.0.0.1:99999", "port is not a number"),
        ("http://user:pw@127.0.0.1:5000", "must not contain credentials"),
        ("http://127.0.0.1:5000/?x=1", "query or fragment"),
        ("sqlite://", "name a database file"),
        ("sqlite:////nonexistent-folder-llmops/mlflow.db", "does not exist"),
    ],
)
def test_bad_tracking_uri(write_config: Callable[..., Path], uri: str, expected: str) -> None:
    error = _error(write_config, tracking_uri=uri)
    assert error.field == "$.mlflow.tracking_uri"
    assert expected in str(error)
    assert "pw@" not in str(error)


def test_bad_tracking_uri_from_the_environment_names_the_variable(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "ftp://example.invalid")
    error = _error(write_config)
    assert error.field == "$MLFLOW_TRACKING_URI"


def test_experiment_name_and_id_together(write_config: Callable[..., Path]) -> None:
    error = _error(write_config, experiment_name="a", experiment_id="1")
    assert error.field == "$.mlflow.experiment_id"
    assert "not both" in str(error)


def test_empty_experiment_name(write_config: Callable[..., Path]) -> None:
    assert _error(write_config, experiment_name="  ").field == "$.mlflow.experiment_name"


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("experiment", "experiment_"), ("trackinguri", "tracking_uri"), ("tokn", "token")],
)
def test_unknown_key_suggests_the_right_one(
    write_config: Callable[..., Path], key: str, suggestion: str
) -> None:
    error = _error(write_config, **{key: "x"})
    assert error.field == f"$.mlflow.{key}"
    assert "unknown key" in str(error)
    assert f"did you mean '{suggestion}" in str(error)


@pytest.mark.parametrize(
    ("mlflow", "field"),
    [
        ({"timeout_s": 0}, "$.mlflow.timeout_s"),
        ({"create_experiment": "maybe"}, "$.mlflow.create_experiment"),
        ({"headers": ["x"]}, "$.mlflow.headers"),
    ],
)
def test_bad_values(write_config: Callable[..., Path], mlflow: dict[str, Any], field: str) -> None:
    assert _error(write_config, **mlflow).field == field


@pytest.mark.parametrize("key", ["token", "username", "password", "headers"])
def test_server_settings_with_a_local_store(
    write_config: Callable[..., Path], tmp_path: Path, key: str
) -> None:
    value: Any = {"x-team": SECRET} if key == "headers" else SECRET
    error = _error(write_config, tracking_uri=f"sqlite:///{tmp_path}/m.db", **{key: value})
    assert error.field == f"$.mlflow.{key}"
    assert "tracking server" in str(error)
    assert SECRET not in str(error)


def test_username_without_password(write_config: Callable[..., Path]) -> None:
    error = _error(write_config, tracking_uri="http://127.0.0.1:5000", username="me")
    assert error.field == "$.mlflow.password"


def test_password_from_the_environment_without_username(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", SECRET)
    error = _error(write_config, tracking_uri="http://127.0.0.1:5000")
    assert error.field == "$.mlflow.username"
    assert SECRET not in str(error)


def test_credentials_over_plain_http_to_another_host_are_refused(
    write_config: Callable[..., Path],
) -> None:
    error = _error(write_config, tracking_uri="http://mlflow.example.invalid:5000", token=SECRET)
    assert error.field == "$.mlflow.tracking_uri"
    assert "unencrypted" in str(error)
    assert SECRET not in str(error)


def test_missing_local_store_dependency_is_an_error_at_instrument(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "alembic" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    error = _error(write_config, tracking_uri=f"sqlite:///{tmp_path}/m.db")
    assert error.field == "$.mlflow.tracking_uri"
    assert "alembic" in str(error)
    assert "pip install 'llmops[mlflow]'" in str(error)


def test_secrets_are_masked_in_the_config_repr() -> None:
    config = MlflowConfig(token=SECRET, password=SECRET, username="me", headers={"x": SECRET})
    assert SECRET not in repr(config)
    assert "me" in repr(config)


def test_telemetry_is_turned_off_unless_asked_for(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY")
    llmops.instrument(
        Platform.MLFLOW,
        config_path=write_config(mlflow={"tracking_uri": f"sqlite:///{tmp_path}/a.db"}),
    )
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_telemetry_opt_in_leaves_mlflow_alone(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY")
    path = write_config(mlflow={"tracking_uri": f"sqlite:///{tmp_path}/a.db", "telemetry": True})
    llmops.instrument(Platform.MLFLOW, config_path=path)
    assert "MLFLOW_DISABLE_TELEMETRY" not in os.environ


def test_explicit_telemetry_setting_in_the_environment_wins(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "false")
    llmops.instrument(
        Platform.MLFLOW,
        config_path=write_config(mlflow={"tracking_uri": f"sqlite:///{tmp_path}/a.db"}),
    )
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "false"


def test_model_catalog_download_is_off_for_the_local_store_unless_set(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_MODEL_CATALOG_URI")
    llmops.instrument(
        Platform.MLFLOW,
        config_path=write_config(mlflow={"tracking_uri": f"sqlite:///{tmp_path}/a.db"}),
    )
    assert os.environ["MLFLOW_MODEL_CATALOG_URI"] == ""
    llmops.shutdown()
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "file:///opt/catalog")
    llmops.instrument(
        Platform.MLFLOW,
        config_path=write_config(mlflow={"tracking_uri": f"sqlite:///{tmp_path}/b.db"}),
    )
    assert os.environ["MLFLOW_MODEL_CATALOG_URI"] == "file:///opt/catalog"


def test_default_is_sqlite_mlflow_db_in_the_working_directory(
    write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # The new store is made in the background; shutdown waits for it within its bound.
    path = write_config(mlflow={}, instrumentation={}, tracing={"shutdown_timeout_s": 15})
    provider = llmops.instrument(Platform.MLFLOW, config_path=path)
    with provider.get_tracer("test").start_as_current_span("one"):
        pass
    llmops.shutdown()
    assert (tmp_path / "mlflow.db").is_file()
