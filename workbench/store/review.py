"""SQL for gold spans, review log (actions, undo), reviewable documents.

A mixin of :class:`workbench.store.Store`: its methods use ``self.conn`` (reads) and
``self.write()`` (short write transactions) of the store they are mixed into. Domain code
calls these typed methods and never touches ``store.conn`` itself.

Each write method is one whole transaction. A caller that must check something first
(an item settled meanwhile by another reviewer, an overlap) wraps the check and the write
in ``with store.write():``: the write method joins that transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, NamedTuple, NotRequired, TypedDict, cast

from ..core.quantity import canonical_attrs
from ..core.types import QuantityAttrs, Span

_GOLD_COLS = 'id, doc_id, start, "end", label, text, attrs, origin, reviewer, annotators, ts'
_REVIEW_COLS = 'id, doc_id, reviewer, ts, action, item_key, start, "end", label, attrs, payload'


def attrs_json(attrs: QuantityAttrs | dict | None) -> str | None:
    """Attrs as stored and compared: by value (``15000000.0`` is ``15000000``), keys sorted."""
    a = canonical_attrs(cast(dict | None, attrs))
    if a is None:
        return None
    return json.dumps(a, ensure_ascii=False, sort_keys=True)


class GoldRow(TypedDict):
    """One row of ``gold``, decoded (attrs a dict or None, annotators a list)."""

    id: int
    doc_id: str
    start: int
    end: int
    label: str
    text: str
    attrs: dict | None
    origin: str  # agreed, single-annotator, adjudicated, added, corrected
    reviewer: str | None
    annotators: list[str]
    ts: str


class NewGold(Span):
    """A gold row to write: a span with its provenance; ``id`` for a row written back (an
    undo restores a replaced row under its id, so earlier actions' ``gold_ids`` still name it;
    a new id when another row holds it meanwhile)."""

    origin: str
    reviewer: str | None
    annotators: list[str]
    ts: str
    id: NotRequired[int]


class ReviewRow(TypedDict):
    """One row of the ``reviews`` log, decoded (payload a dict, ``{}`` when empty)."""

    id: int
    doc_id: str
    reviewer: str
    ts: str
    action: str  # agree, pick, edit, reject, skip, add, correct, undo
    item_key: str | None
    start: int | None
    end: int | None
    label: str | None
    attrs: dict | None
    payload: dict


class ReviewLog(TypedDict):
    """A review row to append. With exactly one span its range, label and attrs fill
    the row's columns too."""

    reviewer: str
    action: str
    item_key: str | None
    spans: list[Span]
    payload: dict
    ts: str


class Settled(NamedTuple):
    gold_ids: list[int]  # the gold rows inserted, in order
    review_id: int | None  # the review row logged, if any


def _gold(row: dict) -> GoldRow:
    row["attrs"] = json.loads(row["attrs"]) if row["attrs"] else None
    row["annotators"] = json.loads(row["annotators"]) if row["annotators"] else []
    return row  # type: ignore[return-value]


def _review(row: dict) -> ReviewRow:
    row["attrs"] = json.loads(row["attrs"]) if row["attrs"] else None
    row["payload"] = json.loads(row["payload"]) if row["payload"] else {}
    return row  # type: ignore[return-value]


