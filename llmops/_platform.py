"""The typed facade over the built-in platform names."""

from __future__ import annotations

import enum

__all__ = ["Platform"]


class Platform(enum.StrEnum):
    """The built-in platforms. Each member is also a plain string: ``Platform.ARIZE == "arize"``.

    >>> import llmops
    >>> llmops.instrument(llmops.Platform.ARIZE, config_path="llmops.yaml")  # doctest: +SKIP
    """

    ARIZE = "arize"
    """Arize Phoenix (self-hosted or Phoenix Cloud) and Arize AX, over OTLP."""
    MLFLOW = "mlflow"
    """An MLflow tracking server or a local MLflow store."""
    OTLP = "otlp"
    """Any OTLP backend, and the OpenTelemetry Collector in front of them."""
