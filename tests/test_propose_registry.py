"""Proposers are looked up in the ``workbench.proposers`` entry-point group, with the
built-ins as fallback: a third-party package's proposer is found and runs like ours."""

from __future__ import annotations

import importlib.metadata
import sys
import tomllib
import types

import pytest
from click.testing import CliRunner
from conftest import ROOT

import workbench.propose as registry
from workbench.cli import cli
from workbench.propose import BUILTIN_PROPOSERS, ENTRY_POINT_GROUP, Proposer, available, get_proposer


class FakeProposer:
    """What a third-party package would ship: every 年 is a DATE."""

    name = "fake"
    version = "0.1"
    labels = ("DATE",)

    def propose(self, text: str) -> list[dict]:
        return [{"start": i, "end": i + 1, "label": "DATE", "text": "年"} for i, c in enumerate(text) if c == "年"]

    def analyze(self, text: str) -> tuple[list[dict], list[int]]:
        return self.propose(text), list(range(len(text)))


@pytest.fixture
def fake_plugin(monkeypatch):
    """A module ``fake_wb_plugin`` and an installed entry point ``fake`` pointing at it."""
    mod = types.ModuleType("fake_wb_plugin")
    mod.FakeProposer = FakeProposer  # type: ignore[attr-defined]
    mod.NotAProposer = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_wb_plugin", mod)
    fake = [
        importlib.metadata.EntryPoint("fake", "fake_wb_plugin:FakeProposer", ENTRY_POINT_GROUP),
        importlib.metadata.EntryPoint("broken", "fake_wb_plugin:NotAProposer", ENTRY_POINT_GROUP),
    ]
    real = importlib.metadata.entry_points

    def entry_points(**kw):
        if kw.get("group") == ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints(fake)
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(registry, "_instances", {})
    return mod


def test_builtins_without_installed_metadata():
    # a plain checkout: the built-ins are there whatever the installed entry points say
    names = available()
    assert names[0] == "rules" and {"rules", "numbers", "jieba"} <= set(names)
    p = get_proposer("numbers")
    assert isinstance(p, Proposer) and p.name == "numbers"
    with pytest.raises(KeyError, match="unknown proposer 'nope'; available: rules"):
        get_proposer("nope")


def test_pyproject_declares_the_builtins():
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    assert table[ENTRY_POINT_GROUP] == BUILTIN_PROPOSERS


def test_a_third_party_proposer_is_found(fake_plugin):
    assert "fake" in available() and "rules" in available()  # built-ins still there
    p = get_proposer("fake")
    assert isinstance(p, FakeProposer) and get_proposer("fake") is p
    assert p.propose("2021年") == [{"start": 4, "end": 5, "label": "DATE", "text": "年"}]
    with pytest.raises(TypeError, match="broken"):
        get_proposer("broken")


def test_propose_help_and_run_with_a_third_party_proposer(fake_plugin, corpus_store):
    r = CliRunner().invoke(cli, ["propose", "--help"])
    assert r.exit_code == 0
    assert "Available proposers:" in r.output and "fake" in r.output and "numbers" in r.output
    db = corpus_store.path
    r = CliRunner().invoke(cli, ["--db", db, "propose", "-p", "fake"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "with fake 0.1" in r.output
    n = corpus_store.count("proposals", "source = 'fake' AND active = 1")
    text = "".join(corpus_store.get_document(d)["text"] for d in corpus_store.document_ids())
    assert n == text.count("年") > 0


class NoWordsProposer(FakeProposer):
    """A plugin that segments nothing: ``analyze`` gives no word starts (None)."""

    name = "nowords"

    def analyze(self, text: str):
        return self.propose(text), None


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_proposer_without_word_starts_still_proposes(corpus_store, jobs):
    from workbench.propose.run import propose_store

    monkey = NoWordsProposer()
    registry._instances["nowords"] = monkey
    try:
        out = propose_store(corpus_store, "nowords", jobs=jobs)
    finally:
        registry._instances.pop("nowords", None)
    assert out["proposals"] == corpus_store.count("proposals", "source = 'nowords' AND active = 1") > 0
