"""``workbench review``: settle disagreements between annotators, from the keyboard.

The app only renders a :class:`~workbench.review.ReviewSession` and calls its
methods; every reviewer action is committed (reviews log + gold rows, one
transaction) by the session before the screen changes, and returns a
:class:`~workbench.session.Change`: the app repaints the list rows it names.

Layout: the list of disagreements on the left (:mod:`.review_list`); on the right
the text around the current one, then every version (:mod:`.review_detail`).
Keymap, palette, help, key bar and forms are shared with annotate (:mod:`.base`,
:mod:`.forms`).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll

from ..core.labels import LABELS
from ..core.quantity import format_attrs
from ..review import Item, ReviewError, ReviewSession, describe_spans
from ..session import Change, SessionError
from .base import BASE_CSS, WorkbenchApp
from .forms import AttrsForm, SearchBar
from .help import HelpScreen
from .items import clip_cells
from .keys import Key, KeybarEntry, action_modes, bindings
from .review_detail import Detail
from .review_list import ItemList
from .scroll import Line
from .wrap import cell_width

NORMAL, EDIT, ATTRS, ADD, FIND = "normal", "edit", "attrs", "add", "find"


def _k(bid: str, keys: str, action: str, desc: str, modes: tuple[str, ...], group: str) -> Key:
    return Key(bid, keys, action, desc, False, modes, group)


KEYS: list[Key] = [
    _k("item.next", "j,down", "move(1)", "next disagreement", (NORMAL,), "Move"),
    _k("item.prev", "k,up", "move(-1)", "previous disagreement", (NORMAL,), "Move"),
    _k("item.first", "g,home", "first", "first", (NORMAL,), "Move"),
    _k("item.last", "G,end", "last", "last", (NORMAL,), "Move"),
    _k("version.next", "l,right", "version(1)", "highlight next version", (NORMAL,), "Move"),
    _k("version.prev", "h,left", "version(-1)", "highlight previous version", (NORMAL,), "Move"),
    *[
        _k(
            f"digit.{i}",
            str(i),
            f"digit({i})",
            f"take version {i}" + (f" · edit/add: label {LABELS[i - 1]}" if i <= len(LABELS) else ""),
            (NORMAL, EDIT, ADD),
            "Decide",
        )
        for i in range(1, 10)
    ],
    _k("pick", "enter", "enter", "take the highlighted version · edit/add: save", (NORMAL, EDIT, ADD), "Decide"),
    _k("reject", "x", "reject", "reject all versions (no gold span here)", (NORMAL,), "Decide"),
    _k("skip", "space", "skip", "skip (stays unsettled)", (NORMAL,), "Decide"),
    _k(
        "undo",
        "u,backspace",
        "undo",
        "undo your latest action (any depth, also from earlier sessions)",
        (NORMAL,),
        "Decide",
    ),
    _k("edit", "e", "edit", "edit the highlighted version", (NORMAL,), "Edit"),
    _k("edit.start_left", "left_square_bracket", "bound('start',-1)", "start ←", (EDIT,), "Edit"),
    _k("edit.start_right", "right_square_bracket", "bound('start',1)", "start →", (EDIT,), "Edit"),
    _k("edit.end_left", "left_curly_bracket", "bound('end',-1)", "end ←", (EDIT,), "Edit"),
    _k("edit.end_right", "right_curly_bracket", "bound('end',1)", "end →", (EDIT,), "Edit"),
    _k("edit.next_span", "tab,l,right", "draft_select(1)", "next span of the draft", (EDIT,), "Edit"),
    _k("edit.prev_span", "shift+tab,h,left", "draft_select(-1)", "previous span of the draft", (EDIT,), "Edit"),
    _k("edit.drop", "d", "draft_drop", "drop the span from the draft", (EDIT,), "Edit"),
    _k("edit.attrs", "a", "attrs", "QUANTITY attrs (value unit approx)", (EDIT, ADD), "Edit"),
    _k("edit.base", "c", "base", "start over from the next version", (EDIT,), "Edit"),
    _k("add", "n", "new_span", "add a span no annotator made: select it in the text", (NORMAL,), "Add"),
    _k("add.left", "h,left", "caret(-1)", "caret ←", (ADD,), "Add"),
    _k("add.right", "l,right", "caret(1)", "caret →", (ADD,), "Add"),
    _k("add.word_next", "w", "caret_word(1)", "caret to the next word", (ADD,), "Add"),
    _k("add.word_prev", "b", "caret_word(-1)", "caret to the previous word", (ADD,), "Add"),
    _k("add.line_down", "j,down", "caret_line(1)", "caret one line down", (ADD,), "Add"),
    _k("add.line_up", "k,up", "caret_line(-1)", "caret one line up", (ADD,), "Add"),
    _k(
        "add.anchor",
        "v",
        "anchor",
        "anchor: select anchor..caret (again: back to the word under the caret)",
        (ADD,),
        "Add",
    ),
    _k("add.find", "slash", "find", "find text in the document and select it (enter again: next one)", (ADD,), "Add"),
    _k("add.next_doc", "tab", "add_doc(1)", "next document under review", (ADD,), "Add"),
    _k("add.prev_doc", "shift+tab", "add_doc(-1)", "previous document under review", (ADD,), "Add"),
    _k(
        "cancel",
        "escape",
        "cancel",
        "cancel the edit / new span (drops the anchor first) / close",
        (EDIT, ATTRS, ADD, FIND),
        "General",
    ),
    _k("help", "question_mark", "help", "help", (NORMAL, EDIT, ADD), "General"),
    _k("quit", "q", "quit", "quit", (NORMAL,), "General"),
]


E = KeybarEntry
KEYBAR: dict[str, list[KeybarEntry]] = {
    NORMAL: [
        E(("item.next", "item.prev"), "move"),
        E(("digit.1", "digit.9"), "take"),
        E(("version.prev", "version.next"), "highlight"),
        E(("pick",), "take"),
        E(("edit",), "edit"),
        E(("reject",), "reject all"),
        E(("skip",), "skip"),
        E(("add",), "add span"),
        E(("undo",), "undo"),
        E(("help",), "help"),
        E(("quit",), "quit"),
    ],
    EDIT: [
        E(("digit.1", "digit.7"), "label"),
        E(("edit.start_left", "edit.start_right"), "start", " "),
        E(("edit.end_left", "edit.end_right"), "end", " "),
        E(("edit.next_span",), "next span"),
        E(("edit.drop",), "drop"),
        E(("edit.attrs",), "attrs"),
        E(("edit.base",), "other version"),
        E(("pick",), "save"),
        E(("cancel",), "cancel"),
        E(("help",), "help"),
    ],
    ATTRS: [E((), "value unit approx, e.g. 1500万 斤 more"), E((), "enter save"), E(("cancel",), "cancel")],
    ADD: [
        E(("add.left", "add.right"), "char"),
        E(("add.word_next", "add.word_prev"), "word"),
        E(("add.line_down", "add.line_up"), "line"),
        E(("add.anchor",), "anchor"),
        E(("add.find",), "find"),
        E(("digit.1", "digit.7"), "label"),
        E(("edit.attrs",), "attrs"),
        E(("add.next_doc",), "document"),
        E(("pick",), "save"),
        E(("cancel",), "cancel"),
        E(("help",), "help"),
    ],
    FIND: [
        E((), "text to find in this document"),
        E((), "enter select it (again: the next one)"),
        E(("cancel",), "back"),
    ],
}

HELP_RULES = """\
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


