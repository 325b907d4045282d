# ruff: noqa: RUF001, RUF002  (the dashes and multiplication signs are meant)
"""Set-up with every instrumentor of the catalogue installed (issue 14), against the floor.

    python benchmarks/setup_instrumentors.py [--rounds 15]

Three environments, fresh processes in alternating order, ``benchmarks/probe.py``'s set-up
figure (the whole process: interpreter start to a tracer ready):

* ``otel``: the raw SDK with the OTLP/gRPC exporter (``.venvs/bench-otel``, the floor);
* ``llmops``: ``llmops.instrument()`` with its defaults (``instrumentation: auto``), in
  ``.venvs/bench-llmops``, which holds only the google-genai instrumentor;
* ``llmops, all instrumentors``: the same in ``.venvs/bench-allinstr``, the llmops venv plus
  every OpenInference instrumentor of the catalogue (made by hand; see docs/performance.md).

Prints the medians, min–max and the ratios to the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "benchmarks" / "probe.py"
VENVS = {
    "otel": ("otel", ROOT / ".venvs" / "bench-otel" / "bin" / "python"),
    "llmops": ("llmops", ROOT / ".venvs" / "bench-llmops" / "bin" / "python"),
    "llmops, all instrumentors": ("llmops", ROOT / ".venvs" / "bench-allinstr" / "bin" / "python"),
}


def once(peer: str, python: Path) -> float:
    spec = json.dumps({"peer": peer, "figure": "setup"})
    done = subprocess.run(
        [str(python), str(PROBE), spec], capture_output=True, text=True, timeout=120, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT "))
    return float(json.loads(line.split(" ", 1)[1])["setup_s"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VENVS}
    for round_ in range(args.rounds):
        names = list(VENVS) if round_ % 2 == 0 else list(reversed(VENVS))
        for name in names:
            peer, python = VENVS[name]
            times[name].append(once(peer, python))
    floor = statistics.median(times["otel"])
    print("| environment | set-up s, median | min–max | ratio to the raw SDK |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:.3f} | {min(values):.3f}–{max(values):.3f} | "
            f"{median / floor:.2f}× |"
        )


if __name__ == "__main__":
    sys.exit(main())
