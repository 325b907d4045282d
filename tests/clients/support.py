"""What the client end-to-end tests share: scenarios, configs, and reading traces back.

A :class:`Scenario` is one kind of call made with a real client library (a chat completion, a
stream, a tool-call round trip, ...) and the LLM spans it must leave: :class:`Expected`. The
test modules run each scenario once per backend with ``llmops.instrument(...)`` and check

* in Phoenix (``GET /v1/projects/{name}/spans``): ``span_kind`` LLM, ``llm.model_name``, the
  three ``llm.token_count.*``, the prompt in ``input.value`` and the first input message, the
  reply in ``output.value`` and the first output message, and the parent-child structure;
* in MLflow (``mlflow.search_traces`` on a SQLite store): ``span_type`` LLM,
  ``mlflow.llm.model``, ``mlflow.chat.tokenUsage`` and the trace's ``token_usage``, the prompt
  in ``inputs``, the reply in ``outputs``, and the structure.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from opentelemetry.trace import Tracer

import llmops
from llmops import Platform

if TYPE_CHECKING:
    from mlflow.entities import Trace

    from llmops.testing.openai_stub import OpenAIStub
    from tests.servers.phoenix import PhoenixServer

PARENT = "tool-round-trip"
"""The name of the span the tool-call scenarios open around their two requests."""


@dataclass(frozen=True)
class Expected:
    """One LLM span a scenario must leave, in the order the calls were made."""

    name: str
    model: str
    prompt: str
    """Text that must be in the span's input (``input.value``, the input messages)."""
    output: str
    """Text that must be in the span's output: the reply, or a tool call's arguments."""
    prompt_tokens: int
    completion_tokens: int
    tool_call: str | None = None
    """The function a tool-call reply calls (in ``llm.output_messages``)."""
    input_message: tuple[int, str] | None = (0, "user")
    """Index and role of the input message holding ``prompt``; ``None`` to skip that check."""
    output_message_key: str = "message.content"
    """Where the reply is under ``llm.output_messages.0.`` (the Responses API nests it)."""
    tool_schema: str | None = None
    """A function whose schema must be in ``llm.tools.0.tool.json_schema``."""
    output_role: str = "assistant"
    """The reply's role (Gemini's is ``model``)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Scenario:
    """Calls made with a real client, the LLM spans they leave, and whether a parent span
    (:data:`PARENT`) made by the test holds them."""

    run: Callable[[OpenAIStub, Tracer], None]
    expected: list[Expected]
    parent: bool = False


def unique(label: str) -> str:
    """A Phoenix project / MLflow experiment name no other test uses."""
    return f"llmops-clients-{label}-{uuid.uuid4().hex[:8]}"


def write_config(
    tmp_path: Path, instrumentation: str | Mapping[str, bool], **sections: Any
) -> Path:
    """``llmops.yaml`` with ``instrumentation: {<key>: true, strict: true}`` (or the given
    entries, plus ``strict``) and ``sections``: strict, so a missing or broken instrumentor
    fails the test instead of warning."""
    entries = {instrumentation: True} if isinstance(instrumentation, str) else instrumentation
    config = {
        "service": {"name": "clients-e2e"},
        # A generous cap: MLflow's first LLM span in a process imports litellm (its price list)
        # in the export thread, which takes seconds; shutdown() then waits for it.
        "tracing": {"shutdown_timeout_s": 30},
        "instrumentation": {**entries, "strict": True},
        **sections,
    }
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_scenario(
    scenario: Scenario, stub: OpenAIStub, platform: Platform, config_path: Path
) -> None:
    """Instrument, run the scenario's calls, shut down (which flushes)."""
    provider = llmops.instrument(platform, config_path=config_path)
    try:
        scenario.run(stub, provider.get_tracer("tests.clients"))
    finally:
        llmops.shutdown()


# -- Phoenix --------------------------------------------------------------------------------


def _phoenix_attribute(attributes: Mapping[str, Any], key: str) -> Any:
    """``key`` (dotted) from Phoenix's span attributes, flat or nested, or ``None``."""
    if key in attributes:
        return attributes[key]
    value: Any = attributes
    for part in key.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def check_phoenix(phoenix: PhoenixServer, project: str, scenario: Scenario) -> list[dict[str, Any]]:
    """Wait for the scenario's spans in ``project`` and check each; return them."""
    wanted = len(scenario.expected) + (1 if scenario.parent else 0)
    spans = phoenix.wait_for_spans(project, wanted, timeout=30)
    assert len(spans) == wanted, [s["name"] for s in spans]
    llm_spans = sorted(
        (s for s in spans if s["span_kind"] == "LLM"), key=lambda s: str(s["start_time"])
    )
    assert len(llm_spans) == len(scenario.expected), [(s["name"], s["span_kind"]) for s in spans]
    for span, expected in zip(llm_spans, scenario.expected, strict=True):
        _check_phoenix_span(span, expected)
    if scenario.parent:
        (parent,) = [s for s in spans if s["name"] == PARENT]
        assert parent["parent_id"] is None
        for span in llm_spans:
            assert span["parent_id"] == parent["context"]["span_id"], span["name"]
            assert span["context"]["trace_id"] == parent["context"]["trace_id"]
    else:
        assert all(span["parent_id"] is None for span in llm_spans)
        assert len({span["context"]["trace_id"] for span in llm_spans}) == len(llm_spans)
    return spans


