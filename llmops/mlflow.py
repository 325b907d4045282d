"""MLflow: ``llmops.mlflow.instrument()`` is ``llmops.instrument("mlflow")``.

>>> import llmops
>>> provider = llmops.mlflow.instrument(config_path="llmops.yaml")  # doctest: +SKIP
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
    """Set up tracing to MLflow; see :func:`llmops.instrument`."""
    return _instrument(Platform.MLFLOW, config_path=config_path)
