"""Fault 6: crashes inside plugins and instrumentors, and turning plugin discovery off.

An in-house platform whose exporter raises, an entry-point plugin that fails to import, an
instrumentor whose ``instrument()`` raises: the application keeps running, the error names
the culprit, the other platforms, exporters and instrumentors keep working.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmops
from llmops import ConfigurationError, PlatformSetup
from llmops._registry import ENTRY_POINT_GROUP, PluginLoadError, _default
from tests import instrumentor_fakes
from tests.core_support import (
    fake_instrumentors,
    subprocess_env,
)
from tests.instrumentor_fakes import RecordingInstrumentor
from tests.otlp_receiver import OtlpReceiver
from tests.reliability_support import record

BATCHES = 5


@pytest.fixture(autouse=True)
def _fakes_and_unregister(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake instrumentors for each test, and the ``acme_*`` platforms it registered gone
    after it (isolation: ``conftest.py``)."""
    fake_instrumentors(monkeypatch)
    yield
    instrumentor_fakes.reset()
    for name in ("acme_broken", "acme_ok"):
        _default.unregister(name)


class ExplodingExporter(SpanExporter):
    """An in-house exporter with a bug: every export raises."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ValueError("acme exporter bug: cannot serialise span")

    def shutdown(self) -> None:
        pass


SINK = InMemorySpanExporter()
OTHER_SINK = InMemorySpanExporter()


class AcmeConfig(msgspec.Struct, forbid_unknown_fields=True):
    pass


class AcmeBroken:
    """A platform contributing a broken exporter next to a working one."""

    config_type = AcmeConfig

    def setup(self, config: AcmeConfig, settings: Any) -> PlatformSetup:
        return PlatformSetup(exporters=[ExplodingExporter(), SINK], description="acme broken")


class AcmeOk:
    config_type = AcmeConfig

    def setup(self, config: AcmeConfig, settings: Any) -> PlatformSetup:
        return PlatformSetup(exporters=[OTHER_SINK], description="acme ok")


def _write(tmp_path: Path, text: str, name: str = "llmops.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_an_exporter_that_raises_is_named_once_and_the_rest_keeps_working(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    llmops.register_platform("acme_broken")(AcmeBroken)
    llmops.register_platform("acme_ok")(AcmeOk)
    SINK.clear()
    config = _write(
        tmp_path,
        """
        tracing: {schedule_delay_ms: 600000, max_export_batch_size: 10}
        instrumentation: {recording: true}
        """,
    )
    caplog.set_level(logging.DEBUG)
    provider = llmops.instrument("acme_broken", config_path=config)
    tracer = provider.get_tracer("app")
    for batch in range(BATCHES):
        for i in range(10):
            with tracer.start_as_current_span(f"work-{batch}-{i}"):
                pass
        assert provider.force_flush()  # each flush: one export per exporter
    # The working exporter next to the broken one got every span.
    assert len(SINK.get_finished_spans()) == BATCHES * 10
    stats = llmops.stats().by_platform["acme_broken"]
    assert stats.export_errors == BATCHES
    assert stats.failed == BATCHES * 10
    assert stats.exported == BATCHES * 10
    named = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "ExplodingExporter" in r.getMessage()
    ]
    assert len(named) == 1, [r.getMessage() for r in named]
    message = named[0].getMessage()
    assert "'acme_broken'" in message
    assert "ValueError: acme exporter bug" in message
    assert all(r.exc_info is None for r in caplog.records), "a traceback was logged"
    assert RecordingInstrumentor.instrumented_with == [provider]  # instrumentors unaffected
    # Another platform still works in the same process.
    provider = llmops.instrument("acme_ok", config_path=config)
    with provider.get_tracer("app").start_as_current_span("after"):
        pass
    assert provider.force_flush()
    assert [s.name for s in OTHER_SINK.get_finished_spans()] == ["after"]
    llmops.shutdown()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    record(
        "in-house exporter raises on every export",
        calls_ok="50/50",
        export_errors=stats.export_errors,
        spans_lost_on_broken_exporter=stats.failed,
        spans_on_working_exporter=BATCHES * 10,
        warnings_naming_it=len(named),
    )


def test_an_exporter_that_raises_prints_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import llmops
        from tests.test_reliability_plugins import AcmeBroken
        llmops.register_platform("acme_broken")(AcmeBroken)
        provider = llmops.instrument("acme_broken", config_path=sys.argv[2])
        tracer = provider.get_tracer("app")
        for i in range(200):
            with tracer.start_as_current_span("s"):
                pass
        provider.force_flush()
        for i in range(200):
            with tracer.start_as_current_span("s"):
                pass
        print("calls done", flush=True)
        """
    )
    config = _write(tmp_path, "tracing: {max_export_batch_size: 50}\n")
    repo = str(Path(__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-c", code, repo, str(config)],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "calls done" in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    # One named warning when it starts failing, one summary at exit.
    assert len(lines) == 2, lines
    assert "ExplodingExporter" in lines[0]
    assert "'acme_broken'" in lines[0]
    assert "400 span(s) for acme_broken were not delivered" in lines[1]
    record("in-house exporter raises (stderr of a real process)", stderr=lines)


def test_an_instrumentor_that_raises_is_named_and_the_others_still_apply(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    config = _write(
        tmp_path,
        f"""
        tracing: {{schedule_delay_ms: 50}}
        instrumentation: {{exploding: true, recording: true}}
        arize: {{endpoint: "{receiver.endpoint}"}}
        """,
    )
    with pytest.warns(RuntimeWarning, match=r"instrumenting exploding .*boom"):
        provider = llmops.instrument("arize", config_path=config)
    assert RecordingInstrumentor.instrumented_with == [provider]
    with trace.get_tracer("app").start_as_current_span("still traced"):
        pass
    llmops.shutdown()
    assert [s.name for s in receiver.wait_for_spans(1, timeout=5)] == ["still traced"]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


# -- entry-point plugins ---------------------------------------------------------------------------


@pytest.fixture
def broken_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real distribution advertising ``brokenplug``, whose module raises when imported and
    leaves a marker file behind (so a test can tell whether it was ever imported)."""
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "imported.marker"
    (site / "llmops_brokenplug.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "raise ImportError('llmops_brokenplug needs a module that is not installed')\n",
        encoding="utf-8",
    )
    info = site / "brokenplug-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: brokenplug\nVersion: 0.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nbrokenplug = llmops_brokenplug:Platform\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(_default, "_entry_points", None)  # read the entry points afresh
    monkeypatch.delitem(sys.modules, "llmops_brokenplug", raising=False)
    return marker


def test_a_plugin_that_fails_to_import_is_named_and_others_work(
    broken_plugin: Path, tmp_path: Path, receiver: OtlpReceiver
) -> None:
    assert "brokenplug" in llmops.available_platforms()
    assert not broken_plugin.exists()  # listing imports nothing
    config = _write(tmp_path, f'arize: {{endpoint: "{receiver.endpoint}"}}\n')
    with pytest.raises(PluginLoadError) as info:
        llmops.instrument("brokenplug", config_path=config)
    message = str(info.value)
    assert "'brokenplug'" in message
    assert "brokenplug 0.3" in message  # the distribution to fix or uninstall
    assert "ImportError" in message
    assert broken_plugin.exists()
    # The built-in platform is unaffected.
    provider = llmops.instrument("arize", config_path=config)
    with provider.get_tracer("app").start_as_current_span("fine"):
        pass
    llmops.shutdown()
    assert [s.name for s in receiver.wait_for_spans(1, timeout=5)] == ["fine"]


@pytest.mark.parametrize("how", ["LLMOPS_DISABLE_PLUGINS", "plugins: false"])
def test_plugin_discovery_can_be_turned_off(
    broken_plugin: Path,
    tmp_path: Path,
    receiver: OtlpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    extra = ""
    if how == "LLMOPS_DISABLE_PLUGINS":
        monkeypatch.setenv("LLMOPS_DISABLE_PLUGINS", "1")
    else:
        extra = "plugins: false\n"
    config = _write(tmp_path, f'{extra}arize: {{endpoint: "{receiver.endpoint}"}}\n')
    provider = llmops.instrument("arize", config_path=config)
    assert provider is not None
    with pytest.raises(llmops.UnknownPlatformError):
        llmops.instrument("brokenplug", config_path=config)
    plugin_section = _write(tmp_path, f"{extra}brokenplug: {{}}\n", name="p.yaml")
    with pytest.raises(ConfigurationError, match="unknown section 'brokenplug'"):
        llmops.instrument("arize", config_path=plugin_section)
    if how == "LLMOPS_DISABLE_PLUGINS":
        assert "brokenplug" not in llmops.available_platforms()
    assert not broken_plugin.exists(), "the plugin's module was imported"
