"""The typed facade, checked by pyright too (``tests/test_typing.py`` runs mypy --strict).

``tests/typing/check_public_api.py`` and ``check_rejected.py`` start with
``# pyright: strict, reportUnnecessaryTypeIgnoreComment=true``: pyright in strict mode must
accept the first, and must need every ``# type: ignore`` of the second. The command-line
modules and the in-house example are checked as well.

The PyPI ``pyright`` package runs the bundled pyright on the system's ``node`` (it would try to
download one when no ``node`` is on PATH; then this module is skipped, not failed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TYPING_DIR = REPO / "tests" / "typing"
IGNORE = re.compile(r"\s*# type: ignore\[([a-z-]+)\]$")

if shutil.which("pyright", path=str(Path(sys.executable).parent)) is None:
    pytest.skip("pyright is not installed (pip install -e '.[dev]')", allow_module_level=True)
if shutil.which("node") is None:
    pytest.skip("pyright needs node on PATH", allow_module_level=True)


def pyright(*paths: str) -> dict[str, Any]:
    binary = str(Path(sys.executable).parent / "pyright")
    proc = subprocess.run(
        [binary, "--outputjson", "--pythonpath", sys.executable, *paths],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.stdout.strip(), proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def _errors(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in report["generalDiagnostics"] if d["severity"] == "error"]


def test_public_api_and_rejections_pass_pyright_strict() -> None:
    files = [str(p.relative_to(REPO)) for p in sorted(TYPING_DIR.glob("check_*.py"))]
    for path in files:
        first = (REPO / path).read_text(encoding="utf-8").splitlines()[0]
        assert first == "# pyright: strict, reportUnnecessaryTypeIgnoreComment=true", path
    report = pyright(*files)
    assert _errors(report) == [], json.dumps(_errors(report), indent=2)
    assert report["summary"]["filesAnalyzed"] == len(files)


def test_each_rejection_is_a_pyright_error_too(tmp_path: Path) -> None:
    source = (TYPING_DIR / "check_rejected.py").read_text(encoding="utf-8").splitlines()
    expected = {n for n, line in enumerate(source, 1) if IGNORE.search(line)}
    assert len(expected) >= 2
    stripped = tmp_path / "rejected_without_ignores.py"
    stripped.write_text("\n".join(IGNORE.sub("", line) for line in source) + "\n")
    report = pyright(str(stripped))
    found = {d["range"]["start"]["line"] + 1 for d in _errors(report)}
    assert found == expected, json.dumps(_errors(report), indent=2)


def test_the_cli_and_the_in_house_example_pass_pyright() -> None:
    report = pyright("llmops/_cli", "llmops/__main__.py", "examples/inhouse_platform.py")
    assert _errors(report) == [], json.dumps(_errors(report), indent=2)
