"""The right-hand table: the document's proposals and the annotator's own spans."""

from __future__ import annotations

from bisect import bisect_left

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from ..core.labels import COLORS
from ..core.quantity import attrs_disagree, format_attrs
from ..core.visible import visible
from .safe import SafeText
from .scroll import LineView, set_virtual_size
from .wrap import cell_width

STATUS_CELL = {  # status -> (cell, style name in base.tcss)
    "pending": ("· pending", "open"),
    "accepted": ("✓ accepted", "ok-b"),
    "rejected": ("✗ rejected", "rejected-cell"),
    "edited": ("✎ edited", "warn-b"),
    "added": ("+ added", "info-b"),
}
TEXT_CELLS = 18
FLAG_MARK = "⚑"  # an item (or, in the header, a document) flagged unsure
ATTRS_CELLS = 13


def clip_cells(s: str, n: int) -> str:
    """Cut ``s`` to at most ``n`` terminal cells, ending in … when cut."""
    s = s.replace("\n", "⏎")
    widths = [cell_width(c) for c in s]
    if sum(widths) <= n:
        return s
    used = 0
    for i, w in enumerate(widths):
        if used + w > n - 1:
            return s[:i] + "…"
        used += w
    return s


def attrs_cell(attrs: dict | None) -> str:
    return format_attrs(attrs, compact=True)


STATUS_ICON = {"pending": "·", "accepted": "✓", "rejected": "✗", "edited": "✎", "added": "+"}


def source_cell(sources: list[str]) -> str:
    """The proposers of an item, joined: ``rules+m`` for a span both proposed."""
    return "+".join(sources)


def score_cell(score) -> str:
    """A proposal's score in 4 cells (``.92``, ``1.00``), or nothing."""
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return ""
    text = f"{score:.2f}"
    return text[1:] if text.startswith("0.") else text


def row_cells(
    it: dict,
    st,
    text_cells: int = TEXT_CELLS,
    attrs_cells: int = ATTRS_CELLS,
    sources: list[str] | None = None,
    *,
    compact: bool = False,
    source_cells: int = 8,
    flagged: bool = False,
) -> tuple:
    """The cells of an item's row; ``st`` gives a style by name (``Styled.st``); ``sources``:
    who proposed it (:meth:`~workbench.session.SessionView.sources_of`); ``flagged``: the
    annotator flagged it unsure (the text cell starts with :data:`FLAG_MARK`)."""
    label = SafeText(it["label"], style=Style(color=COLORS.get(it["label"]) or st("dim").color, bold=True))
    if flagged:  # unsure (annotate !): the mark first, the text in the cells left
        text = SafeText(FLAG_MARK, style=st("warn-b"))
        text.append(clip_cells(visible(it["text"]), text_cells - 1))
    else:
        text = SafeText(clip_cells(visible(it["text"]), text_cells))
    status, sstyle = STATUS_CELL[it["status"]]
    if compact:
        status = STATUS_ICON[it["status"]]
    if it["status"] == "rejected":
        text.stylize(st("muted-strike"))
        label.stylize(st("muted"))
    src = SafeText(clip_cells(visible(source_cell(sources or [])), source_cells), style=st("faint"))
    score = SafeText(score_cell(it["score"]) if it["proposal_id"] is not None else "", style=st("faint"))
    return (label, text, _attrs_text(it, st, attrs_cells), src, score, SafeText(status, style=st(sstyle)))


def _attrs_text(it: dict, st, cells: int) -> Text:
    """The attrs cell; a QUANTITY without a value reads ``? value``, attrs that say something
    else than the span's text (typed by hand, or bounds moved since) start with ``≠``."""
    attrs = it["attrs"]
    if it["label"] == "QUANTITY" and it["status"] != "rejected":
        if not attrs or attrs.get("value") is None:
            return SafeText(clip_cells("? value", cells), style=st("warn-b"))
        if attrs_disagree(attrs, it["text"]):
            return SafeText(clip_cells("≠" + attrs_cell(attrs), cells), style=st("warn"))
    return SafeText(clip_cells(attrs_cell(attrs), cells), style=st("attrs"))


def pad_cells(text: Text, width: int) -> Text:
    """``text`` padded with spaces to ``width`` cells."""
    w = text.cell_len
    if w < width:
        text.append(" " * (width - w))
    return text


def columns_for(width: int) -> tuple[tuple[str, int], ...]:
    """Column widths for a panel ``width`` cells wide (the text column takes the rest). A
    narrow panel (an 80-column terminal) shows the status as its icon and no score (the
    status line shows both)."""
    if width < 56:
        attrs = 9
        cols = [("label", 8), ("text", 0), ("attrs", attrs), ("source", 7), ("score", 0), ("", 1)]
    else:
        attrs = 13 if width >= 76 else 9
        cols = [("label", 8), ("text", 0), ("attrs", attrs), ("source", 8), ("score", 5), ("status", 10)]
    used = 1 + sum(w for _n, w in cols) + sum(1 for _n, w in cols if w)
    cols[1] = ("text", max(8, width - used - 1))
    return tuple(cols)


def header_text(width: int = 60) -> Text:
    t = SafeText(" ", style="bold")
    for name, w in columns_for(width):
        if w:
            t.append_text(pad_cells(SafeText(name[:w], style="bold"), w))
            t.append(" ")
    return t


