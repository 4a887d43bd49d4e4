"""Correcting gold: the reviewer walks the gold spans of the documents under review and
fixes any of them, whatever its origin (``agreed``, ``single-annotator``, ``adjudicated``,
``added``, ``corrected``): relabel, move its bounds, set its QUANTITY attrs, remove it, or
replace it and the gold it overlaps with a new span (through the add mode).

A mixin of :class:`~workbench.review.session.ReviewSession`. Walking (:class:`GoldWalk`) and
building a correction change nothing in the database; saving is one transaction: the
``correct`` review row (payload ``before``: the gold rows replaced, as they were, with their
ids; ``after``: the spans written; ``changes``: what changed, in words) together with the gold
rows, written with origin ``corrected``, the reviewer, and the ``annotators`` of the rows they
replace. Undo is the review undo (the rows written deleted, the replaced ones restored).

The automatic sync (:func:`~workbench.review.clustering.sync_agreed`) never brings back an
automatic span a live correction replaced, nor adds one over a corrected span: the correction
holds across sessions until it is undone. It holds for that exact span only: when an annotator
later changes their annotations so the cluster changes, the usual rules apply. A new agreed span
(other bounds, label or attrs) that overlaps no reviewer gold becomes gold; one that overlaps the
corrected span does not (the reviewer's row stays); a cluster that stops being agreed becomes a
disagreement item, and settling it replaces the gold of its range, the corrected row included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.core.labels import LABELS, validate_attrs
from workbench.core.quantity import attrs_follow_text, derive_attrs
from workbench.session import Change
from workbench.store.db import now_iso
from workbench.store.review import GoldRow, NewGold

from .clustering import ReviewError, new_gold, span_key, span_shape_problem
from .history import describe_attrs, span_changes

if TYPE_CHECKING:
    from .session import Item

CORRECTED = "corrected"
_ROW_KEYS = ("id", "start", "end", "label", "text", "attrs", "origin", "reviewer", "annotators", "ts")


@dataclass
class GoldWalk:
    """The gold spans of one document (as read after the last action), the one selected,
    and the correction being built for it (``span`` None: nothing changed yet;
    ``remove``: it is to be removed)."""

    doc_id: str
    rows: list[GoldRow] = field(default_factory=list)
    index: int = 0
    span: dict | None = None
    remove: bool = False

    @property
    def current(self) -> GoldRow | None:
        return self.rows[self.index] if self.rows else None

    @property
    def pending(self) -> bool:
        return self.remove or self.span is not None

    def shown(self) -> dict | None:
        """The selected span as it would be saved now (None: removed)."""
        if self.remove:
            return None
        g = self.current
        if self.span is not None:
            return self.span
        return None if g is None else _span(g)


def _span(g: GoldRow | dict) -> dict:
    return {"start": g["start"], "end": g["end"], "label": g["label"], "text": g["text"], "attrs": g.get("attrs")}


def _where(g: GoldRow | dict) -> str:
    return f"{g['label']}「{g['text']}」 {g['start']}–{g['end']}"


class _Session:
    """What the mixin uses of the session (for readers and mypy)."""

    store: Any
    reviewer: str
    policy: str
    items: list[Item]
    docs: list[str]
    walk: GoldWalk | None
    n_actions: int
    _mine: set[int]

    if TYPE_CHECKING:

        @property
        def current(self) -> Item | None: ...
        def text(self, doc_id: str) -> str: ...
        def _add_doc(self, doc_id: str) -> None: ...
        def _log(self, action: str, item_key: str | None, spans: list, payload: dict, ts: str) -> Any: ...


class GoldCorrections(_Session):
    """Walk the gold of the documents under review and correct any span of it."""

    # ------------------------------------------------------------------ walking
    def begin_gold(self, doc_id: str | None = None) -> GoldWalk:
        """Walk the gold of ``doc_id`` (default: the current item's document, else the first
        document under review that has gold), from the span at or after the current item."""
        if getattr(self, "draft", None) is not None or getattr(self, "add_draft", None) is not None:
            raise ReviewError("finish the edit / new span first (enter saves, esc cancels)")
        it = self.current
        if doc_id is None:
            if it is not None:
                doc_id = it.doc_id
            else:
                doc_id = next((d for d in self.docs if self.store.gold_rows(d)), self.docs[0] if self.docs else None)
        if doc_id is None:
            raise ReviewError("no document under review")
        self._add_doc(doc_id)
        self.walk = GoldWalk(doc_id)
        self._reread()
        if it is not None and it.doc_id == doc_id:
            self.walk.index = next(
                (i for i, g in enumerate(self.walk.rows) if g["end"] > it.cluster.start), len(self.walk.rows) - 1
            )
            self.walk.index = max(0, self.walk.index)
        return self.walk

    def _walking(self) -> GoldWalk:
        if self.walk is None:
            raise ReviewError("not walking the gold (o opens the gold of this document)")
        return self.walk

    def _reread(self, select: tuple[int, int] | None = None) -> None:
        """Read the walked document's gold again; select the span at ``select`` if given."""
        w = self._walking()
        w.rows = self.store.gold_rows(w.doc_id)
        w.span, w.remove = None, False
        if select is not None:
            a, b = select
            w.index = next((i for i, g in enumerate(w.rows) if g["end"] > a), len(w.rows) - 1)
        w.index = max(0, min(w.index, len(w.rows) - 1))

    def _no_pending(self) -> None:
        if self.walk is not None and self.walk.pending:
            raise ReviewError("finish the correction first (enter saves, esc cancels)")

    @property
    def current_gold(self) -> GoldRow | None:
        return self.walk.current if self.walk is not None else None

    def gold_move(self, delta: int) -> Change:
        w = self._walking()
        self._no_pending()
        if w.rows:
            w.index = max(0, min(len(w.rows) - 1, w.index + delta))
        return Change(doc_id=w.doc_id)

    def gold_goto(self, index: int) -> Change:
        w = self._walking()
        self._no_pending()
        if w.rows:
            w.index = max(0, min(len(w.rows) - 1, index))
        return Change(doc_id=w.doc_id)

    def gold_doc(self, delta: int) -> Change:
        """The next (previous) document under review that has gold, wrapping around
        (any next document when none has)."""
        w = self._walking()
        self._no_pending()
        n = len(self.docs)
        i = self.docs.index(w.doc_id) if w.doc_id in self.docs else 0
        order = [self.docs[(i + k * (1 if delta > 0 else -1)) % n] for k in range(1, n + 1)]
        target = next((d for d in order if self.store.gold_rows(d)), order[0])
        self.walk = GoldWalk(target)
        self._reread()
        return Change(doc_id=target, document=True, message=f"gold of {target}: {len(self.walk.rows)} spans")

    def end_gold(self) -> None:
        self._no_pending()
        self.walk = None

    # ------------------------------------------------------------------ building a correction
    def _building(self) -> tuple[GoldWalk, dict]:
        w = self._walking()
        g = w.current
        if g is None:
            raise ReviewError(f"no gold span in {w.doc_id} (n adds one, tab: next document)")
        if w.remove:
            raise ReviewError("marked for removal: d again keeps it, enter removes it")
        if w.span is None:
            span = _span(g)
            attrs = g.get("attrs")
            span["attrs"] = dict(attrs) if attrs else None
            w.span = span
        return w, w.span

    def _built(self, *ranges: tuple[int, int]) -> Change:
        w = self._walking()
        g = w.current
        base = [(g["start"], g["end"])] if g else []
        return Change(spans=base + list(ranges), doc_id=w.doc_id)

    def correct_relabel(self, label: str) -> Change:
        if label not in LABELS:
            raise ReviewError(f"unknown label {label}")
        w, s = self._building()
        if s["label"] == label:
            return self._built()
        s["label"] = label
        if label != "QUANTITY":
            s["attrs"] = None
        elif not s.get("attrs"):
            s["attrs"] = derive_attrs(s["text"])
        return self._built()

    def correct_move(self, which: str, delta: int) -> Change:
        w, s = self._building()
        start, end = s["start"], s["end"]
        if which == "start":
            start += delta
        else:
            end += delta
        problem = self.span_problem(w.doc_id, start, end, {w.current["id"]} if w.current else set())
        if problem:
            raise ReviewError(problem)
        before = s["text"]
        s["start"], s["end"] = start, end
        s["text"] = self.text(w.doc_id)[start:end]
        if s["label"] == "QUANTITY" and attrs_follow_text(s.get("attrs"), before):
            s["attrs"] = derive_attrs(s["text"])  # the grammar's attrs follow the bounds; typed ones stay
        return self._built((start, end))

    def correct_set_attrs(self, attrs: dict | None) -> Change:
        w, s = self._building()
        if s["label"] != "QUANTITY":
            raise ReviewError("only QUANTITY spans have attributes (7 makes it QUANTITY)")
        err = validate_attrs("QUANTITY", attrs)
        if err:
            raise ReviewError(err)
        s["attrs"] = attrs or None
        return self._built()

    def correct_remove(self) -> Change:
        """Mark the selected gold span for removal (again: keep it); enter removes it."""
        w = self._walking()
        if w.current is None:
            raise ReviewError(f"no gold span in {w.doc_id}")
        w.remove = not w.remove
        if w.remove:
            w.span = None
        return self._built()

    def cancel_correct(self) -> None:
        if self.walk is not None:
            self.walk.span, self.walk.remove = None, False

    def span_problem(self, doc_id: str, start: int, end: int, exclude: set[int]) -> str | None:
        """Why gold ``[start, end)`` cannot be written over the gold rows ``exclude``, or None."""
        shape = span_shape_problem(self.text(doc_id), start, end)
        if shape is not None:
            return shape
        for it in self.items:
            c = it.cluster
            if it.doc_id == doc_id and not it.settled and c.start < end and start < c.end:
                return f"would reach into an unsettled disagreement {c.start}–{c.end}: settle it there first"
        for g in self.store.gold_rows(doc_id, overlapping=(start, end)):
            if g["id"] not in exclude:
                return f"would overlap gold {_where(g)} ({g['origin']}): n selects a span that replaces both"
        return None

    def save_correct(self) -> Change:
        """Write the correction of the selected gold span: one ``correct`` review row and the
        corrected gold row (none for a removal), one transaction."""
        w = self._walking()
        g = w.current
        if g is None or not w.pending:
            raise ReviewError("nothing changed (digits relabel, [ ] { } move, a attrs, d removes)")
        after: list[dict] = [] if w.span is None or w.remove else [dict(w.span)]
        if after and span_key(after[0]) == span_key(dict(g)):
            w.span = None
            raise ReviewError("nothing changed")
        if after and after[0]["label"] == "QUANTITY":
            err = validate_attrs("QUANTITY", after[0].get("attrs"))
            if err:
                raise ReviewError(err)
        return self._write_correct(w.doc_id, [g], after)

    def replace_gold(self, doc_id: str, start: int, end: int, label: str, attrs: dict | None) -> Change:
        """Replace every gold span overlapping ``[start, end)`` with that new span (the add mode's
        replace): one ``correct`` row, the new row of origin ``corrected``."""
        self._add_doc(doc_id)
        if label not in LABELS:
            raise ReviewError(f"unknown label {label!r}")
        if label != "QUANTITY" and attrs:
            raise ReviewError("only QUANTITY spans have attributes")
        err = validate_attrs(label, attrs or None)
        if err:
            raise ReviewError(err)
        before = self.store.gold_rows(doc_id, overlapping=(start, end))
        if not before:
            raise ReviewError("no gold span there to replace")
        span = {"start": start, "end": end, "label": label, "text": self.text(doc_id)[start:end], "attrs": attrs}
        return self._write_correct(doc_id, before, [span])

    def _write_correct(self, doc_id: str, before: list[GoldRow], after: list[dict]) -> Change:
        ts = now_iso()
        ids = {g["id"] for g in before}
        lo = min([g["start"] for g in before] + [s["start"] for s in after])
        hi = max([g["end"] for g in before] + [s["end"] for s in after])
        annotators = sorted({a for g in before for a in g["annotators"]})
        changes = span_changes([_span(g) for g in before], after) if after else [f"removed {_where(before[0])}"]
        with self.store.write():  # check and write in one transaction
            now = {x["id"]: x for x in self.store.gold_rows(doc_id)}
            for g in before:
                x = now.get(g["id"])
                if x is None or span_key(dict(x)) != span_key(dict(g)):
                    raise ReviewError(f"gold {_where(g)} changed meanwhile (another reviewer?): look again")
            for s in after:
                problem = self.span_problem(doc_id, s["start"], s["end"], ids)
                if problem:
                    raise ReviewError(problem)
            rows: list[NewGold] = [new_gold(s, CORRECTED, self.reviewer, annotators, ts) for s in after]
            kept = [{k: g[k] for k in _ROW_KEYS} for g in before]  # type: ignore[literal-required]
            payload = {
                "policy": self.policy,
                "range": [lo, hi],
                "before": kept,
                "after": after,
                "spans": after,
                "changes": changes,
                "replaced": kept,
            }
            log = self._log("correct", f"gold:{lo}-{hi}", after, payload, ts)
            rid = self.store.settle(doc_id, remove=sorted(ids), insert=rows, log=log, log_gold_ids=True).review_id
        assert rid is not None
        self._mine.add(rid)
        self.n_actions += 1
        if self.walk is not None and self.walk.doc_id == doc_id:
            self._reread(select=(lo, hi))
        what = ", ".join(_where(g) for g in before)
        if after:
            s = after[0]
            msg = f"corrected gold {what} → {_where(s)}" + (f" {describe_attrs(s['attrs'])}" if s.get("attrs") else "")
        else:
            msg = f"removed gold {what}"
        return Change(spans=[(lo, hi)], doc_id=doc_id, message=f"{msg} (u undoes)")
