"""``llmops platforms``: every known platform, where it comes from, and whether it loads.

A built-in platform also says whether the packages of its llmops extra are installed (read
from llmops' own metadata); exit 1 when any platform is not usable.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._exit import EXIT_FAILED, EXIT_OK
from ._output import Output

__all__ = ["command", "platform_rows"]


def command(args: argparse.Namespace) -> int:
    output = Output()
    rows = platform_rows()
    if args.json:
        output.json(rows)
    else:
        output.table(
            [("platform", "from", "state", "packages")]
            + [(r["name"], r["origin"], r["state"], r["detail"]) for r in rows],
            status_col=2,
        )
    return EXIT_OK if all(r["state"] == "ok" for r in rows) else EXIT_FAILED


def platform_rows() -> list[dict[str, Any]]:
    """Each known platform: name, origin, state (ok / missing / error) and what to install."""
    from .._registry import _default

    rows = []
    for name in _default.names():
        try:
            origin = _default.origin(name)
        except LookupError:  # pragma: no cover - names() and origin() agree
            origin = "?"
        row: dict[str, Any] = {"name": name, "origin": origin, "state": "ok", "detail": ""}
        if origin == "built-in":
            row.update(_extra_row(name))
        try:
            cls = _default.get(name)
        except Exception as exc:
            row["state"] = "error"
            row["detail"] = f"{type(exc).__name__}: {exc}"
        else:
            row["class"] = f"{cls.__module__}.{cls.__qualname__}"
            row["origin"] = _default.origin(name)  # an entry point names its distribution
        rows.append(row)
    return rows


def _extra_row(name: str) -> dict[str, str]:
    """``extra``, and ``state``/``detail`` for the packages of a built-in's extra."""
    from .._registry import BUILTIN_PLATFORMS

    extra = BUILTIN_PLATFORMS.get(name, {}).get("extra")
    if not extra:
        return {}
    missing = [dist for dist in _extra_requirements(extra) if _installed(dist) is None]
    if missing:
        detail = f"not installed: {', '.join(missing)}; pip install 'llmops[{extra}]'"
        return {"extra": extra, "state": "missing", "detail": detail}
    return {"extra": extra, "detail": f"llmops[{extra}] installed"}


def _extra_requirements(extra: str) -> list[str]:
    """The distributions llmops' ``extra`` installs, read from llmops' own metadata."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    try:
        reqs = requires("llmops") or []
    except PackageNotFoundError:
        return []
    names = []
    for req in reqs:
        spec, _, marker = req.partition(";")
        if re.search(rf"extra\s*==\s*['\"]{re.escape(extra)}['\"]", marker):
            names.append(re.split(r"[\s\[<>=!~;(]", spec.strip(), maxsplit=1)[0])
    return names


def _installed(dist: str) -> str | None:
    """The installed version of ``dist``; a ``-skinny`` distribution also counts as installed
    when the full distribution of the same name is."""
    from importlib.metadata import PackageNotFoundError, version

    for candidate in dict.fromkeys((dist, dist.removesuffix("-skinny"))):
        try:
            return version(candidate)
        except PackageNotFoundError:
            continue
    return None
