"""Fan-out: ``instrument([a, b])`` and ``platforms: [a, b]`` build one provider whose spans reach
every platform; a platform that is down delays or loses nothing for the others.

Unit level, on loopback OTLP receivers: the built-in ``arize`` platform and an in-house
``acme_fanout`` platform (OTLP/HTTP, like docs/plugins.md's). End to end with a real Phoenix and
a real MLflow server: ``tests/mlflow/test_fanout_e2e.py``.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops
from llmops import ConfigurationError, Platform, PlatformSetup
from llmops._config import Section
from tests import instrumentor_fakes
from tests.core_support import (
    fake_instrumentors,
    free_port,
    llmops_processors,
)
from tests.instrumentor_fakes import RecordingInstrumentor
from tests.otlp_receiver import OtlpReceiver


class AcmeConfig(Section):
    endpoint: str = "http://127.0.0.1:4318/v1/traces"
    team: str | None = None
    fail: bool = False


class AcmePlatform:
    config_type = AcmeConfig
    setups = 0

    def setup(self, config: AcmeConfig, settings: llmops.Settings) -> PlatformSetup:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if config.fail:
            raise ConfigurationError("$.acme_fanout.fail: told to fail", field="$.acme_fanout.fail")
        type(self).setups += 1
        return PlatformSetup(
            exporters=[OTLPSpanExporter(endpoint=config.endpoint, timeout=5)],
            resource_attributes={"acme.team": config.team or "unknown"},
            description=f"acme at {config.endpoint}",
        )


@pytest.fixture(autouse=True)
def _acme_and_fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake instrumentors and ``acme_fanout`` for each test (isolation: ``conftest.py``)."""
    from llmops._registry import _default

    fake_instrumentors(monkeypatch)
    llmops.register_platform("acme_fanout", replace=True)(AcmePlatform)
    AcmePlatform.setups = 0
    yield
    instrumentor_fakes.reset()
    _default.unregister("acme_fanout")


@pytest.fixture
def phoenix_like() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def acme() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


