"""The instrumentor catalogue and runner: real GoogleGenAIInstrumentor, missing packages,
broken instrumentors, instrumentation the application did itself."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops
from llmops import ConfigurationError, Platform, _instrumentors
from llmops._instrumentors import InstrumentorSpec, register_instrumentor
from tests import instrumentor_fakes
from tests.core_support import (
    fake_instrumentors,
    free_port,
    run_python,
)
from tests.instrumentor_fakes import ExplodingInstrumentor, RecordingInstrumentor
from tests.otlp_receiver import OtlpReceiver

MISSING_PACKAGE = "llmops-test-package-that-is-not-installed"


@pytest.fixture(autouse=True)
def _fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake instrumentors for each test (isolation: ``conftest.py``)."""
    fake_instrumentors(monkeypatch)
    yield
    instrumentor_fakes.reset()


def genai_instrumentor() -> Any:
    from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

    return GoogleGenAIInstrumentor()


def write_config(tmp_path: Path, instrumentation: str, *, endpoint: str | None = None) -> Path:
    path = tmp_path / "llmops.yaml"
    endpoint = endpoint or f"http://127.0.0.1:{free_port()}/v1/traces"
    path.write_text(
        f"tracing:\n  shutdown_timeout_s: 0.5\narize:\n  endpoint: {endpoint}\n"
        f"instrumentation:\n{instrumentation}",
        encoding="utf-8",
    )
    return path


def instrument(tmp_path: Path, instrumentation: str, **kwargs: Any) -> Any:
    return llmops.instrument(
        Platform.ARIZE, config_path=write_config(tmp_path, instrumentation, **kwargs)
    )


# -- the real google-genai instrumentor ---------------------------------------------------------


def test_catalogue_covers_the_documented_instrumentors() -> None:
    for key in ("google_genai", "google_adk", "openai"):
        assert key in _instrumentors.CATALOGUE
    assert _instrumentors.CATALOGUE["google_genai"].target == (
        "openinference.instrumentation.google_genai:GoogleGenAIInstrumentor"
    )
    assert (
        _instrumentors.CATALOGUE["google_genai"].package
        == "openinference-instrumentation-google-genai"
    )


def test_google_genai_applied_and_uninstrumented_on_shutdown(tmp_path: Path) -> None:
    import google.genai  # imported: applied at once, not when imported

    assert google.genai
    assert not genai_instrumentor().is_instrumented_by_opentelemetry
    instrument(tmp_path, "  google_genai: true\n")
    assert genai_instrumentor().is_instrumented_by_opentelemetry
    llmops.shutdown()
    assert not genai_instrumentor().is_instrumented_by_opentelemetry


def test_google_genai_disabled(tmp_path: Path) -> None:
    instrument(tmp_path, "  google_genai: false\n")
    assert not genai_instrumentor().is_instrumented_by_opentelemetry


def test_google_genai_spans_go_to_the_returned_provider(tmp_path: Path) -> None:
    """With ``set_global: false`` only the returned provider can have recorded the span."""
    from google import genai
    from google.genai import types

    from llmops.testing.gemini_stub import GeminiStub

    with OtlpReceiver() as receiver, GeminiStub() as stub:
        path = tmp_path / "llmops.yaml"
        path.write_text(
            "tracing:\n  set_global: false\n  shutdown_timeout_s: 2\n"
            f"arize:\n  endpoint: {receiver.endpoint}\n  project_name: genai-unit\n"
            "instrumentation:\n  google_genai: true\n",
            encoding="utf-8",
        )
        provider = llmops.instrument(Platform.ARIZE, config_path=path)
        from opentelemetry import trace

        assert trace.get_tracer_provider() is not provider
        client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=stub.base_url))
        response = client.models.generate_content(model="gemini-2.0-flash", contents="hi there")
        assert response.text == "Echo: hi there"
        provider.force_flush(5000)
        spans = receiver.wait_for_spans(1, timeout=5)
    assert [s.name for s in spans] == ["GenerateContent"]
    assert spans[0].resource["openinference.project.name"] == "genai-unit"
    assert spans[0].attributes["openinference.span.kind"] == "LLM"


