"""llmops quickstart: trace two Gemini calls into MLflow's local store and print what it recorded.

    pip install 'llmops[mlflow,google-genai]'
    python examples/quickstart.py

No server and no API key are needed. With ``GEMINI_API_KEY`` set the calls go to the real
Gemini API; without it the script starts ``llmops.testing.GeminiStub``, a loopback stub of the
Gemini REST API, and says so. Traces land in ``./mlflow.db`` (see ``quickstart.yaml``); view
them with ``mlflow ui`` (the full ``mlflow`` package) run in the same folder.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml
from google import genai
from google.genai import types

import llmops
from llmops import Platform

CONFIG = Path(__file__).with_name("quickstart.yaml")
MODEL = os.environ.get("GEMINI_MODEL", "gemini-2.5-flash")


def main() -> None:
    started_ms = int(time.time() * 1000)
    llmops.instrument(Platform.MLFLOW, config_path=CONFIG)

    with ExitStack() as stack:
        api_key = os.environ.get("GEMINI_API_KEY")
        if api_key:
            print(f"Calling the real Gemini API ({MODEL}).")
            client = genai.Client(api_key=api_key)
        else:
            from llmops.testing import GeminiStub

            stub = stack.enter_context(GeminiStub())
            print(f"GEMINI_API_KEY is not set: using the loopback Gemini stub at {stub.base_url}")
            print("(it answers 'Echo: <prompt>'; set GEMINI_API_KEY to call the real API).")
            options = types.HttpOptions(base_url=stub.base_url)
            client = genai.Client(api_key="stub", http_options=options)

        reply = client.models.generate_content(model=MODEL, contents="Say hello in five words.")
        print(f"\nplain call  -> {reply.text!r}")
        chunks = client.models.generate_content_stream(
            model=MODEL, contents="Count from one to five, in words."
        )
        print(f"stream call -> {''.join(chunk.text or '' for chunk in chunks)!r}")

    llmops.shutdown()  # flushes: the traces are in the store when it returns
    show_traces(started_ms)


def show_traces(since_ms: int) -> None:
    """Read this run's traces back from the store, the way any MLflow user would."""
    import mlflow

    settings = yaml.safe_load(CONFIG.read_text())["mlflow"]
    mlflow.set_tracking_uri(settings["tracking_uri"])
    experiment = mlflow.get_experiment_by_name(settings["experiment_name"])
    if experiment is None:
        raise SystemExit(f"no experiment {settings['experiment_name']!r}: were traces stored?")
    traces = mlflow.search_traces(
        locations=[experiment.experiment_id],
        filter_string=f"trace.timestamp_ms >= {since_ms}",
        order_by=["timestamp_ms ASC"],
        return_type="list",
    )
    print(
        f"\nMLflow recorded {len(traces)} trace(s) in experiment {experiment.name!r} "
        f"({settings['tracking_uri']}):"
    )
    for trace in traces:
        info = trace.info
        print(f"\ntrace {info.trace_id}  {info.state.value}  {info.execution_duration} ms")
        children: dict[str | None, list[Any]] = {}
        for span in trace.data.spans:
            children.setdefault(span.parent_id, []).append(span)
        _print_tree(children, None, "")
    print(
        "\nSee them in the MLflow UI (the full mlflow package): "
        "pip install 'llmops[mlflow-ui]' && mlflow ui --backend-store-uri sqlite:///mlflow.db"
    )


def _print_tree(children: dict[str | None, list[Any]], parent: str | None, indent: str) -> None:
    spans = sorted(children.get(parent, []), key=lambda s: s.start_time_ns)
    for index, span in enumerate(spans):
        last = index == len(spans) - 1
        usage = span.get_attribute("mlflow.chat.tokenUsage") or {}
        model = span.get_attribute("mlflow.llm.model")
        latency_ms = (span.end_time_ns - span.start_time_ns) / 1e6
        details = [f"[{span.span_type}]"]
        if model:
            details.append(f"model={model}")
        if usage:
            details.append(
                f"tokens in={usage.get('input_tokens')} out={usage.get('output_tokens')} "
                f"total={usage.get('total_tokens')}"
            )
        details.append(f"{latency_ms:.1f} ms")
        print(f"{indent}{'└─' if last else '├─'} {span.name}  {'  '.join(details)}")
        _print_tree(children, span.span_id, indent + ("   " if last else "│  "))


if __name__ == "__main__":
    main()
