"""Dynamic client registration (RFC 7591) and client management (RFC 7592) as Authlib endpoints.

Agencies register their apps themselves with an initial access token an administrator issued
to them (RFC 7591 §3; ``issue-registration-token``). The metadata is checked by Authlib's claims
classes (RFC 7591 §2, OIDC Registration §2, RP-Initiated Logout §3.1) tightened here, plus the
Front- and Back-Channel Logout metadata, in this order:

1. ``validate_metadata_types``: every known field has the JSON type its spec gives it;
2. the claims classes, field by field, each error naming the field (``invalid_redirect_uri``
   for redirect URIs, ``invalid_client_metadata`` for everything else);
3. cross-field rules: ``jwks`` xor ``jwks_uri``, keys for ``private_key_jwt``, one redirect
   host (or a ``sector_identifier_uri``) for pairwise subjects, the sector document listing
   every redirect URI (OIDC Core §8.1, fetched through ``outbound``).

Nothing is stored unless every step passes. The client secret and the registration access
token are shown once; only their digests are kept. The agency's name, level and
administrative-unit code come from the initial access token, never from the request.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from authlib.oauth2.claims import BaseClaims
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import ClientMetadataClaims as _OAuthClaims
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint as _RegistrationEndpoint
from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oauth2.rfc7592 import ClientConfigurationEndpoint as _ConfigurationEndpoint
from authlib.oidc.registration import ClientMetadataClaims as _OpenIDClaims
from authlib.oidc.rpinitiated import ClientMetadataClaims as _LogoutClaims
from flask import current_app, url_for
from flask import request as flask_request
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..clock import now
from . import storage
from .clients import ACCESS_TOKEN_FORMATS, DEFAULT_SCOPE, InvalidClientMetadata, validate_uri
from .discovery import create_provider_metadata
from .models import OAuth2Client, digest
from .outbound import OutboundError, fetch

#: JSON type of each metadata field we understand (RFC 7591 §2, OIDC Registration §2,
#: RP-Initiated Logout §3.1, Front-Channel Logout §2.1, Back-Channel Logout §2.2).
_STRING_LISTS = ("redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types",
                 "contacts", "request_uris", "default_acr_values")
_BOOLEANS = ("backchannel_logout_session_required", "frontchannel_logout_session_required",
             "require_auth_time", "require_signed_request_object")
_OBJECTS = ("jwks",)
_INTEGERS = ("default_max_age",)
#: Encryption is not implemented: refuse rather than silently send plain tokens.
_UNSUPPORTED = ("id_token_encrypted_response_alg", "id_token_encrypted_response_enc",
                "userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc",
                "request_object_encryption_alg", "request_object_encryption_enc",
                "authorization_encrypted_response_alg", "authorization_encrypted_response_enc")
#: Most values in one array (redirect URIs and the like): a registration is not a bulk upload.
MAX_LIST_LENGTH = 20
#: Methods that get a client secret.
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


def _error(field: str, message: str) -> InvalidClientMetadataError:
    return InvalidClientMetadataError(f"{field}: {message}")


def _quote(values) -> str:
    """Values sent by the client, for an ``error_description`` (RFC 6749 §5.2 allows only
    printable ASCII without quote or backslash): anything else is not echoed."""
    safe = sorted(v for v in values if v.isascii() and v.isprintable() and not set(v) & set('"\\'))
    return ", ".join(safe[:5]) if len(safe) == len(values) else "values"


def _in_development() -> bool:
    return current_app.config.get("ENV") == "development"


def _check_uri(field: str, uri, *, loopback: bool) -> None:
    try:
        validate_uri(uri, field, allow_loopback_http=loopback)
    except InvalidClientMetadata as exc:
        raise InvalidClientMetadataError(str(exc)) from exc


def _check_fetchable_uri(field: str, uri) -> None:
    """A URI the provider will request itself: https (http on loopback only when outbound
    loopback is allowed, i.e. development and tests)."""
    _check_uri(field, uri, loopback=bool(current_app.config.get("OUTBOUND_ALLOW_LOOPBACK")))


def validate_metadata_types(data) -> None:
    if not isinstance(data, dict):
        raise InvalidClientMetadataError("the request body must be a JSON object")
    for field, value in data.items():
        if value is None:
            continue
        if field in _UNSUPPORTED:
            raise _error(field, "encryption is not supported")
        if field in _STRING_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _error(field, "must be an array of strings")
            if len(value) > MAX_LIST_LENGTH:
                raise _error(field, f"at most {MAX_LIST_LENGTH} values")
        elif field in _BOOLEANS:
            if not isinstance(value, bool):
                raise _error(field, "must be true or false")
        elif field in _OBJECTS:
            if not isinstance(value, dict):
                raise _error(field, "must be a JSON object")
        elif field in _INTEGERS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _error(field, "must be a non-negative integer")
        elif field.endswith(("_uri", "_name", "_alg", "_type", "_method")) or field in (
                "scope", "software_id", "software_version"):
            if not isinstance(value, str):
                raise _error(field, "must be a string")


class OAuthClientMetadataClaims(_OAuthClaims):
    """RFC 7591 §2, strict: exact https redirect URIs, only what the server supports."""

    def _supported(self, name: str) -> list:
        return list(self.params.get(name) or [])

    def validate_redirect_uris(self):
        uris = self.get("redirect_uris")
        if not uris:
            raise InvalidRedirectURIError("redirect_uris: at least one is required")
        for uri in uris:
            try:
                validate_uri(uri, "redirect_uris", allow_loopback_http=_in_development())
            except InvalidClientMetadata as exc:
                raise InvalidRedirectURIError(str(exc)) from exc

    def validate_token_endpoint_auth_method(self):
        super().validate_token_endpoint_auth_method()
        supported = self._supported("token_endpoint_auth_methods_supported")
        if self["token_endpoint_auth_method"] not in supported:
            raise _error("token_endpoint_auth_method", "one of " + ", ".join(supported))
        if self["token_endpoint_auth_method"] == "private_key_jwt" and not (
            self.get("jwks") or self.get("jwks_uri")
        ):
            raise _error("token_endpoint_auth_method", "private_key_jwt needs jwks or jwks_uri")

    def validate_grant_types(self):
        self.setdefault("grant_types", ["authorization_code"])
        unsupported = set(self["grant_types"]) - set(self._supported("grant_types_supported"))
        if unsupported:
            raise _error("grant_types", "unsupported " + _quote(unsupported))
        if "authorization_code" not in self["grant_types"]:
            raise _error("grant_types", "must include authorization_code")
        if "client_credentials" in self["grant_types"] and (
            self.get("token_endpoint_auth_method") == "none"
        ):
            # RFC 6749 §4.4: the client credentials grant is for confidential clients only.
            raise _error("grant_types", "client_credentials needs a confidential client")

    def validate_response_types(self):
        self.setdefault("response_types", ["code"])
        if self["response_types"] != ["code"]:
            raise _error("response_types", "only code is supported")

    def validate_client_name(self):
        name = self.get("client_name")
        if name is not None and not 0 < len(name.strip()) <= 200:
            raise _error("client_name", "1 to 200 characters")

    def validate_scope(self):
        self.setdefault("scope", DEFAULT_SCOPE)
        scopes = set(self["scope"].split())
        unsupported = scopes - set(self._supported("scopes_supported"))
        if unsupported:
            raise _error("scope", "unsupported " + _quote(unsupported))
        if "openid" not in scopes:
            raise _error("scope", "must include openid")

    def _validate_uri(self, key, uri=None):
        # client_uri, logo_uri, policy_uri, tos_uri: shown to people, so https only.
        value = self.get(key) if uri is None else uri
        if value is not None:
            _check_uri(key, value, loopback=False)

    def validate_jwks_uri(self):
        if self.get("jwks_uri") is not None:
            _check_fetchable_uri("jwks_uri", self["jwks_uri"])

    def validate_jwks(self):
        if self.get("jwks") is None:
            return
        if self.get("jwks_uri") is not None:
            raise _error("jwks", "use jwks or jwks_uri, not both")
        keys = self["jwks"].get("keys")
        if not isinstance(keys, list) or not keys:
            raise _error("jwks", "must be a JWK Set with at least one key")
        if any(not isinstance(key, dict) or "d" in key or key.get("kty") == "oct"
               for key in keys):
            raise _error("jwks", "public keys only")
        kids = [key.get("kid") for key in keys]
        if len(keys) > 1 and (None in kids or len(set(kids)) != len(kids)):
            raise _error("jwks", "several keys need distinct kid values")
        for key in keys:
            # RFC 7518 §3.3 and FAPI 2.0 §5.4.1: RSA keys of at least 2048 bits (checked
            # before importing, which only warns about small keys).
            modulus = key.get("n") if key.get("kty") == "RSA" else None
            if isinstance(modulus, str) and len(modulus.rstrip("=")) * 6 < 2048 - 7:
                raise _error("jwks", "RSA keys must have at least 2048 bits")
        try:
            KeySet.import_key_set(self["jwks"])
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _error("jwks", "not a valid JWK Set") from exc

    def validate_contacts(self):
        if len(self.get("contacts") or []) > 10:
            raise _error("contacts", "at most 10")


class OpenIDClientMetadataClaims(_OpenIDClaims):
    """OIDC Dynamic Client Registration §2: algorithms and subject types we actually support;
    plus RFC 9101 §10.5 ``require_signed_request_object``."""

    REGISTERED_CLAIMS = [*_OpenIDClaims.REGISTERED_CLAIMS, "require_signed_request_object"]

    def _check_alg(self, field: str, supported_name: str):
        value = self.get(field)
        supported = list(self.params.get(supported_name) or [])
        if value is not None and value not in supported:
            raise _error(field, "one of " + ", ".join(supported))

    def validate_token_endpoint_auth_signing_alg(self):
        self._check_alg("token_endpoint_auth_signing_alg",
                        "token_endpoint_auth_signing_alg_values_supported")

    def validate_application_type(self):
        self.setdefault("application_type", "web")
        if self["application_type"] not in ("web", "native"):
            raise _error("application_type", "web or native")

    def validate_id_token_signed_response_alg(self):
        self.setdefault("id_token_signed_response_alg", "RS256")
        self._check_alg("id_token_signed_response_alg", "id_token_signing_alg_values_supported")

    def validate_userinfo_signed_response_alg(self):
        self._check_alg("userinfo_signed_response_alg", "userinfo_signing_alg_values_supported")

    def validate_request_object_signing_alg(self):
        if self.params.get("request_object_signing_alg_values_supported"):
            self._check_alg("request_object_signing_alg",
                            "request_object_signing_alg_values_supported")

    def validate_subject_type(self):
        supported = list(self.params.get("subject_types_supported") or [])
        if self.get("subject_type") is not None and self["subject_type"] not in supported:
            raise _error("subject_type", "one of " + ", ".join(supported))

    def validate_sector_identifier_uri(self):
        if self.get("sector_identifier_uri") is not None:
            _check_fetchable_uri("sector_identifier_uri", self["sector_identifier_uri"])

    def _validate_uri(self, key):
        # initiate_login_uri and request_uris.
        value = self.get(key)
        for uri in value if isinstance(value, list) else [value]:
            if uri is not None:
                _check_fetchable_uri(key, uri)

    def validate_default_max_age(self):
        # Not applied by the authorization endpoint: refuse rather than ignore it.
        if self.get("default_max_age") is not None:
            raise _error("default_max_age", "not supported; send max_age with each request")

    def validate_default_acr_values(self):
        supported = list(self.params.get("acr_values_supported") or [])
        if set(self.get("default_acr_values") or []) - set(supported):
            raise _error("default_acr_values", "one of " + ", ".join(supported))


class LogoutClientMetadataClaims(_LogoutClaims):
    """RP-Initiated Logout §3.1; Front-Channel Logout §2.1; Back-Channel Logout §2.2.

    Stored and validated here; delivering the logout is ``logout.py``'s job."""

    REGISTERED_CLAIMS = [
        *_LogoutClaims.REGISTERED_CLAIMS,
        "backchannel_logout_uri", "backchannel_logout_session_required",
        "frontchannel_logout_uri", "frontchannel_logout_session_required",
    ]

    def validate(self, now=None, leeway=0):
        super().validate(now, leeway)
        if self.get("backchannel_logout_uri") is not None:
            _check_fetchable_uri("backchannel_logout_uri", self["backchannel_logout_uri"])
        if self.get("frontchannel_logout_uri") is not None:
            _check_uri("frontchannel_logout_uri", self["frontchannel_logout_uri"],
                       loopback=_in_development())
        for channel in ("backchannel", "frontchannel"):
            if self.get(f"{channel}_logout_uri") is not None:
                self.setdefault(f"{channel}_logout_session_required", False)

    def _validate_post_logout_redirect_uris(self):
        for uri in self.get("post_logout_redirect_uris") or []:
            _check_uri("post_logout_redirect_uris", uri, loopback=_in_development())


