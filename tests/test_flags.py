"""Unsure flags (issue 14): an annotator flags a span or the document as unsure with a short
note; the flag is in the database when the key returns, follows its span through edits, is
undone by u like a decision, shows in annotate and review, and travels through export and
import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.flags import NOTE_MAX, clean_note, current_flags
from workbench.ingest import ingest_file
from workbench.session import AnnotationSession, SessionError
from workbench.store import Store

DOCS = [
    {"id": "f-1", "text": "北京市政府2024年完成3个项目，张三在会上讲话。"},
    {"id": "f-2", "text": "上海市教育局开展了12场活动。"},
]
# f-1: 北京市政府 ORG 0-5, 2024年 DATE 5-10, 张三 PERSON 17-19
PROPOSALS = {
    "f-1": [
        {"start": 0, "end": 5, "label": "ORG", "text": "北京市政府", "score": 0.9},
        {"start": 5, "end": 10, "label": "DATE", "text": "2024年", "score": 0.8},
        {"start": 17, "end": 19, "label": "PERSON", "text": "张三", "score": 0.7},
    ],
    "f-2": [{"start": 0, "end": 6, "label": "ORG", "text": "上海市教育局", "score": 0.9}],
}


def make_store(store: Store, tmp_path: Path) -> Store:
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS), encoding="utf-8")
    res = ingest_file(store, path)
    assert res.added == 2
    for doc_id, spans in PROPOSALS.items():
        text = store.get_document(doc_id)["text"]
        assert all(text[sp["start"] : sp["end"]] == sp["text"] for sp in spans)
        store.replace_proposals(doc_id, "rules", "1", spans)
    return store


@pytest.fixture
def fstore(store, tmp_path):
    return make_store(store, tmp_path)


def reread(store: Store, annotator: str = "alice", doc_id: str = "f-1") -> dict:
    """The flags in force as a second connection reads them (committed, not just ours)."""
    with Store(store.path) as other:
        return other.flags_in_force(doc_id, annotator)


# ---------------------------------------------------------------------------- notes


def test_clean_note_folds_spaces_and_refuses_what_is_no_note():
    assert clean_note("  不确定\n是否 ORG\t ") == "不确定 是否 ORG"
    assert clean_note(None) == "" and clean_note("") == ""
    assert clean_note("x" * NOTE_MAX) == "x" * NOTE_MAX
    for bad, word in (("x" * (NOTE_MAX + 1), "too long"), ("a\x1b[2Jb", "U+001B"), ("a\u202eb", "U+202E"), (3, "text")):
        with pytest.raises(ValueError, match=word.replace("+", r"\+")):
            clean_note(bad)


def test_current_flags_replays_set_clear_undo():
    rows = [
        {
            "id": 1,
            "action": "set",
            "item_key": "p1",
            "note": "a",
            "ts": "t",
            "start": 0,
            "end": 2,
            "label": "ORG",
            "ref_id": None,
        },
        {
            "id": 2,
            "action": "set",
            "item_key": "p1",
            "note": "b",
            "ts": "t",
            "start": 0,
            "end": 2,
            "label": "ORG",
            "ref_id": None,
        },
        {
            "id": 3,
            "action": "set",
            "item_key": None,
            "note": "doc",
            "ts": "t",
            "start": None,
            "end": None,
            "label": None,
            "ref_id": None,
        },
        {
            "id": 4,
            "action": "clear",
            "item_key": None,
            "note": "",
            "ts": "t",
            "start": None,
            "end": None,
            "label": None,
            "ref_id": None,
        },
        {
            "id": 5,
            "action": "undo",
            "item_key": None,
            "note": "",
            "ts": "t",
            "start": None,
            "end": None,
            "label": None,
            "ref_id": 2,
        },
    ]
    now = current_flags(rows)
    assert set(now) == {"p1"} and now["p1"]["note"] == "a"  # b undone: a again; the document cleared


# ---------------------------------------------------------------------------- store


def test_migration_7_creates_the_flags_log(fstore):
    assert fstore.user_version >= 7
    cols = {r["name"] for r in fstore.query("SELECT name FROM pragma_table_info('flags')")}
    assert {"doc_id", "annotator", "action", "item_key", "note", "ref_id", "seq"} <= cols
    with pytest.raises(ValueError):
        fstore.set_flag("f-1", "alice", note="\x07")
    assert fstore.count("flags") == 0  # refused before anything was written


def test_check_and_tallies_still_agree_with_flags(fstore):
    s = AnnotationSession(fstore, "alice")
    s.accept()
    s.flag_current("unsure")
    s.flag_document("whole report")
    assert fstore.tally_problems() == []
    assert fstore.integrity_problems() == []


def test_deleting_a_document_takes_its_flags(fstore):
    s = AnnotationSession(fstore, "alice")
    s.flag_current("x")
    s.undo()  # an undo row refers to the set row: both go at once
    s.flag_document("y")
    with fstore.write() as c:
        c.execute("DELETE FROM documents WHERE id = 'f-1'")
    assert fstore.count("flags") == 0


# ---------------------------------------------------------------------------- session


def test_flag_span_is_written_before_it_returns_and_replaces_the_note(fstore):
    s = AnnotationSession(fstore, "alice")
    it = s.current
    ch = s.flag_current("是否是机构？")
    assert it["key"] in ch.keys and "flagged unsure" in ch.message
    assert reread(fstore)[it["key"]]["note"] == "是否是机构？"
    assert s.flag_of(it)["note"] == "是否是机构？"
    ch = s.flag_current("再看")
    assert "note changed" in ch.message
    assert reread(fstore)[it["key"]]["note"] == "再看" and len(reread(fstore)) == 1
    s.unflag_current()
    assert reread(fstore) == {} and s.flag_of(it) is None
    with pytest.raises(SessionError, match="not flagged"):
        s.unflag_current()


def test_flag_with_an_empty_note_and_a_bad_note(fstore):
    s = AnnotationSession(fstore, "alice")
    s.flag_current("")
    assert reread(fstore)[s.current["key"]]["note"] == ""
    with pytest.raises(SessionError, match="U\\+001B"):
        s.flag_current("\x1b[6n")
    assert reread(fstore)[s.current["key"]]["note"] == ""


def test_document_flag(fstore):
    s = AnnotationSession(fstore, "alice")
    s.flag_document("OCR 有误")
    assert reread(fstore)[None]["note"] == "OCR 有误" and s.doc_flag["note"] == "OCR 有误"
    assert s.n_flags == 1
    s.unflag_document()
    assert reread(fstore) == {} and s.doc_flag is None
    with pytest.raises(SessionError):
        s.unflag_document()


def test_flags_are_per_annotator_and_per_document(fstore):
    a = AnnotationSession(fstore, "alice")
    a.flag_current("a's")
    b = AnnotationSession(fstore, "bob")
    assert b.flag_of(b.current) is None and b.n_flags == 0
    b.next_doc()
    assert b.n_flags == 0


def test_the_flag_follows_the_span_through_bounds_label_and_undo(fstore):
    s = AnnotationSession(fstore, "alice")
    key = s.current["key"]
    s.flag_current("边界？")
    s.move_end(-1)  # 北京市政 ... still the same item
    assert s.current["key"] == key and s.flag_of(s.current)["note"] == "边界？"
    s.set_cursor(s.index_of(key))
    s.relabel("LOC")
    it = s.items[s.index_of(key)]
    assert it["label"] == "LOC" and s.flag_of(it)["note"] == "边界？"
    again = AnnotationSession(fstore, "alice", doc_id="f-1")  # what a new session derives
    assert again.flag_of(again.items[again.index_of(key)])["note"] == "边界？"


def test_the_flag_of_an_added_span_goes_with_it_and_comes_back_with_undo(fstore):
    s = AnnotationSession(fstore, "alice")
    s.add_span(10, 12, "QUANTITY")  # 完成 is no quantity, but any range will do here
    key = next(i["key"] for i in s.items if i["status"] == "added")
    s.set_cursor(s.index_of(key))
    s.flag_current("加的")
    s.set_cursor(s.index_of(key))
    s.reject()  # x on an added span removes it
    assert key not in s._index and s.n_flags == 0
    again = AnnotationSession(fstore, "alice", doc_id="f-1")
    assert again.n_flags == 0  # derived the same way
    s.undo()  # the remove
    assert s.flag_of(s.items[s.index_of(key)])["note"] == "加的"


def test_undo_takes_back_flags_and_decisions_in_the_order_they_came(fstore):
    s = AnnotationSession(fstore, "alice")
    first = s.current["key"]
    s.accept()  # decision 1
    s.set_cursor(s.index_of(first))
    s.flag_current("n1")  # flag after it
    s.flag_document("d")  # then the document
    s.set_cursor(s.index_of(first))
    s.flag_current("n2")  # the note replaced
    ch = s.undo()
    assert "undid flag" in ch.message and s.flag_of(s.items[s.index_of(first)])["note"] == "n1"
    assert s.items[s.index_of(first)]["status"] == "accepted"
    s.undo()
    assert s.doc_flag is None and reread(fstore)[first]["note"] == "n1"
    s.undo()
    assert reread(fstore) == {}
    assert s.items[s.index_of(first)]["status"] == "accepted"  # the decision is older: still there
    ch = s.undo()
    assert s.items[s.index_of(first)]["status"] == "pending" and "accept" in ch.message
    with pytest.raises(SessionError, match="nothing to undo"):
        s.undo()


def test_a_decision_after_a_flag_is_undone_first(fstore):
    s = AnnotationSession(fstore, "alice")
    s.flag_current("n")
    key = s.current["key"]
    s.accept()
    s.undo()
    assert s.items[s.index_of(key)]["status"] == "pending" and s.flag_of(s.items[s.index_of(key)]) is not None
    s.undo()
    assert s.n_flags == 0


# ---------------------------------------------------------------------------- annotate TUI


def make_app(store, **kw):
    from workbench.tui.app import AnnotateApp

    kw.setdefault("use_user_keymap", False)
    return AnnotateApp(store, "alice", **kw)


def test_bang_flags_the_current_span_with_a_note_enter_saves_esc_cancels(fstore):
    from pilot_helpers import press, run

    async def go():
        app = make_app(fstore)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            s = app.session
            key = s.current["key"]
            await press(pilot, "exclamation_mark")
            assert app.mode == "note" and app.focused.id == "note-input"
            await press(pilot, *"maybe", "escape")
            assert app.mode == "normal" and reread(fstore) == {}  # esc: nothing written
            await press(pilot, "exclamation_mark")
            assert app.focused.value == ""
            app.focused.value = "是否是机构"
            await press(pilot, "enter")
            assert app.mode == "normal" and reread(fstore)[key]["note"] == "是否是机构"
            assert s.current["key"] == key  # the cursor stays on the flagged item
            assert "⚑" in app.table.render_line(0).text  # the list marks it
            assert "⚑ 是否是机构" in app.status_line._text.plain
            # flagged: the same key opens the note to edit, ctrl+r clears
            await press(pilot, "exclamation_mark")
            assert app.focused.value == "是否是机构" and "clears" in str(app.note_form.query_one("#note-hint").render())
            app.focused.value = "再看"
            await press(pilot, "enter")
            assert reread(fstore)[key]["note"] == "再看"
            await press(pilot, "exclamation_mark", "ctrl+r")
            assert app.mode == "normal" and reread(fstore) == {}
            assert "⚑" not in app.table.render_line(0).text
            # an empty note is a flag too; u undoes it
            await press(pilot, "exclamation_mark", "enter")
            assert reread(fstore)[key]["note"] == ""
            await press(pilot, "u")
            assert reread(fstore) == {} and "undid flag" in str(app._message)

    run(go())


def test_F_flags_the_document_and_the_header_shows_it(fstore):
    from pilot_helpers import press, run

    async def go():
        app = make_app(fstore)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            await press(pilot, "F")
            assert app.mode == "note"
            app.focused.value = "OCR 错字多"
            await press(pilot, "enter")
            assert reread(fstore)[None]["note"] == "OCR 错字多"
            header = app.query_one("#header")._text.plain
            assert "⚑ unsure: OCR 错字多" in header
            await press(pilot, "tab")
            assert "⚑" not in app.query_one("#header")._text.plain  # f-2 is not flagged
            await press(pilot, "shift+tab", "F", "ctrl+r")
            assert reread(fstore) == {} and "⚑" not in app.query_one("#header")._text.plain

    run(go())


def test_a_hostile_note_never_reaches_the_screen_raw(fstore):
    """A note holding terminal controls (written by another tool straight into the table: the
    workbench refuses them) is drawn with placeholders in the list's status, the header and
    the review detail."""
    from pilot_helpers import press, run

    s = AnnotationSession(fstore, "alice")
    s.flag_current("ok")
    with fstore.write() as c:
        c.execute("UPDATE flags SET note = ?", ("\x1b[6n\x1b]52;c;aGk=\x07bad\u202e",))
    fstore.set_flag("f-1", "alice", note="doc")
    with fstore.write() as c:
        c.execute("UPDATE flags SET note = ? WHERE item_key IS NULL", ("\x1b[2Jwipe",))

    async def go():
        app = make_app(fstore)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            status = app.status_line._text.plain
            header = app.query_one("#header")._text.plain
            assert "␛[6n" in status and "\x1b" not in status and "\u202e" not in status
            assert "␛[2Jwipe" in header and "\x1b" not in header
            await press(pilot, "exclamation_mark")  # the form holds what is stored; enter refuses it
            await press(pilot, "enter")
            assert app.mode == "note" and "U+001B" in str(app._message)
            await press(pilot, "escape")
            shot = app.export_screenshot()
            assert "\x1b[6n" not in shot and "\x07" not in shot

    run(go())


# ---------------------------------------------------------------------------- review


def two_annotators_disagree(store: Store) -> None:
    """alice accepts everything in f-1, flags 北京市政府 and the document; bob rejects 北京市政府:
    f-1 is ready for review with a disagreement at 0-5."""
    a = AnnotationSession(store, "alice", doc_id="f-1")
    a.flag_current("机构还是地名？")
    a.flag_document("整篇存疑")
    a.accept_all()
    a.finish()
    b = AnnotationSession(store, "bob", doc_id="f-1")
    b.reject()
    b.finish(force=True)


def test_review_session_sees_who_flagged_what(fstore):
    from workbench.review import ReviewSession

    two_annotators_disagree(fstore)
    rs = ReviewSession(fstore, "rita")
    assert rs.summary.flags == {"f-1": 2}
    item = next(i for i in rs.items if i.cluster.start == 0)
    flags = rs.item_flags(item)
    assert [(f["annotator"], f["document"], f["note"]) for f in flags] == [
        ("alice", True, "整篇存疑"),
        ("alice", False, "机构还是地名？"),
    ]
    assert (flags[1]["start"], flags[1]["end"], flags[1]["label"]) == (0, 5, "ORG")
    far = [i for i in rs.items if i.cluster.start >= 5]
    assert len(far) == 2  # DATE and PERSON: only alice has them
    for i in far:  # the document's flag beside every disagreement; the span flag only beside its own
        assert [f["document"] for f in rs.item_flags(i)] == [True]


def test_review_detail_and_summary_show_the_flags(fstore):
    from click.testing import CliRunner
    from pilot_helpers import run

    from workbench.cli import cli
    from workbench.review import ReviewSession
    from workbench.tui.review_app import ReviewApp

    two_annotators_disagree(fstore)

    async def go():
        session = ReviewSession(fstore, "rita")
        app = ReviewApp(session)
        async with app.run_test(size=(130, 36)) as pilot:
            await pilot.pause()
            shown = app.detail.build(120).plain
            assert "⚑ alice  the document  整篇存疑" in shown
            assert "⚑ alice  ORG「北京市政府」0–5  机构还是地名？" in shown

    run(go())
    res = CliRunner().invoke(cli, ["--db", fstore.path, "review", "--reviewer", "rita", "--summary"])
    assert res.exit_code == 0, res.output
    assert "unsure flags: 2 in 1 document" in res.output
    assert "⚑ f-1  alice: ORG「北京市政府」0-5 unsure 「机构还是地名？」" in res.output
    assert "⚑ f-1  alice: the document unsure 「整篇存疑」" in res.output
    assert "⚑ 1 unsure" in res.output


# ---------------------------------------------------------------------------- export / import


def _cli(db: str, *args):
    from click.testing import CliRunner

    from workbench.cli import cli

    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


def flagged_work(store: Store) -> None:
    """alice in f-1: 北京市政府 flagged and accepted, 2024年 flagged and left pending, 张三
    rejected and flagged, the document flagged, finished; f-2: only the document flagged."""
    s = AnnotationSession(store, "alice", doc_id="f-1")
    s.flag_current("机构？")
    s.accept()
    s.flag_current("")  # 2024年, pending
    s.move(1)
    s.flag_current("不是人名？")
    s.reject()
    s.flag_document("整篇存疑")
    s.finish(force=True)
    s.open(1)
    s.flag_document("第二篇")


def flag_state(store: Store, annotator: str = "alice") -> dict:
    """doc -> {(start, end, label) or "doc": note}, as the annotator's items carry them."""
    from workbench.core.flags import attach_flags

    out = {}
    for doc_id in ("f-1", "f-2"):
        items = store.annotator_items(doc_id, annotator)
        doc_flag, by_key = attach_flags(store.flags_in_force(doc_id, annotator), items)
        got = {(i["start"], i["end"], i["label"]): by_key[i["key"]]["note"] for i in items if i["key"] in by_key}
        if doc_flag is not None:
            got["doc"] = doc_flag["note"]
        out[doc_id] = got
    return out


