"""Helpers shared by the core unit tests (config, Arize platform, instrumentors, lifecycle).

Plain functions, not fixtures: each test module wires the ones it needs into its own
fixtures, so nothing here depends on the session-wide ``conftest.py``.
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
    "clean_environment",
    "exporter_endpoint",
    "exporter_headers",
    "exporters_of",
    "fake_instrumentors",
    "free_port",
    "llmops_processors",
    "reset_tracing_globals",
    "run_python",
    "subprocess_env",
]

ENV_PREFIXES = ("PHOENIX_", "OTEL_", "ARIZE_", "LLMOPS_", "MLFLOW_")
"""Environment variables that llmops or the OpenTelemetry SDK read: cleared for every test."""


def clean_environment(monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    """No ambient configuration: no llmops/OTel/Phoenix variables, an empty working dir."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(cwd)


def reset_tracing_globals() -> None:
    """Shut llmops down and forget the global TracerProvider, as in a fresh process.

    OpenTelemetry lets a process set its global provider once; its own test suite resets
    these module globals the same way between tests.
    """
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    import llmops
    import llmops._setup as setup

    llmops.shutdown()
    setup._owned_global = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


def free_port() -> int:
    """A loopback TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llmops_processors(provider: Any) -> list[Any]:
    """The attached ``DetachableProcessor`` s llmops added to ``provider``."""
    from llmops._tracing import DetachableProcessor

    return [
        p
        for p in provider._active_span_processor._span_processors
        if isinstance(p, DetachableProcessor) and p.attached
    ]


def exporter_of(processor: Any) -> Any:
    """The exporter behind one of llmops' processors (unwrapping the resource merger)."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from llmops._tracing import GuardedExporter, ResourceMergingExporter

    inner = getattr(processor, "inner", processor)
    if isinstance(inner, BatchSpanProcessor):
        exporter = inner._batch_processor._exporter
    elif isinstance(inner, SimpleSpanProcessor):
        exporter = inner.span_exporter
    else:  # pragma: no cover - a platform's own processor
        raise AssertionError(f"unexpected processor {inner!r}")
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
