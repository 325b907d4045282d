"""Running the peers and llmops side by side, each in a fresh interpreter of its own venv.

The peers live where the benchmark harness puts them (``benchmarks/run.py``): the pinned
``benchmarks/requirements/<peer>.txt`` installed into ``.venvs/peer-<peer>``. llmops runs
from this checkout's interpreter (``.venv``, the one running pytest). Each side gets one
process that builds every scenario of the table (:mod:`tests.migration.probe`), in a clean
environment: no ``PHOENIX_``/``ARIZE_``/``OTEL_``/``LLMOPS_``/``MLFLOW_``/``OPENINFERENCE_``
variable and no proxy, so only what a scenario sets is seen. Nothing is sent: the probe
builds and inspects, and gRPC channels connect lazily.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("probe.py")
TIMEOUT_S = 120

CLEARED_PREFIXES = ("PHOENIX_", "ARIZE_", "OTEL_", "LLMOPS_", "MLFLOW_", "OPENINFERENCE_")


def venv_python(peer: str) -> Path:
    """The interpreter of the peer's benchmark venv (``.venvs/peer-<peer>/bin/python``)."""
    return ROOT / ".venvs" / f"peer-{peer}" / "bin" / "python"


def requirements(peer: str) -> Path:
    return ROOT / "benchmarks" / "requirements" / f"{peer}.txt"


def missing(peer: str) -> str | None:
    """Why the peer cannot run here, or ``None``."""
    python = venv_python(peer)
    if python.exists():
        return None
    return (
        f"{python} not found: create it with `uv venv .venvs/peer-{peer} && "
        f"VIRTUAL_ENV=.venvs/peer-{peer} uv pip install -r "
        f"benchmarks/requirements/{peer}.txt` (or run benchmarks/run.py once)"
    )


def clean_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (the process environment) without any configuration a side would read."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith(CLEARED_PREFIXES) and not k.lower().endswith("_proxy")
    }
    env.update(
        {
            "NO_PROXY": "*",
            "no_proxy": "*",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def run_side(side: str, scenarios: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Run the probe for ``side`` (a peer id or ``llmops``) over ``scenarios``; returns
    ``{"meta": {...}, "results": {id: observation}}``."""
    python = Path(sys.executable) if side == "llmops" else venv_python(side)
    request = json.dumps({"side": side, "scenarios": list(scenarios)})
    env = clean_environment()
    done = subprocess.run(
        [str(python), str(PROBE)],
        input=request,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        cwd="/",
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"the {side} probe failed (exit {done.returncode}):\n{done.stderr[-4000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout)
    result["stderr"] = done.stderr
    return result


def run_all(jobs: Mapping[str, list[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Every side's probe at once (they are independent processes)."""
    with ThreadPoolExecutor(max_workers=len(jobs) or 1) as pool:
        futures = {side: pool.submit(run_side, side, scenarios) for side, scenarios in jobs.items()}
        return {side: future.result() for side, future in futures.items()}
