"""Output paths of ``export`` and ``backup`` (issue 12): what ``-o PATH`` is decides how it is
written, never by replacing it. Devices and FIFOs are written through, symlinks followed, an
existing file keeps its mode; a folder, a missing or read-only folder, a full disk give one
line and exit 1 with the old file intact and no temporary file left; a killed export or
backup leaves the old output (or a folder of shards) complete and its recognisable temporary
files are removed by the next run.

The commands run as real ``workbench`` subprocesses (``run_wb``); the ones killed half-way run
``workbench.cli.main`` in a subprocess with one function wrapped to SIGKILL the process at
a chosen point (``KILL_SCRIPT``).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_export import gold_store  # noqa: F401  (fixture)

import workbench
from workbench.cli import cli

# the workbench under test (PYTHONPATH wins over the editable install's finder)
SRC = str(Path(workbench.__file__).resolve().parents[1])
SCRIPT = Path(sys.executable).parent / "workbench"
WB = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-c", "from workbench.cli import main; main()"]
TEMP_MARK = ".workbench-tmp-"


def env() -> dict:
    e = dict(os.environ, PYTHONPATH=SRC, NO_COLOR="1", COLUMNS="200")
    e.pop("WORKBENCH_DB", None)
    return e


def run_wb(db, *args, umask: int | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    pre = (lambda: os.umask(umask)) if umask is not None else None
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [*WB, "--db", str(db), *args],
        stderr=subprocess.PIPE,
        env=env(),
        timeout=timeout,
        preexec_fn=pre,
        **kw,
    )


def err(res) -> str:
    return res.stderr.decode("utf-8", "replace")


def one_line_error(res, *needles: str) -> str:
    e = err(res).strip()
    assert res.returncode == 1, e
    assert "Traceback" not in e, e
    assert len(e.splitlines()) == 1, e
    for n in needles:
        assert n in e, e
    return e


def temps(folder) -> list[str]:
    """Temporary names (ours, or the old ``.tmp-`` / ``.NAME.XXXX.tmp`` ones) in ``folder``."""
    return sorted(
        p
        for p in os.listdir(folder)
        if TEMP_MARK in p or ".workbench-old-" in p or p.startswith(".tmp") or (p.startswith(".") and ".tmp" in p)
    )


FORMATS = ["jsonl", "doccano", "conll", "spacy"]


def need(fmt: str) -> None:
    if fmt == "spacy":
        pytest.importorskip("spacy")


@pytest.fixture
def gold_db(gold_store, db_path):
    gold_store.close()  # the subprocesses open it
    return db_path


@pytest.fixture
def reference(gold_db, tmp_path):
    """``fmt`` -> the bytes ``export gold --format fmt`` writes to a new regular file."""
    cache: dict[str, bytes] = {}

    def get(fmt: str) -> bytes:
        if fmt not in cache:
            out = tmp_path / "reference" / f"gold.{fmt}"
            out.parent.mkdir(exist_ok=True)
            res = run_wb(gold_db, "export", "gold", "--format", fmt, "-o", str(out))
            assert res.returncode == 0, err(res)
            cache[fmt] = out.read_bytes()
        return cache[fmt]

    return get


# ---------------------------------------------------------------------------- devices and FIFOs


def mknod(path: Path, major: int, minor: int) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    except OSError as e:
        pytest.skip(f"cannot make a device node here: {e}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_device_node_is_written_through_not_replaced(gold_db, tmp_path, fmt):
    need(fmt)
    dev = tmp_path / "null"
    mknod(dev, 1, 3)  # a /dev/null of our own: the old code replaced it with a file
    res = run_wb(gold_db, "export", "gold", "--format", fmt, "-o", str(dev))
    assert res.returncode == 0, err(res)
    assert stat.S_ISCHR(os.lstat(dev).st_mode) and os.lstat(dev).st_rdev == os.makedev(1, 3)
    assert temps(tmp_path) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_fifo_is_written_through(gold_db, tmp_path, reference, fmt):
    need(fmt)
    expected = reference(fmt)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = tmp_path / "got"
    with open(got, "wb") as sink:
        reader = subprocess.Popen(["cat", str(fifo)], stdout=sink)
        try:
            res = run_wb(gold_db, "export", "gold", "--format", fmt, "-o", str(fifo))
            assert res.returncode == 0, err(res)
            reader.wait(timeout=30)
        finally:
            if reader.poll() is None:  # the old code wrote a file instead: nobody opened the FIFO
                reader.kill()
                reader.wait()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got.read_bytes() == expected
    assert temps(tmp_path) == []


def test_real_dev_null_dev_stdout_and_dev_full(gold_db, reference):
    # never run the old code on the real devices (as root it replaced them): the new one
    # says first that it writes them through
    from workbench.outputs import output_target

    for dev in ("/dev/null", "/dev/full", "/dev/stdout"):
        assert output_target(dev).through, dev
    before = {d: os.lstat(d) for d in ("/dev/null", "/dev/full", "/dev/stdout")}
    res = run_wb(gold_db, "export", "gold", "-o", "/dev/null")
    assert res.returncode == 0, err(res)
    res = run_wb(gold_db, "export", "gold", "-o", "/dev/stdout")
    assert res.returncode == 0, err(res)
    assert res.stdout == reference("jsonl")
    for args in (["gold"], ["gold", "--format", "spacy"], ["documents"]):
        if "spacy" in args:
            need("spacy")
        res = run_wb(gold_db, "export", *args, "-o", "/dev/full")
        one_line_error(res, "/dev/full: disk full (no space left on device)")
    for d, st in before.items():
        now = os.lstat(d)
        assert (now.st_mode, now.st_rdev, now.st_ino) == (st.st_mode, st.st_rdev, st.st_ino), d
    assert [p for p in os.listdir("/dev") if TEMP_MARK in p or p.startswith(".tmp")] == []


def test_a_full_disk_is_one_line(gold_db, tmp_path):
    full = tmp_path / "full"
    mknod(full, 1, 7)  # a /dev/full of our own: the old code replaced it and said it wrote it
    for args in (["gold"], ["documents"]):
        res = run_wb(gold_db, "export", *args, "-o", str(full))
        one_line_error(res, f"{full}: disk full (no space left on device)")
        assert stat.S_ISCHR(os.lstat(full).st_mode)
    assert temps(tmp_path) == []


def test_disk_full_mid_export_keeps_the_old_file(gold_db, tmp_path, monkeypatch):
    from workbench.formats.jsonl import JsonlWriter

    out = tmp_path / "gold.jsonl"
    out.write_text("old\n")
    os.chmod(out, 0o640)
    calls = []

    def write(self, rec):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.fh.write(json.dumps(rec) + "\n")

    monkeypatch.setattr(JsonlWriter, "write", write)
    res = CliRunner().invoke(cli, ["--db", gold_db, "export", "gold", "-o", str(out)])
    assert res.exit_code == 1 and not isinstance(res.exception, OSError), repr(res.exception)
    assert f"{out}: disk full (no space left on device)" in res.output
    assert out.read_text() == "old\n" and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert temps(tmp_path) == []


def test_a_write_error_in_a_subprocess_keeps_the_old_file(gold_db, tmp_path):
    """A real write failure (the file size limit: EFBIG) half-way through a large export."""
    import resource

    out = tmp_path / "gold.jsonl"
    out.write_text("old\n")

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))  # the export is ~98 kB

    res = subprocess.run(
        [*WB, "--db", gold_db, "export", "gold", "-o", str(out)], capture_output=True, env=env(), preexec_fn=limit
    )
    one_line_error(res, f"{out}: file too large")
    assert out.read_text() == "old\n"
    assert temps(tmp_path) == []


# ---------------------------------------------------------------------------- symlinks and modes


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_symlink_is_followed_and_stays_a_link(gold_db, tmp_path, reference, fmt):
    need(fmt)
    expected = reference(fmt)
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "gold.out"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    link = tmp_path / "gold.link"
    link.symlink_to(target)
    res = run_wb(gold_db, "export", "gold", "--format", fmt, "-o", str(link))
    assert res.returncode == 0, err(res)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == expected
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert temps(tmp_path) == [] and temps(real_dir) == []
    dangling = tmp_path / "dangling.link"
    dangling.symlink_to(real_dir / "new.out")  # a link to a file yet to be made
    res = run_wb(gold_db, "export", "gold", "--format", fmt, "-o", str(dangling))
    assert res.returncode == 0, err(res)
    assert dangling.is_symlink() and (real_dir / "new.out").read_bytes() == expected


def test_an_existing_file_keeps_its_mode_a_new_one_gets_the_umask(gold_db, tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text("old\n")
    os.chmod(secret, 0o600)
    res = run_wb(gold_db, "export", "gold", "-o", str(secret), umask=0o022)
    assert res.returncode == 0, err(res)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_text() != "old\n"
    res = run_wb(gold_db, "export", "documents", "-o", str(secret), umask=0o022)
    assert res.returncode == 0, err(res)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    new = tmp_path / "new.jsonl"
    res = run_wb(gold_db, "export", "gold", "-o", str(new), umask=0o027)
    assert res.returncode == 0, err(res)
    assert stat.S_IMODE(new.stat().st_mode) == 0o640


# ---------------------------------------------------------------------------- bad places


@pytest.mark.parametrize(
    "args", [["gold"], ["gold", "--format", "doccano"], ["gold", "--format", "conll"], ["documents"]]
)
def test_a_folder_where_a_file_is_expected(gold_db, tmp_path, args):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("kept")
    res = run_wb(gold_db, "export", *args, "-o", str(folder))
    one_line_error(res, f"{folder}: is a folder")
    assert sorted(os.listdir(folder)) == ["keep.txt"] and temps(tmp_path) == []


@pytest.mark.parametrize("args", [["gold"], ["documents"], ["gold", "--format", "spacy"]])
def test_a_missing_folder(gold_db, tmp_path, args):
    if "spacy" in args:
        need("spacy")
    out = tmp_path / "nope" / "gold.out"
    res = run_wb(gold_db, "export", *args, "-o", str(out))
    one_line_error(res, str(out), "does not exist")
    assert not (tmp_path / "nope").exists()


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody may write in, holding ``old.jsonl`` (chattr +i for root)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "old.jsonl").write_text("old\n")
    if os.geteuid() == 0:
        r = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        if r.returncode != 0:
            pytest.skip("root, and chattr +i does not work here")
        try:
            yield folder
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


@pytest.mark.parametrize("args", [["gold"], ["documents"]])
@pytest.mark.parametrize("name", ["old.jsonl", "new.jsonl"])
def test_a_read_only_folder(gold_db, read_only_folder, args, name):
    out = read_only_folder / name
    res = run_wb(gold_db, "export", *args, "-o", str(out))
    one_line_error(res, f"{out}: permission denied")
    assert sorted(os.listdir(read_only_folder)) == ["old.jsonl"]
    assert (read_only_folder / "old.jsonl").read_text() == "old\n"


# ---------------------------------------------------------------------------- killed half-way

KILL_SCRIPT = """
import os, signal, sys
{setup}
from workbench.cli import main
sys.argv = ["workbench", *sys.argv[1:]]
main()
"""


def run_killable(db, setup: str, *args) -> subprocess.CompletedProcess:
    """``workbench --db DB ARGS`` in a subprocess after ``setup`` (Python that may wrap a
    function to SIGKILL the process at some point)."""
    code = KILL_SCRIPT.format(setup=textwrap.dedent(setup))
    return subprocess.run(
        [sys.executable, "-c", code, "--db", str(db), *args], capture_output=True, env=env(), timeout=120
    )


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


KILL_AT_THIRD_RECORD = """
from workbench.formats import jsonl
_write = jsonl.JsonlWriter.write
n = [0]
def write(self, rec):
    n[0] += 1
    if n[0] == 3:
        self.fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    _write(self, rec)
