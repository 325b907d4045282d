# ruff: noqa: RUF001  (the en dashes and multiplication signs in the tables are meant)
"""llmops performance benchmarks, side by side with the incumbents (standard library only).

    python benchmarks/run.py            # full run (~15 min on 2 cores); writes docs/performance.md
    python benchmarks/run.py --quick    # a minute or two; same sections, tiny counts

Each peer runs from its own virtual environment ``.venvs/bench-<peer>``, created here with ``uv``
from the pinned ``benchmarks/requirements/<peer>.txt`` (llmops itself is installed from this
checkout, non-editable, with the ``arize`` and ``google-genai`` extras, as a user would). Every
measurement is a fresh process (``benchmarks/probe.py``). After the venvs exist the harness moves
itself, when root, into a private network namespace whose only interface is loopback, so neither
the benchmark processes nor the Phoenix collector nor the Gemini stub can reach another host.

The generated results go between the ``<!-- results:begin -->`` and ``<!-- results:end -->``
markers of the output file; the hand-written text around them is kept.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
REQS = BENCH / "requirements"
PROBE = BENCH / "probe.py"
sys.path.insert(0, str(ROOT))

# peer -> (import statement for figure 1, label)
PEERS: dict[str, tuple[str, str]] = {
    "llmops": ("import llmops", "llmops"),
    "otel": (
        "import opentelemetry.sdk.trace, opentelemetry.sdk.trace.export, "
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        "raw OpenTelemetry SDK + OTLP/gRPC (floor)",
    ),
    "phoenix-otel": ("import phoenix.otel", "arize-phoenix-otel `phoenix.otel.register`"),
    "arize-otel": ("import arize.otel", "arize-otel `arize.otel.register`"),
    "mlflow": ("import mlflow", "mlflow-skinny (`mlflow.start_span_no_context`, OTLP export)"),
    "traceloop": ("from traceloop.sdk import Traceloop", "traceloop-sdk `Traceloop.init`"),
    "openlit": ("import openlit", "openlit `openlit.init`"),
    "logfire": ("import logfire", "logfire `logfire.configure`"),
}
# Variants: another set-up of a peer, in the peer's venv, measured where it matters (exit and
# delivery, figures 4 and 5): name -> (peer, spec overrides, label).
VARIANTS: dict[str, tuple[str, dict, str]] = {
    "llmops-http": (
        "llmops",
        {"llmops_protocol": "http"},
        "llmops, `protocol: http` (OTLP/HTTP to Phoenix's port 6006)",
    ),
}
EXTRA_LABELS = {  # runs of one figure only (fig_probe's ``extra``)
    "llmops-toml": "llmops, the same config as TOML (`tomllib`; no PyYAML import)",
}
VERSIONS = {  # distributions whose versions are recorded per venv
    "llmops": [
        "llmops",
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-grpc",
        "google-genai",
        "openinference-instrumentation-google-genai",
        "msgspec",
    ],
    "otel": [
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-grpc",
        "google-genai",
        "openinference-instrumentation-google-genai",
    ],
    "phoenix-otel": [
        "arize-phoenix-otel",
        "opentelemetry-sdk",
        "google-genai",
        "openinference-instrumentation-google-genai",
    ],
    "arize-otel": [
        "arize-otel",
        "opentelemetry-sdk",
        "google-genai",
        "openinference-instrumentation-google-genai",
    ],
    "mlflow": ["mlflow-skinny", "opentelemetry-sdk", "google-genai"],
    "traceloop": [
        "traceloop-sdk",
        "opentelemetry-sdk",
        "google-genai",
        "opentelemetry-instrumentation-google-generativeai",
    ],
    "openlit": ["openlit", "opentelemetry-sdk", "google-genai"],
    "logfire": [
        "logfire",
        "opentelemetry-sdk",
        "google-genai",
        "opentelemetry-instrumentation-google-genai",
    ],
}
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
FLOOR_QUEUE = 2048  # llmops' default queue, and the SDK's (probe.py's floor copies it)
# Figure 3c's variants (probe.py's overhead()): key -> label.
OVERHEAD_VARIANTS = {
    "sdk": "the SDK's default sampler + `BatchSpanProcessor` (the floor)",
    "swappable_sampler": "`SwappableSampler` alone (+ the SDK's `BatchSpanProcessor`)",
    "llmops_processors": "llmops' processors alone (`ProviderSlot` + `BatchExportProcessor`)",
    "llmops": "llmops as `instrument()` builds it (`SwappableSampler` + `ProviderSlot` + "
    "`BatchExportProcessor`)",
    "llmops_enriching": "llmops, enrichment processor active (after "
    "`openinference.instrumentation` is imported)",
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- virtual environments ------------------------------------------------------------------


PYTHON_FOR: dict[str, Path] = {}  # --python-for PEER=PATH overrides


def venv_python(peer: str) -> Path:
    if peer in PYTHON_FOR:
        return PYTHON_FOR[peer]
    return ROOT / ".venvs" / f"bench-{peer}" / "bin" / "python"


def ensure_env(peer: str, python: str) -> str | None:
    """Create or refresh ``.venvs/bench-<peer>``; return None, or the failure text."""
    req = REQS / f"{peer}.txt"
    venv = ROOT / ".venvs" / f"bench-{peer}"
    # "compiled": the venvs hold .pyc files, as pip leaves them for a user (uv does not compile
    # by default, and with PYTHONDONTWRITEBYTECODE every import would compile from source).
    digest = hashlib.sha256(b"compiled\0" + req.read_bytes()).hexdigest()
    if peer == "llmops":  # the checkout is part of what gets installed
        for path in [*sorted((ROOT / "llmops").rglob("*.py")), ROOT / "pyproject.toml"]:
            digest = hashlib.sha256(digest.encode() + path.read_bytes()).hexdigest()
    marker = venv / ".bench-requirements-sha256"
    if venv_python(peer).exists() and marker.exists() and marker.read_text() == digest:
        return None
    uv = shutil.which("uv")
    if uv is None:
        return "uv is not on PATH"
    install = [uv, "pip", "install", "-q", "--compile-bytecode", "--python", str(venv_python(peer))]
    steps = [
        [uv, "venv", "-q", "--clear", "--python", python, str(venv)],
        [*install, "-r", str(req)],
    ]
    if peer == "llmops":
        steps.append([*install, "--no-deps", "--reinstall", str(ROOT)])
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            return f"`{' '.join(step[:3])} …` failed: {(done.stderr or done.stdout)[-800:]}"
    marker.write_text(digest)
    return None


def versions_of(peer: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {'python': sys.version.split()[0]}\n"
        f"for n in {VERSIONS[peer]!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except Exception: out[n] = 'absent'\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run(
        [str(venv_python(peer)), "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"error": done.stderr[-300:]}


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1048576:.1f} GiB"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "kernel": platform.release(),
        "os": platform.platform(),
        "harness python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


# -- processes -----------------------------------------------------------------------------


class Env:
    """Endpoints and the environment every benchmark process gets."""

    def __init__(self, phoenix, stub_url: str | None, down_port: int, workdir: Path) -> None:
        self.phoenix = phoenix
        self.stub_url = stub_url
        self.down_port = down_port
        self.workdir = workdir

    def endpoints(self, up: bool) -> dict[str, str]:
        if up and self.phoenix is not None:
            return {"grpc": self.phoenix.grpc_endpoint, "http": self.phoenix.base_url}
        url = f"http://127.0.0.1:{self.down_port}"
        return {"grpc": url, "http": url}

    def environ(self, peer: str, spec: dict) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                (
                    "OTEL_",
                    "PHOENIX_",
                    "LLMOPS_",
                    "MLFLOW_",
                    "LOGFIRE_",
                    "TRACELOOP_",
                    "OPENLIT_",
                    "ARIZE_",
                )
            )
            and k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}
        }
        env.update(
            {
                "NO_PROXY": "*",
                "no_proxy": "*",
                "PYTHONDONTWRITEBYTECODE": "1",
                # Every peer's own telemetry / cloud calls off:
                "TRACELOOP_TELEMETRY": "false",
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "DO_NOT_TRACK": "1",
                "LOGFIRE_SEND_TO_LOGFIRE": "false",
                "LOGFIRE_CONSOLE": "false",
                "PHOENIX_TELEMETRY_ENABLED": "false",
                "OTEL_SDK_DISABLED": "false",
                "MLFLOW_MODEL_CATALOG_URI": "",
                "HF_HUB_OFFLINE": "1",
                "OTEL_RESOURCE_ATTRIBUTES": "openinference.project.name="
                + str(spec.get("project", "bench")),
            }
        )
        if peer == "mlflow":  # MLflow exports its spans over OTLP/HTTP to the collector
            env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"{spec['http']}/v1/traces"
            env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf"
        return env


def resolve_variant(name: str, spec: dict) -> tuple[str, dict]:
    """The peer and spec a variant name stands for (any other name unchanged)."""
    if name in VARIANTS:
        peer, over, _ = VARIANTS[name]
        return peer, {**spec, **over}
    return name, spec


def with_variants(peers: list[str]) -> list[str]:
    """``peers`` and the variants of those among them."""
    return peers + [v for v, (peer, _, _) in VARIANTS.items() if peer in peers]


def run_probe(
    env: Env,
    peer: str,
    spec: dict,
    *,
    timeout: float = 120.0,
    venv_peer: str | None = None,
    wrap: list[str] = (),
) -> dict:
    """Run probe.py in a fresh process (under ``wrap``, a command such as valgrind, if given);
    return its BENCH_RESULT (or {"error": ...})."""
    peer, spec = resolve_variant(peer, spec)
    spec = {"peer": peer, **spec}
    argv = [*wrap, str(venv_python(venv_peer or peer)), str(PROBE), json.dumps(spec)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=env.workdir,
            env=env.environ(venv_peer or peer, spec),
            start_new_session=True,
        )
        timer = threading.Timer(timeout, _kill, (proc,))
        timer.start()
        result: dict | None = None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("BENCH_RESULT "):
                    result = json.loads(line.split(" ", 1)[1])
                    break  # whatever the process does next (flushing at os._exit) is not timed
        finally:
            timer.cancel()
            _kill(proc)
            proc.wait()
        if result is None:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-6:]
            return {"error": f"no result (exit {proc.returncode}): " + " | ".join(tail)[-600:]}
        return result


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def time_exit(
    env: Env, peer: str, spec: dict, cap: float, reached: threading.Event | None = None
) -> dict:
    """Figure 4: wall time from the last span to process exit (normal interpreter exit).
    ``reached`` is set once the process has ended its last span (or has ended)."""
    peer, spec = resolve_variant(peer, spec)
    spec = {"peer": peer, "figure": "exit", **spec}
    proc = subprocess.Popen(
        [str(venv_python(peer)), str(PROBE), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=env.workdir,
        env=env.environ(peer, spec),
        start_new_session=True,
    )
    last: float | None = None
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: _read_last(proc, box, reached), daemon=True)
    box: dict[str, float] = {}
    reader.start()
    try:
        proc.wait(timeout=cap)
        ended = time.monotonic()
        killed = False
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.wait()
        ended = time.monotonic()
        killed = True
    reader.join(5)
    _kill(proc)
    last = box.get("last")
    if last is None:
        return {
            "error": f"did not reach its last span within {cap:.0f} s"
            + (" (killed)" if killed else f" (exit {proc.returncode})")
        }
    return {"exit_s": ended - last, "killed": killed}


def _read_last(proc: subprocess.Popen, box: dict, reached: threading.Event | None) -> None:
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith("BENCH_LAST "):
                box["last"] = float(line.split()[1])
                if reached is not None:
                    reached.set()
    finally:
        if reached is not None:  # it ended (or failed) without a last span: nothing to wait for
            reached.set()


def wait_quiet(phoenix, limit: float = 30.0) -> None:
    """Wait until the collector's CPU use falls below 10 % (it ingests what it was sent)."""
    pid = phoenix.pid if phoenix is not None else None
    if pid is None:
        return

    def cpu() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu()
        time.sleep(0.5)
        if cpu() - before < 0.05:
            return


