"""The folder layout is the architecture: these are its import rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

WEB_AND_SQL = {"fastapi", "starlette", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "uvicorn"}
FORBIDDEN = {
    # Plain libraries: no web framework, no database, no HTTP, no service code.
    "keys": WEB_AND_SQL | {"httpx", "hub", "linkage_node", "consent", "pprl"},
    "consent": WEB_AND_SQL | {"httpx", "hub", "linkage_node", "pprl"},
    # Server-drawn charts for both sides' pages: pure functions of numbers.
    "charts": WEB_AND_SQL | {"httpx", "hub", "linkage_node", "consent", "contract", "pprl"},
    # The contract both sides share: models and the HTTP client, no service code.
    "contract": WEB_AND_SQL | {"hub", "linkage_node", "consent", "pprl"},
    # Sign-in with the state's provider, for both sides' pages and the commands: an HTTP
    # client library, no web framework, no database, no service code.
    "sso": WEB_AND_SQL | {"hub", "linkage_node", "consent", "contract", "pprl"},
    # The node and the hub meet only over HTTP, through the contract.
    "hub": {"linkage_node", "pprl"},
    "linkage_node": {"hub", "pprl"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# What a caller may be told is decided, proven and recorded in one place.
DISCLOSURE_ONLY = {"disclosure_decision", "prove_grant", "attach_proof", "AccessStatement"}


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    used |= {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for alias in n.names
    }
    return used


def test_only_the_disclosure_engine_decides_proves_and_records_disclosures() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_names_used(path) & DISCLOSURE_ONLY)
        for path in (ROOT / "hub").rglob("*.py")
        if "disclosure" not in path.relative_to(ROOT / "hub").parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_hub_and_the_node_share_only_the_contract() -> None:
    # Both sides speak the same models, imported from the one package they may share.
    for package in ("hub", "linkage_node"):
        users = [p for p in (ROOT / package).rglob("*.py") if "contract" in _imports(p)]
        assert users, f"{package} does not speak the contract"
