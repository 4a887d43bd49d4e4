"""Bulk writes (ingest, import) in short transactions, all-or-nothing for a failed run.

A bulk writer used to hold ``BEGIN IMMEDIATE`` for the whole file: ingesting 1,000,000
small documents locked every annotator out for 29 s, importing 232k spans for 2.7 s. Now a
run (:class:`BulkRun`) writes the rows it is given in transactions that commit once they
held the lock for :attr:`BulkLimits.seconds` (0.2 s), and leaves at least
:attr:`BulkLimits.pause` (0.12 s) between two of them, so a writer waiting in SQLite's busy
handler gets in. (That handler tries again after 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 ms,
then every 100 ms: a writer that starts waiting during a transaction of at most 0.2 s tries
again at most 50 ms after it ends, and one that has waited longer, or woke late on a busy
machine, still finds a gap longer than its period. A 60 ms pause measured a 0.63 s wait
during an import on a loaded 2-core machine.) The work between transactions, reading and
normalizing the next batch, often takes longer than the pause anyway.

**All or nothing, by undo.** The run remembers what it wrote (rowid ranges of documents
and decisions; per document, the proposal rows it changed, deleted or added), and
:meth:`BulkRun.undo` takes it back, again in short transactions, when a later batch fails
(a conflicting id, disk full, Ctrl-C). In the meantime other connections may see the first
batches: a documented trade-off for not blocking them (an annotator's decisions on such a
document go with it). Staging into a temporary table and moving in chunks has the same
window when the move is chunked, and writes every row twice.

**A killed run** (SIGKILL, power cut) cannot undo: the database holds the batches committed
so far, each complete (a document's row, or all the decisions of one document, are in one
transaction), plus a note in ``settings`` (``bulk:KIND:PATH``) that the run did not finish.
Running the same ingest or import again finishes it idempotently (documents already present
with the same content, and documents already in the imported state, are skipped) and
removes the note; :meth:`unfinished_bulk_runs` lists the notes for the CLI to report.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

ENV_ROWS = "WORKBENCH_BULK_ROWS"  # rows per batch (tests and benches lower it)
NOTE_PREFIX = "bulk:"
_UNDO_CHUNK = 2000  # rows deleted per undo transaction


@dataclass(frozen=True)
class BulkLimits:
    """How a bulk run cuts its work: ``rows`` items prepared (outside any transaction)
    per batch; a transaction commits once it held the lock ``seconds``; at least
    ``pause`` seconds between two transactions of the run."""

    rows: int = 2000
    seconds: float = 0.2
    pause: float = 0.12

    @classmethod
    def from_env(cls) -> BulkLimits:
        try:
            rows = int(os.environ.get(ENV_ROWS, "") or cls.rows)
        except ValueError:
            rows = cls.rows
        return cls(rows=max(1, rows))


class SeenIds:
    """Strings with the line each was first seen on, kept on disk (a private temporary
    SQLite database, deleted on close) so that checking a file of millions of ids for
    duplicates takes flat memory."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect("", isolation_level=None)
        self.conn.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID")
        self.conn.execute("BEGIN")  # one private transaction: nobody else sees this file

    def add(self, key: str, line: int) -> int | None:
        """Remember ``key``; return the line it was first seen on if it was seen before."""
        try:
            self.conn.execute("INSERT INTO seen (key, line) VALUES (?, ?)", (key, line))
        except sqlite3.IntegrityError:
            return self.conn.execute("SELECT line FROM seen WHERE key = ?", (key,)).fetchone()[0]
        return None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _ranges(ids: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Runs of consecutive integers as ``(first, last)``."""
    it = iter(sorted(ids))
    try:
        first = last = next(it)
    except StopIteration:
        return
    for i in it:
        if i != last + 1:
            yield first, last
            first = i
        last = i
    yield first, last


class BulkRun:
    """One bulk writer's run over one file: see the module docstring.

    ``between()``, if given, is called after every commit, outside any transaction (tests
    write from a second connection there, proving the lock is free)."""

    def __init__(self, store: Any, kind: str, key: str, limits: BulkLimits | None, between: Callable[[], None] | None):
        self.store = store
        self.kind = kind
        self.key = key
        self.limits = limits or BulkLimits.from_env()
        self.between = between
        self.transactions = 0
        self._noted = False
        self._last_commit = 0.0
        # what committed transactions wrote; what the open one wrote (kept apart: rowids of
        # a rolled-back transaction may be reused by another writer before the undo)
        self._docs: list[tuple[int, int]] = []
        self._decisions: list[tuple[int, int]] = []
        self._proposals: list[tuple[str, list[dict], list[int]]] = []
        self._pending_docs = array("q")
        self._pending_decisions = array("q")
        self._pending_proposals: list[tuple[str, list[dict], list[int]]] = []

    # ------------------------------------------------------------------ writing
    def write(self, items: Sequence[T], fn: Callable[[T], object]) -> None:
        """Call ``fn(item)`` for each item, in as many short transactions as it takes.
        An item is never split over two transactions."""
        try:
            self._in_transactions(items, fn, self._committed, note=True)
        except BaseException:
            self._drop_pending()
            raise

    def _in_transactions(self, items: Sequence[T], fn: Callable[[T], object], committed, *, note=False) -> None:
        i, n = 0, len(items)
        while i < n:
            gap = time.monotonic() - self._last_commit
            if gap < self.limits.pause:
                time.sleep(self.limits.pause - gap)
            with self.store.write():
                if note and not self._noted:
                    self._put_note()
                t0 = time.monotonic()
                while i < n:
                    fn(items[i])
                    i += 1
                    if time.monotonic() - t0 >= self.limits.seconds:
                        break
            self._last_commit = time.monotonic()
            committed()

    def _committed(self) -> None:
        self._noted = True
        self._docs.extend(_ranges(self._pending_docs))
        self._decisions.extend(_ranges(self._pending_decisions))
        self._proposals.extend(self._pending_proposals)
        self._drop_pending()
        self.transactions += 1
        if self.between is not None:
            self.between()

    def _drop_pending(self) -> None:
        self._pending_docs = array("q")
        self._pending_decisions = array("q")
        self._pending_proposals = []

    def _put_note(self) -> None:
        self.store.note_bulk_run(self.kind, self.key)

    @property
    def wrote_anything(self) -> bool:
        return bool(self._docs or self._decisions or self._proposals)

    # the row writers (call them from ``fn``, inside the run's transaction)
    def add_document(self, doc: dict) -> str:
        """Insert ``doc`` unless its id is stored: ``"added"``, ``"present"`` (same
        ``raw_sha256``) or ``"conflict"`` (the id holds other content; nothing written)."""
        exists, sha = self.store.document_exists(doc["id"])
        if exists:
            return "present" if sha == doc["raw_sha256"] else "conflict"
        self.store.insert_document(doc)
        self._pending_docs.append(self.store.conn.execute("SELECT last_insert_rowid()").fetchone()[0])
        return "added"

    def record_decisions(self, doc_id: str, annotator: str, actions: list[dict], *, origin: str) -> int:
        ids = self.store.record_decisions(doc_id, annotator, actions, origin=origin)
        self._pending_decisions.extend(ids)
        return len(ids)

    def replace_proposals(self, doc_id: str, source: str, version: str, spans: list[dict]) -> int:
        """:meth:`Store.replace_proposals`, remembering the document's rows of ``source``
        it changed, deleted or added (compared before and after: whatever it does)."""
        # +source: by the document's index (idx_proposals_source would scan the whole source)
        sql = "SELECT * FROM proposals WHERE doc_id = ? AND +source = ? ORDER BY id"
        before = {r["id"]: r for r in self.store.query(sql, (doc_id, source))}
        n = self.store.replace_proposals(doc_id, source, version, spans)
        after = {r["id"]: r for r in self.store.query(sql, (doc_id, source))}
        changed = [row for pid, row in before.items() if after.get(pid) != row]
        added = [pid for pid in after if pid not in before]
        self._pending_proposals.append((doc_id, changed, added))
        return n

    # ------------------------------------------------------------------ ending
    def finish(self) -> None:
        """The run is complete: remove its note."""
        self.store.clear_bulk_run(self.kind, self.key)

    def undo(self) -> bool:
        """Take back everything the run committed, in short transactions; remove the note.
        False when something could not be taken back (the note then stays, and running the
        same file again finishes it)."""
        try:
            self._in_transactions(list(reversed(self._proposals)), lambda e: self._restore_proposals(*e), _nothing)
            self._proposals = []
            self._delete_ranges("decisions", "id", self._decisions)
            self._decisions = []
            self._delete_ranges("documents", "rowid", self._docs)
            self._docs = []
            self.finish()
        except (sqlite3.Error, OSError):
            return False
        return True

    def _delete_ranges(self, table: str, col: str, ranges: list[tuple[int, int]]) -> None:
        chunks = []
        for first, last in reversed(ranges):
            hi = last
            while hi >= first:
                lo = max(first, hi - _UNDO_CHUNK + 1)
                chunks.append((lo, hi))
                hi = lo - 1
        sql = f"DELETE FROM {table} WHERE {col} BETWEEN ? AND ?"
        self._in_transactions(chunks, lambda r: self.store.conn.execute(sql, r), _nothing)

    def _restore_proposals(self, doc_id: str, changed: list[dict], added: list[int]) -> None:
        c = self.store.conn
        for pid in added:
            try:
                c.execute("DELETE FROM proposals WHERE id = ?", (pid,))
            except sqlite3.IntegrityError:  # someone decided on it meanwhile: keep it, superseded
                c.execute("UPDATE proposals SET active = 0 WHERE id = ?", (pid,))
        for row in changed:
            cols = [k for k in row if k != "id"]
            cur = c.execute(
                f"UPDATE proposals SET {', '.join(f'{_quote(k)} = ?' for k in cols)}"
                " WHERE id = ? AND doc_id = ? AND source = ?",
                [*(row[k] for k in cols), row["id"], row["doc_id"], row["source"]],
            )
            if cur.rowcount:
                continue
            try:  # deleted (an undecided row): back with its id
                c.execute(
                    f"INSERT INTO proposals ({', '.join(map(_quote, row))}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()),
                )
            except sqlite3.IntegrityError:  # its id was taken meanwhile: nothing refers to it, a new one
                c.execute(
                    f"INSERT INTO proposals ({', '.join(map(_quote, cols))}) VALUES ({', '.join('?' * len(cols))})",
                    [row[k] for k in cols],
                )


def _nothing() -> None:
    pass


def _quote(col: str) -> str:
    return f'"{col}"'


class BulkWrites:
    """Store mixin: bulk runs and the notes of unfinished ones."""

    conn: sqlite3.Connection

    if TYPE_CHECKING:  # provided by Store
        from contextlib import AbstractContextManager

        def write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def document_stamp(self, doc_id: str, annotator: str) -> tuple:
        """What an import's plan for (document, annotator) depends on, cheaply: the annotator's
        decisions there and the document's proposals (count, last id, active count). The same
        stamp inside the write as at planning time means the plan still holds."""
        d = self.conn.execute(
            "SELECT count(*), max(id) FROM decisions WHERE doc_id = ? AND annotator = ?", (doc_id, annotator)
        ).fetchone()
        p = self.conn.execute(
            "SELECT count(*), max(id), sum(active) FROM proposals WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return (*d, *p)

    def bulk_run(
        self,
        kind: str,
        key: str,
        *,
        limits: BulkLimits | None = None,
        between: Callable[[], None] | None = None,
    ) -> BulkRun:
        """A :class:`BulkRun` of ``kind`` (``ingest``, ``import-proposals`` ...) over the
        file ``key`` (an absolute path)."""
        return BulkRun(self, kind, key, limits, between)

    def note_bulk_run(self, kind: str, key: str) -> None:
        """Record that a bulk run of ``kind`` over ``key`` is under way (its first commit)."""
        value = {
            "kind": kind,
            "path": key,
            "started": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "pid": os.getpid(),
        }
        with self.write() as c:
            c.execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                (f"{NOTE_PREFIX}{kind}:{key}", json.dumps(value, ensure_ascii=False)),
            )

    def clear_bulk_run(self, kind: str, key: str) -> None:
        name = f"{NOTE_PREFIX}{kind}:{key}"
        if self.conn.execute("SELECT 1 FROM settings WHERE key = ?", (name,)).fetchone() is None:
            return
        with self.write() as c:
            c.execute("DELETE FROM settings WHERE key = ?", (name,))

    def unfinished_bulk_runs(self, kind: str | None = None) -> list[dict]:
        """Notes of bulk runs that did not finish: ``{"kind", "path", "started", "pid"}``."""
        prefix = f"{NOTE_PREFIX}{kind}:" if kind else NOTE_PREFIX
        rows = self.conn.execute(
            "SELECT value FROM settings WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
        )
        out = []
        for (value,) in rows:
            try:
                note = json.loads(value)
            except ValueError:
                continue
            if isinstance(note, dict) and isinstance(note.get("path"), str):
                out.append(note)
        return out
