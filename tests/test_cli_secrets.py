"""No command of the ``llmops`` command line ever prints a secret.

Each case is a config (and environment) full of unique secrets, ``s3cret-<uuid>``, in every
place that can hold one: section fields, header values, URI userinfo, the variables llmops
and the platforms read, and a secret pasted into the wrong field. Every command runs on it
(``check``, ``check --json``, ``check --all``, ``doctor``, ``doctor --json``, ``platforms``,
``schema``, and ``run`` in a subprocess) and neither stdout nor stderr may hold a secret.
Doctor's probes only reach loopback ports nothing listens on, or stay on this machine.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from llmops._cli import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, main
from tests.core_support import free_port

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    id: str
    config: Callable[[Callable[[], str], int], str]
    """``config(secret, port)``: the YAML, ``secret()`` making a new unique secret."""
    valid: bool
    env: Callable[[Callable[[], str], int], dict[str, str]] = lambda secret, port: {}
    run: bool = True
    """Whether ``llmops run`` may start a program with it: only when every destination is
    a loopback port (a refused config never starts one)."""
    probes: frozenset[str] = field(default_factory=frozenset)
    """Rows doctor must show (to tell that the expected probes ran)."""


def _loopback(port: int) -> str:
    return f"http://127.0.0.1:{port}"


CASES = [
    Case(
        "arize-key-and-headers",
        lambda s, port: (
            "platform: arize\n"
            f"arize: {{endpoint: '{_loopback(port)}/v1/traces', api_key: {s()}, "
            f"headers: {{x-team-token: {s()}, authorization: 'Bearer {s()}'}}}}\n"
        ),
        True,
        probes=frozenset({"OTLP/HTTP port", "Phoenix /healthz"}),
    ),
    Case(
        "arize-userinfo-in-endpoint",
        lambda s, port: f"platform: arize\narize: {{endpoint: 'http://me:{s()}@127.0.0.1:4317'}}\n",
        False,
    ),
    Case(
        "arize-key-over-http-to-another-host",
        lambda s, port: (
            f"platform: arize\narize: {{endpoint: 'http://10.0.0.7:4317', api_key: {s()}}}\n"
        ),
        False,
    ),
    Case(
        "ax-key-in-env",
        lambda s, port: (
            "platform: arize\n"
            f"arize: {{endpoint: 'https://127.0.0.1:{port}', protocol: grpc, space_id: sp4ce}}\n"
        ),
        True,
        env=lambda s, port: {"ARIZE_API_KEY": s()},
        probes=frozenset({"OTLP/gRPC port"}),
    ),
    Case(
        "phoenix-env",
        lambda s, port: "platform: arize\n",
        True,
        env=lambda s, port: {
            "PHOENIX_COLLECTOR_ENDPOINT": _loopback(port),
            "PHOENIX_API_KEY": s(),
            "PHOENIX_CLIENT_HEADERS": f"x-one={s()},x-two={s()}",
        },
        probes=frozenset({"OTLP/HTTP port", "Phoenix /healthz"}),
    ),
    Case(
        "phoenix-headers-env-malformed",
        lambda s, port: "platform: arize\n",
        False,
        env=lambda s, port: {"PHOENIX_CLIENT_HEADERS": s()},
    ),
    Case(
        "mlflow-database-userinfo",
        lambda s, port: (
            f"platform: mlflow\nmlflow: {{tracking_uri: 'postgresql://app:{s()}@db/x'}}\n"
        ),
        True,
        run=False,  # the program would connect to the host "db"
        probes=frozenset({"MLflow local store"}),  # local: no network
    ),
    Case(
        "mlflow-server-userinfo",
        lambda s, port: (
            f"platform: mlflow\nmlflow: {{tracking_uri: 'http://user:{s()}@127.0.0.1:{port}'}}\n"
        ),
        False,
    ),
    Case(
        "mlflow-token-password-headers",
        lambda s, port: (
            "platform: mlflow\n"
            f"mlflow: {{tracking_uri: '{_loopback(port)}', token: {s()}, username: me, "
            f"password: {s()}, headers: {{x-gateway-key: {s()}}}, timeout_s: 0.5}}\n"
            "tracing: {shutdown_timeout_s: 0.5}\n"
        ),
        True,
        probes=frozenset({"MLflow /health", "MLflow /version"}),
    ),
    Case(
        "mlflow-env",
        lambda s, port: (
            "platform: mlflow\nmlflow: {timeout_s: 0.5}\ntracing: {shutdown_timeout_s: 0.5}\n"
        ),
        True,
        env=lambda s, port: {
            "MLFLOW_TRACKING_URI": _loopback(port),
            "MLFLOW_TRACKING_USERNAME": "me",
            "MLFLOW_TRACKING_PASSWORD": s(),
            "MLFLOW_TRACKING_TOKEN": s(),
        },
        probes=frozenset({"MLflow /health", "MLflow /version"}),
    ),
    Case(
        "mlflow-env-uri-with-password",
        lambda s, port: "platform: mlflow\n",
        False,
        env=lambda s, port: {"MLFLOW_TRACKING_URI": f"http://me:{s()}@127.0.0.1:{port}"},
    ),
    Case(
        "mlflow-env-database-uri-with-password",
        lambda s, port: "platform: mlflow\n",
        True,
        env=lambda s, port: {"MLFLOW_TRACKING_URI": f"postgresql://app:{s()}@127.0.0.1:{port}/x"},
        run=False,  # a database driver is not needed for the check; the program would need one
        probes=frozenset({"MLflow local store"}),
    ),
    Case(
        "mlflow-token-with-a-local-store",
        lambda s, port: (
            f"platform: mlflow\nmlflow: {{tracking_uri: 'sqlite:///m.db', token: {s()}}}\n"
        ),
        False,
    ),
    Case(
        "secret-in-the-protocol-field",
        lambda s, port: f"platform: arize\narize: {{protocol: {s()}, api_key: {s()}}}\n",
        False,
    ),
    Case(
        "secret-as-an-unknown-keys-value",
        lambda s, port: f"platform: arize\narize: {{apikey: {s()}}}\n",
        False,
    ),
    Case(
        "secret-in-a-header-of-the-wrong-type",
        lambda s, port: (
            f"platform: arize\narize: {{headers: {{x-key: [{s()}]}}, api_key: {s()}}}\n"
        ),
        False,
    ),
    Case(
        "fan-out",
        lambda s, port: (
            "platforms: [arize, mlflow]\n"
            f"arize: {{endpoint: '{_loopback(port)}/v1/traces', api_key: {s()}}}\n"
            f"mlflow: {{tracking_uri: '{_loopback(port)}', token: {s()}, timeout_s: 0.5}}\n"
            "tracing: {shutdown_timeout_s: 0.5}\n"
        ),
        True,
        env=lambda s, port: {
            "PHOENIX_API_KEY": s(),
            "MLFLOW_TRACKING_USERNAME": "me",
            "MLFLOW_TRACKING_PASSWORD": s(),
        },
        probes=frozenset({"OTLP/HTTP port", "MLflow /health"}),
    ),
]


class Secrets:
    """Unique secrets, remembered."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self) -> str:
        secret = f"s3cret-{uuid.uuid4().hex}"
        self.made.append(secret)
        return secret

    def assert_absent(self, text: str, what: str) -> None:
        for secret in self.made:
            assert secret not in text, f"{what} shows {secret}:\n{text}"
            # Nor the part after the prefix, as a header value may be cut or encoded.
            assert secret.removeprefix("s3cret-") not in text, f"{what} shows part of {secret}"


