# pyright: strict, reportUnnecessaryTypeIgnoreComment=true
"""What the public API must reject: checked by ``mypy --strict`` (which implies
``--warn-unused-ignores``), so each ``# type: ignore[code]`` below fails the check the day
mypy stops reporting that error. ``tests/test_typing.py`` also checks this file with the
ignores stripped and expects exactly these errors.

Never run and never collected by pytest.
"""

from __future__ import annotations

import llmops
from llmops import Platform


def misspelled_member() -> None:
    member = Platform.ARIZ  # type: ignore[attr-defined]
    del member


def not_a_platform() -> None:
    llmops.instrument(42)  # type: ignore[arg-type]


def not_a_list_of_platforms() -> None:
    llmops.instrument([Platform.ARIZE, 42])  # type: ignore[list-item]


def enrich_keywords_only() -> None:
    llmops.enrich("session")  # type: ignore[call-arg]


def config_path_of_the_wrong_type() -> None:
    llmops.instrument(Platform.ARIZE, config_path=42)  # type: ignore[arg-type]


def config_path_is_keyword_only() -> None:
    llmops.arize.instrument("llmops.yaml")  # type: ignore[call-arg]


def no_platform_argument_on_platform_modules() -> None:
    llmops.mlflow.instrument(Platform.MLFLOW)  # type: ignore[call-arg]


def misspelled_function() -> None:
    llmops.instrumnet(Platform.ARIZE)  # type: ignore[attr-defined]


def decorating_a_non_class() -> None:
    llmops.register_platform("acme")(42)  # type: ignore[type-var]


def name_must_be_a_string() -> None:
    llmops.get_platform(42)  # type: ignore[arg-type]
