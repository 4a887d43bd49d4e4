"""The review log read back: live (not undone) rows, which items they settled, the
range each touched, the ``workbench history`` view, and short descriptions for messages."""

from __future__ import annotations

import json

from workbench.core.quantity import format_attrs
from workbench.store.review import ReviewRow, attrs_json

SETTLE_ACTIONS = ("pick", "edit", "reject")
UNDOABLE_ACTIONS = ("pick", "edit", "reject", "skip", "add", "correct")
# actions that write gold over a range (another reviewer's later one blocks an undo there)
GOLD_ACTIONS = SETTLE_ACTIONS + ("add", "correct")


def live_reviews(store, doc_id: str, actions: tuple[str, ...] | None = None) -> list[ReviewRow]:
    """The document's review rows not undone, oldest first (payload decoded); only those of
    ``actions`` when given (read and decoded in SQL's filter, with the undo rows)."""
    rows = store.review_rows(doc_id, None if actions is None else (*actions, "undo"))
    undone = {r["payload"].get("undo") for r in rows if r["action"] == "undo"}
    return [r for r in rows if r["action"] != "undo" and r["id"] not in undone]


def settled_items(store, doc_id: str) -> dict[str, ReviewRow]:
    """item key → the live review row that settled it."""
    return {r["item_key"]: r for r in live_reviews(store, doc_id, SETTLE_ACTIONS) if r["item_key"]}


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


def _one(s: dict) -> str:
    return f"{s['label']}「{s['text']}」{s['start']}–{s['end']}"


def _pair_changes(a: dict, b: dict) -> list[str]:
    out = []
    if a["label"] != b["label"]:
        out.append(f"label {a['label']} → {b['label']}")
    if a["start"] != b["start"]:
        out.append(f"start {a['start']} → {b['start']}")
    if a["end"] != b["end"]:
        out.append(f"end {a['end']} → {b['end']}")
    if attrs_json(a.get("attrs")) != attrs_json(b.get("attrs")):
        out.append(f"attrs {format_attrs(a.get('attrs')) or 'none'} → {format_attrs(b.get('attrs')) or 'none'}")
    return out


def span_changes(before: list[dict], after: list[dict]) -> list[str]:
    """What changed from ``before`` to ``after`` (spans), for the review log and messages:
    ``label LOC → PROGRAM``, ``end 34 → 33``, ``attrs 8次 → 9次``, ``dropped …``, ``added …``.
    Spans are paired by overlap, in order; with several pairs each change names its span."""
    after_left = sorted(after, key=lambda s: (s["start"], s["end"]))
    pairs: list[tuple[dict, dict]] = []
    dropped = []
    for a in sorted(before, key=lambda s: (s["start"], s["end"])):
        b = next((x for x in after_left if x["start"] < a["end"] and a["start"] < x["end"]), None)
        if b is None:
            dropped.append(a)
        else:
            after_left.remove(b)
            pairs.append((a, b))
    out = []
    for a, b in pairs:
        changes = _pair_changes(a, b)
        if len(pairs) + len(dropped) + len(after_left) > 1:
            changes = [f"「{a['text']}」 {c}" for c in changes]
        out += changes
    out += [f"dropped {_one(a)}" for a in dropped]
    out += [f"added {_one(b)}" for b in after_left]
    return out


def review_outcome(r: dict) -> str:
    """One review row for ``workbench history``: what it did, in words."""
    p = r["payload"] or {}
    action = r["action"]
    if action == "undo":
        return f"undoes review {p.get('undo')} ({p.get('action')})"
    if action == "agree":
        return f"{len(p.get('added', []))} agreed spans added, {len(p.get('removed', []))} removed ({p.get('policy')})"
    if action == "skip":
        return "skipped"
    out = ", ".join(f"{s['label']} {s['start']}-{s['end']} 「{s['text']}」" for s in p.get("spans", [])) or "no span"
    if action == "correct":
        before = ", ".join(
            f"{g['label']} {g['start']}-{g['end']} 「{g['text']}」 ({g['origin']})" for g in p.get("before", [])
        )
        return f"corrected gold {before} → {out}" + (f": {'; '.join(p['changes'])}" if p.get("changes") else "")
    if action == "edit" or p.get("changes"):
        base = p.get("base_version")
        out = (f"edited version {base + 1} → " if base is not None else "edited → ") + out
        if p.get("changes"):
            out += f": {'; '.join(p['changes'])}"
        if p.get("equals_version") is not None:
            out += f"  (= version {p['equals_version'] + 1} of {', '.join(p.get('chosen', []))})"
        return out
    if p.get("chosen"):
        out += f"  (version of {', '.join(p['chosen'])})"
    if action == "add":
        out += "  (added by the reviewer: no annotator had it)"
    return out


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
