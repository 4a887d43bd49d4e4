"""The annotation session (domain layer under the TUI): every action writes the log
first, the in-memory state always equals the state derived from the log."""

from __future__ import annotations

import subprocess
import sys
from array import array

import pytest
from conftest import ROOT

from workbench.core.motions import next_word, prev_word, word_at
from workbench.session import (
    AnnotationSession,
    SessionError,
    attrs_from_fields,
    parse_value,
)

DOC0 = "000_d84f443ac205a69d"


def propose_gold(store, gold_docs, *, extra=()) -> None:
    """Deterministic proposals: the dev gold spans, plus ``extra`` (doc_id, span) pairs."""
    for doc_id, g in gold_docs.items():
        spans = [dict(s) for s in g["spans"]]
        spans += [dict(s) for d, s in extra if d == doc_id]
        store.replace_proposals(doc_id, "test", "1", spans)


@pytest.fixture
def pstore(corpus_store, gold_docs):
    propose_gold(corpus_store, gold_docs)
    return corpus_store


def consistent(sess: AnnotationSession) -> None:
    """The in-memory items equal the items derived from the decision log."""
    derived = sess.store.annotator_items(sess.doc_id, sess.annotator)
    strip = lambda its: [{k: v for k, v in it.items()} for it in its]
    assert strip(sess.items) == strip(derived)
    for it in sess.items:
        assert sess.text[it["start"] : it["end"]] == it["text"]


def last_decision(store):
    return store.query("SELECT * FROM decisions ORDER BY id DESC LIMIT 1")[0]


def test_opens_first_unfinished_doc_at_first_pending(pstore, gold_docs):
    s = AnnotationSession(pstore, "alice")
    assert s.doc_id == DOC0 and s.doc_index == 0 and s.n_docs == 5
    assert s.cursor == 0 and s.current["status"] == "pending"
    assert len(s.items) == len(gold_docs[DOC0]["spans"])
    consistent(s)


def test_accept_writes_full_span_then_updates_and_advances(pstore):
    s = AnnotationSession(pstore, "alice")
    it = s.current
    s.accept()
    d = last_decision(pstore)
    assert (d["action"], d["proposal_id"], d["start"], d["end"], d["label"], d["text"]) == (
        "accept",
        it["proposal_id"],
        it["start"],
        it["end"],
        it["label"],
        it["text"],
    )
    assert d["annotator"] == "alice" and d["origin"] == "tui"
    assert s.items[0]["status"] == "accepted" and s.cursor == 1
    consistent(s)


def test_reject_relabel_moves_and_attrs(pstore):
    s = AnnotationSession(pstore, "alice")
    s.reject()
    assert last_decision(pstore)["action"] == "reject" and s.items[0]["status"] == "rejected"
    key = s.current["key"]
    s.relabel("ORG")
    it = s.items[s.index_of(key)]
    assert it["label"] == "ORG" and it["status"] == "edited"
    d = last_decision(pstore)
    assert d["action"] == "edit" and d["label"] == "ORG" and d["proposal_id"] == it["proposal_id"]
    assert s.current["key"] != key  # a label key moves on to the next pending one (issue 14)
    s.set_cursor(s.index_of(key))
    start, end = it["start"], it["end"]
    s.move_start(1)
    s.move_end(1)
    it = s.items[s.index_of(key)]
    assert (it["start"], it["end"]) == (start + 1, end + 1)
    assert it["text"] == s.text[start + 1 : end + 1] == last_decision(pstore)["text"]
    s.move_start(-1)
    s.move_end(-1)
    it = s.items[s.index_of(key)]
    assert (it["start"], it["end"]) == (start, end)
    consistent(s)
    # QUANTITY attrs
    q = next(i for i, x in enumerate(s.items) if x["label"] == "QUANTITY")
    s.set_cursor(q)
    attrs = attrs_from_fields("1500万", "斤", "余")
    assert attrs == {"value": 15000000.0, "unit": "斤", "approx": "more"}
    s.set_attrs(attrs)
    d = last_decision(pstore)
    assert d["action"] == "edit" and '"approx": "more"' in d["attrs"]
    assert s.items[q]["attrs"] == attrs and s.items[q]["status"] == "edited"
    with pytest.raises(SessionError, match="approx"):
        attrs_from_fields("1", "个", "roughly")
    with pytest.raises(SessionError, match="number"):
        attrs_from_fields("lots", "个", "")
    s.set_cursor(0)
    with pytest.raises(SessionError, match="no attributes"):
        s.set_attrs({"value": 1.0})
    consistent(s)


def test_moves_are_clamped_never_empty(pstore):
    s = AnnotationSession(pstore, "alice")
    it = s.current
    n = it["end"] - it["start"]
    for _ in range(n - 1):
        s.move_start(1)
    assert s.current["end"] - s.current["start"] == 1
    with pytest.raises(SessionError, match="empty"):
        s.move_start(1)
    with pytest.raises(SessionError, match="empty"):
        s.move_end(-1)
    assert s.current["end"] - s.current["start"] == 1
    consistent(s)


