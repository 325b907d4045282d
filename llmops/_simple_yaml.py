"""A fast path for the YAML a config file usually is, so that most set-ups never import PyYAML.

Importing PyYAML costs about 8 ms (it compiles its scanner's and resolver's regular
expressions at import), more than the rest of ``import llmops``. A config file is a few
lines of block mappings, lists and one-line flow collections, which this module parses in
well under a millisecond.

``loads(text)`` returns exactly what PyYAML's ``SafeLoader`` (refusing duplicate keys)
returns, same values and same types, or ``None`` when it is not sure: anything outside its
subset (anchors, tags, block scalars, multi-line scalars or flow collections, document
markers, tabs, characters YAML forbids or reads as line breaks, YAML 1.1's octal, hex,
sexagesimal and timestamp scalars) and anything invalid. The caller then asks PyYAML, which
gives the real value or the real error, with its line number. ``tests/test_yaml_fast.py``
checks the two against each other.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["loads"]


class _Unsure(Exception):
    """Outside the subset, or invalid: PyYAML decides."""


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_NOT_PRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Beyond ASCII: what YAML forbids (C1 controls, surrogates, U+FFFE/F) or PyYAML reads as a
# line break (U+0085, U+2028, U+2029), and a BOM inside the text. Listing these compiles in
# 0.3 ms; the complement, the printable set PyYAML lists, takes 3 ms. Compiled on first use.
_NOT_PLAIN_UNICODE = r"[\x80-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
_INT = r"[-+]?(?:0|[1-9][0-9]*)"  # patterns for numbers compile on first use (re caches)
_FLOAT = r"[-+]?[0-9]+\.[0-9]*|\.[0-9]+"
# A plain scalar PyYAML might read as a number or timestamp this module does not construct
# (007, 0x1f, 1_000, 1:20, 1e3, .inf, 2001-12-14) is left to PyYAML. The pattern is a
# superset of PyYAML's int, float and timestamp patterns, so it also covers their
# differences between PyYAML versions; "127.0.0.1" is sent too, which costs only time.
_MAYBE_NUMBER = r"[-+.0-9][-+.0-9_:a-fA-FxXoOtTzZiInN ]*"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_MAX_KEY = 1000
"""PyYAML finds a ``key:`` only within 1024 characters of where the key starts."""
_PLAIN_FIRST_FORBIDDEN = frozenset(",[]{}#&*!|>'\"%@`?:")
_FLOW_STOP = frozenset(",[]{}")


def loads(text: str) -> dict[str, Any] | None:
    """The mapping ``text`` holds, or ``None`` if PyYAML must decide.

    >>> loads("service: {name: shop}\\ntracing:\\n  sample_ratio: 0.5\\n")
    {'service': {'name': 'shop'}, 'tracing': {'sample_ratio': 0.5}}
    >>> loads("when: 2001-12-14") is None  # a timestamp: PyYAML's to construct
    True
    """
    if "\t" in text or _NOT_PRINTABLE.search(text):
        return None
    if not text.isascii() and re.search(_NOT_PLAIN_UNICODE, text):
        return None
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        return None
    try:
        return _Block(text).document()
    except (_Unsure, RecursionError, ValueError):
        return None


class _Block:
    """The block structure, line by line: (indent, content) of every line that holds a node."""

    def __init__(self, text: str) -> None:
        self.lines: list[tuple[int, str]] = []
        for line in text.split("\n"):
            content = line.lstrip(" ")
            if not content or content.startswith("#"):
                continue
            indent = len(line) - len(content)
            if indent == 0 and content.startswith(("---", "...", "%")):
                raise _Unsure  # document markers and directives
            self.lines.append((indent, content.rstrip(" ")))
        self.at = 0

    def document(self) -> dict[str, Any]:
        if not self.lines:
            return {}
        indent, content = self.lines[0]
        if _is_entry(content):
            raise _Unsure  # a top-level list: not a config, PyYAML says what it is
        value = self.mapping(indent)
        if self.at != len(self.lines):
            raise _Unsure
        return value

    def node(self, indent: int) -> Any:
        """The block node whose first line is the current one, at ``indent``."""
        content = self.lines[self.at][1]
        return self.sequence(indent) if _is_entry(content) else self.mapping(indent)

    def mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self.at < len(self.lines):
            line_indent, content = self.lines[self.at]
            if line_indent < indent:
                break
            if line_indent > indent or _is_entry(content):
                raise _Unsure
            key, rest = _split_key(content)
            if key in result:
                raise _Unsure  # a duplicate: PyYAML reports it with its line
            self.at += 1
            if rest:
                result[key] = _inline(rest)
                self.no_continuation(indent)
                continue
            following = self.lines[self.at] if self.at < len(self.lines) else None
            if following is not None and following[0] > indent:
                result[key] = self.node(following[0])
            elif following is not None and following[0] == indent and _is_entry(following[1]):
                result[key] = self.sequence(indent)  # an indentless list, as `key:\n- a`
            else:
                result[key] = None
        return result

    def sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while self.at < len(self.lines):
            line_indent, content = self.lines[self.at]
            if line_indent != indent or not _is_entry(content):
                break
            rest = content[1:].lstrip(" ")
            if not rest or rest.startswith("#") or _is_entry(rest) or _key_match(rest):
                raise _Unsure  # empty items, nested lists, mappings in lists
            items.append(_inline(rest))
            self.at += 1
            self.no_continuation(indent)
        return items

    def no_continuation(self, indent: int) -> None:
        """A deeper line after a one-line value continues it (or is an error): PyYAML's."""
        if self.at < len(self.lines) and self.lines[self.at][0] > indent:
            raise _Unsure


