"""Security: secrets never leak into output, and credentials never travel in clear text.

* A unique secret is put in every place a credential can live (``arize.api_key``,
  ``arize.headers``, ``PHOENIX_API_KEY``, ``PHOENIX_CLIENT_HEADERS``, ``mlflow.token``,
  ``mlflow.password``, a password inside a URI, a ``${VAR}`` reference) and every path is
  exercised, failures included: instrument, export to a healthy, a failing and an absent
  collector, shutdown, config errors, the insecure-transport refusal and its opt-in. Every log
  record (all loggers, DEBUG), everything written to fd 1 and 2, every warning, every
  exception message, the repr and str of every config object, ``PlatformSetup.description``,
  ``llmops.stats()`` and ``llmops check`` output are scanned for it.
* Credentials over ``http://`` or insecure gRPC to a host that is not loopback are refused for
  every built-in platform unless the config opts in (``allow_insecure: true``), and the opt-in
  is logged.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import llmops
from llmops import ConfigurationError, Platform
from llmops._config import load_config
from llmops._registry import get_platform
from tests.core_support import free_port, subprocess_env
from tests.otlp_receiver import OtlpReceiver

SECRET = f"S3cr3t-{uuid.uuid4().hex}"
NON_LOOPBACK = "10.255.255.1"  # never contacted: refused, or the exporter is never used


class Scan:
    """Everything a path produced that a user or an operator could see."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, value: object) -> None:
        self.texts.append((where, value if isinstance(value, str) else repr(value)))
        self.texts.append((f"str({where})", str(value)))

    def leaks(self) -> list[str]:
        return [where for where, text in self.texts if SECRET in text]


