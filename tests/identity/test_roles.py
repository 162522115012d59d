"""Staff roles (``grant-role`` / ``revoke-role``), tax codes, and commune codes on every write
path (issue 4 §1, docs/domain.md §3-§4)."""

from __future__ import annotations

import pytest

from gateway.extensions import db
from gateway.identity.models import RoleAssignment
from gateway.identity.tax_code import InvalidTaxCode, check_tax_code, validate_tax_code
from gateway.identity.units import check_same_commune


@pytest.mark.parametrize("value, canonical", [
    ("0100233488", "0100233488"),
    (" 0100233488 ", "0100233488"),
    ("0314409058-002", "0314409058-002"),
    ("0314409058002", "0314409058-002"),
    ("1500456787", "1500456787"),
])
def test_tax_code_valid_normalised(value, canonical):
    assert validate_tax_code(value) == canonical


@pytest.mark.parametrize("value", [
    "0100233480",  # wrong check digit (docs/domain.md §3)
    "010023348", "01002334881", "", "abcdefghij", "0314409058-000", "086088004321",
    "0" * 50, "０１００２３３４８８",
])
def test_tax_code_invalid_refused(value):
    assert not check_tax_code(value)
    with pytest.raises(InvalidTaxCode):
        validate_tax_code(value)


def test_same_commune_accepts_predecessor_codes():
    # Phường Phước Hậu (29557, 2025) took over Phường 4 (29554) and Xã Phước Hậu (29596).
    assert check_same_commune("29557", "29557")
    assert check_same_commune("29557", "29554")
    assert check_same_commune("29557", "29596")
    assert not check_same_commune("29557", "29551")
    assert not check_same_commune("29557", None)


def _roles(app, personal_id):
    from gateway.identity.services import get_citizen_by_personal_id
    from gateway.identity.staff import get_roles

    with app.app_context():
        return [(r.role, r.unit_code)
                for r in get_roles(get_citizen_by_personal_id(personal_id))]


def test_grant_role_command_scopes_officer_to_unit(app, runner, factory):
    person = factory.citizen()
    result = runner.invoke(args=["grant-role", person["personal_id"], "commune_officer",
                                 "--unit", "29557"])
    assert result.exit_code == 0, result.output
    assert "29557" in result.output
    again = runner.invoke(args=["grant-role", person["personal_id"], "commune_officer",
                                "--unit", "29557"])
    assert again.exit_code == 0
    assert _roles(app, person["personal_id"]) == [("commune_officer", "29557")]


@pytest.mark.parametrize("args, message", [
    (["commune_officer"], "--unit"),
    (["commune_officer", "--unit", "99999"], "not a commune-level unit"),
    (["commune_officer", "--unit", "855"], "not a commune-level unit"),
    (["administrator", "--unit", "29557"], "omit --unit"),
    (["mayor"], "Invalid value"),
])
def test_grant_role_command_refuses_bad_input(app, runner, factory, args, message):
    person = factory.citizen()
    result = runner.invoke(args=["grant-role", person["personal_id"], *args])
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.query(RoleAssignment).count() == 0


def test_grant_role_command_refuses_unknown_person(runner):
    result = runner.invoke(args=["grant-role", "086090099999", "administrator"])
    assert result.exit_code != 0 and "no citizen" in result.output


def test_revoke_role_command_removes_role(app, runner, factory):
    person = factory.citizen()
    runner.invoke(args=["grant-role", person["personal_id"], "administrator"])
    runner.invoke(args=["grant-role", person["personal_id"], "commune_officer", "--unit", "29551"])
    result = runner.invoke(args=["revoke-role", person["personal_id"], "administrator"])
    assert result.exit_code == 0 and "Removed 1" in result.output
    assert _roles(app, person["personal_id"]) == [("commune_officer", "29551")]


def test_create_citizen_refuses_unknown_ward_code(app, factory):
    with pytest.raises(ValueError, match="not a commune-level unit"):
        factory.citizen(ward_code="12345")


def test_seed_demo_adds_business_representative_and_officer(app, runner, tmp_path):
    """Issue 4 §6: Võ Thành Phát (level 2) represents MST 1500456787; Đặng Thị Mai is the
    commune officer of Phường Phước Hậu (29557). Idempotent."""
    import json

    from gateway.identity.businesses import get_business_by_tax_code, get_valid_representations
    from gateway.identity.services import get_citizen_by_personal_id
    from gateway.identity.staff import get_roles

    out = tmp_path / "clients.json"
    for _ in range(2):
        result = runner.invoke(args=["seed-demo", "--write-clients", str(out)])
        assert result.exit_code == 0, result.output
    accounts = {c["personal_id"]: c for c in json.loads(out.read_text())["citizens"]}
    assert "1500456787" in accounts["086088004321"]["note"]
    assert "Phước Hậu" in accounts["086180002468"]["note"]
    with app.app_context():
        phat = get_citizen_by_personal_id("086088004321")
        assert phat.full_name == "Võ Thành Phát" and phat.assurance_level == 2
        business = get_business_by_tax_code("1500456787")
        assert [(r.business_id, r.role) for r in get_valid_representations(phat)] == [
            (business.id, "legal_representative")]
        mai = get_citizen_by_personal_id("086180002468")
        assert [(r.role, r.unit_code) for r in get_roles(mai)] == [("commune_officer", "29557")]
