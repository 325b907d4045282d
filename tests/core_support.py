"""Helpers shared by the core unit tests (config, Arize platform, instrumentors, lifecycle).

Plain functions and constants, not fixtures. The one isolation fixture every test gets (no
ambient configuration, an empty working directory, llmops reset) lives in ``conftest.py`` and
uses :data:`ENV_PREFIXES`; a module that needs more wires the helpers here into a small fixture
of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "ENV_PREFIXES",
    "REQUIRE_E2E",
    "clear_proxy_environment",
    "exporter_endpoint",
    "exporter_headers",
    "exporters_of",
    "fake_instrumentors",
    "free_port",
    "llmops_processors",
    "run_python",
    "subprocess_env",
]

ENV_PREFIXES = (
    "ANTHROPIC_OPEN_TELEMETRY",  # llmops sets it while the anthropic instrumentor is on
    "GRPC_VERBOSITY",  # llmops sets it before it imports gRPC
    "LITELLM_LOCAL_MODEL_COST_MAP",  # the MLflow platform sets it
    "PHOENIX_",
    "OTEL_",
    "ARIZE_",
    "LLMOPS_",
    "MLFLOW_",
    "OPENINFERENCE_",
    "NO_COLOR",
    "FORCE_COLOR",
)
"""Environment variables cleared for every test (``conftest.py``) and for child interpreters
(:func:`subprocess_env`): what llmops, the OpenTelemetry SDK, Phoenix, MLflow and the
OpenInference instrumentors read, and the CLI's colour switches.

A test-harness knob with one of these prefixes (``LLMOPS_REQUIRE_E2E``, ``LLMOPS_PHOENIX_BIN``,
``LLMOPS_MEMORY_SPANS``, ...) must be read at import, before the first test clears it."""

REQUIRE_E2E = os.environ.get("LLMOPS_REQUIRE_E2E") == "1"
"""``LLMOPS_REQUIRE_E2E=1``: a missing server executable fails the run instead of skipping.
Read at import: a session fixture first requested from inside a test (``getfixturevalue``)
runs after the test's environment was cleared."""


def clear_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``http_proxy``, ``HTTPS_PROXY``, ``grpc_proxy``, ``no_proxy``, ... for this test:
    for the end-to-end modules, whose HTTP and gRPC clients talk to loopback servers."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


def free_port() -> int:
    """A loopback TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llmops_processors(provider: Any) -> list[Any]:
    """The export processors llmops routes ``provider``'s spans to now (through its one
    ``ProviderSlot``), the enrichment processor left out."""
    from llmops._enrichment import ContextAttributesProcessor
    from llmops._processors import ProviderSlot

    return [
        p
        for slot in provider._active_span_processor._span_processors
        if isinstance(slot, ProviderSlot)
        for p in slot.processors
        if not isinstance(p, ContextAttributesProcessor)
    ]


def exporter_of(processor: Any) -> Any:
    """The exporter behind one of llmops' processors (unwrapping the guard and the merger)."""
    from llmops._exporters import GuardedExporter, ResourceMergingExporter

    exporter = getattr(processor, "exporter", None)
    if exporter is None:  # pragma: no cover - a platform's own processor
        raise AssertionError(f"unexpected processor {processor!r}")
    while isinstance(exporter, ResourceMergingExporter | GuardedExporter):
        exporter = exporter.inner
    return exporter


def exporters_of(provider: Any) -> list[Any]:
    return [exporter_of(p) for p in llmops_processors(provider)]


def exporter_headers(exporter: Any) -> dict[str, str]:
    """The headers an OTLP exporter sends (gRPC metadata or HTTP headers), lower-cased."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcExporter,
    )

    if isinstance(exporter, GrpcExporter):
        return {k.lower(): v for k, v in exporter._headers}
    client = getattr(exporter, "_client", None)
    if client is not None and hasattr(client, "_headers"):  # opentelemetry-exporter >= 1.40
        raw = client._headers
    elif hasattr(exporter, "_session"):  # older releases: a requests.Session
        raw = {**exporter._session.headers, **(exporter._headers or {})}
    else:  # pragma: no cover - an SDK layout this helper does not know
        raise AssertionError(f"cannot find the headers of {exporter!r}")
    # The HTTP exporter's own defaults are not configuration.
    return {k.lower(): v for k, v in raw.items() if k.lower() not in {"content-type", "user-agent"}}


def exporter_endpoint(exporter: Any) -> tuple[str, str]:
    """``("grpc", "host:port")`` or ``("http", "http://host:port/v1/traces")``."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    if isinstance(exporter, GrpcExporter):
        return "grpc", exporter._endpoint
    assert isinstance(exporter, HttpExporter), exporter
    return "http", exporter._endpoint


def fake_instrumentors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Catalogue entries ``recording`` and ``exploding`` backed by :mod:`instrumentor_fakes`;
    the catalogue is restored by ``monkeypatch`` after the test."""
    from llmops import _instrumentors
    from llmops._instrumentors import InstrumentorSpec, register_instrumentor
    from tests import instrumentor_fakes

    monkeypatch.setattr(_instrumentors, "CATALOGUE", dict(_instrumentors.CATALOGUE))
    for key, cls in (
        ("recording", "RecordingInstrumentor"),
        ("exploding", "ExplodingInstrumentor"),
    ):
        # "llmops" is installed, so the runner's dependency check passes.
        spec = InstrumentorSpec(f"tests.instrumentor_fakes:{cls}", "llmops", "llmops")
        register_instrumentor(key, spec)
    instrumentor_fakes.reset()


def subprocess_env() -> dict[str, str]:
    """The environment for a child Python: no ambient llmops/OTel/Phoenix configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["LLMOPS_ANNOUNCE"] = "0"  # the set-up line: tests/test_announce.py
    env.pop("PYTHONWARNINGS", None)
    return env


def run_python(
    code: str, *args: str, cwd: Path, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``code`` (with ``sys.argv[1:] == args``) in a fresh interpreter; return the result
    and its wall-clock seconds."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return result, time.monotonic() - started
