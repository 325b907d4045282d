"""Bad input is rejected cleanly: the only exception that escapes ``instrument()`` for a bad
config is ``ConfigurationError``, saying what, where (file, line when known, field path) and
how to fix it.

Extends ``test_config_properties.py`` (junk documents, text and bytes) with generated deep
nesting, huge files, wrong encodings, YAML tags that try to build Python objects, invalid
endpoints, timeouts, queue sizes and sample ratios, and with paths that are not readable
files (a directory, a FIFO, a path under a regular file, a file that cannot be opened). Every
property counts the cases it ran and records the count (``docs/reliability.md``).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmops
from llmops import ConfigurationError, Platform
from llmops._config import MAX_CONFIG_BYTES
from tests.reliability_support import record

EXAMPLES = 120
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Outcome:
    """Counts of what generated cases did."""

    def __init__(self) -> None:
        self.cases = 0
        self.loaded = 0
        self.rejected = 0

    def check(self, path: Path, platform: str = "arize") -> ConfigurationError | None:
        """Instrument with ``path``: it works, or raises ConfigurationError naming the file."""
        self.cases += 1
        try:
            llmops.instrument(platform, config_path=path)
        except ConfigurationError as exc:
            error: ConfigurationError | None = exc
        else:
            error = None
        finally:
            llmops.shutdown()
        if error is None:
            self.loaded += 1
            return None
        self.rejected += 1
        message = str(error)
        assert str(path) in message, message
        assert error.path == str(path), (error.path, message)
        return error


def _write(data: bytes | str, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / f"llmops{suffix}"
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# -- deep nesting ----------------------------------------------------------------------------------


def _nested_yaml(depth: int, flow: bool) -> str:
    if flow:
        return "service: " + "[" * depth + "]" * depth + "\n"
    lines = ["service:"]
    lines += [f"{'  ' * (i + 1)}k{i}:" for i in range(depth)]
    return "\n".join(lines) + " 1\n"


def _nested_toml(depth: int, kind: str) -> str:
    if kind == "array":
        return "x = " + "[" * depth + "]" * depth + "\n"
    if kind == "inline":
        return "x = " + "{a = " * depth + "1" + "}" * depth + "\n"
    return "[" + ".".join(f"k{i}" for i in range(depth)) + "]\nv = 1\n"


def test_deep_nesting() -> None:
    outcome = Outcome()

    @settings(PROPERTY, max_examples=50)
    @given(
        depth=st.integers(1, 300) | st.sampled_from([63, 64, 65, 999, 1000, 1001, 5000, 20_000]),
        style=st.sampled_from(
            ["yaml-flow", "yaml-block", "toml-array", "toml-inline", "toml-table"]
        ),
    )
    def run(depth: int, style: str) -> None:
        if style.startswith("yaml"):
            if style == "yaml-block":
                depth = min(depth, 3000)  # 2 spaces a level: keep the file under 1 MiB... mostly
            text, suffix = _nested_yaml(depth, style == "yaml-flow"), ".yaml"
        else:
            text, suffix = _nested_toml(depth, style[5:]), ".toml"
        exc = outcome.check(_write(text, suffix))
        assert exc is not None  # none of these is a valid config
        message = str(exc)
        if depth > 64:
            assert "nested too deeply" in message or "larger than" in message, message

    run()
    record("config fuzzing: deep nesting", cases=outcome.cases, rejected=outcome.rejected)
    assert outcome.cases >= 50


# -- huge files and wrong encodings ----------------------------------------------------------------


def test_huge_files_are_refused_before_parsing() -> None:
    outcome = Outcome()

    @settings(PROPERTY, max_examples=20)
    @given(
        extra=st.integers(1, 4 * MAX_CONFIG_BYTES),
        suffix=st.sampled_from([".yaml", ".toml"]),
        filler=st.sampled_from(["#", "a", "\n", "é"]),
    )
    def run(extra: int, suffix: str, filler: str) -> None:
        body = filler * ((MAX_CONFIG_BYTES + extra) // len(filler.encode()) + 1)
        exc = outcome.check(_write("service: {}\n" + body, suffix))
        assert exc is not None
        assert "larger than" in str(exc)

    run()
    # Just under the limit is read (and here valid).
    assert outcome.check(_write("# " + "x" * (MAX_CONFIG_BYTES - 100) + "\n", ".yaml")) is None
    record("config fuzzing: huge files", cases=outcome.cases, rejected=outcome.rejected)


ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1", "shift_jis"]


def test_wrong_encodings() -> None:
    outcome = Outcome()

    @PROPERTY
    @given(
        encoding=st.sampled_from(ENCODINGS),
        name=st.text(
            st.characters(min_codepoint=0xA0, max_codepoint=0x2FF), min_size=1, max_size=8
        ),
        suffix=st.sampled_from([".yaml", ".toml"]),
    )
    def run(encoding: str, name: str, suffix: str) -> None:
        text = (
            f'[service]\nname = "{name}"\n' if suffix == ".toml" else f"service:\n  name: {name}\n"
        )
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            data = text.encode(encoding, errors="replace")
        exc = outcome.check(_write(data, suffix))
        if exc is not None:
            assert "UTF-8" in str(exc) or "invalid" in str(exc), str(exc)

    run()
    record("config fuzzing: wrong encodings", cases=outcome.cases, rejected=outcome.rejected)
    # Some encodings of some names happen to be valid UTF-8 too (and then a valid config).
    assert outcome.rejected > 0


def test_utf16_is_named() -> None:
    path = _write("service:\n  name: x\n".encode("utf-16"), ".yaml")
    with pytest.raises(ConfigurationError, match=r"not valid UTF-8 \(byte 0\); save it as UTF-8"):
        llmops.instrument(Platform.ARIZE, config_path=path)


# -- YAML that tries to build Python objects -------------------------------------------------------

PYTHON_TAGS = [
    "!!python/object/apply:os.system",
    "!!python/object/apply:subprocess.check_output",
    "!!python/object/new:os.system",
    "!!python/object:os.system",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple",
    "!!binary",
    "!!set",
    "!!omap",
    "!python/object/apply:os.system",
    "!<tag:yaml.org,2002:python/object/apply:os.system>",
]


def test_yaml_python_tags_are_rejected_and_never_executed(tmp_path: Path) -> None:
    outcome = Outcome()
    marker = tmp_path / "pwned"

    @PROPERTY
    @given(
        tag=st.sampled_from(PYTHON_TAGS),
        where=st.sampled_from(["top", "service.name", "arize.api_key", "list", "key"]),
        form=st.sampled_from(["flow", "scalar", "mapping"]),
    )
    def run(tag: str, where: str, form: str) -> None:
        payload = {
            "flow": f"{tag} [touch {marker}]",
            "scalar": f"{tag} touch {marker}",
            "mapping": f"{tag} {{args: [touch {marker}]}}",
        }[form]
        text = {
            "top": payload + "\n",
            "service.name": f"service:\n  name: {payload}\n",
            "arize.api_key": f"arize:\n  api_key: {payload}\n",
            "list": f"service:\n  attributes: [{payload}]\n",
            "key": f"service:\n  ? {payload}\n  : 1\n",
        }[where]
        exc = outcome.check(_write(text, ".yaml"))
        assert exc is not None
        assert not marker.exists()

    run()
    assert not marker.exists()
    record("config fuzzing: YAML python tags", cases=outcome.cases, rejected=outcome.rejected)


# -- invalid values --------------------------------------------------------------------------------

BAD_ARIZE_ENDPOINTS = [
    "ftp://127.0.0.1:4317",
    "http://",
    "http:///v1/traces",
    "http://:4317",
    "http://127.0.0.1:99999",
    "http://127.0.0.1:-1",
    "http://127.0.0.1:port",
    "http://127.0.0.1:4317?x=1",
    "http://127.0.0.1:4317#frag",
    "http://user:pw@127.0.0.1:4317",
    "http://[::1",  # an unclosed IPv6 address: urlsplit raises ValueError
    "",
    " ",
]
BAD_MLFLOW_URIS = [
    "ftp://127.0.0.1:5000",
    "http://",
    "http://:5000",
    "http://127.0.0.1:99999",
    "http://127.0.0.1:port",
    "http://127.0.0.1:5000?x=1",
    "http://u:pw@127.0.0.1:5000",
    "http://[::1",
    "file:///tmp/mlruns",
    "./mlruns",
    "sqlite://",
    "sqlite:///:memory:",
    "sqlite:////no/such/folder/mlflow.db",
    "",
]


@pytest.mark.parametrize("endpoint", BAD_ARIZE_ENDPOINTS)
def test_invalid_arize_endpoints(tmp_path: Path, endpoint: str) -> None:
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump({"arize": {"endpoint": endpoint}}), encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.ARIZE, config_path=path)
    assert info.value.field == "$.arize.endpoint"
    assert str(path) in str(info.value)


@pytest.mark.parametrize("uri", BAD_MLFLOW_URIS)
def test_invalid_mlflow_tracking_uris(tmp_path: Path, uri: str) -> None:
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump({"mlflow": {"tracking_uri": uri}}), encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.MLFLOW, config_path=path)
    assert info.value.field == "$.mlflow.tracking_uri"
    assert str(path) in str(info.value)


TRACING_BOUNDS: dict[str, tuple[float, float, bool]] = {
    # key: (lowest valid, highest valid, integer)
    "shutdown_timeout_s": (0, 3600, False),  # > 0
    "export_timeout_s": (0, 3600, False),  # > 0
    "schedule_delay_ms": (1, 3_600_000, True),
    "max_queue_size": (1, 10_000_000, True),
    "max_export_batch_size": (1, 1_000_000, True),
    "sample_ratio": (0, 1, False),
}


def _out_of_range(key: str) -> st.SearchStrategy[Any]:
    low, high, integer = TRACING_BOUNDS[key]
    if integer:
        bad = st.integers(max_value=int(low) - 1) | st.integers(min_value=int(high) + 1)
    else:
        bad = st.floats(max_value=low, exclude_max=not key.endswith("_s")) | st.floats(
            min_value=high, exclude_min=True
        )
    return bad | st.sampled_from([math.nan, math.inf, -math.inf, "soon", [1], {"a": 1}])


def test_out_of_range_tracing_values() -> None:
    outcome = Outcome()

    @PROPERTY
    @given(data=st.data(), key=st.sampled_from(sorted(TRACING_BOUNDS)))
    def run(data: st.DataObject, key: str) -> None:
        value = data.draw(_out_of_range(key))
        _low, _high, integer = TRACING_BOUNDS[key]
        if integer and isinstance(value, float) and math.isfinite(value):
            return  # a float for an int field is a different (also rejected) case
        path = _write(yaml.safe_dump({"tracing": {key: value}}), ".yaml")
        exc = outcome.check(path)
        assert exc is not None, (key, value)
        assert exc.field == f"$.tracing.{key}", (exc.field, str(exc))
        assert ":2:" in str(exc) or ":1:" in str(exc), str(exc)  # the line of the key

    run()
    record("config fuzzing: out-of-range tracing values", cases=outcome.cases)
    assert outcome.cases >= EXAMPLES // 2


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("mlflow", "timeout_s", 0),
        ("mlflow", "timeout_s", -5),
        ("mlflow", "timeout_s", 1e9),
        ("tracing", "base64_image_max_length", -1),
    ],
)
def test_other_bounds(tmp_path: Path, section: str, key: str, value: Any) -> None:
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump({section: {key: value}}), encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        llmops.instrument(Platform.MLFLOW, config_path=path)
    assert info.value.field == f"$.{section}.{key}"


# -- paths that are not readable config files ------------------------------------------------------


def test_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "llmops.yaml"
    folder.mkdir()
    with pytest.raises(ConfigurationError, match="is a directory"):
        llmops.instrument(Platform.ARIZE, config_path=folder)


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "llmops.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(ConfigurationError, match="not a regular file"):
        llmops.instrument(Platform.ARIZE, config_path=fifo)


def test_a_device_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a regular file"):
        llmops.instrument(Platform.ARIZE, config_path="/dev/zero")


def test_a_path_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "notadir").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="config file not found"):
        llmops.instrument(Platform.ARIZE, config_path=tmp_path / "notadir" / "llmops.yaml")


def test_a_file_that_cannot_be_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``chmod 000`` does not stop root (these tests usually run as root), so the refusal the
    kernel would give an ordinary user is simulated where llmops opens the file."""
    path = tmp_path / "llmops.yaml"
    path.write_text("service: {name: x}\n", encoding="utf-8")
    real_open = Path.open

    def refusing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing_open)
    with pytest.raises(
        ConfigurationError, match=r"cannot read the config file \(Permission denied\)"
    ):
        llmops.instrument(Platform.ARIZE, config_path=path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway")
def test_a_chmod_000_file(tmp_path: Path) -> None:  # pragma: no cover - not run as root
    path = tmp_path / "llmops.yaml"
    path.write_text("service: {name: x}\n", encoding="utf-8")
    path.chmod(0)
    with pytest.raises(ConfigurationError, match="cannot read the config file"):
        llmops.instrument(Platform.ARIZE, config_path=path)


# -- arbitrary bytes under every supported name ----------------------------------------------------


def test_arbitrary_bytes_under_every_name() -> None:
    outcome = Outcome()

    @settings(PROPERTY, max_examples=300)
    @given(
        content=st.binary(max_size=400)
        | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
        name=st.sampled_from(["llmops.yaml", "llmops.yml", "llmops.toml", "pyproject.toml"]),
    )
    def run(content: bytes, name: str) -> None:
        folder = Path(tempfile.mkdtemp())
        path = folder / name
        path.write_bytes(content)
        outcome.check(path)

    run()
    record(
        "config fuzzing: arbitrary bytes and text",
        cases=outcome.cases,
        loaded=outcome.loaded,
        rejected=outcome.rejected,
    )
    assert outcome.cases >= 300


def test_a_config_path_the_system_cannot_use_is_a_configuration_error() -> None:
    """A 300-character file name raised OSError ("File name too long") from instrument()."""
    for path in ("x" * 300 + ".yaml", "/".join(["a" * 200] * 30) + ".yaml"):
        with pytest.raises(ConfigurationError, match=r"cannot use this config path|not found"):
            llmops.instrument("arize", config_path=path)
