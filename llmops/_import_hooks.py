"""Post-import hooks: run a function when the application imports a module.

``instrument()`` instruments every catalogue library the application imports, but imports none
itself: each entry waits here for its library. wrapt's ``register_post_import_hook`` does the
same, and importing wrapt 2 costs more than llmops' whole set-up does (it loads ``asyncio`` and
its own C extension: ``docs/performance.md``); this module is the part of it llmops needs.

>>> import sys
>>> from llmops._import_hooks import when_imported
>>> seen = []
>>> cancel = when_imported("sys", lambda module: seen.append(module.__name__))
>>> seen  # sys is always imported: the hook ran at once
['sys']
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["when_imported"]

Hook = Callable[[ModuleType], None]


class _Loader:
    """The module's own loader, then the hooks; everything else is the inner loader's."""

    def __init__(self, inner: Any, finder: _Finder, name: str) -> None:
        self._inner = inner
        self._finder = finder
        self._name = name

    def create_module(self, spec: Any) -> ModuleType | None:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its real loader, as if nothing had come between.
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        self._inner.exec_module(module)
        self._finder.fire(self._name, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Finder:
    """On ``sys.meta_path``: for a watched name, the spec the other finders give, with its
    loader wrapped so that the hooks run once the module has executed."""

    def __init__(self) -> None:
        self.hooks: dict[str, list[Hook]] = {}
        self._lock = threading.Lock()
        self._finding = threading.local()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        finding = self._finding.__dict__.setdefault("names", set())
        if name not in self.hooks or name in finding:
            return None
        finding.add(name)
        try:
            spec = self._spec_from_the_others(name, path, target)
        finally:
            finding.discard(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, self, name)
        return spec

    def _spec_from_the_others(self, name: str, path: Any, target: Any) -> Any:
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                return spec
        return None

    def add(self, name: str, hook: Hook) -> Callable[[], None]:
        with self._lock:
            self.hooks.setdefault(name, []).append(hook)

        def cancel() -> None:
            with self._lock:
                hooks = self.hooks.get(name, [])
                if hook in hooks:
                    hooks.remove(hook)
                if not hooks:
                    self.hooks.pop(name, None)

        return cancel

    def fire(self, name: str, module: ModuleType) -> None:
        with self._lock:
            hooks = self.hooks.pop(name, [])
        for hook in hooks:
            hook(module)  # each hook guards itself: it runs inside the application's import


def _once(hook: Hook) -> Hook:
    ran = threading.Event()

    def once(module: ModuleType) -> None:
        if not ran.is_set():
            ran.set()
            hook(module)

    return once


_finder: _Finder | None = None
_install_lock = threading.Lock()


def when_imported(name: str, hook: Hook) -> Callable[[], None]:
    """Run ``hook(module)`` once ``name`` is imported: now if it already is, else right after
    the application's import of it has executed the module. Returns a function that cancels a
    hook that has not run yet. ``hook`` must not raise: it runs inside an ``import``."""
    global _finder
    hook = _once(hook)
    module = sys.modules.get(name)
    if module is not None:
        hook(module)
        return lambda: None
    with _install_lock:
        if _finder is None or _finder not in sys.meta_path:
            _finder = _Finder()
            sys.meta_path.insert(0, _finder)
        finder = _finder
    cancel = finder.add(name, hook)
    module = sys.modules.get(name)
    if module is not None:  # imported by another thread meanwhile
        cancel()
        hook(module)
    return cancel
