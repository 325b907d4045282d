"""The platform registry: the decorator, lookups, built-ins, entry points, thread safety.

Tests that would pollute the process-wide registry use a fresh ``PlatformRegistry`` or
unregister what they added (``registered_globally``). Entry-point discovery is proven with a
real distribution (a ``*.dist-info`` directory with ``entry_points.txt``) written to
``tmp_path`` and put on ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

import llmops
from llmops import Platform, PlatformPlugin, PlatformSetup, UnknownPlatformError
from llmops._registry import (
    BUILTIN_PLATFORMS,
    DISABLE_PLUGINS_ENV,
    ENTRY_POINT_GROUP,
    PlatformRegistry,
    PluginLoadError,
    _default,
)

PACKAGE_DIR = Path(llmops.__file__).parent


class AcmeConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    endpoint: str = "http://127.0.0.1:4318/v1/traces"


def make_platform(label: str = "Acme") -> type:
    """A new class satisfying the plugin Protocol (distinct on every call)."""

    def setup(self: object, config: AcmeConfig, settings: object) -> PlatformSetup:
        return PlatformSetup(description=label)

    return type(label, (), {"config_type": AcmeConfig, "setup": setup, "__module__": __name__})


@pytest.fixture
def registry() -> PlatformRegistry:
    """An empty registry: no built-ins, no entry points."""
    return PlatformRegistry(entry_point_group=None)


@pytest.fixture
def registered_globally() -> Iterator[list[str]]:
    """Names appended here are unregistered from the process-wide registry afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        _default.unregister(name)


