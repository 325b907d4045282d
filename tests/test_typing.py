"""The typed facade, checked by ``mypy --strict`` over ``tests/typing`` (issue 2, item 7).

Slow-ish: each mypy run takes about 10-30 s with a cold cache (a second or two warm).
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TYPING_DIR = REPO / "tests" / "typing"
IGNORE = re.compile(r"\s*# type: ignore\[([a-z-]+)\]$")
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    # Run from the repository so that pyproject.toml's [tool.mypy] applies, as in CI.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-color-output", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_package_is_marked_typed() -> None:
    # Without py.typed, mypy treats an installed llmops as untyped and checks nothing.
    assert resources.files("llmops").joinpath("py.typed").is_file()


def test_public_api_type_checks_and_rejections_are_reported() -> None:
    files = sorted(p.name for p in TYPING_DIR.glob("*.py"))
    assert files == ["check_public_api.py", "check_rejected.py"]
    proc = mypy(str(TYPING_DIR.relative_to(REPO)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues found in 2 source files" in proc.stdout


def test_each_rejection_is_a_real_error(tmp_path: Path) -> None:
    # The same file without its `# type: ignore[code]` comments: mypy must report exactly
    # one error of that code on each of those lines, and nothing else.
    source = (TYPING_DIR / "check_rejected.py").read_text(encoding="utf-8").splitlines()
    expected = {(n, m[1]) for n, line in enumerate(source, 1) if (m := IGNORE.search(line))}
    assert len(expected) >= 2, "check_rejected.py lost its cases"
    stripped = tmp_path / "rejected_without_ignores.py"
    stripped.write_text("\n".join(IGNORE.sub("", line) for line in source) + "\n")
    proc = mypy(str(stripped))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = {
        (int(m["line"]), m["code"]) for line in proc.stdout.splitlines() if (m := ERROR.match(line))
    }
    assert found == expected, proc.stdout


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("member = Platform.ARIZ", "attr-defined"),
        ("llmops.instrument(42)", "arg-type"),
    ],
)
def test_the_issue_s_rejections_are_among_the_cases(line: str, code: str) -> None:
    text = (TYPING_DIR / "check_rejected.py").read_text(encoding="utf-8")
    assert f"{line}  # type: ignore[{code}]" in text
    accepted = (TYPING_DIR / "check_public_api.py").read_text(encoding="utf-8")
    assert 'assert_type(llmops.instrument(Platform.ARIZE, config_path="x"), TracerProvider)' in (
        accepted
    )
