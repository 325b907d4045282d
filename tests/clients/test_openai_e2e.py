"""End to end: llmops + the real ``openai`` client + OpenInference -> a real Phoenix and MLflow.

Each test writes ``llmops.yaml`` with ``instrumentation: {openai: true}``, calls
``llmops.instrument(...)``, makes one kind of call with the real ``OpenAI`` / ``AsyncOpenAI``
client against the loopback OpenAI stub (``llmops.testing.openai_stub``), calls
``llmops.shutdown()`` (which flushes) and reads the spans back: from the session's Phoenix
(arize platform, OTLP/HTTP) and from a local MLflow SQLite store (mlflow platform).

The kinds of call: a chat completion, a chat stream (with ``include_usage``), both again with
``AsyncOpenAI``, the Responses API plain and streamed, and a tool-call round trip (the model
asks for a tool, the follow-up carries its result) under one parent span the test opens.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from openai import AsyncOpenAI, OpenAI

from llmops import Platform
from llmops.testing.openai_stub import reply_text, token_count, tool_arguments
from tests.clients.support import (
    PARENT,
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

    from llmops.testing.openai_stub import OpenAIStub
    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini"
PROMPT = "Why is the sky blue at noon"
STREAM_PROMPT = "Tell me a short story about a lighthouse"
CITY = "Paris"
WEATHER = "sunny and 21 degrees"
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city now.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def _messages(prompt: str) -> list[Any]:
    return [{"role": "user", "content": prompt}]


def _client(stub: OpenAIStub) -> OpenAI:
    return OpenAI(base_url=stub.base_url, api_key="test", max_retries=0)


def _async_client(stub: OpenAIStub) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=stub.base_url, api_key="test", max_retries=0)


def _text(prompt: str, name: str = "ChatCompletion", **fields: Any) -> Expected:
    """A text reply to ``prompt``, by the stub's formula."""
    reply = reply_text(prompt)
    return Expected(name, MODEL, prompt, reply, token_count(prompt), token_count(reply), **fields)


# -- the calls ------------------------------------------------------------------------------


def _chat(stub: OpenAIStub, tracer: Tracer) -> None:
    with _client(stub) as client:
        completion = client.chat.completions.create(model=MODEL, messages=_messages(PROMPT))
    assert completion.choices[0].message.content == reply_text(PROMPT)


def _chat_stream(stub: OpenAIStub, tracer: Tracer) -> None:
    with _client(stub) as client:
        stream = client.chat.completions.create(
            model=MODEL,
            messages=_messages(STREAM_PROMPT),
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply_text(STREAM_PROMPT)
    assert chunks[-1].usage is not None


async def _async_chat_calls(stub: OpenAIStub, stream: bool) -> str:
    async with _async_client(stub) as client:
        if not stream:
            completion = await client.chat.completions.create(
                model=MODEL, messages=_messages(PROMPT)
            )
            return completion.choices[0].message.content or ""
        chunks = await client.chat.completions.create(
            model=MODEL,
            messages=_messages(STREAM_PROMPT),
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])


def _async_chat(stub: OpenAIStub, tracer: Tracer) -> None:
    assert asyncio.run(_async_chat_calls(stub, stream=False)) == reply_text(PROMPT)


def _async_chat_stream(stub: OpenAIStub, tracer: Tracer) -> None:
    assert asyncio.run(_async_chat_calls(stub, stream=True)) == reply_text(STREAM_PROMPT)


def _responses(stub: OpenAIStub, tracer: Tracer) -> None:
    with _client(stub) as client:
        response = client.responses.create(model=MODEL, input=PROMPT)
    assert response.output_text == reply_text(PROMPT)


def _responses_stream(stub: OpenAIStub, tracer: Tracer) -> None:
    with _client(stub) as client:
        events = list(client.responses.create(model=MODEL, input=STREAM_PROMPT, stream=True))
    assert events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == reply_text(STREAM_PROMPT)


def _tool_round_trip(stub: OpenAIStub, tracer: Tracer) -> None:
    """The model asks for ``get_weather``; the test runs it and sends the result back."""
    with tracer.start_as_current_span(PARENT) as parent, _client(stub) as client:
        parent.set_attribute("openinference.span.kind", "CHAIN")
        parent.set_attribute("input.value", CITY)
        messages: list[Any] = _messages(CITY)
        first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        assert first.choices[0].finish_reason == "tool_calls"
        message = first.choices[0].message
        assert message.tool_calls is not None
        (call,) = message.tool_calls
        assert call.type == "function"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": CITY}
        messages.append(message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": WEATHER})
        second = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        answer = second.choices[0].message.content
        assert answer == reply_text(f"{CITY} {WEATHER}")
        parent.set_attribute("output.value", answer)


_ARGUMENTS = tool_arguments(TOOLS[0], CITY)
_FOLLOW_UP = f"{CITY} {WEATHER}"  # the stub's prompt: the user text, then the tool result

SCENARIOS: dict[str, Scenario] = {
    "chat": Scenario(_chat, [_text(PROMPT)]),
    "chat_stream": Scenario(_chat_stream, [_text(STREAM_PROMPT)]),
    "async_chat": Scenario(_async_chat, [_text(PROMPT)]),
    "async_chat_stream": Scenario(_async_chat_stream, [_text(STREAM_PROMPT)]),
    # The instrumentor records a string `input` as input message 1 (it keeps 0 for
    # `instructions`); Phoenix renumbers the messages it stores from 0. The reply is under
    # message.contents.0.message_content.text.
    "responses": Scenario(
        _responses,
        [
            _text(
                PROMPT,
                "Response",
                input_message=(0, "user"),
                output_message_key="message.contents.0.message_content.text",
            )
        ],
    ),
    "responses_stream": Scenario(
        _responses_stream,
        [
            _text(
                STREAM_PROMPT,
                "Response",
                input_message=(0, "user"),
                output_message_key="message.contents.0.message_content.text",
            )
        ],
    ),
    "tool_round_trip": Scenario(
        _tool_round_trip,
        [
            Expected(
                "ChatCompletion",
                MODEL,
                CITY,
                _ARGUMENTS,
                token_count(CITY),
                token_count(_ARGUMENTS),
                tool_call="get_weather",
                tool_schema="get_weather",
            ),
            Expected(
                "ChatCompletion",
                MODEL,
                WEATHER,
                reply_text(_FOLLOW_UP),
                token_count(_FOLLOW_UP),
                token_count(reply_text(_FOLLOW_UP)),
                input_message=(2, "tool"),
                tool_schema="get_weather",
            ),
        ],
        parent=True,
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_phoenix_shows_the_openai_call(
    name: str, tmp_path: Path, phoenix_server: PhoenixServer, openai_stub: OpenAIStub
) -> None:
    scenario = SCENARIOS[name]
    project = unique(f"openai-{name}")
    config = write_config(
        tmp_path,
        "openai",
        arize={"endpoint": phoenix_server.http_endpoint, "project_name": project},
    )
    run_scenario(scenario, openai_stub, Platform.ARIZE, config)
    check_phoenix(phoenix_server, project, scenario)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mlflow_shows_the_openai_call(
    name: str, tmp_path: Path, mlflow_store: str, openai_stub: OpenAIStub
) -> None:
    scenario = SCENARIOS[name]
    tracking_uri = mlflow_store
    experiment = unique(f"openai-{name}")
    config = write_config(
        tmp_path, "openai", mlflow={"tracking_uri": tracking_uri, "experiment_name": experiment}
    )
    run_scenario(scenario, openai_stub, Platform.MLFLOW, config)
    check_mlflow(tracking_uri, experiment, scenario)
