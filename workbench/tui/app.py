"""``workbench annotate``: the keyboard-driven annotation screen.

One screen, no modal per decision. The app only renders the state of an
:class:`~workbench.session.AnnotationSession` and calls its methods; every
decision is committed by the session before the screen changes.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Provider
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Input, Label, Static

from workbench.store import StoreError

from ..core.labels import COLORS, LABELS
from ..core.quantity import format_attrs, format_value
from ..session import AnnotationSession, Change, SessionError, attrs_from_fields
from .docview import DocView
from .help import HelpScreen, key_label
from .idle_gc import IdleGCApp
from .items import ItemsTable, header_text
from .keymap import KeymapError, ModalActions, default_keymap_path, load_keymap
from .scroll import Line

NORMAL, SPAN, SEARCH, ATTRS, CONFIRM = "normal", "span", "search", "attrs", "confirm"

# (id, keys, action, description, show in footer, modes, group)
KEYS: list[tuple[str, str, str, str, bool, tuple[str, ...], str]] = [
    ("cursor.next", "j,down", "next_item", "next", True, (NORMAL,), "Move"),
    ("cursor.prev", "k,up", "prev_item", "prev", True, (NORMAL,), "Move"),
    ("cursor.first", "g,home", "first_item", "first proposal", False, (NORMAL,), "Move"),
    ("cursor.last", "G,end", "last_item", "last proposal", False, (NORMAL,), "Move"),
    ("page.down", "pagedown,ctrl+d", "page_down", "scroll text down", False, (NORMAL, SPAN), "Move"),
    ("page.up", "pageup,ctrl+u", "page_up", "scroll text up", False, (NORMAL, SPAN), "Move"),
    ("accept", "a,enter", "accept", "accept", True, (NORMAL,), "Decide"),
    ("reject", "x", "reject", "reject (remove if added)", True, (NORMAL,), "Decide"),
    ("skip", "space", "skip", "skip to next pending", True, (NORMAL,), "Decide"),
    *[(f"label.{i}", str(i), f"label({i})", lab, False, (NORMAL, SPAN), "Label") for i, lab in enumerate(LABELS, 1)],
    ("start.left", "left_square_bracket", "move_start(-1)", "start ←", False, (NORMAL,), "Boundaries"),
    ("start.right", "right_square_bracket", "move_start(1)", "start →", False, (NORMAL,), "Boundaries"),
    ("end.left", "left_curly_bracket", "move_end(-1)", "end ←", False, (NORMAL,), "Boundaries"),
    ("end.right", "right_curly_bracket", "move_end(1)", "end →", False, (NORMAL,), "Boundaries"),
    ("attrs", "e", "edit_attrs", "attrs", True, (NORMAL,), "Decide"),
    ("new_span", "n", "new_span", "new span", True, (NORMAL,), "New span"),
    ("span.left", "h,left", "caret(-1)", "caret ←", True, (SPAN,), "New span"),
    ("span.right", "l,right", "caret(1)", "caret →", True, (SPAN,), "New span"),
    ("span.word_next", "w", "caret_word(1)", "next word", True, (SPAN,), "New span"),
    ("span.word_prev", "b", "caret_word(-1)", "prev word", True, (SPAN,), "New span"),
    ("span.anchor", "v", "anchor", "anchor", True, (SPAN,), "New span"),
    ("undo", "u,backspace", "undo", "undo", True, (NORMAL,), "Decide"),
    ("accept_all", "A", "accept_all", "accept all", True, (NORMAL,), "Decide"),
    ("finish", "f", "finish", "finish doc", True, (NORMAL,), "Documents"),
    ("doc.next", "tab", "next_doc", "next doc", True, (NORMAL,), "Documents"),
    ("doc.prev", "shift+tab", "prev_doc", "prev doc", False, (NORMAL,), "Documents"),
    ("search", "slash", "search", "search", True, (NORMAL, SPAN), "Search"),
    ("search.next", "down", "search_step(1)", "next match", True, (SEARCH,), "Search"),
    ("search.prev", "up", "search_step(-1)", "previous match", True, (SEARCH,), "Search"),
    ("confirm.yes", "y,enter", "confirm(True)", "yes", True, (CONFIRM,), "Confirm"),
    ("confirm.no", "n", "confirm(False)", "no", True, (CONFIRM,), "Confirm"),
    ("cancel", "escape", "cancel", "cancel / close", True, (SPAN, SEARCH, ATTRS, CONFIRM, NORMAL), "General"),
    ("help", "question_mark", "help", "help", True, (NORMAL, SPAN), "General"),
    ("quit", "q", "quit", "quit", True, (NORMAL,), "General"),
]

# the key bar (footer) per mode: (binding ids, description)
KEYBAR: dict[str, list[tuple[tuple[str, ...], str]]] = {
    NORMAL: [
        (("cursor.next", "cursor.prev"), "move"),
        (("accept",), "accept"),
        (("reject",), "reject"),
        (("skip",), "skip"),
        (("label.1", "label.7"), "label"),
        (("start.left", "start.right", "end.left", "end.right"), "bounds"),
        (("attrs",), "attrs"),
        (("new_span",), "new span"),
        (("undo",), "undo"),
        (("accept_all",), "accept all"),
        (("finish",), "finish"),
        (("doc.next", "doc.prev"), "doc"),
        (("search",), "search"),
        (("help",), "help"),
        (("quit",), "quit"),
    ],
    SPAN: [
        (("span.left", "span.right"), "caret"),
        (("span.word_next", "span.word_prev"), "word"),
        (("span.anchor",), "anchor"),
        (("label.1", "label.7"), "add span"),
        (("search",), "search"),
        (("cancel",), "cancel"),
        (("help",), "help"),
    ],
    SEARCH: [(("search.next", "search.prev"), "next/prev match"), ((), "enter done"), (("cancel",), "close")],
    ATTRS: [((), "tab next field"), ((), "enter save"), (("cancel",), "cancel")],
    CONFIRM: [(("confirm.yes",), "yes"), (("confirm.no", "cancel"), "no")],
}

# keybar entries dropped first when the terminal is narrow (indexes into KEYBAR[mode] + palette)
KEYBAR_DROP = {NORMAL: [15, 11, 3, 5, 9, 12, 6, 10], SPAN: [7, 4]}

# Every binding is a priority binding. Textual handles priority bindings as the key
# reaches the app, and the others only after the key has gone through the screen's
# queue: with a mix, a burst "a x tab" (typed ahead, pasted, or arriving at once over
# a slow SSH link) ran tab first and put a and x on the next document. With all of
# them priority, keys act in the order they came. Keys meant for an input (search,
# attrs) still reach it: check_action refuses every action outside its modes.
ACTION_MODES: dict[str, tuple[str, ...]] = {}
for _bid, _keys, _action, _desc, _show, _modes, _group in KEYS:
    ACTION_MODES[_action.split("(")[0]] = tuple(set(ACTION_MODES.get(_action.split("(")[0], ())) | set(_modes))


def _bindings() -> list[Binding]:
    out = []
    for bid, keys, action, desc, show, _modes, _group in KEYS:
        out.append(
            Binding(keys, action, desc, show=show, id=bid, priority=True, key_display=key_label(keys.split(",")[0]))
        )
    return out


class ActionsProvider(Provider):
    """The command palette (ctrl+p): every action of the workbench."""

    def _commands(self):
        app = self.app
        assert isinstance(app, AnnotateApp)
        for bid, _keys, action, desc, _show, _modes, group in KEYS:
            if bid.startswith(("confirm.", "search.")) or bid == "cancel":
                continue
            name = f"{group}: {desc}" if not bid.startswith("label.") else f"Label: {desc}"
            yield name, f"{app.keys_for(bid)}  ({bid})", partial(app.palette_run, action)
        yield "Documents: reopen a finished document", "f on a finished document", partial(app.palette_run, "finish")

    async def discover(self):
        for name, help_, cb in self._commands():
            yield DiscoveryHit(name, cb, help=help_)

    async def search(self, query: str):
        matcher = self.matcher(query)
        for name, help_, cb in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_)


class AnnotateApp(IdleGCApp, ModalActions, App):
    """The annotation workbench."""

    CSS_PATH = str(Path(__file__).with_name("annotate.tcss"))
    TITLE = "workbench annotate"
    BINDINGS = _bindings()
    ACTION_MODES = ACTION_MODES
    COMMANDS = App.COMMANDS | {ActionsProvider}
    ENABLE_COMMAND_PALETTE = True
    AUTO_FOCUS = None

    mode: reactive[str] = reactive(NORMAL, bindings=True)

    def __init__(
        self,
        store,
        annotator: str,
        *,
        doc_id: str | None = None,
        session: AnnotationSession | None = None,
        keymap: dict[str, str] | None = None,
        keymap_path=None,
        use_user_keymap: bool = True,
    ):
        super().__init__()
        self.session = session or AnnotationSession(store, annotator, doc_id=doc_id)
        self._keymap_arg = keymap
        self._keymap_path = keymap_path
        self._use_user_keymap = use_user_keymap
        self._confirm_cb = None
        self._search_query = ""
        self._search_matches: list[tuple[int, int]] = []
        self._search_origin = 0
        self._search_pos: int | None = None
        self._search_return = NORMAL
        self._caret = 0
        self._anchor: int | None = None
        self._message: Text | None = None
        self._prefetch_pending = False

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Line(id="header")
        with Horizontal(id="main"):
            yield DocView(id="doc")
            with Vertical(id="side"):
                yield Line(id="items-header")
                yield ItemsTable(id="items")
        yield Line(id="status")
        with Horizontal(id="attrs-bar", classes="bar"):
            yield Label("", id="attrs-title")
            yield Label("value")
            yield Input(id="attr-value", placeholder="1500万 / 2.2亿 / 36")
            yield Label("unit")
            yield Input(id="attr-unit", placeholder="元")
            yield Label("approx")
            yield Input(id="attr-approx", placeholder="more/about/nearly/-")
        with Horizontal(id="search-bar", classes="bar"):
            yield Label("/", id="search-label")
            yield Input(id="search-input", placeholder="search the text (↓↑ next/previous, enter done)")
            yield Label("", id="search-count")
        yield Static(id="confirm-bar", classes="bar")
        yield Line(id="keybar")

    def on_mount(self) -> None:
        keymap = dict(self._keymap_arg or {})
        if self._use_user_keymap:
            path = self._keymap_path or default_keymap_path()
            try:
                user, warnings = load_keymap(path, {k[0] for k in KEYS})
            except KeymapError as e:
                user, warnings = {}, [f"keymap not loaded: {e}"]
            keymap = {**user, **keymap}
            for w in warnings:
                self.notify(w, severity="warning", timeout=8)
        if keymap:
            self.set_keymap(keymap)
        self.doc_view = self.query_one(DocView)
        self.table = self.query_one(ItemsTable)
        self.set_focus(None)
        self._update_keybar()
        self.query_one("#items-header", Line).set(header_text())
        self.call_after_refresh(self._load_document)

    def keys_for(self, bid: str) -> str:
        keys = self._keymap.get(bid) if hasattr(self, "_keymap") else None
        if keys is None:
            for k in KEYS:
                if k[0] == bid:
                    keys = k[1]
                    break
        if isinstance(keys, (list, tuple)):
            keys = ",".join(keys)
        return " ".join(key_label(k) for k in (keys or "").split(",") if k)

    # ------------------------------------------------------------------ sync state → widgets
    def _load_document(self) -> None:
        s = self.session
        self.doc_view.set_document(s.text, s.items, s.cursor if s.items else None)
        self.table.load(s.items, s.cursor)
        self._search_matches = []
        self._update_header()
        self._update_status()
        self._schedule_prefetch()

    def _apply(self, ch: Change) -> None:
        s = self.session
        if ch.document:
            self._load_document()
        else:
            cur = s.cursor if s.items else None
            if ch.reordered or ch.removed or s.items is not self.doc_view.items:
                self.doc_view.set_items(s.items, cur)
                self.table.load(s.items, s.cursor)
            else:
                if ch.keys:
                    self.doc_view.set_items_quiet(s.items)
                self.doc_view.set_current(cur)
                self.doc_view.invalidate(ch.spans)
                for k in ch.keys:
                    i = s.index_of(k)
                    if i is not None:
                        self.table.update_item(s.items[i], i)
                self.table.goto(s.cursor)
            self.doc_view.show_current()
        if ch.message:
            self._message = Text(ch.message)
        self._update_header()
        self._update_status()
        self._schedule_prefetch()

    def _schedule_prefetch(self) -> None:
        if not self._prefetch_pending:
            self._prefetch_pending = True
            self.call_after_refresh(self._prefetch)

    def _prefetch(self) -> None:
        self._prefetch_pending = False
        self.doc_view.prefetch()
        self.table.prefetch()

    def _error(self, msg: str) -> None:
        self._message = Text(msg, style="bold #ff8787")
        self._update_status()
        self.bell()

    def _update_header(self) -> None:
        s = self.session
        c = s.counts()
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" doc {s.doc_index + 1}/{s.n_docs} ", style="bold #000000 on #87afd7")
        t.append(f" {s.doc_id} ", style="bold")
        if s.finished:
            t.append(" FINISHED ", style="bold #000000 on #87d787")
        t.append(f" {s.annotator} ", style="#000000 on #d7d7af")
        t.append(f" {s.n_decisions} decisions ", style="bold")
        t.append("│ ", style="#6c6c6c")
        t.append(f"{c['pending']} pending ", style="#bcbcbc")
        t.append(f"{c['accepted']}✓ ", style="#87d787")
        t.append(f"{c['edited']}✎ ", style="#ffd75f")
        t.append(f"{c['added']}+ ", style="#5fd7ff")
        t.append(f"{c['rejected']}✗ ", style="#ff8787")
        t.append("│ ", style="#6c6c6c")
        t.append(f"queue {s.n_finished}/{s.n_docs} finished ", style="bold")
        t.append(_bar(s.n_finished, s.n_docs, 10), style="#87d787")
        self.query_one("#header", Line).set(t)

    def _update_status(self) -> None:
        s = self.session
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.mode == SPAN:
            a, b = self._selection()
            t.append(" NEW SPAN ", style="bold #000000 on #afafff")
            t.append(f" {a}–{b} 「{_clip(s.text[a:b], 30)}」 ", style="bold")
            t.append("h/l ←→ w/b word  v anchor  1-7 label  / search  esc cancel", style="#bcbcbc")
        else:
            it = s.current
            if it is None:
                t.append(" no proposals in this document: n adds a span ", style="#bcbcbc")
            else:
                t.append(f" {s.cursor + 1}/{len(s.items)} ", style="bold")
                t.append(f" {it['label']} ", style=f"bold #000000 on {COLORS.get(it['label'], '#bcbcbc')}")
                t.append(f" 「{_clip(it['text'], 24)}」 {it['start']}–{it['end']} ")
                t.append(it["status"], style=_STATUS_STYLE[it["status"]])
                if it["attrs"]:
                    t.append("  " + format_attrs(it["attrs"]), style="#ffd75f")
                if it["status"] == "rejected":
                    t.append("  (1-7 or a to take it back, u undo)", style="#8a8a8a")
        if self._message is not None:
            t.append("  │ ", style="#6c6c6c")
            t.append_text(self._message)
        self.query_one("#status", Line).set(t)

    def _update_keybar(self) -> None:
        parts: list[Text] = []
        for ids, desc in KEYBAR[self.mode]:
            keys = [self.keys_for(i).split(" ")[0] for i in ids]
            if len(ids) == 2 and ids[0] == "label.1":
                k = f"{keys[0]}-{keys[1]}"
            else:
                k = "".join(keys) if all(len(x) == 1 for x in keys) and len(keys) > 2 else "/".join(keys)
            t = Text()
            if k:
                t.append(k, style="bold #87d7ff")
                t.append(" ")
            t.append(f"{desc}  ", style="#d0d0d0")
            parts.append(t)
        tail = Text("^p", style="bold #87d7ff")
        tail.append(" palette", style="#d0d0d0")
        parts.append(tail)
        # drop the least important entries (listed in KEYBAR_DROP) until the bar fits
        width = self.size.width or 200
        order = [i for i in KEYBAR_DROP.get(self.mode, []) if i < len(parts)]
        keep = list(range(len(parts)))
        while sum(parts[i].cell_len for i in keep) > width and order:
            keep.remove(order.pop(0))
        t = Text(" ", no_wrap=True, overflow="ellipsis")
        for i in keep:
            t.append_text(parts[i])
        self.query_one("#keybar", Line).set(t)

    def on_resize(self, event) -> None:
        self._update_keybar()

    # ------------------------------------------------------------------ modes
    def watch_mode(self, old: str, new: str) -> None:
        self._update_keybar()
        for bar, m in (("#attrs-bar", ATTRS), ("#search-bar", SEARCH), ("#confirm-bar", CONFIRM)):
            self.query_one(bar).display = new == m
        if new in (NORMAL, SPAN, CONFIRM):
            self.set_focus(None)
        self._update_status()

    def palette_run(self, action: str) -> None:
        """Run an action chosen in the command palette, once the palette has closed."""

        def run():
            if self.mode != NORMAL:
                self.mode = NORMAL
            self.call_later(self.run_action, action)

        self.call_after_refresh(run)

    def _do(self, fn, *args) -> None:
        try:
            ch = fn(*args)
        except SessionError as e:
            self._error(str(e))
            return
        except (StoreError, sqlite3.Error) as e:
            # the write failed, so nothing changed on screen either: say so, keep working
            self._error(f"not saved: {e}")
            return
        self._apply(ch)

    # ------------------------------------------------------------------ actions: moving
    def action_next_item(self) -> None:
        self._message = None
        self._do(self.session.move, 1)

    def action_prev_item(self) -> None:
        self._message = None
        self._do(self.session.move, -1)

    def action_first_item(self) -> None:
        self._do(self.session.set_cursor, 0)

    def action_last_item(self) -> None:
        self._do(self.session.set_cursor, len(self.session.items) - 1)

    def action_page_down(self) -> None:
        self.doc_view.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.doc_view.scroll_page_up(animate=False)

    # ------------------------------------------------------------------ actions: decisions
    def action_accept(self) -> None:
        self._do(self.session.accept)

    def action_reject(self) -> None:
        self._do(self.session.reject)

    def action_skip(self) -> None:
        self._message = None
        self._do(self.session.skip)

    def action_label(self, n: int) -> None:
        label = LABELS[int(n) - 1]
        if self.mode == SPAN:
            a, b = self._selection()
            try:
                ch = self.session.add_span(a, b, label)
            except SessionError as e:
                self._error(str(e))
                return
            self._anchor = None
            self.doc_view.set_selection(None, None)
            self.mode = NORMAL
            self._apply(ch)
            return
        self._do(self.session.relabel, label)

    def action_move_start(self, d: int) -> None:
        self._do(self.session.move_start, int(d))

    def action_move_end(self, d: int) -> None:
        self._do(self.session.move_end, int(d))

    def action_undo(self) -> None:
        self._do(self.session.undo)

    def action_accept_all(self) -> None:
        n = self.session.pending_count
        if not n:
            self._error("no pending proposals")
            return
        self._ask(f"Accept all {n} pending proposals of this document?", self.session.accept_all)

    def action_finish(self) -> None:
        s = self.session
        if s.finished:
            self._do(s.reopen)
            return
        n = s.pending_count
        if n:
            self._ask(
                f"{n} proposal{'s' if n != 1 else ''} still pending. Finish the document anyway "
                "(pending ones are not your spans)?",
                self._finish_forced,
            )
        else:
            self._finish_forced()

    def _finish_forced(self) -> Change:
        s = self.session
        try:
            ch = s.finish(force=True)
        except SessionError as e:
            self._error(str(e))
            return Change()
        self._apply(ch)
        try:
            self._apply(s.next_unfinished())
            self._message = Text(f"finished; now {s.doc_id}")
        except SessionError as e:
            self._message = Text(str(e), style="bold #87d787")
        self._update_status()
        return Change()

    def _ask(self, question: str, cb) -> None:
        self._confirm_cb = cb
        bar = self.query_one("#confirm-bar", Static)
        t = Text(" ? ", style="bold #000000 on #ffd75f")
        t.append(f" {question}  ")
        t.append(f"{self.keys_for('confirm.yes')}", style="bold")
        t.append(" yes   ")
        t.append(f"{self.keys_for('confirm.no')} esc", style="bold")
        t.append(" no")
        bar.update(t)
        self.mode = CONFIRM

    def action_confirm(self, yes: bool) -> None:
        cb, self._confirm_cb = self._confirm_cb, None
        self.mode = NORMAL
        if yes and cb is not None:
            self._do(cb)
        else:
            self._message = Text("cancelled")
            self._update_status()

    # ------------------------------------------------------------------ documents
    def action_next_doc(self) -> None:
        self._do(self.session.next_doc)

    def action_prev_doc(self) -> None:
        self._do(self.session.prev_doc)

    # ------------------------------------------------------------------ attrs
    def action_edit_attrs(self) -> None:
        it = self.session.current
        if it is None:
            self._error("no item")
            return
        if it["label"] != "QUANTITY":
            self._error(f"{it['label']} has no attributes (only QUANTITY: value / unit / approx)")
            return
        a = it["attrs"] or {}
        self.query_one("#attrs-title", Label).update(
            Text.assemble((" QUANTITY ", f"bold #000000 on {COLORS['QUANTITY']}"), f" 「{_clip(it['text'], 16)}」")
        )
        self.query_one("#attr-value", Input).value = format_value(a.get("value"))
        self.query_one("#attr-unit", Input).value = a.get("unit") or ""
        self.query_one("#attr-approx", Input).value = a.get("approx") or ""
        self.mode = ATTRS
        self.query_one("#attr-value", Input).focus()

    def _save_attrs(self) -> None:
        try:
            attrs = attrs_from_fields(
                self.query_one("#attr-value", Input).value,
                self.query_one("#attr-unit", Input).value,
                self.query_one("#attr-approx", Input).value,
            )
            ch = self.session.set_attrs(attrs)
        except SessionError as e:
            self._error(str(e))
            return
        self.mode = NORMAL
        self._apply(ch)

    # ------------------------------------------------------------------ search
    def action_search(self) -> None:
        self._search_return = self.mode
        s = self.session
        if self.mode == SPAN:
            self._search_origin = self._caret
        else:
            self._search_origin = (
                s.current["start"]
                if s.current
                else int(self.doc_view.lines[int(self.doc_view.scroll_y)][0])
                if self.doc_view.lines
                else 0
            )
        self.mode = SEARCH
        inp = self.query_one("#search-input", Input)
        inp.value = self._search_query
        inp.focus()
        if self._search_query:
            self._run_search(self._search_query, self._search_origin)

    def _run_search(self, query: str, origin: int, backwards: bool = False) -> None:
        s = self.session
        self._search_query = query
        matches = s.find_all(query)
        if matches != self._search_matches:
            self._search_matches = matches
            self.doc_view.set_search(matches)
        hit = s.find(query, origin, backwards=backwards)
        count = self.query_one("#search-count", Label)
        if hit is None:
            self._search_pos = None
            count.update(Text("no match" if query else "", style="#ff8787"))
            return
        self._search_pos = hit[0]
        k = next((i for i, m in enumerate(matches) if m[0] == hit[0]), None)
        count.update(f"{(k + 1) if k is not None else '?'}/{len(matches)}")
        if self._search_return == SPAN:
            self._anchor, self._caret = hit[0], hit[1] - 1
            self.doc_view.set_selection(self._caret, self._anchor)
        else:
            self._apply(s.goto_offset(hit[0]))
        self.doc_view.scroll_to_offset(hit[0], hit[1])

    def action_search_step(self, d: int) -> None:
        if not self._search_query:
            return
        pos = self._search_pos if self._search_pos is not None else self._search_origin
        if int(d) > 0:
            self._run_search(self._search_query, pos + 1)
        else:
            self._run_search(self._search_query, pos, backwards=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search-input" and self.mode == SEARCH:
            self._run_search(event.value, self._search_origin)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "search-input":
            self.mode = self._search_return
            if self.mode == SPAN:
                self._update_status()
        elif event.input.id and event.input.id.startswith("attr-"):
            self._save_attrs()

    # ------------------------------------------------------------------ new span
    def action_new_span(self) -> None:
        s = self.session
        it = s.current
        if it is not None:
            self._caret = it["start"]
        else:
            top = int(self.doc_view.scroll_y)
            self._caret = self.doc_view.lines[top][0] if self.doc_view.lines else 0
        self._caret = max(0, min(self._caret, max(0, len(s.text) - 1)))
        self._anchor = None
        self.mode = SPAN
        self.doc_view.set_selection(self._caret, None)
        self._update_status()

    def _selection(self) -> tuple[int, int]:
        """The new-span selection: anchor..caret inclusive, or the word under the caret."""
        if self._anchor is None:
            return self.session.word_at(self._caret)
        a, b = sorted((self._anchor, self._caret))
        return a, b + 1

    def _set_caret(self, pos: int) -> None:
        n = len(self.session.text)
        self._caret = max(0, min(pos, max(0, n - 1)))
        self.doc_view.set_selection(self._caret, self._anchor)
        self._update_status()

    def action_caret(self, d: int) -> None:
        self._set_caret(self._caret + int(d))

    def action_caret_word(self, d: int) -> None:
        s = self.session
        self._set_caret(s.next_word(self._caret) if int(d) > 0 else s.prev_word(self._caret))

    def action_anchor(self) -> None:
        self._anchor = None if self._anchor == self._caret else self._caret
        self.doc_view.set_selection(self._caret, self._anchor)
        self._update_status()

    # ------------------------------------------------------------------ general
    def action_cancel(self) -> None:
        if self.mode == CONFIRM:
            self.action_confirm(False)
        elif self.mode == SEARCH:
            self.mode = self._search_return
        elif self.mode == ATTRS:
            self.mode = NORMAL
            self._message = Text("attributes not changed")
            self._update_status()
        elif self.mode == SPAN:
            if self._anchor is not None:
                self._anchor = None
                self.doc_view.set_selection(self._caret, None)
                self._update_status()
            else:
                self.mode = NORMAL
                self.doc_view.set_selection(None, None)
        elif self._search_matches:
            self._search_matches = []
            self.doc_view.set_search([])
            self._message = None
            self._update_status()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self))

    async def action_quit(self) -> None:
        self.exit()

    def on_items_table_resized(self, event: ItemsTable.Resized) -> None:
        self.query_one("#items-header", Line).set(header_text(event.width))

    def on_items_table_row_clicked(self, event: ItemsTable.RowClicked) -> None:
        if self.mode == NORMAL:
            self._message = None
            self._do(self.session.set_cursor, event.index)


_STATUS_STYLE = {
    "pending": "#bcbcbc",
    "accepted": "bold #87d787",
    "rejected": "#ff8787 strike",
    "edited": "bold #ffd75f",
    "added": "bold #5fd7ff",
}


def _clip(s: str, n: int) -> str:
    s = s.replace("\n", "⏎")
    return s if len(s) <= n else s[: n - 1] + "…"


def _bar(done: int, total: int, width: int) -> str:
    if total <= 0:
        return ""
    full = round(width * done / total)
    return "█" * full + "░" * (width - full)
