"""Looking inside annotations: ``Annotated[...]``, ``X | None`` and containers, in one place."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

__all__ = ["mapping_value_type", "members", "struct_type", "unwrap"]


def unwrap(typ: Any) -> tuple[Any, tuple[Any, ...]]:
    """``(base, metadata)`` of ``Annotated[base, *metadata]``; ``(typ, ())`` otherwise."""
    if get_origin(typ) is Annotated:
        base, *metadata = get_args(typ)
        return base, tuple(metadata)
    return typ, ()


def members(typ: Any) -> tuple[Any, ...] | None:
    """The members of a union (``X | Y`` or ``Union[X, Y]``), or ``None``."""
    return get_args(typ) if get_origin(typ) in (Union, types.UnionType) else None


def struct_type(typ: Any) -> type[msgspec.Struct] | None:
    """The one Struct ``typ`` is, or holds as a union member; else ``None``."""
    typ, _ = unwrap(typ)
    if (found_members := members(typ)) is not None:
        found = [s for s in map(struct_type, found_members) if s is not None]
        return found[0] if len(found) == 1 else None
    if isinstance(typ, type) and issubclass(typ, msgspec.Struct):
        return typ
    return None


def mapping_value_type(typ: Any) -> Any:
    """The value type of the one ``dict[K, V]`` that ``typ`` is or holds; else ``None``."""
    typ, _ = unwrap(typ)
    if (found_members := members(typ)) is not None:
        found = [v for v in map(mapping_value_type, found_members) if v is not None]
        return found[0] if len(found) == 1 else None
    if get_origin(typ) is dict and len(get_args(typ)) == 2:
        return get_args(typ)[1]
    return None
