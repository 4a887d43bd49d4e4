"""The document text: a virtualized ScrollView using Textual's Line API.

Only the visible lines are rendered (``render_line``), each from a cache of
rendered strips keyed by line number. A decision invalidates just the lines
its span touches, so the cost of a key press does not grow with the length
of the document (the Toolong pattern).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip

from ..core.labels import COLORS
from ..core.visible import visible
from .scroll import LineView, set_virtual_size
from .wrap import cell_width, line_of, wrap

CACHE_LINES = 4000
_UNDERLINE = Style(underline=True)

# paint order: later wins where spans overlap
_PRIORITY = {"rejected": 0, "pending": 1, "accepted": 2, "edited": 2, "added": 2}


def item_style(label: str, status: str, st) -> Style:
    """The style of a span (label colour from ``COLORS``, the rest from CSS via ``st``)."""
    color = COLORS.get(label, "")
    if status == "pending":
        return Style(color=color or None, underline=True)
    if status == "rejected":
        return st("muted-strike")
    chip = st("chip") + Style(bold=False, bgcolor=color or None)
    if status == "edited":
        return chip + Style(italic=True)
    if status == "added":
        return chip + Style(bold=True)
    return chip


def drawing_legend(st, sample: str = "苍岭镇", label: str = "ORG") -> Text:
    """How the text panel draws spans, each with a sample drawn that way (for the help)."""
    from .safe import SafeText

    rows = [
        (item_style(label, "pending", st), "pending proposal: underlined, in its label's colour (not decided yet)"),
        (item_style(label, "accepted", st), "accepted: on its label's colour"),
        (item_style(label, "edited", st), "edited by you (label, bounds or attrs): italic, on its label's colour"),
        (item_style(label, "added", st), "added by you: bold, on its label's colour"),
        (item_style(label, "rejected", st), "rejected: grey, struck through"),
        (st("current"), "the current item (the status line names it): white, underlined"),
        (st("current-rejected"), "the current item when rejected: grey, struck through"),
        (st("selection"), "new span (n): the selection (blue; a label key adds it)"),
        (st("caret"), "new span (n): the caret, one character (orange)"),
        (st("search"), "search (/): the matches"),
    ]
    t = SafeText("\nHow spans are drawn in the text\n", style=st("group"))
    for style, what in rows:
        t.append("  ")
        t.append(sample, style=style)
        t.append(f"  {what}\n", style=st("text"))
    t.append(
        "In the list: · pending  ✓ accepted  ✎ edited  + added  ✗ rejected; ▶ the current row;\n", style=st("text")
    )
    t.append("source: the proposer(s) of the span (rules+m: proposed by both), then its score.", style=st("text"))
    return t


class DocView(LineView):
    """Word-wrapped text with label-coloured spans; the current item highlighted."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.text = ""
        self.items: list[dict] = []
        self._starts: list[int] = []
        self._maxlen = 1
        self.current: int | None = None
        self.lines: list[tuple[int, int]] = [(0, 0)]
        self._line_starts: list[int] = [0]
        self._wrap_width = 0
        self._cache: OrderedDict[int, Strip] = OrderedDict()
        self.search: list[tuple[int, int]] = []
        self._search_starts: list[int] = []
        self.caret: int | None = None
        self.sel_anchor: int | None = None  # (not "anchor": a Widget method)
        self.sel_range: tuple[int, int] | None = None
        self.lines_rendered = 0  # for tests/benchmarks: strips built (cache misses)
        self._styles: dict[tuple[str, str], Style] = {}

    def restyle(self) -> None:
        self._styles.clear()
        self._cache.clear()
        self.refresh()

    def _style(self, label: str, status: str) -> Style:
        s = self._styles.get((label, status))
        if s is None:
            s = item_style(label, status, self.st) if label else self.st(status)
            self._styles[(label, status)] = s
        return s

    # ------------------------------------------------------------------ data
    def set_document(self, text: str, items: list[dict], current: int | None) -> None:
        # drawn with placeholders for controls (one character each: offsets unchanged)
        self.text = visible(text, keep_newlines=True)
        self.search = []
        self._search_starts = []
        self.caret = self.sel_anchor = None
        self._wrap_width = 0
        self.set_items(items, current)
        self._rewrap()
        self.scroll_to(y=0, animate=False)
        self.show_current()

    def set_items(self, items: list[dict], current: int | None) -> None:
        """New item list (after a reorder): rebuild the start index."""
        self.items = items
        self._starts = [it["start"] for it in items]
        self._maxlen = max((it["end"] - it["start"] for it in items), default=1)
        self.current = current
        self._cache.clear()
        self.refresh()

    def set_items_quiet(self, items: list[dict]) -> None:
        """Same items, some spans changed: refresh the start index only."""
        self.items = items
        self._starts = [it["start"] for it in items]
        self._maxlen = max((it["end"] - it["start"] for it in items), default=1)

    def set_current(self, current: int | None) -> None:
        self.current = current

    def invalidate(self, spans) -> None:
        """Forget the rendered lines that show any of these text ranges."""
        top = int(self.scroll_y)
        bottom = top + self.size.height
        for s, e in spans:
            a = line_of(self._line_starts, s)
            b = line_of(self._line_starts, max(s, e - 1))
            for y in range(a, b + 1):
                self._cache.pop(y, None)
            if b >= top and a < bottom:  # repaint just these lines if visible
                self.refresh_lines(a, b - a + 1)

    def set_search(self, matches: list[tuple[int, int]]) -> None:
        self.search = matches
        self._search_starts = [m[0] for m in matches]
        self._cache.clear()
        self.refresh()

    def set_selection(self, caret: int | None, anchor: int | None, selection: tuple[int, int] | None = None) -> None:
        """The new-span caret and anchor; ``selection``: the range selected (the word at the
        caret when there is no anchor), drawn in the selection style around the caret."""
        old = self._selection_range()
        self.caret, self.sel_anchor = caret, anchor
        self.sel_range = selection if caret is not None else None
        new = self._selection_range()
        self.invalidate([r for r in (old, new) if r is not None])
        if caret is not None:
            self.scroll_to_offset(caret)

    def _selection_range(self) -> tuple[int, int] | None:
        if self.caret is None:
            return None
        if self.sel_range is not None:
            return self.sel_range
        a = self.caret if self.sel_anchor is None else self.sel_anchor
        return (min(a, self.caret), max(a, self.caret) + 1)

    # ------------------------------------------------------------------ layout
    def _content_width(self) -> int:
        return max(4, self.scrollable_content_region.width)

    def _rewrap(self) -> None:
        width = self._content_width()
        if width == self._wrap_width:
            return
        self._wrap_width = width
        self.lines = wrap(self.text, width) if self.text else [(0, 0)]
        self._line_starts = [s for s, _ in self.lines]
        self._cache.clear()
        set_virtual_size(self, Size(width, len(self.lines)))
        self.refresh()

    def on_resize(self, event) -> None:
        self._rewrap()
        self.show_current()

    def line_of_offset(self, offset: int) -> int:
        return line_of(self._line_starts, offset)

    def show_current(self) -> None:
        if self.current is None or not self.items or self.current >= len(self.items):
            return
        it = self.items[self.current]
        self.scroll_to_offset(it["start"], it["end"])

    def scroll_to_offset(self, start: int, end: int | None = None) -> None:
        """Scroll so the lines of [start, end) are visible, with some context."""
        h = self.scrollable_content_region.height
        if h <= 0:
            return
        a = self.line_of_offset(start)
        b = self.line_of_offset(max(start, (end or start + 1) - 1))
        top = int(self.scroll_y)
        margin = min(3, max(0, (h - 1) // 4))
        if a >= top + margin and b < top + h - margin:
            return
        # jump so the item sits just below the top margin: scroll jumps (full repaints)
        # then come once per screenful, not every few keys
        if a < top + margin:  # moving up: the item goes near the bottom
            target = max(0, b - h + margin + 1)
        else:  # moving down: the item goes near the top
            target = max(0, a - margin)
        self.scroll_to(y=target, animate=False, immediate=True)

    # ------------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        scroll_y = int(self.scroll_y)
        idx = scroll_y + y
        width = self.size.width
        if idx >= len(self.lines):
            return Strip.blank(width, self.base_style)
        strip = self._cache.get(idx)
        if strip is None:
            strip = self._render_text_line(idx).crop_extend(0, width, self.base_style)
            self._cache[idx] = strip
            if len(self._cache) > CACHE_LINES:
                self._cache.popitem(last=False)
        return strip

    def prefetch(self) -> None:
        """Render the lines a page above and below the view into the cache (called when
        idle, after a frame), so that scrolling to them costs no rendering on a key."""
        h = self.size.height
        top = int(self.scroll_y)
        width = self.size.width
        with self.style_frozen():
            for idx in (*range(top + h, min(len(self.lines), top + 2 * h)), *range(max(0, top - h), top)):
                if idx not in self._cache:
                    self._cache[idx] = self._render_text_line(idx).crop_extend(0, width, self.base_style)
        while len(self._cache) > CACHE_LINES:
            self._cache.popitem(last=False)

    def _render_text_line(self, idx: int) -> Strip:
        self.lines_rendered += 1
        s, e = self.lines[idx]
        n = e - s
        if n <= 0:
            return Strip([])
        base = self.base_style
        styles: list[Style | None] = [None] * n
        prio = [-1] * n
        cur = self.current
        # items touching this line (sorted by start; spans are short)
        lo = bisect_left(self._starts, s - self._maxlen)
        hi = bisect_left(self._starts, e)
        for i in range(lo, hi):
            it = self.items[i]
            if it["end"] <= s:
                continue
            p = _PRIORITY.get(it["status"], 1)
            if i == cur:
                st = self._style("", "current-rejected" if it["status"] == "rejected" else "current")
                p = 10
            else:
                st = self._style(it["label"], it["status"])
            a, b = max(it["start"], s) - s, min(it["end"], e) - s
            for k in range(a, b):
                if p >= prio[k]:
                    prio[k] = p
                    styles[k] = st
        if self.search:
            search = self._style("", "search")
            j = bisect_left(self._search_starts, s - 200)
            while j < len(self.search) and self.search[j][0] < e:
                ms, me = self.search[j]
                for k in range(max(ms, s) - s, min(me, e) - s):
                    if prio[k] < 2:
                        styles[k] = search
                    elif prio[k] < 10:
                        styles[k] = (styles[k] or Style()) + _UNDERLINE
                j += 1
        sel = self._selection_range()
        if sel is not None and sel[0] < e and sel[1] > s:
            sel_style = self._style("", "selection")
            for k in range(max(sel[0], s) - s, min(sel[1], e) - s):
                styles[k] = sel_style
            caret = self.caret
            if caret is not None and s <= caret < e:
                styles[caret - s] = self._style("", "caret")
        # group runs of one style into segments
        text = self.text
        segs = []
        run_start = 0
        run_style: object = styles[0]
        end = object()
        for k in range(1, n + 1):
            nxt: object = styles[k] if k < n else end
            if nxt is not run_style:
                chunk = text[s + run_start : s + k]
                if "\t" in chunk:
                    chunk = chunk.replace("\t", "    ")
                segs.append(Segment(chunk, base + run_style if isinstance(run_style, Style) else base))
                run_start = k
                run_style = nxt
        return Strip(segs)

    # helpers for tests
    def visible_text(self) -> list[str]:
        top = int(self.scroll_y)
        h = self.scrollable_content_region.height
        return [self.text[s:e] for s, e in self.lines[top : top + h]]


def line_cells(text: str) -> int:
    return sum(cell_width(c) for c in text)
