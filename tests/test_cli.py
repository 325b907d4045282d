"""The ``llmops`` command line: check, platforms, schema, doctor, help, exit codes, colour.

Most tests call ``llmops._cli.main`` in this process; those that need a fresh interpreter
(``--import`` of a module that registers a platform, ``python -m llmops``, the console script)
run it in a subprocess. ``llmops run`` has its own module, ``tests/test_cli_run.py``.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from llmops._cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Style, main
from tests.servers.phoenix import PhoenixServer

REPO = Path(__file__).resolve().parents[1]
ACME_MODULE = textwrap.dedent(
    '''
    import msgspec
    import llmops
    from llmops._config import Section


    class AcmeCliConfig(Section):
        """``acme_cli:`` — an in-house platform of the CLI tests."""

        secret_fields = frozenset({"token"})

        endpoint: str = "http://127.0.0.1:9/v1/traces"
        """Where Acme's collector listens."""
        token: str | None = None
        """Acme's API token."""


    @llmops.register_platform("acme_cli")
    class AcmeCli:
        config_type = AcmeCliConfig

        def setup(self, config, settings):
            return llmops.PlatformSetup()
    '''
)


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    """Run ``python -m llmops ARGS`` in a fresh interpreter."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), str(cwd or "")]))
    return subprocess.run(
        [sys.executable, "-m", "llmops", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# -- help, version, usage ----------------------------------------------------------------------


def test_python_dash_m_llmops_help_lists_every_command_with_examples() -> None:
    proc = cli("--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("check", "platforms", "schema", "doctor", "run"):
        assert command in proc.stdout
    assert "examples:" in proc.stdout
    assert "exit codes:" in proc.stdout


@pytest.mark.parametrize("command", ["check", "platforms", "schema", "doctor", "run"])
def test_each_command_has_help_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert f"llmops {command}" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import llmops

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"llmops {llmops.__version__}"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == EXIT_USAGE
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == EXIT_USAGE
    assert "usage: llmops" in capsys.readouterr().err


def test_import_llmops_does_not_import_the_cli() -> None:
    code = "import sys, llmops; print(sorted(m for m in sys.modules if 'llmops._cli' in m))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert proc.stdout.strip() == "[]"


# -- check -------------------------------------------------------------------------------------


def test_check_shows_values_with_origins_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path / "llmops.yaml",
        """
        platform: arize
        tracing:
          sample_ratio: ${RATIO:-0.5}
        arize:
          endpoint: http://127.0.0.1:6006
          api_key: ${MY_KEY}
        """,
    )
    monkeypatch.setenv("MY_KEY", "s3cret-value")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("PHOENIX_PROJECT_NAME", "proj-env")
    assert main(["check", str(config), "--json", "--all"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "s3cret-value" not in out
    report = json.loads(out)
    assert report["valid"] is True
    assert report["platforms"] == ["arize"]
    assert report["destinations"] == [
        "arize → Phoenix project 'proj-env', OTLP/HTTP http://127.0.0.1:6006/v1/traces"
    ]
    values = {row["key"]: row for row in report["values"]}
    assert values["platform"]["source"] == f"{config}:1"
    assert values["tracing.sample_ratio"] == {
        "key": "tracing.sample_ratio",
        "value": 0.5,
        "source": f"{config}:3 (${{RATIO}})",
        "secret": False,
    }
    assert values["service.name"]["source"] == "env OTEL_SERVICE_NAME"
    assert values["service.name"]["value"] == "from-env"
    assert values["tracing.batch"]["source"] == "default"
    assert values["arize.endpoint"]["value"] == "http://127.0.0.1:6006"
    assert values["arize.api_key"]["value"] == "***"
    assert values["arize.api_key"]["source"] == f"{config}:6 (${{MY_KEY}})"
    assert values["arize.project_name"]["source"] == "env PHOENIX_PROJECT_NAME"
    # Without --all, only what the file or the environment set.
    assert main(["check", str(config), "--json"]) == EXIT_OK
    sources = {row["key"]: row["source"] for row in json.loads(capsys.readouterr().out)["values"]}
    assert "tracing.batch" not in sources
    assert sources["service.name"] == "env OTEL_SERVICE_NAME"


def test_check_table_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path / "llmops.toml",
        '[mlflow]\ntracking_uri = "http://127.0.0.1:5000"\ntoken = "t0k"\n',
    )
    assert main(["check", "--platform", "mlflow"]) == EXIT_OK  # found in the working directory
    out = capsys.readouterr().out
    assert out.startswith("valid: ")
    assert out.splitlines()[0].endswith("llmops.toml")
    assert out.splitlines()[1].startswith("mlflow → MLflow tracking server http://127.0.0.1:5000")
    assert "mlflow.tracking_uri" in out
    assert "http://127.0.0.1:5000" in out
    assert "llmops.toml:2" in out  # the source of mlflow.tracking_uri
    assert "t0k" not in out
    assert "\033[" not in out  # not a terminal: no colour


def test_check_reads_pyproject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "pyproject.toml", "[tool.llmops.service]\nname = 'py'\n")
    # No platform selected: refused, as instrument() without one refuses it.
    assert main(["check", "--json"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "pyproject.toml: $.platform: no platform given" in err
    assert "pass --platform NAME" in err
    assert main(["check", "--json", "--platform", "arize"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["config"].endswith("pyproject.toml")
    sources = {r["key"]: r["source"] for r in report["values"]}
    assert sources["service.name"] == f"{report['config']}:2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tracing:\n  sample_ratoi: 1\n", "did you mean 'sample_ratio'"),
        ("tracing:\n  sample_ratio: 3\n", "$.tracing.sample_ratio"),
        ("arize:\n  endpont: x\n", "did you mean 'endpoint'"),
        ("instrumentation:\n  google_gena: true\n", "did you mean 'google_genai'"),
        ("arise: {}\n", "did you mean 'arize'"),
        ("mlflow:\n  timeout_s: -1\n", "$.mlflow.timeout_s"),
    ],
)
def test_check_invalid_config_exits_1_with_the_error(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "bad.yaml", text)
    assert main(["check", str(config), "--platform", "arize"]) == EXIT_FAILED
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert message in captured.err
    assert "bad.yaml:" in captured.err


def test_check_unknown_platform_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--platform", "arise"]) == EXIT_FAILED
    assert "did you mean 'arize'" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "nope.yaml")]) == EXIT_FAILED
    assert "config file not found" in capsys.readouterr().err


def test_check_with_an_imported_in_house_platform(tmp_path: Path) -> None:
    write(tmp_path / "acme_cli_mod.py", ACME_MODULE)
    write(tmp_path / "llmops.yaml", "acme_cli:\n  token: abc123\n")
    proc = cli("check", "--import", "acme_cli_mod", "--platform", "acme_cli", "--all", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "acme_cli → set up by acme_cli_mod.AcmeCli" in proc.stdout
    assert "acme_cli.endpoint" in proc.stdout
    assert "acme_cli.token" in proc.stdout
    assert "abc123" not in proc.stdout
    # Without --import the section is unknown, as it would be to instrument().
    proc = cli("check", cwd=tmp_path)
    assert proc.returncode == 1
    assert "unknown section 'acme_cli'" in proc.stderr


# -- platforms ---------------------------------------------------------------------------------


def test_platforms_lists_builtins_with_their_extras(capsys: pytest.CaptureFixture[str]) -> None:
    # The exit code depends on every platform this test process registered: see the rows.
    main(["platforms", "--json"])
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["arize"]["origin"] == "built-in"
    assert rows["arize"]["extra"] == "arize"
    assert rows["arize"]["state"] == "ok"
    assert rows["mlflow"]["class"] == "llmops._platforms.mlflow.MlflowPlatform"
    main(["platforms"])
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["platform", "from", "state", "packages"]
    assert "llmops[mlflow] installed" in table


def test_platforms_with_import_and_an_entry_point(tmp_path: Path) -> None:
    write(tmp_path / "acme_cli_mod.py", ACME_MODULE)
    # An installed distribution advertising a broken plugin, through the entry-point group.
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    write(dist / "METADATA", "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    write(dist / "entry_points.txt", "[llmops.platforms]\nbroken = no_such_module:Broken\n")
    proc = cli("platforms", "--json", "--import", "acme_cli_mod", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # one platform is not usable
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert rows["acme_cli"]["origin"] == "registered by acme_cli_mod"
    assert rows["acme_cli"]["state"] == "ok"
    assert rows["broken"]["state"] == "error"
    assert "broken-plugin 1.0" in rows["broken"]["origin"]
    assert "no_such_module" in rows["broken"]["detail"]
    assert rows["arize"]["state"] == "ok"


def test_platforms_import_failure_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["platforms", "--import", "no_such_module_xyz"]) == EXIT_FAILED
    assert "no_such_module_xyz" in capsys.readouterr().err


# -- schema ------------------------------------------------------------------------------------


def _schema(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["schema", *args]) == EXIT_OK
    schema: dict[str, Any] = json.loads(capsys.readouterr().out)
    return schema


def test_schema_covers_every_section_with_descriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = _schema(capsys)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "llmops configuration"
    props = schema["properties"]
    assert {"platform", "service", "tracing", "instrumentation", "arize", "mlflow"} <= set(props)
    defs = schema["$defs"]
    tracing = defs["TracingConfig"]["properties"]
    assert tracing["sample_ratio"]["description"].startswith("Fraction of traces kept")
    assert tracing["sample_ratio"]["default"] == 1.0
    arize = defs["ArizeConfig"]["properties"]
    assert "PHOENIX_COLLECTOR_ENDPOINT" in arize["endpoint"]["description"]
    assert "\n" not in arize["endpoint"]["description"]
    assert "google_genai" in props["instrumentation"]["properties"]
    assert props["service"]["description"].startswith("`service:`")


def test_schema_validates_configs_as_llmops_does(capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = _schema(capsys)
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    good = {
        "platform": "arize",
        "service": {"name": "bot", "attributes": {"team": "x"}},
        "tracing": {"sample_ratio": "${RATIO:-0.5}", "batch": True},
        "instrumentation": {"google_genai": True, "strict": False},
        "arize": {"endpoint": "http://127.0.0.1:4317", "protocol": "grpc"},
        "mlflow": {"tracking_uri": "sqlite:///mlflow.db", "timeout_s": 5},
    }
    assert list(validator.iter_errors(good)) == []
    for bad in (
        {"tracing": {"sample_ratoi": 1}},
        {"tracing": {"sample_ratio": 2}},
        {"arize": {"protocol": "udp"}},
        {"instrumentation": {"nope": True}},
        {"arise": {}},
    ):
        assert list(validator.iter_errors(bad)), bad


def test_schema_to_a_file_and_with_an_imported_platform(tmp_path: Path) -> None:
    write(tmp_path / "acme_cli_mod.py", ACME_MODULE)
    proc = cli("schema", "--import", "acme_cli_mod", "-o", "schema.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads((tmp_path / "schema.json").read_text())
    assert schema["properties"]["acme_cli"]["$ref"] == "#/$defs/AcmeCliConfig"
    endpoint = schema["$defs"]["AcmeCliConfig"]["properties"]["endpoint"]
    assert endpoint["description"] == "Where Acme's collector listens."


# -- doctor ------------------------------------------------------------------------------------


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--json", "--timeout", "5", *args])
    rows = {row["check"]: row for row in json.loads(capsys.readouterr().out)}
    return code, rows


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.e2e
def test_doctor_passes_against_a_real_phoenix_over_http_and_grpc(
    phoenix_server: PhoenixServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http = write(
        tmp_path / "http.yaml",
        f"arize: {{endpoint: '{phoenix_server.base_url}', protocol: http}}\n",
    )
    code, rows = _doctor(capsys, str(http), "--platform", "arize")
    assert code == EXIT_OK, rows
    assert rows["Phoenix /healthz"]["status"] == "PASS"
    assert rows["OTLP/HTTP port"]["status"] == "PASS"
    grpc = write(
        tmp_path / "grpc.yaml",
        f"platform: arize\narize: {{endpoint: '{phoenix_server.grpc_endpoint}', protocol: grpc}}\n",
    )
    code, rows = _doctor(capsys, str(grpc))
    assert code == EXIT_OK, rows
    assert rows["OTLP/gRPC port"]["status"] == "PASS"
    assert rows["platform arize"]["detail"] == "built-in"


def test_doctor_fails_when_the_backend_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    config = write(
        tmp_path / "llmops.yaml", f"arize: {{endpoint: 'http://127.0.0.1:{port}/v1/traces'}}\n"
    )
    code, rows = _doctor(capsys, str(config), "--platform", "arize")
    assert code == EXIT_FAILED
    assert rows["config"]["status"] == "PASS"
    assert rows["OTLP/HTTP port"]["status"] == "FAIL"
    assert rows["Phoenix /healthz"]["status"] == "FAIL"
    # The table form, with its summary line.
    assert main(["doctor", str(config), "--platform", "arize", "--timeout", "2"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert out.rstrip().endswith("2 failed")


def test_doctor_reports_an_invalid_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "llmops.yaml", "tracing: {batch: maybe}\n")
    code, rows = _doctor(capsys, str(config))
    assert code == EXIT_FAILED
    assert list(rows) == ["config"]
    assert "$.tracing.batch" in rows["config"]["detail"]


def test_doctor_checks_the_instrumentors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path / "llmops.yaml",
        "instrumentation: {google_genai: true, crewai: true}\n",
    )
    code, rows = _doctor(capsys, str(config))
    assert code == EXIT_OK  # a missing instrumentor is a warning, as in instrument()
    assert rows["instrumentor google_genai"]["status"] == "PASS"
    assert "google-genai" in rows["instrumentor google_genai"]["detail"]
    assert rows["instrumentor crewai"]["status"] == "WARN"
    assert (
        "pip install openinference-instrumentation-crewai" in rows["instrumentor crewai"]["detail"]
    )
    write(config, "instrumentation: {crewai: true, strict: true}\n")
    code, rows = _doctor(capsys, str(config))
    assert code == EXIT_FAILED
    # instrument() refuses this config (strict), so the plan does, and doctor says so first.
    assert rows["config"]["status"] == "FAIL"
    assert "pip install openinference-instrumentation-crewai" in rows["config"]["detail"]


def test_doctor_lists_clients_installed_without_their_instrumentor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: what would leave the trace view empty, said before the application runs."""
    from llmops import _instrumentors
    from llmops._instrumentors import InstrumentorSpec

    monkeypatch.setattr(_instrumentors, "CATALOGUE", dict(_instrumentors.CATALOGUE))
    _instrumentors.register_instrumentor(
        "fakeclient",
        InstrumentorSpec(
            "openinference.instrumentation.llmops_test_missing:X",
            "llmops-test-missing-instrumentor",
            "llmops",  # installed: the "client" is there, its instrumentor is not
            watch="llmops_fake_client",
            extra="fakeclient",
        ),
    )
    config = write(tmp_path / "llmops.yaml", "service: {name: doctor}\n")
    code, rows = _doctor(capsys, str(config))
    assert code == EXIT_OK  # a hint, not a failure
    row = rows["instrumentor fakeclient"]
    assert row["status"] == "WARN"
    assert "llmops-test-missing-instrumentor is not" in row["detail"]
    assert "pip install 'llmops[fakeclient]'" in row["detail"]
    # An installed instrumentor is listed as applied on import.
    assert rows["instrumentor google_genai"]["status"] == "PASS"
    assert (
        "when the application imports google.genai" in rows["instrumentor google_genai"]["detail"]
    )
    write(config, "instrumentation: false\n")
    code, rows = _doctor(capsys, str(config))
    assert rows["instrumentation"]["status"] == "SKIP"


def test_doctor_local_mlflow_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path / "llmops.yaml", "platform: mlflow\n")
    code, rows = _doctor(capsys, str(config))
    assert code == EXIT_OK, rows
    assert rows["MLflow local store"]["status"] == "PASS"
    missing = write(tmp_path / "m.yaml", "mlflow: {tracking_uri: 'sqlite:////no/such/dir/x.db'}\n")
    code, rows = _doctor(capsys, str(missing), "--platform", "mlflow")
    assert code == EXIT_FAILED
    # The plan refuses it, as instrument() does: the config row is the only one.
    assert list(rows) == ["config"]
    assert rows["config"]["status"] == "FAIL"
    assert "does not exist" in rows["config"]["detail"]
    assert not (tmp_path / "mlflow.db").exists()  # doctor creates nothing


# -- colour ------------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Style(_Tty()).enabled
    assert Style(_Tty())("PASS", "green") == "\033[32mPASS\033[0m"
    assert not Style(io.StringIO()).enabled
    assert Style(io.StringIO())("PASS", "green") == "PASS"
    monkeypatch.setenv("NO_COLOR", "1")
    assert not Style(_Tty()).enabled
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not Style(_Tty()).enabled
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert Style(io.StringIO()).enabled


def test_doctor_table_is_coloured_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "llmops.yaml", "instrumentation: {google_genai: true}\n")
    tty = _Tty()
    monkeypatch.setattr(sys, "stdout", tty)
    assert main(["doctor", str(config)]) == EXIT_OK
    assert "\033[32mPASS" in tty.getvalue()


def test_platforms_exit_0_when_every_platform_is_usable(tmp_path: Path) -> None:
    proc = cli("platforms", cwd=tmp_path, env={"LLMOPS_DISABLE_PLUGINS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert names == ["arize", "mlflow", "otlp"]


def test_check_and_doctor_with_several_platforms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path / "llmops.yaml",
        """
        platforms: [arize, mlflow]
        arize: {endpoint: 'http://127.0.0.1:4317'}
        mlflow: {tracking_uri: 'sqlite:///mlflow.db'}
        """,
    )
    assert main(["check", str(config), "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["platforms"] == ["arize", "mlflow"]
    keys = {row["key"] for row in report["values"]}
    assert {"arize.endpoint", "mlflow.tracking_uri"} <= keys
    assert main(["check", str(config)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("arize → Phoenix project 'default', OTLP/gRPC")
    assert lines[2].startswith("mlflow → MLflow local store sqlite:///mlflow.db")
    _, rows = _doctor(capsys, str(config), "--platform", "mlflow")
    assert "platform arize" not in rows  # --platform wins over the config's list
    assert rows["MLflow local store"]["status"] == "PASS"
