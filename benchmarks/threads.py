# ruff: noqa: RUF001, RUF002  (the multiplication signs are meant)
"""50 threads ending spans at once: llmops against the raw OpenTelemetry SDK (standard library
plus whatever the interpreter's venv holds: llmops, the SDK, the OTLP/gRPC exporter).

    python benchmarks/threads.py                 # 7 paired runs, collector down, plus bursts
    python benchmarks/threads.py --pairs 3 --seconds 1 --json

Every run is a fresh process (this file with ``--child``). It starts all the threads first;
then they meet at a barrier, and each ends spans in a loop until one shared deadline. Spans
per second = spans ended by all threads / the timed window (barrier release to the last
thread's stop). The collector is down (a closed loopback port), so the queue is full and
nearly every span takes the drop path.

* ``llmops``: ``llmops.instrument("arize")`` with OTLP/gRPC to that port;
* ``raw``: ``TracerProvider`` + ``BatchSpanProcessor`` + the same OTLP/gRPC exporter class, the
  same queue (``--queue``, default 2048), batch size 512 and schedule delay 1000 ms.

Runs are paired, the order alternating from pair to pair; the ratio is llmops / raw within a
pair. The issue's target: median ≥ 0.9×, no pair under 0.6×.

The no-drop variant (``--bursts``, on by default) points both at a null OTLP/gRPC collector on
loopback (``benchmarks/sink.py``) and times bursts that fit the queue (each thread ends
``queue // threads`` spans), flushing between bursts outside the timed window; every span
must be delivered (counted at the exporter).

Output: a human summary on stderr and, with ``--json``, one line ``THREADS_JSON {…}`` on
stdout (what ``benchmarks/run.py --only threads`` reads).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


# -- the measured process ------------------------------------------------------------------


def _count_exports() -> dict[str, int]:
    """Count spans the OTLP/gRPC exporter saw acknowledged (class-level, both set-ups)."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    counts = {"exported": 0, "failed": 0}
    original = OTLPSpanExporter.export

    def export(self, spans, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = original(self, spans, *args, **kwargs)
        key = "exported" if getattr(result, "name", "") == "SUCCESS" else "failed"
        counts[key] += len(spans)
        return result

    OTLPSpanExporter.export = export  # type: ignore[method-assign]
    return counts


def _setup(kind: str, endpoint: str, queue: int):  # type: ignore[no-untyped-def]
    if kind == "llmops":
        import llmops

        path = Path(tempfile.mkdtemp(prefix="llmops-threads-")) / "llmops.yaml"
        path.write_text(
            "platform: arize\n"
            f"tracing: {{max_queue_size: {queue}, max_export_batch_size: 512, "
            "schedule_delay_ms: 1000}\n"
            f"arize: {{endpoint: '{endpoint}', protocol: grpc}}\n",
            encoding="utf-8",
        )
        provider = llmops.instrument(config_path=path)

        def dropped() -> int:
            return int(llmops.stats().dropped)

        return provider, dropped
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(shutdown_on_exit=False)
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=10)
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter, max_queue_size=queue, max_export_batch_size=512, schedule_delay_millis=1000
        )
    )
    return provider, None


def _emitter(tracer, attributes: int):  # type: ignore[no-untyped-def]
    """One span: start, ``attributes`` attributes (figure 3's three first), end."""
    names = [("bench.i", 1), ("llm.model_name", "gemini-2.0-flash"), ("input.value", "hello")]
    names += [(f"bench.extra.{i}", f"value {i}") for i in range(max(attributes - 3, 0))]
    names = names[:attributes]

    def emit() -> None:
        span = tracer.start_span("bench.span")
        for key, value in names:
            span.set_attribute(key, value)
        span.end()

    return emit


