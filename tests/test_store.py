"""The SQLite layer: migrations, pragmas, the decision log and the state derived from it."""

from __future__ import annotations

import sqlite3

import pytest

from workbench.core.spans import derive_items, final_spans
from workbench.store import SCHEMA_VERSION, Store, StoreError


def test_fresh_db_is_migrated_with_wal_and_foreign_keys(db_path):
    s = Store(db_path)
    assert s.user_version == SCHEMA_VERSION
    assert s.scalar("PRAGMA journal_mode") == "wal"
    assert s.scalar("PRAGMA foreign_keys") == 1
    tables = set(s.db.table_names())
    assert {"documents", "proposals", "decisions", "gold", "reviews", "assignments", "settings"} <= tables
    idx = {r["name"] for r in s.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_proposals_doc", "idx_decisions_doc_ann", "idx_gold_doc"} <= idx
    s.close()
    # reopening does not migrate again
    s2 = Store(db_path)
    assert s2.user_version == SCHEMA_VERSION
    s2.close()


def test_newer_schema_is_refused(db_path):
    s = Store(db_path)
    s.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    s.close()
    with pytest.raises(StoreError, match="newer than this workbench"):
        Store(db_path)


def test_foreign_keys_enforced(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.record_decision("no-such-doc", "a", "accept")


def test_write_rolls_back_on_error(corpus_store):
    s = corpus_store
    with pytest.raises(RuntimeError), s.write() as c:
        c.execute("DELETE FROM documents")
        raise RuntimeError("boom")
    assert s.count("documents") == 5


DOC = "000_d84f443ac205a69d"


def _proposals(s):
    text = s.get_document(DOC)["text"]
    spans = []
    for needle, label in (("县委统战工作领导小组", "ORG"), ("同心筑酉", "PROGRAM"), ("黄军", "PERSON")):
        i = text.index(needle)
        spans.append({"start": i, "end": i + len(needle), "label": label, "text": needle})
    s.replace_proposals(DOC, "rules", "1", spans)
    return s.proposals(DOC), text


def test_decisions_derive_state_with_undo(corpus_store):
    s = corpus_store
    props, text = _proposals(s)
    org, prog, per = props
    s.record_decision(
        DOC, "ann", "accept", proposal_id=org["id"], start=org["start"], end=org["end"], label="ORG", text=org["text"]
    )
    s.record_decision(DOC, "ann", "reject", proposal_id=prog["id"])
    e0 = per["start"] - 2
    s.record_decision(
        DOC, "ann", "edit", proposal_id=per["id"], start=e0, end=per["end"], label="PERSON", text=text[e0 : per["end"]]
    )
    add = s.record_decision(DOC, "ann", "add", start=0, end=2, label="LOC", text=text[0:2])
    items = {i["key"]: i for i in s.annotator_items(DOC, "ann")}
    assert items[f"p{org['id']}"]["status"] == "accepted"
    assert items[f"p{prog['id']}"]["status"] == "rejected"
    assert items[f"p{per['id']}"]["status"] == "edited" and items[f"p{per['id']}"]["start"] == e0
    assert items[f"d{add}"]["status"] == "added"
    # another annotator sees only pending proposals (annotators work blind)
    assert {i["status"] for i in s.annotator_items(DOC, "other")} == {"pending"}
    # undo, three levels, persisted
    assert s.undo_last(DOC, "ann")["id"] == add
    assert s.undo_last(DOC, "ann")["action"] == "edit"
    s2 = Store(s.path)
    items = {i["key"]: i for i in s2.annotator_items(DOC, "ann")}
    assert f"d{add}" not in items
    assert items[f"p{per['id']}"]["status"] == "pending" and items[f"p{per['id']}"]["start"] == per["start"]
    assert [x["label"] for x in s2.annotator_spans(DOC, "ann")] == ["ORG"]
    s2.close()


def test_edit_and_remove_of_an_added_span(corpus_store):
    s = corpus_store
    text = s.get_document(DOC)["text"]
    add = s.record_decision(DOC, "ann", "add", start=0, end=2, label="LOC", text=text[:2])
    s.record_decision(DOC, "ann", "edit", ref_id=add, start=0, end=3, label="ORG", text=text[:3])
    (item,) = s.annotator_items(DOC, "ann")
    assert (item["end"], item["label"], item["status"]) == (3, "ORG", "added")
    s.record_decision(DOC, "ann", "remove", ref_id=add)
    assert s.annotator_items(DOC, "ann") == []
    s.undo_last(DOC, "ann")
    assert s.annotator_items(DOC, "ann")[0]["label"] == "ORG"


def test_reproposing_keeps_decisions_on_the_old_version(corpus_store):
    s = corpus_store
    (org, prog, per), _ = _proposals(s)
    s.record_decision(
        DOC, "ann", "accept", proposal_id=org["id"], start=org["start"], end=org["end"], label="ORG", text=org["text"]
    )
    # version 2 proposes only the PERSON span
    s.replace_proposals(DOC, "rules", "2", [{k: per[k] for k in ("start", "end", "label", "text")}])
    active = s.proposals(DOC)
    assert [(p["label"], p["version"]) for p in active] == [("PERSON", "2")]
    items = s.annotator_items(DOC, "ann")
    statuses = sorted((i["label"], i["status"]) for i in items)
    assert statuses == [("ORG", "accepted"), ("PERSON", "pending")]
    assert s.count("proposals", "active = 0") == 3
    # the same version again replaces its undecided proposals, keeps decided ones
    s.replace_proposals(DOC, "rules", "2", [{k: per[k] for k in ("start", "end", "label", "text")}])
    assert s.count("proposals", "version = '2'") == 1


def test_queue_unfinished_first_and_assignments(corpus_store):
    s = corpus_store
    ids = s.document_ids()
    assert [q["id"] for q in s.queue("ann")] == ids
    s.record_decision(ids[0], "ann", "finish")
    q = s.queue("ann")
    assert q[-1] == {"id": ids[0], "finished": True} and q[0]["id"] == ids[1]
    s.record_decision(ids[0], "ann", "reopen")
    assert s.queue("ann")[0]["id"] == ids[0]
    assert s.assign([(ids[2], "ann"), (ids[3], "ann"), (ids[3], "bob")]) == 3
    assert s.assign([(ids[2], "ann")]) == 0
    assert [q["id"] for q in s.queue("ann")] == [ids[2], ids[3]]
    assert s.assignments()[ids[3]] == ["ann", "bob"]


def test_derive_items_is_pure():
    props = [{"id": 1, "start": 0, "end": 2, "label": "LOC", "text": "酉阳", "attrs": None, "active": 1}]
    decs = [
        {
            "id": 10,
            "action": "edit",
            "proposal_id": 1,
            "ref_id": None,
            "start": 0,
            "end": 2,
            "label": "ORG",
            "text": "酉阳",
            "attrs": None,
        },
        {
            "id": 11,
            "action": "accept",
            "proposal_id": 1,
            "ref_id": None,
            "start": 0,
            "end": 2,
            "label": "ORG",
            "text": "酉阳",
            "attrs": None,
        },
    ]
    (item,) = derive_items(props, decs)
    assert item["status"] == "edited" and item["label"] == "ORG"
    assert final_spans([item]) == [{"start": 0, "end": 2, "label": "ORG", "text": "酉阳", "attrs": None}]


def test_reproposing_the_same_span_shows_the_decision_not_a_duplicate(corpus_store):
    s = corpus_store
    (org, prog, per), _ = _proposals(s)
    s.record_decision(
        DOC, "ann", "accept", proposal_id=org["id"], start=org["start"], end=org["end"], label="ORG", text=org["text"]
    )
    s.replace_proposals(
        DOC, "rules", "2", [{k: p[k] for k in ("start", "end", "label", "text")} for p in (org, prog, per)]
    )
    items = s.annotator_items(DOC, "ann")
    assert sorted((i["label"], i["status"]) for i in items) == [
        ("ORG", "accepted"),
        ("PERSON", "pending"),
        ("PROGRAM", "pending"),
    ]
    # another annotator sees the new run's three pending proposals
    assert len(s.annotator_items(DOC, "other")) == 3


def test_typed_queries_for_the_cli(corpus_store):
    s = corpus_store
    assert s.has_documents() and not s.has_proposals() and s.proposal_sources() == []
    _proposals(s)
    s.replace_proposals(DOC, "jieba", "0", [])
    assert s.has_proposals() and s.proposal_sources() == ["rules"]  # jieba has no active proposal
    assert s.journal_mode() == "wal" and s.integrity_problems() == [] and s.span_problems() == ([], 0)
    empty = Store(":memory:")
    assert not empty.has_documents() and not empty.has_proposals()
    empty.close()


def test_latest_live_decision_skips_undone_ones(corpus_store):
    s = corpus_store
    assert s.latest_live_decision(DOC, "ann") is None
    a = s.record_decision(DOC, "ann", "add", start=0, end=2, label="LOC", text="摘要", origin="tui")
    b = s.record_decision(DOC, "ann", "add", start=3, end=4, label="LOC", text="x", origin="batch:1")
    assert s.latest_live_decision(DOC, "ann")["id"] == b and s.latest_live_decision(DOC, "ann")["origin"] == "batch:1"
    assert s.latest_live_decision(DOC, "other") is None
    assert s.undo_last(DOC, "ann")["id"] == b
    assert s.latest_live_decision(DOC, "ann")["id"] == a
    assert s.undo_last(DOC, "ann")["id"] == a and s.latest_live_decision(DOC, "ann") is None
    assert s.undo_last(DOC, "ann") is None
