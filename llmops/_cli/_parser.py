"""The argument parser: one small function per command, each naming the module that runs it."""

from __future__ import annotations

import argparse

from . import _check, _doctor, _list, _run, _schema

__all__ = ["build_parser"]

EPILOG = """\
commands:
  check      validate a config as instrument() would; show where spans go, and each value set
  platforms  list the platforms, where they come from, and whether their packages are installed
  schema     print the JSON Schema of the config (for editors: yaml-language-server, taplo)
  doctor     check that each backend answers and the instrumentors can run
  run        run a Python program with tracing, without changing its code

examples:
  llmops check llmops.yaml
  llmops platforms --import acme_llmops.platform
  llmops schema > llmops.schema.json
  llmops doctor --platform NAME
  llmops run -- python app.py --port 8000

exit codes: 0 ok, 1 check failed or invalid config, 2 usage error or (run) a refused config,
127 command not found (run: otherwise the program's own exit code). Colour only on a terminal;
NO_COLOR turns it off.
Documentation: https://github.com/llmops/llmops/tree/main/docs
"""

CONFIG_HELP = (
    "the config file (.yaml, .yml, .toml or pyproject.toml); default: $LLMOPS_CONFIG, then "
    "llmops.yaml, llmops.yml, llmops.toml, [tool.llmops] of pyproject.toml here"
)

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from typing import TypeAlias

    Commands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="llmops",
        description="LLM observability in one call: check configs, list platforms, print the "
        "config schema, diagnose the backends, and run programs with tracing.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmops {__version__}")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND", required=True)
    for add in (_add_check, _add_platforms, _add_schema, _add_doctor, _add_run):
        add(sub)
    return parser


def _command(sub: Commands, name: str, help: str, examples: str) -> argparse.ArgumentParser:
    """A command's parser, with its examples and ``--import``."""
    p = sub.add_parser(
        name,
        help=help,
        description=help,
        epilog=f"examples:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first, so that the platforms it registers with "
        "@llmops.register_platform are known (repeatable)",
    )
    return p


def _platform_option(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--platform", dest="platforms", action="append", metavar="NAME", help=help)


def _add_check(sub: Commands) -> None:
    p = _command(
        sub,
        "check",
        "validate a config exactly as instrument() would: exit 1 with the same error for "
        "every config instrument() refuses (no platform selected included). When valid, print "
        "where the spans go (one line per platform) and the values the file or the "
        "environment set, each with its source (file:line, ${VAR}, env VAR); secrets are "
        "masked. Contacts nothing.",
        "  llmops check\n  llmops check llmops.yaml --platform NAME --all\n"
        "  llmops check --json pyproject.toml\n"
        "  llmops check --import acme_llmops.platform --platform acme",
    )
    p.add_argument("config_pos", nargs="?", metavar="CONFIG", help=CONFIG_HELP)
    _platform_option(
        p,
        "a platform to check (repeatable); default: the config's 'platforms:' or 'platform:'",
    )
    p.add_argument("--all", action="store_true", help="list the defaults too")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_check.command)


def _add_platforms(sub: Commands) -> None:
    p = _command(
        sub,
        "platforms",
        "list every platform (built-in, registered with --import, entry points), where it "
        "comes from and whether its packages are installed. Exit 1 if one is not usable.",
        "  llmops platforms\n  llmops platforms --import acme_llmops.platform --json",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_list.command)


def _add_schema(sub: Commands) -> None:
    p = _command(
        sub,
        "schema",
        "print the JSON Schema of the config: common sections and every known platform's "
        "section, generated from the msgspec Structs, with descriptions.",
        "  llmops schema > llmops.schema.json\n"
        "  llmops schema --import acme_llmops.platform -o llmops.schema.json",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    p.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    p.set_defaults(func=_schema.command)


def _add_doctor(sub: Commands) -> None:
    p = _command(
        sub,
        "doctor",
        "check the config as instrument() would, then run the probes each selected platform "
        "declares (its OTLP port, its health endpoint, its local store) and check that the "
        "enabled instrumentors and the libraries they instrument are installed and compatible. "
        "Prints a pass/fail table; exit 1 on a failure.",
        "  llmops doctor\n  llmops doctor llmops.yaml --platform NAME --timeout 5",
    )
    p.add_argument("config_pos", nargs="?", metavar="CONFIG", help=CONFIG_HELP)
    _platform_option(
        p, "a platform to check (repeatable); default: the config's 'platforms:' or 'platform:'"
    )
    p.add_argument(
        "--timeout", type=float, default=3.0, help="seconds per network check (default 3)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_doctor.command)


def _add_run(sub: Commands) -> None:
    p = _command(
        sub,
        "run",
        "run a Python program with tracing, without changing its code: every Python process "
        "it starts calls llmops.instrument() at start-up (through a sitecustomize module put "
        "first on PYTHONPATH; an existing sitecustomize still runs). The config is checked "
        "first, as instrument() will check it: if it is refused, the error is printed and the "
        "program does not start (exit 2). Otherwise llmops run exits with the program's exit "
        "code.",
        "  llmops run -- python app.py\n"
        "  llmops run --config llmops.yaml -- python -m myservice --port 8000\n"
        "  llmops run --import acme_llmops.platform --platform acme -- uvicorn app:api",
    )
    p.add_argument("--config", metavar="CONFIG", help=CONFIG_HELP)
    _platform_option(
        p,
        "the platform to send spans to (repeatable: every span goes to each); default: "
        "the config's 'platforms:' or 'platform:'",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    p.set_defaults(func=_run.command)
