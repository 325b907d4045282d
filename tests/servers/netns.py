"""Move the test process into a private network namespace whose only interface is loopback.

Phoenix's OTLP/gRPC server binds ``[::]`` (every interface) whatever ``PHOENIX_HOST`` says. Inside
a private network namespace "every interface" is just ``lo``, so nothing the tests start can be
reached from, or reach, any other host. Processes started afterwards inherit the namespace, so
the test process and its servers still talk to each other over ``127.0.0.1``.

Call :func:`enter_private_network_namespace` once, early (``pytest_configure``), while the
process has a single thread: ``unshare(CLONE_NEWNET)`` moves only the calling thread, and threads
created later inherit the namespace of the thread that creates them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys
from typing import Final

CLONE_NEWNET: Final = 0x40000000
_SIOCGIFFLAGS: Final = 0x8913
_SIOCSIFFLAGS: Final = 0x8914
_IFF_UP: Final = 0x1
_DISABLE_ENV: Final = "LLMOPS_TEST_NETNS"

_state: dict[str, bool] = {}


def enter_private_network_namespace() -> bool:
    """Unshare the network namespace and bring ``lo`` up; return whether that happened.

    Returns ``False`` (and changes nothing) when not on Linux, not root, disabled with
    ``LLMOPS_TEST_NETNS=0``, when the process already has several threads, or when the kernel
    refuses. If ``lo`` cannot be brought up, the process goes back to its original namespace
    and ``False`` is returned; if even that fails, ``RuntimeError`` is raised. Calling it again
    after a success returns ``True`` without unsharing twice.
    """
    if _state.get("entered"):
        return True
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    if os.environ.get(_DISABLE_ENV, "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    if len(os.listdir("/proc/self/task")) != 1:
        return False  # unshare() would move this thread only; the others would stay outside
    libc_name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        original = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            return False
        try:
            _bring_loopback_up()
            _check_loopback()
        except Exception:
            if libc.setns(original, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise RuntimeError(
                    "entered a private network namespace but could not bring 'lo' up, "
                    f"and could not go back to the original namespace: {os.strerror(err)}"
                ) from None
            return False
    finally:
        os.close(original)
    _state["entered"] = True
    _state["ipv6"] = _loopback_ipv6_works()
    return True


def in_private_network_namespace() -> bool:
    """Whether :func:`enter_private_network_namespace` succeeded in this process."""
    return _state.get("entered", False)


def loopback_ipv6_available() -> bool:
    """Whether ``::1`` accepts connections (in whatever namespace the process is in)."""
    if "ipv6" not in _state:
        _state["ipv6"] = _loopback_ipv6_works()
    return _state["ipv6"]


def _bring_loopback_up() -> None:
    ip = shutil.which("ip") or next(
        (p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if os.access(p, os.X_OK)), None
    )
    if ip is not None:
        result = subprocess.run(
            [ip, "link", "set", "lo", "up"], capture_output=True, text=True, timeout=10, check=False
        )
        if result.returncode == 0:
            return
    # No usable `ip`: set IFF_UP with the SIOCSIFFLAGS ioctl, as `ip` would.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def _check_loopback() -> None:
    """Raise ``OSError`` unless a TCP connection over 127.0.0.1 works."""
    _round_trip(socket.AF_INET, "127.0.0.1")


def _loopback_ipv6_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        _round_trip(socket.AF_INET6, "::1")
    except OSError:
        return False
    return True


def _round_trip(family: socket.AddressFamily, host: str) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.bind((host, 0))
        server.listen(1)
        with socket.create_connection(server.getsockname()[:2], timeout=5) as client:
            conn, _ = server.accept()
            with contextlib.closing(conn):
                client.sendall(b"ping")
                conn.settimeout(5)
                if conn.recv(4) != b"ping":
                    raise OSError(f"loopback round trip over {host} failed")
