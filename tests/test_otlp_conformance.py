"""The conformance kit run on the built-in OTLP platform, against the loopback OTLP receiver."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from llmops._platforms.otlp import OtlpPlatform
from llmops.testing import PlatformConformance, ReceivedSpan
from tests.core_support import free_port
from tests.otlp_receiver import OtlpReceiver


class TestOtlpConformance(PlatformConformance):
    platform = "otlp"
    plugin_class = OtlpPlatform
    cleared_env_prefixes = ("LLMOPS_", "OTEL_", "PHOENIX_", "ARIZE_")

    @contextlib.contextmanager
    def target(self) -> Iterator[OtlpReceiver]:
        with OtlpReceiver() as receiver:
            yield receiver

    def valid_sections(self) -> Sequence[dict[str, Any]]:
        return [
            {},
            {"endpoint": "http://127.0.0.1:4318", "compression": "gzip"},
            {"endpoint": "collector:4317", "insecure": True},
            {"traces_endpoint": "https://api.example.com/otel/v1/traces", "headers": {"k": "v"}},
            {"endpoint": "http://127.0.0.1:4317", "protocol": "grpc", "timeout_s": 2},
        ]

    def section(self, target: OtlpReceiver) -> dict[str, Any]:
        return {"traces_endpoint": target.endpoint, "headers": {"x-team": "search"}}

    def unreachable_section(self) -> dict[str, Any]:
        return {"endpoint": f"http://127.0.0.1:{free_port()}", "timeout_s": 1}

    def read_back(self, target: OtlpReceiver, trace_id: str, timeout: float) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while True:
            found = [ReceivedSpan(*s) for s in target.ids if s.trace_id == trace_id]
            if len(found) >= 2 or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
