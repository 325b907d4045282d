"""The documentation site builds with ``mkdocs build --strict`` (broken links, missing pages,
bad API references fail), and its generated configuration reference follows the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocstrings_handlers.python")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "LLMOPS_DISABLE_PLUGINS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_every_nav_page_is_built(site: Path) -> None:
    for page in ("quickstart", "configuration", "config-reference", "cli", "migration", "api"):
        assert (site / page / "index.html").is_file(), page
    for platform in ("arize", "mlflow"):
        assert (site / "platforms" / platform / "index.html").is_file()
    assert not (site / "hooks.py").exists()


def test_the_config_reference_is_rendered_from_the_schema(site: Path) -> None:
    from llmops._config import TracingConfig

    html = (site / "config-reference" / "index.html").read_text(encoding="utf-8")
    assert "<!-- llmops:config-reference -->" not in html
    for field in TracingConfig.__struct_fields__:  # every field of the code, none hand-kept
        assert f"<code>{field}</code>" in html, field
    assert "Fraction of traces kept" in html
    assert "<code>tracking_uri</code>" in html
    assert "<code>google_genai</code>" in html


def test_the_api_reference_is_generated(site: Path) -> None:
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "Set up tracing to" in html  # instrument()'s docstring
    assert "PlatformSetup" in html
    assert "Class decorator that registers an in-house platform" in html


def test_the_in_house_example_is_included_in_the_plugin_page(site: Path) -> None:
    html = (site / "plugins" / "index.html").read_text(encoding="utf-8")
    assert "JsonLinesExporter" in html
    assert "--8&lt;--" not in html
