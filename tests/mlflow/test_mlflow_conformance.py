"""The conformance kit (``llmops.testing.PlatformConformance``) on the built-in MLflow platform,
with a local SQLite store as the target (no server), read back with ``mlflow.search_traces``."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llmops._platforms.mlflow import MlflowPlatform
from llmops.testing import PlatformConformance, ReceivedSpan
from tests.core_support import free_port
from tests.mlflow.support import experiment_id, search_traces

EXPERIMENT = "llmops-conformance"


class TestMlflowConformance(PlatformConformance):
    platform = "mlflow"
    plugin_class = MlflowPlatform
    # The conftest's clean_env clears MLFLOW_* and sets what this process needs.
    cleared_env_prefixes = ("LLMOPS_", "OTEL_")

    @contextlib.contextmanager
    def target(self) -> Iterator[str]:
        with tempfile.TemporaryDirectory(prefix="llmops-mlflow-conformance-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'mlflow.db'}"

    def valid_sections(self) -> Sequence[dict[str, Any]]:
        return [
            {},
            {"tracking_uri": "http://127.0.0.1:5000", "experiment_name": "e"},
            {"tracking_uri": "sqlite:///mlflow.db", "experiment_id": "0"},
        ]

    def section(self, target: str) -> dict[str, Any]:
        return {"tracking_uri": target, "experiment_name": EXPERIMENT}

    def unreachable_section(self) -> dict[str, Any]:
        return {
            "tracking_uri": f"http://127.0.0.1:{free_port()}",
            "experiment_name": EXPERIMENT,
            "timeout_s": 1,
        }

    def secret_section(self, secret: str) -> dict[str, Any]:
        # Basic auth needs both halves; the token and a header carry the secret too.
        return {
            **self.unreachable_section(),
            "token": secret,
            "username": "conformance",
            "password": secret,
            "headers": {"x-conformance": secret},
        }

    def read_back(self, target: str, trace_id: str, timeout: float) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while True:
            found: list[ReceivedSpan] = []
            experiment = experiment_id(target, EXPERIMENT)
            if experiment is not None:
                for trace in search_traces(target, experiment):
                    if trace.info.trace_id.removeprefix("tr-") != trace_id:
                        continue
                    found = [
                        ReceivedSpan(s.name, s.trace_id, s.span_id, s.parent_id, s.attributes)
                        for s in trace.data.spans
                    ]
            if len(found) >= 2 or time.monotonic() > deadline:
                return found
            time.sleep(0.2)
