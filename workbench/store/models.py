"""SQL for trained models (``workbench train``): versioned rows in the ``models`` table.

A mixin of :class:`workbench.store.Store`. A model row holds the model's bytes (a CRFsuite
file), so the one SQLite file stays the whole project: name, version (a hash of the bytes),
the label set it was trained on, the training documents, when, its figures and parameters.
Saving the same bytes again keeps the one row (same version); the latest model of a name is
the row saved (or saved again) last.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, TypedDict

_COLS = "id, name, version, labels, documents, created_at, figures, params, size"


class ModelRow(TypedDict):
    """One row of ``models``, decoded (JSON columns as Python values); ``data`` only when asked."""

    id: int
    name: str
    version: str
    labels: list[str]
    documents: list[str]
    created_at: str
    figures: dict
    params: dict
    size: int


def model_version(data: bytes) -> str:
    """The version of a model: the first 12 hex digits of the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()[:12]


def _row(r: dict) -> ModelRow:
    for k in ("labels", "documents"):
        r[k] = json.loads(r[k]) if r[k] else []
    for k in ("figures", "params"):
        r[k] = json.loads(r[k]) if r[k] else {}
    return r  # type: ignore[return-value]


class ModelQueries:
    conn: sqlite3.Connection

    if TYPE_CHECKING:  # provided by Store

        def write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def query(self, sql: str, params=()) -> list[dict]: ...

    def save_model(
        self,
        name: str,
        data: bytes,
        *,
        labels: list[str],
        documents: list[str],
        figures: dict,
        params: dict,
        created_at: str,
    ) -> tuple[ModelRow, bool]:
        """Store a trained model; returns ``(row, new)``. The same bytes under the same
        name are the same version: that row is kept (its figures and time updated: it is the latest again), ``new`` False."""
        version = model_version(data)
        with self.write() as c:
            cur = c.execute(
                "INSERT OR IGNORE INTO models (name, version, labels, documents, created_at, figures, params, size, data)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    version,
                    json.dumps(list(labels)),
                    json.dumps(list(documents), ensure_ascii=False),
                    created_at,
                    json.dumps(figures, ensure_ascii=False),
                    json.dumps(params, ensure_ascii=False),
                    len(data),
                    data,
                ),
            )
            new = cur.rowcount == 1
            if not new:
                c.execute(
                    "UPDATE models SET figures = ?, created_at = ? WHERE name = ? AND version = ?",
                    (json.dumps(figures, ensure_ascii=False), created_at, name, version),
                )
            row = self.query(f"SELECT {_COLS} FROM models WHERE name = ? AND version = ?", (name, version))
        return _row(row[0]), new

    def latest_model(self, name: str) -> ModelRow | None:
        """The model of ``name`` saved last (without its bytes), or None."""
        rows = self.query(
            f"SELECT {_COLS} FROM models WHERE name = ? ORDER BY created_at DESC, id DESC LIMIT 1", (name,)
        )
        return _row(rows[0]) if rows else None

    def model_data(self, model_id: int) -> bytes | None:
        """The bytes of model ``model_id``."""
        row = self.conn.execute("SELECT data FROM models WHERE id = ?", (model_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def models(self, name: str | None = None) -> list[ModelRow]:
        """Every stored model (or those of ``name``), newest first, without their bytes."""
        if name is None:
            rows = self.query(f"SELECT {_COLS} FROM models ORDER BY id DESC")
        else:
            rows = self.query(f"SELECT {_COLS} FROM models WHERE name = ? ORDER BY id DESC", (name,))
        return [_row(r) for r in rows]

    def learned_uncertainty(self, annotator: str) -> tuple[dict[str, float], set[str]]:
        """For ``annotate --order uncertain``: ``(uncertainty, started)``. ``uncertainty`` maps
        each document with active ``learned`` proposals holding a score to the mean of
        ``min(p, 1 - p)`` over them (0: the model is sure of every span; 0.5: a coin toss);
        ``started`` is the documents ``annotator`` has any decision in."""
        rows = self.conn.execute(
            "SELECT doc_id, AVG(MIN(score, 1.0 - score)) FROM proposals"
            " WHERE source = 'learned' AND active = 1 AND score IS NOT NULL GROUP BY doc_id"
        )
        unsure = {d: float(u) for d, u in rows}
        started = {
            r[0] for r in self.conn.execute("SELECT DISTINCT doc_id FROM decisions WHERE annotator = ?", (annotator,))
        }
        return unsure, started
