"""A smoke run of the benchmark harness (``benchmarks/run.py --smoke``), so it cannot rot.

It checks that the harness runs every figure end to end and writes a report with the expected
sections; it never looks at a timing. llmops and the raw-SDK floor run with this interpreter (the
dev venv has both), so nothing is installed; other peers join only when their
``.venvs/bench-<peer>`` already exists and ``LLMOPS_BENCH_SMOKE_PEERS`` names them. Phoenix is
used when its venv exists (the collector-up figures are skipped otherwise).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"
# Read at import: every test runs with LLMOPS_* cleared (tests/conftest.py).
EXTRA_PEERS = os.environ.get("LLMOPS_BENCH_SMOKE_PEERS", "")

SECTIONS = (
    "### Machine",
    "### Versions",
    "### Run counts",
    "### 1. Import cost",
    "### 2a. Set-up cost, no instrumentors",
    "### 2b. Set-up cost with google-genai instrumentation",
    "### 2i. Set-up instructions (callgrind)",
    "### 3a. Hot path, drop regime, collector down",
    "### 3n. No-drop regime: bursts that fit the queue, every span delivered",
    "### 3c. llmops' hot-path wrappers, in one process",
    "### 3r. Peak RSS after set-up and after",
    "### 4a. Exit time, collector unreachable",
    "### 5b. Delivery to a null OTLP/gRPC collector",
    "### 6. Instrumented LLM call overhead",
)


def _peers() -> list[str]:
    wanted = [p.strip() for p in EXTRA_PEERS.split(",") if p.strip()]
    present = [p for p in wanted if (ROOT / ".venvs" / f"bench-{p}" / "bin" / "python").exists()]
    return ["llmops", "otel", *present]


def test_harness_writes_every_section(tmp_path: Path) -> None:
    pytest.importorskip("google.genai")
    pytest.importorskip("openinference.instrumentation.google_genai")
    pytest.importorskip("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
    out = tmp_path / "performance.md"
    done = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--smoke",
            "--no-install",
            "--peers",
            ",".join(_peers()),
            "--python-for",
            f"llmops={sys.executable}",
            "--python-for",
            f"otel={sys.executable}",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=420,  # figure 2i's callgrind runs are about 10 s each
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    missing = [s for s in SECTIONS if s not in text]
    assert not missing, f"missing sections {missing}\n{text[:3000]}"
    assert "<!-- results:begin -->" in text
    assert "<!-- results:end -->" in text

    results = json.loads(out.with_suffix(".json").read_text())
    for figure in ("import", "setup", "setup_genai", "hot", "nodrop", "overhead", "exit", "llm"):
        assert figure in results, figure
    # Every figure produced a measurement for llmops (values are not judged, only present).
    assert any("delta_s" in r for r in results["import"]["llmops"])
    assert any("setup_s" in r for r in results["setup"]["llmops"]), results["setup"]["llmops"]
    assert any("spans_per_s" in r for r in results["hot"]["down"]["llmops"])
    assert any("rss_after_mib" in r for r in results["hot"]["down"]["llmops"])
    assert any("rss_setup_mib" in r for r in results["setup"]["llmops"])
    if shutil.which("valgrind"):  # figure 2i: a count per run, and one per breakdown step
        counted = results["instructions"]
        assert all(r.get("instructions") for r in counted["runs"]["llmops"]), counted
        assert all(r.get("instructions") for r in counted["runs"]["llmops-toml"]), counted
        parts = counted["parts"]
        assert parts.get("instructions"), parts
        assert len(parts["instructions"]) == len(parts["steps"]), parts
    # The no-drop figure ran both thread counts (llmops and the raw SDK in one process).
    assert set(results["nodrop"].get("by_threads", {})) == {"1", "8"}, results["nodrop"]
    assert all(p["runs"] for p in results["nodrop"]["by_threads"].values())
    assert any("exit_s" in r for r in results["exit"]["down"]["llmops"])
    # The variant with `protocol: http` runs in llmops' venv, with its own row.
    assert any("exit_s" in r for r in results["exit"]["down"]["llmops-http"])
    assert any("sdk" in r for r in results["overhead"])
    assert any("llmops_enriching" in r for r in results["overhead"])
    assert any("call_p50_ms" in r for r in results["llm"]["llmops"]), results["llm"]["llmops"]
