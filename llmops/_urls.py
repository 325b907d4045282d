"""Checks shared by the platforms for the URLs they send spans and credentials to."""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import SplitResult, urlsplit

from ._errors import ConfigurationError

__all__ = ["check_credentials_transport", "is_loopback", "split_url"]


def split_url(url: str, *, where: str, what: str, credentials_hint: str) -> SplitResult:
    """Split ``url`` and refuse what no collector URL should have: no host, a bad port,
    ``user:password@`` (``credentials_hint`` says where credentials go instead), a query.
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError as exc:
        port = "port" in str(exc).lower()
        problem = "'s port is not a number between 0 and 65535" if port else " is not a valid URL"
        raise ConfigurationError(f"{where}: {what}{problem}", field=where) from None
    if not parts.hostname:
        raise ConfigurationError(f"{where}: {what} has no host", field=where)
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(
            f"{where}: {what} must not contain credentials (user:password@); {credentials_hint}",
            field=where,
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{where}: {what} must not have a query or fragment", field=where)
    return parts


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_credentials_transport(
    url: str, *, has_credentials: bool, allow_insecure: bool, where: str, section: str
) -> None:
    """Refuse credentials over plain ``http://`` to a host that is not loopback, unless the
    config opts in (``<section>.allow_insecure: true``), and then log that it did."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not has_credentials or parts.scheme.lower() != "http" or is_loopback(host):
        return
    if not allow_insecure:
        raise ConfigurationError(
            f"{where}: credentials would travel unencrypted to {host}; use https://, "
            f"or set {section}.allow_insecure: true if this network is trusted",
            field=where,
        )
    logging.getLogger("llmops").warning(
        "llmops: sending credentials over plain http to %s (%s.allow_insecure)", host, section
    )
