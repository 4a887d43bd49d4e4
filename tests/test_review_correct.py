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
from pilot_helpers import fresh, press, run
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


# ---------------------------------------------------------------------------- correcting gold

HUANG = 428  # 「黄军」 in DOC: only alice has it (one disagreement)


def add(store, who, start, end, label, attrs=None):
    text = store.get_document(DOC)["text"]
    store.record_decision(DOC, who, "add", start=start, end=end, label=label, text=text[start:end], attrs=attrs)


@pytest.fixture
def pair(corpus_store):
    """alice and bob both took LOC 「苍岭」 inside PROGRAM 「苍岭干部大讲堂」 and QUANTITY 「2期」
    (agreed gold); alice alone has PERSON 「黄军」 (a disagreement). Both finished DOC."""
    s = CANGLING
    for who in ("alice", "bob"):
        add(corpus_store, who, s, s + 2, "LOC")
        add(corpus_store, who, s + 7, s + 9, "QUANTITY", {"value": 2, "unit": "期", "approx": None})
    add(corpus_store, "alice", HUANG, HUANG + 2, "PERSON")
    for who in ("alice", "bob"):
        corpus_store.record_decision(DOC, who, "finish")
    return corpus_store


def spans(store, doc_id=DOC):
    return [(g["start"], g["end"], g["label"], g["origin"]) for g in store.gold_rows(doc_id)]


def select(s, start):
    w = s.begin_gold(DOC)
    s.gold_goto(next(i for i, g in enumerate(w.rows) if g["start"] == start))
    return s.current_gold


def test_relabel_agreed_gold_is_one_correct_action(pair):
    s = ReviewSession(pair, "rita")
    assert spans(pair) == [
        (CANGLING, CANGLING + 2, "LOC", "agreed"),
        (CANGLING + 7, CANGLING + 9, "QUANTITY", "agreed"),
    ]
    g = select(s, CANGLING)
    s.correct_relabel("ORG")
    assert spans(pair)[0][2] == "LOC"  # a correction being built writes nothing
    ch = s.save_correct()
    assert "corrected gold LOC「苍岭」" in ch.message and ch.doc_id == DOC
    row = pair.gold_rows(DOC)[0]
    assert (row["label"], row["origin"], row["reviewer"], row["annotators"]) == (
        "ORG",
        "corrected",
        "rita",
        g["annotators"],
    )
    assert g["annotators"] == ["alice", "bob"]
    rv = live_reviews(pair, DOC)[-1]
    assert rv["action"] == "correct" and rv["reviewer"] == "rita"
    p = rv["payload"]
    assert [(x["label"], x["origin"], x["id"]) for x in p["before"]] == [("LOC", "agreed", g["id"])]
    assert [(x["label"], x["start"], x["end"]) for x in p["after"]] == [("ORG", CANGLING, CANGLING + 2)]
    assert p["changes"] == ["label LOC → ORG"] and p["gold_ids"] == [row["id"]]
    # the walk shows the corrected row, selected
    assert s.current_gold["id"] == row["id"] and not s.walk.pending


def test_removed_agreed_gold_stays_removed_across_sessions_until_undone(pair):
    s = ReviewSession(pair, "rita")
    select(s, CANGLING)
    s.correct_remove()
    s.save_correct()
    assert spans(pair) == [(CANGLING + 7, CANGLING + 9, "QUANTITY", "agreed")]
    # quit, start review again: the sync must not bring the agreed span back
    s2 = ReviewSession(pair, "rita")
    assert spans(pair) == [(CANGLING + 7, CANGLING + 9, "QUANTITY", "agreed")]
    assert s2.summary.agreed_added == 0 and s2.summary.agreed_spans == 1
    # another reviewer starting review does not either
    ReviewSession(pair, "sam")
    assert len(spans(pair)) == 1
    # undo (from the new session, reading the log): the agreed span is back, once
    ch = s2.undo()
    assert "undid correct" in ch.message
    assert spans(pair) == [
        (CANGLING, CANGLING + 2, "LOC", "agreed"),
        (CANGLING + 7, CANGLING + 9, "QUANTITY", "agreed"),
    ]
    ReviewSession(pair, "rita")
    assert len(spans(pair)) == 2


