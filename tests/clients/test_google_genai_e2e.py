"""End to end: llmops + the real ``google-genai`` client + OpenInference -> a real Phoenix and
MLflow, for the four ways of calling it: sync, sync streaming, async, async streaming.

The same scenarios and checks as the other clients (``support.py``), against the loopback
Gemini stub of ``llmops.testing``. ``tests/arize`` and ``tests/mlflow`` cover the transports
and the platforms with sync calls; this module covers the client's call styles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from llmops import Platform
from llmops.testing import GeminiStub
from llmops.testing.gemini_stub import reply_text, token_count
from tests.clients.support import (
    Expected,
    Scenario,
    check_mlflow,
    check_phoenix,
    run_scenario,
    unique,
    write_config,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e

genai = pytest.importorskip("google.genai")

MODEL = "gemini-2.5-flash"
PROMPT = "Why is the sky blue at noon"
STREAM_PROMPT = "Tell me a short story about a lighthouse"
_GEMINI: list[GeminiStub] = []


@pytest.fixture(scope="module", autouse=True)
def gemini_stub() -> Iterator[GeminiStub]:
    with GeminiStub() as stub:
        _GEMINI.append(stub)
        yield stub
        _GEMINI.clear()


def _client() -> Any:
    from google.genai import types

    options = types.HttpOptions(base_url=_GEMINI[0].base_url)
    return genai.Client(api_key="stub", http_options=options)


def _plain(_stub: object, _tracer: Tracer) -> None:
    client = _client()  # kept: a client closes itself when collected
    reply = client.models.generate_content(model=MODEL, contents=PROMPT)
    assert reply.text == reply_text(PROMPT)


def _stream(_stub: object, _tracer: Tracer) -> None:
    client = _client()
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=STREAM_PROMPT))
    assert "".join(c.text or "" for c in chunks) == reply_text(STREAM_PROMPT)


def _async(_stub: object, _tracer: Tracer) -> None:
    async def call() -> str:
        client = _client()
        reply = await client.aio.models.generate_content(model=MODEL, contents=PROMPT)
        return str(reply.text)

    assert asyncio.run(call()) == reply_text(PROMPT)


def _async_stream(_stub: object, _tracer: Tracer) -> None:
    async def call() -> str:
        client = _client()
        stream = await client.aio.models.generate_content_stream(
            model=MODEL, contents=STREAM_PROMPT
        )
        return "".join([c.text or "" async for c in stream])

    assert asyncio.run(call()) == reply_text(STREAM_PROMPT)


def _text(prompt: str, name: str) -> Expected:
    reply = reply_text(prompt)
    return Expected(
        name, MODEL, prompt, reply, token_count(prompt), token_count(reply), output_role="model"
    )


SCENARIOS: dict[str, Scenario] = {
    "generate_content": Scenario(_plain, [_text(PROMPT, "GenerateContent")]),
    "generate_content_stream": Scenario(_stream, [_text(STREAM_PROMPT, "GenerateContentStream")]),
    "async": Scenario(_async, [_text(PROMPT, "AsyncGenerateContent")]),
    "async_stream": Scenario(_async_stream, [_text(STREAM_PROMPT, "AsyncGenerateContentStream")]),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_phoenix_shows_the_gemini_call(
    name: str, tmp_path: Path, phoenix_server: PhoenixServer
) -> None:
    scenario = SCENARIOS[name]
    project = unique(f"genai-{name}")
    config = write_config(
        tmp_path,
        "google_genai",
        arize={"endpoint": phoenix_server.http_endpoint, "project_name": project},
    )
    run_scenario(scenario, None, Platform.ARIZE, config)  # type: ignore[arg-type]
    check_phoenix(phoenix_server, project, scenario)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mlflow_shows_the_gemini_call(name: str, tmp_path: Path, mlflow_store: str) -> None:
    scenario = SCENARIOS[name]
    experiment = unique(f"genai-{name}")
    config = write_config(
        tmp_path,
        "google_genai",
        mlflow={"tracking_uri": mlflow_store, "experiment_name": experiment},
    )
    run_scenario(scenario, None, Platform.MLFLOW, config)  # type: ignore[arg-type]
    check_mlflow(mlflow_store, experiment, scenario)
