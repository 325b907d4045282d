"""The import contract: what ``import llmops`` costs, what it exports, what loads lazily.

The ``sys.modules`` checks run in a fresh interpreter: the pytest process has long since
imported OpenTelemetry, msgspec and friends.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import llmops

FORBIDDEN_PREFIXES = (
    "opentelemetry",  # api and sdk
    "grpc",
    "google",  # google.protobuf, google.genai
    "mlflow",
    "msgspec",
    "yaml",
    "typing_extensions",
)
"""Top-level packages that ``import llmops`` must not import (DESIGN.md, decision 2)."""

PUBLIC_NAMES = frozenset(
    {
        "instrument",
        "shutdown",
        "Platform",
        "register_platform",
        "get_platform",
        "available_platforms",
        "ConfigurationError",
        "UnknownPlatformError",
        "arize",
        "mlflow",
    }
)
"""The public names issue 2 requires in ``llmops.__all__``."""


def run_fresh(code: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document, returned here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOPS_")}
    env["LLMOPS_DISABLE_PLUGINS"] = "1"  # nothing installed may skew the module counts
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _is_forbidden(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in FORBIDDEN_PREFIXES)


def test_import_llmops_imports_no_heavy_module() -> None:
    result = run_fresh(
        """
        import json, sys
        before = set(sys.modules)
        import llmops
        print(json.dumps({"new": sorted(set(sys.modules) - before), "all": sorted(sys.modules)}))
        """
    )
    new = result["new"]
    assert "llmops" in new  # the measurement measured something
    forbidden = sorted(m for m in result["all"] if _is_forbidden(m))
    assert forbidden == [], f"`import llmops` imported {forbidden}"
    platforms = [m for m in new if m.startswith("llmops._platforms")]
    assert platforms == [], f"`import llmops` imported platform code: {platforms}"


def test_listing_platforms_imports_no_platform_or_heavy_module() -> None:
    result = run_fresh(
        """
        import json, sys
        import llmops
        names = llmops.available_platforms()
        print(json.dumps({"names": names, "all": sorted(sys.modules)}))
        """
    )
    assert {"arize", "mlflow"} <= set(result["names"])
    assert [
        m for m in result["all"] if _is_forbidden(m) or m.startswith("llmops._platforms.")
    ] == []


def test_forbidden_prefix_check_is_not_vacuous() -> None:
    # The check above would pass trivially if _is_forbidden never matched.
    assert _is_forbidden("opentelemetry.sdk.trace")
    assert _is_forbidden("google.protobuf")
    assert _is_forbidden("yaml")
    assert not _is_forbidden("googleapis_common")  # a different top-level package
    assert not _is_forbidden("llmops")


def test_all_contains_the_public_names() -> None:
    missing = PUBLIC_NAMES - set(llmops.__all__)
    assert not missing, f"missing from llmops.__all__: {sorted(missing)}"
    assert len(llmops.__all__) == len(set(llmops.__all__)), "duplicates in __all__"
    assert not [n for n in llmops.__all__ if n.startswith("_")]


@pytest.mark.parametrize("name", sorted(llmops.__all__))
def test_every_name_in_all_resolves(name: str) -> None:
    assert getattr(llmops, name) is not None


def test_star_import_provides_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from llmops import *", namespace)
    assert set(llmops.__all__) <= set(namespace)


def test_dir_lists_the_lazy_modules() -> None:
    names = dir(llmops)
    assert "arize" in names
    assert "mlflow" in names
    assert set(names) >= PUBLIC_NAMES


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'instrumnet'"):
        llmops.instrumnet  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(llmops, "_platforms_nope")


def test_platform_modules_load_lazily() -> None:
    result = run_fresh(
        """
        import json, sys
        import llmops
        out = {"after_import": [m for m in ("llmops.arize", "llmops.mlflow") if m in sys.modules]}
        arize = llmops.arize
        out["after_arize"] = [m for m in ("llmops.arize", "llmops.mlflow") if m in sys.modules]
        out["same"] = arize is sys.modules["llmops.arize"] and llmops.arize is arize
        mlflow = llmops.mlflow
        out["after_mlflow"] = [m for m in ("llmops.arize", "llmops.mlflow") if m in sys.modules]
        out["mlflow_is_ours"] = mlflow.__name__
        print(json.dumps(out))
        """
    )
    assert result == {
        "after_import": [],
        "after_arize": ["llmops.arize"],
        "same": True,
        "after_mlflow": ["llmops.arize", "llmops.mlflow"],
        "mlflow_is_ours": "llmops.mlflow",  # not the third-party `mlflow` package
    }


def test_from_import_of_lazy_module_works() -> None:
    result = run_fresh(
        """
        import json
        from llmops import arize, mlflow
        print(json.dumps([arize.__name__, mlflow.__name__]))
        """
    )
    assert result == ["llmops.arize", "llmops.mlflow"]


@pytest.mark.parametrize("module_name", ["arize", "mlflow"])
def test_platform_module_instrument_takes_only_keyword_config_path(module_name: str) -> None:
    module = getattr(llmops, module_name)
    assert module.__all__ == ["instrument"]
    params = list(inspect.signature(module.instrument).parameters.values())
    assert [(p.name, p.kind, p.default) for p in params] == [
        ("config_path", inspect.Parameter.KEYWORD_ONLY, None)
    ]
    with pytest.raises(TypeError):
        module.instrument("llmops.yaml")  # positional is refused


def test_top_level_instrument_signature() -> None:
    params = inspect.signature(llmops.instrument).parameters
    assert list(params) == ["platform", "config_path"]
    assert params["platform"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert params["platform"].default is None
    assert params["config_path"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["config_path"].default is None


def test_exception_hierarchy() -> None:
    assert issubclass(llmops.ConfigurationError, ValueError)
    assert issubclass(llmops.UnknownPlatformError, LookupError)
    assert not issubclass(llmops.UnknownPlatformError, ValueError)
    with pytest.raises(LookupError):
        llmops.get_platform("no_such_platform_here")


def test_platform_is_a_str_enum() -> None:
    import enum

    assert issubclass(llmops.Platform, enum.StrEnum)
    assert llmops.Platform.ARIZE == "arize"
    assert llmops.Platform.MLFLOW == "mlflow"
    assert str(llmops.Platform.ARIZE) == "arize"
    assert llmops.Platform("mlflow") is llmops.Platform.MLFLOW
