"""What llmops sends to a tracking server, checked against a small fake one on loopback.

The fake answers the few routes llmops uses (``/version``, the experiments REST API and OTLP
``/v1/traces``) and records each request, so the tests can see the credentials, the headers
and the experiment header on every request, and play an MLflow that is too old.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import llmops
from llmops import Platform
from llmops.testing.gemini_stub import GeminiStub
from tests.mlflow.support import call_gemini

SECRET = "s3cr3t-t0ken-value"


class Seen(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeMlflow(ThreadingHTTPServer):
    """An MLflow server with one experiment, ``known`` (id 7), speaking just enough REST."""

    daemon_threads = True

    def __init__(self, version: str = "3.17.2", prefix: str = "") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.version = version
        self.prefix = prefix
        self.seen: list[Seen] = []
        self.experiments = {"known": "7"}

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{self.prefix}"

    def spans(self) -> list[str]:
        names = []
        for seen in self.seen:
            if seen.path == "/v1/traces":
                request = ExportTraceServiceRequest.FromString(seen.body)
                for resource_spans in request.resource_spans:
                    for scope_spans in resource_spans.scope_spans:
                        names.extend(span.name for span in scope_spans.spans)
        return names


class _Handler(BaseHTTPRequestHandler):
    server: FakeMlflow

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> tuple[str, dict[str, list[str]]]:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = parts.path.removeprefix(self.server.prefix)
        self.server.seen.append(Seen(self.command, path, headers, body))
        return path, parse_qs(parts.query)

    def _send(self, code: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path, query = self._record()
        if path == "/version":
            self._send(200, self.server.version.encode(), "text/plain")
        elif path == "/api/2.0/mlflow/experiments/get-by-name":
            name = query.get("experiment_name", [""])[0]
            if name in self.server.experiments:
                experiment = {"experiment_id": self.server.experiments[name], "name": name}
                self._send(200, {"experiment": {**experiment, "lifecycle_stage": "active"}})
            else:
                self._send(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"})
        elif path == "/api/2.0/mlflow/experiments/get":
            wanted = query.get("experiment_id", [""])[0]
            if wanted in self.server.experiments.values():
                experiment = {"experiment_id": wanted, "lifecycle_stage": "active"}
                self._send(200, {"experiment": experiment})
            else:
                self._send(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"})
        else:
            self._send(404, {"error_code": "ENDPOINT_NOT_FOUND"})

    def do_POST(self) -> None:
        path, _ = self._record()
        if path == "/v1/traces":
            self._send(200, b"", "application/x-protobuf")
        elif path == "/api/2.0/mlflow/experiments/create":
            name = json.loads(self.server.seen[-1].body)["name"]
            self.server.experiments[name] = str(100 + len(self.server.experiments))
            self._send(200, {"experiment_id": self.server.experiments[name]})
        else:
            self._send(404, {"error_code": "ENDPOINT_NOT_FOUND"})


@pytest.fixture
def fake() -> Iterator[Callable[..., FakeMlflow]]:
    servers: list[FakeMlflow] = []

    def start(**kwargs: Any) -> FakeMlflow:
        server = FakeMlflow(**kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_token_and_headers_go_on_every_request(
    fake: Callable[..., FakeMlflow],
    write_config: Callable[..., Path],
    gemini_stub: GeminiStub,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = fake()
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", SECRET)
    path = write_config(
        mlflow={"tracking_uri": server.uri, "experiment_name": "known", "headers": {"X-Team": "a"}}
    )
    with caplog.at_level("DEBUG", logger="llmops"):
        llmops.instrument(Platform.MLFLOW, config_path=path)
        call_gemini(gemini_stub, stream=False)
        llmops.shutdown()

    assert [s.path for s in server.seen] == [
        "/version",
        "/api/2.0/mlflow/experiments/get-by-name",
        "/v1/traces",
    ]
    for seen in server.seen:
        assert seen.headers["authorization"] == f"Bearer {SECRET}"
        assert seen.headers["x-team"] == "a"
    otlp = server.seen[-1]
    assert otlp.headers["x-mlflow-experiment-id"] == "7"
    assert otlp.headers["content-type"] == "application/x-protobuf"
    assert server.spans() == ["GenerateContent"]
    assert SECRET not in caplog.text
    assert "experiment 'known' (id 7)" in caplog.text


def test_basic_auth_from_the_file(
    fake: Callable[..., FakeMlflow], write_config: Callable[..., Path], gemini_stub: GeminiStub
) -> None:
    server = fake()
    path = write_config(
        mlflow={
            "tracking_uri": server.uri,
            "experiment_name": "known",
            "username": "me",
            "password": SECRET,
        }
    )
    llmops.instrument(Platform.MLFLOW, config_path=path)
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()
    expected = "Basic " + base64.b64encode(f"me:{SECRET}".encode()).decode()
    assert {s.headers.get("authorization") for s in server.seen} == {expected}


def test_a_server_too_old_for_otlp_is_reported(
    fake: Callable[..., FakeMlflow],
    write_config: Callable[..., Path],
    gemini_stub: GeminiStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = fake(version="2.22.1")
    path = write_config(mlflow={"tracking_uri": server.uri, "experiment_name": "known"})
    with caplog.at_level("WARNING", logger="llmops"):
        assert llmops.instrument(Platform.MLFLOW, config_path=path) is not None
    call_gemini(gemini_stub, stream=False)  # the application carries on
    llmops.shutdown()
    assert "is version 2.22.1, too old to accept OpenTelemetry traces" in caplog.text
    assert "upgrade it to MLflow 3.4 or later" in caplog.text
    assert server.spans() == []


def test_experiment_is_created_and_a_path_prefix_kept(
    fake: Callable[..., FakeMlflow], write_config: Callable[..., Path], gemini_stub: GeminiStub
) -> None:
    """A server behind a path prefix: the REST calls and OTLP all go under that prefix."""
    server = fake(prefix="/mlflow")
    path = write_config(mlflow={"tracking_uri": f"{server.uri}/", "experiment_name": "new"})
    llmops.instrument(Platform.MLFLOW, config_path=path)
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()
    assert [(s.method, s.path) for s in server.seen] == [
        ("GET", "/version"),
        ("GET", "/api/2.0/mlflow/experiments/get-by-name"),
        ("POST", "/api/2.0/mlflow/experiments/create"),
        ("POST", "/v1/traces"),
    ]
    assert json.loads(server.seen[2].body) == {"name": "new"}
    assert server.seen[3].headers["x-mlflow-experiment-id"] == server.experiments["new"]


def test_experiment_id_as_a_number_in_yaml(
    fake: Callable[..., FakeMlflow], write_config: Callable[..., Path], gemini_stub: GeminiStub
) -> None:
    server = fake()
    path = write_config(mlflow={"tracking_uri": server.uri, "experiment_id": 7})
    llmops.instrument(Platform.MLFLOW, config_path=path)
    call_gemini(gemini_stub, stream=False)
    llmops.shutdown()
    assert server.seen[1].path == "/api/2.0/mlflow/experiments/get"
    assert server.seen[-1].headers["x-mlflow-experiment-id"] == "7"
