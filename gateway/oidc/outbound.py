"""The one guarded HTTP client for requests the provider makes to clients' URLs.

Fetching a client's ``jwks_uri`` or ``sector_identifier_uri`` and delivering logout tokens
means the provider requests URLs chosen by others (server-side request forgery risk). Every such
request goes through ``fetch``/``post_form`` here: https only (http on loopback only when
``OUTBOUND_ALLOW_LOOPBACK`` is on, for development and tests), no private, link-local, metadata
or otherwise special addresses, no redirects, a short timeout and a response size cap.

Residual risk: the address is checked before connecting, so a hostile DNS server could answer
differently on the second lookup (rebinding); deployments should also restrict egress.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import current_app


class OutboundError(Exception):
    """The URL is not allowed, or the request failed; the message says which."""


@dataclass
class OutboundResponse:
    status: int
    body: bytes
    content_type: str

    def json(self):
        import json

        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise OutboundError("response is not JSON") from exc


def _addresses(host: str, port: int) -> list[ipaddress._BaseAddress]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise OutboundError(f"cannot resolve {host}") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str) -> None:
    """Raise ``OutboundError`` unless ``url`` may be requested from here."""
    config = current_app.config
    allow_loopback = config.get("OUTBOUND_ALLOW_LOOPBACK", False)
    parts = urlsplit(url)
    if not parts.hostname:
        raise OutboundError("URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundError("URL has an invalid port") from exc
    addresses = _addresses(parts.hostname, port)
    loopback_only = all(a.is_loopback for a in addresses)
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_loopback
                                        and loopback_only):
        raise OutboundError("only https URLs may be fetched")
    for address in addresses:
        if address.is_loopback and allow_loopback:
            continue
        if (address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified
                or (address.version == 6 and address.ipv4_mapped is not None)):
            raise OutboundError(f"{parts.hostname} resolves to a non-public address")


def _request(method: str, url: str, timeout: float | None = None, **kwargs) -> OutboundResponse:
    check_url(url)
    config = current_app.config
    limit = config.get("OUTBOUND_MAX_BYTES", 256 * 1024)
    try:
        with requests.request(
            method, url, timeout=timeout or config.get("OUTBOUND_TIMEOUT", 5),
            allow_redirects=False, stream=True,
            headers={"User-Agent": "vinhlong-eid-gateway"}, **kwargs,
        ) as response:
            body = b""
            for chunk in response.iter_content(16 * 1024):
                body += chunk
                if len(body) > limit:
                    raise OutboundError(f"response larger than {limit} bytes")
            return OutboundResponse(
                response.status_code, body, response.headers.get("Content-Type", "")
            )
    except requests.RequestException as exc:
        raise OutboundError(f"request failed: {exc.__class__.__name__}") from exc


def fetch(url: str) -> OutboundResponse:
    return _request("GET", url)


def post_form(url: str, data: dict, timeout: float | None = None) -> OutboundResponse:
    """POST ``data`` form-encoded; ``timeout`` (seconds) overrides ``OUTBOUND_TIMEOUT``."""
    return _request("POST", url, timeout=timeout, data=data)
