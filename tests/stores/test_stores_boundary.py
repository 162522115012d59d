"""``gateway/stores`` is platform level: it imports nothing of the domain packages."""

from __future__ import annotations

import ast
from pathlib import Path

STORES = Path(__file__).resolve().parents[2] / "gateway" / "stores"
DOMAIN = {"accounts", "oidc", "identity"}


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:  # from .x: inside gateway.stores
                continue
            parts = module.split(".")
            if node.level == 2:  # from ..x: gateway.x
                found.add(parts[0])
            elif parts[0] == "gateway" and len(parts) > 1:
                found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "gateway" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_stores_import_no_domain_package():
    modules = sorted(STORES.glob("*.py"))
    assert modules
    for path in modules:
        assert _imported_packages(path) & DOMAIN == set(), path.name
