"""The ``llmops`` command line: ``check``, ``platforms``, ``schema``, ``doctor`` and ``run``.

Loaded only by the console script and ``python -m llmops``; ``import llmops`` never imports it.
Exit codes: 0 success, 1 the check failed (invalid config, a failing doctor check, an unknown
platform), 2 wrong usage, 127 the command of ``llmops run`` was not found; ``llmops run``
otherwise exits with the program's own code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["EXIT_FAILED", "EXIT_NOT_FOUND", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 127

BOOT_DIR = Path(__file__).resolve().parent / "boot"
"""Holds the ``sitecustomize.py`` that ``llmops run`` puts first on PYTHONPATH."""

_EPILOG = """\
commands:
  check      validate a config as instrument() would; show each value and where it came from
  platforms  list the platforms, where they come from, and whether their packages are installed
  schema     print the JSON Schema of the config (for editors: yaml-language-server, taplo)
  doctor     check that the backend answers and the instrumentors can run
  run        run a Python program with tracing, without changing its code

examples:
  llmops check llmops.yaml
  llmops platforms --import acme_llmops.platform
  llmops schema > llmops.schema.json
  llmops doctor --platform arize
  llmops run --platform arize -- python app.py --port 8000

exit codes: 0 ok, 1 check failed or invalid config, 2 usage error, 127 command not found
(run: otherwise the program's own exit code). Colour only on a terminal; NO_COLOR turns it off.
Documentation: https://github.com/llmops/llmops/tree/main/docs
"""


# -- output ------------------------------------------------------------------------------------


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


def _table(rows: Sequence[Sequence[str]], out: TextIO, style: Style, status_col: int = -1) -> None:
    """Rows as aligned columns; the status column (PASS/FAIL/…) is coloured."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    colours = {"PASS": "green", "ok": "green", "FAIL": "red", "missing": "red", "WARN": "yellow"}
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            padded = cell.ljust(widths[i]) if i < len(row) - 1 else cell
            if i == status_col % len(row) and cell in colours:
                padded = style(padded, colours[cell])
            cells.append(padded)
        out.write("  ".join(cells).rstrip() + "\n")


def _error(message: str) -> int:
    style = Style(sys.stderr)
    sys.stderr.write(f"{style('error:', 'red')} {message}\n")
    return EXIT_FAILED


# -- shared steps ------------------------------------------------------------------------------


def _import_modules(modules: Sequence[str]) -> None:
    """``--import MODULE``: modules whose ``@register_platform`` decorators must run."""
    import importlib

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: local modules are importable
    for module in modules:
        importlib.import_module(module)


class Resolved:
    """A config loaded and validated the way ``instrument()`` does it, short of ``setup()``.

    ``platforms`` are the selected platforms (``--platform``, else the config's ``platforms:``
    or ``platform:``), each as (name, decoded section); empty when none is selected.
    """

    def __init__(self, config: Any, platforms: list[tuple[str, Any]]) -> None:
        self.config = config
        self.platforms = platforms

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.platforms]


def resolve(config_path: str | None, platforms: Sequence[str] | None) -> Resolved:
    """Load the config, pick the platforms, validate their sections and the instrumentors.

    Raises what ``instrument()`` raises: ``ConfigurationError``, ``UnknownPlatformError``,
    ``PluginLoadError``.
    """
    from .._config import load_config
    from .._instrumentors import validate
    from .._registry import _default, plugins_disabled_by_env

    def discover(settings: Any) -> bool:
        return bool(getattr(settings, "plugins", True)) and not plugins_disabled_by_env()

    config = load_config(
        config_path, known_sections=lambda settings: _default.known(discover=discover(settings))
    )
    allowed = discover(config.settings)
    names = list(dict.fromkeys(platforms)) if platforms else config.platform_names()
    validate(config.settings.instrumentation, config.where)
    selected = []
    for name in names:
        plugin = _default.get(name, discover=allowed)
        selected.append((name, config.section(name, plugin.config_type)))
    # instrument() validates only the platforms it uses; check every section the file has.
    for other in config.sections:
        if other not in names:
            config.section(other, _default.get(other, discover=allowed).config_type)
    return Resolved(config, selected)


def _config_arg(args: argparse.Namespace) -> str | None:
    value: str | None = getattr(args, "config_pos", None) or getattr(args, "config", None)
    return value


# -- check -------------------------------------------------------------------------------------

