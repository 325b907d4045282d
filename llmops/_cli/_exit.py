"""The exit codes of the ``llmops`` command (listed in ``_cli/__init__.py``)."""

from __future__ import annotations

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = EXIT_USAGE
"""``llmops run``: the config is refused and the program was not started."""
EXIT_NOT_FOUND = 127
EXIT_INTERRUPTED = 130
