"""SQL for unsure flags: an annotator marks a span or a whole document as unsure, with a
short note (Prodigy's ignore, a comment); reviewers see them and exports carry them.

A mixin of :class:`workbench.store.Store`. The table is created by migration 7 (``schema.py``):
an append-only log (``set``, ``clear``, ``undo``) like the decision log; what is in force is
derived by :func:`workbench.core.flags.current_flags`.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ..core.flags import clean_note, current_flags

_COLS = 'id, doc_id, annotator, ts, action, item_key, start, "end", label, note, ref_id, seq, origin'


class FlagQueries:
    """Reads and writes of the ``flags`` table."""

    conn: sqlite3.Connection

    if TYPE_CHECKING:  # provided by Store
        from contextlib import AbstractContextManager

        def write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def query(self, sql: str, params=()) -> list[dict]: ...

    def _flag_row(
        self,
        doc_id: str,
        annotator: str,
        action: str,
        *,
        item_key: str | None,
        start: int | None,
        end: int | None,
        label: str | None,
        note: str,
        ref_id: int | None,
        origin: str,
    ) -> int:
        from .db import now_iso

        with self.write() as c:
            seq = c.execute("SELECT coalesce(max(id), 0) FROM decisions").fetchone()[0]
            cur = c.execute(
                f"INSERT INTO flags ({_COLS.split(', ', 1)[1]}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (doc_id, annotator, now_iso(), action, item_key, start, end, label, note, ref_id, seq, origin),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def set_flag(
        self,
        doc_id: str,
        annotator: str,
        *,
        note: str = "",
        item_key: str | None = None,
        start: int | None = None,
        end: int | None = None,
        label: str | None = None,
        origin: str = "tui",
    ) -> int:
        """Flag the item ``item_key`` (its span ``start``/``end``/``label`` kept beside it) or,
        with ``item_key`` None, the document, as unsure with ``note`` (cleaned:
        :func:`~workbench.core.flags.clean_note`, ValueError if it is no note). Committed
        before it returns the row id; a flag set again gets the new note."""
        note = clean_note(note)
        if item_key is None:
            start = end = label = None
        return self._flag_row(
            doc_id,
            annotator,
            "set",
            item_key=item_key,
            start=start,
            end=end,
            label=label,
            note=note,
            ref_id=None,
            origin=origin,
        )

    def clear_flag(self, doc_id: str, annotator: str, *, item_key: str | None = None, origin: str = "tui") -> int:
        """Take the flag of ``item_key`` (None: the document) away (a ``clear`` row)."""
        return self._flag_row(
            doc_id,
            annotator,
            "clear",
            item_key=item_key,
            start=None,
            end=None,
            label=None,
            note="",
            ref_id=None,
            origin=origin,
        )

    def flag_rows(self, doc_id: str, annotator: str | None = None) -> list[dict]:
        """The flag log of a document (one annotator's, or everyone's), in order."""
        sql = f"SELECT {_COLS} FROM flags WHERE doc_id = ?"
        params: list = [doc_id]
        if annotator is not None:
            sql += " AND annotator = ?"
            params.append(annotator)
        return self.query(sql + " ORDER BY id", params)

    def flags_in_force(self, doc_id: str, annotator: str) -> dict[str | None, dict]:
        """``{item key or None (the document): flag}`` of the annotator in the document."""
        return current_flags(self.flag_rows(doc_id, annotator))

    def latest_live_flag(self, doc_id: str, annotator: str) -> dict | None:
        """The annotator's latest ``set``/``clear`` in the document not undone, or None."""
        rows = self.query(
            f"SELECT {_COLS} FROM flags WHERE doc_id = ? AND annotator = ? AND action != 'undo' AND id NOT IN"
            " (SELECT ref_id FROM flags WHERE doc_id = ? AND annotator = ? AND action = 'undo')"
            " ORDER BY id DESC LIMIT 1",
            (doc_id, annotator, doc_id, annotator),
        )
        return rows[0] if rows else None

    def undo_flag(self, doc_id: str, annotator: str, flag_id: int) -> int:
        """Cancel the flag row ``flag_id`` (an ``undo`` row); returns the new row's id."""
        return self._flag_row(
            doc_id,
            annotator,
            "undo",
            item_key=None,
            start=None,
            end=None,
            label=None,
            note="",
            ref_id=flag_id,
            origin="tui",
        )

    def max_flag_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM flags").fetchone()[0]

    def delete_flags_after(self, annotator: str, after_id: int, origin: str) -> int:
        """Delete ``annotator``'s flag rows of ``origin`` with ids above ``after_id`` (an import
        taken back); returns how many."""
        with self.write() as c:
            return c.execute(
                "DELETE FROM flags WHERE id > ? AND annotator = ? AND origin = ?", (after_id, annotator, origin)
            ).rowcount