def child(args: argparse.Namespace) -> None:
    counts = _count_exports()
    provider, dropped = _setup(args.child, args.endpoint, args.queue)
    tracer = provider.get_tracer("bench")
    emit = _emitter(tracer, args.attributes)
    for _ in range(200):  # warm-up, outside the window
        emit()
    if args.mode == "burst":
        provider.force_flush()
    n = int(args.threads)
    ended = [0] * n
    stops = [0.0] * n
    box: dict[str, float] = {}
    result: dict[str, object] = {"kind": args.child, "mode": args.mode, "threads": n}
    if args.child == "llmops":
        result["llmops"] = sys.modules["llmops"].__file__
    if args.mode == "window":
        start = threading.Barrier(n + 1, action=lambda: box.update(t0=time.perf_counter()))

        def work(i: int) -> None:
            start.wait()
            deadline = box["t0"] + args.seconds
            count = 0
            clock = time.perf_counter
            while clock() < deadline:
                emit()
                count += 1
            ended[i] = count
            stops[i] = clock()

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        start.wait()
        for t in threads:
            t.join()
        window = max(stops) - box["t0"]
        total = sum(ended)
    else:  # bursts that fit the queue, flushed between them outside the timed window
        per = max(args.queue // n - 1, 1)
        begin = threading.Barrier(n + 1, action=lambda: box.update(t0=time.perf_counter()))
        done = threading.Barrier(n + 1, action=lambda: box.update(t1=time.perf_counter()))
        timed = 0.0

        def work(i: int) -> None:
            for _ in range(args.bursts):
                begin.wait()
                for _ in range(per):
                    emit()
                ended[i] += per
                done.wait()

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        for _ in range(args.bursts):
            begin.wait()
            done.wait()
            timed += box["t1"] - box["t0"]
            provider.force_flush()
        for t in threads:
            t.join()
        window = timed
        total = sum(ended)
        deadline = time.monotonic() + 10
        while counts["exported"] < total + 200 and time.monotonic() < deadline:
            provider.force_flush()
            time.sleep(0.01)
        result["delivered"] = counts["exported"] - 200
        result["dropped"] = dropped() if dropped else None
    result.update(spans=total, window_s=window, spans_per_s=total / window if window else 0.0)
    print("THREADS_RESULT " + json.dumps(result), flush=True)
    # Not timed, and not waited for: the raw SDK would wait up to 30 s on a dead collector.
    os._exit(0)


# -- the harness ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_environ() -> dict[str, str]:
    """The environment of a measured child: no ambient OTel/llmops/Phoenix configuration,
    no proxy (nodrop.py uses it too)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "LLMOPS_", "PHOENIX_", "ARIZE_"))
        and k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "grpc_proxy"}
    }
    env.update({"NO_PROXY": "*", "no_proxy": "*"})
    return env


def _run_child(
    python: str, kind: str, mode: str, endpoint: str, threads: int, args: argparse.Namespace
) -> dict:
    argv = [
        python,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--mode",
        mode,
        "--endpoint",
        endpoint,
        "--threads",
        str(threads),
        "--attributes",
        str(args.attributes),
        "--queue",
        str(args.queue),
        "--seconds",
        str(args.seconds),
        "--bursts",
        str(args.bursts),
    ]
    with tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run(
                argv,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=child_environ(),
                timeout=args.seconds + 120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": "timed out"}
        for line in done.stdout.splitlines():
            if line.startswith("THREADS_RESULT "):
                return json.loads(line.split(" ", 1)[1])
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-4:]
        return {"error": f"no result (exit {done.returncode}): " + " | ".join(tail)[-500:]}


def _pairs(python: str, mode: str, endpoint: str, threads: int, args: argparse.Namespace) -> dict:
    runs: list[dict] = []
    for index in range(args.pairs):
        order = ["llmops", "raw"] if index % 2 == 0 else ["raw", "llmops"]
        pair = {kind: _run_child(python, kind, mode, endpoint, threads, args) for kind in order}
        ok = all("error" not in r for r in pair.values())
        ratio = pair["llmops"]["spans_per_s"] / pair["raw"]["spans_per_s"] if ok else None
        runs.append({"first": order[0], **pair, "ratio": ratio})
        if ok:
            print(
                f"[{threads} threads, {mode}] pair {index + 1}: "
                f"llmops {pair['llmops']['spans_per_s']:,.0f} /s, "
                f"raw {pair['raw']['spans_per_s']:,.0f} /s, ratio {ratio:.2f}×"
                f" ({order[0]} first)",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"[{threads} threads, {mode}] pair {index + 1}: {pair}", file=sys.stderr)
    ratios = [r["ratio"] for r in runs if r["ratio"] is not None]
    return {
        "runs": runs,
        "ratio_median": statistics.median(ratios) if ratios else None,
        "ratio_min": min(ratios) if ratios else None,
        "ratio_max": max(ratios) if ratios else None,
    }


def harness(args: argparse.Namespace) -> dict:
    python = args.python or sys.executable
    counts = [int(n) for n in str(args.threads).split(",") if n.strip()]
    out: dict = {
        "threads": counts,
        "queue": args.queue,
        "seconds": args.seconds,
        "pairs": args.pairs,
        "attributes": args.attributes,
        "burst_count": args.bursts,
        "by_threads": {},
    }
    down = f"http://127.0.0.1:{_closed_port()}"
    sink = None
    if args.bursts > 0:
        sink = subprocess.Popen(
            [python, str(HERE / "sink.py")],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env=child_environ(),
        )
    try:
        url = sink.stdout.readline().strip() if sink is not None and sink.stdout else ""
        for n in counts:
            part: dict = {"down": _pairs(python, "window", down, n, args)}
            if url:
                part["bursts"] = _pairs(python, "burst", url, n, args)
                part["burst_spans"] = max(args.queue // n - 1, 1) * n
            out["by_threads"][str(n)] = part
            for key in ("down", "bursts"):
                data = part.get(key)
                if data and data["ratio_median"] is not None:
                    print(
                        f"[{n} threads, {key}] median {data['ratio_median']:.3f}×, "
                        f"min {data['ratio_min']:.3f}×, max {data['ratio_max']:.3f}×",
                        file=sys.stderr,
                    )
    finally:
        if sink is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(sink.pid, 9)
            sink.wait()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=2.0, help="the timed window per run")
    ap.add_argument(
        "--threads",
        default="50",
        help="thread counts, comma-separated (each a set of pairs); one number for --child",
    )
    ap.add_argument("--attributes", type=int, default=3, help="attributes on each span")
    ap.add_argument("--queue", type=int, default=2048)
    ap.add_argument(
        "--bursts", type=int, default=10, help="bursts per no-drop run (0: skip the variant)"
    )
    ap.add_argument("--python", default=None, help="interpreter for the runs (default: this one)")
    ap.add_argument("--json", action="store_true", help="print THREADS_JSON {…} on stdout")
    ap.add_argument("--child", choices=["llmops", "raw"], help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=["window", "burst"], default="window", help=argparse.SUPPRESS)
    ap.add_argument("--endpoint", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return 0
    out = harness(args)
    if args.json:
        print("THREADS_JSON " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
