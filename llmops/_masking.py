"""The one masking function: everything llmops prints about a config goes through it.

A secret is a value of a secret field (``api_key``, ``token``, header values, ...), a value
read from a variable that holds one, or the userinfo of a URI (``postgresql://app:PW@db``).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # keeps typing out of `import llmops`
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["MASK", "mask"]

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values are masked where they are shown as a field's value, but not searched for
inside other text: a three-letter secret would mask every word that contains it."""

# scheme://userinfo@ ; the userinfo is masked whole, or all but the user name before ':'.
# A pattern string, not compiled here: `re` compiles it on the first text with an '@' in it,
# so a set-up whose URLs carry no userinfo never pays for it.
_USERINFO = r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@\s'\"]*)@"


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _ = match["info"].partition(":")
    return f"{match['scheme']}{user}:{MASK}@" if colon else f"{match['scheme']}{MASK}@"


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret in ``secrets`` and every URI password replaced by ``***``.

    >>> mask("postgresql://app:s3cret@db:5432/mlflow")
    'postgresql://app:***@db:5432/mlflow'
    >>> mask("GET http://tok@host/health failed", ["hunter22"])
    'GET http://***@host/health failed'
    >>> mask("header value 'Bearer hunter22'", ["hunter22"])
    "header value 'Bearer ***'"
    """
    for secret in sorted(
        {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
        stripped = secret.strip()
        if stripped != secret and len(stripped) >= MIN_SECRET_LENGTH:
            text = text.replace(stripped, MASK)
    if "@" in text:
        text = re.sub(_USERINFO, _userinfo, text)
    return text
