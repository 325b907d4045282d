"""Fixtures of the client end-to-end tests: the OpenAI stub, offline switches, a loopback guard.

The real Phoenix is the session's ``phoenix_server`` (``tests/conftest.py``); MLflow is a
local SQLite store shared by a module's tests (``mlflow_store``), written in-process by llmops
and read back with ``mlflow.search_traces``, so these tests need no MLflow server.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from llmops.testing.openai_stub import OpenAIStub
from tests.core_support import clear_proxy_environment

# litellm fetches its model price map from GitHub when it is imported, unless told not to. Set
# at import, before any test module of this directory imports litellm.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"


@pytest.fixture(scope="session")
def openai_stub() -> Iterator[OpenAIStub]:
    """The loopback OpenAI API stub, shared by the session."""
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The tracking URI of a local MLflow SQLite store shared by a module's tests (each test
    uses its own experiment): a fresh store costs seconds of schema migrations."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def _clients_env(_isolated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """On top of ``tests/conftest.py``'s isolation: no proxy variable, MLflow and litellm
    offline."""
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("LITELLM_TELEMETRY", "False")


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths, abstract sockets
        return True
    host = str(address[0])
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every Python socket connection (and name lookup) the test makes -- client, litellm,
    exporter -- is for loopback: anything else is refused (``ConnectionRefusedError``,
    ``socket.gaierror``) and fails the test.

    The session runs in a private network namespace when it can (``tests/servers/netns.py``);
    this guard holds outside it too, and names the culprit."""
    refused: list[Any] = []
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            refused.append(address)
            raise ConnectionRefusedError(f"tests/clients: {address!r} is not loopback")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_loopback(address):
            refused.append(address)
            raise ConnectionRefusedError(f"tests/clients: {address!r} is not loopback")
        return original_connect_ex(self, address)

    original_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback((name, 0)):
            refused.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"tests/clients: {name!r} is not loopback")
        return original_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield refused
    assert not refused, f"connections outside loopback were attempted: {refused}"
