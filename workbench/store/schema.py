"""Schema and explicit migrations, versioned with ``PRAGMA user_version``.

Each migration is a function taking a ``sqlite_utils.Database``; it runs inside
one transaction together with the ``user_version`` bump. Never edit a released
migration: append a new one.

Identity: a database this workbench creates carries :data:`APPLICATION_ID` in its header
(``PRAGMA application_id``, set in the transaction of the first migration). Databases made
before that have application id 0 and are recognised by their tables (:func:`identify`).
Any other SQLite file is refused, never migrated into a workbench database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # imported lazily by Store.db: it costs ~0.1 s of every command's start-up
    import sqlite3

    import sqlite_utils

# "RWB1" (report-workbench, 1): PRAGMA application_id of every database the workbench creates
APPLICATION_ID = 0x52574231
# the tables that make a database made before APPLICATION_ID existed a workbench database
WORKBENCH_TABLES = frozenset({"documents", "proposals", "decisions", "gold", "reviews", "assignments"})


class ForeignDatabase(Exception):
    """An SQLite database that is not a workbench database (its tables, for the message)."""

    def __init__(self, tables: list[str], application_id: int):
        super().__init__(", ".join(tables) or "none")
        self.tables = tables
        self.application_id = application_id


def identify(conn: sqlite3.Connection) -> Literal["empty", "workbench"]:
    """What the database on ``conn`` is, reading only its header and schema (no write):
    ``"empty"`` (no table, nothing set: a new file, which may be initialised) or
    ``"workbench"``; :class:`ForeignDatabase` for anything else."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    objects = [(t, n) for t, n in conn.execute("SELECT type, name FROM sqlite_master") if not n.startswith("sqlite_")]
    tables = sorted(n for t, n in objects if t == "table")
    if app_id == APPLICATION_ID:
        return "workbench"
    if app_id == 0 and version == 0 and not objects:
        return "empty"
    if app_id == 0 and version >= 1 and set(tables) >= WORKBENCH_TABLES:
        return "workbench"  # made before the application id
    raise ForeignDatabase(tables, app_id)