def test_jsonl_export_carries_span_and_document_flags(fstore, tmp_path):
    flagged_work(fstore)
    out = tmp_path / "ann.jsonl"
    res = _cli(fstore.path, "export", "annotations", "-o", str(out))
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    f1 = [x for x in lines if x["id"] == "f-1"]
    assert all(x["unsure"] == {"note": "整篇存疑"} for x in f1)
    by_span = {(x["spans"][0]["start"], x["spans"][0]["label"]): x for x in f1}
    assert by_span[(0, "ORG")]["answer"] == "accept" and by_span[(0, "ORG")]["spans"][0]["unsure"] == {"note": "机构？"}
    assert by_span[(5, "DATE")]["answer"] == "ignore" and by_span[(5, "DATE")]["status"] == "pending"
    assert by_span[(5, "DATE")]["spans"][0]["unsure"] == {"note": ""}
    assert by_span[(17, "PERSON")]["answer"] == "reject"
    assert by_span[(17, "PERSON")]["spans"][0]["unsure"] == {"note": "不是人名？"}
    (f2,) = [x for x in lines if x["id"] == "f-2"]  # flagged, nothing decided: one ignore line
    assert f2["answer"] == "ignore" and f2["spans"] == [] and f2["unsure"] == {"note": "第二篇"}


