"""Issue 13, defect 11: no log floods. What the SDK writes per attribute or per span on the
application's threads, and what gRPC's C core writes to stderr on its own, come under the
one-line-per-problem rule: the first line passes, repeats are held back and counted.

Each case runs in a fresh interpreter with Python's default logging (the last-resort handler
writes WARNING and above to stderr), as an application that configured nothing would.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core_support import run_python
from tests.reliability_support import record

ATTRIBUTES_APP = textwrap.dedent(
    """
    import json, sys
    import llmops
    from opentelemetry import trace

    llmops.instrument("arize", config_path=sys.argv[1])
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("wide") as span:
        for i in range(10_000):
            span.set_attribute(f"k{i}", i)
    tracer.start_span("wide-at-start", attributes={f"a{i}": i for i in range(10_000)}).end()
    llmops.shutdown()
    print("REPORT " + json.dumps({"exported": llmops.stats().exported}), flush=True)
    """
)


def _report(stdout: str) -> dict[str, int]:
    line = next(x for x in stdout.splitlines() if x.startswith("REPORT "))
    return dict(json.loads(line[len("REPORT ") :]))


def test_ten_thousand_attributes_write_one_line_not_ten_thousand(tmp_path: Path) -> None:
    from tests.otlp_receiver import OtlpReceiver

    with OtlpReceiver() as receiver:
        config = tmp_path / "llmops.yaml"
        config.write_text(f"arize: {{endpoint: '{receiver.endpoint}'}}\n", encoding="utf-8")
        result, _ = run_python(ATTRIBUTES_APP, str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    record(
        "10,000 attributes on each of two spans (default limit 128)",
        stderr_lines=len(lines),
        stderr_bytes=len(result.stderr),
        first=lines[:1],
    )
    assert _report(result.stdout)["exported"] == 2
    # The SDK's line, once, saying that repeats are held back (it wrote 9,872 per span).
    assert len(lines) == 1, lines[:5]
    assert "Attributes dict is full" in lines[0]
    assert "repeats are held back for 60 s" in lines[0]


GRPC_APP = textwrap.dedent(
    """
    import sys
    import llmops
    from opentelemetry import trace

    llmops.instrument("arize", config_path=sys.argv[1])
    tracer = trace.get_tracer("app")
    for i in range(3):
        tracer.start_span(f"s{i}").end()
        llmops._lifecycle.current().provider.force_flush(3000)
    llmops.shutdown()
    """
)

C_CORE_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]")
"""gRPC's C core (absl) log line: ``I1201 11:09:25.917815 19823 file.cc:2563] ...``."""


@pytest.fixture
def plain_tcp_server() -> Iterator[int]:
    """A loopback port that accepts and answers garbage: a TLS handshake against it fails."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\nnot tls\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(5)
    server.close()


def test_grpc_core_lines_stay_off_stderr(tmp_path: Path, plain_tcp_server: int) -> None:
    """A TLS gRPC exporter against a plain port: the C core writes "Handshake failed" per
    attempt; llmops keeps it to its own one warning per failure streak."""
    config = tmp_path / "llmops.yaml"
    config.write_text(
        "tracing: {export_timeout_s: 1, shutdown_timeout_s: 2}\n"
        f"arize: {{endpoint: 'https://127.0.0.1:{plain_tcp_server}', protocol: grpc}}\n",
        encoding="utf-8",
    )
    result, _ = run_python(GRPC_APP, str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    core = [line for line in lines if C_CORE_LINE.match(line)]
    record("gRPC TLS exporter against a plain TCP port", core_lines=len(core), lines=lines[:4])
    assert not core, core[:4]
    ours = [line for line in lines if line.startswith("llmops: platform 'arize'")]
    assert len(ours) == 1, lines
    assert f"127.0.0.1:{plain_tcp_server}" in ours[0]  # the warning names where it sends


def test_an_application_choice_of_grpc_verbosity_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmops._log_filters import quiet_grpc_core

    monkeypatch.setenv("GRPC_VERBOSITY", "DEBUG")
    assert quiet_grpc_core() is False
    monkeypatch.delenv("GRPC_VERBOSITY")
    monkeypatch.setenv("GRPC_TRACE", "handshaker")
    assert quiet_grpc_core() is False
