"""``workbench review``: settle disagreements between annotators, from the keyboard.

The app only renders a :class:`~workbench.review.ReviewSession` and calls its
methods; every reviewer action is committed (reviews log + gold rows, one
transaction) by the session before the screen changes.

Layout: the list of disagreements on the left; on the right the text around
the current one, then every version one under another over the *same* window
of text (so differing boundaries line up), each with who made it.
"""

from __future__ import annotations

from pathlib import Path

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widgets import Input, Label, Static

from ..core.labels import COLORS, LABELS
from ..core.quantity import format_attrs, format_value
from ..review import Item, ReviewError, ReviewSession, describe_spans
from ..session import SessionError, attrs_from_fields
from .help import KeysHelp
from .idle_gc import IdleGCApp
from .items import clip_cells
from .keymap import ModalActions
from .scroll import Line, LineView
from .wrap import cell_width, wrap

NORMAL, EDIT, ATTRS, ADD, FIND = "normal", "edit", "attrs", "add", "find"

# (id, keys, action, description, modes, group)
KEYS: list[tuple[str, str, str, str, tuple[str, ...], str]] = [
    ("item.next", "j,down", "move(1)", "next disagreement", (NORMAL,), "Move"),
    ("item.prev", "k,up", "move(-1)", "previous disagreement", (NORMAL,), "Move"),
    ("item.first", "g,home", "first", "first", (NORMAL,), "Move"),
    ("item.last", "G,end", "last", "last", (NORMAL,), "Move"),
    ("version.next", "l,right", "version(1)", "highlight next version", (NORMAL,), "Move"),
    ("version.prev", "h,left", "version(-1)", "highlight previous version", (NORMAL,), "Move"),
    *[
        (
            f"digit.{i}",
            str(i),
            f"digit({i})",
            f"take version {i}" + (f" · edit/add: label {LABELS[i - 1]}" if i <= len(LABELS) else ""),
            (NORMAL, EDIT, ADD),
            "Decide",
        )
        for i in range(1, 10)
    ],
    ("pick", "enter", "enter", "take the highlighted version · edit/add: save", (NORMAL, EDIT, ADD), "Decide"),
    ("reject", "x", "reject", "reject all versions (no gold span here)", (NORMAL,), "Decide"),
    ("skip", "space", "skip", "skip (stays unsettled)", (NORMAL,), "Decide"),
    (
        "undo",
        "u,backspace",
        "undo",
        "undo your latest action (any depth, also from earlier sessions)",
        (NORMAL,),
        "Decide",
    ),
    ("edit", "e", "edit", "edit the highlighted version", (NORMAL,), "Edit"),
    ("edit.start_left", "left_square_bracket", "bound('start',-1)", "start ←", (EDIT,), "Edit"),
    ("edit.start_right", "right_square_bracket", "bound('start',1)", "start →", (EDIT,), "Edit"),
    ("edit.end_left", "left_curly_bracket", "bound('end',-1)", "end ←", (EDIT,), "Edit"),
    ("edit.end_right", "right_curly_bracket", "bound('end',1)", "end →", (EDIT,), "Edit"),
    ("edit.next_span", "tab,l,right", "draft_select(1)", "next span of the draft", (EDIT,), "Edit"),
    ("edit.prev_span", "shift+tab,h,left", "draft_select(-1)", "previous span of the draft", (EDIT,), "Edit"),
    ("edit.drop", "d", "draft_drop", "drop the span from the draft", (EDIT,), "Edit"),
    ("edit.attrs", "a", "attrs", "QUANTITY attrs (value unit approx)", (EDIT, ADD), "Edit"),
    ("edit.base", "c", "base", "start over from the next version", (EDIT,), "Edit"),
    ("add", "n", "new_span", "add a span no annotator made: select it in the text", (NORMAL,), "Add"),
    ("add.left", "h,left", "caret(-1)", "caret ←", (ADD,), "Add"),
    ("add.right", "l,right", "caret(1)", "caret →", (ADD,), "Add"),
    ("add.word_next", "w", "caret_word(1)", "caret to the next word", (ADD,), "Add"),
    ("add.word_prev", "b", "caret_word(-1)", "caret to the previous word", (ADD,), "Add"),
    ("add.line_down", "j,down", "caret_line(1)", "caret one line down", (ADD,), "Add"),
    ("add.line_up", "k,up", "caret_line(-1)", "caret one line up", (ADD,), "Add"),
    (
        "add.anchor",
        "v",
        "anchor",
        "anchor: select anchor..caret (again: back to the word under the caret)",
        (ADD,),
        "Add",
    ),
    ("add.find", "slash", "find", "find text in the document and select it (enter again: next one)", (ADD,), "Add"),
    ("add.next_doc", "tab", "add_doc(1)", "next document under review", (ADD,), "Add"),
    ("add.prev_doc", "shift+tab", "add_doc(-1)", "previous document under review", (ADD,), "Add"),
    (
        "cancel",
        "escape",
        "cancel",
        "cancel the edit / new span (drops the anchor first) / close",
        (EDIT, ATTRS, ADD, FIND),
        "General",
    ),
    ("help", "question_mark", "help", "help", (NORMAL, EDIT, ADD), "General"),
    ("quit", "q", "quit", "quit", (NORMAL,), "General"),
]

