"""Clusters of overlapping annotator spans, their versions, and the automatic
(``agreed``) gold they settle under a policy. The base of the review package:
:class:`ReviewError` and the policies live here too."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from workbench.store.db import now_iso
from workbench.store.review import NewGold, ReviewLog
from workbench.store.review import attrs_json as _attrs_json  # compares attrs by value (canonical_attrs)

from .history import live_reviews

POLICIES = ("unanimous", "majority")


class ReviewError(Exception):
    """An action refused for a reason the reviewer should read."""


def span_key(s: dict) -> tuple:
    return (s["start"], s["end"], s["label"], _attrs_json(s.get("attrs")))


def clean_span(s: dict, text: str | None = None) -> dict:
    """The span fields only (attrs None when empty); ``text`` re-read from the document when given."""
    return {
        "start": s["start"],
        "end": s["end"],
        "label": s["label"],
        "text": s["text"] if text is None else text[s["start"] : s["end"]],
        "attrs": s.get("attrs") or None,
    }


@dataclass
class Version:
    spans: list[dict]  # clean spans, sorted
    annotators: list[str]  # who made exactly this version

    def as_dict(self) -> dict:
        return {"annotators": self.annotators, "spans": self.spans}


@dataclass
class Cluster:
    doc_id: str
    start: int
    end: int
    versions: list[Version]  # most supported first; the empty version included
    annotators: list[str]  # everybody taking part in the document
    added: bool = False  # a span the reviewer added (one version, nobody's)

    @cached_property
    def key(self) -> str:
        """A stable id of the cluster's range and versions (a cluster is never changed once
        made; cached: the review list asks for every item's key on each undo)."""
        if self.added:
            return added_key(self.start, self.end)
        blob = json.dumps(
            [[v.annotators, [list(span_key(s)) for s in v.spans]] for v in self.versions],
            ensure_ascii=False,
            sort_keys=True,
        )
        return f"{self.start}-{self.end}:{hashlib.sha1(blob.encode()).hexdigest()[:12]}"

    def winner(self, policy: str) -> Version | None:
        """The version settled automatically under ``policy``, or None."""
        n = len(self.annotators)
        top = self.versions[0]
        if len(top.annotators) == n:
            return top
        if policy == "majority" and 2 * len(top.annotators) > n:
            return top
        return None

    @property
    def kinds(self) -> list[str]:
        """What differs: ``missing`` (some annotators have no span here), ``boundary``,
        ``label``, ``attrs``; ``added`` for a span the reviewer added."""
        if self.added:
            return ["added"]
        kinds = []
        nonempty = [v for v in self.versions if v.spans]
        if len(nonempty) < len(self.versions):
            kinds.append("missing")
        ranges = {tuple((s["start"], s["end"]) for s in v.spans) for v in nonempty}
        if len(ranges) > 1:
            kinds.append("boundary")
        by_range: dict[tuple, set] = {}
        by_range_label: dict[tuple, set] = {}
        for v in nonempty:
            for s in v.spans:
                by_range.setdefault((s["start"], s["end"]), set()).add(s["label"])
                by_range_label.setdefault((s["start"], s["end"], s["label"]), set()).add(_attrs_json(s["attrs"]))
        labels = {s["label"] for v in nonempty for s in v.spans}
        if any(len(x) > 1 for x in by_range.values()) or (len(ranges) > 1 and len(labels) > 1):
            kinds.append("label")
        if any(len(x) > 1 for x in by_range_label.values()):
            kinds.append("attrs")
        return kinds


def span_shape_problem(text: str, start: int, end: int) -> str | None:
    """Why ``[start, end)`` cannot be a gold span of ``text`` whatever else is there, or None."""
    if not 0 <= start < end <= len(text):
        return "a span cannot be empty or leave the text"
    if "\n" in text[start:end]:
        return "a span cannot take in a line break"
    return None


def added_key(start: int, end: int) -> str:
    return f"add:{start}-{end}"


