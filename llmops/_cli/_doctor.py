"""``llmops doctor``: is the config valid, does each backend answer, can the instrumentors run?

The config check is the plan ``instrument()`` would execute. Each selected platform is then
checked by the probes it declares (its ``probes(destination)`` hook), run generically: ``tcp``
connects, ``http`` GETs and expects 200 (then ``check(body)``), ``local`` runs ``check("")``.
A platform without the hook but with an OTLP destination gets a TCP probe of its endpoint.
Each check is one :class:`Result` row: ``PASS``, ``FAIL``, ``WARN`` (works, but look) or
``SKIP`` (nothing to check). Network probes are real connections with a timeout; a loopback
address never goes through a proxy from the environment. Every detail is masked.
"""

from __future__ import annotations

import argparse
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec

from .._masking import mask
from .._plugin import Probe, hook
from .._urls import is_loopback
from ._exit import EXIT_FAILED, EXIT_OK
from ._output import Output, environment_secrets
from ._planning import REFUSED, config_arg, make, no_platform_hint

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from .._plan import Plan, Target

__all__ = ["Result", "command", "run_checks"]

MAX_BODY_BYTES = 1 << 16
"""What an ``http`` probe reads of the answer for its ``check``."""


class Result(msgspec.Struct, frozen=True):
    check: str
    status: str
    detail: str


def command(args: argparse.Namespace) -> int:
    output = Output()
    results, plan = run_checks(config_arg(args), args.platforms, timeout=args.timeout)
    if plan is not None:
        output.hide(plan.secrets())
    if args.json:
        output.json([msgspec.structs.asdict(r) for r in results])
    else:
        output.table(
            [("check", "result", "detail")] + [(r.check, r.status, r.detail) for r in results],
            status_col=1,
        )
        output.line()
        for line, colour in summary(results, plan):
            output.line(line, colour)
    return EXIT_FAILED if any(r.status == "FAIL" for r in results) else EXIT_OK


def run_checks(
    config_path: str | None, platforms: Sequence[str] | None, *, timeout: float
) -> tuple[list[Result], Plan | None]:
    """Every check, in order, and the plan; only the config row when it is refused."""
    try:
        plan = make(platforms, config_path, require_platform=False)
    except REFUSED as exc:
        hint = no_platform_hint(platforms, exc)
        detail = mask(f"{exc}{f'; {hint}' if hint else ''}", environment_secrets())
        return [Result("config", "FAIL", detail)], None
    secrets = plan.secrets()
    results = [Result("config", "PASS", _config_detail(plan))]
    if not plan.targets:
        results.append(
            Result(
                "platform",
                "SKIP",
                "no platform selected: pass --platform NAME or set 'platform:' in the config "
                "(instrument() without a platform refuses this config)",
            )
        )
    for target in plan.targets:
        results.append(Result(f"platform {target.name}", "PASS", _origin(target.name)))
        results.extend(_probe(probe, timeout) for probe in _probes(target))
    results.extend(_instrumentor_checks(plan.settings.instrumentation))
    return [msgspec.structs.replace(r, detail=mask(r.detail, secrets)) for r in results], plan


def summary(results: list[Result], plan: Plan | None) -> list[tuple[str, str]]:
    """The lines under the table: what was checked, and the verdict (with its colour)."""
    from .._config import CONFIG_ENV, DEFAULT_FILES

    lines: list[tuple[str, str]] = []
    failed = sum(r.status == "FAIL" for r in results)
    if plan is not None and plan.config.path is None:
        looked = ", ".join([f"${CONFIG_ENV}", *DEFAULT_FILES, "[tool.llmops] in pyproject.toml"])
        names = ", ".join(plan.platforms)
        label = "platforms" if len(plan.platforms) > 1 else "platform"
        checked = f"checked the defaults for {label} {names}" if names else "used the defaults"
        lines.append((f"no config file found (looked for {looked}); {checked}", "dim"))
    probed_nothing = plan is not None and not plan.targets
    nothing = "nothing to probe: no platform selected"
    if failed:
        lines.append((f"{failed} failed" + (f"; {nothing}" if probed_nothing else ""), "red"))
    elif probed_nothing:
        lines.append((nothing, "yellow"))
    else:
        lines.append(("all checks passed", "green"))
    return lines


def _config_detail(plan: Plan) -> str:
    if plan.config.path is None:
        return "no config file found; the defaults are valid"
    return f"{plan.where} is valid"


def _origin(name: str) -> str:
    from .._registry import _default

    return _default.origin(name)


# -- probes ------------------------------------------------------------------------------------


