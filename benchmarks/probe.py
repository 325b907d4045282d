"""One benchmark measurement in a fresh process, run with a peer's own interpreter.

``benchmarks/run.py`` starts ``<venv>/bin/python benchmarks/probe.py '<json spec>'`` once per run;
this file uses the standard library plus whatever the peer's venv holds, and prints one line
``BENCH_RESULT {json}`` (the exit figure also prints ``BENCH_LAST <monotonic>`` after its last
span and then lets the interpreter exit the way a user's program would).

Spec keys: ``figure`` (setup | parts | hot | overhead | exit | deliver | llm), ``peer``,
``grpc`` and ``http`` (OTLP endpoints; a closed port when the collector is "down"),
``project``, ``genai`` (apply the peer's google-genai instrumentation), and figure-specific
counts.

Every result carries ``rss_setup_mib``, the process's peak resident set (``ru_maxrss``) right
after the set-up; the hot figure adds ``rss_after_mib`` after its loop and ``rss_after_spans``,
the spans (warm-up included) ended before that reading.
"""

from __future__ import annotations

import os  # already loaded by the interpreter's start: costs nothing here
import time

T0 = time.perf_counter()
# Figure 2i runs this file under callgrind with --dump-before=os_getppid: each call closes one
# count, so this one leaves the interpreter's start out, as T0 does for the wall times.
os.getppid()

import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

SPEC = json.loads(sys.argv[1])
PEER = SPEC["peer"]
GRPC = SPEC.get("grpc", "http://127.0.0.1:9")
HTTP = SPEC.get("http", "http://127.0.0.1:9")  # base URL, no /v1/traces
PROJECT = SPEC.get("project", "bench")
GENAI = bool(SPEC.get("genai"))

# The llmops defaults the raw-SDK floor copies ("the same processor").
FLOOR_BSP = {"max_queue_size": 2048, "schedule_delay_millis": 1000, "max_export_batch_size": 512}


def _count_exports() -> dict[str, int]:
    """Patch the OTLP exporters (class level) to count spans exported with SUCCESS."""
    counts = {"exported": 0, "failed": 0, "calls": 0, "export_s": 0.0, "export_max_s": 0.0}
    for mod in (
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    ):
        try:
            module = __import__(mod, fromlist=["OTLPSpanExporter"])
        except ImportError:
            continue
        cls = module.OTLPSpanExporter
        original = cls.export

        def export(self, spans, _original=original):  # type: ignore[no-untyped-def]
            began = time.perf_counter()
            result = _original(self, spans)
            took = time.perf_counter() - began
            counts["calls"] += 1
            counts["export_s"] += took
            counts["export_max_s"] = max(counts["export_max_s"], took)
            key = "exported" if getattr(result, "name", "") == "SUCCESS" else "failed"
            counts[key] += len(spans)
            return result

        cls.export = export
    return counts


