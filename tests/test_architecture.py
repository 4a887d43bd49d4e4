"""Layering rules, checked on the real import graph (like Harlequin's import contract).

- ``store`` and the domain modules never import Textual;
- the TUI never imports jieba (segmentation is precomputed at propose time).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DOMAIN = [p for p in (ROOT / "workbench").glob("*.py") if p.name not in ("cli.py", "__main__.py")]
DOMAIN += list((ROOT / "workbench" / "propose").rglob("*.py"))
DOMAIN += list((ROOT / "workbench" / "store").rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_store_and_domain_never_import_textual_statically():
    offenders = [str(p.relative_to(ROOT)) for p in DOMAIN if "textual" in _imports(p)]
    assert offenders == []


def _modules_loaded(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return set(out.stdout.split())


def test_domain_import_graph_has_no_textual():
    mods = ["workbench.store"] + [
        "workbench." + p.stem
        for p in (ROOT / "workbench").glob("*.py")
        if p.stem not in ("cli", "__main__", "__init__")
    ]
    loaded = _modules_loaded("\n".join(f"import {m}" for m in mods))
    assert "textual" not in loaded


def test_tui_never_imports_jieba():
    tui = ["workbench.tui." + p.stem for p in (ROOT / "workbench" / "tui").glob("*.py") if p.stem != "__init__"]
    code = "import workbench.tui\n" + "\n".join(f"import {m}" for m in tui)
    if (ROOT / "workbench" / "session.py").exists():
        code += "\nimport workbench.session"
    loaded = _modules_loaded(code)
    assert "jieba" not in loaded


def test_cli_help_imports_neither_jieba_nor_textual():
    loaded = _modules_loaded("import workbench.cli")
    assert "jieba" not in loaded and "textual" not in loaded


def test_cli_command_modules_never_import_the_cli_package():
    """Command modules import ``workbench.cli.context`` (a leaf), never the package that
    registers them: no import cycle, no registration by import side effect."""
    offenders = []
    for path in sorted((ROOT / "workbench" / "cli").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                pkg = (node.level == 0 and node.module == "workbench.cli") or (node.level == 1 and not node.module)
                if pkg or node.level > 1:
                    offenders.append(f"{path.name}:{node.lineno}")
            elif isinstance(node, ast.Import) and any(a.name == "workbench.cli" for a in node.names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_every_command_is_registered_from_the_module_list():
    from workbench.cli import COMMAND_MODULES, cli, export, import_

    def names(attr):
        return sorted(c.name for m in COMMAND_MODULES for c in getattr(m, attr, ()))

    assert sorted(cli.commands) == sorted(names("COMMANDS") + ["export", "import"])
    assert sorted(export.commands) == names("EXPORT_COMMANDS")
    assert sorted(import_.commands) == names("IMPORT_COMMANDS")
