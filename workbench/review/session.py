"""The review session: the unsettled disagreements of the reviewable documents, a
cursor, and one method per reviewer action (pick, reject, skip, undo, add). Every
action commits before returning and returns a :class:`workbench.session.Change`
naming the items it changed. The edit and add modes live in :mod:`.drafts`."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core.flags import attach_flags
from workbench.core.labels import LABELS, validate_attrs
from workbench.core.names import clean_name
from workbench.session import Change, control_warning
from workbench.store.db import now_iso
from workbench.store.review import NewGold, ReviewLog, ReviewRow

from .clustering import (
    AUTOMATIC,
    POLICIES,
    Cluster,
    ReviewError,
    Version,
    added_key,
    clean_span,
    cluster_doc,
    new_gold,
    span_key,
    span_shape_problem,
    sync_agreed,
)
from .correct import GoldCorrections, GoldWalk
from .drafts import AddDraft, AddDrafts, Draft, EditDrafts
from .history import (
    GOLD_ACTIONS,
    UNDOABLE_ACTIONS,
    describe_attrs,
    describe_spans,
    live_reviews,
    review_extent,
    settled_items,
    undone_review_ids,
    where,
)
from .readiness import extra_annotators, reviewable_docs, waiting_docs

_REPLACED_KEYS = ("id", "start", "end", "label", "text", "attrs", "origin", "reviewer", "annotators", "ts")


def _renames(rows: list[ReviewRow]) -> dict[int, int]:
    """Gold ids an undo restored under a new id: old → new (from the undo rows' payloads)."""
    out: dict[int, int] = {}
    for r in rows:
        if r["action"] == "undo":
            out.update({int(k): int(v) for k, v in (r["payload"].get("renamed") or {}).items()})
    return out


def _follow(renamed: dict[int, int], gid: int) -> int:
    seen = set()
    while gid in renamed and gid not in seen:
        seen.add(gid)
        gid = renamed[gid]
    return gid


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
class Summary:
    documents: int = 0
    waiting: int = 0
    agreed_added: int = 0
    agreed_removed: int = 0
    agreed_spans: int = 0
    items: int = 0
    already_settled: int = 0
    by_doc: dict[str, int] = field(default_factory=dict)
    gold_only: int = 0  # --all: documents with gold that are not ready (walked, not synced)
    extra: dict[str, list[str]] = field(default_factory=dict)  # doc → finished but not assigned
    flags: dict[str, int] = field(default_factory=dict)  # doc → annotators' unsure flags in force


class ReviewSession(EditDrafts, AddDrafts, GoldCorrections):
    """The unsettled disagreements of the reviewable documents, a cursor, and one
    method per reviewer action. Every action commits before returning.

    With ``all_docs`` the documents under review are also those that have gold but are
    not ready (an annotator reopened one): their gold can be walked and corrected; the
    automatic sync leaves them alone (it runs on ready documents only)."""

    def __init__(
        self,
        store,
        reviewer: str,
        *,
        policy: str = "unanimous",
        doc_ids: list[str] | None = None,
        all_docs: bool = False,
    ):
        try:
            reviewer = clean_name(reviewer, what="reviewer name")
        except ValueError as e:
            raise ReviewError(str(e)) from None
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
        self.walk: GoldWalk | None = None
        self.all_docs = all_docs
        self.docs: list[str] = []  # documents under review, ingest order
        self._texts: dict[str, str] = {}
        self._words: dict[str, object] = {}
        self._warnings: dict[str, str | None] = {}
        self._ranges: dict[str, list[tuple[int, int, str]]] = {}  # doc -> all cluster ranges (+key)
        self._clusters: dict[str, list[Cluster]] = {}
        self._annotators: dict[str, list[str]] = {}
        self._mine: set[int] = set()  # review ids written by this session
        self._flags: dict[str, list[dict]] = {}  # doc -> the annotators' unsure flags (flags())
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
        s.extra = {d: a for d, a in extra_annotators(self.store).items() if d in {x for x, _ in docs}}
        self.docs = [d for d, _ in docs]
        for doc_id, anns in docs:
            by_ann = {a: self.store.annotator_spans(doc_id, a) for a in anns}
            clusters = cluster_doc(doc_id, by_ann)
            add, rem = sync_agreed(self.store, doc_id, clusters, self.policy, self.reviewer)
            s.agreed_added += add
            s.agreed_removed += rem
            s.agreed_spans += sum(1 for g in self.store.gold_rows(doc_id) if g["origin"] in AUTOMATIC)
            settled = settled_items(self.store, doc_id)
            self._clusters[doc_id] = clusters
            self._annotators[doc_id] = list(anns)
            self._flags[doc_id] = self._read_flags(doc_id, anns)
            if self._flags[doc_id]:
                s.flags[doc_id] = len(self._flags[doc_id])
            self._ranges[doc_id] = [(c.start, c.end, c.key) for c in clusters]
            n_open = 0
            for c in clusters:
                if c.winner(self.policy) is not None:
                    continue
                if c.key in settled:
                    s.already_settled += 1
                    continue
                self.items.append(Item(c))
                n_open += 1
            s.documents += 1
            if n_open:
                s.by_doc[doc_id] = n_open
        if self.all_docs:
            ready = set(self.docs)
            wanted_ids = None if self.doc_ids is None else set(self.doc_ids)
            more = [
                d for d in self.store.docs_with_gold() if d not in ready and (wanted_ids is None or d in wanted_ids)
            ]
            s.gold_only = len(more)
            order = {d: i for i, d in enumerate(self.store.document_ids())}
            self.docs = sorted(self.docs + more, key=lambda d: order.get(d, len(order)))
        s.items = len(self.items)
        self.cursor = 0
        return s

    def _read_flags(self, doc_id: str, annotators) -> list[dict]:
        """The annotators' unsure flags in ``doc_id`` (annotate ``!`` / ``F``), each
        ``{"annotator", "document", "note", "start", "end", "label", "text", "status"}``
        (``document``: the whole document, no span), the document's first, then by span."""
        out: list[dict] = []
        for a in annotators:
            now = self.store.flags_in_force(doc_id, a)
            if not now:
                continue
            items = self.store.annotator_items(doc_id, a)
            doc_flag, by_key = attach_flags(now, items)
            if doc_flag is not None:
                out.append(
                    {"annotator": a, "document": True, "note": doc_flag["note"], "start": None, "end": None}
                    | {"label": None, "text": None, "status": None}
                )
            for it in items:
                f = by_key.get(it["key"])
                if f is not None:
                    out.append(
                        {"annotator": a, "document": False, "note": f["note"], "start": it["start"], "end": it["end"]}
                        | {"label": it["label"], "text": it["text"], "status": it["status"]}
                    )
        out.sort(key=lambda f: (not f["document"], f["start"] or 0, f["end"] or 0, f["annotator"]))
        return out

    def flags(self, doc_id: str) -> list[dict]:
        """The annotators' unsure flags in a document under review (see :meth:`_read_flags`)."""
        return self._flags.get(doc_id, [])

    def item_flags(self, item: Item) -> list[dict]:
        """The flags a reviewer should see beside a disagreement: the document's, and those
        on spans that overlap the disagreement's range."""
        c = item.cluster
        return [f for f in self.flags(c.doc_id) if f["document"] or (f["start"] < c.end and f["end"] > c.start)]

    def text(self, doc_id: str) -> str:
        t = self._texts.get(doc_id)
        if t is None:
            t = self._texts[doc_id] = self.store.document_text(doc_id)
        return t

    def words(self, doc_id: str):
        """Word starts of the document (from the proposer), or None: the add-mode caret's word steps."""
        if doc_id not in self._words:
            doc = self.store.get_document(doc_id)
            self._words[doc_id] = doc.get("words") if doc else None
        return self._words[doc_id]

    def control_warning(self, doc_id: str) -> str | None:
        """The document's control-character warning (from its ingest flags), or None."""
        if doc_id not in self._warnings:
            doc = self.store.get_document(doc_id)
            self._warnings[doc_id] = control_warning(doc.get("flags")) if doc else None
        return self._warnings[doc_id]

    def gold(self, doc_id: str) -> list[dict]:
        """The document's gold rows now (every origin), by start."""
        return self.store.gold_rows(doc_id)

    # ------------------------------------------------------------------ state
    @property
    def current(self) -> Item | None:
        return self.items[self.cursor] if self.items else None

    @property
    def open_count(self) -> int:
        return sum(1 for it in self.items if not it.settled)

    def _not_busy(self) -> None:
        if self.walk is not None and self.walk.pending:
            raise ReviewError("finish the correction first (enter saves, esc cancels)")
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

    def _log(self, action: str, item_key: str | None, spans: list, payload: dict, ts: str) -> ReviewLog:
        return {
            "reviewer": self.reviewer,
            "action": action,
            "item_key": item_key,
            "spans": spans,
            "payload": payload,
            "ts": ts,
        }

    # ------------------------------------------------------------------ settling
    def _settle(
        self,
        it: Item,
        action: str,
        spans: list[dict],
        chosen: list[str],
        base: int | None,
        extra: dict | None = None,
    ) -> Change:
        """Write the item's gold (replacing the gold of its range) and its review row, one
        transaction. Returns the change: the item, the ranges of gold written and replaced."""
        if it.added:
            raise ReviewError("this span was added by a reviewer; u undoes it")
        if it.settled:
            raise ReviewError(f"already settled ({it.chosen}); u undoes it")
        doc_id = it.doc_id
        text = self.text(doc_id)
        clean = [clean_span(s, text) for s in spans]
        ts = now_iso()
        lo = min([it.cluster.start] + [s["start"] for s in clean])
        hi = max([it.cluster.end] + [s["end"] for s in clean])
        with self.store.write():  # the check and the write in one transaction
            other = settled_items(self.store, doc_id).get(it.key)
            if other is not None:
                raise ReviewError(f"{other['reviewer']} settled this item meanwhile ({other['action']})")
            replaced = self.store.gold_rows(doc_id, overlapping=(lo, hi))
            rows: list[NewGold] = []
            for s in clean:
                holders = [
                    a for v in it.versions for a in v.annotators if span_key(s) in {span_key(x) for x in v.spans}
                ]
                rows.append(new_gold(s, "adjudicated", self.reviewer, holders, ts))
            payload = {
                "policy": self.policy,
                "range": [it.cluster.start, it.cluster.end],
                "versions": [v.as_dict() for v in it.versions],
                "chosen": chosen,
                "base_version": base,
                "spans": clean,
                "replaced": [{k: g[k] for k in _REPLACED_KEYS} for g in replaced],
                **(extra or {}),
            }
            log = self._log(action, it.key, clean, payload, ts)
            done = self.store.settle(
                doc_id, remove=[g["id"] for g in replaced], insert=rows, log=log, log_gold_ids=True
            )
        rid = done.review_id
        assert rid is not None
        self._mine.add(rid)
        self.n_actions += 1
        it.review_id = rid
        ranges = [(lo, hi)] + [(g["start"], g["end"]) for g in replaced]
        return Change(keys={it.key}, spans=ranges, doc_id=doc_id)

    def pick(self, n: int) -> Change:
        """Take version ``n`` (1-based) as gold."""
        it = self._require()
        if not 1 <= n <= len(it.versions):
            raise ReviewError(f"no version {n} (this item has {len(it.versions)})")
        v = it.versions[n - 1]
        ch = self._settle(it, "pick" if v.spans else "reject", v.spans, v.annotators, n - 1)
        it.status = "picked" if v.spans else "rejected"
        it.version = n - 1
        it.chosen = f"{n}: {', '.join(v.annotators)}" if v.spans else f"{n}: no span ({', '.join(v.annotators)})"
        ch.message = f"version {n} ({', '.join(v.annotators)}) → gold: {describe_spans(v.spans)}"
        self._advance()
        return ch

    def reject(self) -> Change:
        """No span here: nothing of this item goes to gold."""
        it = self._require()
        ch = self._settle(it, "reject", [], [], None)
        it.status, it.chosen = "rejected", "rejected all"
        self._advance()
        ch.message = "rejected all versions: no gold span here"
        return ch

    def skip(self) -> Change:
        it = self._require()
        if it.settled:
            self._advance()
            return Change(message="already settled")
        payload = {"range": [it.cluster.start, it.cluster.end]}
        rid = self.store.settle(it.doc_id, log=self._log("skip", it.key, [], payload, now_iso())).review_id
        assert rid is not None
        self._mine.add(rid)
        self.n_actions += 1
        it.status, it.review_id, it.chosen = "skipped", rid, "skipped"
        self._advance()
        return Change(keys={it.key}, doc_id=it.doc_id, message="skipped (stays unsettled)")

    def undo_target(self) -> ReviewRow | None:
        """The review row ``undo`` would cancel: this reviewer's latest live action
        (pick, edit, reject, skip, add) in the documents under review, from this
        session or an earlier one; None when there is none."""
        return self.store.latest_review(self.reviewer, UNDOABLE_ACTIONS, set(self.docs), undone_review_ids(self.store))

    def _later_conflict(self, row: ReviewRow, undone: set[int]) -> ReviewRow | None:
        """Another reviewer's live action after ``row`` on an overlapping range."""
        ext = review_extent(row)
        if ext is None or row["action"] == "skip":
            return None
        for r in live_reviews(self.store, row["doc_id"], GOLD_ACTIONS):
            if r["id"] <= row["id"] or r["id"] in undone:
                continue
            e = review_extent(r)
            if e is not None and e[0] < ext[1] and ext[0] < e[1]:
                return r
        return None

    def undo(self) -> Change:
        """Undo this reviewer's latest live action in the documents under review,
        any depth, across sessions (read from the review log): gold rows written
        are deleted, replaced ones restored, an ``undo`` row is logged. An item
        it settled is open again; a span it added is gone."""
        self._not_busy()
        ts = now_iso()
        with self.store.write():  # find, check and undo in one transaction
            row = self.undo_target()
            if row is None:
                raise ReviewError(f"nothing to undo: no action of {self.reviewer}'s left in these documents")
            doc_id, action, payload, row_id = row["doc_id"], row["action"], row["payload"], row["id"]
            other = self._later_conflict(row, undone_review_ids(self.store))
            if other is not None:
                raise ReviewError(
                    f"cannot undo your {action} at {doc_id} {where(row)}: {other['reviewer']} has since "
                    f"{other['action']}ed an overlapping range (review {other['id']}); they can undo theirs first"
                )
            renamed = _renames(self.store.review_rows(doc_id, ("undo",)))
            written = {_follow(renamed, i) for i in payload.get("gold_ids", [])}
            replaced = payload.get("replaced", [])
            hull = (min(g["start"] for g in replaced), max(g["end"] for g in replaced)) if replaced else None
            # only the gold where a replaced row would go back matters (not the whole document's)
            kept = [g for g in self.store.gold_rows(doc_id, overlapping=hull) if g["id"] not in written] if hull else []
            restore: list[NewGold] = []
            skipped = 0
            for g in replaced:
                if any(k["start"] < g["end"] and g["start"] < k["end"] for k in kept):
                    skipped += 1  # the range is taken by newer gold: do not make gold overlap
                    continue
                back = new_gold(g, g["origin"], g["reviewer"], g["annotators"], g["ts"])
                if g.get("id") is not None:
                    back["id"] = g["id"]  # under its id: earlier actions' gold_ids name it
                restore.append(back)
            done = self.store.settle(doc_id, remove=sorted(written), insert=restore)
            undo_payload: dict = {"undo": row_id, "action": action}
            moved = {str(r.get("id")): new for r, new in zip(restore, done.gold_ids) if r.get("id") not in (None, new)}
            if moved:
                undo_payload["renamed"] = moved  # restored under a new id (its old one was taken)
            self.store.settle(doc_id, log=self._log("undo", row["item_key"], [], undo_payload, ts))
            if action != "skip" and doc_id in self._clusters:
                # a range freed may hold spans now agreed automatically (e.g. under another policy)
                # the undo changed gold only in the row's range and the rows it restored: sync that range
                ext = review_extent(row)
                pts = ([ext] if ext else []) + [(g["start"], g["end"]) for g in payload.get("replaced", [])]
                freed = (min(a for a, _ in pts), max(b for _, b in pts)) if pts else None
                sync_agreed(self.store, doc_id, self._clusters[doc_id], self.policy, self.reviewer, within=freed)
        self.n_actions += 1
        ext = review_extent(row)
        snippet = ""
        if ext:
            snip = self.text(doc_id)[ext[0] : ext[1]].replace("\n", "⏎")
            snippet = f" 「{snip if len(snip) <= 24 else snip[:23] + '…'}」"
        msg = f"undid {action}{snippet} at {doc_id} {where(row)}"
        if row["id"] not in self._mine:
            msg += f" (earlier session, {row['ts'][:16].replace('T', ' ')})"
        if skipped:
            msg += f"; {skipped} earlier gold span{'s' if skipped > 1 else ''} not restored (overlap newer gold)"
        ch = self._reopen(row)
        ch.message, ch.doc_id = msg, doc_id
        ch.spans = [ext] if ext else []
        if self.walk is not None:
            if self.walk.doc_id != doc_id:  # show the gold the undo changed
                self.walk = GoldWalk(doc_id)
                ch.document = True
            self._reread(select=ext)
        return ch

    def _reopen(self, row: ReviewRow) -> Change:
        """Bring the in-memory list in line with an undone review row; what changed in it."""
        doc_id, key, action = row["doc_id"], row["item_key"] or "", row["action"]
        idx = next((i for i, it in enumerate(self.items) if it.key == key and it.doc_id == doc_id), None)
        if action == "correct":
            return Change()  # gold only: no item changes
        if action == "add":
            if idx is not None:
                self.items.pop(idx)
                self.cursor = max(0, min(idx, len(self.items) - 1))
                return Change(removed={key}, reordered=True)
            return Change()
        if idx is not None:
            it = self.items[idx]
            it.status, it.review_id, it.chosen, it.version = "open", None, "", None
            self.cursor = idx
            return Change(keys={key})
        if action == "skip":
            return Change()
        # settled in an earlier session: list it again if it is still a disagreement
        c = next((c for c in self._clusters.get(doc_id, []) if c.key == key), None)
        if c is not None and c.winner(self.policy) is None:
            self.cursor = self._insert_item(Item(c))
            return Change(keys={key}, reordered=True)
        return Change()

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
        if doc_id not in self._clusters and doc_id not in self.docs:
            raise ReviewError(f"{doc_id} is not under review in this session")

    def add_problem(self, doc_id: str, start: int, end: int, replace: bool = False) -> str | None:
        """Why a span ``[start, end)`` cannot be added to ``doc_id``, or None (with ``replace``
        overlapping gold is no obstacle: it would be replaced)."""
        self._add_doc(doc_id)
        text = self.text(doc_id)
        shape = span_shape_problem(text, start, end)
        if shape is not None:
            return shape
        for it in self.items:
            if it.doc_id == doc_id and not it.settled:
                c = it.cluster
                if c.start < end and start < c.end:
                    return (
                        f"overlaps an unsettled disagreement {c.start}–{c.end} 「{text[c.start : c.end]}」: "
                        "settle it there (a version, or e to edit one)"
                    )
        for g in [] if replace else self.store.gold_rows(doc_id, overlapping=(start, end)):
            who = f" by {g['reviewer']}" if g["origin"] in ("added", "adjudicated") and g["reviewer"] else ""
            return f"overlaps gold {g['label']}「{g['text']}」 {g['start']}–{g['end']} ({g['origin']}{who})"
        return None

    def add_span(self, doc_id: str, start: int, end: int, label: str, attrs: dict | None = None) -> Change:
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
        self._add_doc(doc_id)
        text = self.text(doc_id)
        ts = now_iso()
        key = added_key(start, end)
        with self.store.write():  # the check and the write in one transaction
            problem = self.add_problem(doc_id, start, end)  # read again inside the transaction
            if problem:
                raise ReviewError(problem)
            span = {"start": start, "end": end, "label": label, "text": text[start:end], "attrs": attrs}
            payload = {"policy": self.policy, "range": [start, end], "spans": [span], "replaced": []}
            log = self._log("add", key, [span], payload, ts)
            row = new_gold(span, "added", self.reviewer, [], ts)
            rid = self.store.settle(doc_id, insert=[row], log=log, log_gold_ids=True).review_id
        assert rid is not None
        self._mine.add(rid)
        self.n_actions += 1
        c = Cluster(doc_id, start, end, [Version([span], [])], self._annotators.get(doc_id, []), added=True)
        it = Item(c, status="added", review_id=rid, chosen=f"by {self.reviewer}, no annotator had it", version=0)
        self.cursor = self._insert_item(it)
        msg = f"added {label}「{span['text']}」 {start}–{end} to gold" + (f" {describe_attrs(attrs)}" if attrs else "")
        return Change(keys={key}, spans=[(start, end)], reordered=True, doc_id=doc_id, message=msg)
