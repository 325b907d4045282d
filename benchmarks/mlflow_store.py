"""The embedded MLflow store (``sqlite:///…``): set-up time and the sustained span rate.

    python benchmarks/mlflow_store.py                          # both figures, defaults
    python benchmarks/mlflow_store.py --only rate --seconds 30  # longer windows
    python benchmarks/mlflow_store.py --writers bulk --spans-per-trace 1 --rates 2000
    python benchmarks/mlflow_store.py --source /tmp/old        # another checkout's llmops
    python benchmarks/mlflow_store.py --only rate --fanout     # platforms: [mlflow, arize]

(a) ``instrument()`` on a fresh database: one fresh process per run, the median and range,
    and the time until the first span is stored.
(b) Spans offered at fixed rates for ``--seconds`` into a warm store (the first span is
    stored before the window opens), default tracing settings (queue 2048, batch 512, 1000 ms
    delay), for each trace shape (1 span a trace: a google-genai call on its own; 4: a request
    span around three calls) and each writer: ``bulk``, llmops' bulk writer for new traces
    (``llmops/_platforms/_mlflow_bulk.py``), and ``log_spans``, MLflow's own
    ``SqlAlchemyStore.log_spans`` for everything (what llmops did before, and does with an
    MLflow release its bulk writer is not verified against). For each rate: spans dropped
    (``llmops.stats().dropped``), the largest backlog seen (sampled every 0.25 s), the backlog
    when the window closed, and how long it took to drain. A rate is *sustained* when nothing
    was dropped and the backlog drained within ``--drain-limit`` seconds (the 1-s export delay
    plus 1 s): a rate above what the store can write fills the queue slowly, so the window has
    to be long; the store also slows as it grows (SQLite's commits touch more pages).

With ``--fanout`` every span goes to Arize as well (OTLP/gRPC to ``benchmarks/sink.py``, a null
collector on loopback), and the figures count the MLflow platform's spans alone.

Every measurement runs in a fresh process with this interpreter; nothing leaves loopback (the
store is a file in a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATES = (250, 500, 1000, 1500, 2000, 2500, 3000)

_CHILD = """
import json, os, sys, time
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")
folder, mode, rate, seconds, per_trace = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:6])
if os.environ.get("BENCH_WRITER") == "log_spans":  # MLflow's own log_spans, as before 0.x
    import llmops._platforms._mlflow_bulk as bulk
    bulk.VERIFIED = frozenset()
config = os.path.join(folder, "llmops.yaml")
fanout = os.environ.get("BENCH_ARIZE")  # the null collector's URL: fan out to Arize as well
with open(config, "w") as f:
    f.write(f"mlflow:\\n  tracking_uri: sqlite:///{folder}/mlflow.db\\n"
            "  experiment_name: bench\\n")
    if fanout:
        f.write("platforms: [mlflow, arize]\\n"
                f"arize: {{endpoint: '{fanout}', protocol: grpc, project_name: bench}}\\n")
began = time.perf_counter()
import llmops
provider = llmops.instrument(llmops.Platform.MLFLOW, config_path=config)
setup_s = time.perf_counter() - began
tracer = provider.get_tracer("bench")
LLM = {
    "openinference.span.kind": "LLM", "llm.model_name": "gemini-2.0-flash",
    "input.value": "Why is the sky blue at noon? " * 4,
    "output.value": "Sunlight scatters off the molecules of the air. " * 4,
    "llm.token_count.prompt": 12, "llm.token_count.completion": 40,
    "llm.token_count.total": 52,
}

def trace_of(spans):
    with tracer.start_as_current_span("request", attributes=LLM if spans == 1 else {}):
        for _ in range(int(spans) - 1):
            with tracer.start_as_current_span("GenerateContent", attributes=LLM):
                pass

def counts():  # the MLflow platform's own counts (with fan-out, Arize counts apart)
    s = llmops.stats()
    s = s.by_platform.get("mlflow", s)
    return s.exported, s.dropped, s.failed + getattr(s, "abandoned", 0)

def wait_until(done, limit):
    end = time.perf_counter() + limit
    while not done() and time.perf_counter() < end:
        time.sleep(0.01)
    return done()

trace_of(1)
wait_until(lambda: counts()[0] >= 1, 120)
ready_s = time.perf_counter() - began
out = {"setup_s": setup_s, "ready_s": ready_s}
if mode == "rate":
    import threading
    traces = int(rate * seconds / per_trace)
    sent, peak, closed_flag = [0], [0], threading.Event()
    def sample():  # the backlog (offered, not yet exported or dropped) every 0.25 s
        while not closed_flag.wait(0.25):
            exported, dropped, failed = counts()
            peak[0] = max(peak[0], sent[0] + 1 - exported - dropped - failed)
    threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    for i in range(traces):
        due = start + i * per_trace / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(due - now, 0.002))
        trace_of(per_trace)
        sent[0] += int(per_trace)
    closed_flag.set()
    offered = traces * int(per_trace)
    window_s = time.perf_counter() - start
    exported, dropped, failed = counts()
    backlog = offered + 1 - exported - dropped - failed
    closed = time.perf_counter()
    wait_until(lambda: sum(counts()) >= offered + 1, 120)
    exported2, dropped2, failed2 = counts()
    out.update(offered=offered, window_s=window_s, backlog=backlog, peak=peak[0],
               drain_s=time.perf_counter() - closed, exported=exported2 - 1,
               dropped=dropped2, failed=failed2)