def count_spans(phoenix, project: str, expected: int, limit: float = 20.0) -> int:
    """Spans Phoenix stored for ``project``, polled until ``expected`` or stable."""
    deadline = time.monotonic() + limit
    last, stable = -1, 0
    while True:
        try:
            n = len(phoenix.spans(project))
        except Exception:
            n = 0
        if n >= expected or time.monotonic() > deadline:
            return n
        stable = stable + 1 if n == last and n > 0 else 0
        if stable >= 6:
            return n
        last = n
        time.sleep(0.5)


# -- statistics and tables ------------------------------------------------------------------


def summary(values: list[float]) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def paired_ratio(peer_runs: list[dict], base_runs: list[dict], key: str) -> float | None:
    """Median over rounds of peer/llmops, each pair measured in the same round."""
    ratios = []
    for p, b in zip(peer_runs, base_runs, strict=False):
        pv, bv = p.get(key), b.get(key)
        if isinstance(pv, (int, float)) and isinstance(bv, (int, float)) and bv > 0:
            ratios.append(pv / bv)
    return statistics.median(ratios) if ratios else None


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value * 1e3:.{digits}f}"
    return f"{value:,.{digits}f}"


def _digits(value: float, unit: str) -> int:
    """Decimals that keep two significant figures for small values."""
    magnitude = abs(value) * (1e3 if unit == "ms" else 1)
    return 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# -- the figures ----------------------------------------------------------------------------


def fig_import(peers: list[str], rounds: int) -> dict:
    results: dict[str, list[dict]] = {p: [] for p in peers}
    # An empty working directory: `python -c` puts it first on sys.path, and listing a busy
    # /tmp (13,700 entries here) added about 8 ms to the first import of every peer.
    workdir = tempfile.mkdtemp(prefix="bench-import-")
    for _ in range(rounds):
        order = peers[:]
        random.shuffle(order)
        for peer in order:
            py = str(venv_python(peer))
            env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
            walls = []
            for code in ("pass", PEERS[peer][0]):
                t = time.perf_counter()
                done = subprocess.run(
                    [py, "-c", code],
                    capture_output=True,
                    env=env,
                    cwd=workdir,
                    check=False,
                    timeout=120,
                )
                walls.append(time.perf_counter() - t)
                if done.returncode != 0:
                    walls.append(None)
                    break
            if len(walls) == 2:
                results[peer].append(
                    {"bare_s": walls[0], "import_s": walls[1], "delta_s": walls[1] - walls[0]}
                )
            else:
                results[peer].append({"error": done.stderr.decode(errors="replace")[-400:]})
    shutil.rmtree(workdir, ignore_errors=True)
    return results


def fig_probe(
    env: Env,
    peers: list[str],
    rounds: int,
    spec: dict,
    *,
    up: bool,
    quiet: bool = False,
    timeout: float = 120.0,
    quiet_s: float = 60.0,
    extra: dict[str, tuple[str, dict]] | None = None,
) -> dict:
    """Run ``spec`` for every peer, round after round (pairs within a round)."""
    names = list(peers) + list(extra or {})
    results: dict[str, list[dict]] = {p: [] for p in names}
    for r in range(rounds):
        order = names[:]
        random.shuffle(order)
        for name in order:
            peer, over = (extra or {}).get(name, (name, {}))
            s = {
                **spec,
                **env.endpoints(up),
                "project": f"bench-{spec['figure']}-{name}-{r}",
                "stub": env.stub_url,
                **over,
            }
            venv_peer = over.get("venv") if over else None
            res = run_probe(env, peer, s, timeout=timeout, venv_peer=venv_peer)
            results[name].append(res)
            if quiet and up:
                wait_quiet(env.phoenix, limit=quiet_s)
    return results


