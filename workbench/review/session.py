"""Review: where annotators differ, automatic gold where they agree, and the
reviewer's adjudication. The domain layer under ``workbench review``; no Textual.

Which documents are reviewed
    A document with assignments is ready once every assigned annotator has
    finished it; a document without assignments once at least two annotators
    have. Every annotator who finished it takes part (assigned or not).

Items
    The spans of all participating annotators in a document are clustered:
    spans that overlap (across annotators, transitively) form one cluster. An
    annotator's *version* of a cluster is the list of their spans in it (start,
    end, label, attrs), possibly empty. A cluster where one version is held by
    all annotators (policy ``unanimous``) or by more than half of them
    (``majority``) is settled automatically: its spans become gold with origin
    ``agreed`` (nothing, if the winning version is empty). Every other cluster
    is a disagreement *item* the reviewer settles: pick a version, edit one,
    or reject all (no gold). An item's key is derived from its range and its
    versions, so an item changes (and comes back) when an annotator reopens a
    document and changes it.

Writes
    Every reviewer action is one transaction: the ``reviews`` row (action,
    item key, payload with the versions shown, chosen annotators, gold row ids
    written and gold rows replaced) together with the ``gold`` rows. Undo
    deletes those gold rows, restores the replaced ones and logs an ``undo``
    row (payload ``{"undo": <review id>}``). Automatic gold is synchronised
    each time review starts: agreed rows no longer agreed are deleted, new ones
    inserted, and an ``agree`` row logs what changed.

Spans nobody made
    The reviewer may add a span no annotator made (``add``): inside the text,
    not empty, no line break, overlapping neither a gold span of the document
    nor an unsettled disagreement. It is written as a gold row (origin
    ``added``, the reviewer, no annotators) with an ``add`` review row, in one
    transaction.

Undo
    Undo reads the persisted review log, so it reaches across sessions: it
    takes the reviewer's own latest live (not undone) action in the documents
    under review (pick, edit, reject, skip, add; never an ``agree`` sync and
    never another reviewer's action). It is refused when another reviewer has
    since acted on an overlapping range (that action would be left dangling).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from workbench.core.spans import final_spans
from workbench.store.db import now_iso

from .agreement import AnnotationSet
from .core.labels import LABELS, validate_attrs
from .core.motions import next_word, prev_word, word_at
from .core.quantity import canonical_attrs, format_attrs

POLICIES = ("unanimous", "majority")
SETTLE_ACTIONS = ("pick", "edit", "reject")
UNDOABLE_ACTIONS = ("pick", "edit", "reject", "skip", "add")


class ReviewError(Exception):
    """An action refused for a reason the reviewer should read."""


def _attrs_json(a) -> str | None:
    """Attrs as a comparable key, by value (``15000000.0`` is ``15000000``)."""
    a = canonical_attrs(a)
    if a is None:
        return None
    return json.dumps(a, ensure_ascii=False, sort_keys=True)


def span_key(s: dict) -> tuple:
    return (s["start"], s["end"], s["label"], _attrs_json(s.get("attrs")))


def _clean(s: dict, text: str | None = None) -> dict:
    out = {
        "start": s["start"],
        "end": s["end"],
        "label": s["label"],
        "text": s["text"] if text is None else text[s["start"] : s["end"]],
        "attrs": s.get("attrs") or None,
    }
    return out


# ---------------------------------------------------------------------------- loading annotations


def load_annotation_set(store) -> AnnotationSet:
    """Every annotator's spans and proposal decisions in the documents they finished."""
    spans: dict[str, dict[str, list[dict]]] = {}
    decisions: dict[str, dict[str, dict[int, tuple[str, str]]]] = {}
    docs: set[str] = set()
    for ann in store.annotators():
        finished = store.finished_docs(ann)
        spans[ann], decisions[ann] = {}, {}
        for doc_id in finished:
            items = store.annotator_items(doc_id, ann)
            spans[ann][doc_id] = final_spans(items)
            dec = {}
            for it in items:
                if it["proposal_id"] is not None and it["status"] in ("accepted", "edited", "rejected"):
                    lab = (it.get("proposal") or {}).get("label") or it["label"]
                    dec[it["proposal_id"]] = (lab, "reject" if it["status"] == "rejected" else "accept")
            decisions[ann][doc_id] = dec
            docs.add(doc_id)
    n_chars = {}
    for doc_id in docs:
        n_chars[doc_id] = store.scalar("SELECT n_chars FROM documents WHERE id = ?", (doc_id,))
    return AnnotationSet(
        docs=n_chars, spans={a: d for a, d in spans.items() if d}, decisions={a: d for a, d in decisions.items() if d}
    )


def _doc_progress(store):
    """``(doc_id, annotators who finished it, annotators assigned or None)`` in ingest order."""
    assignments = store.assignments()
    finished = {a: store.finished_docs(a) for a in store.annotators()}
    for doc_id in store.document_ids():
        done = sorted(a for a, ds in finished.items() if doc_id in ds)
        yield doc_id, done, assignments.get(doc_id)


