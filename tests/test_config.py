"""Config loading: discovery, YAML/TOML parity, validation messages, interpolation, secrets."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from llmops import ConfigurationError
from llmops._config import LoadedConfig, ServiceConfig, Settings, TracingConfig, load_config
from llmops._plan import make_plan
from llmops._platforms.arize import ArizeConfig


@pytest.fixture(autouse=True)
def _announce_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests compare configs with the defaults: the suite's LLMOPS_ANNOUNCE=0
    (``conftest.py``) would be a value from the environment."""
    monkeypatch.delenv("LLMOPS_ANNOUNCE", raising=False)


KNOWN = ["arize", "mlflow"]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(path: str | os.PathLike[str] | None = None) -> LoadedConfig:
    """The config as the plan reads it: sections checked against the known platforms."""
    return make_plan(None, path, require_platform=False).config


def load_with_section(path: Path | str | None) -> None:
    load(path).section("arize", ArizeConfig)


def error_of(path: Path | str | None, *, section: bool = False) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        (load_with_section if section else load)(path)
    return info.value


def named(name: str) -> str:
    return f"service:\n  name: {name}\n"


# -- discovery ----------------------------------------------------------------------------------


def test_defaults_when_nothing_is_found(tmp_path: Path) -> None:
    loaded = load()
    assert loaded.path is None
    assert loaded.where == "<defaults>"
    assert loaded.settings == Settings()
    assert loaded.sections == {}
    assert loaded.settings.tracing.batch is True
    assert loaded.settings.tracing.sample_ratio == 1.0
    assert loaded.settings.tracing.shutdown_timeout_s == 3.0


@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_explicit_path_str_or_path(tmp_path: Path, as_path: bool) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = write(sub / "custom.yaml", named("explicit"))
    write(tmp_path / "llmops.yaml", named("cwd"))
    loaded = load(path if as_path else str(path))
    assert loaded.settings.service.name == "explicit"
    assert loaded.path == path


def test_explicit_path_wins_over_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLMOPS_CONFIG", str(write(tmp_path / "env.yaml", named("env"))))
    assert load(
        write(tmp_path / "arg.toml", '[service]\nname = "arg"\n')
    ).settings.service.name == ("arg")


def test_env_variable_wins_over_working_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write(tmp_path / "llmops.yaml", named("cwd"))
    env_file = write(tmp_path / "elsewhere.toml", '[service]\nname = "env"\n')
    monkeypatch.setenv("LLMOPS_CONFIG", str(env_file))
    loaded = load()
    assert loaded.settings.service.name == "env"
    assert loaded.path == env_file


def test_env_variable_pointing_nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LLMOPS_CONFIG", str(tmp_path / "missing.yaml"))
    err = error_of(None)
    assert "missing.yaml" in str(err)
    assert "LLMOPS_CONFIG" in str(err)


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (["llmops.yaml", "llmops.yml", "llmops.toml", "pyproject.toml"], "llmops.yaml"),
        (["llmops.yml", "llmops.toml", "pyproject.toml"], "llmops.yml"),
        (["llmops.toml", "pyproject.toml"], "llmops.toml"),
        (["pyproject.toml"], "pyproject.toml"),
    ],
)
def test_working_dir_discovery_order(tmp_path: Path, present: list[str], expected: str) -> None:
    for name in present:
        if name == "pyproject.toml":
            write(
                tmp_path / name,
                '[project]\nname = "x"\n[tool.llmops.service]\nname = "pyproject"\n',
            )
        elif name.endswith(".toml"):
            write(tmp_path / name, f'[service]\nname = "{name}"\n')
        else:
            write(tmp_path / name, named(name))
    loaded = load()
    assert loaded.path is not None
    assert loaded.path.name == expected
    assert loaded.settings.service.name == (
        "pyproject" if expected == "pyproject.toml" else expected
    )


def test_pyproject_without_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 100\n')
    loaded = load()
    assert loaded.path is None
    assert loaded.settings == Settings()