def write(tmp_path: Path, text: str, name: str = "llmops.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def both(tmp_path: Path, arize: str, acme: str, *, extra: str = "", name: str = "c.yaml") -> Path:
    return write(
        tmp_path,
        f"""
        service: {{name: fanout-svc}}
        tracing: {{shutdown_timeout_s: 1, export_timeout_s: 5, schedule_delay_ms: 50}}
        instrumentation: {{recording: true}}
        arize: {{endpoint: "{arize}", project_name: fanout}}
        acme_fanout: {{endpoint: "{acme}", team: search}}
        {extra}
        """,
        name,
    )


def emit(provider: Any, count: int = 5) -> None:
    tracer = provider.get_tracer("fanout-test")
    for index in range(count):
        tracer.start_span(f"span-{index}").end()


def test_spans_reach_every_listed_platform(
    tmp_path: Path, phoenix_like: OtlpReceiver, acme: OtlpReceiver
) -> None:
    path = both(tmp_path, phoenix_like.endpoint, acme.endpoint)
    provider = llmops.instrument([Platform.ARIZE, "acme_fanout"], config_path=path)
    assert len(llmops_processors(provider)) == 2  # one batch processor (and queue) each
    emit(provider)
    llmops.shutdown()
    for receiver in (phoenix_like, acme):
        spans = receiver.wait_for_spans(5, timeout=5)
        assert sorted(s.name for s in spans) == [f"span-{i}" for i in range(5)]
        # One resource for the provider: every platform's attributes, merged.
        resource = spans[0].resource
        assert resource["openinference.project.name"] == "fanout"
        assert resource["acme.team"] == "search"
        assert resource["service.name"] == "fanout-svc"
    # The instrumentors are applied once, with the one provider.
    assert RecordingInstrumentor.instrumented_with == [provider]


def test_platforms_from_the_config(
    tmp_path: Path, phoenix_like: OtlpReceiver, acme: OtlpReceiver
) -> None:
    path = both(
        tmp_path, phoenix_like.endpoint, acme.endpoint, extra="platforms: [arize, acme_fanout]"
    )
    provider = llmops.instrument(config_path=path)
    emit(provider, 3)
    llmops.shutdown()
    assert len(phoenix_like.wait_for_spans(3, timeout=5)) == 3
    assert len(acme.wait_for_spans(3, timeout=5)) == 3


def test_the_argument_wins_over_the_config(
    tmp_path: Path, phoenix_like: OtlpReceiver, acme: OtlpReceiver
) -> None:
    path = both(
        tmp_path, phoenix_like.endpoint, acme.endpoint, extra="platforms: [arize, acme_fanout]"
    )
    provider = llmops.instrument("acme_fanout", config_path=path)
    emit(provider, 2)
    llmops.shutdown()
    assert len(acme.wait_for_spans(2, timeout=5)) == 2
    assert phoenix_like.requests == 0


def test_the_same_call_twice_is_one_setup(
    tmp_path: Path, phoenix_like: OtlpReceiver, acme: OtlpReceiver
) -> None:
    path = both(tmp_path, phoenix_like.endpoint, acme.endpoint)
    first = llmops.instrument(["arize", "acme_fanout"], config_path=path)
    second = llmops.instrument(("arize", "acme_fanout"), config_path=path)
    assert first is second
    assert AcmePlatform.setups == 1
    assert RecordingInstrumentor.instrumented_with == [first]
    # A duplicate name is the same platform once.
    assert llmops.instrument(["arize", "acme_fanout", "arize"], config_path=path) is first


def test_a_different_list_replaces_the_setup(
    tmp_path: Path, phoenix_like: OtlpReceiver, acme: OtlpReceiver
) -> None:
    path = both(tmp_path, phoenix_like.endpoint, acme.endpoint)
    provider = llmops.instrument(["arize", "acme_fanout"], config_path=path)
    assert llmops.instrument("arize", config_path=path) is provider  # the kept global provider
    assert len(llmops_processors(provider)) == 1
    emit(provider, 2)
    llmops.shutdown()
    assert len(phoenix_like.wait_for_spans(2, timeout=5)) == 2
    assert acme.requests == 0


def test_one_platform_rejecting_its_section_sets_nothing_up(
    tmp_path: Path, phoenix_like: OtlpReceiver, acme: OtlpReceiver
) -> None:
    good = both(tmp_path, phoenix_like.endpoint, acme.endpoint)
    provider = llmops.instrument("arize", config_path=good)
    bad = write(
        tmp_path,
        f"""
        arize: {{endpoint: "{phoenix_like.endpoint}"}}
        acme_fanout: {{endpoint: "{acme.endpoint}", fail: true}}
        """,
        "bad.yaml",
    )
    with pytest.raises(ConfigurationError, match="told to fail"):
        llmops.instrument(["arize", "acme_fanout"], config_path=bad)
    # The previous setup is untouched.
    assert len(llmops_processors(provider)) == 1
    emit(provider, 1)
    llmops.shutdown()
    assert len(phoenix_like.wait_for_spans(1, timeout=5)) == 1


@pytest.mark.parametrize(
    ("platforms", "error", "match"),
    [
        ([], ConfigurationError, "at least one platform"),
        ([42], TypeError, "platform"),
        (b"arize", TypeError, "platform"),
        (["arize", 42], TypeError, "platform"),
        (42, TypeError, "platform"),
        (["arize", "nope"], llmops.UnknownPlatformError, "nope"),
    ],
)
def test_bad_platform_arguments(
    tmp_path: Path, platforms: Any, error: type[Exception], match: str
) -> None:
    path = write(tmp_path, "tracing: {shutdown_timeout_s: 0.5}\n")
    with pytest.raises(error, match=match):
        llmops.instrument(platforms, config_path=path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("platforms: []\n", "$.platforms"),
        ("platforms: arize\n", "$.platforms"),
        ("platforms: [arize, 3]\n", "$.platforms"),
        ("platform: arize\nplatforms: [arize, acme_fanout]\n", "$.platforms"),
    ],
)
def test_bad_platforms_in_the_config(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        llmops.instrument(config_path=path)
    assert caught.value.field is not None
    assert caught.value.field.startswith(field), caught.value


def test_an_unknown_name_in_the_config_is_reported_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, "platforms: [arize, acmee_fanout]\n")
    with pytest.raises(llmops.UnknownPlatformError, match="acme_fanout"):
        llmops.instrument(config_path=path)


@pytest.mark.parametrize("down", ["stalled", "refused"])
def test_a_platform_down_delays_nothing_for_the_other(
    tmp_path: Path, acme: OtlpReceiver, down: str
) -> None:
    with OtlpReceiver(mode="stall") as stalled:
        dead = (
            stalled.endpoint if down == "stalled" else f"http://127.0.0.1:{free_port()}/v1/traces"
        )
        path = both(tmp_path, dead, acme.endpoint)
        provider = llmops.instrument(["arize", "acme_fanout"], config_path=path)
        tracer = provider.get_tracer("fanout-test")
        # A first batch: the Arize export hangs on the stalled collector from here on.
        tracer.start_span("first").end()
        if down == "stalled":
            assert stalled.wait_for_requests(1, timeout=5) >= 1
        assert len(acme.wait_for_spans(1, timeout=5)) == 1
        started = time.monotonic()
        for index in range(100):
            tracer.start_span(f"s{index}").end()
        end_cost = time.monotonic() - started
        spans = acme.wait_for_spans(101, timeout=5)
        delay = time.monotonic() - started
        assert len(spans) == 101, f"acme got {len(spans)} of 101 with arize {down}"
        # schedule_delay_ms is 50: well under a second, not the 5 s export timeout.
        assert delay < 1.5, f"acme's spans took {delay:.2f} s with arize {down}"
        assert end_cost < 0.5
        started = time.monotonic()
        llmops.shutdown()
        took = time.monotonic() - started
    assert took < 1.0 + 0.5, f"shutdown took {took:.2f} s with shutdown_timeout_s: 1"


def test_the_platform_modules_are_unchanged(tmp_path: Path, phoenix_like: OtlpReceiver) -> None:
    path = write(tmp_path, f'arize: {{endpoint: "{phoenix_like.endpoint}"}}\n')
    provider = llmops.arize.instrument(config_path=path)
    assert llmops.instrument(Platform.ARIZE, config_path=path) is provider
    assert len(llmops_processors(provider)) == 1
