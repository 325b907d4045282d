"""``llmops._simple_yaml.loads``, the PyYAML-free fast path for config files, against PyYAML.

The contract: for any text ``loads`` returns either ``None`` ("not sure, let PyYAML decide") or
exactly what PyYAML returns with llmops' loader (a ``SafeLoader`` refusing duplicate keys):
equal values and identical types at every level (``True`` is not ``1``, ``1`` is not ``1.0``,
``-0.0`` is not ``0.0``), a dict with str keys. It never returns a value for a text PyYAML
rejects. Only an empty or comment-only stream (no document at all) may give ``{}`` where
PyYAML gives ``None``; llmops treats the two the same.

* ``test_never_disagrees_with_pyyaml`` (3000 examples): a grammar-based generator of
  config-like documents full of YAML's corners (YAML 1.1 booleans, nulls and numbers, keys that
  are not strings, quoting and escapes, comments with and without a space, inconsistent
  indents, indentless and nested lists, flow collections, anchors, tags, block scalars,
  multi-line scalars, document markers, tabs, CR / CRLF line endings, keys past PyYAML's
  1024-character limit, junk lines, character edits), PyYAML's and ``json.dumps``' output, and
  the documentation's configs with typos.
* ``test_every_corner_in_every_context``: a deterministic sweep (about 6,000 documents) of every
  pool entry alone in a plain config, so no corner depends on the generator drawing it.
* ``test_plain_subset_takes_the_fast_path`` (1000 examples): documents in the plain subset
  (block mappings with 2-space indents, identifier keys, plain / quoted / flow values, lists,
  comments, CRLF) must not return ``None``, so the other tests are not passed vacuously.
* The repository's YAML files and documentation snippets; realistic configs that must take the
  fast path; documents outside the subset that must return ``None``.

The whole file runs in about 11 s.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import math
import os
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops._config import _strict_yaml_loader
from llmops._simple_yaml import loads

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]

# -- the reference: what llmops gets from PyYAML -------------------------------------------------


def reference(text: str) -> tuple[str, Any]:
    """``("ok", value)``, or ``("error", None)`` when PyYAML rejects the text."""
    try:
        # llmops' own fallback loader: a SafeLoader that refuses duplicate keys.
        return ("ok", yaml.load(text, Loader=_strict_yaml_loader()))
    except Exception:
        return ("error", None)


def same(a: Any, b: Any) -> bool:
    """Equal values and identical types at every level; dict key order ignored, key types not.

    ``True == 1 == 1.0`` in Python, hence the explicit type checks; ``-0.0`` is not ``0.0``.
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        typed_a = {(type(k), k): v for k, v in a.items()}
        typed_b = {(type(k), k): v for k, v in b.items()}
        if len(typed_a) != len(a) or len(typed_b) != len(b) or typed_a.keys() != typed_b.keys():
            return False
        return all(same(typed_a[k], typed_b[k]) for k in typed_a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def no_document(text: str) -> bool:
    """True for an empty or comment-only stream: PyYAML's None, which ``{}`` may stand for."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader) is None
    except yaml.YAMLError:
        return False


def string_keys_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and string_keys_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(string_keys_only(v) for v in value)
    return True


def check_agrees(text: str) -> Any:
    """Assert that ``loads(text)`` is None or PyYAML's value; return ``loads(text)``."""
    fast = loads(text)
    if fast is None:
        return None
    status, expected = reference(text)
    assert status == "ok", f"loads() returned {fast!r} for a text PyYAML rejects: {text!r}"
    assert isinstance(fast, dict), f"loads() returned a {type(fast).__name__}: {fast!r}"
    assert string_keys_only(fast), f"loads() returned a key that is not a str: {fast!r}"
    if expected is None and fast == {} and no_document(text):
        return fast  # an empty or comment-only document
    assert same(fast, expected), f"loads() = {fast!r}, PyYAML = {expected!r} for {text!r}"
    return fast


def maybe(draw: st.DrawFn, percent: float) -> bool:
    """True about ``percent`` times in 100; shrinks to False. Draws nothing for 0."""
    if percent <= 0:
        return False
    return draw(st.integers(0, 999)) >= 1000 - int(percent * 10)


def one(draw: st.DrawFn, choices: Sequence[T]) -> T:
    """One of ``choices`` (like ``sampled_from``, without building a strategy per call)."""
    return choices[draw(st.integers(0, len(choices) - 1))]


def pick(draw: st.DrawFn, *choices: tuple[int, st.SearchStrategy[Any]]) -> Any:
    """A draw from one of the weighted strategies; shrinks toward the first."""
    n = draw(st.integers(0, sum(weight for weight, _ in choices) - 1))
    for weight, strategy in choices:
        if n < weight:
            return draw(strategy)
        n -= weight
    raise AssertionError("unreachable")


# -- values a config usually holds ----------------------------------------------------------------

# fmt: off
CONFIG_KEYS = [
    "name", "service", "platform", "platforms", "tracing", "sample_ratio", "batch", "endpoint",
    "protocol", "project_name", "tracking_uri", "experiment_name", "instrumentation",
    "google_genai", "enrichment", "tags", "metadata", "team", "shutdown_timeout_s", "headers",
    "api_key", "space_id", "x", "k1", "_private", "a_b_c", "v2", "max_queue_size",
]
# fmt: on


def _identifiers() -> list[str]:
    """Config-like keys, then a fixed sample of ``[a-z_][a-z0-9_]*`` names."""
    rng = random.Random(20240611)
    names = dict.fromkeys(CONFIG_KEYS)
    while len(names) < 400:
        first = rng.choice("abcdefghijklmnopqrstuvwxyz_")
        rest = rng.choices("abcdefghijklmnopqrstuvwxyz0123456789_", k=rng.randrange(12))
        name = first + "".join(rest)
        if name not in {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}:
            names[name] = None
    return list(names)


IDENTIFIERS = _identifiers()
identifier = st.sampled_from(IDENTIFIERS)
# fmt: off
SAFE_WORDS = [
    "bench", "http://127.0.0.1:4317", "http://localhost:5000/v1/traces", "grpc", "http/protobuf",
    "sqlite:///mlflow.db", "my service name", "llmops-quickstart", "us-east-1", "/tmp/llmops.log",
    "./mlflow.db", "search", "prod", "eu", "gpt-4o-mini", "gemini-2.0-flash", "v1", "INFO",
    "a.b.c", "support-bot",
]
# fmt: on
QUOTED_SAFE = st.text(st.sampled_from([*"abcXYZ019 -_.:/@#,"]), max_size=12)
safe_scalar = st.one_of(
    st.sampled_from(SAFE_WORDS),
    identifier,
    st.integers(-(10**9), 10**12).map(str),
    st.builds(
        lambda sign, whole, frac: f"{sign}{whole}.{frac}",
        st.sampled_from(["", "-"]),
        st.integers(0, 1000),
        st.text(st.sampled_from("0123456789"), min_size=1, max_size=3),
    ),
    st.sampled_from(["true", "false", "null"]),
    QUOTED_SAFE.map(lambda s: f"'{s}'"),
    QUOTED_SAFE.map(lambda s: f'"{s}"'),
    st.sampled_from(["'yes'", '"1.5"', "'007'", '"true"', "'null'", "''", '""', "'1:20'"]),
)

# -- the adversarial generator ------------------------------------------------------------------
#
# Five areas can be noisy: values, keys, flow collections, structure (indentation, node kinds,
# anchors, block scalars, multi-line scalars) and syntax (separators, comments, junk lines,
# tabs, document markers, line ends, character edits). A document is clean (valid configs with
# YAML 1.1's surprising values), a clean one with exactly one corner, one with a single noisy
# area, or one with several: a corner the fast path mishandles must not hide behind another
# corner it refuses. The noise of an area is the per cent of its decisions that take a corner.
# Pools list the simplest first: Hypothesis shrinks toward the start.

# fmt: off
# Valid in a config and inside the documented subset, though YAML 1.1 reads some surprisingly.
YAML11_WORDS = [  # YAML 1.1's booleans and nulls, and near misses that are strings
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "y", "Y", "n", "N",
    "yES", "tRUE", "oN", "nULL", "None", "none", "nil", "NaN", "nan", "Inf", "ok",
]
MILD_SCALARS = [
    "x", "0", "-0", "+0", "+1", "-1", "1.5", ".5", "5.", "-1.5",
    "+1.5", "-0.0", "0.0", "1.", "00.5", "3rd", ".hidden", "nan", "inf", "http://h:4317/v1/traces",
    "a:b", "a#b", "a #b", "-x", "it's", 'say "hi"', "a\\b", "${VAR:-default}", "${X}", "$1", "50%",
    "a,b", "a, b", "a]", "a}", "a[b]", "a{b}", "[a, b]", "{a: 1}", "[]", "{}", "[ ]", "{ }",
    "[a, [b, c]]", "{a: {b: 1}}", "[a b, c]", "[a,b]", "my service name", "two  spaces",
    "yes please", "true false", "'it''s'", "''", '""', '"quoted"', "'a # b'", '"a: b"',
    "[-1, +2, .5, 'x', \"y\"]", "{a: yes, b: ~, c: -0.0}", "e", "E", "a-b", "a_b", "a.b", "a/b",
]
# Everything else YAML has: what the fast path must refuse, or parse exactly as PyYAML.
TRICKY_SCALARS = [
    "", "007", "08", "09", "00", "0o17", "0x1F", "0b101", "1_000", "1__0", "0_", "1:20", "-1:20",
    "1:20:30", "190:20:30.15", "-.5", "+.5", "1_0.5", "._5", ".", "..", "1e3", "1E3", "1.0e+3",
    "1.0e3", "1.2e-3", "1e+300", "1.0e+999", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "NaN",
    "-inf", "Infinity", "2001-12-14", "2001-1-1", "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5", "2001-12-14T21:59:43Z", "12:30", "127.0.0.1", "1.2.3", "1 000",
    "1,000", "1a", "0x", "a: b", "a:", "a :b", "a :", "#x", " #x", "#", "- x", "-", "--", "---",
    "...", "- -", "a -b", "?x", "? x", "?", ":x", ":", "::", "@x", "`x", "%x", "!x", "&a x", "*a",
    "|", ">", "|-", "&", "*", "!", r'"a\"b"', r'"\n"', r'"\x41"', r'"\u00e9"', r'"\q"', r'"\/"',
    r'"C:\path"', '"a" b', '"a"b', "'a'b", "'a' b", "'", '"', "'unterminated", '"unterminated',
    "\\", "<<", "=", "{a: b: c}", "{a:1}", "{a: 1,}", "[a,]", "[,]", "[a,,b]", '{"k": v}',
    '{"k":v}', "{'k': v}", "[a: b]", "{a}", "{a, b}", "[a] b", "[a]#c", "[a] #c", "[a #c]",
    "[a,#c]", "{a: #c}", "[-]", "[- a]", "[?a]", "[a?b]", "[:a]", "[a:]", "{a: }", "{: a}",
    "[[[]]]", "{a: [b, {c: d}]}", "{a: 1, a: 2}", "{on: 1}", "{1: a}", "{null: a}", "[a]]",
    "trailing   ", "é", "caf\u00e9", "x\ty", "x\t", "\x7f", "\x07", "\x85", "\u2028", "\ufeff",
]
MILD_KEYS = ["a", "b", "c", "name", "x-api-key", "a.b", "a-", "_", "inf", "nan", "Port", "e", "y",
             "n", "a_b", "key_2", "ON_x", "Yes_no"]
TRICKY_KEYS = [
    "on", "On", "off", "yes", "no", "No", "null", "Null", "~", "1", "-1", "1.5", "0x1F", "007",
    "true", "True", "a b", '"a"', "'a'", '"on"', "'1'", '""', "''", r'"a\"b"', "'it''s'", '"é"',
    "é", "2001-12-14", "1:20", ".inf", "<<", "=", "-a", "- a", "?a", "? a", ":a", "a:b", "a#b",
    "a #b", "[a]", "{a: 1}", "[a, b]", "&x a", "*x", "!!str 1", "!!int 1", "@a", "`a", "%a", "|a",
    ">a", '"a" b', "key  with  spaces", "a\tb", "", " ", "#a", "---", "...",
]
COMMENTS = ["# c", "#", "#x", "# a: b", "# - x", "#: x", "# [", "#'", '# "', "#!", "#&a *b"]
TRICKY_COMMENTS = ["# é", "#\t", "# \x07", "# \ufeff"]
JUNK_LINES = [
    "a", ":", "-", "- ", "?", "? x", ": x", "[", "]", "{", "}", "}x", "'", '"', "&", "*", "!",
    "|", ">", "%", "@", "`", "key value", "a:b:c", "a: b: c", "...", "---", "--- x", "=",
    "<<: x", "<<: {z: 1}", "\t", "x\ty", "a:\tb", "\x00", "\x07", "\x0c", "\ufeff", "é: 1",
    "\u2028", "\x85", "%YAML 1.1", "%TAG ! tag:x,2000:", "a: b # c: d", "k: [a,", "k: {a: 1,",
]
COLONS = [":  ", " : ", ":", ":\t", ": \t", "  : ", ":   "]
MILD_TRAILING = [" # c", "  # c", " #", "   ", " ", " #c: d", " # 'x", ' # "', " ## x"]
TRICKY_TRAILING = ["#c", "\t# c", "\t", " \t", " # é"]
PROPERTIES = [
    "&a x", "*a", "&a", "!!str 1", "!!int '1'", "!!float 1", "!!binary aGk=", "!!null ''",
    "!!bool yes", "!x y", "!!set {a}", "!!omap [a: 1]", "!!python/tuple [1]",
    "!!timestamp 2001-12-14", "&a [1]", "&a {b: 1}", "*b", "!!map {a: 1}", "!!seq [a]", "!!str",
    "! a", "!<tag:yaml.org,2002:str> a",
]
CONTINUED = [
    ("a", "b"), ('"a', 'b"'), ("'a", "b'"), ("[a,", "b]"), ("{a: 1,", "b: 2}"), ("a", "b: c"),
    ("a", "- b"), ('"a\\', 'b"'), ("a", "#c"), ("[a", "]"), ("a", "  # c"), ("{a: 1}", "b"),
    ("a #", "b"), ("[a]", "- b"),
]
BLOCK_SCALARS = ["|", ">", "|-", ">+", "|2", ">-", "| # c", "|x"]
HEADERS = [
    "---", "--- ", "--- # c", "%YAML 1.1\n---", "%YAML 1.2\n---", "\ufeff", "---\n---",
    "# c\n---", "--- a: 1", "--- |", "...", "---\n...", "--- !!map",
]
FOOTERS = ["...", "---", "---\nb: 1", "...\n---\na: 1", "... # c", "---\n", "...\nx"]
SPECIAL_CHARS = [*" :-#'\"[]{},&*!|>?%@`\\\t\n\r", "\r\n", "é", "\x00", "\ufeff"]
QUOTED_PARTS = [
    "a", " ", "#", ":", ": ", " #", ",", "'", "''", '"', r"\"", "\\\\", r"\n", r"\t", r"\x41",
    r"\u00e9", r"\U0001F600", r"\/", r"\ ", r"\q", r"\x4", "\\", "é", "\t", "1", "yes", "[",
    "}", "  ", "\n", "\n  ",
]
# fmt: on
WORD_ALPHABET = st.sampled_from([*"abcxyzAZ019 -_.:/#@!&*|>'\",[]{}?=~<+\\$%`", "\t", "é", "\r"])
word_text = st.text(WORD_ALPHABET, min_size=1, max_size=8)


@st.composite
def quoted_text(draw: st.DrawFn) -> str:
    quote = one(draw, ["'", '"'])
    body = "".join(draw(st.lists(st.sampled_from(QUOTED_PARTS), max_size=4)))
    close = "" if maybe(draw, 3) else quote
    return quote + body + close


@st.composite
def number_text(draw: st.DrawFn) -> str:
    sign = one(draw, ["", "-", "+"])
    digits = one(draw, ["1", "0", "7", "10", "00", "007", "08", "1_000", "_1", "1__", "9" * 25])
    kind = one(draw, ["int", "float", "prefixed", "sexagesimal"])
    if kind == "int":
        return sign + digits
    if kind == "float":
        lead = one(draw, [digits, ""])
        frac = one(draw, [".", ".0", ".5", ".50", "._5", "", ".1.2"])
        exponent = one(draw, ["", "", "e3", "E3", "e+3", "e-3", "E+03", "e+", "e"])
        return sign + lead + frac + exponent
    if kind == "prefixed":
        prefix = one(draw, ["0x", "0X", "0o", "0b", "0B"])
        return sign + prefix + one(draw, ["1F", "ff", "101", "17", "", "_1", "g"])
    return sign + digits + one(draw, [":20", ":59", ":60", ":5", ":20:30", ":20.5"])


def _flow_safe(scalar: str) -> bool:
    return " #" not in scalar and (scalar[0] in "[{'\"" or not set(scalar) & set(",[]{}"))


MILD_FLOW_SCALARS = [s for s in MILD_SCALARS if _flow_safe(s)]


@dataclasses.dataclass(frozen=True)
class Noise:
    """Per cent of the decisions in each area that take a dangerous corner."""

    values: float = 0
    keys: float = 0
    flow: float = 0
    structure: float = 0  # indentation, node kinds, anchors, block scalars, multi-line scalars
    syntax: float = 0  # separators, comments, junk lines, tabs, markers, line ends, edits


AREAS = [field.name for field in dataclasses.fields(Noise)]
LEVELS = [5, 15, 40]


@st.composite
def noises(draw: st.DrawFn) -> Noise | None:
    """Clean, one corner (None), one noisy area (so its corners are not hidden behind another's
    refusals) or several."""
    mode = one(draw, ["clean"] * 5 + ["corner"] * 7 + ["one"] * 5 + ["several"] * 3)
    if mode == "clean":
        return Noise()
    if mode == "corner":
        return None
    if mode == "one":
        return Noise(**{one(draw, AREAS): one(draw, LEVELS)})
    return Noise(**{area: one(draw, LEVELS) if draw(st.booleans()) else 0 for area in AREAS})


def scalar_text(draw: st.DrawFn, noise: Noise, flow: bool = False) -> str:
    if maybe(draw, noise.values):
        return pick(
            draw,
            (50, st.sampled_from(TRICKY_SCALARS)),
            (20, number_text()),
            (10, word_text),
            (20, quoted_text()),
        )
    mild = MILD_FLOW_SCALARS if flow else MILD_SCALARS
    return pick(
        draw, (55, safe_scalar), (15, st.sampled_from(YAML11_WORDS)), (30, st.sampled_from(mild))
    )


def key_text(draw: st.DrawFn, noise: Noise, used: set[str] | None = None) -> str:
    """A key; one not in ``used`` (then added to it) unless the noise makes a duplicate."""
    key = _key_text(draw, noise)
    if used is not None:
        if key in used and not maybe(draw, noise.keys):
            key += f"_{len(used)}"
        used.add(key)
    return key


def _key_text(draw: st.DrawFn, noise: Noise) -> str:
    if maybe(draw, noise.keys):
        return pick(
            draw,
            (50, st.sampled_from(TRICKY_KEYS)),
            (15, st.text(st.sampled_from("abcxyz_-.019 "), min_size=1, max_size=6)),
            (15, quoted_text()),
            (12, number_text()),
            (8, st.integers(1020, 1030).map(lambda n: "k" * n)),  # PyYAML's 1024-char limit
        )
    return pick(draw, (85, identifier), (15, st.sampled_from(MILD_KEYS)))


# fmt: off
FLOW_ITEM_TAILS = [
    " #c", "#c", " # c,", " :", ":", " ?", "?", "?b", " !", " &a", " *a", " 'x'", " [x]", "]", "}",
]
# fmt: on


def flow_text(draw: st.DrawFn, noise: Noise, depth: int) -> str:
    is_map = draw(st.booleans())
    items = []
    used: set[str] = set()
    for _ in range(draw(st.integers(0, 4))):
        if depth > 0 and maybe(draw, 20):
            item = flow_text(draw, noise, depth - 1)
        else:
            item = scalar_text(draw, noise, flow=True)
        if maybe(draw, noise.flow / 2):
            item += one(draw, FLOW_ITEM_TAILS)
        if is_map or maybe(draw, noise.flow / 5):  # `[a: b]`: a single-pair mapping in a list
            key = key_text(draw, noise, used)
            if maybe(draw, noise.flow / 3):
                item = key  # `{a, b: c}`
            else:
                colon = one(draw, [":", " : ", ":  ", ": \t"])
                item = key + (colon if maybe(draw, noise.flow) else ": ") + item
        items.append(item)
    if maybe(draw, noise.flow):
        separator = one(draw, [",", " , ", ",  ", " ,", ",\t", " "])
    else:
        separator = ", "
    body = separator.join(items)
    if maybe(draw, noise.flow / 3):
        body += one(draw, [",", ", ", " ,", ",,"])
    if maybe(draw, noise.flow / 5):
        body = one(draw, [",", ", ", "? "]) + body
    pad = one(draw, ["", "", "", " ", "  "])
    opening, closing = ("{", "}") if is_map else ("[", "]")
    if maybe(draw, noise.flow / 5):
        closing = one(draw, ["", "]", "}", "]]", "}}"])
    return opening + pad + body + pad + closing


def jitter(draw: st.DrawFn, noise: Noise, indent: int) -> int:
    """Mostly ``indent``; sometimes a little off (an error or a different structure)."""
    if maybe(draw, noise.structure / 2):
        return max(0, indent + one(draw, [1, -1, 2, -2, 3, -3]))
    return indent


def extra_lines(draw: st.DrawFn, noise: Noise, lines: list[str], indent: int) -> None:
    """Blank lines, comments and junk between entries."""
    if maybe(draw, 10):
        lines.append(one(draw, ["\t", " \t"] if maybe(draw, noise.syntax) else ["", " "]))
    if maybe(draw, 10):
        indent = draw(st.integers(0, indent + 2)) if maybe(draw, 30) else indent
        comments = TRICKY_COMMENTS if maybe(draw, noise.syntax) else COMMENTS
        lines.append(" " * indent + one(draw, comments))
    if maybe(draw, noise.syntax / 5):
        lines.append(" " * draw(st.integers(0, indent + 3)) + one(draw, JUNK_LINES))


def trailing(draw: st.DrawFn, noise: Noise) -> str:
    """After a value: usually nothing, or spaces, or a comment."""
    if not maybe(draw, 25):
        return ""
    return one(draw, TRICKY_TRAILING if maybe(draw, noise.syntax) else MILD_TRAILING)


MAPPING_VALUES = ["scalar"] * 8 + ["flow"] * 2 + ["empty"] + ["mapping"] * 3 + ["list"] * 2


def block_mapping(draw: st.DrawFn, noise: Noise, lines: list[str], indent: int, depth: int) -> None:
    used: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        extra_lines(draw, noise, lines, indent)
        key = key_text(draw, noise, used)
        if maybe(draw, noise.structure / 10):
            key = "? " + key  # an explicit key, with its value on the next line or none
        prefix = " " * jitter(draw, noise, indent) + key
        colon = one(draw, COLONS) if maybe(draw, noise.syntax / 2) else ": "
        if maybe(draw, noise.structure / 3):
            kind = one(draw, ["properties", "block scalar", "continued"])
        else:
            kind = one(draw, MAPPING_VALUES)
        if depth <= 0 and kind in ("mapping", "list"):
            kind = "scalar"
        if kind == "scalar":
            lines.append(prefix + colon + scalar_text(draw, noise) + trailing(draw, noise))
        elif kind == "flow":
            lines.append(prefix + colon + flow_text(draw, noise, 2) + trailing(draw, noise))
        elif kind == "empty":
            lines.append(prefix + ":" + trailing(draw, noise))
        elif kind == "mapping":
            lines.append(prefix + ":" + trailing(draw, noise))
            step = one(draw, [2, 2, 2, 4, 1, 3, 8])
            if maybe(draw, noise.structure / 3):
                step = one(draw, [0, -1, -2])  # `a:` is null, then siblings
            block_mapping(draw, noise, lines, max(0, indent + step), depth - 1)
        elif kind == "list":
            lines.append(prefix + ":" + trailing(draw, noise))
            step = one(draw, [2, 2, 0, 0, 4, 1, 3])  # 0: an indentless list
            if maybe(draw, noise.structure / 3):
                step = one(draw, [-1, -2, 5])
            block_sequence(draw, noise, lines, max(0, indent + step), depth - 1)
        elif kind == "properties":
            lines.append(prefix + ": " + one(draw, PROPERTIES))
            if depth > 0 and maybe(draw, 30):
                block_mapping(draw, noise, lines, indent + 2, depth - 1)
        elif kind == "block scalar":
            lines.append(prefix + ": " + one(draw, BLOCK_SCALARS))
            for _ in range(draw(st.integers(0, 3))):
                body = one(draw, ["text", "", "a: b", "- x", "# not a comment"])
                lines.append(" " * jitter(draw, noise, indent + 2) + body)
        else:  # a scalar or flow collection continued on the next line
            start, rest = one(draw, CONTINUED)
            lines.append(prefix + ": " + start)
            lines.append(" " * (indent + one(draw, [2, 1, 0, 4])) + rest)


def block_sequence(
    draw: st.DrawFn, noise: Noise, lines: list[str], indent: int, depth: int
) -> None:
    for _ in range(draw(st.integers(1, 4))):
        extra_lines(draw, noise, lines, indent)
        pad = " " * jitter(draw, noise, indent)
        marker = one(draw, ["-  ", "-", "-\t"]) if maybe(draw, noise.syntax / 3) else "- "
        if maybe(draw, noise.structure / 2):
            kind = one(draw, ["empty", "mapping", "nested", "block"])
        else:
            kind = one(draw, ["scalar", "scalar", "scalar", "flow"])
        if kind == "scalar":
            lines.append(pad + marker + scalar_text(draw, noise) + trailing(draw, noise))
        elif kind == "flow":
            lines.append(pad + marker + flow_text(draw, noise, 2) + trailing(draw, noise))
        elif kind == "empty":
            lines.append(pad + "-" + trailing(draw, noise))
        elif kind == "mapping":  # `- k: v`, maybe more keys under it
            lines.append(pad + "- " + key_text(draw, noise) + ": " + scalar_text(draw, noise))
            if depth > 0 and maybe(draw, 40):
                block_mapping(draw, noise, lines, len(pad) + 2, depth - 1)
        elif kind == "nested":  # `- - a`
            lines.append(pad + "- - " + scalar_text(draw, noise))
            if maybe(draw, 40):
                lines.append(" " * (len(pad) + 2) + "- " + scalar_text(draw, noise))
        elif depth > 0:  # `-` then a block node on the next lines
            lines.append(pad + "-" + one(draw, ["", "", " # c"]))
            if draw(st.booleans()):
                block_sequence(draw, noise, lines, len(pad) + 2, depth - 1)
            else:
                block_mapping(draw, noise, lines, len(pad) + 2, depth - 1)
        else:
            lines.append(pad + "-a")


def edit_lines(draw: st.DrawFn, noise: Noise, lines: list[str]) -> None:
    """Tabs, repeated (duplicate keys) or dropped lines, trailing spaces, document markers."""
    if lines and maybe(draw, noise.syntax / 3):  # a tab in the indentation or after the colon
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        stripped = line.lstrip(" ")
        if draw(st.booleans()) and len(stripped) < len(line):
            lines[i] = line[: len(line) - len(stripped) - 1] + "\t" + stripped
        else:
            lines[i] = line.replace(": ", ":\t", 1) if ": " in line else "\t" + line
    if lines and maybe(draw, noise.structure / 2):
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(draw(st.integers(0, len(lines))), lines[i])
    if lines and maybe(draw, noise.structure / 4):
        del lines[draw(st.integers(0, len(lines) - 1))]
    if lines and maybe(draw, 5):
        i = draw(st.integers(0, len(lines) - 1))
        spaces = ["   ", " \t "] if maybe(draw, noise.syntax) else [" ", "  "]
        lines[i] += one(draw, spaces)
    if maybe(draw, noise.syntax / 4):
        lines.insert(0, one(draw, HEADERS))
    if maybe(draw, noise.syntax / 4):
        lines.append(one(draw, FOOTERS))


def edit_text(draw: st.DrawFn, noise: Noise, text: str) -> str:
    """A character inserted, deleted or replaced."""
    if not text or not maybe(draw, noise.syntax / 2):
        return text
    at = draw(st.integers(0, len(text) - 1))
    edit = one(draw, ["insert", "delete", "replace"])
    char = one(draw, SPECIAL_CHARS)
    if edit == "insert":
        return text[:at] + char + text[at:]
    if edit == "delete":
        return text[:at] + text[at + 1 :]
    return text[:at] + char + text[at + 1 :]


@st.composite
def block_documents(draw: st.DrawFn) -> str:
    noise = draw(noises())
    if noise is None:
        return draw(one_corner())
    lines: list[str] = []
    if maybe(draw, noise.structure / 5):
        top = one(draw, ["sequence", "scalar", "flow", "comments"])
    else:
        top = "mapping"
    base = one(draw, [1, 2, 4]) if maybe(draw, 5) else 0  # indented: still valid
    if top == "mapping":
        block_mapping(draw, noise, lines, base, depth=3)
    elif top == "sequence":
        block_sequence(draw, noise, lines, base, depth=2)
    elif top == "scalar":
        lines.append(scalar_text(draw, noise))
    elif top == "flow":
        lines.append(flow_text(draw, noise, 2))
    else:
        extra_lines(draw, noise, lines, 0)
    edit_lines(draw, noise, lines)
    if maybe(draw, noise.syntax / 2):
        eol = one(draw, ["\r", "mixed"])
    else:
        eol = one(draw, ["\n", "\n", "\n", "\r\n"])
    if eol == "mixed":
        text = "".join(line + one(draw, ["\n", "\r\n", "\r"]) for line in lines)
    else:
        text = eol.join(lines) + one(draw, [eol, eol, eol, "", eol + eol, eol + "  "])
    return edit_text(draw, noise, text)


ENTRY = re.compile(r"^( *)(- |[A-Za-z_][\w.-]*: )(.*)$")
KEY = re.compile(r"^( *)([A-Za-z_][\w.-]*):( .*)?$")
CORNER_NOISE = Noise(values=100, keys=100)


def groups(pattern: re.Pattern[str], line: str) -> tuple[str, ...]:
    match = pattern.match(line)
    assert match is not None
    return match.groups()


@st.composite
def one_corner(draw: st.DrawFn) -> str:
    """A clean config with one corner: a value, a key, an indent, a line or a line's end."""
    lines: list[str] = []
    block_mapping(draw, Noise(), lines, 0, depth=3)
    entries = [i for i, line in enumerate(lines) if ENTRY.match(line)]
    keys = [i for i, line in enumerate(lines) if KEY.match(line)]
    kind = one(draw, ["value", "value", "value", "key", "indent", "line", "end"])
    if kind == "value" and entries:
        i = one(draw, entries)
        indent, head, _ = groups(ENTRY, lines[i])
        if maybe(draw, 25):
            value = flow_text(draw, Noise(flow=one(draw, [20, 60])), 1)
        else:
            value = scalar_text(draw, CORNER_NOISE)
        lines[i] = indent + head + value
    elif kind == "key" and keys:
        i = one(draw, keys)
        indent, _, rest = groups(KEY, lines[i])
        lines[i] = indent + key_text(draw, CORNER_NOISE) + ":" + (rest or "")
    elif kind == "indent":
        i = draw(st.integers(0, len(lines) - 1))
        stripped = lines[i].lstrip(" ")
        indent = len(lines[i]) - len(stripped) + one(draw, [1, -1, 2, -2, 3, -3, 4])
        lines[i] = " " * max(0, indent) + stripped
    elif kind == "line":
        i = draw(st.integers(0, len(lines)))
        indent = one(draw, [0, 1, 2, 4])
        extra = one(draw, JUNK_LINES + PROPERTIES + HEADERS + FOOTERS + TRICKY_COMMENTS)
        lines.insert(i, " " * indent + extra)
    else:
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] += one(
            draw, TRICKY_TRAILING + FLOW_ITEM_TAILS + [" b", "b", ": b", ":", " :", "\r"]
        )
    return "\n".join(lines) + "\n"