class TokenClientMetadataClaims(BaseClaims):
    """Gateway metadata for the access tokens a client receives: ``access_token_format``
    ``opaque`` (default) or ``jwt`` (RFC 9068). ``resource_server``, ``resource_indicators`` and
    ``allowed_resources`` are not registrable: only an administrator makes a client a resource
    server (``create-client --resource-server --resource URI``) or lets one ask for tokens for
    an API (``--allowed-resource URI``)."""

    REGISTERED_CLAIMS = ["access_token_format"]

    def validate(self, now=None, leeway=0):
        super().validate(now, leeway)
        value = self.get("access_token_format")
        if value is not None and value not in ACCESS_TOKEN_FORMATS:
            raise _error("access_token_format", "one of " + ", ".join(ACCESS_TOKEN_FORMATS))


CLAIMS_CLASSES = [OAuthClientMetadataClaims, OpenIDClientMetadataClaims,
                  LogoutClientMetadataClaims, TokenClientMetadataClaims]


def validate_sector_identifier(metadata: dict) -> None:
    """OIDC Core §8.1 and Registration §5: the sector document is a JSON array that lists every
    redirect URI; without one, a pairwise client's redirect URIs must share one host."""
    uri = metadata.get("sector_identifier_uri")
    redirect_uris = metadata["redirect_uris"]
    if uri is None:
        subject_type = metadata.get("subject_type") or current_app.config.get(
            "SUBJECT_TYPE_DEFAULT", "public")
        hosts = {urlsplit(u).hostname for u in redirect_uris}
        if subject_type == "pairwise" and len(hosts) > 1:
            raise _error("sector_identifier_uri",
                         "required for pairwise subjects when redirect_uris use several hosts")
        return
    try:
        response = fetch(uri)
        if response.status != 200:
            raise _error("sector_identifier_uri", f"answered HTTP {response.status}")
        listed = response.json()
    except OutboundError as exc:
        raise _error("sector_identifier_uri", "could not be fetched") from exc
    if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
        raise _error("sector_identifier_uri", "must hold a JSON array of URIs")
    missing = [u for u in redirect_uris if u not in listed]
    if missing:
        raise _error("sector_identifier_uri", "does not list every redirect_uri")


