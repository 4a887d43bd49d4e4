"""SQL for backup, integrity check, statistics for ops commands.

A mixin of :class:`workbench.store.Store`: its methods use ``self.conn`` (reads) and
``self.write()`` (short write transactions) of the store they are mixed into. Domain code
calls these typed methods and never touches ``store.conn`` itself.

:meth:`OpsQueries.backup` uses SQLite's online backup API (``sqlite3.Connection.backup``)
in one step: the copy is one consistent snapshot of the database, taken inside a single
read transaction. In WAL mode a reader never blocks writers, so annotators keep working
while the backup runs; their decisions committed after the snapshot began are simply in
the next backup. The copy is written under a temporary name, checked with ``PRAGMA
integrity_check``, synced and only then renamed into place: a backup file that exists is
complete. The temporary name is ``.NAME.workbench-tmp-<pid>-<random>``; a killed backup's
stale ones are removed by the next backup into the same folder
(:func:`workbench.core.tempfiles.clean_stale`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from ..core.tempfiles import clean_stale, make_temp_file

if TYPE_CHECKING:
    from collections.abc import Callable


class BackupError(Exception):
    """A backup that cannot be made as asked (target exists, is the database itself, …)."""


class BackupResult(TypedDict):
    path: str
    bytes: int
    seconds: float
    documents: int
    decisions: int


def backup_target(db_path: str, dest: str | os.PathLike) -> Path:
    """The file a backup goes to: ``dest`` itself, or inside the folder ``dest`` a
    timestamped name ``<db stem>-YYYYmmdd-HHMMSS.db``."""
    dest = Path(dest)
    if dest.is_dir() or str(dest).endswith(os.sep):
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        dest = dest / f"{Path(db_path).stem}-{stamp}.db"
    return dest


def integrity_problems(conn: sqlite3.Connection, *, quick: bool = False, limit: int = 100) -> list[str]:
    """``PRAGMA integrity_check`` (or ``quick_check``) and ``foreign_key_check`` on ``conn``;
    [] when fine."""
    pragma = "quick_check" if quick else "integrity_check"
    rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}({int(limit)})")]
    problems = [] if rows == ["ok"] else rows
    for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchmany(limit):
        problems.append(f"{table} row {rowid}: refers to a missing row of {parent}")
    return problems


def _unlink_quietly(*paths: str) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def _fsync_folder(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass


# the stored spans checked against their document's text by span_problems()
_SPAN_QUERIES = (
    ("proposal", 'SELECT id, start, "end", text FROM proposals WHERE doc_id = ?'),
    ("gold span", 'SELECT id, start, "end", text FROM gold WHERE doc_id = ?'),
    ("decision", 'SELECT id, start, "end", text FROM decisions WHERE doc_id = ? AND start IS NOT NULL'),
)


class OpsQueries:
    conn: sqlite3.Connection
    path: str

    if TYPE_CHECKING:  # provided by Store
        _retry: Callable[..., Any]

        @property
        def user_version(self) -> int: ...
        @staticmethod
        def _is_busy(e: sqlite3.OperationalError) -> bool: ...
        def query(self, sql: str, params=()) -> list[dict]: ...
        def scalar(self, sql: str, params=()): ...
        def count(self, table: str, where: str = "", params=()) -> int: ...
        def gold_totals(self) -> tuple[int, int]: ...
        def write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    # ------------------------------------------------------------------ check
    def integrity_problems(self, *, quick: bool = False, limit: int = 100) -> list[str]:
        """SQLite's integrity (or quick) check and the foreign keys of this database."""
        return integrity_problems(self.conn, quick=quick, limit=limit)

    def journal_mode(self) -> str:
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0])

    def span_problems(self, *, limit: int = 20) -> tuple[list[str], int]:
        """Stored spans whose text is not ``text[start:end]`` of their document, or whose
        offsets fall outside it (proposals, gold, decisions with a span). Streams one
        document at a time. Returns (first ``limit`` problems, total count)."""
        problems: list[str] = []
        total = 0
        conn = self.conn
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
                for what, sql in _SPAN_QUERIES:
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

    # ------------------------------------------------------------------ backup
    def backup(
        self, dest: str | os.PathLike, *, verify: bool = True, overwrite: bool = False, retries: int = 20
    ) -> BackupResult:
        """Copy this live database to ``dest`` (a file, or a folder for a timestamped name),
        atomically: the target only ever holds a complete, checked copy."""
        target = backup_target(self.path, dest)
        real = os.path.realpath(target)
        if os.path.islink(target):
            target = Path(real)  # a link to the backup file stays a link: its target is replaced
        if real == os.path.realpath(self.path):
            raise BackupError(f"{target} is the database itself; back up to another file")
        # replacing the live -wal loses committed decisions (and check would not notice)
        own = {os.path.realpath(self.path + sfx): sfx for sfx in ("-wal", "-shm", "-journal")}
        if real in own:
            raise BackupError(f"{target} is the database's own {own[real]} file; back up to another file")
        if target.exists() and not target.is_file():
            # replacing a device (as root: /dev/null itself) or a FIFO with a database file
            raise BackupError(f"{target} is not a regular file; back up to a file or a folder")
        if target.exists() and not overwrite:
            raise BackupError(f"{target} exists (pass --force to overwrite it)")
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise BackupError(f"folder {folder} does not exist")
        t0 = time.perf_counter()
        clean_stale(str(folder))  # what a killed backup left: .NAME.workbench-tmp-<pid>-…
        fd, tmp = make_temp_file(str(folder), target.name)
        os.close(fd)
        try:
            documents, decisions = self._backup_into(tmp, verify=verify, retries=retries)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            # same permissions (and group, when allowed) as the database: a team's backup
            # is readable by the team, and no more
            st = os.stat(self.path)
            os.chmod(tmp, st.st_mode & 0o666)
            try:
                os.chown(tmp, -1, st.st_gid)
            except OSError:
                pass
            os.replace(tmp, target)
            _fsync_folder(folder)
        except BaseException:
            _unlink_quietly(tmp, tmp + "-journal")
            raise
        return {
            "path": str(target),
            "bytes": target.stat().st_size,
            "seconds": time.perf_counter() - t0,
            "documents": documents,
            "decisions": decisions,
        }

    def _backup_into(self, tmp: str, *, verify: bool, retries: int) -> tuple[int, int]:
        """The snapshot into the file ``tmp``; returns its (documents, decisions) counts."""
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            delay = 0.01
            for attempt in range(retries):
                try:
                    # pages=-1: the whole database in one step, i.e. one read
                    # transaction on the source: a consistent snapshot that never
                    # restarts however busy the annotators are (WAL: they are not blocked)
                    self.conn.backup(dst, pages=-1)
                    break
                except sqlite3.OperationalError as e:
                    if not self._is_busy(e) or attempt == retries - 1:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
            # the copy is a standalone file: rollback journal, no -wal/-shm beside it
            dst.execute("PRAGMA journal_mode = DELETE")
            if verify:
                problems = integrity_problems(dst)
                if problems:
                    raise BackupError("the backup copy failed its integrity check: " + "; ".join(problems[:5]))
            return (
                dst.execute("SELECT count(*) FROM documents").fetchone()[0],
                dst.execute("SELECT count(*) FROM decisions").fetchone()[0],
            )
        finally:
            dst.close()

    # ------------------------------------------------------------------ stats
    def stats(self) -> dict:
        """Counts for ``workbench stats``: documents, proposals per source, decisions per
        annotator, gold (JSON-ready). Read from the counts the triggers of
        :mod:`workbench.store.tallies` keep: no scan, whatever the size."""
        t = dict(self.conn.execute("SELECT key, n FROM tallies").fetchall())
        per_ann = self.query(
            "SELECT annotator, decisions, documents FROM annotator_tallies WHERE decisions > 0 ORDER BY annotator"
        )
        by_source = self.conn.execute(
            "SELECT source, version, active, n FROM proposal_tallies WHERE n > 0 ORDER BY source, version"
        ).fetchall()
        return {
            "database": self.path,
            "schema_version": self.user_version,
            "documents": t.get("documents", 0),
            "characters": t.get("characters", 0),
            "proposals": sum(n for _s, _v, a, n in by_source if a),
            "proposals_superseded": sum(n for _s, _v, a, n in by_source if not a),
            "proposal_sources": [{"source": s, "version": v, "proposals": n} for s, v, a, n in by_source if a],
            "decisions": sum(r["decisions"] for r in per_ann),
            "annotators": per_ann,
            "gold_documents": t.get("gold_documents", 0),
            "gold_spans": t.get("gold_spans", 0),
        }

    def tally_problems(self, limit: int = 20) -> list[str]:
        """Kept counts (``stats``) that differ from a recount of the tables (a full scan)."""
        from .tallies import recount_problems

        return recount_problems(self.conn, limit=limit)

    def rebuild_tallies(self) -> None:
        """Count everything again (``workbench check --repair``); one transaction."""
        from .tallies import rebuild

        with self.write():
            rebuild(self.conn)
