"""End to end: llmops + the real ``litellm`` + OpenInference -> a real Phoenix and MLflow.

Each test writes ``llmops.yaml`` with ``instrumentation: {litellm: true, openai: false}``, calls
``llmops.instrument(...)``, makes one kind of call with ``litellm.completion`` /
``litellm.acompletion`` (model ``openai/gpt-4o-mini``, ``api_base`` the loopback OpenAI stub),
calls ``llmops.shutdown()`` and reads the spans back from the session's Phoenix and from a local
MLflow SQLite store, as ``test_openai_e2e.py`` does.

``openai: false``: litellm calls OpenAI models through the ``openai`` client, so with both
instrumentors on each litellm span gets a ``ChatCompletion`` child; these tests look at
litellm's spans alone. litellm is called through the module (``litellm.completion``): the
instrumentor replaces the module's functions, so a name imported before ``instrument()``
(``from litellm import completion``) stays uninstrumented.

``LITELLM_LOCAL_MODEL_COST_MAP=True`` (``conftest.py``) keeps litellm from fetching its price
map from GitHub at import.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

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

MODEL = "openai/gpt-4o-mini"
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
INSTRUMENTATION = {"litellm": True, "openai": False}


def _litellm() -> Any:
    import litellm  # imported here: after conftest.py has set LITELLM_LOCAL_MODEL_COST_MAP

    return litellm


def _kwargs(stub: OpenAIStub, prompt: str, **more: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "api_base": stub.base_url,
        "api_key": "test",
        "messages": [{"role": "user", "content": prompt}],
        **more,
    }


def _text(prompt: str, name: str) -> Expected:
    reply = reply_text(prompt)
    return Expected(name, MODEL, prompt, reply, token_count(prompt), token_count(reply))


# -- the calls ------------------------------------------------------------------------------


def _completion(stub: OpenAIStub, tracer: Tracer) -> None:
    response = _litellm().completion(**_kwargs(stub, PROMPT))
    assert response.choices[0].message.content == reply_text(PROMPT)


def _stream_kwargs(stub: OpenAIStub) -> dict[str, Any]:
    return _kwargs(stub, STREAM_PROMPT, stream=True, stream_options={"include_usage": True})


def _completion_stream(stub: OpenAIStub, tracer: Tracer) -> None:
    chunks = list(_litellm().completion(**_stream_kwargs(stub)))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply_text(STREAM_PROMPT)


async def _acompletion_calls(stub: OpenAIStub, stream: bool) -> str:
    litellm = _litellm()
    if not stream:
        response = await litellm.acompletion(**_kwargs(stub, PROMPT))
        return str(response.choices[0].message.content)
    chunks = await litellm.acompletion(**_stream_kwargs(stub))
    return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])


def _acompletion(stub: OpenAIStub, tracer: Tracer) -> None:
    assert asyncio.run(_acompletion_calls(stub, stream=False)) == reply_text(PROMPT)


def _acompletion_stream(stub: OpenAIStub, tracer: Tracer) -> None:
    assert asyncio.run(_acompletion_calls(stub, stream=True)) == reply_text(STREAM_PROMPT)


def _tool_round_trip(stub: OpenAIStub, tracer: Tracer) -> None:
    litellm = _litellm()
    with tracer.start_as_current_span(PARENT) as parent:
        parent.set_attribute("openinference.span.kind", "CHAIN")
        parent.set_attribute("input.value", CITY)
        kwargs = _kwargs(stub, CITY, tools=TOOLS)
        first = litellm.completion(**kwargs)
        assert first.choices[0].finish_reason == "tool_calls"
        (call,) = first.choices[0].message.tool_calls
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": CITY}
        kwargs["messages"] = [
            *kwargs["messages"],
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": WEATHER},
        ]
        second = litellm.completion(**kwargs)
        answer = second.choices[0].message.content
        assert answer == reply_text(f"{CITY} {WEATHER}")
        parent.set_attribute("output.value", answer)


_ARGUMENTS = tool_arguments(TOOLS[0], CITY)
_FOLLOW_UP = f"{CITY} {WEATHER}"

SCENARIOS: dict[str, Scenario] = {
    "completion": Scenario(_completion, [_text(PROMPT, "completion")]),
    "completion_stream": Scenario(_completion_stream, [_text(STREAM_PROMPT, "completion")]),
    "acompletion": Scenario(_acompletion, [_text(PROMPT, "acompletion")]),
    "acompletion_stream": Scenario(_acompletion_stream, [_text(STREAM_PROMPT, "acompletion")]),
    "tool_round_trip": Scenario(
        _tool_round_trip,
        [
            Expected(
                "completion",
                MODEL,
                CITY,
                _ARGUMENTS,
                token_count(CITY),
                token_count(_ARGUMENTS),
                tool_call="get_weather",
                tool_schema="get_weather",
            ),
            Expected(
                "completion",
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
def test_phoenix_shows_the_litellm_call(
    name: str, tmp_path: Path, phoenix_server: PhoenixServer, openai_stub: OpenAIStub
) -> None:
    scenario = SCENARIOS[name]
    project = unique(f"litellm-{name}")
    config = write_config(
        tmp_path,
        INSTRUMENTATION,
        arize={"endpoint": phoenix_server.http_endpoint, "project_name": project},
    )
    run_scenario(scenario, openai_stub, Platform.ARIZE, config)
    check_phoenix(phoenix_server, project, scenario)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mlflow_shows_the_litellm_call(
    name: str, tmp_path: Path, mlflow_store: str, openai_stub: OpenAIStub
) -> None:
    scenario = SCENARIOS[name]
    experiment = unique(f"litellm-{name}")
    config = write_config(
        tmp_path,
        INSTRUMENTATION,
        mlflow={"tracking_uri": mlflow_store, "experiment_name": experiment},
    )
    run_scenario(scenario, openai_stub, Platform.MLFLOW, config)
    check_mlflow(mlflow_store, experiment, scenario)