def test_unknown_instrumentor_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "  gogle_genai: true\n")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    err = info.value
    assert "did you mean 'google_genai'?" in str(err)
    assert err.field == "$.instrumentation.gogle_genai"
    assert err.path == str(path)
    assert str(err).startswith(str(path))
    assert not genai_instrumentor().is_instrumented_by_opentelemetry  # nothing was set up


# -- missing packages ---------------------------------------------------------------------------


@pytest.fixture
def missing_entry(monkeypatch: pytest.MonkeyPatch) -> str:
    """A catalogue entry whose package is not installed (the catalogue is restored after)."""
    register_instrumentor(
        "not_installed",
        InstrumentorSpec("llmops_test_not_installed.module:Instrumentor", MISSING_PACKAGE, "x"),
    )
    return "not_installed"


def test_missing_package_warns_with_pip_install(tmp_path: Path, missing_entry: str) -> None:
    with pytest.warns(RuntimeWarning) as record:
        provider = instrument(tmp_path, f"  {missing_entry}: true\n  recording: true\n")
    messages = [str(w.message) for w in record if issubclass(w.category, RuntimeWarning)]
    assert any(f"pip install {MISSING_PACKAGE}" in m and missing_entry in m for m in messages)
    assert RecordingInstrumentor.instrumented_with == [provider]  # the others still applied


def test_missing_package_is_an_error_when_strict(tmp_path: Path, missing_entry: str) -> None:
    path = write_config(tmp_path, f"  strict: true\n  {missing_entry}: true\n")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    assert f"pip install {MISSING_PACKAGE}" in str(info.value)
    assert info.value.field == f"$.instrumentation.{missing_entry}"
    assert info.value.path == str(path)
    assert llmops._lifecycle.current() is None  # the half-built setup was closed


def test_missing_library_names_it(tmp_path: Path) -> None:
    register_instrumentor(
        "no_library",
        InstrumentorSpec(
            "tests.instrumentor_fakes:RecordingInstrumentor", "llmops", MISSING_PACKAGE
        ),
    )
    with pytest.warns(RuntimeWarning, match=f"pip install {MISSING_PACKAGE}"):
        instrument(tmp_path, "  no_library: true\n")
    assert RecordingInstrumentor.instrumented_with == []


def test_real_catalogue_entry_without_its_package(tmp_path: Path) -> None:
    from importlib.metadata import PackageNotFoundError, version

    package = _instrumentors.CATALOGUE["crewai"].package
    try:
        version(package)
    except PackageNotFoundError:
        pass
    else:  # pragma: no cover - depends on the environment
        pytest.skip(f"{package} is installed here")
    with pytest.warns(RuntimeWarning, match=f"pip install {package}"):
        instrument(tmp_path, "  crewai: true\n")


AUTO_APP = """
import json, sys
import llmops

llmops.instrument("arize", config_path=sys.argv[1])
report = {
    "imported_at_setup": sorted(
        m for m in sys.modules
        if m.startswith(("google.genai", "openai", "anthropic", "openinference.instrumentation."))
    ),
}
from google import genai  # the application's own import
from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

report["google_genai"] = GoogleGenAIInstrumentor().is_instrumented_by_opentelemetry
import openai
from openinference.instrumentation.openai import OpenAIInstrumentor

report["openai"] = OpenAIInstrumentor().is_instrumented_by_opentelemetry
llmops.shutdown()
report["after_shutdown"] = GoogleGenAIInstrumentor().is_instrumented_by_opentelemetry
print("REPORT " + json.dumps(report))
"""


