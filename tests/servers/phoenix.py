"""Start and stop a real Phoenix server for the end-to-end tests (standard library only).

Phoenix runs from its own virtual environment, ``<repo>/.venvs/phoenix/bin/phoenix`` unless
``LLMOPS_PHOENIX_BIN`` names another ``phoenix`` executable. Each :class:`PhoenixServer` gets a
temporary working directory (its SQLite database and ``phoenix.log``), an HTTP port and a gRPC
port on loopback, and keeps them across ``stop()`` / ``start()``, so fault tests can take the
collector down and bring it back on the same endpoints with the spans already stored::

    with PhoenixServer() as phoenix:
        exporter = OTLPSpanExporter(endpoint=phoenix.http_endpoint)
        ...
        spans = phoenix.wait_for_spans("my-project", 1, timeout=30)
        assert spans[0]["name"] == "GenerateContent"

The gRPC listener binds ``[::]`` whatever ``PHOENIX_HOST`` says: run the tests in a private
network namespace (``tests/servers/netns.py``) to keep it off every real interface.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from tests.servers.process import HOST, ServerProcess, free_port, port_accepts

if TYPE_CHECKING:
    pass

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
BINARY_ENV: Final = "LLMOPS_PHOENIX_BIN"

SpanPredicate: TypeAlias = Callable[[list[dict[str, Any]]], bool]

# No direct request may go through a proxy from the environment: everything here is loopback.
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Keeps Phoenix offline and quiet; the host, ports and working directory are added per server.
_PHOENIX_ENV: Final[Mapping[str, str]] = {
    "PHOENIX_TELEMETRY_ENABLED": "false",  # no FullStory / Scarf pixels
    "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",  # no web fonts, no WASM sandbox download
    "PHOENIX_ALLOWED_SANDBOX_PROVIDERS": "NONE",
    "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    "PHOENIX_AGENTS_DISABLE_BASH": "true",
    "PHOENIX_ENABLE_MCP_SERVER": "false",
    "PHOENIX_ENABLE_PROMETHEUS": "false",
    "PHOENIX_LOG_MIGRATIONS": "false",
    "PHOENIX_LOGGING_LEVEL": "warning",
    "PHOENIX_ENABLE_AUTH": "false",
    "PHOENIX_TLS_ENABLED": "false",
}
# Inherited variables that would change what Phoenix does (collector endpoints, database URL,
# its own instrumentation) are dropped, as is any proxy configuration.
_DROPPED_ENV_PREFIXES: Final = ("PHOENIX_", "OTEL_")
_DROPPED_ENV: Final = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
)


class PhoenixError(RuntimeError):
    """Phoenix did not start, died, or answered unexpectedly."""


def default_binary() -> Path:
    """``$LLMOPS_PHOENIX_BIN``, else ``<repo>/.venvs/phoenix/bin/phoenix``."""
    configured = os.environ.get(BINARY_ENV, "").strip()
    return Path(configured) if configured else REPO_ROOT / ".venvs" / "phoenix" / "bin" / "phoenix"


def binary_available(binary: Path | None = None) -> bool:
    """Whether the Phoenix executable exists and is executable."""
    path = binary or default_binary()
    return path.is_file() and os.access(path, os.X_OK)


class PhoenixServer(ServerProcess):
    """A ``phoenix serve`` process on loopback ports, with helpers to read spans back.

    Args:
        binary: the ``phoenix`` executable; defaults to :func:`default_binary`.
        working_dir: ``PHOENIX_WORKING_DIR``; a fresh temporary directory (removed by
            :meth:`close`) when omitted.
        port: the HTTP port (UI, REST API, OTLP/HTTP); a free one when omitted.
        grpc_port: the OTLP/gRPC port; a free one when omitted.
        startup_timeout: seconds :meth:`start` waits for ``GET /healthz`` to answer 200.
        env: extra environment variables for the server, applied last.
    """

    def __init__(
        self,
        binary: Path | str | None = None,
        *,
        working_dir: Path | str | None = None,
        port: int | None = None,
        grpc_port: int | None = None,
        startup_timeout: float = 90.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.binary = Path(binary) if binary is not None else default_binary()
        self._owns_working_dir = working_dir is None
        self.working_dir = Path(
            working_dir if working_dir is not None else tempfile.mkdtemp(prefix="llmops-phoenix-")
        )
        self.port = port or free_port()
        self.grpc_port = grpc_port or free_port()
        while self.grpc_port == self.port:
            self.grpc_port = free_port()
        self.startup_timeout = startup_timeout
        self.log_path = self.working_dir / "phoenix.log"
        self.last_startup_s: float | None = None
        self._extra_env = dict(env or {})

    # -- endpoints -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (UI and REST API)."""
        return f"http://{HOST}:{self.port}"

    @property
    def http_endpoint(self) -> str:
        """The OTLP/HTTP traces endpoint, ``http://127.0.0.1:PORT/v1/traces``."""
        return f"{self.base_url}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        """The OTLP/gRPC endpoint, ``http://127.0.0.1:GRPC_PORT``."""
        return f"http://{HOST}:{self.grpc_port}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> PhoenixServer:
        """Start the server and wait until it is ready; return ``self``.

        Raises ``FileNotFoundError`` if the binary is missing, and :class:`PhoenixError` (with
        the tail of the log) if the process exits or is not ready within ``startup_timeout``.
        """
        if self.is_running:
            raise PhoenixError(f"Phoenix is already running (pid {self.pid})")
        if not binary_available(self.binary):
            raise FileNotFoundError(
                f"Phoenix executable not found: {self.binary} (set {BINARY_ENV} to override)"
            )
        self.working_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== llmops: starting {self.binary} serve ===\n".encode())
            log.flush()
            process = subprocess.Popen(
                [str(self.binary), "serve"],
                env=self._environment(),
                cwd=self.working_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches any children
            )
            self._started(process)
        try:
            self._wait_until_ready(began + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.last_startup_s = time.monotonic() - began
        return self

    def __repr__(self) -> str:
        state = f"running, pid {self.pid}" if self.is_running else "stopped"
        return f"<PhoenixServer {self.base_url} grpc={self.grpc_port} {state}>"

    # -- reading spans back ----------------------------------------------------------------

    def spans(self, project_name: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """All spans of ``project_name``, oldest first; ``[]`` if the project does not exist yet.

        Uses ``GET /v1/projects/{project_name}/spans`` and follows ``next_cursor`` pages of
        ``limit`` spans (Phoenix accepts 1 to 1000). Each span is Phoenix's JSON: ``name``,
        ``context`` (``trace_id``, ``span_id``), ``span_kind`` (the OpenInference kind, taken
        out of the attributes), ``parent_id``, ``start_time``, ``end_time``, ``status_code``,
        ``status_message``, ``attributes`` (flat dotted keys) and ``events``.
        """
        path = f"/v1/projects/{urllib.parse.quote(project_name, safe='')}/spans"
        spans: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": str(limit), "order": "asc"}
            if cursor:
                query["cursor"] = cursor
            status, payload = self._get_json(f"{path}?{urllib.parse.urlencode(query)}")
            if status == 404:
                return []
            if status != 200 or not isinstance(payload, dict):
                raise PhoenixError(f"GET {path} answered {status}: {payload!r:.500}")
            spans.extend(payload.get("data") or [])
            cursor = payload.get("next_cursor")
            if not cursor:
                return spans

    def wait_for_spans(
        self,
        project_name: str,
        predicate_or_count: SpanPredicate | int = 1,
        timeout: float = 30.0,
        *,
        interval: float = 0.2,
    ) -> list[dict[str, Any]]:
        """Poll :meth:`spans` until it returns at least N spans, or ``predicate(spans)`` holds.

        Returns the spans. Raises ``TimeoutError`` describing what was there at the deadline.
        """
        predicate: SpanPredicate
        if isinstance(predicate_or_count, int):
            count = predicate_or_count
            predicate = lambda spans: len(spans) >= count  # noqa: E731
            wanted = f"at least {count} span(s)"
        else:
            predicate = predicate_or_count
            wanted = f"spans matching {getattr(predicate, '__name__', predicate)!r}"
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project_name)
            if predicate(spans):
                return spans
            if time.monotonic() >= deadline:
                names = [span.get("name") for span in spans]
                raise TimeoutError(
                    f"Phoenix project {project_name!r} did not have {wanted} within {timeout} s; "
                    f"it has {len(spans)}: {names[:20]}"
                )
            time.sleep(interval)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- internals -------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(_DROPPED_ENV_PREFIXES) and key not in _DROPPED_ENV
        }
        env.update(_PHOENIX_ENV)
        env.update(
            {
                "PHOENIX_WORKING_DIR": str(self.working_dir),
                "PHOENIX_HOST": HOST,
                "PHOENIX_PORT": str(self.port),
                "PHOENIX_GRPC_PORT": str(self.grpc_port),
                "NO_PROXY": "*",
                "no_proxy": "*",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self._extra_env)
        return env

    def _wait_until_ready(self, deadline: float) -> None:
        """Poll ``/healthz`` and the gRPC port until both answer, the process dies or time is up."""
        process = self._process
        assert process is not None
        while True:
            code = process.poll()
            if code is not None:
                raise PhoenixError(
                    f"Phoenix exited with code {code} while starting; log {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            status, _ = self._get_json("/healthz", timeout=2.0)
            if status == 200 and port_accepts(self.grpc_port):
                return
            if time.monotonic() >= deadline:
                raise PhoenixError(
                    f"Phoenix was not ready within {self.startup_timeout} s "
                    f"(last /healthz status: {status}); log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def _get_json(self, path: str, timeout: float = 10.0) -> tuple[int, Any]:
        """GET ``path``; return (status, decoded JSON or text); status 0 when unreachable."""
        try:
            with _OPENER.open(f"{self.base_url}{path}", timeout=timeout) as response:
                status: int = response.status
                body: bytes = response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (OSError, TimeoutError):
            return 0, None
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode(errors="replace")
