"""Every code sample of the documentation runs, so none can rot.

For each page of ``docs/`` (and ``docs/platforms/``), in page order:

* a ```` ```python ```` block runs in a fresh interpreter, in a temporary folder shared by the
  page's blocks (so a later block can read what an earlier one wrote), with a default
  ``llmops.yaml`` (``service: {name: support-bot}``) and no ambient ``PHOENIX_*``, ``MLFLOW_*``,
  ``OTEL_*`` or ``LLMOPS_*`` variable; ``--8<-- "path"`` lines (pymdownx.snippets) are replaced
  by the file they include;
* a ```` ```yaml ```` or ```` ```toml ```` block is an llmops config: it is loaded with
  ``load_config`` as ``instrument()`` loads it, its platform sections are validated with their
  Structs, and it is checked against ``llmops schema``'s JSON Schema. A ``${VAR}`` without a
  default gets a placeholder value. A TOML block with a ``[project`` table is a
  ``pyproject.toml`` fragment and is only parsed.

Markers, an HTML comment on the line before the block (invisible on the site):

* ``<!-- no-run: why -->``: not run (it needs another tool or a live backend); say why;
* ``<!-- not-config -->``: a YAML/TOML block that is not an llmops config: only parsed;
* ``<!-- file: NAME -->``: the block is also written to ``NAME`` in the page's folder, for the
  page's later blocks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
FENCE = re.compile(
    r"(?:^<!--\s*(?P<marker>[a-z-]+)(?::\s*(?P<arg>[^>]*?))?\s*-->\n)?"
    r"^```(?P<lang>[a-z]+)[^\n]*\n(?P<body>.*?)^```\s*$",
    re.M | re.S,
)
SNIPPET = re.compile(r'^--8<--\s+"(?P<path>[^"]+)"\s*$', re.M)
IN_HOUSE_SECTIONS = frozenset({"acme"})
"""Platform sections of the docs' in-house examples, registered by the examples themselves."""
DEFAULT_CONFIG = "service: {name: support-bot}\n"
PENDING: dict[str, str] = {}
"""Pages written ahead of the code they document (page → why): a failure there is an xfail
until the code lands; a pass is a pass. Remove an entry as soon as its page passes."""


@dataclass(frozen=True)
class Block:
    page: str
    index: int
    line: int
    lang: str
    body: str
    marker: str | None
    arg: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}:{self.lang}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for index, match in enumerate(FENCE.finditer(text)):
        body = SNIPPET.sub(lambda m: (REPO / m["path"]).read_text(encoding="utf-8"), match["body"])
        found.append(
            Block(
                page=page.relative_to(DOCS).as_posix(),
                index=index,
                line=text.count("\n", 0, match.start("lang")) + 1,
                lang=match["lang"],
                body=body,
                marker=match["marker"],
                arg=match["arg"],
            )
        )
    return found


PAGES = sorted(p for p in DOCS.rglob("*.md"))
ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]
CONFIG_BLOCKS = [b for b in ALL_BLOCKS if b.lang in {"yaml", "toml"}]
PAGES_WITH_PYTHON = sorted({b.page for b in ALL_BLOCKS if b.lang == "python"})


def test_the_runner_finds_the_samples() -> None:
    langs = {b.lang for b in ALL_BLOCKS}
    assert {"python", "yaml", "toml"} <= langs
    assert len([b for b in ALL_BLOCKS if b.lang == "python"]) >= 8
    for block in ALL_BLOCKS:
        if block.marker is not None:
            assert block.marker in {"no-run", "not-config", "file"}, block.id
        if block.marker == "no-run":
            assert block.arg, f"{block.id}: say why a block does not run (<!-- no-run: why -->)"


def _clean_env() -> dict[str, str]:
    prefixes = ("PHOENIX_", "MLFLOW_", "OTEL_", "LLMOPS_", "ARIZE_", "GEMINI_", "GOOGLE_API")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "examples")])
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["MLFLOW_MODEL_CATALOG_URI"] = ""
    return env


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON)
def test_python_samples_run(page: str, tmp_path: Path) -> None:
    _pending_if_fails(page, _run_page, page, tmp_path)


def _pending_if_fails(page: str, check: Any, *args: Any) -> None:
    if page not in PENDING:
        check(*args)
        return
    try:
        check(*args)
    except Exception as exc:
        pytest.xfail(f"docs/{page}: {PENDING[page]}: {type(exc).__name__}: {str(exc)[-160:]}")


def _run_page(page: str, tmp_path: Path) -> None:
    (tmp_path / "llmops.yaml").write_text(DEFAULT_CONFIG)
    ran = 0
    for block in blocks(DOCS / page):
        if block.marker == "file" and block.arg:
            (tmp_path / block.arg).write_text(block.body, encoding="utf-8")
        if block.lang != "python" or block.marker == "no-run":
            continue
        proc = subprocess.run(
            [sys.executable, "-c", block.body],
            cwd=tmp_path,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert proc.returncode == 0, (
            f"docs/{block.id} failed:\n{block.body}\n--- stdout\n{proc.stdout}\n"
            f"--- stderr\n{proc.stderr[-4000:]}"
        )
        ran += 1
    assert ran, f"docs/{page}: every python block is marked no-run"


def _placeholders(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text):
        monkeypatch.setenv(name, f"placeholder-{name.lower()}")


@pytest.mark.parametrize("block", CONFIG_BLOCKS, ids=[b.id for b in CONFIG_BLOCKS])
def test_config_samples_are_valid(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pending_if_fails(block.page, _check_config, block, tmp_path, monkeypatch)


def _check_config(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmops._config import load_config
    from llmops._instrumentors import CATALOGUE, STRICT_KEY
    from llmops._registry import BUILTIN_PLATFORMS, _default

    raw: Any = yaml.safe_load(block.body) if block.lang == "yaml" else tomllib.loads(block.body)
    if block.marker == "not-config" or (block.lang == "toml" and "[project" in block.body):
        return  # parsed: enough for a file that is not an llmops config
    _placeholders(block.body, monkeypatch)
    path = tmp_path / ("llmops.yaml" if block.lang == "yaml" else "llmops.toml")
    path.write_text(block.body, encoding="utf-8")
    # The built-in platforms only: whatever else the test session registered is not the docs'.
    known = set(BUILTIN_PLATFORMS)
    config = load_config(path)
    assert set(config.sections) <= known | IN_HOUSE_SECTIONS, config.sections
    value = config.settings.instrumentation
    assert value in (True, False, "auto", "none") or set(value) <= {*CATALOGUE, STRICT_KEY, "auto"}
    for name in config.sections:
        if name in known:
            config.section(name, _default.get(name).config_type)

    jsonschema = pytest.importorskip("jsonschema")
    from llmops._cli._schema import config_schema

    document = {k: v for k, v in (raw or {}).items() if k not in IN_HOUSE_SECTIONS}
    schema = config_schema({name: _default.get(name).config_type for name in BUILTIN_PLATFORMS})
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert errors == [], [e.message for e in errors]


def test_the_in_house_example_runs(tmp_path: Path) -> None:
    """``examples/inhouse_platform.py``, the complete plugin ``docs/plugins.md`` shows."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "inhouse_platform.py")],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "charge-card search {'amount_cents': 1250}"
    assert '--8<-- "examples/inhouse_platform.py"' in (DOCS / "plugins.md").read_text()
