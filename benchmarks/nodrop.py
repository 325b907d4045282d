# ruff: noqa: RUF001, RUF002  (the multiplication signs are meant)
"""Figure 3n, the no-drop regime: what llmops costs per span when every span is delivered,
against the raw OpenTelemetry SDK doing the same work, in the same process.

    python benchmarks/nodrop.py                       # 5 processes, 1 and 8 threads
    python benchmarks/nodrop.py --processes 3 --pairs 10 --json

Both set-ups live in one process and export over OTLP/gRPC to a null collector on loopback
(``benchmarks/sink.py``, which acknowledges at once):

* ``llmops``: ``llmops.instrument()`` with ``platform: otlp``, its defaults;
* ``raw``: ``TracerProvider`` + ``BatchSpanProcessor`` + the same exporter class, with
  llmops' queue (2,048 spans), batch (512) and delay (1 s).

A *pair* is one burst through each, in alternating order: a burst is ``--burst`` spans (start,
three attributes, end: figure 3's span) ended by ``--threads`` threads released by a barrier,
small enough to fit the queue, then ``force_flush()``. Per burst: the process CPU time from
the barrier to the end of the flush (every thread, the export included) and the burst's
spans/s (barrier to the last ``end()``). Every span must be delivered: the exporter counts
what the collector acknowledged, and a run with a span missing is an error.

The ratios are raw / llmops per pair (above 1: llmops is cheaper), their median per process,
and over processes the median and the min–max. Output: a summary on stderr and, with
``--json``, one line ``NODROP_JSON {…}`` (what ``benchmarks/run.py --only nodrop`` reads).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # threads.py, beside this file, however this one is run

from threads import child_environ  # noqa: E402


def _count_exports() -> dict[int, int]:
    """Spans each OTLP/gRPC exporter instance saw acknowledged, by ``id(exporter)``."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    counts: dict[int, int] = {}
    original = OTLPSpanExporter.export

    def export(self, spans, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = original(self, spans, *args, **kwargs)
        if getattr(result, "name", "") == "SUCCESS":
            counts[id(self)] = counts.get(id(self), 0) + len(spans)
        return result

    OTLPSpanExporter.export = export  # type: ignore[method-assign]
    return counts


def _setups(endpoint: str):  # type: ignore[no-untyped-def]
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import llmops

    path = Path(tempfile.mkdtemp(prefix="llmops-nodrop-")) / "llmops.yaml"
    path.write_text(
        f"platform: otlp\ntracing: {{announce: false}}\notlp: {{endpoint: '{endpoint}', "
        "protocol: grpc}\n",
        encoding="utf-8",
    )
    ours = llmops.instrument(config_path=path)
    raw = TracerProvider(shutdown_on_exit=False)
    raw.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=10),
            max_queue_size=2048,
            max_export_batch_size=512,
            schedule_delay_millis=1000,
        )
    )
    return {"llmops": ours, "raw": raw}


