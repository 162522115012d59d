"""The sample portals' shared kit (clients/kit): what it does without a gateway."""

from __future__ import annotations

import json

import pytest

from clients.kit import SettingsError, load_settings
from clients.kit.i18n import STRINGS

VI = STRINGS["vi"]
EN = STRINGS["en"]


# --- settings ------------------------------------------------------------------------------


def test_load_settings_reads_portal_environment_variables():
    settings = load_settings(environ={
        "PORTAL_ISSUER": "http://gw.example:5000/",
        "PORTAL_CLIENT_ID": "province-portal",
        "PORTAL_CLIENT_SECRET": "s3cret",
        "PORTAL_BASE_URL": "http://portal.example:5001/",
        "PORTAL_SECRET_KEY": "k" * 32,
        "PORTAL_SCOPE": "openid profile personal_id",
    })
    assert settings.issuer == "http://gw.example:5000"
    assert settings.server_metadata_url == (
        "http://gw.example:5000/.well-known/openid-configuration"
    )
    assert settings.client_id == "province-portal"
    assert settings.token_endpoint_auth_method == "client_secret_basic"
    assert settings.redirect_uri == "http://portal.example:5001/callback"
    assert settings.post_logout_redirect_uri == "http://portal.example:5001/logged-out"
    assert settings.secret_key == "k" * 32
    assert settings.scope == "openid profile personal_id"


def test_load_settings_reads_config_file_and_environment_wins(tmp_path):
    path = tmp_path / "portal.json"
    path.write_text(json.dumps({
        "issuer": "http://from-file:5000", "client_id": "from-file",
        "base_url": "http://from-file:5002", "scope": "openid",
    }), encoding="utf-8")
    settings = load_settings(environ={"PORTAL_CONFIG": str(path), "PORTAL_CLIENT_ID": "from-env"})
    assert settings.issuer == "http://from-file:5000"
    assert settings.base_url == "http://from-file:5002"
    assert settings.scope == "openid"
    assert settings.client_id == "from-env"


def test_load_settings_makes_public_client_when_client_secret_empty():
    settings = load_settings(environ={"PORTAL_CLIENT_ID": "commune-portal",
                                      "PORTAL_CLIENT_SECRET": ""})
    assert settings.is_public_client
    assert settings.client_secret is None
    assert settings.token_endpoint_auth_method == "none"


def test_load_settings_generates_secret_key_when_absent():
    environ = {"PORTAL_CLIENT_ID": "commune-portal"}
    first, second = load_settings(environ=environ), load_settings(environ=environ)
    assert len(first.secret_key) >= 32
    assert first.secret_key != second.secret_key


@pytest.mark.parametrize(
    ("environ", "file_data", "message"),
    [
        ({}, None, "PORTAL_CLIENT_ID"),
        ({"PORTAL_CLIENT_ID": "x", "PORTAL_SCOPE": "profile"}, None, "openid"),
        ({"PORTAL_CLIENT_ID": "x", "PORTAL_ISSUER": ""}, None, "PORTAL_ISSUER"),
        ({"PORTAL_CLIENT_ID": "x"}, {"client_id": "x", "redirect": "y"}, "Unknown keys"),
        ({"PORTAL_CLIENT_ID": "x"}, ["not", "an", "object"], "JSON object"),
    ],
)
def test_load_settings_rejects_unusable_settings(tmp_path, environ, file_data, message):
    if file_data is not None:
        path = tmp_path / "portal.json"
        path.write_text(json.dumps(file_data), encoding="utf-8")
        environ = {**environ, "PORTAL_CONFIG": str(path)}
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ)


def test_portal_session_cookie_names_are_distinct_and_not_the_gateways(clean_environ):
    """Cookies are not isolated by port: the gateway (gw_*) and both portals share 127.0.0.1."""
    from clients.commune import create_app as create_commune
    from clients.province import create_app as create_province

    clean_environ.setenv("PORTAL_CLIENT_ID", "some-client")
    names = set()
    for create_app in (create_province, create_commune):
        client = create_app().test_client()
        response = client.get("/lang/en")
        cookie = response.headers["Set-Cookie"].split("=", 1)[0]
        assert not cookie.startswith("gw_")
        names.add(cookie)
    assert names == {"province_portal_session", "commune_portal_session"}


def test_portals_request_the_scopes_they_need(clean_environ):
    from clients.commune import create_app as create_commune
    from clients.province import create_app as create_province

    clean_environ.setenv("PORTAL_CLIENT_ID", "some-client")
    province = create_province().config["PORTAL_SETTINGS"]
    commune = create_commune().config["PORTAL_SETTINGS"]
    assert province.scope.split() == ["openid", "profile", "personal_id", "organisation"]
    assert commune.scope.split() == ["openid", "profile"]


