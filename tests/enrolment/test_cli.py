"""``flask --app gateway create-citizen`` (README: enrol a person from the command line)."""

from __future__ import annotations

from sqlalchemy import text

from gateway.extensions import db

ARGS = ["create-citizen", "--personal-id", "086185005678", "--family-name", "Trần",
        "--middle-name", "Thị", "--given-name", "Bình", "--birthdate", "1985-11-03",
        "--gender", "female", "--email", "binh@example.vn", "--password", "Secret-Pass-1"]


def _stored_hash(app, personal_id):
    with app.app_context():
        return db.session.execute(
            text("SELECT password_hash FROM citizens WHERE personal_id = :p"), {"p": personal_id}
        ).scalar_one_or_none()


def test_create_citizen_command_creates_with_hashed_password(app, runner):
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    assert "Trần Thị Bình" in result.output
    stored = _stored_hash(app, "086185005678")
    assert stored.startswith("$argon2id$") and "Secret-Pass-1" not in stored
    assert "Secret-Pass-1" not in result.output


def test_create_citizen_command_can_sign_in(app, runner, client):
    from tests.conftest import _csrf

    runner.invoke(args=ARGS)
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": _csrf(page.get_data(as_text=True)),
                                            "personal_id": "086185005678",
                                            "password": "Secret-Pass-1"})
    assert response.status_code == 303


def test_create_citizen_command_prompts_for_password(app, runner):
    args = [a for a in ARGS if a not in ("--password", "Secret-Pass-1")]
    result = runner.invoke(args=args, input="Secret-Pass-1\nSecret-Pass-1\n")
    assert result.exit_code == 0, result.output
    assert _stored_hash(app, "086185005678")


def test_create_citizen_command_duplicate_usage_error(runner):
    runner.invoke(args=ARGS)
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 2 and "already exists" in result.output


def test_create_citizen_command_mismatched_sex_usage_error(app, runner):
    args = [("male" if a == "female" else a) for a in ARGS]
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and "sex" in result.output
    assert _stored_hash(app, "086185005678") is None


def test_create_citizen_command_bad_birthdate_usage_error(runner):
    args = [("1985-13-45" if a == "1985-11-03" else a) for a in ARGS]
    result = runner.invoke(args=args)
    assert result.exit_code == 2


def test_create_citizen_command_short_password_usage_error(app, runner):
    args = [("short" if a == "Secret-Pass-1" else a) for a in ARGS]
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert _stored_hash(app, "086185005678") is None