def _m1_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE documents (
            id          TEXT PRIMARY KEY,
            source      TEXT,              -- path or 'file.jsonl:LINE' it came from
            raw_sha256  TEXT NOT NULL,     -- hash of the raw bytes (or the jsonl text)
            encoding    TEXT NOT NULL,     -- detected: utf-8, utf-8-sig, utf-16, gb18030, json
            raw_text    TEXT NOT NULL,     -- decoded raw text (no BOM)
            text        TEXT NOT NULL,     -- normalized text: all offsets refer to it
            offset_map  BLOB,              -- zlib(uint32[len(text)+1]) into raw_text; NULL = identity
            flags       TEXT NOT NULL DEFAULT '{}',   -- JSON quality flags
            meta        TEXT NOT NULL DEFAULT '{}',   -- JSON
            input_hash  INTEGER NOT NULL,  -- stable hash of text (Prodigy _input_hash)
            n_chars     INTEGER NOT NULL,
            words       BLOB,              -- zlib(uint32[]) word start offsets (from jieba, at propose time)
            created_at  TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE proposals (
            id          INTEGER PRIMARY KEY,
            doc_id      TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            start       INTEGER NOT NULL,
            "end"       INTEGER NOT NULL,
            label       TEXT NOT NULL,
            text        TEXT NOT NULL,
            attrs       TEXT,              -- JSON or NULL
            source      TEXT NOT NULL,     -- proposer name
            version     TEXT NOT NULL,     -- proposer version
            score       REAL,
            active      INTEGER NOT NULL DEFAULT 1,  -- 0: superseded by a newer run of the same source
            created_at  TEXT NOT NULL,
            CHECK (start >= 0 AND "end" > start)
        )
        """
    )
    db.execute("CREATE INDEX idx_proposals_doc ON proposals(doc_id, active, start)")
    db.execute("CREATE INDEX idx_proposals_source ON proposals(source, version)")
    db.execute(
        """
        CREATE TABLE decisions (
            id          INTEGER PRIMARY KEY,   -- append-only log; order = id
            doc_id      TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            annotator   TEXT NOT NULL,
            ts          TEXT NOT NULL,         -- ISO 8601 UTC, milliseconds
            action      TEXT NOT NULL CHECK (action IN
                          ('accept','reject','edit','add','remove','undo','finish','reopen')),
            proposal_id INTEGER REFERENCES proposals(id),  -- the proposal it answers
            ref_id      INTEGER REFERENCES decisions(id),  -- undo: the decision undone;
                                                           -- edit/remove of an added span: its 'add'
            start       INTEGER,
            "end"       INTEGER,
            label       TEXT,
            text        TEXT,
            attrs       TEXT,                  -- JSON or NULL
            origin      TEXT NOT NULL DEFAULT 'tui'   -- tui, import, cli, ...
        )
        """
    )
    db.execute("CREATE INDEX idx_decisions_doc_ann ON decisions(doc_id, annotator, id)")
    db.execute("CREATE INDEX idx_decisions_ann ON decisions(annotator, doc_id)")
    db.execute(
        """
        CREATE TABLE gold (
            id          INTEGER PRIMARY KEY,
            doc_id      TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            start       INTEGER NOT NULL,
            "end"       INTEGER NOT NULL,
            label       TEXT NOT NULL,
            text        TEXT NOT NULL,
            attrs       TEXT,
            origin      TEXT NOT NULL,     -- agreed, adjudicated, imported
            reviewer    TEXT,              -- who adjudicated (NULL when agreed)
            annotators  TEXT NOT NULL DEFAULT '[]',  -- JSON list of annotators who had this span
            ts          TEXT NOT NULL,
            CHECK (start >= 0 AND "end" > start)
        )
        """
    )
    db.execute("CREATE INDEX idx_gold_doc ON gold(doc_id, start)")
    db.execute(
        """
        CREATE TABLE reviews (
            id          INTEGER PRIMARY KEY,   -- append-only log of reviewer actions
            doc_id      TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            reviewer    TEXT NOT NULL,
            ts          TEXT NOT NULL,
            action      TEXT NOT NULL,         -- pick, edit, reject, skip, undo, ...
            item_key    TEXT,                  -- which disagreement it settles
            start       INTEGER,
            "end"       INTEGER,
            label       TEXT,
            attrs       TEXT,
            payload     TEXT                   -- JSON: versions shown, chosen annotators
        )
        """
    )
    db.execute("CREATE INDEX idx_reviews_doc ON reviews(doc_id, id)")
    db.execute(
        """
        CREATE TABLE assignments (
            doc_id      TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            annotator   TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            PRIMARY KEY (doc_id, annotator)
        )
        """
    )
    db.execute("CREATE INDEX idx_assignments_ann ON assignments(annotator)")
    db.execute(
        """
        CREATE TABLE settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL            -- JSON
        )
        """
    )


def _m2_decisions_proposal_index(db: sqlite_utils.Database) -> None:
    """Index the decisions' reference to proposals. SQLite checks the foreign key
    ``decisions.proposal_id`` for every proposal deleted (re-running a proposer
    version drops its undecided proposals): without this index each deleted
    proposal scanned the whole decision log (3.6 ms per proposal at 53,000
    decisions, growing with the log; 0.003 ms with it)."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_decisions_proposal ON decisions(proposal_id)")


def _m3_models(db: sqlite_utils.Database) -> None:
    """Trained models (``workbench train``), kept in the database so the one file stays the
    whole project: one row per (name, version), version = a hash of the model's bytes
    (SQL in ``store/models.py``)."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS models (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL,     -- e.g. 'crf'
            version     TEXT NOT NULL,     -- sha256 of data, 12 hex digits
            labels      TEXT NOT NULL,     -- JSON list: the label set it was trained on
            documents   TEXT NOT NULL,     -- JSON list of the training document ids
            created_at  TEXT NOT NULL,
            figures     TEXT NOT NULL DEFAULT '{}',  -- JSON: training and cross-validation figures
            params      TEXT NOT NULL DEFAULT '{}',  -- JSON: features and training parameters
            size        INTEGER NOT NULL,  -- bytes of data
            data        BLOB NOT NULL,     -- the model file
            UNIQUE (name, version)
        )
        """
    )