def reviewable_docs(store) -> list[tuple[str, list[str]]]:
    """``(doc_id, annotators who finished it)`` for the documents ready for review, in ingest order."""
    out = []
    for doc_id, done, assigned in _doc_progress(store):
        ready = all(a in done for a in assigned) if assigned else len(done) >= 2
        if ready and done:
            out.append((doc_id, done))
    return out


def waiting_docs(store) -> list[dict]:
    """Documents not ready yet, with who still has to finish them (for messages)."""
    out = []
    for doc_id, done, assigned in _doc_progress(store):
        if assigned:
            missing = [a for a in assigned if a not in done]
            if missing:
                out.append({"id": doc_id, "finished": done, "waiting_for": missing})
        elif 0 < len(done) < 2:
            out.append({"id": doc_id, "finished": done, "waiting_for": ["a second annotator"]})
    return out


# ---------------------------------------------------------------------------- clusters and items


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

    @property
    def key(self) -> str:
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
            per[ann].append(_clean(span))
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


def live_reviews(store, doc_id: str) -> list[dict]:
    """The document's review rows not undone, oldest first (payload decoded)."""
    rows = store.query(
        'SELECT id, doc_id, reviewer, ts, action, item_key, start, "end", label, attrs, payload'
        " FROM reviews WHERE doc_id = ? ORDER BY id",
        (doc_id,),
    )
    for r in rows:
        r["payload"] = json.loads(r["payload"]) if r["payload"] else {}
    undone = {r["payload"].get("undo") for r in rows if r["action"] == "undo"}
    return [r for r in rows if r["action"] != "undo" and r["id"] not in undone]


def settled_items(store, doc_id: str) -> dict[str, dict]:
    """item key → the live review row that settled it."""
    return {r["item_key"]: r for r in live_reviews(store, doc_id) if r["action"] in SETTLE_ACTIONS}


def undone_review_ids(store) -> set[int]:
    """Ids of the review rows an ``undo`` row cancels."""
    out = set()
    for (payload,) in store.conn.execute("SELECT payload FROM reviews WHERE action = 'undo'"):
        target = (json.loads(payload) if payload else {}).get("undo")
        if target is not None:
            out.add(int(target))
    return out


def review_extent(row: dict) -> tuple[int, int] | None:
    """The text range a review row touched: the item's range and the spans written."""
    p = row["payload"] or {}
    points = [tuple(p["range"])] if p.get("range") else []
    points += [(x["start"], x["end"]) for x in p.get("spans", [])]
    if row.get("start") is not None:
        points.append((row["start"], row["end"]))
    if not points:
        return None
    return min(a for a, _ in points), max(b for _, b in points)


# ---------------------------------------------------------------------------- gold writes


def _gold_rows(store, doc_id: str, where: str = "", params=()) -> list[dict]:
    rows = store.query(
        'SELECT id, doc_id, start, "end", label, text, attrs, origin, reviewer, annotators, ts'
        f" FROM gold WHERE doc_id = ? {where} ORDER BY start, id",
        (doc_id, *params),
    )
    for r in rows:
        r["attrs"] = json.loads(r["attrs"]) if r["attrs"] else None
        r["annotators"] = json.loads(r["annotators"]) if r["annotators"] else []
    return rows


def _insert_gold(conn, doc_id: str, s: dict, origin: str, reviewer: str | None, annotators: list[str], ts: str) -> int:
    cur = conn.execute(
        'INSERT INTO gold (doc_id, start, "end", label, text, attrs, origin, reviewer, annotators, ts)'
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            doc_id,
            s["start"],
            s["end"],
            s["label"],
            s["text"],
            _attrs_json(s.get("attrs")),
            origin,
            reviewer,
            json.dumps(sorted(annotators), ensure_ascii=False),
            ts,
        ),
    )
    return cur.lastrowid


def _log(
    conn, doc_id: str, reviewer: str, action: str, item_key: str | None, spans: list[dict], payload: dict, ts: str
) -> int:
    one = spans[0] if len(spans) == 1 else None
    cur = conn.execute(
        'INSERT INTO reviews (doc_id, reviewer, ts, action, item_key, start, "end", label, attrs, payload)'
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            doc_id,
            reviewer,
            ts,
            action,
            item_key,
            one["start"] if one else None,
            one["end"] if one else None,
            one["label"] if one else None,
            _attrs_json(one.get("attrs")) if one else None,
            json.dumps(payload, ensure_ascii=False),
        ),
    )
    return cur.lastrowid