def run_fresh(code: str, *, pythonpath: Path | None = None, **env_extra: str) -> Any:
    """Run ``code`` in a fresh interpreter; it prints one JSON document, returned here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOPS_")}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the decorator and the global registry ---------------------------------------------------


def test_decorator_registers_an_in_house_platform(registered_globally: list[str]) -> None:
    registered_globally.append("acme_decorated")

    @llmops.register_platform("acme_decorated")
    class Acme:
        config_type = AcmeConfig

        def setup(self, config: AcmeConfig, settings: object) -> PlatformSetup:
            return PlatformSetup()

    assert isinstance(Acme, type)  # the decorator returns the class itself
    assert llmops.get_platform("acme_decorated") is Acme
    assert "acme_decorated" in llmops.available_platforms()
    assert {"arize", "mlflow"} <= set(llmops.available_platforms())
    assert llmops.available_platforms() == sorted(llmops.available_platforms())
    assert isinstance(Acme(), PlatformPlugin)
    assert _default.origin("acme_decorated") == f"registered by {__name__}"


def test_unregister_forgets_an_in_house_platform(registered_globally: list[str]) -> None:
    registered_globally.append("acme_gone")
    llmops.register_platform("acme_gone")(make_platform())
    _default.unregister("acme_gone")
    assert "acme_gone" not in llmops.available_platforms()
    with pytest.raises(UnknownPlatformError):
        llmops.get_platform("acme_gone")


def test_duplicate_name_raises_unless_replace(registry: PlatformRegistry) -> None:
    first, second = make_platform("First"), make_platform("Second")
    registry.register("acme", first)
    with pytest.raises(ValueError, match=r"'acme' is already registered.*replace=True"):
        registry.register("acme", second)
    assert registry.get("acme") is first  # the failed attempt changed nothing
    registry.register("acme", second, replace=True)
    assert registry.get("acme") is second
    assert registry.names() == ["acme"]


def test_duplicate_through_the_decorator(registered_globally: list[str]) -> None:
    registered_globally.append("acme_dup")
    first = llmops.register_platform("acme_dup")(make_platform("First"))
    with pytest.raises(ValueError, match="already registered"):
        llmops.register_platform("acme_dup")(make_platform("Second"))
    assert llmops.get_platform("acme_dup") is first
    second = llmops.register_platform("acme_dup", replace=True)(make_platform("Second"))
    assert llmops.get_platform("acme_dup") is second


@pytest.mark.parametrize("builtin", ["arize", "mlflow", "otlp"])
def test_a_builtin_name_is_taken(builtin: str) -> None:
    # Whether or not the built-in's module has been imported yet, the name is taken.
    with pytest.raises(ValueError, match=rf"'{builtin}' is already registered.*replace=True"):
        llmops.register_platform(builtin)(make_platform())
    fresh = PlatformRegistry(BUILTIN_PLATFORMS, entry_point_group=None)
    with pytest.raises(ValueError, match="built-in"):
        fresh.register(builtin, make_platform())


def test_replacing_a_builtin_and_restoring_it(registered_globally: list[str]) -> None:
    original = llmops.get_platform("arize")
    registered_globally.append("arize")  # unregistering restores the built-in
    mine = llmops.register_platform("arize", replace=True)(make_platform("MyArize"))
    assert llmops.get_platform(Platform.ARIZE) is mine
    _default.unregister("arize")
    assert llmops.get_platform("arize") is original
    assert _default.origin("arize") == "built-in"


def test_replacing_a_builtin_before_its_module_is_imported() -> None:
    # Importing the built-in's module later (say, for ArizeConfig) must neither fail nor
    # undo the replacement; unregistering brings the built-in back.
    result = run_fresh(
        """
        import json, sys
        import msgspec, llmops
        class C(msgspec.Struct):
            pass
        @llmops.register_platform("arize", replace=True)
        class Mine:
            config_type = C
            def setup(self, config, settings):
                return llmops.PlatformSetup()
        out = {"imported_before": "llmops._platforms.arize" in sys.modules}
        from llmops._platforms.arize import ArizeConfig
        out["kept"] = llmops.get_platform("arize") is Mine
        from llmops._registry import _default
        _default.unregister("arize")
        out["restored"] = llmops.get_platform("arize").__module__
        print(json.dumps(out))
        """
    )
    assert result == {
        "imported_before": False,
        "kept": True,
        "restored": "llmops._platforms.arize",
    }


# -- names -----------------------------------------------------------------------------------

INVALID_NAMES = [
    pytest.param("Acme", id="uppercase"),
    pytest.param("ACME", id="all-uppercase"),
    pytest.param("1acme", id="leading-digit"),
    pytest.param("_acme", id="leading-underscore"),
    pytest.param("ac-me", id="dash"),
    pytest.param("ac.me", id="dot"),
    pytest.param("ac me", id="space"),
    pytest.param("acme ", id="trailing-space"),
    pytest.param("acmé", id="non-ascii"),
    pytest.param("", id="empty"),
    pytest.param("class", id="keyword"),
    pytest.param("import", id="keyword-import"),
    pytest.param("a" * 65, id="too-long"),
    pytest.param("tracing", id="reserved-tracing"),
    pytest.param("service", id="reserved-service"),
    pytest.param("platform", id="reserved-platform"),
    pytest.param("instrumentation", id="reserved-instrumentation"),
]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names_are_rejected(name: str, registry: PlatformRegistry) -> None:
    with pytest.raises(ValueError, match="invalid platform name") as info:
        registry.register(name, make_platform())
    assert repr(name) in str(info.value)
    assert registry.names() == []
    with pytest.raises(ValueError, match="invalid platform name"):
        llmops.register_platform(name)  # checked before the decorator is even applied
    assert name not in llmops.available_platforms()


def test_reserved_name_message_says_it_is_reserved(registry: PlatformRegistry) -> None:
    with pytest.raises(ValueError, match="reserved config section"):
        registry.register("tracing", make_platform())


@pytest.mark.parametrize("name", [42, None, b"acme"])
def test_a_name_must_be_a_string(name: object, registry: PlatformRegistry) -> None:
    with pytest.raises(ValueError, match="must be a str"):
        registry.register(name, make_platform())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["a", "a" * 64, "acme_2", "x_", "z9", "match", "type"])
def test_valid_names_are_accepted(name: str, registry: PlatformRegistry) -> None:
    cls = make_platform()
    registry.register(name, cls)
    assert registry.get(name) is cls
    assert registry.names() == [name]


# -- the plugin Protocol ---------------------------------------------------------------------


def _setup(self: object, config: object, settings: object) -> PlatformSetup:
    return PlatformSetup()


@pytest.mark.parametrize(
    ("members", "missing"),
    [
        pytest.param({"config_type": AcmeConfig}, ["setup"], id="no-setup"),
        pytest.param({"setup": _setup}, ["config_type"], id="no-config_type"),
        pytest.param({}, ["config_type", "setup"], id="neither"),
        pytest.param({"config_type": AcmeConfig, "setup": 3}, ["setup"], id="setup-not-callable"),
        pytest.param(
            {"config_type": "AcmeConfig", "setup": _setup}, ["config_type"], id="config-not-a-class"
        ),
    ],
)
def test_a_class_missing_protocol_members_is_a_type_error(
    members: dict[str, object], missing: list[str], registry: PlatformRegistry
) -> None:
    cls = type("Incomplete", (), members)
    with pytest.raises(TypeError, match=r"does not satisfy the llmops\.PlatformPlugin") as info:
        registry.register("acme", cls)
    message = str(info.value)
    for member in missing:
        assert member in message.split("missing:")[1]
    assert "'acme'" in message
    assert "Incomplete" in message
    assert registry.names() == []


def test_the_decorator_reports_a_missing_member(registered_globally: list[str]) -> None:
    registered_globally.append("acme_incomplete")
    with pytest.raises(TypeError, match="missing: setup"):

        @llmops.register_platform("acme_incomplete")
        class Incomplete:
            config_type = AcmeConfig

    assert "acme_incomplete" not in llmops.available_platforms()


@pytest.mark.parametrize("thing", [make_platform(), AcmeConfig(), _setup, "acme"])
def test_only_classes_register(thing: object, registry: PlatformRegistry) -> None:
    if isinstance(thing, type):
        thing = thing()  # an instance of a valid platform class is still not a class
    with pytest.raises(TypeError, match="expected a class"):
        registry.register("acme", thing)  # type: ignore[arg-type]


# -- lookup ----------------------------------------------------------------------------------


def test_unknown_name_lists_names_and_suggests_the_closest() -> None:
    with pytest.raises(UnknownPlatformError) as info:
        llmops.get_platform("arise")
    error = info.value
    assert isinstance(error, LookupError)
    assert error.name == "arise"
    assert error.suggestion == "arize"
    assert {"arize", "mlflow"} <= set(error.available)
    message = str(error)
    assert "unknown platform 'arise'" in message
    assert "did you mean 'arize'?" in message
    assert "arize" in message.split("Available platforms:")[1]
    assert "mlflow" in message.split("Available platforms:")[1]


def test_unknown_name_without_a_close_match(registry: PlatformRegistry) -> None:
    registry.register("acme", make_platform())
    with pytest.raises(UnknownPlatformError) as info:
        registry.get("zzzzzz")
    assert info.value.suggestion is None
    assert "did you mean" not in str(info.value)
    assert info.value.available == ["acme"]
    with pytest.raises(UnknownPlatformError, match="did you mean 'acme'"):
        registry.get("acne")
    with pytest.raises(UnknownPlatformError):
        registry.origin("zzzzzz")


def test_empty_registry_says_none_available(registry: PlatformRegistry) -> None:
    with pytest.raises(UnknownPlatformError, match="Available platforms: none"):
        registry.get("acme")


def test_lookup_of_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        llmops.get_platform(42)  # type: ignore[arg-type]


def _member_params() -> list[Any]:
    params = []
    for member in Platform:
        written = (PACKAGE_DIR / "_platforms" / f"{member.value}.py").is_file()
        marks = (
            [] if written else [pytest.mark.skip(reason=f"{member.value} platform not written yet")]
        )
        params.append(pytest.param(member, id=member.value, marks=marks))
    return params


@pytest.mark.parametrize("member", _member_params())
def test_every_platform_member_resolves(member: Platform) -> None:
    cls = llmops.get_platform(member)
    assert cls.__module__ == f"llmops._platforms.{member.value}"
    assert llmops.get_platform(member.value) is cls
    assert isinstance(cls(), PlatformPlugin)
    assert issubclass(cls.config_type, msgspec.Struct)
    assert _default.origin(member.value) == "built-in"


def test_platform_enum_matches_the_builtins() -> None:
    assert {m.value for m in Platform} == set(BUILTIN_PLATFORMS)
    for member in Platform:
        assert BUILTIN_PLATFORMS[member]["class"].startswith(f"llmops._platforms.{member.value}:")


def test_builtin_platforms_are_imported_on_first_lookup() -> None:
    result = run_fresh(
        """
        import json, sys
        import llmops
        out = {"after_import": "llmops._platforms.arize" in sys.modules}
        llmops.available_platforms()
        out["after_listing"] = "llmops._platforms.arize" in sys.modules
        cls = llmops.get_platform("arize")
        out["after_lookup"] = "llmops._platforms.arize" in sys.modules
        out["module"] = cls.__module__
        out["mlflow_untouched"] = "llmops._platforms.mlflow" not in sys.modules
        print(json.dumps(out))
        """,
        LLMOPS_DISABLE_PLUGINS="1",
    )
    assert result == {
        "after_import": False,
        "after_listing": False,
        "after_lookup": True,
        "module": "llmops._platforms.arize",
        "mlflow_untouched": True,
    }


def test_a_builtin_that_cannot_be_imported_names_the_extra(tmp_path: Path) -> None:
    ghost = {"class": "llmops_no_such_module_xyz:Ghost", "err": "pip install 'llmops[ghost]'"}
    fresh = PlatformRegistry({"ghost": ghost}, entry_point_group=None)
    with pytest.raises(PluginLoadError, match=r"'ghost'.*pip install 'llmops\[ghost\]'"):
        fresh.get("ghost")
    assert fresh.names() == ["ghost"]


# -- thread safety ---------------------------------------------------------------------------


def test_concurrent_registration_and_lookup(registry: PlatformRegistry) -> None:
    registry.register("seed", make_platform("Seed"))
    writers, readers = 16, 8
    barrier = threading.Barrier(writers + readers)
    classes = {f"plugin_{i}": make_platform(f"P{i}") for i in range(writers)}
    errors: list[BaseException] = []
    done = threading.Event()
    lookups = [0]

    def write(name: str) -> None:
        try:
            barrier.wait()
            registry.register(name, classes[name])
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            barrier.wait()
            while not done.is_set():
                names = registry.names()
                assert names == sorted(names)
                assert "seed" in names
                for name in names:
                    assert registry.get(name) is not None
                lookups[0] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in classes]
    threads += [threading.Thread(target=read) for _ in range(readers)]
    for t in threads:
        t.start()
    for t in threads[:writers]:
        t.join(timeout=30)
    done.set()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert lookups[0] > 0
    assert registry.names() == sorted([*classes, "seed"])
    for name, cls in classes.items():
        assert registry.get(name) is cls


def test_concurrent_registration_of_one_name_has_one_winner(registry: PlatformRegistry) -> None:
    n = 16
    barrier = threading.Barrier(n)
    classes = [make_platform(f"P{i}") for i in range(n)]
    won: list[type] = []
    lost: list[BaseException] = []

    def attempt(cls: type) -> None:
        barrier.wait()
        try:
            registry.register("contested", cls)
            won.append(cls)
        except ValueError as exc:
            lost.append(exc)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in classes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(won) == 1
    assert len(lost) == n - 1
    assert registry.get("contested") is won[0]


def test_concurrent_first_lookup_of_a_builtin() -> None:
    # 16 threads race to the lazy import of the built-in: all get the same class.
    result = run_fresh(
        """
        import json, threading
        import llmops
        barrier = threading.Barrier(16)
        found, errors = [], []
        def look():
            barrier.wait()
            try:
                found.append(llmops.get_platform("arize"))
            except BaseException as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=look) for _ in range(16)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps({"errors": errors, "n": len(found), "distinct": len(set(found))}))
        """,
        LLMOPS_DISABLE_PLUGINS="1",
    )
    assert result == {"errors": [], "n": 16, "distinct": 1}


# -- entry points ----------------------------------------------------------------------------

ACME_PLUGIN = '''
"""A third-party platform shipped as its own distribution."""
import msgspec
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import llmops


class AcmeEpConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    out: str = ""
    label: str = "acme"


class LineExporter(SpanExporter):
    """Appends "<label> <span name>" lines to a file."""

    def __init__(self, out, label):
        self.out, self.label = out, label

    def export(self, spans):
        with open(self.out, "a", encoding="utf-8") as f:
            for span in spans:
                f.write(f"{self.label} {span.name}\\n")
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


class AcmePlatform:
    config_type = AcmeEpConfig

    def setup(self, config, settings):
        return llmops.PlatformSetup(
            exporters=[LineExporter(config.out, config.label)] if config.out else [],
            description=f"acme to {config.out}",
        )
'''

INCOMPLETE_PLUGIN = """
class HalfPlatform:
    config_type = dict
