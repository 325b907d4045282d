"""The ``llmops`` command line: ``check``, ``platforms``, ``schema``, ``doctor`` and ``run``.

Each command is one module (``_check``, ``_list``, ``_schema``, ``_doctor``, ``_run``); all of
them read the plan ``instrument()`` executes (``_planning``) and print through ``_output``,
which masks every secret. Loaded only by the console script and ``python -m llmops``;
``import llmops`` never imports it.

Exit codes: 0 success; 1 the check failed (a config ``instrument()`` refuses, a failing
doctor check, a platform that is not usable, an ``--import`` that fails); 2 wrong usage, and
``llmops run`` with a config ``instrument()`` refuses (the program is not started); 127 the
command of ``llmops run`` was not found; ``llmops run`` otherwise exits with the program's
own code.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._exit import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
)
from ._output import Output, Style

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "Style",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    from ._parser import build_parser
    from ._planning import import_modules

    args = build_parser().parse_args(argv)
    try:
        import_modules(args.imports)  # in-house platforms registered by --import MODULE
    except Exception as exc:
        Output().error(f"--import failed: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `llmops schema | head`
        import sys

        sys.stderr.close()
        return EXIT_OK
    return code
