"""The authorization code grant with OpenID Connect and PKCE, as Authlib subclasses.

- RFC 6749 §4.1 with codes single-use, short-lived, bound to client, ``redirect_uri`` and the
  PKCE challenge; a replayed code revokes what it issued (§4.1.2, RFC 9700 §4.2.4).
- RFC 7636 restricted to ``S256`` and required for public clients (RFC 9700 §2.1.1).
- OIDC Core §11: ``offline_access`` kept only with ``prompt=consent`` (refresh tokens come from
  ``access_tokens``/``refresh``).
- OpenID Connect Core §3.1: ``redirect_uri`` required, ``nonce`` replay refused, ID token with
  ``sid`` (Front/Back-Channel Logout §2/§3), ``auth_time``, ``acr``, ``amr``, ``at_hash``.
- RFC 8707 §2.1: one ``resource`` at /authorize, checked there and kept with the code; the token
  request may repeat it, not change it (``resources``).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode as _OpenIDCode
from flask import current_app

from ..clock import now
from . import code_store, keys, resources, session_store, storage, token_store
from .access_tokens import OFFLINE_ACCESS, TokenIssuingMixin
from .claims import (
    ID_TOKEN_CLAIMS,
    create_id_token_claims,
    create_represents_claims,
    get_subject,
    parse_claims_request,
)
from .ports import get_ports

#: Parameters that must not be repeated in an authorization request (RFC 6749 §3.1).
SINGLE_VALUED = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "prompt",
    "max_age", "code_challenge", "code_challenge_method", "login_hint", "id_token_hint",
    "acr_values", "ui_locales", "response_mode", "display", "claims_locales",
)


def get_offline_checked_scope(request) -> str:
    """OIDC Core §11: ``offline_access`` only when the request has ``prompt=consent`` (the person
    has just been asked, on the consent page); otherwise the scope is ignored."""
    scopes = scope_to_list(request.scope) or []
    prompts = (request.payload.data.get("prompt") or "").split()
    if OFFLINE_ACCESS in scopes and "consent" not in prompts:
        scopes = [s for s in scopes if s != OFFLINE_ACCESS]
    return list_to_scope(scopes)


class AuthorizationCodeGrant(TokenIssuingMixin, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt",
    ]

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        """OIDC Core §3.1.2.1: ``redirect_uri`` is REQUIRED and must match exactly."""
        redirect_uri = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("Missing 'redirect_uri' in request.")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("'redirect_uri' is not registered for this client.")
        return redirect_uri

    @staticmethod
    def validate_no_multiple_request_parameter(request):
        datalist = request.payload.datalist
        for name in SINGLE_VALUED:
            if len(datalist.get(name, [])) > 1:
                raise InvalidRequestError(
                    f"Multiple '{name}' in request.", state=request.payload.state
                )

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        # RFC 8707 §2.1: the resource is checked here and stored with the code.
        try:
            resources.get_requested_resource(self.request.payload.datalist, self.request.client)
        except resources.InvalidTargetError as error:
            error.redirect_uri = redirect_uri
            error.state = self.request.payload.state
            raise
        return redirect_uri

    def get_token_resource(self, requested):
        # RFC 8707 §2.2: a resource named at /authorize binds the code to it.
        return resources.check_resource_granted(requested,
                                                self.request.authorization_code.resource)

    def save_authorization_code(self, code, request):
        data = request.payload.data
        code_store.save_authorization_code(
            code,
            client_id=request.client.client_id,
            citizen_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=get_offline_checked_scope(request),
            nonce=data.get("nonce"),
            session=request.user_session,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            claims=parse_claims_request(data.get("claims")),
            representation_id=getattr(request, "representation_id", None),
            resource=data.get("resource"),
        )

    def query_authorization_code(self, code, client):
        record = code_store.get_authorization_code(code)
        if record is None:
            # Redeemed before (a replay): what it issued is revoked (RFC 6749 §4.1.2).
            grant = code_store.find_grant(code, client.client_id)
            if grant is not None:
                token_store.revoke_tokens_from_code(grant)
                storage.commit()  # before the error answer, whose request is rolled back
            return None
        if record.client_id != client.client_id:
            return None
        if session_store.check_session_ended(record.sid):
            # Signed out since the code was issued: no fresh tokens for an ended session
            # (their siblings were revoked when it ended, ``session_store.claim_ending``).
            return None
        return record

    def create_token_response(self):
        # Redeem before issuing, atomically: of two concurrent redemptions only one wins; the
        # tokens then name the grant the code became.
        grant = code_store.redeem_authorization_code(self.request.authorization_code)
        if grant is None:
            raise InvalidGrantError("Invalid 'code' in request.")
        self.request.authorization_code = grant
        return super().create_token_response()

    def delete_authorization_code(self, authorization_code):
        """Nothing left to delete: redeeming took the code (``code_store``)."""

    def authenticate_user(self, authorization_code):
        return get_ports().accounts.find_account(authorization_code.citizen_id,
                                                 authorization_code.representation_id)


class S256CodeChallenge(CodeChallenge):
    """PKCE with ``S256`` only; required for public clients, honoured for confidential ones;
    a challenge already used by the client is refused (RFC 9700 §2.1.1, constant values)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        super().validate_code_challenge(grant, redirect_uri)
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        if challenge is None and grant.request.client.is_public:
            raise InvalidRequestError("Public clients must use PKCE: 'code_challenge' missing.")
        if challenge is not None and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be 'S256'.")
        if challenge is not None and code_store.exists_code_challenge(
            grant.request.client.client_id, challenge
        ):
            raise InvalidRequestError("'code_challenge' was already used: make a new one.")


class OpenIDCode(_OpenIDCode):
    def exists_nonce(self, nonce, request):
        return code_store.exists_nonce(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client):
        return keys.get_signing_key(self.get_client_algorithm(client))

    def get_encode_header(self, client):
        alg = self.get_client_algorithm(client)
        return {"alg": alg, "kid": keys.get_signing_key(alg).kid, "typ": "JWT"}

    def get_compatible_claims(self, request):
        issued = now()
        claims = {}
        code = request.authorization_code
        if code is not None and code.claims:
            claims.update(
                create_id_token_claims(request.user, request.client, code.claims.get("id_token"))
            )
        if code is not None and code.representation_id is not None:
            claims.update(create_represents_claims(request.user, code.scope))
        claims.update({
            "iss": current_app.config["ISSUER"],
            "sub": get_subject(request.user, request.client),
            "aud": request.client.get_client_id(),
            "iat": issued,
            "exp": issued + current_app.config["ID_TOKEN_LIFETIME"],
        })
        get_ports().audit.record_disclosure(request.user.id, request.client.client_id,
                                            claims.keys() - ID_TOKEN_CLAIMS | {"sub"}, "id_token")
        return claims

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            claims["sid"] = authorization_code.sid
        return claims

    def generate_user_info(self, user, scope):
        # Scope claims come from UserInfo in the code flow (OIDC Core §5.4); ``sub`` (which
        # depends on the client) is set in ``get_compatible_claims``.
        return UserInfo()
