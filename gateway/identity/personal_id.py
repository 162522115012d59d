"""Personal ID number (số định danh cá nhân), docs/domain.md §3.

Twelve digits ``PPP G YY RRRRRR``: province code of birth registration, a digit for century and
sex, the last two digits of the birth year, six random digits. There is no check digit, so a number
is never refused on a checksum; it is cross-checked against the stated birth date and sex.
"""

from __future__ import annotations

import re
from datetime import date

# Province codes (3 digits) of the 63 pre-2025 provinces: statistics-office codes with a leading 0.
PROVINCE_CODES = frozenset(
    f"{code:03d}"
    for code in (
        1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34,
        35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67,
        68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
    )
)

# ASCII digits only (``\d`` matches any script's digits; ``$`` allows a trailing newline).
_PATTERN = re.compile(r"[0-9]{12}")


class InvalidPersonalID(ValueError):
    """The number is not a well-formed personal ID number (the message says why)."""


def check_format(number: str) -> bool:
    """True when ``number`` is 12 digits with a known province code."""
    return bool(_PATTERN.fullmatch(number or "")) and number[:3] in PROVINCE_CODES


def validate_personal_id(number: str, birthdate: date | None = None, sex: str | None = None) -> str:
    """Return the normalised number or raise ``InvalidPersonalID``.

    ``sex`` is ``"male"`` or ``"female"``; with ``birthdate`` it is checked against digits 4-6.
    """
    number = (number or "").strip()
    if not _PATTERN.fullmatch(number):
        raise InvalidPersonalID("must be exactly 12 digits")
    if number[:3] not in PROVINCE_CODES:
        raise InvalidPersonalID(f"unknown province code {number[:3]}")
    century_sex = int(number[3])
    century = 1900 + 100 * (century_sex // 2)
    encoded_sex = "female" if century_sex % 2 else "male"
    year = century + int(number[4:6])
    if birthdate is not None and birthdate.year != year:
        raise InvalidPersonalID("does not match the year of birth")
    if sex is not None and sex != encoded_sex:
        raise InvalidPersonalID("does not match the sex")
    return number
