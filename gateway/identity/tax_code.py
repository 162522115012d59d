"""Tax code (mã số thuế / mã số doanh nghiệp), docs/domain.md §3: validated by ``stdnum.vn.mst``.

Ten digits, the tenth a mod-11 check digit, plus ``-NNN`` for a branch. Stored in the canonical
form ``stdnum`` formats (``0100233488``, ``0314409058-002``), so one business has one spelling.
"""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.vn import mst

# ASCII digits with the separators people type; ``str.isdigit`` (used by stdnum) accepts "０".
_ALLOWED = re.compile(r"[0-9][0-9 .-]{0,19}")


class InvalidTaxCode(ValueError):
    """Not a valid business tax code."""


def validate_tax_code(value: str) -> str:
    """The canonical tax code, or raise ``InvalidTaxCode``."""
    raw = (value or "").strip()
    if not _ALLOWED.fullmatch(raw):
        raise InvalidTaxCode("only ASCII digits, and '-' before a branch number")
    try:
        compact = mst.validate(raw)
    except ValidationError as exc:
        raise InvalidTaxCode(str(exc)) from exc
    if len(compact) not in (10, 13):  # a 12-digit personal ID is a person's, not a business's
        raise InvalidTaxCode("a business tax code has 10 digits, or 13 for a branch")
    return mst.format(compact)


def check_tax_code(value: str) -> bool:
    try:
        validate_tax_code(value)
    except InvalidTaxCode:
        return False
    return True
