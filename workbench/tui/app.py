"""``workbench annotate``: the keyboard-driven annotation screen.

One screen, no modal per decision. The app only renders the state of an
:class:`~workbench.session.AnnotationSession` and calls its methods; every
decision is committed by the session before the screen changes. What it shares
with the review screen (keymap, palette, help, key bar, forms) is in
:mod:`workbench.tui.base` and :mod:`workbench.tui.forms`.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from ..core.labels import LABELS
from ..core.quantity import format_attrs
from ..session import AnnotationSession, Change, SessionError
from ..session.spanmode import SpanMode
from ..session.view import RETRAIN_REFRESH
from .annotate_keys import (
    ATTRS,
    CONFIRM,
    HELP_HIDE,
    HELP_RULES,
    JUMP,
    KEYBAR,
    KEYBAR_DROP,
    KEYBAR_LINES,
    KEYS,
    NORMAL,
    NOTE,
    SEARCH,
    SPAN,
)
from .base import BASE_CSS, FIRST_WAIT, WorkbenchApp
from .docview import DocView, drawing_legend
from .forms import AttrsForm, ConfirmBar, NoteForm, SearchBar
from .items import FLAG_MARK, ItemsTable, clip_cells, header_text, legend_text
from .keys import Key, action_modes, bindings
from .safe import SafeText
from .scroll import Line


class AnnotateApp(WorkbenchApp):
    """The annotation workbench."""

    CSS_PATH = [BASE_CSS, str(Path(__file__).with_name("annotate.tcss"))]
    TITLE = "workbench annotate"
    KEY_TABLE = KEYS
    BINDINGS = bindings(KEYS)
    ACTION_MODES = action_modes(KEYS)
    KEYBAR = KEYBAR
    KEYBAR_DROP = KEYBAR_DROP
    KEYBAR_LINES = KEYBAR_LINES
    HELP_HIDE = HELP_HIDE
    HELP_ROWS = {"label_jump": [("t 1-7 / T 1-7", "next / previous item of a label")]}
    PALETTE_SKIP = ("cancel", "confirm.", "search.", "jump.", "note.")
    PALETTE_EXTRA = [("Documents: reopen a finished document", "f on a finished document", "finish")]
    HELP_TITLE = "workbench annotate: keys"
    HELP_RULES = HELP_RULES

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
        super().__init__(keymap=keymap, keymap_path=keymap_path, use_user_keymap=use_user_keymap)
        self.session = session or AnnotationSession(store, annotator, doc_id=doc_id)
        self._search_query = ""
        self._search_matches: list[tuple[int, int]] = []
        self._search_origin = 0
        self._search_pos: int | None = None
        self._search_return = NORMAL
        self._search_back: tuple[int, float, float] | None = None  # cursor, text and list scroll before /
        self._jump_dir = 1
        self._span_back: tuple[int, int | None] = (0, None)
        self._live_query = ""  # what the search bar holds (the last search is _search_query)
        self.span = SpanMode("")  # the new-span mode's caret and anchor (workbench.session.spanmode)
        self._search_from_s = False  # the search bar was opened by s (esc leaves the new-span mode too)
        self._prefetch_pending = False
        self._note_target = "span"  # what the note form flags: "span" (the current item) or "document"

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Line(id="header")
        with Horizontal(id="main"):
            yield DocView(id="doc")
            with Vertical(id="side"):
                yield Line(id="items-header")
                yield ItemsTable(id="items")
                yield Line(id="legend")
        yield Line(id="status")
        yield AttrsForm()
        yield NoteForm()
        yield SearchBar("search the text (↓↑ next/previous, enter done)")
        yield ConfirmBar()
        yield Line(id="keybar")

    def ready(self) -> None:
        self.doc_view = self.query_one(DocView)
        self.table = self.query_one(ItemsTable)
        self.attrs_form = self.query_one(AttrsForm)
        self.search_bar = self.query_one(SearchBar)
        self.confirm_bar = self.query_one(ConfirmBar)
        self.note_form = self.query_one(NoteForm)
        self.table.sources = self.session.sources_of
        self.table.flag_of = self.session.flag_of
        self.update_keybar()
        self.query_one("#items-header", Line).set(header_text())
        self.update_legend(self.table.size.width or 40)
        self.call_after_refresh(self._load_document)
        # the background retraining's note changes while nobody presses a key: look again every
        # RETRAIN_REFRESH s (two small reads; the header line repaints only when its text changed)
        self.set_interval(RETRAIN_REFRESH, self._retrain_tick)

    def _retrain_tick(self) -> None:
        if self.session.text:
            self.update_header()

    def _label_keys(self) -> list[str]:
        return [self.keys_for(f"label.{i}").split(" ")[0] for i in range(1, len(LABELS) + 1)]

    def update_legend(self, width: int) -> None:
        """The label legend under the list: each label's key, in the label's colour."""
        legend = self.query_one("#legend", Line)
        text = legend_text(self._label_keys(), width)
        lines = text.plain.count("\n") + 1
        if legend.styles.height is None or legend.styles.height.value != lines:
            legend.styles.height = lines
        legend.set(text)

    def help_sections(self, st) -> list:
        return [drawing_legend(st)]

    def on_unmount(self) -> None:
        # where the annotator is, for the next start (Textual also runs the base class's handler);
        # a short wait: a database locked by another program costs the resume point, not a hang
        self.session.store.write_timeout = FIRST_WAIT
        self.session.save_position()

    # ------------------------------------------------------------------ sync state → widgets
    def _load_document(self) -> None:
        s = self.session
        self._message = None  # a message was about the document left
        self.doc_view.set_document(s.text, s.items, s.cursor if s.items else None)
        self.table.load(s.items, s.cursor, s.shown_indexes())
        self._search_matches = []
        self.update_header()
        self.update_status()
        self._schedule_prefetch()

    def _apply(self, ch: Change) -> None:
        s = self.session
        if ch.document:
            self._load_document()
        else:
            cur = s.cursor if s.items else None
            if ch.reordered or ch.removed or s.items is not self.doc_view.items:
                self.doc_view.set_items(s.items, cur)
                self.table.load(s.items, s.cursor, s.shown_indexes())
            elif s.hide_accepted and ch.keys and s.shown_indexes() != self.table.rows:
                # an item was accepted (or taken back) while accepted ones are hidden: the list changes
                self.doc_view.set_current(cur)
                self.doc_view.invalidate(ch.spans)
                self.table.load(s.items, s.cursor, s.shown_indexes())
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
            self.say(ch.message)
        self.update_header()
        self.update_status()
        self._schedule_prefetch()

    def _schedule_prefetch(self) -> None:
        if not self._prefetch_pending:
            self._prefetch_pending = True
            self.call_after_refresh(self._prefetch)

    def _prefetch(self) -> None:
        self._prefetch_pending = False
        self.doc_view.prefetch()
        self.table.prefetch()

    def update_header(self) -> None:
        width = self.size.width or 200
        for compact in (0, 1, 2, 3):  # narrow: no model version, no progress bar, then no annotator chip
            t = self.header_text(compact)
            if t.cell_len <= width:
                break
        self.query_one("#header", Line).set(t)

    def header_text(self, compact: int = 0) -> SafeText:
        s, st = self.session, self.st
        c = s.counts()
        t = SafeText(no_wrap=True, overflow="ellipsis")
        t.append(f" doc {s.doc_index + 1}/{s.n_docs} ", style=st("chip-title"))
        t.append(f" {s.doc_id} ", style="bold")
        warning = s.control_warning
        if warning:
            t.append(f" ⚠ {warning} ", style=st("chip-warn"))
            t.append(" ")
        if s.finished:
            t.append(" FINISHED ", style=st("chip-ok"))
        if s.doc_flag is not None:  # flagged unsure (F): the note when there is room
            note = s.doc_flag["note"]
            t.append(f" {FLAG_MARK} unsure", style=st("chip-warn"))
            t.append(f": {_clip(note, 20)} " if note and compact == 0 else " ", style=st("chip-warn"))
            t.append(" ")
        if compact < 3:
            t.append(f" {s.annotator} ", style=st("chip-user"))
        model = s.model_version
        if model and compact == 0:
            t.append(f" {model} ", style=st("chip-title"))
        done, todo = s.progress()
        t.append(f" {done} done / {todo} to do ", style="bold")
        t.append("│ ", style=st("sep"))
        t.append(f"{c['accepted']}✓ ", style=st("ok"))
        t.append(f"{c['edited']}✎ ", style=st("warn"))
        t.append(f"{c['added']}+ ", style=st("info"))
        t.append(f"{c['rejected']}✗ ", style=st("error"))
        t.append("│ ", style=st("sep"))
        if compact > 1 or (compact and not model):
            t.append(f"queue {s.n_finished}/{s.n_docs} ✓", style="bold")
        else:
            t.append(f"queue {s.n_finished}/{s.n_docs} finished ", style="bold")
            t.append(_bar(s.n_finished, s.n_docs, 10), style=st("ok"))
        retrain = s.retrain_note  # the background retraining, last, clipped to the room left
        room = (self.size.width or 200) - t.cell_len - 3
        if retrain and compact == 0 and room >= 12:
            retrain = clip_cells(retrain, room)
            t.append("  ")
            t.append(f"{retrain} ", style=st("dim"))
        return t

    def update_status(self) -> None:
        if self.waiting:
            self.status_line.set(self.waiting_text())
            return
        s, st = self.session, self.st
        t = SafeText(no_wrap=True, overflow="ellipsis")
        if self.mode == JUMP:
            t.append(" TO LABEL ", style=st("chip-span"))
            t.append(f" {'next' if self._jump_dir > 0 else 'previous'} item of which label? ", style="bold")
            t.append_text(legend_text(self._label_keys(), 10_000))
            t.append("  esc cancels", style=st("dim"))
        elif self.mode == SPAN:
            a, b = self.span.selection()
            t.append(" NEW SPAN ", style=st("chip-span"))
            t.append(" ")
            t.append(f"「{_clip(s.text[a:b], 24)}」", style=st("selection"))
            t.append(f" {a}–{b} ", style="bold")
            if self._message is None:
                t.append(
                    "word at the caret (v anchors)" if self.span.anchor is None else f"from anchor {self.span.anchor}",
                    style=st("dim"),
                )
                t.append("  1-7 adds it  esc cancels", style=st("dim"))
        else:
            it = s.current
            if it is None:
                t.append(" no proposals in this document: n adds a span ", style=st("dim"))
            else:
                t.append(f" {s.cursor + 1}/{len(s.items)} ", style="bold")
                t.append(f" {it['label']} ", style=self.status_line.label_st(it["label"], chip=True))
                t.append(f" 「{_clip(it['text'], 24)}」 {it['start']}–{it['end']} ")
                t.append(it["status"], style=st(_STATUS_STYLE[it["status"]]))
                if it["attrs"]:
                    t.append("  " + format_attrs(it["attrs"]), style=st("warn"))
                if it["proposal_id"] is not None and it["source"]:
                    # which proposer made it (several sources may propose in one document)
                    score = f" {it['score']:.2f}" if isinstance(it["score"], (int, float)) else ""
                    t.append(f"  {'+'.join(s.sources_of(it))}{score}", style=st("dim"))
                flag = s.flag_of(it)
                if flag is not None:
                    t.append(f"  {FLAG_MARK} {_clip(flag['note'], 24) or 'unsure'}", style=st("warn-b"))
                if it["status"] == "rejected":
                    t.append("  (1-7 or a to take it back, u undo)", style=st("faint"))
            if s.hide_accepted:
                t.append(f"  accepted hidden ({self.keys_for('hide_accepted')} shows)", style=st("faint"))
        self.status_tail(t)
        self.status_line.set(t)

    # ------------------------------------------------------------------ modes
    def watch_mode(self, old: str, new: str) -> None:
        if not hasattr(self, "attrs_form"):  # not mounted yet
            return
        self.update_keybar()
        self.show_bar(self.attrs_form, new == ATTRS)
        self.show_bar(self.search_bar, new == SEARCH)
        self.show_bar(self.confirm_bar, new == CONFIRM)
        self.show_bar(self.note_form, new == NOTE)
        if new in (NORMAL, SPAN, CONFIRM, JUMP):
            self.set_focus(None)
        self.update_status()

    def palette_mode_ok(self, k: Key) -> bool:
        return True  # every action: the palette goes back to normal mode first

    def palette_run(self, action: str) -> None:
        def run():
            if self.mode != NORMAL:
                self.mode = NORMAL
            self.call_later(self.run_action, action)

        self.call_after_refresh(run)

    def _do(self, fn, *args) -> None:
        self.act(fn, *args, then=self._apply)

    def describe_action(self, fn, args: tuple) -> str:
        s = self.session
        name = getattr(fn, "__name__", "")
        where = f" in {s.doc_id}"
        if name == "add_span":
            a, b, label = args[:3]
            return f"add {label} 「{_clip(s.text[a:b], 24)}」{where}"
        if name == "accept_all":
            return f"accept all {s.pending_count} pending proposals{where}"
        if name in ("finish", "_finish_forced", "reopen", "undo"):
            return f"{name.strip('_').replace('_forced', '')}{where}"
        verb = {
            "relabel": f"relabel to {args[0]}" if args else "relabel",
            "move_start": "move the start of",
            "move_end": "move the end of",
            "set_attrs": "set the attributes of",
            "flag_current": "flag",
            "unflag_current": "clear the flag of",
        }.get(name, name.replace("_", " "))
        it = s.current
        if it is None:
            return f"{verb}{where}"
        return f"{verb} {it['label']} 「{_clip(it['text'], 24)}」{where}"

    # ------------------------------------------------------------------ actions: moving
    def action_next_item(self) -> None:
        self._message = None
        self._do(self.session.move, 1)

    def action_prev_item(self) -> None:
        self._message = None
        self._do(self.session.move, -1)

    def action_first_item(self) -> None:
        self._do(self.session.first_item)

    def action_last_item(self) -> None:
        self._do(self.session.last_item)

    def action_label_jump(self, d: int) -> None:
        if not self.session.items:
            self.error("no items in this document")
            return
        self._jump_dir = 1 if int(d) > 0 else -1
        self.mode = JUMP

    def action_jump_label(self, n: int) -> None:
        self.mode = NORMAL
        self._message = None
        self._do(self.session.next_of_label, LABELS[int(n) - 1], self._jump_dir)

    def action_hide_accepted(self) -> None:
        self._do(self.session.toggle_hide_accepted)

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
            a, b = self.span.selection()

            def added(ch: Change) -> None:
                self.span.drop_anchor()
                self.doc_view.set_selection(None, None)
                self.mode = NORMAL
                self._apply(ch)

            self.act(self.session.add_span, a, b, label, then=added)
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
            self.error("no pending proposals")
            return
        self._ask(f"Accept all {n} pending proposals of this document?", self.session.accept_all)

    def action_finish(self) -> None:
        s = self.session
        if s.finished:
            self._ask(f"Reopen the finished {s.doc_id}? (your spans stay)", s.reopen)
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
            self.error(str(e))
            return Change()
        self._apply(ch)
        try:
            self._apply(s.next_unfinished())
            self.say(f"finished; now {s.doc_id}")
        except SessionError as e:
            self.say(str(e), "ok-b")
        self.update_status()
        return Change()

    # ------------------------------------------------------------------ the confirm prompt
    def _ask(self, question: str, cb) -> None:
        self.confirm_bar.ask(question, cb, self.keys_for("confirm.yes"), self.keys_for("confirm.no"))
        self.mode = CONFIRM

    def action_confirm(self, yes: bool) -> None:
        self.hold_keys()
        self.confirm_bar.answer(yes)

    async def on_confirm_bar_submitted(self, event: ConfirmBar.Submitted) -> None:
        self.mode = NORMAL
        self._do(event.callback)
        await self.release_keys()

    async def on_confirm_bar_cancelled(self, event: ConfirmBar.Cancelled) -> None:
        self.mode = NORMAL
        self.say("cancelled")
        self.update_status()
        await self.release_keys()

    # ------------------------------------------------------------------ documents
    def action_next_doc(self) -> None:
        self._do(self.session.next_doc)

    def action_prev_doc(self) -> None:
        self._do(self.session.prev_doc)

    # ------------------------------------------------------------------ attrs
    def action_edit_attrs(self) -> None:
        it = self.session.current
        if it is None:
            self.error("no item")
            return
        if it["label"] != "QUANTITY":
            self.error(f"{it['label']} has no attributes (only QUANTITY: value / unit / approx)")
            return
        title = SafeText.assemble(
            (" QUANTITY ", self.status_line.label_st("QUANTITY", chip=True)), f" 「{_clip(it['text'], 16)}」"
        )
        self.attrs_form.open_for(title, it["attrs"])
        self.mode = ATTRS

    def on_attrs_form_submitted(self, event: AttrsForm.Submitted) -> None:
        def done(ch: Change) -> None:
            self.mode = NORMAL
            self._apply(ch)

        self.act(self.session.set_attrs, event.attrs, then=done)

    def on_attrs_form_invalid(self, event: AttrsForm.Invalid) -> None:
        self.error(event.error)

    async def on_attrs_form_cancelled(self, event: AttrsForm.Cancelled) -> None:
        self.mode = NORMAL
        self.say("attributes not changed")
        self.update_status()
        await self.release_keys()

    # ------------------------------------------------------------------ unsure flags
    def action_flag_span(self) -> None:
        """``!``: the note form for the current item (flagged: its note, to edit or clear)."""
        it = self.session.current
        if it is None:
            self.error(f"no item to flag here ({self.keys_for('flag.document')} flags the document)")
            return
        title = SafeText.assemble(
            (f" {FLAG_MARK} ", self.st("chip-warn")),
            (f" {it['label']} ", self.status_line.label_st(it["label"], chip=True)),
            f" 「{_clip(it['text'], 12)}」",
        )
        self._open_note("span", title, self.session.flag_of(it))

    def action_flag_document(self) -> None:
        """``F``: the note form for the whole document."""
        title = SafeText.assemble((f" {FLAG_MARK} ", self.st("chip-warn")), " document")
        self._open_note("document", title, self.session.doc_flag)

    def _open_note(self, target: str, title: Text, flag: dict | None) -> None:
        self._note_target = target
        # the key bar says enter / ctrl+r / esc; the field keeps the room (80 columns)
        hint = SafeText(f"flagged: {self.keys_for('note.clear')} clears" if flag is not None else "new flag")
        hint.stylize(self.st("warn-b") if flag is not None else self.st("dim"))
        self.note_form.open_for(title, flag["note"] if flag is not None else "", hint)
        self.mode = NOTE

    def _note_done(self, ch: Change) -> None:
        self.mode = NORMAL
        self._apply(ch)

    def on_note_form_submitted(self, event: NoteForm.Submitted) -> None:
        s = self.session
        fn = s.flag_current if self._note_target == "span" else s.flag_document
        self.act(fn, event.note, then=self._note_done)

    def on_note_form_invalid(self, event: NoteForm.Invalid) -> None:
        self.error(event.error)

    async def on_note_form_cancelled(self, event: NoteForm.Cancelled) -> None:
        self.mode = NORMAL
        self.say("flag not changed")
        self.update_status()
        await self.release_keys()

    def action_clear_flag(self) -> None:
        s = self.session
        if self._note_target == "span":
            if s.flag_of(s.current) is None:
                self.error("this item is not flagged (enter flags it, esc cancels)")
                return
            self.act(s.unflag_current, then=self._note_done)
        else:
            if s.doc_flag is None:
                self.error("this document is not flagged (enter flags it, esc cancels)")
                return
            self.act(s.unflag_document, then=self._note_done)

    # ------------------------------------------------------------------ search
    def action_search(self) -> None:
        """``/``: an empty bar (enter alone repeats the last search); nothing moves until enter."""
        self._search_from_s = False
        self._search_return = self.mode
        s = self.session
        if self.mode == SPAN:
            self._search_origin = self.span.caret
        else:
            self._search_origin = (
                s.current["start"]
                if s.current
                else int(self.doc_view.lines[int(self.doc_view.scroll_y)][0])
                if self.doc_view.lines
                else 0
            )
        self._search_back = (s.cursor, self.doc_view.scroll_y, self.table.scroll_y)
        self._span_back = (self.span.caret, self.span.anchor)
        self._search_pos = None
        self._live_query = ""
        self.mode = SEARCH
        last = self._search_query
        self.search_bar.open_with(
            "",
            placeholder=f"search the text · enter alone: 「{_clip(last, 16)}」 again" if last else None,
        )
        self.search_bar.set_count("")

    def _run_search(self, query: str, origin: int, backwards: bool = False, *, go: bool = False) -> None:
        """Highlight ``query``'s matches and show the one from ``origin``; ``go``: make it
        current (the cursor, or the new-span selection), else only scroll to it."""
        s = self.session
        self._live_query = query
        matches = s.find_all(query)
        if matches != self._search_matches:
            self._search_matches = matches
            self.doc_view.set_search(matches)
        hit = s.find(query, origin, backwards=backwards)
        if hit is None:
            self._search_pos = None
            self.search_bar.no_match(query)
            return
        self._search_pos = hit[0]
        k = next((i for i, m in enumerate(matches) if m[0] == hit[0]), None)
        self.search_bar.set_count(f"{(k + 1) if k is not None else '?'}/{len(matches)}")
        if go:
            self._search_query = query
            if self._search_return == SPAN:
                self.span.select(hit[0], hit[1])
                self.doc_view.set_selection(self.span.caret, self.span.anchor, self.span.selection())
            else:
                self._apply(s.goto_offset(hit[0]))
        self.doc_view.scroll_to_offset(hit[0], hit[1])

    def action_search_step(self, d: int) -> None:
        query = self._live_query or self._search_query
        if not query:
            return
        pos = self._search_pos if self._search_pos is not None else self._search_origin
        if int(d) > 0:
            self._run_search(query, pos + 1)
        else:
            self._run_search(query, pos, backwards=True)

    def on_search_bar_changed(self, event: SearchBar.Changed) -> None:
        if self.mode == SEARCH:
            self._search_pos = None
            self._run_search(event.query, self._search_origin)

    def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        self._search_from_s = False
        query = event.query or self._search_query
        if query:
            pos = self._search_pos if self._search_pos is not None and query == self._live_query else None
            self._run_search(query, pos if pos is not None else self._search_origin, go=True)
            if self._search_pos is None:
                self.say(f"no match for 「{_clip(query, 16)}」")
        self.mode = self._search_return
        self.update_status()

    async def on_search_bar_cancelled(self, event: SearchBar.Cancelled) -> None:
        if self.mode == SEARCH:
            self._search_restore()
            self.mode = self._search_return
            if self._search_from_s:  # s then esc: back where the annotator was, not in the mode
                self.mode = NORMAL
                self.doc_view.set_selection(None, None)
                self.update_status()
        self._search_from_s = False
        await self.release_keys()

    def _search_restore(self) -> None:
        """Esc in the search: back where the annotator was (the cursor never moved; the text
        and the list scroll back, the highlights go)."""
        back, self._search_back = self._search_back, None
        self._search_matches = []
        self.doc_view.set_search([])
        if self._search_return == SPAN:
            self.span.caret, self.span.anchor = self._span_back
            self.doc_view.set_selection(self.span.caret, self.span.anchor, self.span.selection())
        if back is not None:
            cursor, doc_y, table_y = back
            if self.session.items and cursor != self.session.cursor:
                self._apply(self.session.set_cursor(cursor))
            self.doc_view.scroll_to(y=doc_y, animate=False, immediate=True)
            self.table.scroll_to(y=table_y, animate=False, immediate=True)

    # ------------------------------------------------------------------ new span
    def action_new_span(self) -> None:
        """``n``: the caret at the current item's start (or the top line shown), no anchor."""
        s = self.session
        it = s.current
        if it is not None:
            caret = it["start"]
        else:
            top = int(self.doc_view.scroll_y)
            caret = self.doc_view.lines[top][0] if self.doc_view.lines else 0
        self.span = SpanMode(s.text, s.words, caret)
        self._message = None
        self.mode = SPAN
        self._show_span()

    def action_add_search(self) -> None:
        """``s``: the new-span mode and its search at once (type, enter selects, a label key adds)."""
        self.action_new_span()
        self.action_search()
        self._search_from_s = True

    def _selection(self) -> tuple[int, int]:
        return self.span.selection()

    def _show_span(self, message: str | None = None, style: str = "info") -> None:
        self.say(message, style)
        self.doc_view.set_selection(self.span.caret, self.span.anchor, self.span.selection())
        self.update_status()

    def action_caret(self, d: int) -> None:
        self.span.move(int(d))
        self._show_span()

    def action_caret_word(self, d: int) -> None:
        if int(d) > 0:
            self.span.word_next()
        else:
            self.span.word_prev()
        self._show_span()

    def action_caret_word_end(self) -> None:
        self.span.word_end()
        self._show_span()

    def action_caret_line_edge(self, d: int) -> None:
        if int(d) > 0:
            self.span.line_end()
        else:
            self.span.line_start()
        self._show_span()

    def action_caret_line(self, d: int) -> None:
        self.span.line(int(d), self.doc_view.lines)
        self._show_span()

    def action_anchor(self) -> None:
        if self.span.toggle_anchor():
            self._show_span(f"anchor set at {self.span.anchor}: move the caret to grow the selection", "info-b")
        else:
            self._show_span("anchor dropped: the selection is the word at the caret")

    def action_select_proposal(self) -> None:
        it = self.session.current
        if it is None:
            self._show_span("no proposal here", "error-b")
            return
        self.span.select(it["start"], it["end"])
        self._show_span("the proposal's range is selected: move the caret to grow or shrink it", "info-b")

    def action_span_idle(self, key: str) -> None:
        self._show_span(f"{key} does nothing in new-span mode: 1-7 adds the selection, esc leaves", "warn-b")

    # ------------------------------------------------------------------ general
    def action_cancel(self) -> None:
        if self.mode == CONFIRM:
            self.action_confirm(False)
        elif self.mode == JUMP:
            self.mode = NORMAL
            self.say("cancelled")
            self.update_status()
        elif self.mode == SEARCH:
            self.hold_keys()
            self.search_bar.cancel()
        elif self.mode == ATTRS:
            self.hold_keys()
            self.attrs_form.cancel()
        elif self.mode == NOTE:
            self.hold_keys()
            self.note_form.cancel()
        elif self.mode == SPAN:
            if self.span.anchor is not None:
                self.span.drop_anchor()
                self._show_span("anchor dropped (esc again leaves)")
            else:
                self._message = None
                self.mode = NORMAL
                self.doc_view.set_selection(None, None)
        elif self._search_matches:
            self._search_matches = []
            self.doc_view.set_search([])
            self._message = None
            self.update_status()

    def on_resize(self, event) -> None:
        super().on_resize(event)
        self.call_after_refresh(self.update_header)

    def on_items_table_resized(self, event: ItemsTable.Resized) -> None:
        self.query_one("#items-header", Line).set(header_text(event.width))
        self.update_legend(event.width)

    def on_items_table_row_clicked(self, event: ItemsTable.RowClicked) -> None:
        if self.mode == NORMAL:
            self._message = None
            self._do(self.session.set_cursor, event.index)


_STATUS_STYLE = {"pending": "dim", "accepted": "ok-b", "rejected": "rejected", "edited": "warn-b", "added": "info-b"}


def _clip(s: str, n: int) -> str:
    s = s.replace("\n", "⏎")
    return s if len(s) <= n else s[: n - 1] + "…"


def _bar(done: int, total: int, width: int) -> str:
    if total <= 0:
        return ""
    full = round(width * done / total)
    return "█" * full + "░" * (width - full)
