"""The conformance kit (``llmops.testing.PlatformConformance``) run on the built-in Arize
platform, against the real Phoenix of the session, and on an in-house example platform (the one
``docs/plugins.md`` shows) against the loopback OTLP receiver.

The MLflow platform runs the kit in ``tests/mlflow/test_mlflow_conformance.py``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import llmops
from llmops import PlatformSetup
from llmops._config import Section
from llmops._platforms.arize import ArizePlatform
from llmops.testing import PlatformConformance, ReceivedSpan
from tests.core_support import free_port
from tests.otlp_receiver import OtlpReceiver

if TYPE_CHECKING:
    from tests.servers.phoenix import PhoenixServer

PROJECT = "llmops-conformance"


class TestArizeConformance(PlatformConformance):
    platform = "arize"
    plugin_class = ArizePlatform
    cleared_env_prefixes = ("LLMOPS_", "OTEL_", "PHOENIX_", "ARIZE_")

    @pytest.fixture
    def conformance_target(self, phoenix_server: PhoenixServer) -> PhoenixServer:
        return phoenix_server

    def valid_sections(self) -> Sequence[dict[str, Any]]:
        return [
            {},
            {"endpoint": "http://127.0.0.1:4317", "project_name": "p"},
            {"endpoint": "https://otlp.arize.com/v1", "space_id": "s", "api_key": "k"},
        ]

    def section(self, target: PhoenixServer) -> dict[str, Any]:
        return {"endpoint": target.grpc_endpoint, "protocol": "grpc", "project_name": PROJECT}

    def unreachable_section(self) -> dict[str, Any]:
        return {"endpoint": f"http://127.0.0.1:{free_port()}", "protocol": "grpc"}

    def read_back(
        self, target: PhoenixServer, trace_id: str, timeout: float
    ) -> Sequence[ReceivedSpan]:
        def of_trace(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [s for s in spans if s["context"]["trace_id"] == trace_id]

        spans = target.wait_for_spans(PROJECT, lambda s: len(of_trace(s)) >= 2, timeout)
        return [
            ReceivedSpan(
                name=s["name"],
                trace_id=s["context"]["trace_id"],
                span_id=s["context"]["span_id"],
                parent_id=s.get("parent_id"),
                # Phoenix moves the kind out of the attributes.
                attributes={**s["attributes"], "openinference.span.kind": s["span_kind"]},
            )
            for s in of_trace(spans)
        ]


# -- an in-house platform, as docs/plugins.md writes it ---------------------------------------


class AcmeConfig(Section):
    secret_fields = frozenset({"token"})

    endpoint: str = "http://127.0.0.1:4318/v1/traces"
    team: str | None = None
    token: str | None = None
    timeout_s: float = 5.0


class AcmePlatform:
    config_type = AcmeConfig

    def setup(self, config: AcmeConfig, settings: llmops.Settings) -> PlatformSetup:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        headers = {"authorization": f"Bearer {config.token}"} if config.token else {}
        return PlatformSetup(
            exporters=[
                OTLPSpanExporter(
                    endpoint=config.endpoint, headers=headers, timeout=config.timeout_s
                )
            ],
            resource_attributes={"acme.team": config.team or "unknown"},
            description=f"Acme collector at {config.endpoint}",
        )


@pytest.fixture(scope="module", autouse=True)
def _acme_registered() -> Iterator[None]:
    from llmops._registry import _default

    llmops.register_platform("acme_conformance", replace=True)(AcmePlatform)
    yield
    _default.unregister("acme_conformance")


class TestInHouseConformance(PlatformConformance):
    platform = "acme_conformance"
    plugin_class = AcmePlatform

    @contextlib.contextmanager
    def target(self) -> Iterator[OtlpReceiver]:
        with OtlpReceiver() as receiver:
            yield receiver

    def section(self, target: OtlpReceiver) -> dict[str, Any]:
        return {"endpoint": target.endpoint, "team": "search"}

    def unreachable_section(self) -> dict[str, Any]:
        return {"endpoint": f"http://127.0.0.1:{free_port()}/v1/traces", "timeout_s": 1}

    def read_back(self, target: OtlpReceiver, trace_id: str, timeout: float) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while True:
            found = [ReceivedSpan(*s) for s in target.ids if s.trace_id == trace_id]
            if len(found) >= 2 or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def test_the_kit_catches_a_leaking_platform(tmp_path: Path) -> None:
    """A platform that puts its token in its description fails the redaction check."""

    class LeakyConfig(Section):
        secret_fields = frozenset({"token"})
        token: str | None = None

    class Leaky:
        config_type = LeakyConfig

        def setup(self, config: LeakyConfig, settings: llmops.Settings) -> PlatformSetup:
            return PlatformSetup(description=f"token {config.token}")

    class Check(PlatformConformance):
        platform = "leaky_conformance"

        def unreachable_section(self) -> dict[str, Any]:
            return {}

    class NoCapture:
        records: list[Any] = []

        def set_level(self, level: int) -> None:
            pass

        def readouterr(self) -> tuple[str, str]:
            return "", ""

    llmops.register_platform("leaky_conformance", replace=True)(Leaky)
    check = Check()
    check._tmp = tmp_path
    try:
        with pytest.raises(AssertionError, match="the secret appeared in"):
            check.test_conformance_secret_redaction(NoCapture(), NoCapture())  # type: ignore[arg-type]
    finally:
        from llmops._registry import _default

        _default.unregister("leaky_conformance")
        llmops.shutdown()