# --- pages ---------------------------------------------------------------------------------


def test_home_offers_sign_in_in_vietnamese_when_signed_out(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="vi">' in html
    assert VI["sign_in"] in html
    assert "A-" in html and "A+" in html


def test_home_shows_name_level_and_personal_id_when_signed_in(client, signed_in):
    html = client.get("/").get_data(as_text=True)
    assert signed_in["name"] in html
    assert signed_in["personal_id"] in html
    assert VI["loa2"] in html  # acr LoA2 -> "Mức độ 2"
    assert VI["sign_out"] in html
    assert 'value="known-csrf-token"' in html


def test_home_says_personal_id_not_shared_when_scope_not_granted(client):
    with client.session_transaction() as session:
        session["claims"] = {"sub": "s", "name": "Trần Thị Bình", "acr": "LoA1"}
    html = client.get("/").get_data(as_text=True)
    assert VI["personal_id_not_shared"] in html
    assert VI["loa1"] in html


def test_language_switch_shows_english(client):
    response = client.get("/lang/en?next=/")
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert EN["sign_in"] in html


def test_unknown_page_is_the_portals_own_404_in_the_visitors_language(client):
    response = client.get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<html lang="vi">' in html and VI["not_found_title"] in html
    client.get("/lang/en?next=/")
    html = client.get("/no-such-page").get_data(as_text=True)
    assert '<html lang="en">' in html and EN["not_found_title"] in html


def test_favicon_served(client):
    with client.get("/favicon.ico") as response:  # a file response: closed after reading
        assert response.status_code == 200
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_font_buttons_accessible_name_starts_with_their_visible_text(client):
    """WCAG 2.5.3 Label in Name: "A-" is read as "A- Giảm cỡ chữ", not only "Giảm cỡ chữ"."""
    html = client.get("/").get_data(as_text=True)
    assert f'A-<span class="visually-hidden"> {VI["font_smaller"]}</span>' in html
    assert "aria-label=\"" + VI["font_smaller"] not in html


@pytest.mark.parametrize(
    "next_path", ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil"]
)
def test_language_switch_never_redirects_off_site(client, next_path):
    response = client.get("/lang/en", query_string={"next": next_path})
    assert response.status_code == 302
    assert response.location == "/"


# --- sign-in (callback) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "message_key"),
    [("access_denied", "error_access_denied"), ("server_error", "error_provider"),
     ("login_required", "error_provider")],
)
def test_callback_with_provider_error_renders_friendly_page(client, error, message_key):
    """RFC 6749 §4.1.2.1 error responses are shown to the person, never as a 500."""
    response = client.get("/callback", query_string={"error": error, "state": "abc"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert VI["error_title"] in html
    assert VI[message_key] in html
    assert error in html


def test_callback_with_unknown_state_is_rejected(client):
    """A response this browser did not ask for (RFC 6749 §10.12) signs nobody in."""
    response = client.get("/callback", query_string={"code": "stolen", "state": "forged"})
    assert response.status_code == 400
    assert VI["error_expired"] in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "claims" not in session


def test_login_when_gateway_unreachable_renders_friendly_page(client):
    response = client.get("/login")
    assert response.status_code == 502
    assert VI["error_unreachable"] in response.get_data(as_text=True)


# --- sign-out ------------------------------------------------------------------------------


def test_logout_rejects_get(client, signed_in):
    assert client.get("/logout").status_code == 405
    with client.session_transaction() as session:
        assert session["claims"] == signed_in


@pytest.mark.parametrize("form", [{}, {"csrf_token": ""}, {"csrf_token": "wrong"}])
def test_logout_rejects_missing_or_wrong_csrf_token(client, signed_in, form):
    response = client.post("/logout", data=form)
    assert response.status_code == 400
    assert VI["bad_request"] in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["claims"] == signed_in


def test_logout_ends_local_session_even_when_gateway_unreachable(client, signed_in):
    response = client.post("/logout", data={"csrf_token": "known-csrf-token"})
    assert response.status_code == 302
    assert response.location == "/"
    with client.session_transaction() as session:
        assert "claims" not in session
        assert "id_token" not in session
    assert VI["signed_out"] in client.get("/").get_data(as_text=True)


def test_logged_out_without_known_state_says_nothing(client):
    response = client.get("/logged-out", query_string={"state": "forged"})
    assert response.status_code == 302
    assert VI["signed_out"] not in client.get("/").get_data(as_text=True)
