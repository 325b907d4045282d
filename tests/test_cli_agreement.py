"""``llmops check`` and ``llmops doctor`` agree with ``instrument()``, config by config.

Each case is run through ``llmops.instrument()`` in this process and through ``llmops check``
(and ``llmops doctor``) by ``llmops._cli.main``: what ``instrument()`` refuses, the commands
refuse, with the same error text; what it accepts, they accept. Every endpoint is a loopback
port that nothing listens on, so nothing leaves 127.0.0.1 (and nothing is sent: no span is
made).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import llmops
import llmops.testing
from llmops._cli import EXIT_FAILED, EXIT_OK, main
from llmops._cli._planning import REFUSED
from tests.core_support import free_port

FAST = "tracing: {shutdown_timeout_s: 0.5, export_timeout_s: 0.5}\n"
"""Added to the valid configs: a shutdown that cannot wait long on a closed port."""


@dataclass(frozen=True)
class Case:
    id: str
    text: str | None
    """The config (``{port}``, ``{tmp}`` filled in), or ``None``: no config file at all."""
    valid: bool
    platforms: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    name: str = "llmops.yaml"
    message: str = ""
    """A part of the error of an invalid case (the texts are compared whole as well)."""


CASES = [
    # -- refused --------------------------------------------------------------------------------
    Case("no-platform", "service: {name: bot}\n", False, message="no platform given"),
    Case(
        "port-4318",  # OTLP/HTTP's own port (issue 12)
        "platform: arize\narize: {endpoint: 'http://127.0.0.1:4318'}\n",
        True,
    ),
    Case(
        "port-9-no-protocol",
        "platform: arize\narize: {endpoint: 'http://127.0.0.1:9'}\n",
        False,
        message="set arize.protocol",
    ),
    Case(
        "ax-url-without-space-id",
        "platform: arize\narize: {endpoint: 'https://otlp.arize.com/v1'}\n",
        False,
        message="$.arize.endpoint",
    ),
    Case(
        "api-key-over-http-to-another-host",
        "platform: arize\narize: {endpoint: 'http://10.0.0.7:4317', api_key: k3y-value}\n",
        False,
        message="credentials would travel unencrypted to 10.0.0.7",
    ),
    Case(
        "mlflow-relative-path",
        "platform: mlflow\nmlflow: {tracking_uri: ./mlruns}\n",
        False,
        message="$.mlflow.tracking_uri",
    ),
    Case(
        "unknown-key-did-you-mean",
        "platform: arize\ntracing: {sample_ratoi: 1}\n",
        False,
        message="did you mean 'sample_ratio'",
    ),
    Case(
        "unknown-section",
        "platform: arize\nacme_nowhere: {}\n",
        False,
        message="unknown section 'acme_nowhere'",
    ),
    Case(
        "phoenix-section",
        "platform: arize\nphoenix: {endpoint: 'http://127.0.0.1:4317'}\n",
        False,
        message="Arize Phoenix is the 'arize' platform",
    ),
    Case("bad-yaml", "platform: arize\ntracing: [1, 2\n", False, message="invalid YAML"),
    Case(
        "duplicate-key",
        "platform: arize\nservice: {name: a}\nservice: {name: b}\n",
        False,
        message="duplicate key 'service'",
    ),
    Case(
        "missing-env-var",
        "platform: arize\nservice: {name: '${LLMOPS_AGREEMENT_UNSET}'}\n",
        False,
        message="environment variable LLMOPS_AGREEMENT_UNSET is not set",
    ),
    Case(
        "platform-and-platforms",
        "platform: arize\nplatforms: [arize, mlflow]\n",
        False,
        message="not both",
    ),
    Case("empty-platforms", "platforms: []\n", False, message="$.platforms"),
    Case(
        "ax-space-id-without-key",
        "platform: arize\narize: {space_id: sp4ce}\n",
        False,
        message="needs an API key",
    ),
    Case(
        "mlflow-name-and-id",
        "platform: mlflow\nmlflow: {experiment_name: bot, experiment_id: '7'}\n",
        False,
        message="set experiment_name or experiment_id, not both",
    ),
    Case(
        "mlflow-sqlite-folder-missing",
        "platform: mlflow\nmlflow: {tracking_uri: 'sqlite:////no/such/dir/mlflow.db'}\n",
        False,
        message="does not exist",
    ),
    Case(
        "mlflow-token-with-sqlite",
        "platform: mlflow\nmlflow: {tracking_uri: 'sqlite:///{tmp}/m.db', token: t0ken}\n",
        False,
        message="$.mlflow.token",
    ),
    Case(
        "sample-ratio-2",
        "platform: arize\ntracing: {sample_ratio: 2}\n",
        False,
        message="$.tracing.sample_ratio",
    ),
    Case(
        "bad-enum-protocol",
        "platform: arize\narize: {protocol: udp}\n",
        False,
        message="use one of 'grpc', 'http/protobuf', 'http'",
    ),
    Case(
        "instrumentation-strict-missing-package",  # found by review: check used to accept it
        "platform: arize\ninstrumentation: {strict: true, crewai: true}\n",
        False,
        message="its package is not installed",
    ),
    Case(
        "instrumentation-unknown-key",
        "platform: arize\ninstrumentation: {google_gena: true}\n",
        False,
        message="did you mean 'google_genai'",
    ),
    Case("unknown-platform", "service: {name: bot}\n", False, ["arise"], message="'arize'"),
    Case(
        "another-platforms-section-refused-by-its-struct",
        "mlflow: {timeout_s: -1}\n",
        False,
        ["arize"],
        message="$.mlflow.timeout_s",
    ),
    Case(
        "env-file-store",
        "platform: mlflow\n",
        False,
        env={"MLFLOW_TRACKING_URI": "file:///tmp/mlruns"},
        message="$MLFLOW_TRACKING_URI",
    ),
    Case(
        "env-bad-phoenix-headers",
        "platform: arize\n",
        False,
        env={"PHOENIX_CLIENT_HEADERS": "no-equals-sign"},
        message="$PHOENIX_CLIENT_HEADERS",
    ),
    Case(
        "toml-unknown-key",
        "platform = 'arize'\n[arize]\nendpont = 'http://127.0.0.1:4317'\n",
        False,
        name="llmops.toml",
        message="did you mean 'endpoint'",
    ),
    # -- accepted -------------------------------------------------------------------------------
    Case(
        "arize-grpc",
        "platform: arize\narize: {endpoint: 'http://127.0.0.1:{port}', protocol: grpc}\n" + FAST,
        True,
    ),
    Case(
        "arize-http-v1-traces",
        "platform: arize\narize: {endpoint: 'http://127.0.0.1:{port}/v1/traces'}\n" + FAST,
        True,
    ),
    Case(
        "ax-with-key",
        "platform: arize\narize: {endpoint: 'https://127.0.0.1:{port}', protocol: grpc, "
        "space_id: sp4ce, api_key: k3y-value}\n" + FAST,
        True,
    ),
    Case(
        "mlflow-sqlite-in-tmp",
        "platform: mlflow\nmlflow: {tracking_uri: 'sqlite:///{tmp}/mlflow.db'}\n" + FAST,
        True,
    ),
    Case(
        "fan-out",
        "platforms: [arize, mlflow]\narize: {endpoint: 'http://127.0.0.1:{port}/v1/traces'}\n"
        "mlflow: {tracking_uri: 'http://127.0.0.1:{port}', timeout_s: 0.5}\n" + FAST,
        True,
    ),
    Case(
        "env-only-values",
        "platform: arize\n" + FAST,
        True,
        env={
            "PHOENIX_COLLECTOR_ENDPOINT": "http://127.0.0.1:{port}",
            "PHOENIX_API_KEY": "k3y-value",
            "OTEL_SERVICE_NAME": "from-env",
        },
    ),
    Case(
        "env-mlflow-server-with-basic-auth",
        "platform: mlflow\nmlflow: {timeout_s: 0.5}\n" + FAST,
        True,
        env={
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:{port}",
            "MLFLOW_TRACKING_USERNAME": "me",
            "MLFLOW_TRACKING_PASSWORD": "pa55word",
        },
    ),
    Case("no-config-file-with-platform", None, True, ["arize"]),
    Case(  # only the selected platforms resolve; the others' sections are checked by Struct
        "another-platforms-section-not-resolved",
        "mlflow: {tracking_uri: ./mlruns}\n" + FAST,
        True,
        ["arize"],
    ),
    Case(
        "platform-flag-wins",
        "platform: mlflow\narize: {endpoint: 'http://127.0.0.1:{port}', protocol: grpc}\n" + FAST,
        True,
        ["arize"],
    ),
    Case(
        "toml",
        "platform = 'arize'\n[arize]\nendpoint = 'http://127.0.0.1:{port}/v1/traces'\n"
        "[tracing]\nshutdown_timeout_s = 0.5\n",
        True,
        name="llmops.toml",
    ),
    Case(
        "pyproject",
        "[tool.llmops]\nplatform = 'arize'\n[tool.llmops.arize]\n"
        "endpoint = 'http://127.0.0.1:{port}/v1/traces'\n",
        True,
        name="pyproject.toml",
    ),
    Case(
        "interpolated-with-default",
        "platform: arize\narize: {endpoint: '${LLMOPS_AGREEMENT_UNSET:-http://127.0.0.1:{port}}', "
        "protocol: grpc}\n" + FAST,
        True,
    ),
]


def test_the_table_is_large_and_covers_both_verdicts() -> None:
    assert len(CASES) >= 25
    assert sum(c.valid for c in CASES) >= 10
    assert sum(not c.valid for c in CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES)


def _fill(text: str, port: int, tmp: Path) -> str:
    return text.replace("{port}", str(port)).replace("{tmp}", str(tmp))


def _instrument(case: Case, path: Path | None) -> BaseException | None:
    """What ``instrument()`` raised, or ``None`` when it set tracing up."""
    try:
        llmops.instrument(case.platforms, config_path=path)
    except Exception as exc:
        return exc
    finally:
        llmops.testing.reset()
    return None


def _args(case: Case, path: Path | None) -> list[str]:
    args = [str(path)] if path is not None else []
    for name in case.platforms or ():
        args += ["--platform", name]
    return args


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_and_doctor_agree_with_instrument(
    case: Case,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    monkeypatch.delenv("LLMOPS_AGREEMENT_UNSET", raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, _fill(value, port, tmp_path))
    path = None
    if case.text is not None:
        path = tmp_path / case.name
        path.write_text(_fill(textwrap.dedent(case.text), port, tmp_path), encoding="utf-8")

    refused = _instrument(case, path)
    capsys.readouterr()  # what instrument() and the libraries it loaded wrote
    code = main(["check", *_args(case, path)])
    out, err = capsys.readouterr()

    if case.valid:
        assert refused is None, f"instrument() refused a valid config: {refused}"
        assert code == EXIT_OK, err
        assert out.startswith("valid: ")
        assert err == ""
    else:
        assert refused is not None, "instrument() accepted an invalid config"
        assert isinstance(refused, REFUSED), repr(refused)
        assert code == EXIT_FAILED, out
        assert out == ""
        # The same error text, whole: the first line of stderr is instrument()'s message.
        assert err.startswith(f"error: {refused}\n"), (err, str(refused))
        assert case.message in str(refused)

    # doctor: the same verdict on the config row (with no platform selected, doctor checks
    # what it can and says that nothing was probed).
    code = main(["doctor", *_args(case, path), "--json", "--timeout", "0.5"])
    rows = {row["check"]: row for row in json.loads(capsys.readouterr().out)}
    if case.id == "no-platform":
        assert rows["config"]["status"] == "PASS"
        assert rows["platform"]["status"] == "SKIP"
    elif case.valid:
        assert rows["config"]["status"] == "PASS", rows
    else:
        assert list(rows) == ["config"]
        assert rows["config"]["status"] == "FAIL"
        assert rows["config"]["detail"] == str(refused)
        assert code == EXIT_FAILED