def test_moved_bounds_stand_across_sessions_and_quantity_attrs_follow(pair):
    s = ReviewSession(pair, "rita")
    select(s, CANGLING + 7)
    s.correct_move("end", -1)  # 「2」: a bare number, value 2 and no unit
    assert s.walk.span["attrs"] == {"value": 2, "unit": "", "approx": None}
    s.correct_move("end", 1)
    s.correct_move("start", -1)  # 「堂2期」 still reads 2 期
    assert s.walk.span["text"] == "堂2期" and s.walk.span["attrs"]["unit"] == "期"
    s.correct_set_attrs({"value": 3, "unit": "期", "approx": None})  # typed: stays over a move
    s.correct_move("start", 1)
    assert s.walk.span["attrs"]["value"] == 3
    s.save_correct()
    ReviewSession(pair, "rita")
    rows = [g for g in pair.gold_rows(DOC) if g["label"] == "QUANTITY"]
    assert [(g["start"], g["end"], g["origin"], g["attrs"]["value"]) for g in rows] == [
        (CANGLING + 7, CANGLING + 9, "corrected", 3)
    ]
    assert live_reviews(pair, DOC)[-1]["payload"]["changes"] == ["attrs 2期 → 3期"]


def test_relabel_to_quantity_derives_attrs(pair):
    s = ReviewSession(pair, "rita")
    select(s, CANGLING + 7)
    s.correct_relabel("DATE")
    assert s.walk.span["attrs"] is None
    s.correct_relabel("QUANTITY")
    assert s.walk.span["attrs"] == {"value": 2, "unit": "期", "approx": None}
    with pytest.raises(ReviewError, match="nothing changed"):
        s.save_correct()


def test_replace_agreed_gold_with_an_overlapping_span(pair):
    # LOC 「苍岭」 inside PROGRAM 「苍岭干部大讲堂」: adding the right span was refused as overlapping
    s = ReviewSession(pair, "rita")
    select(s, CANGLING)
    d = s.begin_add()  # from the walk: the selection starts as the gold span
    assert (d.doc_id, s.add_selection(), d.label) == (DOC, (CANGLING, CANGLING + 2), "LOC")
    s.add_move(5)
    s.add_label("PROGRAM")
    assert s.add_selection() == (CANGLING, CANGLING + 7)
    assert "overlaps gold LOC「苍岭」" in s.add_check() and s.add_check(replace=True) is None
    assert [g["text"] for g in s.add_overlaps()] == ["苍岭"]
    with pytest.raises(ReviewError, match="overlaps gold"):
        s.save_add()  # not without replace
    assert s.add_draft is not None
    ch = s.save_add(replace=True)
    assert "PROGRAM「苍岭干部大讲堂」" in ch.message
    assert spans(pair) == [
        (CANGLING, CANGLING + 7, "PROGRAM", "corrected"),
        (CANGLING + 7, CANGLING + 9, "QUANTITY", "agreed"),
    ]
    assert pair.gold_rows(DOC)[0]["annotators"] == ["alice", "bob"]
    rv = live_reviews(pair, DOC)[-1]
    assert rv["action"] == "correct" and [x["text"] for x in rv["payload"]["before"]] == ["苍岭"]
    ReviewSession(pair, "rita")  # the sync adds nothing over the corrected span
    assert len(spans(pair)) == 2
    s.undo()
    assert spans(pair)[0] == (CANGLING, CANGLING + 2, "LOC", "agreed")


def test_a_replacement_over_two_gold_spans_replaces_both(pair):
    s = ReviewSession(pair, "rita")
    select(s, CANGLING)
    s.begin_add()
    s.add_move(7)  # the caret on 「期」: anchor..caret inclusive
    s.add_label("PROGRAM")
    s.save_add(replace=True)
    assert spans(pair) == [(CANGLING, CANGLING + 9, "PROGRAM", "corrected")]
    assert len(live_reviews(pair, DOC)[-1]["payload"]["replaced"]) == 2
    s.undo()
    assert [x[3] for x in spans(pair)] == ["agreed", "agreed"]


def test_corrections_refused(pair):
    s = ReviewSession(pair, "rita")
    select(s, CANGLING)
    with pytest.raises(ReviewError, match="empty"):
        for _ in range(3):
            s.correct_move("end", -1)
    s.cancel_correct()
    for _ in range(5):
        s.correct_move("end", 1)
    with pytest.raises(ReviewError, match="would overlap gold QUANTITY「2期」"):
        s.correct_move("end", 1)
    s.cancel_correct()
    # over an unsettled disagreement (alice's 「黄军」): settle it there
    pair.record_decision(DOC, "alice", "reopen")
    pair.record_decision(DOC, "alice", "finish")
    with pytest.raises(ReviewError, match="finish the correction"):
        s.correct_relabel("ORG")
        s.gold_move(1)
    s.cancel_correct()
    s.end_gold()
    # the same selection with a pending correction blocks other actions
    select(s, CANGLING)
    s.correct_remove()
    with pytest.raises(ReviewError, match="finish the correction"):
        s.pick(1)
    with pytest.raises(ReviewError, match="finish the correction"):
        s.begin_add()
    s.correct_remove()  # again: keep it
    with pytest.raises(ReviewError, match="nothing changed"):
        s.save_correct()