KEYBAR = {
    NORMAL: [
        ("j/k", "move"),
        ("1-9", "take"),
        ("h/l", "highlight"),
        ("enter", "take"),
        ("e", "edit"),
        ("x", "reject all"),
        ("space", "skip"),
        ("n", "add span"),
        ("u", "undo"),
        ("?", "help"),
        ("q", "quit"),
    ],
    EDIT: [
        ("1-7", "label"),
        ("[ ]", "start"),
        ("{ }", "end"),
        ("tab", "next span"),
        ("d", "drop"),
        ("a", "attrs"),
        ("c", "other version"),
        ("enter", "save"),
        ("esc", "cancel"),
        ("?", "help"),
    ],
    ATTRS: [("", "value unit approx, e.g. 1500万 斤 more"), ("enter", "save"), ("esc", "cancel")],
    ADD: [
        ("h/l", "char"),
        ("w/b", "word"),
        ("j/k", "line"),
        ("v", "anchor"),
        ("/", "find"),
        ("1-7", "label"),
        ("a", "attrs"),
        ("tab", "document"),
        ("enter", "save"),
        ("esc", "cancel"),
        ("?", "help"),
    ],
    FIND: [("", "text to find in this document"), ("enter", "select it (again: the next one)"), ("esc", "back")],
}


ACTION_MODES: dict[str, set[str]] = {}
for _k in KEYS:
    ACTION_MODES.setdefault(_k[2].split("(")[0], set()).update(_k[4])

RULES = """\
Every action is written to the database (review log + gold, one transaction) when its key is pressed.
A disagreement groups the overlapping spans of all annotators; a version is one annotator's spans
there (maybe none). Versions are shown over the same text window, most supported first.
1-9 take a version as gold (a version without span = nothing in gold), x rejects all.
e edits a copy of the highlighted version: here digits 1-7 set the label, [ ] { } move start / end,
  tab moves between the draft's spans, d drops one, a sets QUANTITY attrs, c restarts from the
  next version; enter saves it as an adjudicated span (or as the version it now equals).
n adds a span no annotator made: h/l (w/b, j/k) move the caret, v sets an anchor (the selection is
  anchor..caret, without anchor the word under the caret), 1-7 the label, a QUANTITY attrs, tab the
  next document, enter saves it to gold (origin "added"). It may not overlap gold or an unsettled item.
space skips (logged, stays unsettled); u undoes your own latest action, any depth, also one made in an
  earlier session (never the automatic gold, never another reviewer's action).
Spans all annotators agree on (or a majority, with --policy majority) are gold without review.
Running review again lists only what is still unsettled.
List: kind M = a span only some annotators have, B = boundaries, L = labels, A = QUANTITY attrs differ,
  + = added by the reviewer;  · open  ✓ taken  ✎ edited  ✗ rejected  ↷ skipped  + added."""

STATE = {
    "open": ("·", "#9e9e9e"),
    "skipped": ("↷", "#bcbcbc"),
    "picked": ("✓", "bold #87d787"),
    "edited": ("✎", "bold #ffd75f"),
    "rejected": ("✗", "bold #ff8787"),
    "added": ("+", "bold #5fd7ff"),
}
CURSOR_BG = "#303a4a"
CONTEXT_ROWS = 6  # add mode: text rows shown above and below the selection


def key_label(key: str) -> str:
    return {
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "left_curly_bracket": "{",
        "right_curly_bracket": "}",
        "question_mark": "?",
        "escape": "esc",
        "shift+tab": "⇧tab",
        "down": "↓",
        "up": "↑",
        "left": "←",
        "right": "→",
    }.get(key, key)


def pad_cells(t: Text, n: int) -> Text:
    if t.cell_len < n:
        t.append(" " * (n - t.cell_len))
    return t


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