def _write(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _exercise(
    scan: Scan, label: str, call: Callable[[], object], *, expect: type[BaseException] | None
) -> object:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as exc:
            if expect is None or not isinstance(exc, expect):
                raise
            scan.add(f"{label}: exception", exc)
            scan.add(f"{label}: exception args", exc.args)
            if exc.__cause__ is not None:
                scan.add(f"{label}: cause", exc.__cause__)
            result = None
        else:
            assert expect is None, f"{label}: expected {expect.__name__}"
    for warning in caught:
        scan.add(f"{label}: warning", warning.message)
    return result


def _scan_active(scan: Scan, label: str) -> None:
    active = llmops._lifecycle.current()
    if active is None:
        return
    scan.add(f"{label}: active key", active.key)
    for part in active.key:
        scan.add(f"{label}: key part", part)
    for pipeline in active.pipelines:
        if pipeline.guard is not None:
            scan.add(f"{label}: exporter culprit", pipeline.guard.culprit)


def test_a_secret_never_appears_in_any_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    scan = Scan()
    llmops._stats.reset()
    with OtlpReceiver() as ok, OtlpReceiver(mode="error") as failing:
        dead = f"http://127.0.0.1:{free_port()}/v1/traces"
        monkeypatch.setenv("MY_SECRET", SECRET)
        cases: list[tuple[str, Platform | str, dict[str, Any], type[BaseException] | None]] = [
            (
                "arize healthy",
                Platform.ARIZE,
                {
                    "arize": {
                        "endpoint": ok.endpoint,
                        "api_key": SECRET,
                        "headers": {"x-team-token": SECRET},
                    }
                },
                None,
            ),
            (
                "arize key from ${VAR}",
                Platform.ARIZE,
                {"arize": {"endpoint": ok.endpoint, "api_key": "${MY_SECRET}"}},
                None,
            ),
            (
                "arize failing collector",
                Platform.ARIZE,
                {"arize": {"endpoint": failing.endpoint, "api_key": SECRET}},
                None,
            ),
            (
                "arize absent collector",
                Platform.ARIZE,
                {"arize": {"endpoint": dead, "headers": {"authorization": SECRET}}},
                None,
            ),
            (
                "arize gRPC absent",
                Platform.ARIZE,
                {
                    "arize": {
                        "endpoint": f"http://127.0.0.1:{free_port()}",
                        "protocol": "grpc",
                        "api_key": SECRET,
                    }
                },
                None,
            ),
            (
                "arize password in URI",
                Platform.ARIZE,
                {"arize": {"endpoint": f"https://user:{SECRET}@127.0.0.1:4317"}},
                ConfigurationError,
            ),
            (
                "arize plain http to another host",
                Platform.ARIZE,
                {"arize": {"endpoint": f"http://{NON_LOOPBACK}:4317", "api_key": SECRET}},
                ConfigurationError,
            ),
            (
                "arize secret in a wrongly typed value",
                Platform.ARIZE,
                {"arize": {"api_key": [SECRET]}},
                ConfigurationError,
            ),
            (
                "arize secret next to an unknown key",
                Platform.ARIZE,
                {"arize": {"api_key": SECRET, "endpont": ok.endpoint}},
                ConfigurationError,
            ),
            (
                "arize AX with key",
                Platform.ARIZE,
                {"arize": {"space_id": "space", "api_key": SECRET, "endpoint": dead}},
                None,
            ),
            (
                "mlflow token, server absent",
                Platform.MLFLOW,
                {
                    "mlflow": {
                        "tracking_uri": f"http://127.0.0.1:{free_port()}",
                        "token": SECRET,
                        "timeout_s": 1,
                    }
                },
                None,
            ),
            (
                "mlflow basic auth, server absent",
                Platform.MLFLOW,
                {
                    "mlflow": {
                        "tracking_uri": f"http://127.0.0.1:{free_port()}",
                        "username": "u",
                        "password": SECRET,
                        "timeout_s": 1,
                    }
                },
                None,
            ),
            (
                "mlflow password in URI",
                Platform.MLFLOW,
                {"mlflow": {"tracking_uri": f"http://u:{SECRET}@127.0.0.1:5000"}},
                ConfigurationError,
            ),
            (
                "mlflow token over http to another host",
                Platform.MLFLOW,
                {"mlflow": {"tracking_uri": f"http://{NON_LOOPBACK}:5000", "token": SECRET}},
                ConfigurationError,
            ),
            (
                "mlflow database URI with a password",
                Platform.MLFLOW,
                {"mlflow": {"tracking_uri": f"postgresql://u:{SECRET}@127.0.0.1:{free_port()}/db"}},
                None,
            ),
        ]
        for index, (label, platform, document, expect) in enumerate(cases):
            path = _write(
                tmp_path,
                f"case{index}.yaml",
                {
                    "tracing": {
                        "export_timeout_s": 0.5,
                        "shutdown_timeout_s": 1,
                        "schedule_delay_ms": 50,
                    },
                    **document,
                },
            )
            provider = _exercise(
                scan,
                label,
                lambda platform=platform, path=path: llmops.instrument(platform, config_path=path),
                expect=expect,
            )
            try:
                loaded = load_config(path)
            except ConfigurationError as exc:
                scan.add(f"{label}: load error", exc)
            else:
                scan.add(f"{label}: LoadedConfig", loaded)
                scan.add(f"{label}: settings", loaded.settings)
                name = str(platform)
                try:
                    section = loaded.section(name, get_platform(name).config_type)
                except ConfigurationError as exc:
                    scan.add(f"{label}: section error", exc)
                else:
                    scan.add(f"{label}: section", section)
                    try:
                        contribution = get_platform(name)().setup(section, loaded.settings)
                    except Exception as exc:
                        scan.add(f"{label}: setup error", exc)
                    else:
                        scan.add(f"{label}: description", contribution.description)
                        for exporter in contribution.exporters:
                            exporter.shutdown()
            if provider is not None:
                _scan_active(scan, label)
                tracer = provider.get_tracer("app")  # type: ignore[attr-defined]
                for i in range(5):
                    with tracer.start_as_current_span(f"{label}-{i}"):
                        pass
                provider.force_flush()  # type: ignore[attr-defined]
            _exercise(scan, f"{label}: shutdown", llmops.shutdown, expect=None)

        # Environment variables that carry credentials.
        monkeypatch.setenv("PHOENIX_API_KEY", SECRET)
        monkeypatch.setenv("PHOENIX_CLIENT_HEADERS", f"x-extra={SECRET}")
        path = _write(tmp_path, "env.yaml", {"arize": {"endpoint": ok.endpoint}})
        provider = llmops.instrument(Platform.ARIZE, config_path=path)
        _scan_active(scan, "env")
        with provider.get_tracer("app").start_as_current_span("env"):
            pass
        llmops.shutdown()
        scan.add("stats", llmops.stats())
        # The secrets did travel where they should: to the healthy collector, in headers.
        sent = [h for h in ok.headers if SECRET in h.get("authorization", "")]
        assert sent, "the api_key never reached the collector: the path was not exercised"

    # `llmops check`, which prints every resolved value.
    check_config = _write(
        tmp_path,
        "check.yaml",
        {
            "arize": {
                "endpoint": "http://127.0.0.1:6006",
                "api_key": SECRET,
                "headers": {"x-team-token": SECRET},
            }
        },
    )
    for extra in ([], ["--json"]):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "llmops",
                "check",
                str(check_config),
                "--platform",
                "arize",
                *extra,
            ],
            cwd=tmp_path,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        scan.add(f"llmops check {extra}: stdout", result.stdout)
        scan.add(f"llmops check {extra}: stderr", result.stderr)

    scan.add("log records", caplog.text)
    for record in caplog.records:
        scan.add("log record args", record.args)
    captured = capfd.readouterr()
    scan.add("stdout", captured.out)
    scan.add("stderr", captured.err)
    assert len(scan.texts) > 100  # the scan saw the paths
    assert scan.leaks() == []