"""


def _write_dist(site: Path, name: str, version: str, entry_points: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


PLUGIN_MODULES = ("acme_plugin", "broken_plugin", "half_plugin")


@pytest.fixture
def plugin_site(tmp_path: Path) -> Iterator[Path]:
    """A directory holding three real distributions that advertise llmops platforms.

    ``acme-plugin 1.0`` provides ``acme_ep``; ``broken-plugin 0.1`` provides ``broken_ep``
    whose module raises on import; ``half-plugin 0.2`` provides ``half_ep``, a class that
    lacks ``setup``.
    """
    site = tmp_path / "site"
    (site / "acme_plugin").mkdir(parents=True)
    (site / "acme_plugin" / "__init__.py").write_text(ACME_PLUGIN, encoding="utf-8")
    (site / "broken_plugin.py").write_text(
        "raise RuntimeError('broken_plugin is broken on purpose')\n", encoding="utf-8"
    )
    (site / "half_plugin.py").write_text(INCOMPLETE_PLUGIN, encoding="utf-8")
    group = f"[{ENTRY_POINT_GROUP}]\n"
    _write_dist(site, "acme-plugin", "1.0", f"{group}acme_ep = acme_plugin:AcmePlatform\n")
    _write_dist(site, "broken-plugin", "0.1", f"{group}broken_ep = broken_plugin:Nope\n")
    _write_dist(site, "half-plugin", "0.2", f"{group}half_ep = half_plugin:HalfPlatform\n")
    yield site
    for module in PLUGIN_MODULES:
        sys.modules.pop(module, None)


@pytest.fixture
def on_path(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.delenv(DISABLE_PLUGINS_ENV, raising=False)
    return plugin_site


@pytest.fixture
def count_entry_point_reads(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Each call of ``importlib.metadata.entry_points`` appends the group it asked for."""
    calls: list[str | None] = []
    real: Callable[..., Any] = importlib.metadata.entry_points

    def counting(**params: Any) -> Any:
        calls.append(params.get("group"))
        return real(**params)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    return calls


