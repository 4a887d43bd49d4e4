"""Packaging defects of issue 11: a regular ``pip install .`` lacked the bundled corpus and
installed a generic top-level ``store`` package. (.ci/run also builds the wheel, installs it into
a fresh venv and runs ``workbench annotate`` in an empty folder: .ci/wheel_smoke.py.)"""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path

import workbench

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_corpus_is_package_data():
    corpus = importlib.resources.files("workbench") / "data" / "corpus"
    names = sorted(p.name for p in corpus.iterdir() if p.name.endswith(".txt"))
    assert len(names) == 5
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = conf["tool"]["setuptools"]["package-data"]["workbench"]
    assert "data/corpus/*.txt" in data
    from workbench.cli import BUNDLED_CORPUS

    assert Path(BUNDLED_CORPUS).resolve() == Path(str(corpus)).resolve()


def test_one_top_level_package_and_one_version():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert conf["tool"]["setuptools"]["packages"]["find"]["include"] == ["workbench", "workbench.*"]
    assert not (ROOT / "store").exists()
    assert "version" in conf["project"]["dynamic"]
    assert conf["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "workbench.__version__"}
    assert workbench.__version__


def test_textual_is_pinned_to_a_tested_range():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (textual,) = [d for d in conf["project"]["dependencies"] if d.startswith("textual")]
    assert "<" in textual and ">=" in textual
    import textual as t

    lo = textual.split(">=")[1].split(",")[0]
    assert tuple(int(x) for x in t.__version__.split(".")[:2]) >= tuple(int(x) for x in lo.split(".")[:2])
