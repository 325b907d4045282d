"""Property tests of the platform registry (hypothesis).

* ``RegistryMachine``: random sequences of register / replace / lookup / list / unregister
  (and attempts that must fail) on a fresh ``PlatformRegistry`` checked against a plain dict.
* Names: everything matching ``[a-z][a-z0-9_]{0,63}`` that is not a keyword or a reserved
  section is accepted; everything else is rejected with ``ValueError`` and changes nothing.
* Every ``Platform`` member resolves to its built-in class.

Budget (the settings below; about 2-4 s in all): the state machine runs 60 examples of up to
40 steps each (at most 2,400 registry operations); each name property runs 300 examples and
the ``Platform`` property runs once per member. ``pytest --hypothesis-show-statistics``
prints the counts actually run.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import llmops
from llmops import Platform, PlatformSetup, UnknownPlatformError
from llmops._config import COMMON_SECTIONS
from llmops._registry import BUILTIN_PLATFORMS, PlatformRegistry, validate_name

VALID_FORM = re.compile(r"[a-z][a-z0-9_]{0,63}")
SECTIONS = frozenset({"platform", "service", "tracing", "instrumentation"})
"""The core's own top-level config sections (DESIGN.md): never a platform's name."""


def expected_valid(name: str) -> bool:
    """The oracle: the documented rule, written independently of the implementation."""
    return (
        VALID_FORM.fullmatch(name) is not None
        and not keyword.iskeyword(name)
        and name not in SECTIONS
        and name != "platforms"
    )


class _Config(msgspec.Struct):
    pass


def _make_class(index: int) -> type:
    def setup(self: object, config: object, settings: object) -> PlatformSetup:
        return PlatformSetup()

    return type(f"Plugin{index}", (), {"config_type": _Config, "setup": setup})


CLASSES = [_make_class(i) for i in range(4)]
INCOMPLETE = [
    type("NoSetup", (), {"config_type": _Config}),
    type("NoConfig", (), {"setup": lambda self, c, s: None}),
]

# A small pool makes duplicates, replacements and unregistering known names frequent.
POOL = st.sampled_from(["acme", "acme_2", "beta", "z", "in_house"])
NAMES = POOL | st.from_regex(VALID_FORM, fullmatch=True).filter(expected_valid)
INVALID_NAMES = st.sampled_from(["Acme", "1x", "a-b", "", "class", "tracing", "a" * 65])


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.registry = PlatformRegistry(entry_point_group=None)
        self.model: dict[str, type] = {}

    @rule(name=NAMES, cls=st.sampled_from(CLASSES))
    def register(self, name: str, cls: type) -> None:
        if name in self.model:
            with pytest.raises(ValueError, match="already registered"):
                self.registry.register(name, cls)
        else:
            self.registry.register(name, cls)
            self.model[name] = cls

    @rule(name=NAMES, cls=st.sampled_from(CLASSES))
    def replace(self, name: str, cls: type) -> None:
        self.registry.register(name, cls, replace=True)
        self.model[name] = cls

    @rule(data=st.data(), cls=st.sampled_from(CLASSES))
    def register_existing_without_replace(self, data: st.DataObject, cls: type) -> None:
        if not self.model:
            return
        name = data.draw(st.sampled_from(sorted(self.model)))
        with pytest.raises(ValueError, match="replace=True"):
            self.registry.register(name, cls)

    @rule(name=INVALID_NAMES, cls=st.sampled_from(CLASSES), replace=st.booleans())
    def register_invalid_name(self, name: str, cls: type, replace: bool) -> None:
        with pytest.raises(ValueError, match="invalid platform name"):
            self.registry.register(name, cls, replace=replace)

    @rule(name=NAMES, cls=st.sampled_from(INCOMPLETE), replace=st.booleans())
    def register_incomplete_class(self, name: str, cls: type, replace: bool) -> None:
        with pytest.raises(TypeError, match="missing"):
            self.registry.register(name, cls, replace=replace)

    @rule(name=NAMES)
    def lookup(self, name: str) -> None:
        if name in self.model:
            assert self.registry.get(name) is self.model[name]
        else:
            with pytest.raises(UnknownPlatformError) as info:
                self.registry.get(name)
            assert info.value.available == sorted(self.model)

    @rule(name=NAMES)
    def unregister(self, name: str) -> None:
        self.registry.unregister(name)
        self.model.pop(name, None)

    @rule()
    def listing(self) -> None:
        assert self.registry.names() == sorted(self.model)

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.registry.names() == sorted(self.model)
        for name, cls in self.model.items():
            assert self.registry.get(name) is cls
            assert self.registry.origin(name) == f"registered by {cls.__module__}"


RegistryMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestRegistryMachine = RegistryMachine.TestCase


# -- names -----------------------------------------------------------------------------------

OUTSIDE_FORM = st.one_of(
    st.text(max_size=80).filter(lambda s: VALID_FORM.fullmatch(s) is None),
    st.from_regex(r"[a-z][a-z0-9_]{64,90}", fullmatch=True),  # too long
    st.from_regex(r"[^a-z][a-z0-9_]{0,20}", fullmatch=True),  # bad first character
    st.from_regex(r"[a-z][a-z0-9_]{0,20}[^a-z0-9_][a-z0-9_]{0,20}", fullmatch=True),  # bad inside
    st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).map(str.upper),
)
FORBIDDEN_WORDS = st.sampled_from(sorted({*keyword.kwlist, *SECTIONS, "platforms"}))


@settings(max_examples=300, deadline=None)
@given(name=OUTSIDE_FORM | FORBIDDEN_WORDS)
def test_names_outside_the_allowed_form_are_rejected(name: str) -> None:
    assert not expected_valid(name)
    registry = PlatformRegistry(entry_point_group=None)
    with pytest.raises(ValueError, match="invalid platform name"):
        registry.register(name, CLASSES[0])
    with pytest.raises(ValueError, match="invalid platform name"):
        registry.register(name, CLASSES[0], replace=True)
    with pytest.raises(ValueError, match="invalid platform name"):
        llmops.register_platform(name)  # validated before any class is decorated
    assert registry.names() == []


@settings(max_examples=300, deadline=None)
@given(name=st.from_regex(VALID_FORM, fullmatch=True).filter(expected_valid))
def test_names_in_the_allowed_form_are_accepted(name: str) -> None:
    assert validate_name(name) == name
    registry = PlatformRegistry(entry_point_group=None)
    registry.register(name, CLASSES[1])
    assert registry.names() == [name]
    assert registry.get(name) is CLASSES[1]


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=70) | st.from_regex(VALID_FORM, fullmatch=True))
def test_validation_agrees_with_the_documented_rule(name: str) -> None:
    try:
        validate_name(name)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == expected_valid(name)


def test_every_core_section_is_reserved() -> None:
    # A platform named like a core section would have its config section swallowed.
    for name in COMMON_SECTIONS | SECTIONS:
        with pytest.raises(ValueError, match="reserved config section"):
            validate_name(name)


# -- the enum facade -------------------------------------------------------------------------

_PLATFORMS_DIR = Path(llmops.__file__).parent / "_platforms"
WRITTEN = [m for m in Platform if (_PLATFORMS_DIR / f"{m.value}.py").is_file()]


@pytest.mark.skipif(len(WRITTEN) < len(Platform), reason="mlflow platform not written yet")
def test_every_platform_module_is_written() -> None:
    assert list(Platform) == WRITTEN


@settings(max_examples=len(Platform) * 5, deadline=None)
@given(member=st.sampled_from(WRITTEN))
def test_every_platform_member_resolves(member: Platform) -> None:
    cls = llmops.get_platform(member)
    assert cls is llmops.get_platform(member.value)
    assert f"{cls.__module__}:{cls.__qualname__}" == BUILTIN_PLATFORMS[member.value]["class"]
    assert member.value in llmops.available_platforms()


@given(member=st.sampled_from(Platform))
def test_every_platform_member_is_a_builtin_name(member: Platform) -> None:
    assert member.value in BUILTIN_PLATFORMS
    assert member == member.value
    assert isinstance(member, str)
    assert validate_name(member.value) == member.value
