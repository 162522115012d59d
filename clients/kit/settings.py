"""Relying-party settings: defaults, then a JSON file named by ``PORTAL_CONFIG``, then
``PORTAL_*`` environment variables (later layers win).

The keys are the OpenID Connect names where one exists (``client_id``, ``client_secret``,
``scope``). An empty ``client_secret`` makes the portal a public client: it authenticates at the
token endpoint with ``none`` and relies on PKCE (RFC 7636) alone.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Keys a deployment may set, each read from ``PORTAL_<KEY>`` or the JSON file's ``<key>``.
SETTING_KEYS = ("issuer", "client_id", "client_secret", "base_url", "secret_key", "scope")

DEFAULTS = {
    # The gateway's issuer identifier; discovery is read from <issuer>/.well-known/...
    "issuer": "http://127.0.0.1:5000",
    # Where this portal is reached by browsers; redirect_uri and post_logout_redirect_uri are
    # built from it, never from the request's Host header.
    "base_url": "http://127.0.0.1:5001",
    "scope": "openid profile",
}


class SettingsError(ValueError):
    """The portal cannot start with these settings."""


@dataclass(frozen=True)
class PortalSettings:
    issuer: str
    client_id: str
    base_url: str
    secret_key: str
    scope: str = "openid profile"
    client_secret: str | None = None
    #: Browsers do not isolate cookies by port, and the gateway and both portals share
    #: 127.0.0.1 in the demo, so each portal needs its own cookie name.
    session_cookie_name: str = "portal_session"

    @property
    def is_public_client(self) -> bool:
        return not self.client_secret

    @property
    def token_endpoint_auth_method(self) -> str:
        return "none" if self.is_public_client else "client_secret_basic"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"{self.base_url}/logged-out"

    @property
    def server_metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def load_settings(
    defaults: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    session_cookie_name: str = "portal_session",
) -> PortalSettings:
    """Build settings from ``defaults`` < ``$PORTAL_CONFIG`` JSON file < ``PORTAL_*`` variables."""
    environ = os.environ if environ is None else environ
    values: dict[str, str | None] = {**DEFAULTS, **(defaults or {})}

    config_path = environ.get("PORTAL_CONFIG")
    if config_path:
        values.update(_read_config_file(Path(config_path)))
    for key in SETTING_KEYS:
        env_name = f"PORTAL_{key.upper()}"
        if env_name in environ:
            values[key] = environ[env_name]

    if not values.get("client_id"):
        raise SettingsError("PORTAL_CLIENT_ID is required (the client_id the gateway issued).")
    for key in ("issuer", "base_url"):
        if not values.get(key):
            raise SettingsError(f"PORTAL_{key.upper()} must not be empty.")
    scope = values.get("scope") or DEFAULTS["scope"]
    if "openid" not in scope.split():
        raise SettingsError("PORTAL_SCOPE must include 'openid'.")

    return PortalSettings(
        issuer=values["issuer"].rstrip("/"),
        client_id=values["client_id"],
        client_secret=values.get("client_secret") or None,
        base_url=values["base_url"].rstrip("/"),
        # A generated key only lives as long as the process: sign-ins end on restart.
        secret_key=values.get("secret_key") or secrets.token_urlsafe(32),
        scope=scope,
        session_cookie_name=session_cookie_name,
    )


def _read_config_file(path: Path) -> dict[str, str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"Cannot read PORTAL_CONFIG file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"PORTAL_CONFIG file {path} must hold a JSON object.")
    unknown = sorted(set(data) - set(SETTING_KEYS))
    if unknown:
        raise SettingsError(f"Unknown keys in {path}: {', '.join(unknown)}")
    return {key: data[key] for key in SETTING_KEYS if key in data}