def _burst(provider, threads: int, per_thread: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """One burst and its flush: (process CPU seconds, burst wall seconds)."""
    tracer = provider.get_tracer("nodrop")
    box: dict[str, float] = {}
    stops = [0.0] * threads
    start = threading.Barrier(
        threads + 1,
        action=lambda: box.update(t0=time.perf_counter(), c0=time.process_time()),
    )

    def work(index: int) -> None:
        start.wait()
        for i in range(per_thread):
            span = tracer.start_span("bench.span")
            span.set_attribute("bench.i", i)
            span.set_attribute("llm.model_name", "gemini-2.0-flash")
            span.set_attribute("input.value", "hello world")
            span.end()
        stops[index] = time.perf_counter()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    for worker in workers:
        worker.join()
    provider.force_flush()
    return time.process_time() - box["c0"], max(stops) - box["t0"]


def child(args: argparse.Namespace) -> None:
    counts = _count_exports()
    providers = _setups(args.endpoint)
    per_thread = max(args.burst // args.threads, 1)
    spans = per_thread * args.threads
    for provider in providers.values():  # warm-up: imports, channels, caches
        _burst(provider, args.threads, per_thread)
    cpu: dict[str, list[float]] = {k: [] for k in providers}
    wall: dict[str, list[float]] = {k: [] for k in providers}
    for index in range(args.pairs):
        order = list(providers) if index % 2 == 0 else list(providers)[::-1]
        for kind in order:
            c, w = _burst(providers[kind], args.threads, per_thread)
            cpu[kind].append(c / spans)
            wall[kind].append(spans / w)
    ratios_cpu = [r / o for r, o in zip(cpu["raw"], cpu["llmops"], strict=True)]
    ratios_rate = [o / r for o, r in zip(wall["llmops"], wall["raw"], strict=True)]
    delivered = sum(counts.values())
    expected = (args.pairs + 1) * spans * len(providers)
    print(
        "NODROP_RESULT "
        + json.dumps(
            {
                "threads": args.threads,
                "burst": spans,
                "pairs": args.pairs,
                "cpu_us": {k: statistics.median(v) * 1e6 for k, v in cpu.items()},
                "spans_per_s": {k: statistics.median(v) for k, v in wall.items()},
                "cpu_ratio": statistics.median(ratios_cpu),
                "rate_ratio": statistics.median(ratios_rate),
                "delivered": delivered,
                "expected": expected,
            }
        ),
        flush=True,
    )
    os._exit(0 if delivered == expected else 3)


def _environ() -> dict[str, str]:
    return {**child_environ(), "LLMOPS_ANNOUNCE": "0"}


def _run_child(python: str, endpoint: str, threads: int, args: argparse.Namespace) -> dict:
    argv = [python, str(Path(__file__).resolve()), "--child", "--endpoint", endpoint]
    argv += ["--threads", str(threads), "--burst", str(args.burst), "--pairs", str(args.pairs)]
    with tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=_environ(),
                timeout=600,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": "timed out"}
        for line in done.stdout.splitlines():
            if line.startswith("NODROP_RESULT "):
                result = dict(json.loads(line.split(" ", 1)[1]))
                if done.returncode != 0:
                    result["error"] = (
                        f"{result['expected'] - result['delivered']} span(s) not delivered"
                    )
                return result
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-4:]
        return {"error": f"no result (exit {done.returncode}): " + " | ".join(tail)[-500:]}


def _summary(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    out: dict = {"runs": runs}
    for key in ("cpu_ratio", "rate_ratio"):
        values = [r[key] for r in ok]
        out[key] = (
            {"median": statistics.median(values), "min": min(values), "max": max(values)}
            if values
            else None
        )
    for key in ("cpu_us", "spans_per_s"):
        out[key] = (
            {k: statistics.median(r[key][k] for r in ok) for k in ("llmops", "raw")} if ok else None
        )
    return out


def harness(args: argparse.Namespace) -> dict:
    python = args.python or sys.executable
    counts = [int(n) for n in str(args.threads).split(",") if n.strip()]
    out: dict = {
        "processes": args.processes,
        "pairs": args.pairs,
        "burst": args.burst,
        "by_threads": {},
    }
    sink = subprocess.Popen(
        [python, str(HERE / "sink.py")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=_environ(),
    )
    try:
        assert sink.stdout is not None
        url = sink.stdout.readline().strip()
        for n in counts:
            runs = [_run_child(python, url, n, args) for _ in range(args.processes)]
            part = out["by_threads"][str(n)] = _summary(runs)
            for run in runs:
                if "error" in run:
                    print(f"[nodrop {n} threads] {run['error']}", file=sys.stderr)
            for key in ("cpu_ratio", "rate_ratio"):
                if part[key]:
                    print(
                        f"[nodrop {n} threads] {key}: median {part[key]['median']:.3f}×, "
                        f"{part[key]['min']:.3f}–{part[key]['max']:.3f}×",
                        file=sys.stderr,
                    )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sink.pid, 9)
        sink.wait()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=5, help="fresh processes per thread count")
    ap.add_argument("--pairs", type=int, default=20, help="paired bursts per process")
    ap.add_argument("--burst", type=int, default=2000, help="spans per burst (fits the queue)")
    ap.add_argument("--threads", default="1,8", help="thread counts, comma-separated")
    ap.add_argument("--python", default=None, help="interpreter for the runs (default: this one)")
    ap.add_argument("--json", action="store_true", help="print NODROP_JSON {…} on stdout")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--endpoint", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.threads = int(args.threads)
        child(args)
        return 0
    out = harness(args)
    if args.json:
        print("NODROP_JSON " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