# -- insecure transport -------------------------------------------------------------------------

INSECURE_CASES = [
    pytest.param(
        Platform.ARIZE,
        {"endpoint": f"http://{NON_LOOPBACK}:6006/v1/traces", "api_key": SECRET},
        "arize.allow_insecure",
        id="arize-http-api-key",
    ),
    pytest.param(
        Platform.ARIZE,
        {"endpoint": f"http://{NON_LOOPBACK}:4317", "protocol": "grpc", "headers": {"x": SECRET}},
        "arize.allow_insecure",
        id="arize-insecure-grpc-header",
    ),
    pytest.param(
        Platform.MLFLOW,
        {"tracking_uri": f"http://{NON_LOOPBACK}:5000", "token": SECRET},
        "mlflow.allow_insecure",
        id="mlflow-http-token",
    ),
    pytest.param(
        Platform.MLFLOW,
        {"tracking_uri": f"http://{NON_LOOPBACK}:5000", "username": "u", "password": SECRET},
        "mlflow.allow_insecure",
        id="mlflow-http-basic-auth",
    ),
    pytest.param(
        Platform.MLFLOW,
        {"tracking_uri": f"http://{NON_LOOPBACK}:5000", "headers": {"x-api-key": SECRET}},
        "mlflow.allow_insecure",
        id="mlflow-http-header",
    ),
    pytest.param(
        Platform.OTLP,
        {"endpoint": f"http://{NON_LOOPBACK}:4318", "headers": {"authorization": SECRET}},
        "otlp.allow_insecure",
        id="otlp-http-header",
    ),
    pytest.param(
        Platform.OTLP,
        {"endpoint": f"http://{NON_LOOPBACK}:4317", "headers": {"x-api-key": SECRET}},
        "otlp.allow_insecure",
        id="otlp-plaintext-grpc-header",
    ),
]


