"""The review screen's detail panel, on the Line API (a key repaints only what it changed).

Two parts, one under the other:

- :class:`DetailHead`: a few rows naming the current disagreement and every version one
  under another over the *same* window of text (so differing boundaries line up), each with
  who made it, and the draft being edited; in add mode the span being selected and whether
  enter would take it; in the gold walk the gold span selected and its correction. The rows
  are built per key (they are few and short) and only the rows whose text changed are
  rendered again.
- :class:`ReviewText`: the whole document, the annotate app's :class:`~.docview.DocView`
  (word-wrapped once per width, ``render_line`` from a cache of strips): the spans of the
  mode in their styles (disagreements, gold, the unsettled ranges that take no new span),
  the current one highlighted, the add mode's selection and caret. A key hands it the new
  spans; it renders again only the lines whose spans changed and scrolls to the current one.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.containers import Vertical
from textual.strip import Strip

from ..core.labels import LABELS
from ..core.quantity import format_attrs
from .docview import DocView
from .items import FLAG_MARK
from .review_list import ORIGIN, STATE
from .safe import SafeText
from .scroll import LineView
from .styles import Styled
from .wrap import cell_width

# review item status -> how the text view draws the disagreement (DocView statuses)
TEXT_STATUS = {
    "open": "pending",
    "skipped": "pending",
    "picked": "accepted",
    "edited": "edited",
    "added": "added",
    "rejected": "rejected",
}


def window(text: str, a: int, b: int, cells: int) -> tuple[int, int]:
    """A range around ``[a, b)`` that fits ``cells`` terminal cells (at least ``[a, b)``)."""
    used = sum(cell_width(c) for c in text[a:b])
    lo, hi = a, b
    side = max(0, (cells - used) // 2)
    left = 0
    while lo > 0 and left + cell_width(text[lo - 1]) <= side:
        lo -= 1
        left += cell_width(text[lo])
    right_budget = max(0, cells - used - left)
    right = 0
    while hi < len(text) and right + cell_width(text[hi]) <= right_budget:
        right += cell_width(text[hi])
        hi += 1
    # give unused right room back to the left
    while lo > 0 and left + right + cell_width(text[lo - 1]) <= cells - used:
        lo -= 1
        left += cell_width(text[lo])
    return lo, hi


def span_line(
    styled: Styled | Detail, text: str, lo: int, hi: int, spans: list[dict], *, current: int | None = None
) -> Text:
    """``text[lo:hi]`` on one line, the spans painted in their label colours."""
    st, label_st = styled.st, styled.label_st
    t = SafeText(no_wrap=True, overflow="crop")
    pos = lo
    for _i, s in enumerate(sorted(spans, key=lambda s: s["start"])):
        a, b = max(s["start"], lo), min(s["end"], hi)
        if b <= a:
            continue
        if a > pos:
            t.append(text[pos:a].replace("\n", "⏎"), style=st("context"))
        style = label_st(s["label"], True)
        if current is not None and s is spans[current]:
            style += Style(underline=True, reverse=True)
        t.append(text[a:b].replace("\n", "⏎"), style=style)
        pos = b
    if pos < hi:
        t.append(text[pos:hi].replace("\n", "⏎"), style=st("context"))
    return t


def _item_label(c) -> str:
    return next((v.spans[0]["label"] for v in c.versions if v.spans), "")


class DetailHead(LineView):
    """The rows above the text (no scrolling: as tall as its rows)."""

    DEFAULT_CSS = """
    DetailHead {
        overflow-y: hidden;
        scrollbar-size-vertical: 0;
        height: 1;
    }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rows: list[Text] = []
        self._cache: dict[int, Strip] = {}
        self.rows_rendered = 0  # for tests: strips built (cache misses)

    def restyle(self) -> None:
        self._cache.clear()
        self.refresh()

    def set_rows(self, rows: list[Text]) -> None:
        """Show ``rows``: only those that differ from the rows shown are rendered again
        (a new number of rows changes the height: one layout pass)."""
        old, self.rows = self.rows, rows
        if len(rows) != len(old):
            self._cache.clear()
            self.styles.height = max(1, len(rows))
            self.refresh()
            return
        for i, (a, b) in enumerate(zip(old, rows)):
            if a != b:
                self._cache.pop(i, None)
                self.refresh_lines(i, 1)

    def on_resize(self, event) -> None:
        self._cache.clear()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self.rows):
            return Strip.blank(width, self.base_style)
        strip = self._cache.get(y)
        if strip is None:
            self.rows_rendered += 1
            segs = list(self.rows[y].render(self.app.console))
            strip = self._cache[y] = Strip(segs).apply_style(self.base_style).crop_extend(0, width, self.base_style)
        return strip