def create_client_metadata(data, server_metadata: dict) -> dict:
    """Run the whole pipeline; returns the metadata to store or raises an ``OAuth2Error``."""
    validate_metadata_types(data)
    data = {k: v for k, v in data.items() if v is not None}
    metadata = {}
    for claims_class in CLAIMS_CLASSES:
        claims = claims_class(dict(data), {}, {}, server_metadata)
        try:
            claims.validate()
        except JoseError as exc:  # Authlib's own checks name the field in the description
            raise InvalidClientMetadataError(exc.description) from exc
        except InvalidClientMetadata as exc:
            raise InvalidClientMetadataError(str(exc)) from exc
        metadata.update(claims.get_registered_claims())
    validate_sector_identifier(metadata)
    return metadata


def _bearer_token(request) -> str | None:
    auth = request.headers.get("Authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class _MetadataMixin:
    def get_server_metadata(self):
        return create_provider_metadata()

    def extract_client_metadata(self, request):
        # Authlib's version lets a non-object body or a ValueError from a claims class through
        # as a 500; this one answers 400 with the field named.
        data = flask_request.get_json(silent=True)
        return create_client_metadata(data, self.get_server_metadata())

    @staticmethod
    def create_registration_info(client: OAuth2Client, token: str) -> dict:
        return {
            "registration_client_uri": current_app.config["ISSUER"]
            + url_for("oidc.client_configuration", client_id=client.client_id),
            "registration_access_token": token,
        }


class ClientRegistrationEndpoint(_MetadataMixin, _RegistrationEndpoint):
    """RFC 7591 §3, protected by an initial access token (Bearer)."""

    def authenticate_token(self, request):
        record = storage.get_initial_access_token(_bearer_token(request))
        if record is None:
            raise InvalidTokenError("A valid initial access token is required.")
        return record

    def generate_client_id(self, request):
        return secrets.token_urlsafe(18)

    def generate_client_secret(self, request):
        method = (request.payload.data or {}).get("token_endpoint_auth_method")
        if (method or "client_secret_basic") not in SECRET_AUTH_METHODS:
            return None
        return secrets.token_urlsafe(32)

    def generate_client_info(self, request):
        info = super().generate_client_info(request)
        info["client_id_issued_at"] = now()
        if info["client_secret"] is None:
            del info["client_secret"]
        return info

    def save_client(self, client_info, client_metadata, request):
        record = request.credential
        if not storage.use_initial_access_token(record):
            raise InvalidTokenError("The initial access token has been used up.")
        client_metadata.setdefault("client_name", record.agency_name)
        client_metadata.update(self.get_agency_metadata(record))
        token = secrets.token_urlsafe(32)
        client = OAuth2Client(
            client_id=client_info["client_id"],
            client_id_issued_at=client_info["client_id_issued_at"],
            client_secret_expires_at=0,
            registration_access_token_digest=digest(token),
            initial_access_token_id=record.id,
        )
        client.set_client_secret(client_info.get("client_secret"))
        client.set_client_metadata(client_metadata)
        request.registration_access_token = token
        return storage.save_client(client)

    @staticmethod
    def get_agency_metadata(record) -> dict:
        return {"agency_name": record.agency_name, "agency_level": record.agency_level,
                "administrative_unit_code": record.administrative_unit_code}

    def generate_client_registration_info(self, client, request):
        info = self.create_registration_info(client, request.registration_access_token)
        # Not in the request, so not yet in the response body: the agency's metadata.
        info.update(self.get_agency_metadata(request.credential))
        info.setdefault("client_name", client.client_name)
        return info


class _RegistrationAccessToken:
    def __init__(self, client: OAuth2Client, token: str):
        self.client, self.token = client, token

    def check_client(self, client) -> bool:
        return client is not None and client.client_id == self.client.client_id


class ClientConfigurationEndpoint(_MetadataMixin, _ConfigurationEndpoint):
    """RFC 7592 §2: read, update and delete with the registration access token."""

    #: Set at registration, never changed by an update.
    FIXED_METADATA = ("agency_name", "agency_level", "administrative_unit_code",
                      # Set by an administrator (``create-client``), never by the client.
                      "resource_server", "resource_indicators", "allowed_resources")

    def authenticate_token(self, request):
        token = _bearer_token(request)
        client = storage.get_client_by_registration_access_token(token)
        # A token is valid for its own client's URL only (RFC 7592 §2: otherwise RFC 6750 §3).
        if client is None or client.client_id != flask_request.view_args.get("client_id"):
            raise InvalidTokenError("A valid registration access token is required.")
        return _RegistrationAccessToken(client, token)

    def authenticate_client(self, request):
        return storage.get_client(flask_request.view_args.get("client_id"))

    def revoke_access_token(self, request, token):
        """Unreachable: a valid token always belongs to an existing client."""

    def check_permission(self, client, request):
        return True

    def introspect_client(self, client):
        # Never the stored secret digest (Authlib's ``client_info`` would include it).
        return {"client_id": client.client_id,
                "client_id_issued_at": client.client_id_issued_at,
                "client_secret_expires_at": client.client_secret_expires_at,
                **client.client_metadata}

    def generate_client_registration_info(self, client, request):
        return self.create_registration_info(client, request.credential.token)

    def delete_client(self, client, request):
        storage.delete_client(client)

    def update_client(self, client, client_metadata, request):
        """RFC 7592 §2.2: the request replaces the metadata; the authentication method stays
        (a change would need a new secret or keys: register a new client instead)."""
        if client_metadata["token_endpoint_auth_method"] != client.token_endpoint_auth_method:
            raise _error("token_endpoint_auth_method", "cannot be changed by an update")
        for field in self.FIXED_METADATA:
            if field in client.client_metadata:
                client_metadata[field] = client.client_metadata[field]
        client_metadata.setdefault("client_name", client.client_name)
        client.set_client_metadata(client_metadata)
        return storage.save_client(client)

    def create_update_client_response(self, client, request):
        if not isinstance(flask_request.get_json(silent=True), dict):
            raise InvalidRequestError("The request body must be a JSON object.")
        return super().create_update_client_response(client, request)
