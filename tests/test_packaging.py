"""``python -m build`` makes a wheel and an sdist that install in a clean virtual environment
and work: import, ``llmops --help``, ``llmops schema``, ``python -m llmops``. About 30 s.

It works offline, as the test session runs in a loopback-only network namespace: the build
uses the hatchling of the dev environment (``--no-isolation``), and ``uv pip install --offline``
takes the dependencies from uv's cache, which ``scripts/setup-dev.sh`` filled when it installed
``.[dev]`` (the sdist's isolated build finds hatchling there too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.packaging

UV = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    if UV is None:
        pytest.skip("uv is not installed (scripts/setup-dev.sh installs it)")
    out = tmp_path_factory.mktemp("dist")
    # The default: an sdist, then the wheel built from that sdist (so the sdist is complete).
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, REPO)
    return out


def _venv(root: Path, name: str, requirement: Path) -> Path:
    assert UV is not None
    venv = root / name
    run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    run(UV, "pip", "install", "--quiet", "--offline", "--python", python, requirement)
    return venv


def _smoke(venv: Path, tmp: Path) -> None:
    python, script = venv / "bin" / "python", venv / "bin" / "llmops"
    code = (
        "import json, sys, llmops; "
        "print(json.dumps([llmops.__version__, llmops.__file__, "
        "sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'llmops._cli')))]))"
    )
    version, where, heavy = json.loads(run(python, "-c", code, cwd=tmp).stdout)
    assert version == "0.1.0"
    assert str(venv) in where  # the installed copy, not the work tree
    assert heavy == []
    helptext = run(script, "--help", cwd=tmp).stdout
    assert "usage: llmops" in helptext
    assert "examples:" in helptext
    schema = json.loads(run(script, "schema", cwd=tmp).stdout)
    assert {"arize", "mlflow", "tracing"} <= set(schema["properties"])
    assert schema["$defs"]["TracingConfig"]["properties"]["batch"]["description"]
    assert "usage: llmops" in run(python, "-m", "llmops", "--help", cwd=tmp).stdout
    (tmp / "llmops.yaml").write_text("service: {name: smoke}\nplatform: arize\n")
    checked = run(script, "check", cwd=tmp).stdout
    assert "valid: " in checked
    assert "arize → Phoenix project 'smoke'" in checked


def test_wheel_and_sdist_contents(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("llmops-0.1.0.dist-info/entry_points.txt")
    for required in (
        "llmops/py.typed",
        "llmops/__main__.py",
        "llmops/_cli/__init__.py",
        "llmops/_cli/boot/sitecustomize.py",
    ):
        assert required in names, required
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]
    assert b"llmops = llmops._cli:main" in entry_points
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert "llmops-0.1.0/mkdocs.yml" in members
    assert "llmops-0.1.0/examples/inhouse_platform.py" in members
    assert not [m for m in members if "__pycache__" in m or ".venv" in m]


def test_the_wheel_installs_and_works_in_a_clean_venv(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    _smoke(_venv(tmp_path, "wheel-venv", wheel), tmp_path)


def test_the_sdist_installs_and_works_in_a_clean_venv(dist: Path, tmp_path: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    _smoke(_venv(tmp_path, "sdist-venv", sdist), tmp_path)
