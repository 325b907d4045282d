"""What the test servers (Phoenix, MLflow, rotel) share: a process in its own group on
loopback ports, stopped for sure: at ``stop()``, at the end of a ``with`` block, and at exit.

A subclass starts its process with ``start_new_session=True``, hands it to :meth:`_started`,
and implements ``start()``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess

TYPE_CHECKING = False  # the package's convention: no typing import for it
if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType
    from typing import Self

__all__ = ["HOST", "ServerProcess", "free_port", "port_accepts"]

HOST = "127.0.0.1"
"""Every test server binds loopback only."""

_RUNNING: set[ServerProcess] = set()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts a TCP connection on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


class ServerProcess:
    """The lifecycle half of a test server; see the module docstring."""

    stop_timeout: float = 20.0
    """Seconds :meth:`stop` waits after SIGTERM before SIGKILL, unless told otherwise."""
    working_dir: Path
    _owns_working_dir: bool = False
    _process: subprocess.Popen[bytes] | None = None
    _last_returncode: int | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def _started(self, process: subprocess.Popen[bytes]) -> None:
        """Take ``process`` in charge: :meth:`stop` and the exit hook end it."""
        self._process = process
        _RUNNING.add(self)

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def is_running(self) -> bool:
        """Whether the process is alive (not necessarily ready)."""
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM the process group, wait up to ``timeout`` seconds (default
        :attr:`stop_timeout`), then SIGKILL; idempotent."""
        timeout = self.stop_timeout if timeout is None else timeout
        process, self._process = self._process, None
        _RUNNING.discard(self)
        if process is None:
            return
        if process.poll() is None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait(10)
        self._last_returncode = process.returncode
        # Whatever else the server started in its process group (workers) goes with it.
        self._signal_group(process, signal.SIGKILL)

    def close(self) -> None:
        """Stop the process and remove the working directory if this object created it."""
        self.stop()
        if self._owns_working_dir:
            shutil.rmtree(self.working_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)  # the group this object created (start_new_session)


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop(timeout=min(server.stop_timeout, 10.0))
