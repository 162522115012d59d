"""Client metadata: the one set of rules every registration passes, whoever registers.

An agency registering its own app (RFC 7591 ``/register``, RFC 7592 updates), an administrator
at the command line (``create-client``) or, next, in the admin pages: all go through
``create_client_metadata``, then ``registry.py`` stores the result. The rules are Authlib's
claims classes (RFC 7591 §2, OIDC Registration §2, RP-Initiated Logout §3.1) tightened here,
plus the Front- and Back-Channel Logout metadata, in this order:

1. ``validate_metadata_types``: every known field has the JSON type its spec gives it;
2. the claims classes, field by field, each error naming the field (``invalid_redirect_uri``
   for redirect URIs, ``invalid_client_metadata`` for everything else);
3. cross-field rules: ``jwks`` xor ``jwks_uri``, keys for ``private_key_jwt``, one redirect
   host (or a ``sector_identifier_uri``) for pairwise subjects, the sector document listing
   every redirect URI (OIDC Core §8.1, fetched through ``outbound``).

An administrator may do three things an agency may not (``administrator=True``): register a
back-end for agency-to-agency APIs (``client_credentials`` without ``authorization_code``, API
scopes of its own), make a client a resource server (``resource_server``, RFC 8707
``resource_indicators``) and let a client ask for tokens for an API (``allowed_resources``).
Redirect URIs are matched exactly (RFC 9700 §2.1): https, or loopback http in development;
never a fragment (RFC 6749 §3.1.2).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from authlib.oauth2.claims import BaseClaims
from authlib.oauth2.rfc7591 import ClientMetadataClaims as _OAuthClaims
from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oidc.registration import ClientMetadataClaims as _OpenIDClaims
from authlib.oidc.rpinitiated import ClientMetadataClaims as _LogoutClaims
from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import storage
from .outbound import OutboundError, fetch

#: ``access_token_format`` values (gateway client metadata): opaque, or RFC 9068 JWT.
ACCESS_TOKEN_FORMATS = ("opaque", "jwt")
DEFAULT_SCOPE = "openid profile email phone address"
#: RFC 6749 §3.3 scope-token syntax (printable ASCII without space, quote or backslash).
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,64}")


class InvalidClientMetadata(ValueError):
    """Registration refused; the message names the field."""


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def validate_uri(uri: str, field: str, *, allow_loopback_http: bool = True) -> str:
    """An absolute https URI without fragment (or http on a loopback host when allowed)."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000:
        raise InvalidClientMetadata(f"{field}: each value must be a URI of at most 2000 chars")
    if not uri.isascii() or any(c.isspace() or not c.isprintable() or c in '"<>\\^`{|}'
                                for c in uri):
        raise InvalidClientMetadata(f"{field}: not a valid URI (unencoded characters)")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise InvalidClientMetadata(f"{field}: not a valid URI") from exc
    if parts.fragment or "#" in uri:
        raise InvalidClientMetadata(f"{field}: a URI must not have a fragment")
    if parts.username or parts.password:
        raise InvalidClientMetadata(f"{field}: a URI must not carry credentials")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if allow_loopback_http and parts.scheme == "http" and _is_loopback(parts.hostname):
        return uri
    if allow_loopback_http:
        raise InvalidClientMetadata(f"{field}: use https (http only for loopback addresses)")
    raise InvalidClientMetadata(f"{field}: use https")


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

    @property
    def _administrator(self) -> bool:
        return bool(self.params.get("administrator"))

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
        if self._administrator:
            # A back-end of agency-to-agency APIs needs no person: client_credentials alone.
            if not {"authorization_code", "client_credentials"} & set(self["grant_types"]):
                raise _error("grant_types", "must include authorization_code or "
                                            "client_credentials")
        elif "authorization_code" not in self["grant_types"]:
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
        if name is None and self._administrator:
            raise _error("client_name", "required, at most 200 characters")
        if name is not None and not 0 < len(name.strip()) <= 200:
            raise _error("client_name", "1 to 200 characters")

    def validate_scope(self):
        self.setdefault("scope", DEFAULT_SCOPE)
        scopes = set(self["scope"].split())
        unsupported = scopes - set(self._supported("scopes_supported"))
        if self._administrator:
            # The scopes of an agency's API (client_credentials, RFC 6749 §4.4) are the
            # administrator's to name: any RFC 6749 §3.3 scope token.
            unsupported = {s for s in unsupported if not _SCOPE_TOKEN.fullmatch(s)}
        if unsupported:
            raise _error("scope", "unsupported " + _quote(unsupported))
        needs_openid = "authorization_code" in (self.get("grant_types") or ["authorization_code"])
        if "openid" not in scopes and needs_openid:
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


class AdministratorMetadataClaims(BaseClaims):
    """Gateway metadata only an administrator sets (``administrator=True``; an agency's
    ``/register`` request carrying them has them ignored, as RFC 7591 §2 ignores unknown
    metadata): ``resource_server`` (may call ``/introspect``, RFC 7662), its RFC 8707
    ``resource_indicators`` (held by one client each), and ``allowed_resources``, the APIs a
    client may ask access tokens for."""

    REGISTERED_CLAIMS = ["resource_server", "resource_indicators", "allowed_resources"]

    def validate(self, now=None, leeway=0):
        super().validate(now, leeway)
        for field in ("resource_indicators", "allowed_resources"):
            value = self.get(field)
            if value is not None and (not isinstance(value, list)
                                      or not all(isinstance(v, str) for v in value)):
                raise _error(field, "must be an array of strings")
        resource_server = self.get("resource_server", False)
        if not isinstance(resource_server, bool):
            raise _error("resource_server", "must be true or false")
        self["resource_server"] = resource_server
        loopback = _in_development()
        indicators = list(self.get("resource_indicators") or [])
        if indicators and not resource_server:
            raise _error("resource", "only for a resource server (--resource-server)")
        checked = []
        for resource in indicators:
            _check_uri("resource", resource, loopback=loopback)
            if resource in checked:
                raise _error("resource", "a resource indicator is given twice")
            holder = storage.get_resource_server(resource)
            if holder is not None and holder.client_id != self.params.get("client_id"):
                raise _error("resource", "already another client's resource indicator")
            checked.append(resource)
        self["resource_indicators"] = checked
        allowed = list(dict.fromkeys(self.get("allowed_resources") or []))
        for uri in allowed:
            _check_uri("allowed_resources", uri, loopback=loopback)
        self["allowed_resources"] = allowed


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


def create_client_metadata(data, server_metadata: dict, *, administrator: bool = False,
                           client_id: str | None = None) -> dict:
    """Run the whole pipeline; returns the metadata to store or raises
    ``InvalidClientMetadataError`` / ``InvalidRedirectURIError`` naming the field. Nothing is
    stored here (``registry.py`` does, once every step passed)."""
    validate_metadata_types(data)
    data = {k: v for k, v in data.items() if v is not None}
    params = {**server_metadata, "administrator": administrator, "client_id": client_id}
    classes = [*CLAIMS_CLASSES, AdministratorMetadataClaims] if administrator else CLAIMS_CLASSES
    metadata = {}
    for claims_class in classes:
        claims = claims_class(dict(data), {}, {}, params)
        try:
            claims.validate()
        except JoseError as exc:  # Authlib's own checks name the field in the description
            raise InvalidClientMetadataError(exc.description) from exc
        except InvalidClientMetadata as exc:
            raise InvalidClientMetadataError(str(exc)) from exc
        metadata.update(claims.get_registered_claims())
    validate_sector_identifier(metadata)
    return metadata