llmops.shutdown()
print("RESULT " + json.dumps(out))
"""


def _child(
    mode: str, rate: float, seconds: float, per_trace: int, source: str | None, writer: str
) -> dict:
    env = dict(os.environ, BENCH_WRITER=writer)
    if _SINK:
        env["BENCH_ARIZE"] = _SINK[0]
    if source:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    args = [str(rate), str(seconds), str(per_trace)]
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as folder:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(_CHILD), folder, mode, *args],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=folder,
            env=env,
            check=False,
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict = json.loads(lines[-1].removeprefix("RESULT "))
    return result


_SINK: list[str] = []
"""With ``--fanout``: the URL of the null OTLP/gRPC collector the Arize platform sends to."""


def _start_sink() -> subprocess.Popen[str]:
    """``benchmarks/sink.py`` on loopback (it acknowledges every export at once)."""
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "sink.py")], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None
    _SINK.append(sink.stdout.readline().strip())
    return sink


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def setup_figure(runs: int, source: str | None) -> None:
    results = [_child("setup", 0, 0, 1, source, "bulk") for _ in range(runs)]
    print(f"\n(a) instrument() on a fresh SQLite database, {runs} fresh processes\n")
    print("| figure | median (min-max) |\n| --- | --- |")
    print(f"| instrument() returns | {_spread([r['setup_s'] for r in results])} |")
    print(
        f"| first span stored (from before instrument()) | "
        f"{_spread([r['ready_s'] for r in results])} |"
    )


def rate_figure(
    rates: list[int],
    seconds: float,
    shapes: list[int],
    drain_limit: float,
    source: str | None,
    writers: list[str],
) -> None:
    print(
        f"\n(b) spans offered for {seconds:g} s into a warm store; sustained: nothing dropped "
        f"and the backlog at the close drained within {drain_limit:g} s\n"
    )
    print(
        "| writer | spans a trace | offered spans/s | offered | dropped | peak backlog | "
        "backlog at close | drain after | sustained |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for writer in writers:
        for per_trace in shapes:
            best = 0
            for rate in rates:
                r = _child("rate", rate, seconds, per_trace, source, writer)
                sustained = r["dropped"] == 0 and r["failed"] == 0 and r["drain_s"] <= drain_limit
                best = rate if sustained and rate > best else best
                share = 100 * r["dropped"] / r["offered"]
                print(
                    f"| {writer} | {per_trace} | {rate} | {r['offered']} | {r['dropped']} "
                    f"({share:.0f} %) | {r['peak']} | {r['backlog']} | {r['drain_s']:.2f} s | "
                    f"{'yes' if sustained else 'no'} |",
                    flush=True,
                )
                if r["dropped"] > r["offered"] // 4:
                    break  # far past the ceiling: higher rates say nothing more
            print(f"| {writer} | {per_trace} | highest sustained: {best or 'none'} spans/s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes for (a)")
    parser.add_argument("--seconds", type=float, default=20.0, help="offer window of (b)")
    parser.add_argument("--rates", default=",".join(map(str, RATES)), help="spans/s for (b)")
    parser.add_argument(
        "--spans-per-trace", default="1,4", help="trace shapes; 1: a google-genai call alone"
    )
    parser.add_argument(
        "--drain-limit", type=float, default=2.0, help="seconds: the 1-s export delay + 1 s"
    )
    parser.add_argument(
        "--writers", default="bulk,log_spans", help="bulk: llmops' writer; log_spans: MLflow's"
    )
    parser.add_argument("--only", choices=("setup", "rate"), help="one figure only")
    parser.add_argument("--source", help="a folder whose llmops package is measured instead")
    parser.add_argument(
        "--fanout", action="store_true", help="platforms: [mlflow, arize]; Arize to a null sink"
    )
    args = parser.parse_args()
    sink = _start_sink() if args.fanout else None
    try:
        _figures(args)
    finally:
        if sink is not None:
            sink.terminate()


def _figures(args: argparse.Namespace) -> None:
    if args.only != "rate":
        setup_figure(args.runs, args.source)
    if args.only != "setup":
        rates = [int(r) for r in args.rates.split(",") if r.strip()]
        shapes = [int(n) for n in args.spans_per_trace.split(",") if n.strip()]
        writers = [w for w in args.writers.split(",") if w.strip()]
        rate_figure(rates, args.seconds, shapes, args.drain_limit, args.source, writers)


if __name__ == "__main__":
    main()