def sync_agreed(store, doc_id: str, clusters: list[Cluster], policy: str, reviewer: str) -> tuple[int, int]:
    """Make the document's ``agreed`` gold rows equal the clusters settled by ``policy``.

    Agreed spans that overlap a reviewer's gold row are left to the reviewer's
    decision. Returns (rows added, rows removed); logs an ``agree`` review row
    when something changed. One transaction.
    """
    desired: dict[tuple, tuple[dict, list[str]]] = {}
    for c in clusters:
        w = c.winner(policy)
        if w is not None:
            for s in w.spans:
                desired[span_key(s)] = (s, w.annotators)
    ts = now_iso()
    with store.write() as conn:
        gold = _gold_rows(store, doc_id)
        agreed = {span_key(g): g for g in gold if g["origin"] == "agreed"}
        others = [g for g in gold if g["origin"] != "agreed"]
        removed = [g for k, g in agreed.items() if k not in desired]
        for g in removed:
            conn.execute("DELETE FROM gold WHERE id = ?", (g["id"],))
        added = []
        for k, (s, anns) in desired.items():
            if k in agreed:
                continue
            if any(o["start"] < s["end"] and s["start"] < o["end"] for o in others):
                continue
            added.append(s)
            _insert_gold(conn, doc_id, s, "agreed", reviewer, anns, ts)
        if added or removed:
            _log(
                conn,
                doc_id,
                reviewer,
                "agree",
                None,
                [],
                {
                    "policy": policy,
                    "added": added,
                    "removed": [
                        {k: g[k] for k in ("start", "end", "label", "text", "attrs", "annotators")} for g in removed
                    ],
                },
                ts,
            )
    return len(added), len(removed)


# ---------------------------------------------------------------------------- the session


@dataclass
class Item:
    """One disagreement in the review list."""

    cluster: Cluster
    status: str = "open"  # open, picked, edited, rejected, skipped, added
    review_id: int | None = None  # the review row that set the status
    chosen: str = ""  # short description of the outcome
    version: int | None = None  # 0-based version taken as gold (pick, or an edit equal to one)

    @property
    def doc_id(self) -> str:
        return self.cluster.doc_id

    @property
    def key(self) -> str:
        return self.cluster.key

    @property
    def versions(self) -> list[Version]:
        return self.cluster.versions

    @property
    def settled(self) -> bool:
        return self.status in ("picked", "edited", "rejected", "added")

    @property
    def added(self) -> bool:
        return self.cluster.added


@dataclass
class Draft:
    """The spans being edited for an item (edit mode)."""

    item: Item
    base: int  # version index it started from
    spans: list[dict]
    current: int = 0


@dataclass
class AddDraft:
    """A span being selected to add (add mode): the caret, an optional anchor
    (the selection runs anchor..caret inclusive, else it is the word under the
    caret), the label and QUANTITY attrs chosen so far."""

    doc_id: str
    caret: int
    anchor: int | None = None
    label: str | None = None
    attrs: dict | None = None


@dataclass
class Summary:
    documents: int = 0
    waiting: int = 0
    agreed_added: int = 0
    agreed_removed: int = 0
    agreed_spans: int = 0
    items: int = 0
    already_settled: int = 0
    by_doc: dict[str, int] = field(default_factory=dict)