def test_the_written_distribution_is_real(on_path: Path) -> None:
    # The fixture's dist-info is read by importlib.metadata itself, as pip's would be.
    dist = importlib.metadata.distribution("acme-plugin")
    assert dist.version == "1.0"
    eps = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert {"acme_ep", "broken_ep", "half_ep"} <= eps


def test_entry_points_are_listed_without_importing_plugins(on_path: Path) -> None:
    fresh = PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP)
    assert {"acme_ep", "broken_ep", "half_ep"} <= set(fresh.names())
    assert not any(m in sys.modules for m in PLUGIN_MODULES)
    origin = fresh.origin("acme_ep")
    assert "acme_plugin:AcmePlatform" in origin
    assert "acme-plugin 1.0" in origin
    assert "acme_plugin" not in sys.modules


def test_an_entry_point_loads_on_lookup(on_path: Path) -> None:
    fresh = PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP)
    cls = fresh.get("acme_ep")
    assert cls.__name__ == "AcmePlatform"
    assert cls.__module__ == "acme_plugin"
    assert "acme_plugin" in sys.modules
    assert fresh.get("acme_ep") is cls
    assert "acme-plugin 1.0" in fresh.origin("acme_ep")
    assert "broken_plugin" not in sys.modules  # loading one plugin loads no other


