"""Session-wide test setup: the private network namespace, a real Phoenix, the Gemini stub,
and the isolation every test gets (``_isolated``).

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

from tests.core_support import ENV_PREFIXES, REQUIRE_E2E  # noqa: E402
from tests.servers import netns  # noqa: E402
from tests.servers.phoenix import PhoenixServer, binary_available, default_binary  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

    from llmops.testing.gemini_stub import GeminiStub

_NETNS_KEY = pytest.StashKey[bool]()
# Resolved at import: every test clears LLMOPS_* (LLMOPS_PHOENIX_BIN included).
_PHOENIX_BIN = default_binary()


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
    if not binary_available(_PHOENIX_BIN):
        reason = f"Phoenix executable not found at {_PHOENIX_BIN} (set LLMOPS_PHOENIX_BIN)"
        if REQUIRE_E2E:
            pytest.fail(f"{reason}; LLMOPS_REQUIRE_E2E=1 requires it", pytrace=False)
        pytest.skip(reason)
    server = PhoenixServer(binary=_PHOENIX_BIN)
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


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts as in a fresh process, and leaves nothing behind.

    No variable with a prefix of ``tests.core_support.ENV_PREFIXES`` (llmops, OpenTelemetry,
    Phoenix, Arize, MLflow, OpenInference, the colour switches); the working directory is the
    test's ``tmp_path``; ``llmops.testing.reset()`` before and after (llmops shut down,
    ``llmops.stats()`` zeroed, the global TracerProvider forgotten). ``monkeypatch`` restores
    the environment and the working directory after the test.

    Session- and module-scoped fixtures that a test requests are set up before it (pytest
    orders fixtures by scope), in the outer environment; one first requested from inside a
    test (``request.getfixturevalue``) is not, which is why the harness's own switches
    (``LLMOPS_REQUIRE_E2E``, ``LLMOPS_PHOENIX_BIN``, ...) are read at import. A module that
    needs more (an in-house platform registered, fake instrumentors, no proxy variables) adds
    a small fixture of its own, with another name: a fixture named ``_isolated`` replaces
    this one.
    """
    import llmops.testing

    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    # instrument()'s one set-up line on stderr is tested in tests/test_announce.py; elsewhere
    # it would be one more line in every stderr a test counts.
    monkeypatch.setenv("LLMOPS_ANNOUNCE", "0")
    monkeypatch.chdir(tmp_path)
    llmops.testing.reset()
    yield
    llmops.testing.reset()
    # What the code under test set itself (MLflow's set_tracking_uri writes
    # MLFLOW_TRACKING_URI, say): monkeypatch, which then restores the outer values, would not
    # know to remove it.
    for name in [n for n in os.environ if n.startswith(ENV_PREFIXES)]:
        os.environ.pop(name)
