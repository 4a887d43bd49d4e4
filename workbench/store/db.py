"""The SQLite store: one file, WAL, safe for several annotators at once.

Writes go through :meth:`Store.write`, a short ``BEGIN IMMEDIATE`` transaction
retried with back-off, so "database is locked" never reaches a user. Reads use
plain autocommit queries (WAL lets them run beside a writer).

No Textual import here (a test enforces it).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import tempfile
import time
import zlib
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..core.names import clean_name
from ..core.spans import derive_items, final_spans, is_finished
from ..core.types import Item, Span
from . import schema
from .bulk import BulkWrites
from .exchange import ExchangeQueries
from .flags import FlagQueries
from .models import ModelQueries
from .ops import OpsQueries
from .retrain import RetrainQueries
from .review import ReviewQueries

DEFAULT_DB = "workbench.db"
BUSY_TIMEOUT_MS = 5000
WRITE_RETRIES = 60


class StoreError(Exception):
    """A problem with the database the user should see (never a traceback)."""


class NoSuchDatabase(StoreError):
    """The database file does not exist (or is an empty file) and this store may not create it."""


class StoreBusy(StoreError):
    """Another connection holds the write lock and :attr:`Store.write_timeout` ran out
    (raised only when it is set: nothing was written, the write can be tried again)."""


class StaleProposal(StoreError):
    """A decision names a proposal that no longer exists (another process replaced the
    document's proposals since the caller read them). Nothing was written."""


def _tables_note(tables: list[str], limit: int = 8) -> str:
    shown = ", ".join(tables[:limit]) + (f", … ({len(tables)} in all)" if len(tables) > limit else "")
    return shown or "none"


def _folder_writable(folder: str) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed from the mode bits:
    root passes every ``os.access`` check, and an immutable folder denies root too)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _read_only_fs(path: str) -> bool:
    """Whether ``path`` (or its folder) is on a file system mounted read-only."""
    p = os.path.abspath(path)
    while p and not os.path.exists(p):
        p = os.path.dirname(p)
    try:
        return bool(os.statvfs(p).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _cannot_open(path: str, e: sqlite3.Error) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    if _read_only_fs(path):
        return f"read-only file system: cannot write {path} or beside it ({e}); copy it to a writable disk"
    if os.path.isdir(path):
        return f"{path} is a folder, not a database file"
    if not os.path.exists(path):
        if not os.path.isdir(folder):
            return f"cannot create {path}: no folder {folder}"
        if not _folder_writable(folder):
            return f"permission denied: cannot create {path} (the folder {folder} is not writable)"
        return f"cannot open {path} ({e})"
    try:
        with open(path, "rb"):
            pass
    except OSError as oe:
        return f"permission denied: cannot read {path} ({oe.strerror})"
    if not _folder_writable(folder):
        return (
            f"permission denied: cannot write the folder {folder} of {path} (SQLite keeps the database's "
            f"-wal and -shm files beside it; make the folder writable)"
        )
    return f"cannot open {path} ({e})"


def describe_error(e: sqlite3.Error, path: str) -> str:
    """One line saying what is wrong with the database at ``path``, from an SQLite error:
    "permission denied", "disk full", "is damaged"… (the message every command shows)."""
    code = getattr(e, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return f"disk full: cannot write {path} ({e})"
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM):
        if _read_only_fs(path):
            return f"read-only file system: cannot write {path} ({e})"
        return f"permission denied: cannot write {path} ({e})"
    if primary == sqlite3.SQLITE_CANTOPEN:
        return _cannot_open(path, e)
    if primary == sqlite3.SQLITE_CORRUPT:
        return f"{path} is damaged ({e}); restore it from your latest backup copy (made by workbench backup)"
    if primary == sqlite3.SQLITE_NOTADB:
        return f"{path} is not a workbench database ({e})"
    if primary == sqlite3.SQLITE_IOERR:
        return f"I/O error on {path} ({e}); check the disk, then the database (workbench check)"
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return f"{path} is busy: another process holds its lock ({e}); try again"
    if primary == sqlite3.SQLITE_NOMEM:
        return f"out of memory working on {path} ({e})"
    return f"{path}: {e}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def input_hash(text: str) -> int:
    """Stable signed 32-bit hash of a text (the role of Prodigy's ``_input_hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:4], "big", signed=True)


def task_hash(input_h: int, start: int, end: int, label: str) -> int:
    key = f"{input_h}|{start}|{end}|{label}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big", signed=True)


def pack_ints(values: Iterable[int] | None) -> bytes | None:
    if values is None:
        return None
    a = values if isinstance(values, array) and values.typecode == "I" else array("I", values)
    return zlib.compress(a.tobytes(), 1)


def unpack_ints(blob: bytes | None) -> array | None:
    if blob is None:
        return None
    a = array("I")
    a.frombytes(zlib.decompress(blob))
    return a


def _attrs_key(attrs_json: str | None) -> str | None:
    """Stored attrs JSON in one canonical spelling (key order aside), to compare runs."""
    return None if attrs_json is None else json.dumps(json.loads(attrs_json), sort_keys=True, ensure_ascii=False)


def _empty_file(path: str) -> bool:
    try:
        return os.path.isfile(path) and os.path.getsize(path) == 0
    except OSError:
        return False


def resolve_db_path(path: str | os.PathLike | None) -> str:
    if path is None:
        path = os.environ.get("WORKBENCH_DB") or DEFAULT_DB
    return os.fspath(path)


class Store(ReviewQueries, ExchangeQueries, OpsQueries, BulkWrites, ModelQueries, FlagQueries, RetrainQueries):
    """Access to one workbench database. One instance per thread.

    The SQL of each area lives in a mixin module beside this one (``review``, ``exchange``,
    ``ops``); this class holds the connection, transactions and the annotation tables."""

    write_timeout: float | None = None
    """Seconds a :meth:`write` waits for the write lock before raising :class:`StoreBusy`
    (one try, no retries): for a screen that must not freeze, which tries again itself.
    None (the default): wait with retries, for minutes if need be."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        migrate: bool = True,
        create: bool = True,
        readonly: bool = False,
    ):
        """Open the workbench database at ``path``.

        ``create``: a missing (or empty, 0-byte) file becomes a new workbench database
        (``self.created`` tells); without it such a path is :class:`NoSuchDatabase`.
        ``readonly``: opened read-only (SQLite ``mode=ro``): no migration, no journal-mode
        switch, nothing written (``workbench check``). Any SQLite file that is not a
        workbench database is refused (:func:`schema.identify`), never converted. Every
        failure is a :class:`StoreError` saying what is wrong (:func:`describe_error`)."""
        self.path = resolve_db_path(path)
        self.readonly = readonly
        self.created = False
        memory = self.path == ":memory:"
        existed = memory or os.path.exists(self.path)
        new = not memory and (not existed or _empty_file(self.path))
        if new and (readonly or not create):
            raise NoSuchDatabase(f"{self.path}: no such database" + (" (the file is empty)" if existed else ""))
        try:
            if memory:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            else:
                mode = "ro" if readonly else ("rwc" if new else "rw")
                uri = f"{Path(self.path).absolute().as_uri()}?mode={mode}"
                conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(describe_error(e, self.path)) from None
        self.conn = conn
        self._db = None
        try:
            self._open(create=create, migrate=migrate)
        except BaseException as e:
            conn.close()
            if not existed:  # leave nothing behind of a database that never came to be
                for sfx in ("", "-wal", "-shm", "-journal"):
                    try:
                        os.unlink(self.path + sfx)
                    except OSError:
                        pass
            if isinstance(e, schema.ForeignDatabase):
                raise StoreError(
                    f"{self.path} is an SQLite database but not a workbench database "
                    f"(tables: {_tables_note(e.tables)}); use another --db"
                ) from None
            if isinstance(e, sqlite3.Error):
                raise StoreError(describe_error(e, self.path)) from None
            raise

    def _open(self, *, create: bool, migrate: bool) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        kind = self._retry(lambda: schema.identify(c))
        if kind == "empty" and self.path != ":memory:" and (self.readonly or not create):
            raise NoSuchDatabase(f"{self.path}: no such database (the file holds no tables)")
        if self.readonly:
            c.execute("PRAGMA foreign_keys = ON")
            return
        self._pragmas()
        if migrate or kind == "empty":
            self.migrate()
        self.created = kind == "empty" and self.path != ":memory:"

    # ------------------------------------------------------------------ plumbing
    @property
    def db(self):
        """A ``sqlite_utils.Database`` on the same connection (for migrations and
        introspection; imported on first use: it costs ~0.1 s of start-up)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def _pragmas(self) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        c.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            mode = self._retry(lambda: c.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if str(mode).lower() != "wal":
                if not os.access(self.path, os.W_OK):
                    raise StoreError(f"permission denied: cannot write {self.path} (to switch it to WAL mode)")
                raise StoreError(f"could not switch {self.path} to WAL mode (got {mode})")
        c.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def user_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Apply pending migrations, each in its own transaction."""
        current = self.user_version
        if current > schema.SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this workbench "
                f"({schema.SCHEMA_VERSION}); upgrade the workbench"
            )
        for version in range(current, schema.SCHEMA_VERSION):
            with self.write():
                # another process may have migrated while we waited for the lock
                if self.user_version > version:
                    continue
                if version == 0:  # a new database: mark it as the workbench's (schema.identify)
                    self.conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                schema.MIGRATIONS[version](self.db)
                self.conn.execute(f"PRAGMA user_version = {version + 1}")

    @staticmethod
    def _is_busy(e: sqlite3.OperationalError) -> bool:
        msg = str(e).lower()
        return "locked" in msg or "busy" in msg

    def _retry(self, fn):
        delay = 0.005
        for attempt in range(WRITE_RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if not self._is_busy(e) or attempt == WRITE_RETRIES - 1:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.25)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A short ``BEGIN IMMEDIATE`` transaction; commits on success, rolls back on error.

        Nested use joins the outer transaction. Lock contention is retried with
        back-off; a user never sees "database is locked".
        """
        c = self.conn
        if c.in_transaction:
            yield c
            return
        if self.write_timeout is None:
            self._retry(lambda: c.execute("BEGIN IMMEDIATE"))
        else:
            self._begin_within(self.write_timeout)
        try:
            yield c
            self._retry(lambda: c.execute("COMMIT"))
        except BaseException:
            # SQLite itself may have rolled the transaction back already (SQLITE_FULL, an I/O
            # error…): a ROLLBACK then fails with "no transaction is active" and would hide the
            # error that matters, the one raised here
            if c.in_transaction:
                try:
                    c.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def _begin_within(self, seconds: float) -> None:
        """``BEGIN IMMEDIATE``, waiting at most ``seconds`` for the lock, else StoreBusy."""
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000))}")
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if self._is_busy(e):
                raise StoreBusy(f"{self.path} is locked by another program") from None
            raise
        finally:
            c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def query(self, sql: str, params=()) -> list[dict]:
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    def scalar(self, sql: str, params=()):
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ documents
    def document_exists(self, doc_id: str) -> tuple[bool, str | None]:
        """(exists, raw_sha256)."""
        row = self.conn.execute("SELECT raw_sha256 FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return (row is not None, row[0] if row else None)

    def insert_document(self, doc: dict) -> None:
        """Insert one document (call inside :meth:`write`). ``doc`` keys: id, source,
        raw_sha256, encoding, raw_text, text, offset_map (array or None), flags, meta."""
        text = doc["text"]
        omap = doc.get("offset_map")
        if omap is not None and len(omap) == len(text) + 1 and doc["raw_text"] == text:
            omap = None  # identity
        self.conn.execute(
            "INSERT INTO documents (id, source, raw_sha256, encoding, raw_text, text, offset_map,"
            " flags, meta, input_hash, n_chars, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc["id"],
                doc.get("source"),
                doc["raw_sha256"],
                doc["encoding"],
                doc["raw_text"],
                text,
                pack_ints(omap),
                json.dumps(doc.get("flags") or {}, ensure_ascii=False),
                json.dumps(doc.get("meta") or {}, ensure_ascii=False),
                input_hash(text),
                len(text),
                now_iso(),
            ),
        )

    def get_document(self, doc_id: str, *, with_raw: bool = False) -> dict | None:
        cols = "id, source, encoding, text, flags, meta, input_hash, n_chars, words, rowid AS seq"
        if with_raw:
            cols += ", raw_text, offset_map, raw_sha256"
        rows = self.query(f"SELECT {cols} FROM documents WHERE id = ?", (doc_id,))
        if not rows:
            return None
        return self._decode_doc(rows[0])

    def _decode_doc(self, d: dict) -> dict:
        d["flags"] = json.loads(d["flags"])
        d["meta"] = json.loads(d["meta"])
        if "words" in d:
            d["words"] = unpack_ints(d["words"])
        if "offset_map" in d:
            m = unpack_ints(d["offset_map"])
            d["offset_map"] = m if m is not None else array("I", range(len(d["text"]) + 1))
        return d

    def iter_documents(
        self, *, with_raw: bool = False, ids: Iterable[str] | None = None, batch: int = 200
    ) -> Iterator[dict]:
        """All documents in ingest order, streamed in batches (memory flat in corpus size)."""
        cols = "id, source, encoding, text, flags, meta, input_hash, n_chars, rowid AS seq"
        if with_raw:
            cols += ", raw_text, offset_map, raw_sha256"
        if ids is not None:
            for doc_id in ids:
                d = self.get_document(doc_id, with_raw=with_raw)
                if d is not None:
                    yield d
            return
        last = -1
        while True:
            rows = self.query(f"SELECT {cols} FROM documents WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, batch))
            if not rows:
                return
            for r in rows:
                yield self._decode_doc(r)
            last = rows[-1]["seq"]

    def document_ids(self) -> list[str]:
        """Every document id in ingest order. Read from the id index (small) and
        sorted, not from the table (rows carry whole texts: at 100,000 documents
        the table scan took 0.22 s, this 0.09 s)."""
        try:
            rows = self.conn.execute("SELECT id FROM documents INDEXED BY sqlite_autoindex_documents_1 ORDER BY rowid")
        except sqlite3.OperationalError:  # pragma: no cover - index named otherwise
            rows = self.conn.execute("SELECT id FROM documents ORDER BY rowid")
        return [r[0] for r in rows]

    def count(self, table: str, where: str = "", params=()) -> int:
        return self.scalar(f"SELECT count(*) FROM {table} {('WHERE ' + where) if where else ''}", params)

    def has_documents(self) -> bool:
        """Whether any document is stored (cheap: one index probe)."""
        return self.conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None

    # ------------------------------------------------------------------ proposals
    def replace_proposals(
        self, doc_id: str, source: str, version: str, spans: list[dict], *, words: Iterable[int] | None = None
    ) -> int:
        """Store one proposer run's spans for a document. Returns ``len(spans)``.

        Earlier runs of the same ``source`` are marked inactive (kept, so decisions
        that answer them stay valid). Re-running the same version keeps the row (and
        id) of every span it proposes again unchanged (start, end, label, text, attrs;
        the score is updated), deletes its other rows nobody decided on, and adds the
        new spans: an annotator who holds a proposal id while ``propose`` runs again
        still holds a valid one (deleting and re-inserting everything made their next
        decision fail with "FOREIGN KEY constraint failed").
        """
        ts = now_iso()
        with self.write() as c:
            # (+source, +version: search by the document's index; without the
            # unary plus SQLite picks idx_proposals_source and scans every
            # proposal of this source for each document: quadratic at scale)
            same: dict[tuple, list[int]] = {}
            for pid, s, e, label, text, attrs in c.execute(
                'SELECT id, start, "end", label, text, attrs FROM proposals'
                " WHERE doc_id = ? AND +source = ? AND +version = ? ORDER BY id",
                (doc_id, source, version),
            ):
                same.setdefault((s, e, label, text, _attrs_key(attrs)), []).append(pid)
            keep: list[tuple] = []
            new: list[tuple] = []
            for sp in spans:
                attrs = None if sp.get("attrs") is None else json.dumps(sp["attrs"], ensure_ascii=False)
                ids = same.get((sp["start"], sp["end"], sp["label"], sp["text"], _attrs_key(attrs)))
                if ids:
                    keep.append((sp.get("score"), ids.pop(0)))
                else:
                    new.append(
                        (
                            doc_id,
                            sp["start"],
                            sp["end"],
                            sp["label"],
                            sp["text"],
                            attrs,
                            source,
                            version,
                            sp.get("score"),
                            ts,
                        )
                    )
            c.execute(
                "UPDATE proposals SET active = 0 WHERE doc_id = ? AND source = ? AND active = 1",
                (doc_id, source),
            )
            c.executemany("UPDATE proposals SET active = 1, score = ? WHERE id = ?", keep)
            # the same version's rows not proposed again: dropped unless someone decided on them
            gone = [pid for ids in same.values() for pid in ids]
            if gone:
                decided = {
                    r[0]
                    for r in c.execute(
                        "SELECT proposal_id FROM decisions WHERE doc_id = ? AND proposal_id IS NOT NULL", (doc_id,)
                    )
                }
                c.executemany("DELETE FROM proposals WHERE id = ?", [(p,) for p in gone if p not in decided])
            c.executemany(
                'INSERT INTO proposals (doc_id, start, "end", label, text, attrs, source, version,'
                " score, active, created_at) VALUES (?,?,?,?,?,?,?,?,?,1,?)",
                new,
            )
            if words is not None:
                c.execute("UPDATE documents SET words = ? WHERE id = ?", (pack_ints(words), doc_id))
        return len(spans)

    def proposals(self, doc_id: str, *, active_only: bool = True, source: str | None = None) -> list[dict]:
        sql = 'SELECT id, doc_id, start, "end", label, text, attrs, source, version, score, active FROM proposals WHERE doc_id = ?'
        params: list = [doc_id]
        if active_only:
            sql += " AND active = 1"
        if source:
            sql += " AND source = ?"
            params.append(source)
        rows = self.query(sql + ' ORDER BY start, "end", id', params)
        for r in rows:
            r["attrs"] = json.loads(r["attrs"]) if r["attrs"] else None
        return rows

    def has_proposals(self) -> bool:
        """Whether any proposal (active or superseded) is stored."""
        return self.conn.execute("SELECT 1 FROM proposals LIMIT 1").fetchone() is not None

    def proposal_runs(self) -> list[dict]:
        """Every proposer run: ``{"source", "version", "proposals", "active", "decided", "created"}``,
        newest first within a source."""
        return self.query(
            "SELECT source, version, count(*) AS proposals, sum(active) AS active,"
            " sum(id IN (SELECT proposal_id FROM decisions WHERE proposal_id IS NOT NULL)) AS decided,"
            " min(created_at) AS created FROM proposals GROUP BY source, version ORDER BY source, created DESC"
        )

    def set_source_active(self, source: str, active: bool) -> int:
        """Deactivate every run of ``source`` (annotators stop seeing its proposals; those they
        decided stay in their view), or reactivate its latest run. Returns the rows changed."""
        with self.write() as c:
            if not active:
                return c.execute("UPDATE proposals SET active = 0 WHERE source = ? AND active = 1", (source,)).rowcount
            row = c.execute(
                "SELECT version FROM proposals WHERE source = ? ORDER BY id DESC LIMIT 1", (source,)
            ).fetchone()
            if row is None:
                return 0
            return c.execute(
                "UPDATE proposals SET active = 1 WHERE source = ? AND version = ? AND active = 0", (source, row[0])
            ).rowcount

    def proposal_sources(self) -> list[str]:
        """Names of the proposers with active proposals, sorted."""
        return [
            r[0] for r in self.conn.execute("SELECT DISTINCT source FROM proposals WHERE active = 1 ORDER BY source")
        ]

    # ------------------------------------------------------------------ decisions
    def record_decision(
        self,
        doc_id: str,
        annotator: str,
        action: str,
        *,
        proposal_id: int | None = None,
        ref_id: int | None = None,
        start: int | None = None,
        end: int | None = None,
        label: str | None = None,
        text: str | None = None,
        attrs: dict | None = None,
        origin: str = "tui",
        attrs_manual: bool = False,
    ) -> int:
        """Append one decision and commit it before returning its id (``attrs_manual``: a
        person typed ``attrs``). Raises :class:`StaleProposal` if ``proposal_id`` names a
        proposal that is gone."""
        with self.write() as c:
            try:
                cur = c.execute(
                    'INSERT INTO decisions (doc_id, annotator, ts, action, proposal_id, ref_id, start, "end",'
                    " label, text, attrs, origin, attrs_manual) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        doc_id,
                        annotator,
                        now_iso(),
                        action,
                        proposal_id,
                        ref_id,
                        start,
                        end,
                        label,
                        text,
                        None if attrs is None else json.dumps(attrs, ensure_ascii=False),
                        origin,
                        int(bool(attrs_manual and attrs is not None)),
                    ),
                )
            except sqlite3.IntegrityError:
                if proposal_id is not None and not self._proposal_exists(proposal_id):
                    raise StaleProposal(f"proposal {proposal_id} of {doc_id} was replaced") from None
                raise
            assert cur.lastrowid is not None
            return cur.lastrowid

    def record_decisions(self, doc_id: str, annotator: str, actions: list[dict], *, origin: str) -> range:
        """Append many decisions of one annotator in one document (an import), in one
        ``executemany``: 40,000 single inserts held the lock 2 s, this a tenth of it. Each
        action: ``{"action", "proposal_id"?, "ref_id"?, "start"?, "end"?, "label"?, "text"?,
        "attrs"?, "attrs_manual"?}``. Returns the ids given (consecutive: the write lock is held)."""
        ts = now_iso()
        rows = [
            (
                doc_id,
                annotator,
                ts,
                a["action"],
                a.get("proposal_id"),
                a.get("ref_id"),
                a.get("start"),
                a.get("end"),
                a.get("label"),
                a.get("text"),
                None if a.get("attrs") is None else json.dumps(a["attrs"], ensure_ascii=False),
                origin,
                int(bool(a.get("attrs_manual") and a.get("attrs") is not None)),
            )
            for a in actions
        ]
        if not rows:
            return range(0)
        with self.write() as c:
            try:
                c.executemany(
                    'INSERT INTO decisions (doc_id, annotator, ts, action, proposal_id, ref_id, start, "end",'
                    " label, text, attrs, origin, attrs_manual) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
            except sqlite3.IntegrityError:
                for a in actions:
                    pid = a.get("proposal_id")
                    if pid is not None and not self._proposal_exists(pid):
                        raise StaleProposal(f"proposal {pid} of {doc_id} was replaced") from None
                raise
            last = c.execute("SELECT last_insert_rowid()").fetchone()[0]
        return range(last - len(rows) + 1, last + 1)

    def _proposal_exists(self, proposal_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM proposals WHERE id = ?", (proposal_id,)).fetchone() is not None

    def decisions(self, doc_id: str, annotator: str | None = None) -> list[dict]:
        sql = (
            'SELECT id, doc_id, annotator, ts, action, proposal_id, ref_id, start, "end", label, text,'
            " attrs, origin, attrs_manual FROM decisions WHERE doc_id = ?"
        )
        params: list = [doc_id]
        if annotator is not None:
            sql += " AND annotator = ?"
            params.append(annotator)
        return self.query(sql + " ORDER BY id", params)

    def latest_live_decision(self, doc_id: str, annotator: str) -> dict | None:
        """The annotator's latest decision in the document that is not an ``undo`` and has
        not been undone: ``{"id", "action", "proposal_id", "ref_id", "start", "end", "label",
        "origin"}``, or None."""
        rows = self.query(
            'SELECT id, action, proposal_id, ref_id, start, "end", label, origin FROM decisions'
            " WHERE doc_id = ? AND annotator = ? AND action != 'undo' AND id NOT IN"
            " (SELECT ref_id FROM decisions WHERE doc_id = ? AND annotator = ? AND action = 'undo')"
            " ORDER BY id DESC LIMIT 1",
            (doc_id, annotator, doc_id, annotator),
        )
        return rows[0] if rows else None

    def undo_last(self, doc_id: str, annotator: str) -> dict | None:
        """Undo this annotator's latest live decision in the document (persisted as an
        ``undo`` row). Returns the decision undone, or None if nothing is left."""
        with self.write() as c:
            latest = self.latest_live_decision(doc_id, annotator)
            if latest is None:
                return None
            c.execute(
                "INSERT INTO decisions (doc_id, annotator, ts, action, ref_id, origin) VALUES (?,?,?,?,?,?)",
                (doc_id, annotator, now_iso(), "undo", latest["id"], "tui"),
            )
            return latest

    def annotator_items(self, doc_id: str, annotator: str) -> list[Item]:
        """The annotator's current view of a document, derived from the log."""
        return derive_items(self.proposals(doc_id, active_only=False), self.decisions(doc_id, annotator))

    def annotator_spans(self, doc_id: str, annotator: str) -> list[Span]:
        return final_spans(self.annotator_items(doc_id, annotator))

    def is_finished(self, doc_id: str, annotator: str) -> bool:
        return is_finished(self.decisions(doc_id, annotator))

    def annotators(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT annotator FROM decisions ORDER BY annotator")]

    # ------------------------------------------------------------------ queue & assignments
    def finished_docs(self, annotator: str) -> set[str]:
        """Documents this annotator has finished (a live ``finish`` not followed by ``reopen``)."""
        rows = self.conn.execute(
            """
            WITH live AS (
                SELECT doc_id, id, action FROM decisions
                WHERE annotator = ? AND action IN ('finish', 'reopen')
                  AND id NOT IN (SELECT ref_id FROM decisions WHERE annotator = ? AND action = 'undo')
            )
            SELECT doc_id FROM live
            WHERE id IN (SELECT max(id) FROM live GROUP BY doc_id) AND action = 'finish'
            """,
            (annotator, annotator),
        )
        return {r[0] for r in rows}

    def assigned_docs(self, annotator: str) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT a.doc_id FROM assignments a JOIN documents d ON d.id = a.doc_id"
                " WHERE a.annotator = ? ORDER BY d.rowid",
                (annotator,),
            )
        ]

    def assigned_annotators(self) -> list[str]:
        """The annotators named in any assignment, sorted."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT annotator FROM assignments ORDER BY annotator")]

    # ------------------------------------------------------------------ settings (small JSON notes)
    def get_setting(self, key: str):
        """The JSON value stored under ``key`` in ``settings``, or None."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_setting(self, key: str, value) -> None:
        """Store ``value`` (JSON) under ``key`` in ``settings``."""
        with self.write() as c:
            c.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def has_assignments(self) -> bool:
        return self.conn.execute("SELECT 1 FROM assignments LIMIT 1").fetchone() is not None

    def queue(self, annotator: str) -> list[dict]:
        """The annotator's documents, unfinished first, each in ingest order.

        With assignments in the database the queue is the annotator's assigned
        documents; without any, it is every document (unassigned use).
        Each row: ``{"id", "finished"}``.
        """
        ids = self.assigned_docs(annotator) if self.has_assignments() else self.document_ids()
        done = self.finished_docs(annotator)
        todo = [{"id": i, "finished": False} for i in ids if i not in done]
        return todo + [{"id": i, "finished": True} for i in ids if i in done]

    def assign(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Add (doc_id, annotator) assignments; existing ones are kept. Returns how many are new.
        Names are checked (:func:`workbench.core.names.clean_name`: ValueError) before anything is written."""
        pairs = [(d, clean_name(a, what="annotator name")) for d, a in pairs]
        ts = now_iso()
        with self.write() as c:
            before = c.total_changes
            c.executemany(
                "INSERT OR IGNORE INTO assignments (doc_id, annotator, created_at) VALUES (?,?,?)",
                [(d, a, ts) for d, a in pairs],
            )
            return c.total_changes - before

    def assignments(self, doc_id: str | None = None) -> dict[str, list[str]]:
        """doc_id -> sorted annotators assigned."""
        sql = "SELECT doc_id, annotator FROM assignments"
        params: tuple = ()
        if doc_id is not None:
            sql += " WHERE doc_id = ?"
            params = (doc_id,)
        out: dict[str, list[str]] = {}
        for d, a in self.conn.execute(sql + " ORDER BY doc_id, annotator", params):
            out.setdefault(d, []).append(a)
        return out