def setup():
    """Set the peer up its documented default way; return (tracer, shutdown callable)."""
    if PEER == "bare":
        from opentelemetry import trace

        return trace.get_tracer("bench"), lambda: None
    if PEER == "llmops":
        import llmops

        # The variant "llmops-http" of run.py: the same set-up with `protocol: http`.
        http = SPEC.get("llmops_protocol") == "http"
        endpoint, protocol = (HTTP, "http") if http else (GRPC, "grpc")
        if SPEC.get("llmops_format") == "toml":  # figure 2's "llmops-toml": no PyYAML import
            name, text = (
                "llmops.toml",
                'platform = "arize"\n'
                f'[service]\nname = "{PROJECT}"\n'
                f'[arize]\nendpoint = "{endpoint}"\nprotocol = "{protocol}"\n'
                f'project_name = "{PROJECT}"\n',
            )
        else:
            name, text = (
                "llmops.yaml",
                "platform: arize\n"
                f"service: {{name: {PROJECT}}}\n"
                f"arize: {{endpoint: '{endpoint}', protocol: {protocol}, "
                f"project_name: {PROJECT}}}\n"
                + ("instrumentation: {google_genai: true}\n" if GENAI else "")
                + (f"tracing: {json.dumps(SPEC['tracing'])}\n" if SPEC.get("tracing") else ""),
            )
        cfg = os.path.join(tempfile.mkdtemp(prefix="llmops-bench-"), name)
        with open(cfg, "w") as fh:
            fh.write(text)
        provider = llmops.instrument(config_path=cfg)
        return provider.get_tracer("bench"), llmops.shutdown
    if PEER == "otel":  # the floor: raw SDK, OTLP/gRPC exporter, llmops' batch settings
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(
            resource=Resource.create(
                {"service.name": PROJECT, "openinference.project.name": PROJECT}
            )
        )
        exporter = OTLPSpanExporter(endpoint=GRPC, insecure=True, timeout=10)
        provider.add_span_processor(BatchSpanProcessor(exporter, **FLOOR_BSP))
        trace.set_tracer_provider(provider)
        if GENAI:
            from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

            GoogleGenAIInstrumentor().instrument(tracer_provider=provider)
        return provider.get_tracer("bench"), provider.shutdown
    if PEER == "phoenix-otel":
        from phoenix.otel import register

        provider = register(
            endpoint=GRPC,
            protocol="grpc",
            project_name=PROJECT,
            verbose=False,
            auto_instrument=GENAI,
        )
        return provider.get_tracer("bench"), provider.shutdown
    if PEER == "arize-otel":
        from arize.otel import register

        provider = register(
            space_id="bench",
            api_key="bench",
            project_name=PROJECT,
            endpoint=GRPC,
            verbose=False,
        )
        if GENAI:
            from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor

            GoogleGenAIInstrumentor().instrument(tracer_provider=provider)
        return provider.get_tracer("bench"), provider.shutdown
    if PEER == "traceloop":
        from opentelemetry import trace
        from traceloop.sdk import Traceloop
        from traceloop.sdk.instruments import Instruments

        Traceloop.init(
            app_name=PROJECT,
            api_endpoint=HTTP,
            telemetry_enabled=False,
            resource_attributes={"openinference.project.name": PROJECT},
            instruments={Instruments.GOOGLE_GENERATIVEAI} if GENAI else set(),
        )
        provider = trace.get_tracer_provider()
        return trace.get_tracer("bench"), getattr(provider, "shutdown", lambda: None)
    if PEER == "openlit":
        import openlit
        from openlit._instrumentors import MODULE_NAME_MAP
        from opentelemetry import trace

        disabled = [n for n in MODULE_NAME_MAP if not (GENAI and n == "google-ai-studio")]
        pricing = os.path.join(tempfile.mkdtemp(prefix="openlit-bench-"), "pricing.json")
        with open(pricing, "w") as fh:
            fh.write("{}")  # else init() fetches a price list from GitHub
        openlit.init(
            pricing_json=pricing,
            otlp_endpoint=HTTP,
            application_name=PROJECT,
            service_name=PROJECT,
            disabled_instrumentors=disabled,
        )
        provider = trace.get_tracer_provider()
        return trace.get_tracer("bench"), getattr(provider, "shutdown", lambda: None)
    if PEER == "logfire":
        import logfire
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        logfire.configure(
            send_to_logfire=False,
            console=False,
            service_name=PROJECT,
            metrics=False,
            resource_attributes={"openinference.project.name": PROJECT},
            additional_span_processors=[
                BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{HTTP}/v1/traces"))
            ],
        )
        if GENAI:
            logfire.instrument_google_genai()
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        return trace.get_tracer("bench"), logfire.shutdown
    if PEER == "mlflow":
        # MLflow exports its traces over OTLP when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set
        # (run.py sets it, http/protobuf, to the collector); spans go through mlflow's own API.
        import mlflow

        if GENAI:
            mlflow.gemini.autolog()

        class _Tracer:
            def start_span(self, name):  # type: ignore[no-untyped-def]
                return mlflow.start_span_no_context(name)

        def _shutdown():  # type: ignore[no-untyped-def]
            from opentelemetry import trace as _t

            mlflow.flush_trace_async_logging()
            from mlflow.tracing.provider import provider as _p

            tp = _p.get() if hasattr(_p, "get") else None
            if tp is not None and hasattr(tp, "shutdown"):
                tp.shutdown()
            del _t

        return _Tracer(), _shutdown
    raise SystemExit(f"unknown peer {PEER}")