FIGURE_SETTINGS: dict[str, tuple[str, ...]] = {
    "import": ("import_rounds",),
    "setup": ("setup_rounds", "setup_genai_rounds"),
    "instructions": ("instruction_runs",),
    "hot": ("hot_rounds", "hot_n", "hot_budget_s", "quiet_s"),
    "overhead": ("overhead_rounds", "overhead_blocks", "overhead_per_block"),
    "exit": ("exit_rounds", "exit_n", "exit_cap_s", "quiet_s"),
    "deliver": ("deliver_s", "deliver_rates", "sink_rates", "quiet_s"),
    "llm": ("llm_rounds", "llm_calls", "quiet_s"),
    "threads": ("threads_pairs", "threads_s"),
    "nodrop": ("nodrop_processes", "nodrop_pairs", "nodrop_threads", "nodrop_burst"),
}
"""The run settings each figure reads (``--only`` records those of the figures it re-runs)."""
INSTRUCTION_PEERS = ("llmops", "otel", "phoenix-otel")
"""Figure 2i's peers: llmops, the floor, and the closest peer (callgrind is slow)."""
PARTS = ["msgspec", "tomllib", "regex:yaml", "yaml"]
"""Figure 2i's breakdown, after the raw SDK's imports: what llmops' set-up imports that the
raw SDK does not, one at a time (probe.py's ``parts``)."""


def fig_instructions(env: Env, peers: list[str], runs: int) -> dict | None:
    """Figure 2i: instructions (callgrind) from the probe's start to a ready provider.

    Wall times of a 140-ms set-up spread 0.8-1.4x on this machine; an instruction count does
    not depend on what else the machine is doing, so two runs show it repeats. None without
    valgrind.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    names = [p for p in INSTRUCTION_PEERS if p in peers]
    extra = {"llmops-toml": ("llmops", {"llmops_format": "toml"})} if "llmops" in names else {}
    runs_of: dict[str, list[dict]] = {n: [] for n in [*names, *extra]}
    for r in range(runs):
        for name in runs_of:
            peer, over = extra.get(name, (name, {}))
            spec = {
                "figure": "setup",
                **env.endpoints(False),
                "project": f"bench-instructions-{name}-{r}",
                **over,
            }
            runs_of[name].append(_callgrind(env, valgrind, peer, spec))
    parts = (
        _callgrind(env, valgrind, "llmops", {"figure": "parts", "steps": PARTS})
        if "llmops" in names
        else None
    )
    return {"runs": runs_of, "parts": parts}


def _callgrind(env: Env, valgrind: str, peer: str, spec: dict) -> dict:
    """One probe under callgrind; ``instructions``: the count between each two of its
    ``os.getppid()`` calls (probe.py closes one at its start and one when the set-up is done)."""
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as tmp:
        wrap = [
            valgrind,
            "--tool=callgrind",
            "--dump-before=os_getppid",
            f"--callgrind-out-file={tmp}/cg",
        ]
        res = run_probe(env, peer, spec, timeout=600, wrap=wrap)
        # cg.1 is the interpreter's start, up to the probe's first os.getppid().
        dumps = sorted(Path(tmp).glob("cg.*"), key=lambda p: int(p.suffix[1:]))[1:]
        counts = []
        for dump in dumps:
            for line in dump.read_text().splitlines():
                if line.startswith("totals:"):
                    counts.append(int(line.split()[1]))
                    break
        if "error" not in res:
            if counts:
                res["instructions"] = counts
            else:  # valgrind ran, but found no os_getppid to dump at (a stripped interpreter)
                res["error"] = "callgrind wrote no count: is the interpreter stripped of symbols?"
    return res


def fig_exit(
    env: Env, peers: list[str], rounds: int, n: int, cap: float, quiet_s: float = 30.0
) -> dict:
    down: dict[str, list[dict]] = {p: [] for p in peers}
    up: dict[str, list[dict]] = {p: [] for p in peers}
    # Collector unreachable: the other peers wait on their exporters' timers for most of half
    # a minute, so they run side by side; llmops' runs (under a second) start once all of those
    # sit in their timers, so that their time is not the CPU the others' starts take.
    ours = [p for p in peers if resolve_variant(p, {})[0] == "llmops"]
    for r in range(rounds):
        boxes: dict[str, dict] = {}
        threads = []
        others = [p for p in peers if p not in ours]
        waiting = [threading.Event() for _ in others]
        for peer, reached in zip(others, waiting, strict=True):
            spec = {**env.endpoints(False), "n": n, "project": f"bench-exitdown-{peer}-{r}"}
            t = threading.Thread(
                target=lambda p=peer, s=spec, b=boxes, e=reached: b.__setitem__(
                    p, time_exit(env, p, s, cap, reached=e)
                )
            )
            t.start()
            threads.append(t)
        deadline = time.monotonic() + cap
        for reached in waiting:
            reached.wait(max(deadline - time.monotonic(), 0.0))
        for peer in ours:
            spec = {**env.endpoints(False), "n": n, "project": f"bench-exitdown-{peer}-{r}"}
            boxes[peer] = time_exit(env, peer, spec, cap)
        for t in threads:
            t.join()
        for peer in peers:
            down[peer].append(boxes[peer])
    if env.phoenix is None:
        return {"down": down, "up": None}
    for r in range(rounds):
        for peer in peers:
            project = f"bench-exitup-{peer}-{r}"
            spec = {**env.endpoints(True), "n": n, "project": project}
            res = time_exit(env, peer, spec, cap)
            if "error" not in res:
                res["delivered"] = count_spans(env.phoenix, project, n)
                res["sent"] = n
            up[peer].append(res)
            wait_quiet(env.phoenix, limit=quiet_s)
    return {"down": down, "up": up}


def fig_deliver(
    env: Env,
    peers: list[str],
    rates: list[int],
    duration: float,
    endpoint: dict[str, str] | None = None,
    quiet_s: float = 60.0,
) -> dict:
    out: dict[str, list[dict]] = {}
    for peer in peers:
        out[peer] = []
        for rate in rates:
            spec = {
                "figure": "deliver",
                "rate": rate,
                "duration_s": duration,
                **(endpoint or env.endpoints(True)),
                "project": f"bench-deliver-{peer}-{rate}",
            }
            res = run_probe(env, peer, spec, timeout=duration + 60)
            out[peer].append(res)
            if endpoint is None:
                wait_quiet(env.phoenix, limit=quiet_s)
            if (
                "error" in res
                or res.get("dropped", 1) > 0
                or (res.get("achieved_rate", 0) < 0.9 * rate)
            ):
                break
    return out


# -- the report ------------------------------------------------------------------------------


def fig_threads(cfg: dict) -> dict:
    """Figure 7: 50 threads, llmops / raw SDK, paired runs (``benchmarks/threads.py``)."""
    # venv_python("llmops") honours --python-for (the smoke test's dev interpreter); threads.py
    # runs its children and its null collector with the interpreter that runs it.
    argv = [str(venv_python("llmops")), str(BENCH / "threads.py"), "--json", "--threads", "50"]
    argv += ["--pairs", str(cfg["threads_pairs"]), "--seconds", str(cfg["threads_s"])]
    argv += ["--bursts", "3" if cfg["quick"] else "10"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("THREADS_JSON "):
            return json.loads(line.split(" ", 1)[1])
    return {"error": f"exit {done.returncode}: {done.stderr[-600:]}"}


def _threads_part(data: dict) -> tuple[str, dict | None]:
    """(thread count, its part) of a THREADS_JSON: ``by_threads["50"]``, or the old layout."""
    by = data.get("by_threads")
    if isinstance(by, dict) and by:
        key = "50" if "50" in by else next(iter(by))
        return key, by[key]
    if "down" in data or "bursts" in data:  # before threads.py took several thread counts
        return str(data.get("threads", "?")), data
    return "50", None


def _ratio_span(part: dict) -> tuple[float | None, float | None, float | None]:
    """Median, min and max of a pair set's ratios (an old result has no ``ratio_max``)."""
    ratios = [r["ratio"] for r in part.get("runs", []) if r.get("ratio") is not None]
    med = part.get("ratio_median")
    low = part.get("ratio_min")
    high = part.get("ratio_max")
    if ratios:
        med = statistics.median(ratios) if med is None else med
        low = min(ratios) if low is None else low
        high = max(ratios) if high is None else high
    return med, low, high


