"""Parity with phoenix.otel (`phoenix.otel.register`): each row of
`tests/migration/behaviours.py` for this peer, built by the peer and by llmops in fresh
interpreters and compared (see `docs/migration.md`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.migration.behaviours import BEHAVIOURS, Behaviour
from tests.migration.parity import check

ROWS = [b for b in BEHAVIOURS if b.peer == "phoenix-otel"]


@pytest.mark.parametrize("behaviour", ROWS, ids=[b.id for b in ROWS])
def test_parity(behaviour: Behaviour, sides: Any) -> None:
    check(behaviour, *sides(behaviour))
