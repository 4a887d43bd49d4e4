"""Running counts for ``workbench stats``, kept by triggers.

``stats`` counted with full scans: O(documents) (0.31 s at 10k, 2.5 s at 100k
documents; the proposals' GROUP BY and the characters' sum read every row). The
counts it prints are kept instead, by triggers on the tables they count, so
every writer (ingest, propose, import, annotate, review, a bulk undo, a tool
of the user's own) keeps them right without knowing about them, in its own
transaction:

``tallies``
    ``documents``, ``characters`` (sum of ``n_chars``), ``gold_spans``,
    ``gold_documents``.
``proposal_tallies``
    rows per ``(source, version, active)``.
``annotator_tallies``
    per annotator: ``decisions`` and ``documents`` (documents with at least one
    decision of theirs, through ``annotator_documents``).
``gold_documents``
    gold rows per document (a document leaves it with its last gold row).

A trigger costs each inserted row an upsert into a small table: measured in
``bench/stats.py`` beside the scans it replaces. ``workbench check`` compares
every tally with a recount (:func:`recount_problems`) and ``check --repair``
rebuilds them (:func:`rebuild`).
"""

from __future__ import annotations

import sqlite3

TABLES = ("tallies", "proposal_tallies", "annotator_tallies", "annotator_documents", "gold_documents")

DDL = [
    "CREATE TABLE tallies (key TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
    """CREATE TABLE proposal_tallies (
        source TEXT NOT NULL, version TEXT NOT NULL, active INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (source, version, active)) WITHOUT ROWID""",
    """CREATE TABLE annotator_tallies (
        annotator TEXT PRIMARY KEY, decisions INTEGER NOT NULL, documents INTEGER NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE annotator_documents (
        annotator TEXT NOT NULL, doc_id TEXT NOT NULL, PRIMARY KEY (annotator, doc_id)) WITHOUT ROWID""",
    "CREATE TABLE gold_documents (doc_id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
]


def _bump(key: str, delta: str) -> str:
    return f"INSERT INTO tallies (key, n) VALUES ('{key}', {delta}) ON CONFLICT (key) DO UPDATE SET n = n + excluded.n;"


def _prop(row: str, delta: int) -> str:
    return (
        "INSERT INTO proposal_tallies (source, version, active, n)"
        f" VALUES ({row}.source, {row}.version, {row}.active, {delta})"
        " ON CONFLICT (source, version, active) DO UPDATE SET n = n + excluded.n;"
    )


TRIGGERS = [
    # documents
    f"""CREATE TRIGGER tally_documents_insert AFTER INSERT ON documents BEGIN
        {_bump("documents", "1")} {_bump("characters", "NEW.n_chars")} END""",
    f"""CREATE TRIGGER tally_documents_delete AFTER DELETE ON documents BEGIN
        {_bump("documents", "-1")} {_bump("characters", "-OLD.n_chars")} END""",
    f"""CREATE TRIGGER tally_documents_update AFTER UPDATE OF n_chars ON documents
        WHEN NEW.n_chars IS NOT OLD.n_chars BEGIN {_bump("characters", "NEW.n_chars - OLD.n_chars")} END""",
    # proposals
    f"CREATE TRIGGER tally_proposals_insert AFTER INSERT ON proposals BEGIN {_prop('NEW', 1)} END",
    f"CREATE TRIGGER tally_proposals_delete AFTER DELETE ON proposals BEGIN {_prop('OLD', -1)} END",
    f"""CREATE TRIGGER tally_proposals_update AFTER UPDATE OF source, version, active ON proposals
        WHEN NEW.source IS NOT OLD.source OR NEW.version IS NOT OLD.version OR NEW.active IS NOT OLD.active
        BEGIN {_prop("OLD", -1)} {_prop("NEW", 1)} END""",
    # decisions: per annotator, and the documents they touched
    """CREATE TRIGGER tally_decisions_insert AFTER INSERT ON decisions BEGIN
        INSERT INTO annotator_tallies (annotator, decisions, documents) VALUES (NEW.annotator, 1, 0)
            ON CONFLICT (annotator) DO UPDATE SET decisions = decisions + 1;
        INSERT OR IGNORE INTO annotator_documents (annotator, doc_id) VALUES (NEW.annotator, NEW.doc_id);
        END""",
    """CREATE TRIGGER tally_decisions_delete AFTER DELETE ON decisions BEGIN
        UPDATE annotator_tallies SET decisions = decisions - 1 WHERE annotator = OLD.annotator;
        DELETE FROM annotator_documents WHERE annotator = OLD.annotator AND doc_id = OLD.doc_id
            AND NOT EXISTS (SELECT 1 FROM decisions WHERE annotator = OLD.annotator AND doc_id = OLD.doc_id);
        END""",
    """CREATE TRIGGER tally_annotator_documents_insert AFTER INSERT ON annotator_documents BEGIN
        UPDATE annotator_tallies SET documents = documents + 1 WHERE annotator = NEW.annotator; END""",
    """CREATE TRIGGER tally_annotator_documents_delete AFTER DELETE ON annotator_documents BEGIN
        UPDATE annotator_tallies SET documents = documents - 1 WHERE annotator = OLD.annotator; END""",
    # gold
    f"""CREATE TRIGGER tally_gold_insert AFTER INSERT ON gold BEGIN
        {_bump("gold_spans", "1")}
        INSERT INTO gold_documents (doc_id, n) VALUES (NEW.doc_id, 1)
            ON CONFLICT (doc_id) DO UPDATE SET n = n + 1;
        END""",
    f"""CREATE TRIGGER tally_gold_delete AFTER DELETE ON gold BEGIN
        {_bump("gold_spans", "-1")}
        UPDATE gold_documents SET n = n - 1 WHERE doc_id = OLD.doc_id;
        DELETE FROM gold_documents WHERE doc_id = OLD.doc_id AND n <= 0;
        END""",
    f"""CREATE TRIGGER tally_gold_documents_insert AFTER INSERT ON gold_documents BEGIN
        {_bump("gold_documents", "1")} END""",
    f"""CREATE TRIGGER tally_gold_documents_delete AFTER DELETE ON gold_documents BEGIN
        {_bump("gold_documents", "-1")} END""",
]

