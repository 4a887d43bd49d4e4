"""workbench stats reads counts kept by triggers (store/tallies.py): right after every
kind of write, and without scanning the tables it counts."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.propose.run import propose_store
from workbench.store import Store
from workbench.store.tallies import recount_problems

COUNTED = ("documents", "proposals", "decisions", "gold")


def _recount(store) -> dict:
    q = store.conn.execute
    per_ann = [
        {"annotator": a, "decisions": n, "documents": d}
        for a, n, d in q(
            "SELECT annotator, count(*), count(DISTINCT doc_id) FROM decisions GROUP BY annotator ORDER BY annotator"
        )
    ]
    return {
        "documents": q("SELECT count(*) FROM documents").fetchone()[0],
        "characters": q("SELECT coalesce(sum(n_chars), 0) FROM documents").fetchone()[0],
        "proposals": q("SELECT count(*) FROM proposals WHERE active = 1").fetchone()[0],
        "proposals_superseded": q("SELECT count(*) FROM proposals WHERE active = 0").fetchone()[0],
        "proposal_sources": [
            {"source": s, "version": v, "proposals": n}
            for s, v, n in q(
                "SELECT source, version, count(*) FROM proposals WHERE active = 1 GROUP BY source, version"
                " ORDER BY source, version"
            )
        ],
        "decisions": q("SELECT count(*) FROM decisions").fetchone()[0],
        "annotators": per_ann,
        "gold_documents": q("SELECT count(DISTINCT doc_id) FROM gold").fetchone()[0],
        "gold_spans": q("SELECT count(*) FROM gold").fetchone()[0],
    }


def _same(store) -> None:
    got = store.stats()
    want = _recount(store)
    for k, v in want.items():
        assert got[k] == v, k
    assert recount_problems(store.conn) == []


def test_counts_follow_every_kind_of_write(corpus_store):
    s = corpus_store
    _same(s)
    assert s.stats()["documents"] == 5 and s.stats()["characters"] == 15816
    propose_store(s, proposer="numbers")
    _same(s)
    propose_store(s, proposer="rules")
    _same(s)
    propose_store(s, proposer="rules")  # a re-run: same version, rows kept
    _same(s)
    assert s.set_source_active("numbers", False) > 0
    _same(s)
    assert s.stats()["proposals_superseded"] > 0
    s.set_source_active("numbers", True)
    _same(s)
    doc = s.document_ids()[0]
    pid = s.proposals(doc)[0]["id"]
    s.record_decision(doc, "王五", "accept", proposal_id=pid)
    s.record_decision(doc, "王五", "add", start=0, end=2, label="LOC", text=s.get_document(doc)["text"][:2])
    s.record_decision(s.document_ids()[1], "ann1", "finish")
    _same(s)
    st = s.stats()
    assert [(a["annotator"], a["decisions"], a["documents"]) for a in st["annotators"]] == [
        ("ann1", 1, 1),
        ("王五", 2, 1),
    ]


def test_gold_counts_follow_review_writes(corpus_store):
    from workbench.review.clustering import new_gold

    s = corpus_store
    doc = s.document_ids()[0]
    text = s.get_document(doc)["text"]
    span = {"start": 0, "end": 2, "label": "LOC", "text": text[:2], "attrs": None}
    s.settle(doc, insert=[new_gold(span, "added", "rev", [], "2026-01-01T00:00:00Z")], log=None)
    _same(s)
    assert (s.stats()["gold_spans"], s.stats()["gold_documents"]) == (1, 1)
    gid = s.gold_rows(doc)[0]["id"]
    s.settle(doc, remove=[gid])
    _same(s)
    assert (s.stats()["gold_spans"], s.stats()["gold_documents"]) == (0, 0)


def test_stats_reads_no_counted_table(corpus_store):
    s = corpus_store
    propose_store(s, proposer="numbers")
    seen: list[str] = []
    s.conn.set_trace_callback(seen.append)
    try:
        s.stats()
    finally:
        s.conn.set_trace_callback(None)
    assert seen
    for sql in seen:
        low = " ".join(sql.lower().split())
        for table in COUNTED:
            assert f"from {table} " not in low + " " and f"from {table}\n" not in low, sql


def test_a_bulk_undo_of_an_import_keeps_the_counts(corpus_store, tmp_path):
    import json

    s = corpus_store
    doc = s.document_ids()[0]
    text = s.get_document(doc)["text"]
    f = tmp_path / "p.jsonl"
    f.write_text(
        json.dumps({"id": doc, "spans": [{"start": 0, "end": 2, "label": "LOC", "text": text[:2]}]}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(cli, ["--db", s.path, "import", "proposals", str(f), "--source", "m"])
    assert r.exit_code == 0, r.output
    _same(s)
    assert any(p["source"] == "m" for p in s.stats()["proposal_sources"])


def test_check_finds_and_repair_fixes_a_wrong_count(corpus_store):
    s = corpus_store
    with s.write() as c:
        c.execute("UPDATE tallies SET n = n + 7 WHERE key = 'documents'")
    assert s.stats()["documents"] == 12
    r = CliRunner().invoke(cli, ["--db", s.path, "check"])
    assert r.exit_code == 1 and "tallies" in r.output and "--repair" in r.output, r.output
    r = CliRunner().invoke(cli, ["--db", s.path, "check", "--repair"])
    assert r.exit_code == 0, r.output
    s2 = Store(s.path)
    assert s2.stats()["documents"] == 5
    _same(s2)
    s2.close()


def test_an_older_database_gets_its_counts_on_open(corpus_store):
    s = corpus_store
    propose_store(s, proposer="numbers")
    want = _recount(s)
    path = s.path
    from workbench.store import tallies
    from workbench.store.schema import MIGRATIONS

    s.close()
    conn = sqlite3.connect(path)
    for name in tallies._trigger_names():
        conn.execute(f"DROP TRIGGER {name}")
    for t in tallies.TABLES:
        conn.execute(f"DROP TABLE {t}")
    idx = next(i for i, m in enumerate(MIGRATIONS) if "tallies" in m.__name__)
    conn.execute(f"PRAGMA user_version = {idx}")
    conn.commit()
    conn.close()
    s2 = Store(path)
    got = s2.stats()
    for k, v in want.items():
        assert got[k] == v, k
    s2.close()


@pytest.mark.parametrize("n", [3])
def test_deleted_documents_leave_the_counts(corpus_store, n):
    s = corpus_store
    propose_store(s, proposer="numbers")
    doc = s.document_ids()[0]
    s.record_decision(doc, "ann1", "finish")
    _same(s)
    ids = s.document_ids()[:n]
    with s.write() as c:
        c.executemany("DELETE FROM documents WHERE id = ?", [(i,) for i in ids])
    _same(s)
    assert s.stats()["documents"] == 5 - n