def _m4_decisions_attrs_manual(db: sqlite_utils.Database) -> None:
    """``decisions.attrs_manual``: 1 when a person typed the decision's attrs (annotate ``e``,
    an imported span marked ``attrs_manual``). Typed attrs stay through bound moves even when
    they equal what the number grammar reads; the grammar's follow the bounds. 0 for every
    earlier decision (there, attrs that disagree with the text are taken as typed, as before)."""
    cols = {r[0] for r in db.execute("SELECT name FROM pragma_table_info('decisions')").fetchall()}
    if "attrs_manual" not in cols:  # a database set back to an older user_version has it already
        db.execute("ALTER TABLE decisions ADD COLUMN attrs_manual INTEGER NOT NULL DEFAULT 0")


def _m5_tallies(db: sqlite_utils.Database) -> None:
    """The counts ``workbench stats`` prints, kept by triggers (``store/tallies.py``),
    counted here once from the data: ``stats`` answers without scanning the tables."""
    from .tallies import create

    create(db.conn)


def _m6_users(db: sqlite_utils.Database) -> None:
    """Browser users of ``workbench serve`` (SQL in ``store/users.py``): one row per access
    token issued, the token itself never stored, only its scrypt hash; a revoked token keeps
    its row (``revoked_at``), and a name has at most one live token."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS users (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL,     -- the annotator / reviewer name the token acts as
            role        TEXT NOT NULL CHECK (role IN ('annotator', 'reviewer')),
            token_id    TEXT NOT NULL UNIQUE,  -- the public part of the token (finds the row)
            token_hash  TEXT NOT NULL,     -- scrypt$n$r$p$salt$digest of the secret part
            created_at  TEXT NOT NULL,
            revoked_at  TEXT               -- NULL: the token is valid
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS idx_users_live_name ON users(name) WHERE revoked_at IS NULL")


def _m7_flags(db: sqlite_utils.Database) -> None:
    """Unsure flags (SQL in ``store/flags.py``, derivation in ``core/flags.py``): an append-only
    log like ``decisions``. ``set`` flags one of the annotator's items (``item_key`` ``p<id>`` /
    ``d<id>``: the flag follows the span through edits) or the document (``item_key`` NULL)
    with a note, again replacing the note; ``clear`` takes it away; ``undo`` cancels the row
    ``ref_id``. ``seq`` is the largest decision id when the row was written: it orders flags
    among decisions, so annotate ``u`` undoes whichever came last."""
    db.execute(
        """
        CREATE TABLE IF NOT EXISTS flags (
            id          INTEGER PRIMARY KEY,   -- append-only log; order = id
            doc_id      TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            annotator   TEXT NOT NULL,
            ts          TEXT NOT NULL,         -- ISO 8601 UTC, milliseconds
            action      TEXT NOT NULL CHECK (action IN ('set', 'clear', 'undo')),
            item_key    TEXT,                  -- p<proposal id> / d<add decision id>; NULL: the document
            start       INTEGER,               -- the span when flagged (NULL for the document)
            "end"       INTEGER,
            label       TEXT,
            note        TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 200),
            ref_id      INTEGER REFERENCES flags(id),  -- undo: the row undone
            seq         INTEGER NOT NULL DEFAULT 0,    -- max(decisions.id) when written
            origin      TEXT NOT NULL DEFAULT 'tui'    -- tui, import, ...
        )
        """
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_flags_doc_ann ON flags(doc_id, annotator, id)")


MIGRATIONS = [
    _m1_initial,
    _m2_decisions_proposal_index,
    _m3_models,
    _m4_decisions_attrs_manual,
    _m5_tallies,
    _m6_users,
    _m7_flags,
]
SCHEMA_VERSION = len(MIGRATIONS)
