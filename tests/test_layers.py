"""The import-layer contract: core → store → app → tui / cli (checked on the source, like
Harlequin's import rules), and the store owns every SQL statement.

- ``workbench.core``: pure; imports no sqlite3, textual, click, jieba nor any other layer.
- ``workbench.store``: core and the standard library (sqlite3, sqlite_utils); no textual/click.
- app (everything else but ``tui`` and ``cli``): core and store; no textual, no click.
- ``workbench.tui``: may use app, core and store's public names; never jieba, never click.
- ``workbench.cli``: the top; nothing imports it but ``__main__``.
- Outside ``workbench/store/`` no module runs SQL text or touches a connection (``.conn``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "workbench"

# SQL here is written in capitals; prose such as "drop the span" is not SQL
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|PRAGMA|BEGIN|COMMIT|ROLLBACK|CREATE|DROP|ALTER|WITH)\b")


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "app"  # workbench/__init__.py: the version only
    sub = parts[1]
    if sub in ("core", "store", "tui", "cli", "commands", "__main__"):
        return {"commands": "cli", "__main__": "cli"}.get(sub, sub)
    return "app"


def _imports(path: Path) -> set[str]:
    """Absolute names of every module imported anywhere in the file (lazy imports too)."""
    mod = _module(path)
    pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
    return out


FILES = sorted(PKG.rglob("*.py"))

# what each layer may not import (top-level names, or workbench layers)
FORBIDDEN = {
    "core": {"sqlite3", "sqlite_utils", "textual", "rich", "click", "jieba", "store", "app", "tui", "cli"},
    "store": {"textual", "rich", "click", "jieba", "app", "tui", "cli"},
    "app": {"textual", "click", "tui", "cli"},
    "tui": {"jieba", "click", "cli"},
    "cli": set(),
}


def _violations(path: Path) -> list[str]:
    layer = _layer(_module(path))
    bad = []
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "workbench":
            parts = name.split(".")
            if len(parts) < 2:
                continue
            target = _layer(".".join(parts[:2]))
            if parts[1] in ("__version__",):
                continue
            if target != layer and target in FORBIDDEN[layer]:
                bad.append(f"{name} ({target})")
        elif top in FORBIDDEN[layer]:
            bad.append(name)
    return sorted(set(bad))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_layer_imports(path):
    assert _violations(path) == [], f"{_layer(_module(path))} layer imports what it may not"


def test_the_contract_catches_a_violation(tmp_path, monkeypatch):
    """The checker itself: a core module importing the store or textual is reported."""
    fake = PKG / "core" / "_contract_probe.py"
    assert not fake.exists()
    try:
        fake.write_text("import textual\nfrom ..store import Store\nfrom . import labels\n", encoding="utf-8")
        assert _violations(fake) == ["textual", "workbench.store (store)", "workbench.store.Store (store)"]
    finally:
        fake.unlink()


def _sql_outside_store(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
            # a docstring that starts with an SQL word is prose, not a statement
            if " " in node.value.strip() and not node.value.strip().endswith((".", ":")):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: SQL {node.value.strip()[:40]!r}")
        elif isinstance(node, ast.Attribute) and node.attr == "conn":
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}: .conn")
    return out


def test_only_the_store_runs_sql():
    found = [hit for p in FILES if "store" not in p.relative_to(PKG).parts[:1] for hit in _sql_outside_store(p)]
    assert found == []