def cluster_doc(doc_id: str, by_annotator: dict[str, list[dict]]) -> list[Cluster]:
    """Cluster overlapping spans of all annotators of one document."""
    tagged = sorted(
        ((s["start"], s["end"], ann, s) for ann, spans in by_annotator.items() for s in spans),
        key=lambda t: (t[0], t[1], t[2]),
    )
    annotators = sorted(by_annotator)
    groups: list[list[tuple]] = []
    end = -1
    for t in tagged:
        if groups and t[0] < end:
            groups[-1].append(t)
            end = max(end, t[1])
        else:
            groups.append([t])
            end = t[1]
    out = []
    for g in groups:
        per: dict[str, list[dict]] = {a: [] for a in annotators}
        for _s, _e, ann, span in g:
            per[ann].append(clean_span(span))
        versions: dict[tuple, Version] = {}
        for ann in annotators:
            sp = sorted(per[ann], key=lambda s: (s["start"], s["end"], s["label"]))
            k = tuple(span_key(s) for s in sp)
            versions.setdefault(k, Version(sp, [])).annotators.append(ann)
        ordered = sorted(
            versions.values(),
            key=lambda v: (-len(v.annotators), not v.spans, [span_key(s)[:3] for s in v.spans], v.annotators),
        )
        out.append(Cluster(doc_id, g[0][0], max(t[1] for t in g), ordered, annotators))
    return out


def new_gold(s: dict, origin: str, reviewer: str | None, annotators: list[str], ts: str) -> NewGold:
    """A gold row to write for span ``s``."""
    return {
        "start": s["start"],
        "end": s["end"],
        "label": s["label"],
        "text": s["text"],
        "attrs": s.get("attrs"),
        "origin": origin,
        "reviewer": reviewer,
        "annotators": annotators,
        "ts": ts,
    }


SINGLE = "single-annotator"
# gold the sync writes and rewrites by itself (the reviewer's own rows are never touched)
AUTOMATIC = ("agreed", SINGLE)


def corrected_away(store, doc_id: str) -> set[tuple]:
    """Span keys of automatic gold that a live ``correct`` review row replaced (relabelled,
    moved, removed): the sync does not write them again."""
    return {
        span_key(g)
        for r in live_reviews(store, doc_id, ("correct",))
        for g in r["payload"].get("before", [])
        if g.get("origin") in AUTOMATIC
    }


def sync_agreed(
    store, doc_id: str, clusters: list[Cluster], policy: str, reviewer: str, within: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Make the document's ``agreed`` gold rows equal the clusters settled by ``policy``.

    ``within``: only the clusters overlapping that range and the gold overlapping them (an undo
    frees one range; the rest of the document was in sync already, and re-reading its whole
    gold cost ~30 ms per undo at 4,000 gold spans).

    Agreed spans that overlap a reviewer's gold row are left to the reviewer's
    decision, and agreed spans a live correction replaced are not written again
    (:func:`corrected_away`). Returns (rows added, rows removed); logs an ``agree`` review row
    when something changed. One transaction.
    """
    desired: dict[tuple, tuple[dict, list[str]]] = {}
    annotators = {a for c in clusters for a in c.annotators}
    origin = SINGLE if len(annotators) == 1 else "agreed"
    span: tuple[int, int] | None = None
    if within is not None:
        clusters = [c for c in clusters if c.start < within[1] and within[0] < c.end]
        span = (min([within[0], *(c.start for c in clusters)]), max([within[1], *(c.end for c in clusters)]))
    for c in clusters:
        w = c.winner(policy)
        if w is not None:
            for s in w.spans:
                desired[span_key(s)] = (s, w.annotators)
    ts = now_iso()
    with store.write():  # read the gold and replace it in one transaction
        corrected = corrected_away(store, doc_id)
        gold = store.gold_rows(doc_id, overlapping=span)
        # automatic rows of the other origin (one annotator then, two now) are replaced
        agreed = {span_key(g): g for g in gold if g["origin"] == origin}
        others = [g for g in gold if g["origin"] not in AUTOMATIC]
        removed = [g for k, g in agreed.items() if k not in desired]
        removed += [g for g in gold if g["origin"] in AUTOMATIC and g["origin"] != origin]
        added = []
        for k, (s, _anns) in desired.items():
            if k in agreed or k in corrected:  # a reviewer's correction replaced it: it stays away
                continue
            if any(o["start"] < s["end"] and s["start"] < o["end"] for o in others):
                continue
            added.append(s)
        if added or removed:
            log: ReviewLog = {
                "reviewer": reviewer,
                "action": "agree",
                "item_key": None,
                "spans": [],
                "payload": {
                    "policy": policy,
                    "added": added,
                    "removed": [
                        {k: g[k] for k in ("start", "end", "label", "text", "attrs", "annotators")} for g in removed
                    ],
                },
                "ts": ts,
            }
            store.settle(
                doc_id,
                remove=[g["id"] for g in removed],
                insert=[new_gold(s, origin, reviewer, desired[span_key(s)][1], ts) for s in added],
                log=log,
            )
    return len(added), len(removed)
