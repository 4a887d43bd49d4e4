"""The annotator's queue, the open document and the cursor: the read side of an
:class:`~workbench.session.AnnotationSession` (opening documents, moving, searching, word
motions). Nothing here writes a decision except through the subclass."""

from __future__ import annotations

import time

from workbench.core.spans import undone_ids

from ..core.motions import next_word, prev_word, word_at
from ..core.names import clean_name
from ..core.quantity import attrs_disagree
from .change import Change, SessionError

FINAL = ("accepted", "edited", "added")
RETRAIN_REFRESH = 2.0  # seconds between two reads of the retraining status note
STATUSES = ("pending", "accepted", "rejected", "edited", "added")


def control_warning(flags: dict | None) -> str | None:
    """The warning for a document whose ingest flagged control characters (``flags
    ["control_chars"]``: ``{"count", "first", "codes"}``), or None. The text panels draw them
    as one-cell placeholders (``core.visible``); the annotator should know they are there."""
    flag = (flags or {}).get("control_chars")
    if not flag:
        return None
    n = flag.get("count") if isinstance(flag, dict) else flag
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        return "this report holds control characters, shown as ␛-style placeholders"
    return f"this report holds {n} control character{'s' if n != 1 else ''}, shown as ␛-style placeholders"


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


ORDERS = ("ingest", "uncertain")
NO_LEARNED = (
    "--order uncertain needs a learned model's proposals, and there are none: "
    "train a model and propose with it: workbench train && workbench propose -p learned"
)


def uncertain_order(rows: list[dict], unsure: dict[str, float], started: set[str]) -> list[dict]:
    """The queue rows for ``--order uncertain``: the documents not started (no decision by the
    annotator, not finished) ranked by ``unsure`` (the mean ``min(p, 1 - p)`` of their active
    learned proposals), least sure first; those without learned proposals after them; ties in
    the queue's (ingest) order. Started and finished documents keep their place."""
    slots = [i for i, r in enumerate(rows) if not r["finished"] and r["id"] not in started]
    ranked = sorted(slots, key=lambda i: (rows[i]["id"] not in unsure, -unsure.get(rows[i]["id"], 0.0), i))
    out = list(rows)
    for slot, i in zip(slots, ranked, strict=True):
        out[slot] = rows[i]
    return out


