"""Arize Phoenix and Arize AX: ``llmops.arize.instrument()`` is ``llmops.instrument("arize")``.

>>> import llmops
>>> provider = llmops.arize.instrument(config_path="llmops.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

import os

from ._lifecycle import instrument as _instrument
from ._platform import Platform

TYPE_CHECKING = False  # one convention for the package: typing stays out of `import llmops`
if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["instrument"]


def instrument(*, config_path: str | os.PathLike[str] | None = None) -> TracerProvider:
    """Set up tracing to Phoenix / Arize AX; see :func:`llmops.instrument`."""
    return _instrument(Platform.ARIZE, config_path=config_path)