class ReviewApp(WorkbenchApp):
    """The review screen."""

    CSS_PATH = [BASE_CSS, str(Path(__file__).with_name("review.tcss"))]
    TITLE = "workbench review"
    KEY_TABLE = KEYS
    KEYMAP_SECTION = "review"
    BINDINGS = bindings(KEYS)
    ACTION_MODES = action_modes(KEYS)
    USER_ERRORS = (ReviewError, SessionError)
    KEYBAR = KEYBAR
    HELP_TITLE = "workbench review: keys"
    HELP_RULES = HELP_RULES
    HELP_HIDE = tuple(f"digit.{i}" for i in range(2, 10))
    HELP_ROWS = {
        "digit.1": [
            ("1 … 9", "take version N as gold"),
            ("1 … 7", "label " + " ".join(f"{i}={lab}" for i, lab in enumerate(LABELS, 1)) + "  [edit/add]"),
        ]
    }
    MODE_NAMES = {NORMAL: "list"}

    def __init__(
        self,
        session: ReviewSession,
        *,
        keymap: dict[str, str] | None = None,
        keymap_path: Path | None = None,
        use_user_keymap: bool = True,
    ):
        super().__init__(keymap=keymap, keymap_path=keymap_path, use_user_keymap=use_user_keymap)
        self.session = session
        self.version = 0  # highlighted version of the current item
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
        yield AttrsForm(compact=True)
        yield SearchBar("text to find in this document (enter: select it; again: the next one)")
        yield Line(id="keybar")

    def ready(self) -> None:
        self.list = self.query_one(ItemList)
        self.detail = self.query_one(Detail)
        self.attrs_form = self.query_one(AttrsForm)
        self.search_bar = self.query_one(SearchBar)
        self._list_header()
        self.list.goto(self.session.cursor)
        self.detail.show()
        self._update_header()
        self.update_status()
        self.update_keybar()

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
    def _apply(self, ch: Change | None, old_cursor: int) -> None:
        """Repaint what ``ch`` names: its list rows (all of them when the list changed),
        the two cursor rows, the detail of the current item, the bars."""
        s = self.session
        if s.cursor != old_cursor:
            self.version = 0
        if (ch is not None and (ch.reordered or ch.removed)) or len(s.items) != self._n_items:
            self._n_items = len(s.items)
            self.version = 0
            self._list_header()
            self.list.reload()
        else:
            for k in ch.keys if ch is not None else ():
                for i, it in enumerate(s.items):
                    if it.key == k and (ch.doc_id is None or it.doc_id == ch.doc_id):
                        self.list.forget(i)
            self.list.goto(s.cursor)
        self.detail.show()
        self.query_one("#detail-box").scroll_home(animate=False)
        self._update_header()
        self.update_status()

    def _update_header(self) -> None:
        s, st = self.session, self.st
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" review ", style=st("chip-title"))
        t.append(f" {s.reviewer} ", style=st("chip-user"))
        t.append(f" policy {s.policy} ", style="bold")
        t.append("│ ", style=st("sep"))
        n = len(s.items)
        if n:
            t.append(f"item {s.cursor + 1}/{n} ", style="bold")
        t.append(f"{s.open_count} unsettled ", style=st("warn-b") if s.open_count else st("ok-b"))
        done = n - s.open_count
        t.append(f"{done} settled ", style=st("ok"))
        t.append("│ ", style=st("sep"))
        t.append(f"{s.summary.documents} documents · {s.summary.agreed_spans} agreed spans in gold ", style=st("dim"))
        self.query_one("#header", Line).set(t)

    def update_status(self) -> None:
        s, st = self.session, self.st
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.mode in (ADD, ATTRS, FIND) and s.add_draft is not None:
            d = s.add_draft
            a, b = s.add_selection()
            t.append(" NEW SPAN ", style=st("chip-info"))
            t.append(f" {d.label or 'label?'} 「{clip_cells(s.text(d.doc_id)[a:b], 30)}」 {a}–{b} ")
            if d.attrs:
                t.append(format_attrs(d.attrs) + " ", style=st("attrs"))
        elif self.mode == EDIT and s.draft is not None:
            t.append(" EDIT ", style=st("chip-warn"))
            if s.draft.spans:
                x = s.draft.spans[s.draft.current]
                t.append(f" {x['label']} 「{x['text']}」 {x['start']}–{x['end']} ")
                if x.get("attrs"):
                    t.append(format_attrs(x["attrs"]) + " ", style=st("attrs"))
        elif s.current is not None:
            it = s.current
            t.append(f" {it.doc_id} {it.cluster.start}–{it.cluster.end} ", style="bold")
            t.append("added by a reviewer " if it.added else f"{len(it.versions)} versions ", style=st("dim"))
        self.status_tail(t)
        self.status_line.set(t)

    def _do(self, fn, *args) -> None:
        """Run a session action (a Change, or None for a cursor move) and repaint what it changed."""
        old = self.session.cursor
        ok, ch = self.attempt(fn, *args)
        if ok:
            self.say(ch.message if ch is not None else None, "ok")
            self._apply(ch, old)

    def _edit(self, fn, *args) -> None:
        """A draft / new-span step: only the detail and the status change."""
        ok, _ch = self.attempt(fn, *args)
        if ok:
            self._message = None
            self.detail.show()
            self.update_status()

    # ------------------------------------------------------------------ modes
    def watch_mode(self, old: str, new: str) -> None:
        if not hasattr(self, "attrs_form"):  # not mounted yet
            return
        self.attrs_form.display = new == ATTRS
        self.search_bar.display = new == FIND
        if new not in (ATTRS, FIND):
            self.set_focus(None)
        self.update_keybar()
        self.update_status()

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
        if self.mode in (ADD, EDIT):
            if n > len(LABELS):
                self.error(f"labels are 1-{len(LABELS)}" + (" in edit mode" if self.mode == EDIT else ""))
                return
            fn = self.session.add_label if self.mode == ADD else self.session.draft_relabel
            self._edit(fn, LABELS[n - 1])
            return
        it = self.session.current
        if it is not None and n > len(it.versions):
            self.error(f"this item has {len(it.versions)} versions")
            return
        self._do(self.session.pick, n)

    def action_enter(self) -> None:
        if self.mode == EDIT:
            self._save(self.session.save_edit)
        elif self.mode == ADD:
            self._save(self.session.save_add)
        else:
            self._do(self.session.pick, self.version + 1)

    def action_reject(self) -> None:
        self._do(self.session.reject)

    def action_skip(self) -> None:
        self._do(self.session.skip)

    def action_undo(self) -> None:
        self._do(self.session.undo)

    def _save(self, save) -> None:
        """Save the edit / the new span; back to normal mode."""
        old = self.session.cursor
        ok, ch = self.attempt(save)
        if ok:
            self.mode = NORMAL
            self.say(ch.message, "ok")
            self._apply(ch, old)

    # edit mode
    def action_edit(self) -> None:
        ok, _draft = self.attempt(self.session.begin_edit, self.version)
        if ok:
            self._message = None
            self.mode = EDIT
            self.detail.show()

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
        self._edit(self.session.draft_from, (d.base + 1) % len(d.item.versions))

    # ------------------------------------------------------------------ the attrs form
    def action_attrs(self) -> None:
        s = self.session
        if self.mode == ADD and s.add_draft is not None:
            label, attrs = s.add_draft.label, s.add_draft.attrs
        elif s.draft is None or not s.draft.spans:
            return
        else:
            x = s.draft.spans[s.draft.current]
            label, attrs = x["label"], x.get("attrs")
        if label != "QUANTITY":
            self.error("only QUANTITY spans have attributes (7 makes it QUANTITY)")
            return
        self._attrs_return = self.mode
        self.attrs_form.open_for("attrs", attrs)
        self.mode = ATTRS

    def on_attrs_form_submitted(self, event: AttrsForm.Submitted) -> None:
        if self.mode != ATTRS:
            self._late_enter()
            return
        s = self.session
        ok, _ch = self.attempt(s.add_set_attrs if self._attrs_return == ADD else s.draft_set_attrs, event.attrs)
        if ok:
            self.mode = self._attrs_return
            self.detail.show()

    def on_attrs_form_invalid(self, event: AttrsForm.Invalid) -> None:
        self.error(event.error)

    def on_attrs_form_cancelled(self, event: AttrsForm.Cancelled) -> None:
        self.mode = self._attrs_return
        self.say("attributes not changed")
        self.update_status()

    def _late_enter(self) -> None:
        # a second enter typed in the same burst reached the form before the first one's
        # message was handled: it was meant for the mode the first one returned to
        if self.mode in (EDIT, ADD):
            self.action_enter()

    # ------------------------------------------------------------------ the find bar
    def action_find(self) -> None:
        self.search_bar.open_with(self._find_query)
        self.mode = FIND

    def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        if self.mode != FIND:
            self._late_enter()
            return
        self._find_query = event.query
        ok, found = self.attempt(self.session.add_find, event.query)
        if ok:
            a, b = found
            self.mode = ADD
            self.say(f"found at {a}–{b} (/ enter: the next one)")
            self.detail.show()
            self.update_status()

    def on_search_bar_cancelled(self, event: SearchBar.Cancelled) -> None:
        self.mode = ADD
        self.update_status()

    def action_cancel(self) -> None:
        if self.mode == FIND:
            self.search_bar.cancel()
        elif self.mode == ATTRS:
            self.attrs_form.cancel()
        elif self.mode == ADD:
            d = self.session.add_draft
            if d is not None and d.anchor is not None:
                self._edit(self.session.add_drop_anchor)
                return
            self.session.cancel_add()
            self.mode = NORMAL
            self.say("new span cancelled")
            self.detail.show()
            self.query_one("#detail-box").scroll_home(animate=False)
            self.update_status()
        elif self.mode == EDIT:
            self.session.cancel_edit()
            self.mode = NORMAL
            self.say("edit cancelled")
            self.detail.show()
            self.update_status()

    # add mode
    def action_new_span(self) -> None:
        ok, _draft = self.attempt(self.session.begin_add)
        if ok:
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
        text = s.text(dr.doc_id)
        idx = max((i for i, (x, _y) in enumerate(rows) if x <= dr.caret), default=0)
        col = sum(cell_width(c) for c in text[rows[idx][0] : dr.caret])
        tgt = idx + d
        if 0 <= tgt < len(rows):
            x, y = rows[tgt]
            pos, used = x, 0
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

    def on_item_list_clicked(self, event: ItemList.Clicked) -> None:
        if self.mode == NORMAL:
            self._do(self.session.set_cursor, event.index)


ReviewHelp = HelpScreen  # the help screen of this app (the shared one, filled from KEYS)

__all__ = ["ReviewApp", "ReviewHelp", "KEYS", "Item", "describe_spans"]
