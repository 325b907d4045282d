# pyright: strict, reportUnnecessaryTypeIgnoreComment=true
"""What the public API must accept, and the types it must infer: checked by ``mypy --strict``.

Never run and never collected by pytest (``tests/test_typing.py`` type-checks this directory).
Everything sits inside functions, so even importing this module would instrument nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, assert_type

import msgspec
from opentelemetry.sdk.trace import TracerProvider

import llmops
from llmops import Platform


def instrument_call_styles() -> None:
    assert_type(llmops.instrument(Platform.ARIZE, config_path="x"), TracerProvider)
    assert_type(llmops.instrument(platform="arize", config_path=Path("x")), TracerProvider)
    assert_type(llmops.instrument(Platform.MLFLOW), TracerProvider)
    assert_type(llmops.instrument(), TracerProvider)
    assert_type(llmops.instrument("acme", config_path=None), TracerProvider)
    # Fan-out: a list or tuple of members and names.
    assert_type(llmops.instrument([Platform.ARIZE, Platform.MLFLOW]), TracerProvider)
    assert_type(llmops.instrument(("arize", Platform.MLFLOW), config_path="x"), TracerProvider)
    names: list[str] = ["arize", "acme"]
    assert_type(llmops.instrument(names), TracerProvider)
    assert_type(llmops.arize.instrument(config_path="x"), TracerProvider)
    assert_type(llmops.arize.instrument(), TracerProvider)
    assert_type(llmops.mlflow.instrument(config_path=Path("x")), TracerProvider)
    llmops.shutdown()


def enum_facade(member: Platform) -> None:
    # `member` is a parameter: an assignment would narrow it to a Literal in pyright.
    as_text: str = Platform.MLFLOW  # a StrEnum member is a str
    assert_type(Platform("arize"), Platform)
    assert_type(Platform.ARIZE, Literal[Platform.ARIZE])
    value: str = member.value  # mypy infers str, pyright the Literal union of the values
    assert_type(str(member), str)
    for each in Platform:
        assert_type(each, Platform)
    del as_text, value


def enrichment() -> None:
    with llmops.enrich(session_id="s", user_id="u", metadata={"plan": "pro"}, tags=["beta"]):
        pass

    @llmops.enrich(tags=["answer"])
    def answer(question: str) -> int:
        return len(question)

    assert_type(answer("why"), int)  # the decorator keeps the signature


def registry_api() -> None:
    class AcmeConfig(msgspec.Struct, forbid_unknown_fields=True):
        endpoint: str = "http://127.0.0.1:4318/v1/traces"

    @llmops.register_platform("acme")
    class Acme:
        config_type = AcmeConfig

        def setup(self, config: AcmeConfig, settings: llmops.Settings) -> llmops.PlatformSetup:
            return llmops.PlatformSetup(description=config.endpoint)

    assert_type(Acme, type[Acme])  # the decorator returns the class unchanged
    assert_type(llmops.register_platform("acme", replace=True)(Acme), type[Acme])

    # The class written as the docs show is statically a PlatformPlugin.
    plugin: llmops.PlatformPlugin = Acme()
    assert_type(llmops.get_platform("acme"), type[llmops.PlatformPlugin])
    assert_type(llmops.get_platform(Platform.ARIZE), type[llmops.PlatformPlugin])
    assert_type(llmops.available_platforms(), list[str])
    del plugin


def errors() -> None:
    try:
        llmops.instrument(Platform.ARIZE)
    except llmops.ConfigurationError as exc:
        assert_type(exc.field, str | None)
        assert_type(exc.path, str | None)
        value_error: ValueError = exc
        del value_error
    except llmops.UnknownPlatformError as exc:
        assert_type(exc.suggestion, str | None)
        assert_type(exc.available, list[str])
        lookup_error: LookupError = exc
        del lookup_error
