"""``python -m build`` makes a wheel and an sdist that install in a clean virtual environment
and work: import, ``llmops --help``, ``llmops schema``, ``python -m llmops``. About 10 s.

It works offline, as the test session runs in a loopback-only network namespace, and whatever
ran before it: nothing is downloaded and no installer's cache is read (uv runs with
``--no-cache``), so it does not matter whether pip or uv installed the dev environment, or
what a cache held. The build uses the hatchling of the dev environment (``--no-isolation``):
an sdist, then the wheel built from that sdist. Each clean venv gets llmops alone
(``--no-deps``; the sdist is built there without isolation) and sees the dependencies already
installed in the dev environment through a ``.pth`` file, after its own site-packages; a
separate check then proves that every requirement the wheel's metadata declares (and the
sdist's build requirements) is satisfied there, which is what resolving from an index would
have had to provide.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.packaging

UV = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))

# Printed by the clean venv's interpreter (stdlib only): where llmops's metadata was found,
# the requirements it declares, and the version of every distribution it can see, the first
# one on sys.path winning, as for imports.
_METADATA = """
import importlib.metadata as md, json, re
seen = {}
for d in md.distributions():
    seen.setdefault(re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(), d.version)
llmops = md.distribution("llmops")
print(json.dumps({"location": str(llmops.locate_file("")), "requires": llmops.requires or [],
                  "versions": seen}))
"""


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


def _dev_site_dirs() -> list[str]:
    """The dev environment's site-packages, where llmops's dependencies are installed."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def _venv(root: Path, name: str, requirement: Path) -> Path:
    """A clean venv with ``requirement`` (a wheel or an sdist) installed, without its
    dependencies, which it sees in the dev environment instead. Offline, no cache."""
    assert UV is not None
    venv = root / name
    run(UV, "venv", "--quiet", "--no-cache", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout
    # A .pth line only appends the directory to sys.path (after the venv's own site-packages,
    # so the installed llmops wins); the .pth files in it, such as the editable install's
    # pointer to the work tree, are not run.
    (Path(site.strip()) / "_llmops_test_dev_deps.pth").write_text("\n".join(_dev_site_dirs()))
    run(
        UV, "pip", "install", "--quiet", "--offline", "--no-cache", "--no-index", "--no-deps",
        "--no-build-isolation", "--python", python, requirement,
    )  # fmt: skip
    return venv


def _assert_requirements_satisfied(venv: Path, extra_requirements: Sequence[str] = ()) -> None:
    """Every requirement llmops's installed metadata declares for a plain install (no extra),
    plus ``extra_requirements``, is met by a distribution the venv's interpreter sees."""
    found = json.loads(run(venv / "bin" / "python", "-c", _METADATA).stdout)
    assert Path(found["location"]).is_relative_to(venv), found["location"]  # not the editable's
    declared = [Requirement(r) for r in found["requires"]]
    needed = [r for r in declared if r.marker is None or r.marker.evaluate({"extra": ""})]
    assert {canonicalize_name(r.name) for r in needed} >= {"msgspec", "opentelemetry-sdk"}
    unmet = []
    for req in needed + [Requirement(r) for r in extra_requirements]:
        version = found["versions"].get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            unmet.append(f"{req} (found {version or 'nothing'})")
    assert not unmet, f"requirements not satisfied in {venv}: {unmet}"


def _smoke(venv: Path, tmp: Path) -> None:
    python, script = venv / "bin" / "python", venv / "bin" / "llmops"
    code = (
        "import json, sys, llmops; "
        "print(json.dumps([llmops.__version__, llmops.__file__, "
        "sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'llmops._cli')))]))"
    )
    version, where, heavy = json.loads(run(python, "-c", code, cwd=tmp).stdout)
    assert version == "0.1.0"
    assert Path(where).is_relative_to(venv), where  # the installed copy, not the work tree
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
    venv = _venv(tmp_path, "wheel-venv", wheel)
    _assert_requirements_satisfied(venv)
    _smoke(venv, tmp_path)


def test_the_sdist_installs_and_works_in_a_clean_venv(dist: Path, tmp_path: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        member = archive.extractfile("llmops-0.1.0/pyproject.toml")
        assert member is not None
        build_requires = tomllib.load(member)["build-system"]["requires"]
    venv = _venv(tmp_path, "sdist-venv", sdist)
    # Built without isolation, so its build requirements must have been there too.
    _assert_requirements_satisfied(venv, build_requires)
    _smoke(venv, tmp_path)
