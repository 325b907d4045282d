"""Start and stop a real MLflow tracking server for the end-to-end tests (standard library only).

MLflow runs from its own virtual environment (the full ``mlflow`` package, not ``mlflow-skinny``),
``<repo>/.venvs/mlflow/bin/mlflow`` unless ``LLMOPS_MLFLOW_BIN`` names another ``mlflow``
executable. Each :class:`MlflowServer` gets a temporary working directory (its SQLite backend
store, its artifacts and ``mlflow.log``) and a free port on loopback, and keeps them across
``stop()`` / ``start()``, so a test can take the server down and bring it back on the same URI
with the traces already stored::

    with MlflowServer() as server:
        mlflow.set_tracking_uri(server.tracking_uri)
        ...

The server runs lean and offline-safe: one worker, no job execution, no usage telemetry, and no
model catalog (without ``MLFLOW_MODEL_CATALOG_URI=""`` the first LLM span stalls for seconds while
the server tries to download a price list).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from tests.servers.process import HOST, ServerProcess, free_port

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
BINARY_ENV: Final = "LLMOPS_MLFLOW_BIN"

# No direct request may go through a proxy from the environment: everything here is loopback.
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Keeps the server offline, quiet and small; the store, host and port are passed as arguments.
_MLFLOW_ENV: Final[Mapping[str, str]] = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # no huey job runner processes
    "MLFLOW_DISABLE_TELEMETRY": "true",  # no usage telemetry
    "DO_NOT_TRACK": "true",
    "MLFLOW_MODEL_CATALOG_URI": "",  # no price-list download on the first LLM span
}
# Inherited variables that would change what the server does (its own tracking URI, OTLP export
# of its own spans, ...) are dropped, as is any proxy configuration.
_DROPPED_ENV_PREFIXES: Final = ("MLFLOW_", "OTEL_")
_DROPPED_ENV: Final = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
)


class MlflowServerError(RuntimeError):
    """The MLflow server did not start, died, or answered unexpectedly."""


def default_binary() -> Path:
    """``$LLMOPS_MLFLOW_BIN``, else ``<repo>/.venvs/mlflow/bin/mlflow``."""
    configured = os.environ.get(BINARY_ENV, "").strip()
    return Path(configured) if configured else REPO_ROOT / ".venvs" / "mlflow" / "bin" / "mlflow"


def binary_available(binary: Path | None = None) -> bool:
    """Whether the ``mlflow`` executable exists and is executable."""
    path = binary or default_binary()
    return path.is_file() and os.access(path, os.X_OK)


class MlflowServer(ServerProcess):
    """An ``mlflow server`` process on a loopback port with a SQLite backend store.

    Args:
        binary: the ``mlflow`` executable; defaults to :func:`default_binary`.
        working_dir: holds ``mlflow.db``, ``artifacts/`` and ``mlflow.log``; a fresh temporary
            directory (removed by :meth:`close`) when omitted.
        port: the HTTP port; a free one when omitted.
        startup_timeout: seconds :meth:`start` waits for ``GET /health`` to answer 200.
        env: extra environment variables for the server, applied last.
    """

    def __init__(
        self,
        binary: Path | str | None = None,
        *,
        working_dir: Path | str | None = None,
        port: int | None = None,
        startup_timeout: float = 120.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.binary = Path(binary) if binary is not None else default_binary()
        self._owns_working_dir = working_dir is None
        self.working_dir = Path(
            working_dir if working_dir is not None else tempfile.mkdtemp(prefix="llmops-mlflow-")
        )
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.log_path = self.working_dir / "mlflow.log"
        self.last_startup_s: float | None = None
        self._extra_env = dict(env or {})

    # -- endpoints -------------------------------------------------------------------------

    @property
    def tracking_uri(self) -> str:
        """``http://127.0.0.1:PORT``: the tracking URI clients use."""
        return f"http://{HOST}:{self.port}"

    @property
    def otlp_endpoint(self) -> str:
        """The OTLP/HTTP traces endpoint, ``http://127.0.0.1:PORT/v1/traces``."""
        return f"{self.tracking_uri}/v1/traces"

    @property
    def backend_store_uri(self) -> str:
        """``sqlite:////…/mlflow.db``: the server's store, readable directly with mlflow-skinny."""
        return f"sqlite:///{self.working_dir / 'mlflow.db'}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> MlflowServer:
        """Start the server and wait until it is ready; return ``self``.

        Raises ``FileNotFoundError`` if the binary is missing, and :class:`MlflowServerError`
        (with the tail of the log) if the process exits or is not ready within
        ``startup_timeout``. Calling it while the server runs does nothing.
        """
        if self.is_running:
            return self
        if not binary_available(self.binary):
            raise FileNotFoundError(
                f"mlflow executable not found: {self.binary} (set {BINARY_ENV} to override, or "
                "create it with: uv venv -p python3.11 .venvs/mlflow && "
                "VIRTUAL_ENV=.venvs/mlflow uv pip install mlflow)"
            )
        self.working_dir.mkdir(parents=True, exist_ok=True)
        artifacts = self.working_dir / "artifacts"
        artifacts.mkdir(exist_ok=True)
        command = [
            str(self.binary),
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== llmops: starting {' '.join(command)} ===\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                env=self._environment(),
                cwd=self.working_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches the workers
            )
            self._started(process)
        try:
            self._wait_until_ready(began + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.last_startup_s = time.monotonic() - began
        return self

    def restart(self) -> MlflowServer:
        """Stop and start again on the same port with the same store."""
        self.stop()
        return self.start()

    def __repr__(self) -> str:
        state = f"running, pid {self.pid}" if self.is_running else "stopped"
        return f"<MlflowServer {self.tracking_uri} {state}>"

    # -- diagnostics -----------------------------------------------------------------------

    def check_alive(self) -> None:
        """Raise :class:`MlflowServerError` with the log tail if the server process has died."""
        process = self._process
        if process is None:
            raise MlflowServerError(f"the MLflow server is not started; log {self.log_path}")
        code = process.poll()
        if code is not None:
            raise MlflowServerError(
                f"the MLflow server exited with code {code}; log {self.log_path}:\n"
                f"{self.log_tail()}"
            )

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
        env.update(_MLFLOW_ENV)
        env.update({"NO_PROXY": "*", "no_proxy": "*", "PYTHONUNBUFFERED": "1"})
        env.update(self._extra_env)
        return env

    def _wait_until_ready(self, deadline: float) -> None:
        """Poll ``GET /health`` until it answers 200, the process dies, or time runs out."""
        process = self._process
        assert process is not None
        status = 0
        while True:
            code = process.poll()
            if code is not None:
                raise MlflowServerError(
                    f"the MLflow server exited with code {code} while starting; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            status = self._get_status("/health", timeout=2.0)
            if status == 200:
                return
            if time.monotonic() >= deadline:
                raise MlflowServerError(
                    f"the MLflow server was not ready within {self.startup_timeout} s "
                    f"(last /health status: {status}); log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def _get_status(self, path: str, timeout: float = 10.0) -> int:
        """GET ``path``; return the HTTP status, 0 when unreachable."""
        try:
            with _OPENER.open(f"{self.tracking_uri}{path}", timeout=timeout) as response:
                status: int = response.status
                response.read()
                return status
        except urllib.error.HTTPError as error:
            return error.code
        except (OSError, TimeoutError):
            return 0
