"""``workbench annotate``: the keyboard-driven annotation screen.

One screen, no modal per decision. The app only renders the state of an
:class:`~workbench.session.AnnotationSession` and calls its methods; every
decision is committed by the session before the screen changes. What it shares
with the review screen (keymap, palette, help, key bar, forms) is in
:mod:`workbench.tui.base` and :mod:`workbench.tui.forms`.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from ..core.labels import LABELS
from ..core.quantity import format_attrs
from ..session import AnnotationSession, Change, SessionError
from .annotate_keys import ATTRS, CONFIRM, HELP_RULES, KEYBAR, KEYBAR_DROP, KEYS, NORMAL, SEARCH, SPAN
from .base import BASE_CSS, WorkbenchApp
from .docview import DocView
from .forms import AttrsForm, ConfirmBar, SearchBar
from .items import ItemsTable, header_text
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
    PALETTE_SKIP = ("cancel", "confirm.", "search.")
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
        self._caret = 0
        self._anchor: int | None = None
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
        yield AttrsForm()
        yield SearchBar("search the text (↓↑ next/previous, enter done)")
        yield ConfirmBar()
        yield Line(id="keybar")

    def ready(self) -> None:
        self.doc_view = self.query_one(DocView)
        self.table = self.query_one(ItemsTable)
        self.attrs_form = self.query_one(AttrsForm)
        self.search_bar = self.query_one(SearchBar)
        self.confirm_bar = self.query_one(ConfirmBar)
        self.update_keybar()
        self.query_one("#items-header", Line).set(header_text())
        self.call_after_refresh(self._load_document)

    # ------------------------------------------------------------------ sync state → widgets
    def _load_document(self) -> None:
        s = self.session
        self.doc_view.set_document(s.text, s.items, s.cursor if s.items else None)
        self.table.load(s.items, s.cursor)
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
        t.append(f" {s.annotator} ", style=st("chip-user"))
        t.append(f" {s.n_decisions} decisions ", style="bold")
        t.append("│ ", style=st("sep"))
        t.append(f"{c['pending']} pending ", style=st("dim"))
        t.append(f"{c['accepted']}✓ ", style=st("ok"))
        t.append(f"{c['edited']}✎ ", style=st("warn"))
        t.append(f"{c['added']}+ ", style=st("info"))
        t.append(f"{c['rejected']}✗ ", style=st("error"))
        t.append("│ ", style=st("sep"))
        t.append(f"queue {s.n_finished}/{s.n_docs} finished ", style="bold")
        t.append(_bar(s.n_finished, s.n_docs, 10), style=st("ok"))
        self.query_one("#header", Line).set(t)

    def update_status(self) -> None:
        if self.waiting:
            self.status_line.set(self.waiting_text())
            return
        s, st = self.session, self.st
        t = SafeText(no_wrap=True, overflow="ellipsis")
        if self.mode == SPAN:
            a, b = self._selection()
            t.append(" NEW SPAN ", style=st("chip-span"))
            t.append(f" {a}–{b} 「{_clip(s.text[a:b], 30)}」 ", style="bold")
            t.append("h/l ←→ w/b word  v anchor  1-7 label  / search  esc cancel", style=st("dim"))
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
                    t.append(f"  {it['source']}{score}", style=st("dim"))
                if it["status"] == "rejected":
                    t.append("  (1-7 or a to take it back, u undo)", style=st("faint"))
        self.status_tail(t)
        self.status_line.set(t)

    # ------------------------------------------------------------------ modes
    def watch_mode(self, old: str, new: str) -> None:
        if not hasattr(self, "attrs_form"):  # not mounted yet
            return
        self.update_keybar()
        self.attrs_form.display = new == ATTRS
        self.search_bar.display = new == SEARCH
        self.confirm_bar.display = new == CONFIRM
        if new in (NORMAL, SPAN, CONFIRM):
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

            def added(ch: Change) -> None:
                self._anchor = None
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
        self.search_bar.open_with(self._search_query)
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
        if hit is None:
            self._search_pos = None
            self.search_bar.no_match(query)
            return
        self._search_pos = hit[0]
        k = next((i for i, m in enumerate(matches) if m[0] == hit[0]), None)
        self.search_bar.set_count(f"{(k + 1) if k is not None else '?'}/{len(matches)}")
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

    def on_search_bar_changed(self, event: SearchBar.Changed) -> None:
        if self.mode == SEARCH:
            self._run_search(event.query, self._search_origin)

    def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        self.mode = self._search_return
        if self.mode == SPAN:
            self.update_status()

    async def on_search_bar_cancelled(self, event: SearchBar.Cancelled) -> None:
        if self.mode == SEARCH:
            self.mode = self._search_return
        await self.release_keys()

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
        self.update_status()

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
        self.update_status()

    def action_caret(self, d: int) -> None:
        self._set_caret(self._caret + int(d))

    def action_caret_word(self, d: int) -> None:
        s = self.session
        self._set_caret(s.next_word(self._caret) if int(d) > 0 else s.prev_word(self._caret))

    def action_anchor(self) -> None:
        self._anchor = None if self._anchor == self._caret else self._caret
        self.doc_view.set_selection(self._caret, self._anchor)
        self.update_status()

    # ------------------------------------------------------------------ general
    def action_cancel(self) -> None:
        if self.mode == CONFIRM:
            self.action_confirm(False)
        elif self.mode == SEARCH:
            self.hold_keys()
            self.search_bar.cancel()
        elif self.mode == ATTRS:
            self.hold_keys()
            self.attrs_form.cancel()
        elif self.mode == SPAN:
            if self._anchor is not None:
                self._anchor = None
                self.doc_view.set_selection(self._caret, None)
                self.update_status()
            else:
                self.mode = NORMAL
                self.doc_view.set_selection(None, None)
        elif self._search_matches:
            self._search_matches = []
            self.doc_view.set_search([])
            self._message = None
            self.update_status()

    def on_items_table_resized(self, event: ItemsTable.Resized) -> None:
        self.query_one("#items-header", Line).set(header_text(event.width))

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