def test_doccano_and_spacy_records_carry_the_flags(fstore):
    from workbench.export import annotation_document_record, iter_annotation_states
    from workbench.formats.doccano import doccano_record
    from workbench.formats.spacy import spacy_user_data

    flagged_work(fstore)
    (state,) = [x for x in iter_annotation_states(fstore, finished_only=True)]
    rec = annotation_document_record(*state)
    d = doccano_record(rec)
    assert d["unsure"] == {"note": "整篇存疑"} and d["unsure_spans"] == [[0, 5, {"note": "机构？"}]]
    u = spacy_user_data(rec)
    assert u["unsure"] == {"note": "整篇存疑"} and u["unsure_spans"] == [[0, 5, {"note": "机构？"}]]


@pytest.mark.parametrize("fmt", ["jsonl", "doccano"])
def test_export_import_round_trip_keeps_the_flags(fstore, tmp_path, fmt):
    flagged_work(fstore)
    out = tmp_path / f"ann.{fmt}.jsonl"
    assert _cli(fstore.path, "export", "annotations", "--format", fmt, "-o", str(out)).exit_code == 0
    other = make_store(Store(str(tmp_path / "other.db")), tmp_path)
    res = _cli(other.path, "import", "annotations", str(out), "--annotator", "alice")
    assert res.exit_code == 0, res.output
    want = flag_state(fstore)
    if fmt == "doccano":  # a document record holds the asserted spans (finished documents only)
        want = {"f-1": {(0, 5, "ORG"): "机构？", "doc": "整篇存疑"}, "f-2": {}}
    assert flag_state(other) == want
    assert other.count("flags", "origin = 'import'") == other.count("flags")
    again = _cli(other.path, "import", "annotations", str(out), "--annotator", "alice")
    assert again.exit_code == 0 and "nothing to import" in again.output  # the same state: nothing written