def test_correction_refused_when_the_gold_changed_meanwhile(pair):
    s = ReviewSession(pair, "rita")
    t = ReviewSession(pair, "sam")
    select(s, CANGLING)
    select(t, CANGLING)
    t.correct_relabel("ORG")
    t.save_correct()
    s.correct_relabel("PERSON")
    with pytest.raises(ReviewError, match="changed meanwhile"):
        s.save_correct()
    assert [x[2] for x in spans(pair)] == ["ORG", "QUANTITY"]


def test_undo_of_a_correction_refused_after_another_reviewers_action_there(pair):
    s = ReviewSession(pair, "rita")
    select(s, CANGLING)
    s.correct_relabel("ORG")
    s.save_correct()
    t = ReviewSession(pair, "sam")
    select(t, CANGLING)
    t.correct_relabel("PROGRAM")
    t.save_correct()
    with pytest.raises(ReviewError, match="sam has since"):
        s.undo()
    t.undo()
    s.undo()
    assert spans(pair)[0] == (CANGLING, CANGLING + 2, "LOC", "agreed")


def test_any_origin_can_be_corrected(pair):
    s = ReviewSession(pair, "rita")
    it = s.current
    assert (it.cluster.start, it.cluster.end) == (HUANG, HUANG + 2)
    s.pick(1)  # adjudicated PERSON 「黄军」
    s.begin_add(DOC)
    s.add_find("苍岭镇党委")
    s.add_label("ORG")
    s.save_add()  # added
    for start, origin in ((HUANG, "adjudicated"), (s.text(DOC).find("苍岭镇党委"), "added")):
        g = select(s, start)
        assert g["origin"] == origin
        s.correct_relabel("LOC")
        s.save_correct()
        assert s.current_gold["origin"] == "corrected" and s.current_gold["label"] == "LOC"
        g = s.current_gold
        s.correct_relabel("ORG")  # a corrected span again
        s.save_correct()
        assert live_reviews(pair, DOC)[-1]["payload"]["before"][0]["origin"] == "corrected"
        s.end_gold()
    # undo walks back through all of it, newest first
    for _ in range(6):
        s.undo()
    assert spans(pair)[0] == (CANGLING, CANGLING + 2, "LOC", "agreed")
    assert not [g for g in pair.gold_rows(DOC) if g["origin"] in ("adjudicated", "added", "corrected")]


def test_single_annotator_gold_can_be_corrected(corpus_store):
    add(corpus_store, "alice", CANGLING, CANGLING + 2, "LOC")
    corpus_store.record_decision(DOC, "alice", "finish")
    s = ReviewSession(corpus_store, "rita")
    assert spans(corpus_store) == [(CANGLING, CANGLING + 2, "LOC", "single-annotator")]
    select(s, CANGLING)
    s.correct_remove()
    s.save_correct()
    ReviewSession(corpus_store, "rita")
    assert spans(corpus_store) == []


def test_annotator_changes_after_a_correction_follow_the_usual_rules(pair):
    s = ReviewSession(pair, "rita")
    select(s, CANGLING)
    s.correct_remove()
    s.save_correct()
    # bob reopens DOC and makes 「苍岭」 an ORG: the cluster is a disagreement now, listed
    bob_loc = next(i for i in pair.annotator_items(DOC, "bob") if i["label"] == "LOC")
    pair.record_decision(DOC, "bob", "reopen")
    pair.record_decision(
        DOC, "bob", "edit", ref_id=bob_loc["decision_id"], start=CANGLING, end=CANGLING + 2, label="ORG", text="苍岭"
    )
    pair.record_decision(DOC, "bob", "finish")
    s2 = ReviewSession(pair, "rita")
    assert [(i.cluster.start, i.cluster.end) for i in s2.items] == [(HUANG, HUANG + 2), (CANGLING, CANGLING + 2)]
    assert [x[:3] for x in spans(pair)] == [(CANGLING + 7, CANGLING + 9, "QUANTITY")]


