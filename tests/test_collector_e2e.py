"""End to end: llmops' ``otlp`` platform through a real collector, over TLS, and gzipped.

* **llmops -> rotel -> Phoenix.** rotel (``tests/servers/rotel.py``), a real OpenTelemetry
  collector, runs as a gateway on loopback in front of the session's Phoenix. llmops exports to
  rotel's OTLP/gRPC or OTLP/HTTP receiver (``otlp.endpoint`` / ``otlp.traces_endpoint``), rotel
  exports to Phoenix over OTLP/gRPC or OTLP/HTTP: all four pairs. ``otlp.resource_attributes``
  carries ``openinference.project.name`` through the collector, so Phoenix files the spans in a
  project of the test's own, which the test reads back from Phoenix's REST API: names, the
  parent-child link and the OpenInference attributes of the span tree.
* **TLS and mutual TLS**, llmops straight to a loopback receiver whose certificates the test
  makes (``tests/servers/tls.py``); rotel's receivers are plaintext only, and its exporter
  cannot present a client certificate. OTLP/HTTP and OTLP/gRPC, each with ``certificate_file``
  (TLS) and ``client_certificate_file`` / ``client_key_file`` (mutual TLS), from the ``otlp:``
  section and, with no TLS key in the file, from the ``OTEL_EXPORTER_OTLP_(TRACES_)*``
  variables. Negative: a CA that did not sign the receiver's certificate, or no client
  certificate where one is required: nothing is delivered and ``llmops.stats()`` counts the
  spans as failed.
* **gzip on the wire**: ``otlp.compression: gzip`` and ``OTEL_EXPORTER_OTLP_COMPRESSION=gzip``
  each make the OTLP/HTTP exporter send ``Content-Encoding: gzip``, and the receiver decodes
  the spans; without either the body is not compressed.
* ``otlp.certificate_file`` wins over ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` in the
  environment (requests would let them replace it; llmops' session keeps it). The other tests
  run without those two variables.

Every endpoint is a literal loopback address; the receivers bind 127.0.0.1 only.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

import pytest
import yaml

import llmops
from llmops import Platform
from llmops.testing import emit_span_tree
from tests.core_support import REQUIRE_E2E, clear_proxy_environment
from tests.otlp_receiver import (
    GrpcReceiver,
    OtlpReceiver,
    SpanIds,
    TlsReceiver,
    grpc_server_credentials,
)
from tests.servers.rotel import RotelCollector, binary_available, default_binary
from tests.servers.tls import CertificateSet, make_certificates

TYPE_CHECKING = False  # the package's convention: no typing import for it
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from llmops.testing.conformance import SpanTree
    from tests.servers.phoenix import PhoenixServer

pytestmark = pytest.mark.e2e

Transport = Literal["grpc", "http"]

DELIVERY_TIMEOUT = 10.0
"""Seconds to wait for spans llmops has already flushed (shutdown returned)."""
PHOENIX_TIMEOUT = 20.0
"""Seconds to wait for Phoenix to store spans that went through rotel."""
TRACING = {"schedule_delay_ms": 50, "shutdown_timeout_s": 2}
FAILING_TIMEOUT_S = 0.5
"""``otlp.timeout_s`` where an export must fail: its retries end well inside the shutdown
bound, so the spans are counted as failed, not abandoned."""
CLIENT_CN = "llmops test client"
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
# Resolved at import: every test clears LLMOPS_* (LLMOPS_ROTEL_BIN included).
_ROTEL_BIN = default_binary()

# The OpenInference attributes of the span tree that must arrive unchanged, through rotel, in
# Phoenix (it moves openinference.span.kind to the span's span_kind).
PRESERVED = (
    "llm.model_name",
    "llm.provider",
    "llm.system",
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "llm.token_count.total",
    "input.value",
    "input.mime_type",
    "output.value",
    "output.mime_type",
    "session.id",
    "user.id",
)


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable either (the rest of the isolation, llmops reset: ``conftest.py``), and
    no ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``: requests lets them replace the CA file the
    OTLP/HTTP exporter was given (see :func:`test_certificate_file_wins_over_requests_ca_bundle`),
    and many CI images set them."""
    clear_proxy_environment(monkeypatch)
    for name in CA_BUNDLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def rotel_bin() -> Path:
    """The ``rotel-agent`` executable; skip (fail with ``LLMOPS_REQUIRE_E2E=1``) without it."""
    if not binary_available(_ROTEL_BIN):
        reason = (
            f"rotel-agent not found at {_ROTEL_BIN} "
            "(set LLMOPS_ROTEL_BIN, or run scripts/setup-dev.sh)"
        )
        if REQUIRE_E2E:
            pytest.fail(f"{reason}; LLMOPS_REQUIRE_E2E=1 requires it", pytrace=False)
        pytest.skip(reason)
    return _ROTEL_BIN


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertificateSet:
    """One throwaway CA, server and client certificate for the module (each test may still
    make an unrelated CA of its own)."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateSet:
    """Another CA, which signed none of the receivers' certificates."""
    return make_certificates(tmp_path_factory.mktemp("other-tls"), common_name="not this CA")