@pytest.fixture
def clean_logging() -> None:
    """The llmops logger as in a fresh process (a warning reaches stderr via lastResort)."""
    logging.getLogger("llmops").handlers.clear()


@pytest.mark.usefixtures("clean_logging")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_command_prints_a_secret(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets = Secrets()
    port = free_port()  # nothing listens on it: every probe fails fast, on loopback
    config = tmp_path / "llmops.yaml"
    config.write_text(case.config(secrets, port), encoding="utf-8")
    for name, value in case.env(secrets, port).items():
        monkeypatch.setenv(name, value)
    assert secrets.made, "a case without a secret proves nothing"

    expected = EXIT_OK if case.valid else EXIT_FAILED
    for args in (["check"], ["check", "--json"], ["check", "--all"]):
        assert main([*args, str(config)]) == expected, capsys.readouterr()
        out, err = capsys.readouterr()
        secrets.assert_absent(out + err, " ".join(args))
        assert (err == "") is case.valid, err

    for args in (["doctor"], ["doctor", "--json"]):
        main([*args, str(config), "--timeout", "0.5"])
        out, err = capsys.readouterr()
        secrets.assert_absent(out + err, " ".join(args))
        if not case.valid:
            assert "FAIL" in out
            assert "config" in out
        for probe in case.probes:
            assert probe in out, out

    for args in (["platforms"], ["schema"]):
        main(args)
        out, err = capsys.readouterr()
        secrets.assert_absent(out + err, " ".join(args))
    secrets.assert_absent(caplog.text, "the log")

    if case.run or not case.valid:
        proc = _run(config, tmp_path)
        secrets.assert_absent(proc.stdout + proc.stderr, "run")
        if case.valid:
            assert proc.returncode == 0, proc.stderr
            assert "not instrumented" not in proc.stderr, proc.stderr
        else:
            assert proc.returncode == EXIT_REFUSED, proc.stderr
            assert proc.stderr.startswith("error: "), proc.stderr


def _run(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``llmops run --config CONFIG -- python -c pass`` in this test's environment."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "llmops",
            "run",
            "--config",
            str(config),
            "--",
            sys.executable,
            "-c",
            "pass",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