def test_undo_after_undo_of_a_correction_removes_the_restored_row(pair):
    # the undo of a correction restores the rows it replaced; the undo of the pick that wrote
    # one of them must still find it (restored rows kept a new id: the pick's gold stayed)
    s = ReviewSession(pair, "rita")
    s.pick(1)  # PERSON 「黄军」, adjudicated
    select(s, HUANG)
    s.correct_relabel("ORG")
    s.save_correct()
    s.undo()
    assert [x for x in spans(pair) if x[0] == HUANG] == [(HUANG, HUANG + 2, "PERSON", "adjudicated")]
    s.undo()
    assert [x for x in spans(pair) if x[0] == HUANG] == []
    assert s.items[0].status == "open"


def test_undo_never_deletes_another_reviewers_row_that_took_a_freed_id(pair):
    s = ReviewSession(pair, "rita")
    s.pick(1)  # PERSON 「黄军」: the newest gold row
    select(s, HUANG)
    s.correct_remove()
    s.save_correct()  # its id is free now
    t = ReviewSession(pair, "sam")
    t.begin_add(DOC)
    t.add_find("苍岭镇党委")
    t.add_label("ORG")
    t.save_add()  # sam's row may take that id
    s.undo()  # the removal: PERSON back (under a new id if sam's row holds the old one)
    assert [x[2:] for x in spans(pair) if x[0] == HUANG] == [("PERSON", "adjudicated")]
    s.undo()  # the pick: its PERSON row goes, sam's ORG stays
    assert [x[2:] for x in spans(pair) if x[0] < CANGLING] == [("ORG", "added")]


# ---------------------------------------------------------------------------- agreement, export, --all


def test_agreement_is_about_annotators_and_export_writes_the_correction(pair, db_path, tmp_path):
    before = run_cli(db_path, "agreement", "--json").output
    s = ReviewSession(pair, "rita")
    select(s, CANGLING)
    s.begin_add()
    s.add_move(5)
    s.add_label("PROGRAM")
    s.save_add(replace=True)
    assert run_cli(db_path, "agreement", "--json").output == before
    out = tmp_path / "gold.jsonl"
    assert run_cli(db_path, "export", "gold", "-o", str(out)).exit_code == 0
    rec = next(r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines()) if r["id"] == DOC)
    got = [(x["start"], x["end"], x["label"], x["text"]) for x in rec["spans"]]
    assert (CANGLING, CANGLING + 7, "PROGRAM", "苍岭干部大讲堂") in got
    assert (CANGLING, CANGLING + 2, "LOC", "苍岭") not in got
    # the provenance goes out with it: origin always, the reviewer on a reviewer's own gold
    fixed = next(x for x in rec["spans"] if x["start"] == CANGLING)
    assert (fixed["origin"], fixed["reviewer"]) == ("corrected", "rita")
    assert all(x["origin"] == "agreed" and "reviewer" not in x for x in rec["spans"] if x is not fixed)
    assert rec["annotators"] == ["alice", "bob"]
    summary = run_cli(db_path, "review", "--summary", "-r", "rita").output
    assert "1 corrected" in summary


def test_review_all_walks_every_document_with_gold(pair, db_path):
    plain = run_cli(db_path, "review", "--summary", "-r", "rita")
    assert f"{DOC}  gold " not in plain.output
    r = run_cli(db_path, "review", "--summary", "--all", "-r", "rita")
    assert r.exit_code == 0 and f"{DOC}  gold 2 spans: 2 agreed  (1 unsettled)" in r.output
    # an assigned annotator reopens DOC: not ready any more, but its gold is still there to audit
    pair.assign([(DOC, "alice"), (DOC, "bob")])
    pair.record_decision(DOC, "bob", "reopen")
    r = run_cli(db_path, "review", "--summary", "-r", "rita")
    assert r.exit_code == 1 and "no document is ready" in r.output
    r = run_cli(db_path, "review", "--summary", "--all", "-r", "rita")
    assert r.exit_code == 0 and "also 1 document with gold not ready" in r.output
    s = ReviewSession(pair, "rita", all_docs=True)
    assert s.docs == [DOC] and s.items == []
    select(s, CANGLING)
    s.correct_relabel("ORG")
    s.save_correct()
    s.undo()  # no sync on a document that is not ready: the agreed span is simply restored
    assert spans(pair)[0] == (CANGLING, CANGLING + 2, "LOC", "agreed")
    assert "--all" in run_cli(db_path, "review", "--help").output


# ---------------------------------------------------------------------------- the TUI path

SIZE = (160, 45)


