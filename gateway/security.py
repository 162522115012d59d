"""Response headers that every page carries (RFC 9700 §4.16 clickjacking, §4.2 referrer leakage),
and the origin check of the people's forms (with Flask-WTF's token: ``extensions.csrf``)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from flask import abort, current_app, g, request
from flask_wtf.csrf import CSRFError

CSP = (
    "default-src 'self'; img-src 'self' data:{img_src}; style-src 'self'; script-src 'self'; "
    "frame-src 'self'{frame_src}; frame-ancestors 'none'; form-action 'self' {form_action}; "
    "base-uri 'none'; object-src 'none'"
)


def set_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html":
        # form-action must allow the redirect after a form post to a client's redirect_uri.
        headers.setdefault("Content-Security-Policy", CSP.format(
            form_action="http: https:", img_src="".join(f" {o}" for o in g.get("img_origins", ())),
            frame_src="".join(f" {o}" for o in g.get("frame_origins", ())),
        ))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cache-Control", "no-store")
    # RFC 6797 §7.2: only over https (as the request arrived at the proxy: ``ProxyFix`` with
    # ``TRUSTED_PROXY_COUNT``), never on plain http, and only when the issuer itself is https.
    if current_app.config["ISSUER"].startswith("https://") and request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


#: ``Sec-Fetch-Site`` values of a request made by a page of the gateway's own origin, or by the
#: person (``none``: typed, a bookmark). ``same-site`` is another origin of the same site (a
#: sibling subdomain), ``cross-site`` anybody else: refused.
_OWN_FETCH_SITES = frozenset({"same-origin", "none"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> str | None:
    """The ASCII serialisation of ``url``'s origin (RFC 6454 §6.2: lower-case scheme and host,
    the port only when it is not the scheme's default), or None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


def own_origin() -> str:
    """The gateway's origin: its ``ISSUER``'s scheme, host and port."""
    return _origin_of(current_app.config["ISSUER"])


def cross_origin_reason() -> str | None:
    """Why this request cannot have come from one of the gateway's own pages, or None.

    The pages send ``Referrer-Policy: no-referrer``, so their forms arrive with no ``Referer``
    (Flask-WTF's ``WTF_CSRF_SSL_STRICT`` Referer check would refuse every one of them) and, by
    the Fetch standard's origin serialisation, with ``Origin: null``. What a browser says is
    checked instead: ``Sec-Fetch-Site`` (Fetch Metadata; sent whatever the referrer policy)
    must be ``same-origin`` or ``none``; an ``Origin`` other than ``null`` and a ``Referer``,
    when present, must be the issuer's origin. ``Origin: null`` proves nothing either way (a
    sandboxed frame elsewhere sends it too): then ``Sec-Fetch-Site`` and the CSRF token decide.
    A request with none of the three (an old browser, a script) is left to the token.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.strip().lower() not in _OWN_FETCH_SITES:
        return "The form was sent from another site (Sec-Fetch-Site)."
    origin = request.headers.get("Origin")
    if origin is not None and origin.strip() != "null" and _origin_of(origin) != own_origin():
        return "The form was sent from another origin (Origin)."
    referrer = request.headers.get("Referer")
    if referrer and _origin_of(referrer) != own_origin():
        return "The form was sent from another origin (Referer)."
    return None


def refuse_cross_origin() -> None:
    """Raise ``CSRFError`` (the error page, 400) when :func:`cross_origin_reason` gives one."""
    reason = cross_origin_reason()
    if reason is not None:
        raise CSRFError(reason)


_HOST = re.compile(r"[a-z0-9.-]{1,253}")


def allow_client_logo(client) -> None:
    """Let this page load the client's registered ``logo_uri`` (https only, checked at
    registration), and nothing else from its origin's neighbours."""
    uri = client.logo_uri if client is not None else None
    if not uri:
        return
    parts = urlsplit(uri)
    # Rebuilt from the parsed host, so nothing but an origin can reach the header.
    if parts.scheme == "https" and parts.hostname and _HOST.fullmatch(parts.hostname):
        port = f":{parts.port}" if parts.port else ""
        g.img_origins = (*g.get("img_origins", ()), f"https://{parts.hostname}{port}")


def allow_frames(uris) -> None:
    """Let this page frame these URLs' origins: the logged-out page loads the clients'
    ``frontchannel_logout_uri`` in iframes (Front-Channel Logout 1.0 §3)."""
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme in ("http", "https") and parts.hostname and _HOST.fullmatch(
                parts.hostname):
            port = f":{parts.port}" if parts.port else ""
            origin = f"{parts.scheme}://{parts.hostname}{port}"
            if origin not in g.get("frame_origins", ()):
                g.frame_origins = (*g.get("frame_origins", ()), origin)


def refuse_nul_bytes():
    """A NUL byte in a parameter or path is never meaningful here, and PostgreSQL text columns
    refuse it (a 500 deep in a query): answer 400 before any view runs (JSON for protocol
    endpoints, a page for people, by ``errors.handle_http_exception``)."""
    values = [*(request.view_args or {}).values()]
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        values += [text for item in source.items(multi=True) for text in item]
    if any("\x00" in str(value) for value in values):
        abort(400, description="A parameter holds a NUL byte.")


def init_app(app) -> None:
    app.before_request(refuse_nul_bytes)
    app.after_request(set_security_headers)


class TrustedProxyFix:
    """``werkzeug``'s ``ProxyFix`` (``X-Forwarded-For``, ``-Proto``, ``-Host``, ``count`` proxies
    deep) for requests whose peer is in ``networks`` (``TRUSTED_PROXY_NETWORKS``: the reverse
    proxy); anybody else reaching the server directly is seen as they are, whatever
    ``X-Forwarded-*`` they write (so they cannot pick the address a throttle counts)."""

    def __init__(self, app, count: int, networks):
        from werkzeug.middleware.proxy_fix import ProxyFix

        self.app = app
        self.fixed = ProxyFix(app, x_for=count, x_proto=count, x_host=count)
        self.networks = [ipaddress.ip_network(network, strict=False) for network in networks]

    def trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False  # a Unix socket has no address: only the proxy can reach it
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
