"""One annotator's annotation session: the domain layer under the annotate TUI.

The TUI (``workbench/tui``) only renders this object's state and calls its
methods; tests and the concurrency checks drive it directly. It never imports
Textual or jieba.

Every action writes to the database first (``Store.record_decision`` commits
before returning) and only then updates the in-memory state, so whatever the
screen shows as done is already on disk. Decisions carry the full span
(start, end, label, text, attrs) and the proposal id they answer; decisions on
a span the annotator added carry ``ref_id`` = the ``add`` decision's id.

Rules this class enforces (and the help screen states):

* Spans are flat (annotation guide): an action that would make one of the
  annotator's spans (accepted / edited / added) overlap another of them is
  refused with a message. Pending and rejected proposals may overlap anything.
* Boundary moves are clamped to the text, never make a span empty and never
  take in a line break.
* ``x`` on a span the annotator added removes it (a ``remove`` decision);
  on a proposal it is a ``reject``.
* Any change to a proposal (label, boundaries, attrs) is an ``edit``; a
  rejected proposal that is edited becomes an edited span.
* After accept / reject / skip the cursor goes to the next pending item after
  it (or the next item when none is pending further on).
* ``accept_all`` writes all its accepts in one transaction and tags them with
  one batch origin, so a single ``undo`` takes the whole batch back.
* Annotators work blind: only this annotator's decisions are ever read.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field

from workbench.core.spans import undone_ids

from .core import quantity
from .core.labels import LABELS, validate_attrs
from .core.motions import next_word, prev_word, word_at

FINAL = ("accepted", "edited", "added")
STATUSES = ("pending", "accepted", "rejected", "edited", "added")
BATCH_ORIGIN = "tui-batch:"


class SessionError(Exception):
    """An action refused for a reason the annotator should read (shown in the status line)."""


@dataclass
class Change:
    """What an action changed, so a view can update only that."""

    keys: set[str] = field(default_factory=set)  # items added or modified
    removed: set[str] = field(default_factory=set)  # items that disappeared
    spans: list[tuple[int, int]] = field(default_factory=list)  # text ranges to repaint
    reordered: bool = False  # item order changed (a view must re-sync its rows)
    document: bool = False  # another document is open now
    message: str = ""
    doc_id: str | None = None  # the document keys and spans belong to (None: the one open; review spans several)


def _live_decisions(decisions: list[dict]) -> list[dict]:
    undone = undone_ids(decisions)
    return [d for d in decisions if d["action"] != "undo" and d["id"] not in undone]


def _sort_key(it: dict):
    return (it["start"], it["end"], it["label"])


class Queue:
    """The annotator's document queue, compact: a list of ids (strings, which the
    garbage collector does not track) and a ``bytearray`` of finished flags, instead
    of one dict per document. At 100,000 documents the dicts made every full
    collection walk 100k objects (25-50 ms pauses on document switches).

    Reads like the ``Store.queue`` rows: ``queue[i] == {"id": ..., "finished": ...}``."""

    __slots__ = ("ids", "finished")

    def __init__(self, rows: list[dict]):
        self.ids: list[str] = [r["id"] for r in rows]
        self.finished = bytearray(bool(r["finished"]) for r in rows)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"id": self.ids[i], "finished": bool(self.finished[i])}

    def __iter__(self):
        for i in range(len(self.ids)):
            yield self[i]


class AnnotationSession:
    """The queue, the open document, its items and a cursor, with one method per action."""

    def __init__(self, store, annotator: str, *, doc_id: str | None = None):
        if not annotator or not annotator.strip():
            raise SessionError("annotator name is empty")
        self.store = store
        self.annotator = annotator.strip()
        self.queue = Queue(store.queue(self.annotator))
        if not self.queue:
            raise SessionError("no documents to annotate (ingest and propose first)")
        self._positions: dict[str, str] = {}  # doc id -> item key last current
        self.doc_index = 0
        if doc_id is not None:
            ids = self.queue.ids
            if doc_id not in ids:
                if store.get_document(doc_id) is None:
                    raise SessionError(f"no document {doc_id!r} in {store.path}")
                raise SessionError(f"document {doc_id!r} is not in {self.annotator}'s queue")
            self.doc_index = ids.index(doc_id)
        self.doc: dict = {}
        self.items: list[dict] = []
        self._index: dict[str, int] = {}
        self.cursor = 0
        self.n_decisions = 0
        self.open(self.doc_index)

    # ------------------------------------------------------------------ state
    @property
    def doc_id(self) -> str:
        return self.doc["id"]

    @property
    def text(self) -> str:
        return self.doc["text"]

    @property
    def words(self):
        """Word start offsets saved at propose time (an ``array('I')``) or None."""
        return self.doc.get("words")

    @property
    def n_docs(self) -> int:
        return len(self.queue)

    @property
    def finished(self) -> bool:
        return bool(self.queue.finished[self.doc_index])

    @property
    def n_finished(self) -> int:
        # shown on every key: a C-level byte count (~50 µs at 100k documents),
        # not a walk over per-document objects
        return self.queue.finished.count(1)

    def _set_finished(self, value: bool) -> None:
        self.queue.finished[self.doc_index] = bool(value)

    @property
    def current(self) -> dict | None:
        return self.items[self.cursor] if self.items else None

    def counts(self) -> dict[str, int]:
        c = dict.fromkeys(STATUSES, 0)
        for it in self.items:
            c[it["status"]] += 1
        return c

    @property
    def pending_count(self) -> int:
        return sum(1 for it in self.items if it["status"] == "pending")

    def index_of(self, key: str) -> int | None:
        return self._index.get(key)

    def _reindex(self) -> None:
        self._index = {it["key"]: i for i, it in enumerate(self.items)}

    # ------------------------------------------------------------------ documents
    def open(self, index: int) -> Change:
        """Open the queue's ``index``-th document; resume where the annotator left off."""
        if self.doc:
            self._remember()
        index = max(0, min(index, len(self.queue) - 1))
        doc_id = self.queue.ids[index]
        doc = self.store.get_document(doc_id)
        if doc is None:  # deleted under us
            raise SessionError(f"document {doc_id!r} no longer exists")
        self.doc_index = index
        self.doc = doc
        self._reload()
        key = self._positions.get(doc_id)
        if key is not None and key in self._index:
            self.cursor = self._index[key]
        else:
            self.cursor = self._resume_index()
        return Change(document=True, reordered=True)

    def _reload(self) -> None:
        self.items = self.store.annotator_items(self.doc_id, self.annotator)
        self._reindex()
        decisions = self.store.decisions(self.doc_id, self.annotator)
        self.n_decisions = len(_live_decisions(decisions))
        self._set_finished(self.store.is_finished(self.doc_id, self.annotator))

    def _resume_index(self) -> int:
        for i, it in enumerate(self.items):
            if it["status"] == "pending":
                return i
        decided = [(it["decision_id"], i) for i, it in enumerate(self.items) if it["decision_id"] is not None]
        return max(decided)[1] if decided else 0

    def _remember(self) -> None:
        cur = self.current
        if cur is not None:
            self._positions[self.doc_id] = cur["key"]

    def next_doc(self) -> Change:
        if self.doc_index >= len(self.queue) - 1:
            raise SessionError("this is the last document of the queue")
        return self.open(self.doc_index + 1)

    def prev_doc(self) -> Change:
        if self.doc_index == 0:
            raise SessionError("this is the first document of the queue")
        return self.open(self.doc_index - 1)

    def next_unfinished(self) -> Change:
        """Open the next unfinished document after this one (wrapping around)."""
        n = len(self.queue)
        for step in range(1, n + 1):
            i = (self.doc_index + step) % n
            if not self.queue.finished[i]:
                if i == self.doc_index:
                    break
                return self.open(i)
        raise SessionError(f"all {n} documents are finished")

    def finish(self, *, force: bool = False) -> Change:
        """Mark the document finished. With pending proposals left, ``force`` is needed
        (the TUI asks first): pending proposals are then simply not the annotator's spans."""
        if self.finished:
            raise SessionError("this document is already finished")
        n = self.pending_count
        if n and not force:
            raise SessionError(f"{n} proposal{'s' if n != 1 else ''} still pending")
        self.store.record_decision(self.doc_id, self.annotator, "finish")
        self._set_finished(True)
        self.n_decisions += 1
        return Change(message=f"finished {self.doc_id}")

    def reopen(self) -> Change:
        if not self.finished:
            raise SessionError("this document is not finished")
        self.store.record_decision(self.doc_id, self.annotator, "reopen")
        self._set_finished(False)
        self.n_decisions += 1
        return Change(message=f"reopened {self.doc_id}")

    # ------------------------------------------------------------------ cursor
    def move(self, delta: int) -> Change:
        if not self.items:
            return Change()
        old = self.cursor
        self.cursor = max(0, min(len(self.items) - 1, self.cursor + delta))
        return self._cursor_change(old)

    def set_cursor(self, index: int) -> Change:
        if not self.items:
            return Change()
        old = self.cursor
        self.cursor = max(0, min(len(self.items) - 1, index))
        return self._cursor_change(old)

    def _cursor_change(self, old: int) -> Change:
        ch = Change()
        for i in {old, self.cursor}:
            if 0 <= i < len(self.items):
                it = self.items[i]
                ch.spans.append((it["start"], it["end"]))
        return ch

    def skip(self) -> Change:
        """Go to the next pending item without deciding (``space``)."""
        old = self.cursor
        self._advance()
        return self._cursor_change(old)

    def _advance(self) -> None:
        for i in range(self.cursor + 1, len(self.items)):
            if self.items[i]["status"] == "pending":
                self.cursor = i
                return
        self.cursor = min(self.cursor + 1, len(self.items) - 1) if self.items else 0

    def goto_offset(self, offset: int) -> Change:
        """Make the first item that ends after ``offset`` current (used by search)."""
        if not self.items:
            return Change()
        # items are sorted by start: the first that reaches past offset, else the last
        best = len(self.items) - 1
        for j, it in enumerate(self.items):
            if it["end"] > offset:
                best = j
                break
        return self.set_cursor(best)

    # ------------------------------------------------------------------ helpers
    def _require(self) -> dict:
        it = self.current
        if it is None:
            raise SessionError("this document has no proposals (n adds a span)")
        return it

    def _overlapping_final(self, start: int, end: int, exclude: str | None = None) -> dict | None:
        for it in self.items:
            if it["start"] >= end:
                break
            if it["key"] != exclude and it["status"] in FINAL and it["end"] > start:
                return it
        return None

    def _check_span(
        self, start: int, end: int, label: str, attrs, *, exclude: str | None, check_newline: bool = True
    ) -> None:
        if label not in LABELS:
            raise SessionError(f"unknown label {label!r}")
        if not (0 <= start < end <= len(self.text)):
            raise SessionError(f"span {start}-{end} is outside the text")
        if check_newline and "\n" in self.text[start:end]:
            raise SessionError("a span cannot take in a line break")
        err = validate_attrs(label, attrs)
        if err:
            raise SessionError(err)
        other = self._overlapping_final(start, end, exclude)
        if other is not None:
            raise SessionError(f"would overlap your {other['label']} 「{other['text']}」 (spans are flat)")

    def _record(
        self, action: str, it: dict | None, *, start=None, end=None, label=None, attrs=None, origin: str = "tui"
    ) -> int:
        proposal_id = ref_id = None
        if it is not None:
            if it["proposal_id"] is not None:
                proposal_id = it["proposal_id"]
            else:
                ref_id = int(it["key"][1:])  # 'd<add decision id>'
            if start is None:
                start, end, label, attrs = it["start"], it["end"], it["label"], it["attrs"]
        text = self.text[start:end] if start is not None else None
        did = self.store.record_decision(
            self.doc_id,
            self.annotator,
            action,
            proposal_id=proposal_id,
            ref_id=ref_id,
            start=start,
            end=end,
            label=label,
            text=text,
            attrs=attrs,
            origin=origin,
        )
        self.n_decisions += 1
        return did

    def _place(self, it: dict) -> bool:
        """Put ``it`` back in sort order after its span changed; True if order changed."""
        i = self._index[it["key"]]
        k = _sort_key(it)
        if (i == 0 or _sort_key(self.items[i - 1]) <= k) and (
            i == len(self.items) - 1 or k <= _sort_key(self.items[i + 1])
        ):
            return False
        del self.items[i]
        j = bisect.bisect_left([_sort_key(x) for x in self.items], k)
        self.items.insert(j, it)
        self._reindex()
        self.cursor = j if self.cursor == i else self._index[self.current["key"]] if self.current else 0
        return True

    # ------------------------------------------------------------------ decisions
    def accept(self) -> Change:
        it = self._require()
        ch = Change(keys={it["key"]}, spans=[(it["start"], it["end"])])
        if it["status"] == "added":
            raise SessionError("a span you added is already yours (x removes it)")
        if it["status"] in ("accepted", "edited"):
            old = self.cursor
            self._advance()
            ch = self._cursor_change(old)
            ch.message = f"already {it['status']}"
            return ch
        self._check_span(it["start"], it["end"], it["label"], it["attrs"], exclude=it["key"], check_newline=False)
        did = self._record("accept", it)
        it["status"] = "accepted"
        it["decision_id"] = did
        ch.message = f"accepted {it['label']} 「{it['text']}」"
        old = self.cursor
        self._advance()
        ch.spans += self._cursor_change(old).spans
        return ch

    def reject(self) -> Change:
        it = self._require()
        if it["status"] == "added":
            return self.remove()
        ch = Change(keys={it["key"]}, spans=[(it["start"], it["end"])])
        if it["status"] != "rejected":
            did = self._record("reject", it)
            it["status"] = "rejected"
            it["decision_id"] = did
            ch.message = f"rejected {it['label']} 「{it['text']}」"
        else:
            ch.message = "already rejected"
        old = self.cursor
        self._advance()
        ch.spans += self._cursor_change(old).spans
        return ch

    def _edit(self, it: dict, start: int, end: int, label: str, attrs, verb: str) -> Change:
        self._check_span(
            start, end, label, attrs, exclude=it["key"], check_newline=(start, end) != (it["start"], it["end"])
        )
        old_span = (it["start"], it["end"])
        did = self._record("edit", it, start=start, end=end, label=label, attrs=attrs)
        it.update(start=start, end=end, label=label, attrs=attrs, text=self.text[start:end], decision_id=did)
        if it["status"] != "added":
            it["status"] = "edited"
        reordered = self._place(it)
        return Change(
            keys={it["key"]},
            spans=[old_span, (start, end)],
            reordered=reordered,
            message=f"{verb}: {label} 「{it['text']}」",
        )

    def relabel(self, label: str) -> Change:
        it = self._require()
        if label not in LABELS:
            raise SessionError(f"unknown label {label!r}")
        if label == it["label"]:
            if it["status"] in ("pending", "rejected"):
                return self.accept()
            return Change(message=f"already {label}")
        attrs = it["attrs"] if label == "QUANTITY" and it["label"] == "QUANTITY" else None
        return self._edit(it, it["start"], it["end"], label, attrs, "relabelled")

    def move_start(self, delta: int) -> Change:
        it = self._require()
        start = max(0, min(it["end"] - 1, it["start"] + delta))
        if start == it["start"]:
            raise SessionError("the start cannot move further" if delta < 0 else "a span cannot be empty")
        return self._edit(it, start, it["end"], it["label"], it["attrs"], "start moved")

    def move_end(self, delta: int) -> Change:
        it = self._require()
        end = max(it["start"] + 1, min(len(self.text), it["end"] + delta))
        if end == it["end"]:
            raise SessionError("the end cannot move further" if delta > 0 else "a span cannot be empty")
        return self._edit(it, it["start"], end, it["label"], it["attrs"], "end moved")

    def set_attrs(self, attrs: dict | None) -> Change:
        it = self._require()
        if it["label"] != "QUANTITY":
            raise SessionError(f"{it['label']} has no attributes (only QUANTITY: value / unit / approx)")
        if attrs == it["attrs"] and it["status"] in ("edited", "added"):
            return Change(message="attributes unchanged")
        return self._edit(it, it["start"], it["end"], it["label"], attrs, "attributes set")

    def add_span(self, start: int, end: int, label: str, attrs: dict | None = None) -> Change:
        """A span no proposal had. If a proposal has exactly this range it is
        accepted (same label) or relabelled instead, so nothing is doubled."""
        if start > end:
            start, end = end, start
        for it in self.items:
            if (it["start"], it["end"]) == (start, end) and it["proposal_id"] is not None:
                old = self.cursor
                self.cursor = self._index[it["key"]]
                try:
                    if it["label"] == label and it["status"] in ("pending", "rejected"):
                        return self._accept_here(it)
                    if it["label"] == label:
                        return Change(spans=self._cursor_change(old).spans, message=f"already {it['status']}")
                    return self.relabel(label)
                except SessionError:
                    self.cursor = old
                    raise
        self._check_span(start, end, label, attrs, exclude=None)
        did = self._record("add", None, start=start, end=end, label=label, attrs=attrs)
        key = f"d{did}"
        it = {
            "key": key,
            "proposal_id": None,
            "start": start,
            "end": end,
            "label": label,
            "text": self.text[start:end],
            "attrs": attrs,
            "status": "added",
            "source": "annotator",
            "score": None,
            "decision_id": did,
            "proposal": None,
        }
        j = bisect.bisect_left([_sort_key(x) for x in self.items], _sort_key(it))
        self.items.insert(j, it)
        self._reindex()
        self.cursor = j
        return Change(keys={key}, spans=[(start, end)], reordered=True, message=f"added {label} 「{it['text']}」")

    def _accept_here(self, it: dict) -> Change:
        self._check_span(it["start"], it["end"], it["label"], it["attrs"], exclude=it["key"], check_newline=False)
        did = self._record("accept", it)
        it["status"] = "accepted"
        it["decision_id"] = did
        return Change(
            keys={it["key"]}, spans=[(it["start"], it["end"])], message=f"accepted {it['label']} 「{it['text']}」"
        )

    def remove(self) -> Change:
        """Remove a span the annotator added."""
        it = self._require()
        if it["proposal_id"] is not None:
            raise SessionError("only spans you added can be removed (x rejects a proposal)")
        self._record("remove", it)
        i = self._index[it["key"]]
        del self.items[i]
        self._reindex()
        self.cursor = max(0, min(i, len(self.items) - 1))
        ch = Change(
            removed={it["key"]},
            spans=[(it["start"], it["end"])],
            reordered=True,
            message=f"removed {it['label']} 「{it['text']}」",
        )
        if self.items:
            c = self.items[self.cursor]
            ch.spans.append((c["start"], c["end"]))
        return ch

    def accept_all(self) -> Change:
        """Accept every pending proposal in one transaction. Those that would overlap
        one of the annotator's spans (or one accepted earlier in the batch) are left
        pending. One ``undo`` takes the whole batch back."""
        pending = [it for it in self.items if it["status"] == "pending"]
        if not pending:
            raise SessionError("no pending proposals")
        origin = BATCH_ORIGIN + uuid.uuid4().hex[:12]
        finals = sorted((it["start"], it["end"]) for it in self.items if it["status"] in FINAL)
        chosen: list[dict] = []
        for it in pending:
            s, e = it["start"], it["end"]
            j = bisect.bisect_left(finals, (e, -1))
            if j > 0 and finals[j - 1][1] > s or any(fs < e and fe > s for fs, fe in finals[max(0, j - 3) : j]):
                continue
            bisect.insort(finals, (s, e))
            chosen.append(it)
        if not chosen:
            raise SessionError(f"all {len(pending)} pending proposals overlap your spans")
        ids = []
        with self.store.write():
            for it in chosen:
                ids.append(self._record("accept", it, origin=origin))
        # committed: now the screen may show it
        for it, did in zip(chosen, ids):
            it["status"] = "accepted"
            it["decision_id"] = did
        skipped = len(pending) - len(chosen)
        msg = f"accepted {len(chosen)} pending proposal{'s' if len(chosen) != 1 else ''}"
        if skipped:
            msg += f"; {skipped} left pending (they overlap your spans)"
        return Change(keys={it["key"] for it in chosen}, spans=[(it["start"], it["end"]) for it in chosen], message=msg)

    def _latest_live(self) -> dict | None:
        return self.store.latest_live_decision(self.doc_id, self.annotator)

    def undo(self) -> Change:
        """Undo the annotator's last decision in this document (persisted; any depth).
        A batch from ``accept_all`` is undone as a whole."""
        undone: list[dict] = []
        with self.store.write():
            latest = self._latest_live()
            if latest is None:
                raise SessionError("nothing to undo in this document")
            origin = latest["origin"] or ""
            while True:
                d = self.store.undo_last(self.doc_id, self.annotator)
                if d is None:
                    break
                undone.append(d)
                if not origin.startswith(BATCH_ORIGIN):
                    break
                nxt = self._latest_live()
                if nxt is None or nxt["origin"] != origin:
                    break
        # committed; re-derive the state from the log
        before = {it["key"]: it for it in self.items}
        cur_key = self.current["key"] if self.current else None
        self._reload()
        after = {it["key"]: it for it in self.items}
        ch = Change(reordered=[k for k in before] != [it["key"] for it in self.items] or before.keys() != after.keys())
        ch.removed = set(before) - set(after)
        for k, it in after.items():
            b = before.get(k)
            if b is None or any(b[f] != it[f] for f in ("start", "end", "label", "attrs", "status")):
                ch.keys.add(k)
                ch.spans.append((it["start"], it["end"]))
                if b is not None:
                    ch.spans.append((b["start"], b["end"]))
        for k in ch.removed:
            ch.spans.append((before[k]["start"], before[k]["end"]))
        # the cursor goes to what the undone decision touched
        last = undone[-1]
        target = None
        if last.get("proposal_id") is not None:
            target = f"p{last['proposal_id']}"
        elif last["action"] == "add":
            target = None
        elif last.get("ref_id") is not None:
            target = f"d{last['ref_id']}"
        if target not in self._index:
            target = cur_key
        if target in self._index:
            self.cursor = self._index[target]
        elif self.items:
            self.cursor = min(self.cursor, len(self.items) - 1)
        if self.items:
            c = self.items[self.cursor]
            ch.spans.append((c["start"], c["end"]))
        what = last["action"]
        n = len(undone)
        ch.message = (
            f"undid {n} accepts" if n > 1 else f"undid {what}" + (f" {last['label']}" if last.get("label") else "")
        )
        return ch

    # ------------------------------------------------------------------ search
    def find(self, query: str, offset: int, *, backwards: bool = False) -> tuple[int, int] | None:
        """The next (or previous) occurrence of ``query`` from ``offset``, wrapping around."""
        if not query:
            return None
        t = self.text
        if backwards:
            i = t.rfind(query, 0, max(0, offset))
            if i < 0:
                i = t.rfind(query)
        else:
            i = t.find(query, offset)
            if i < 0:
                i = t.find(query)
        return None if i < 0 else (i, i + len(query))

    def find_all(self, query: str, limit: int = 20000) -> list[tuple[int, int]]:
        if not query:
            return []
        out: list[tuple[int, int]] = []
        t, n = self.text, len(query)
        i = t.find(query)
        while i >= 0 and len(out) < limit:
            out.append((i, i + n))
            i = t.find(query, i + n)
        return out

    # ------------------------------------------------------------------ words (new-span caret)
    def next_word(self, pos: int) -> int:
        return next_word(self.text, self.words, pos)

    def prev_word(self, pos: int) -> int:
        return prev_word(self.text, self.words, pos)

    def word_at(self, pos: int) -> tuple[int, int]:
        return word_at(self.text, self.words, pos)


# ---------------------------------------------------------------------- QUANTITY attrs input
def parse_value(s: str) -> int | float | None:
    """``"1500万"`` → 15000000; ``"一千五百万"`` → 15000000; ``""`` → None (the one number
    grammar of :mod:`workbench.core.quantity`)."""
    try:
        return quantity.parse_value(s)
    except ValueError as e:
        raise SessionError(str(e)) from None


def attrs_from_fields(value: str, unit: str, approx: str) -> dict:
    """QUANTITY attrs from the three inline inputs, validated (SessionError otherwise)."""
    try:
        return quantity.attrs_from_fields(value, unit, approx)
    except ValueError as e:
        raise SessionError(str(e)) from None


format_value = quantity.format_value  # re-exported for callers of the session API