def span_line(text: str, lo: int, hi: int, spans: list[dict], *, current: int | None = None) -> Text:
    """``text[lo:hi]`` on one line, the spans painted in their label colours."""
    t = Text(no_wrap=True, overflow="crop")
    pos = lo
    for _i, s in enumerate(sorted(spans, key=lambda s: s["start"])):
        a, b = max(s["start"], lo), min(s["end"], hi)
        if b <= a:
            continue
        if a > pos:
            t.append(text[pos:a].replace("\n", "⏎"), style="#a8a8a8")
        style = f"bold #000000 on {COLORS.get(s['label'], '#bcbcbc')}"
        if current is not None and s is spans[current]:
            style += " underline reverse"
        t.append(text[a:b].replace("\n", "⏎"), style=style)
        pos = b
    if pos < hi:
        t.append(text[pos:hi].replace("\n", "⏎"), style="#a8a8a8")
    return t


# ---------------------------------------------------------------------------- widgets


class ItemList(LineView):
    """The disagreements, one row each (Line API: a key repaints only the rows it touched)."""

    class Clicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, session: ReviewSession, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.cursor = 0
        self._cache: dict[int, Strip] = {}

    def reload(self) -> None:
        self._cache.clear()
        self.virtual_size = Size(self.size.width or 40, len(self.session.items))
        self.refresh()
        self.goto(self.session.cursor)

    def goto(self, index: int) -> None:
        items = self.session.items
        if not items:
            return
        old, self.cursor = self.cursor, max(0, min(index, len(items) - 1))
        self._cache.pop(old, None)
        self._cache.pop(self.cursor, None)
        h = self.size.height
        top = int(self.scroll_y)
        if h and not (top <= self.cursor < top + h):
            self.scroll_to(y=max(0, self.cursor - h // 3), animate=False, immediate=True)
        self.refresh()

    def _row(self, idx: int) -> Text:
        s = self.session
        it = s.items[idx]
        c = it.cluster
        width = self.size.width or 40
        cur = idx == self.cursor
        mark, mstyle = STATE[it.status]
        t = Text("▶" if cur else " ", style="bold")
        t.append(pad_cells(Text(f"{idx + 1}", style="#8a8a8a"), len(str(len(s.items))) + 1))
        t.append(pad_cells(Text(mark, style=mstyle), 2))
        kinds = "+" if c.added else "".join(k[0].upper() for k in c.kinds)  # M B L A, + added
        t.append(pad_cells(Text(kinds, style="#87afd7"), 5))
        if width >= 40:
            t.append(pad_cells(Text(clip_cells(c.doc_id, 9), style="#8a8a8a"), 10))
        rest = max(6, width - t.cell_len - 1)
        snippet = s.text(c.doc_id)[c.start : c.end]
        label = (
            c.versions[0].spans[0]["label"]
            if c.versions[0].spans
            else next((v.spans[0]["label"] for v in c.versions if v.spans), "")
        )
        t.append(
            clip_cells(snippet, rest), style=f"{COLORS.get(label, '')}" + (" strike" if it.status == "rejected" else "")
        )
        if cur:
            t.stylize(f"on {CURSOR_BG}")
        return t

    def render_line(self, y: int) -> Strip:
        idx = int(self.scroll_y) + y
        width = self.size.width
        if idx >= len(self.session.items):
            return Strip.blank(width, self.base_style)
        strip = self._cache.get(idx)
        if strip is None:
            segs = list(self._row(idx).render(self.app.console))
            pad = self.base_style + Style(bgcolor=CURSOR_BG) if idx == self.cursor else self.base_style
            strip = self._cache[idx] = Strip(segs).apply_style(pad).crop_extend(0, width, pad)
        return strip

    def on_resize(self, event) -> None:
        self.reload()

    def on_click(self, event) -> None:
        idx = int(self.scroll_y) + event.y
        if 0 <= idx < len(self.session.items):
            self.post_message(self.Clicked(idx))


class Detail(Static):
    """The current disagreement: the text around it and every version over the same window."""

    def __init__(self, app: ReviewApp, **kwargs):
        super().__init__(**kwargs)
        self._app = app
        self.add_lines: list[tuple[int, int]] = []  # add mode: the wrapped rows shown (text offsets)

    def on_resize(self, event) -> None:
        self.show()

    def show(self) -> None:
        self.update(self.build(max(20, self.size.width or 80)))

    def build(self, width: int) -> Text:
        app, s = self._app, self._app.session
        if s.add_draft is not None:
            return self.build_add(width)
        it = s.current
        out = Text()
        if it is None:
            out.append("nothing left to adjudicate", style="bold")
            if s.docs:
                out.append(
                    "\n\nn adds a span no annotator made (tab / shift+tab: other documents under review)",
                    style="#bcbcbc",
                )
            return out
        c = it.cluster
        text = s.text(c.doc_id)
        # title
        out.append(f"{c.doc_id}", style="bold")
        out.append(f"  {c.start}–{c.end}  ", style="#bcbcbc")
        out.append(" " + " · ".join(c.kinds) + " ", style="bold #000000 on #87afd7")
        out.append(f"  {len(c.annotators)} annotators: {', '.join(c.annotators)}", style="#bcbcbc")
        if it.settled or it.status == "skipped":
            mark, style = STATE[it.status]
            out.append(f"\n{mark} {it.status}: {it.chosen}  (u undoes)", style=style)
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
            for lo_, hi_, style in (
                (a, min(b, c.start - shift), "#d0d0d0"),
                (max(a, c.start - shift), min(b, c.end - shift), "bold underline #ffffff"),
                (max(a, c.end - shift), b, "#d0d0d0"),
            ):
                if hi_ > lo_:
                    out.append(para[lo_:hi_], style=style)
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
            head = Text()
            head.append("+ ", style="bold #5fd7ff")
            head.append(f"{x['label']}", style=f"bold {COLORS.get(x['label'], '')}")
            head.append(f"「{x['text']}」{x['start']}–{x['end']}")
            if x.get("attrs"):
                head.append(f" {format_attrs(x['attrs'])}", style="#d7d7af")
            out.append_text(head)
            out.append("\n    ")
            out.append_text(span_line(text, wlo, whi, c.versions[0].spans))
            out.append("\n")
            return out
        for i, v in enumerate(c.versions):
            hl = i == app.version and draft is None
            head = Text()
            head.append(
                "▶ " if hl else ("✓ " if it.version == i else "  "), style="bold #ffd75f" if hl else "bold #87d787"
            )
            head.append(f"{i + 1} ", style="bold #000000 on #ffd75f" if hl else "bold #ffd75f")
            head.append(f" {', '.join(v.annotators)} ", style="bold")
            head.append(f"{len(v.annotators)}/{n}  ", style="#8a8a8a")
            if v.spans:
                for j, x in enumerate(v.spans):
                    if j:
                        head.append(" · ", style="#6c6c6c")
                    head.append(f"{x['label']}", style=f"bold {COLORS.get(x['label'], '')}")
                    head.append(f"「{x['text']}」{x['start']}–{x['end']}")
                    if x.get("attrs"):
                        head.append(f" {format_attrs(x['attrs'])}", style="#d7d7af")
            else:
                head.append("— no span —", style="italic #ff8787")
            out.append_text(head)
            out.append("\n    ")
            out.append_text(span_line(text, wlo, whi, v.spans))
            out.append("\n")
        if draft:
            out.append("\n")
            head = Text()
            head.append(" ✎ draft ", style="bold #000000 on #ffd75f")
            head.append(f" from version {draft.base + 1}  ", style="#bcbcbc")
            for j, x in enumerate(draft.spans):
                if j:
                    head.append(" · ", style="#6c6c6c")
                cur = j == draft.current
                head.append(
                    ("▸" if cur else "") + x["label"],
                    style=f"bold {COLORS.get(x['label'], '')}" + (" underline" if cur else ""),
                )
                head.append(f"「{x['text']}」{x['start']}–{x['end']}")
                if x.get("attrs"):
                    head.append(f" {format_attrs(x['attrs'])}", style="#d7d7af")
            if not draft.spans:
                head.append("no span (enter saves: reject all)", style="italic #ff8787")
            out.append_text(head)
            out.append("\n    ")
            out.append_text(span_line(text, wlo, whi, draft.spans, current=draft.current if draft.spans else None))
            out.append("\n")
        return out

    def build_add(self, width: int) -> Text:
        """Add mode: the text around the caret with gold spans in their colours,
        unsettled disagreements marked (no new span there) and the selection."""
        s = self._app.session
        d = s.add_draft
        text = s.text(d.doc_id)
        n = len(text)
        a, b = s.add_selection()
        out = Text()
        out.append(" + new span ", style="bold #000000 on #5fd7ff")
        out.append(f"  {d.doc_id}", style="bold")
        if d.doc_id in s.docs:
            out.append(f"  document {s.docs.index(d.doc_id) + 1}/{len(s.docs)}", style="#bcbcbc")
        where = f"  anchor {d.anchor}" if d.anchor is not None else "  (word under the caret)"
        out.append(f"  caret {d.caret}{where}", style="#bcbcbc")
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
        para = Text(text[lo:hi], style="#d0d0d0")
        for g in s.gold(d.doc_id):
            if g["end"] > lo and g["start"] < hi:
                para.stylize(f"bold {COLORS.get(g['label'], '#bcbcbc')}", max(0, g["start"] - lo), g["end"] - lo)
        for it in s.items:
            if it.doc_id == d.doc_id and not it.settled and it.cluster.end > lo and it.cluster.start < hi:
                para.stylize("underline #ff8787 on #3a3030", max(0, it.cluster.start - lo), it.cluster.end - lo)
        sel = f"bold #000000 on {COLORS.get(d.label, '#e4e4e4')}" if d.label else "bold #000000 on #e4e4e4"
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
        head = Text("  + ", style="bold #5fd7ff")
        if d.label:
            head.append(d.label, style=f"bold {COLORS.get(d.label, '')}")
        else:
            head.append("label?", style="bold #ffd75f")
        head.append(f"「{text[a:b]}」{a}–{b}".replace("\n", "⏎"))
        if d.attrs:
            head.append(f" {format_attrs(d.attrs)}", style="#d7d7af")
        elif d.label == "QUANTITY":
            head.append("  a: value unit approx", style="#8a8a8a")
        out.append_text(head)
        out.append("\n  ")
        problem = s.add_check()
        if problem:
            out.append(f"✗ {problem}", style="bold #ff8787")
        elif d.label:
            out.append("✓ enter puts it into gold", style="#87d787")
        else:
            out.append("choose a label: ", style="#bcbcbc")
            for i, x in enumerate(LABELS, 1):
                out.append(f"{i} ", style="bold #ffd75f")
                out.append(f"{x}  ", style=f"bold {COLORS.get(x, '')}")
        out.append("\n\n")
        out.append("gold spans in their label colours · ", style="#8a8a8a")
        out.append("unsettled disagreements", style="underline #ff8787 on #3a3030")
        out.append(" take no new span (settle them in the list)", style="#8a8a8a")
        return out


class ReviewHelp(KeysHelp):
    """Every key of the review screen and the rules."""

    DEFAULT_CSS = """
    ReviewHelp { align: center middle; }
    ReviewHelp > VerticalScroll {
        width: 110; max-width: 96%; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    TITLE_TEXT = "workbench review: keys"
    RULES_TEXT = RULES
    LAST_COLUMN = "when"

    def fill(self, table: Table) -> None:
        group = None
        for bid, keys, _action, desc, modes, grp in KEYS:
            if bid.startswith("digit.") and bid != "digit.1":
                continue
            if grp != group:
                group = grp
                table.add_row(Text(grp, style="bold underline #87afd7"), "", "")
            if bid == "digit.1":
                table.add_row("1 … 9", "take version N as gold", "list")
                table.add_row("1 … 7", "label " + " ".join(f"{i}={lab}" for i, lab in enumerate(LABELS, 1)), "edit/add")
                continue
            shown = " ".join(key_label(k) for k in keys.split(","))
            table.add_row(shown, desc, "/".join("list" if m == NORMAL else m for m in modes))


# ---------------------------------------------------------------------------- the app


class ReviewApp(IdleGCApp, ModalActions, App):
    """The review screen."""

    CSS_PATH = str(Path(__file__).with_name("review.tcss"))
    TITLE = "workbench review"
    ACTION_MODES = ACTION_MODES
    # Every binding is a priority one: keys are then matched in arrival order at the app, so a
    # burst of keys (typed fast over SSH: "n" then "tab") sees the mode the previous key set.
    # check_action lets a key through to the attrs input / the help screen when it does not apply.
    BINDINGS = [
        Binding(keys, action, desc, show=False, id=bid, priority=True) for bid, keys, action, desc, _m, _g in KEYS
    ]
    AUTO_FOCUS = None
    ENABLE_COMMAND_PALETTE = False

    mode: reactive[str] = reactive(NORMAL, bindings=True)

    def __init__(self, session: ReviewSession):
        super().__init__()
        self.session = session
        self.version = 0  # highlighted version of the current item
        self._message: Text | None = None
        self._attrs_return = EDIT
        self._find_query = ""
        self._n_items = len(session.items)

    def compose(self) -> ComposeResult:
        yield Line(id="header")
        with Horizontal(id="main"):
            with Vertical(id="side"):
                yield Line(id="list-header")
                yield ItemList(self.session, id="list")
            with VerticalScroll(id="detail-box"):
                yield Detail(self, id="detail")
        yield Line(id="status")
        with Horizontal(id="attrs-bar"):
            yield Label("attrs", id="attrs-title")
            yield Input(id="attrs-input", placeholder="value unit approx   e.g. 1500万 斤 more  ·  36 个 -")
        yield Line(id="keybar")

    def on_mount(self) -> None:
        self.list = self.query_one(ItemList)
        self.detail = self.query_one(Detail)
        self.query_one("#attrs-bar").display = False
        self.set_focus(None)
        self._list_header()
        self._refresh_all()

    def _list_header(self) -> None:
        self.query_one("#list-header", Line).set(
            Text(
                " " + "#".ljust(len(str(len(self.session.items))) + 1) + "✓ kind doc       text",
                style="bold",
                no_wrap=True,
                overflow="ellipsis",
            )
        )

    # ------------------------------------------------------------------ rendering
    def _refresh_all(self) -> None:
        self.list.goto(self.session.cursor)
        self.detail.show()
        self._update_header()
        self._update_status()
        self._update_keybar()

    def _changed(self, old_cursor: int) -> None:
        s = self.session
        if s.cursor != old_cursor:
            self.version = 0
        if len(s.items) != self._n_items:  # a span added or an undo changed the list
            self._n_items = len(s.items)
            self.version = 0
            self._list_header()
            self.list.reload()
        self.list._cache.pop(old_cursor, None)
        self.list.goto(s.cursor)
        self.detail.show()
        self.query_one("#detail-box").scroll_home(animate=False)
        self._update_header()
        self._update_status()

    def _update_header(self) -> None:
        s = self.session
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" review ", style="bold #000000 on #87afd7")
        t.append(f" {s.reviewer} ", style="#000000 on #d7d7af")
        t.append(f" policy {s.policy} ", style="bold")
        t.append("│ ", style="#6c6c6c")
        n = len(s.items)
        if n:
            t.append(f"item {s.cursor + 1}/{n} ", style="bold")
        t.append(f"{s.open_count} unsettled ", style="bold #ffd75f" if s.open_count else "bold #87d787")
        done = n - s.open_count
        t.append(f"{done} settled ", style="#87d787")
        t.append("│ ", style="#6c6c6c")
        t.append(f"{s.summary.documents} documents · {s.summary.agreed_spans} agreed spans in gold ", style="#bcbcbc")
        self.query_one("#header", Line).set(t)

    def _update_status(self) -> None:
        s = self.session
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.mode in (ADD, ATTRS, FIND) and s.add_draft is not None:
            d = s.add_draft
            a, b = s.add_selection()
            t.append(" NEW SPAN ", style="bold #000000 on #5fd7ff")
            t.append(f" {d.label or 'label?'} 「{clip_cells(s.text(d.doc_id)[a:b], 30)}」 {a}–{b} ")
            if d.attrs:
                t.append(format_attrs(d.attrs) + " ", style="#d7d7af")
        elif self.mode == EDIT and s.draft is not None:
            t.append(" EDIT ", style="bold #000000 on #ffd75f")
            if s.draft.spans:
                x = s.draft.spans[s.draft.current]
                t.append(f" {x['label']} 「{x['text']}」 {x['start']}–{x['end']} ")
                if x.get("attrs"):
                    t.append(format_attrs(x["attrs"]) + " ", style="#d7d7af")
        elif s.current is not None:
            it = s.current
            t.append(f" {it.doc_id} {it.cluster.start}–{it.cluster.end} ", style="bold")
            t.append("added by a reviewer " if it.added else f"{len(it.versions)} versions ", style="#bcbcbc")
        if self._message is not None:
            t.append(" │ ", style="#6c6c6c")
            t.append_text(self._message)
        self.query_one("#status", Line).set(t)

    def _update_keybar(self) -> None:
        t = Text(" ", no_wrap=True, overflow="ellipsis")
        for k, desc in KEYBAR[self.mode]:
            if k:
                t.append(k, style="bold #87d7ff")
                t.append(" ")
            t.append(f"{desc}  ", style="#d0d0d0")
        self.query_one("#keybar", Line).set(t)

    def _say(self, msg: str) -> None:
        self._message = Text(msg, style="#87d787")

    def _error(self, msg: str) -> None:
        self._message = Text(msg, style="bold #ff8787")
        self._update_status()
        self.bell()

    def _do(self, fn, *args) -> None:
        old = self.session.cursor
        try:
            ch = fn(*args)  # a Change (actions) or None (cursor moves)
        except ReviewError as e:
            self._error(str(e))
            return
        msg = ch.message if ch is not None else None
        self._message = Text(msg, style="#87d787") if msg else None
        self._changed(old)

    # ------------------------------------------------------------------ modes
    def watch_mode(self, old: str, new: str) -> None:
        self.query_one("#attrs-bar").display = new in (ATTRS, FIND)
        if new not in (ATTRS, FIND):
            self.set_focus(None)
        self._update_keybar()
        self._update_status()

    # ------------------------------------------------------------------ actions
    def action_move(self, d: int) -> None:
        self._message = None
        self._do(self.session.move, int(d))

    def action_first(self) -> None:
        self._do(self.session.set_cursor, 0)

    def action_last(self) -> None:
        self._do(self.session.set_cursor, len(self.session.items) - 1)

    def action_version(self, d: int) -> None:
        it = self.session.current
        if it is None:
            return
        self.version = (self.version + int(d)) % len(it.versions)
        self.detail.show()

    def action_digit(self, n: int) -> None:
        n = int(n)
        if self.mode == ADD:
            if n > len(LABELS):
                self._error(f"labels are 1-{len(LABELS)}")
                return
            self._edit(self.session.add_label, LABELS[n - 1])
            return
        if self.mode == EDIT:
            if n > len(LABELS):
                self._error(f"labels are 1-{len(LABELS)} in edit mode")
                return
            self._edit(self.session.draft_relabel, LABELS[n - 1])
            return
        it = self.session.current
        if it is not None and n > len(it.versions):
            self._error(f"this item has {len(it.versions)} versions")
            return
        self._do(self.session.pick, n)

    def action_enter(self) -> None:
        if self.mode == EDIT:
            self._save_edit()
        elif self.mode == ADD:
            self._save_add()
        else:
            self._do(self.session.pick, self.version + 1)

    def action_reject(self) -> None:
        self._do(self.session.reject)

    def action_skip(self) -> None:
        self._do(self.session.skip)

    def action_undo(self) -> None:
        self._do(self.session.undo)

    # edit mode
    def action_edit(self) -> None:
        try:
            self.session.begin_edit(self.version)
        except ReviewError as e:
            self._error(str(e))
            return
        self._message = None
        self.mode = EDIT
        self.detail.show()

    def _edit(self, fn, *args) -> None:
        try:
            fn(*args)
        except ReviewError as e:
            self._error(str(e))
            return
        self._message = None
        self.detail.show()
        self._update_status()

    def action_bound(self, which: str, d: int) -> None:
        self._edit(self.session.draft_move, which, int(d))

    def action_draft_select(self, d: int) -> None:
        self._edit(self.session.draft_select, int(d))

    def action_draft_drop(self) -> None:
        self._edit(self.session.draft_drop)

    def action_base(self) -> None:
        d = self.session.draft
        if d is None:
            return
        nxt = (d.base + 1) % len(d.item.versions)
        self._edit(self.session.draft_from, nxt)

    def action_attrs(self) -> None:
        s = self.session
        if self.mode == ADD and s.add_draft is not None:
            x = {"label": s.add_draft.label, "attrs": s.add_draft.attrs}
        elif s.draft is None or not s.draft.spans:
            return
        else:
            x = s.draft.spans[s.draft.current]
        if x["label"] != "QUANTITY":
            self._error("only QUANTITY spans have attributes (7 makes it QUANTITY)")
            return
        self._attrs_return = self.mode
        a = x.get("attrs") or {}
        inp = self.query_one("#attrs-input", Input)
        inp.value = " ".join(p for p in (format_value(a.get("value")), a.get("unit") or "", a.get("approx") or "") if p)
        self._prompt("attrs", "value unit approx   e.g. 1500万 斤 more  ·  36 个 -")
        self.mode = ATTRS
        self.set_focus(inp)  # now, not later: keys typed right after "a" must reach it

    def _prompt(self, title: str, placeholder: str) -> None:
        self.query_one("#attrs-title", Label).update(title)
        self.query_one("#attrs-input", Input).placeholder = placeholder

    def action_find(self) -> None:
        inp = self.query_one("#attrs-input", Input)
        inp.value = self._find_query
        self._prompt("/", "text to find in this document (enter: select it; again: the next one)")
        self.mode = FIND
        self.set_focus(inp)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.mode == ATTRS:
            self._save_attrs(event.value)
        elif self.mode == FIND:
            self._find_query = event.value
            try:
                a, b = self.session.add_find(event.value)
            except ReviewError as e:
                self._error(str(e))
                return
            self.mode = ADD
            self._message = Text(f"found at {a}–{b} (/ enter: the next one)")
            self.detail.show()
            self._update_status()
        elif self.mode in (EDIT, ADD):
            # a second enter typed in the same burst reached the input before the first one's
            # message was handled: it was meant for the mode the first one returned to
            self.action_enter()

    def _save_attrs(self, value: str) -> None:
        parts = value.split()
        if len(parts) > 3:
            self._error("attrs: value unit approx (three words at most)")
            return
        parts += [""] * (3 - len(parts))
        try:
            attrs = attrs_from_fields(*parts) if any(parts) else None  # all empty: no attributes
            if self._attrs_return == ADD:
                self.session.add_set_attrs(attrs)
            else:
                self.session.draft_set_attrs(attrs)
        except (SessionError, ReviewError) as e:
            self._error(str(e))
            return
        self.mode = self._attrs_return
        self.detail.show()

    def _save_edit(self) -> None:
        self._save(self.session.save_edit)

    def _save(self, save) -> None:
        """Save the edit / the new span (``save`` returns a Change with the message); back to normal mode."""
        old = self.session.cursor
        try:
            ch = save()
        except ReviewError as e:
            self._error(str(e))
            return
        self.mode = NORMAL
        self._message = Text(ch.message, style="#87d787")
        self._changed(old)

    def action_cancel(self) -> None:
        if self.mode == FIND:
            self.mode = ADD
            self._update_status()
        elif self.mode == ATTRS:
            self.mode = self._attrs_return
            self._message = Text("attributes not changed")
            self._update_status()
        elif self.mode == ADD:
            d = self.session.add_draft
            if d is not None and d.anchor is not None:
                self._edit(self.session.add_drop_anchor)
                return
            self.session.cancel_add()
            self.mode = NORMAL
            self._message = Text("new span cancelled")
            self.detail.show()
            self.query_one("#detail-box").scroll_home(animate=False)
            self._update_status()
        elif self.mode == EDIT:
            self.session.cancel_edit()
            self.mode = NORMAL
            self._message = Text("edit cancelled")
            self.detail.show()
            self._update_status()

    # add mode
    def action_new_span(self) -> None:
        try:
            self.session.begin_add()
        except ReviewError as e:
            self._error(str(e))
            return
        self._message = None
        self.mode = ADD
        self.detail.show()
        self.query_one("#detail-box").scroll_home(animate=False)

    def action_caret(self, d: int) -> None:
        self._edit(self.session.add_move, int(d))

    def action_caret_word(self, d: int) -> None:
        self._edit(self.session.add_word, int(d))

    def action_caret_line(self, d: int) -> None:
        """The caret one wrapped row down / up in the text shown, keeping its column."""
        s = self.session
        dr = s.add_draft
        rows = self.detail.add_lines
        if dr is None or not rows:
            return
        d = int(d)
        idx = max((i for i, (x, _y) in enumerate(rows) if x <= dr.caret), default=0)
        col = sum(cell_width(c) for c in s.text(dr.doc_id)[rows[idx][0] : dr.caret])
        tgt = idx + d
        if 0 <= tgt < len(rows):
            x, y = rows[tgt]
            pos, used = x, 0
            text = s.text(dr.doc_id)
            while pos < y - 1 and used + cell_width(text[pos]) <= col:
                used += cell_width(text[pos])
                pos += 1
            self._edit(s.add_move, pos - dr.caret)
        elif d > 0:
            self._edit(s.add_move, rows[-1][1] + 1 - dr.caret)
        else:
            self._edit(s.add_move, rows[0][0] - 1 - dr.caret)

    def action_anchor(self) -> None:
        self._edit(self.session.add_anchor)

    def action_add_doc(self, d: int) -> None:
        self._edit(self.session.add_doc, int(d))
        self.query_one("#detail-box").scroll_home(animate=False)

    def _save_add(self) -> None:
        self._save(self.session.save_add)

    def action_help(self) -> None:
        self.push_screen(ReviewHelp())

    async def action_quit(self) -> None:
        self.exit()

    def on_item_list_clicked(self, event: ItemList.Clicked) -> None:
        if self.mode == NORMAL:
            self._do(self.session.set_cursor, event.index)


__all__ = ["ReviewApp", "KEYS", "Item", "describe_spans"]
