"""Personal ID numbers (docs/domain.md §3): ``PPP G YY RRRRRR``: province of birth registration, a
century-and-sex digit, the last two digits of the birth year, six random digits."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.identity.personal_id import (
    PROVINCE_CODES,
    InvalidPersonalID,
    check_format,
    validate_personal_id,
)


@pytest.mark.parametrize(
    ("number", "birthdate", "sex"),
    [
        ("086090001234", date(1990, 5, 12), "male"),  # 0: male, 20th century
        ("086185005678", date(1985, 11, 3), "female"),  # 1: female, 20th century
        ("086201009012", date(2001, 2, 20), "male"),  # 2: male, 21st century
        ("001305000001", date(2005, 1, 1), "female"),  # 3: female, 21st century (Hà Nội)
        ("079400000001", date(2100, 1, 1), "male"),  # 4: male, 22nd century
        ("096599000001", date(2199, 12, 31), "female"),  # 5: female, 22nd century
        ("086000000001", date(1900, 1, 1), "male"),
        ("086199000001", date(1999, 12, 31), "female"),
    ],
)
def test_personal_id_valid_with_matching_birthdate_and_sex(number, birthdate, sex):
    assert validate_personal_id(number, birthdate, sex) == number


@pytest.mark.parametrize(
    ("number", "birthdate", "sex", "message"),
    [
        ("086090001234", date(1991, 5, 12), "male", "year of birth"),  # year digits differ
        ("086290001234", date(1990, 5, 12), "male", "year of birth"),  # century 2000s
        ("086090001234", date(2090, 5, 12), "male", "year of birth"),  # century 1900s
        ("086190001234", date(1990, 5, 12), "male", "sex"),  # 1 is female
        ("086090001234", date(1990, 5, 12), "female", "sex"),  # 0 is male
        ("086301000001", date(2001, 1, 1), "male", "sex"),
    ],
)
def test_personal_id_century_sex_digit_checked(number, birthdate, sex, message):
    """The 4th digit encodes century and sex; digits 5-6 the year: both must agree."""
    with pytest.raises(InvalidPersonalID, match=message):
        validate_personal_id(number, birthdate, sex)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("08609000123", "12 digits"),
        ("0860900012345", "12 digits"),
        ("08609000123a", "12 digits"),
        ("086 090 001 234", "12 digits"),
        ("", "12 digits"),
        (None, "12 digits"),
        ("\u0660\u0668\u0666" + "0" * 9, "12 digits"),  # Arabic-Indic digits
        ("086090001234\n5", "12 digits"),
        ("999090001234", "province"),
        ("000090001234", "province"),
        ("003090001234", "province"),
    ],
)
def test_personal_id_malformed_refused(number, message):
    with pytest.raises(InvalidPersonalID, match=message):
        validate_personal_id(number)


def test_personal_id_surrounding_whitespace_stripped():
    assert validate_personal_id(" 086090001234\n") == "086090001234"


def test_personal_id_without_birthdate_or_sex_checks_format_only():
    assert validate_personal_id("086190001234") == "086190001234"
    assert validate_personal_id("086190001234", sex="female") == "086190001234"
    assert validate_personal_id("086190001234", birthdate=date(1990, 1, 1)) == "086190001234"


def test_personal_id_no_checksum_any_random_digits():
    """There is no check digit: the last six digits are never refused."""
    for tail in ("000000", "999999", "123456"):
        assert validate_personal_id("086090" + tail) == "086090" + tail


def test_personal_id_province_codes_are_the_63_provinces():
    assert len(PROVINCE_CODES) == 63
    assert {"001", "079", "086", "096"} <= PROVINCE_CODES  # Hà Nội, HCMC, Vĩnh Long, Cà Mau
    assert all(len(code) == 3 and code.isascii() and code.isdigit() for code in PROVINCE_CODES)


@pytest.mark.parametrize(
    ("number", "expected"),
    [("086090001234", True), ("999090001234", False), ("08609000123", False),
     ("", False), (None, False), ("086090001234 ", False)],
)
def test_check_format(number, expected):
    assert check_format(number) is expected
