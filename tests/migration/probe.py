"""Run inside a peer's interpreter (or llmops'): build each scenario's tracing set-up without
sending anything, and print what it built as JSON.

    <python> probe.py < request.json > observations.json

The request is ``{"side": "phoenix-otel" | "arize-otel" | "otel" | "llmops", "scenarios":
[{"id", "env", "call", "files"}]}``. Each scenario runs in a directory of its own (its
``files`` written there first: an ``llmops.yaml``, a ``.env.phoenix``, a CA bundle) with
exactly the environment the harness started this process with plus the scenario's ``env``.
The peer's provider and exporter are built as its users build them, then taken apart by
:func:`observe` into plain values: transport, target, TLS, headers, compression, timeout,
CA bundle, batch settings, sampler and resource. Nothing connects: gRPC channels connect
lazily, and the provider is shut down before the next scenario.

Standard library and OpenTelemetry only: the same file runs in every venv under ``.venvs/``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

PROTOCOL_HEADERS = frozenset({"content-type", "content-encoding", "user-agent"})
"""Headers the OTLP/HTTP exporter sets itself: not configuration."""

_CERTIFICATES: list[dict[str, str | None]] = []
"""What each ``grpc.ssl_channel_credentials`` call received (text of the PEM files)."""


def _record_grpc_credentials() -> None:
    """Wrap ``grpc.ssl_channel_credentials`` (and the OTLP exporter's imported name) so that
    the CA bundle and client certificate a gRPC exporter loaded can be observed."""
    try:
        import grpc
        import opentelemetry.exporter.otlp.proto.grpc.exporter as otlp_grpc
    except ImportError:
        return
    real = grpc.ssl_channel_credentials

    def recording(
        root_certificates: bytes | None = None,
        private_key: bytes | None = None,
        certificate_chain: bytes | None = None,
    ) -> Any:
        def text(value: bytes | None) -> str | None:
            return value.decode("utf-8", "replace").strip() if value else None

        _CERTIFICATES.append(
            {
                "ca": text(root_certificates),
                "client_key": text(private_key),
                "client_cert": text(certificate_chain),
            }
        )
        return real(root_certificates, private_key, certificate_chain)

    grpc.ssl_channel_credentials = recording
    otlp_grpc.ssl_channel_credentials = recording


def _file_text(path: Any) -> str | None:
    if not isinstance(path, str):
        return None
    try:
        return Path(path).read_text().strip()
    except OSError:
        return f"<unreadable {path}>"


def _host_port_path(transport: str, target: str) -> tuple[str, int | None, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(target if "://" in target else f"//{target}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.hostname or "", port, parts.path if transport == "http" else ""


def observe_exporter(
    exporter: Any, credentials_seen: list[dict[str, str | None]]
) -> dict[str, Any]:
    """The configuration an OTLP span exporter (gRPC or HTTP, OTel 1.4x) was built with."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    out: dict[str, Any] = {}
    if isinstance(exporter, GrpcExporter):
        target = str(exporter._endpoint)
        headers = exporter._headers or ()
        if isinstance(headers, dict):
            headers = tuple(headers.items())
        compression = getattr(exporter._compression, "name", str(exporter._compression))
        cert = credentials_seen[-1] if (credentials_seen and not exporter._insecure) else {}
        out.update(
            transport="grpc",
            target=target,
            tls=not exporter._insecure,
            headers={str(k).lower(): str(v) for k, v in headers},
            compression={"NoCompression": "none", "Gzip": "gzip", "Deflate": "deflate"}.get(
                compression, compression
            ),
            timeout_s=float(exporter._timeout),
            ca=cert.get("ca"),
            client_cert=cert.get("client_cert"),
        )
    elif isinstance(exporter, HttpExporter):
        client = exporter._client
        session = getattr(client._transport, "_session", None)
        verify = getattr(session, "verify", True)
        cert = getattr(session, "cert", None)
        client_cert = cert[0] if isinstance(cert, tuple) else cert
        out.update(
            transport="http",
            target=str(exporter._endpoint),
            tls=str(exporter._endpoint).lower().startswith("https://"),
            headers={
                k.lower(): str(v)
                for k, v in client._headers.items()
                if k.lower() not in PROTOCOL_HEADERS
            },
            compression=client._compression.value,
            timeout_s=float(client._timeout),
            ca=_file_text(verify) if verify is not True else None,
            client_cert=_file_text(client_cert),
        )
    else:
        return {"exporter": f"{type(exporter).__module__}.{type(exporter).__qualname__}"}
    host, port, path = _host_port_path(out["transport"], out["target"])
    out.update(host=host, port=port, path=path)
    return out


def _unwrap_processor(processor: Any) -> tuple[str, Any, Any] | None:
    """(``batch`` or ``simple``, the batch settings or None, the innermost exporter)."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    for inner in getattr(processor, "processors", ()):  # llmops' ProviderSlot
        found = _unwrap_processor(inner)
        if found is not None:
            return found
    kind = getattr(processor, "kind", None)  # llmops' own export processors
    if kind == "batch":
        settings = {
            "max_queue_size": processor.max_spans,
            "schedule_delay_ms": processor.delay_s * 1000,
            "max_export_batch_size": processor.max_batch,
            "export_timeout_ms": processor.export_timeout_s * 1000,
        }
        kind, batch, exporter = "batch", settings, processor.exporter
    elif kind == "simple":
        kind, batch, exporter = "simple", None, processor.exporter
    elif isinstance(processor, BatchSpanProcessor):
        sdk = processor._batch_processor
        settings = {
            "max_queue_size": sdk._max_queue_size,
            "schedule_delay_ms": float(sdk._schedule_delay_millis),
            "max_export_batch_size": sdk._max_export_batch_size,
            "export_timeout_ms": float(sdk._export_timeout_millis),
        }
        kind, batch, exporter = "batch", settings, processor.span_exporter
    elif isinstance(processor, SimpleSpanProcessor):
        kind, batch, exporter = "simple", None, processor.span_exporter
    else:
        return None
    for _ in range(5):  # llmops' GuardedExporter / ResourceMergingExporter: .inner
        inner = getattr(exporter, "inner", None)
        if inner is None:
            break
        exporter = inner
    return kind, batch, exporter


def observe_provider(
    provider: Any, credentials_seen: list[dict[str, str | None]]
) -> dict[str, Any]:
    """The provider's exporting processor, its exporter, its sampler and its resource."""
    out: dict[str, Any] = {}
    found = None
    for processor in provider._active_span_processor._span_processors:
        found = _unwrap_processor(processor) or found
    if found is not None:
        kind, batch, exporter = found
        out["processor"] = kind
        if batch is not None:
            out["bsp"] = {k: float(v) if k.endswith("_ms") else v for k, v in batch.items()}
        out.update(observe_exporter(exporter, credentials_seen))
    # A ratio of 1 samples every trace, as AlwaysOn does: one description for both.
    out["sampler"] = provider.sampler.get_description().replace(
        "TraceIdRatioBased{1.0}", "AlwaysOnSampler"
    )
    # OTEL_SDK_DISABLED (and a dropping sampler) make the provider's spans non-recording. The
    # span is never ended, so nothing is queued for export.
    out["recording"] = provider.get_tracer("llmops.parity").start_span("probe").is_recording()
    out["resource"] = {
        k: v if isinstance(v, (str, int, float, bool)) else str(v)
        for k, v in provider.resource.attributes.items()
        if not k.startswith("telemetry.") and k != "service.instance.id"
    }
    return out


# -- the sides ------------------------------------------------------------------------------


def build_phoenix_otel(call: dict[str, Any]) -> Any:
    from phoenix.otel import register

    return register(set_global_tracer_provider=False, verbose=False, **call)


def build_arize_otel(call: dict[str, Any]) -> Any:
    """``arize.otel.register(...)``; with ``"via": "processor"``, the processor ``register``
    would add (``arize.otel.BatchSpanProcessor``) on a plain SDK provider instead: what the
    exporter is made with when ``register`` itself cannot finish."""
    from arize.otel import BatchSpanProcessor, Endpoint, Transport, register

    kwargs = dict(call)
    via = kwargs.pop("via", "register")
    if "transport" in kwargs:
        kwargs["transport"] = Transport(kwargs["transport"])
    if kwargs.get("endpoint") in ("ARIZE", "ARIZE_EUROPE"):
        kwargs["endpoint"] = Endpoint[kwargs["endpoint"]]
    if via == "processor":
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        provider = TracerProvider(resource=Resource.create(), shutdown_on_exit=False)
        provider.add_span_processor(BatchSpanProcessor(**kwargs))
        return provider
    return register(set_global_tracer_provider=False, verbose=False, **kwargs)


def build_otel(call: dict[str, Any]) -> Any:
    """What ``opentelemetry-instrument`` (the SDK's auto-configuration, with the distro's
    ``OTEL_TRACES_EXPORTER=otlp``) builds: the exporter the protocol variables select, made
    with no argument, behind a ``BatchSpanProcessor``; the sampler and resource from the
    environment."""
    from opentelemetry.sdk._configuration import _get_exporter_entry_point, _import_exporters
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = _get_exporter_entry_point(call.get("exporter", "otlp"), "traces")
    exporters, _, _ = _import_exporters([name], [], [])
    provider = TracerProvider(resource=Resource.create(), shutdown_on_exit=False)
    for exporter_class in exporters.values():
        provider.add_span_processor(BatchSpanProcessor(exporter_class()))
    return provider


def build_llmops(call: dict[str, Any]) -> Any:
    """``llmops.instrument(platform, config_path="llmops.yaml")``; the config file is the
    scenario's, with ``tracing.set_global: false`` and a short ``shutdown_timeout_s`` added."""
    import llmops

    config = json.loads(json.dumps(call.get("config", {})))
    tracing = config.setdefault("tracing", {})
    tracing.setdefault("set_global", False)
    tracing.setdefault("shutdown_timeout_s", 0.5)
    Path("llmops.yaml").write_text(json.dumps(config))  # JSON is YAML
    return llmops.instrument(call.get("platform", "arize"), config_path="llmops.yaml")


BUILDERS = {
    "phoenix-otel": build_phoenix_otel,
    "arize-otel": build_arize_otel,
    "otel": build_otel,
    "llmops": build_llmops,
}


def _teardown(side: str, provider: Any) -> None:
    with contextlib.suppress(Exception):
        if side == "llmops":
            import llmops.testing

            llmops.testing.reset()
        elif provider is not None:
            provider.shutdown()


def run_scenario(side: str, scenario: dict[str, Any], base_env: dict[str, str]) -> dict[str, Any]:
    builder = BUILDERS[side]
    with tempfile.TemporaryDirectory(prefix=f"parity-{scenario['id']}-") as where:
        for name, text in scenario.get("files", {}).items():
            path = Path(where, name)
            path.write_text(text)
            path.chmod(0o600)
        env = {
            **base_env,
            **{k: v.replace("{dir}", where) for k, v in scenario.get("env", {}).items()},
        }
        call = json.loads(json.dumps(scenario.get("call", {})).replace("{dir}", where))
        os.environ.clear()
        os.environ.update(env)
        os.chdir(where)
        del _CERTIFICATES[:]
        provider = None
        warnings_seen = io.StringIO()
        handler = logging.StreamHandler(warnings_seen)
        handler.setLevel(logging.WARNING)
        logging.getLogger().addHandler(handler)
        try:
            import warnings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                provider = builder(call)
            out = observe_provider(provider, list(_CERTIFICATES))
            out["warned"] = bool(caught) or bool(warnings_seen.getvalue().strip())
        except Exception as exc:  # the peer or llmops refused the set-up
            out = {
                "error": type(exc).__name__,
                "message": str(exc).splitlines()[0][:300] if str(exc) else "",
            }
            if not isinstance(exc, (ValueError, RuntimeError, TypeError)) and side != "llmops":
                out["traceback"] = traceback.format_exc()[-1500:]
        finally:
            logging.getLogger().removeHandler(handler)
            _teardown(side, provider)
            os.chdir("/")
            os.environ.clear()
            os.environ.update(base_env)
    return out


def main() -> None:
    request = json.load(sys.stdin)
    side = request["side"]
    base_env = dict(os.environ)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _record_grpc_credentials()
    results = {s["id"]: run_scenario(side, s, base_env) for s in request["scenarios"]}
    json.dump({"meta": _meta(), "results": results}, sys.stdout, indent=1, sort_keys=True)


def _meta() -> dict[str, str]:
    """The versions the observations depend on (the ``<python>``-style placeholders of the
    behaviour table)."""
    import importlib.metadata
    import platform

    meta = {"python": platform.python_version()}
    for name in ("llmops", "arize-otel", "arize-phoenix-otel", "opentelemetry-sdk"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            meta[name] = importlib.metadata.version(name)
    return meta


if __name__ == "__main__":
    main()
