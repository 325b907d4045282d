"""End to end: llmops + a real LangChain chain + OpenInference -> a real Phoenix and MLflow.

The chain is ``ChatPromptTemplate | ChatOpenAI | StrOutputParser``; ``ChatOpenAI`` (the real
``langchain-openai`` over the real ``openai`` client) talks to the loopback OpenAI stub
(:mod:`llmops.testing.openai_stub`). Each test writes a YAML config with
``instrumentation: {langchain: true, ...}``, calls ``llmops.instrument(platform, ...)``, runs
the chain (``invoke`` and ``stream``), calls ``llmops.shutdown()`` (which flushes) and reads
the spans back from the session's real Phoenix and from a local MLflow store (SQLite in this
module's temporary directory, one experiment per test).

What a useful trace shows, and what is asserted: the chain's root ``CHAIN`` span
(``RunnableSequence``) is the parent of the ``LLM`` span (``ChatOpenAI``) and of the prompt and
parser steps; the LLM span has the model, the token counts and the input and output messages;
the chain span has the chain's input and output.

With the OpenAI instrumentor on as well (``openai: true``), its ``ChatCompletion`` span is not
a child of the LangChain LLM span: openinference-instrumentation-langchain never attaches its
spans to the OpenTelemetry context (by design, ``_tracer.py``), so the provider's span becomes a
trace of its own, with the same tokens again. ``test_with_the_openai_instrumentor_too``
pins that down.
"""

from __future__ import annotations

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
from tests.core_support import REQUIRE_E2E, clear_proxy_environment
from tests.mlflow.support import wait_for_traces

if TYPE_CHECKING:
    from mlflow.entities import Span

    from llmops.testing.openai_stub import OpenAIStub
    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e


def _require(module: str) -> Any:
    """Import ``module``; skip without it (fail with ``LLMOPS_REQUIRE_E2E=1``: the dev extras
    install it)."""
    if REQUIRE_E2E:
        return __import__(module, fromlist=["_"])
    return pytest.importorskip(module)


_require("langchain_core")
_require("langchain_openai")
_require("openinference.instrumentation.langchain")

from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

from llmops.testing.openai_stub import chat_prompt, reply_text, token_count  # noqa: E402

MODEL = "gpt-4o-mini"
SYSTEM = "You are a terse guide."
TEMPLATE = "Tell me about {topic}"
TOPIC = "lighthouses"
STREAM_TOPIC = "harbours at dusk"
CHAIN_SPAN = "RunnableSequence"
LLM_SPAN = "ChatOpenAI"
STEPS = {"ChatPromptTemplate", LLM_SPAN, "StrOutputParser"}
OPENAI_SPAN = "ChatCompletion"


@dataclass(frozen=True)
class ChainRun:
    """What one run of the chain should show: its input, the prompt the model got, the reply
    and the stub's token counts."""

    topic: str

    @property
    def prompt(self) -> str:
        return TEMPLATE.format(topic=self.topic)

    @property
    def reply(self) -> str:
        return reply_text(self.prompt)

    @property
    def usage(self) -> dict[str, int]:
        prompt_tokens, completion_tokens = token_count(self.prompt), token_count(self.reply)
        return {
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }


RUNS = [ChainRun(TOPIC), ChainRun(STREAM_TOPIC)]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openai_stub() -> Iterator[OpenAIStub]:
    from llmops.testing.openai_stub import OpenAIStub

    with OpenAIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite tracking store for the module (its schema is made once)."""
    pytest.importorskip("mlflow")
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def _offline(_isolated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """On top of ``tests/conftest.py``'s isolation: no proxy variable, MLflow offline (and
    ``litellm``, which MLflow imports to price LLM spans, without its price-list download)."""
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _write_config(tmp_path: Path, instrumentation: dict[str, bool], **sections: Any) -> Path:
    path = tmp_path / "llmops.yaml"
    config = {
        "service": {"name": "langchain-e2e"},
        "instrumentation": instrumentation,
        # The session's first MLflow export makes the store (seconds on a loaded machine).
        "tracing": {"shutdown_timeout_s": 30},
    }
    path.write_text(yaml.safe_dump({**config, **sections}, sort_keys=False), encoding="utf-8")
    return path


class Backend:
    """Instrument for one platform, then read back and check what it stored."""

    def instrument(self, tmp_path: Path, instrumentation: dict[str, bool]) -> None:
        raise NotImplementedError

    def check(self, runs: Sequence[ChainRun], *, openai_spans: bool) -> None:
        """One trace per chain run, rooted at the CHAIN span, the LLM span its child; with
        ``openai_spans``, a separate ``ChatCompletion`` trace per run as well."""
        raise NotImplementedError


class PhoenixBackend(Backend):
    def __init__(self, server: PhoenixServer) -> None:
        self.server = server
        self.project = f"llmops-langchain-{uuid.uuid4().hex[:10]}"

    def instrument(self, tmp_path: Path, instrumentation: dict[str, bool]) -> None:
        arize = {"endpoint": self.server.http_endpoint, "project_name": self.project}
        config = _write_config(tmp_path, instrumentation, arize=arize)
        llmops.instrument(Platform.ARIZE, config_path=config)

    def check(self, runs: Sequence[ChainRun], *, openai_spans: bool) -> None:
        per_run = 1 + len(STEPS) + (1 if openai_spans else 0)
        spans = self.server.wait_for_spans(self.project, per_run * len(runs), timeout=30)
        assert len(spans) == per_run * len(runs), [span["name"] for span in spans]
        spans.sort(key=lambda span: span["start_time"])
        roots = [span for span in spans if span["name"] == CHAIN_SPAN]
        assert len(roots) == len(runs)
        for root, run in zip(roots, runs, strict=True):
            trace_id, root_id = root["context"]["trace_id"], root["context"]["span_id"]
            in_trace = [s for s in spans if s["context"]["trace_id"] == trace_id]
            children = {s["name"]: s for s in in_trace if s is not root}
            assert set(children) == STEPS, run.topic
            assert root["parent_id"] is None
            assert root["span_kind"] == "CHAIN"
            assert root["attributes"]["input.value"] == run.topic
            assert root["attributes"]["output.value"] == run.reply
            for child in children.values():
                assert child["parent_id"] == root_id, child["name"]
            assert children["ChatPromptTemplate"]["span_kind"] == "PROMPT"
            assert children["StrOutputParser"]["span_kind"] == "CHAIN"
            self.check_llm_span(children[LLM_SPAN], run, tokens=True)
        openai = [span for span in spans if span["name"] == OPENAI_SPAN]
        if not openai_spans:
            assert openai == []
            return
        chain_traces = {root["context"]["trace_id"] for root in roots}
        assert len(openai) == len(runs)
        for span, run in zip(openai, runs, strict=True):
            # A trace of its own, not under the chain: the tokens count twice in the project.
            assert span["parent_id"] is None
            assert span["context"]["trace_id"] not in chain_traces
            self.check_llm_span(span, run, tokens=True)

    def check_llm_span(self, span: dict[str, Any], run: ChainRun, *, tokens: bool) -> None:
        attributes = span["attributes"]
        assert span["span_kind"] == "LLM", span["name"]
        assert span["status_code"] == "OK", span["name"]
        assert attributes["llm.model_name"] == MODEL
        if tokens:
            assert attributes["llm.token_count.prompt"] == run.usage["input_tokens"]
            assert attributes["llm.token_count.completion"] == run.usage["output_tokens"]
            assert attributes["llm.token_count.total"] == run.usage["total_tokens"]
        assert run.prompt in attributes["input.value"]
        assert run.reply in attributes["output.value"]
        assert attributes["llm.input_messages.0.message.content"] == SYSTEM
        assert attributes["llm.input_messages.1.message.content"] == run.prompt
        assert attributes["llm.output_messages.0.message.content"] == run.reply


class MlflowBackend(Backend):
    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = f"llmops-langchain-{uuid.uuid4().hex[:10]}"

    def instrument(self, tmp_path: Path, instrumentation: dict[str, bool]) -> None:
        mlflow = {"tracking_uri": self.tracking_uri, "experiment_name": self.experiment_name}
        config = _write_config(tmp_path, instrumentation, mlflow=mlflow)
        llmops.instrument(Platform.MLFLOW, config_path=config)

    def check(self, runs: Sequence[ChainRun], *, openai_spans: bool) -> None:
        from mlflow import MlflowClient

        experiment = MlflowClient(self.tracking_uri).get_experiment_by_name(self.experiment_name)
        assert experiment is not None, "llmops did not create the experiment"
        count = len(runs) * (2 if openai_spans else 1)
        traces = wait_for_traces(self.tracking_uri, str(experiment.experiment_id), count)
        assert len(traces) == count, [[s.name for s in t.data.spans] for t in traces]
        chain_traces = [t for t in traces if any(s.name == CHAIN_SPAN for s in t.data.spans)]
        other_traces = [t for t in traces if t not in chain_traces]
        assert len(chain_traces) == len(runs)
        for trace, run in zip(chain_traces, runs, strict=True):
            assert trace.info.state.value == "OK"
            (root,) = [s for s in trace.data.spans if s.parent_id is None]
            children = {s.name: s for s in trace.data.spans if s is not root}
            assert root.name == CHAIN_SPAN
            assert set(children) == STEPS
            assert root.span_type == "CHAIN"
            assert run.topic in json.dumps(root.inputs)
            assert run.reply in json.dumps(root.outputs)
            for child in children.values():
                assert child.parent_id == root.span_id, child.name
            self.check_llm_span(children[LLM_SPAN], run)
            assert _counts(trace.info.token_usage) == run.usage
        if not openai_spans:
            return
        for trace, run in zip(other_traces, runs, strict=True):
            # The OpenAI instrumentor's span, a trace of its own counting the tokens again.
            (span,) = trace.data.spans
            assert span.name == OPENAI_SPAN
            assert span.parent_id is None
            self.check_llm_span(span, run)
            assert _counts(trace.info.token_usage) == run.usage

    def check_llm_span(self, span: Span, run: ChainRun) -> None:
        assert span.span_type == "LLM", span.name
        assert span.status.status_code.value == "OK", span.name
        assert span.attributes["mlflow.llm.model"] == MODEL, span.name
        usage = span.attributes["mlflow.chat.tokenUsage"]
        assert {key: usage[key] for key in run.usage} == run.usage, span.name
        assert span.attributes["llm.model_name"] == MODEL, span.name
        assert run.prompt in json.dumps(span.inputs), span.name
        assert run.reply in json.dumps(span.outputs), span.name


def _counts(usage: dict[str, int] | None) -> dict[str, int]:
    """The input, output and total counts of an MLflow token usage (cache counts left out)."""
    assert usage is not None
    return {key: usage[key] for key in ("input_tokens", "output_tokens", "total_tokens")}


@pytest.fixture(params=["phoenix", "mlflow"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "phoenix":
        return PhoenixBackend(request.getfixturevalue("phoenix_server"))
    return MlflowBackend(request.getfixturevalue("mlflow_store"))


def _run_chain(openai_stub: OpenAIStub) -> None:
    """``invoke`` then ``stream`` (``stream_usage=True``, so the streamed call has tokens)."""
    llm = ChatOpenAI(model=MODEL, base_url=openai_stub.base_url, api_key="test", stream_usage=True)
    prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("user", TEMPLATE)])
    chain = prompt | llm | StrOutputParser()
    first, second = RUNS
    assert chain.invoke({"topic": first.topic}) == first.reply
    assert "".join(chain.stream({"topic": second.topic})) == second.reply
    bodies = [request.body for request in openai_stub.requests[-2:]]
    assert [chat_prompt(body) for body in bodies] == [first.prompt, second.prompt]


# -- tests ---------------------------------------------------------------------------------


def test_chain_span_is_the_parent_of_the_llm_span(
    backend: Backend, tmp_path: Path, openai_stub: OpenAIStub
) -> None:
    """``langchain: true`` alone (``openai: false``, which automatic instrumentation would
    otherwise turn on once ``openai`` is imported): one trace per chain run."""
    backend.instrument(tmp_path, {"langchain": True, "openai": False})
    _run_chain(openai_stub)
    llmops.shutdown()

    backend.check(RUNS, openai_spans=False)


def test_with_the_openai_instrumentor_too(
    backend: Backend, tmp_path: Path, openai_stub: OpenAIStub
) -> None:
    """``langchain`` and ``openai`` both on: the chain's trace as above, plus one
    ``ChatCompletion`` trace per model call, outside the chain."""
    backend.instrument(tmp_path, {"langchain": True, "openai": True})
    _run_chain(openai_stub)
    llmops.shutdown()

    backend.check(RUNS, openai_spans=True)
