"""Exit when the collector refuses (issue 15): one last attempt per export, no backoff, then
the process goes, and every span that was not sent is counted.

OpenTelemetry's OTLP exporters sleep between retries on an event only their ``shutdown()``
sets; ``llmops._exporters.hurry`` sets that event alone at shutdown. With a 20 s bound, a
shutdown that still waited out the retries would take 20 s; here it takes a fraction of one.
The time is in ``docs/performance.md`` (figure 4); the test only tells waiting from not.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from tests.core_support import run_python
from tests.otlp_receiver import OtlpReceiver

_CHILD = """
import json, sys, time
import llmops

from llmops import _lifecycle

provider = llmops.instrument(config_path=sys.argv[1])
tracer = provider.get_tracer("exit")
for i in range(1000):
    span = tracer.start_span("s")
    span.set_attribute("i", i)
    span.end()
if sys.argv[2] == "backoff":  # the first full batch failed, its exporter sleeps to retry
    (guard,) = [p.guard for p in _lifecycle.current().pipelines]
    deadline = time.monotonic() + 30
    while not guard._failing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert guard._failing, "the exporter never started retrying"
began = time.monotonic()
llmops.shutdown()
took = time.monotonic() - began
stats = llmops.stats()
print(json.dumps({"took": took, "exported": stats.exported, "failed": stats.failed,
                  "dropped": stats.dropped, "abandoned": stats.abandoned,
                  "unconfirmed": stats.unconfirmed}))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(tmp_path: Path, endpoint: str, protocol: str, when: str = "queued") -> dict:
    config = tmp_path / "llmops.yaml"
    config.write_text(
        "platform: otlp\n"
        "tracing: {shutdown_timeout_s: 20, export_timeout_s: 20}\n"
        f"otlp: {{endpoint: '{endpoint}', protocol: {protocol}}}\n",
        encoding="utf-8",
    )
    result, _ = run_python(_CHILD, str(config), when, cwd=tmp_path, timeout=90)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("protocol", ["grpc", "http"])
@pytest.mark.parametrize("when", ["queued", "backoff"], ids=["spans-queued", "exporter-in-backoff"])
def test_a_refusing_collector_does_not_hold_shutdown(
    tmp_path: Path, protocol: str, when: str
) -> None:
    port = _closed_port()
    out = _run(tmp_path, f"http://127.0.0.1:{port}", protocol, when)
    assert out["took"] < 5.0, out  # waiting out the retries would take the 20 s bound
    counted = out["exported"] + out["failed"] + out["dropped"] + out["abandoned"]
    assert counted + out["unconfirmed"] == 1000, out
    assert out["exported"] == 0
    assert out["failed"] == 1000, out  # each batch had its one attempt


def test_a_collector_that_answers_still_gets_everything_at_shutdown(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        base = receiver.endpoint.removesuffix("/v1/traces")
        out = _run(tmp_path, base, "http")
        assert out["exported"] == 1000, out
        assert receiver.wait_for_spans(1000, timeout=10)


def test_a_collector_that_fails_gets_one_attempt_per_export_at_shutdown(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        receiver.mode = "error"
        receiver.error_status = 503  # retryable: the exporter would back off and retry
        base = receiver.endpoint.removesuffix("/v1/traces")
        out = _run(tmp_path, base, "http")
        assert out["took"] < 5.0, out
        assert out["failed"] == 1000, out
        assert receiver.requests == 2  # two batches of 512 and 488, one attempt each


def test_the_otlp_exporters_still_keep_the_events_hurry_sets() -> None:
    """``hurry`` reaches into the exporters: a new OpenTelemetry that renames these events
    must fail here, not silently bring the slow exit back."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    from llmops._exporters import hurry

    grpc_exporter = Grpc(endpoint="http://127.0.0.1:9", insecure=True)
    http_exporter = Http(endpoint="http://127.0.0.1:9/v1/traces")
    events = [
        grpc_exporter._shutdown_in_progress,
        http_exporter._client._shutdown_event,
    ]
    assert all(isinstance(e, threading.Event) and not e.is_set() for e in events)
    hurry(grpc_exporter)
    hurry(http_exporter)
    assert all(e.is_set() for e in events)
    assert not grpc_exporter._shutdown  # not shut down: the last attempt is still made
    assert not http_exporter._shutdown
    grpc_exporter.shutdown()
    http_exporter.shutdown()