ENV_SOURCES: dict[str, tuple[str, ...]] = {
    "service.name": ("OTEL_SERVICE_NAME",),
    "arize.endpoint": ("PHOENIX_COLLECTOR_ENDPOINT",),
    "arize.api_key": ("PHOENIX_API_KEY", "ARIZE_API_KEY"),
    "arize.project_name": ("PHOENIX_PROJECT_NAME", "ARIZE_PROJECT_NAME"),
    "arize.headers": ("PHOENIX_CLIENT_HEADERS",),
    "mlflow.tracking_uri": ("MLFLOW_TRACKING_URI",),
    "mlflow.experiment_name": ("MLFLOW_EXPERIMENT_NAME",),
    "mlflow.experiment_id": ("MLFLOW_EXPERIMENT_ID",),
    "mlflow.token": ("MLFLOW_TRACKING_TOKEN",),
    "mlflow.username": ("MLFLOW_TRACKING_USERNAME",),
    "mlflow.password": ("MLFLOW_TRACKING_PASSWORD",),
}
"""The well-known variables that fill a key the file leaves unset (see the platform pages).
``arize`` reads ``ARIZE_*`` only in Arize AX mode, the ``PHOENIX_*`` ones only in Phoenix mode."""


def _raw_document(config: Any) -> dict[str, Any]:
    """The file's document before ``${VAR}`` interpolation (to tell file values from others)."""
    if config.path is None or config.text is None:
        return {}
    path: Path = config.path
    data: Any
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        data = yaml.safe_load(config.text)
    else:
        import tomllib

        data = tomllib.loads(config.text)
        if path.name == "pyproject.toml":
            data = data.get("tool", {}).get("llmops", {})
    return data if isinstance(data, dict) else {}


def _env_for(key: str, section: Any) -> str | None:
    candidates = ENV_SOURCES.get(key, ())
    if key.startswith("arize.") and len(candidates) == 2:
        ax = getattr(section, "space_id", None) is not None
        candidates = candidates[1:] if ax else candidates[:1]
    if key == "arize.endpoint" and getattr(section, "space_id", None) is not None:
        return None
    return next((var for var in candidates if os.environ.get(var)), None)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" for k in value}
    return "***" if value else value


def describe_values(resolved: Resolved) -> list[dict[str, Any]]:
    """Every key of the common sections and the platform's section: value, origin.

    ``origin`` is ``file``, ``file (${VAR})`` when the file's value reads the environment,
    ``env VAR`` when a well-known variable fills a key the file leaves unset, or ``default``.
    Secret values are masked.
    """
    import msgspec

    from .._config import Settings

    raw = _raw_document(resolved.config)
    rows: list[dict[str, Any]] = []

    def walk(prefix: str, struct: Any, raw_part: Any) -> None:
        raw_part = raw_part if isinstance(raw_part, dict) else {}
        secrets = frozenset(getattr(struct, "secret_fields", frozenset()))
        for field in msgspec.structs.fields(struct):
            key = f"{prefix}{field.encode_name}"
            value = getattr(struct, field.name)
            if isinstance(value, msgspec.Struct):
                walk(f"{key}.", value, raw_part.get(field.encode_name))
                continue
            secret = field.name in secrets
            if field.encode_name in raw_part:
                text = raw_part[field.encode_name]
                origin = "file"
                if isinstance(text, str) and "${" in text:
                    import re

                    names = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)
                    origin = f"file (${{{', '.join(names)}}})" if names else "file"
            elif (var := _env_for(key, struct)) is not None:
                origin = f"env {var}"
                value = os.environ[var]
            else:
                origin = "default"
            if secret:
                value = _masked(value)
            rows.append({"key": key, "value": value, "origin": origin, "secret": secret})

    settings: Settings = resolved.config.settings
    walk("", settings, raw)
    for name, section in resolved.platforms:
        walk(f"{name}.", section, raw.get(name))
    return rows


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def cmd_check(args: argparse.Namespace) -> int:
    from .._errors import ConfigurationError, UnknownPlatformError

    out, style = sys.stdout, Style(sys.stdout)
    try:
        resolved = resolve(_config_arg(args), args.platforms)
    except (ConfigurationError, UnknownPlatformError, ImportError) as exc:
        return _error(str(exc))
    rows = describe_values(resolved)
    where = resolved.config.where
    if args.json:
        json.dump(
            {"config": where, "valid": True, "platforms": resolved.names, "values": rows},
            out,
            indent=2,
        )
        out.write("\n")
        return EXIT_OK
    names = ", ".join(resolved.names) or "none selected (pass --platform or set 'platform:')"
    label = "platforms" if len(resolved.names) > 1 else "platform"
    out.write(f"{style('valid', 'green')}: {where} ({label}: {names})\n")
    _table(
        [("key", "value", "from")] + [(r["key"], _show(r["value"]), r["origin"]) for r in rows],
        out,
        style,
    )
    return EXIT_OK