def _is_entry(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _key_match(content: str) -> re.Match[str] | None:
    """The key of a ``key: value`` or ``key:`` line, or ``None`` if it is not one."""
    match = _KEY.match(content)
    if match is None:
        return None
    end = match.end()
    return match if content[end : end + 2] == ": " or content[end:] == ":" else None


def _split_key(content: str) -> tuple[str, str]:
    """``key: rest`` into the key and the rest (comment and spaces stripped)."""
    match = _key_match(content)
    if match is None:
        raise _Unsure
    key = _key(match.group())
    rest = content[match.end() + 1 :].lstrip(" ")
    return key, "" if rest.startswith("#") else rest


def _key(key: str) -> str:
    if len(key) > _MAX_KEY or not isinstance(_resolve(key), str):
        raise _Unsure  # `on:`, `null:`, `True:` are not str keys in YAML 1.1
    return key


def _inline(rest: str) -> Any:
    """The value after ``key:`` or ``-`` on one line (no leading spaces, not empty)."""
    first = rest[0]
    if first in "[{'\"":
        value, end = _flow_node(rest, 0) if first in "[{" else _quoted(rest, 0)
        tail = rest[end:]
        if tail and not (tail.startswith(" ") and tail.lstrip(" ").startswith("#")):
            raise _Unsure
        return value
    comment = rest.find(" #")
    plain = (rest if comment < 0 else rest[:comment]).rstrip(" ")
    _check_plain_start(plain)
    if ": " in plain or plain.endswith(":"):
        raise _Unsure  # a mapping where it is not allowed: PyYAML's error
    return _resolve(plain)


def _check_plain_start(plain: str) -> None:
    if plain[0] in _PLAIN_FIRST_FORBIDDEN or (plain[0] == "-" and plain[1:2] in ("", " ")):
        raise _Unsure


def _quoted(text: str, at: int) -> tuple[str, int]:
    """A single- or double-quoted scalar starting at ``at``; (value, index after it)."""
    quote = text[at]
    if quote == '"':
        end = text.find('"', at + 1)
        if end < 0 or "\\" in text[at + 1 : end]:
            raise _Unsure  # unterminated, or escapes: PyYAML's
        return text[at + 1 : end], end + 1
    parts = []
    start = at + 1
    while True:
        end = text.find("'", start)
        if end < 0:
            raise _Unsure
        parts.append(text[start:end])
        if text[end + 1 : end + 2] != "'":
            return "'".join(parts), end + 1
        start = end + 2


def _flow_node(text: str, at: int) -> tuple[Any, int]:
    """A flow collection or scalar starting at ``at`` (spaces skipped); (value, index after)."""
    at = _skip_spaces(text, at)
    if at >= len(text):
        raise _Unsure  # a flow collection continued on the next line
    first = text[at]
    if first == "[":
        items: list[Any] = []
        at = _skip_spaces(text, at + 1)
        while text[at : at + 1] != "]":
            value, at = _flow_node(text, at)
            items.append(value)
            at = _skip_spaces(text, at)
            at = _flow_separator(text, at, "]")
        return items, at + 1
    if first == "{":
        mapping: dict[str, Any] = {}
        at = _skip_spaces(text, at + 1)
        while text[at : at + 1] != "}":
            match = _KEY.match(text, at)
            if match is None or text[match.end() : match.end() + 2] != ": ":
                raise _Unsure
            key = _key(match.group())
            if key in mapping:
                raise _Unsure
            at = _skip_spaces(text, match.end() + 2)
            if text[at : at + 1] in ("", ",", "}"):
                raise _Unsure  # a key without a value
            mapping[key], at = _flow_node(text, at)
            at = _skip_spaces(text, at)
            at = _flow_separator(text, at, "}")
        return mapping, at + 1
    if first in "'\"":
        return _quoted(text, at)
    return _flow_plain(text, at)


def _flow_separator(text: str, at: int, close: str) -> int:
    """After an item: ``,`` (then not the closing bracket) or the closing bracket."""
    char = text[at : at + 1]
    if char == close:
        return at
    if char != ",":
        raise _Unsure
    at = _skip_spaces(text, at + 1)
    if text[at : at + 1] in ("", ",", close):
        raise _Unsure  # `[a,]`, `[a,,b]`: PyYAML's reading
    return at


def _flow_plain(text: str, at: int) -> tuple[Any, int]:
    end = at
    while end < len(text):
        char = text[end]
        if char in _FLOW_STOP or char == "?":
            break
        if char == ":" and text[end + 1 : end + 2] in ("", " ", ",", "[", "]", "{", "}"):
            break
        if char == "#" and text[end - 1] == " ":
            raise _Unsure  # a comment inside a flow collection
        end += 1
    plain = text[at:end].rstrip(" ")
    if not plain or text[end : end + 1] in ("?", ":", "[", "{"):
        raise _Unsure
    _check_plain_start(plain)
    return _resolve(plain), end


def _skip_spaces(text: str, at: int) -> int:
    while text[at : at + 1] == " ":
        at += 1
    return at


def _resolve(plain: str) -> Any:
    """A plain scalar's value, as YAML 1.1 (PyYAML's SafeLoader) reads it."""
    if plain in _NULLS:
        return None
    if plain in _BOOLS:
        return _BOOLS[plain]
    if plain[0] in "-+.0123456789":
        if re.fullmatch(_INT, plain):
            return int(plain)
        if re.fullmatch(_FLOAT, plain):
            return float(plain)
        if re.fullmatch(_MAYBE_NUMBER, plain):
            raise _Unsure
    elif plain in ("<<", "="):
        raise _Unsure  # merge keys and the value key
    return plain
