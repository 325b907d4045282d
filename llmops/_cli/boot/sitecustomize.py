"""Loaded by every Python process that ``llmops run`` starts (its folder leads PYTHONPATH).

It runs any other ``sitecustomize`` the environment has (this one would hide it), imports the
modules of ``--import``, then calls ``llmops.instrument()`` with the platforms of ``--platform``
(``LLMOPS_RUN_PLATFORMS``, comma-separated) and the config of ``--config``
(``LLMOPS_CONFIG``). A failure is reported on stderr and never stops the program: it then runs
uninstrumented; the message is masked.
"""

from __future__ import annotations


def _chain_previous_sitecustomize(here: str) -> None:
    import importlib.machinery
    import importlib.util
    import os
    import sys

    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # Not importlib.util.find_spec: it answers with this module, already in sys.modules.
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None or spec.origin is None:
        return
    if os.path.dirname(os.path.abspath(spec.origin)) == here:  # pragma: no cover - defensive
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _boot() -> None:
    import os
    import sys

    if os.environ.get("LLMOPS_RUN_ACTIVE") != "1":
        return
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        _chain_previous_sitecustomize(here)
    except Exception as exc:
        sys.stderr.write(f"llmops run: the other sitecustomize failed: {exc!r}\n")
    try:
        import importlib

        for module in filter(None, os.environ.get("LLMOPS_RUN_IMPORTS", "").split(",")):
            importlib.import_module(module)
        import llmops

        names = [n for n in os.environ.get("LLMOPS_RUN_PLATFORMS", "").split(",") if n]
        llmops.instrument(names if len(names) > 1 else (names[0] if names else None))
    except Exception as exc:
        sys.stderr.write(
            f"llmops run: not instrumented, the program runs without tracing: "
            f"{type(exc).__name__}: {_masked(str(exc))}\n"
        )


def _masked(text: str) -> str:
    """``text`` without URI passwords and the values of the variables that hold secrets."""
    try:
        from llmops._cli._output import environment_secrets
        from llmops._masking import mask

        return mask(text, environment_secrets())
    except Exception:  # pragma: no cover - llmops itself failed to import
        return "(the error message is withheld: it could not be masked)"


_boot()
