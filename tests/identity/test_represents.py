"""Acting for a business at sign-in (issue 4 §6; docs/domain.md §2: a business acts through a person
with a level-2 identity): the ``organisation`` scope, the "act for whom?" step between sign-in
and consent, and the ``represents`` claim with the national-portal aliases."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.extensions import db
from gateway.identity.models import Citizen, Representation
from tests.conftest import RelyingParty, _csrf, query_of

TAX_CODE = "1500456787"
SCOPE = "openid profile organisation national_portal"


class ActingRelyingParty(RelyingParty):
    """A relying party whose person answers the "act for whom?" page with ``choice``."""

    choice = "self"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pages = []

    def authorize(self, method="GET", **extra):
        self.pages = []
        extra.setdefault("scope", SCOPE)
        return super().authorize(method, **extra)

    def login(self, location, citizen=None, password=None):
        self.pages.append("login")
        return super().login(location, citizen, password)

    def consent(self, location, decision="allow"):
        self.pages.append("consent")
        self.consent_page = self.http.get(location).get_data(as_text=True)
        return super().consent(location, decision)

    def follow_to_callback(self, response, max_hops=8):
        for _ in range(max_hops):
            if response.status_code not in (302, 303):
                return {"status": response.status_code, "body": response.get_data(as_text=True)}
            location = response.headers["Location"]
            if location.startswith(self.reg["redirect_uri"]):
                return query_of(location)
            path = urlsplit(location).path
            if path == "/login/acting-for":
                self.pages.append("acting-for")
                page = self.http.get(location)
                assert page.status_code == 200
                self.last_page = page.get_data(as_text=True)
                response = self.http.post(location, data={
                    "csrf_token": _csrf(self.last_page), "acting_for": str(self.choice)})
            elif path == "/login":
                response = self.login(location)
            elif path == "/consent":
                response = self.consent(location)
            else:
                response = self.http.get(location)
        raise AssertionError("too many redirects")


def _business_for(app, person, role="legal_representative", until=None, revoked=False,
                  tax_code=TAX_CODE, name="Công ty TNHH Phát Đạt"):
    from gateway.identity.businesses import create_business, get_business_by_tax_code

    with app.app_context():
        citizen = db.session.get(Citizen, person["id"])
        business = get_business_by_tax_code(tax_code)
        if business is None:
            level = citizen.assurance_level
            citizen.assurance_level = 2
            business = create_business(citizen, tax_code=tax_code, name=name)
            db.session.flush()
            citizen.assurance_level = level
            rep = db.session.query(Representation).filter_by(business_id=business.id).one()
            rep.role, rep.valid_until = role, until
        else:
            rep = Representation(citizen_id=citizen.id, business_id=business.id, role=role,
                                 valid_from=date(2026, 1, 1), valid_until=until, granted_at=0)
            db.session.add(rep)
        if revoked:
            rep.revoked_at = 1
        db.session.commit()
        return rep.id


def _rp(client, factory, people, level=2, scope=SCOPE):
    registration = factory.oauth_client(scope=scope)
    return ActingRelyingParty(client, registration, people.citizen(level=level))


def _claims(client, rp, tokens):
    keys = KeySet.import_key_set(client.get("/jwks").get_json())
    id_token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256", "PS256", "ES256"]).claims
    info = client.get("/userinfo",
                      headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    return id_token, info


def test_represents_discovery_advertises_organisation_scope_and_claims(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "organisation" in metadata["scopes_supported"]
    for claim in ("represents", "MaSoThue", "TenDoanhNghiep", "NguoiDaiDien"):
        assert claim in metadata["claims_supported"]


def test_represents_acting_for_business_in_id_token_and_userinfo(app, client, factory, people):
    rp = _rp(client, factory, people)
    rp.choice = _business_for(app, rp.citizen)
    params, tokens = rp.sign_in_and_get_tokens()
    assert rp.pages == ["login", "acting-for", "consent"]
    assert "Công ty TNHH Phát Đạt" in rp.last_page and "Bạn thực hiện với tư cách nào?" in \
        rp.last_page
    assert "Công ty TNHH Phát Đạt" in rp.consent_page
    id_token, info = _claims(client, rp, tokens)
    expected = {"tax_code": TAX_CODE, "name": "Công ty TNHH Phát Đạt",
                "role": "legal_representative"}
    for claims in (id_token, info):
        assert claims["represents"] == expected
        assert claims["MaSoThue"] == TAX_CODE
        assert claims["TenDoanhNghiep"] == "Công ty TNHH Phát Đạt"
        assert claims["NguoiDaiDien"] == rp.citizen["name"]
        assert claims["LoaiTaiKhoan"] == "2"
    assert info["HoVaTen"] == rp.citizen["name"]  # still the person who signed in


def test_represents_acting_for_myself_releases_no_business(app, client, factory, people):
    rp = _rp(client, factory, people)
    _business_for(app, rp.citizen)
    rp.choice = "self"
    _, tokens = rp.sign_in_and_get_tokens()
    assert rp.pages == ["login", "acting-for", "consent"]
    id_token, info = _claims(client, rp, tokens)
    for claims in (id_token, info):
        assert "represents" not in claims and "MaSoThue" not in claims
    assert info["LoaiTaiKhoan"] == "1"


def test_represents_no_page_without_representations(client, factory, people):
    rp = _rp(client, factory, people)
    _, tokens = rp.sign_in_and_get_tokens()
    assert rp.pages == ["login", "consent"]
    assert "represents" not in _claims(client, rp, tokens)[1]


def test_represents_no_page_when_scope_not_asked(app, client, factory, people):
    rp = _rp(client, factory, people)
    _business_for(app, rp.citizen)
    _, tokens = rp.sign_in_and_get_tokens(scope="openid profile national_portal")
    assert rp.pages == ["login", "consent"]
    assert _claims(client, rp, tokens)[1]["LoaiTaiKhoan"] == "1"


def test_represents_no_page_for_level_1_person(app, client, factory, people):
    rp = _rp(client, factory, people, level=1)
    _business_for(app, rp.citizen)
    rp.sign_in_and_get_tokens()
    assert rp.pages == ["login", "consent"]


def test_represents_expired_or_revoked_role_not_offered(app, client, factory, people):
    rp = _rp(client, factory, people)
    _business_for(app, rp.citizen, role="authorised", until=date(2027, 1, 14))
    _business_for(app, rp.citizen, role="authorised", revoked=True, tax_code="0100233488",
                  name="Công ty Đã Thu Hồi")
    rp.sign_in_and_get_tokens()
    assert rp.pages == ["login", "consent"]


def test_represents_tampered_choice_refused(app, client, factory, people):
    """A representation of someone else, a revoked or expired one, or garbage: 403, no code."""
    rp = _rp(client, factory, people)
    _business_for(app, rp.citizen)  # so the page is shown
    other = people.citizen(level=2)
    others = _business_for(app, other, tax_code="0100233488", name="Công ty Người Khác")
    revoked = _business_for(app, rp.citizen, role="authorised", revoked=True,
                            tax_code="0314409058-002", name="Chi nhánh")
    for choice in (others, revoked, "999", "abc", ""):
        rp.choice = choice
        _, response = rp.authorize()
        result = rp.follow_to_callback(response)
        assert result.get("status") == 403, (choice, result)
        assert "code" not in result


def test_represents_revoked_after_choice_refused_at_resume(app, client, factory, people):
    rp = _rp(client, factory, people)
    rep_id = _business_for(app, rp.citizen)
    _, response = rp.authorize()
    login = rp.login(response.headers["Location"])
    acting = login.headers["Location"]
    resume = client.get(acting)  # redirected to the choice page by the pipeline
    page = client.get(resume.headers["Location"]) if resume.status_code in (302, 303) else resume
    choose = client.post(urlsplit(page.request.url).path + "?" + urlsplit(
        page.request.url).query, data={"csrf_token": _csrf(page.get_data(as_text=True)),
                                        "acting_for": str(rep_id)})
    assert choose.status_code == 303
    with app.app_context():
        db.session.get(Representation, rep_id).revoked_at = 1
        db.session.commit()
    to_consent = client.get(choose.headers["Location"])
    assert urlsplit(to_consent.headers["Location"]).path == "/consent"
    allowed = rp.consent(to_consent.headers["Location"])
    assert client.get(allowed.headers["Location"]).status_code == 403


def test_represents_revoked_after_sign_in_not_in_userinfo(app, client, factory, people):
    rp = _rp(client, factory, people)
    rp.choice = rep_id = _business_for(app, rp.citizen)
    _, tokens = rp.sign_in_and_get_tokens()
    with app.app_context():
        db.session.get(Representation, rep_id).revoked_at = 1
        db.session.commit()
    info = _claims(client, rp, tokens)[1]
    assert "represents" not in info and info["LoaiTaiKhoan"] == "1"


def test_represents_prompt_none_is_interaction_required(app, client, factory, people):
    """OIDC Core §3.1.2.6: the choice needs the person, so ``prompt=none`` cannot make it."""
    rp = _rp(client, factory, people)
    rp.choice = _business_for(app, rp.citizen)
    rp.sign_in_and_get_tokens()
    _, response = rp.authorize(prompt="none")
    assert query_of(response.headers["Location"])["error"] == "interaction_required"


def test_represents_asked_again_at_each_authorization(app, client, factory, people):
    rp = _rp(client, factory, people)
    rp.choice = _business_for(app, rp.citizen)
    rp.sign_in_and_get_tokens()
    rp.choice = "self"
    _, tokens = rp.sign_in_and_get_tokens()
    assert rp.pages == ["acting-for"]
    assert "represents" not in _claims(client, rp, tokens)[1]


def test_represents_choice_page_needs_a_pending_request(client, people):
    people.sign_in(people.citizen(level=2))
    assert client.get("/login/acting-for?interaction=nope").status_code == 400


def test_represents_account_type_only_with_national_portal_scope(app, client, factory, people):
    rp = _rp(client, factory, people)
    rp.choice = _business_for(app, rp.citizen)
    _, tokens = rp.sign_in_and_get_tokens(scope="openid profile organisation")
    id_token, info = _claims(client, rp, tokens)
    for claims in (id_token, info):
        assert claims["MaSoThue"] == TAX_CODE and "LoaiTaiKhoan" not in claims