def _no_mlflow_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The opt-in case would resolve the experiment over the network: keep it off the wire."""
    from llmops._platforms import _mlflow_export

    monkeypatch.setattr(_mlflow_export.ExperimentExporter, "try_resolve", lambda self: None)


@pytest.mark.parametrize(("platform", "section", "key"), INSECURE_CASES)
def test_credentials_in_clear_text_to_another_host_are_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    platform: Platform,
    section: dict[str, Any],
    key: str,
) -> None:
    _no_mlflow_network(monkeypatch)
    path = _write(tmp_path, "c.yaml", {str(platform): section})
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(platform, config_path=path)
    message = str(info.value)
    assert "unencrypted" in message
    assert key in message
    assert NON_LOOPBACK in message
    assert SECRET not in message

    caplog.set_level(logging.INFO, logger="llmops")
    path = _write(tmp_path, "c.yaml", {str(platform): {**section, "allow_insecure": True}})
    provider = llmops.instrument(platform, config_path=path)
    assert provider is not None
    opt_in = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and key in r.getMessage() and "plain http" in r.getMessage()
    ]
    assert len(opt_in) == 1, caplog.text
    assert NON_LOOPBACK in opt_in[0].getMessage()
    assert SECRET not in caplog.text
    llmops.shutdown()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
@pytest.mark.parametrize("platform", [Platform.ARIZE, Platform.MLFLOW, Platform.OTLP])
def test_loopback_and_https_need_no_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, platform: Platform
) -> None:
    _no_mlflow_network(monkeypatch)
    sections = {
        Platform.ARIZE: [
            {"endpoint": f"http://{host}:6006/v1/traces", "api_key": SECRET},
            {"endpoint": f"https://{NON_LOOPBACK}:6006/v1/traces", "api_key": SECRET},
        ],
        Platform.MLFLOW: [
            {"tracking_uri": f"http://{host}:5000", "token": SECRET},
            {"tracking_uri": f"https://{NON_LOOPBACK}:5000", "token": SECRET},
        ],
        Platform.OTLP: [
            {"endpoint": f"http://{host}:4318", "headers": {"authorization": SECRET}},
            {"endpoint": f"https://{NON_LOOPBACK}:4318", "headers": {"authorization": SECRET}},
        ],
    }[platform]
    for section in sections:
        path = _write(tmp_path, "c.yaml", {str(platform): section})
        assert llmops.instrument(platform, config_path=path) is not None
        llmops.shutdown()


def test_every_builtin_platform_is_covered() -> None:
    """A new built-in platform must be added to the insecure-transport cases above."""
    covered = {case.values[0] for case in INSECURE_CASES}
    assert {str(p) for p in Platform} == {str(p) for p in covered}


def test_yaml_cannot_build_python_objects(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    for tag in ("!!python/object/apply:os.system", "!!python/object/apply:subprocess.call"):
        path = tmp_path / "evil.yaml"
        argument = f"touch {marker}" if "os.system" in tag else f"[touch, {marker}]"
        path.write_text(f"service:\n  name: {tag} [{argument}]\n", encoding="utf-8")
        with pytest.raises(ConfigurationError, match=r"evil\.yaml:2: invalid YAML"):
            llmops.instrument(Platform.ARIZE, config_path=path)
    path.write_text("!!python/name:os.system\n", encoding="utf-8")
    with pytest.raises(ConfigurationError):
        llmops.instrument(Platform.ARIZE, config_path=path)
    assert not marker.exists()


class _LeakyExporter:
    """An exporter that puts its credentials in everything it says, as requests does for a
    header it cannot send ("... in header value: 'Bearer <key>\\n'")."""

    def __init__(self, header: str) -> None:
        self.header = header

    def export(self, spans: Any) -> Any:
        log = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")
        log.warning("Invalid return character or leading space in header value: %r", self.header)
        raise ValueError(f"cannot send header value: {self.header!r} (token {SECRET})")

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def test_what_an_exporter_says_is_relayed_without_its_headers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Defect 1 of issue 13: whatever an exporter puts in its messages (a header value, the
    token alone, its repr with the newline escaped), llmops relays it masked, at every level."""
    from opentelemetry.sdk.trace.export import SpanExporter

    header = f"Bearer {SECRET}\n"

    class Leaky(_LeakyExporter, SpanExporter):
        pass

    class LeakyConfig(llmops.Section):
        pass

    class LeakyPlatform:
        config_type = LeakyConfig

        def resolve(self, config: Any, settings: Any, env: Any) -> llmops.Destination:
            return llmops.Destination(
                description="leaky", transport="custom", headers={"authorization": header}
            )

        def setup(self, destination: Any, settings: Any) -> llmops.PlatformSetup:
            return llmops.PlatformSetup(exporters=[Leaky(header)], description="leaky")

    llmops.register_platform("leaky")(LeakyPlatform)
    caplog.set_level(logging.DEBUG)
    config = _write(tmp_path, "llmops.yaml", {"tracing": {"schedule_delay_ms": 600000}})
    provider = llmops.instrument("leaky", config_path=config)
    for _ in range(3):
        provider.get_tracer("t").start_span("s").end()
        provider.force_flush()
    llmops.shutdown()
    assert llmops.stats().by_platform["leaky"].failed == 3
    out, err = capfd.readouterr()
    scan = Scan()
    scan.add("stdout", out)
    scan.add("stderr", err)
    for record in caplog.records:
        scan.add(f"log {record.name}", record.getMessage())
    assert not scan.leaks(), scan.leaks()
    relayed = [r.getMessage() for r in caplog.records if "Leaky" in r.getMessage()]
    assert any("header value: ***" in m for m in relayed), relayed
