"""The right-hand table: the document's proposals and the annotator's own spans."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ..labels import COLORS
from ..session import format_value
from .wrap import cell_width

STATUS_CELL = {
    "pending": ("· pending", "#9e9e9e"),
    "accepted": ("✓ accepted", "bold #87d787"),
    "rejected": ("✗ rejected", "#d75f5f"),
    "edited": ("✎ edited", "bold #ffd75f"),
    "added": ("+ added", "bold #5fd7ff"),
}
TEXT_CELLS = 16
ATTRS_CELLS = 12


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
    if not attrs:
        return ""
    v = format_value(attrs.get("value"))
    out = (v or "?") + (attrs.get("unit") or "")
    ap = attrs.get("approx")
    if ap:
        out += {"more": " 余+", "about": " 约~", "nearly": " 近<"}.get(ap, " " + ap)
    return out


def row_cells(it: dict) -> tuple:
    color = COLORS.get(it["label"], "#bcbcbc")
    label = Text(it["label"], style=f"bold {color}")
    text = Text(clip_cells(it["text"], TEXT_CELLS))
    status, sstyle = STATUS_CELL[it["status"]]
    if it["status"] == "rejected":
        text.stylize("#767676 strike")
        label.stylize("#767676")
    return (label, text, Text(clip_cells(attrs_cell(it["attrs"]), ATTRS_CELLS), style="#d7d7af"),
            Text(status, style=sstyle))


class ItemsTable(DataTable, can_focus=False):
    """A DataTable whose rows are the session's items (row key = item key)."""

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=False, show_row_labels=False, **kwargs)
        self._keys: list[str] = []

    def on_mount(self) -> None:
        self.add_column("label", key="label", width=8)
        self.add_column("text", key="text", width=TEXT_CELLS)
        self.add_column("attrs", key="attrs", width=ATTRS_CELLS)
        self.add_column("status", key="status", width=10)

    def load(self, items: list[dict], cursor: int) -> None:
        self.clear()
        self._keys = [it["key"] for it in items]
        for it in items:
            self.add_row(*row_cells(it), key=it["key"])
        self.goto(cursor)

    def update_item(self, it: dict) -> None:
        key = it["key"]
        for col, val in zip(("label", "text", "attrs", "status"), row_cells(it)):
            self.update_cell(key, col, val)

    def goto(self, index: int) -> None:
        if self.row_count:
            self.move_cursor(row=max(0, min(index, self.row_count - 1)), animate=False, scroll=True)

    def index_of_row_key(self, row_key) -> int | None:
        try:
            return self.get_row_index(row_key)
        except Exception:
            return None