DATA_ALPHABET = st.sampled_from([*"aby019 -_.:#'\"\\[]{},!&*?|>%@`~=", "\n", "\t", "é", "\x07"])
data_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.text(DATA_ALPHABET, max_size=10),
    st.sampled_from(["yes", "on", "null", "1.0", "007", "1:20", "2001-12-14", "1e3", "y", ""]),
)
data_values = st.recursive(
    data_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(DATA_ALPHABET, max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
data_documents = st.dictionaries(st.text(DATA_ALPHABET, max_size=8), data_values, max_size=5)


def _json_safe(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_json_safe(v) for v in value.values())
    return True


@st.composite
def emitted_documents(draw: st.DrawFn) -> str:
    """PyYAML's emitter in its styles, or JSON (floats like ``1e+300`` are strings in YAML 1.1)."""
    data = draw(data_documents)
    if maybe(draw, 30):
        return json.dumps(
            data if _json_safe(data) else {"a": 1},
            indent=one(draw, [None, None, 2]),
            ensure_ascii=draw(st.booleans()),
            separators=one(draw, [None, (",", ":"), (", ", ": ")]),
        )
    return yaml.safe_dump(
        data,
        default_flow_style=one(draw, [False, None, True]),
        width=one(draw, [80, 20, 1000]),
        indent=one(draw, [2, 4]),
        allow_unicode=draw(st.booleans()),
        sort_keys=draw(st.booleans()),
        explicit_start=maybe(draw, 10),
        line_break=one(draw, [None, None, "\r\n"]),
    )


@functools.cache
def realistic_texts() -> list[str]:
    return [*FAST_PATH.values(), *(text for _, text in doc_yaml_snippets())]


@st.composite
def edited_realistic(draw: st.DrawFn) -> str:
    """A real config from the docs with one to three typos: characters, indents, lines, values."""
    lines = one(draw, realistic_texts()).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        edit = one(draw, ["char", "char", "value", "indent", "repeat", "drop", "swap"])
        if edit == "char":
            at = draw(st.integers(0, len(line)))
            char = one(draw, [*SPECIAL_CHARS, "a", "1", " ", "  "])
            lines[i] = line[:at] + char + line[at + draw(st.integers(0, 1)) :]
        elif edit == "value" and ENTRY.match(line):
            indent, head, _ = groups(ENTRY, line)
            lines[i] = indent + head + scalar_text(draw, CORNER_NOISE)
        elif edit == "indent":
            lines[i] = " " * one(draw, [1, 2, 3, 4]) + line if draw(st.booleans()) else line[1:]
        elif edit == "repeat":
            lines.insert(i, line)
        elif edit == "drop":
            del lines[i]
        elif edit == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], line
        if not lines:
            lines = [""]
    return "\n".join(lines)


@st.composite
def documents(draw: st.DrawFn) -> str:
    return pick(draw, (75, block_documents()), (12, emitted_documents()), (13, edited_realistic()))


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=documents())
def test_never_disagrees_with_pyyaml(text: str) -> None:
    check_agrees(text)