def test_moves_at_text_edges_are_clamped(corpus_store):
    text = corpus_store.get_document(DOC0)["text"]
    corpus_store.replace_proposals(
        DOC0,
        "t",
        "1",
        [
            {"start": 0, "end": 2, "label": "ORG", "text": text[:2]},
            {"start": len(text) - 2, "end": len(text), "label": "ORG", "text": text[-2:]},
        ],
    )
    s = AnnotationSession(corpus_store, "alice", doc_id=DOC0)
    with pytest.raises(SessionError, match="cannot move"):
        s.move_start(-1)
    s.set_cursor(1)
    with pytest.raises(SessionError, match="cannot move"):
        s.move_end(1)
    assert corpus_store.count("decisions") == 0


def test_overlap_with_own_span_is_refused(corpus_store, gold_docs):
    g = gold_docs[DOC0]["spans"][0]
    wide = {
        "start": g["start"],
        "end": g["end"] + 1,
        "label": "ORG",
        "text": gold_docs[DOC0]["text"][g["start"] : g["end"] + 1],
    }
    propose_gold(corpus_store, gold_docs, extra=[(DOC0, wide)])
    s = AnnotationSession(corpus_store, "alice", doc_id=DOC0)
    i_gold = next(i for i, it in enumerate(s.items) if (it["start"], it["end"]) == (g["start"], g["end"]))
    i_wide = next(i for i, it in enumerate(s.items) if (it["start"], it["end"]) == (wide["start"], wide["end"]))
    s.set_cursor(i_gold)
    s.accept()
    s.set_cursor(i_wide)
    before = corpus_store.count("decisions")
    with pytest.raises(SessionError, match="overlap"):
        s.accept()
    assert corpus_store.count("decisions") == before
    with pytest.raises(SessionError, match="overlap"):
        s.add_span(g["start"], g["end"] + 2, "LOC")
    assert corpus_store.count("decisions") == before
    consistent(s)


def test_add_edit_remove_span_and_ref_ids(pstore):
    s = AnnotationSession(pstore, "alice")
    text = s.text
    # a stretch of text no proposal covers
    covered = set()
    for it in s.items:
        covered.update(range(it["start"], it["end"]))
    a = next(i for i in range(len(text) - 3) if not covered & {i, i + 1, i + 2} and "\n" not in text[i : i + 3])
    s.add_span(a, a + 2, "LOC")
    add = last_decision(pstore)
    assert add["action"] == "add" and add["proposal_id"] is None and add["text"] == text[a : a + 2]
    # the cursor moved on to the next pending proposal (issue 14); back to the added span
    assert s.current["key"] != f"d{add['id']}" and s.current["status"] == "pending"
    s.set_cursor(s.index_of(f"d{add['id']}"))
    assert s.current["status"] == "added"
    s.move_end(1)
    d = last_decision(pstore)
    assert d["action"] == "edit" and d["ref_id"] == add["id"] and d["proposal_id"] is None
    assert s.current["status"] == "added" and s.current["text"] == text[a : a + 3]
    s.relabel("ORG")
    assert last_decision(pstore)["ref_id"] == add["id"]
    s.set_cursor(s.index_of(f"d{add['id']}"))
    consistent(s)
    n = len(s.items)
    s.reject()  # x on an added span removes it
    d = last_decision(pstore)
    assert d["action"] == "remove" and d["ref_id"] == add["id"]
    assert len(s.items) == n - 1
    consistent(s)
    with pytest.raises(SessionError, match="only spans you added"):
        s.remove()


def test_add_on_a_proposal_range_accepts_or_relabels_it(pstore):
    s = AnnotationSession(pstore, "alice")
    it = s.items[2]
    s.add_span(it["start"], it["end"], it["label"])
    assert last_decision(pstore)["action"] == "accept"
    it = s.items[3]
    other = "DATE" if it["label"] != "DATE" else "LOC"
    s.add_span(it["start"], it["end"], other)
    d = last_decision(pstore)
    assert d["action"] == "edit" and d["label"] == other and d["proposal_id"] == it["proposal_id"]
    consistent(s)


def test_undo_any_depth_is_persisted(pstore):
    s = AnnotationSession(pstore, "alice")
    s.accept()
    s.reject()
    s.relabel("DATE")
    s.move_end(1)
    for _ in range(4):
        s.undo()
        consistent(s)
    assert all(it["status"] == "pending" for it in s.items)
    assert s.n_decisions == 0
    with pytest.raises(SessionError, match="nothing to undo"):
        s.undo()
    # a new session sees the same (persisted) state
    s2 = AnnotationSession(pstore, "alice")
    assert s2.items == s.items


