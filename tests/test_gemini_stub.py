"""The Gemini stub speaks well enough for the real google-genai client and OpenInference."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from google import genai
from google.genai import errors, types
from openinference.instrumentation.google_genai import GoogleGenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmops.testing import GeminiStub
from llmops.testing.gemini_stub import prompt_text, reply_text, token_count

if TYPE_CHECKING:
    from collections.abc import Iterator

MODEL = "gemini-2.0-flash"
PROMPT = "Why is the sky blue today"  # 6 words: prompt 6, completion 7, total 13
REPO_ROOT = Path(__file__).resolve().parents[1]


def _client(stub: GeminiStub) -> genai.Client:
    # Keep the client in a variable while calling it: google-genai closes its HTTP client when
    # the Client object is collected, so `_client(stub).models.generate_content(...)` fails.
    return genai.Client(api_key="x", http_options=types.HttpOptions(base_url=stub.base_url))


def _requests_with(stub: GeminiStub, marker: str) -> list[tuple[str, Any]]:
    return [(path, body) for path, body in stub.requests if marker in json.dumps(body)]


def test_formula_helpers() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "a b"}, {"text": "c"}]}]}
    assert prompt_text(body) == "a b c"
    assert reply_text("a b c") == "Echo: a b c"
    assert token_count("Echo: a b c") == 4
    assert prompt_text({"contents": []}) == ""
    assert token_count(reply_text("")) == 1


def test_generate_content(gemini_stub: GeminiStub) -> None:
    client = _client(gemini_stub)
    response = client.models.generate_content(model=MODEL, contents=PROMPT)

    assert response.text == f"Echo: {PROMPT}"
    assert response.model_version == MODEL
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.candidates[0].content is not None
    assert response.candidates[0].content.role == "model"
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (6, 7)
    assert usage.total_token_count == 13
    [(path, body)] = _requests_with(gemini_stub, PROMPT)
    assert path.endswith(f"/models/{MODEL}:generateContent")
    assert body["contents"][0]["parts"][0]["text"] == PROMPT


def test_generate_content_stream(gemini_stub: GeminiStub) -> None:
    prompt = f"stream {PROMPT}"
    client = _client(gemini_stub)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=prompt))

    assert len(chunks) == token_count(reply_text(prompt)) > 2  # one chunk per word
    assert "".join(chunk.text or "" for chunk in chunks) == f"Echo: {prompt}"
    assert all(chunk.usage_metadata is None for chunk in chunks[:-1])
    usage = chunks[-1].usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (7, 8)
    assert usage.total_token_count == 15
    assert chunks[-1].candidates is not None
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    [(path, _)] = _requests_with(gemini_stub, prompt)
    assert path.endswith(f"/models/{MODEL}:streamGenerateContent?alt=sse")


async def _async_calls(client: genai.Client) -> tuple[str | None, str]:
    response = await client.aio.models.generate_content(model=MODEL, contents="async one")
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents="async two")
    return response.text, "".join([chunk.text or "" async for chunk in stream])


def test_async_client(gemini_stub: GeminiStub) -> None:
    import asyncio

    client = _client(gemini_stub)
    assert asyncio.run(_async_calls(client)) == (
        "Echo: async one",
        "Echo: async two",
    )


def test_unknown_route_is_a_google_style_404(gemini_stub: GeminiStub) -> None:
    client = _client(gemini_stub)
    with pytest.raises(errors.ClientError) as info:
        client.models.embed_content(model=MODEL, contents="x")
    assert info.value.code == 404
    assert info.value.status == "NOT_FOUND"

    connection = http.client.HTTPConnection("127.0.0.1", gemini_stub.port, timeout=5)
    connection.request("GET", "/v1/models")
    response = connection.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["error"]["status"] == "NOT_FOUND"
    connection.request("POST", f"/v1/models/{MODEL}:generateContent", body=b"not json")
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read())["error"]["status"] == "INVALID_ARGUMENT"
    connection.close()


def test_binds_loopback_and_stops_promptly_with_an_open_connection() -> None:
    stub = GeminiStub().start()
    assert stub.base_url.startswith("http://127.0.0.1:")
    port = stub.port
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)  # keep-alive, never sends
    try:
        started = time.monotonic()
        stub.stop()
        assert time.monotonic() - started < 3
        assert not stub.running
        with pytest.raises(RuntimeError):
            _ = stub.base_url
        stub.stop()  # idempotent
    finally:
        idle.close()
    with stub:  # restarts on the same port
        assert stub.port == port
        client = _client(stub)
        response = client.models.generate_content(model=MODEL, contents="again")
        assert response.text == "Echo: again"


def test_module_runs_standalone() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *sys.path])}
    process = subprocess.Popen(
        [sys.executable, "-m", "llmops.testing.gemini_stub", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()  # printed once the port is bound
        assert base_url.startswith("http://127.0.0.1:")
        client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=base_url))
        assert client.models.generate_content(model=MODEL, contents="cli").text == "Echo: cli"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def spans_exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def test_openinference_instrumentor_records_llm_spans(
    gemini_stub: GeminiStub, spans_exporter: InMemorySpanExporter
) -> None:
    client = _client(gemini_stub)
    client.models.generate_content(model=MODEL, contents=PROMPT)
    list(client.models.generate_content_stream(model=MODEL, contents=PROMPT))

    spans = spans_exporter.get_finished_spans()
    assert [span.name for span in spans] == ["GenerateContent", "GenerateContentStream"]
    for span in spans:
        attributes = dict(span.attributes or {})
        assert attributes["openinference.span.kind"] == "LLM"
        assert attributes["llm.model_name"] == MODEL
        assert attributes["llm.token_count.prompt"] == 6
        assert attributes["llm.token_count.completion"] == 7
        assert attributes["llm.token_count.total"] == 13
        assert attributes["llm.output_messages.0.message.content"] == f"Echo: {PROMPT}"
        assert attributes["llm.input_messages.0.message.content"] == PROMPT
        assert PROMPT in str(attributes["input.value"])
        assert "output.value" in attributes
