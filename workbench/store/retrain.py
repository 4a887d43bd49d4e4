"""SQL for background retraining while people annotate: the one lock row a retraining
worker holds (kept in ``settings``) and the status note the annotate header shows.

A mixin of :class:`workbench.store.Store`. Three rows of ``settings`` (key → JSON), no table
of their own:

- ``retrain:lock`` ``{"pid", "host", "heartbeat", "started"}``: the worker that may retrain
  this database. Taken in one short write transaction; a lock whose holder is dead (same host,
  no such process) or whose heartbeat is older than :data:`STALE_SECONDS` is taken over.
- ``retrain:status`` ``{"state", …}``: what the worker is doing (``idle``, ``waiting``,
  ``training``, ``proposing``, ``error``, ``stopped``), the last model it trained and when,
  how many documents it re-proposed, the last error. Written by the worker, read by the
  annotate header (one indexed read).
- ``retrain:every``: the project's default N (``workbench retrain --set-every N``).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from ..core.tempfiles import pid_alive

LOCK_KEY = "retrain:lock"
STATUS_KEY = "retrain:status"
EVERY_KEY = "retrain:every"
# a lock not renewed for this long is taken over (the holder renews it every few seconds;
# training itself may hold the interpreter for a while, hence the margin)
STALE_SECONDS = 300.0


def lock_is_stale(lock: dict | None, *, now: float | None = None, stale_after: float = STALE_SECONDS) -> bool:
    """Whether a lock row may be taken over: none, malformed, its holder dead (on this host),
    or its heartbeat older than ``stale_after`` seconds."""
    if not isinstance(lock, dict):
        return True
    pid, host, beat = lock.get("pid"), lock.get("host"), lock.get("heartbeat")
    if not isinstance(pid, int) or not isinstance(beat, int | float):
        return True
    if host == socket.gethostname() and not pid_alive(pid):
        return True
    return (time.time() if now is None else now) - float(beat) > stale_after


def _me() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _mine(lock: dict | None) -> bool:
    me = _me()
    return isinstance(lock, dict) and lock.get("pid") == me["pid"] and lock.get("host") == me["host"]


class RetrainQueries:
    """The retraining lock and status."""

    conn: sqlite3.Connection

    if TYPE_CHECKING:  # provided by Store

        def write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def query(self, sql: str, params=()) -> list[dict]: ...

    def _setting_in(self, c: sqlite3.Connection, key: str):
        row = c.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            return None

    def _put_in(self, c: sqlite3.Connection, key: str, value) -> None:
        c.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value, ensure_ascii=False))
        )

    # ------------------------------------------------------------------ the lock
    def _settings_dict(self, key: str) -> dict | None:
        """The JSON object under ``key`` in ``settings``; None when absent or not an object."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            v = json.loads(row[0])
        except ValueError:
            return None
        return v if isinstance(v, dict) else None

    def retrain_lock(self) -> dict | None:
        """The lock row as stored (None: nobody holds it)."""
        return self._settings_dict(LOCK_KEY)

    def acquire_retrain_lock(self, *, stale_after: float = STALE_SECONDS, fresh: float = 30.0) -> bool:
        """Take the retraining lock for this process (one short write transaction): True when
        it is ours now (free, stale, or already ours), False while another live worker holds it.
        Read first: a lock held by a live worker, or ours and renewed in the last
        ``fresh`` seconds, costs no write transaction (waiting workers poll)."""
        now = time.time()
        seen = self.retrain_lock()
        if not _mine(seen) and not lock_is_stale(seen, now=now, stale_after=stale_after):
            return False
        beat = seen.get("heartbeat") if isinstance(seen, dict) else None
        if _mine(seen) and isinstance(beat, int | float) and now - float(beat) < fresh:
            return True
        with self.write() as c:
            cur = self._setting_in(c, LOCK_KEY)
            if not _mine(cur) and not lock_is_stale(cur, now=now, stale_after=stale_after):
                return False
            started = cur.get("started") if _mine(cur) and isinstance(cur, dict) else now
            self._put_in(c, LOCK_KEY, {**_me(), "heartbeat": now, "started": started})
        return True

    def renew_retrain_lock(self) -> bool:
        """Renew our heartbeat; False (nothing written) if the lock is no longer ours."""
        with self.write() as c:
            cur = self._setting_in(c, LOCK_KEY)
            if not _mine(cur):
                return False
            assert isinstance(cur, dict)
            self._put_in(c, LOCK_KEY, {**cur, "heartbeat": time.time()})
        return True

    def release_retrain_lock(self) -> None:
        """Drop the lock if it is ours."""
        with self.write() as c:
            if _mine(self._setting_in(c, LOCK_KEY)):
                c.execute("DELETE FROM settings WHERE key = ?", (LOCK_KEY,))

    def holds_retrain_lock(self) -> bool:
        """Whether this process (pid and host) holds the retraining lock."""
        return _mine(self.retrain_lock())

    def retrain_worker_alive(self, *, stale_after: float = STALE_SECONDS) -> bool:
        """Whether a worker holds a lock that is not stale."""
        return not lock_is_stale(self.retrain_lock(), stale_after=stale_after)

    # ------------------------------------------------------------------ the status note
    def retrain_status(self) -> dict | None:
        """The status note (None: no worker ever wrote one)."""
        return self._settings_dict(STATUS_KEY)

    def set_retrain_status(self, status: dict) -> None:
        """Replace the status note (one short write)."""
        with self.write() as c:
            self._put_in(c, STATUS_KEY, {**status, "updated": time.time()})

    # ------------------------------------------------------------------ the project's N
    def retrain_every(self) -> int | None:
        """The project's default N (retrain after every N finished documents), or None."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (EVERY_KEY,)).fetchone()
        try:
            v = json.loads(row[0]) if row else None
        except ValueError:
            return None
        return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None

    def set_retrain_every(self, n: int) -> None:
        with self.write() as c:
            self._put_in(c, EVERY_KEY, int(n))

    def retrain_fingerprint(self) -> tuple:
        """What the training set and the latest model depend on, in one cheap read (counts and
        largest ids of decisions and gold, the latest model's time): unchanged, nothing to check."""
        return tuple(
            self.conn.execute(
                "SELECT (SELECT count(*) FROM decisions), (SELECT max(id) FROM decisions),"
                " (SELECT count(*) FROM gold), (SELECT max(id) FROM gold), (SELECT max(created_at) FROM models)"
            ).fetchone()
        )

    # ------------------------------------------------------------------ what may be re-proposed
    def document_started(self, doc_id: str) -> bool:
        """Whether anyone has touched the document: a decision of any annotator (undone ones
        count: someone opened it and worked), an unsure flag (it names the proposals they saw)
        or gold for it."""
        c = self.conn
        return any(
            c.execute(f"SELECT 1 FROM {table} WHERE doc_id = ? LIMIT 1", (doc_id,)).fetchone() is not None
            for table in ("decisions", "flags", "gold")
        )

    def unstarted_documents(self, *, source: str, version: str) -> list[str]:
        """The documents nobody has started (no decision or flag by anyone, no gold), in ingest order,
        less those whose active ``source`` proposals are already of ``version``. With
        assignments in the database, only assigned documents (the others are in no queue)."""
        sql = (
            "SELECT d.id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM decisions x WHERE x.doc_id = d.id)"
            " AND NOT EXISTS (SELECT 1 FROM gold g WHERE g.doc_id = d.id)"
            " AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.doc_id = d.id)"
            " AND NOT EXISTS (SELECT 1 FROM proposals p WHERE p.doc_id = d.id AND p.source = ? AND p.active = 1"
            " AND p.version = ?)"
        )
        if self.conn.execute("SELECT 1 FROM assignments LIMIT 1").fetchone() is not None:
            sql += " AND EXISTS (SELECT 1 FROM assignments a WHERE a.doc_id = d.id)"
        return [r[0] for r in self.conn.execute(sql + " ORDER BY d.rowid", (source, version))]
