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
* ``!`` flags the current item as unsure with a note, ``F`` the document (a ``flags`` row,
  committed before the screen shows it); the flag names the item by its key, so it follows
  the span through bound moves, relabelling and their undo; a span the annotator added and
  removes takes its flag with it (undoing the remove brings both back). ``u`` undoes the
  latest of the annotator's decisions and flag actions, whichever came last.
* ``workbench propose`` may run again meanwhile: a decision on a proposal it replaced
  reloads the document and is recorded against the new proposal of the same span
  (start, end, label); if there is none, nothing is applied and the annotator is told.
"""

from __future__ import annotations

import bisect
import functools
import uuid

from ..core.flags import attach_flags, flag_keys_on
from ..core.labels import LABELS, validate_attrs
from ..core.quantity import attrs_follow_text, derive_attrs
from ..store.db import StaleProposal
from .change import Change, SessionError
from .view import FINAL, SessionView, _sort_key

BATCH_ORIGIN = "tui-batch:"
RELOADED = "the proposals changed: reloaded"


def _on_replaced_proposals(method):
    """Run a decision; if it named a proposal that ``propose`` has replaced meanwhile, reload
    the document and run it once more on the proposal of the same span (start, end, label),
    or, if there is none, apply nothing and say so. The returned change names the reload
    (``reordered``: the view takes the new list)."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except StaleProposal:
            pass
        it = self.current
        span = (it["start"], it["end"], it["label"]) if it is not None else None
        self._reload()
        match = None
        if span is not None and method.__name__ != "accept_all":  # a batch confirmed on other proposals: not redone
            same = [
                i
                for i, x in enumerate(self.items)
                if x["proposal_id"] is not None and (x["start"], x["end"], x["label"]) == span
            ]
            match = next((i for i in same if self.items[i]["status"] == "pending"), same[0] if same else None)
        if match is None:
            self.cursor = max(0, min(self.cursor, len(self.items) - 1)) if self.items else 0
            return Change(reordered=True, message=RELOADED + " (nothing saved; look again)")
        self.cursor = match
        try:
            ch = method(self, *args, **kwargs)
        except StaleProposal:  # replaced again in between: give up on this key
            self._reload()
            self.cursor = max(0, min(self.cursor, len(self.items) - 1)) if self.items else 0
            return Change(reordered=True, message=RELOADED + " (nothing saved; look again)")
        ch.reordered = True
        ch.message = f"{RELOADED}; {ch.message}" if ch.message else RELOADED
        return ch

    return run