class ReviewSession:
    """The unsettled disagreements of the reviewable documents, a cursor, and one
    method per reviewer action. Every action commits before returning."""

    def __init__(self, store, reviewer: str, *, policy: str = "unanimous", doc_ids: list[str] | None = None):
        if not reviewer or not reviewer.strip():
            raise ReviewError("reviewer name is empty")
        if policy not in POLICIES:
            raise ReviewError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}")
        self.store = store
        self.reviewer = reviewer.strip()
        self.policy = policy
        self.doc_ids = doc_ids
        self.items: list[Item] = []
        self.cursor = 0
        self.draft: Draft | None = None
        self.add_draft: AddDraft | None = None
        self.docs: list[str] = []  # documents under review, ingest order
        self._texts: dict[str, str] = {}
        self._words: dict[str, object] = {}
        self._ranges: dict[str, list[tuple[int, int, str]]] = {}  # doc -> all cluster ranges (+key)
        self._clusters: dict[str, list[Cluster]] = {}
        self._annotators: dict[str, list[str]] = {}
        self._mine: set[int] = set()  # review ids written by this session
        self.n_actions = 0
        self.summary = self.load()

    # ------------------------------------------------------------------ loading
    def load(self) -> Summary:
        """Synchronise automatic gold and collect the unsettled items."""
        s = Summary()
        self.items = []
        docs = reviewable_docs(self.store)
        if self.doc_ids is not None:
            wanted = set(self.doc_ids)
            docs = [d for d in docs if d[0] in wanted]
        s.waiting = len(waiting_docs(self.store))
        self.docs = [d for d, _ in docs]
        for doc_id, anns in docs:
            by_ann = {a: self.store.annotator_spans(doc_id, a) for a in anns}
            clusters = cluster_doc(doc_id, by_ann)
            add, rem = sync_agreed(self.store, doc_id, clusters, self.policy, self.reviewer)
            s.agreed_added += add
            s.agreed_removed += rem
            settled = settled_items(self.store, doc_id)
            self._clusters[doc_id] = clusters
            self._annotators[doc_id] = list(anns)
            self._ranges[doc_id] = [(c.start, c.end, c.key) for c in clusters]
            n_open = 0
            for c in clusters:
                w = c.winner(self.policy)
                if w is not None:
                    s.agreed_spans += len(w.spans)
                    continue
                if c.key in settled:
                    s.already_settled += 1
                    continue
                self.items.append(Item(c))
                n_open += 1
            s.documents += 1
            if n_open:
                s.by_doc[doc_id] = n_open
        s.items = len(self.items)
        self.cursor = 0
        return s

    def text(self, doc_id: str) -> str:
        t = self._texts.get(doc_id)
        if t is None:
            t = self._texts[doc_id] = self.store.scalar("SELECT text FROM documents WHERE id = ?", (doc_id,))
        return t

    def words(self, doc_id: str):
        """Word starts of the document (from the proposer), or None: the add-mode caret's word steps."""
        if doc_id not in self._words:
            doc = self.store.get_document(doc_id)
            self._words[doc_id] = doc.get("words") if doc else None
        return self._words[doc_id]

    def gold(self, doc_id: str) -> list[dict]:
        """The document's gold rows now (every origin), by start."""
        return _gold_rows(self.store, doc_id)

    # ------------------------------------------------------------------ state
    @property
    def current(self) -> Item | None:
        return self.items[self.cursor] if self.items else None

    @property
    def open_count(self) -> int:
        return sum(1 for it in self.items if not it.settled)

    def _not_busy(self) -> None:
        if self.draft is not None:
            raise ReviewError("finish the edit first (enter saves, esc cancels)")
        if self.add_draft is not None:
            raise ReviewError("finish the new span first (enter saves, esc cancels)")

    def move(self, delta: int) -> None:
        self._not_busy()
        if self.items:
            self.cursor = max(0, min(len(self.items) - 1, self.cursor + delta))

    def set_cursor(self, index: int) -> None:
        self._not_busy()
        if self.items:
            self.cursor = max(0, min(len(self.items) - 1, index))

    def _advance(self) -> None:
        """To the next open item after the cursor (wrapping); else the next skipped one; else stay."""
        n = len(self.items)
        for wanted in ("open", "skipped"):
            for k in range(1, n):
                i = (self.cursor + k) % n
                if self.items[i].status == wanted:
                    self.cursor = i
                    return

    def _require(self) -> Item:
        self._not_busy()
        it = self.current
        if it is None:
            raise ReviewError("nothing to review")
        return it

    # ------------------------------------------------------------------ settling
    def _settle(self, it: Item, action: str, spans: list[dict], chosen: list[str], base: int | None) -> int:
        if it.added:
            raise ReviewError("this span was added by a reviewer; u undoes it")
        if it.settled:
            raise ReviewError(f"already settled ({it.chosen}); u undoes it")
        doc_id = it.doc_id
        text = self.text(doc_id)
        spans = [_clean(s, text) for s in spans]
        ts = now_iso()
        lo = min([it.cluster.start] + [s["start"] for s in spans])
        hi = max([it.cluster.end] + [s["end"] for s in spans])
        with self.store.write() as conn:
            other = settled_items(self.store, doc_id).get(it.key)
            if other is not None:
                raise ReviewError(f"{other['reviewer']} settled this item meanwhile ({other['action']})")
            replaced = _gold_rows(self.store, doc_id, 'AND start < ? AND "end" > ?', (hi, lo))
            for g in replaced:
                conn.execute("DELETE FROM gold WHERE id = ?", (g["id"],))
            gold_ids = []
            for s in spans:
                holders = [
                    a for v in it.versions for a in v.annotators if span_key(s) in {span_key(x) for x in v.spans}
                ]
                gold_ids.append(_insert_gold(conn, doc_id, s, "adjudicated", self.reviewer, holders, ts))
            payload = {
                "policy": self.policy,
                "range": [it.cluster.start, it.cluster.end],
                "versions": [v.as_dict() for v in it.versions],
                "chosen": chosen,
                "base_version": base,
                "spans": spans,
                "gold_ids": gold_ids,
                "replaced": [
                    {
                        k: g[k]
                        for k in ("start", "end", "label", "text", "attrs", "origin", "reviewer", "annotators", "ts")
                    }
                    for g in replaced
                ],
            }
            rid = _log(conn, doc_id, self.reviewer, action, it.key, spans, payload, ts)
        self._mine.add(rid)
        self.n_actions += 1
        it.review_id = rid
        return rid

    def pick(self, n: int) -> str:
        """Take version ``n`` (1-based) as gold."""
        it = self._require()
        if not 1 <= n <= len(it.versions):
            raise ReviewError(f"no version {n} (this item has {len(it.versions)})")
        v = it.versions[n - 1]
        self._settle(it, "pick" if v.spans else "reject", v.spans, v.annotators, n - 1)
        it.status = "picked" if v.spans else "rejected"
        it.version = n - 1
        it.chosen = f"{n}: {', '.join(v.annotators)}" if v.spans else f"{n}: no span ({', '.join(v.annotators)})"
        msg = f"version {n} ({', '.join(v.annotators)}) → gold: {describe_spans(v.spans)}"
        self._advance()
        return msg

    def reject(self) -> str:
        """No span here: nothing of this item goes to gold."""
        it = self._require()
        self._settle(it, "reject", [], [], None)
        it.status, it.chosen = "rejected", "rejected all"
        self._advance()
        return "rejected all versions: no gold span here"

    def skip(self) -> str:
        it = self._require()
        if it.settled:
            self._advance()
            return "already settled"
        with self.store.write() as conn:
            rid = _log(
                conn,
                it.doc_id,
                self.reviewer,
                "skip",
                it.key,
                [],
                {"range": [it.cluster.start, it.cluster.end]},
                now_iso(),
            )
        self._mine.add(rid)
        self.n_actions += 1
        it.status, it.review_id, it.chosen = "skipped", rid, "skipped"
        self._advance()
        return "skipped (stays unsettled)"

    def undo_target(self) -> dict | None:
        """The review row ``undo`` would cancel: this reviewer's latest live action
        (pick, edit, reject, skip, add) in the documents under review, from this
        session or an earlier one; None when there is none."""
        docs = set(self.docs)
        undone = undone_review_ids(self.store)
        marks = ",".join("?" * len(UNDOABLE_ACTIONS))
        cur = self.store.conn.execute(
            'SELECT id, doc_id, reviewer, ts, action, item_key, start, "end", label, payload FROM reviews'
            f" WHERE reviewer = ? AND action IN ({marks}) ORDER BY id DESC",
            (self.reviewer, *UNDOABLE_ACTIONS),
        )
        cols = [c[0] for c in cur.description]
        for values in cur:
            row = dict(zip(cols, values))
            if row["id"] in undone or row["doc_id"] not in docs:
                continue
            row["payload"] = json.loads(row["payload"]) if row["payload"] else {}
            return row
        return None

    def _later_conflict(self, row: dict, undone: set[int]) -> dict | None:
        """Another reviewer's live action after ``row`` on an overlapping range."""
        ext = review_extent(row)
        if ext is None or row["action"] == "skip":
            return None
        for r in live_reviews(self.store, row["doc_id"]):
            if r["id"] <= row["id"] or r["id"] in undone or r["action"] not in SETTLE_ACTIONS + ("add",):
                continue
            e = review_extent(r)
            if e is not None and e[0] < ext[1] and ext[0] < e[1]:
                return r
        return None

    def undo(self) -> str:
        """Undo this reviewer's latest live action in the documents under review,
        any depth, across sessions (read from the review log): gold rows written
        are deleted, replaced ones restored, an ``undo`` row is logged. An item
        it settled is open again; a span it added is gone."""
        self._not_busy()
        ts = now_iso()
        with self.store.write() as conn:
            row = self.undo_target()
            if row is None:
                raise ReviewError(f"nothing to undo: no action of {self.reviewer}'s left in these documents")
            doc_id, action, payload = row["doc_id"], row["action"], row["payload"]
            other = self._later_conflict(row, undone_review_ids(self.store))
            if other is not None:
                raise ReviewError(
                    f"cannot undo your {action} at {doc_id} {_where(row)}: {other['reviewer']} has since "
                    f"{other['action']}ed an overlapping range (review {other['id']}); they can undo theirs first"
                )
            for gid in payload.get("gold_ids", []):
                conn.execute("DELETE FROM gold WHERE id = ?", (gid,))
            kept = _gold_rows(self.store, doc_id)
            skipped = 0
            for g in payload.get("replaced", []):
                if any(k["start"] < g["end"] and g["start"] < k["end"] for k in kept):
                    skipped += 1  # the range is taken by newer gold: do not make gold overlap
                    continue
                _insert_gold(conn, doc_id, g, g["origin"], g["reviewer"], g["annotators"], g["ts"])
            _log(conn, doc_id, self.reviewer, "undo", row["item_key"], [], {"undo": row["id"], "action": action}, ts)
            if action != "skip" and doc_id in self._clusters:
                # a range freed may hold spans now agreed automatically (e.g. under another policy)
                sync_agreed(self.store, doc_id, self._clusters[doc_id], self.policy, self.reviewer)
        self.n_actions += 1
        ext = review_extent(row)
        snippet = ""
        if ext:
            snip = self.text(doc_id)[ext[0] : ext[1]].replace("\n", "⏎")
            snippet = f" 「{snip if len(snip) <= 24 else snip[:23] + '…'}」"
        msg = f"undid {action}{snippet} at {doc_id} {_where(row)}"
        if row["id"] not in self._mine:
            msg += f" (earlier session, {row['ts'][:16].replace('T', ' ')})"
        if skipped:
            msg += f"; {skipped} earlier gold span{'s' if skipped > 1 else ''} not restored (overlap newer gold)"
        self._reopen(row)
        return msg

    def _reopen(self, row: dict) -> None:
        """Bring the in-memory list in line with an undone review row."""
        doc_id, key, action = row["doc_id"], row["item_key"], row["action"]
        idx = next((i for i, it in enumerate(self.items) if it.key == key and it.doc_id == doc_id), None)
        if action == "add":
            if idx is not None:
                self.items.pop(idx)
                self.cursor = max(0, min(idx, len(self.items) - 1))
            return
        if idx is not None:
            it = self.items[idx]
            it.status, it.review_id, it.chosen, it.version = "open", None, "", None
            self.cursor = idx
            return
        if action == "skip":
            return
        # settled in an earlier session: list it again if it is still a disagreement
        c = next((c for c in self._clusters.get(doc_id, []) if c.key == key), None)
        if c is not None and c.winner(self.policy) is None:
            self.cursor = self._insert_item(Item(c))

    def _insert_item(self, item: Item) -> int:
        """Insert ``item`` in document order, then by start; return its index."""
        order = {d: i for i, d in enumerate(self.docs)}
        k = (order.get(item.doc_id, len(order)), item.cluster.start, item.cluster.end)
        i = 0
        while i < len(self.items):
            it = self.items[i]
            if (order.get(it.doc_id, len(order)), it.cluster.start, it.cluster.end) > k:
                break
            i += 1
        self.items.insert(i, item)
        return i

    # ------------------------------------------------------------------ adding a span nobody made
    def _add_doc(self, doc_id: str) -> None:
        if doc_id not in self._clusters:
            raise ReviewError(f"{doc_id} is not under review in this session")

    def add_problem(self, doc_id: str, start: int, end: int) -> str | None:
        """Why a span ``[start, end)`` cannot be added to ``doc_id``, or None."""
        self._add_doc(doc_id)
        text = self.text(doc_id)
        if not 0 <= start < end <= len(text):
            return "a span cannot be empty or leave the text"
        if "\n" in text[start:end]:
            return "a span cannot take in a line break"
        for it in self.items:
            if it.doc_id == doc_id and not it.settled:
                c = it.cluster
                if c.start < end and start < c.end:
                    return (
                        f"overlaps an unsettled disagreement {c.start}–{c.end} 「{text[c.start : c.end]}」: "
                        "settle it there (a version, or e to edit one)"
                    )
        for g in _gold_rows(self.store, doc_id, 'AND start < ? AND "end" > ?', (end, start)):
            who = f" by {g['reviewer']}" if g["origin"] in ("added", "adjudicated") and g["reviewer"] else ""
            return f"overlaps gold {g['label']}「{g['text']}」 {g['start']}–{g['end']} ({g['origin']}{who})"
        return None

    def add_span(self, doc_id: str, start: int, end: int, label: str, attrs: dict | None = None) -> str:
        """Put a span no annotator made into gold (origin ``added``): one gold row
        and an ``add`` review row, one transaction. It is listed as a settled item."""
        if label not in LABELS:
            raise ReviewError(f"unknown label {label!r} (one of {', '.join(LABELS)})")
        if label != "QUANTITY" and attrs:
            raise ReviewError("only QUANTITY spans have attributes")
        if attrs == {}:
            attrs = None
        err = validate_attrs(label, attrs)
        if err:
            raise ReviewError(err)
        if start > end:
            start, end = end, start
        text = self.text(doc_id) if doc_id in self._clusters else None
        ts = now_iso()
        with self.store.write() as conn:
            problem = self.add_problem(doc_id, start, end)  # read again inside the transaction
            if problem:
                raise ReviewError(problem)
            span = {"start": start, "end": end, "label": label, "text": text[start:end], "attrs": attrs}
            gid = _insert_gold(conn, doc_id, span, "added", self.reviewer, [], ts)
            payload = {"policy": self.policy, "range": [start, end], "spans": [span], "gold_ids": [gid], "replaced": []}
            rid = _log(conn, doc_id, self.reviewer, "add", added_key(start, end), [span], payload, ts)
        self._mine.add(rid)
        self.n_actions += 1
        c = Cluster(doc_id, start, end, [Version([span], [])], self._annotators.get(doc_id, []), added=True)
        it = Item(c, status="added", review_id=rid, chosen=f"by {self.reviewer}, no annotator had it", version=0)
        self.cursor = self._insert_item(it)
        return f"added {label}「{span['text']}」 {start}–{end} to gold" + (f" {describe_attrs(attrs)}" if attrs else "")

    # the add mode: a selection built key by key, then saved
    def begin_add(self, doc_id: str | None = None) -> AddDraft:
        """Start selecting a new span: in ``doc_id`` (default: the current item's
        document), the caret just after the current item (or at the text start)."""
        self._not_busy()
        it = self.current
        if doc_id is None:
            if it is not None:
                doc_id = it.doc_id
            elif self.docs:
                doc_id = self.docs[0]
            else:
                raise ReviewError("no document under review")
        self._add_doc(doc_id)
        text = self.text(doc_id)
        caret = 0
        if it is not None and it.doc_id == doc_id:
            caret = it.cluster.end if not it.settled else it.cluster.start
        caret = max(0, min(caret, len(text) - 1))
        if text[caret : caret + 1] == "\n" and caret > 0:
            caret -= 1
        self.add_draft = AddDraft(doc_id, caret)
        return self.add_draft

    def _adding(self) -> AddDraft:
        if self.add_draft is None:
            raise ReviewError("not adding a span (n starts)")
        return self.add_draft

    def add_selection(self) -> tuple[int, int]:
        """The selection: anchor..caret inclusive, or the word under the caret."""
        d = self._adding()
        if d.anchor is None:
            return word_at(self.text(d.doc_id), self.words(d.doc_id), d.caret)
        a, b = sorted((d.anchor, d.caret))
        return a, b + 1

    def add_move(self, delta: int) -> None:
        """Move the caret by ``delta`` characters (it does not rest on a line break)."""
        d = self._adding()
        text = self.text(d.doc_id)
        last = max(0, len(text) - 1)
        pos = max(0, min(last, d.caret + delta))
        step = 1 if delta > 0 else -1
        while delta and text[pos : pos + 1] == "\n" and 0 < pos < last:
            pos += step
        d.caret = pos

    def add_word(self, direction: int) -> None:
        d = self._adding()
        text, words = self.text(d.doc_id), self.words(d.doc_id)
        d.caret = next_word(text, words, d.caret) if direction > 0 else prev_word(text, words, d.caret)

    def add_anchor(self) -> None:
        """Set the anchor at the caret (again at the same place: drop it)."""
        d = self._adding()
        d.anchor = None if d.anchor == d.caret else d.caret

    def add_find(self, query: str, backwards: bool = False) -> tuple[int, int]:
        """Select the next (previous) occurrence of ``query`` after (before) the caret in
        the document, wrapping around: anchor on its first character, caret on its last."""
        d = self._adding()
        if not query:
            raise ReviewError("type the text to find")
        if "\n" in query:
            raise ReviewError("a span cannot take in a line break")
        text = self.text(d.doc_id)
        if backwards:
            i = text.rfind(query, 0, d.caret)
            if i < 0:
                i = text.rfind(query)
        else:
            i = text.find(query, d.caret + 1)
            if i < 0:
                i = text.find(query)
        if i < 0:
            raise ReviewError(f"「{query}」 is not in {d.doc_id}")
        d.anchor, d.caret = i, i + len(query) - 1
        return i, i + len(query)

    def add_drop_anchor(self) -> None:
        """Back to selecting the word under the caret."""
        self._adding().anchor = None

    def add_doc(self, delta: int) -> str:
        """Select in the next / previous document under review (caret at its start)."""
        d = self._adding()
        if not self.docs:
            raise ReviewError("no document under review")
        i = (self.docs.index(d.doc_id) + delta) % len(self.docs)
        d.doc_id, d.caret, d.anchor = self.docs[i], 0, None
        return d.doc_id

    def add_label(self, label: str) -> None:
        if label not in LABELS:
            raise ReviewError(f"unknown label {label}")
        d = self._adding()
        if d.label != label and label != "QUANTITY":
            d.attrs = None
        d.label = label

    def add_set_attrs(self, attrs: dict | None) -> None:
        d = self._adding()
        if d.label != "QUANTITY":
            raise ReviewError("only QUANTITY spans have attributes (7 makes it QUANTITY)")
        err = validate_attrs("QUANTITY", attrs)
        if err:
            raise ReviewError(err)
        d.attrs = attrs

    def add_check(self) -> str | None:
        """What would stop saving the selection now (for the screen), or None."""
        d = self._adding()
        a, b = self.add_selection()
        return self.add_problem(d.doc_id, a, b)

    def cancel_add(self) -> None:
        self.add_draft = None

    def save_add(self) -> str:
        d = self._adding()
        if d.label is None:
            raise ReviewError(f"choose a label first: {' '.join(f'{i}={x}' for i, x in enumerate(LABELS, 1))}")
        a, b = self.add_selection()
        self.add_draft = None
        try:
            return self.add_span(d.doc_id, a, b, d.label, d.attrs)
        except ReviewError:
            self.add_draft = d
            raise

    # ------------------------------------------------------------------ edit mode
    def begin_edit(self, version: int) -> Draft:
        """Start editing a copy of version ``version`` (0-based)."""
        it = self._require()
        if it.settled:
            raise ReviewError(f"already settled ({it.chosen}); u undoes it")
        if not 0 <= version < len(it.versions):
            raise ReviewError(f"no version {version + 1}")
        spans = [dict(s) for s in it.versions[version].spans]
        if not spans:
            raise ReviewError(f"version {version + 1} has no span: press {version + 1} to take it (no gold here)")
        self.draft = Draft(it, version, spans, 0)
        return self.draft

    def cancel_edit(self) -> None:
        self.draft = None

    def _draft_span(self) -> dict:
        if self.draft is None:
            raise ReviewError("not editing (e edits the highlighted version)")
        if not self.draft.spans:
            raise ReviewError("the draft has no span (esc cancels, enter saves it as reject)")
        return self.draft.spans[self.draft.current]

    def _check(self, start: int, end: int, exclude: dict) -> None:
        d = self.draft
        assert d is not None
        text = self.text(d.item.doc_id)
        if not 0 <= start < end <= len(text):
            raise ReviewError("a span cannot be empty or leave the text")
        if "\n" in text[start:end]:
            raise ReviewError("a span cannot take in a line break")
        for s in d.spans:
            if s is not exclude and s["start"] < end and start < s["end"]:
                raise ReviewError(f"would overlap {s['label']} 「{s['text']}」 of the draft")
        for a, b, key in self._ranges.get(d.item.doc_id, []):
            if key != d.item.key and a < end and start < b:
                raise ReviewError(f"would reach into another item ({a}–{b}); settle that one there")
        c = d.item.cluster
        for g in _gold_rows(self.store, d.item.doc_id, 'AND start < ? AND "end" > ?', (end, start)):
            if not (g["start"] < c.end and c.start < g["end"]):  # gold of this item's range is replaced on save
                raise ReviewError(
                    f"would overlap gold {g['label']}「{g['text']}」 {g['start']}–{g['end']} ({g['origin']})"
                )

    def draft_move(self, which: str, delta: int) -> None:
        s = self._draft_span()
        start, end = s["start"], s["end"]
        if which == "start":
            start += delta
        else:
            end += delta
        self._check(start, end, s)
        s["start"], s["end"] = start, end
        s["text"] = self.text(self.draft.item.doc_id)[start:end]

    def draft_relabel(self, label: str) -> None:
        if label not in LABELS:
            raise ReviewError(f"unknown label {label}")
        s = self._draft_span()
        if s["label"] == label:
            return
        s["label"] = label
        if label != "QUANTITY":
            s["attrs"] = None
        else:
            same = [
                x
                for v in self.draft.item.versions
                for x in v.spans
                if x["label"] == "QUANTITY" and x["attrs"] and (x["start"], x["end"]) == (s["start"], s["end"])
            ]
            s["attrs"] = dict(same[0]["attrs"]) if same else None

    def draft_set_attrs(self, attrs: dict | None) -> None:
        s = self._draft_span()
        if s["label"] != "QUANTITY":
            raise ReviewError("only QUANTITY spans have attributes")
        err = validate_attrs("QUANTITY", attrs)
        if err:
            raise ReviewError(err)
        s["attrs"] = attrs

    def draft_select(self, delta: int) -> None:
        d = self.draft
        if d is None or not d.spans:
            return
        d.current = (d.current + delta) % len(d.spans)

    def draft_drop(self) -> None:
        d = self.draft
        self._draft_span()
        d.spans.pop(d.current)
        d.current = max(0, min(d.current, len(d.spans) - 1))

    def draft_from(self, version: int) -> None:
        """Replace the draft with a copy of another version."""
        d = self.draft
        if d is None:
            raise ReviewError("not editing")
        if not 0 <= version < len(d.item.versions):
            raise ReviewError(f"no version {version + 1}")
        d.base, d.spans, d.current = version, [dict(s) for s in d.item.versions[version].spans], 0

    def save_edit(self) -> str:
        d = self.draft
        if d is None:
            raise ReviewError("not editing")
        it = d.item
        spans = sorted(d.spans, key=lambda s: s["start"])
        for s in spans:
            if s["label"] == "QUANTITY":
                err = validate_attrs("QUANTITY", s.get("attrs"))
                if err:
                    raise ReviewError(err)
        same = [v for v in it.versions if [span_key(s) for s in v.spans] == [span_key(s) for s in spans]]
        self.draft = None
        try:
            if same:
                v = same[0]
                action = "pick" if spans else "reject"
                self._settle(it, action, spans, v.annotators, it.versions.index(v))
                it.status = "picked" if spans else "rejected"
                it.version = it.versions.index(v)
                it.chosen = f"{it.versions.index(v) + 1}: {', '.join(v.annotators)}"
            elif not spans:
                self._settle(it, "reject", [], [], d.base)
                it.status, it.chosen = "rejected", "rejected all"
            else:
                self._settle(it, "edit", spans, [], d.base)
                it.status, it.chosen = "edited", f"edited from {d.base + 1}"
        except ReviewError:
            self.draft = d
            raise
        self._advance()
        return f"{it.chosen} → gold: {describe_spans(spans)}"


def _where(row: dict) -> str:
    ext = review_extent(row)
    return f"{ext[0]}–{ext[1]}" if ext else ""


def describe_attrs(attrs: dict | None) -> str:
    """QUANTITY attrs for a message: ``8次``, ``1500万斤 (more)``."""
    return format_attrs(attrs)


def describe_spans(spans: list[dict]) -> str:
    if not spans:
        return "no span"
    return ", ".join(f"{s['label']}「{s['text']}」{s['start']}–{s['end']}" for s in spans)


# ---------------------------------------------------------------------------- history


def history(store, doc_id: str) -> dict:
    """The decision log and the review log of a document, oldest first."""
    decisions = store.decisions(doc_id)
    for d in decisions:
        d["attrs"] = json.loads(d["attrs"]) if d["attrs"] else None
    reviews = store.query(
        'SELECT id, reviewer, ts, action, item_key, start, "end", label, attrs, payload'
        " FROM reviews WHERE doc_id = ? ORDER BY id",
        (doc_id,),
    )
    for r in reviews:
        r["attrs"] = json.loads(r["attrs"]) if r["attrs"] else None
        r["payload"] = json.loads(r["payload"]) if r["payload"] else None
    return {"id": doc_id, "decisions": decisions, "reviews": reviews}
