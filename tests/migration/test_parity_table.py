"""The parity table itself: well-formed, and the same in ``docs/migration.md`` as in
``tests/migration/behaviours.py`` (no row documented that is not tested, none tested that is
not documented)."""

from __future__ import annotations

import re

from tests.migration.behaviours import BEGIN, BEHAVIOURS, DOC, END, PEERS, REASONS, render_table

OBSERVED = {
    "transport",
    "target",
    "host",
    "port",
    "path",
    "tls",
    "headers",
    "header_names",
    "compression",
    "timeout_s",
    "ca",
    "client_cert",
    "processor",
    "bsp",
    "sampler",
    "recording",
    "refused",
}


def test_rows_are_well_formed() -> None:
    ids = [b.id for b in BEHAVIOURS]
    assert len(ids) == len(set(ids)), "row ids must be unique"
    for b in BEHAVIOURS:
        assert b.peer in PEERS, b.id
        assert b.source, b.id
        assert b.title, b.id
        assert b.compare, b.id
        for key in b.compare:
            assert key in OBSERVED or key.startswith(("header:", "resource:")), (b.id, key)
        assert set(b.expect) == set(b.compare), f"{b.id}: expect must give every compared key"
        if b.relation == "same":
            assert b.llmops_expect is None, f"{b.id}: a 'same' row has no llmops_expect"
        else:
            assert b.relation in REASONS, f"{b.id}: unknown reason {b.relation!r}"
            assert b.llmops_expect is not None, b.id
            assert set(b.llmops_expect) == set(b.compare), b.id
            assert dict(b.llmops_expect) != dict(b.expect), f"{b.id}: nothing differs"


def test_every_reason_is_used() -> None:
    used = {b.relation for b in BEHAVIOURS}
    assert set(REASONS) <= used, f"unused reasons: {sorted(set(REASONS) - used)}"


def test_docs_hold_the_table() -> None:
    text = DOC.read_text()
    assert text.count(BEGIN) == 1, f"{DOC} needs one {BEGIN}"
    assert text.count(END) == 1, f"{DOC} needs one {END}"
    written = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert written == render_table(), (
        "docs/migration.md's parity table is not the one tests/migration/behaviours.py "
        "renders; run: .venv/bin/python -m tests.migration.behaviours --write"
    )


def test_docs_rows_are_the_tested_rows() -> None:
    """Belt and braces for the check above: every row id in the docs is a tested row and
    every tested row is in the docs."""
    written = DOC.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    documented = re.findall(r"^\| `([a-z0-9.-]+)` \|", written, flags=re.MULTILINE)
    assert sorted(documented) == sorted(b.id for b in BEHAVIOURS)
