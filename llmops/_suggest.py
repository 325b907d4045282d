"""did-you-mean: the closest known name to a misspelt one, by :mod:`difflib`."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word``, or ``None`` when none is close.

    >>> closest("endpont", ["endpoint", "headers"])
    'endpoint'
    """
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or ``"."``, to end a sentence about ``word``."""
    match = closest(word, choices)
    return f"; did you mean {match!r}?" if match is not None else "."
