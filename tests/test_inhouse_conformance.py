"""The conformance kit on the in-house example of ``docs/plugins.md``
(``examples/inhouse_platform.py``: spans appended to a JSON-lines file).

``docs/plugins.md`` includes this module as the kit's example: keep it self-contained.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmops
from llmops._registry import _default
from llmops.testing import PlatformConformance, ReceivedSpan

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "inhouse_platform.py"


def _load_example() -> Any:
    """Import the example once. Importing it registers ``acme``, which only this module's
    tests may see: the registration is undone at once and made again by ``_registered``."""
    if "inhouse_platform" not in sys.modules:
        spec = importlib.util.spec_from_file_location("inhouse_platform", EXAMPLE)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["inhouse_platform"] = module
        spec.loader.exec_module(module)
        _default.unregister("acme")
    return sys.modules["inhouse_platform"]


@pytest.fixture(scope="module", autouse=True)
def _registered() -> Iterator[None]:
    """``acme`` for this module's tests only."""
    llmops.register_platform("acme", replace=True)(_load_example().AcmePlatform)
    yield
    _default.unregister("acme")


class TestAcmeConformance(PlatformConformance):
    platform = "acme"
    plugin_class = _load_example().AcmePlatform

    @contextlib.contextmanager
    def target(self) -> Iterator[Path]:
        """The target is a JSON-lines file in a fresh folder."""
        with tempfile.TemporaryDirectory() as folder:
            yield Path(folder) / "spans.jsonl"

    def section(self, target: Path) -> dict[str, Any]:
        return {"path": str(target), "team": "search"}

    def unreachable_section(self) -> dict[str, Any]:
        # A "disk" that is always full: every write fails with ENOSPC.
        return {"path": "/dev/full"}

    def read_back(self, target: Path, trace_id: str, timeout: float) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while True:
            lines = target.read_text().splitlines() if target.exists() else []
            found = [
                ReceivedSpan(
                    r["name"], r["trace_id"], r["span_id"], r["parent_id"], r["attributes"]
                )
                for r in map(json.loads, lines)
                if r["trace_id"] == trace_id
            ]
            if len(found) >= 2 or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