# -- platforms ---------------------------------------------------------------------------------


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
            name = re.split(r"[\s\[<>=!~;(]", spec.strip(), maxsplit=1)[0]
            names.append(name)
    return names


def _installed(dist: str) -> str | None:
    """The installed version of ``dist`` (``mlflow`` stands in for ``mlflow-skinny``)."""
    from importlib.metadata import PackageNotFoundError, version

    for candidate in (dist, "mlflow") if dist == "mlflow-skinny" else (dist,):
        try:
            return version(candidate)
        except PackageNotFoundError:
            continue
    return None


def platform_rows() -> list[dict[str, Any]]:
    """Each known platform: name, origin, state (ok / missing / error) and what to install."""
    from .._registry import BUILTIN_PLATFORMS, _default

    rows = []
    for name in _default.names():
        try:
            origin = _default.origin(name)
        except LookupError:  # pragma: no cover - names() and origin() agree
            origin = "?"
        row: dict[str, Any] = {"name": name, "origin": origin, "state": "ok", "detail": ""}
        builtin = BUILTIN_PLATFORMS.get(name)
        if builtin is not None and origin == "built-in":
            needed = _extra_requirements(builtin.extra)
            missing = [dist for dist in needed if _installed(dist) is None]
            row["extra"] = builtin.extra
            if missing:
                row["state"] = "missing"
                row["detail"] = (
                    f"not installed: {', '.join(missing)}; pip install 'llmops[{builtin.extra}]'"
                )
            else:
                row["detail"] = f"llmops[{builtin.extra}] installed"
        try:
            cls = _default.get(name)
        except Exception as exc:
            row["state"] = "error"
            row["detail"] = f"{type(exc).__name__}: {exc}"
        else:
            row["class"] = f"{cls.__module__}.{cls.__qualname__}"
            # An entry point names its distribution once it is loaded.
            row["origin"] = _default.origin(name)
        rows.append(row)
    return rows


def cmd_platforms(args: argparse.Namespace) -> int:
    out, style = sys.stdout, Style(sys.stdout)
    rows = platform_rows()
    if args.json:
        json.dump(rows, out, indent=2)
        out.write("\n")
    else:
        _table(
            [("platform", "from", "state", "packages")]
            + [(r["name"], r["origin"], r["state"], r["detail"]) for r in rows],
            out,
            style,
            status_col=2,
        )
    return EXIT_OK if all(r["state"] == "ok" for r in rows) else EXIT_FAILED


# -- schema ------------------------------------------------------------------------------------


def cmd_schema(args: argparse.Namespace) -> int:
    from ._schema import config_schema

    problems: dict[str, str] = {}
    schema = config_schema(problems=problems)
    for name, why in problems.items():
        sys.stderr.write(f"llmops schema: platform {name!r} left out: {why}\n")
    text = json.dumps(schema, indent=args.indent if args.indent > 0 else None)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return EXIT_OK


# -- doctor ------------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    from ._doctor import run_checks

    out, style = sys.stdout, Style(sys.stdout)
    results = run_checks(_config_arg(args), args.platforms, timeout=args.timeout)
    if args.json:
        json.dump([r._asdict() for r in results], out, indent=2)
        out.write("\n")
    else:
        _table(
            [("check", "result", "detail")] + [(r.check, r.status, r.detail) for r in results],
            out,
            style,
            status_col=1,
        )
    failed = [r for r in results if r.status == "FAIL"]
    if not args.json:
        summary = f"{len(failed)} failed" if failed else "all checks passed"
        out.write(f"\n{style(summary, 'red' if failed else 'green')}\n")
    return EXIT_FAILED if failed else EXIT_OK


# -- run ---------------------------------------------------------------------------------------


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


def cmd_run(args: argparse.Namespace) -> int:
    import shutil

    from .._errors import ConfigurationError, UnknownPlatformError

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        sys.stderr.write("llmops run: no command given; usage: llmops run -- python app.py\n")
        return EXIT_USAGE
    try:
        resolved = resolve(args.config, args.platforms)
    except (ConfigurationError, UnknownPlatformError, ImportError) as exc:
        return _error(str(exc))
    if not resolved.platforms:
        return _error(
            f"{resolved.config.where}: no platform given; pass --platform NAME or set "
            "'platform:' in the config"
        )
    env = run_environment(dict(os.environ), args.config, args.platforms, args.imports)
    executable = shutil.which(command[0], path=env.get("PATH"))
    if executable is None:
        sys.stderr.write(f"llmops run: command not found: {command[0]}\n")
        return EXIT_NOT_FOUND
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(executable, command, env)  # the program takes over this process
    import subprocess  # pragma: no cover - Windows has no exec that keeps the process

    return subprocess.call([executable, *command[1:]], env=env)  # pragma: no cover


