"""``private_key_jwt`` client authentication at the token endpoint (RFC 7523 §2.2, §3; OIDC Core
§9), as Authlib's ``JWTBearerClientAssertion``:

- keys from the client's registered ``jwks`` or its ``jwks_uri``, fetched through the guarded
  outbound client, cached, and fetched again when the assertion names an unknown ``kid``
  (``client_keys``; conformance module oidcc-refresh-token-rp-key-rotation);
- ``aud`` is the issuer or the token endpoint URL (oidcc-ensure-client-assertion-with-iss-aud-
  succeeds; FAPI 2.0 §5.3.2.1 accepts the issuer);
- RS256, PS256 or ES256 only (or the client's ``token_endpoint_auth_signing_alg``): never
  ``none`` nor a MAC;
- ``exp`` required, at most ``MAX_ASSERTION_LIFETIME`` ahead, checked on the gateway clock;
- ``jti`` single use until the assertion expires (RFC 7523 §3 item 7), through ``storage``.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app, url_for
from joserfc import jwt
from joserfc.errors import JoseError

from ..clock import now
from . import storage
from .client_keys import ClientKeyError, key_resolver

SIGNING_ALGS = ["RS256", "PS256", "ES256"]
#: Longest accepted assertion lifetime (``exp`` from now), seconds: bounds the ``jti`` store.
#: An hour, because that is what Authlib's ``PrivateKeyJWT`` signs by default.
MAX_ASSERTION_LIFETIME = 3600
#: Clock skew allowed on ``exp``, ``nbf`` and ``iat``, seconds.
LEEWAY = 30


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self):
        super().__init__(validate_jti=True, leeway=LEEWAY)

    def get_audiences(self):
        issuer = current_app.config["ISSUER"]
        return [issuer, issuer + url_for("oidc.token")]

    def resolve_client_public_key(self, client):
        """A joserfc key function: the client's key for the header's ``kid``, refusing any
        algorithm the client did not register."""
        resolve = key_resolver(client)
        registered = client.client_metadata.get("token_endpoint_auth_signing_alg")

        def resolve_checked(token):
            if registered and token.headers().get("alg") != registered:
                raise ClientKeyError("assertion not signed with token_endpoint_auth_signing_alg")
            return resolve(token)

        return resolve_checked

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=SIGNING_ALGS)
        except ClientKeyError as exc:
            raise InvalidClientError(description="No usable key for the client assertion.") from exc
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(description="Invalid client assertion.") from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims):
        """Authlib's checks (RFC 7523 §3), on the gateway clock, plus a bounded ``exp``."""
        registry = jwt.JWTClaimsRegistry(
            now=now, leeway=self.leeway,
            iss={"essential": True}, sub={"essential": True}, exp={"essential": True},
            aud={"essential": True, "values": self.get_audiences()},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidClientError(description="Invalid client assertion claims.") from exc
        if claims["sub"] != claims["iss"]:
            raise InvalidClientError(description="Issuer and Subject MUST match.")
        if claims["exp"] > now() + MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="The client assertion expires too late.")
        if "jti" not in claims:
            raise InvalidClientError(description="Missing JWT ID.")
        if not self.validate_jti(claims, claims["jti"]):
            raise InvalidClientError(description="JWT ID is used before.")

    def validate_jti(self, claims, jti):
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        # Kept while the assertion is accepted: ``exp`` plus the allowed clock skew.
        return storage.record_client_assertion_jti(claims["sub"], jti,
                                                   int(claims["exp"]) + self.leeway)

    def __call__(self, query_client, request):
        client = super().__call__(query_client, request)
        # A ``client_id`` sent alongside the assertion must name the same client (RFC 7521 §4.2).
        client_id = request.form.get("client_id")
        if client is not None and client_id and client_id != client.client_id:
            raise InvalidClientError(description="'client_id' does not match the assertion.")
        return client