class AnnotationSession(SessionView):
    """The queue, the open document, its items and a cursor, with one method per action."""

    doc_flag: dict | None  # the annotator's unsure flag on the open document
    item_flags: dict[str, dict]  # item key -> its unsure flag

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
        msg = f"finished {self.doc_id}"
        q = self.quantities_without_value()
        if q:
            msg += f"; {q} QUANTITY span{'s' if q != 1 else ''} without a value (e sets it)"
        return Change(message=msg)

    def reopen(self) -> Change:
        if not self.finished:
            raise SessionError("this document is not finished")
        self.store.record_decision(self.doc_id, self.annotator, "reopen")
        self._set_finished(False)
        self.n_decisions += 1
        return Change(message=f"reopened {self.doc_id}")

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
        self,
        action: str,
        it: dict | None,
        *,
        start=None,
        end=None,
        label=None,
        attrs=None,
        manual: bool = False,
        origin: str = "tui",
    ) -> int:
        proposal_id = ref_id = None
        if it is not None:
            if it["proposal_id"] is not None:
                proposal_id = it["proposal_id"]
            else:
                ref_id = int(it["key"][1:])  # 'd<add decision id>'
            if start is None:
                start, end, label, attrs = it["start"], it["end"], it["label"], it["attrs"]
                manual = bool(it.get("attrs_manual"))
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
            attrs_manual=manual,
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
    @_on_replaced_proposals
    def accept(self) -> Change:
        it = self._require()
        ch = Change(keys={it["key"]}, spans=[(it["start"], it["end"])])
        if it["status"] == "added":
            raise SessionError("a span you added is already yours (x removes it)")
        if it["status"] in ("accepted", "edited"):
            # already the annotator's span: a confirms it and moves on, like on any other (it
            # said "already edited", as if nothing had happened, while the cursor moved)
            old = self.cursor
            self._advance()
            ch = self._cursor_change(old)
            ch.message = f"confirmed {it['status']} {it['label']} 「{it['text']}」"
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

    @_on_replaced_proposals
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

    def _edit(self, it: dict, start: int, end: int, label: str, attrs, verb: str, *, manual: bool = False) -> Change:
        """Record an edit; ``manual``: the annotator typed ``attrs`` (kept through bound moves)."""
        self._check_span(
            start, end, label, attrs, exclude=it["key"], check_newline=(start, end) != (it["start"], it["end"])
        )
        old_span = (it["start"], it["end"])
        manual = manual and attrs is not None
        did = self._record("edit", it, start=start, end=end, label=label, attrs=attrs, manual=manual)
        it.update(start=start, end=end, label=label, attrs=attrs, text=self.text[start:end], decision_id=did)
        it["attrs_manual"] = manual
        if it["status"] != "added":
            it["status"] = "edited"
        reordered = self._place(it)
        return Change(
            keys={it["key"]},
            spans=[old_span, (start, end)],
            reordered=reordered,
            message=f"{verb}: {label} 「{it['text']}」",
        )

    @_on_replaced_proposals
    def relabel(self, label: str) -> Change:
        it = self._require()
        if label not in LABELS:
            raise SessionError(f"unknown label {label!r}")
        if label == it["label"]:
            if it["status"] in ("pending", "rejected"):
                return self.accept()
            return Change(message=f"already {label}")
        if label != "QUANTITY":
            attrs = None
        elif it["label"] == "QUANTITY":
            attrs = it["attrs"]
        else:  # becomes QUANTITY: the attrs the proposer's grammar reads in the text
            attrs = derive_attrs(it["text"])
        return self._moved_on(self._edit(it, it["start"], it["end"], label, attrs, "relabelled"))

    def _moved_on(self, ch: Change) -> Change:
        """After an add or an edit that ends one (a label, the attrs form): the cursor moves to
        the next pending proposal, as after an accept (the bound keys keep it where it is)."""
        old = self.cursor
        self._advance()
        ch.spans += self._cursor_change(old).spans
        return ch

    def _moved_attrs(self, it: dict, start: int, end: int) -> tuple[dict | None, bool]:
        """A QUANTITY's attrs after a bound move, and whether they are typed: attrs the annotator
        typed (``attrs_manual``, even when they equal the grammar's reading) are theirs and stay
        (the list shows ``≠`` when they disagree with the new text); the grammar's are read again
        from the new text. Attrs of unknown origin (a proposer's, a decision older than the mark)
        are taken for the grammar's when they agree with the old text, else kept."""
        if it["label"] != "QUANTITY" or it.get("attrs_manual"):
            return it["attrs"], bool(it.get("attrs_manual"))
        if attrs_follow_text(it["attrs"], it["text"]):
            return derive_attrs(self.text[start:end]), False
        return it["attrs"], False

    @_on_replaced_proposals
    def move_start(self, delta: int) -> Change:
        it = self._require()
        start = max(0, min(it["end"] - 1, it["start"] + delta))
        if start == it["start"]:
            raise SessionError("the start cannot move further" if delta < 0 else "a span cannot be empty")
        attrs, manual = self._moved_attrs(it, start, it["end"])
        return self._edit(it, start, it["end"], it["label"], attrs, "start moved", manual=manual)

    @_on_replaced_proposals
    def move_end(self, delta: int) -> Change:
        it = self._require()
        end = max(it["start"] + 1, min(len(self.text), it["end"] + delta))
        if end == it["end"]:
            raise SessionError("the end cannot move further" if delta > 0 else "a span cannot be empty")
        attrs, manual = self._moved_attrs(it, it["start"], end)
        return self._edit(it, it["start"], end, it["label"], attrs, "end moved", manual=manual)

    @_on_replaced_proposals
    def set_attrs(self, attrs: dict | None) -> Change:
        it = self._require()
        if it["label"] != "QUANTITY":
            raise SessionError(f"{it['label']} has no attributes (only QUANTITY: value / unit / approx)")
        if attrs == it["attrs"] and it["status"] in ("edited", "added") and it.get("attrs_manual"):
            return Change(message="attributes unchanged")
        return self._moved_on(self._edit(it, it["start"], it["end"], it["label"], attrs, "attributes set", manual=True))

    @_on_replaced_proposals
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
                        return self._moved_on(self._accept_here(it))
                    if it["label"] == label:
                        return Change(spans=self._cursor_change(old).spans, message=f"already {it['status']}")
                    return self.relabel(label)
                except SessionError:
                    self.cursor = old
                    raise
        manual = attrs is not None  # given by the caller: typed
        if label == "QUANTITY" and attrs is None:
            attrs = derive_attrs(self.text[start:end])
        self._check_span(start, end, label, attrs, exclude=None)
        did = self._record("add", None, start=start, end=end, label=label, attrs=attrs, manual=manual)
        key = f"d{did}"
        it = {
            "key": key,
            "proposal_id": None,
            "start": start,
            "end": end,
            "label": label,
            "text": self.text[start:end],
            "attrs": attrs,
            "attrs_manual": manual,
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
        return self._moved_on(
            Change(keys={key}, spans=[(start, end)], reordered=True, message=f"added {label} 「{it['text']}」")
        )

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
        self.item_flags.pop(it["key"], None)  # the flag goes with the span (an undo brings both back)
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

    @_on_replaced_proposals
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

    # ------------------------------------------------------------------ unsure flags
    def _reload(self) -> None:
        super()._reload()
        self._load_flags()

    def _load_flags(self) -> None:
        self.doc_flag, self.item_flags = attach_flags(
            self.store.flags_in_force(self.doc_id, self.annotator), self.items
        )

    def flag_of(self, it: dict | None) -> dict | None:
        """The annotator's unsure flag on item ``it`` (``{"note", "ts", ...}``), or None."""
        return None if it is None else self.item_flags.get(it["key"])

    @property
    def n_flags(self) -> int:
        """Flags in force in the open document (the document's and its items')."""
        return len(self.item_flags) + (self.doc_flag is not None)

    def flag_current(self, note: str = "") -> Change:
        """Flag the current item as unsure with ``note`` (again: the note is replaced)."""
        it = self._require()
        shown = self.item_flags.get(it["key"])
        again = shown is not None
        try:
            self.store.set_flag(
                self.doc_id,
                self.annotator,
                note=note,
                # the flag shown may be one of a proposal this item stands for: edit that one
                # (a second flag under the item's key would leave it behind, back on a clear)
                item_key=it["key"] if shown is None else shown["key"],
                start=it["start"],
                end=it["end"],
                label=it["label"],
            )
        except ValueError as e:
            raise SessionError(str(e)) from None
        self._load_flags()
        verb = "note changed" if again else "flagged unsure"
        return Change(
            keys={it["key"]}, spans=[(it["start"], it["end"])], message=f"{verb}: {it['label']} 「{it['text']}」"
        )

    def unflag_current(self) -> Change:
        """Take the current item's flag away: every flag that shows on it (its own and those
        of proposals of the same span and label it stands for in the list), in one
        transaction; more than one are cleared as a batch, so one ``u`` brings them all back."""
        it = self._require()
        if it["key"] not in self.item_flags:
            raise SessionError("this item is not flagged")
        keys = flag_keys_on(self.store.flags_in_force(self.doc_id, self.annotator), self.items, it["key"])
        origin = "tui" if len(keys) <= 1 else BATCH_ORIGIN + uuid.uuid4().hex[:12]
        with self.store.write():
            for key in keys or [self.item_flags[it["key"]]["key"]]:
                self.store.clear_flag(self.doc_id, self.annotator, item_key=key, origin=origin)
        self._load_flags()
        return Change(
            keys={it["key"]}, spans=[(it["start"], it["end"])], message=f"flag cleared: {it['label']} 「{it['text']}」"
        )

    def flag_document(self, note: str = "") -> Change:
        """Flag the whole document as unsure with ``note`` (again: the note is replaced)."""
        again = self.doc_flag is not None
        try:
            self.store.set_flag(self.doc_id, self.annotator, note=note)
        except ValueError as e:
            raise SessionError(str(e)) from None
        self._load_flags()
        return Change(message=f"document {'note changed' if again else 'flagged unsure'}: {self.doc_id}")

    def unflag_document(self) -> Change:
        if self.doc_flag is None:
            raise SessionError("this document is not flagged")
        self.store.clear_flag(self.doc_id, self.annotator)
        self._load_flags()
        return Change(message=f"document flag cleared: {self.doc_id}")

    def _undo_flag(self, flag: dict) -> Change:
        """The undo of a flag action (committed by the caller's transaction)."""
        before = dict(self.item_flags)
        self._load_flags()
        keys = {k for k in set(before) | set(self.item_flags) if before.get(k) != self.item_flags.get(k)}
        ch = Change(keys=keys)
        for k in keys:
            i = self._index.get(k)
            if i is not None:
                it = self.items[i]
                ch.spans.append((it["start"], it["end"]))
        key = flag["item_key"]
        if key is not None and key not in self._index:  # a flag shown under another proposal
            key = next((k for k, f in self.item_flags.items() if f["key"] == key), key)
        if key is not None and key in self._index:
            old = self.cursor
            self.cursor = self._index[key]
            ch.spans += self._cursor_change(old).spans
        what = "document flag" if key is None else "flag"
        ch.message = f"undid {what} {'clear' if flag['action'] == 'clear' else 'set'}"
        return ch

    def _latest_live(self) -> dict | None:
        return self.store.latest_live_decision(self.doc_id, self.annotator)

    def undo(self) -> Change:
        """Undo the annotator's last decision or flag action in this document (persisted; any
        depth), whichever came last. A batch from ``accept_all`` is undone as a whole, and so
        are the flags one ``unflag_current`` cleared together."""
        undone: list[dict] = []
        with self.store.write():
            latest = self._latest_live()
            flag = self.store.latest_live_flag(self.doc_id, self.annotator)
            if flag is not None and (latest is None or flag["seq"] >= latest["id"]):
                self.store.undo_flag(self.doc_id, self.annotator, flag["id"])
                undid_flag = True
                batch = flag["origin"] or ""
                while batch.startswith(BATCH_ORIGIN):  # flags cleared together: undone together
                    nxt = self.store.latest_live_flag(self.doc_id, self.annotator)
                    if nxt is None or nxt["origin"] != batch:
                        break
                    self.store.undo_flag(self.doc_id, self.annotator, nxt["id"])
            else:
                undid_flag = False
                if latest is None:
                    raise SessionError("nothing to undo in this document")
            origin = (latest["origin"] or "") if latest is not None else ""
            while not undid_flag:
                d = self.store.undo_last(self.doc_id, self.annotator)
                if d is None:
                    break
                undone.append(d)
                if not origin.startswith(BATCH_ORIGIN):
                    break
                nxt = self._latest_live()
                if nxt is None or nxt["origin"] != origin:
                    break
        if undid_flag:  # committed
            assert flag is not None
            return self._undo_flag(flag)
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