# -- helpers ---------------------------------------------------------------------------------


def _config(tmp_path: Path, otlp: dict[str, Any] | None) -> Path:
    """An llmops config with a fast tracing section and, when given, an ``otlp:`` section."""
    document: dict[str, Any] = {
        "service": {"name": "llmops-collector-e2e"},
        "tracing": dict(TRACING),
    }
    if otlp is not None:
        document["otlp"] = otlp
    path = tmp_path / "llmops.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _emit(config_path: Path, label: str) -> SpanTree:
    """Instrument with the ``otlp`` platform, make the span tree, shut down (which flushes)."""
    provider = llmops.instrument(Platform.OTLP, config_path=config_path)
    tree = emit_span_tree(provider, label=label)
    started = time.monotonic()
    llmops.shutdown()
    took = time.monotonic() - started
    assert took < TRACING["shutdown_timeout_s"] + 1.5, f"llmops.shutdown() took {took:.2f} s"
    return tree


def _assert_exported(count: int = 2) -> None:
    stats = llmops.stats()
    assert (stats.exported, stats.lost) == (count, 0), stats


def _assert_failed(count: int = 2) -> None:
    """Every span was counted as failed (not dropped or abandoned), none as exported."""
    stats = llmops.stats()
    assert (stats.exported, stats.failed, stats.dropped, stats.abandoned) == (0, count, 0, 0), stats
    assert stats.by_platform["otlp"].failed == count, stats