def _check_phoenix_span(span: dict[str, Any], expected: Expected) -> None:
    name = expected.name
    attributes = span["attributes"]

    def attribute(key: str) -> Any:
        return _phoenix_attribute(attributes, key)

    assert span["name"] == name
    assert span["span_kind"] == "LLM", name
    assert span["status_code"] in {"OK", "UNSET"}, (name, span["status_message"])
    assert attribute("llm.model_name") == expected.model, name
    assert attribute("llm.token_count.prompt") == expected.prompt_tokens, name
    assert attribute("llm.token_count.completion") == expected.completion_tokens, name
    assert attribute("llm.token_count.total") == expected.total_tokens, name
    assert expected.prompt in attribute("input.value"), name
    assert _unescaped(expected.output) in _unescaped(attribute("output.value")), name
    if expected.input_message is not None:
        index, role = expected.input_message
        prefix = f"llm.input_messages.{index}.message"
        assert attribute(f"{prefix}.role") == role, name
        assert attribute(f"{prefix}.content") == expected.prompt, name
    assert attribute("llm.output_messages.0.message.role") == expected.output_role, name
    if expected.tool_call is None:
        key = f"llm.output_messages.0.{expected.output_message_key}"
        assert attribute(key) == expected.output, (name, key)
    else:
        call = "llm.output_messages.0.message.tool_calls.0.tool_call"
        assert attribute(f"{call}.function.name") == expected.tool_call, name
        assert json.loads(attribute(f"{call}.function.arguments")) == json.loads(expected.output)
    if expected.tool_schema is not None:
        schema = json.loads(attribute("llm.tools.0.tool.json_schema"))
        assert schema["function"]["name"] == expected.tool_schema, name


# -- MLflow ---------------------------------------------------------------------------------


def mlflow_traces(tracking_uri: str, experiment_name: str, count: int) -> list[Trace]:
    """The traces of ``experiment_name``, oldest first, once ``count`` are there (30 s)."""
    import mlflow
    from mlflow import MlflowClient

    deadline = time.monotonic() + 30
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        while True:
            experiment = MlflowClient(tracking_uri).get_experiment_by_name(experiment_name)
            traces: list[Trace] = []
            if experiment is not None:
                traces = mlflow.search_traces(
                    locations=[str(experiment.experiment_id)], return_type="list"
                )
            if len(traces) >= count:
                return sorted(traces, key=lambda t: t.info.request_time)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"experiment {experiment_name!r} had {len(traces)} trace(s), not {count}"
                )
            time.sleep(0.2)
    finally:
        mlflow.set_tracking_uri(previous)


_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def _three(usage: Mapping[str, int] | None) -> dict[str, int]:
    """The three counts of an MLflow token usage (it adds ``cache_read_input_tokens`` when
    the span has ``llm.token_count.prompt_details.cache_read``)."""
    assert usage is not None
    return {key: usage[key] for key in _USAGE_KEYS if key in usage}


def _usage(expected: Expected) -> dict[str, int]:
    return {
        "input_tokens": expected.prompt_tokens,
        "output_tokens": expected.completion_tokens,
        "total_tokens": expected.total_tokens,
    }


def check_mlflow(tracking_uri: str, experiment_name: str, scenario: Scenario) -> list[Trace]:
    """Wait for the scenario's traces and check each LLM span and the trace structure."""
    count = 1 if scenario.parent else len(scenario.expected)
    traces = mlflow_traces(tracking_uri, experiment_name, count)
    assert len(traces) == count
    for trace in traces:
        assert trace.info.state.value == "OK"
    if scenario.parent:
        (trace,) = traces
        spans = trace.data.spans
        (root,) = [s for s in spans if s.parent_id is None]
        assert root.name == PARENT
        llm_spans = sorted((s for s in spans if s is not root), key=lambda s: s.start_time_ns)
        assert [s.parent_id for s in llm_spans] == [root.span_id] * len(scenario.expected)
        totals = [_usage(e) for e in scenario.expected]
        assert _three(trace.info.token_usage) == {
            key: sum(usage[key] for usage in totals) for key in totals[0]
        }
    else:
        llm_spans = []
        for trace, expected in zip(traces, scenario.expected, strict=True):
            (span,) = trace.data.spans
            assert span.parent_id is None
            assert _three(trace.info.token_usage) == _usage(expected)
            llm_spans.append(span)
    assert len(llm_spans) == len(scenario.expected)
    for span, expected in zip(llm_spans, scenario.expected, strict=True):
        name = expected.name
        assert span.name == name
        assert span.span_type == "LLM", name
        assert span.attributes["mlflow.llm.model"] == expected.model, name
        assert _three(span.attributes["mlflow.chat.tokenUsage"]) == _usage(expected), name
        assert expected.prompt in json.dumps(span.inputs), name
        assert _unescaped(expected.output) in _unescaped(json.dumps(span.outputs)), name
        assert span.end_time_ns is not None
        assert span.end_time_ns > span.start_time_ns
    return traces


def _unescaped(text: str) -> str:
    """Tool-call arguments are JSON inside JSON: compare them without the escapes."""
    return text.replace("\\", "").replace('"', "")