class ReviewQueries:
    conn: sqlite3.Connection

    if TYPE_CHECKING:  # provided by Store

        def write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def query(self, sql: str, params=()) -> list[dict]: ...
        def scalar(self, sql: str, params=()): ...
        def assign(self, pairs: Iterable[tuple[str, str]]) -> int: ...

    # ------------------------------------------------------------------ documents
    def document_text(self, doc_id: str) -> str | None:
        """The canonical text of a document (None if there is no such document)."""
        return self.scalar("SELECT text FROM documents WHERE id = ?", (doc_id,))

    def annotation_groups(self) -> Iterator[tuple[str, str, list[dict], list[dict]]]:
        """``(doc_id, annotator, decisions, proposals)`` for every document and annotator
        with decisions, in ``(doc_id, annotator)`` order, from one streaming query:
        ``decisions`` in log order (the columns ``derive_items`` reads; no ``ts`` or
        ``origin``), ``proposals`` the ones those decisions answer. What ``agreement`` loads;
        a ``annotator_items`` call per document cost two queries and a dict per row of
        every proposal of the document, decided or not (``bench/agreement.py``)."""
        sql = (
            'SELECT d.id, d.doc_id, d.annotator, d.action, d.proposal_id, d.ref_id, d.start, d."end", d.label,'
            ' d.text, d.attrs, d.attrs_manual, p.start, p."end", p.label, p.text, p.attrs, p.source, p.score,'
            " p.active FROM decisions d LEFT JOIN proposals p ON p.id = d.proposal_id"
            " ORDER BY d.doc_id, d.annotator, d.id"
        )
        key: tuple[str, str] | None = None
        decs: list[dict] = []
        props: dict[int, dict] = {}
        # attrs JSON decoded once per group: an accept repeats its proposal's attrs (the
        # decoded dicts are shared; the readers of these groups do not change them)
        parsed: dict[str, dict] = {}

        def attrs(v: str | None) -> dict | None:
            if v is None:
                return None
            a = parsed.get(v)
            if a is None:
                a = parsed[v] = json.loads(v)
            return a

        for r in self.conn.execute(sql):
            k = (r[1], r[2])
            if k != key:
                if key is not None:
                    yield key[0], key[1], decs, list(props.values())
                key, decs, props = k, [], {}
                parsed.clear()
            pid = r[4]
            decs.append(
                {
                    "id": r[0],
                    "action": r[3],
                    "proposal_id": pid,
                    "ref_id": r[5],
                    "start": r[6],
                    "end": r[7],
                    "label": r[8],
                    "text": r[9],
                    "attrs": attrs(r[10]),
                    "attrs_manual": r[11],
                }
            )
            if pid is not None and pid not in props and r[12] is not None:
                props[pid] = {
                    "id": pid,
                    "start": r[12],
                    "end": r[13],
                    "label": r[14],
                    "text": r[15],
                    "attrs": attrs(r[16]),
                    "source": r[17],
                    "score": r[18],
                    "active": r[19],
                }
        if key is not None:
            yield key[0], key[1], decs, list(props.values())

    def document_sizes(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """doc_id → number of characters, for the given documents that exist."""
        out: dict[str, int] = {}
        ids = list(doc_ids)
        for lo in range(0, len(ids), 500):  # one query per 500 ids (SQLite's variable limit is higher)
            chunk = ids[lo : lo + 500]
            marks = ", ".join("?" * len(chunk))
            out.update(self.conn.execute(f"SELECT id, n_chars FROM documents WHERE id IN ({marks})", chunk).fetchall())
        return {d: out[d] for d in ids if d in out}

    # ------------------------------------------------------------------ assignments
    def reassign(self, doc_ids: Iterable[str], pairs: Iterable[tuple[str, str]]) -> int:
        """Drop the assignments of ``doc_ids`` and add ``pairs``, one transaction.
        Returns how many assignments are new."""
        with self.write() as c:
            c.executemany("DELETE FROM assignments WHERE doc_id = ?", [(d,) for d in doc_ids])
            return self.assign(pairs)

    # ------------------------------------------------------------------ gold
    def gold_rows(self, doc_id: str, overlapping: tuple[int, int] | None = None) -> list[GoldRow]:
        """The document's gold rows by start (all, or those overlapping ``[start, end)``)."""
        sql = f"SELECT {_GOLD_COLS} FROM gold WHERE doc_id = ?"
        params: tuple = (doc_id,)
        if overlapping is not None:
            sql += ' AND start < ? AND "end" > ?'
            params += (overlapping[1], overlapping[0])
        return [_gold(r) for r in self.query(sql + " ORDER BY start, id", params)]

    def docs_with_gold(self) -> list[str]:
        """Ids of the documents that have gold, in ingest order."""
        rows = self.conn.execute(
            "SELECT d.id FROM documents d WHERE EXISTS (SELECT 1 FROM gold g WHERE g.doc_id = d.id) ORDER BY d.rowid"
        )
        return [r[0] for r in rows]

    def gold_totals(self) -> tuple[int, int]:
        """(gold spans, documents with gold)."""
        row = self.conn.execute("SELECT count(*), count(DISTINCT doc_id) FROM gold").fetchone()
        return row[0], row[1]

    def gold_by_origin(self) -> dict[str, int]:
        """origin → number of gold spans."""
        return dict(self.conn.execute("SELECT origin, count(*) FROM gold GROUP BY origin").fetchall())

    # ------------------------------------------------------------------ the review log
    def review_rows(self, doc_id: str, actions: tuple[str, ...] | None = None) -> list[ReviewRow]:
        """The document's review log, oldest first (undo rows and undone ones included); only
        the rows of ``actions`` when given (a document's ``agree`` rows carry every agreed span:
        decoding them on each undo cost more than the undo itself)."""
        sql = f"SELECT {_REVIEW_COLS} FROM reviews WHERE doc_id = ?"
        params: tuple[str, ...] = (doc_id,)
        if actions is not None:
            sql += f" AND action IN ({', '.join('?' * len(actions))})"
            params += tuple(actions)
        return [_review(r) for r in self.query(sql + " ORDER BY id", params)]

    def undone_review_ids(self) -> set[int]:
        """Ids of the review rows an ``undo`` row cancels (every document)."""
        out = set()
        for (payload,) in self.conn.execute("SELECT payload FROM reviews WHERE action = 'undo'"):
            target = (json.loads(payload) if payload else {}).get("undo")
            if target is not None:
                out.add(int(target))
        return out

    def latest_review(
        self, reviewer: str, actions: Sequence[str], doc_ids: set[str], exclude: set[int]
    ) -> ReviewRow | None:
        """The reviewer's newest review row with one of ``actions`` in one of ``doc_ids``
        whose id is not in ``exclude``; None when there is none."""
        marks = ",".join("?" * len(actions))
        cur = self.conn.execute(
            f"SELECT {_REVIEW_COLS} FROM reviews WHERE reviewer = ? AND action IN ({marks}) ORDER BY id DESC",
            (reviewer, *actions),
        )
        cols = [c[0] for c in cur.description]
        for values in cur:
            row = dict(zip(cols, values))
            if row["id"] in exclude or row["doc_id"] not in doc_ids:
                continue
            return _review(row)
        return None

    # ------------------------------------------------------------------ writes
    def settle(
        self,
        doc_id: str,
        *,
        remove: Iterable[int] = (),
        insert: Sequence[NewGold] = (),
        log: ReviewLog | None = None,
        log_gold_ids: bool = False,
    ) -> Settled:
        """One transaction: delete the gold rows ``remove``, insert ``insert``, append ``log``
        (with ``log_gold_ids`` its payload records the ids of the rows inserted as ``gold_ids``,
        which undo deletes)."""
        with self.write() as c:
            c.executemany("DELETE FROM gold WHERE id = ?", [(i,) for i in remove])
            ids = [_insert_gold(c, doc_id, g) for g in insert]
            rid = None
            if log is not None:
                payload = dict(log["payload"])
                if log_gold_ids:
                    payload["gold_ids"] = ids
                rid = _insert_review(c, doc_id, log, payload)
        return Settled(ids, rid)


def _insert_gold(c: sqlite3.Connection, doc_id: str, g: NewGold) -> int:
    gid = g.get("id")
    if gid is not None and c.execute("SELECT 1 FROM gold WHERE id = ?", (gid,)).fetchone():
        gid = None  # taken meanwhile: a new id (the caller records the rename)
    cur = c.execute(
        'INSERT INTO gold (id, doc_id, start, "end", label, text, attrs, origin, reviewer, annotators, ts)'
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            gid,
            doc_id,
            g["start"],
            g["end"],
            g["label"],
            g["text"],
            attrs_json(g.get("attrs")),
            g["origin"],
            g["reviewer"],
            json.dumps(sorted(g["annotators"]), ensure_ascii=False),
            g["ts"],
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _insert_review(c: sqlite3.Connection, doc_id: str, log: ReviewLog, payload: dict) -> int:
    spans = log["spans"]
    one = spans[0] if len(spans) == 1 else None
    cur = c.execute(
        'INSERT INTO reviews (doc_id, reviewer, ts, action, item_key, start, "end", label, attrs, payload)'
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            doc_id,
            log["reviewer"],
            log["ts"],
            log["action"],
            log["item_key"],
            one["start"] if one else None,
            one["end"] if one else None,
            one["label"] if one else None,
            attrs_json(one.get("attrs")) if one else None,
            json.dumps(payload, ensure_ascii=False),
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid
