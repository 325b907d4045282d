"""``llmops doctor``: is the config valid, does the backend answer, can the instrumentors run?

Each check is one :class:`Result` row: ``PASS``, ``FAIL``, ``WARN`` (works, but look) or
``SKIP`` (nothing to check). Network checks are real connections with a timeout; a loopback
address never goes through a proxy from the environment.
"""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .._urls import is_loopback


class Result(NamedTuple):
    check: str
    status: str
    detail: str


def run_checks(
    config_path: str | None, platforms: list[str] | None, *, timeout: float
) -> list[Result]:
    """Every check, in order; stops after the config check when the config is invalid."""
    from .._errors import ConfigurationError, UnknownPlatformError
    from . import resolve

    try:
        resolved = resolve(config_path, platforms)
    except (ConfigurationError, UnknownPlatformError, ImportError) as exc:
        return [Result("config", "FAIL", str(exc))]
    config = resolved.config
    results = [Result("config", "PASS", f"{config.where} is valid")]
    if not resolved.platforms:
        results.append(
            Result("platform", "SKIP", "no platform selected: pass --platform or set 'platform:'")
        )
    for name, section in resolved.platforms:
        results.append(Result(f"platform {name}", "PASS", _platform_detail(name)))
        results.extend(_backend_checks(name, section, timeout))
    results.extend(_instrumentor_checks(config.settings.instrumentation))
    return results


def _platform_detail(name: str) -> str:
    from .._registry import _default

    return _default.origin(name)


# -- backends ----------------------------------------------------------------------------------


def _backend_checks(name: str, section: Any, timeout: float) -> list[Result]:
    if name == "arize":
        return _arize(section, timeout)
    if name == "mlflow":
        return _mlflow(section, timeout)
    # Another platform: probe any URL-valued key of its section.
    results = []
    for key in ("endpoint", "url", "tracking_uri", "collector_endpoint"):
        value = getattr(section, key, None)
        if isinstance(value, str) and urlsplit(value).scheme in {"http", "https"}:
            results.append(_tcp(f"{name}.{key}", value, timeout))
    if not results:
        results.append(Result("backend", "SKIP", f"no endpoint to probe in the {name} section"))
    return results


def _arize(section: Any, timeout: float) -> list[Result]:
    from .._errors import ConfigurationError
    from .._platforms import arize

    cloud = section.space_id is not None
    try:
        url, protocol, _ = arize.exporter_target(section)
    except ConfigurationError as exc:
        return [Result("arize endpoint", "FAIL", str(exc))]
    transport = "OTLP/gRPC" if protocol == "grpc" else "OTLP/HTTP"
    results = [_tcp(f"{transport} port", url, timeout)]
    if protocol == "http" and not cloud:
        base = url.removesuffix(arize.TRACES_PATH)
        results.append(_http("Phoenix /healthz", f"{base}/healthz", timeout))
    return results


def _mlflow(section: Any, timeout: float) -> list[Result]:
    from .._platforms import mlflow

    env_uri = os.environ.get("MLFLOW_TRACKING_URI")
    uri = section.tracking_uri or env_uri or mlflow.DEFAULT_TRACKING_URI
    scheme = urlsplit(uri).scheme.lower().partition("+")[0]
    if scheme in mlflow.SERVER_SCHEMES:
        base = uri.rstrip("/")
        results = [_http("MLflow /health", f"{base}/health", timeout)]
        version = _http("MLflow /version", f"{base}/version", timeout)
        if version.status == "PASS":
            text = version.detail.rpartition(": ")[2]
            try:
                major_minor = tuple(int(p) for p in text.split(".")[:2])
            except ValueError:
                major_minor = ()
            if major_minor and major_minor < mlflow.MIN_SERVER_VERSION:
                version = Result(
                    "MLflow /version",
                    "FAIL",
                    f"server {text} has no OTLP endpoint; MLflow 3.4 or later is needed",
                )
        results.append(version)
        return results
    if scheme not in mlflow.DATABASE_SCHEMES:
        supported = "http(s)://host:port (a server) or sqlite:///path/mlflow.db (a local store)"
        return [Result("MLflow tracking_uri", "FAIL", f"{mlflow.redact(uri)}: use {supported}")]
    missing = [p for p in mlflow.LOCAL_STORE_PACKAGES if not _importable(p)]
    if missing:
        return [
            Result(
                "MLflow local store",
                "FAIL",
                f"{', '.join(missing)} not installed: pip install 'llmops[mlflow]'",
            )
        ]
    detail = f"{mlflow.redact(uri)}: mlflow, sqlalchemy and alembic installed"
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        folder = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        if path and path != ":memory:" and not os.path.isdir(folder):
            return [Result("MLflow local store", "FAIL", f"the folder {folder} does not exist")]
        if path and not os.access(folder, os.W_OK):
            return [Result("MLflow local store", "FAIL", f"the folder {folder} is not writable")]
    return [Result("MLflow local store", "PASS", detail)]


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _tcp(check: str, url: str, timeout: float) -> Result:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return Result(check, "FAIL", f"{url}: invalid port")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return Result(check, "FAIL", f"{host}:{port} does not accept connections ({exc})")
    return Result(check, "PASS", f"{host}:{port} accepts connections")


def _http(check: str, url: str, timeout: float) -> Result:
    host = urlsplit(url).hostname or ""
    handlers = [urllib.request.ProxyHandler({})] if is_loopback(host) else []
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=timeout) as response:
            status = response.status
            body = response.read(200).decode(errors="replace").strip()
    except urllib.error.HTTPError as exc:
        return Result(check, "FAIL", f"GET {url} answered {exc.code}")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Result(check, "FAIL", f"GET {url} failed: {reason}")
    if status != 200:
        return Result(check, "FAIL", f"GET {url} answered {status}")
    return Result(check, "PASS", f"GET {url} answered 200: {body[:60]}")


# -- instrumentors -----------------------------------------------------------------------------


def _instrumentor_checks(selection: dict[str, bool]) -> list[Result]:
    from .._instrumentors import CATALOGUE, STRICT_KEY

    enabled = [k for k, on in selection.items() if on and k != STRICT_KEY]
    if not enabled:
        return [Result("instrumentation", "SKIP", "no instrumentor enabled in the config")]
    failing = "FAIL" if selection.get(STRICT_KEY) else "WARN"
    results = []
    for key in enabled:
        spec = CATALOGUE[key]
        problem, detail = _instrumentor_problem(spec)
        status = "PASS" if problem is None else failing
        results.append(Result(f"instrumentor {key}", status, problem or detail))
    return results


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
