"""Deriving an annotator's current spans from the append-only decision log.

Pure functions over plain dicts: no SQL, no Textual. ``Store.annotator_items``
feeds them rows; tests can feed them lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import cast

from .types import Item, Span

STATUS = {
    "accept": "accepted",
    "reject": "rejected",
    "edit": "edited",
    "add": "added",
}


def _attrs(v):
    if v is None or isinstance(v, dict):
        return v
    return json.loads(v)


def undone_ids(decisions: Iterable[Mapping]) -> set[int]:
    """Ids of decisions cancelled by an ``undo`` (undo rows themselves are not undoable)."""
    return {d["ref_id"] for d in decisions if d["action"] == "undo" and d["ref_id"] is not None}


def derive_items(proposals: list[dict], decisions: list[dict]) -> list[Item]:
    """The annotator's view of one document.

    ``proposals``: rows with id, start, end, label, text, attrs, source, score, active.
    ``decisions``: this annotator's rows for the document, in log order.

    Returns items sorted by (start, end), each a dict with ``key`` (``p<id>`` for
    a proposal, ``d<id>`` for a span the annotator added), ``proposal_id``,
    ``start``, ``end``, ``label``, ``text``, ``attrs``, ``attrs_manual`` (a person typed
    the attrs), ``status`` (pending,
    accepted, rejected, edited, added), ``source``, ``score``, ``decision_id``
    (the decision that set the current state, or None), and ``proposal`` (the
    original proposal span for proposal items).
    Proposals from superseded (or deactivated) runs appear only if this annotator decided
    on them, so re-proposing never hides or loses earlier decisions. An identical span and
    label proposed by several sources is one pending item (the best-scored proposal).
    """
    undone = undone_ids(decisions)
    items: dict[str, dict] = {}
    by_pid: dict[int, dict] = {}
    for p in proposals:
        by_pid[p["id"]] = p
        if p.get("active", 1):
            items[f"p{p['id']}"] = _proposal_item(p)
    for d in decisions:
        if d["id"] in undone or d["action"] in ("undo", "finish", "reopen"):
            continue
        act = d["action"]
        if d.get("proposal_id") is not None:
            key = f"p{d['proposal_id']}"
            if key not in items:
                prop = by_pid.get(d["proposal_id"])
                if prop is None:
                    continue
                items[key] = _proposal_item(prop)
        elif act == "add":
            key = f"d{d['id']}"
            items[key] = {
                "key": key,
                "proposal_id": None,
                "source": "annotator",
                "score": None,
                "proposal": None,
            }
        elif d.get("ref_id") is not None:
            key = f"d{d['ref_id']}"
            if key not in items:
                continue
        else:
            continue
        it = items[key]
        if act == "remove":
            del items[key]
            continue
        if act != "reject":
            it.update(start=d["start"], end=d["end"], label=d["label"], text=d["text"], attrs=_attrs(d["attrs"]))
            it["attrs_manual"] = bool(d.get("attrs_manual")) and it["attrs"] is not None
        if it["proposal_id"] is None:
            it["status"] = "added"
        elif act == "accept" and it.get("status") == "edited":
            pass  # accepting an edited span keeps it edited
        else:
            it["status"] = STATUS[act]
        it["decision_id"] = d["id"]
    # After a re-run of a proposer, an identical span may be proposed again while the
    # annotator already decided it on the old run: show the decision, not a duplicate.
    decided = {(i["start"], i["end"], i["label"]) for i in items.values() if i["status"] != "pending"}
    # The same span and label proposed by several sources (rules, an imported model) is one
    # item: the best-scored proposal (then the first) stands for all of them.
    pending: dict[tuple, dict] = {}
    for i in items.values():
        k = (i["start"], i["end"], i["label"])
        if i["status"] != "pending" or k in decided:
            continue
        best = pending.get(k)
        if best is None or _rank(i) < _rank(best):
            pending[k] = i
    out = sorted(
        [i for i in items.values() if i["status"] != "pending"] + list(pending.values()),
        key=lambda i: (i["start"], i["end"], i["label"]),
    )
    return cast(list[Item], out)


def _rank(i: dict) -> tuple:
    return (-(i["score"] if i["score"] is not None else -1.0), i["proposal_id"] or 0)


def _proposal_item(p: dict) -> dict:
    attrs = _attrs(p.get("attrs"))
    return {
        "key": f"p{p['id']}",
        "proposal_id": p["id"],
        "start": p["start"],
        "end": p["end"],
        "label": p["label"],
        "text": p["text"],
        "attrs": attrs,
        "attrs_manual": False,
        "status": "pending",
        "source": p.get("source"),
        "score": p.get("score"),
        "decision_id": None,
        "proposal": {"start": p["start"], "end": p["end"], "label": p["label"], "attrs": attrs},
    }


def final_spans(items: Iterable[Item] | Iterable[dict]) -> list[Span]:
    """The spans an annotator asserts: accepted, edited and added (not pending or rejected)."""
    return [
        Span(start=i["start"], end=i["end"], label=i["label"], text=i["text"], attrs=i["attrs"])
        for i in items
        if i["status"] in ("accepted", "edited", "added")
    ]


def is_finished(decisions: list[dict]) -> bool:
    """A document is finished for an annotator after a (not undone) ``finish``
    with no later ``reopen``."""
    undone = undone_ids(decisions)
    state = False
    for d in decisions:
        if d["id"] in undone:
            continue
        if d["action"] == "finish":
            state = True
        elif d["action"] == "reopen":
            state = False
    return state
