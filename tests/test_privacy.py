"""OpenInference privacy controls in the config (``tracing.hide_inputs``, ...), end to end.

The real google-genai client calls the loopback Gemini stub, the real OpenInference
instrumentor records the span, llmops exports it to the session's real Phoenix, and the spans
read back from Phoenix are checked: with ``hide_inputs`` the prompt never reaches the backend,
with ``hide_outputs`` the answer does not, and without either both are there (the control).
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

import llmops
from llmops import ConfigurationError, Platform
from llmops._config import PRIVACY_FIELDS, TracingConfig

if TYPE_CHECKING:
    from llmops.testing.gemini_stub import GeminiStub
    from tests.servers.phoenix import PhoenixServer

MODEL = "gemini-2.0-flash"


def test_every_privacy_setting_is_an_openinference_trace_config_field() -> None:
    from openinference.instrumentation import TraceConfig

    fields = {f.name for f in dataclasses.fields(TraceConfig)}
    assert set(PRIVACY_FIELDS) <= fields
    assert TracingConfig().trace_config() == {}
    assert TracingConfig(hide_inputs=True, base64_image_max_length=100).trace_config() == {
        "hide_inputs": True,
        "base64_image_max_length": 100,
    }


@pytest.mark.parametrize(
    ("tracing", "field"),
    [
        ({"hide_inputs": "sometimes"}, "$.tracing.hide_inputs"),
        ({"base64_image_max_length": -1}, "$.tracing.base64_image_max_length"),
        ({"hide_input": True}, "$.tracing.hide_input"),
    ],
)
def test_bad_privacy_values_are_configuration_errors(
    tmp_path: Path, tracing: dict[str, Any], field: str
) -> None:
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump({"tracing": tracing}), encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    assert info.value.field == field


def _call(gemini_stub: GeminiStub, prompt: str) -> str:
    from google import genai
    from google.genai import types

    client = genai.Client(
        api_key="x", http_options=types.HttpOptions(base_url=gemini_stub.base_url)
    )
    try:
        return client.models.generate_content(model=MODEL, contents=prompt).text or ""
    finally:
        client.close()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "tracing",
    [
        pytest.param({}, id="control"),
        pytest.param({"hide_inputs": True}, id="hide_inputs"),
        pytest.param({"hide_inputs": True, "hide_outputs": True}, id="hide_both"),
        pytest.param({"hide_outputs": True}, id="hide_outputs"),
        pytest.param({"hide_input_messages": True, "hide_output_messages": True}, id="messages"),
    ],
)
def test_hidden_content_never_reaches_phoenix(
    tmp_path: Path,
    tracing: dict[str, Any],
    gemini_stub: GeminiStub,
    phoenix_server: PhoenixServer,
) -> None:
    from llmops.testing.gemini_stub import reply_text

    marker = uuid.uuid4().hex
    prompt = f"What colour is the private sky {marker}"
    project = f"llmops-privacy-{marker[:10]}"
    path = tmp_path / "llmops.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "tracing": tracing,
                "instrumentation": {"google_genai": True, "strict": True},
                "arize": {"endpoint": phoenix_server.http_endpoint, "project_name": project},
            }
        ),
        encoding="utf-8",
    )
    llmops.instrument(Platform.ARIZE, config_path=path)
    answer = _call(gemini_stub, prompt)
    assert answer == reply_text(prompt)
    llmops.shutdown()
    [span] = phoenix_server.wait_for_spans(project, 1, timeout=30)
    assert span["name"] == "GenerateContent"
    attributes = span["attributes"]
    stored = repr(span)
    model_seen = attributes.get("llm.model_name") == MODEL
    assert model_seen  # the span itself is recorded either way
    # The stub echoes the prompt ("Echo: <prompt>"): the answer contains the marker too.
    inputs = repr(
        {k: v for k, v in _flat_items(attributes) if not k.startswith(("output.", "llm.output"))}
    )
    outputs = repr(
        {k: v for k, v in _flat_items(attributes) if k.startswith(("output.", "llm.output"))}
    )
    if tracing.get("hide_inputs") and tracing.get("hide_outputs"):
        assert marker not in stored  # the prompt is nowhere in what Phoenix stored
    elif tracing.get("hide_inputs"):
        assert marker not in inputs
        assert answer in outputs
    elif tracing.get("hide_outputs"):
        assert "Echo:" not in stored
        assert marker not in outputs
        assert prompt in inputs
    elif tracing.get("hide_input_messages"):
        assert not any(k.startswith("llm.input_messages") for k in _flat(attributes))
        assert not any(k.startswith("llm.output_messages") for k in _flat(attributes))
    else:
        assert prompt in stored
        assert answer in stored
        assert any(k.startswith("llm.input_messages") for k in _flat(attributes))


def _flat_items(attributes: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, leaf value) pairs of Phoenix's nested attribute dict."""
    items: list[tuple[str, Any]] = []
    for key, value in attributes.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(_flat_items(value, f"{dotted}."))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for item in value:
                if isinstance(item, dict):
                    items.extend(_flat_items(item, f"{dotted}."))
        else:
            items.append((dotted, value))
    return items


def _flat(attributes: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys of Phoenix's nested attribute dict."""
    keys: list[str] = []
    for key, value in attributes.items():
        dotted = f"{prefix}{key}"
        keys.append(dotted)
        if isinstance(value, dict):
            keys.extend(_flat(value, f"{dotted}."))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    keys.extend(_flat(item, f"{dotted}."))
    return keys