# Every pool entry in every context, each alone in an otherwise plain config: a deterministic
# sweep, so no corner depends on the random generator drawing it.
VALUE_CONTEXTS = [
    "k: {}\n",
    "k: {} # c\n",
    "a: 1\nk: {}\nb: 2\n",
    "s:\n  k: {}\n",
    "l:\n- {}\n",
    "l:\n  - x\n  - {}\n",
    "f: [{}]\n",
    "f: [x, {}]\n",
    "f: {{k: {}}}\n",
    "f: {{k: {}, j: 1}}\n",
    "k: {}\r\n",
    "k: {}\r",
    "k: {}\rj: 1\r",
    "  k: {}\n",
    "k: {}",
    "k: [{}, x]\n",
]
KEY_CONTEXTS = [
    "{}: 1\n",
    "{}:\n  a: 1\n",
    "a: 1\n{}: 2\n",
    "f: {{{}: 1}}\n",
    "s:\n  {}: x\n",
    "l:\n- {}: x\n",
    "{}:\n- x\n",
    "{} : 1\n",
    "{}:1\n",
]
LINE_BASE = ["a: 1", "b:", "  c: 2", "l:", "- x"]
NESTED_BASE = ["a:", "  b: 1", "  c:", "    d: x", "  l:", "  - x", "  - y", "e: [1, 2]", "m:",
               "  - z", "n:", "  o:", "  p: q"]  # fmt: skip


