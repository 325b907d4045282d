"""Lifecycle: repeated instrument(), shutdown(), span.end() cost, an application's own
provider, and exit with an unreachable, stalled or live collector (in subprocesses)."""

from __future__ import annotations

import json
import socket
import statistics
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops
from llmops import ConfigurationError, Platform, _lifecycle
from llmops._batching import BatchExportProcessor, SyncExportProcessor
from tests import instrumentor_fakes
from tests.core_support import (
    exporters_of,
    fake_instrumentors,
    free_port,
    llmops_processors,
    run_python,
)
from tests.instrumentor_fakes import RecordingInstrumentor
from tests.otlp_receiver import OtlpReceiver

SPANS = 1000


@pytest.fixture(autouse=True)
def _fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake instrumentors for each test (isolation: ``conftest.py``)."""
    fake_instrumentors(monkeypatch)
    yield
    instrumentor_fakes.reset()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def stalled_tcp_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


def write_config(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def config_for(
    tmp_path: Path, endpoint: str, *, name: str = "llmops.yaml", tracing: str = "", extra: str = ""
) -> Path:
    return write_config(
        tmp_path / name,
        f"""
        tracing:
          shutdown_timeout_s: 0.5
        {tracing}
        arize:
          endpoint: {endpoint}
        instrumentation:
          recording: true
        {extra}
        """,
    )


def unreachable_http() -> str:
    return f"http://127.0.0.1:{free_port()}/v1/traces"


# -- instrument() again ---------------------------------------------------------------------


def test_same_arguments_return_the_same_provider_instrumented_once(tmp_path: Path) -> None:
    path = config_for(tmp_path, unreachable_http())
    provider = llmops.instrument(Platform.ARIZE, config_path=path)
    processors = llmops_processors(provider)
    assert len(processors) == 1
    for _ in range(3):
        assert llmops.instrument(Platform.ARIZE, config_path=path) is provider
        assert llmops.instrument("arize", config_path=str(path)) is provider
    assert RecordingInstrumentor.instrumented_with == [provider]
    assert RecordingInstrumentor.uninstrument_calls == 0
    assert llmops_processors(provider) == processors
    assert not processors[0].closing


def test_same_content_in_another_file_is_the_same_setup(tmp_path: Path) -> None:
    endpoint = unreachable_http()
    first = llmops.instrument("arize", config_path=config_for(tmp_path, endpoint, name="a.yaml"))
    assert (
        llmops.instrument("arize", config_path=config_for(tmp_path, endpoint, name="b.yaml"))
        is first
    )
    assert len(RecordingInstrumentor.instrumented_with) == 1


def test_different_arguments_shut_the_old_setup_down_first(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    old_path = write_config(
        tmp_path / "old.yaml",
        f"""
        service: {{name: old-service, version: "1.0"}}
        tracing: {{shutdown_timeout_s: 0.5}}
        arize: {{endpoint: "{unreachable_http()}", project_name: old-project}}
        instrumentation: {{recording: true}}
        """,
    )
    new_path = write_config(
        tmp_path / "new.yaml",
        f"""
        service: {{name: new-service}}
        tracing: {{shutdown_timeout_s: 0.5}}
        arize: {{endpoint: "{receiver.endpoint}", project_name: new-project}}
        instrumentation: {{recording: true}}
        """,
    )
    old_provider = llmops.instrument(Platform.ARIZE, config_path=old_path)
    [old_processor] = llmops_processors(old_provider)
    new_provider = llmops.instrument(Platform.ARIZE, config_path=new_path)
    # llmops' global provider is kept (the global can be set only once), with a new policy
    assert new_provider is old_provider
    assert old_processor.closing
    [new_processor] = llmops_processors(new_provider)
    assert new_processor is not old_processor
    assert RecordingInstrumentor.uninstrument_calls == 1
    assert RecordingInstrumentor.instrumented_with == [old_provider, new_provider]
    # spans go to the new collector only, with the new resource and none of the old one
    with new_provider.get_tracer("t").start_as_current_span("after-switch"):
        pass
    new_provider.force_flush(5000)
    [span] = receiver.wait_for_spans(1, timeout=5)
    assert span.name == "after-switch"
    assert span.resource["service.name"] == "new-service"
    assert span.resource["openinference.project.name"] == "new-project"
    assert "service.version" not in span.resource


def test_different_sample_ratio_takes_effect_on_the_kept_provider(tmp_path: Path) -> None:
    endpoint = unreachable_http()
    keep = config_for(tmp_path, endpoint, name="keep.yaml", tracing="  sample_ratio: 1.0")
    drop = config_for(tmp_path, endpoint, name="drop.yaml", tracing="  sample_ratio: 0.0")
    provider = llmops.instrument("arize", config_path=keep)
    tracer = provider.get_tracer("obtained-before-the-switch")
    with tracer.start_as_current_span("kept") as span:
        assert span.is_recording()
    assert llmops.instrument("arize", config_path=drop) is provider
    with tracer.start_as_current_span("dropped") as span:
        assert not span.is_recording()


def test_different_arguments_without_global_get_a_new_provider(tmp_path: Path) -> None:
    first_path = config_for(
        tmp_path, unreachable_http(), name="a.yaml", tracing="  set_global: false"
    )
    second_path = config_for(
        tmp_path, unreachable_http(), name="b.yaml", tracing="  set_global: false"
    )
    first = llmops.instrument("arize", config_path=first_path)
    [first_processor] = llmops_processors(first)
    second = llmops.instrument("arize", config_path=second_path)
    assert second is not first
    assert first_processor.closing
    assert len(llmops_processors(second)) == 1
    assert RecordingInstrumentor.instrumented_with == [first, second]
    assert RecordingInstrumentor.uninstrument_calls == 1
    # Shutting the replaced provider down (llmops does, in a thread that may finish late;
    # so may the application) stops nothing of the set-up that replaced it.
    first.shutdown()
    assert not llmops_processors(second)[0].closing
    assert _lifecycle.current() is not None


def test_invalid_config_found_at_load_keeps_the_old_setup(tmp_path: Path) -> None:
    good = config_for(tmp_path, unreachable_http(), name="good.yaml")
    provider = llmops.instrument("arize", config_path=good)
    bad = write_config(tmp_path / "bad.yaml", "arize:\n  endpont: http://127.0.0.1:4317\n")
    with pytest.raises(llmops.ConfigurationError, match="did you mean 'endpoint'"):
        llmops.instrument("arize", config_path=bad)
    # the file is validated before anything is torn down: the old setup stays as it was
    assert not llmops_processors(provider)[0].closing
    assert llmops.instrument("arize", config_path=good) is provider
    assert len(RecordingInstrumentor.instrumented_with) == 1
    assert RecordingInstrumentor.uninstrument_calls == 0


def test_platform_rejecting_the_new_config_keeps_the_old_setup(tmp_path: Path) -> None:
    good = config_for(tmp_path, unreachable_http(), name="good.yaml")
    provider = llmops.instrument("arize", config_path=good)
    [processor] = llmops_processors(provider)
    active = llmops._lifecycle.current()
    # valid for the schema, rejected by the platform's endpoint rules in setup()
    bad = write_config(tmp_path / "bad.yaml", "arize:\n  endpoint: http://127.0.0.1:9000\n")
    with pytest.raises(llmops.ConfigurationError, match="protocol"):
        llmops.instrument("arize", config_path=bad)
    # the platform rejected the config before the old setup was touched: still traced
    assert llmops._lifecycle.current() is active
    assert not processor.closing
    assert RecordingInstrumentor.uninstrument_calls == 0
    assert RecordingInstrumentor().is_instrumented_by_opentelemetry
    assert llmops.instrument("arize", config_path=good) is provider  # nothing rebuilt
    assert llmops_processors(provider) == [processor]


# -- shutdown() --------------------------------------------------------------------------------


def test_shutdown_is_idempotent(tmp_path: Path, receiver: OtlpReceiver) -> None:
    provider = llmops.instrument("arize", config_path=config_for(tmp_path, receiver.endpoint))
    [processor] = llmops_processors(provider)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("before-shutdown"):
        pass
    llmops.shutdown()
    assert [s.name for s in receiver.wait_for_spans(1, timeout=5)] == ["before-shutdown"]
    assert processor.closing
    llmops.shutdown()
    llmops.shutdown()
    assert RecordingInstrumentor.uninstrument_calls == 1
    assert llmops._lifecycle.current() is None
    with tracer.start_as_current_span("after-shutdown"):
        pass
    provider.force_flush(1000)
    assert [s.name for s in receiver.spans] == ["before-shutdown"]  # llmops is detached


def test_shutdown_without_instrument_is_a_no_op() -> None:
    llmops.shutdown()
    llmops.shutdown()


def test_instrument_again_after_shutdown(tmp_path: Path) -> None:
    path = config_for(tmp_path, unreachable_http())
    llmops.instrument("arize", config_path=path)
    llmops.shutdown()
    provider = llmops.instrument("arize", config_path=path)
    assert len(llmops_processors(provider)) == 1
    assert len(RecordingInstrumentor.instrumented_with) == 2


@pytest.mark.parametrize("collector", ["stalled-http", "stalled-grpc", "refused-grpc"])
def test_shutdown_is_bounded_by_shutdown_timeout(
    tmp_path: Path, collector: str, stalled_tcp_port: int
) -> None:
    with OtlpReceiver(mode="stall") as stalled:
        endpoint = {
            "stalled-http": stalled.endpoint,
            "stalled-grpc": f"http://127.0.0.1:{stalled_tcp_port}",
            "refused-grpc": f"http://127.0.0.1:{free_port()}",
        }[collector]
        protocol = "grpc" if "grpc" in collector else "http"
        path = write_config(
            tmp_path / "c.yaml",
            f"""
            tracing: {{shutdown_timeout_s: 1, export_timeout_s: 5, schedule_delay_ms: 10}}
            arize: {{endpoint: "{endpoint}", protocol: {protocol}}}
            """,
        )
        provider = llmops.instrument("arize", config_path=path)
        tracer = provider.get_tracer("t")
        for index in range(50):
            tracer.start_span(f"s{index}").end()
        if collector == "stalled-http":
            assert stalled.wait_for_requests(1, timeout=5) >= 1  # an export is hanging now
        started = time.monotonic()
        llmops.shutdown()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 0.5, f"shutdown took {elapsed:.2f} s with shutdown_timeout_s: 1"


def test_atexit_registration_in_a_fresh_process(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", f"arize:\n  endpoint: {unreachable_http()}\n")
    code = textwrap.dedent(
        """
        import atexit, json, sys

        registered = []
        real_register = atexit.register

        def recording_register(fn, *args, **kwargs):
            registered.append(f"{fn.__module__}.{fn.__qualname__}")
            return real_register(fn, *args, **kwargs)

        atexit.register = recording_register
        import llmops

        def ours():
            return registered.count("llmops._lifecycle.shutdown")

        counts = [ours()]
        llmops.instrument("arize", config_path=sys.argv[1])
        counts.append(ours())
        llmops.shutdown()
        llmops.instrument("arize", config_path=sys.argv[1])
        counts.append(ours())
        print(json.dumps({"counts": counts, "registered": registered}))
        """
    )
    result, _ = run_python(code, str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome["counts"] == [0, 1, 1]  # registered at the first instrument(), once
    # the SDK's own exit hook (which waits up to 30 s on a dead collector) is not registered
    assert not [name for name in outcome["registered"] if "TracerProvider" in name]


# -- span.end() never waits on the network ----------------------------------------------------


def end_durations(provider: Any, count: int) -> list[float]:
    tracer = provider.get_tracer("timing")
    durations = []
    for index in range(count):
        span = tracer.start_span(f"span-{index}")
        span.set_attribute("index", index)
        started = time.perf_counter()
        span.end()
        durations.append(time.perf_counter() - started)
    return durations


def p99(durations: list[float]) -> float:
    return statistics.quantiles(durations, n=100)[98]


@pytest.mark.parametrize(
    "collector", ["refused-grpc", "refused-http", "stalled-http", "stalled-grpc"]
)
def test_span_end_never_waits_on_the_network(
    tmp_path: Path, collector: str, stalled_tcp_port: int, record_property: Any
) -> None:
    with OtlpReceiver(mode="stall") as stalled:
        endpoint, protocol = {
            "refused-grpc": (f"http://127.0.0.1:{free_port()}", "grpc"),
            "refused-http": (unreachable_http(), "http"),
            "stalled-http": (stalled.endpoint, "http"),
            "stalled-grpc": (f"http://127.0.0.1:{stalled_tcp_port}", "grpc"),
        }[collector]
        path = write_config(
            tmp_path / "c.yaml",
            f"""
            tracing: {{shutdown_timeout_s: 0.5, export_timeout_s: 5, max_export_batch_size: 100}}
            arize: {{endpoint: "{endpoint}", protocol: {protocol}}}
            """,
        )
        provider = llmops.instrument("arize", config_path=path)
        started = time.perf_counter()
        durations = end_durations(provider, SPANS)
        total = time.perf_counter() - started
        llmops.shutdown()
    worst = p99(durations)
    record_property("span_end_p99_ms", round(worst * 1000, 3))
    record_property("span_end_total_s", round(total, 3))
    print(f"{collector}: {SPANS} span.end() p99 {worst * 1000:.3f} ms, total {total:.3f} s")
    assert worst < 0.050, f"span.end() p99 {worst * 1000:.1f} ms"
    assert total < 1.0, f"{SPANS} spans took {total:.2f} s"


def test_synchronous_processor_would_fail_the_span_end_bound(tmp_path: Path) -> None:
    """The control for the test above: with ``batch: false`` span.end() waits for the export,
    and the same measurement sees it."""
    with OtlpReceiver(mode="stall") as stalled:
        path = write_config(
            tmp_path / "c.yaml",
            f"""
            tracing: {{batch: false, export_timeout_s: 0.2, shutdown_timeout_s: 0.5}}
            arize: {{endpoint: "{stalled.endpoint}"}}
            """,
        )
        provider = llmops.instrument("arize", config_path=path)
        durations = end_durations(provider, 3)
        llmops.shutdown()
    assert min(durations) > 0.050  # each span.end() waited on the stalled collector


def test_batch_false_is_a_synchronous_processor(tmp_path: Path) -> None:
    path = config_for(tmp_path, unreachable_http(), tracing="  batch: false")
    [processor] = llmops_processors(llmops.instrument("arize", config_path=path))
    assert type(processor) is SyncExportProcessor


def test_batch_is_the_default_with_the_configured_limits(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "c.yaml",
        f"""
        tracing: {{max_queue_size: 64, schedule_delay_ms: 250}}
        arize: {{endpoint: "{unreachable_http()}"}}
        """,
    )
    [processor] = llmops_processors(llmops.instrument("arize", config_path=path))
    assert type(processor) is BatchExportProcessor
    assert processor.max_spans == 64
    assert processor.max_batch == 64  # the default batch, never larger than the queue
    assert processor.delay_s == 0.25
    assert len(exporters_of(llmops._lifecycle.current().provider)) == 1  # type: ignore[union-attr]


def test_a_batch_set_larger_than_the_queue_is_refused(tmp_path: Path) -> None:
    """As the SDK refuses it: a batch that can never fill is a config that does not do what
    it says (a batch size left at its default is lowered instead, above)."""
    path = write_config(
        tmp_path / "c.yaml",
        """
        tracing: {max_queue_size: 64, max_export_batch_size: 512}
        arize: {endpoint: "http://127.0.0.1:4317"}
        """,
    )
    with pytest.raises(ConfigurationError, match="exceeds the queue size") as info:
        llmops.instrument("arize", config_path=path)
    assert info.value.field == "$.tracing.max_export_batch_size"


# -- an application's own global TracerProvider (a subprocess: the global is set once) --------

APP_PROVIDER = textwrap.dedent(
    """
    import json, logging, sys
    logging.basicConfig(level=logging.INFO, format="LOG %(name)s %(levelname)s %(message)s")
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    app = TracerProvider(resource=Resource.create({"service.name": "app-service"}))
    trace.set_tracer_provider(app)

    import llmops
    returned = llmops.instrument("arize", config_path=sys.argv[1])
    tracer = trace.get_tracer("app")
    for index in range(5):
        with tracer.start_as_current_span(f"app-span-{index}"):
            pass
    llmops.shutdown()
    with tracer.start_as_current_span("after-llmops-shutdown") as span:
        still_recording = span.is_recording()
    print(json.dumps({
        "returned_is_app": returned is app,
        "global_is_app": trace.get_tracer_provider() is app,
        "resource": dict(app.resource.attributes),
        "still_recording": still_recording,
    }))
    """
)


def test_application_provider_gets_the_exporter(tmp_path: Path, receiver: OtlpReceiver) -> None:
    path = write_config(
        tmp_path / "llmops.yaml",
        f"""
        service: {{name: llmops-service}}
        tracing: {{shutdown_timeout_s: 2}}
        arize: {{endpoint: "{receiver.endpoint}", project_name: llmops-project}}
        """,
    )
    result, _ = run_python(APP_PROVIDER, str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome["returned_is_app"]
    assert outcome["global_is_app"]
    assert outcome["resource"]["service.name"] == "app-service"  # the app's resource is kept
    assert "openinference.project.name" not in outcome["resource"]
    assert outcome["still_recording"]  # llmops.shutdown() left the app's provider running
    assert "already set an OpenTelemetry SDK TracerProvider" in result.stderr
    spans = receiver.wait_for_spans(5, timeout=5)
    assert sorted(s.name for s in spans) == [f"app-span-{i}" for i in range(5)]
    for span in spans:  # the exported spans still reach the llmops project
        assert span.resource["openinference.project.name"] == "llmops-project"
        assert span.resource["service.name"] == "app-service"
    assert "after-llmops-shutdown" not in {s.name for s in receiver.spans}


# -- exit without shutdown() -----------------------------------------------------------------

EXIT_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import llmops
    provider = llmops.instrument("arize", config_path=sys.argv[1])
    if sys.argv[2] == "no-atexit":
        import atexit
        atexit.unregister(llmops.shutdown)
    tracer = provider.get_tracer("exit-test")
    for index in range(int(sys.argv[3])):
        tracer.start_span(f"span-{index}").end()
    print(json.dumps({"spans_ended_at": time.monotonic()}), flush=True)
    # no llmops.shutdown(): the interpreter exits here
    """
)