# -- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="llmops",
        description="LLM observability in one call: check configs, list platforms, print the "
        "config schema, diagnose the backend, and run programs with tracing.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"llmops {__version__}")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND", required=True)

    def add(name: str, help: str, examples: str) -> argparse.ArgumentParser:
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

    config_help = (
        "the config file (.yaml, .yml, .toml or pyproject.toml); default: $LLMOPS_CONFIG, then "
        "llmops.yaml, llmops.yml, llmops.toml, [tool.llmops] of pyproject.toml here"
    )
    check = add(
        "check",
        "validate a config exactly as instrument() would and print every resolved value with "
        "where it came from (file, env, default); secrets are masked. Exit 0 when valid, 1 "
        "with the error when not.",
        "  llmops check\n  llmops check llmops.yaml --platform arize\n"
        "  llmops check --json pyproject.toml\n"
        "  llmops check --import acme_llmops.platform --platform acme",
    )
    check.add_argument("config_pos", nargs="?", metavar="CONFIG", help=config_help)
    check.add_argument(
        "--platform",
        dest="platforms",
        action="append",
        metavar="NAME",
        help="a platform whose section to check (repeatable); default: the config's "
        "'platforms:' or 'platform:'",
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=cmd_check)

    platforms = add(
        "platforms",
        "list every platform (built-in, registered with --import, entry points), where it "
        "comes from and whether its packages are installed. Exit 1 if one is not usable.",
        "  llmops platforms\n  llmops platforms --import acme_llmops.platform --json",
    )
    platforms.add_argument("--json", action="store_true", help="print JSON")
    platforms.set_defaults(func=cmd_platforms)

    schema = add(
        "schema",
        "print the JSON Schema of the config: common sections and every known platform's "
        "section, generated from the msgspec Structs, with descriptions.",
        "  llmops schema > llmops.schema.json\n"
        "  llmops schema --import acme_llmops.platform -o llmops.schema.json",
    )
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    schema.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    schema.set_defaults(func=cmd_schema)

    doctor = add(
        "doctor",
        "check the config, that the configured backend answers (Phoenix /healthz, MLflow "
        "/health, the OTLP port) and that the enabled instrumentors and the libraries they "
        "instrument are installed and compatible. Prints a pass/fail table; exit 1 on a "
        "failure.",
        "  llmops doctor\n  llmops doctor llmops.yaml --platform mlflow --timeout 5",
    )
    doctor.add_argument("config_pos", nargs="?", metavar="CONFIG", help=config_help)
    doctor.add_argument(
        "--platform",
        dest="platforms",
        action="append",
        metavar="NAME",
        help="a platform to check (repeatable); default: the config's 'platforms:' or 'platform:'",
    )
    doctor.add_argument(
        "--timeout", type=float, default=3.0, help="seconds per network check (default 3)"
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(func=cmd_doctor)

    run = add(
        "run",
        "run a Python program with tracing, without changing its code: every Python process "
        "it starts calls llmops.instrument() at start-up (through a sitecustomize module put "
        "first on PYTHONPATH; an existing sitecustomize still runs). The config is validated "
        "first (exit 1 if invalid); then llmops run exits with the program's exit code.",
        "  llmops run --platform arize -- python app.py\n"
        "  llmops run --config llmops.yaml -- python -m myservice --port 8000\n"
        "  llmops run --import acme_llmops.platform --platform acme -- uvicorn app:api",
    )
    run.add_argument("--config", metavar="CONFIG", help=config_help)
    run.add_argument(
        "--platform",
        dest="platforms",
        action="append",
        metavar="NAME",
        help="the platform to send spans to (repeatable: every span goes to each); default: "
        "the config's 'platforms:' or 'platform:'",
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # In-house platforms registered by --import MODULE, for every command.
        _import_modules(getattr(args, "imports", ()))
    except Exception as exc:
        return _error(f"--import failed: {type(exc).__name__}: {exc}")
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `llmops schema | head`
        sys.stderr.close()
        return EXIT_OK
    return code