def test_accept_all_and_undo_whole_batch(pstore):
    s = AnnotationSession(pstore, "alice")
    s.reject()
    n_pending = s.pending_count
    s.accept_all()
    assert s.pending_count == 0
    assert pstore.count("decisions", "action = 'accept'") == n_pending
    consistent(s)
    s.undo()
    assert s.pending_count == n_pending
    assert s.items[0]["status"] == "rejected"
    consistent(s)
    with pytest.raises(SessionError):
        AnnotationSession(pstore, "zed", doc_id="nope")


def test_finish_queue_order_and_resume(pstore):
    s = AnnotationSession(pstore, "alice")
    s.accept()
    s.accept()
    with pytest.raises(SessionError, match="still pending"):
        s.finish()
    s.finish(force=True)
    assert pstore.is_finished(DOC0, "alice") and s.finished and s.n_finished == 1
    s.next_unfinished()
    assert s.doc_index == 1
    s.accept()
    s.accept()
    # reopening: the queue shows unfinished documents first, resume at first pending
    s2 = AnnotationSession(pstore, "alice")
    assert [q["id"] for q in s2.queue][-1] == DOC0 and s2.queue[-1]["finished"]
    assert s2.doc_id == s.doc_id and s2.cursor == 2
    s2.open(len(s2.queue) - 1)
    assert s2.finished
    s2.reopen()
    assert not pstore.is_finished(DOC0, "alice")
    with pytest.raises(SessionError, match="not finished"):
        s2.reopen()


def test_finished_count_follows_finish_undo_reopen(pstore):
    """The header's queue count is kept in step, not recounted: check it against the DB."""

    def db_count(s):
        return sum(pstore.is_finished(q["id"], s.annotator) for q in s.queue)

    s = AnnotationSession(pstore, "carol")
    assert s.n_finished == 0
    s.finish(force=True)
    assert s.n_finished == db_count(s) == 1
    with pytest.raises(SessionError, match="already finished"):
        s.finish(force=True)
    assert s.n_finished == 1
    s.undo()  # undoing the finish decision un-finishes the document
    assert not s.finished and s.n_finished == db_count(s) == 0
    s.finish(force=True)
    s.next_doc()
    s.finish(force=True)
    assert s.n_finished == db_count(s) == 2
    s.prev_doc()
    s.reopen()
    assert s.n_finished == db_count(s) == 1
    # a new session counts from the database
    assert AnnotationSession(pstore, "carol").n_finished == 1


def test_annotators_work_blind(pstore):
    a = AnnotationSession(pstore, "alice")
    a.accept_all()
    b = AnnotationSession(pstore, "bob")
    assert b.doc_id == DOC0 and all(it["status"] == "pending" for it in b.items)
    assert b.n_decisions == 0
    b.reject()
    a2 = AnnotationSession(pstore, "alice", doc_id=DOC0)
    assert a2.items[0]["status"] == "accepted"


def test_document_navigation_remembers_position(pstore):
    s = AnnotationSession(pstore, "alice")
    s.set_cursor(5)
    s.next_doc()
    assert s.doc_index == 1
    s.prev_doc()
    assert s.cursor == 5
    with pytest.raises(SessionError, match="first"):
        s.prev_doc()
    s.open(4)
    with pytest.raises(SessionError, match="last"):
        s.next_doc()


def test_search_wraps(pstore):
    s = AnnotationSession(pstore, "alice")
    q = "统战"
    hits = s.find_all(q)
    assert len(hits) > 3 and all(s.text[a:b] == q for a, b in hits)
    assert s.find(q, hits[1][0] + 1) == hits[2]
    assert s.find(q, hits[-1][0] + 1) == hits[0]  # wraps
    assert s.find(q, hits[0][0], backwards=True) == hits[-1]
    assert s.find("不存在的字符串xyz", 0) is None
    s.goto_offset(hits[2][0])
    assert s.current["end"] > hits[2][0]


def test_word_moves_use_saved_words_or_char_classes():
    text = "苍岭镇党委书记黄军在ABC会上, 讲了3次。"
    words = array("I", [0, 3, 5, 7, 9, 10, 13, 14, 15, 17, 18, 20, 21])
    assert next_word(text, words, 0) == 3
    assert next_word(text, words, 3) == 5
    assert prev_word(text, words, 5) == 3
    assert word_at(text, words, 4) == (3, 5)
    # fallback: CJK run / ASCII word / punctuation
    assert next_word(text, None, 0) == 10  # the CJK run ends at "ABC"
    assert next_word(text, None, 10) == 13  # ","
    assert word_at(text, None, 11) == (10, 13)
    assert prev_word(text, None, 13) == 10


def test_parse_value():
    assert parse_value("2.2亿") == 220000000.0
    assert parse_value("1,200") == 1200.0
    assert parse_value("") is None
    assert attrs_from_fields("500", "平方米", "近")["approx"] == "nearly"
    assert attrs_from_fields("66.3", "%", "")["approx"] is None


def test_session_imports_neither_textual_nor_jieba():
    code = "import workbench.session, sys; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    mods = set(out.stdout.split())
    assert "textual" not in mods and "jieba" not in mods
