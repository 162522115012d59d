"""Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2.

Advertises exactly what works, nothing more (no ``none`` algorithm, no implicit flow).
"""

from __future__ import annotations

from flask import current_app, has_request_context, url_for

from . import keys
from .access_tokens import OFFLINE_ACCESS
from .claims import CLAIMS_SUPPORTED, SCOPES_SUPPORTED
from .client_auth import SIGNING_ALGS as CLIENT_ASSERTION_SIGNING_ALGS
from .grants import AuthorizationCodeGrant
from .introspection import IntrospectionEndpoint
from .request_objects import SIGNING_ALGS as REQUEST_OBJECT_SIGNING_ALGS
from .revocation import RevocationEndpoint


def create_provider_metadata() -> dict:
    config = current_app.config

    def endpoint(name: str) -> str:
        # Outside a request (the client registry validating for ``create-client``), the path
        # from the URL map: the registry only needs what is supported, not where.
        path = url_for(name) if has_request_context() else current_app.url_map.bind("").build(name)
        return config["ISSUER"] + path

    return {
        "issuer": config["ISSUER"],
        "authorization_endpoint": endpoint("oidc.authorize"),
        "token_endpoint": endpoint("oidc.token"),
        "userinfo_endpoint": endpoint("oidc.userinfo"),
        "jwks_uri": endpoint("oidc.jwks"),
        "end_session_endpoint": endpoint("oidc.end_session"),
        "registration_endpoint": endpoint("oidc.register"),
        "revocation_endpoint": endpoint("oidc.revoke"),
        "revocation_endpoint_auth_methods_supported": list(RevocationEndpoint.CLIENT_AUTH_METHODS),
        "introspection_endpoint": endpoint("oidc.introspect"),
        "introspection_endpoint_auth_methods_supported": list(
            IntrospectionEndpoint.CLIENT_AUTH_METHODS
        ),
        "scopes_supported": [*SCOPES_SUPPORTED, OFFLINE_ACCESS],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": list(config["ID_TOKEN_SIGNING_ALGS"]),
        "userinfo_signing_alg_values_supported": list(keys.KTY_FOR_ALG),
        "token_endpoint_auth_methods_supported": list(
            AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
        ),
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_SIGNING_ALGS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(
            CLIENT_ASSERTION_SIGNING_ALGS
        ),
        "introspection_endpoint_auth_signing_alg_values_supported": list(
            CLIENT_ASSERTION_SIGNING_ALGS
        ),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": True,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "request_object_signing_alg_values_supported": list(REQUEST_OBJECT_SIGNING_ALGS),
        "acr_values_supported": list(config["ACR_VALUES_SUPPORTED"]),
        "prompt_values_supported": ["none", "login", "consent"],
        "display_values_supported": ["page", "popup"],
        "ui_locales_supported": list(config["LANGUAGES"]),
        "claims_locales_supported": list(config["LANGUAGES"]),
        "authorization_response_iss_parameter_supported": True,
        # Single logout (logout.py): back-channel logout tokens carry ``sid``; front-channel
        # logout URIs get ``iss`` and ``sid``.
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
    }
