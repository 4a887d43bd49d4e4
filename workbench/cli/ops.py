"""Operations on the database file: ``workbench backup`` and ``workbench check``.

The work (SQLite's online backup API, integrity checks, the span scan) is in
:mod:`workbench.store.ops`; these commands check their arguments and print.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import click

from workbench.store import SCHEMA_VERSION

from .context import AppContext, echo_err, pass_app, process_alive


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


@click.command()
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

    A symlink DEST is followed (its target is replaced); a device or FIFO is refused. The
    temporary file is .NAME.workbench-tmp-<pid>-<random>; the next backup into the same folder
    removes those a killed backup left.
    """
    from workbench.core.tempfiles import os_reason
    from workbench.store.ops import BackupError

    try:
        res = app.store.backup(dest, verify=not no_verify, overwrite=force)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"backup to {dest} failed: {os_reason(e)}") from None
    except sqlite3.Error as e:
        raise click.ClickException(f"backup to {dest} failed: {e}") from None
    check = "" if no_verify else ", integrity ok"
    click.echo(
        f"backed up {app.db_path} to {res['path']}: {res['documents']:,} documents, "
        f"{res['decisions']:,} decisions, {_human(res['bytes'])} in {res['seconds']:.1f} s{check}"
    )


@click.command()
@click.option("--quick", is_flag=True, help="PRAGMA quick_check instead of the full integrity_check.")
@click.option("--no-spans", is_flag=True, help="Skip checking every stored span against its document text.")
@click.option("--repair", is_flag=True, help="Count again the figures `stats` keeps, when they are found wrong.")
@pass_app
def check(app: AppContext, quick: bool, no_spans: bool, repair: bool) -> None:
    """Check the database: SQLite's integrity_check and foreign keys, the schema
    version, that every stored span (proposals, decisions, gold) still
    matches its document text, and that the counts `stats` reads agree with a
    recount. Exit status 1 if anything is wrong, also when the schema is newer
    than this workbench or needs migrating.

    The database is opened read-only: check changes nothing (no migration,
    no journal-mode switch), except with --repair, which rebuilds wrong counts.
    """
    from workbench.store import describe_error

    if repair:
        store = app.open_store()
        try:
            if store.tally_problems():
                store.rebuild_tallies()
                click.echo("counts: rebuilt from the tables")
        except sqlite3.DatabaseError as e:
            echo_err(f"error: {describe_error(e, app.db_path)}")
            raise click.exceptions.Exit(1) from None
        app.close()
    store = app.open_store(readonly=True)  # look, do not upgrade
    try:
        ok = _check(store, quick, no_spans)
    except sqlite3.DatabaseError as e:
        echo_err(f"error: {describe_error(e, app.db_path)}")
        ok = False
    if not ok:
        raise click.exceptions.Exit(1)


def _check(store, quick: bool, no_spans: bool) -> bool:
    t0 = time.perf_counter()
    ok = True
    problems = store.integrity_problems(quick=quick)
    name = "quick_check" if quick else "integrity_check"
    if problems:
        ok = False
        echo_err(f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        for p in problems[:20]:
            echo_err(f"  {p}")
    else:
        click.echo(f"{name}: ok")
    version = store.user_version
    click.echo(f"schema version {version}, journal mode {store.journal_mode()}, {_human(os.path.getsize(store.path))}")
    if version > SCHEMA_VERSION:
        echo_err(
            f"error: {store.path} has schema version {version}, newer than this workbench "
            f"({SCHEMA_VERSION}); upgrade the workbench (spans not checked)"
        )
        return False
    if version < SCHEMA_VERSION:
        ok = False
        echo_err(
            f"error: {store.path} needs migrating (schema version {version}; this workbench uses "
            f"{SCHEMA_VERSION}): any other workbench command on it migrates it, e.g. "
            f"workbench --db {store.path} stats"
        )
    if version == SCHEMA_VERSION:
        for note in store.unfinished_bulk_runs():
            pid = note.get("pid")
            if isinstance(pid, int) and process_alive(pid):
                echo_err(f"note: {note.get('kind', 'a bulk write')} of {note['path']} is under way (process {pid})")
                continue
            ok = False
            echo_err(
                f"error: {note.get('kind', 'a bulk write')} of {note['path']} was interrupted (started "
                f"{note.get('started', '?')}): part of it is in the database; run the same command again to finish it"
            )
    if version == SCHEMA_VERSION:
        wrong = store.tally_problems()
        if wrong:
            ok = False
            echo_err(f"counts: {len(wrong)} of the counts `stats` reads differ from a recount; run check --repair")
            for p in wrong:
                echo_err(f"  {p}")
        else:
            click.echo("counts: agree with a recount")
    if not no_spans:
        bad, total = store.span_problems()
        if total:
            ok = False
            echo_err(f"spans: {total:,} do not match their document text")
            for p in bad:
                echo_err(f"  {p}")
        else:
            click.echo("spans: every stored span matches its document text")
    click.echo(f"checked in {time.perf_counter() - t0:.1f} s")
    return ok


COMMANDS = (backup, check)
