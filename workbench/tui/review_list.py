"""The review screen's list of disagreements (Line API: a key repaints only the rows it touched)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from ..core.labels import COLORS
from ..core.visible import visible
from .items import FLAG_MARK, clip_cells, pad_cells
from .safe import SafeText
from .scroll import LineView

# item status -> (mark, style name in base.tcss)
STATE = {
    "open": ("·", "open"),
    "skipped": ("↷", "dim"),
    "picked": ("✓", "ok-b"),
    "edited": ("✎", "warn-b"),
    "rejected": ("✗", "error-b"),
    "added": ("+", "info-b"),
}


class RowList(LineView):
    """A list drawn one row per line (Line API): rows built by ``_row``, the current one in
    the cursor style, a click posts the subclass's ``Clicked`` with the row's index.
    Subclasses give ``_count()``, ``_current()`` and ``_row(idx)``; ``_cached`` keeps the
    rendered strips until ``forget``/``restyle``/``reload``."""

    _cached = False

    def __init__(self, session, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self._cache: dict[int, Strip] = {}

    def _count(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _current(self) -> int | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _row(self, idx: int) -> Text:  # pragma: no cover - abstract
        raise NotImplementedError

    def restyle(self) -> None:
        self._cache.clear()
        self.refresh()

    def _scroll_into_view(self, index: int) -> None:
        h = self.size.height
        top = int(self.scroll_y)
        if h and not (top <= index < top + h):
            self.scroll_to(y=max(0, index - h // 3), animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        idx = int(self.scroll_y) + y
        width = self.size.width
        if idx >= self._count():
            return Strip.blank(width, self.base_style)
        strip = self._cache.get(idx) if self._cached else None
        if strip is None:
            segs = list(self._row(idx).render(self.app.console))
            pad = self.base_style + self.st("cursor") if idx == self._current() else self.base_style
            strip = Strip(segs).apply_style(pad).crop_extend(0, width, pad)
            if self._cached:
                self._cache[idx] = strip
        return strip

    def on_resize(self, event) -> None:
        self.reload()

    def on_click(self, event) -> None:
        idx = int(self.scroll_y) + event.y
        if 0 <= idx < self._count():
            self.post_message(self.Clicked(idx))  # type: ignore[attr-defined]

    def reload(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ItemList(RowList):
    """The disagreements, one row each."""

    class Clicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    _cached = True

    def __init__(self, session, **kwargs):
        super().__init__(session, **kwargs)
        self.cursor = 0

    def _count(self) -> int:
        return len(self.session.items)

    def _current(self) -> int | None:
        return self.cursor

    def reload(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.size.width or 40, len(self.session.items))
        self.refresh()
        self.goto(self.session.cursor)  # (rows repainted by the refresh above)

    def forget(self, index: int) -> None:
        """Row ``index`` changed: render it again."""
        self._cache.pop(index, None)
        self.refresh_lines(index, 1)

    def goto(self, index: int) -> None:
        items = self.session.items
        if not items:
            return
        old, self.cursor = self.cursor, max(0, min(index, len(items) - 1))
        for i in {old, self.cursor}:
            self.forget(i)
        self._scroll_into_view(self.cursor)

    def _row(self, idx: int) -> Text:
        s, st = self.session, self.st
        it = s.items[idx]
        c = it.cluster
        width = self.size.width or 40
        cur = idx == self.cursor
        mark, mstyle = STATE[it.status]
        t = SafeText("▶" if cur else " ", style="bold")
        t.append(pad_cells(SafeText(f"{idx + 1}", style=st("faint")), len(str(len(s.items))) + 1))
        t.append(pad_cells(SafeText(mark, style=st(mstyle)), 2))
        kinds = "+" if c.added else "".join(k[0].upper() for k in c.kinds)  # M B L A, + added
        t.append(pad_cells(SafeText(kinds, style=st("kind")), 5))
        if width >= 40:
            t.append(pad_cells(SafeText(clip_cells(visible(c.doc_id), 9), style=st("faint")), 10))
        if any(not f["document"] for f in s.item_flags(it)):  # an annotator flagged a span here unsure
            t.append(FLAG_MARK, style=st("warn-b"))
        rest = max(6, width - t.cell_len - 1)
        snippet = visible(s.text(c.doc_id)[c.start : c.end])
        label = (
            c.versions[0].spans[0]["label"]
            if c.versions[0].spans
            else next((v.spans[0]["label"] for v in c.versions if v.spans), "")
        )
        t.append(
            clip_cells(snippet, rest),
            style=Style(color=COLORS.get(label), strike=True if it.status == "rejected" else None),
        )
        if cur:
            t.stylize(st("cursor"))
        return t


# gold origin -> (mark, style name in base.tcss)
ORIGIN = {
    "agreed": ("=", "ok"),
    "single-annotator": ("1", "ok"),
    "adjudicated": ("✓", "ok-b"),
    "added": ("+", "info-b"),
    "corrected": ("✎", "warn-b"),
}


class GoldList(RowList):
    """The gold spans of the document walked (gold mode), one row each."""

    class Clicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def _rows(self) -> list:
        w = self.session.walk
        return w.rows if w is not None else []

    def _count(self) -> int:
        return len(self._rows())

    def _current(self) -> int | None:
        w = self.session.walk
        return w.index if w is not None else None

    def reload(self) -> None:
        """The walk changed (a span selected, a correction saved, another document): repaint."""
        w = self.session.walk
        self.virtual_size = Size(self.size.width or 40, len(self._rows()))
        if w is not None and w.rows:
            self._scroll_into_view(w.index)
        self.refresh()

    def repaint_current(self) -> None:
        """The walked span's row only (a correction step: its pending mark changed, no row did)."""
        w = self.session.walk
        if w is not None and w.rows:
            self.refresh_lines(w.index, 1)

    def move(self, old: int, new: int) -> None:
        """The cursor moved from row ``old`` to ``new`` over the same rows: repaint those two
        (a whole-list repaint per gold ``j`` cost ~40 rows' rendering)."""
        h, top = self.size.height, int(self.scroll_y)
        if h and not (top <= new < top + h):
            self._scroll_into_view(new)
            self.refresh()
            return
        for i in {old, new}:
            self.refresh_lines(i, 1)

    def _row(self, idx: int) -> Text:
        st = self.st
        w = self.session.walk
        rows = self._rows()
        g = rows[idx]
        width = self.size.width or 40
        cur = w is not None and idx == w.index
        mark, mstyle = ORIGIN.get(g["origin"], ("?", "dim"))
        t = SafeText("▶" if cur else " ", style="bold")
        t.append(pad_cells(SafeText(f"{idx + 1}", style=st("faint")), len(str(len(rows))) + 1))
        t.append(pad_cells(SafeText(mark, style=st(mstyle)), 2))
        t.append(pad_cells(SafeText(g["label"][:4], style=Style(color=COLORS.get(g["label"]))), 5))
        if cur and w is not None and w.pending:
            t.append("✗ " if w.remove else "→ ", style=st("warn-b"))
        rest = max(6, width - t.cell_len - 1)
        t.append(
            clip_cells(visible(g["text"]), rest),
            style=Style(color=COLORS.get(g["label"]), strike=True if cur and w is not None and w.remove else None),
        )
        if cur:
            t.stylize(st("cursor"))
        return t
