"""The right-hand table: the document's proposals and the annotator's own spans."""

from __future__ import annotations

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


def row_cells(it: dict, st, text_cells: int = TEXT_CELLS, attrs_cells: int = ATTRS_CELLS) -> tuple:
    """The cells of an item's row; ``st`` gives a style by name (``Styled.st``)."""
    label = SafeText(it["label"], style=Style(color=COLORS.get(it["label"]) or st("dim").color, bold=True))
    text = SafeText(clip_cells(visible(it["text"]), text_cells))
    status, sstyle = STATUS_CELL[it["status"]]
    if it["status"] == "rejected":
        text.stylize(st("muted-strike"))
        label.stylize(st("muted"))
    return (label, text, _attrs_text(it, st, attrs_cells), SafeText(status, style=st(sstyle)))


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


COLUMNS = (("label", 8), ("text", TEXT_CELLS), ("attrs", ATTRS_CELLS), ("status", 10))


def pad_cells(text: Text, width: int) -> Text:
    """``text`` padded with spaces to ``width`` cells."""
    w = text.cell_len
    if w < width:
        text.append(" " * (width - w))
    return text


def columns_for(width: int) -> tuple[tuple[str, int], ...]:
    """Column widths for a panel ``width`` cells wide (the text column takes the rest)."""
    attrs = 13 if width >= 58 else 9
    text = max(8, width - 1 - 8 - attrs - 10 - 5)
    return (("label", 8), ("text", text), ("attrs", attrs), ("status", 10))


def header_text(width: int = 60) -> Text:
    t = SafeText(" ", style="bold")
    for name, w in columns_for(width):
        t.append_text(pad_cells(SafeText(name, style="bold"), w))
        t.append(" ")
    return t


def row_text(it: dict, st, *, current: bool = False, width: int = 60) -> Text:
    cols = columns_for(width)
    cells = row_cells(it, st, cols[1][1], cols[2][1])
    t = SafeText("▶" if current else " ", style=st("cursor-mark") if current else "")
    for (_name, w), cell in zip(cols, cells):
        t.append_text(pad_cells(cell, w))
        t.append(" ")
    if current:
        t.stylize(st("cursor"))
    return t


class ItemsTable(LineView):
    """The items as a virtualized table (Line API): one row per item, a row cache,
    and a change repaints only the rows it touched (a DataTable re-renders every
    visible cell on any update: ~70 ms per key with 40 rows visible)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.items: list[dict] = []
        self.cursor = 0
        self._cache: dict[int, Strip] = {}
        self.rows_rendered = 0

    def restyle(self) -> None:
        self._cache.clear()
        self.refresh()

    def load(self, items: list[dict], cursor: int) -> None:
        self.items = items
        self._cache.clear()
        set_virtual_size(self, Size(self.size.width or 50, len(items)))
        self.cursor = cursor
        self.refresh()
        self.goto(cursor)

    @property
    def row_count(self) -> int:
        return len(self.items)

    @property
    def cursor_row(self) -> int:
        return self.cursor

    def update_item(self, it: dict, index: int | None = None) -> None:
        if index is None:
            try:
                index = self.items.index(it)
            except ValueError:
                return
        self._cache.pop(index, None)
        self.refresh_lines(index, 1)

    def goto(self, index: int) -> None:
        if not self.items:
            return
        index = max(0, min(index, len(self.items) - 1))
        old, self.cursor = self.cursor, index
        for i in {old, index}:
            self._cache.pop(i, None)
            self.refresh_lines(i, 1)
        h = self.size.height
        top = int(self.scroll_y)
        if h and not (top + 1 <= index < top + h - 1):
            # moving down past the bottom: the cursor row goes near the top (one jump per page)
            target = index - 2 if index >= top + h - 1 else index - h + 3
            self.scroll_to(y=max(0, target), animate=False, immediate=True)

    def prefetch(self) -> None:
        """Render the rows a page above and below the view into the cache (when idle)."""
        h = self.size.height
        top = int(self.scroll_y)
        with self.style_frozen():
            for idx in (*range(top + h, min(len(self.items), top + 2 * h)), *range(max(0, top - h), top)):
                if idx not in self._cache:
                    self._cache[idx] = self._render_row(idx)

    def _render_row(self, idx: int) -> Strip:
        self.rows_rendered += 1
        width = self.size.width
        text = row_text(self.items[idx], self.st, current=idx == self.cursor, width=width)
        segs = list(text.render(self.app.console))
        pad = self.base_style + self.st("cursor") if idx == self.cursor else self.base_style
        return Strip(segs).crop_extend(0, width, pad)

    def render_line(self, y: int) -> Strip:
        idx = int(self.scroll_y) + y
        width = self.size.width
        if idx >= len(self.items):
            return Strip.blank(width, self.base_style)
        strip = self._cache.get(idx)
        if strip is None:
            strip = self._cache[idx] = self._render_row(idx)
            if len(self._cache) > 2000:
                self._cache.clear()
        return strip

    class Resized(Message):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width

    def on_resize(self, event) -> None:
        self.post_message(self.Resized(self.size.width))
        self.virtual_size = Size(self.size.width, len(self.items))
        self._cache.clear()
        self.goto(self.cursor)

    def on_click(self, event) -> None:
        idx = int(self.scroll_y) + event.y
        if 0 <= idx < len(self.items):
            self.post_message(self.RowClicked(idx))

    class RowClicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index
