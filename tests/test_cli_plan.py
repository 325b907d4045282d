"""The command line reads the plan: ``check``'s output, ``doctor``'s generic probes and its
summary, and a ``_cli`` package that knows no platform by name.

In-house platforms registered here (and unregistered after each test) declare every kind of
probe; a loopback HTTP server answers the ``http`` ones.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import llmops
from llmops import Destination, PlatformSetup, Probe
from llmops._cli import EXIT_FAILED, EXIT_OK, main
from llmops._registry import _default
from tests.core_support import free_port


@pytest.fixture(autouse=True)
def _announce_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests compare configs with the defaults: the suite's LLMOPS_ANNOUNCE=0
    (``conftest.py``) would be a value from the environment."""
    monkeypatch.delenv("LLMOPS_ANNOUNCE", raising=False)


CLI = Path(llmops.__file__).resolve().parent / "_cli"


# -- the package -------------------------------------------------------------------------------


def test_the_cli_names_no_built_in_platform_and_imports_none() -> None:
    for path in sorted(CLI.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(arize|mlflow|phoenix)\b", text, re.I), path
        assert "_platforms." not in text
        assert "import _platforms" not in text


# -- check -------------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_check_prints_valid_the_destinations_and_the_values_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path / "llmops.yaml",
        "platform: arize\nservice: {name: bot}\narize: {endpoint: 'http://127.0.0.1:6006'}\n",
    )
    monkeypatch.setenv("PHOENIX_API_KEY", "s3cret-check-key")
    assert main(["check", str(config)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"valid: {config}"
    assert lines[1] == "arize → Phoenix project 'bot', OTLP/HTTP http://127.0.0.1:6006/v1/traces"
    assert lines[2].split() == ["key", "value", "source"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert rows["platform"] == ["arize", f"{config}:1"]
    assert rows["service.name"] == ["bot", f"{config}:2"]
    assert rows["arize.endpoint"] == ["http://127.0.0.1:6006", f"{config}:3"]
    assert rows["arize.api_key"] == ["***", "env", "PHOENIX_API_KEY"]
    assert "tracing.batch" not in rows  # a default: only with --all
    assert main(["check", str(config), "--all"]) == EXIT_OK
    out = capsys.readouterr().out
    assert re.search(r"^tracing\.batch\s+true\s+default$", out, re.M)
    assert "s3cret-check-key" not in out


def test_check_json_has_the_destinations_and_all_values_with_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--platform", "arize", "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "config": "<defaults>",
        "valid": True,
        "platforms": ["arize"],
        "destinations": ["arize → Phoenix project 'default', OTLP/gRPC http://127.0.0.1:4317"],
        "values": [],
    }
    assert main(["check", "--platform", "arize", "--json", "--all"]) == EXIT_OK
    values = json.loads(capsys.readouterr().out)["values"]
    assert {"key": "tracing.batch", "value": True, "source": "default", "secret": False} in values
    assert {v["key"] for v in values} >= {"arize.endpoint", "service.name", "plugins"}


def test_check_without_a_platform_says_how_to_select_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == EXIT_FAILED
    err = capsys.readouterr().err
    first, hint = err.splitlines()
    assert first.startswith("error: <defaults>: $.platform: no platform given")
    assert hint == "hint: pass --platform NAME (repeatable), or set 'platform: NAME' in the config"


# -- doctor: the summary -----------------------------------------------------------------------


def _doctor_table(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["doctor", "--timeout", "0.5", *args])
    return code, capsys.readouterr().out.rstrip().splitlines()


def test_doctor_without_a_config_file_says_what_it_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _doctor_table(capsys, "--platform", "arize")
    assert lines[-2] == (
        "no config file found (looked for $LLMOPS_CONFIG, llmops.yaml, llmops.yml, llmops.toml, "
        "[tool.llmops] in pyproject.toml); checked the defaults for platform arize"
    )
    # Whether something listens on the default port or not, the verdict follows the probe.
    assert lines[-1] == ("1 failed" if code == EXIT_FAILED else "all checks passed")
    assert any(line.startswith("OTLP/gRPC port") and "127.0.0.1:4317" in line for line in lines)


def test_doctor_without_a_platform_probes_nothing_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "llmops.yaml", "service: {name: bot}\n")
    code, lines = _doctor_table(capsys)
    assert code == EXIT_OK
    assert any(re.match(r"platform\s+SKIP\s+no platform selected", line) for line in lines)
    assert lines[-1] == "nothing to probe: no platform selected"
    assert "all checks passed" not in "\n".join(lines)


def test_doctor_on_a_refused_config_has_one_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "llmops.yaml", "platform: arize\narize: {endpoint: 'x://y'}\n")
    code, lines = _doctor_table(capsys, str(config))
    assert code == EXIT_FAILED
    assert lines[1].startswith("config  FAIL")
    assert "$.arize.endpoint" in lines[1]
    assert lines[-1] == "1 failed"