def test_broken_pyproject_is_not_ours_to_judge(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project\nname = \n")
    assert load().path is None


def test_explicit_pyproject_without_table_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    err = error_of(path)
    assert "[tool.llmops]" in str(err)
    assert err.path == str(path)


def test_pyproject_table_is_the_document(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
        [tool.llmops]
        platform = "arize"
        [tool.llmops.tracing]
        sample_ratio = 0.5
        [tool.llmops.arize]
        project_name = "from-pyproject"
        """,
    )
    loaded = load()
    assert loaded.settings.platform == "arize"
    assert loaded.settings.tracing.sample_ratio == 0.5
    assert loaded.section("arize", ArizeConfig).project_name == "from-pyproject"


# -- YAML and TOML give the same result ---------------------------------------------------------

YAML_DOC = """
platform: arize
service:
  name: support-bot
  version: "1.4.0"
  environment: production
  attributes:
    team.name: search
tracing:
  batch: false
  sample_ratio: 0.25
  shutdown_timeout_s: 2
  export_timeout_s: 3.5
  schedule_delay_ms: 200
  max_queue_size: 100
  max_export_batch_size: 10
  compression: gzip
  set_global: false
instrumentation:
  google_genai: true
  google_adk: false
  strict: true
arize:
  endpoint: http://127.0.0.1:4317
  protocol: grpc
  project_name: support-bot
  api_key: k-123
  headers:
    x-team: search
  allow_insecure: true
"""

TOML_DOC = """
platform = "arize"

[service]
name = "support-bot"
version = "1.4.0"
environment = "production"
attributes = { "team.name" = "search" }

[tracing]
batch = false
sample_ratio = 0.25
shutdown_timeout_s = 2
export_timeout_s = 3.5
schedule_delay_ms = 200
max_queue_size = 100
max_export_batch_size = 10
compression = "gzip"
set_global = false

[instrumentation]
google_genai = true
google_adk = false
strict = true

[arize]
endpoint = "http://127.0.0.1:4317"
protocol = "grpc"
project_name = "support-bot"
api_key = "k-123"
headers = { x-team = "search" }
allow_insecure = true
"""


def test_yaml_and_toml_load_equal(tmp_path: Path) -> None:
    from_yaml = load(write(tmp_path / "a.yaml", YAML_DOC))
    from_toml = load(write(tmp_path / "a.toml", TOML_DOC))
    assert from_yaml.settings == from_toml.settings
    assert from_yaml.section("arize", ArizeConfig) == from_toml.section("arize", ArizeConfig)
    settings = from_yaml.settings
    assert settings.platform == "arize"
    assert settings.service == ServiceConfig(
        name="support-bot",
        version="1.4.0",
        environment="production",
        attributes={"team.name": "search"},
    )
    assert settings.tracing == TracingConfig(
        batch=False,
        sample_ratio=0.25,
        shutdown_timeout_s=2.0,
        export_timeout_s=3.5,
        schedule_delay_ms=200,
        max_queue_size=100,
        max_export_batch_size=10,
        compression="gzip",
        set_global=False,
    )
    assert settings.instrumentation == {"google_genai": True, "google_adk": False, "strict": True}
    arize = from_toml.section("arize", ArizeConfig)
    assert arize.endpoint == "http://127.0.0.1:4317"
    assert arize.api_key == "k-123"
    assert arize.headers == {"x-team": "search"}
    assert arize.allow_insecure is True


def test_yml_suffix_and_upper_case_suffix(tmp_path: Path) -> None:
    assert load(write(tmp_path / "a.yml", named("yml"))).settings.service.name == "yml"
    assert load(write(tmp_path / "b.YAML", named("upper"))).settings.service.name == "upper"


def test_empty_documents_are_defaults(tmp_path: Path) -> None:
    assert load(write(tmp_path / "e.yaml", "")).settings == Settings()
    assert load(write(tmp_path / "c.yaml", "# only a comment\n")).settings == Settings()
    assert load(write(tmp_path / "e.toml", "")).settings == Settings()


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + named("bom").encode())
    assert load(path).settings.service.name == "bom"


# -- unknown keys ---------------------------------------------------------------------------------


def test_unknown_key_in_tracing_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path / "llmops.yaml",
        """
        service:
          name: a
        tracing:
          batch: true
          sample_ratoi: 0.5
        """,
    )
    err = error_of(path)
    message = str(err)
    assert message.startswith(f"{path}:5: ")
    assert "$.tracing.sample_ratoi" in message
    assert "did you mean 'sample_ratio'?" in message
    assert err.path == str(path)
    assert err.field == "$.tracing.sample_ratoi"
    assert isinstance(err, ValueError)


def test_unknown_key_in_tracing_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "llmops.toml", "[tracing]\nbatch = true\nsample_ratoi = 0.5\n")
    err = error_of(path)
    assert str(err).startswith(f"{path}:3: ")
    assert "did you mean 'sample_ratio'?" in str(err)
    assert err.field == "$.tracing.sample_ratoi"


def test_unknown_key_in_service(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.yaml", "service:\n  nmae: x\n"))
    assert err.field == "$.service.nmae"
    assert ":2:" in str(err)
    assert "did you mean 'name'?" in str(err)


def test_unknown_top_level_section(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "service:\n  name: x\ntracng:\n  batch: true\n")
    err = error_of(path)
    assert str(err).startswith(f"{path}:3: ")
    assert err.field == "$.tracng"
    assert "did you mean 'tracing'?" in str(err)


def test_platform_section_unknown_without_known_sections(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "acme:\n  x: 1\n")
    with pytest.raises(ConfigurationError) as info:
        make_plan(None, path, require_platform=False)
    assert info.value.field == "$.acme"
    assert "register_platform" in str(info.value)


def test_unknown_key_in_platform_section(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        """
        arize:
          project_name: p
          endpont: http://127.0.0.1:4317
        """,
    )
    loaded = load_config(path)  # the loader keeps platform sections raw; the Struct decides
    with pytest.raises(ConfigurationError) as info:
        loaded.section("arize", ArizeConfig)
    err = info.value
    assert str(err).startswith(f"{path}:3: ")
    assert err.field == "$.arize.endpont"
    assert err.path == str(path)
    assert "did you mean 'endpoint'?" in str(err)


def test_unknown_key_no_suggestion_lists_valid_keys(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.yaml", "tracing:\n  zzzzzz: 1\n"))
    assert "did you mean" not in str(err)
    assert "sample_ratio" in str(err)  # the valid keys are listed


# -- wrong types and ranges -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "field", "expected"),
    [
        ("tracing:\n  sample_ratio: abc\n", "$.tracing.sample_ratio", "float"),
        ("tracing:\n  batch: [1]\n", "$.tracing.batch", "bool"),
        ("tracing:\n  max_queue_size: 1.5\n", "$.tracing.max_queue_size", "int"),
        ("service:\n  name: [a]\n", "$.service.name", "str"),
        ("service: [a]\n", "$.service", "object"),
        ("platform: {a: 1}\n", "$.platform", "str"),
        ("tracing:\n  compression: zip\n", "$.tracing.compression", "enum"),
        ("instrumentation:\n  google_genai: maybe\n", "$.instrumentation.google_genai", "bool"),
        ("service:\n  attributes:\n    team: [x]\n", "$.service.attributes.team", "str"),
    ],
)
def test_wrong_type_names_path_and_type(
    tmp_path: Path, yaml_text: str, field: str, expected: str
) -> None:
    path = write(tmp_path / "c.yaml", yaml_text)
    err = error_of(path)
    assert err.field == field
    assert field in str(err)
    assert expected in str(err).lower()
    assert str(err).startswith(str(path))


def test_wrong_type_in_platform_section(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "arize:\n  headers:\n    x-a: [1]\n  protocol: grpc\n")
    err = error_of(path, section=True)
    assert err.field == "$.arize.headers.x-a"
    assert "str" in str(err)
    assert str(err).startswith(f"{path}:3: ")


def test_wrong_protocol_in_platform_section(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.yaml", "arize:\n  protocol: grcp\n"), section=True)
    assert err.field == "$.arize.protocol"


@pytest.mark.parametrize(
    ("yaml_text", "field", "bound"),
    [
        ("tracing:\n  sample_ratio: 1.5\n", "$.tracing.sample_ratio", "<= 1"),
        ("tracing:\n  sample_ratio: -0.1\n", "$.tracing.sample_ratio", ">= 0"),
        ("tracing:\n  sample_ratio: .nan\n", "$.tracing.sample_ratio", ""),
        ("tracing:\n  shutdown_timeout_s: -1\n", "$.tracing.shutdown_timeout_s", "> 0"),
        ("tracing:\n  shutdown_timeout_s: 0\n", "$.tracing.shutdown_timeout_s", "> 0"),
        ("tracing:\n  shutdown_timeout_s: .inf\n", "$.tracing.shutdown_timeout_s", ""),
        ("tracing:\n  export_timeout_s: -5\n", "$.tracing.export_timeout_s", "> 0"),
        ("tracing:\n  max_queue_size: 0\n", "$.tracing.max_queue_size", ">= 1"),
        ("tracing:\n  max_export_batch_size: 0\n", "$.tracing.max_export_batch_size", ">= 1"),
        ("tracing:\n  schedule_delay_ms: 0\n", "$.tracing.schedule_delay_ms", ">= 1"),
    ],
)
def test_out_of_range(tmp_path: Path, yaml_text: str, field: str, bound: str) -> None:
    err = error_of(write(tmp_path / "c.yaml", yaml_text))
    assert err.field == field
    assert bound in str(err)


# -- interpolation --------------------------------------------------------------------------------


def test_interpolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SVC", "from-env")
    monkeypatch.setenv("EMPTY", "")
    path = write(
        tmp_path / "c.yaml",
        """
        service:
          name: ${SVC}
          version: v-${MISSING_VERSION:-0.0.1}-x
          environment: ${EMPTY:-fallback}
          attributes:
            dollar: "price $$5 and $${SVC} stays"
            lone: "a $ sign"
            set_but_empty: "[${EMPTY-unused}]"
            unset_dash: "${NOT_SET_AT_ALL-dash}"
        """,
    )
    service = load(path).settings.service
    assert service.name == "from-env"
    assert service.version == "v-0.0.1-x"
    assert service.environment == "fallback"
    assert service.attributes == {
        "dollar": "price $5 and ${SVC} stays",
        "lone": "a $ sign",
        "set_but_empty": "[]",
        "unset_dash": "dash",
    }


def test_interpolation_in_toml_and_platform_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PHX_KEY", "key-from-env")
    path = write(
        tmp_path / "c.toml",
        '[arize]\napi_key = "${PHX_KEY}"\nendpoint = "${PHX_ENDPOINT:-http://127.0.0.1:6006}"\n',
    )
    arize = load(path).section("arize", ArizeConfig)
    assert arize.api_key == "key-from-env"
    assert arize.endpoint == "http://127.0.0.1:6006"


def test_interpolated_numbers_and_bools_convert(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QUEUE", "64")
    monkeypatch.setenv("GLOBAL", "false")
    path = write(
        tmp_path / "c.yaml",
        """
        tracing:
          sample_ratio: "${RATIO:-0.5}"
          batch: ${BATCH:-false}
          max_queue_size: ${QUEUE}
          set_global: ${GLOBAL}
          shutdown_timeout_s: ${TIMEOUT:-1.5}
        instrumentation:
          google_genai: ${GENAI:-true}
        """,
    )
    tracing = load(path).settings.tracing
    assert tracing.sample_ratio == 0.5
    assert tracing.batch is False
    assert tracing.max_queue_size == 64
    assert tracing.set_global is False
    assert tracing.shutdown_timeout_s == 1.5
    assert load(path).settings.instrumentation == {"google_genai": True}


def test_interpolated_value_is_validated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RATIO", "2")
    err = error_of(write(tmp_path / "c.yaml", "tracing:\n  sample_ratio: ${RATIO}\n"))
    assert err.field == "$.tracing.sample_ratio"
    assert "<= 1" in str(err)


def test_missing_variable_names_itself_and_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml", "service:\n  name: x\narize:\n  api_key: ${LLMOPS_TEST_NOPE}\n"
    )
    err = error_of(path)
    assert "LLMOPS_TEST_NOPE" in str(err)
    assert err.field == "$.arize.api_key"
    assert str(err).startswith(f"{path}:4: ")
    assert "${LLMOPS_TEST_NOPE:-default}" in str(err)  # how to fix it


def test_missing_variable_in_list_names_the_index(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.yaml", "mlflow:\n  tags: [a, '${LLMOPS_TEST_NOPE}']\n"))
    assert err.field == "$.mlflow.tags[1]"


# -- files that cannot be read -------------------------------------------------------------


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "llmops.json", "{}")
    err = error_of(path)
    assert "'.json'" in str(err)
    assert ".yaml" in str(err)
    assert err.path == str(path)
    assert "no suffix" in str(error_of(write(tmp_path / "llmops", "a: 1\n")))


def test_directory_as_config_path(tmp_path: Path) -> None:
    directory = tmp_path / "conf.yaml"
    directory.mkdir()
    err = error_of(directory)
    assert "directory" in str(err)
    assert err.path == str(directory)


def test_missing_file(tmp_path: Path) -> None:
    err = error_of(tmp_path / "nope.yaml")
    assert "not found" in str(err)
    assert err.path == str(tmp_path / "nope.yaml")


def test_config_path_of_wrong_type() -> None:
    with pytest.raises(ConfigurationError, match="str or a path"):
        load(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_invalid_utf8(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"c{suffix}"
    path.write_bytes(b"service:\n  name: caf\xe9\n")
    err = error_of(path)
    assert "UTF-8" in str(err)
    assert err.path == str(path)


def test_too_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    assert "larger than" in str(error_of(path))


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "tracing:\n  batch: true\n  batch: false\n")
    err = error_of(path)
    assert "duplicate key 'batch'" in str(err)
    assert str(err).startswith(f"{path}:3: ")


def test_duplicate_top_level_yaml_sections(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.yaml", "service: {}\ntracing: {}\nservice: {}\n"))
    assert "duplicate key 'service'" in str(err)


def test_duplicate_toml_keys(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.toml", "[tracing]\nbatch = true\nbatch = false\n"))
    assert "invalid TOML" in str(err)


def test_python_tags_are_rejected_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "marker-created-by-yaml"
    path = write(
        tmp_path / "evil.yaml",
        f"""
        service:
          name: !!python/object/apply:os.system ["touch {marker}"]
        tracing: !!python/object/new:subprocess.Popen [["touch", "{marker}"]]
        """,
    )
    err = error_of(path)
    assert "python/object" in str(err)
    assert re.match(rf"{re.escape(str(path))}:[23]: invalid YAML", str(err))
    assert not marker.exists()


def test_yaml_top_level_list_is_an_error(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.yaml", "- service\n- tracing\n"))
    assert "mapping" in str(err)
    assert "list" in str(err)
    assert err.field == "$"


def test_yaml_top_level_scalar_is_an_error(tmp_path: Path) -> None:
    assert "mapping" in str(error_of(write(tmp_path / "c.yaml", "just a string\n")))


def test_yaml_non_string_keys(tmp_path: Path) -> None:
    err = error_of(write(tmp_path / "c.yaml", "service:\n  attributes:\n    1: x\n"))
    assert "keys must be strings" in str(err)


def test_invalid_yaml_syntax_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "service:\n  name: x\ntracing: [unclosed\n")
    err = error_of(path)
    assert "invalid YAML" in str(err)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", str(err))


def test_invalid_toml_syntax(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "[service\nname = 1\n")
    err = error_of(path)
    assert "invalid TOML" in str(err)
    assert err.path == str(path)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """Nested aliases ("billion laughs") expand to ~10^9 values: refused, not walked."""
    import time

    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    previous = "a"
    for level in range(1, 9):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = f"l{level}"
    path = write(tmp_path / "mlflow.yaml", "mlflow:\n" + "".join(f"  {line}\n" for line in lines))
    started = time.monotonic()
    err = error_of(path)
    assert time.monotonic() - started < 5
    assert err.path == str(path)


def test_deeply_nested_document(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "mlflow: " + "[" * 200 + "]" * 200 + "\n")
    assert "nested" in str(error_of(path))


# -- secrets -----------------------------------------------------------------------------

SECRET = "s3cr3t-TOKEN-8c1f0e"
HEADER_SECRET = "hdr-VALUE-51b9d2"


def test_secrets_never_in_repr_or_str(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yaml",
        f"""
        service:
          name: svc
        arize:
          api_key: {SECRET}
          headers:
            x-auth: {HEADER_SECRET}
            Authorization: Bearer {HEADER_SECRET}
        """,
    )
    loaded = load(path)
    arize = loaded.section("arize", ArizeConfig)
    assert arize.api_key == SECRET  # the value itself is intact
    for text in (repr(arize), str(arize), repr(loaded), str(loaded), repr(loaded.settings)):
        assert SECRET not in text
        assert HEADER_SECRET not in text
    assert "x-auth" in repr(arize)  # header names are not secret
    assert "api_key='***'" in repr(arize)


@pytest.mark.parametrize(
    "body",
    [
        # an unknown key next to the secrets
        "  api_kye: {secret}\n  headers: {{x-auth: {header}}}\n",
        "  api_key: {secret}\n  headers: {{x-auth: {header}}}\n  endpont: x\n",
        # wrong types around the secrets, and secrets of the wrong type
        "  api_key: {secret}\n  headers: {{x-auth: {header}}}\n  allow_insecure: [1]\n",
        "  api_key: [{secret}]\n",
        "  api_key: {{k: {secret}}}\n",
        "  headers: {{x-auth: [{header}]}}\n",
        "  headers: [{header}]\n",
        "  headers: {header}\n",
        "  api_key: {secret}\n  headers: {{x-auth: {header}, x-b: {{c: d}}}}\n",
        # an interpolation error next to the secrets
        "  api_key: {secret}\n  headers: {{x-auth: {header}}}\n  endpoint: ${{LLMOPS_NOPE}}\n",
        # a YAML syntax error right after the secret
        "  api_key: {secret}\n  headers: {{x-auth: {header}\n",
        "  api_key: '{secret}\n",
        "  api_key: {secret}\n  api_key: {secret}\n",
    ],
)
def test_secrets_never_in_errors(tmp_path: Path, body: str) -> None:
    path = write(tmp_path / "c.yaml", "arize:\n" + body.format(secret=SECRET, header=HEADER_SECRET))
    err = error_of(path, section=True)
    for text in (str(err), repr(err), str(err.field), str(err.path)):
        assert SECRET not in text
        assert HEADER_SECRET not in text


def test_secrets_never_in_toml_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        f'[arize]\napi_key = "{SECRET}"\nheaders = {{ x-auth = "{HEADER_SECRET}" }}\nendpont = 1\n',
    )
    err = error_of(path, section=True)
    assert SECRET not in str(err)
    assert HEADER_SECRET not in str(err)
    broken = write(tmp_path / "d.toml", f'[arize]\napi_key = "{SECRET}\n')
    err = error_of(broken)
    assert SECRET not in str(err)


def test_secret_from_environment_never_in_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LLMOPS_TEST_SECRET", SECRET)
    path = write(tmp_path / "c.yaml", "tracing:\n  sample_ratio: ${LLMOPS_TEST_SECRET}\n")
    err = error_of(path)
    assert err.field == "$.tracing.sample_ratio"
    assert SECRET not in str(err)


def test_configuration_error_attributes() -> None:
    err = ConfigurationError("msg", path="a.yaml", field="$.x")
    assert (err.path, err.field) == ("a.yaml", "$.x")
    assert isinstance(err, ValueError)
    bare = ConfigurationError("msg")
    assert (bare.path, bare.field) == (None, None)
