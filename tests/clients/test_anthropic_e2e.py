"""End to end: llmops + the real ``anthropic`` client + OpenInference -> a real Phoenix and MLflow.

Each test writes a YAML config with ``instrumentation: {anthropic: true}``, calls
``llmops.instrument(platform, config_path=...)``, talks to the loopback Anthropic stub
(:mod:`llmops.testing.anthropic_stub`) with the real ``Anthropic`` / ``AsyncAnthropic`` client,
calls ``llmops.shutdown()`` (which flushes) and reads the spans back from each backend:

* ``phoenix``: the session's real Phoenix (``tests/conftest.py``), OTLP/HTTP, read back with
  ``GET /v1/projects/{project}/spans``;
* ``mlflow``: a local SQLite store (``sqlite:///`` in this module's temporary directory, one
  experiment per test), read back with ``mlflow.search_traces``.

The assertions are what each backend needs to show a useful trace: the span kind (``LLM``), the
model, the prompt / completion / total token counts (the stub's formula), the input and output,
and, for the tool-use round trip, one trace whose parent span (made by the test) holds both
LLM calls.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

import llmops
from llmops import Platform
from llmops.testing.anthropic_stub import AnthropicStub, reply_text, token_count
from tests.core_support import REQUIRE_E2E, clear_proxy_environment
from tests.mlflow.support import wait_for_traces

if TYPE_CHECKING:
    from mlflow.entities import Span, Trace

    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e


def _require(module: str) -> Any:
    """Import ``module``; skip without it (fail with ``LLMOPS_REQUIRE_E2E=1``: the dev extras
    install it)."""
    if REQUIRE_E2E:
        return __import__(module)
    return pytest.importorskip(module)


anthropic = _require("anthropic")
_require("openinference.instrumentation.anthropic")

MODEL = "claude-sonnet-4-5"
PROMPT = "Why is the sky blue at noon"
STREAM_PROMPT = "Tell me a short story about a lighthouse"
RAW_STREAM_PROMPT = "Count the stars over the harbour"
ASYNC_PROMPT = "Name three rivers of Europe"
ASYNC_STREAM_PROMPT = "Describe a quiet morning in the mountains"
TOOL_PROMPT = "What is the weather in Paris"
TOOL_RESULT = "18 degrees and sunny"
PARENT_SPAN = "weather-agent"
WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city."}},
        "required": ["city"],
    },
}


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anthropic_stub() -> Iterator[AnthropicStub]:
    with AnthropicStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite tracking store for the module (its schema is made once); a test per
    experiment."""
    pytest.importorskip("mlflow")
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def _offline(_isolated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """On top of ``tests/conftest.py``'s isolation: no proxy variable, MLflow offline.

    MLflow prices each LLM span with ``litellm`` when it is installed (the dev extras install
    it), and importing ``litellm`` downloads its model price list unless
    ``LITELLM_LOCAL_MODEL_COST_MAP`` is true: three attempts, seconds of back-off, offline.
    """
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")  # this process reads traces back
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")  # offline: no price-list download
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@dataclass(frozen=True)
class LlmCall:
    """What one instrumented call should show: the span name, the request's prompt, the stub's
    reply (text, or the tool call's name) and token counts."""

    name: str
    prompt: str
    reply: str
    input_tokens: int
    output_tokens: int

    @classmethod
    def text(cls, name: str, prompt: str) -> LlmCall:
        reply = reply_text(prompt)
        return cls(name, prompt, reply, token_count(prompt), token_count(reply))

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def sdk_span_nested(self) -> bool:
        """Whether the SDK's own span of this call is a child of the OpenInference span.

        openinference-instrumentation-anthropic 3.1.0 does not make its ``messages.stream``
        span current while the stream manager sends the request, so the SDK's span of a
        ``messages.stream(...)`` call lands outside it: a trace of its own (or a sibling,
        under a parent span of the application). ``create`` (streaming or not) nests.
        """
        return self.name != "messages.stream"


SDK_SPAN = "anthropic.messages.create"
"""The span the ``anthropic`` SDK (2.x) makes of each API call itself: its own OpenTelemetry
tracing (scope ``com.anthropic.sdk.python``, GenAI attributes, metadata only), on by default
whenever a global ``TracerProvider`` is set, which ``llmops.instrument`` does;
``ANTHROPIC_OPEN_TELEMETRY=false`` turns it off. Phoenix and MLflow both read it as an LLM
span (kind ``LLM`` with ``llm.token_count.*`` / type ``CHAT_MODEL`` with a token usage)."""


def _is_sdk_span(name: str) -> bool:
    return name.startswith("anthropic.")


def _sdk_spans_expected(calls: Sequence[LlmCall], *, on: bool) -> tuple[int, int]:
    """(SDK spans, of them the ones outside their OpenInference span)."""
    if not on:
        return 0, 0
    return len(calls), sum(not call.sdk_span_nested for call in calls)


class Backend:
    """Instrument for one platform, then read back and check what it stored."""

    name: str
    provider: Any = None
    """The ``TracerProvider`` ``llmops.instrument`` returned."""
    sdk_spans: bool = False
    """Whether the SDK's own spans are expected: llmops turns them off
    (``ANTHROPIC_OPEN_TELEMETRY=false``) unless the application set the variable itself."""

    def instrument(self, tmp_path: Path) -> None:
        raise NotImplementedError

    def check_calls(self, calls: list[LlmCall]) -> None:
        """One trace per call, rooted at an OpenInference LLM span showing the call, and the
        SDK's own span of each call (see :data:`SDK_SPAN` and ``LlmCall.sdk_span_nested``)."""
        raise NotImplementedError

    def check_round_trip(self, first: LlmCall, second: LlmCall) -> None:
        """One trace: the test's parent span, with both LLM calls as its children."""
        raise NotImplementedError


def _write_config(tmp_path: Path, **sections: Any) -> Path:
    path = tmp_path / "llmops.yaml"
    config = {
        "service": {"name": "anthropic-e2e"},
        "instrumentation": {"anthropic": True},
        # The session's first MLflow export makes the store (seconds on a loaded machine).
        "tracing": {"shutdown_timeout_s": 30},
    }
    path.write_text(yaml.safe_dump({**config, **sections}, sort_keys=False), encoding="utf-8")
    return path


def _response_id(output_value: Any) -> str:
    """The message id in an OpenInference ``output.value`` (a JSON string, or decoded)."""
    decoded = json.loads(output_value) if isinstance(output_value, str) else output_value
    return str(decoded["id"])


class PhoenixBackend(Backend):
    name = "phoenix"

    def __init__(self, server: PhoenixServer) -> None:
        self.server = server
        self.project = f"llmops-anthropic-{uuid.uuid4().hex[:10]}"

    def instrument(self, tmp_path: Path) -> None:
        arize = {"endpoint": self.server.http_endpoint, "project_name": self.project}
        self.provider = llmops.instrument(
            Platform.ARIZE, config_path=_write_config(tmp_path, arize=arize)
        )

    def _spans(self, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(the spans of OpenInference and of the test, the SDK's own spans), oldest first."""
        spans = self.server.wait_for_spans(self.project, count, timeout=30)
        assert len(spans) == count, [span["name"] for span in spans]
        spans.sort(key=lambda span: span["start_time"])
        ours = [span for span in spans if not _is_sdk_span(span["name"])]
        sdk = [span for span in spans if _is_sdk_span(span["name"])]
        return ours, sdk

    def check_sdk_spans(
        self, llm_spans: list[dict[str, Any]], calls: Sequence[LlmCall], sdk: list[dict[str, Any]]
    ) -> None:
        """Phoenix reads each SDK span as a second LLM span of the call, with the same model
        and token counts; it is a child of the call's span, except for ``messages.stream``."""
        assert len(sdk) == _sdk_spans_expected(calls, on=self.sdk_spans)[0]
        if not sdk:
            return
        by_response = {span["attributes"]["gen_ai.response.id"]: span for span in sdk}
        for llm, call in zip(llm_spans, calls, strict=True):
            inner = by_response[_response_id(llm["attributes"]["output.value"])]
            attributes = inner["attributes"]
            assert inner["name"] == SDK_SPAN
            assert inner["span_kind"] == "LLM"
            assert attributes["llm.model_name"] == MODEL
            assert attributes["llm.token_count.total"] == call.total_tokens
            if call.sdk_span_nested:
                assert inner["parent_id"] == llm["context"]["span_id"], call.name
            else:
                assert inner["parent_id"] == llm["parent_id"], call.name
                if llm["parent_id"] is None:  # a second trace
                    assert inner["context"]["trace_id"] != llm["context"]["trace_id"]

    def check_llm_span(self, span: dict[str, Any], call: LlmCall) -> None:
        attributes = span["attributes"]
        assert span["name"] == call.name
        assert span["span_kind"] == "LLM", call.name
        assert span["status_code"] == "OK", call.name
        assert attributes["llm.model_name"] == MODEL, call.name
        assert attributes["llm.provider"] == "anthropic", call.name
        assert attributes["llm.token_count.prompt"] == call.input_tokens, call.name
        assert attributes["llm.token_count.completion"] == call.output_tokens, call.name
        assert attributes["llm.token_count.total"] == call.total_tokens, call.name
        assert call.prompt in attributes["input.value"], call.name
        assert call.reply in attributes["output.value"], call.name
        # The chat view: the messages, as Phoenix lists them.
        assert call.prompt in json.dumps(_phoenix_messages(attributes, "input")), call.name
        assert call.reply in json.dumps(_phoenix_messages(attributes, "output")), call.name

    def check_calls(self, calls: list[LlmCall]) -> None:
        sdk_count, _ = _sdk_spans_expected(calls, on=self.sdk_spans)
        llm_spans, sdk = self._spans(len(calls) + sdk_count)
        assert len({span["context"]["trace_id"] for span in llm_spans}) == len(calls)
        for span, call in zip(llm_spans, calls, strict=True):
            assert span["parent_id"] is None, call.name
            self.check_llm_span(span, call)
        self.check_sdk_spans(llm_spans, calls, sdk)

    def check_round_trip(self, first: LlmCall, second: LlmCall) -> None:
        sdk_count, _ = _sdk_spans_expected([first, second], on=self.sdk_spans)
        ours, sdk = self._spans(3 + sdk_count)
        parent, *children = ours
        assert parent["name"] == PARENT_SPAN
        assert parent["parent_id"] is None
        assert parent["span_kind"] == "AGENT"
        assert {span["context"]["trace_id"] for span in ours + sdk} == {
            parent["context"]["trace_id"]
        }
        for child, call in zip(children, (first, second), strict=True):
            assert child["parent_id"] == parent["context"]["span_id"]
            self.check_llm_span(child, call)
        self.check_sdk_spans(children, [first, second], sdk)
        tool_call, answer = children
        attributes = tool_call["attributes"]
        assert attributes["llm.finish_reason"] == "tool_use"
        assert WEATHER_TOOL["name"] in json.dumps(_phoenix_messages(attributes, "output"))
        assert TOOL_PROMPT in json.dumps(_phoenix_messages(attributes, "output"))  # arguments
        assert WEATHER_TOOL["name"] in attributes["llm.tools.0.tool.json_schema"]
        assert TOOL_RESULT in json.dumps(_phoenix_messages(answer["attributes"], "input"))
        assert answer["attributes"]["llm.finish_reason"] == "end_turn"


def _phoenix_messages(attributes: dict[str, Any], direction: str) -> Any:
    """The ``llm.input_messages`` / ``llm.output_messages`` attributes Phoenix returns (flat
    keys, ``llm.input_messages.0.message.content``), what its chat view is drawn from."""
    prefix = f"llm.{direction}_messages."
    return {key: value for key, value in attributes.items() if key.startswith(prefix)}


class MlflowBackend(Backend):
    name = "mlflow"

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = f"llmops-anthropic-{uuid.uuid4().hex[:10]}"

    def instrument(self, tmp_path: Path) -> None:
        mlflow = {"tracking_uri": self.tracking_uri, "experiment_name": self.experiment_name}
        self.provider = llmops.instrument(
            Platform.MLFLOW, config_path=_write_config(tmp_path, mlflow=mlflow)
        )

    def _traces(self, count: int) -> list[Trace]:
        from mlflow import MlflowClient

        experiment = MlflowClient(self.tracking_uri).get_experiment_by_name(self.experiment_name)
        assert experiment is not None, "llmops did not create the experiment"
        traces = wait_for_traces(self.tracking_uri, str(experiment.experiment_id), count)
        assert len(traces) == count
        for trace in traces:
            assert trace.info.state.value == "OK"
        return traces

    @staticmethod
    def usage(*calls: LlmCall) -> dict[str, int]:
        return {
            "input_tokens": sum(call.input_tokens for call in calls),
            "output_tokens": sum(call.output_tokens for call in calls),
            "total_tokens": sum(call.total_tokens for call in calls),
        }

    @staticmethod
    def split(traces: Sequence[Trace]) -> tuple[list[Span], list[Span]]:
        """(the spans of OpenInference and of the test, the SDK's own spans), oldest first."""
        spans = sorted(
            (span for trace in traces for span in trace.data.spans),
            key=lambda span: span.start_time_ns,
        )
        return (
            [span for span in spans if not _is_sdk_span(span.name)],
            [span for span in spans if _is_sdk_span(span.name)],
        )

    def check_sdk_spans(
        self,
        traces: Sequence[Trace],
        llm_spans: list[Span],
        calls: Sequence[LlmCall],
        sdk: list[Span],
    ) -> None:
        """MLflow reads each SDK span as a ``CHAT_MODEL`` span with the call's token usage.
        Nested in the call's span, the trace does not count its tokens twice; outside it (a
        ``messages.stream`` call), it is a trace of its own that counts them again."""
        assert len(sdk) == _sdk_spans_expected(calls, on=self.sdk_spans)[0]
        if not sdk:
            return
        trace_of = {span.span_id: trace for trace in traces for span in trace.data.spans}
        by_response = {span.attributes["gen_ai.response.id"]: span for span in sdk}
        for llm, call in zip(llm_spans, calls, strict=True):
            inner = by_response[_response_id(llm.outputs)]
            assert inner.name == SDK_SPAN
            assert inner.span_type == "CHAT_MODEL"
            usage = inner.attributes["mlflow.chat.tokenUsage"]
            assert {key: usage[key] for key in self.usage(call)} == self.usage(call)
            if call.sdk_span_nested:
                assert inner.parent_id == llm.span_id, call.name
            else:
                assert inner.parent_id == llm.parent_id, call.name
                if llm.parent_id is None:  # a second trace, counting the tokens again
                    trace = trace_of[inner.span_id]
                    assert trace is not trace_of[llm.span_id]
                    usage = trace.info.token_usage
                    assert {key: usage[key] for key in self.usage(call)} == self.usage(call)

    def check_llm_span(self, span: Span, call: LlmCall) -> None:
        assert span.name == call.name
        assert span.span_type == "LLM", call.name
        assert span.status.status_code.value == "OK", call.name
        assert span.attributes["mlflow.llm.model"] == MODEL, call.name
        assert span.attributes["mlflow.llm.provider"] == "anthropic", call.name
        assert span.attributes["mlflow.chat.tokenUsage"] == self.usage(call), call.name
        # The OpenInference attributes are kept as they came (the span's attribute view).
        assert span.attributes["llm.model_name"] == MODEL, call.name
        assert span.attributes["llm.token_count.total"] == call.total_tokens, call.name
        assert call.prompt in json.dumps(span.inputs), call.name
        assert call.reply in json.dumps(span.outputs), call.name
        assert span.end_time_ns > span.start_time_ns, call.name

    def check_calls(self, calls: list[LlmCall]) -> None:
        _, outside = _sdk_spans_expected(calls, on=self.sdk_spans)
        traces = self._traces(len(calls) + outside)
        llm_spans, sdk = self.split(traces)
        trace_of = {span.span_id: trace for trace in traces for span in trace.data.spans}
        for span, call in zip(llm_spans, calls, strict=True):
            assert span.parent_id is None, call.name
            self.check_llm_span(span, call)
            # The trace's usage is the call's, the SDK span inside it not counted again.
            assert trace_of[span.span_id].info.token_usage == self.usage(call), call.name
        self.check_sdk_spans(traces, llm_spans, calls, sdk)

    def check_round_trip(self, first: LlmCall, second: LlmCall) -> None:
        (trace,) = self._traces(1)
        (parent, *children), sdk = self.split([trace])
        assert parent.name == PARENT_SPAN
        assert parent.parent_id is None
        assert parent.span_type == "AGENT"
        for child, call in zip(children, (first, second), strict=True):
            assert child.parent_id == parent.span_id
            self.check_llm_span(child, call)
        self.check_sdk_spans([trace], children, [first, second], sdk)
        # The trace adds up the tokens of both calls (once each).
        assert trace.info.token_usage == self.usage(first, second)
        tool_call, answer = children
        assert WEATHER_TOOL["name"] in json.dumps(tool_call.outputs)
        assert TOOL_RESULT in json.dumps(answer.inputs)


@pytest.fixture(params=["phoenix", "mlflow"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend, instrumented (``llmops.instrument``) for this test."""
    chosen: Backend
    if request.param == "phoenix":
        chosen = PhoenixBackend(request.getfixturevalue("phoenix_server"))
    else:
        chosen = MlflowBackend(request.getfixturevalue("mlflow_store"))
    chosen.instrument(tmp_path)
    return chosen


@pytest.fixture
def client(anthropic_stub: AnthropicStub) -> Iterator[Any]:
    with anthropic.Anthropic(base_url=anthropic_stub.base_url, api_key="test") as client:
        yield client


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# -- tests ---------------------------------------------------------------------------------


def test_messages_create(backend: Backend, client: Any) -> None:
    message = client.messages.create(model=MODEL, max_tokens=256, messages=_user(PROMPT))
    assert message.content[0].text == reply_text(PROMPT)
    llmops.shutdown()

    backend.check_calls([LlmCall.text("messages.create", PROMPT)])


def test_streaming(backend: Backend, client: Any) -> None:
    """``messages.stream(...)`` and ``messages.create(stream=True)``, both consumed."""
    with client.messages.stream(
        model=MODEL, max_tokens=256, messages=_user(STREAM_PROMPT)
    ) as stream:
        assert "".join(stream.text_stream) == reply_text(STREAM_PROMPT)
    events = client.messages.create(
        model=MODEL, max_tokens=256, messages=_user(RAW_STREAM_PROMPT), stream=True
    )
    types = [event.type for event in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    llmops.shutdown()

    backend.check_calls(
        [
            LlmCall.text("messages.stream", STREAM_PROMPT),
            LlmCall.text("messages.create", RAW_STREAM_PROMPT),
        ]
    )


def test_async(backend: Backend, anthropic_stub: AnthropicStub) -> None:
    """``AsyncAnthropic``: ``await messages.create(...)`` and ``async with messages.stream``."""

    async def calls() -> None:
        async with anthropic.AsyncAnthropic(
            base_url=anthropic_stub.base_url, api_key="test"
        ) as client:
            message = await client.messages.create(
                model=MODEL, max_tokens=256, messages=_user(ASYNC_PROMPT)
            )
            assert message.content[0].text == reply_text(ASYNC_PROMPT)
            async with client.messages.stream(
                model=MODEL, max_tokens=256, messages=_user(ASYNC_STREAM_PROMPT)
            ) as stream:
                assert await stream.get_final_text() == reply_text(ASYNC_STREAM_PROMPT)

    asyncio.run(calls())
    llmops.shutdown()

    backend.check_calls(
        [
            LlmCall.text("messages.create", ASYNC_PROMPT),
            LlmCall.text("messages.stream", ASYNC_STREAM_PROMPT),
        ]
    )


def test_tool_use_round_trip(backend: Backend, client: Any, anthropic_stub: AnthropicStub) -> None:
    """A ``tool_use`` answer, the tool run by the test, the ``tool_result`` sent back: two LLM
    calls under one parent span."""
    tracer = backend.provider.get_tracer("tests.clients")
    messages = _user(TOOL_PROMPT)
    with tracer.start_as_current_span(
        PARENT_SPAN, attributes={"openinference.span.kind": "AGENT", "input.value": TOOL_PROMPT}
    ) as parent:
        first = client.messages.create(
            model=MODEL, max_tokens=256, tools=[WEATHER_TOOL], messages=messages
        )
        assert first.stop_reason == "tool_use"
        (tool_use,) = first.content
        assert (tool_use.type, tool_use.name, tool_use.input) == (
            "tool_use",
            "get_weather",
            {"city": TOOL_PROMPT},
        )
        messages += [
            {"role": "assistant", "content": [block.to_dict() for block in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": tool_use.id, "content": TOOL_RESULT}
                ],
            },
        ]
        second = client.messages.create(
            model=MODEL, max_tokens=256, tools=[WEATHER_TOOL], messages=messages
        )
        assert second.stop_reason == "end_turn"
        parent.set_attribute("output.value", second.content[0].text)
    llmops.shutdown()

    first_request, second_request = anthropic_stub.requests[-2:]
    assert first_request.response is not None
    assert second_request.response is not None
    first_usage = first_request.response["usage"]
    second_prompt = f"{TOOL_PROMPT} {TOOL_RESULT}"
    assert second.content[0].text == reply_text(second_prompt)
    backend.check_round_trip(
        LlmCall(
            "messages.create",
            TOOL_PROMPT,
            "get_weather",
            first_usage["input_tokens"],
            first_usage["output_tokens"],
        ),
        LlmCall(
            "messages.create",
            TOOL_PROMPT,
            reply_text(second_prompt),
            token_count(second_prompt),
            token_count(reply_text(second_prompt)),
        ),
    )


def test_sdk_spans_kept_when_the_application_asks_for_them(
    backend: Backend, anthropic_stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """llmops sets ``ANTHROPIC_OPEN_TELEMETRY=false`` only when it is unset: an application
    that set it to true keeps the SDK's own span of each call, inside the OpenInference one."""
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "true")
    backend.sdk_spans = True
    with anthropic.Anthropic(base_url=anthropic_stub.base_url, api_key="test") as client:
        client.messages.create(model=MODEL, max_tokens=256, messages=_user(PROMPT))
    llmops.shutdown()

    backend.check_calls([LlmCall.text("messages.create", PROMPT)])
