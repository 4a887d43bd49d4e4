"""The review screen's detail panel: the text around the current disagreement and
every version one under another over the *same* window of text (so differing
boundaries line up), each with who made it; in add mode, the text around the caret."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ..core.labels import LABELS
from ..core.quantity import format_attrs
from .review_list import ORIGIN, STATE
from .safe import SafeText, safe_text
from .styles import STYLE_CLASSES, Styled
from .wrap import cell_width, wrap

CONTEXT_ROWS = 6  # add mode: text rows shown above and below the selection


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


def span_line(styled: Styled, text: str, lo: int, hi: int, spans: list[dict], *, current: int | None = None) -> Text:
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


class Detail(Styled, Static):
    """The current disagreement: the text around it and every version over the same window."""

    COMPONENT_CLASSES = STYLE_CLASSES

    def __init__(self, app, **kwargs):
        super().__init__(**kwargs)
        self._app = app
        self.add_lines: list[tuple[int, int]] = []  # add mode: the wrapped rows shown (text offsets)

    def on_resize(self, event) -> None:
        self.show()

    def show(self) -> None:
        self.update(safe_text(self.build(max(20, self.size.width or 80))))

    def build(self, width: int) -> Text:
        app, s = self._app, self._app.session
        st, label_st = self.st, self.label_st
        if s.add_draft is not None:
            return self.build_add(width)
        if s.walk is not None:
            return self.build_gold(width)
        it = s.current
        out = SafeText()
        if it is None:
            out.append("nothing left to adjudicate", style="bold")
            if s.docs:
                out.append(
                    "\n\nn adds a span no annotator made (tab / shift+tab: other documents under review)"
                    "\no walks the gold of the documents under review, to correct any span of it",
                    style=st("dim"),
                )
            return out
        c = it.cluster
        text = s.text(c.doc_id)
        # title
        out.append(f"{c.doc_id}", style="bold")
        out.append(f"  {c.start}–{c.end}  ", style=st("dim"))
        out.append(" " + " · ".join(c.kinds) + " ", style=st("chip-title"))
        out.append(f"  {len(c.annotators)} annotators: {', '.join(c.annotators)}", style=st("dim"))
        if it.settled or it.status == "skipped":
            mark, style = STATE[it.status]
            out.append(f"\n{mark} {it.status}: {it.chosen}  (u undoes)", style=st(style))
        out.append("\n\n")
        # the paragraph around it (wrapped with the line-breaking rules), the cluster underlined
        lo = max(0, c.start - 120)
        hi = min(len(text), c.end + 120)
        nl = text.rfind("\n", lo, c.start)
        lo = nl + 1 if nl >= 0 and c.start - nl < 80 else lo
        nl = text.find("\n", c.end, hi)
        hi = nl if nl >= 0 and nl - c.end < 80 else hi
        para = ("…" if lo > 0 else "") + text[lo:hi] + ("…" if hi < len(text) else "")
        shift = lo - (1 if lo > 0 else 0)
        for k, (a, b) in enumerate(wrap(para, max(10, width - 1))):
            if k:
                out.append("\n")
            for lo_, hi_, part_style in (
                (a, min(b, c.start - shift), st("text")),
                (max(a, c.start - shift), min(b, c.end - shift), st("focus")),
                (max(a, c.end - shift), b, st("text")),
            ):
                if hi_ > lo_:
                    out.append(para[lo_:hi_], style=part_style)
        out.append("\n\n")
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
        if it.added:
            x = c.versions[0].spans[0]
            head = SafeText()
            head.append("+ ", style=st("info-b"))
            head.append(f"{x['label']}", style=label_st(x["label"]))
            head.append(f"「{x['text']}」{x['start']}–{x['end']}")
            if x.get("attrs"):
                head.append(f" {format_attrs(x['attrs'])}", style=st("attrs"))
            out.append_text(head)
            out.append("\n    ")
            out.append_text(span_line(self, text, wlo, whi, c.versions[0].spans))
            out.append("\n")
            return out
        for i, v in enumerate(c.versions):
            hl = i == app.version and draft is None
            head = SafeText()
            head.append("▶ " if hl else ("✓ " if it.version == i else "  "), style=st("warn-b") if hl else st("ok-b"))
            head.append(f"{i + 1} ", style=st("chip-warn") if hl else st("warn-b"))
            head.append(f" {', '.join(v.annotators)} ", style="bold")
            head.append(f"{len(v.annotators)}/{n}  ", style=st("faint"))
            if v.spans:
                for j, x in enumerate(v.spans):
                    if j:
                        head.append(" · ", style=st("sep"))
                    head.append(f"{x['label']}", style=label_st(x["label"]))
                    head.append(f"「{x['text']}」{x['start']}–{x['end']}")
                    if x.get("attrs"):
                        head.append(f" {format_attrs(x['attrs'])}", style=st("attrs"))
            else:
                head.append("— no span —", style=st("error-i"))
            out.append_text(head)
            out.append("\n    ")
            out.append_text(span_line(self, text, wlo, whi, v.spans))
            out.append("\n")
        if draft:
            out.append("\n")
            head = SafeText()
            head.append(" ✎ draft ", style=st("chip-warn"))
            head.append(f" from version {draft.base + 1}  ", style=st("dim"))
            for j, x in enumerate(draft.spans):
                if j:
                    head.append(" · ", style=st("sep"))
                cur = j == draft.current
                head.append(
                    ("▸" if cur else "") + x["label"],
                    style=label_st(x["label"]) + Style(underline=True if cur else None),
                )
                head.append(f"「{x['text']}」{x['start']}–{x['end']}")
                if x.get("attrs"):
                    head.append(f" {format_attrs(x['attrs'])}", style=st("attrs"))
            if not draft.spans:
                head.append("no span (enter saves: reject all)", style=st("error-i"))
            out.append_text(head)
            out.append("\n    ")
            out.append_text(
                span_line(self, text, wlo, whi, draft.spans, current=draft.current if draft.spans else None)
            )
            out.append("\n")
        return out

    def build_add(self, width: int) -> Text:
        """Add mode: the text around the caret with gold spans in their colours,
        unsettled disagreements marked (no new span there) and the selection."""
        s = self._app.session
        st, label_st = self.st, self.label_st
        d = s.add_draft
        assert d is not None
        text = s.text(d.doc_id)
        n = len(text)
        a, b = s.add_selection()
        out = SafeText()
        out.append(" + new span ", style=st("chip-info"))
        out.append(f"  {d.doc_id}", style="bold")
        if d.doc_id in s.docs:
            out.append(f"  document {s.docs.index(d.doc_id) + 1}/{len(s.docs)}", style=st("dim"))
        where = f"  anchor {d.anchor}" if d.anchor is not None else "  (word under the caret)"
        out.append(f"  caret {d.caret}{where}", style=st("dim"))
        out.append("\n\n")
        # the window: the wrapped rows of the selection and CONTEXT_ROWS rows either side, wrapped
        # from line starts (so the rows do not shift while the caret moves: the window slides)
        first, last = min(a, d.caret), max(b, d.caret + 1)
        lo = text.rfind("\n", 0, max(0, first - 600)) + 1 if first > 600 else 0
        hi = text.find("\n", min(n, last + 600))
        hi = n if hi < 0 else hi
        rows = [(lo + x, lo + y) for x, y in wrap(text[lo:hi], max(10, width - 2))]
        r_first = max((i for i, (x, _y) in enumerate(rows) if x <= first), default=0)
        r_last = max((i for i, (x, _y) in enumerate(rows) if x < last), default=r_first)
        rows = rows[max(0, r_first - CONTEXT_ROWS) : r_last + CONTEXT_ROWS + 1]
        lo, hi = rows[0][0], rows[-1][1]
        para = SafeText(text[lo:hi], style=st("text"))
        for g in s.gold(d.doc_id):
            if g["end"] > lo and g["start"] < hi:
                para.stylize(
                    label_st(g["label"]) or st("dim") + Style(bold=True), max(0, g["start"] - lo), g["end"] - lo
                )
        for it in s.items:
            if it.doc_id == d.doc_id and not it.settled and it.cluster.end > lo and it.cluster.start < hi:
                para.stylize(st("blocked"), max(0, it.cluster.start - lo), it.cluster.end - lo)
        sel = label_st(d.label, True)
        para.stylize(sel, a - lo, b - lo)
        if d.anchor is not None:
            para.stylize("underline", d.caret - lo, d.caret - lo + 1)
        self.add_lines = rows
        for k, (x, y) in enumerate(rows):
            if k:
                out.append("\n")
            out.append_text(para[x - lo : y - lo])
        out.append("\n\n")
        # the pending span and whether enter would take it
        head = SafeText("  + ", style=st("info-b"))
        if d.label:
            head.append(d.label, style=label_st(d.label))
        else:
            head.append("label?", style=st("warn-b"))
        head.append(f"「{text[a:b]}」{a}–{b}".replace("\n", "⏎"))
        if d.attrs:
            head.append(f" {format_attrs(d.attrs)}", style=st("attrs"))
        elif d.label == "QUANTITY":
            head.append("  a: value unit approx", style=st("faint"))
        out.append_text(head)
        out.append("\n  ")
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
        out.append("\n\n")
        out.append("gold spans in their label colours · ", style=st("faint"))
        out.append("unsettled disagreements", style=st("blocked"))
        out.append(
            " take no new span (settle them in the list); over gold, enter asks to replace it", style=st("faint")
        )
        return out

    def build_gold(self, width: int) -> Text:
        """Gold mode: the text around the selected gold span with every gold span in its
        colour, the selected one reversed, the correction being built, its provenance."""
        s = self._app.session
        st, label_st = self.st, self.label_st
        w = s.walk
        assert w is not None
        text = s.text(w.doc_id)
        out = SafeText()
        out.append(" gold ", style=st("chip-title"))
        out.append(f"  {w.doc_id}", style="bold")
        if w.doc_id in s.docs:
            out.append(f"  document {s.docs.index(w.doc_id) + 1}/{len(s.docs)}", style=st("dim"))
        g = w.current
        if g is None:
            out.append("\n\nno gold span in this document", style="bold")
            out.append("\n\ntab / shift+tab: other documents · n adds a span · esc: back", style=st("dim"))
            return out
        out.append(f"  span {w.index + 1}/{len(w.rows)}", style=st("dim"))
        out.append("\n\n")
        new = w.shown()
        a = min(g["start"], new["start"]) if new else g["start"]
        b = max(g["end"], new["end"]) if new else g["end"]
        n = len(text)
        lo = text.rfind("\n", 0, max(0, a - 600)) + 1 if a > 600 else 0
        hi = text.find("\n", min(n, b + 600))
        hi = n if hi < 0 else hi
        rows = [(lo + x, lo + y) for x, y in wrap(text[lo:hi], max(10, width - 2))]
        r_first = max((i for i, (x, _y) in enumerate(rows) if x <= a), default=0)
        r_last = max((i for i, (x, _y) in enumerate(rows) if x < b), default=r_first)
        rows = rows[max(0, r_first - CONTEXT_ROWS) : r_last + CONTEXT_ROWS + 1]
        lo, hi = rows[0][0], rows[-1][1]
        para = SafeText(text[lo:hi], style=st("text"))
        for x in w.rows:
            if x["end"] > lo and x["start"] < hi:
                para.stylize(label_st(x["label"]) or st("dim"), max(0, x["start"] - lo), x["end"] - lo)
        if new is None:
            para.stylize(Style(strike=True, reverse=True), g["start"] - lo, g["end"] - lo)
        else:
            para.stylize(label_st(new["label"], True) + Style(reverse=True), new["start"] - lo, new["end"] - lo)
        for k, (x, y) in enumerate(rows):
            if k:
                out.append("\n")
            out.append_text(para[x - lo : y - lo])
        out.append("\n\n")
        head = SafeText("  ")
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
        out.append_text(head)
        out.append("\n  ")
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
        return out