def sweep_documents() -> list[str]:
    scalars = [*MILD_SCALARS, *YAML11_WORDS, *TRICKY_SCALARS, *SAFE_WORDS]
    texts = [context.format(v) for v in scalars for context in VALUE_CONTEXTS]
    keys = [*MILD_KEYS, *TRICKY_KEYS, *YAML11_WORDS, "k" * 1024, "k" * 1025]
    texts += [context.format(k) for k in keys for context in KEY_CONTEXTS]
    for extra in [*JUNK_LINES, *PROPERTIES, *HEADERS, *FOOTERS, *COMMENTS, *TRICKY_COMMENTS]:
        for at in range(len(LINE_BASE) + 1):
            for indent in ("", "  "):
                lines = [*LINE_BASE[:at], indent + extra, *LINE_BASE[at:]]
                texts.append("\n".join(lines) + "\n")
    for i, line in enumerate(NESTED_BASE):  # one line indented differently, or repeated
        for delta in (-4, -3, -2, -1, 1, 2, 3, 4):
            shifted = " " * max(0, len(line) - len(line.lstrip(" ")) + delta) + line.lstrip(" ")
            texts.append("\n".join([*NESTED_BASE[:i], shifted, *NESTED_BASE[i + 1 :]]) + "\n")
        texts.append("\n".join([*NESTED_BASE[: i + 1], line, *NESTED_BASE[i + 1 :]]) + "\n")
    for start, rest in CONTINUED:
        for indent in ("", " ", "  ", "    "):
            texts.append(f"k: {start}\n{indent}{rest}\n")
    for indicator in BLOCK_SCALARS:
        texts.append(f"k: {indicator}\n  text\n")
    for tail in [*MILD_TRAILING, *TRICKY_TRAILING, *FLOW_ITEM_TAILS]:
        texts += [f"k: v{tail}\n", f"k: [v{tail}]\n", f"k:{tail}\n  a: 1\n", f"l:\n- v{tail}\n"]
    return texts


