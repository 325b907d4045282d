"""What the commands print: colour, aligned tables, JSON and errors, every line masked.

A command makes one :class:`Output` and, once it has a plan, hands it the plan's secrets
(:meth:`Output.hide`); from then on every line, table cell, JSON string and error it writes
goes through :func:`llmops._masking.mask` with them. Before there is a plan (a config that is
refused) errors are masked with the values of the environment variables whose names say they
hold a secret, on top of what the plan's own error masking removed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from .._masking import mask

__all__ = ["Output", "Style", "environment_secrets", "shown"]

_SECRET_WORDS = ("KEY", "TOKEN", "PASSWORD", "SECRET", "HEADERS", "CREDENTIAL", "AUTH")
"""A variable whose name holds one of these words is assumed to hold a secret."""
_MIN_ENVIRONMENT_SECRET = 8
"""Shorter values of such variables (``true``, ``none``, ``1``) are flags, not secrets: masking
them would mask those words in every message."""

_STATUS_COLOURS = {
    "PASS": "green",
    "ok": "green",
    "FAIL": "red",
    "missing": "red",
    "error": "red",
    "WARN": "yellow",
    "SKIP": "dim",
}


class Style:
    """ANSI colour when writing to a terminal and ``NO_COLOR`` is unset (https://no-color.org)."""

    _CODES = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1"}

    def __init__(self, stream: TextIO) -> None:
        isatty = getattr(stream, "isatty", None)
        self.enabled = (
            bool(isatty and isatty())
            and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM") != "dumb"
        ) or bool(os.environ.get("FORCE_COLOR"))

    def __call__(self, text: str, colour: str) -> str:
        if not self.enabled:
            return text
        return f"\033[{self._CODES[colour]}m{text}\033[0m"


def environment_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """The values of the variables whose names say they hold a secret (``*_API_KEY``,
    ``*_TOKEN``, ``*_PASSWORD``, ``*_HEADERS``, ...)."""
    env = os.environ if env is None else env
    return [
        value
        for name, value in env.items()
        if len(value) >= _MIN_ENVIRONMENT_SECRET and any(w in name.upper() for w in _SECRET_WORDS)
    ]


class Output:
    """The two streams of one command, masking everything written to them."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.style = Style(self.out)
        self._secrets: list[str] = []

    def hide(self, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` in everything written from now on."""
        self._secrets.extend(s for s in secrets if s)

    def masked(self, text: str) -> str:
        return mask(text, self._secrets)

    def line(self, text: str = "", colour: str | None = None) -> None:
        """One line on stdout; ``colour`` colours all of it (on a terminal)."""
        text = self.masked(text)
        self.out.write(f"{self.style(text, colour) if colour else text}\n")

    def labelled(self, label: str, colour: str, text: str) -> None:
        """``label: text`` on stdout, the label coloured."""
        self.out.write(f"{self.style(label, colour)}: {self.masked(text)}\n")

    def table(self, rows: Sequence[Sequence[str]], status_col: int | None = None) -> None:
        """Rows as aligned columns, the first one the header; the status column
        (PASS/FAIL/...) is coloured."""
        if not rows:
            return
        cells = [[self.masked(cell) for cell in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        for row in cells:
            parts = []
            for i, cell in enumerate(row):
                padded = cell.ljust(widths[i]) if i < len(row) - 1 else cell
                if i == status_col and cell in _STATUS_COLOURS:
                    padded = self.style(padded, _STATUS_COLOURS[cell])
                parts.append(padded)
            self.out.write("  ".join(parts).rstrip() + "\n")

    def json(self, document: Any) -> None:
        """``document`` as indented JSON, every string in it masked (never colour)."""
        self.out.write(json.dumps(self._mask_strings(document), indent=2, default=str) + "\n")

    def error(self, message: str, *, hint: str = "") -> None:
        """``error: message`` on stderr (and a ``hint:`` line), masked with the secrets
        given so far and those of the environment."""
        secrets = [*self._secrets, *environment_secrets()]
        style = Style(self.err)
        self.err.write(f"{style('error:', 'red')} {mask(message, secrets)}\n")
        if hint:
            self.err.write(f"{style('hint:', 'yellow')} {mask(hint, secrets)}\n")

    def _mask_strings(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.masked(value)
        if isinstance(value, Mapping):
            return {self._mask_strings(k): self._mask_strings(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask_strings(v) for v in value]
        return value


def shown(value: Any) -> str:
    """A value as one table cell: ``-`` for unset, strings as they are, the rest as JSON."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