def test_import_refuses_bad_flags_file_line_reason_and_writes_nothing(fstore, tmp_path):
    from test_hostile_readers import db_dump

    lines = [
        {"id": "f-1", "spans": [{"start": 0, "end": 5, "label": "ORG", "unsure": {"note": "ok"}}]},
        {"id": "f-2", "spans": [{"start": 0, "end": 6, "label": "ORG", "unsure": "yes"}]},
    ]
    bad_doc = {"id": "f-2", "spans": [], "unsure": {"note": "\x1b[2J"}}
    for i, extra in enumerate(([lines[1]], [bad_doc], [{**lines[0], "unsure": {"note": "x" * 201}}])):
        path = tmp_path / f"bad{i}.jsonl"
        body = ([lines[0]] if i != 2 else []) + extra
        path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in body), encoding="utf-8")
        before = db_dump(fstore)
        res = _cli(fstore.path, "import", "annotations", str(path), "--annotator", "alice")
        assert res.exit_code == 1 and "Traceback" not in res.output
        line = 2 if i != 2 else 1
        assert f"{path}:{line}: " in res.output and "unsure" in res.output, res.output
        assert db_dump(fstore) == before


def test_review_list_marks_flagged_disagreements_and_hostile_notes_stay_safe(fstore):
    from pilot_helpers import run

    from workbench.review import ReviewSession
    from workbench.tui.review_app import ReviewApp

    two_annotators_disagree(fstore)
    with fstore.write() as c:  # a note another tool wrote with terminal controls in it
        c.execute("UPDATE flags SET note = ? WHERE item_key IS NULL", ("\x1b]52;c;aGk=\x07\x1b[2J\u202eevil",))

    async def go():
        session = ReviewSession(fstore, "rita")
        app = ReviewApp(session)
        async with app.run_test(size=(130, 36)) as pilot:
            await pilot.pause()
            rows = [app.list.render_line(y).text for y in range(4)]
            flagged = [r for r in rows if "北京市政府" in r]
            assert flagged and "⚑" in flagged[0]  # the disagreement alice flagged a span in
            assert not any("⚑" in r for r in rows if "2024" in r)  # only the document flag there
            shown = app.detail.build(120).plain
            assert "␛]52;c;aGk=␇␛[2J␦evil" in shown
            shot = app.export_screenshot()
            assert "\x1b]52" not in shot and "\u202e" not in shot

    run(go())


