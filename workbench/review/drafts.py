"""The review session's two modes that build something key by key before saving it:
editing a copy of a version (:class:`Draft`, saved as an adjudicated ``pick``/``edit``/
``reject``) and selecting a span nobody made (:class:`AddDraft`, saved as ``add``).

Mixins of :class:`~workbench.review.session.ReviewSession`: they use its text, items,
ranges, ``_settle`` and ``add_span``. Draft edits change nothing in the database and
return a :class:`~workbench.session.Change` naming the item being edited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.core.labels import LABELS, validate_attrs
from workbench.core.quantity import attrs_follow_text, derive_attrs
from workbench.session import Change
from workbench.session.spanmode import SpanMode

from .clustering import ReviewError, span_key
from .history import describe_spans, span_changes

if TYPE_CHECKING:
    from .session import Item


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


class _Session:
    """What the mixins use of the session (for readers and mypy)."""

    store: Any
    items: list[Item]
    docs: list[str]
    draft: Draft | None
    add_draft: AddDraft | None
    _ranges: dict[str, list[tuple[int, int, str]]]

    if TYPE_CHECKING:

        @property
        def current(self) -> Item | None: ...
        def text(self, doc_id: str) -> str: ...
        def words(self, doc_id: str): ...
        def _not_busy(self) -> None: ...
        def _require(self) -> Item: ...
        def _advance(self) -> None: ...
        def _add_doc(self, doc_id: str) -> None: ...
        def _settle(
            self,
            it: Item,
            action: str,
            spans: list[dict],
            chosen: list[str],
            base: int | None,
            extra: dict | None = None,
        ) -> Change: ...
        def add_problem(self, doc_id: str, start: int, end: int, replace: bool = False) -> str | None: ...
        def add_span(self, doc_id: str, start: int, end: int, label: str, attrs: dict | None = None) -> Change: ...
        def replace_gold(self, doc_id: str, start: int, end: int, label: str, attrs: dict | None) -> Change: ...


class EditDrafts(_Session):
    """Edit mode: a copy of one version, changed span by span, saved as gold."""

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

    def _editing(self) -> Draft:
        if self.draft is None:
            raise ReviewError("not editing (e edits the highlighted version)")
        return self.draft

    def _draft_span(self) -> dict:
        d = self._editing()
        if not d.spans:
            raise ReviewError("the draft has no span (esc cancels, enter saves it as reject)")
        return d.spans[d.current]

    def _drafted(self, *ranges: tuple[int, int]) -> Change:
        """The change of a draft edit: the item edited, the ranges to repaint."""
        d = self._editing()
        c = d.item.cluster
        return Change(keys={d.item.key}, spans=[(c.start, c.end), *ranges], doc_id=d.item.doc_id)

    def _check(self, start: int, end: int, exclude: dict) -> None:
        d = self._editing()
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
        for g in self.store.gold_rows(d.item.doc_id, overlapping=(start, end)):
            if not (g["start"] < c.end and c.start < g["end"]):  # gold of this item's range is replaced on save
                raise ReviewError(
                    f"would overlap gold {g['label']}「{g['text']}」 {g['start']}–{g['end']} ({g['origin']})"
                )

    def draft_move(self, which: str, delta: int) -> Change:
        s = self._draft_span()
        old = (s["start"], s["end"])
        start, end = old
        if which == "start":
            start += delta
        else:
            end += delta
        self._check(start, end, s)
        before = s["text"]
        s["start"], s["end"] = start, end
        s["text"] = self.text(self._editing().item.doc_id)[start:end]
        if s["label"] == "QUANTITY" and attrs_follow_text(s.get("attrs"), before):
            # the grammar's attrs follow the bounds; attrs typed to say otherwise stay
            s["attrs"] = derive_attrs(s["text"])
        return self._drafted(old, (start, end))

    def draft_relabel(self, label: str) -> Change:
        if label not in LABELS:
            raise ReviewError(f"unknown label {label}")
        s = self._draft_span()
        if s["label"] == label:
            return self._drafted()
        s["label"] = label
        if label != "QUANTITY":
            s["attrs"] = None
        else:
            same = [
                x
                for v in self._editing().item.versions
                for x in v.spans
                if x["label"] == "QUANTITY" and x["attrs"] and (x["start"], x["end"]) == (s["start"], s["end"])
            ]
            s["attrs"] = dict(same[0]["attrs"]) if same else derive_attrs(s["text"])
        return self._drafted((s["start"], s["end"]))

    def draft_set_attrs(self, attrs: dict | None) -> Change:
        s = self._draft_span()
        if s["label"] != "QUANTITY":
            raise ReviewError("only QUANTITY spans have attributes")
        err = validate_attrs("QUANTITY", attrs)
        if err:
            raise ReviewError(err)
        s["attrs"] = attrs
        return self._drafted((s["start"], s["end"]))

    def draft_select(self, delta: int) -> Change:
        d = self.draft
        if d is None or not d.spans:
            return Change()
        d.current = (d.current + delta) % len(d.spans)
        return self._drafted()

    def draft_drop(self) -> Change:
        d = self._editing()
        s = self._draft_span()
        d.spans.pop(d.current)
        d.current = max(0, min(d.current, len(d.spans) - 1))
        return self._drafted((s["start"], s["end"]))

    def draft_from(self, version: int) -> Change:
        """Replace the draft with a copy of another version."""
        d = self.draft
        if d is None:
            raise ReviewError("not editing")
        if not 0 <= version < len(d.item.versions):
            raise ReviewError(f"no version {version + 1}")
        old = [(s["start"], s["end"]) for s in d.spans]
        d.base, d.spans, d.current = version, [dict(s) for s in d.item.versions[version].spans], 0
        return self._drafted(*old, *((s["start"], s["end"]) for s in d.spans))

    def save_edit(self) -> Change:
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
        keys = [span_key(s) for s in spans]
        from_spans = it.versions[d.base].spans
        same = next((i for i, v in enumerate(it.versions) if [span_key(s) for s in v.spans] == keys), None)
        self.draft = None
        try:
            if keys == [span_key(s) for s in from_spans]:  # nothing changed: the version itself
                v = it.versions[d.base]
                ch = self._settle(it, "pick" if spans else "reject", spans, v.annotators, d.base)
                it.status = "picked" if spans else "rejected"
                it.version = d.base
                it.chosen = f"{d.base + 1}: {', '.join(v.annotators)}"
            else:
                # an edit, logged as one with what changed, even when it comes to equal another version
                extra = {"from": from_spans, "changes": span_changes(from_spans, spans), "equals_version": same}
                if not spans:
                    ch = self._settle(it, "reject", [], [], d.base, extra)
                    it.status, it.chosen = "rejected", "rejected all"
                else:
                    chosen = it.versions[same].annotators if same is not None else []
                    ch = self._settle(it, "edit", spans, chosen, d.base, extra)
                    it.status, it.chosen = "edited", f"edited from {d.base + 1}"
                    it.version = same
                    if same is not None:
                        it.chosen += f" (= {same + 1}: {', '.join(chosen)})"
        except Exception:  # refused, or not written (a locked database): the draft stays
            self.draft = d
            raise
        self._advance()
        ch.message = f"{it.chosen} → gold: {describe_spans(spans)}"
        return ch


class AddDrafts(_Session):
    """Add mode: a caret and an optional anchor select a span nobody made; saved as ``added`` gold."""

    def begin_add(self, doc_id: str | None = None) -> AddDraft:
        """Start selecting a new span: in ``doc_id`` (default: the current item's
        document), the caret just after the current item (or at the text start)."""
        self._not_busy()
        it = self.current
        walk = getattr(self, "walk", None)
        g = walk.current if walk is not None else None
        if walk is not None and doc_id in (None, walk.doc_id):
            # from the gold walk: the selection starts as the selected gold span (to replace it)
            self._add_doc(walk.doc_id)
            if g is None:
                self.add_draft = AddDraft(walk.doc_id, 0)
            else:
                self.add_draft = AddDraft(walk.doc_id, g["end"] - 1, g["start"], g["label"], g.get("attrs"))
            return self.add_draft
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

    def _mode(self, d: AddDraft) -> SpanMode:
        """The draft's caret and anchor as the add-span model both apps share
        (:mod:`workbench.session.spanmode`); motions write back through :meth:`_moved`."""
        return SpanMode(self.text(d.doc_id), self.words(d.doc_id), d.caret, d.anchor)

    @staticmethod
    def _moved(d: AddDraft, m: SpanMode) -> None:
        d.caret, d.anchor = m.caret, m.anchor

    def add_selection(self) -> tuple[int, int]:
        """The selection: anchor..caret inclusive, or the word under the caret."""
        d = self._adding()
        return self._mode(d).selection()

    def add_move(self, delta: int) -> None:
        """Move the caret by ``delta`` characters (it does not rest on a line break)."""
        d = self._adding()
        m = self._mode(d)
        m.move(delta)
        self._moved(d, m)

    def add_word(self, direction: int) -> None:
        d = self._adding()
        m = self._mode(d)
        if direction > 0:
            m.word_next()
        else:
            m.word_prev()
        self._moved(d, m)

    def add_word_end(self) -> None:
        """The caret to the end of its word (already there: of the next word)."""
        d = self._adding()
        m = self._mode(d)
        m.word_end()
        self._moved(d, m)

    def add_line_edge(self, direction: int) -> None:
        """The caret to the start (``direction`` < 0) or end of its line."""
        d = self._adding()
        m = self._mode(d)
        if direction > 0:
            m.line_end()
        else:
            m.line_start()
        self._moved(d, m)

    def add_anchor(self) -> None:
        """Set the anchor at the caret; with one set, drop it (the shared model's ``v``)."""
        d = self._adding()
        m = self._mode(d)
        m.toggle_anchor()
        self._moved(d, m)

    def add_find(self, query: str, backwards: bool = False) -> tuple[int, int]:
        """Select the next (previous) occurrence of ``query`` after (before) the caret in
        the document, wrapping around: anchor on its first character, caret on its last."""
        d = self._adding()
        if not query:
            raise ReviewError("type the text to find")
        if "\n" in query:
            raise ReviewError("a span cannot take in a line break")
        m = self._mode(d)
        hit = m.find(query, backwards)
        if hit is None:
            raise ReviewError(f"「{query}」 is not in {d.doc_id}")
        self._moved(d, m)
        return hit

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

    def add_check(self, replace: bool = False) -> str | None:
        """What would stop saving the selection now (for the screen), or None; with
        ``replace``, overlapping gold is no obstacle (it would be replaced)."""
        d = self._adding()
        a, b = self.add_selection()
        return self.add_problem(d.doc_id, a, b, replace=replace)

    def add_overlaps(self) -> list[dict]:
        """The gold spans the selection overlaps (saving it with ``replace`` replaces them)."""
        d = self._adding()
        a, b = self.add_selection()
        return self.store.gold_rows(d.doc_id, overlapping=(a, b))

    def cancel_add(self) -> None:
        self.add_draft = None

    def save_add(self, replace: bool = False) -> Change:
        """Save the selection as gold (origin ``added``); with ``replace``, a selection over
        gold replaces the gold spans it overlaps (one ``correct`` action, origin ``corrected``)."""
        d = self._adding()
        if d.label is None:
            raise ReviewError(f"choose a label first: {' '.join(f'{i}={x}' for i, x in enumerate(LABELS, 1))}")
        a, b = self.add_selection()
        attrs = d.attrs
        if d.label == "QUANTITY" and attrs is None:
            attrs = derive_attrs(self.text(d.doc_id)[a:b])
        if d.label != "QUANTITY":
            attrs = None
        self.add_draft = None
        try:
            if replace and self.store.gold_rows(d.doc_id, overlapping=(a, b)):
                problem = self.add_problem(d.doc_id, a, b, replace=True)
                if problem:
                    raise ReviewError(problem)
                return self.replace_gold(d.doc_id, a, b, d.label, attrs)
            return self.add_span(d.doc_id, a, b, d.label, attrs)
        except Exception:  # refused, or not written (a locked database): the draft stays
            self.add_draft = d
            raise