def test_a_broken_plugin_is_reported_by_name_and_breaks_nothing(on_path: Path) -> None:
    fresh = PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP)
    with pytest.raises(PluginLoadError) as info:
        fresh.get("broken_ep")
    error = info.value
    assert isinstance(error, ImportError)
    message = str(error)
    assert "'broken_ep'" in message
    assert "broken-plugin 0.1" in message
    assert "broken on purpose" in message  # the plugin's own error is shown
    assert isinstance(error.__cause__, RuntimeError)
    # The others still work, and the broken one is still reported (not silently dropped).
    assert fresh.get("acme_ep").__name__ == "AcmePlatform"
    assert "broken_ep" in fresh.names()
    with pytest.raises(PluginLoadError, match="broken_ep"):
        fresh.get("broken_ep")


def test_a_plugin_class_missing_setup_is_reported(on_path: Path) -> None:
    fresh = PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP)
    with pytest.raises(TypeError, match=r"'half_ep'.*missing: setup"):
        fresh.get("half_ep")
    assert fresh.get("acme_ep").__name__ == "AcmePlatform"


def test_the_default_registry_discovers_entry_points(
    on_path: Path, monkeypatch: pytest.MonkeyPatch, registered_globally: list[str]
) -> None:
    # Reset the process-wide registry's discovery cache (restored afterwards).
    monkeypatch.setattr(_default, "_entry_points", None)
    registered_globally.append("acme_ep")
    names = llmops.available_platforms()
    assert {"acme_ep", "broken_ep", "arize", "mlflow"} <= set(names)
    with pytest.raises(PluginLoadError, match="broken_ep"):
        llmops.get_platform("broken_ep")
    assert llmops.get_platform("acme_ep").__module__ == "acme_plugin"
    assert llmops.get_platform(Platform.ARIZE).__module__ == "llmops._platforms.arize"
    with pytest.raises(UnknownPlatformError, match="did you mean 'acme_ep'"):
        llmops.get_platform("acme_eq")


