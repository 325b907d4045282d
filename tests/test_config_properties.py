"""Property tests for the config loader.

* A generated valid document, written as YAML and as TOML, loads to equal ``Settings`` and an
  equal ``arize`` section, both equal to what was generated.
* Generated junk (nested YAML-able data, arbitrary text and bytes) written to ``.yaml`` and
  ``.toml`` files either loads or raises ``ConfigurationError``: never anything else.

Example counts (measured with ``--hypothesis-show-statistics``): 150 examples per property, each
property under 3 s here.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops import ConfigurationError
from llmops._config import LoadedConfig, Settings, load_config
from llmops._instrumentors import CATALOGUE
from llmops._plan import make_plan
from llmops._platforms.arize import ArizeConfig

KNOWN = ["arize", "mlflow"]
EXAMPLES = 150
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- valid documents ------------------------------------------------------------------------

# Printable text without "$" (interpolation) and without control characters; quotes,
# backslashes, "#", ":" and non-ASCII letters exercise both emitters' escaping.
SAFE_CHARS = st.sampled_from(
    [*"abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 -_.:/@#!%&*()+=,;?'\"\\[]{}", "é", "日", "ß"]
)
text = st.text(SAFE_CHARS, max_size=20)
key = st.text(
    st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789-_.")), min_size=1, max_size=12
)
seconds = st.floats(min_value=0.001, max_value=3600, allow_nan=False) | st.integers(1, 3600)


def optional_dict(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


service = optional_dict(
    name=text,
    version=text,
    environment=text,
    attributes=st.dictionaries(key, text, max_size=4),
)
tracing = optional_dict(
    batch=st.booleans(),
    sample_ratio=st.floats(min_value=0, max_value=1) | st.sampled_from([0, 1]),
    shutdown_timeout_s=seconds,
    export_timeout_s=seconds,
    schedule_delay_ms=st.integers(1, 3_600_000),
    max_queue_size=st.integers(1, 10_000_000),
    max_export_batch_size=st.integers(1, 1_000_000),
    compression=st.sampled_from(["none", "gzip"]),
    set_global=st.booleans(),
)
instrumentation = st.dictionaries(st.sampled_from([*sorted(CATALOGUE), "strict"]), st.booleans())
arize = optional_dict(
    endpoint=st.builds(lambda port: f"http://127.0.0.1:{port}", st.integers(1, 65535)) | text,
    protocol=st.sampled_from(["grpc", "http"]),
    project_name=text,
    api_key=text,
    headers=st.dictionaries(key, text, max_size=3),
    space_id=text,
    allow_insecure=st.booleans(),
)
mlflow = optional_dict(tracking_uri=text, experiment_name=text)
documents = optional_dict(
    platform=st.sampled_from(KNOWN),
    service=service,
    tracing=tracing,
    instrumentation=instrumentation,
    arize=arize,
    mlflow=mlflow,
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        assert math.isfinite(value)
        return repr(value)  # "0.1", "1e-05", "1.0": all valid TOML floats
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string for this alphabet
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(value)


def to_toml(document: dict[str, Any]) -> str:
    """A TOML emitter for this shape: top-level scalars, then one table per section."""
    lines = [f"{k} = {toml_value(v)}" for k, v in document.items() if not isinstance(v, dict)]
    for name, section in document.items():
        if isinstance(section, dict):
            lines.append(f"[{name}]")
            lines.extend(f"{json.dumps(k)} = {toml_value(v)}" for k, v in section.items())
    return "\n".join(lines) + "\n"


def load_both(document: dict[str, Any], directory: Path) -> tuple[LoadedConfig, LoadedConfig]:
    yaml_path = directory / "llmops.yaml"
    toml_path = directory / "llmops.toml"
    yaml_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    toml_path.write_text(to_toml(document), encoding="utf-8")
    return (
        load_config(yaml_path),
        load_config(toml_path),
    )


@PROPERTY
@given(document=documents)
def test_yaml_and_toml_load_to_equal_structs(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        from_yaml, from_toml = load_both(document, Path(directory))
    assert from_yaml.settings == from_toml.settings
    yaml_arize = from_yaml.section("arize", ArizeConfig)
    assert yaml_arize == from_toml.section("arize", ArizeConfig)
    # ... and both equal what was generated.
    common = {k: v for k, v in document.items() if k not in KNOWN}
    assert from_yaml.settings == msgspec.convert(common, Settings)
    assert yaml_arize == msgspec.convert(document.get("arize", {}), ArizeConfig)
    assert from_yaml.sections.get("mlflow") == from_toml.sections.get("mlflow")


# -- junk ---------------------------------------------------------------------------------------

# Keys that reach deep into validation, mixed with arbitrary ones.
REAL_KEYS = [
    "platform", "service", "tracing", "instrumentation", "arize", "mlflow", "name", "version",
    "environment", "attributes", "batch", "sample_ratio", "shutdown_timeout_s", "max_queue_size",
    "compression", "google_genai", "strict", "endpoint", "protocol", "api_key", "headers",
    "space_id", "allow_insecure",
]  # fmt: skip
junk_keys = st.sampled_from(REAL_KEYS) | st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["${HOME}", "${LLMOPS_UNSET_VAR}", "${X:-1.5}", "$$", "${", "true", "0.5"])
)
junk_data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(junk_keys, inner, max_size=4),
    max_leaves=20,
)
# Sections of the right shape holding wrong keys and values: these reach the Struct
# validation, the did-you-mean and the instrumentor catalogue check, not just the parser.
junk_sections = st.fixed_dictionaries(
    {},
    optional={
        name: st.dictionaries(junk_keys, junk_data, max_size=4)
        for name in ("service", "tracing", "arize", "mlflow")
    }
    | {"instrumentation": st.dictionaries(junk_keys, st.booleans() | junk_data, max_size=4)},
)
junk_documents = junk_sections | st.dictionaries(junk_keys, junk_data, max_size=5) | junk_data


def load_only_config_errors(path: Path) -> None:
    """Resolving a plan (loading, every section, the instrumentation keys) either succeeds or
    raises ConfigurationError."""
    error: ConfigurationError | None = None
    try:
        make_plan("arize", path)
    except ConfigurationError as exc:
        error = exc
    if error is not None:  # every error names the file
        assert error.path == str(path)
        assert str(error).startswith(str(path))


def write_and_load(name: str, content: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        load_only_config_errors(path)


@PROPERTY
@given(document=junk_documents)
def test_junk_yaml_documents_raise_only_configuration_error(document: Any) -> None:
    write_and_load("junk.yaml", yaml.safe_dump(document, allow_unicode=True))


@PROPERTY
@given(document=junk_sections | st.dictionaries(junk_keys, junk_data, max_size=5))
def test_junk_toml_documents_raise_only_configuration_error(document: dict[str, Any]) -> None:
    try:
        content = to_junk_toml(document)
    except (TypeError, ValueError):
        content = json.dumps(document, default=str)  # not valid TOML: also fine to feed
    write_and_load("junk.toml", content)


def to_junk_toml(document: dict[str, Any]) -> str:
    """TOML for arbitrary data (arrays of anything, inline tables), or TypeError/ValueError."""

    def value(v: Any) -> str:
        if v is None:
            raise TypeError("TOML has no null")
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"

    return "\n".join(f"{json.dumps(k)} = {value(v)}" for k, v in document.items()) + "\n"


@PROPERTY
@given(
    content=st.text(max_size=200)
    | st.text(st.sampled_from(list("{}[]:-, \n\t&*!|>'\"#%@`a1$")), max_size=60)
)
@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_junk_text_raises_only_configuration_error(suffix: str, content: str) -> None:
    write_and_load(f"junk{suffix}", content)


@PROPERTY
@given(content=st.binary(max_size=200))
@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_junk_bytes_raise_only_configuration_error(suffix: str, content: bytes) -> None:
    write_and_load(f"junk{suffix}", content)
