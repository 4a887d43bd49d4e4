"""Database identity and environment faults (issue 12), through the real ``workbench``
command in a subprocess: a foreign SQLite file is refused, ``check`` changes nothing, a
mistyped ``--db`` creates nothing, read-only files and folders, a full disk and a damaged
file end in one clear line (exit 1, database unchanged), annotator names are validated.

Read-only files: ``chmod`` as a normal user; as root (where ``chmod`` denies nothing) the
file or folder is made immutable with ``chattr +i`` (the test is skipped where that is not
possible). A full disk: SQLite's ``PRAGMA max_page_count`` set on every connection the
store opens (a launcher that wraps the real entry point), and ``/dev/full`` for files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from workbench.core.names import clean_name
from workbench.store import SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "workbench" / "data" / "corpus"
WORKBENCH = Path(sys.executable).with_name("workbench")

# the real entry point, with every store connection limited to the pages it has (+ a few):
# inserts then fail as on a full disk (SQLITE_FULL, "database or disk is full")
FULL_DISK = """
import sys
import workbench.store.db as db
_pragmas = db.Store._pragmas
def _full(self, *a, **k):
    _pragmas(self, *a, **k)
    n = self.conn.execute("PRAGMA page_count").fetchone()[0]
    self.conn.execute(f"PRAGMA max_page_count = {n}")
db.Store._pragmas = _full
from workbench.cli import main
sys.argv = ["workbench", *sys.argv[1:]]
main()
"""


def run(*args, cwd, env=None, full_disk=False, timeout=120):
    e = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    e.update(env or {})
    cmd = [sys.executable, "-c", FULL_DISK, *args] if full_disk else [str(WORKBENCH), *args]
    return subprocess.run(
        cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def one_clear_line(r, *needles):
    """exit 1, no traceback, and the message (one line on stderr) says what is wrong."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert lines, r.stderr
    for n in needles:
        assert n in lines[-1], (n, r.stderr)
    return lines[-1]


def content(db: Path) -> str:
    """A digest of everything the database holds (schema, rows, user_version)."""
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        for line in c.iterdump():
            h.update(line.encode("utf-8", "surrogatepass"))
        h.update(str(c.execute("PRAGMA user_version").fetchone()[0]).encode())
        return h.hexdigest()
    finally:
        c.close()