# the counts from the tables themselves (full scans: for the migration, check and repair)
RECOUNT = {
    "tallies": """
        SELECT 'documents', count(*) FROM documents
        UNION ALL SELECT 'characters', coalesce(sum(n_chars), 0) FROM documents
        UNION ALL SELECT 'gold_spans', count(*) FROM gold
        UNION ALL SELECT 'gold_documents', count(DISTINCT doc_id) FROM gold""",
    "proposal_tallies": "SELECT source, version, active, count(*) FROM proposals GROUP BY source, version, active",
    "annotator_tallies": """
        SELECT annotator, count(*), count(DISTINCT doc_id) FROM decisions GROUP BY annotator""",
    "annotator_documents": "SELECT DISTINCT annotator, doc_id FROM decisions",
    "gold_documents": "SELECT doc_id, count(*) FROM gold GROUP BY doc_id",
}

_KEYS = {
    "tallies": 1,
    "proposal_tallies": 3,
    "annotator_tallies": 1,
    "annotator_documents": 2,
    "gold_documents": 1,
}


def create(conn: sqlite3.Connection) -> None:
    """The tables, their contents counted from the data, and the triggers (a migration step;
    run again over a database that has them, it makes them anew)."""
    for name in _trigger_names():
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for sql in DDL:
        conn.execute(sql)
    _fill(conn)
    for sql in TRIGGERS:
        conn.execute(sql)


def _fill(conn: sqlite3.Connection) -> None:
    for table in TABLES:
        rows = conn.execute(RECOUNT[table]).fetchall()
        if table == "proposal_tallies":
            rows = [r for r in rows if r[3]]
        marks = ", ".join("?" * len(rows[0])) if rows else ""
        if rows:
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def recount_problems(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """Where a kept count differs from a recount, one line each (empty when all agree)."""
    out: list[str] = []
    for table in TABLES:
        kept = {tuple(r[: _KEYS[table]]): tuple(r[_KEYS[table] :]) for r in conn.execute(f"SELECT * FROM {table}")}
        real = {tuple(r[: _KEYS[table]]): tuple(r[_KEYS[table] :]) for r in conn.execute(RECOUNT[table])}
        for key in sorted(set(kept) | set(real), key=repr):
            k, r = kept.get(key), real.get(key)
            zero = all(v == 0 for v in (k or ())) and all(v == 0 for v in (r or ()))
            if k != r and not zero:
                out.append(f"{table} {key!r}: kept {k!r}, counted {r!r}")
                if len(out) >= limit:
                    return out
    return out


def _trigger_names() -> list[str]:
    return [sql.split()[2] for sql in TRIGGERS]


def rebuild(conn: sqlite3.Connection) -> None:
    """Count everything again (inside the caller's transaction)."""
    for name in _trigger_names():
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in TABLES:
        conn.execute(f"DELETE FROM {table}")
    _fill(conn)
    for sql in TRIGGERS:
        conn.execute(sql)
