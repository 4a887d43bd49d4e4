"""Operations on the database file: ``workbench backup`` and ``workbench check``.

``backup`` uses SQLite's online backup API (``sqlite3.Connection.backup``) in
one step: the copy is one consistent snapshot of the database, taken inside a
single read transaction. In WAL mode a reader never blocks writers, so
annotators keep working while the backup runs; their decisions committed
after the snapshot began are simply in the next backup. The copy is written
under a temporary name, checked with ``PRAGMA integrity_check``, synced and
only then renamed into place: a backup file that exists is complete.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path

import click

from workbench.cli import AppContext, cli, echo_err, pass_app


class BackupError(Exception):
    pass


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def backup_target(db_path: str, dest: str | os.PathLike) -> Path:
    """The file a backup goes to: ``dest`` itself, or inside the folder ``dest`` a
    timestamped name ``<db stem>-YYYYmmdd-HHMMSS.db``."""
    dest = Path(dest)
    if dest.is_dir() or str(dest).endswith(os.sep):
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        dest = dest / f"{Path(db_path).stem}-{stamp}.db"
    return dest


def integrity_problems(conn: sqlite3.Connection, *, quick: bool = False, limit: int = 100) -> list[str]:
    """``PRAGMA integrity_check`` (or ``quick_check``) and ``foreign_key_check``; [] when fine."""
    pragma = "quick_check" if quick else "integrity_check"
    rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}({limit})")]
    problems = [] if rows == ["ok"] else rows
    for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchmany(limit):
        problems.append(f"{table} row {rowid}: refers to a missing row of {parent}")
    return problems


def backup_database(
    store, dest: str | os.PathLike, *, verify: bool = True, overwrite: bool = False, retries: int = 20
) -> dict:
    """Copy the live database behind ``store`` to ``dest`` (a file, or a folder for a
    timestamped name). Returns ``{"path", "bytes", "seconds", "documents", "decisions"}``."""
    target = backup_target(store.path, dest)
    src_real = os.path.realpath(store.path)
    if os.path.realpath(target) == src_real:
        raise BackupError(f"{target} is the database itself; back up to another file")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists (pass --force to overwrite it)")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BackupError(f"folder {folder} does not exist")
    t0 = time.perf_counter()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            delay = 0.01
            for attempt in range(retries):
                try:
                    # pages=-1: the whole database in one step, i.e. one read
                    # transaction on the source: a consistent snapshot that never
                    # restarts however busy the annotators are (WAL: they are not blocked)
                    store.conn.backup(dst, pages=-1)
                    break
                except sqlite3.OperationalError as e:
                    if not store._is_busy(e) or attempt == retries - 1:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
            # the copy is a standalone file: rollback journal, no -wal/-shm beside it
            dst.execute("PRAGMA journal_mode = DELETE")
            if verify:
                problems = integrity_problems(dst)
                if problems:
                    raise BackupError("the backup copy failed its integrity check: " + "; ".join(problems[:5]))
            counts = {
                "documents": dst.execute("SELECT count(*) FROM documents").fetchone()[0],
                "decisions": dst.execute("SELECT count(*) FROM decisions").fetchone()[0],
            }
        finally:
            dst.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # same permissions (and group, when allowed) as the database: a team's backup
        # is readable by the team, and no more
        st = os.stat(store.path)
        os.chmod(tmp, st.st_mode & 0o666)
        try:
            os.chown(tmp, -1, st.st_gid)
        except OSError:
            pass
        os.replace(tmp, target)
        try:
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:  # pragma: no cover - platforms without directory fsync
            pass
    except BaseException:
        for p in (tmp, tmp + "-journal"):
            try:
                os.unlink(p)
            except OSError:
                pass
        raise
    return {"path": str(target), "bytes": target.stat().st_size, "seconds": time.perf_counter() - t0, **counts}


@cli.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
@click.option("--no-verify", is_flag=True, help="Skip the integrity check of the copy.")
@pass_app
def backup(app: AppContext, dest: Path, force: bool, no_verify: bool) -> None:
    """Copy the database to DEST while annotators keep working.

    Uses SQLite's online backup API: the copy is one consistent snapshot
    (everything committed when it starts), annotators are not blocked, and
    the copy is checked (PRAGMA integrity_check) and written under a
    temporary name, so DEST only ever holds a complete backup. If DEST is a
    folder, the file is named <db>-YYYYmmdd-HHMMSS.db inside it (handy from
    cron). Never copy the live .db file with cp: a copy taken during a write,
    or without its -wal file, can be corrupt or miss recent decisions.

    To restore: stop every annotator, then copy the backup over the database
    file and delete the old -wal and -shm files beside it.
    """
    if not os.path.exists(app.db_path):
        raise click.ClickException(f"no database at {app.db_path}")
    try:
        res = backup_database(app.store, dest, verify=not no_verify, overwrite=force)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    except (OSError, sqlite3.Error) as e:
        raise click.ClickException(f"backup to {dest} failed: {e}") from None
    check = "" if no_verify else ", integrity ok"
    click.echo(
        f"backed up {app.db_path} to {res['path']}: {res['documents']:,} documents, "
        f"{res['decisions']:,} decisions, {_human(res['bytes'])} in {res['seconds']:.1f} s{check}"
    )


# ---------------------------------------------------------------------------- check


def span_problems(store, *, limit: int = 20) -> tuple[list[str], int]:
    """Stored spans whose text is not ``text[start:end]`` of their document, or whose
    offsets fall outside it (proposals, gold, decisions with a span). Streams one
    document at a time. Returns (first problems, total count)."""
    problems: list[str] = []
    total = 0
    queries = (
        ("proposal", 'SELECT id, start, "end", text FROM proposals WHERE doc_id = ?'),
        ("gold span", 'SELECT id, start, "end", text FROM gold WHERE doc_id = ?'),
        ("decision", 'SELECT id, start, "end", text FROM decisions WHERE doc_id = ? AND start IS NOT NULL'),
    )
    conn = store.conn
    last = -1
    while True:
        rows = conn.execute(
            "SELECT rowid, id, text FROM documents WHERE rowid > ? ORDER BY rowid LIMIT 200", (last,)
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        for _rowid, doc_id, text in rows:
            n = len(text)
            for what, sql in queries:
                for rid, s, e, t in conn.execute(sql, (doc_id,)):
                    bad = None
                    if not (0 <= s < e <= n):
                        bad = f"offsets [{s}, {e}) outside the text ({n} characters)"
                    elif t is not None and text[s:e] != t:
                        bad = f"text {t!r} is not the document text there {text[s:e]!r}"
                    if bad:
                        total += 1
                        if len(problems) < limit:
                            problems.append(f'{what} {rid} in document "{doc_id}": {bad}')
    return problems, total


@cli.command()
@click.option("--quick", is_flag=True, help="PRAGMA quick_check instead of the full integrity_check.")
@click.option("--no-spans", is_flag=True, help="Skip checking every stored span against its document text.")
@pass_app
def check(app: AppContext, quick: bool, no_spans: bool) -> None:
    """Check the database: SQLite's integrity_check and foreign keys, the schema
    version, and that every stored span (proposals, decisions, gold) still
    matches its document text. Exit status 1 if anything is wrong."""
    from workbench.store import Store, StoreError

    if not os.path.exists(app.db_path):
        raise click.ClickException(f"no database at {app.db_path}")
    try:
        store = Store(app.db_path, migrate=False)  # look, do not upgrade
    except StoreError as e:
        raise click.ClickException(str(e)) from None
    try:
        ok = _check(store, quick, no_spans)
    except sqlite3.DatabaseError as e:
        echo_err(f"error: {app.db_path} is damaged: {e}")
        echo_err("restore the latest backup (see workbench backup --help)")
        ok = False
    finally:
        store.close()
    if not ok:
        raise click.exceptions.Exit(1)


def _check(store, quick: bool, no_spans: bool) -> bool:
    t0 = time.perf_counter()
    ok = True
    problems = integrity_problems(store.conn, quick=quick)
    name = "quick_check" if quick else "integrity_check"
    if problems:
        ok = False
        echo_err(f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        for p in problems[:20]:
            echo_err(f"  {p}")
    else:
        click.echo(f"{name}: ok")
    mode = store.scalar("PRAGMA journal_mode")
    click.echo(f"schema version {store.user_version}, journal mode {mode}, {_human(os.path.getsize(store.path))}")
    if not no_spans:
        bad, total = span_problems(store)
        if total:
            ok = False
            echo_err(f"spans: {total:,} do not match their document text")
            for p in bad:
                echo_err(f"  {p}")
        else:
            click.echo("spans: every stored span matches its document text")
    click.echo(f"checked in {time.perf_counter() - t0:.1f} s")
    return ok