def _wait_for_tree(receiver: OtlpReceiver, tree: SpanTree) -> dict[str, SpanIds]:
    """The tree's spans as the receiver decoded them, by span id, once both arrived."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        with receiver.lock:
            mine = {s.span_id: s for s in receiver.ids if s.trace_id == tree.trace_id}
        if len(mine) >= 2 or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    assert set(mine) == {tree.root_span_id, tree.llm_span_id}, (
        f"trace {tree.trace_id}: got {list(mine.values())!r}; stats {llmops.stats()!r}"
    )
    return mine


def _assert_tree_received(receiver: OtlpReceiver, tree: SpanTree) -> None:
    """Both spans arrived once, with names, parent link and every attribute as sent."""
    mine = _wait_for_tree(receiver, tree)
    root, llm = mine[tree.root_span_id], mine[tree.llm_span_id]
    assert (root.name, llm.name) == (tree.root_name, tree.llm_name)
    assert root.parent_id is None
    assert llm.parent_id == tree.root_span_id
    assert root.attributes == dict(tree.root_attributes)
    assert llm.attributes == {
        k: list(v) if isinstance(v, tuple | list) else v for k, v in tree.llm_attributes.items()
    }
    assert len([s for s in receiver.ids if s.trace_id == tree.trace_id]) == 2, "a span twice"
    for span in receiver.spans:
        assert span.resource["service.name"] == "llmops-collector-e2e"
    _assert_exported()


def _project(label: str) -> str:
    return f"llmops-collector-{label}-{uuid.uuid4().hex[:10]}"


def _common_name(cert: dict[str, Any]) -> str | None:
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


# -- llmops -> rotel -> Phoenix -----------------------------------------------------------------


@pytest.fixture
def rotel(rotel_bin: Path, tmp_path: Path) -> Iterator[Any]:
    """``rotel(exporter_endpoint, **options)``: a started :class:`RotelCollector` (the caller
    uses it in a ``with``), its working directory in ``tmp_path``; stopped after the test
    whatever happened."""
    made: list[RotelCollector] = []

    def make(exporter_endpoint: str, **options: Any) -> RotelCollector:
        collector = RotelCollector(
            exporter_endpoint,
            binary=rotel_bin,
            working_dir=tmp_path / f"rotel-{len(made)}",
            **options,
        )
        made.append(collector)
        return collector

    yield make
    for collector in made:
        collector.close()


# (how llmops reaches rotel, how rotel reaches Phoenix)
ROUTES = [
    pytest.param("grpc", "grpc", id="grpc-rotel-grpc"),
    pytest.param("http-base", "http", id="http-rotel-http"),
    pytest.param("grpc", "http", id="grpc-rotel-http"),
    pytest.param("http-traces", "grpc", id="http-rotel-grpc"),
]


@pytest.mark.parametrize(("into", "out"), ROUTES)
def test_llmops_through_rotel_to_phoenix(
    phoenix_server: PhoenixServer,
    rotel: Any,
    tmp_path: Path,
    into: Literal["grpc", "http-base", "http-traces"],
    out: Transport,
) -> None:
    """The span tree goes llmops -> rotel -> Phoenix and is stored whole, in the project named
    by ``otlp.resource_attributes``."""
    project = _project(f"{into}-{out}")
    downstream = phoenix_server.grpc_endpoint if out == "grpc" else phoenix_server.base_url
    with rotel(downstream, exporter_protocol=out) as collector:
        otlp: dict[str, Any] = {"resource_attributes": {"openinference.project.name": project}}
        if into == "grpc":
            otlp |= {"protocol": "grpc", "endpoint": collector.grpc_endpoint}
        elif into == "http-base":  # a base URL: llmops appends /v1/traces
            otlp |= {"endpoint": f"http://127.0.0.1:{collector.http_port}"}
        else:
            otlp |= {"traces_endpoint": collector.http_endpoint}
        tree = _emit(_config(tmp_path, otlp), label=f"collector-{into}-{out}")
        _assert_exported()

        def arrived(spans: list[dict[str, Any]]) -> bool:
            return len([s for s in spans if s["context"]["trace_id"] == tree.trace_id]) >= 2

        try:
            spans = phoenix_server.wait_for_spans(project, arrived, timeout=PHOENIX_TIMEOUT)
        except TimeoutError as error:
            collector.check_alive()
            raise AssertionError(
                f"{error}\nrotel's log:\n{collector.log_tail()}\nPhoenix's log:\n"
                f"{phoenix_server.log_tail()}"
            ) from None
        collector.check_alive()

    by_id = {s["context"]["span_id"]: s for s in spans if s["context"]["trace_id"] == tree.trace_id}
    assert set(by_id) == {tree.root_span_id, tree.llm_span_id}, list(by_id.values())
    root, llm = by_id[tree.root_span_id], by_id[tree.llm_span_id]
    assert (root["name"], llm["name"]) == (tree.root_name, tree.llm_name)
    assert root.get("parent_id") is None
    assert llm["parent_id"] == tree.root_span_id
    assert (root["span_kind"], llm["span_kind"]) == ("CHAIN", "LLM")
    for sent, got in ((tree.root_attributes, root), (tree.llm_attributes, llm)):
        for key in PRESERVED:
            if key in sent:
                assert got["attributes"].get(key) == sent[key], (got["name"], key, got)


# -- TLS and mutual TLS, llmops straight to the receiver --------------------------------------


def _tls_receiver(
    transport: Transport, certs: CertificateSet, *, require_client_cert: bool
) -> TlsReceiver | GrpcReceiver:
    if transport == "http":
        return TlsReceiver(certs.server_context(require_client_cert=require_client_cert))
    return GrpcReceiver(grpc_server_credentials(certs, require_client_cert=require_client_cert))


def _tls_section(transport: Transport, receiver: TlsReceiver | GrpcReceiver) -> dict[str, Any]:
    """Where the ``otlp`` platform sends: ``https://127.0.0.1:PORT(/v1/traces)``."""
    if transport == "http":
        return {"traces_endpoint": receiver.endpoint}
    return {"protocol": "grpc", "endpoint": receiver.base_url}


def _tls_environment(
    monkeypatch: pytest.MonkeyPatch,
    transport: Transport,
    receiver: TlsReceiver | GrpcReceiver,
    files: dict[str, Path],
) -> None:
    """The same destination and TLS files as ``OTEL_EXPORTER_OTLP_*`` variables: the
    per-signal ``TRACES_`` ones for OTLP/HTTP, the general ones for gRPC."""
    names = {
        "certificate_file": "CERTIFICATE",
        "client_certificate_file": "CLIENT_CERTIFICATE",
        "client_key_file": "CLIENT_KEY",
    }
    if transport == "http":
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint)
        prefix = "OTEL_EXPORTER_OTLP_TRACES_"
    else:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        prefix = "OTEL_EXPORTER_OTLP_"
    for key, path in files.items():
        monkeypatch.setenv(prefix + names[key], str(path))