class SessionView:
    """The queue, the open document, its items and a cursor."""

    def _empty_queue_reason(self) -> str:
        """Why the queue is empty, and what to do: no documents at all, or assignments that
        name other annotators (the default login name is not in them, say)."""
        if not self.store.has_documents():
            return "no documents to annotate (ingest and propose first)"
        assigned = self.store.assigned_annotators()
        shown = ", ".join(assigned[:8]) + (f" and {len(assigned) - 8} more" if len(assigned) > 8 else "")
        return (
            f'no documents are assigned to "{self.annotator}"; documents are assigned to {shown}. '
            f"Pick one of them with --annotator NAME, or assign: workbench assign --annotators {self.annotator} "
            "(--per-doc N, --docs ID,…)"
        )

    def __init__(self, store, annotator: str, *, doc_id: str | None = None, order: str = "ingest"):
        try:
            self.annotator = clean_name(annotator, what="annotator name")
        except ValueError as e:
            raise SessionError(str(e)) from None
        self.store = store
        rows = store.queue(self.annotator)
        if not rows:
            raise SessionError(self._empty_queue_reason())
        if order == "uncertain":
            unsure, started = store.learned_uncertainty(self.annotator)
            if not unsure:
                raise SessionError(NO_LEARNED)
            rows = uncertain_order(rows, unsure, started)
        elif order != "ingest":
            raise SessionError(f"unknown order {order!r} (one of: {', '.join(ORDERS)})")
        self.queue = Queue(rows)
        self._model: str | None = None  # the open document's learned model version (``model_version``)
        self._retrain: str | None = None  # the background retraining's note (``retrain_note``)
        self._retrain_read: float | None = None  # when it was read (monotonic seconds)
        self._positions: dict[str, str] = {}  # doc id -> item key last current
        self._sources: dict[tuple, list[str]] = {}  # (start, end, label) -> sources proposing it
        self.hide_accepted = False  # the list leaves accepted items out (``toggle_hide_accepted``)
        self.doc_index = 0
        if doc_id is None:
            doc_id = self._saved_position()
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
    def control_warning(self) -> str | None:
        """The open document's control-character warning (see :func:`control_warning`), or None."""
        return control_warning(self.doc.get("flags"))

    @property
    def model_version(self) -> str | None:
        """``"learned <version>"`` when the open document's active proposals include a
        ``learned`` run's (the model they came from), else None: the annotate header shows it."""
        return self._model

    @property
    def retrain_note(self) -> str | None:
        """A few words on the background retraining ("retraining on 12 docs…", "model abc123
        new · 8 docs re-proposed"), or None when no worker runs: read from the store's status
        note on opening a document and at most every :data:`RETRAIN_REFRESH` seconds after."""
        now = time.monotonic()
        if self._retrain_read is None or now - self._retrain_read >= RETRAIN_REFRESH:
            self._retrain_read = now
            try:
                from ..propose.retrain import status_note

                shown = self._model.split()[-1] if self._model else None  # the header's model chip
                alive = self.store.retrain_worker_alive()  # (no worker: the note is not read at all)
                self._retrain = status_note(self.store.retrain_status() if alive else None, alive, doc_model=shown)
            except Exception:  # a convenience: an unreadable note is no note
                self._retrain = None
        return self._retrain

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

    def progress(self) -> tuple[int, int]:
        """(spans done, to do) in the open document: items decided (accepted, edited, added,
        rejected) and proposals still pending. Bound presses and undos are not counted."""
        todo = self.pending_count
        return len(self.items) - todo, todo

    def sources_of(self, it: dict) -> list[str]:
        """Every source that proposed this item's span and label (the item's own first): an
        identical span from several sources is one item, its row names them all."""
        own = it.get("source")
        if it.get("proposal_id") is None:
            return []
        p = it.get("proposal") or it
        others = self._sources.get((p["start"], p["end"], p["label"]), [])
        return ([own] if own else []) + [s for s in others if s != own]

    def counts(self) -> dict[str, int]:
        c = dict.fromkeys(STATUSES, 0)
        for it in self.items:
            c[it["status"]] += 1
        return c

    @property
    def pending_count(self) -> int:
        return sum(1 for it in self.items if it["status"] == "pending")

    def quantities_without_value(self) -> int:
        """The annotator's QUANTITY spans (accepted, edited, added) whose attrs hold no value."""
        return sum(
            1
            for it in self.items
            if it["label"] == "QUANTITY"
            and it["status"] in FINAL
            and (not it["attrs"] or it["attrs"].get("value") is None)
        )

    @staticmethod
    def attrs_disagree(it: dict) -> bool:
        """A QUANTITY whose attrs say something else than its text (typed by hand, or its bounds
        moved after they were typed): shown in the list, never silently replaced."""
        return it["label"] == "QUANTITY" and attrs_disagree(it["attrs"], it["text"])

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
        self._retrain_read = None  # the retraining note is read again with the new document
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
        sources: dict[tuple, list[str]] = {}
        versions: set[str] = set()
        for p in self.store.proposals(self.doc_id):
            if p["source"] == "learned":
                versions.add(p["version"])
            names = sources.setdefault((p["start"], p["end"], p["label"]), [])
            if p["source"] and p["source"] not in names:
                names.append(p["source"])
        self._sources = sources
        self._model = f"learned {', '.join(sorted(versions))}" if versions else None
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

    # ------------------------------------------------------------------ where the annotator was
    @property
    def _position_key(self) -> str:
        return f"annotate.position:{self.annotator}"

    def _saved_position(self) -> str | None:
        """The document the annotator was on when the last session ended (if still in the
        queue); its item is remembered for :meth:`open`."""
        try:
            pos = self.store.get_setting(self._position_key)
        except Exception:  # a convenience: an unreadable note is no position
            return None
        if not isinstance(pos, dict) or pos.get("doc") not in self.queue.ids:
            return None
        if isinstance(pos.get("item"), str):
            self._positions[pos["doc"]] = pos["item"]
        return pos["doc"]

    def save_position(self) -> bool:
        """Note the document and item the annotator is on, so the next session resumes there
        (``workbench annotate`` calls it on quitting). False if it could not be written (the
        database locked or read-only): only the resume point is lost, never a decision."""
        cur = self.current
        try:
            self.store.set_setting(self._position_key, {"doc": self.doc_id, "item": cur["key"] if cur else None})
        except Exception:
            return False
        return True

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

    # ------------------------------------------------------------------ cursor
    def shown(self, i: int) -> bool:
        """Whether item ``i`` is in the list (accepted ones are left out while hidden)."""
        return not (self.hide_accepted and self.items[i]["status"] == "accepted")

    def shown_indexes(self) -> list[int]:
        """The indexes of the items the list shows (all, or all but the accepted ones)."""
        if not self.hide_accepted:
            return list(range(len(self.items)))
        return [i for i, it in enumerate(self.items) if it["status"] != "accepted"]

    def move(self, delta: int) -> Change:
        if not self.items:
            return Change()
        old = self.cursor
        if not self.hide_accepted:
            self.cursor = max(0, min(len(self.items) - 1, self.cursor + delta))
            return self._cursor_change(old)
        step = 1 if delta > 0 else -1
        i, left = self.cursor, abs(delta)
        while left:
            j = i + step
            while 0 <= j < len(self.items) and not self.shown(j):
                j += step
            if not 0 <= j < len(self.items):
                break
            i, left = j, left - 1
        self.cursor = i
        return self._cursor_change(old)

    def first_item(self) -> Change:
        """The first item of the list (``g``)."""
        shown = self.shown_indexes()
        return self.set_cursor(shown[0]) if shown else Change()

    def last_item(self) -> Change:
        """The last item of the list (``G``)."""
        shown = self.shown_indexes()
        return self.set_cursor(shown[-1]) if shown else Change()

    def toggle_hide_accepted(self) -> Change:
        """Leave the accepted items out of the list, or show them again (the text still
        draws them). The cursor leaves an accepted item it was on for the next one shown."""
        self.hide_accepted = not self.hide_accepted
        old = self.cursor
        n = sum(1 for it in self.items if it["status"] == "accepted")
        if self.hide_accepted and self.items and not self.shown(self.cursor):
            shown = self.shown_indexes()
            after = [i for i in shown if i > self.cursor]
            before = [i for i in shown if i < self.cursor]
            self.cursor = after[0] if after else before[-1] if before else self.cursor
        ch = self._cursor_change(old)
        ch.reordered = True
        ch.message = f"{n} accepted hidden from the list" if self.hide_accepted else "accepted shown in the list"
        return ch

    def next_of_label(self, label: str, delta: int = 1) -> Change:
        """The next (``delta`` > 0) or previous item labelled ``label`` in the list, wrapping."""
        n = len(self.items)
        old = self.cursor
        for step in range(1, n + 1):
            i = (self.cursor + (step if delta > 0 else -step)) % n
            if self.items[i]["label"] == label and self.shown(i):
                self.cursor = i
                ch = self._cursor_change(old)
                if i == old:
                    ch.message = f"the only {label}"
                return ch
        raise SessionError(f"no {label} in this document" + (" list" if self.hide_accepted else ""))

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
        if self.items:
            self.move(1)
        else:
            self.cursor = 0

    def goto_offset(self, offset: int) -> Change:
        """Make the first item that ends after ``offset`` current (used by search)."""
        if not self.items:
            return Change()
        # items are sorted by start: the first that reaches past offset, else the last
        shown = self.shown_indexes() or list(range(len(self.items)))
        best = shown[-1]
        for j in shown:
            if self.items[j]["end"] > offset:
                best = j
                break
        return self.set_cursor(best)

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
