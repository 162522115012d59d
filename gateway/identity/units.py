"""Vĩnh Long's administrative units, keyed on official codes (docs/domain.md §4).

Both structures are real and both are accepted: before 1 July 2025 (province 86 → 8 districts
→ communes; the 2023 and 2025-01-04 lists) and since then (province 86 → 124 communes, no
districts). The lists ship as CSV in ``data/`` (public administrative data; provenance in
``data/README.md``) and are read once, lazily; nothing is loaded at import.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
PROVINCE_CODE = "86"
PROVINCE_NAME = "Tỉnh Vĩnh Long"
LEVELS = ("province", "district", "commune")


@dataclass(frozen=True)
class AdministrativeUnit:
    code: str
    name: str
    level: str
    #: ``pre2025`` (three-level structure), ``2025`` (two-level) or ``both`` for the province.
    structure: str


class InvalidUnit(ValueError):
    """The level or code is not a Vĩnh Long administrative unit; the message says why."""


def _read(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def _units() -> dict[tuple[str, str], AdministrativeUnit]:
    units = {("province", PROVINCE_CODE): AdministrativeUnit(
        PROVINCE_CODE, PROVINCE_NAME, "province", "both")}
    for row in _read("vinh-long-pre2025-units.csv"):
        units[("district", row["district_code"])] = AdministrativeUnit(
            row["district_code"], row["district_name"], "district", "pre2025")
        units[("commune", row["ward_code"])] = AdministrativeUnit(
            row["ward_code"], row["ward_name"], "commune", "pre2025")
    for row in _read("vinh-long-2025-units.csv"):
        # Predecessors from the provinces merged in 2025 (Bến Tre, Trà Vinh) are known only from
        # ``legacy_sources``: "29239 Phường 1 (old province 84, old district 842); ...".
        for source in (row.get("legacy_sources") or "").split(";"):
            code, _, rest = source.strip().partition(" ")
            if code.isdigit() and ("commune", code) not in units:
                units[("commune", code)] = AdministrativeUnit(
                    code, rest.split(" (", 1)[0].strip(), "commune", "pre2025")
    for row in _read("vinh-long-2025-units.csv"):
        # A 2025 unit keeps the code of one predecessor: the 2025 name wins for that code.
        units[("commune", row["ward_code"])] = AdministrativeUnit(
            row["ward_code"], row["ward_name"], "commune", "2025")
    return units


def get_unit(level: str, code: str) -> AdministrativeUnit | None:
    return _units().get((level, (code or "").strip()))


def validate_unit(level: str, code: str) -> AdministrativeUnit:
    """The unit at ``level`` with ``code``; raise ``InvalidUnit`` when there is none."""
    if level not in LEVELS:
        raise InvalidUnit(f"level must be one of {', '.join(LEVELS)}")
    unit = get_unit(level, code)
    if unit is None:
        raise InvalidUnit(f"{code!r} is not a {level}-level unit code of Vĩnh Long")
    return unit


def list_units(level: str) -> list[AdministrativeUnit]:
    return sorted((u for (lvl, _), u in _units().items() if lvl == level), key=lambda u: u.code)


@cache
def _successors() -> dict[str, str]:
    """Pre-2025 commune code -> the 2025 commune that took it over (``legacy_sources``)."""
    successors = {}
    for row in _read("vinh-long-2025-units.csv"):
        for source in (row.get("legacy_sources") or "").split(";"):
            code = source.strip().split(" ", 1)[0]
            if code.isdigit():
                successors.setdefault(code, row["ward_code"])
    return successors


def check_same_commune(unit_code: str, ward_code: str | None) -> bool:
    """True when ``ward_code`` (either structure) is, or merged into, commune ``unit_code``.

    An officer of a 2025 commune serves the residents recorded under its predecessors too."""
    if not ward_code or not unit_code:
        return False
    if ward_code == unit_code:
        return True
    return _successors().get(ward_code) == unit_code


def get_commune_codes(unit_code: str) -> set[str]:
    """``unit_code`` and the pre-2025 codes merged into it (for counting its residents)."""
    return {unit_code} | {old for old, new in _successors().items() if new == unit_code}
