"""Issue 13, "Reviewers can fix what everybody agreed on": a reviewer opens any gold span of a
document under review (agreed, single-annotator, adjudicated, added, corrected) and relabels it,
moves its bounds, sets its attrs, removes it, or replaces it (and the gold it overlaps) with a new
span; each one ``correct`` review row plus gold rows of origin ``corrected``, undoable, and the
automatic sync never brings back what the reviewer corrected. Also: a review edit is logged as an
edit (what changed), and ``workbench review --all``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_agreement import simulate

from workbench.review import ReviewError, ReviewSession, live_reviews

DOC = "000_d84f443ac205a69d"
CANGLING = 1642  # 「苍岭干部大讲堂」 starts here in DOC, 「2期」 follows it


def run_cli(db_path, *args):
    from workbench.cli import cli

    return CliRunner().invoke(cli, ["--db", db_path, *args], catch_exceptions=False)


def gold(store, doc_id=DOC):
    return store.gold_rows(doc_id)


@pytest.fixture
def sim3(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs, with_dave=False)
    return corpus_store


# ---------------------------------------------------------------------------- a review edit is an edit


def _shrunk_item(s):
    """An item where one version (bob's) is another (alice's) with its end one shorter."""
    for it in s.items:
        if len(it.versions) == 2 and all(len(v.spans) == 1 for v in it.versions):
            a, b = (v.spans[0] for v in it.versions)
            if (a["start"], a["label"]) == (b["start"], b["label"]) and abs(a["end"] - b["end"]) == 1:
                return it
    raise AssertionError("no shrunk item in the simulation")


def test_an_edit_into_another_version_is_logged_as_an_edit(sim3):
    # issue 13: an edit was logged as a pick (of the version it came to equal), losing what changed
    s = ReviewSession(sim3, "rita")
    it = _shrunk_item(s)
    s.cursor = s.items.index(it)
    short = min(range(2), key=lambda i: it.versions[i].spans[0]["end"])
    long_ = 1 - short
    before = it.versions[short].spans[0]
    s.begin_edit(short)
    s.draft_move("end", 1)
    s.save_edit()
    row = live_reviews(sim3, it.doc_id)[-1]
    assert row["action"] == "edit"
    p = row["payload"]
    assert p["base_version"] == short and p["from"] == it.versions[short].spans
    assert p["changes"] == [f"end {before['end']} → {before['end'] + 1}"]
    assert p["equals_version"] == long_ and p["chosen"] == it.versions[long_].annotators
    assert it.status == "edited"
    # the gold row is the same span whoever's it was: its holders are those who had it
    g = [x for x in sim3.gold_rows(it.doc_id) if x["start"] == before["start"]]
    assert len(g) == 1 and g[0]["origin"] == "adjudicated" and g[0]["annotators"] == it.versions[long_].annotators


def test_an_edit_logs_what_changed_and_history_prints_it(sim3, db_path):
    s = ReviewSession(sim3, "rita")
    it = s.current
    base = next(n for n, v in enumerate(it.versions) if v.spans)
    old = it.versions[base].spans[0]
    new_label = "ORG" if old["label"] != "ORG" else "LOC"
    s.begin_edit(base)
    s.draft_relabel(new_label)
    s.save_edit()
    row = live_reviews(sim3, it.doc_id)[-1]
    assert row["action"] == "edit"
    assert row["payload"]["changes"] == [f"label {old['label']} → {new_label}"]
    out = run_cli(db_path, "history", it.doc_id).output
    line = next(ln for ln in out.splitlines() if f" {row['id']} " in f" {ln} " and "rita" in ln)
    assert " edit " in line
    assert f"edited version {base + 1}" in line and f"label {old['label']} → {new_label}" in line