def test_workbench_check_passes_with_flags(fstore):
    flagged_work(fstore)
    res = _cli(fstore.path, "check")
    assert res.exit_code == 0, res.output


def test_history_lists_the_flag_log(fstore):
    flagged_work(fstore)
    res = _cli(fstore.path, "history", "f-1")
    assert res.exit_code == 0, res.output
    assert "unsure flags (set / clear / undo, oldest first):" in res.output
    assert "set    document  「整篇存疑」" in res.output
    assert "set    p1 ORG 0-5  「机构？」" in res.output
    data = json.loads(_cli(fstore.path, "history", "f-1", "--json").output)
    assert [f["action"] for f in data["flags"]] == ["set", "set", "set", "set"]


# ---------------------------------------------------------------------------- a flag under another proposal


def _same_span_better_source(store: Store) -> tuple[str, str]:
    """Flag alice's 北京市政府 (a ``rules`` proposal) "n1", then propose the same span and label
    from another source with a better score, so the list shows it under the new proposal.
    Returns (the flagged key, the key shown now)."""
    s = AnnotationSession(store, "alice", doc_id="f-1")
    old = s.current["key"]
    s.flag_current("n1")
    store.replace_proposals(
        "f-1", "ext", "1", [{"start": 0, "end": 5, "label": "ORG", "text": "北京市政府", "score": 0.999}]
    )
    s = AnnotationSession(store, "alice", doc_id="f-1")
    new = s.current["key"]
    assert (s.current["start"], s.current["end"], s.current["label"]) == (0, 5, "ORG")
    assert new != old and s.flag_of(s.current)["note"] == "n1"  # the flag shown on the new item
    return old, new