def run_exit_script(
    tmp_path: Path, endpoint: str, protocol: str, *, tracing: str = "", atexit: bool = True
) -> tuple[float, float, Any]:
    # google_genai (on by default) is turned off: importing google.genai costs about 0.9 s at
    # start and 0.35 s of interpreter teardown here, which is not what this test measures.
    path = write_config(
        tmp_path / "exit.yaml",
        f"""
        tracing: {{shutdown_timeout_s: 2{tracing}}}
        arize: {{endpoint: "{endpoint}", protocol: {protocol}}}
        instrumentation: {{google_genai: false}}
        """,
    )
    result, total = run_python(
        EXIT_SCRIPT,
        str(path),
        "atexit" if atexit else "no-atexit",
        str(SPANS),
        cwd=tmp_path,
        timeout=60,
    )
    finished = time.monotonic()
    assert result.returncode == 0, result.stderr
    ended_at = json.loads(result.stdout.splitlines()[-1])["spans_ended_at"]
    return total, finished - ended_at, result


@pytest.mark.parametrize(
    "collector", ["refused-grpc", "refused-http", "stalled-grpc", "stalled-http"]
)
def test_exit_is_bounded_with_an_unreachable_collector(
    tmp_path: Path, collector: str, stalled_tcp_port: int, record_property: Any
) -> None:
    with OtlpReceiver(mode="stall") as stalled:
        endpoint, protocol = {
            "refused-grpc": (f"http://127.0.0.1:{free_port()}", "grpc"),
            "refused-http": (unreachable_http(), "http"),
            "stalled-grpc": (f"http://127.0.0.1:{stalled_tcp_port}", "grpc"),
            "stalled-http": (stalled.endpoint, "http"),
        }[collector]
        total, exit_phase, _ = run_exit_script(tmp_path, endpoint, protocol)
    record_property("process_s", round(total, 3))
    record_property("exit_phase_s", round(exit_phase, 3))
    print(f"{collector}: process {total:.2f} s, from last span.end() to exit {exit_phase:.2f} s")
    assert total < 2 + 2, f"the process took {total:.2f} s with shutdown_timeout_s: 2"
    assert exit_phase < 2 + 1, f"exit took {exit_phase:.2f} s after the last span ended"


def test_exit_flushes_every_span_without_shutdown(tmp_path: Path, receiver: OtlpReceiver) -> None:
    # A long schedule delay and a batch larger than the spans: nothing is exported before
    # exit, so only the atexit hook can deliver them.
    quiet = ", schedule_delay_ms: 600000, max_export_batch_size: 4096, max_queue_size: 4096"
    total, exit_phase, _ = run_exit_script(tmp_path, receiver.endpoint, "http", tracing=quiet)
    print(f"live collector: process {total:.2f} s, from last span.end() to exit {exit_phase:.2f} s")
    spans = receiver.wait_for_spans(SPANS, timeout=5)
    assert len(spans) == SPANS
    assert {s.name for s in spans} == {f"span-{i}" for i in range(SPANS)}
    assert total < 2 + 2


def test_without_the_atexit_hook_spans_would_be_lost(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    """The control for the test above: the same run without llmops' atexit hook delivers none."""
    quiet = ", schedule_delay_ms: 600000, max_export_batch_size: 4096, max_queue_size: 4096"
    run_exit_script(tmp_path, receiver.endpoint, "http", tracing=quiet, atexit=False)
    assert receiver.wait_for_spans(1, timeout=1) == []