jsonl.JsonlWriter.write = write
"""


def test_a_killed_export_leaves_the_old_file_and_its_temp_is_cleaned_next_time(gold_db, tmp_path, reference):
    out = tmp_path / "gold.jsonl"
    out.write_text("old\n")
    os.chmod(out, 0o600)
    res = run_killable(gold_db, KILL_AT_THIRD_RECORD, "export", "gold", "-o", str(out))
    assert res.returncode == -signal.SIGKILL, res.stderr
    assert out.read_text() == "old\n"  # old and complete
    (left,) = temps(tmp_path)  # the killed run's temporary file, named for what it was
    assert left.startswith(".gold.jsonl.workbench-tmp-") and (tmp_path / left).stat().st_size > 0
    live = tmp_path / f".gold.jsonl.workbench-tmp-{os.getpid()}-live01"  # a live process's
    live.write_text("busy")
    other = tmp_path / ".tmp-notours"  # not a name of ours: not touched
    other.write_text("x")
    res = run_wb(gold_db, "export", "gold", "-o", str(out))
    assert res.returncode == 0, err(res)
    assert out.read_bytes() == reference("jsonl") and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert temps(tmp_path) == sorted([".tmp-notours", live.name])


def shard_setup(docs: int, kill: str = "") -> str:
    setup = f"""
    from workbench.formats import docbin
    docbin.SpacyWriter.SHARD_DOCS = {docs}
    """
    if kill == "writing":  # after the first new shard is written
        setup += """
    _ws = docbin.SpacyWriter._write_shard
    def _write_shard(self):
        _ws(self)
        os.kill(os.getpid(), signal.SIGKILL)
    docbin.SpacyWriter._write_shard = _write_shard
    """
    elif kill == "swapping":  # the old folder renamed away, the new one not yet in
        setup += """
    _rename = os.rename
    def rename(src, dst):
        _rename(src, dst)
        if ".workbench-old-" in os.path.basename(dst):
            os.kill(os.getpid(), signal.SIGKILL)
    os.rename = rename
    """
    return setup


def shards(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kill", ["writing", "swapping"])
def test_a_killed_shard_export_leaves_the_old_folder_complete(gold_db, tmp_path, kill):
    need("spacy")
    folder = tmp_path / "train"
    res = run_killable(gold_db, shard_setup(1), "export", "gold", "--format", "spacy", "-o", f"{folder}/")
    assert res.returncode == 0, res.stderr
    old = shards(folder)
    assert len(old) == 5  # 5 shards of one document
    new_ref = tmp_path / "ref"
    res = run_killable(gold_db, shard_setup(2), "export", "gold", "--format", "spacy", "-o", f"{new_ref}/")
    assert res.returncode == 0, res.stderr
    new = shards(new_ref)
    assert len(new) == 3  # 3 shards of two documents

    res = run_killable(gold_db, shard_setup(2, kill), "export", "gold", "--format", "spacy", "-o", f"{folder}/")
    assert res.returncode == -signal.SIGKILL, res.stderr
    if kill == "writing":
        assert shards(folder) == old  # the old shards, complete, none of the new ones
    else:
        assert not folder.exists()  # between the two renames: not at all, never a mix
    assert temps(tmp_path)  # what the killed run left beside it

    res = run_killable(gold_db, shard_setup(2), "export", "gold", "--format", "spacy", "-o", str(folder))
    assert res.returncode == 0, res.stderr
    assert shards(folder) == new
    assert temps(tmp_path) == []


def test_a_failed_shard_export_keeps_the_old_folder(gold_db, tmp_path):
    need("spacy")
    folder = tmp_path / "train"
    res = run_killable(gold_db, shard_setup(1), "export", "gold", "--format", "spacy", "-o", f"{folder}/")
    assert res.returncode == 0, res.stderr
    old = shards(folder)
    fail = textwrap.dedent(shard_setup(2)) + textwrap.dedent("""
    _ws2 = docbin.SpacyWriter._write_shard
    def _fail(self):
        _ws2(self)
        raise OSError(28, "No space left on device")
    docbin.SpacyWriter._write_shard = _fail
    """)
    res = run_killable(gold_db, fail, "export", "gold", "--format", "spacy", "-o", f"{folder}/")
    e = one_line_error(res, "disk full (no space left on device)")
    assert str(folder) in e
    assert shards(folder) == old and temps(tmp_path) == []


KILL_IN_BACKUP = """
from workbench.store import ops
_into = ops.OpsQueries._backup_into
def _backup_into(self, tmp, **kw):
    r = _into(self, tmp, **kw)
    os.kill(os.getpid(), signal.SIGKILL)