def test_every_corner_in_every_context() -> None:
    failures = []
    for text in sweep_documents():
        try:
            check_agrees(text)
        except AssertionError as error:
            failures.append(str(error).split("\n")[0])
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures[:50])


# -- the plain subset must take the fast path ----------------------------------------------------


def safe_flow(draw: st.DrawFn, depth: int) -> str:
    def item() -> str:
        if depth > 0 and maybe(draw, 20):
            return safe_flow(draw, depth - 1)
        return draw(safe_scalar)

    if draw(st.booleans()):
        return "[" + ", ".join(item() for _ in range(draw(st.integers(0, 4)))) + "]"
    keys = draw(st.lists(identifier, max_size=4, unique=True))
    return "{" + ", ".join(f"{k}: {item()}" for k in keys) + "}"


def plain_mapping(draw: st.DrawFn, lines: list[str], indent: int, depth: int) -> None:
    pad = " " * indent
    for key in draw(st.lists(identifier, min_size=1, max_size=5, unique=True)):
        if maybe(draw, 10):
            lines.append("")
        if maybe(draw, 10):
            lines.append(pad + "# " + draw(QUOTED_SAFE))
        comment = "  # " + draw(QUOTED_SAFE) if maybe(draw, 15) else ""
        kinds = ["scalar", "flow"] + (["mapping", "list", "indentless"] if depth > 0 else [])
        kind = one(draw, kinds)
        if kind == "scalar":
            lines.append(f"{pad}{key}: {draw(safe_scalar)}{comment}")
        elif kind == "flow":
            lines.append(f"{pad}{key}: {safe_flow(draw, 1)}{comment}")
        elif kind == "mapping":
            lines.append(f"{pad}{key}:{comment}")
            plain_mapping(draw, lines, indent + 2, depth - 1)
        else:
            lines.append(f"{pad}{key}:{comment}")
            item_pad = pad + ("  " if kind == "list" else "")
            for _ in range(draw(st.integers(1, 4))):
                lines.append(f"{item_pad}- {draw(safe_scalar)}")