def overhead(blocks: int, per_block: int) -> dict:
    """Figure 3c (llmops venv): the cost of what llmops puts on the hot path, in one process.

    Providers over a null exporter (so no encoding runs): the SDK's default sampler and
    BatchSpanProcessor (the floor); llmops' SwappableSampler alone; llmops' processors alone
    (its ProviderSlot, routed by the enrichment processor, and its BatchExportProcessor);
    both, which is what llmops builds; and both with the enrichment processor in the slot,
    as once ``openinference.instrumentation`` is imported. Blocks alternate between them;
    per-span ns of start + 3 attributes + end.
    """
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from llmops import _batching, _enrichment, _processors, _provider

    class Null(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    def make(sampler: bool, llmops_processors: bool, enriching: bool = False):  # type: ignore[no-untyped-def]
        from llmops._config import TracingConfig

        kwargs = {"sampler": _provider.SwappableSampler(TracingConfig())} if sampler else {}
        provider = TracerProvider(shutdown_on_exit=False, **kwargs)
        # A queue that holds a whole block and a worker that sleeps through it: the export
        # thread runs between blocks (force_flush), never while a block is timed.
        size = per_block + 2500
        if not llmops_processors:
            provider.add_span_processor(
                BatchSpanProcessor(
                    Null(),
                    max_queue_size=size,
                    max_export_batch_size=size,
                    schedule_delay_millis=3_600_000,
                )
            )
            return provider
        queue = _batching.BatchExportProcessor(
            Null(),
            "bench",
            max_spans=size,
            max_bytes=TracingConfig().max_queue_bytes,
            max_batch=size,
            max_export_bytes=16_000_000,
            delay_s=3600.0,
        )
        slot = _processors.ProviderSlot()
        enricher = _enrichment.ContextAttributesProcessor()
        if enriching:  # what OpenInference being imported switches on (llmops.enrich)
            slot.use([enricher, queue])
        else:  # what instrument() builds until then
            enricher.route(slot, [queue])
        provider.add_span_processor(slot)
        return provider

    variants = {
        "sdk": make(False, False),
        "swappable_sampler": make(True, False),
        "llmops_processors": make(False, True),
        "llmops": make(True, True),
        "llmops_enriching": make(True, True, enriching=True),
    }
    per: dict[str, list[float]] = {k: [] for k in variants}
    ends: dict[str, list[float]] = {k: [] for k in variants}
    starts: dict[str, list[float]] = {k: [] for k in variants}
    perf = time.perf_counter
    for _ in range(blocks):
        for name, provider in variants.items():
            tracer = provider.get_tracer("bench")
            provider.force_flush()
            began = perf()
            for i in range(per_block):
                span = _emit(tracer, i)
                span.end()
            per[name].append((perf() - began) / per_block * 1e9)
            sample, starts_ = [], []
            for i in range(min(per_block, 2000)):
                t0 = perf()
                span = tracer.start_span("bench.span")
                starts_.append(perf() - t0)
                span.set_attribute("bench.i", i)
                t = perf()
                span.end()
                sample.append(perf() - t)
            ends[name].append(_pct(sample, 0.5) * 1e9)
            starts[name].append(_pct(starts_, 0.5) * 1e9)
            provider.force_flush()
    import statistics as st

    return {
        name: {
            "span_ns": st.median(per[name]),
            "span_ns_min": min(per[name]),
            "span_ns_max": max(per[name]),
            "end_p50_ns": st.median(ends[name]),
            "start_p50_ns": st.median(starts[name]),
        }
        for name in variants
    }


def _emit(tracer, i: int):  # type: ignore[no-untyped-def]
    span = tracer.start_span("bench.span")
    span.set_attribute("bench.i", i)
    span.set_attribute("llm.model_name", "gemini-2.0-flash")
    span.set_attribute("input.value", "hello world")
    return span


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _peak_rss_mib() -> float:
    """Peak resident set of this process so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# PyYAML's ``yaml.reader.Reader.NON_PRINTABLE``, compiled when ``yaml.reader`` loads; only
# PyYAML's pure-Python reader uses it. Compiled first, it lands in ``re``'s cache, so that the
# ``yaml`` import after it no longer pays for it (figure 2i's breakdown).
YAML_NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"


def parts(steps: list[str]) -> list[str]:
    """Figure 2i's breakdown: the raw SDK's imports, then each step in turn, with a callgrind
    count closed (``os.getppid()``) after each. A step is a module name, or ``regex:yaml``."""
    import importlib
    import re

    from opentelemetry import trace  # noqa: F401
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: F401
    from opentelemetry.sdk.resources import Resource  # noqa: F401
    from opentelemetry.sdk.trace import TracerProvider  # noqa: F401
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: F401

    os.getppid()
    for step in steps:
        if step == "regex:yaml":
            re.compile(YAML_NON_PRINTABLE)
        else:
            importlib.import_module(step)
        os.getppid()
    return ["the raw SDK's imports", *steps]


def main() -> None:
    figure = SPEC["figure"]
    if figure == "parts":
        print("BENCH_RESULT " + json.dumps({"steps": parts(SPEC["steps"])}), flush=True)
        os._exit(0)
    counts = _count_exports() if figure in ("deliver", "llm") else None
    tracer, shutdown = setup() if figure != "overhead" else (None, None)
    ready = time.perf_counter()
    os.getppid()  # figure 2i: the count from T0 to a ready provider ends here
    out: dict[str, object] = {"setup_s": ready - T0, "rss_setup_mib": _peak_rss_mib()}
    if figure == "setup":
        pass
    elif figure == "overhead":
        out.update(overhead(int(SPEC.get("blocks", 7)), int(SPEC.get("per_block", 20000))))
    elif figure == "hot":
        n, budget = int(SPEC.get("n", 10000)), float(SPEC.get("budget_s", 8.0))
        perf = time.perf_counter
        ends: list[float] = []
        warm_until = perf() + budget / 4
        warm = 0
        for i in range(200):  # warm-up, bounded: a synchronous default blocks seconds per span
            _emit(tracer, i).end()
            warm += 1
            if perf() > warm_until:
                break
        began = perf()
        deadline = began + budget
        for i in range(n):
            span = _emit(tracer, i)
            t = perf()
            span.end()
            ends.append(perf() - t)
            if ends[-1] > 0.001 and perf() > deadline:
                break
        total = perf() - began
        rss_after = _peak_rss_mib()  # after the timing, so the reading costs the loop nothing
        out.update(
            rss_after_mib=rss_after,
            rss_after_spans=warm + len(ends),
            spans=len(ends),
            total_s=total,
            spans_per_s=len(ends) / total,
            end_p50_us=_pct(ends, 0.5) * 1e6,
            end_p99_us=_pct(ends, 0.99) * 1e6,
            end_max_us=max(ends) * 1e6,
            truncated=len(ends) < n,
        )
    elif figure == "exit":
        for i in range(int(SPEC.get("n", 500))):
            _emit(tracer, i).end()
        print(f"BENCH_LAST {time.monotonic()!r}", flush=True)
        return  # a normal interpreter exit: the peer's own exit hooks decide how long it takes
    elif figure == "deliver":
        rate, duration = float(SPEC["rate"]), float(SPEC.get("duration_s", 3.0))
        tick = 0.01
        per_tick = max(1, round(rate * tick))
        emitted = 0
        began = time.perf_counter()
        next_tick = began
        while True:
            now = time.perf_counter()
            if now - began >= duration:
                break
            for _ in range(per_tick):
                _emit(tracer, emitted).end()
                emitted += 1
            next_tick += tick
            delay = next_tick - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        elapsed = time.perf_counter() - began
        t = time.perf_counter()
        shutdown()
        out.update(
            target_rate=rate,
            emitted=emitted,
            achieved_rate=emitted / elapsed,
            exported=counts["exported"] if counts else None,
            failed=counts["failed"] if counts else None,
            dropped=emitted - (counts["exported"] if counts else 0),
            flush_s=time.perf_counter() - t,
            export_calls=counts["calls"] if counts else None,
            export_mean_ms=(counts["export_s"] / counts["calls"] * 1e3)
            if counts and counts["calls"]
            else None,
            export_max_ms=counts["export_max_s"] * 1e3 if counts else None,
        )
    elif figure == "llm":
        from google import genai
        from google.genai import types

        client = genai.Client(
            api_key="bench", http_options=types.HttpOptions(base_url=SPEC["stub"])
        )
        calls, perf = int(SPEC.get("calls", 100)), time.perf_counter
        for _ in range(5):
            client.models.generate_content(model="gemini-2.0-flash", contents="hello world")
        walls = []
        for _ in range(calls):
            t = perf()
            client.models.generate_content(model="gemini-2.0-flash", contents="hello world")
            walls.append(perf() - t)
        # Did the instrumentation record anything? Flush (bounded) and count exported spans.
        import threading

        flusher = threading.Thread(target=shutdown, daemon=True)
        flusher.start()
        flusher.join(10)
        out.update(spans_exported=counts["exported"] if counts else None)
        out.update(
            calls=calls,
            call_p50_ms=_pct(walls, 0.5) * 1e3,
            call_p99_ms=_pct(walls, 0.99) * 1e3,
            call_mean_ms=sum(walls) / len(walls) * 1e3,
        )
    print("BENCH_RESULT " + json.dumps(out), flush=True)
    sys.stdout.flush()
    os._exit(0)  # exit time is figure 4's business, not this one's


if __name__ == "__main__":
    main()