def render_threads(data: dict | None) -> str:
    if not data:
        return ""
    if "error" in data:
        return f"\n### 7. 50 threads\n\nFailed: {data['error'][:300]}\n"
    threads, part = _threads_part(data)
    if part is None:
        return f"\n### 7. {threads} threads\n\nNo result for {threads} threads.\n"
    burst_spans = part.get("burst_spans", data.get("burst_spans"))
    bursts = data.get("burst_count")
    out = [
        f"\n### 7. {threads} threads ending spans at once\n",
        f"`benchmarks/threads.py`: {threads} threads started first, then one shared "
        f"window of {data['seconds']} s (a barrier, each thread ending spans until a shared "
        f"deadline); spans with {data.get('attributes', 3)} attributes; queue "
        f"{data['queue']}; llmops against the raw SDK (`BatchSpanProcessor` + the same "
        "OTLP/gRPC exporter), fresh processes, "
        f"{data.get('pairs', '?')} paired runs in alternating order; ratio = llmops / raw "
        "within a pair. *Down* (drop regime): a closed loopback port, so the queue is full and "
        "nearly every span takes the drop path. *Bursts* (no-drop regime): a null collector "
        "(`benchmarks/sink.py`), "
        + (f"{bursts} " if bursts else "")
        + "bursts that fit the queue"
        + (f" ({burst_spans:,} spans each)" if isinstance(burst_spans, int) else "")
        + ", flushed between bursts outside the timed window, every span delivered. "
        "Target: median ≥ 0.9×, no pair under 0.6×.\n",
    ]
    regimes = (("down", "down (drop regime)"), ("bursts", "bursts (no-drop regime)"))
    summary_rows = []
    for key, name in regimes:
        sub = part.get(key)
        if not sub:
            continue
        ok = [r for r in sub.get("runs", []) if r.get("ratio") is not None]
        llm = summary([r["llmops"].get("spans_per_s") for r in ok])
        raw = summary([r["raw"].get("spans_per_s") for r in ok])
        med, low, high = _ratio_span(sub)
        summary_rows.append(
            [
                name,
                f"{len(ok)}/{len(sub.get('runs', []))}",
                fmt(llm["median"], "", 0) if llm else "—",
                fmt(raw["median"], "", 0) if raw else "—",
                f"**{med:.2f}×**" if med is not None else "—",
                f"{low:.2f}–{high:.2f}×" if low is not None and high is not None else "—",
            ]
        )
    if summary_rows:
        out.append(
            table(
                [
                    "regime",
                    "pairs ok",
                    "llmops spans/s, median",
                    "raw spans/s, median",
                    "ratio llmops/raw, median",
                    "min–max",
                ],
                summary_rows,
            )
        )
    rows = []
    for key, name in regimes:
        sub = part.get(key)
        if not sub:
            continue
        for i, run in enumerate(sub.get("runs", []), 1):
            llm, raw = run.get("llmops", {}), run.get("raw", {})
            ratio = run.get("ratio")
            rows.append(
                [
                    name,
                    str(i),
                    fmt(llm.get("spans_per_s"), "", 0),
                    fmt(raw.get("spans_per_s"), "", 0),
                    f"{ratio:.2f}×" if ratio else "failed",
                    run.get("first", ""),
                ]
            )
    if rows:
        out.append("\nEvery pair:\n")
        out.append(
            table(["regime", "pair", "llmops spans/s", "raw spans/s", "ratio", "first"], rows)
        )
    return "\n".join(out) + "\n"


def fig_nodrop(cfg: dict) -> dict:
    """Figure 3n: the no-drop regime, llmops and the raw SDK in one process
    (``benchmarks/nodrop.py``)."""
    # As fig_threads: venv_python("llmops") honours --python-for, and nodrop.py runs its
    # children and the null collector with the interpreter that runs it.
    argv = [str(venv_python("llmops")), str(BENCH / "nodrop.py"), "--json"]
    argv += ["--processes", str(cfg["nodrop_processes"]), "--pairs", str(cfg["nodrop_pairs"])]
    argv += ["--threads", cfg["nodrop_threads"]]
    if cfg.get("nodrop_burst"):
        argv += ["--burst", str(cfg["nodrop_burst"])]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("NODROP_JSON "):
            return json.loads(line.split(" ", 1)[1])
    return {"error": f"exit {done.returncode}: {done.stderr[-600:]}"}


def render_nodrop(data: dict | None) -> str:
    title = "\n### 3n. No-drop regime: bursts that fit the queue, every span delivered\n"
    if not data:
        return (
            title + "\nNot measured in these results (`python benchmarks/run.py --only nodrop`).\n"
        )
    if "error" in data:
        return title + f"\nFailed: {data['error'][:300]}\n"
    out = [
        title,
        f"`benchmarks/nodrop.py`: llmops (`llmops.instrument()`, `platform: otlp`, its defaults) "
        "and the raw SDK (`TracerProvider` + `BatchSpanProcessor` + the same exporter class, with "
        "llmops' queue of 2,048 spans, batch of 512 and delay of 1 s) set up in one process, both "
        "exporting over OTLP/gRPC to the null collector `benchmarks/sink.py` on loopback (it "
        f"acknowledges at once). A pair is one burst through each, in alternating order; "
        f"{data.get('pairs', '?')} pairs per process after a warm-up burst, "
        f"{data.get('processes', '?')} fresh process(es) per thread count. A burst is "
        f"{data.get('burst', '?'):,} spans (start, 3 attributes, end: figure 3's span) ended by "
        "the threads released by a barrier, small enough to fit the queue, then "
        "`force_flush()`. CPU µs/span = the process CPU time from the barrier to the end of the "
        "flush (every thread, the export included) per span; spans/s = the burst's spans over "
        "the barrier-to-last-`end()` wall time. Every span must be delivered (counted where the "
        "exporter saw the collector acknowledge); a process with a span missing is an error. "
        "Ratios per pair (CPU raw/llmops: above 1, llmops is cheaper), their median per "
        "process, then the median and min–max over processes; spans/s and CPU µs/span are "
        "medians over pairs, then over processes. Target: spans/s ratio ≥ 0.98× in the "
        "median.\n",
    ]

    def ratio(part: dict, key: str) -> str:
        r = part.get(key)
        if not r:
            return "—"
        return f"**{r['median']:.3f}×** ({r['min']:.3f}–{r['max']:.3f})"

    def per(part: dict, key: str, who: str, digits: int) -> str:
        values = part.get(key)
        return fmt(values.get(who), "", digits) if values else "—"

    rows = []
    for threads, part in sorted(data.get("by_threads", {}).items(), key=lambda kv: int(kv[0])):
        runs = part.get("runs", [])
        errs = [r["error"] for r in runs if "error" in r]
        rows.append(
            [
                threads,
                per(part, "spans_per_s", "llmops", 0),
                per(part, "spans_per_s", "raw", 0),
                ratio(part, "rate_ratio"),
                per(part, "cpu_us", "llmops", 1),
                per(part, "cpu_us", "raw", 1),
                ratio(part, "cpu_ratio"),
                f"{len(errs)}/{len(runs)}: {errs[0][:160]}".replace("|", "/") if errs else "0",
            ]
        )
    out.append(
        table(
            [
                "threads",
                "llmops spans/s",
                "raw SDK spans/s",
                "spans/s ratio llmops/raw, median (min–max over processes)",
                "CPU µs/span llmops",
                "raw",
                "CPU ratio raw/llmops, median (min–max)",
                "errors",
            ],
            rows,
        )
    )
    return "\n".join(out) + "\n"


def render_instructions(data: dict | None, label) -> str:  # type: ignore[no-untyped-def]
    """Figure 2i: callgrind's counts of the set-up, and the breakdown of what llmops adds."""
    title = "\n### 2i. Set-up instructions (callgrind)\n"
    if not data:
        return title + "\nNot measured: no valgrind on this machine.\n"

    def first(run: dict) -> int | None:
        counts = run.get("instructions") or []
        return counts[0] if counts and "error" not in run else None

    floor = [v for v in map(first, data["runs"].get("otel", [])) if v]
    floor_mean = statistics.mean(floor) if floor else None
    rows = []
    for name, runs in data["runs"].items():
        values = [v for v in map(first, runs) if v]
        if not values:
            rows.append([label(name), "failed: " + errors_of(runs)[:200].replace("|", "/"), ""])
            continue
        ratio = statistics.mean(values) / floor_mean if floor_mean else None
        rows.append(
            [
                label(name),
                "; ".join(f"{v / 1e6:,.1f}" for v in values),
                f"{ratio:.3f}×" if ratio else "—",
            ]
        )
    out = [
        title,
        "Instructions executed from the probe's first line to a ready provider (2a's span), "
        "counted by valgrind's callgrind in fresh processes, one value per run; millions. "
        "The count does not move with the machine's load, as 2a's wall times do. "
        "× raw SDK: mean over the floor's mean.\n",
        table(["peer", "instructions, M (each run)", "× raw SDK"], rows),
    ]
    parts = data.get("parts") or {}
    counts, steps = parts.get("instructions") or [], parts.get("steps") or []
    if parts and not (counts and len(counts) == len(steps) and floor_mean):
        reason = parts.get("error") or (
            f"{len(counts)} counts for {len(steps)} steps" if floor_mean else "no floor count"
        )
        out.append(f"\nThe breakdown failed: {reason[:300]}")
    elif counts:
        floor = floor_mean
        names = {
            "regex:yaml": "`yaml.reader`'s `NON_PRINTABLE` regular expression, compiled alone",
            "yaml": "`import yaml` (PyYAML), that expression already compiled",
        }
        out.append(
            "\nWhat llmops' set-up imports that the raw SDK's does not, each imported alone "
            "after the raw SDK's imports (probe.py's `parts`), against the floor's whole count:\n"
        )
        out.append(
            table(
                ["step", "instructions, M", "share of the floor's set-up"],
                [
                    [names.get(step, f"`import {step}`"), f"{c / 1e6:,.1f}", f"{c / floor:.3f}"]
                    for step, c in list(zip(steps, counts, strict=True))[1:]
                ],
            )
        )
    return "\n".join(out) + "\n"


def render_rss(down: dict, cfg: dict, label) -> str:  # type: ignore[no-untyped-def]
    """Figure 3r: peak RSS after set-up and after the hot loop (figure 3a's runs)."""
    out = [f"\n### 3r. Peak RSS after set-up and after {cfg['hot_n']:,} spans\n"]
    if not any("rss_after_mib" in r for runs in down.values() for r in runs):
        out.append(
            "Not recorded in these results (they predate it; "
            "`python benchmarks/run.py --only hot` records it)."
        )
        return "\n".join(out)
    out.append(
        "From figure 3a's runs (fresh process per run, collector down): `ru_maxrss` of "
        "`resource.getrusage(RUSAGE_SELF)`, the peak resident set of the whole process (the "
        "interpreter included), read right after the set-up and again after the hot loop; MiB, "
        "medians over runs. Spans emitted = warm-up and loop spans actually ended before the "
        "second reading. × raw SDK is paired within a round.\n"
    )
    base = down.get("otel", [])
    rows = []
    for p, runs in down.items():
        ok = [r for r in runs if "error" not in r]
        setup = summary([r.get("rss_setup_mib") for r in ok])
        after = summary([r.get("rss_after_mib") for r in ok])
        if after is None:
            rows.append(
                [label(p), "failed: " + errors_of(runs)[:200].replace("|", "/"), "", "", ""]
            )
            continue
        spans = summary([r.get("rss_after_spans") for r in ok])
        truncated = sum(1 for r in ok if r.get("truncated"))
        ratio = paired_ratio(runs, base, "rss_after_mib") if base else None
        rows.append(
            [
                label(p),
                fmt(setup["median"], "", 1) if setup else "—",
                fmt(after["median"], "", 1),
                (fmt(spans["median"], "", 0) if spans else "—")
                + (f" ({truncated} run(s) truncated: budget hit)" if truncated else ""),
                f"{ratio:.2f}×" if ratio else "—",
            ]
        )
    out.append(
        table(
            [
                "peer",
                "peak RSS after set-up MiB (median)",
                "after the hot loop MiB (median)",
                "spans emitted",
                "× raw SDK (after)",
            ],
            rows,
        )
    )
    return "\n".join(out)


def errors_of(runs: list[dict]) -> str:
    errs = [r["error"] for r in runs if "error" in r]
    return errs[0] if errs else ""


def render(res: dict) -> str:
    L: list[str] = []
    cfg = res["config"]
    L.append(
        f"_Generated by `python benchmarks/run.py{' --quick' if cfg['quick'] else ''}` "
        f"on {res['machine']['date']}; raw data in `{cfg['json']}`._\n"
    )
    L.append("### Machine\n")
    L.append(
        table(
            ["", ""],
            [[k, str(v)] for k, v in res["machine"].items()]
            + [["network isolation", res["isolation"]], ["collector", res["collector"]]],
        )
    )
    L.append("\n### Versions\n")
    rows = []
    for peer, v in res["versions"].items():
        rows.append([peer, ", ".join(f"{k} {val}" for k, val in v.items())])
    L.append(table(["venv", "packages"], rows))
    if res["install_failures"]:
        L.append("\nInstall failures:\n")
        for peer, text in res["install_failures"].items():
            L.append(f"- **{peer}**: `{text[:400]}`")
    for rerun in res.get("reruns", []):
        L.append(f"\nFigure(s) {', '.join(rerun['figures'])} re-run on {rerun['date']}.")
    L.append("\n### Run counts\n")
    L.append(
        table(["setting", "value"], [[k, str(v)] for k, v in cfg.items() if k not in {"json"}])
    )

    def label(p: str) -> str:
        if p in EXTRA_LABELS:
            return EXTRA_LABELS[p]
        if p in VARIANTS:
            return VARIANTS[p][2]
        return PEERS[p][1] if p in PEERS else p

    # 1 import
    L.append("\n### 1. Import cost\n")
    imp = res["import"]
    rounds = max((len(runs) for runs in imp.values()), default=0)
    bare = summary([r.get("bare_s") for r in imp.get("llmops", [])])
    L.append(
        'Wall time of `python -c "<import>"` minus `python -c pass` in the same venv, '
        f"{rounds} round(s), fresh processes, this machine (see Machine above), the working "
        "directory a temporary one; ms. "
        + (
            f"The bare interpreter (`python -c pass`) took a median {fmt(bare['median'], 'ms')} "
            "ms in llmops' venv (each venv's in its column). "
            if bare
            else ""
        )
        + "Ratio = peer / llmops, paired per round.\n"
    )
    rows = []
    for p, runs in imp.items():
        s, b = summary([r.get("delta_s") for r in runs]), summary([r.get("bare_s") for r in runs])
        ratio = paired_ratio(runs, imp.get("llmops", []), "delta_s") if "llmops" in imp else None
        if s is None:
            rows.append([label(p), f"`{PEERS[p][0]}`", "failed", "", "", errors_of(runs)[:200]])
            continue
        rows.append(
            [
                label(p),
                f"`{PEERS[p][0][:60]}`",
                fmt(s["median"], "ms"),
                f"{fmt(s['min'], 'ms')}–{fmt(s['max'], 'ms')}",
                fmt(b["median"], "ms") if b else "—",
                f"{ratio:.1f}×" if ratio else "—",
            ]
        )
    L.append(
        table(
            [
                "peer",
                "import",
                "above bare, median ms",
                "min–max",
                "bare interpreter ms",
                "× llmops",
            ],
            rows,
        )
    )

    def probe_table(
        title: str,
        data: dict,
        key: str,
        unit: str,
        note: str,
        extra_cols: list[tuple[str, str, str]] = (),
    ) -> None:
        L.append(f"\n### {title}\n")
        L.append(note + "\n")
        rows = []
        base = data.get("llmops", [])
        for p, runs in data.items():
            s = summary([r.get(key) for r in runs if "error" not in r])
            if s is None:
                rows.append(
                    [label(p), "failed: " + errors_of(runs)[:240].replace("|", "/"), "", ""]
                    + ["" for _ in extra_cols]
                )
                continue
            ratio = paired_ratio(runs, base, key)
            cells = [
                label(p),
                fmt(s["median"], unit, _digits(s["median"], unit)),
                f"{fmt(s['min'], unit, _digits(s['min'], unit))}–"
                f"{fmt(s['max'], unit, _digits(s['max'], unit))}",
                f"{ratio:.2f}×" if ratio else "—",
            ]
            for _h, k, u in extra_cols:
                e = summary([r.get(k) for r in runs if "error" not in r])
                cells.append(fmt(e["median"], u, _digits(e["median"], u)) if e else "—")
            if any(r.get("truncated") for r in runs):
                cells[1] += " (budget hit)"
            rows.append(cells)
        L.append(
            table(["peer", "median", "min–max", "× llmops"] + [h for h, _, _ in extra_cols], rows)
        )

    probe_table(
        "2a. Set-up cost, no instrumentors",
        res["setup"],
        "setup_s",
        "ms",
        "In-process wall time from before the first import to a ready provider (the "
        "peer's documented one-call set-up, OTLP endpoint on loopback); ms.",
    )
    probe_table(
        "2b. Set-up cost with google-genai instrumentation",
        res["setup_genai"],
        "setup_s",
        "ms",
        "As 2a, with the peer's google-genai instrumentor applied; ms.",
    )
    L.append(render_instructions(res.get("instructions"), label).rstrip("\n"))
    queue = FLOOR_QUEUE
    for mode in ("down", "up"):
        letter = "a" if mode == "down" else "b"
        if res["hot"].get(mode) is None:
            L.append(
                f"\n### 3{letter}. Hot path, drop regime, collector {mode}\n\n"
                "Not measured: no collector."
            )
            continue
        regime = (
            f"{cfg['hot_n']:,} spans in one go into a {queue:,}-span queue (llmops' and the "
            "SDK's default; a peer with a synchronous processor has none), so most spans take "
            "the drop path: this is the **drop regime**; figure 3n is the no-drop regime."
            if cfg["hot_n"] > queue
            else f"(A small run: {cfg['hot_n']:,} spans fit the {queue:,}-span queue, so this "
            "run does not reach the drop path; figure 3n is the no-drop regime.)"
        )
        probe_table(
            f"3{letter}. Hot path, drop regime, collector {mode}",
            res["hot"][mode],
            "spans_per_s",
            "",
            f"Spans per second (start, 3 attributes, end) through the provider the set-up returns, "
            f"{cfg['hot_n']:,} spans after 200 warm-up, budget {cfg['hot_budget_s']} s; and "
            f"`span.end()` latency in µs. Collector {mode}"
            + (
                " (a closed loopback port). "
                if mode == "down"
                else " (a real Phoenix on loopback). "
            )
            + regime,
            [
                ("end() p50 µs", "end_p50_us", ""),
                ("end() p99 µs", "end_p99_us", ""),
                ("end() max µs", "end_max_us", ""),
            ],
        )
    L.append(render_nodrop(res.get("nodrop")).rstrip("\n"))
    # 3c wrappers
    L.append("\n### 3c. llmops' hot-path wrappers, in one process\n")
    ov = [r for r in res.get("overhead") or [] if "error" not in r]
    if not ov:
        L.append(
            "Not measured."
            + (f" {errors_of(res.get('overhead') or [])}" if res.get("overhead") else "")
        )
    else:
        L.append(
            f"llmops venv, one process, {cfg['overhead_blocks']} alternating blocks of "
            f"{cfg['overhead_per_block']:,} spans per variant, {len(ov)} process(es) "
            "(`benchmarks/probe.py`, `overhead()`). Every variant is a `TracerProvider` over a "
            "null exporter (no encoding runs) whose worker sleeps while a block is timed. The "
            "floor is the SDK's default sampler and `BatchSpanProcessor`; *llmops* is what "
            "`instrument()` builds, with every processor llmops adds on the hot path: "
            "`SwappableSampler`, `ProviderSlot` and the `BatchExportProcessor`, and, when "
            "something can enrich (once `openinference.instrumentation` is imported), "
            "`ContextAttributesProcessor` in the slot (its own row). ns, medians over blocks "
            "(then over processes); Δ against the floor.\n"
        )
        names = [k for k in ov[0] if isinstance(ov[0][k], dict)]
        rows = []
        base_s = statistics.median(r["sdk"]["start_p50_ns"] for r in ov)
        base_e = statistics.median(r["sdk"]["end_p50_ns"] for r in ov)
        for n in names:
            st_ = statistics.median(r[n]["start_p50_ns"] for r in ov)
            en_ = statistics.median(r[n]["end_p50_ns"] for r in ov)
            sp_ = statistics.median(r[n]["span_ns"] for r in ov)
            rows.append(
                [
                    OVERHEAD_VARIANTS.get(n, f"`{n}`"),
                    f"{st_:,.0f}",
                    f"{st_ - base_s:+,.0f}",
                    f"{en_:,.0f}",
                    f"{en_ - base_e:+,.0f}",
                    f"{sp_:,.0f}",
                ]
            )
        L.append(
            table(
                [
                    "variant",
                    "start_span p50 ns",
                    "Δ start",
                    "end() p50 ns",
                    "Δ end",
                    "whole span (3 attributes) ns, noisy",
                ],
                rows,
            )
        )
    # 3r peak RSS (the hot runs, collector down)
    L.append(render_rss(res["hot"].get("down") or {}, cfg, label))
    # 4 exit
    for mode in ("down", "up"):
        data = res["exit"].get(mode)
        L.append(
            f"\n### 4{'a' if mode == 'down' else 'b'}. Exit time, collector "
            f"{'unreachable' if mode == 'down' else 'up'}\n"
        )
        if data is None:
            L.append("Not measured: no collector.")
            continue
        L.append(
            f"Seconds from the last of {cfg['exit_n']} spans to process exit, the program "
            f"ending normally (no explicit shutdown call); cap {cfg['exit_cap_s']} s, then "
            "killed."
            + (
                " Delivered = spans Phoenix stored."
                if mode == "up"
                else " A closed loopback port (connection refused). The other peers wait on "
                "their exporters' timers, so they run side by side; llmops' runs start once "
                "all of them have ended their last span, one at a time."
            )
            + "\n"
        )
        rows = []
        for p, runs in data.items():
            s = summary([r.get("exit_s") for r in runs if "error" not in r])
            if s is None:
                rows.append([label(p), "failed: " + errors_of(runs)[:200], "", "", ""])
                continue
            ratio = paired_ratio(runs, data.get("llmops", []), "exit_s")
            killed = sum(1 for r in runs if r.get("killed"))
            cells = [
                label(p),
                f"{s['median']:.2f}" + (f" ({killed} killed at cap)" if killed else ""),
                f"{s['min']:.2f}–{s['max']:.2f}",
                f"{ratio:.2f}×" if ratio else "—",
            ]
            if mode == "up":
                d = [
                    f"{r.get('delivered', '?')}/{r.get('sent', '?')}"
                    for r in runs
                    if "error" not in r
                ]
                cells.append(", ".join(d))
            rows.append(cells)
        L.append(
            table(
                ["peer", "median s", "min–max", "× llmops"]
                + (["delivered per run"] if mode == "up" else []),
                rows,
            )
        )
    # 5 delivery
    for key, title, note in (
        (
            "deliver",
            "5a. Delivery to a loopback Phoenix",
            "delivered = spans the OTLP exporter saw acknowledged (SUCCESS) by Phoenix",
        ),
        (
            "deliver_sink",
            "5b. Delivery to a null OTLP/gRPC collector (exporter-side ceiling)",
            "`benchmarks/sink.py` acknowledges every export at once, so this is what the "
            "exporting process itself can sustain",
        ),
    ):
        L.append(f"\n### {title}\n")
        if res.get(key) is None:
            L.append("Not measured: no collector.")
            continue
        L.append(
            f"Paced emission (10 ms ticks) at each target rate for {cfg['deliver_s']} s, "
            f"then shutdown; {note}; the ladder stops at the first rate with drops or that "
            "the emitter cannot reach. Export ms = mean / max wall time of one export "
            "call (one batch).\n"
        )
        rows = []
        for p, steps in res[key].items():
            for r in steps:
                if "error" in r:
                    rows.append([label(p), "", "failed: " + r["error"][:200], "", "", "", "", ""])
                    continue
                rows.append(
                    [
                        label(p),
                        f"{r['target_rate']:,.0f}",
                        f"{r['achieved_rate']:,.0f}",
                        f"{r['emitted']:,}",
                        f"{r['exported']:,}",
                        f"{r['dropped']:,}",
                        f"{r['flush_s']:.2f}",
                        f"{fmt(r.get('export_mean_ms'))} / {fmt(r.get('export_max_ms'))}",
                    ]
                )
        L.append(
            table(
                [
                    "peer",
                    "target spans/s",
                    "achieved spans/s",
                    "emitted",
                    "delivered",
                    "dropped",
                    "shutdown s",
                    "export ms",
                ],
                rows,
            )
        )
        for p, steps in res[key].items():
            ok = [r["achieved_rate"] for r in steps if "error" not in r and r["dropped"] == 0]
            L.append(
                f"\n- {label(p)}: highest rate with zero drops {max(ok):,.0f} spans/s"
                if ok
                else f"\n- {label(p)}: no zero-drop rate"
            )
    # 6 llm
    if res["llm"] is None:
        L.append("\n### 6. Instrumented LLM call\n\nNot measured: no Gemini stub.")
    else:
        probe_table(
            "6. Instrumented LLM call overhead",
            res["llm"],
            "call_p50_ms",
            "",
            f"`client.models.generate_content` to the loopback Gemini stub, {cfg['llm_calls']} "
            "calls after 5 warm-up, collector up; ms per call (median over runs of the per-run "
            "p50). `uninstrumented` is the same client with no tracing at all.",
            [
                ("p99 ms", "call_p99_ms", ""),
                ("mean ms", "call_mean_ms", ""),
                ("spans exported per run", "spans_exported", ""),
            ],
        )
    L.append(render_threads(res.get("threads")))
    return "\n".join(L) + "\n"