@contextmanager
def read_only(path: Path):
    """``path`` (file or folder) not writable for the command, also when the tests run as root."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    r = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"running as root and chattr +i is not possible here: {r.stderr!r}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.fixture(scope="module")
def good_db(tmp_path_factory) -> Path:
    """A workbench database with the bundled corpus and numbers proposals."""
    d = tmp_path_factory.mktemp("good")
    assert run("--db", "good.db", "ingest", str(CORPUS), cwd=d).returncode == 0
    assert run("--db", "good.db", "propose", "-p", "numbers", cwd=d).returncode == 0
    return d / "good.db"


@pytest.fixture
def db(good_db, tmp_path) -> Path:
    p = tmp_path / "wb.db"
    c = sqlite3.connect(good_db)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    shutil.copy(good_db, p)
    return p


def text_file(folder: Path, name: str = "new.txt", text: str = "新的报告文本。县委统战部召开会议。") -> Path:
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------------------- identity


def foreign_db(path: Path) -> Path:
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    c.execute("INSERT INTO photos (name) VALUES ('holiday.jpg')")
    c.commit()
    c.close()
    return path


@pytest.mark.parametrize("args", [("stats",), ("ingest", "new.txt"), ("check",)])
def test_a_foreign_sqlite_file_is_refused_and_left_as_it_was(tmp_path, args):
    other = foreign_db(tmp_path / "other.sqlite")
    text_file(tmp_path)
    before = other.read_bytes()
    r = run("--db", "other.sqlite", *args, cwd=tmp_path)
    one_clear_line(r, "other.sqlite is an SQLite database but not a workbench database (tables: photos)", "--db")
    assert other.read_bytes() == before
    assert not Path(f"{other}-wal").exists()


def test_an_empty_file_is_initialised_by_ingest(tmp_path):
    (tmp_path / "wb.db").touch()
    text_file(tmp_path)
    r = run("--db", "wb.db", "ingest", "new.txt", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "created new database wb.db" in r.stderr
    with Store(tmp_path / "wb.db", create=False) as s:
        assert s.count("documents") == 1


def test_a_new_database_is_announced_and_marked_as_a_workbench_database(tmp_path):
    text_file(tmp_path)
    r = run("--db", "new.db", "ingest", "new.txt", cwd=tmp_path)
    assert r.returncode == 0 and "created new database new.db" in r.stderr, r.stderr
    c = sqlite3.connect(tmp_path / "new.db")
    from workbench.store.schema import APPLICATION_ID

    assert c.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    c.close()
    r = run("--db", "new.db", "ingest", "new.txt", cwd=tmp_path)
    assert r.returncode == 0 and "created" not in r.stderr, r.stderr


def test_a_workbench_database_made_before_the_application_id_still_opens(db, tmp_path):
    c = sqlite3.connect(db)
    c.execute("PRAGMA application_id = 0")
    c.close()
    r = run("--db", str(db), "stats", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["documents"] == 5


def journal_mode(path: Path) -> str:
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return c.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        c.close()


def test_check_changes_nothing(db, tmp_path):
    c = sqlite3.connect(db)
    c.execute("PRAGMA journal_mode = DELETE")  # as a restored backup is
    c.close()
    before = db.read_bytes()
    r = run("--db", str(db), "check", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "integrity_check: ok" in r.stdout
    assert journal_mode(db) == "delete"
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()


def set_user_version(db: Path, v: int) -> None:
    c = sqlite3.connect(db)
    c.execute(f"PRAGMA user_version = {v}")
    c.close()


def test_check_fails_on_a_newer_schema(db, tmp_path):
    set_user_version(db, SCHEMA_VERSION + 1)
    r = run("--db", str(db), "check", cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"schema version {SCHEMA_VERSION + 1}, newer than this workbench" in r.stderr
    assert "Traceback" not in r.stderr


def test_check_fails_on_an_older_schema_and_does_not_migrate_it(db, tmp_path):
    c = sqlite3.connect(db)
    c.execute("DROP INDEX idx_decisions_proposal")
    c.execute("PRAGMA user_version = 1")
    c.close()
    before = content(db)
    r = run("--db", str(db), "check", cwd=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "needs migrating" in r.stderr and "Traceback" not in r.stderr
    assert content(db) == before
    # any other command migrates it
    assert run("--db", str(db), "stats", cwd=tmp_path).returncode == 0
    with Store(db, create=False) as s:
        assert s.user_version == SCHEMA_VERSION


# ---------------------------------------------------------------------------- no such database

READING = [
    ("stats",),
    ("check",),
    ("agreement",),
    ("review", "--summary"),
    ("evaluate", "--gold", str(ROOT / "tests" / "data" / "seeds.jsonl")),
    ("history", "000_d84f443ac205a69d"),
    ("backup", "copy.db"),
    ("assign", "--annotators", "alice,bob"),
    ("propose", "-p", "numbers"),
    ("export", "gold", "-o", "out.jsonl"),
    ("export", "documents", "-o", "out.jsonl"),
    ("export", "annotations", "-o", "out.jsonl"),
    ("export", "proposals", "-o", "out.jsonl"),
    ("import", "proposals", "in.jsonl", "--source", "x"),
    ("import", "annotations", "in.jsonl", "--annotator", "alice"),
]


@pytest.mark.parametrize("args", READING, ids=lambda a: " ".join(a[:2]))
def test_a_mistyped_db_creates_nothing_and_touches_no_output(tmp_path, args):
    (tmp_path / "out.jsonl").write_text("the good file\n")
    (tmp_path / "in.jsonl").write_text('{"id": "x", "spans": []}\n')
    r = run("--db", "typo.db", *args, cwd=tmp_path)
    one_clear_line(r, "typo.db: no such database", "workbench --db typo.db ingest")
    assert not (tmp_path / "typo.db").exists()
    assert (tmp_path / "out.jsonl").read_text() == "the good file\n"
    assert not (tmp_path / "copy.db").exists()


def test_workbench_db_from_the_environment_is_not_created_by_reading_commands(tmp_path):
    r = run("stats", cwd=tmp_path, env={"WORKBENCH_DB": "typo.db"})
    one_clear_line(r, "typo.db: no such database")
    assert not (tmp_path / "typo.db").exists()


def test_annotate_with_an_explicit_db_that_does_not_exist(tmp_path):
    r = run("--db", "typo.db", "annotate", cwd=tmp_path, timeout=60)
    one_clear_line(r, "typo.db: no such database", "workbench --db typo.db ingest")
    assert not (tmp_path / "typo.db").exists()


def test_annotate_without_db_in_a_fresh_folder_creates_and_prepares_workbench_db(tmp_path):
    # --doc nope: everything up to the first screen happens, then it stops (no terminal here)
    r = run("annotate", "--annotator", "alice", "--doc", "nope", cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and "no document 'nope'" in r.stderr, r.stderr
    assert "created new database workbench.db" in r.stderr
    with Store(tmp_path / "workbench.db", create=False) as s:
        assert s.count("documents") == 5 and s.count("proposals") > 0


# ---------------------------------------------------------------------------- environment


@pytest.mark.parametrize(
    "args", [("ingest", "new.txt"), ("propose", "-p", "numbers"), ("assign", "--annotators", "alice,bob")]
)
def test_a_read_only_database_file(db, tmp_path, args):
    text_file(tmp_path)
    c = sqlite3.connect(db)
    c.execute("DELETE FROM proposals")  # propose then has something to write
    c.commit()
    c.close()
    before = content(db)
    with read_only(db):
        r = run("--db", str(db), *args, cwd=tmp_path)
    one_clear_line(r, "permission denied", f"cannot write {db}")
    assert content(db) == before


@pytest.mark.parametrize("args", [("ingest", "new.txt"), ("stats",), ("propose", "-p", "numbers")])
def test_a_database_in_a_read_only_folder(db, tmp_path, args):
    before = content(db)
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.move(db, folder / "wb.db")  # WAL mode, no -wal / -shm beside it
    assert sorted(os.listdir(folder)) == ["wb.db"]
    text_file(tmp_path)
    with read_only(folder):
        r = run("--db", "ro/wb.db", *args, cwd=tmp_path)
    line = one_clear_line(r, "permission denied")
    assert "ro" in line and "not a workbench database" not in line
    assert content(folder / "wb.db") == before


def big_jsonl(folder: Path) -> Path:
    p = folder / "big.jsonl"
    with p.open("w", encoding="utf-8") as fh:
        for i in range(40):
            fh.write(json.dumps({"id": f"big{i}", "text": f"第{i}份报告。" + "县委统战部召开会议。" * 500}) + "\n")
    return p


def test_a_full_disk_during_ingest(db, tmp_path):
    big_jsonl(tmp_path)
    before = content(db)
    r = run("--db", str(db), "ingest", "big.jsonl", cwd=tmp_path, full_disk=True)
    assert "cannot rollback" not in r.stderr
    one_clear_line(r, "disk full")
    assert content(db) == before


def test_a_full_disk_during_propose(db, tmp_path):
    c = sqlite3.connect(db)
    c.execute("DELETE FROM proposals")
    c.commit()
    c.execute("VACUUM")
    c.close()
    r = run("--db", str(db), "propose", "-p", "numbers", cwd=tmp_path, full_disk=True)
    assert "cannot rollback" not in r.stderr
    one_clear_line(r, "disk full")
    assert run("--db", str(db), "check", cwd=tmp_path).returncode == 0


def test_export_to_a_full_disk(db, tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    r = run("--db", str(db), "export", "documents", "-o", "/dev/full", cwd=tmp_path)
    one_clear_line(r, "disk full")


def test_store_write_surfaces_the_real_error_not_cannot_rollback(tmp_path):
    s = Store(tmp_path / "wb.db")
    n = s.scalar("PRAGMA page_count")
    s.conn.execute(f"PRAGMA max_page_count = {n}")
    with pytest.raises(sqlite3.OperationalError, match="full"), s.write() as c:
        c.executemany("INSERT INTO settings (key, value) VALUES (?, ?)", [(f"k{i}", "x" * 1000) for i in range(200)])
    assert not s.conn.in_transaction
    s.close()


def damage(db: Path) -> None:
    size = db.stat().st_size
    with db.open("r+b") as fh:
        for page in range(2, size // 4096, 3):  # page 1 (the schema) stays readable
            fh.seek(page * 4096)
            fh.write(bytes(range(256)) * 16)


@pytest.mark.parametrize("args", [("agreement",), ("review", "--summary"), ("propose", "-p", "numbers"), ("stats",)])
def test_a_damaged_database(db, tmp_path, args):
    damage(db)
    r = run("--db", str(db), *args, cwd=tmp_path)
    one_clear_line(r, f"{db} is damaged (database disk image is malformed)", "backup")


@pytest.mark.parametrize("args", [("agreement",), ("propose", "-p", "numbers")])
def test_a_truncated_database(db, tmp_path, args):
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    r = run("--db", str(db), *args, cwd=tmp_path)
    line = one_clear_line(r, f"{db} is damaged", "restore it from your latest backup copy")
    assert "not a workbench database" not in line


# ---------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "clean"), [("alice", "alice"), ("  alice ", "alice"), ("张 三", "张 三"), ("x" * 64, "x" * 64)]
)
def test_clean_name_strips(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "x" * 65, "ali\nce", "a\tb", "a\x1b]52;c;aGk=\x07", "bo\u202eb", "a\u2028b", "a\x85b", "a\u200bb"],
)
def test_clean_name_refuses(bad):
    with pytest.raises(ValueError):
        clean_name(bad)


BAD_NAME = "eve\x1b]0;pwned\x07"


@pytest.mark.parametrize(
    "args",
    [
        ("annotate", "--annotator", BAD_NAME),
        ("annotate", "--annotator", "  "),
        ("review", "--reviewer", BAD_NAME),
        ("assign", "--annotators", f"alice,{BAD_NAME}"),
        ("assign", "--annotators", "alice,bo\u202eb"),
        ("import", "annotations", "in.jsonl", "--annotator", BAD_NAME),
        ("import", "annotations", "in.jsonl", "--annotator", "a" * 65),
        ("export", "annotations", "-o", "out.jsonl", "--annotator", BAD_NAME),
        ("history", "000_d84f443ac205a69d", "--annotator", "a\nb"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_bad_names_are_refused_before_anything_is_written(db, tmp_path, args):
    (tmp_path / "in.jsonl").write_text('{"id": "000_d84f443ac205a69d", "spans": []}\n')
    before = content(db)
    r = run("--db", str(db), *args, cwd=tmp_path, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "\x1b" not in r.stderr and "Traceback" not in r.stderr
    assert "name" in r.stderr
    assert content(db) == before
    assert not (tmp_path / "out.jsonl").exists()


def test_a_bad_name_from_the_environment_is_refused(db, tmp_path):
    r = run("--db", str(db), "annotate", cwd=tmp_path, env={"WORKBENCH_ANNOTATOR": BAD_NAME}, timeout=60)
    one_clear_line(r, "WORKBENCH_ANNOTATOR")
    assert "\x1b" not in r.stderr


def test_names_are_stripped_where_they_enter(db, tmp_path):
    doc = "000_d84f443ac205a69d"
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": doc, "spans": []}) + "\n")
    r = run("--db", str(db), "import", "annotations", "in.jsonl", "--annotator", "  alice  ", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run("--db", str(db), "assign", "--annotators", " bob , carol ", "--per-doc", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with Store(db, create=False) as s:
        assert s.annotators() == ["alice"]
        assert {a for anns in s.assignments().values() for a in anns} == {"bob", "carol"}
    r = run("--db", str(db), "history", doc, "--json", "--annotator", " alice ", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["decisions"], r.stderr


def test_the_importer_validates_its_annotator(db, tmp_path):
    from workbench.importer import import_annotations

    (tmp_path / "in.jsonl").write_text('{"id": "000_d84f443ac205a69d", "spans": []}\n')
    with Store(db, create=False) as s, pytest.raises(ValueError, match="name"):
        import_annotations(s, str(tmp_path / "in.jsonl"), annotator="a\x1b[2Jb")


def test_library_entry_points_check_names_too(db):
    """The CLI is one way in; a script using the library must not write ``"alice\\x1b]0;x\\x07"``
    or ``" alice"`` (a second annotator that looks like the first) either."""
    from workbench.review import ReviewError, ReviewSession
    from workbench.session import AnnotationSession, SessionError

    before = content(db)
    with Store(db) as s:
        for bad in ("", "  ", "alice\x1b]0;x\x07", "a\u202eb", "x" * 65):
            with pytest.raises(SessionError):
                AnnotationSession(s, bad)
            with pytest.raises(ReviewError):
                ReviewSession(s, bad)
            doc = s.document_ids()[0]
            with pytest.raises(ValueError):
                s.assign([(doc, "bob"), (doc, bad)])
            with pytest.raises(ValueError):
                s.reassign([doc], [(doc, bad)])
        assert AnnotationSession(s, "  alice ").annotator == "alice"
    assert content(db) == before  # nothing written, not even the good pair before the bad one


def test_an_id_with_a_nul_is_refused_with_its_line(tmp_path):
    f = tmp_path / "n.jsonl"
    f.write_text(
        json.dumps({"id": "ok", "text": "正文。"}) + "\n" + json.dumps({"id": "n\x00ul", "text": "正文。"}) + "\n"
    )
    r = run("--db", "wb.db", "ingest", str(f), cwd=tmp_path)
    assert r.returncode == 1 and f'{f}:2: "id" contains a NUL character' in r.stderr, r.stderr
    with Store(tmp_path / "wb.db") as s:
        assert s.document_ids() == []  # the file is refused whole


def test_a_closed_pipe_ends_quietly(tmp_path):
    """``workbench export documents -o - | head -c 100`` printed "Error: Broken pipe"."""
    f = tmp_path / "many.jsonl"
    f.write_text("".join(json.dumps({"id": f"d{i}", "text": "县委统战部召开会议。" * 20}) + "\n" for i in range(2000)))
    assert run("--db", "wb.db", "ingest", str(f), cwd=tmp_path).returncode == 0
    cmd = [sys.executable, "-c", "from workbench.cli import main; main()", "--db", str(tmp_path / "wb.db")]
    p = subprocess.Popen(cmd + ["export", "documents", "-o", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.read(100)
    p.stdout.close()  # the reader leaves, as head does
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 1
    assert "Broken pipe" not in err and "Traceback" not in err and "Exception ignored" not in err, err
