"""Delivery ladders for candidate ``tracing`` defaults (the evidence for "Defaults and why").

    python benchmarks/tune.py            # writes benchmarks/results/tune.json and tune.md

Uses the venvs ``benchmarks/run.py`` created (run it first). For each llmops ``tracing:``
variant it runs the figure-5 delivery ladder against a real Phoenix on loopback and against the
null collector (``benchmarks/sink.py``), inside a private network namespace when root.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

VARIANTS: dict[str, dict] = {
    "defaults (queue 2048, batch 512, 1000 ms, no compression)": {},
    "max_export_batch_size 2048": {"max_export_batch_size": 2048},
    "max_queue_size 8192": {"max_queue_size": 8192},
    "compression gzip": {"compression": "gzip"},
}
PHOENIX_RATES = [2000, 2500, 3000, 4000]
SINK_RATES = [10000, 12500, 15000, 20000]
KEYS = (
    "target_rate",
    "achieved_rate",
    "emitted",
    "exported",
    "dropped",
    "flush_s",
    "export_calls",
    "export_mean_ms",
    "export_max_ms",
    "error",
)


def ladder(env: run.Env, tracing: dict, rates: list[int], endpoint: dict | None) -> list[dict]:
    out = []
    for rate in rates:
        spec = {
            "figure": "deliver",
            "rate": rate,
            "duration_s": 3.0,
            **(endpoint or env.endpoints(True)),
            "project": f"tune-{rate}",
        }
        if tracing:
            spec["tracing"] = tracing
        res = run.run_probe(env, "llmops", spec, timeout=90)
        out.append({k: res.get(k) for k in KEYS if k in res})
        if endpoint is None:
            run.wait_quiet(env.phoenix, limit=10)
        if "error" in res or res.get("dropped", 1) > 0:
            break
    return out


def main() -> int:
    from tests.servers.netns import enter_private_network_namespace
    from tests.servers.phoenix import PhoenixServer, free_port

    enter_private_network_namespace()
    phoenix = PhoenixServer().start()
    sink = subprocess.Popen(
        [str(run.venv_python("llmops")), str(run.BENCH / "sink.py")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert sink.stdout is not None
    url = sink.stdout.readline().strip()
    env = run.Env(phoenix, None, free_port(), Path(tempfile.mkdtemp()))
    results: dict[str, dict] = {}
    try:
        for name, tracing in VARIANTS.items():
            run.log(f"tune: {name}")
            results[name] = {
                "phoenix": ladder(env, tracing, PHOENIX_RATES, None),
                "sink": ladder(env, tracing, SINK_RATES, {"grpc": url, "http": url}),
            }
    finally:
        run._kill(sink)
        sink.wait()
        phoenix.close()
    out = run.BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "tune.json").write_text(json.dumps(results, indent=1))
    rows = []
    for name, by_target in results.items():
        for target, steps in by_target.items():
            for r in steps:
                if "error" in r:
                    rows.append([name, target, "", "failed", "", "", "", ""])
                    continue
                rows.append(
                    [
                        name,
                        target,
                        f"{r['target_rate']:,.0f}",
                        f"{r['achieved_rate']:,.0f}",
                        f"{r['exported']:,}/{r['emitted']:,}",
                        f"{r['dropped']:,}",
                        f"{r['flush_s']:.2f}",
                        f"{run.fmt(r.get('export_mean_ms'))} / {run.fmt(r.get('export_max_ms'))}",
                    ]
                )
    md = run.table(
        [
            "tracing variant",
            "collector",
            "target spans/s",
            "achieved",
            "delivered",
            "dropped",
            "shutdown s",
            "export ms mean / max",
        ],
        rows,
    )
    (out / "tune.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