def _probes(target: Target) -> list[Probe | Result]:
    """What the platform declares to check; a TCP probe of an OTLP endpoint without a hook."""
    destination = target.destination
    declared = hook(target.plugin_class(), "probes")
    if declared is not None and destination is not None:
        try:
            found = list(declared(destination))
        except Exception as exc:
            return [Result("probes", "FAIL", f"probes() failed: {type(exc).__name__}: {exc}")]
        bad = [p for p in found if not isinstance(p, Probe)]
        if bad:
            what = type(bad[0]).__name__
            return [Result("probes", "FAIL", f"probes() must return llmops.Probe, got {what}")]
        return [*found] or [Result("backend", "SKIP", f"{target.name} declares no probe")]
    if destination is not None and destination.otlp:
        transport = "OTLP/gRPC" if destination.transport == "grpc" else "OTLP/HTTP"
        return [Probe(name=f"{transport} port", kind="tcp", url=destination.endpoint)]
    return [Result("backend", "SKIP", f"{target.name} declares nothing to probe")]


def _probe(probe: Probe | Result, timeout: float) -> Result:
    """Run one probe (the caller masks the detail)."""
    if isinstance(probe, Result):
        return probe
    try:
        if probe.kind == "tcp":
            return _tcp(probe, timeout)
        if probe.kind == "http":
            return _http(probe, timeout)
        problem = probe.check("") if probe.check is not None else None
        return _verdict(probe, problem, "ok")
    except Exception as exc:  # a probe's own check that crashed: a failure, not a crash
        return Result(probe.name, "FAIL", f"{type(exc).__name__}: {exc}")


def _verdict(probe: Probe, problem: str | None, passed: str) -> Result:
    if problem is not None:
        return Result(probe.name, "FAIL", problem)
    return Result(probe.name, "PASS", probe.detail or passed)


def _tcp(probe: Probe, timeout: float) -> Result:
    parts = urlsplit(probe.url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return Result(probe.name, "FAIL", f"{probe.url}: invalid port")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return Result(probe.name, "FAIL", f"{host}:{port} does not accept connections ({exc})")
    return _verdict(probe, None, f"{host}:{port} accepts connections")


def _http(probe: Probe, timeout: float) -> Result:
    url = probe.url
    host = urlsplit(url).hostname or ""
    handlers = [urllib.request.ProxyHandler({})] if is_loopback(host) else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=timeout) as response:
            status = response.status
            body = response.read(MAX_BODY_BYTES).decode(errors="replace").strip()
    except urllib.error.HTTPError as exc:
        return Result(probe.name, "FAIL", f"GET {url} answered {exc.code}")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Result(probe.name, "FAIL", f"GET {url} failed: {reason}")
    if status != 200:
        return Result(probe.name, "FAIL", f"GET {url} answered {status}")
    problem = probe.check(body) if probe.check is not None else None
    return _verdict(probe, problem, f"GET {url} answered 200: {' '.join(body.split())[:60]}")


# -- instrumentors -----------------------------------------------------------------------------


def _instrumentor_checks(value: Any) -> list[Result]:
    """What ``instrument()`` would instrument, and each catalogue library installed without
    its instrumentor (its calls would not be traced)."""
    from .._instrumentors import CATALOGUE, installed_instrumentors, selection

    chosen = selection(value)
    installed = installed_instrumentors()
    failing = "FAIL" if chosen.strict else "WARN"
    results = []
    for key, spec in CATALOGUE.items():
        on = chosen.explicit.get(key)
        name = f"instrumentor {key}"
        if on is True:
            problem, detail = _instrumentor_problem(spec)
            status = "PASS" if problem is None else failing
            results.append(Result(name, status, problem or f"{detail} (enabled)"))
        elif on is None and chosen.auto and spec.watch is not None:
            if spec.target.partition(":")[0] in installed:
                problem, detail = _instrumentor_problem(spec)
                when = f"applied when the application imports {spec.watch}"
                status = "PASS" if problem is None else "WARN"
                results.append(Result(name, status, problem or f"{detail}; {when}"))
            elif spec.hint and (library := _version(spec.library)) is not None:
                results.append(
                    Result(
                        name,
                        "WARN",
                        f"{spec.library} {library} is installed but {spec.package} is not, so "
                        f"its calls are not traced: {spec.install_line()}",
                    )
                )
    if not results:
        why = "instrumentation is off" if not chosen.auto else "no catalogue library installed"
        return [Result("instrumentation", "SKIP", why)]
    return results


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _instrumentor_problem(spec: Any) -> tuple[str | None, str]:
    """(why ``spec`` cannot run, or None; the versions found)."""
    import importlib
    from importlib.metadata import PackageNotFoundError, version

    try:
        package_version = version(spec.package)
    except PackageNotFoundError:
        return f"not installed: pip install {spec.package}", ""
    try:
        library_version = version(spec.library)
    except PackageNotFoundError:
        return f"{spec.library}, which it instruments, is not installed: pip install " + (
            spec.library
        ), ""
    try:
        from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

        module, _, attr = spec.target.partition(":")
        instrumentor = getattr(importlib.import_module(module), attr)()
        conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
    except Exception as exc:
        return f"{spec.target} cannot be imported: {type(exc).__name__}: {exc}", ""
    if conflict is not None:
        return f"incompatible versions: {conflict}", ""
    return None, f"{spec.package} {package_version}, {spec.library} {library_version}"