ops.OpsQueries._backup_into = _backup_into
"""


def dump(path) -> list[str]:
    c = sqlite3.connect(path)
    try:
        return list(c.iterdump())
    finally:
        c.close()


def test_a_killed_backup_leaves_the_old_backup_and_its_temp_is_cleaned_next_time(gold_db, tmp_path):
    dest = tmp_path / "backups"
    dest.mkdir()
    copy = dest / "copy.db"
    res = run_wb(gold_db, "backup", str(copy))
    assert res.returncode == 0, err(res)
    old = dump(copy)
    c = sqlite3.connect(gold_db)
    with c:
        c.execute("DELETE FROM gold")
    c.close()
    res = run_killable(gold_db, KILL_IN_BACKUP, "backup", str(copy), "--force")
    assert res.returncode == -signal.SIGKILL, res.stderr
    assert dump(copy) == old  # the old backup, complete
    left = temps(dest)
    assert left and all(p.startswith(".copy.db.workbench-tmp-") for p in left), left
    stale_elsewhere = dest / f".other.db.workbench-tmp-{dead_pid()}-abc123"  # a backup to a folder
    stale_elsewhere.write_text("x")
    live = dest / f".copy.db.workbench-tmp-{os.getpid()}-live01"
    live.write_text("busy")
    res = run_wb(gold_db, "backup", str(copy), "--force")
    assert res.returncode == 0, err(res)
    assert dump(copy) != old
    assert temps(dest) == [live.name]


def test_backup_refuses_a_device_or_fifo_and_follows_a_symlink(gold_db, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = run_wb(gold_db, "backup", str(fifo), "--force")
    one_line_error(res, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    real = tmp_path / "real.db"
    link = tmp_path / "link.db"
    link.symlink_to(real)
    res = run_wb(gold_db, "backup", str(link))
    assert res.returncode == 0, err(res)
    assert link.is_symlink() and dump(real) == dump(gold_db)
    assert temps(tmp_path) == []


# ---------------------------------------------------------------------------- the cleanup itself


def test_clean_stale_removes_only_dead_or_abandoned_temps(tmp_path, request):
    from workbench.core.tempfiles import STALE_AFTER, clean_stale

    dead, me = dead_pid(), os.getpid()
    other = subprocess.Popen(["sleep", "60"])  # a live pid that is no workbench (a reused pid)
    live_wb = subprocess.Popen([sys.executable, "-c", "import time  # a workbench export\ntime.sleep(60)"])
    for p in (other, live_wb):
        request.addfinalizer(lambda p=p: (p.kill(), p.wait()))
    # until the child has exec'd, /proc shows the parent's command line (pytest's: no workbench)
    cmdline = Path(f"/proc/{live_wb.pid}/cmdline")
    for _ in range(500):
        if cmdline.exists() and b"workbench" in cmdline.read_bytes():
            break
        time.sleep(0.01)
    names = {
        f".a.jsonl.workbench-tmp-{dead}-x1": "dead",
        f".a.db.workbench-tmp-{dead}-x2-journal": "dead",
        f".a.jsonl.workbench-tmp-{me}-x3": "live",
        f".b.jsonl.workbench-tmp-{other.pid}-x4": "abandoned",  # a reused pid, untouched for long
        f".c.jsonl.workbench-tmp-{live_wb.pid}-x7": "live",  # untouched for long, its workbench alive
        ".a.jsonl.tmp": "not ours",
        "a.jsonl": "not ours",
    }
    for n in names:
        (tmp_path / n).write_text(n)
    old = time.time() - STALE_AFTER - 60
    os.utime(tmp_path / f".b.jsonl.workbench-tmp-{other.pid}-x4", (old, old))
    os.utime(tmp_path / f".c.jsonl.workbench-tmp-{live_wb.pid}-x7", (old, old))
    (tmp_path / f".d.workbench-tmp-{dead}-x5").mkdir()  # a killed shard build
    (tmp_path / f".d.workbench-tmp-{dead}-x5" / "gold-00000.spacy").write_text("new")
    (tmp_path / f".e.workbench-old-{dead}-x6").mkdir()  # a swap killed between its renames
    (tmp_path / f".e.workbench-old-{dead}-x6" / "gold-00000.spacy").write_text("old")
    clean_stale(str(tmp_path))
    left = sorted(os.listdir(tmp_path))
    assert left == sorted([n for n, why in names.items() if why in ("live", "not ours")] + ["e"])
    assert (tmp_path / "e" / "gold-00000.spacy").read_text() == "old"


@pytest.mark.parametrize("where", ["other-files", "cwd"])
def test_a_shard_export_never_replaces_a_folder_holding_other_things(gold_db, tmp_path, where):
    """The swap replaces the whole folder: ``-o .`` in the database's folder rebuilt it and
    deleted the old one (the shell's cwd was left a deleted folder; a -wal made meanwhile
    would have gone with it). Only a folder of shards (or none) may be replaced."""
    need("spacy")
    folder = tmp_path / "work"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    (folder / "sub" / "x.txt").write_text("mine too")
    ino = folder.stat().st_ino
    target = "." if where == "cwd" else str(folder)
    cmd = [sys.executable, "-c", "from workbench.cli import main; main()", "--db", str(gold_db)]
    cmd += ["export", "gold", "--format", "spacy", "-o", target]
    r = subprocess.run(cmd, cwd=folder if where == "cwd" else tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert ("current folder" if where == "cwd" else "holds other files than shards (notes.txt, sub)") in r.stderr
    assert folder.stat().st_ino == ino  # the same folder, not a rebuilt copy
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "sub"]
    assert (folder / "sub" / "x.txt").read_text() == "mine too"
