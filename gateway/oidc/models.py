"""Protocol records: clients, grants, tokens, signing keys, session endings and participants,
logout deliveries.

Codes, tokens and session handles are stored only as SHA-256 digests: a copy of the database
does not let anyone redeem them. Client secrets likewise (they are high-entropy, so a fast hash
is right; passwords use argon2id).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime
from urllib.parse import urlsplit

from authlib.integrations.sqla_oauth2 import OAuth2ClientMixin
from authlib.oauth2.rfc6749 import list_to_scope, scope_to_list
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


def digest(value: str) -> str:
    """SHA-256 hex digest of a bearer secret (code, token, cookie handle, client secret)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _same_loopback_uri_but_port(requested: str, registered: str) -> bool:
    """True when both are ``http`` URIs on the same loopback IP literal and differ at most in
    the port (RFC 8252 §7.3; ``localhost`` is not a literal, §8.3)."""
    try:
        a, b = urlsplit(requested), urlsplit(registered)
        a.port, b.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return False
    if a.scheme != "http" or b.scheme != "http" or a.hostname != b.hostname:
        return False
    try:
        if not ipaddress.ip_address(a.hostname or "").is_loopback:
            return False
    except ValueError:
        return False
    return (a.path, a.query, a.fragment, a.username, a.password) == (
        b.path, b.query, b.fragment, b.username, b.password
    )


class ClientRules:
    """How the gateway reads a client's registration (over Authlib's ``ClientMixin``
    attributes: ``client_id``, ``client_secret`` — a digest —, ``client_metadata``): shared by
    the row (``OAuth2Client``) and the value the protocol uses (``storage.Client``)."""

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time comparison of digests (Authlib's mixin compares plain text)."""
        if not self.client_secret or not client_secret or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.client_secret, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # The client authenticates the same way wherever it presents its credentials: a
        # confidential client must not get by at /revoke or /introspect with its client_id alone.
        if endpoint in ("token", "revocation", "introspection"):
            return method == self.token_endpoint_auth_method
        return True

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match (RFC 9700 §2.1), except the port of a loopback redirect URI of a
        native app (a public client), which RFC 8252 §7.3 requires to be free."""
        if redirect_uri in self.redirect_uris:
            return True
        return self.is_public and any(
            _same_loopback_uri_but_port(redirect_uri, registered)
            for registered in self.redirect_uris
        )

    def get_allowed_scope(self, scope: str) -> str:
        """Narrow the request to the scopes this client is registered for (RFC 6749 §3.3);
        ``offline_access`` is allowed to clients registered for the ``refresh_token`` grant."""
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        if self.check_grant_type("refresh_token"):
            allowed.add("offline_access")
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    @property
    def is_resource_server(self) -> bool:
        """May call the introspection endpoint (RFC 7662 §2.1): set by ``create-client
        --resource-server``."""
        return bool(self.client_metadata.get("resource_server"))

    @property
    def resource_indicators(self) -> list[str]:
        """The resources (RFC 8707) this resource server answers for: ``create-client
        --resource``; an access token for one of them has it as ``aud``."""
        return self.client_metadata.get("resource_indicators") or []

    @property
    def allowed_resources(self) -> list[str]:
        """The APIs (RFC 8707 resource indicators) this client may get access tokens for:
        ``create-client --allowed-resource``; none unless an administrator said so."""
        return self.client_metadata.get("allowed_resources") or []

    @property
    def access_token_format(self) -> str:
        """``jwt`` for RFC 9068 access tokens, else ``opaque`` (gateway client metadata)."""
        return self.client_metadata.get("access_token_format") or "opaque"

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def id_token_signed_response_alg(self) -> str:
        return self.client_metadata.get("id_token_signed_response_alg") or "RS256"

    @property
    def post_logout_redirect_uris(self) -> list[str]:
        return self.client_metadata.get("post_logout_redirect_uris", [])

    @property
    def sector_identifier(self) -> str | None:
        """OIDC Core §8.1: host of ``sector_identifier_uri``, else of the redirect URIs (which
        registration keeps to a single host when a pairwise client has no sector URI)."""
        from urllib.parse import urlsplit

        uri = self.client_metadata.get("sector_identifier_uri") or (self.redirect_uris or [None])[0]
        return urlsplit(uri).hostname if uri else None



class OAuth2Client(db.Model, ClientRules, OAuth2ClientMixin):
    """A registered relying party (an agency's app); metadata per RFC 7591 §2."""

    __tablename__ = "oauth2_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    #: RFC 7592 §1.1: digest of the registration access token (dynamically registered clients).
    registration_access_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The initial access token (and so the agency) that registered this client, if any.
    initial_access_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("initial_access_tokens.id", ondelete="SET NULL")
    )

    __table_args__ = (Index("ix_oauth2_clients_client_id_unique", "client_id", unique=True),)

    def set_client_secret(self, secret: str | None) -> None:
        self.client_secret = digest(secret) if secret else None

    def __repr__(self) -> str:
        return f"<OAuth2Client {self.client_id}>"


class InitialAccessToken(db.Model):
    """RFC 7591 §3: a bearer token an administrator issues to one agency so it can register its
    apps. Only the digest is stored; the agency's name, level and administrative-unit code are
    copied into the metadata of every client it registers."""

    __tablename__ = "initial_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    agency_name: Mapped[str] = mapped_column(String(200))
    #: ``province``, ``district`` or ``commune`` (docs/domain.md §4).
    agency_level: Mapped[str] = mapped_column(String(10))
    administrative_unit_code: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
    #: How many clients it may register; None for no limit until it expires.
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[int | None] = mapped_column(Integer)


class SigningKey(db.Model):
    """A private JWK that signs tokens, from ``activates_at`` until a newer key of its ``kty``
    activates; published in the JWKS from its creation until the tokens it signed have expired
    (``gateway/oidc/keys.py`` derives each key's state from these times)."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    kty: Mapped[str] = mapped_column(String(8))
    #: The private JWK: a Fernet token when ``encrypted``, else its JSON (development only).
    private_jwk: Mapped[str] = mapped_column(Text)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    #: Seconds since the epoch (the gateway clock) from which it signs; 0 for the first keys
    #: (``init-db``): from the start.
    activates_at: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid} {self.kty}>"


class SessionEnding(db.Model):
    """That an SSO session ended, and why (``session_store``): written with the revoked tokens
    and the queued logout deliveries in one commit; its primary key, the ``sid``, lets exactly
    one ender of a session win. The live session itself is in the hot store."""

    __tablename__ = "session_endings"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    #: ``logout``, ``expired`` or ``idle`` (``logout.REASON_*``).
    reason: Mapped[str] = mapped_column(String(10))
    ended_at: Mapped[int] = mapped_column(Integer, index=True)


class CodeSignInMixin:
    """``authlib.oidc.core.AuthorizationCodeMixin`` over the attributes a live code
    (``code_store.IssuedCode``) and the grant it becomes (``AuthorizationCode``) share."""

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list | None:
        return self.amr or None


class AuthorizationCode(CodeSignInMixin, db.Model):
    """The grant a redeemed authorization code became (``code_store``): the sign-in the tokens
    issued from it rest on, read again by every refresh and by introspection, and what a
    replayed code's tombstone leads to, to revoke those tokens (RFC 6749 §4.1.2, RFC 9700
    §4.2.4). Written when the code is redeemed, with the tokens; the live code itself is in the
    hot store."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(48))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str | None] = mapped_column(String(40))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    #: The ``claims`` request parameter (OIDC Core §5.5), parsed.
    claims: Mapped[dict | None] = mapped_column(JSON)
    #: The representation the person acts under (issue 4 §6), re-checked when claims are made.
    representation_id: Mapped[int | None] = mapped_column(Integer)
    #: The resource indicator of the authorization request (RFC 8707 §2.1), if any.
    resource: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    issued_at: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(Integer)


