"""A complete in-house platform: spans go to a JSON-lines file that an in-house pipeline ships.

    python examples/inhouse_platform.py            # writes and reads back ./acme-spans.jsonl

The same module is a plugin the command line can load; ``resolve`` is what ``llmops check``
shows and refuses, ``environment`` names the variable it reads, ``probes`` is what ``llmops
doctor`` checks:

    llmops check --import inhouse_platform --platform acme inhouse.yaml
    llmops doctor --import inhouse_platform --platform acme inhouse.yaml
    llmops run --import inhouse_platform --platform acme -- python app.py

The test suite runs this file (``tests/test_docs_examples.py``); ``docs/plugins.md`` shows it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import llmops
from llmops import Destination, PlatformSetup, Probe


class AcmeConfig(llmops.Section):
    """``acme:`` — the in-house platform's section of llmops.yaml."""

    path: str | None = None
    """The JSON-lines file the spans are appended to; else ``ACME_SPANS_PATH``; else
    ``acme-spans.jsonl``."""
    team: str | None = None
    """Added to every span's resource as ``acme.team``."""


class JsonLinesExporter(SpanExporter):
    """One JSON object per span, appended to a file. llmops batches it like any exporter."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [
            json.dumps(
                {
                    "name": span.name,
                    "trace_id": f"{span.context.trace_id:032x}" if span.context else None,
                    "span_id": f"{span.context.span_id:016x}" if span.context else None,
                    "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
                    "attributes": dict(span.attributes or {}),
                    "resource": dict(span.resource.attributes),
                }
            )
            for span in spans
        ]
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


@llmops.register_platform("acme")
class AcmePlatform:
    """Acme's span pipeline: a JSON-lines file per service."""

    config_type = AcmeConfig

    def environment(
        self, config: AcmeConfig, env: Mapping[str, str]
    ) -> Mapping[str, tuple[str, ...]]:
        return {"path": ("ACME_SPANS_PATH",)}

    def resolve(
        self, config: AcmeConfig, settings: llmops.Settings, env: Mapping[str, str]
    ) -> Destination:
        path = Path(config.path or env.get("ACME_SPANS_PATH") or "acme-spans.jsonl")
        if not path.parent.is_dir():
            raise llmops.ConfigurationError(
                f"$.acme.path: the folder {path.parent} does not exist", field="$.acme.path"
            )
        return Destination(
            description=f"Acme JSON lines at {path}",
            transport="custom",
            endpoint=str(path),
            resource_attributes={"acme.team": config.team or "unknown"},
        )

    def setup(self, destination: Destination, settings: llmops.Settings) -> PlatformSetup:
        return PlatformSetup(
            exporters=[JsonLinesExporter(Path(destination.endpoint))],
            resource_attributes=destination.resource_attributes,
            description=destination.description,
        )

    def probes(self, destination: Destination) -> list[Probe]:
        folder = Path(destination.endpoint).resolve().parent
        return [
            Probe(
                name="Acme file",
                kind="local",
                check=lambda _: None if os.access(folder, os.W_OK) else f"{folder} is not writable",
                detail=f"{destination.endpoint} can be written",
            )
        ]


def main() -> None:
    config = Path("acme.yaml")
    config.write_text("service: {name: checkout}\nacme: {path: acme-spans.jsonl, team: search}\n")
    provider = llmops.instrument("acme", config_path=config)
    with provider.get_tracer("example").start_as_current_span("charge-card") as span:
        span.set_attribute("amount_cents", 1250)
    llmops.shutdown()  # flushes the batch into the file
    for line in Path("acme-spans.jsonl").read_text().splitlines():
        record = json.loads(line)
        print(record["name"], record["resource"]["acme.team"], record["attributes"])


if __name__ == "__main__":
    main()
