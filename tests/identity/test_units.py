"""Administrative units of Vĩnh Long in both structures (docs/domain.md §4), keyed on codes."""

from __future__ import annotations

import pytest

from gateway.identity.units import InvalidUnit, get_unit, list_units, validate_unit


def test_units_cover_both_structures():
    """8 districts before 2025; the 107 communes of 2023 and the 124 of 2025 all valid."""
    import csv

    from gateway.identity.units import DATA

    assert [u.code for u in list_units("district")] == [
        "855", "857", "858", "859", "860", "861", "862", "863"]
    with open(DATA / "vinh-long-pre2025-units.csv", encoding="utf-8") as handle:
        pre = [row["ward_code"] for row in csv.DictReader(handle)]
    with open(DATA / "vinh-long-2025-units.csv", encoding="utf-8") as handle:
        new = [row["ward_code"] for row in csv.DictReader(handle)]
    assert len(pre) == 107 and len(new) == 124
    for code in pre + new:
        assert validate_unit("commune", code).level == "commune"
    assert validate_unit("province", "86").name == "Tỉnh Vĩnh Long"


def test_unit_code_kept_in_2025_takes_the_2025_name():
    assert get_unit("commune", "29551").name == "Phường Long Châu"
    assert get_unit("commune", "29551").structure == "2025"
    assert get_unit("commune", "29548").structure == "pre2025"


@pytest.mark.parametrize("level, code", [
    ("province", "83"), ("district", "829"), ("district", "29551"), ("commune", "855"),
    ("commune", ""), ("commune", "00001"), ("ward", "29551"),
])
def test_validate_unit_refuses_other_levels_and_codes(level, code):
    with pytest.raises(InvalidUnit):
        validate_unit(level, code)


def test_pre2025_commune_of_a_province_merged_in_2025_is_known():
    """Residents recorded under old Trà Vinh / Bến Tre codes (2025 CSV ``legacy_sources``) keep
    a valid commune, served by the 2025 commune that took it over."""
    from gateway.identity.units import check_same_commune

    unit = validate_unit("commune", "29239")
    assert (unit.name, unit.structure) == ("Phường 1", "pre2025")
    assert check_same_commune("29242", "29239")
