"""The observations of both sides for every row of the parity table, made once per session:
one fresh interpreter per peer venv and one for llmops, run at the same time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core_support import REQUIRE_E2E
from tests.migration import peers
from tests.migration.behaviours import BEHAVIOURS, PEERS


@pytest.fixture(scope="session")
def observations() -> dict[str, Any]:
    """``{side: {"meta": {...}, "results": {row id: observation}}}`` for every side whose
    interpreter exists (llmops always)."""
    jobs: dict[str, list[dict[str, Any]]] = {
        peer: [b.scenario(peer) for b in BEHAVIOURS if b.peer == peer]
        for peer in PEERS
        if peers.missing(peer) is None
    }
    jobs["llmops"] = [b.scenario("llmops") for b in BEHAVIOURS]
    return peers.run_all(jobs)


@pytest.fixture
def sides(observations: dict[str, Any]) -> Any:
    """``sides(behaviour)`` → (peer observation, llmops observation, peer meta, llmops
    meta); skips (fails under ``LLMOPS_REQUIRE_E2E=1``) when the peer's venv is missing."""

    def get(behaviour: Any) -> tuple[Any, Any, Any, Any]:
        reason = peers.missing(behaviour.peer)
        if reason is not None:
            if REQUIRE_E2E:
                pytest.fail(f"{reason}; LLMOPS_REQUIRE_E2E=1 requires it", pytrace=False)
            pytest.skip(reason)
        peer, ours = observations[behaviour.peer], observations["llmops"]
        return (
            peer["results"][behaviour.id],
            ours["results"][behaviour.id],
            peer["meta"],
            ours["meta"],
        )

    return get
