"""SQL for bulk reads for export (documents, gold, annotations) and the rows import needs.

A mixin of :class:`workbench.store.Store`: its methods use ``self.conn`` (reads) and
``self.write()`` (short write transactions) of the store they are mixed into. Domain code
calls these typed methods and never touches ``store.conn`` itself.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NotRequired, TypedDict, cast

# one gold row as export reads it: start, end, label, text, attrs (JSON or None), annotators (JSON list)
ExportGoldRow = tuple[int, int, str, str, str | None, str, str, str | None]  # ... annotators, origin, reviewer


class ExportDocument(TypedDict):
    """A document as export reads it (``meta`` decoded); the raw columns only ``with_raw``."""

    rowid: int
    id: str
    text: str
    meta: dict
    input_hash: int
    raw_text: NotRequired[str]
    offset_map: NotRequired[bytes | None]  # packed ints (``unpack_ints``); None = identity
    encoding: NotRequired[str | None]
    source: NotRequired[str | None]


_DOC_COLS = "d.id, d.text, d.meta, d.input_hash"
_RAW_COLS = ", d.raw_text, d.offset_map, d.encoding, d.source"


class ExchangeQueries:
    conn: sqlite3.Connection

    # -- export

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """One read transaction around an export: every query sees the same
        database state, even while annotators keep writing (WAL). Inside an
        open transaction it adds nothing."""
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _iter_doc_rows(
        self, where: str, params: tuple = (), *, with_raw: bool = False, batch: int = 100
    ) -> Iterator[ExportDocument]:
        """Documents matching ``where`` in ingest order, fetched in small batches
        (keyset pagination on rowid, so memory stays flat)."""
        cols = _DOC_COLS + (_RAW_COLS if with_raw else "")
        last = -1
        conn = self.conn
        while True:
            cur = conn.execute(
                f"SELECT d.rowid, {cols} FROM documents d WHERE d.rowid > ? AND ({where}) ORDER BY d.rowid LIMIT ?",
                (last, *params, batch),
            )
            names = [c[0] for c in cur.description]
            rows = cur.fetchall()
            if not rows:
                return
            for row in rows:
                d = dict(zip(names, row))
                d["meta"] = json.loads(d["meta"]) if d["meta"] else {}
                yield cast(ExportDocument, d)
            last = rows[-1][0]

    def export_gold_documents(self, *, with_raw: bool = False) -> Iterator[ExportDocument]:
        """Documents that have gold, in ingest order (:class:`ExportDocument`)."""
        return self._iter_doc_rows("EXISTS (SELECT 1 FROM gold g WHERE g.doc_id = d.id)", with_raw=with_raw)

    def export_annotated_documents(
        self, annotator: str | None = None, *, with_raw: bool = False
    ) -> Iterator[ExportDocument]:
        """Documents with decisions or unsure flags (by ``annotator``, or anyone), in ingest
        order; the same columns as :meth:`export_gold_documents`."""
        if annotator is None:
            return self._iter_doc_rows(
                "EXISTS (SELECT 1 FROM decisions x WHERE x.doc_id = d.id)"
                " OR EXISTS (SELECT 1 FROM flags f WHERE f.doc_id = d.id)",
                with_raw=with_raw,
            )
        return self._iter_doc_rows(
            "EXISTS (SELECT 1 FROM decisions x WHERE x.doc_id = d.id AND x.annotator = ?)"
            " OR EXISTS (SELECT 1 FROM flags f WHERE f.doc_id = d.id AND f.annotator = ?)",
            (annotator, annotator),
            with_raw=with_raw,
        )

    def export_gold_rows(self, doc_id: str) -> list[ExportGoldRow]:
        """The document's gold as plain tuples (``ExportGoldRow``), sorted by (start, end, label, id)."""
        return self.conn.execute(
            'SELECT start, "end", label, text, attrs, annotators, origin, reviewer FROM gold WHERE doc_id = ?'
            ' ORDER BY start, "end", label, id',
            (doc_id,),
        ).fetchall()

    def finished_without_gold(self) -> list[str]:
        """Documents some annotator finished (a live ``finish`` not followed by ``reopen``)
        with spans of theirs, that have no gold row: not settled by ``workbench review`` yet."""
        rows = self.conn.execute(
            """
            WITH undone AS (SELECT ref_id FROM decisions WHERE action = 'undo'),
            live AS (
                SELECT doc_id, annotator, id, action FROM decisions
                WHERE action IN ('finish', 'reopen') AND id NOT IN undone
            ),
            last AS (SELECT doc_id, annotator, max(id) AS id FROM live GROUP BY doc_id, annotator)
            SELECT DISTINCT l.doc_id FROM last l JOIN live v ON v.id = l.id
            WHERE v.action = 'finish'
              AND l.doc_id NOT IN (SELECT doc_id FROM gold)
              AND EXISTS (SELECT 1 FROM decisions d WHERE d.doc_id = l.doc_id AND d.annotator = l.annotator
                          AND d.action IN ('accept', 'edit', 'add') AND d.id NOT IN undone)
            """
        )
        return [r[0] for r in rows]

    def gold_document_ids(self) -> set[str]:
        """The documents that have at least one gold row."""
        return {r[0] for r in self.conn.execute("SELECT DISTINCT doc_id FROM gold")}

    def count_gold_documents(self) -> int:
        """From the kept counts (``store/tallies.py``): a ``count(DISTINCT)`` over the gold was
        17% of a spaCy export."""
        row = self.conn.execute("SELECT n FROM tallies WHERE key = 'gold_documents'").fetchone()
        return row[0] if row else 0

    def count_annotated_documents(self, annotator: str | None = None) -> int:
        """Documents with decisions (of ``annotator``), from the kept counts."""
        if annotator is None:
            row = self.conn.execute("SELECT count(DISTINCT doc_id) FROM annotator_documents").fetchone()
        else:
            row = self.conn.execute(
                "SELECT documents FROM annotator_tallies WHERE annotator = ?", (annotator,)
            ).fetchone()
        return (row[0] if row else 0) or 0

    # -- import

    def document_texts(self, doc_id: str) -> tuple[str, str] | None:
        """``(normalized text, raw text)`` of a document, or None if there is no such document."""
        row = self.conn.execute("SELECT text, raw_text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def document_id_by_text(self, text: str) -> str | None:
        """The first-ingested document whose normalized text is exactly ``text``."""
        row = self.conn.execute(
            "SELECT id FROM documents WHERE input_hash = ? AND text = ? ORDER BY rowid LIMIT 1",
            (_input_hash(text), text),
        ).fetchone()
        return row[0] if row else None


def _input_hash(text: str) -> int:
    from .db import input_hash

    return input_hash(text)
