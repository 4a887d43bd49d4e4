"""`workbench ingest` / `export documents` / `stats`: idempotence, bad files, atomicity."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import CORPUS

from workbench.cli import cli
from workbench.store import Store


def run(db, *args, input=None):
    return CliRunner().invoke(cli, ["--db", db, *args], input=input, catch_exceptions=False)


def db_dump(db) -> list[str]:
    s = Store(db)
    try:
        return list(s.conn.iterdump())
    finally:
        s.close()


def test_ingest_corpus_and_export_matches_gold(db_path, tmp_path, gold_docs):
    r = run(db_path, "ingest", str(CORPUS))
    assert r.exit_code == 0, r.output
    assert "ingested 5 new documents" in r.output
    out = tmp_path / "d.jsonl"
    r = run(db_path, "export", "documents", "-o", str(out))
    assert r.exit_code == 0
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert [d["id"] for d in rows] == sorted(gold_docs)
    for d in rows:
        assert d["text"] == gold_docs[d["id"]]["text"]
        assert set(d) == {"id", "text", "meta", "flags"}
        assert d["flags"]["encoding"] == "utf-8"


def test_export_documents_to_stdout(db_path):
    run(db_path, "ingest", str(CORPUS / "000_d84f443ac205a69d.txt"))
    r = run(db_path, "export", "documents", "-o", "-")
    (line,) = r.output.splitlines()
    assert json.loads(line)["id"] == "000_d84f443ac205a69d"


def test_ingest_is_idempotent(db_path):
    run(db_path, "ingest", str(CORPUS))
    before = db_dump(db_path)
    r = run(db_path, "ingest", str(CORPUS))
    assert r.exit_code == 0 and "ingested 0 new documents (5 already present)" in r.output
    assert db_dump(db_path) == before


def test_same_content_in_another_encoding_is_a_conflict_not_a_silent_dup(db_path, tmp_path):
    """Same id, different bytes: refused with a clear message, nothing written."""
    run(db_path, "ingest", str(CORPUS / "000_d84f443ac205a69d.txt"))
    before = db_dump(db_path)
    other = tmp_path / "000_d84f443ac205a69d.txt"
    other.write_bytes((CORPUS / "000_d84f443ac205a69d.txt").read_text(encoding="utf-8").encode("gb18030"))
    r = run(db_path, "ingest", str(other))
    assert r.exit_code == 1
    assert "already exists with different content" in r.output
    assert db_dump(db_path) == before


def test_ingest_folder_recursively_with_gb18030_and_bom(db_path, tmp_path, gold_docs):
    sub = tmp_path / "in" / "deeper"
    sub.mkdir(parents=True)
    text = (CORPUS / "003_b312853f4306f97e.txt").read_text(encoding="utf-8")
    (sub / "gb.txt").write_bytes(text.encode("gb18030"))
    (tmp_path / "in" / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "in" / "ignored.csv").write_text("a,b")
    r = run(db_path, "ingest", str(tmp_path / "in"))
    assert r.exit_code == 0, r.output
    s = Store(db_path)
    assert s.get_document("gb")["text"] == gold_docs["003_b312853f4306f97e"]["text"]
    assert s.get_document("gb")["encoding"] == "gb18030"
    assert s.get_document("bom")["encoding"] == "utf-8-sig"
    assert s.count("documents") == 2


def test_ingest_jsonl(db_path, tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text(
        json.dumps({"id": "a", "text": "合江統(tǒng)一戰線", "meta": {"url": "x"}}, ensure_ascii=False)
        + "\n\n"
        + json.dumps({"id": 7, "text": "第二篇"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    r = run(db_path, "ingest", str(p))
    assert r.exit_code == 0, r.output
    s = Store(db_path)
    a = s.get_document("a", with_raw=True)
    assert a["text"] == "合江统一战线" and a["meta"] == {"url": "x"} and a["source"].endswith("docs.jsonl:1")
    assert a["raw_text"] == "合江統(tǒng)一戰線"
    assert s.get_document("7")["text"] == "第二篇"


@pytest.mark.parametrize(
    "name, content, line, reason",
    [
        ("bin.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", 3, "binary"),
        ("empty.txt", b"", None, "empty"),
        ("blank.txt", b"  \n \n", None, "empty"),
        ("undecodable.txt", "好的\n行二\n".encode() + b"\x80\x81\xfe\n", 3, "not UTF-8 or GB18030"),
        ("bad.jsonl", b'{"id": "a", "text": "x"}\n{"id": "b", "text": \n', 2, "malformed JSON"),
        ("noid.jsonl", b'{"id": "a", "text": "x"}\n{"text": "y"}\n', 2, '"id"'),
        ("notext.jsonl", b'{"id": "a", "text": ""}\n', 1, '"text"'),
        ("array.jsonl", b'["a", "b"]\n', 1, "expected a JSON object"),
        ("dupe.jsonl", b'{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', 2, "duplicate id"),
        ("surrogate.jsonl", b'{"id": "a", "text": "x\\ud800y"}\n', 1, "surrogate"),
        ("meta.jsonl", b'{"id": "a", "text": "x", "meta": 3}\n', 1, '"meta"'),
        ("gbk.jsonl", '{"id": "a", "text": "好"}\n'.encode("gb18030"), 1, "not UTF-8"),
    ],
)
def test_bad_file_is_reported_and_nothing_written(db_path, tmp_path, name, content, line, reason):
    run(db_path, "ingest", str(CORPUS / "000_d84f443ac205a69d.txt"))
    before = db_dump(db_path)
    bad = tmp_path / name
    bad.write_bytes(content)
    r = run(db_path, "ingest", str(bad), str(CORPUS / "004_b811958664596ffb.txt"))
    assert r.exit_code == 1
    where = f"{bad}:{line}:" if line else f"{bad}:"
    err = [l for l in r.output.splitlines() if l.startswith("error:")]
    assert len(err) == 1 and where in err[0] and reason in err[0], r.output
    # the good file still went in; nothing of the bad one did
    s = Store(db_path)
    assert s.document_ids() == ["000_d84f443ac205a69d", "004_b811958664596ffb"]
    s.close()
    # the counts stats keeps (tallies) moved with the good file only: they agree with a recount
    after = [l for l in db_dump(db_path) if "004_b811958664596ffb" not in l and 'INSERT INTO "tallies"' not in l]
    assert after == [l for l in before if 'INSERT INTO "tallies"' not in l]
    s = Store(db_path)
    assert s.tally_problems() == []
    s.close()


def test_missing_path_is_an_error(db_path, tmp_path):
    r = run(db_path, "ingest", str(tmp_path / "nope.txt"))
    assert r.exit_code == 1 and "no such file" in r.output


def test_stats(db_path):
    run(db_path, "ingest", str(CORPUS))
    s = Store(db_path)
    s.record_decision("000_d84f443ac205a69d", "ann1", "add", start=0, end=2, label="LOC", text="摘要")
    s.close()
    r = run(db_path, "stats")
    assert "documents       5 (15,816 characters)" in r.output
    assert "ann1" in r.output and "1 decisions in 1 documents" in r.output
    data = json.loads(run(db_path, "stats", "--json").output)
    assert data["documents"] == 5 and data["decisions"] == 1 and data["annotators"][0]["annotator"] == "ann1"


def test_db_env_var(tmp_path, monkeypatch):
    db = tmp_path / "env.db"
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    r = CliRunner().invoke(cli, ["ingest", str(CORPUS / "000_d84f443ac205a69d.txt")])
    assert r.exit_code == 0 and db.exists()


def test_not_a_database_is_a_clean_error(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    r = CliRunner().invoke(cli, ["--db", str(bad), "stats"])
    assert r.exit_code == 1 and "not a workbench database" in r.output
    assert "Traceback" not in r.output
