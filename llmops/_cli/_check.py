"""``llmops check``: make the plan ``instrument()`` would execute and print it.

Exit 1 with the plan's error for exactly the configs ``instrument()`` refuses. Otherwise a
``valid:`` line, one line per destination (:meth:`Plan.describe`), and the values the file or
the environment set, each with its source (``--all``: the defaults too). Contacts nothing.
"""

from __future__ import annotations

import argparse

import msgspec

from ._exit import EXIT_FAILED, EXIT_OK
from ._output import Output, shown
from ._planning import REFUSED, config_arg, make, no_platform_hint

__all__ = ["command"]


def command(args: argparse.Namespace) -> int:
    output = Output()
    try:
        plan = make(args.platforms, config_arg(args))
    except REFUSED as exc:
        output.error(str(exc), hint=no_platform_hint(args.platforms, exc))
        return EXIT_FAILED
    output.hide(plan.secrets())
    values = plan.values(everything=args.all)
    if args.json:
        output.json(
            {
                "config": plan.where,
                "valid": True,
                "platforms": list(plan.platforms),
                "destinations": plan.describe(),
                "values": [msgspec.structs.asdict(value) for value in values],
            }
        )
        return EXIT_OK
    output.labelled("valid", "green", plan.where)
    for line in plan.describe():
        output.line(line)
    if values:
        output.table(
            [("key", "value", "source")] + [(v.key, shown(v.value), v.source) for v in values]
        )
    else:
        output.line("every value is a default (--all shows them)", "dim")
    return EXIT_OK