@st.composite
def plain_documents(draw: st.DrawFn) -> str:
    lines: list[str] = []
    plain_mapping(draw, lines, 0, depth=3)
    eol = one(draw, ["\n", "\n", "\r\n"])
    return eol.join(lines) + (eol if maybe(draw, 80) else "")


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=plain_documents())
def test_plain_subset_takes_the_fast_path(text: str) -> None:
    assert loads(text) is not None, f"loads() gave up on a plain document: {text!r}"
    check_agrees(text)


# -- the repository's YAML ----------------------------------------------------------------------

SKIPPED_DIRS = {".git", ".venvs", "site", "node_modules", ".tox", "__pycache__", ".hypothesis"}
SKIPPED_DIRS |= {".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist"}


def repo_yaml_files() -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = sorted(
            d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith(".venv")
        )
        found += [Path(directory, f) for f in sorted(files) if f.endswith((".yaml", ".yml"))]
    return found


FENCE = re.compile(r"^([ \t]*)```ya?ml[^\n]*\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def doc_yaml_snippets() -> list[tuple[str, str]]:
    sources = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    snippets = []
    for source in sources:
        if not source.is_file():
            continue
        for number, match in enumerate(FENCE.finditer(source.read_text(encoding="utf-8")), 1):
            indent = match.group(1)
            body = "".join(
                line.removeprefix(indent) for line in match.group(2).splitlines(keepends=True)
            )
            snippets.append((f"{source.relative_to(ROOT)}#{number}", body))
    return snippets


def test_the_corpus_is_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in repo_yaml_files()}
    assert "examples/quickstart.yaml" in names
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize("path", repo_yaml_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_repository_yaml_files(path: Path) -> None:
    check_agrees(path.read_text(encoding="utf-8"))


SNIPPETS = doc_yaml_snippets()


@pytest.mark.parametrize("text", [text for _, text in SNIPPETS], ids=[w for w, _ in SNIPPETS])
def test_documentation_snippets(text: str) -> None:
    check_agrees(text)


QUICKSTART = (ROOT / "examples" / "quickstart.yaml").read_text(encoding="utf-8")
MULTI_SECTION = """\
# llmops.yaml: every span goes to both platforms
platforms:
  - arize
  - mlflow

service:
  name: support-bot   # resource service.name
  version: "1.4.0"
  environment: 'production'

tracing:
  sample_ratio: 0.5
  batch: true
  shutdown_timeout_s: 3

instrumentation:
  google_genai: true
  openai: false

enrichment:
  tags: [prod, eu]
  metadata: {team: search}

# MLflow's server, started separately
mlflow:
  tracking_uri: http://127.0.0.1:5000
  experiment_name: "my exp"
arize:
  endpoint: http://127.0.0.1:4317
  protocol: grpc
  project_name: null
"""
FAST_PATH = {
    "quickstart.yaml": QUICKSTART,
    "one-line flow sections": (
        "platform: arize\nservice: {name: bench}\n"
        "arize: {endpoint: 'http://127.0.0.1:9', protocol: grpc, project_name: bench}\n"
    ),
    "multi-section": MULTI_SECTION,
    "multi-section, CRLF": MULTI_SECTION.replace("\n", "\r\n"),
    "multi-section, no final newline": MULTI_SECTION.rstrip("\n"),
    "indentless list": "platforms:\n- arize\n- mlflow\nservice:\n  name: x\n",
    "nested flow": "enrichment: {tags: [a, b], metadata: {team: search, tier: 1}}\n",
    "non-ASCII comments and values": (
        "# llmops.yaml — the shop's assistant\nservice:\n  name: café-bot  # naïve\n"
        "enrichment: {tags: [ünïcode, 日本]}\n"
    ),
}


@pytest.mark.parametrize("text", FAST_PATH.values(), ids=FAST_PATH.keys())
def test_realistic_configs_take_the_fast_path(text: str) -> None:
    fast = loads(text)
    assert fast is not None
    status, expected = reference(text)
    assert status == "ok"
    assert same(fast, expected), (fast, expected)


def test_values_and_types() -> None:
    assert same(
        loads(MULTI_SECTION),
        {
            "platforms": ["arize", "mlflow"],
            "service": {"name": "support-bot", "version": "1.4.0", "environment": "production"},
            "tracing": {"sample_ratio": 0.5, "batch": True, "shutdown_timeout_s": 3},
            "instrumentation": {"google_genai": True, "openai": False},
            "enrichment": {"tags": ["prod", "eu"], "metadata": {"team": "search"}},
            "mlflow": {"tracking_uri": "http://127.0.0.1:5000", "experiment_name": "my exp"},
            "arize": {
                "endpoint": "http://127.0.0.1:4317",
                "protocol": "grpc",
                "project_name": None,
            },
        },
    )


def test_same_is_type_strict() -> None:
    assert same({"a": [1, 1.5, True, None, "x"]}, {"a": [1, 1.5, True, None, "x"]})
    assert same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same({"a": True}, {"a": 1})
    assert not same({"a": 1}, {"a": 1.0})
    assert not same({True: 1}, {1: 1})
    assert not same({"a": -0.0}, {"a": 0.0})
    assert not same({"a": datetime.date(2001, 12, 14)}, {"a": "2001-12-14"})
    assert not same(["a"], ["a", "b"])


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "  \n\n# a\n  # b\n"])
def test_empty_documents(text: str) -> None:
    assert loads(text) in (None, {})