# -- doctor: the probes platforms declare ------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = (200, b"version 9.9") if self.path == "/ok" else (418, b"teapot")
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    """A loopback HTTP server: ``/ok`` answers 200 ``version 9.9``, the rest 418."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class DemoConfig(llmops.Section):
    secret_fields = frozenset({"token"})

    base: str = "http://127.0.0.1:9"
    token: str | None = None


class ProbingDemo:
    """Declares one probe of each kind and outcome."""

    config_type = DemoConfig

    def resolve(self, config: DemoConfig, settings: Any, env: Mapping[str, str]) -> Destination:
        headers = {"authorization": f"Bearer {config.token}"} if config.token else {}
        return Destination(
            description=f"demo at {config.base}",
            transport="http",
            endpoint=f"{config.base}/v1/traces",
            headers=headers,
        )

    def probes(self, destination: Destination) -> list[Probe]:
        base = destination.endpoint.removesuffix("/v1/traces")
        header = destination.headers.get("authorization", "")
        return [
            Probe(name="tcp up", kind="tcp", url=base),
            Probe(name="http ok", kind="http", url=f"{base}/ok", check=lambda body: None),
            Probe(name="http old", kind="http", url=f"{base}/ok", check=lambda b: f"old: {b}"),
            Probe(name="http 418", kind="http", url=f"{base}/teapot"),
            Probe(name="local ok", kind="local", check=lambda _: None, detail="all good"),
            Probe(name="local problem", kind="local", check=lambda _: f"{header} was refused"),
            Probe(name="local crash", kind="local", check=lambda _: str(1 / 0)),
        ]


class OtlpDemo:
    """Resolves an OTLP destination and declares no probes."""

    config_type = DemoConfig

    def resolve(self, config: DemoConfig, settings: Any, env: Mapping[str, str]) -> Destination:
        return Destination(description="otlp", transport="grpc", endpoint=config.base)


class SetupDemo:
    """Only ``setup``: no destination, nothing to probe."""

    config_type = DemoConfig

    def setup(self, config: DemoConfig, settings: Any) -> PlatformSetup:
        return PlatformSetup()


class BrokenProbesDemo(OtlpDemo):
    def probes(self, destination: Destination) -> list[Probe]:
        raise RuntimeError("probes exploded")


DEMOS = {
    "probing_demo": ProbingDemo,
    "otlp_demo": OtlpDemo,
    "setup_demo": SetupDemo,
    "broken_probes_demo": BrokenProbesDemo,
}


@pytest.fixture
def demos() -> Iterator[None]:
    for name, cls in DEMOS.items():
        _default.register(name, cls, replace=True)
    try:
        yield
    finally:
        for name in DEMOS:
            _default.unregister(name)


@pytest.mark.usefixtures("demos")
def test_doctor_runs_the_declared_probes_generically(
    tmp_path: Path, http_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    config = write(
        tmp_path / "llmops.yaml",
        f"platforms: [probing_demo, otlp_demo, setup_demo, broken_probes_demo]\n"
        f"probing_demo: {{base: '{http_base}', token: s3cret-demo-token}}\n"
        f"otlp_demo: {{base: '{closed}'}}\n",
    )
    code = main(["doctor", str(config), "--json", "--timeout", "0.5"])
    out = capsys.readouterr().out
    assert "s3cret-demo-token" not in out
    rows = [(r["check"], r["status"], r["detail"]) for r in json.loads(out)]
    assert code == EXIT_FAILED
    by_name = {check: (status, detail) for check, status, detail in rows}
    port = http_base.rpartition(":")[2]
    assert by_name["tcp up"] == ("PASS", f"127.0.0.1:{port} accepts connections")
    assert by_name["http ok"] == ("PASS", f"GET {http_base}/ok answered 200: version 9.9")
    assert by_name["http old"] == ("FAIL", "old: version 9.9")
    assert by_name["http 418"] == ("FAIL", f"GET {http_base}/teapot answered 418")
    assert by_name["local ok"] == ("PASS", "all good")
    assert by_name["local problem"] == ("FAIL", "*** was refused")  # the header value, whole
    assert by_name["local crash"] == ("FAIL", "ZeroDivisionError: division by zero")
    # No hook, an OTLP destination: a TCP probe of its endpoint.
    status, detail = by_name["OTLP/gRPC port"]
    assert status == "FAIL"
    assert closed.removeprefix("http://") in detail
    # The rows, platform by platform, in the order of the config.
    checks = [check for check, _, _ in rows]
    assert checks[:2] == ["config", "platform probing_demo"]
    assert checks.index("platform otlp_demo") < checks.index("OTLP/gRPC port")
    setup_at = checks.index("platform setup_demo")
    assert rows[setup_at + 1] == ("backend", "SKIP", "setup_demo declares nothing to probe")
    broken_at = checks.index("platform broken_probes_demo")
    assert rows[broken_at + 1] == (
        "probes",
        "FAIL",
        "probes() failed: RuntimeError: probes exploded",
    )


@pytest.mark.usefixtures("demos")
def test_check_describes_a_platform_without_resolve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--platform", "setup_demo", "--platform", "otlp_demo"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"setup_demo → set up by {__name__}.SetupDemo (no resolve hook)"
    assert lines[2] == "otlp_demo → otlp"
