"""MkDocs hooks of the llmops site (``hooks:`` in ``mkdocs.yml``).

* The page ``config-reference.md`` holds a marker that is replaced, at build time, by tables
  rendered from ``llmops schema`` (the msgspec Structs), so the reference cannot drift from the
  code.
* Pages named in the navigation that do not exist yet (``performance.md``, ``reliability.md``
  while they are being written) are left out of it instead of failing ``--strict``, and pages
  that exist but are not in it yet are listed under "More" (titled by their first heading).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MARKER = "<!-- llmops:config-reference -->"


def on_config(config: Any) -> Any:
    docs = Path(config["docs_dir"])
    nav = _existing(config.get("nav") or [], docs)
    listed = set(_targets(nav))
    extra = [
        {_title(page): page.relative_to(docs).as_posix()}
        for page in sorted(docs.rglob("*.md"))
        if page.relative_to(docs).as_posix() not in listed
    ]
    if extra:
        nav.append({"More": extra})
    config["nav"] = nav
    return config


def _targets(nav: list[Any]) -> list[str]:
    found: list[str] = []
    for item in nav:
        target = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(target, list):
            found.extend(_targets(target))
        else:
            found.append(str(target))
    return found


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("-", " ").capitalize()


def _existing(nav: list[Any], docs: Path) -> list[Any]:
    kept: list[Any] = []
    for item in nav:
        if isinstance(item, dict):
            (title, target), *_ = item.items()
            if isinstance(target, list):
                children = _existing(target, docs)
                if children:
                    kept.append({title: children})
            elif "://" in str(target) or (docs / str(target)).is_file():
                kept.append(item)
        elif isinstance(item, str) and not (docs / item).is_file():
            continue
        else:
            kept.append(item)
    return kept


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render_reference())


def render_reference() -> str:
    """Markdown tables of every section of the config schema."""
    from llmops._cli._schema import config_schema

    schema = config_schema()
    defs = schema["$defs"]
    out: list[str] = []
    props = schema["properties"]
    out.append("## Top level\n")
    out.append(_table({k: v for k, v in props.items() if "$ref" not in v}, defs))
    for name, prop in props.items():
        ref = prop.get("$ref")
        if not ref:
            continue
        component = defs[ref.rpartition("/")[2]]
        out.append(f"\n## `{name}`\n")
        if component.get("description"):
            out.append(component["description"] + "\n")
        out.append(_table(component.get("properties", {}), defs))
    out.append(
        "\n## The JSON Schema\n\nGenerated with `llmops schema` for the platforms built in; "
        "run it yourself to include your in-house and installed platforms.\n\n"
        "<details><summary>llmops.schema.json</summary>\n\n```json\n"
        + json.dumps(schema, indent=2)
        + "\n```\n\n</details>\n"
    )
    return "\n".join(out)


def _table(properties: dict[str, Any], defs: dict[str, Any]) -> str:
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for key, prop in properties.items():
        if key == "instrumentation" and "properties" in prop:
            kinds = "map of instrumentor → bool"
        else:
            kinds = _type(prop, defs)
        default = json.dumps(prop["default"]) if "default" in prop else ""
        description = prop.get("description", "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{key}` | {kinds} | {f'`{default}`' if default else ''} | {description} |")
    out = "\n".join(rows) + "\n"
    instrumentation = properties.get("instrumentation", {}).get("properties")
    if instrumentation:
        out += "\n### `instrumentation` keys\n\n" + _table(instrumentation, defs)
    return out


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "anyOf" in prop:
        parts = [_type(p, defs) for p in prop["anyOf"] if p.get("pattern") is None]
        return " \\| ".join(dict.fromkeys(p for p in parts if p))
    if "$ref" in prop:
        return f"`{prop['$ref'].rpartition('/')[2]}`"
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    kind = prop.get("type", "")
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of {_type(prop['additionalProperties'], defs)}"
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list of {_type(prop['items'], defs)}"
    if kind == "null":
        return "`null`"
    bounds = []
    for word, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if word in prop:
            bounds.append(f"{sign} {prop[word]}")
    return f"{kind}" + (f" ({', '.join(bounds)})" if bounds else "")