class Token(db.Model):
    """An access token and, for offline access, a refresh token, stored as digests (RFC 6750,
    RFC 6749 §6).

    Tokens issued from one authorization code, and those issued by refreshing them, form a
    *family* (``family_id``): a refresh token is rotated on every use (``refresh_token_used_at``)
    and reusing a rotated one revokes the whole family (RFC 9700 §4.14.2). Read as
    ``token_store.StoredToken`` values."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(48))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    authorization_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("authorization_codes.id", ondelete="SET NULL"), index=True
    )
    sid: Mapped[str | None] = mapped_column(String(64))
    token_type: Mapped[str] = mapped_column(String(20), default="Bearer")
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[int] = mapped_column(Integer)
    expires_in: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(Integer)
    # -- token lifecycle (refresh families, formats); see docs/operations.md for the upgrade --
    #: Every token descended from one grant (a code exchange or a client credentials request).
    family_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The token whose refresh token was exchanged for this one.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"))
    #: When the family started (the code exchange): the absolute refresh lifetime counts from it.
    family_issued_at: Mapped[int | None] = mapped_column(Integer)
    #: The scope the refresh token carries (RFC 6749 §6: kept whole when a refresh narrows the
    #: access token's ``scope``).
    grant_scope: Mapped[str | None] = mapped_column(Text)
    #: Set when the refresh token was exchanged (rotated); a second use is a replay.
    refresh_token_used_at: Mapped[int | None] = mapped_column(Integer)
    #: ``opaque`` or ``jwt`` (RFC 9068).
    access_token_format: Mapped[str] = mapped_column(String(10), default="opaque")
    #: The resource indicator the access token is for (RFC 8707): its ``aud``; None for the
    #: client's own ``client_id``. Kept by the refresh tokens of the family.
    resource: Mapped[str | None] = mapped_column(Text)


# -- single logout (OpenID Connect Back-Channel Logout 1.0, Front-Channel Logout 1.0) -----------


class SessionParticipant(db.Model):
    """A client that received tokens within an SSO session (``sid``): the clients to tell when
    that session ends (Back-Channel Logout §2.7, Front-Channel Logout §3)."""

    __tablename__ = "session_participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(48))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_session_participants_sid_client", "sid", "client_id", unique=True),
    )


class LogoutDelivery(db.Model):
    """One back-channel logout to deliver to one client (Back-Channel Logout §2.5), retried with
    exponential backoff until delivered or ``failed``.

    ``claims`` holds the logout token's subject claims (``aud``, ``sub``, ``sid``) and why the
    session ended (``reason``: ``logout``, ``expired`` or ``idle``; not put in the token); the
    token is signed afresh at each attempt (new ``iat``, ``exp``, ``jti``), so it stays
    short-lived however long the retries take. It names a person's session and nothing secret.
    """

    __tablename__ = "logout_deliveries"
    __table_args__ = (Index("ix_logout_deliveries_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48))
    uri: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(64))
    claims: Mapped[dict] = mapped_column(JSON)
    #: ``pending`` (waiting for an attempt), ``delivered`` or ``failed`` (attempts used up).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[int | None] = mapped_column(Integer)
    last_attempt_at: Mapped[int | None] = mapped_column(Integer)
    #: HTTP status of the last attempt, or None when it got no response.
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    #: Why the last attempt failed (no response, or an unexpected status), else None.
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[int | None] = mapped_column(Integer)
    #: Every attempt's outcome: ``[{"at", "status_code", "error"}]``.
    history: Mapped[list] = mapped_column(JSON, default=list)
