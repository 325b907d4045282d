"""Throwaway certificates for TLS and mutual-TLS tests on loopback.

:func:`make_certificates` writes, into a directory, a fresh CA and two certificates it signs:
a server certificate for ``127.0.0.1``, ``::1`` and ``localhost`` (subjectAltName, extended key
usage serverAuth) and a client certificate (clientAuth). Keys are ECDSA P-256, PKCS#8 PEM,
unencrypted; certificates are valid for two days. Nothing is trusted
system-wide: pass :attr:`CertificateSet.ca_cert` to whatever should trust it::

    certs = make_certificates(tmp_path / "tls")
    server_context = certs.server_context(require_client_cert=True)
    ...  # a client trusting certs.ca_cert, presenting certs.client_cert / certs.client_key

It uses the ``cryptography`` package when it can be imported, else the ``openssl`` command.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["CertificateSet", "make_certificates"]

SERVER_NAMES: Final = ("127.0.0.1", "::1", "localhost")
_VALID_FOR: Final = datetime.timedelta(days=2)
_BACKDATE: Final = datetime.timedelta(hours=1)

Backend = Literal["auto", "cryptography", "openssl"]


@dataclass(frozen=True)
class CertificateSet:
    """PEM files of one throwaway CA and the server and client certificates it signed."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def server_context(self, *, require_client_cert: bool = False) -> ssl.SSLContext:
        """A server-side context with the server certificate; optionally demanding a client
        certificate signed by this CA (mutual TLS)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=self.ca_cert)
        return context

    def client_context(self, *, with_client_cert: bool = False) -> ssl.SSLContext:
        """A client-side context trusting only this CA; optionally presenting the client
        certificate."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        if with_client_cert:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


def make_certificates(
    directory: Path | str | None = None,
    *,
    common_name: str = "llmops test CA",
    backend: Backend = "auto",
) -> CertificateSet:
    """Create a CA, a server and a client certificate in ``directory`` (a new temporary
    directory when omitted; the caller removes it). Each call makes a different, unrelated CA.
    """
    target = (
        Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="llmops-tls-"))
    )
    target.mkdir(parents=True, exist_ok=True)
    certs = CertificateSet(
        directory=target,
        ca_cert=target / "ca.pem",
        ca_key=target / "ca.key",
        server_cert=target / "server.pem",
        server_key=target / "server.key",
        client_cert=target / "client.pem",
        client_key=target / "client.key",
    )
    if backend == "auto":
        backend = "cryptography" if _have_cryptography() else "openssl"
    if backend == "cryptography":
        _with_cryptography(certs, common_name)
    else:
        _with_openssl(certs, common_name)
    for key in (certs.ca_key, certs.server_key, certs.client_key):
        key.chmod(0o600)
    return certs


def _have_cryptography() -> bool:
    try:
        import cryptography.x509  # noqa: F401
    except ImportError:
        return False
    return True


# -- cryptography ----------------------------------------------------------------------------


def _with_cryptography(certs: CertificateSet, common_name: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "llmops tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def builder(
        subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALID_FOR)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(common_name)
    ca_cert = (
        builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_key(certs.ca_key, ca_key)
    certs.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())

    def leaf(cert_path: Path, key_path: Path, cn: str, server: bool) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        cert_builder = (
            builder(name(cn), ca_name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(authority_key_id, critical=False)
        )
        if server:
            alt_names: list[x509.GeneralName] = [
                x509.IPAddress(ipaddress.ip_address(host)) if _is_ip(host) else x509.DNSName(host)
                for host in SERVER_NAMES
            ]
            cert_builder = cert_builder.add_extension(
                x509.SubjectAlternativeName(alt_names), critical=False
            )
        cert = cert_builder.sign(ca_key, hashes.SHA256())
        write_key(key_path, key)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    leaf(certs.server_cert, certs.server_key, "127.0.0.1", server=True)
    leaf(certs.client_cert, certs.client_key, "llmops test client", server=False)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# -- openssl ---------------------------------------------------------------------------------

_OPENSSL_CONFIG: Final = """\
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {alt_names}
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _with_openssl(certs: CertificateSet, common_name: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("neither the cryptography package nor the openssl command is available")
    work = certs.directory
    days = str(_VALID_FOR.days)
    config = work / "openssl.cnf"  # self-contained: the system's openssl.cnf is not read
    alt_names = ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in SERVER_NAMES)
    config.write_text(_OPENSSL_CONFIG.format(alt_names=alt_names))

    def run(*args: str) -> None:
        subprocess.run(
            [openssl, *args],
            check=True,
            capture_output=True,
            timeout=30,
            cwd=work,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "OPENSSL_CONF": str(config)},
        )

    def new_key(path: Path) -> None:
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))

    new_key(certs.ca_key)
    run(
        "req", "-new", "-x509", "-config", str(config), "-extensions", "ca",
        "-key", str(certs.ca_key), "-out", str(certs.ca_cert), "-days", days,
        "-subj", f"/O=llmops tests/CN={common_name}",
    )  # fmt: skip
    for cert_path, key_path, cn, section in (
        (certs.server_cert, certs.server_key, "127.0.0.1", "server"),
        (certs.client_cert, certs.client_key, "llmops test client", "client"),
    ):
        new_key(key_path)
        csr = work / f"{section}.csr"
        run(
            "req", "-new", "-config", str(config), "-key", str(key_path), "-out", str(csr),
            "-subj", f"/O=llmops tests/CN={cn}",
        )  # fmt: skip
        run(
            "x509", "-req", "-in", str(csr), "-CA", str(certs.ca_cert), "-CAkey", str(certs.ca_key),
            "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", days, "-sha256",
            "-extfile", str(config), "-extensions", section, "-out", str(cert_path),
        )  # fmt: skip
        csr.unlink()
    config.unlink()
