"""Start and stop rotel, a real OpenTelemetry collector, for the end-to-end tests (stdlib only).

rotel (https://github.com/streamfold/rotel) is a collector written in Rust; the PyPI package
``rotel`` ships it as a single executable, ``rotel-agent``, inside the package directory
(``<venv>/lib/python3.X/site-packages/rotel/rotel-agent``). It runs from its own virtual
environment, ``<repo>/.venvs/rotel`` (``scripts/setup-dev.sh``), unless ``LLMOPS_ROTEL_BIN``
names another ``rotel-agent``.

Each :class:`RotelCollector` is a gateway on loopback: it receives OTLP/gRPC and OTLP/HTTP on two
free ``127.0.0.1`` ports and exports everything it receives over OTLP (gRPC or HTTP, optionally
TLS or mutual TLS) to ``exporter_endpoint``, which must be a loopback address::

    with OtlpReceiver() as downstream, RotelCollector(
        f"http://127.0.0.1:{downstream.port}", exporter_protocol="http"
    ) as rotel:
        exporter = OTLPSpanExporter(endpoint=rotel.http_endpoint)
        ...
        downstream.wait_for_spans(10, timeout=5)

rotel is always started with explicit loopback receiver endpoints (without them it listens on
``localhost:4317`` / ``localhost:4318``) and an exporter endpoint checked to be loopback; the
options that would point it anywhere else are refused. It runs in the foreground (no
``--daemon``), so its own log goes to stdout, captured in ``rotel.log`` in its working directory.

Known limitations of the packaged binary (``rotel 0.0.1-alpha10``, PyPI ``rotel==0.0.1a15``):

* ``--otlp-exporter-compression none`` is accepted but ignored: the OTLP exporter always
  compresses with gzip (measured over OTLP/HTTP: ``Content-Encoding: gzip`` either way).
* Every OTLP exporter TLS file option (``--otlp-exporter-tls-ca-file``, ``-cert-file``,
  ``-key-file``, their ``-pem`` and per-signal variants) makes rotel exit at start with
  ``Either both or neither of cert and key must be provided`` (rotel's argument conversion,
  ``src/init/otlp_exporter.rs``, hands all three files to the certificate setter, so the key is
  never set). Hence:

  - a private CA (``tls_ca_file``) is given through ``SSL_CERT_FILE`` instead, which rotel's
    TLS client (rustls with the platform roots) reads in place of the system's CA bundle;
  - a client certificate (``tls_cert_file`` / ``tls_key_file``, mutual TLS) is passed with the
    proper flags, and :meth:`RotelCollector.start` fails with :class:`RotelError` until rotel
    is fixed.

* Its receivers have no TLS options: rotel accepts plaintext OTLP only (fine on loopback).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, Literal, TypeAlias

from tests.servers.process import HOST, ServerProcess, free_port, port_accepts

TYPE_CHECKING = False  # the package's convention: no typing import for it
if TYPE_CHECKING:
    pass

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
BINARY_ENV: Final = "LLMOPS_ROTEL_BIN"
VENV: Final = REPO_ROOT / ".venvs" / "rotel"

Protocol: TypeAlias = Literal["grpc", "http"]
Compression: TypeAlias = Literal["gzip"] | None

_SETTLE_S: Final = 0.15
"""How long rotel must stay alive once its ports accept before :meth:`RotelCollector.start`
calls it ready (its configuration errors come within a millisecond or two of the bind)."""

# Inherited variables that would change what rotel does (every option has a ROTEL_* variable:
# endpoints, exporters, daemon mode, ...; SSL_CERT_FILE / SSL_CERT_DIR replace the CAs its TLS
# client trusts) are dropped, as is any proxy configuration.
_DROPPED_ENV_PREFIXES: Final = ("ROTEL_", "OTEL_", "SSL_CERT_")
_DROPPED_ENV: Final = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
)
# Options rotel is not allowed to get through ``extra_args``: where it listens and where it
# sends are this module's business (loopback only), only the OTLP exporter is used, and no
# authenticator (sigv4auth would look for AWS credentials, metadata endpoint included).
_FORBIDDEN_ARG_PARTS: Final = (
    "endpoint",
    "--exporter",
    "--daemon",
    "authenticator",
    "brokers",
    "region",
)


class RotelError(RuntimeError):
    """rotel did not start, died, or was misconfigured."""


def default_binary() -> Path:
    """``$LLMOPS_ROTEL_BIN``, else the ``rotel-agent`` of ``<repo>/.venvs/rotel``.

    When the virtual environment has no ``rotel`` package, the path it would have
    (``lib/python3/site-packages/rotel/rotel-agent``) is returned, for the error message.
    """
    configured = os.environ.get(BINARY_ENV, "").strip()
    if configured:
        return Path(configured)
    found = sorted(VENV.glob("lib/python3*/site-packages/rotel/rotel-agent"))
    return (
        found[-1] if found else VENV / "lib" / "python3" / "site-packages" / "rotel" / "rotel-agent"
    )


def binary_available(binary: Path | None = None) -> bool:
    """Whether the ``rotel-agent`` executable exists and is executable."""
    path = binary or default_binary()
    return path.is_file() and os.access(path, os.X_OK)


def binary_version(binary: Path | None = None) -> str:
    """What ``rotel-agent --version`` prints, e.g. ``rotel 0.0.1-alpha10``."""
    result = subprocess.run(
        [str(binary or default_binary()), "--version"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
        env=_clean_environment(),
    )
    return result.stdout.strip()


def loopback_url(endpoint: str) -> str:
    """``endpoint`` with a scheme (``http://`` when it has none), if its host is loopback.

    Only literal addresses in ``127.0.0.0/8`` and ``::1`` pass: not ``localhost`` (a resolver
    could answer something else), not a name, not ``0.0.0.0``. Raises ``ValueError`` otherwise.
    """
    url = endpoint if "://" in endpoint else f"http://{endpoint}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ValueError(f"exporter endpoint {endpoint!r}: the scheme must be http or https")
    try:
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        raise ValueError(
            f"exporter endpoint {endpoint!r}: the host must be a loopback IP address "
            "(127.0.0.0/8 or ::1), not a name"
        ) from None
    if not address.is_loopback:
        raise ValueError(f"exporter endpoint {endpoint!r}: {address} is not a loopback address")
    if parts.port is None:
        raise ValueError(f"exporter endpoint {endpoint!r}: give the port explicitly")
    return url


def _clean_environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_DROPPED_ENV_PREFIXES) and key not in _DROPPED_ENV
    }
    env.update({"NO_COLOR": "1", "NO_PROXY": "*", "no_proxy": "*"})
    return env


class RotelCollector(ServerProcess):
    """A ``rotel-agent start`` process: OTLP receivers on loopback, an OTLP exporter to loopback.

    Args:
        exporter_endpoint: where rotel exports, ``http://127.0.0.1:PORT`` (``https://`` for
            TLS). With ``exporter_protocol="http"`` rotel appends ``/v1/traces`` (and
            ``/v1/metrics``, ``/v1/logs``) to it; with ``"grpc"`` it calls the OTLP services on
            it. Must be a loopback address (:func:`loopback_url`).
        exporter_protocol: ``"grpc"`` or ``"http"`` (``--otlp-exporter-protocol``).
        compression: ``"gzip"``, or None for none (``--otlp-exporter-compression gzip|none``;
            the packaged rotel gzips either way, see the module docstring).
        tls_ca_file: the CA that signs the downstream's certificate, the only one rotel then
            trusts; through ``SSL_CERT_FILE``, as ``--otlp-exporter-tls-ca-file`` is broken
            (module docstring). Without it rotel trusts the system's CA bundle.
        tls_cert_file, tls_key_file: a client certificate and key rotel presents to the
            downstream, for mutual TLS (``--otlp-exporter-tls-cert-file``,
            ``--otlp-exporter-tls-key-file``); both or neither. rotel 0.0.1-alpha10 refuses to
            start with them (module docstring).
        batch_timeout: ``--batch-timeout``, seconds; how long rotel holds a batch before sending.
        request_timeout: ``--otlp-exporter-request-timeout``, seconds (rotel's default is 5).
        retry_initial_backoff: ``--otlp-exporter-retry-initial-backoff``, seconds (default 5).
        extra_args: more ``rotel-agent start`` arguments; none may name an endpoint, an exporter
            type, an authenticator or daemon mode (``ValueError``).
        binary: the ``rotel-agent`` executable; defaults to :func:`default_binary`.
        working_dir: holds ``rotel.log`` (its output) and its pid file; a fresh temporary
            directory (removed by :meth:`close`) when omitted.
        grpc_port, http_port: the OTLP/gRPC and OTLP/HTTP receiver ports; free ones when omitted.
        startup_timeout: seconds :meth:`start` waits for both receiver ports to accept.
        stop_timeout: seconds :meth:`close` (and leaving the ``with`` block) waits after SIGTERM
            before SIGKILL. rotel flushes what it holds on SIGTERM; when the downstream is
            unreachable it gives up after about 3 s.
        env: extra environment variables for rotel, applied last; no ``ROTEL_*`` variable
            (rotel reads every option from one: use ``extra_args``, which are checked).
    """

    def __init__(
        self,
        exporter_endpoint: str,
        *,
        exporter_protocol: Protocol = "grpc",
        compression: Compression = None,
        tls_ca_file: Path | str | None = None,
        tls_cert_file: Path | str | None = None,
        tls_key_file: Path | str | None = None,
        batch_timeout: float = 0.2,
        request_timeout: float | None = None,
        retry_initial_backoff: float | None = None,
        extra_args: Sequence[str] = (),
        binary: Path | str | None = None,
        working_dir: Path | str | None = None,
        grpc_port: int | None = None,
        http_port: int | None = None,
        startup_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if exporter_protocol not in ("grpc", "http"):
            raise ValueError(
                f"exporter_protocol must be 'grpc' or 'http', not {exporter_protocol!r}"
            )
        if compression not in ("gzip", None):
            raise ValueError(f"compression must be 'gzip' or None, not {compression!r}")
        if (tls_cert_file is None) != (tls_key_file is None):
            raise ValueError(
                "give tls_cert_file and tls_key_file together (mutual TLS), or neither"
            )
        for arg in extra_args:
            if any(part in arg for part in _FORBIDDEN_ARG_PARTS):
                raise ValueError(f"extra_args may not contain {arg!r}: endpoints are loopback-only")
        for key in env or {}:
            if key.upper().startswith("ROTEL_"):
                raise ValueError(f"env may not set {key}: give rotel options as extra_args")
        self.exporter_endpoint = loopback_url(exporter_endpoint)
        self.exporter_protocol: Protocol = exporter_protocol
        self.compression: Compression = compression
        self.tls_ca_file = Path(tls_ca_file) if tls_ca_file is not None else None
        self.tls_cert_file = Path(tls_cert_file) if tls_cert_file is not None else None
        self.tls_key_file = Path(tls_key_file) if tls_key_file is not None else None
        self.batch_timeout = batch_timeout
        self.request_timeout = request_timeout
        self.retry_initial_backoff = retry_initial_backoff
        self.extra_args = tuple(extra_args)
        self.binary = Path(binary) if binary is not None else default_binary()
        self._owns_working_dir = working_dir is None
        self.working_dir = Path(
            working_dir if working_dir is not None else tempfile.mkdtemp(prefix="llmops-rotel-")
        )
        self._fixed_ports = grpc_port is not None or http_port is not None
        self.grpc_port = grpc_port or free_port()
        self.http_port = http_port or free_port()
        while self.http_port == self.grpc_port:
            self.http_port = free_port()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log_path = self.working_dir / "rotel.log"
        self.last_startup_s: float | None = None
        self._extra_env = dict(env or {})
        self._log_start = 0  # where the current run's output begins in rotel.log

    # -- endpoints -------------------------------------------------------------------------

    @property
    def grpc_endpoint(self) -> str:
        """rotel's OTLP/gRPC receiver, ``http://127.0.0.1:GRPC_PORT``."""
        return f"http://{HOST}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """rotel's OTLP/HTTP traces receiver, ``http://127.0.0.1:HTTP_PORT/v1/traces``."""
        return f"http://{HOST}:{self.http_port}/v1/traces"

    @property
    def returncode(self) -> int | None:
        """rotel's exit code once it has exited (None while it runs or before it started)."""
        return self._process.poll() if self._process is not None else self._last_returncode

    def command(self) -> list[str]:
        """The ``rotel-agent start ...`` command line :meth:`start` runs."""
        command = [
            str(self.binary),
            "start",
            "--otlp-grpc-endpoint",
            f"{HOST}:{self.grpc_port}",
            "--otlp-http-endpoint",
            f"{HOST}:{self.http_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            self.exporter_endpoint,
            "--otlp-exporter-protocol",
            self.exporter_protocol,
            "--otlp-exporter-compression",
            self.compression or "none",
            "--batch-timeout",
            _duration(self.batch_timeout),
            "--pid-file",
            str(self.working_dir / "rotel.pid"),
            "--log-file",
            str(self.working_dir / "rotel-agent.log"),
        ]
        if self.request_timeout is not None:
            command += ["--otlp-exporter-request-timeout", _duration(self.request_timeout)]
        if self.retry_initial_backoff is not None:
            command += [
                "--otlp-exporter-retry-initial-backoff",
                _duration(self.retry_initial_backoff),
            ]
        if self.tls_cert_file is not None and self.tls_key_file is not None:
            command += [
                "--otlp-exporter-tls-cert-file",
                str(self.tls_cert_file),
                "--otlp-exporter-tls-key-file",
                str(self.tls_key_file),
            ]
        command += self.extra_args
        return command

    def environment(self) -> dict[str, str]:
        """The environment :meth:`start` gives rotel: the inherited one without ``ROTEL_*``,
        ``OTEL_*``, ``SSL_CERT_*`` or proxy variables, ``NO_COLOR=1``, ``SSL_CERT_FILE`` for
        ``tls_ca_file``, then ``env``."""
        env = _clean_environment()
        if self.tls_ca_file is not None:
            env["SSL_CERT_FILE"] = str(self.tls_ca_file)
        env.update(self._extra_env)
        return env

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> RotelCollector:
        """Start rotel and wait until both receivers accept connections; return ``self``.

        Raises ``FileNotFoundError`` if the binary is missing, and :class:`RotelError` (with
        the tail of its log) if it exits or is not ready within ``startup_timeout``. When the
        ports were picked here and rotel could not bind them (another process took one between
        :func:`free_port` and the start), it retries twice on fresh ports.
        """
        if self.is_running:
            raise RotelError(f"rotel is already running (pid {self.pid})")
        if not binary_available(self.binary):
            raise FileNotFoundError(
                f"rotel-agent executable not found: {self.binary} (set {BINARY_ENV} to "
                "override, or run scripts/setup-dev.sh)"
            )
        self.working_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        for attempt in range(3):
            try:
                self._start_once(began + self.startup_timeout)
                break
            except RotelError:
                if self._fixed_ports or attempt == 2 or not self._bind_failed():
                    raise
                self.grpc_port, self.http_port = free_port(), free_port()
        self.last_startup_s = time.monotonic() - began
        return self

    def __repr__(self) -> str:
        state = f"running, pid {self.pid}" if self.is_running else "stopped"
        return (
            f"<RotelCollector grpc={self.grpc_port} http={self.http_port} -> "
            f"{self.exporter_protocol} {self.exporter_endpoint} {state}>"
        )

    # -- diagnostics -----------------------------------------------------------------------

    def check_alive(self) -> None:
        """Raise :class:`RotelError` with the log tail if rotel is not running."""
        process = self._process
        if process is None:
            raise RotelError(f"rotel is not started; log {self.log_path}")
        code = process.poll()
        if code is not None:
            raise RotelError(
                f"rotel exited with code {code}; log {self.log_path}:\n{self.log_tail()}"
            )

    def log_text(self) -> str:
        """Everything rotel wrote so far (its stdout and stderr, and a daemon log if any)."""
        parts = []
        for path in (self.log_path, self.working_dir / "rotel-agent.log"):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of rotel's log."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, text: str, timeout: float = 5.0, *, interval: float = 0.05) -> str:
        """Poll the log until it contains ``text``; return the log. ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if text in log:
                return log
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"rotel's log did not mention {text!r} within {timeout} s:\n{self.log_tail()}"
                )
            time.sleep(interval)

    # -- internals -------------------------------------------------------------------------

    def _start_once(self, deadline: float) -> None:
        command = self.command()
        env = self.environment()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== llmops: starting {' '.join(command)} ===\n".encode())
            log.flush()
            self._log_start = self.log_path.stat().st_size
            process = subprocess.Popen(
                command,
                env=env,
                cwd=self.working_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches everything
            )
            self._started(process)
        try:
            self._wait_until_ready(deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, deadline: float) -> None:
        """Poll until both receiver ports accept and rotel is still alive :data:`_SETTLE_S`
        later: it binds its receivers before it builds its exporters, so a configuration error
        (a TLS option, say) makes it exit a moment *after* the ports opened."""
        process = self._process
        assert process is not None
        accepted_at: float | None = None
        while True:
            code = process.poll()
            if code is not None:
                raise RotelError(
                    f"rotel exited with code {code} while starting; log {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            now = time.monotonic()
            if accepted_at is None:
                if port_accepts(self.grpc_port) and port_accepts(self.http_port):
                    accepted_at = now
            elif now - accepted_at >= _SETTLE_S:
                return
            if now >= deadline:
                raise RotelError(
                    f"rotel's receivers (ports {self.grpc_port}, {self.http_port}) did not "
                    f"accept connections within {self.startup_timeout} s; log {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.02)

    def _bind_failed(self) -> bool:
        with contextlib.suppress(OSError), self.log_path.open("rb") as log:
            log.seek(self._log_start)
            text = log.read().decode(errors="replace").lower()
            return "address already in use" in text or "addrinuse" in text
        return False


def _duration(seconds: float) -> str:
    """Seconds as a humantime duration rotel parses: ``0.2`` -> ``200ms``."""
    return f"{max(1, round(seconds * 1000))}ms"