class ReviewText(DocView):
    """The document of the current disagreement / new span / gold span (a DocView whose
    selection is a range: the add mode selects the word under the caret without anchor)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.doc_id: str | None = None
        self.sel_range: tuple[int, int] | None = None
        self._unsized: tuple | None = None  # a document given before the first layout

    def on_resize(self, event) -> None:
        # (DocView.on_resize runs too, after this: it wraps to the new width)
        if self._unsized is not None:
            args, self._unsized = self._unsized, None
            self.show_document(*args)

    def _selection_range(self) -> tuple[int, int] | None:
        return self.sel_range

    def show_document(self, doc_id: str, text: str, items: list[dict], current: int | None) -> None:
        """Open ``doc_id`` (wrapped once), or give the one open its new spans: the lines
        of the spans that changed (and of the old and new current one) are drawn again."""
        if not self.size.width:  # not laid out yet: wrapping now would wrap at 4 cells
            self._unsized = (doc_id, text, items, current)
            return
        if doc_id != self.doc_id or len(text) != len(self.text):
            self.doc_id = doc_id
            self.sel_range = None
            self.set_document(text, items, current)
            return
        old, old_cur = self.items, self.current
        if old is items:  # the same spans: only the current one moved
            if old_cur != current:
                self.set_current(current)
                self.invalidate(
                    [
                        (items[i]["start"], items[i]["end"])
                        for i in (old_cur, current)
                        if i is not None and i < len(items)
                    ]
                )
        elif len(old) != len(items):
            self.set_items(items, current)
        else:
            changed = [
                (min(a["start"], b["start"]), max(a["end"], b["end"]))
                for a, b in zip(old, items)
                if a["start"] != b["start"]
                or a["end"] != b["end"]
                or a["label"] != b["label"]
                or a["status"] != b["status"]
            ]
            self.set_items_quiet(items)
            self.set_current(current)
            if old_cur != current:
                for i in (old_cur, current):
                    if i is not None and i < len(items):
                        changed.append((items[i]["start"], items[i]["end"]))
                    if i is not None and i < len(old):
                        changed.append((old[i]["start"], old[i]["end"]))
            if changed:
                self.invalidate(changed)
        self.show_current()

    def set_range(self, caret: int | None, rng: tuple[int, int] | None) -> None:
        """The add mode's selection ``rng`` and its caret (None, None: no selection)."""
        old = self.sel_range
        if old == rng and caret == self.caret:
            return
        self.caret, self.sel_range = caret, rng
        self.invalidate([r for r in (old, rng) if r is not None])
        if rng is not None and caret is not None:
            self.scroll_to_offset(min(rng[0], caret), max(rng[1], caret + 1))


