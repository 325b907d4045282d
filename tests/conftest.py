"""Session-wide test setup: the private network namespace, a real Phoenix, the Gemini stub.

Other fixtures will be added here by others; keep each one small and documented.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# `tests.servers` must import however pytest was launched (`pytest`, `python -m pytest`, tox).
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.servers import netns  # noqa: E402
from tests.servers.phoenix import PhoenixServer, binary_available, default_binary  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

    from llmops.testing.gemini_stub import GeminiStub

_NETNS_KEY = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    # Before any thread exists: unshare(CLONE_NEWNET) moves only the calling thread.
    config.stash[_NETNS_KEY] = netns.enter_private_network_namespace()


def pytest_report_header(config: pytest.Config) -> str:
    if config.stash.get(_NETNS_KEY, False):
        ipv6 = "with" if netns.loopback_ipv6_available() else "without"
        return f"network: private network namespace, loopback only ({ipv6} ::1)"
    return "network: host network namespace (not root, not Linux, or LLMOPS_TEST_NETNS=0)"


@pytest.fixture(scope="session")
def phoenix_server() -> Iterator[PhoenixServer]:
    """A real Phoenix on loopback ports for the whole session (about 10-15 s to start)."""
    if not binary_available():
        reason = f"Phoenix executable not found at {default_binary()} (set LLMOPS_PHOENIX_BIN)"
        if os.environ.get("LLMOPS_REQUIRE_E2E") == "1":
            pytest.fail(f"{reason}; LLMOPS_REQUIRE_E2E=1 requires it", pytrace=False)
        pytest.skip(reason)
    server = PhoenixServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def gemini_stub() -> Iterator[GeminiStub]:
    """The loopback Gemini API stub, shared by the session: filter ``requests`` by path/body."""
    from llmops.testing.gemini_stub import GeminiStub

    with GeminiStub() as stub:
        yield stub