def test_entry_points_are_read_once(
    on_path: Path, count_entry_point_reads: list[str | None]
) -> None:
    fresh = PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP)
    fresh.register("inhouse", make_platform())
    assert fresh.get("inhouse") is not None
    assert count_entry_point_reads == []  # a registered name needs no discovery
    fresh.names()
    fresh.names()
    fresh.get("acme_ep")
    fresh.origin("acme_ep")
    with pytest.raises(UnknownPlatformError):
        fresh.get("nothing_like_it")
    with pytest.raises(PluginLoadError):
        fresh.get("broken_ep")
    assert count_entry_point_reads == [ENTRY_POINT_GROUP]


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_discovery_can_be_disabled(
    value: str,
    on_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    count_entry_point_reads: list[str | None],
) -> None:
    monkeypatch.setenv(DISABLE_PLUGINS_ENV, value)
    fresh = PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP)
    assert fresh.names() == []
    with pytest.raises(UnknownPlatformError):
        fresh.get("acme_ep")
    assert count_entry_point_reads == []
    assert "acme_plugin" not in sys.modules


def test_discovery_off_without_a_group(
    on_path: Path, count_entry_point_reads: list[str | None]
) -> None:
    fresh = PlatformRegistry(entry_point_group=None)
    assert fresh.names() == []
    assert count_entry_point_reads == []


def test_discovery_stays_on_for_other_values(
    on_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DISABLE_PLUGINS_ENV, "0")
    assert "acme_ep" in PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP).names()


