"""The review log read back: live (not undone) rows, which items they settled, the
range each touched, the ``workbench history`` view, and short descriptions for messages."""

from __future__ import annotations

import json

from workbench.core.quantity import format_attrs
from workbench.store.review import ReviewRow

SETTLE_ACTIONS = ("pick", "edit", "reject")
UNDOABLE_ACTIONS = ("pick", "edit", "reject", "skip", "add")


def live_reviews(store, doc_id: str) -> list[ReviewRow]:
    """The document's review rows not undone, oldest first (payload decoded)."""
    rows = store.review_rows(doc_id)
    undone = {r["payload"].get("undo") for r in rows if r["action"] == "undo"}
    return [r for r in rows if r["action"] != "undo" and r["id"] not in undone]


def settled_items(store, doc_id: str) -> dict[str, ReviewRow]:
    """item key → the live review row that settled it."""
    return {r["item_key"]: r for r in live_reviews(store, doc_id) if r["action"] in SETTLE_ACTIONS and r["item_key"]}


def undone_review_ids(store) -> set[int]:
    """Ids of the review rows an ``undo`` row cancels."""
    return store.undone_review_ids()


def review_extent(row: ReviewRow | dict) -> tuple[int, int] | None:
    """The text range a review row touched: the item's range and the spans written."""
    p = row["payload"] or {}
    points = [tuple(p["range"])] if p.get("range") else []
    points += [(x["start"], x["end"]) for x in p.get("spans", [])]
    if row.get("start") is not None:
        points.append((row["start"], row["end"]))
    if not points:
        return None
    return min(a for a, _ in points), max(b for _, b in points)


def where(row: ReviewRow | dict) -> str:
    """The range a review row touched, for a message: ``555–559``."""
    ext = review_extent(row)
    return f"{ext[0]}–{ext[1]}" if ext else ""


def describe_attrs(attrs: dict | None) -> str:
    """QUANTITY attrs for a message: ``8次``, ``1500万斤 (more)``."""
    return format_attrs(attrs)


def describe_spans(spans: list[dict]) -> str:
    if not spans:
        return "no span"
    return ", ".join(f"{s['label']}「{s['text']}」{s['start']}–{s['end']}" for s in spans)


def history(store, doc_id: str) -> dict:
    """The decision log and the review log of a document, oldest first."""
    decisions = store.decisions(doc_id)
    for d in decisions:
        d["attrs"] = json.loads(d["attrs"]) if d["attrs"] else None
    reviews = []
    for r in store.review_rows(doc_id):
        row = {k: v for k, v in r.items() if k != "doc_id"}
        row["payload"] = row["payload"] or None
        reviews.append(row)
    return {"id": doc_id, "decisions": decisions, "reviews": reviews}