SKELETON = """# Performance

How much llmops costs an application, measured side by side with the incumbents.

## Method

See `benchmarks/run.py` and `benchmarks/probe.py`. Figures: 1, import cost; 2, set-up cost;
3a/3b, the hot path in the drop regime (10,000 spans into a 2,048-span queue); 3n, the no-drop
regime (`benchmarks/nodrop.py`: bursts that fit the queue, every span delivered); 3c, llmops'
hot-path pieces in one process: `SwappableSampler` + `ProviderSlot` + `BatchExportProcessor`
(and a variant with `ContextAttributesProcessor` in the slot) against the SDK's default sampler
+ `BatchSpanProcessor`, over a null exporter; 3r, peak RSS; 4, exit time; 5, delivery; 6, an
instrumented LLM call; 7, 50 threads (`benchmarks/threads.py`).

## Results

{begin}
{end}

## Defaults and why

(Written by hand from the results.)
"""


def write_report(out: Path, body: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = out.read_text() if out.exists() else SKELETON.format(begin=BEGIN, end=END)
    if BEGIN not in text or END not in text:
        text += f"\n## Results\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    out.write_text(f"{head}{BEGIN}\n{body}{END}{tail}")


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny run counts (a minute or two)")
    ap.add_argument("--smoke", action="store_true", help="even smaller counts (CI's smoke test)")
    ap.add_argument(
        "--peers", default=",".join(PEERS), help="comma-separated subset of: " + ", ".join(PEERS)
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report file (default: docs/performance.md for a full run, "
        "benchmarks/results/quick.md for --quick/--smoke, so small counts never replace the "
        "published numbers)",
    )
    ap.add_argument(
        "--json",
        type=Path,
        default=None,
        help="raw results (default beside --out "
        "for --out outside docs/, else benchmarks/results/latest.json)",
    )
    ap.add_argument(
        "--no-install",
        action="store_true",
        help="use existing venvs only; peers whose venv is absent are skipped",
    )
    ap.add_argument("--no-collector", action="store_true", help="skip the Phoenix figures")
    ap.add_argument(
        "--python",
        default=None,
        help="interpreter for the venvs (default: this interpreter's base)",
    )
    ap.add_argument(
        "--python-for",
        action="append",
        default=[],
        metavar="PEER=PATH",
        help="run PEER with this interpreter instead of its bench venv (nothing is installed "
        "for it); the smoke test uses the dev venv for llmops and the floor",
    )
    ap.add_argument(
        "--only",
        default="",
        help="re-run only these figures (comma-separated: import, setup, instructions, hot, "
        "nodrop, overhead, exit, deliver, llm, threads) and merge them into the existing "
        "results JSON",
    )
    ap.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="only re-render the report from a results JSON (no measurement)",
    )
    args = ap.parse_args(argv)
    if args.render is not None:
        out = args.out or ROOT / "docs" / "performance.md"
        write_report(out, render(json.loads(args.render.read_text())))
        log(f"rendered {args.render} into {out}")
        return 0
    for item in args.python_for:
        name, _, path = item.partition("=")
        PYTHON_FOR[name.strip()] = Path(path.strip())
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}")
    if "llmops" not in peers:
        peers.insert(0, "llmops")
    q = args.quick or args.smoke
    if args.out is None:
        args.out = BENCH / "results" / "quick.md" if q else ROOT / "docs" / "performance.md"
    cfg = {
        "quick": q,
        "import_rounds": 2 if q else 7,
        "setup_rounds": 1 if q else 21,
        "setup_genai_rounds": 1 if q else 3,
        "instruction_runs": 1 if q else 2,
        "hot_rounds": 1 if q else 3,
        "hot_n": 300 if q else 10000,
        "hot_budget_s": 2.0 if q else 8.0,
        "overhead_rounds": 1 if q else 3,
        "overhead_blocks": 3 if q else 15,
        "overhead_per_block": 1000 if q else 5000,
        "exit_rounds": 1 if q else 3,
        "exit_n": 50 if q else 2000,
        "exit_cap_s": 8.0 if q else 35.0,
        "deliver_s": 1.0 if q else 3.0,
        "deliver_rates": [1000, 3000] if q else [1000, 1500, 2000, 2500, 3000, 4000, 6000],
        "sink_rates": [5000] if q else [5000, 7500, 10000, 12500, 15000, 20000, 30000],
        "llm_rounds": 1 if q else 3,
        "llm_calls": 5 if q else 100,
        "quiet_s": 5.0 if q else 12.0,
        "threads_pairs": 2 if q else 7,
        "threads_s": 1.0 if q else 2.0,
        "nodrop_processes": 1 if q else 5,
        "nodrop_pairs": 5 if q else 20,
        "nodrop_threads": "1,8",
        "nodrop_burst": None,  # nodrop.py's default (2,000 spans, fits the queue)
    }
    if args.smoke:  # the CI smoke test: every code path, the smallest counts
        cfg.update(
            import_rounds=1,
            hot_n=50,
            hot_budget_s=1.0,
            overhead_blocks=1,
            overhead_per_block=200,
            exit_n=10,
            exit_cap_s=6.0,
            deliver_s=0.3,
            deliver_rates=[500],
            sink_rates=[500],
            llm_calls=2,
            quiet_s=2.0,
            threads_pairs=1,
            threads_s=0.2,
            nodrop_pairs=2,
            nodrop_burst=200,
        )
    json_path = args.json or (
        BENCH / "results" / ("quick.json" if q else "latest.json")
        if args.out.resolve().parent == (ROOT / "docs").resolve()
        else args.out.with_suffix(".json")
    )
    cfg["json"] = (
        os.path.relpath(json_path, ROOT) if json_path.is_relative_to(ROOT) else str(json_path)
    )
    started = time.monotonic()
    # A background job may start with SIGINT ignored; make INT and TERM unwind (and so stop
    # Phoenix, the stub and the sink in the finally blocks) rather than orphan them.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    base_python = args.python or getattr(sys, "_base_executable", sys.executable)

    failures: dict[str, str] = {}
    for peer in peers:
        if peer in PYTHON_FOR:
            if not PYTHON_FOR[peer].exists():
                failures[peer] = f"interpreter absent: {PYTHON_FOR[peer]}"
            continue
        if args.no_install:
            if not venv_python(peer).exists():
                failures[peer] = "venv absent (--no-install)"
            continue
        log(f"venv {peer}")
        text = ensure_env(peer, base_python)
        if text:
            failures[peer] = text
    peers = [p for p in peers if p not in failures]
    if "llmops" not in peers:
        log("llmops venv unavailable; nothing to compare against")
    versions = {p: versions_of(p) for p in peers}

    # Everything from here on: loopback only.
    from tests.servers.netns import enter_private_network_namespace

    isolated = enter_private_network_namespace()
    isolation = (
        "private network namespace (only `lo`)"
        if isolated
        else "none (not root or unshare refused): endpoints are loopback, telemetry off"
    )
    log(isolation)

    workdir = Path(tempfile.mkdtemp(prefix="llmops-bench-"))
    phoenix = None
    collector = "none"
    if not args.no_collector:
        from tests.servers.phoenix import PhoenixServer, binary_available

        if binary_available():
            phoenix = PhoenixServer()
            try:
                phoenix.start()
                vers = subprocess.run(
                    [
                        str(phoenix.binary.parent / "python"),
                        "-c",
                        "import importlib.metadata as m; print(m.version('arize-phoenix'))",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.strip()
                collector = (
                    f"arize-phoenix {vers} on 127.0.0.1 (started in {phoenix.last_startup_s:.1f} s)"
                )
            except Exception as exc:
                collector = f"Phoenix failed to start: {exc}"[:300]
                phoenix = None
        else:
            collector = "Phoenix venv absent (.venvs/phoenix; scripts/setup-dev.sh creates it)"
    log(f"collector: {collector}")
    stub = subprocess.Popen(
        [str(venv_python("llmops")), str(BENCH / "stub.py")],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=workdir,
    )
    assert stub.stdout is not None
    stub_url = stub.stdout.readline().strip() or None
    from tests.servers.phoenix import free_port

    env = Env(phoenix, stub_url, free_port(), workdir)
    res: dict = {
        "config": cfg,
        "machine": machine_info(),
        "versions": versions,
        "install_failures": failures,
        "isolation": isolation,
        "collector": collector,
    }
    only = {f.strip() for f in args.only.split(",") if f.strip()}

    def want(figure: str) -> bool:
        return not only or figure in only

    if only and json_path.exists():
        previous = json.loads(json_path.read_text())
        previous.setdefault("reruns", []).append(
            {"figures": sorted(only), "date": res["machine"]["date"]}
        )
        res = {**previous, "collector": collector, "isolation": isolation}
        # The run counts of the figures re-run are this run's; the others' stay as they were.
        res["config"] = {
            **previous.get("config", {}),
            **{k: cfg[k] for f in only for k in FIGURE_SETTINGS.get(f, ())},
        }
    try:
        if want("import"):
            log("figure 1: import")
            res["import"] = fig_import(peers, cfg["import_rounds"])
        if want("setup"):
            log("figure 2: set-up")
            res["setup"] = fig_probe(
                env,
                peers,
                cfg["setup_rounds"],
                {"figure": "setup"},
                up=False,
                extra={"llmops-toml": ("llmops", {"llmops_format": "toml"})},
            )
            res["setup_genai"] = fig_probe(
                env, peers, cfg["setup_genai_rounds"], {"figure": "setup", "genai": True}, up=False
            )
        if want("instructions"):
            log("figure 2i: set-up instructions (callgrind)")
            counted = fig_instructions(env, peers, cfg["instruction_runs"])
            if counted is None:
                log("figure 2i: no valgrind here; the published counts, if any, are kept")
            if counted is not None or "instructions" not in res:
                res["instructions"] = counted
        hot_spec = {"figure": "hot", "n": cfg["hot_n"], "budget_s": cfg["hot_budget_s"]}
        if want("hot"):
            log("figure 3: hot path")
            res["hot"] = {"down": fig_probe(env, peers, cfg["hot_rounds"], hot_spec, up=False)}
        if want("hot"):
            res["hot"]["up"] = (
                fig_probe(
                    env,
                    peers,
                    cfg["hot_rounds"],
                    hot_spec,
                    up=True,
                    quiet=True,
                    quiet_s=cfg["quiet_s"],
                )
                if phoenix
                else None
            )
        if want("nodrop"):
            log("figure 3n: no-drop regime (benchmarks/nodrop.py)")
            res["nodrop"] = fig_nodrop(cfg)
        if want("overhead"):
            res["overhead"] = [
                run_probe(
                    env,
                    "llmops",
                    {
                        "figure": "overhead",
                        "blocks": cfg["overhead_blocks"],
                        "per_block": cfg["overhead_per_block"],
                    },
                    timeout=300,
                )
                for _ in range(cfg["overhead_rounds"])
            ]
        if want("exit"):
            log("figure 4: exit")
            res["exit"] = fig_exit(
                env,
                with_variants(peers),
                cfg["exit_rounds"],
                cfg["exit_n"],
                cfg["exit_cap_s"],
                cfg["quiet_s"],
            )
        deliver_peers = [p for p in ("llmops", "otel") if p in peers]
        if want("deliver"):
            log("figure 5: delivery")
            res["deliver"] = (
                fig_deliver(
                    env,
                    with_variants(deliver_peers),  # the null collector below speaks gRPC only
                    cfg["deliver_rates"],
                    cfg["deliver_s"],
                    quiet_s=cfg["quiet_s"],
                )
                if phoenix
                else None
            )
        if want("deliver"):
            sink = subprocess.Popen(
                [str(venv_python("llmops")), str(BENCH / "sink.py")],
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                assert sink.stdout is not None
                sink_url = sink.stdout.readline().strip()
                res["deliver_sink"] = (
                    fig_deliver(
                        env,
                        deliver_peers,
                        cfg["sink_rates"],
                        cfg["deliver_s"],
                        {"grpc": sink_url, "http": sink_url},
                    )
                    if sink_url
                    else None
                )
            finally:
                _kill(sink)
                sink.wait()
        if want("threads"):
            log("figure 7: 50 threads (benchmarks/threads.py)")
            res["threads"] = fig_threads(cfg)
        if want("llm"):
            log("figure 6: LLM call")
            llm_extra = {
                "uninstrumented": (
                    "bare",
                    {"venv": "otel" if "otel" in peers else "llmops", "genai": False},
                )
            }
            res["llm"] = (
                fig_probe(
                    env,
                    peers,
                    cfg["llm_rounds"],
                    {"figure": "llm", "genai": True, "calls": cfg["llm_calls"]},
                    up=phoenix is not None,
                    quiet=True,
                    extra=llm_extra,
                    quiet_s=cfg["quiet_s"],
                )
                if stub_url
                else None
            )
    finally:
        _kill(stub)
        stub.wait()
        if phoenix is not None:
            phoenix.close()
        shutil.rmtree(workdir, ignore_errors=True)
    res["elapsed_s" if not only else "rerun_elapsed_s"] = time.monotonic() - started
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(res, indent=1, default=str))
    write_report(args.out, render(res))
    log(f"done in {time.monotonic() - started:.0f} s: {args.out} and {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