def row_text(
    it: dict, st, *, current: bool = False, width: int = 60, sources: list[str] | None = None, flagged: bool = False
) -> Text:
    cols = columns_for(width)
    compact = cols[-1][0] == ""
    cells = row_cells(
        it, st, cols[1][1], cols[2][1], sources, compact=compact, source_cells=cols[3][1], flagged=flagged
    )
    t = SafeText("▶" if current else " ", style=st("cursor-mark") if current else "")
    for (_name, w), cell in zip(cols, cells):
        if w:
            t.append_text(pad_cells(cell, w))
            t.append(" ")
    if current:
        t.stylize(st("cursor"))
    return t


def legend_text(keys: list[str], width: int) -> Text:
    """The label legend: each label's key and name in its colour, wrapped to ``width``."""
    from ..core.labels import LABELS

    t = SafeText(" ")
    used = 1
    for key, label in zip(keys, LABELS):
        cell = SafeText.assemble((key, "bold"), " ", (label, Style(color=COLORS.get(label), bold=True)))
        w = cell.cell_len + 2
        if used > 1 and used + w - 2 > width:
            t.append("\n ")
            used = 1
        t.append_text(cell)
        t.append("  ")
        used += w
    t.rstrip()
    return t


class ItemsTable(LineView):
    """The items as a virtualized table (Line API): one row per item, a row cache,
    and a change repaints only the rows it touched (a DataTable re-renders every
    visible cell on any update: ~70 ms per key with 40 rows visible).

    ``rows`` are the indexes of the items shown (all of them, or a filtered list: the
    accepted ones hidden); ``cursor`` is an item index. ``sources(item)`` names who
    proposed an item (the source column)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.items: list[dict] = []
        self.rows: list[int] = []
        self.cursor = 0
        self.sources = lambda it: [it["source"]] if it.get("proposal_id") is not None and it.get("source") else []
        self.flag_of = lambda it: None  # the item's unsure flag (AnnotationSession.flag_of)
        self._cache: dict[int, Strip] = {}
        self.rows_rendered = 0

    def restyle(self) -> None:
        self._cache.clear()
        self.refresh()

    def load(self, items: list[dict], cursor: int, rows: list[int] | None = None) -> None:
        self.items = items
        self.rows = list(range(len(items))) if rows is None else rows
        self._cache.clear()
        set_virtual_size(self, Size(self.size.width or 50, len(self.rows)))
        self.cursor = cursor
        self.refresh()
        self.goto(cursor)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def row_of(self, index: int) -> int | None:
        """The row showing item ``index`` (None if it is not shown)."""
        j = bisect_left(self.rows, index)
        return j if j < len(self.rows) and self.rows[j] == index else None

    @property
    def cursor_row(self) -> int:
        row = self.row_of(self.cursor)
        return row if row is not None else min(bisect_left(self.rows, self.cursor), max(0, len(self.rows) - 1))

    def update_item(self, it: dict, index: int | None = None) -> None:
        if index is None:
            try:
                index = self.items.index(it)
            except ValueError:
                return
        row = self.row_of(index)
        if row is None:
            return
        self._cache.pop(row, None)
        self.refresh_lines(row, 1)

    def goto(self, index: int) -> None:
        if not self.items:
            return
        index = max(0, min(index, len(self.items) - 1))
        old_row = self.row_of(self.cursor)
        self.cursor = index
        row = self.cursor_row
        for i in {old_row, row}:
            if i is not None:
                self._cache.pop(i, None)
                self.refresh_lines(i, 1)
        h = self.size.height
        top = int(self.scroll_y)
        if h and not (top + 1 <= row < top + h - 1):
            # moving down past the bottom: the cursor row goes near the top (one jump per page)
            target = row - 2 if row >= top + h - 1 else row - h + 3
            self.scroll_to(y=max(0, target), animate=False, immediate=True)

    def prefetch(self) -> None:
        """Render the rows a page above and below the view into the cache (when idle)."""
        h = self.size.height
        top = int(self.scroll_y)
        with self.style_frozen():
            for idx in (*range(top + h, min(len(self.rows), top + 2 * h)), *range(max(0, top - h), top)):
                if idx not in self._cache:
                    self._cache[idx] = self._render_row(idx)

    def _render_row(self, row: int) -> Strip:
        self.rows_rendered += 1
        width = self.size.width
        idx = self.rows[row]
        it = self.items[idx]
        current = idx == self.cursor
        text = row_text(
            it, self.st, current=current, width=width, sources=self.sources(it), flagged=self.flag_of(it) is not None
        )
        segs = list(text.render(self.app.console))
        pad = self.base_style + self.st("cursor") if current else self.base_style
        return Strip(segs).crop_extend(0, width, pad)

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_y) + y
        width = self.size.width
        if row >= len(self.rows):
            return Strip.blank(width, self.base_style)
        strip = self._cache.get(row)
        if strip is None:
            strip = self._cache[row] = self._render_row(row)
            if len(self._cache) > 2000:
                self._cache.clear()
        return strip

    class Resized(Message):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width

    def on_resize(self, event) -> None:
        self.post_message(self.Resized(self.size.width))
        self.virtual_size = Size(self.size.width, len(self.rows))
        self._cache.clear()
        self.goto(self.cursor)

    def on_click(self, event) -> None:
        row = int(self.scroll_y) + event.y
        if 0 <= row < len(self.rows):
            self.post_message(self.RowClicked(self.rows[row]))

    class RowClicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index