class Detail(Vertical):
    """The current disagreement (or new span, or gold span): the head rows, then the text."""

    DEFAULT_CSS = """
    Detail { width: 1fr; height: 1fr; }
    Detail > ReviewText { height: 1fr; }
    """

    def __init__(self, app, **kwargs):
        super().__init__(**kwargs)
        self._app = app
        self.head = DetailHead()
        self.body = ReviewText()
        self._gold: tuple[str, int, list[dict]] | None = None  # add mode: (doc, n_actions, gold rows)
        self._items: tuple | None = None  # the text's disagreements: (key, items, item index -> position)

    def compose(self):
        yield self.head
        yield self.body

    @property
    def add_lines(self) -> list[tuple[int, int]]:
        """The wrapped rows of the document shown (text offsets): the add mode's j / k."""
        return self.body.lines if self._app.session.add_draft is not None else []

    # styles come from the head (a Styled widget of the same classes)
    def st(self, name: str) -> Style:
        return self.head.st(name)

    def label_st(self, label: str | None, chip: bool = False) -> Style:
        return self.head.label_st(label, chip)

    def forget_gold(self) -> None:
        """Read the gold of the add mode's document again on the next key."""
        self._gold = None

    def _gold_rows(self, doc_id: str) -> list[dict]:
        """The document's gold (read once per document and review action: the add mode's
        motions write nothing)."""
        s = self._app.session
        g = self._gold
        if g is None or g[0] != doc_id or g[1] != s.n_actions:
            g = self._gold = (doc_id, s.n_actions, s.gold(doc_id))
        return g[2]

    def on_resize(self, event) -> None:
        self.show()

    def show(self) -> None:
        """Draw the current state of the session (only what changed is rendered again)."""
        width = max(20, self.head.size.width or self.size.width or 80)
        self.head.set_rows(self.head_rows(width))
        self._show_text()

    def build(self, width: int) -> Text:
        """The panel as one text: the head rows, then the text lines in view (for tests)."""
        out = SafeText()
        for i, row in enumerate(self.head_rows(width)):
            if i:
                out.append("\n")
            out.append_text(row)
        out.append("\n\n")
        out.append("\n".join(self.body.visible_text()))
        return out

    # ------------------------------------------------------------------ the text
    def _show_text(self) -> None:
        s = self._app.session
        body = self.body
        if s.add_draft is not None:
            d = s.add_draft
            text = s.text(d.doc_id)
            items = [
                {"start": g["start"], "end": g["end"], "label": g["label"], "status": "accepted"}
                for g in self._gold_rows(d.doc_id)
            ]
            items += [
                {"start": it.cluster.start, "end": it.cluster.end, "label": "", "status": "blocked"}
                for it in s.items
                if it.doc_id == d.doc_id and not it.settled
            ]
            items.sort(key=lambda x: (x["start"], x["end"]))
            body.show_document(d.doc_id, text, items, None)
            body.set_range(d.caret, s.add_selection())
            return
        body.set_range(None, None)
        if s.walk is not None:
            w = s.walk
            items = [{"start": g["start"], "end": g["end"], "label": g["label"], "status": "accepted"} for g in w.rows]
            current = w.index if w.current is not None else None
            if current is not None:
                new = w.shown()
                if w.remove or new is None:
                    items[current] = {**items[current], "status": "rejected"}
                elif w.span is not None:
                    items[current] = {
                        "start": new["start"],
                        "end": new["end"],
                        "label": new["label"],
                        "status": "edited",
                    }
                    mark = items[current]
                    items.sort(key=lambda x: (x["start"], x["end"]))
                    current = next(i for i, x in enumerate(items) if x is mark)
            body.show_document(w.doc_id, s.text(w.doc_id), items, current)
            return
        it = s.current
        if it is None:
            body.show_document("", "", [], None)
            return
        key = (it.doc_id, s.n_actions, len(s.items), id(s.items))
        cached = self._items
        if cached is None or cached[0] != key:
            # the disagreements of the document, by start (their statuses change only by a review action)
            mine = sorted(
                (i for i, x in enumerate(s.items) if x.doc_id == it.doc_id),
                key=lambda i: (s.items[i].cluster.start, s.items[i].cluster.end),
            )
            items = [
                {
                    "start": s.items[i].cluster.start,
                    "end": s.items[i].cluster.end,
                    "label": _item_label(s.items[i].cluster),
                    "status": TEXT_STATUS.get(s.items[i].status, "pending"),
                }
                for i in mine
            ]
            cached = self._items = (key, items, {i: k for k, i in enumerate(mine)})
        _key, items, where = cached
        current = where[s.cursor]
        body.show_document(it.doc_id, s.text(it.doc_id), items, current)

    # ------------------------------------------------------------------ the head
    def head_rows(self, width: int) -> list[Text]:
        """The rows above the text, then a blank one."""
        s = self._app.session
        if s.add_draft is not None:
            rows = self.rows_add(width)
        elif s.walk is not None:
            rows = self.rows_gold(width)
        else:
            rows = self.rows_item(width)
        out: list[Text] = []
        for r in rows:  # rows made without no_wrap (messages) wrap; the others are cropped
            out.extend([r] if r.no_wrap else r.wrap(self._app.console, max(10, width - 1)))
        return [*out, SafeText()]

    def rows_item(self, width: int) -> list[Text]:
        app, s = self._app, self._app.session
        st, label_st = self.st, self.label_st
        it = s.current
        rows: list[Text] = []

        def row(*parts: tuple[str, Style | str], wrap: bool = False) -> SafeText:
            t = SafeText(no_wrap=not wrap, overflow="ellipsis")
            for text, style in parts:
                t.append(text, style=style)
            rows.append(t)
            return t

        if it is None:
            row(("nothing left to adjudicate", "bold"))
            if s.docs:
                row(("", ""))
                row(
                    ("n adds a span no annotator made (tab / shift+tab: other documents under review)", st("dim")),
                    wrap=True,
                )
                row(("o walks the gold of the documents under review, to correct any span of it", st("dim")), wrap=True)
            return rows
        c = it.cluster
        text = s.text(c.doc_id)
        title = row(
            (f"{c.doc_id}", "bold"),
            (f"  {c.start}–{c.end}  ", st("dim")),
            (" " + " · ".join(c.kinds) + " ", st("chip-title")),
            (f"  {len(c.annotators)} annotators: {', '.join(c.annotators)}", st("dim")),
        )
        del title
        if it.settled or it.status == "skipped":
            mark, style = STATE[it.status]
            row((f"{mark} {it.status}: {it.chosen}  (u undoes)", st(style)))
        else:
            row(("", ""))
        # the versions over the same window
        inner = max(10, width - 6)
        draft = s.draft if s.draft is not None and s.draft.item is it else None
        ranges = [(x["start"], x["end"]) for v in c.versions for x in v.spans]
        if draft:
            ranges += [(x["start"], x["end"]) for x in draft.spans]
        a = min([c.start] + [r[0] for r in ranges])
        b = max([c.end] + [r[1] for r in ranges])
        wlo, whi = window(text, a, b, inner)
        n = len(c.annotators)

        def line(spans: list[dict], current: int | None = None) -> None:
            t = SafeText("    ", no_wrap=True, overflow="crop")
            t.append_text(span_line(self, text, wlo, whi, spans, current=current))
            rows.append(t)

        def spans_of(head: Text, spans: list[dict], mark_current: int | None = None) -> None:
            for j, x in enumerate(spans):
                if j:
                    head.append(" · ", style=st("sep"))
                if mark_current is None:
                    head.append(f"{x['label']}", style=label_st(x["label"]))
                else:
                    cur = j == mark_current
                    head.append(
                        ("▸" if cur else "") + x["label"],
                        style=label_st(x["label"]) + Style(underline=True if cur else None),
                    )
                head.append(f"「{x['text']}」{x['start']}–{x['end']}")
                if x.get("attrs"):
                    head.append(f" {format_attrs(x['attrs'])}", style=st("attrs"))

        if it.added:
            x = c.versions[0].spans[0]
            head = row(("+ ", st("info-b")))
            spans_of(head, [x])
            line(c.versions[0].spans)
            return rows
        self._flag_rows(row, s.item_flags(it))
        for i, v in enumerate(c.versions):
            hl = i == app.version and draft is None
            head = row(
                ("▶ " if hl else ("✓ " if it.version == i else "  "), st("warn-b") if hl else st("ok-b")),
                (f"{i + 1} ", st("chip-warn") if hl else st("warn-b")),
                (f" {', '.join(v.annotators)} ", "bold"),
                (f"{len(v.annotators)}/{n}  ", st("faint")),
            )
            if v.spans:
                spans_of(head, v.spans)
            else:
                head.append("— no span —", style=st("error-i"))
            line(v.spans)
        if draft:
            row(("", ""))
            head = row((" ✎ draft ", st("chip-warn")), (f" from version {draft.base + 1}  ", st("dim")))
            spans_of(head, draft.spans, draft.current)
            if not draft.spans:
                head.append("no span (enter saves: reject all)", style=st("error-i"))
            line(draft.spans, draft.current if draft.spans else None)
        return rows

    def _flag_rows(self, row, flags: list[dict]) -> None:
        """Who flagged what as unsure (annotate ! / F), with the note: under the title."""
        st = self.st
        for f in flags:
            parts: list[tuple[str, Style | str]] = [(f" {FLAG_MARK} {f['annotator']} ", st("chip-warn"))]
            if f["document"]:
                parts.append((" the document", "bold"))
            else:
                parts += [
                    (f" {f['label']}", self.label_st(f["label"])),
                    (f"「{f['text']}」{f['start']}–{f['end']}", ""),
                ]
            parts.append(
                (f"  {f['note']}" if f["note"] else "  unsure (no note)", st("warn") if f["note"] else st("dim"))
            )
            row(*parts)

    def rows_add(self, width: int) -> list[Text]:
        """Add mode: where the caret is, the pending span and whether enter would take it
        (the text below shows gold in its label colours, the unsettled disagreements
        marked, the selection and the caret)."""
        s = self._app.session
        st, label_st = self.st, self.label_st
        d = s.add_draft
        assert d is not None
        text = s.text(d.doc_id)
        a, b = s.add_selection()
        rows: list[Text] = []
        t = SafeText(" + new span ", style=st("chip-info"), no_wrap=True, overflow="ellipsis")
        t.append(f"  {d.doc_id}", style="bold")
        if d.doc_id in s.docs:
            t.append(f"  document {s.docs.index(d.doc_id) + 1}/{len(s.docs)}", style=st("dim"))
        where = f"  anchor {d.anchor}" if d.anchor is not None else "  (word under the caret)"
        t.append(f"  caret {d.caret}{where}", style=st("dim"))
        rows.append(t)
        head = SafeText("  + ", style=st("info-b"), no_wrap=True, overflow="ellipsis")
        if d.label:
            head.append(d.label, style=label_st(d.label))
        else:
            head.append("label?", style=st("warn-b"))
        head.append(f"「{text[a:b]}」{a}–{b}".replace("\n", "⏎"))
        if d.attrs:
            head.append(f" {format_attrs(d.attrs)}", style=st("attrs"))
        elif d.label == "QUANTITY":
            head.append("  a: value unit approx", style=st("faint"))
        rows.append(head)
        out = SafeText("  ")
        problem = s.add_check(replace=True)
        over = [] if problem else s.add_overlaps()
        if problem:
            out.append(f"✗ {problem}", style=st("error-b"))
        elif over and d.label:
            names = ", ".join(f"{g['label']}「{g['text']}」{g['start']}–{g['end']} ({g['origin']})" for g in over)
            if self._app.confirm_replace:
                out.append(f"⚠ enter again replaces {names} · esc keeps it", style=st("warn-b"))
            else:
                out.append(f"overlaps gold {names}: enter asks to replace it", style=st("warn-b"))
        elif over:
            out.append("over gold: choose a label, then enter asks to replace it", style=st("dim"))
        elif d.label:
            out.append("✓ enter puts it into gold", style=st("ok"))
        else:
            out.append("choose a label: ", style=st("dim"))
            for i, x in enumerate(LABELS, 1):
                out.append(f"{i} ", style=st("warn-b"))
                out.append(f"{x}  ", style=label_st(x))
        rows.append(out)
        legend = SafeText(
            "  gold spans on their label colours · ", style=st("faint"), no_wrap=True, overflow="ellipsis"
        )
        legend.append("unsettled disagreements", style=st("blocked"))
        legend.append(
            " take no new span (settle them in the list); over gold, enter asks to replace it", style=st("faint")
        )
        rows.append(legend)
        return rows

    def rows_gold(self, width: int) -> list[Text]:
        """Gold mode: the gold span selected, its provenance and the correction being built
        (the text below shows every gold span, the selected one highlighted)."""
        s = self._app.session
        st, label_st = self.st, self.label_st
        w = s.walk
        assert w is not None
        rows: list[Text] = []
        t = SafeText(" gold ", style=st("chip-title"), no_wrap=True, overflow="ellipsis")
        t.append(f"  {w.doc_id}", style="bold")
        if w.doc_id in s.docs:
            t.append(f"  document {s.docs.index(w.doc_id) + 1}/{len(s.docs)}", style=st("dim"))
        rows.append(t)
        g = w.current
        if g is None:
            rows.append(SafeText("no gold span in this document", style="bold"))
            rows.append(SafeText("tab / shift+tab: other documents · n adds a span · esc: back", style=st("dim")))
            return rows
        t.append(f"  span {w.index + 1}/{len(w.rows)}", style=st("dim"))
        head = SafeText("  ", no_wrap=True, overflow="ellipsis")
        head.append(g["label"], style=label_st(g["label"]))
        head.append(f"「{g['text']}」{g['start']}–{g['end']}".replace("\n", "⏎"))
        if g.get("attrs"):
            head.append(f" {format_attrs(g['attrs'])}", style=st("attrs"))
        mark, mstyle = ORIGIN.get(g["origin"], ("?", "dim"))
        head.append(f"   {mark} {g['origin']}", style=st(mstyle))
        if g["reviewer"] and g["origin"] not in ("agreed", "single-annotator"):
            head.append(f" by {g['reviewer']}", style=st("dim"))
        anns = ", ".join(g["annotators"]) or "no annotator"
        head.append(f" · {anns}", style=st("dim"))
        rows.append(head)
        out = SafeText("  ")
        if w.remove:
            out.append(
                "✗ to be removed from gold: enter removes it (d again keeps it, esc drops the change)",
                style=st("error-b"),
            )
        elif w.span is not None:
            x = w.span
            out.append("→ ", style=st("warn-b"))
            out.append(x["label"], style=label_st(x["label"]))
            out.append(f"「{x['text']}」{x['start']}–{x['end']}".replace("\n", "⏎"))
            if x.get("attrs"):
                out.append(f" {format_attrs(x['attrs'])}", style=st("attrs"))
            out.append("   enter saves (origin corrected) · esc drops it", style=st("ok"))
        else:
            out.append(
                "1-7 relabel · [ ] { } move start / end · a attrs · d remove · n a new span replacing it",
                style=st("faint"),
            )
        rows.append(out)
        return rows
