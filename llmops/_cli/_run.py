"""``llmops run``: run a program with tracing, without changing its code.

The plan is made first, as ``instrument()`` will make it inside the program: a config it
refuses is reported (masked) and the program does not start (exit 2). Then ``llmops run``
replaces itself with the program, with the ``boot`` folder (a ``sitecustomize`` that calls
``llmops.instrument()``) first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ._exit import EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE
from ._output import Output
from ._planning import REFUSED, make, no_platform_hint

__all__ = ["BOOT_DIR", "command", "run_environment"]

BOOT_DIR = Path(__file__).resolve().parent / "boot"
"""Holds the ``sitecustomize.py`` that ``llmops run`` puts first on PYTHONPATH."""


def command(args: argparse.Namespace) -> int:
    import shutil

    output = Output()
    argv = list(args.command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        output.error("llmops run: no command given; usage: llmops run -- python app.py")
        return EXIT_USAGE
    try:
        make(args.platforms, args.config)
    except REFUSED as exc:
        hint = no_platform_hint(args.platforms, exc)
        output.error(str(exc), hint="; ".join(filter(None, [hint, "the program was not started"])))
        return EXIT_REFUSED
    env = run_environment(dict(os.environ), args.config, args.platforms, args.imports)
    executable = shutil.which(argv[0], path=env.get("PATH"))
    if executable is None:
        output.error(f"llmops run: command not found: {argv[0]}")
        return EXIT_NOT_FOUND
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(executable, argv, env)  # the program takes over this process
    import subprocess  # pragma: no cover - Windows has no exec that keeps the process

    return subprocess.call([executable, *argv[1:]], env=env)  # pragma: no cover


def run_environment(
    base: dict[str, str],
    config: str | None,
    platforms: Sequence[str] | None,
    imports: Sequence[str],
) -> dict[str, str]:
    """The environment of the program ``llmops run`` starts."""
    env = dict(base)
    previous = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(BOOT_DIR), *([previous] if previous else [])])
    env["LLMOPS_RUN_ACTIVE"] = "1"
    if config is not None:
        env["LLMOPS_CONFIG"] = str(Path(config).resolve())
    if platforms:
        env["LLMOPS_RUN_PLATFORMS"] = ",".join(platforms)
    if imports:
        env["LLMOPS_RUN_IMPORTS"] = ",".join(imports)
        cwd = os.getcwd()  # --import modules from the working directory, as here
        env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], cwd])
    return env