@pytest.mark.parametrize(
    ("instrumentation", "genai", "openai"),
    [
        ("", True, True),  # the default: automatic
        ("instrumentation: auto\n", True, True),
        ("instrumentation: {openai: false}\n", True, False),
        ("instrumentation: {auto: false, openai: true}\n", False, True),
        ("instrumentation: false\n", False, False),
        ("instrumentation: none\n", False, False),
    ],
)
def test_installed_instrumentors_apply_when_their_library_is_imported(
    tmp_path: Path, instrumentation: str, genai: bool, openai: bool
) -> None:
    """Issue 14: every installed instrumentor is on by default, applied when the application
    imports its library; ``instrument()`` itself imports no library and no instrumentor."""
    import json

    path = tmp_path / "llmops.yaml"
    path.write_text(
        f"arize:\n  endpoint: http://127.0.0.1:{free_port()}/v1/traces\n{instrumentation}",
        encoding="utf-8",
    )
    result, _ = run_python(AUTO_APP, str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("REPORT "))
    report = json.loads(line[len("REPORT ") :])
    assert report["imported_at_setup"] == []
    assert report["google_genai"] is genai
    assert report["openai"] is openai
    assert report["after_shutdown"] is False


def test_a_library_imported_without_its_instrumentor_gets_one_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The commonest reason for an empty trace view: the client is there, its instrumentor
    is not. One warning, with the exact install line, when the application imports it."""
    import importlib
    import sys

    module = "tests.instrumentor_fakes_client"
    register_instrumentor(
        "fakeclient",
        InstrumentorSpec(
            f"openinference.instrumentation.{MISSING_PACKAGE.replace('-', '_')}:X",
            MISSING_PACKAGE,
            "llmops",
            watch=module,
            extra="fakeclient",
        ),
    )
    monkeypatch.delitem(sys.modules, module, raising=False)
    caplog.set_level(logging.WARNING, logger="llmops")
    instrument(tmp_path, "  recording: true\n")
    assert not [r for r in caplog.records if "fakeclient" in r.getMessage()]  # not imported yet
    importlib.import_module(module)
    hints = [r.getMessage() for r in caplog.records if MISSING_PACKAGE in r.getMessage()]
    assert hints == [
        f"llmops: the application uses {module}, but {MISSING_PACKAGE} is not installed, so "
        "its calls are not traced: pip install 'llmops[fakeclient]' (or set "
        "instrumentation.fakeclient: false)"
    ]
    instrument(tmp_path, "  recording: false\n")  # reconfigured: not said twice
    hints = [r.getMessage() for r in caplog.records if MISSING_PACKAGE in r.getMessage()]
    assert len(hints) == 1


# -- broken instrumentors never break the application --------------------------------------------


def test_instrumentor_that_raises_is_reported_and_others_still_applied(tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning) as record:
        provider = instrument(
            tmp_path, "  exploding: true\n  recording: true\n  google_genai: true\n"
        )
    messages = [str(w.message) for w in record]
    assert any(
        "exploding" in m and "ExplodingInstrumentor" in m and "boom" in m for m in messages
    ), messages
    assert RecordingInstrumentor.instrumented_with == [provider]
    assert genai_instrumentor().is_instrumented_by_opentelemetry
    assert not ExplodingInstrumentor().is_instrumented_by_opentelemetry
    # the application keeps working: spans are created and ended
    with provider.get_tracer("app").start_as_current_span("still-works") as span:
        assert span.is_recording()
    llmops.shutdown()
    assert RecordingInstrumentor.uninstrument_calls == 1


def test_instrumentor_that_raises_is_an_error_when_strict(tmp_path: Path) -> None:
    path = write_config(tmp_path, "  strict: true\n  recording: true\n  exploding: true\n")
    with pytest.raises(ConfigurationError, match="boom") as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    assert info.value.field == "$.instrumentation.exploding"
    # what was applied before the failure is undone
    assert RecordingInstrumentor.uninstrument_calls == 1
    assert not RecordingInstrumentor().is_instrumented_by_opentelemetry
    assert not genai_instrumentor().is_instrumented_by_opentelemetry


def test_instrumentor_that_cannot_be_imported(tmp_path: Path) -> None:
    register_instrumentor(
        "unimportable", InstrumentorSpec("tests.instrumentor_fakes:NoSuchClass", "llmops", "llmops")
    )
    with pytest.warns(RuntimeWarning, match="unimportable.*cannot be imported"):
        instrument(tmp_path, "  unimportable: true\n  recording: true\n")
    assert len(RecordingInstrumentor.instrumented_with) == 1


def test_uninstrument_failure_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    instrument(tmp_path, "  recording: true\n")

    def broken(self: Any, **kwargs: Any) -> None:
        raise RuntimeError("cannot unwrap")

    monkeypatch.setattr(RecordingInstrumentor, "_uninstrument", broken)
    caplog.set_level(logging.WARNING, logger="llmops")
    llmops.shutdown()
    assert any(
        "recording" in r.getMessage() and "cannot unwrap" in r.getMessage() for r in caplog.records
    )


# -- instrumentation the application did itself -------------------------------------------------


def test_already_instrumented_library_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app_instrumentor = RecordingInstrumentor()
    app_instrumentor.instrument()  # the application's own call, with its own provider
    assert RecordingInstrumentor.instrumented_with == [None]
    caplog.set_level(logging.INFO, logger="llmops")
    instrument(tmp_path, "  recording: true\n")
    assert RecordingInstrumentor.instrumented_with == [None]  # not instrumented again
    assert any("already instrumented" in r.getMessage() for r in caplog.records)
    llmops.shutdown()
    assert RecordingInstrumentor.uninstrument_calls == 0  # and not uninstrumented by llmops
    assert app_instrumentor.is_instrumented_by_opentelemetry


def test_already_instrumented_google_genai_is_left_alone(tmp_path: Path) -> None:
    instrumentor = genai_instrumentor()
    instrumentor.instrument()
    try:
        instrument(tmp_path, "  google_genai: true\n")
        llmops.shutdown()
        assert instrumentor.is_instrumented_by_opentelemetry
    finally:
        instrumentor.uninstrument()


# -- registering catalogue entries ----------------------------------------------------------------


def test_register_instrumentor_rules() -> None:
    spec = InstrumentorSpec("tests.instrumentor_fakes:RecordingInstrumentor", "llmops", "llmops")
    register_instrumentor(
        "recording", _instrumentors.CATALOGUE["recording"]
    )  # same spec again: fine
    with pytest.raises(ValueError, match="replace=True"):
        register_instrumentor("google_genai", spec)
    register_instrumentor("google_genai", spec, replace=True)
    assert _instrumentors.CATALOGUE["google_genai"] == spec
    for bad in ("strict", "not-an-identifier", ""):
        with pytest.raises(ValueError, match="invalid instrumentor key"):
            register_instrumentor(bad, spec)


# -- a library imported after instrument() is instrumented then, not by instrument() ------------

DEFERRED_APP = """
import sys
import llmops
from llmops.testing import GeminiStub