def test_a_flag_shown_under_another_proposal_is_edited_and_cleared_for_good(fstore):
    old, new = _same_span_better_source(fstore)
    s = AnnotationSession(fstore, "alice", doc_id="f-1")
    ch = s.flag_current("n2")
    assert "note changed" in ch.message
    assert {k: f["note"] for k, f in reread(fstore).items()} == {old: "n2"}  # one flag, its own key
    ch = s.unflag_current()
    assert "flag cleared" in ch.message
    assert s.flag_of(s.current) is None and s.n_flags == 0
    assert reread(fstore) == {}  # the old note does not come back
    again = AnnotationSession(fstore, "alice", doc_id="f-1")
    assert again.flag_of(again.current) is None
    s.undo()  # the clear
    assert s.flag_of(s.current)["note"] == "n2" and {k: f["note"] for k, f in reread(fstore).items()} == {old: "n2"}


def test_clearing_an_item_clears_every_flag_on_it_and_one_undo_brings_them_back(fstore):
    # a log written before the fix (or by an import): the item carries two flags, its own and
    # the one of the proposal it replaced in the list
    old, new = _same_span_better_source(fstore)
    fstore.set_flag("f-1", "alice", note="n2", item_key=new, start=0, end=5, label="ORG")
    s = AnnotationSession(fstore, "alice", doc_id="f-1")
    assert s.current["key"] == new and s.n_flags == 1
    s.flag_current("n3")  # an edit goes to the flag the item shows
    assert {k: f["note"] for k, f in reread(fstore).items()} == {old: "n1", new: "n3"}
    s.unflag_current()
    assert s.flag_of(s.current) is None and s.n_flags == 0 and reread(fstore) == {}
    ch = s.undo()  # one press: both flags cleared together come back
    assert "undid flag clear" in ch.message
    assert {k: f["note"] for k, f in reread(fstore).items()} == {old: "n1", new: "n3"}
    assert s.flag_of(s.current)["note"] == "n3"
    s.undo()  # then the edit of the note
    assert {k: f["note"] for k, f in reread(fstore).items()} == {old: "n1", new: "n2"}
