"""``llmops run``: zero-code instrumentation of unmodified programs.

Each test starts ``python -m llmops run ... -- python app.py`` in a subprocess, as a user
would; the app never imports llmops.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from llmops.testing.gemini_stub import GeminiStub
from tests.servers.phoenix import PhoenixServer

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "inhouse_platform.py"

APP = textwrap.dedent(
    """
    import sys
    from opentelemetry import trace

    with trace.get_tracer("app").start_as_current_span("work") as span:
        span.set_attribute("argv", " ".join(sys.argv[1:]))
        print("app ran with", sys.argv[1:])
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    """
)


def llmops_run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHOENIX_", "OTEL_", "LLMOPS_", "MLFLOW_TRACKING"))
    }
    base["PYTHONPATH"] = str(REPO)
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "llmops", "run", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture
def acme_dir(tmp_path: Path) -> Path:
    """A folder with the in-house example platform, its config and the app."""
    (tmp_path / "inhouse_platform.py").write_text(EXAMPLE.read_text())
    (tmp_path / "acme.yaml").write_text(
        "platform: acme\nservice: {name: zero-code}\nacme: {path: spans.jsonl, team: run}\n"
    )
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def spans(folder: Path) -> list[dict[str, Any]]:
    path = folder / "spans.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_run_instruments_an_unmodified_program(acme_dir: Path) -> None:
    proc = llmops_run(
        "--import",
        "inhouse_platform",
        "--config",
        "acme.yaml",
        "--",
        sys.executable,
        "app.py",
        cwd=acme_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "app ran with []" in proc.stdout
    (span,) = spans(acme_dir)
    assert span["name"] == "work"
    assert span["resource"]["service.name"] == "zero-code"
    assert span["resource"]["acme.team"] == "run"


def test_run_passes_arguments_and_the_exit_code_through(acme_dir: Path) -> None:
    proc = llmops_run(
        "--import",
        "inhouse_platform",
        "--config",
        "acme.yaml",
        "--platform",
        "acme",
        "--",
        sys.executable,
        "app.py",
        "3",
        "--flag",
        cwd=acme_dir,
    )
    assert proc.returncode == 3, proc.stderr
    assert "app ran with ['3', '--flag']" in proc.stdout
    assert spans(acme_dir)[0]["attributes"] == {"argv": "3 --flag"}


def test_run_chains_an_existing_sitecustomize_and_reaches_child_processes(
    acme_dir: Path,
) -> None:
    other = acme_dir / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import os\nos.environ['OTHER_SITE'] = 'ran'\n")
    (acme_dir / "parent.py").write_text(
        textwrap.dedent(
            """
            import os, subprocess, sys
            print("parent sees", os.environ.get("OTHER_SITE"))
            sys.exit(subprocess.call([sys.executable, "app.py", "0", "child"]))
            """
        )
    )
    proc = llmops_run(
        "--import",
        "inhouse_platform",
        "--config",
        "acme.yaml",
        "--",
        sys.executable,
        "parent.py",
        cwd=acme_dir,
        env={"PYTHONPATH": os.pathsep.join([str(REPO), str(other)])},
    )
    assert proc.returncode == 0, proc.stderr
    assert "parent sees ran" in proc.stdout
    assert [s["attributes"] for s in spans(acme_dir)] == [{"argv": "0 child"}]


def test_run_refuses_an_invalid_config_before_starting_the_program(tmp_path: Path) -> None:
    (tmp_path / "llmops.yaml").write_text("platform: arize\ntracing: {sample_ratoi: 1}\n")
    (tmp_path / "app.py").write_text("print('must not run')\n")
    proc = llmops_run("--", sys.executable, "app.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "did you mean 'sample_ratio'" in proc.stderr
    assert "the program was not started" in proc.stderr
    assert "must not run" not in proc.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "no command given"),
        (["--platform", "arize", "--", "no-such-program-xyz"], 127, "command not found"),
        (["--", "true"], 2, "no platform given"),
        (["--platform", "arise", "--", "true"], 2, "did you mean 'arize'"),
    ],
)
def test_run_usage_problems(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    proc = llmops_run(*args, cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr


def test_a_failing_instrument_never_stops_the_program(acme_dir: Path) -> None:
    # The config is valid for `llmops run`, but inside the program (whose environment a
    # sitecustomize changes before llmops' runs) instrument() refuses it.
    (acme_dir / "acme.yaml").write_text("acme: {team: run}\n")
    other = acme_dir / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text(  # in the program only, not in `llmops run`
        "import os\nif os.environ.get('LLMOPS_RUN_ACTIVE'):\n"
        "    os.environ['ACME_SPANS_PATH'] = 'no/such/dir/spans.jsonl'\n"
    )
    proc = llmops_run(
        "--import",
        "inhouse_platform",
        "--config",
        "acme.yaml",
        "--platform",
        "acme",
        "--",
        sys.executable,
        "app.py",
        cwd=acme_dir,
        env={"PYTHONPATH": os.pathsep.join([str(REPO), str(other)])},
    )
    assert proc.returncode == 0, proc.stderr
    assert "app ran" in proc.stdout
    assert "llmops run: not instrumented" in proc.stderr
    assert "$.acme.path" in proc.stderr


GEMINI_APP = textwrap.dedent(
    """
    import sys
    from google import genai
    from google.genai import types

    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=sys.argv[1]))
    reply = client.models.generate_content(model="gemini-2.0-flash", contents="hello world")
    print(reply.text)
    """
)


@pytest.mark.e2e
def test_run_traces_a_gemini_app_into_a_real_phoenix(
    phoenix_server: PhoenixServer, gemini_stub: GeminiStub, tmp_path: Path
) -> None:
    project = f"run-{uuid.uuid4().hex[:8]}"
    (tmp_path / "llmops.yaml").write_text(
        textwrap.dedent(
            f"""
            platform: arize
            service: {{name: zero-code-gemini}}
            instrumentation: {{google_genai: true, strict: true}}
            arize:
              endpoint: {phoenix_server.grpc_endpoint}
              protocol: grpc
              project_name: {project}
            """
        )
    )
    (tmp_path / "app.py").write_text(GEMINI_APP)
    proc = llmops_run("--", sys.executable, "app.py", gemini_stub.base_url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Echo: hello world"
    (span,) = phoenix_server.wait_for_spans(project, 1, timeout=30)
    assert span["name"] == "GenerateContent"
    assert span["span_kind"] == "LLM"
    assert span["attributes"]["llm.model_name"] == "gemini-2.0-flash"
    assert span["attributes"]["llm.token_count.total"] == 5