def test_knows_reads_entry_points_only_on_a_miss(
    on_path: Path, count_entry_point_reads: list[str | None]
) -> None:
    # What the plan asks of every section: a config that names only built-in and registered
    # platforms never scans the installed distributions.
    fresh = PlatformRegistry(BUILTIN_PLATFORMS, entry_point_group=ENTRY_POINT_GROUP)
    fresh.register("inhouse", make_platform())
    for name in ("arize", "mlflow", "inhouse"):
        assert fresh.knows(name)
    assert count_entry_point_reads == []
    assert fresh.knows("acme_ep")  # a miss: the entry points are read, once
    assert not fresh.knows("nothing_like_it")
    assert {"acme_ep", "arize", "inhouse"} <= set(fresh.names())
    assert count_entry_point_reads == [ENTRY_POINT_GROUP]
    assert not fresh.knows("acme_ep", discover=False)


def test_instrument_with_builtin_sections_reads_no_entry_points(
    on_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    count_entry_point_reads: list[str | None],
) -> None:
    monkeypatch.setattr(_default, "_entry_points", None)
    config = tmp_path / "llmops.yaml"
    config.write_text(
        "service: {name: t}\narize: {endpoint: 'http://127.0.0.1:9', protocol: grpc}\n"
    )
    llmops.instrument(Platform.ARIZE, config_path=config)
    llmops.shutdown()
    assert count_entry_point_reads == []
    # An unknown section is looked for among the plugins before it is called an error.
    config.write_text("acme_eq: {}\n")
    with pytest.raises(llmops.ConfigurationError, match="did you mean 'acme_ep'"):
        llmops.instrument(Platform.ARIZE, config_path=config)
    assert count_entry_point_reads == [ENTRY_POINT_GROUP]


def test_two_plugins_advertising_one_name_warn(
    on_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write_dist(
        on_path, "copycat-plugin", "3.0", f"[{ENTRY_POINT_GROUP}]\nacme_ep = acme_plugin:Other\n"
    )
    fresh = PlatformRegistry(entry_point_group=ENTRY_POINT_GROUP)
    with caplog.at_level("WARNING", logger="llmops"):
        assert fresh.names().count("acme_ep") == 1
    warnings = [r.getMessage() for r in caplog.records if "acme_ep" in r.getMessage()]
    assert len(warnings) == 1
    assert "acme-plugin 1.0" in warnings[0]
    assert "copycat-plugin 3.0" in warnings[0]


# -- end to end through the public API -------------------------------------------------------

E2E_SCRIPT = """
import json, sys
import llmops

out = {"names": llmops.available_platforms()}
bad, good, spans = sys.argv[1:4]
try:
    llmops.instrument("acme_ep", config_path=bad)
except llmops.ConfigurationError as exc:
    out["error"] = {"message": str(exc), "field": exc.field, "path": exc.path}
provider = llmops.instrument("acme_ep", config_path=good)
out["provider"] = type(provider).__module__ + "." + type(provider).__name__
with provider.get_tracer("e2e").start_as_current_span("hello-acme"):
    pass
llmops.shutdown()
print(json.dumps(out))
"""


def test_instrument_an_entry_point_platform_end_to_end(plugin_site: Path, tmp_path: Path) -> None:
    spans = tmp_path / "spans.txt"
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"acme_ep:\n  out: {spans}\n  lable: oops\n", encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(
        f"service:\n  name: acme-e2e\nacme_ep:\n  out: {spans}\n  label: from-config\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOPS_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_site), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", E2E_SCRIPT, str(bad), str(good), str(spans)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {"acme_ep", "arize", "mlflow"} <= set(result["names"])
    error = result["error"]
    assert error["field"] == "$.acme_ep.lable"
    assert error["path"] == str(bad)
    assert "$.acme_ep.lable" in error["message"]
    assert "did you mean 'label'?" in error["message"]
    assert result["provider"] == "opentelemetry.sdk.trace.TracerProvider"
    # The section was decoded by the plugin's Struct and its exporter wired in.
    assert spans.read_text(encoding="utf-8").splitlines() == ["from-config hello-acme"]


def test_phoenix_leads_to_the_arize_platform() -> None:
    """People reach for "phoenix": the answer names the platform that serves it."""
    with pytest.raises(UnknownPlatformError) as info:
        llmops.instrument("phoenix")
    assert "unknown platform 'phoenix'." in str(info.value)
    assert "Arize Phoenix is served by the 'arize' platform: Platform.ARIZE." in str(info.value)