@pytest.mark.parametrize("source", ["file", "env"])
@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_tls_to_a_receiver_with_a_private_ca(
    certs: CertificateSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    transport: Transport,
    mutual: bool,
    source: Literal["file", "env"],
) -> None:
    """``certificate_file`` (and, for mutual TLS, ``client_certificate_file`` /
    ``client_key_file``) from the ``otlp:`` section or the OTel variables: delivered."""
    files: dict[str, Path] = {"certificate_file": certs.ca_cert}
    if mutual:
        files |= {"client_certificate_file": certs.client_cert, "client_key_file": certs.client_key}
    with _tls_receiver(transport, certs, require_client_cert=mutual) as receiver:
        if source == "file":
            section = _tls_section(transport, receiver) | {k: str(v) for k, v in files.items()}
            config = _config(tmp_path, section)
        else:
            _tls_environment(monkeypatch, transport, receiver, files)
            config = _config(tmp_path, None)
        tree = _emit(config, label=f"tls-{transport}")
        _assert_tree_received(receiver, tree)
        if isinstance(receiver, TlsReceiver):
            assert receiver.tls_errors == []
            assert receiver.peer_certs, "no TLS connection was recorded"
            names = {_common_name(cert) for cert in receiver.peer_certs}
            assert names == ({CLIENT_CN} if mutual else {None})


@pytest.mark.parametrize("case", ["wrong-ca", "no-client-cert", "no-ca-env"], ids=lambda case: case)
@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_tls_failures_are_counted_never_delivered(
    certs: CertificateSet,
    other_ca: CertificateSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    transport: Transport,
    case: str,
) -> None:
    """A server certificate signed by another CA than the one configured (in the file:
    ``wrong-ca``; through ``OTEL_EXPORTER_OTLP_CERTIFICATE`` with no TLS key in the file:
    ``no-ca-env``), or a receiver demanding a client certificate llmops does not present:
    nothing lands, and ``llmops.stats()`` counts both spans as failed."""
    mutual = case == "no-client-cert"
    with _tls_receiver(transport, certs, require_client_cert=mutual) as receiver:
        section = _tls_section(transport, receiver) | {"timeout_s": FAILING_TIMEOUT_S}
        if case == "wrong-ca":
            section["certificate_file"] = str(other_ca.ca_cert)
        elif case == "no-client-cert":
            section["certificate_file"] = str(certs.ca_cert)
        else:  # the wrong CA through the variable, nothing about TLS in the file
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(other_ca.ca_cert))
        _emit(_config(tmp_path, section), label=f"tls-fail-{transport}")
        _assert_failed()
        assert receiver.requests == 0
        assert receiver.spans == []
        if isinstance(receiver, TlsReceiver):
            errors = receiver.wait_for_tls_errors(1, timeout=DELIVERY_TIMEOUT)
            assert errors, "llmops never tried to connect"
            expected = "PEER_DID_NOT_RETURN_A_CERTIFICATE" if mutual else "UNKNOWN_CA"
            assert any(expected in error for error in errors), errors


# -- gzip on the wire ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["file", "env", "env-traces", "none"])
def test_gzip_on_the_wire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """``otlp.compression: gzip``, ``OTEL_EXPORTER_OTLP_COMPRESSION=gzip`` or its ``TRACES_``
    variant alone: every request is ``Content-Encoding: gzip`` and decodes to the spans; with
    none of them the body is sent as it is."""
    with OtlpReceiver() as receiver:
        section: dict[str, Any] = {"traces_endpoint": receiver.endpoint}
        if how == "file":
            section["compression"] = "gzip"
        elif how == "env":
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        elif how == "env-traces":
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
        tree = _emit(_config(tmp_path, section), label=f"gzip-{how}")
        _assert_tree_received(receiver, tree)
        encodings = {h.get("content-encoding") for h in receiver.headers}
        assert encodings == ({None} if how == "none" else {"gzip"}), receiver.headers
        assert {h.get("content-type") for h in receiver.headers} == {"application/x-protobuf"}


@pytest.mark.parametrize("variable", CA_BUNDLE_VARIABLES)
def test_certificate_file_wins_over_requests_ca_bundle(
    certs: CertificateSet,
    other_ca: CertificateSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    """``otlp.certificate_file`` is the CA llmops verifies the collector with, even where the
    environment names another bundle for requests (as CI images and corporate machines do)."""
    monkeypatch.setenv(variable, str(other_ca.ca_cert))
    with TlsReceiver(certs.server_context()) as receiver:
        section = {
            "traces_endpoint": receiver.endpoint,
            "certificate_file": str(certs.ca_cert),
            "timeout_s": FAILING_TIMEOUT_S,
        }
        tree = _emit(_config(tmp_path, section), label="tls-bundle")
        assert receiver.tls_errors == [], receiver.tls_errors
        _assert_tree_received(receiver, tree)
