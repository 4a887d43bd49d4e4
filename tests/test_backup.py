"""``workbench backup`` (SQLite online backup API) and ``workbench check``.

The backup is taken while another process keeps writing decisions: every copy
opens, passes ``PRAGMA integrity_check``, is a consistent snapshot (the writer
commits decisions in pairs, so a copy holds an even number), copies never go
backwards, and the writer never sees an error.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import time

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.store import Store


def run(db, *args):
    r = CliRunner().invoke(cli, ["--db", str(db), *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    return r


def dump(path) -> list[str]:
    c = sqlite3.connect(path)
    try:
        return list(c.iterdump())
    finally:
        c.close()


@pytest.fixture
def db(tmp_path, corpus_store):
    corpus_store.record_decision(corpus_store.document_ids()[0], "amy", "finish")
    return corpus_store.path


def test_backup_is_a_complete_standalone_copy(db, tmp_path):
    dest = tmp_path / "copy.db"
    r = run(db, "backup", str(dest))
    assert r.exit_code == 0, r.output
    assert "5 documents, 1 decisions" in r.output and "integrity ok" in r.output
    assert dump(dest) == dump(db)
    assert not os.path.exists(str(dest) + "-wal")
    c = sqlite3.connect(dest)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    c.close()
    s = Store(dest)  # a workbench can open it and go on
    assert s.count("documents") == 5 and s.finished_docs("amy")
    s.close()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_backup_to_a_folder_gets_a_timestamped_name(db, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    r = run(db, "backup", str(folder))
    assert r.exit_code == 0, r.output
    (name,) = os.listdir(folder)
    assert name.startswith("wb-") and name.endswith(".db")
    assert dump(folder / name) == dump(db)


def test_backup_refuses_what_it_should(db, tmp_path):
    dest = tmp_path / "b.db"
    assert run(db, "backup", str(dest)).exit_code == 0
    before = dest.read_bytes()
    r = run(db, "backup", str(dest))
    assert r.exit_code == 1 and "exists (pass --force" in r.output
    assert dest.read_bytes() == before
    r = run(db, "backup", db)
    assert r.exit_code == 1 and "is the database itself" in r.output
    r = run(db, "backup", str(tmp_path / "nope" / "b.db"))
    assert r.exit_code == 1 and "does not exist" in r.output
    r = run(tmp_path / "missing.db", "backup", str(tmp_path / "c.db"))
    assert r.exit_code == 1 and "no such database" in r.output
    assert not (tmp_path / "missing.db").exists()
    s = Store(db)
    s.record_decision(s.document_ids()[1], "bob", "finish")
    s.close()
    r = run(db, "backup", str(dest), "--force")
    assert r.exit_code == 0 and "2 decisions" in r.output
    assert dump(dest) == dump(db)


# ---------------------------------------------------------------------------- under load


def _writer(db: str, seconds: float, started, out) -> None:
    """Commit decisions two at a time for ``seconds``; report (pairs, errors)."""
    s = Store(db)
    docs = s.document_ids()
    pairs = errors = 0
    started.set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with s.write():
                d = docs[pairs % len(docs)]
                s.record_decision(d, "writer", "finish")
                s.record_decision(d, "writer", "reopen")
            pairs += 1
        except Exception as e:
            errors += 1
            out.put(("error", repr(e)))
    s.close()
    out.put(("done", pairs, errors))


def test_backup_while_another_process_writes(db, tmp_path):
    ctx = mp.get_context("spawn")
    started, out = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_writer, args=(db, 3.0, started, out))
    proc.start()
    try:
        assert started.wait(60)
        copies = []
        while proc.is_alive() and len(copies) < 40:
            dest = tmp_path / f"b{len(copies)}.db"
            r = run(db, "backup", str(dest))
            assert r.exit_code == 0, r.output
            copies.append(dest)
        proc.join(60)
        msgs = []
        while True:
            m = out.get(timeout=10)
            msgs.append(m)
            if m[0] == "done":
                break
    finally:
        if proc.is_alive():
            proc.kill()
    assert proc.exitcode == 0
    _, pairs, errors = msgs[-1]
    assert errors == 0, msgs
    assert pairs > 0 and len(copies) >= 2
    s = Store(db)
    assert s.count("decisions", "annotator = 'writer'") == 2 * pairs
    s.close()
    last = -1
    for dest in copies:
        c = sqlite3.connect(dest)
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        n = c.execute("SELECT count(*) FROM decisions WHERE annotator = 'writer'").fetchone()[0]
        c.close()
        assert n % 2 == 0, "a backup caught half a transaction"
        assert last <= n <= 2 * pairs
        last = n
    assert last > 0  # at least one copy saw the writer's work


# ---------------------------------------------------------------------------- check


def test_check_ok_and_span_mismatch(db):
    s = Store(db)
    doc = s.document_ids()[0]
    s.replace_proposals(
        doc, "t", "1", [{"start": 0, "end": 2, "label": "ORG", "text": s.get_document(doc)["text"][:2]}]
    )
    r = run(db, "check")
    assert r.exit_code == 0, r.output
    assert "integrity_check: ok" in r.output and "every stored span matches" in r.output
    with s.write() as c:
        c.execute("UPDATE proposals SET text = 'zz' WHERE doc_id = ?", (doc,))
    s.close()
    r = run(db, "check")
    assert r.exit_code == 1
    assert "spans: 1 do not match" in r.output and f'in document "{doc}"' in r.output


def test_check_reports_a_damaged_file_cleanly(db, tmp_path):
    c = sqlite3.connect(db)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'documents'").fetchone()[0]
    page = c.execute("PRAGMA page_size").fetchone()[0]
    c.close()
    bad = tmp_path / "bad.db"
    bad.write_bytes(open(db, "rb").read())
    with open(bad, "r+b") as f:
        f.seek((root - 1) * page + 3)  # the cell count of the documents table's root page
        f.write(b"\x00\x63")
    r = run(bad, "check")
    assert r.exit_code == 1 and "is damaged" in r.output
    r = run(bad, "backup", str(tmp_path / "from-bad.db"))
    assert r.exit_code == 1 and not (tmp_path / "from-bad.db").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_store_backup_and_checks_are_typed_methods(db, tmp_path):
    """What ``backup`` and ``check`` print comes from store methods (no SQL in the CLI)."""
    from workbench.store.ops import BackupError, backup_target

    s = Store(db)
    res = s.backup(tmp_path / "m.db")
    assert set(res) == {"path", "bytes", "seconds", "documents", "decisions"} and res["documents"] == 5
    with pytest.raises(BackupError, match="exists"):
        s.backup(tmp_path / "m.db")
    assert backup_target(db, tmp_path).parent == tmp_path and backup_target(db, tmp_path).suffix == ".db"
    c = sqlite3.connect(res["path"])
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # a standalone file
    c.close()
    copy = Store(res["path"], migrate=False)
    assert copy.integrity_problems() == [] and copy.integrity_problems(quick=True) == []
    assert copy.span_problems() == ([], 0)
    copy.close()
    s.close()


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_backup_refuses_the_databases_own_companion_files(db, tmp_path, suffix):
    """Issue 12: ``backup DB-wal --force`` replaced the WAL and destroyed committed decisions
    (``check`` then said ok). The database's -wal, -shm and -journal files, or a link to one,
    are refused, and every committed decision survives."""
    s = Store(db)
    doc = s.document_ids()[0]
    for _ in range(5):
        s.record_decision(doc, "ann", "finish")
    want = s.count("decisions")
    companion = db + suffix
    link = tmp_path / f"link{suffix}"
    link.symlink_to(companion)
    for target in (companion, str(link)):
        r = run(db, "backup", target, "--force")
        assert r.exit_code == 1 and "database's own" in r.output, r.output
    assert s.count("decisions") == want
    s.close()
    s = Store(db)
    assert s.count("decisions") == want
    s.close()