llmops.instrument("arize", config_path=sys.argv[1])
print("imported by instrument():", "google.genai" in sys.modules)
if sys.argv[2] == "shutdown-first":
    llmops.shutdown()
from google import genai
from google.genai import types
from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

print("instrumented:", GoogleGenAIInstrumentor().is_instrumented_by_opentelemetry)
with GeminiStub() as stub:
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=stub.base_url))
    client.models.generate_content(model="gemini-2.5-flash", contents="hello world")
llmops.shutdown()
"""


@pytest.mark.parametrize("order", ["import-after-instrument", "shutdown-first"])
def test_google_genai_is_instrumented_when_the_app_imports_it(tmp_path: Path, order: str) -> None:
    with OtlpReceiver() as receiver:
        _check_deferred(tmp_path, receiver, order)


def _check_deferred(tmp_path: Path, receiver: OtlpReceiver, order: str) -> None:
    config = tmp_path / "llmops.yaml"
    config.write_text(
        f"arize:\n  endpoint: {receiver.endpoint}\ninstrumentation:\n  google_genai: true\n",
        encoding="utf-8",
    )
    result, _ = run_python(DEFERRED_APP, str(config), order, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "imported by instrument(): False" in result.stdout
    if order == "shutdown-first":  # the pending hook was cancelled with the setup
        assert "instrumented: False" in result.stdout, result.stdout
        assert receiver.spans == []
    else:
        assert "instrumented: True" in result.stdout, result.stdout
        assert [s[0] for s in receiver.wait_for_spans(1, timeout=10)] == ["GenerateContent"]
