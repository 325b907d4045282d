"""A conformance kit for platform plugins: subclass :class:`PlatformConformance` in your tests.

It checks, with pytest and hypothesis, what every llmops platform must do:

* **registration**: the name resolves to the class, and is listed;
* **protocol**: the class satisfies :class:`llmops.PlatformPlugin`, its ``config_type`` is a
  msgspec Struct, and an empty section is valid (every key optional);
* **config validation**: generated good documents (YAML and TOML) decode to the values written;
  generated bad ones (unknown keys, values of the wrong type, a section that is not a mapping)
  raise :class:`llmops.ConfigurationError` naming the file and the field path, from
  ``instrument()``, before anything is set up;
* **export**: a representative LLM span tree (a ``CHAIN`` root with an ``LLM`` child carrying
  OpenInference attributes) reaches the platform's target, read back through your hook;
* **bounded lifecycle with the target down**: ``instrument()`` returns, ``span.end()`` does not
  wait on the network, and ``llmops.shutdown()`` returns within ``tracing.shutdown_timeout_s``;
* **secret redaction**: a unique secret in each secret field never appears in a ``repr``, a log
  record, the output, or an error message.

Usage (see ``docs/plugins.md``)::

    from contextlib import contextmanager
    from llmops.testing import PlatformConformance, ReceivedSpan

    class TestAcmeConformance(PlatformConformance):
        platform = "acme"

        @contextmanager
        def target(self):                      # start what the platform exports to
            with MyCollector() as collector:
                yield collector

        def section(self, target):             # the `acme:` section that points at it
            return {"endpoint": target.endpoint}

        def unreachable_section(self):         # a section whose target is down
            return {"endpoint": "http://127.0.0.1:9/v1/traces"}

        def read_back(self, target, trace_id, timeout):   # what arrived, for one trace
            return [ReceivedSpan(...) for s in target.spans if ...]

A fixture can stand in for ``target()``: override the ``conformance_target`` fixture in the
subclass (say, to use a session-scoped server). Class attributes tune the bounds.

Needs ``pytest`` and ``hypothesis`` (``pip install 'llmops[testing]'``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args, get_origin

import msgspec
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import llmops
from llmops._plugin import hook, missing_members
from llmops._types import members, unwrap

__all__ = ["PlatformConformance", "ReceivedSpan", "emit_span_tree"]

MODEL = "gemini-2.0-flash"
CHAIN_INPUT = "What is the capital of France?"
LLM_OUTPUT = "Paris is the capital of France."


class ReceivedSpan(msgspec.Struct, frozen=True):
    """One span as the platform's target stored it, in the form the kit compares.

    ``trace_id`` and ``span_id`` are lower-case hex (32 and 16 digits; a ``0x`` or ``tr-``
    prefix is removed); ``parent_id`` is ``None`` for a root. ``attributes`` holds the span
    attributes the target kept, under their OpenInference names (JSON strings may be decoded).
    """

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: Mapping[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        # A frozen Struct's fields are set once; normalising the ids is part of making it.
        msgspec.structs.force_setattr(self, "trace_id", _hex(self.trace_id))
        msgspec.structs.force_setattr(self, "span_id", _hex(self.span_id))
        if self.parent_id is not None:
            msgspec.structs.force_setattr(self, "parent_id", _hex(self.parent_id) or None)


def _hex(value: str) -> str:
    value = str(value).strip().lower()
    for prefix in ("tr-", "0x"):
        value = value.removeprefix(prefix)
    return value


class SpanTree(msgspec.Struct, frozen=True):
    """What :func:`emit_span_tree` made: ids (hex) and the attributes it set."""

    trace_id: str
    root_span_id: str
    llm_span_id: str
    root_name: str
    llm_name: str
    root_attributes: Mapping[str, Any]
    llm_attributes: Mapping[str, Any]


def emit_span_tree(provider: Any, *, label: str = "conformance") -> SpanTree:
    """Make a representative LLM trace with ``provider``'s tracer: a ``CHAIN`` root and an
    ``LLM`` child with OpenInference attributes (model, messages, token counts, session, user,
    metadata, tags). Returns the ids and attributes, for comparing with what arrived."""
    marker = uuid.uuid4().hex[:12]
    root_attributes: dict[str, Any] = {
        "openinference.span.kind": "CHAIN",
        "input.value": CHAIN_INPUT,
        "input.mime_type": "text/plain",
        "output.value": LLM_OUTPUT,
        "output.mime_type": "text/plain",
        "session.id": f"session-{marker}",
        "user.id": f"user-{marker}",
    }
    llm_attributes: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": MODEL,
        "llm.provider": "google",
        "llm.system": "vertexai",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": CHAIN_INPUT,
        "llm.output_messages.0.message.role": "model",
        "llm.output_messages.0.message.content": LLM_OUTPUT,
        "llm.token_count.prompt": 8,
        "llm.token_count.completion": 7,
        "llm.token_count.total": 15,
        "input.value": CHAIN_INPUT,
        "output.value": LLM_OUTPUT,
        "session.id": f"session-{marker}",
        "user.id": f"user-{marker}",
        "metadata": json.dumps({"conformance": marker}),
        "tag.tags": ["conformance", label],
    }
    tracer = provider.get_tracer("llmops.testing.conformance")
    root_name, llm_name = f"{label}-chain", f"{label}-llm"
    with (
        tracer.start_as_current_span(root_name, attributes=root_attributes) as root,
        tracer.start_as_current_span(llm_name, attributes=llm_attributes) as llm,
    ):
        pass
    return SpanTree(
        trace_id=format(root.get_span_context().trace_id, "032x"),
        root_span_id=format(root.get_span_context().span_id, "016x"),
        llm_span_id=format(llm.get_span_context().span_id, "016x"),
        root_name=root_name,
        llm_name=llm_name,
        root_attributes=root_attributes,
        llm_attributes=llm_attributes,
    )


def _same(sent: Any, received: Any) -> bool:
    """Equal, allowing for a JSON string decoded by the target and tuples as lists."""
    if isinstance(sent, tuple | list) and isinstance(received, tuple | list):
        return list(sent) == list(received)
    if sent == received:
        return True
    for text, value in ((sent, received), (received, sent)):
        if isinstance(text, str) and not isinstance(value, str):
            try:
                return bool(json.loads(text) == value)
            except ValueError:
                return False
    return False


# -- documents: generating sections and writing them as YAML or TOML --------------------------

_TEXT = st.text(st.characters(categories=("L", "N", "P", "S"), exclude_characters="$"), max_size=16)


def _unwrap(tp: Any) -> tuple[Any, msgspec.Meta | None]:
    base, extras = unwrap(tp)
    metas = [m for m in extras if isinstance(m, msgspec.Meta)]
    return base, (metas[0] if metas else None)


def _strategy_for(tp: Any) -> st.SearchStrategy[Any] | None:
    """Values that ``tp`` (a field type) accepts, or ``None`` when the kit cannot tell."""
    base, meta = _unwrap(tp)
    origin = get_origin(base)
    if (alternatives := members(base)) is not None:
        parts = [_strategy_for(arg) for arg in alternatives]
        if any(p is None for p in parts):
            return None
        return st.one_of(*[p for p in parts if p is not None])
    if base is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(get_args(base))
    if base is bool:
        return st.booleans()
    if base is str:
        if meta is not None and (meta.min_length or meta.max_length or meta.pattern):
            return None
        return _TEXT
    if base is int:
        low = None if meta is None else _bound(meta.ge, meta.gt, 1)
        high = None if meta is None else _bound(meta.le, meta.lt, -1)
        return st.integers(
            min_value=int(low) if low is not None else -(2**31),
            max_value=int(high) if high is not None else 2**31,
        )
    if base is float:
        low = None if meta is None else (meta.ge if meta.ge is not None else meta.gt)
        high = None if meta is None else (meta.le if meta.le is not None else meta.lt)
        return st.floats(
            min_value=low if low is not None else -1e6,
            max_value=high if high is not None else 1e6,
            exclude_min=meta is not None and meta.gt is not None,
            exclude_max=meta is not None and meta.lt is not None,
            allow_nan=False,
        )
    if origin is dict and get_args(base) == (str, str):
        return st.dictionaries(_TEXT.filter(bool), _TEXT, max_size=3)
    if origin is list and get_args(base) == (str,):
        return st.lists(_TEXT, max_size=3)
    return None


def _bound(inclusive: Any, exclusive: Any, step: int) -> Any:
    if inclusive is not None:
        return inclusive
    return None if exclusive is None else exclusive + step


def _toml(document: Mapping[str, Any]) -> str:
    """A TOML text for ``document`` (tables of scalars, lists and string maps; no ``None``)."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, Mapping):
            return "{" + ", ".join(f"{_key(k)} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(f"cannot write {type(v).__name__} as TOML")

    tables = {k: v for k, v in document.items() if isinstance(v, Mapping)}
    for key, v in document.items():
        if key not in tables and v is not None:
            lines.append(f"{_key(key)} = {value(v)}")
    for key, table in tables.items():
        lines.append(f"[{_key(key)}]")
        for k, v in table.items():
            if v is not None:
                lines.append(f"{_key(k)} = {value(v)}")
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _write(directory: Path, document: Mapping[str, Any], fmt: str = "yaml") -> Path:
    path = directory / f"llmops.{fmt}"
    if fmt == "toml":
        path.write_text(_toml(document), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(dict(document), allow_unicode=True), encoding="utf-8")
    return path


def _without_none(section: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in section.items() if v is not None}


# -- the base class ---------------------------------------------------------------------------


class PlatformConformance:
    """Base class of a platform's conformance tests; see the module docstring.

    Set :attr:`platform`; implement :meth:`target` (or override the ``conformance_target``
    fixture), :meth:`section`, :meth:`unreachable_section` and :meth:`read_back`. Tests are
    named ``test_conformance_*``; skip one in a subclass by overriding it with a
    ``pytest.mark.skip``.
    """

    platform: ClassVar[str]
    """The registered name under test."""
    plugin_class: ClassVar[type | None] = None
    """If set, the class the name must resolve to."""
    shutdown_timeout_s: ClassVar[float] = 1.0
    """``tracing.shutdown_timeout_s`` in the documents of the lifecycle tests."""
    shutdown_slack_s: ClassVar[float] = 1.0
    """Allowed on top of ``shutdown_timeout_s`` (thread start-up, a loaded CI machine)."""
    instrument_bound_s: ClassVar[float] = 15.0
    """Longest ``instrument()`` may take with the target down."""
    span_end_bound_s: ClassVar[float] = 0.5
    """Longest ending 100 spans may take with the target down (no waiting on the network)."""
    read_back_timeout_s: ClassVar[float] = 30.0
    """How long :meth:`read_back` may poll for the exported spans."""
    preserved_attributes: ClassVar[tuple[str, ...]] = (
        "openinference.span.kind",
        "llm.model_name",
        "llm.token_count.prompt",
        "llm.token_count.completion",
        "llm.token_count.total",
        "input.value",
        "output.value",
        "session.id",
        "user.id",
    )
    """Attributes of the span tree that must arrive unchanged (on the spans that have them);
    a platform whose target renames some narrows this tuple."""
    common_sections: ClassVar[Mapping[str, Any]] = {}
    """Extra common sections (``service``, ...) for every document the kit writes."""
    cleared_env_prefixes: ClassVar[tuple[str, ...]] = ("LLMOPS_", "OTEL_")
    """Environment variables removed for each test; add the platform's own (``"ACME_"``)."""

    # -- hooks the plugin author implements ---------------------------------------------------

    def target(self) -> contextlib.AbstractContextManager[Any]:
        """Start the platform's target (a collector, a store) and yield a handle to it."""
        raise NotImplementedError(f"{type(self).__name__} must implement target()")

    def section(self, target: Any) -> dict[str, Any]:
        """The platform's section that sends spans to ``target``."""
        raise NotImplementedError(f"{type(self).__name__} must implement section(target)")

    def unreachable_section(self) -> dict[str, Any]:
        """A section whose target is down (a loopback port nothing listens on)."""
        raise NotImplementedError(f"{type(self).__name__} must implement unreachable_section()")

    def read_back(self, target: Any, trace_id: str, timeout: float) -> Sequence[ReceivedSpan]:
        """The spans of trace ``trace_id`` (32 hex digits) that reached ``target``, polling
        up to ``timeout`` seconds until both spans of the tree are there."""
        raise NotImplementedError(f"{type(self).__name__} must implement read_back(...)")

    def valid_sections(self) -> Sequence[Mapping[str, Any]]:
        """Valid sections to build good documents from (checked offline, never set up)."""
        return [{}]

    def secret_section(self, secret: str) -> dict[str, Any] | None:
        """:meth:`unreachable_section` with ``secret`` in every secret field (the fields of
        ``config_type.secret_fields``; a mapping field gets it as a value), or ``None`` if the
        section has no secret."""
        fields = self._secret_fields()
        if not fields:
            return None
        section = dict(self.unreachable_section())
        for f in msgspec.structs.fields(self._config_type()):
            if f.name in fields:
                base, _ = _unwrap(f.type)
                is_map = get_origin(base) is dict or any(
                    get_origin(a) is dict for a in get_args(base)
                )
                section[f.encode_name] = {"x-conformance": secret} if is_map else secret
        return section

    # -- fixtures -----------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _conformance_isolation(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> Iterator[None]:
        for name in list(os.environ):
            if name.startswith(self.cleared_env_prefixes):
                monkeypatch.delenv(name)
        monkeypatch.chdir(tmp_path)
        self._tmp = tmp_path
        llmops.shutdown()
        yield
        llmops.shutdown()

    @pytest.fixture
    def conformance_target(self) -> Iterator[Any]:
        """The running target of the export test; override to reuse a fixture of yours."""
        with self.target() as handle:
            yield handle

    # -- helpers ------------------------------------------------------------------------------

    def _plugin_class(self) -> Any:
        return llmops.get_platform(self.platform)

    def _config_type(self) -> Any:
        return self._plugin_class().config_type

    def _secret_fields(self) -> frozenset[str]:
        return frozenset(getattr(self._config_type(), "secret_fields", frozenset()))

    def document(self, section: Mapping[str, Any], **tracing: Any) -> dict[str, Any]:
        """A whole config document around ``section``: fast batching, no global provider, no
        instrumentors (the kit makes its spans itself)."""
        tracing_section = {
            "schedule_delay_ms": 100,
            "shutdown_timeout_s": self.shutdown_timeout_s,
            "export_timeout_s": 2.0,
            "set_global": False,
            **tracing,
        }
        return {
            **self.common_sections,
            "tracing": tracing_section,
            self.platform: dict(section),
        }

    def write(self, section: Mapping[str, Any], fmt: str = "yaml", **tracing: Any) -> Path:
        """:meth:`document` written to the test's directory; returns its path."""
        return _write(self._tmp, self.document(section, **tracing), fmt)

    # -- the checks ---------------------------------------------------------------------------

    def test_conformance_registration(self) -> None:
        cls = llmops.get_platform(self.platform)
        assert isinstance(cls, type), f"{self.platform!r} resolves to {cls!r}, not a class"
        assert self.platform in llmops.available_platforms()
        assert llmops.get_platform(self.platform) is cls, "lookups must be stable"
        if self.plugin_class is not None:
            assert cls is self.plugin_class, f"{self.platform!r} resolves to {cls!r}"

    def test_conformance_protocol(self) -> None:
        cls = self._plugin_class()
        assert missing_members(cls) == []
        assert isinstance(cls(), llmops.PlatformPlugin)
        config_type = cls.config_type
        if not (isinstance(config_type, type) and issubclass(config_type, msgspec.Struct)):
            raise AssertionError(
                f"config_type of {self.platform!r} must be a msgspec.Struct, got {config_type!r}"
            )
        for name, arguments in (("setup", 2), ("resolve", 3), ("environment", 2), ("probes", 1)):
            method = hook(cls(), name)
            if method is None:
                continue
            try:
                inspect.signature(method).bind(*[object()] * arguments)
            except TypeError as exc:
                raise AssertionError(f"{name}() cannot be called as declared: {exc}") from None
        # Every key optional: a config without the section must work.
        msgspec.convert({}, config_type)
        for valid in self.valid_sections():
            msgspec.convert(dict(valid), config_type, strict=False)

    def test_conformance_declarations(self) -> None:
        """What the platform declares for ``llmops check``, ``doctor`` and ``run`` holds:
        ``environment`` names fields of the section, ``resolve`` gives a ``Destination``
        the plan describes in one line without a secret, ``probes`` gives ``Probe`` s."""
        plugin = self._plugin_class()()
        fields = {f.encode_name for f in msgspec.structs.fields(self._config_type())}
        for valid in self.valid_sections() or [{}]:
            plan = llmops.plan(self.platform, config_path=self.write(valid))
            (target,) = plan.targets
            environment = hook(plugin, "environment")
            if environment is not None:
                declared = environment(target.config, plan.environment)
                assert set(declared) <= fields, f"environment() names no field: {declared}"
                for key, names in declared.items():
                    assert names, key
                    assert all(isinstance(n, str) and n for n in names), key
            lines = plan.describe()
            assert len(lines) == 1, lines
            assert lines[0].startswith(f"{self.platform} → "), lines
            destination = target.destination
            if hook(plugin, "resolve") is None:
                assert destination is None
                continue
            assert isinstance(destination, llmops.Destination)
            for value in destination.headers.values():
                if len(value) >= 4:
                    assert value not in lines[0]
                    assert value not in repr(destination)
            probes = hook(plugin, "probes")
            if probes is not None:
                found = list(probes(destination))
                assert all(isinstance(p, llmops.Probe) for p in found), found
            if hook(plugin, "setup") is None:
                assert destination.otlp, "a platform without setup() must resolve to OTLP"

    @settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data(), fmt=st.sampled_from(["yaml", "toml"]))
    def test_conformance_good_documents(self, data: st.DataObject, fmt: str) -> None:
        from llmops._config import load_config

        config_type = self._config_type()
        section = dict(data.draw(st.sampled_from(list(self.valid_sections())), label="base"))
        drawable = {
            f.encode_name: s
            for f in msgspec.structs.fields(config_type)
            if (s := _strategy_for(f.type)) is not None
        }
        if drawable:
            keys = data.draw(st.sets(st.sampled_from(sorted(drawable))), label="keys")
            for key in sorted(keys):
                section[key] = data.draw(drawable[key], label=key)
        if fmt == "toml":
            section = _without_none(section)
        with tempfile.TemporaryDirectory() as tmp:
            path = _write(Path(tmp), self.document(section), fmt)
            config = load_config(path)
            decoded = config.section(self.platform, config_type)
        assert isinstance(decoded, config_type)
        expected = msgspec.convert(section, config_type, strict=False)
        assert msgspec.to_builtins(decoded) == msgspec.to_builtins(expected)

    @settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data(), fmt=st.sampled_from(["yaml", "toml"]))
    def test_conformance_bad_documents(self, data: st.DataObject, fmt: str) -> None:
        config_type = self._config_type()
        fields = {f.encode_name: f for f in msgspec.structs.fields(config_type)}
        kind = data.draw(st.sampled_from(["unknown_key", "wrong_type", "not_a_mapping"]))
        expected_field = f"$.{self.platform}"
        section: Any
        if kind == "unknown_key":
            key = data.draw(
                st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
                    lambda k: k not in fields
                ),
                label="unknown key",
            )
            section = {key: data.draw(st.integers() | _TEXT, label="value")}
            expected_field = f"$.{self.platform}.{key}"
        elif kind == "wrong_type":
            assume(bool(fields))
            name = data.draw(st.sampled_from(sorted(fields)), label="field")
            value = data.draw(
                st.sampled_from([[1, 2], {"nested": [1]}, [["x"]], {"a": {"b": 1}}, 3.5, True]),
                label="value",
            )
            try:
                msgspec.convert(value, fields[name].type, strict=False)
            except msgspec.ValidationError:
                pass
            else:
                assume(False)
            section = {name: value}
            expected_field = f"$.{self.platform}.{name}"
        else:
            section = data.draw(st.sampled_from([[1, 2], ["x"], 3, "text", True]), label="section")
        document = self.document({})
        document[self.platform] = section
        with tempfile.TemporaryDirectory() as tmp:
            path = _write(Path(tmp), document, fmt)
            with pytest.raises(llmops.ConfigurationError) as caught:
                llmops.instrument(self.platform, config_path=path)
        error = caught.value
        assert (error.field or "").startswith(expected_field), (
            f"{kind}: field {error.field!r}, expected {expected_field!r}: {error}"
        )
        assert str(path) in str(error), f"the message must name the file: {error}"

    def test_conformance_export_span_tree(self, conformance_target: Any) -> None:
        path = self.write(self.section(conformance_target))
        provider = llmops.instrument(self.platform, config_path=path)
        tree = emit_span_tree(provider)
        llmops.shutdown()  # flushes, within tracing.shutdown_timeout_s
        received = list(self.read_back(conformance_target, tree.trace_id, self.read_back_timeout_s))
        by_id = {span.span_id: span for span in received if span.trace_id == tree.trace_id}
        assert {tree.root_span_id, tree.llm_span_id} <= by_id.keys(), (
            f"trace {tree.trace_id}: expected spans {tree.root_span_id} (root) and "
            f"{tree.llm_span_id} (LLM), got {received!r}"
        )
        root, llm = by_id[tree.root_span_id], by_id[tree.llm_span_id]
        assert (root.name, llm.name) == (tree.root_name, tree.llm_name)
        assert root.parent_id is None, f"the root arrived with a parent: {root!r}"
        assert llm.parent_id == tree.root_span_id, f"the LLM span lost its parent: {llm!r}"
        for sent, got in ((tree.root_attributes, root), (tree.llm_attributes, llm)):
            for key in self.preserved_attributes:
                if key in sent:
                    assert key in got.attributes, f"{got.name}: {key!r} did not arrive"
                    assert _same(sent[key], got.attributes[key]), (
                        f"{got.name}: {key!r} sent {sent[key]!r}, got {got.attributes[key]!r}"
                    )

    def test_conformance_bounded_with_target_down(self) -> None:
        path = self.write(self.unreachable_section())
        started = time.monotonic()
        provider = llmops.instrument(self.platform, config_path=path)
        took = time.monotonic() - started
        assert took < self.instrument_bound_s, f"instrument() took {took:.2f} s, target down"
        tracer = provider.get_tracer("llmops.testing.conformance")
        emit_span_tree(provider)
        started = time.monotonic()
        for index in range(100):
            with tracer.start_as_current_span(f"span-{index}"):
                pass
        took = time.monotonic() - started
        assert took < self.span_end_bound_s, f"100 spans took {took:.2f} s, target down"
        time.sleep(0.3)  # let an export start and hang on the dead target
        started = time.monotonic()
        llmops.shutdown()
        took = time.monotonic() - started
        bound = self.shutdown_timeout_s + self.shutdown_slack_s
        assert took < bound, f"shutdown() took {took:.2f} s with the target down (bound {bound})"

    def _plan_texts(self, path: Path) -> list[str]:
        """What the plan shows of ``path`` (``llmops check``), and what the platform
        contributes (``instrument()`` logs its description)."""
        from llmops._provider import contribute

        try:
            plan = llmops.plan(self.platform, config_path=path)
        except llmops.ConfigurationError as exc:
            return [str(exc)]
        seen = [*plan.describe(), repr(plan.targets)]
        seen += [f"{v.key} {v.value} {v.source}" for v in plan.values(everything=True)]
        for target in plan.targets:
            try:
                contribution = contribute(target, plan.settings).setup
            except llmops.ConfigurationError as exc:
                seen.append(str(exc))
                continue
            seen += [contribution.description, repr(contribution)]
            for exporter in contribution.exporters:
                with contextlib.suppress(Exception):
                    exporter.shutdown()
        return seen

    def test_conformance_secret_redaction(
        self, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
    ) -> None:
        from llmops._config import load_config

        secret = f"llmops-secret-{uuid.uuid4().hex}"
        section = self.secret_section(secret)
        if section is None:
            pytest.skip(f"{self.platform!r} has no secret fields")
        caplog.set_level(logging.DEBUG)
        seen: list[str] = []
        # 1. Decoded: repr and str of the section and of the loaded config.
        path = self.write(section)
        config = load_config(path)
        decoded = config.section(self.platform, self._config_type())
        seen += [repr(decoded), str(decoded), repr(config), str(config)]
        # 2. Errors: the secret next to an unknown key, and as a value of the wrong type.
        wrong_type = {k: [secret] for k in section if k in self._secret_fields()}
        for bad in ({**section, "no_such_key_xyz": secret}, wrong_type):
            if not bad:
                continue
            bad_path = self.write(bad)
            with pytest.raises(llmops.ConfigurationError) as caught:
                llmops.instrument(self.platform, config_path=bad_path)
            seen += [str(caught.value), repr(caught.value), repr(caught.value.args)]
        # 3. Set up, export to a dead target (failures get logged), shut down.
        path = self.write(section)
        try:
            provider = llmops.instrument(self.platform, config_path=path)
        except llmops.ConfigurationError as exc:  # the platform may refuse the combination
            seen += [str(exc), repr(exc)]
        else:
            emit_span_tree(provider)
            seen.append(repr(provider.resource.attributes))
            time.sleep(0.3)
            llmops.shutdown()
        seen += self._plan_texts(path)
        out, err = capfd.readouterr()
        seen += [out, err]
        seen += [r.getMessage() for r in caplog.records]
        seen += [
            "".join(traceback.format_exception(*r.exc_info)) for r in caplog.records if r.exc_info
        ]
        leaked = [text for text in seen if secret in text]
        assert not leaked, f"the secret appeared in: {[t[:300] for t in leaked]}"
