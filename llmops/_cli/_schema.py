"""The JSON Schema of the whole config, generated from the msgspec Structs.

``msgspec.json.schema_components`` gives the types, bounds and defaults; the descriptions come
from the Structs' attribute docstrings (the string literal under each field), which msgspec
does not read, so they are parsed here from the class source with :mod:`ast`.
``llmops schema`` prints it.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import json
import textwrap
from pathlib import Path
from typing import Any, get_args

import msgspec

from ._exit import EXIT_OK
from ._output import Output

__all__ = ["attribute_docstrings", "command", "config_schema", "known_platform_types"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://llmops.dev/schema/llmops.json"

_INTERPOLATION = {
    "type": "string",
    "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*",
    "description": "A ${VAR} or ${VAR:-default} reference, converted to the field's type.",
}


def attribute_docstrings(cls: type) -> dict[str, str]:
    """Field name → the docstring written under it, for ``cls`` and its bases.

    >>> from llmops._config import TracingConfig
    >>> attribute_docstrings(TracingConfig)["set_global"]
    'Make the provider the global OpenTelemetry TracerProvider when none is set yet.'
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, msgspec.Struct):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef)), [])
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign | ast.Assign)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                for target in targets:
                    if isinstance(target, ast.Name):
                        docs[target.id] = inspect.cleandoc(following.value.value)
    return docs


def _plain(text: str) -> str:
    """Docstring markup (``code``) as editors show it (`code`)."""
    import re

    return re.sub(r"(?<!\n)\n(?!\n)", " ", text.replace("``", "`"))


def _describe_struct(schema: dict[str, Any], cls: type) -> None:
    docs = attribute_docstrings(cls)
    if cls.__doc__:
        schema["description"] = _plain(inspect.cleandoc(cls.__doc__))
    for name, prop in schema.get("properties", {}).items():
        if name in docs and isinstance(prop, dict):
            prop.setdefault("description", _plain(docs[name]))


def _allow_interpolation(node: Any) -> None:
    """Let ``${VAR}`` strings stand where numbers and booleans are expected (llmops converts)."""
    if isinstance(node, dict):
        for value in list(node.values()):
            _allow_interpolation(value)
        props = node.get("properties")
        if isinstance(props, dict):
            for name, prop in props.items():
                kind = prop.get("type") if isinstance(prop, dict) else None
                if isinstance(kind, str) and kind in {"number", "integer", "boolean"}:
                    keep = {k: prop[k] for k in ("description", "default") if k in prop}
                    typed = {k: v for k, v in prop.items() if k not in keep}
                    props[name] = {"anyOf": [typed, _INTERPOLATION], **keep}
    elif isinstance(node, list):
        for value in node:
            _allow_interpolation(value)


def _structs(cls: type, seen: dict[str, type]) -> None:
    """Every Struct reachable from ``cls``, by name (how msgspec names its components)."""
    if not (isinstance(cls, type) and issubclass(cls, msgspec.Struct)) or cls.__name__ in seen:
        return
    seen[cls.__name__] = cls
    for field in msgspec.structs.fields(cls):
        stack: list[Any] = [field.type]
        while stack:
            typ = stack.pop()
            if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
                _structs(typ, seen)
            stack.extend(get_args(typ))


def command(args: argparse.Namespace) -> int:
    output = Output()
    problems: dict[str, str] = {}
    schema = config_schema(problems=problems)
    for name, why in problems.items():
        output.err.write(output.masked(f"llmops schema: platform {name!r} left out: {why}") + "\n")
    text = output.masked(json.dumps(schema, indent=args.indent if args.indent > 0 else None))
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        output.out.write(text + "\n")
    return EXIT_OK


def config_schema(
    platforms: dict[str, type] | None = None, *, problems: dict[str, str] | None = None
) -> dict[str, Any]:
    """The JSON Schema of an llmops config with the sections of ``platforms`` (name → Struct).

    Without ``platforms``, every known platform whose module imports is included; the others
    are recorded in ``problems`` (name → why).
    """
    from .._config import Settings

    if platforms is None:
        platforms = known_platform_types(problems)
    types: list[Any] = [Settings, *platforms.values()]
    refs, components = msgspec.json.schema_components(types, ref_template="#/$defs/{name}")
    seen: dict[str, type] = {}
    for cls in types:
        _structs(cls, seen)
    for name, cls in seen.items():
        if name in components:
            _describe_struct(components[name], cls)

    settings = components.pop("Settings")
    properties: dict[str, Any] = settings["properties"]
    properties["platform"] = {
        "description": properties["platform"].get("description", ""),
        "anyOf": [{"enum": sorted(platforms)}, {"type": "string"}],
    }
    properties["instrumentation"] = _instrumentation_schema(
        properties["instrumentation"].get("description", "")
    )
    for (name, cls), ref in zip(platforms.items(), refs[1:], strict=True):
        section = dict(ref)
        if cls.__doc__:
            section["description"] = _plain(inspect.cleandoc(cls.__doc__))
        properties[name] = section
    for prop in properties.values():  # `service: {$ref}`: say what the section is, in place
        ref = prop.get("$ref", "")
        target = components.get(ref.rpartition("/")[2]) if ref else None
        if target is not None and "description" in target:
            prop.setdefault("description", target["description"])
    _allow_interpolation(components)
    _allow_interpolation({"properties": properties})
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "llmops configuration",
        "description": "llmops.yaml, llmops.toml or [tool.llmops] of pyproject.toml. Every key "
        "is optional; ${VAR} and ${VAR:-default} read the environment.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "$defs": dict(sorted(components.items())),
    }
    return schema


def _instrumentation_schema(description: str) -> dict[str, Any]:
    """``instrumentation:``: ``auto`` / ``none`` / a boolean, or a boolean per catalogue
    entry with ``auto`` and ``strict``."""
    from .._instrumentors import AUTO_KEY, CATALOGUE, STRICT_KEY

    entries: dict[str, dict[str, Any]] = {
        key: {
            "type": "boolean",
            "description": f"{spec.package} (instruments {spec.library})",
        }
        for key, spec in CATALOGUE.items()
    }
    entries[AUTO_KEY] = {
        "type": "boolean",
        "description": "Apply every installed instrumentor not set here (false: only those "
        "set to true).",
        "default": True,
    }
    entries[STRICT_KEY] = {
        "type": "boolean",
        "description": "An enabled instrumentor that cannot run is an error, not a warning.",
        "default": False,
    }
    # "properties" and "pattern" each apply to one type only: objects and strings.
    return {
        "description": description,
        "default": "auto",
        "type": ["object", "boolean", "string"],
        "pattern": "^(auto|none)$",
        "properties": entries,
        "additionalProperties": False,
    }


def known_platform_types(problems: dict[str, str] | None = None) -> dict[str, type]:
    """Name → config Struct of every known platform that loads."""
    from .._registry import _default

    found: dict[str, type] = {}
    for name in _default.names():
        try:
            found[name] = _default.get(name).config_type
        except Exception as exc:
            if problems is not None:
                problems[name] = f"{type(exc).__name__}: {exc}"
    return found
