"""The client registry's contract (``gateway/oidc/registry.py``): every implementation of
``ClientRegistry`` passes these. One set of metadata rules for every registrant: an agency at
/register (RFC 7591), an administrator at the command line or, next, in the admin pages."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc7591 import InvalidClientMetadataError, InvalidRedirectURIError
from sqlalchemy import text

from gateway.extensions import db
from gateway.oidc.registry import SqlClientRegistry

WEB = {"client_name": "Cổng dịch vụ công xã", "redirect_uris": ["https://xa.example.vn/cb"],
       "scope": "openid profile"}

IMPLEMENTATIONS = {"sql": SqlClientRegistry}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def registry(request, app):
    with app.app_context():
        yield IMPLEMENTATIONS[request.param]()
        db.session.rollback()


def _count(app) -> int:
    return db.session.execute(text("SELECT count(*) FROM oauth2_clients")).scalar_one()


def test_registry_register_returns_plain_values_and_secret_once(registry):
    registration = registry.register(dict(WEB))
    db.session.commit()
    client = registration.client
    assert client.metadata["redirect_uris"] == WEB["redirect_uris"]
    assert len(registration.client_secret) >= 32 and client.has_secret
    again = registry.get(client.client_id)
    assert again == client
    assert registration.client_secret not in repr(again)
    # A copy: changing it changes nothing stored.
    again.metadata["redirect_uris"].append("https://evil.example/cb")
    assert registry.get(client.client_id).metadata["redirect_uris"] == WEB["redirect_uris"]


def test_registry_register_stores_only_a_digest_of_the_secret(registry, app):
    registration = registry.register(dict(WEB))
    db.session.commit()
    stored = db.session.execute(
        text("SELECT client_secret FROM oauth2_clients WHERE client_id = :c"),
        {"c": registration.client.client_id}).scalar_one()
    assert stored and registration.client_secret not in stored


def test_registry_public_client_has_no_secret(registry):
    registration = registry.register({**WEB, "token_endpoint_auth_method": "none"})
    assert registration.client_secret is None and not registration.client.has_secret
    assert registry.reset_secret(registration.client.client_id) is None


@pytest.mark.parametrize(("data", "error"), [
    ({**WEB, "redirect_uris": ["https://xa.example.vn/cb#x"]}, InvalidRedirectURIError),
    ({**WEB, "redirect_uris": ["http://xa.example.vn/cb"]}, InvalidRedirectURIError),
    ({**WEB, "grant_types": ["password"]}, InvalidClientMetadataError),
    ({**WEB, "scope": "profile"}, InvalidClientMetadataError),
    ({**WEB, "token_endpoint_auth_method": "private_key_jwt"}, InvalidClientMetadataError),
    ({**WEB, "id_token_encrypted_response_alg": "RSA-OAEP"}, InvalidClientMetadataError),
], ids=["fragment", "http", "password_grant", "no_openid", "pkjwt_without_keys",
        "encryption"])
def test_registry_invalid_metadata_refused_and_nothing_stored(registry, app, data, error):
    before = _count(app)
    with pytest.raises(error):
        registry.register(data)
    assert _count(app) == before


def test_registry_same_rules_for_administrator_and_agency(registry):
    """What an agency may not register, an administrator may not either (the rules exist once)
    — except the three things only an administrator decides."""
    for administrator in (False, True):
        with pytest.raises(InvalidRedirectURIError):
            registry.register({**WEB, "redirect_uris": ["https://a.example.vn/cb#f"]},
                              administrator=administrator)


def test_registry_administrator_only_metadata_ignored_for_agencies(registry):
    data = {**WEB, "resource_server": True, "allowed_resources": ["https://api.example.vn/"]}
    agency = registry.register(dict(data)).client
    assert "resource_server" not in agency.metadata
    assert "allowed_resources" not in agency.metadata
    admin = registry.register(dict(data), administrator=True).client
    assert admin.metadata["resource_server"] is True
    assert admin.metadata["allowed_resources"] == ["https://api.example.vn/"]


def test_registry_administrator_may_register_an_api_back_end(registry):
    """client_credentials alone, with the API's own scopes (RFC 6749 §4.4, §3.3)."""
    data = {**WEB, "grant_types": ["client_credentials"], "scope": "hotich.read"}
    with pytest.raises(InvalidClientMetadataError):
        registry.register(dict(data))
    client = registry.register(dict(data), administrator=True).client
    assert client.metadata["grant_types"] == ["client_credentials"]


def test_registry_duplicate_client_id_refused(registry):
    registry.register(dict(WEB), administrator=True, client_id="portal")
    db.session.commit()
    with pytest.raises(InvalidClientMetadataError, match="already registered"):
        registry.register(dict(WEB), administrator=True, client_id="portal")


def test_registry_update_replaces_metadata_keeps_fixed_fields(registry):
    client = registry.register(dict(WEB), agency={
        "agency_name": "UBND xã", "agency_level": "commune",
        "administrative_unit_code": "29557"}).client
    updated = registry.update(client.client_id, {
        **WEB, "redirect_uris": ["https://xa.example.vn/new"], "agency_name": "Someone else"})
    assert updated.metadata["redirect_uris"] == ["https://xa.example.vn/new"]
    assert updated.metadata["agency_name"] == "UBND xã"
    assert registry.get(client.client_id) == updated


def test_registry_update_refuses_a_new_auth_method_and_bad_metadata(registry):
    client = registry.register(dict(WEB)).client
    with pytest.raises(InvalidClientMetadataError, match="cannot be changed"):
        registry.update(client.client_id, {**WEB, "token_endpoint_auth_method": "none"})
    with pytest.raises(InvalidRedirectURIError):
        registry.update(client.client_id, {**WEB, "redirect_uris": ["ftp://x/"]})
    assert registry.get(client.client_id).metadata["redirect_uris"] == WEB["redirect_uris"]


def test_registry_reset_secret_replaces_the_old_one(registry):
    registration = registry.register(dict(WEB))
    secret = registry.reset_secret(registration.client.client_id)
    assert secret and secret != registration.client_secret


def test_registry_delete_removes_client(registry):
    client = registry.register(dict(WEB)).client
    db.session.commit()
    assert registry.delete(client.client_id) is True
    db.session.commit()
    assert registry.get(client.client_id) is None
    assert registry.delete(client.client_id) is False


def test_registry_list_holds_every_client(registry):
    ids = {registry.register(dict(WEB)).client.client_id for _ in range(3)}
    assert ids <= {c.client_id for c in registry.list()}


@pytest.mark.parametrize("client_id", [None, "", "x" * 49, 7])
def test_registry_get_unknown_or_malformed_id_is_none(registry, client_id):
    assert registry.get(client_id) is None
