"""Reading a row of the table against what the two sides built."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.migration.behaviours import Behaviour

PLACEHOLDERS = {"<python>": "python", "<arize-otel>": "arize-otel", "<llmops>": "llmops"}


LLMOPS_REFUSAL = "ConfigurationError"
"""How llmops refuses a set-up; any other exception from ``instrument()`` is a crash."""


def value(observation: Mapping[str, Any], key: str, *, llmops: bool = False) -> Any:
    """The value of ``key`` (see :mod:`tests.migration.behaviours`) in an observation. For
    llmops, ``refused`` is true only for a ``ConfigurationError``: another exception reads
    ``crashed (<type>)``, which no row expects."""
    if key == "refused":
        error = observation.get("error")
        if llmops and error is not None and error != LLMOPS_REFUSAL:
            return f"crashed ({error}: {observation.get('message', '')})"
        return error is not None
    if "error" in observation:
        return None
    if key.startswith("header:"):
        return observation.get("headers", {}).get(key[7:])
    if key == "header_names":
        return sorted(observation.get("headers", {}))
    if key.startswith("resource:"):
        return observation.get("resource", {}).get(key[9:])
    return observation.get(key)


def values(
    observation: Mapping[str, Any], keys: tuple[str, ...], *, llmops: bool = False
) -> dict[str, Any]:
    return {key: value(observation, key, llmops=llmops) for key in keys}


def expected(values: Mapping[str, Any], meta: Mapping[str, str]) -> dict[str, Any]:
    """``values`` with the placeholders replaced by the observing side's versions."""

    def fill(item: Any) -> Any:
        if isinstance(item, str) and item in PLACEHOLDERS:
            return meta.get(PLACEHOLDERS[item], item)
        return item

    return {key: fill(item) for key, item in values.items()}


def describe(side: str, observation: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in observation.items() if k != "traceback"}
    text = f"{side}: {json.dumps(shown, sort_keys=True)}"
    if "traceback" in observation:
        text += f"\n{observation['traceback']}"
    return text


def check(
    behaviour: Behaviour,
    peer: Mapping[str, Any],
    ours: Mapping[str, Any],
    peer_meta: Mapping[str, str],
    our_meta: Mapping[str, str],
) -> None:
    """Assert the row: the peer does what the table says, and llmops does the same or the
    documented other thing."""
    keys = behaviour.compare
    context = f"\n{describe(behaviour.peer, peer)}\n{describe('llmops', ours)}"
    got_peer = values(peer, keys)
    want_peer = expected(behaviour.expect, peer_meta)
    assert got_peer == want_peer, (
        f"{behaviour.id}: {behaviour.peer} no longer does what the table says "
        f"(table {want_peer}, observed {got_peer}); update tests/migration/behaviours.py "
        f"and docs/migration.md{context}"
    )
    got_ours = values(ours, keys, llmops=True)
    if behaviour.relation == "same":
        assert got_ours == got_peer, (
            f"{behaviour.id}: llmops differs from {behaviour.peer} "
            f"({behaviour.peer} {got_peer}, llmops {got_ours}); the table says 'same'{context}"
        )
        return
    want_ours = expected(behaviour.llmops_expect or {}, our_meta)
    assert got_ours == want_ours, (
        f"{behaviour.id}: llmops should do what docs/migration.md documents "
        f"({behaviour.relation}): expected {want_ours}, observed {got_ours}{context}"
    )
    assert got_ours != got_peer, (
        f"{behaviour.id}: documented as different ({behaviour.relation}) but llmops now "
        f"does what {behaviour.peer} does; make the row 'same'{context}"
    )