def screen(app) -> str:
    return "\n".join(str(app.query_one(f"#{w}").render()) for w in ("header", "status", "keybar")) + str(
        app.detail.build(120)
    )


async def painted(app, pilot) -> None:
    for _ in range(200):
        if str(app.query_one("#header").render()).strip() and str(app.query_one("#status").render()).strip():
            return
        await pilot.pause(0.05)
    raise AssertionError("the first screen never came")


def stored(store):
    with fresh(store) as f:
        return spans(f)


def test_gold_walk_keys_correct_replace_remove_undo(pair):
    from workbench.tui.review_app import ReviewApp

    async def go():
        session = ReviewSession(pair, "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await painted(app, pilot)
            assert "o" in str(app.query_one("#keybar").render()) and "gold" in str(app.query_one("#keybar").render())
            await press(pilot, "o")
            assert app.mode == "gold" and app.gold_list.display and not app.list.display
            assert session.current_gold["text"] == "苍岭"  # the gold at or after the current item
            # relabel: nothing written until enter
            await press(pilot, "2")
            assert "→ ORG" in screen(app) and stored(pair)[0][2:] == ("LOC", "agreed")
            await press(pilot, "enter")
            assert stored(pair)[0][2:] == ("ORG", "corrected")
            assert "corrected gold LOC「苍岭」" in screen(app)
            await press(pilot, "u")
            assert stored(pair)[0][2:] == ("LOC", "agreed") and "undid correct" in screen(app)
            # bounds: ] moves the start right, [ back, } the end right
            await press(pilot, "right_curly_bracket")
            assert "苍岭干" in screen(app) and len(stored(pair)) == 2
            await press(pilot, "escape")  # drops the correction, stays walking
            assert app.mode == "gold" and not session.walk.pending
            # replace through the add mode: it asks, then replaces
            await press(pilot, "n")
            assert app.mode == "add" and session.add_selection() == (CANGLING, CANGLING + 2)
            await press(pilot, *["l"] * 5, "6", "enter")
            assert app.mode == "add" and "? enter: yes" in screen(app) and stored(pair)[0][2] == "LOC"
            await press(pilot, "enter")
            assert app.mode == "gold"
            assert stored(pair)[0] == (CANGLING, CANGLING + 7, "PROGRAM", "corrected")
            assert "PROGRAM「苍岭干部大讲堂」" in screen(app)
            # remove the QUANTITY: d marks it, enter removes it
            await press(pilot, "j", "d")
            assert "to be removed" in screen(app) and len(stored(pair)) == 2
            await press(pilot, "enter")
            assert [x[2] for x in stored(pair)] == ["PROGRAM"] and "removed gold QUANTITY" in screen(app)
            # attrs form on a QUANTITY: undo the removal, open it
            await press(pilot, "u")
            assert [x[2] for x in stored(pair)] == ["PROGRAM", "QUANTITY"]
            session.gold_goto(1)
            await press(pilot, "a")
            assert app.mode == "attrs"
            app.query_one("#attrs-input").value = "3 期"
            await press(pilot, "enter")
            assert app.mode == "gold" and session.walk.span["attrs"]["value"] == 3
            await press(pilot, "enter")
            with fresh(pair) as f:
                q = [g for g in f.gold_rows(DOC) if g["label"] == "QUANTITY"]
            assert q[0]["attrs"]["value"] == 3 and q[0]["origin"] == "corrected"
            # esc leaves the walk: the disagreements again
            await press(pilot, "escape")
            assert app.mode == "normal" and app.list.display and session.walk is None

    run(go())


def test_gold_keys_in_help_and_palette(pair):
    from workbench.tui.review_app import ReviewApp

    async def go():
        app = ReviewApp(ReviewSession(pair, "rita"), use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await painted(app, pilot)
            assert "gold" in {k.id for k in app.palette_keys()}
            await press(pilot, "o")
            ids = {k.id for k in app.palette_keys()}
            assert {"gold.next", "gold.next_doc", "edit.drop", "edit.attrs", "add", "undo"} <= ids
            assert "pick" in ids and "reject" not in ids
            await press(pilot, "question_mark")
            from rich.console import Console
            from rich.table import Table

            table = Table("keys", "action", "id")
            app.screen.fill(table)  # the help screen's key table, as it shows it
            con = Console(width=240, record=True)
            con.print(table)
            text = con.export_text() + app.HELP_RULES
            assert "walk the gold of this document" in text and "o walks the gold" in text
            assert "next document with gold" in text and "[edit/gold]" in text

    run(go())
