"""Issue 14, item 4: ``instrument()`` says where traces go, in one stderr line, and nothing
else reaches stderr at set-up; when a destination fails, the first warning names it and its
endpoint within about 2 s.

Each case runs in a fresh interpreter with the environment a user has (``LLMOPS_ANNOUNCE``
unset, unlike the rest of the suite) and Python's default logging.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.core_support import free_port, subprocess_env
from tests.otlp_receiver import OtlpReceiver

SETUP_APP = textwrap.dedent(
    """
    import json, sys, time
    import llmops

    llmops.instrument(config_path=sys.argv[1])
    print("SETUP_DONE", file=sys.stderr, flush=True)
    from opentelemetry import trace

    with trace.get_tracer("app").start_as_current_span("one"):
        pass
    llmops._lifecycle.current().provider.force_flush(10_000)
    print("FLUSHED", file=sys.stderr, flush=True)
    """
)


def _run(code: str, config: Path, *, env: dict[str, str] | None = None, timeout: float = 60):
    environment = subprocess_env()
    environment.pop("LLMOPS_ANNOUNCE", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code, str(config)],
        cwd=config.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _before(stderr: str, marker: str) -> list[str]:
    lines = stderr.splitlines()
    return [line for line in lines[: lines.index(marker)] if line.strip()]


def test_one_line_says_where_traces_go_and_what_is_instrumented(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        endpoint = receiver.endpoint
        config = tmp_path / "llmops.yaml"
        config.write_text(
            f"platform: arize\narize: {{endpoint: '{endpoint}', project_name: bot}}\n",
            encoding="utf-8",
        )
        result = _run(SETUP_APP, config)
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = _before(result.stderr, "SETUP_DONE")
    assert line.startswith(
        f"llmops: tracing to Phoenix project 'bot', OTLP/HTTP {endpoint}; instrumenting "
    ), line
    # Every catalogue entry installed here, applied when the application imports it.
    for key in ("google_genai", "openai", "anthropic", "langchain", "litellm"):
        assert key in line, line
    assert line.endswith(" when imported"), line
    assert _before(result.stderr, "FLUSHED") == [line, "SETUP_DONE"]  # exporting added nothing


@pytest.mark.parametrize(
    ("text", "env"),
    [("tracing: {announce: false}\n", {}), ("", {"LLMOPS_ANNOUNCE": "0"})],
    ids=["setting", "variable"],
)
def test_the_line_can_be_silenced(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    with OtlpReceiver() as receiver:
        config = tmp_path / "llmops.yaml"
        config.write_text(
            f"platform: arize\narize: {{endpoint: '{receiver.endpoint}'}}\n{text}",
            encoding="utf-8",
        )
        result = _run(SETUP_APP, config, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _before(result.stderr, "FLUSHED") == ["SETUP_DONE"]


def test_a_fresh_mlflow_store_prints_only_the_line(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    config = tmp_path / "llmops.yaml"
    config.write_text(
        f"platform: mlflow\nmlflow: {{tracking_uri: 'sqlite:///{tmp_path}/m.db'}}\n",
        encoding="utf-8",
    )
    result = _run(SETUP_APP, config, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = _before(result.stderr, "FLUSHED")
    assert len(lines) == 2, lines  # the line, SETUP_DONE: no "Creating initial MLflow ..."
    assert lines[0].startswith("llmops: tracing to MLflow"), lines
    assert lines[1] == "SETUP_DONE"


FAILING_APP = textwrap.dedent(
    """
    import sys, time
    import llmops
    from opentelemetry import trace

    llmops.instrument(config_path=sys.argv[1])
    trace.get_tracer("app").start_span("one").end()
    print(f"ENDED {time.monotonic()}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and llmops.stats().failed == 0:
        time.sleep(0.05)  # polls for the export's outcome, bounded
    print(f"DONE {time.monotonic()}", file=sys.stderr, flush=True)
    """
)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_the_first_failure_names_the_endpoint_within_two_seconds(
    tmp_path: Path, protocol: str
) -> None:
    """Collector down (a closed port): the exporter retries until export_timeout_s (10 s);
    the warning comes with its first retry, not when it gives up."""
    port = free_port()
    endpoint = (
        f"http://127.0.0.1:{port}/v1/traces" if protocol == "http" else f"http://127.0.0.1:{port}"
    )
    config = tmp_path / "llmops.yaml"
    config.write_text(
        "platform: arize\ntracing: {schedule_delay_ms: 100, shutdown_timeout_s: 1}\n"
        f"arize: {{endpoint: '{endpoint}', protocol: {protocol}}}\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-X", "utf8", "-c", FAILING_APP, str(config)],
        cwd=tmp_path,
        env={k: v for k, v in subprocess_env().items() if k != "LLMOPS_ANNOUNCE"},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    ended: float | None = None
    warned: float | None = None
    text = []
    deadline = started + 30
    for line in process.stderr:
        text.append(line)
        if line.startswith("ENDED "):
            ended = time.monotonic()
        elif ended is not None and warned is None and "llmops: platform 'arize'" in line:
            warned = time.monotonic()
            assert f"127.0.0.1:{port}" in line, line
        if time.monotonic() > deadline:
            break
    process.wait(30)
    assert ended is not None, "".join(text)
    assert warned is not None, "".join(text)
    print("RELIABILITY " + json.dumps({"protocol": protocol, "warned_after_s": warned - ended}))
    assert warned - ended < 2.5, "".join(text)