# -- outside the subset: PyYAML decides ---------------------------------------------------------

MUST_DEFER = {
    "anchor and alias": "base: &b {a: 1}\nother: *b\n",
    "alias to a scalar": "a: &x 1\nb: *x\n",
    "literal block scalar": "a: |\n  text\n",
    "folded block scalar": "a: >\n  text\n",
    "document start": "---\na: 1\n",
    "document end": "a: 1\n...\n",
    "directive": "%YAML 1.1\n---\na: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "tab indentation": "a:\n\tb: 1\n",
    "tab after the colon": "a:\t1\n",
    "duplicate key": "a: 1\na: 2\n",
    "duplicate key, quoted": "a: 1\n'a': 2\n",
    "duplicate nested key": "s:\n  a: 1\n  a: 2\n",
    "duplicate flow key": "s: {a: 1, a: 2}\n",
    "on key": "on: 1\n",
    "null key": "null: 1\n",
    "int key": "1: a\n",
    "hex": "port: 0x1F\n",
    "octal": "mode: 017\n",
    "underscores": "n: 1_000\n",
    "sexagesimal": "t: 1:20\n",
    "exponent": "x: 1.0e+3\n",
    ".inf": "x: .inf\n",
    ".nan": "x: .nan\n",
    "timestamp": "when: 2001-12-14\n",
    "datetime": "when: 2001-12-14t21:59:43.10-05:00\n",
    "merge key": "base: {a: 1}\n<<: {b: 2}\n",
    "value key": "a: =\n",
    "tag": "a: !!str 1\n",
    "non-ASCII key": "café: 1\n",
    "next line, U+0085": "a: b\x85c: d\n",
    "line separator, U+2028": "a: b\u2028c\n",
    "BOM inside": "a: \ufeffb\n",
    "C1 control": "a: b\x9b\n",
    "top-level list": "- a\n- b\n",
    "top-level scalar": "just text\n",
    "top-level flow list": "[a, b]\n",
    "unclosed flow": "a: [b\n",
    "multi-line flow": "a: [b,\n  c]\n",
    "multi-line plain": "a: b\n  c\n",
    "multi-line quoted": 'a: "b\n  c"\n',
    "complex key": "? a\n: b\n",
    "mapping in a value": "a: b: c\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "key past 1024 characters": "k" * 1025 + ": 1\n",
    "flow key past 1024 characters": "a: {" + "k" * 1030 + ": 1}\n",
    "control character": "a: b\x07\n",
}


@pytest.mark.parametrize("text", MUST_DEFER.values(), ids=MUST_DEFER.keys())
def test_outside_the_subset_returns_none(text: str) -> None:
    assert loads(text) is None
