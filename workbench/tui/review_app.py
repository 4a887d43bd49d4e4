"""``workbench review``: settle disagreements between annotators, from the keyboard.

The app only renders a :class:`~workbench.review.ReviewSession` and calls its
methods; every reviewer action is committed (reviews log + gold rows, one
transaction) by the session before the screen changes, and returns a
:class:`~workbench.session.Change`: the app repaints the list rows it names.

Layout: the list of disagreements on the left (:mod:`.review_list`); on the right
every version of the current one, then its document scrolled to it (:mod:`.review_detail`).
Both are on Textual's Line API: a key renders again only the rows it changed.
Keymap, palette, help, key bar and forms are shared with annotate (:mod:`.base`,
:mod:`.forms`).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from ..core.labels import LABELS
from ..core.quantity import format_attrs
from ..review import Item, ReviewError, ReviewSession, describe_spans
from ..session import Change, SessionError
from .base import BASE_CSS, WorkbenchApp
from .forms import AttrsForm, SearchBar
from .help import HelpScreen
from .items import clip_cells
from .keys import action_modes, bindings
from .review_detail import Detail
from .review_keys import ADD, ATTRS, EDIT, FIND, GOLD, HELP_RULES, KEYBAR, KEYBAR_DROP, KEYS, NORMAL
from .review_list import GoldList, ItemList
from .safe import SafeText
from .scroll import Line
from .wrap import cell_width


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
    KEYBAR_DROP = KEYBAR_DROP
    HELP_TITLE = "workbench review: keys"
    HELP_RULES = HELP_RULES
    HELP_HIDE = tuple(f"digit.{i}" for i in range(2, 10))
    HELP_ROWS = {
        "digit.1": [
            ("1 … 9", "take version N as gold"),
            ("1 … 7", " ".join(f"{i}={lab}" for i, lab in enumerate(LABELS, 1)) + " [edit/add/gold]"),
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
        self.confirm_replace = False  # add mode over gold: the first enter asked, the next one replaces

    def compose(self) -> ComposeResult:
        yield Line(id="header")
        with Horizontal(id="main"):
            with Vertical(id="side"):
                yield Line(id="list-header")
                yield ItemList(self.session, id="list")
                yield GoldList(self.session, id="gold-list")
            yield Detail(self, id="detail")
        yield Line(id="status")
        yield AttrsForm(compact=True)
        yield SearchBar("text to find in this document (enter: select it; again: the next one)")
        yield Line(id="keybar")

    def ready(self) -> None:
        self.list = self.query_one(ItemList)
        self.gold_list = self.query_one(GoldList)
        self.gold_list.display = False
        self.detail = self.query_one(Detail)
        self.attrs_form = self.query_one(AttrsForm)
        self.search_bar = self.query_one(SearchBar)
        self._list_header()
        self.list.goto(self.session.cursor)
        self.detail.show()
        self.update_header()
        self.update_status()
        self.update_keybar()
        if self.session.all_docs and self.session.docs:  # review --all: audit the gold from the start
            self.action_gold()

    def restyle(self) -> None:
        super().restyle()
        self.detail.show()

    def _list_header(self) -> None:
        w = self.session.walk
        if w is not None:
            self.query_one("#list-header", Line).set(
                SafeText(
                    f" gold: {len(w.rows)} spans  = agreed ✓ adjudicated + added ✎ corrected",
                    style="bold",
                    no_wrap=True,
                    overflow="ellipsis",
                )
            )
            return
        self.query_one("#list-header", Line).set(
            SafeText(
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
            if ch is not None and ch.keys:
                for i, it in enumerate(s.items):
                    if it.key in ch.keys and (ch.doc_id is None or it.doc_id == ch.doc_id):
                        self.list.forget(i)
            self.list.goto(s.cursor)
        self._gold_view()
        self.detail.show()
        self.update_header()
        self.update_status()

    def _gold_view(self) -> None:
        """Show the gold list while walking the gold, the disagreements otherwise."""
        walking = self.session.walk is not None
        if self.gold_list.display != walking:  # (setting it, even unchanged, lays the screen out)
            self.gold_list.display = walking
        if self.list.display == walking:
            self.list.display = not walking
        if walking:
            self.gold_list.reload()
        self._list_header()

    def update_header(self) -> None:
        s, st = self.session, self.st
        t = SafeText(no_wrap=True, overflow="ellipsis")
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
        if s.walk is not None:
            t.append("│ ", style=st("sep"))
            t.append(" gold ", style=st("chip-title"))
            t.append(f" {s.walk.doc_id} ", style="bold")
        self.query_one("#header", Line).set(t)

    def update_status(self) -> None:
        if self.waiting:
            self.status_line.set(self.waiting_text())
            return
        s, st = self.session, self.st
        t = SafeText(no_wrap=True, overflow="ellipsis")
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
        elif self.mode == GOLD and s.walk is not None:
            w = s.walk
            g = w.current
            t.append(" GOLD ", style=st("chip-title"))
            if g is None:
                t.append(f" {w.doc_id}: no gold span ")
            else:
                t.append(f" {g['label']} 「{clip_cells(g['text'], 30)}」 {g['start']}–{g['end']} {g['origin']} ")
                if w.remove:
                    t.append("✗ remove ", style=st("error-b"))
                elif w.span is not None:
                    x = w.span
                    t.append(
                        f"→ {x['label']} 「{clip_cells(x['text'], 30)}」 {x['start']}–{x['end']} ", style=st("warn-b")
                    )
                    if x.get("attrs"):
                        t.append(format_attrs(x["attrs"]) + " ", style=st("attrs"))
        elif s.current is not None:
            it = s.current
            t.append(f" {it.doc_id} {it.cluster.start}–{it.cluster.end} ", style="bold")
            t.append("added by a reviewer " if it.added else f"{len(it.versions)} versions ", style=st("dim"))
            warning = s.control_warning(it.doc_id)
            if warning:
                t.append(f" ⚠ {warning} ", style=st("chip-warn"))
        self.status_tail(t)
        self.status_line.set(t)

    def _do(self, fn, *args) -> None:
        """Run a session action (a Change, or None for a cursor move) and repaint what it changed."""
        old = self.session.cursor

        def done(ch: Change | None) -> None:
            self.say(ch.message if ch is not None else None, "ok")
            self._apply(ch, old)

        self.act(fn, *args, then=done)

    def describe_action(self, fn, args: tuple) -> str:
        s = self.session
        name = getattr(fn, "__name__", "")
        it = s.current
        where = f" at {it.doc_id} {it.cluster.start}–{it.cluster.end}" if it is not None else ""
        if name == "pick" and args:
            return f"pick version {args[0]}{where}"
        if name == "reject":
            return f"reject all versions{where}"
        if name == "save_edit":
            return f"the edit{where}"
        if name == "save_correct" and s.walk is not None and s.walk.current is not None:
            g = s.walk.current
            return f"the correction of {g['label']} 「{clip_cells(g['text'], 24)}」 at {s.walk.doc_id} {g['start']}–{g['end']}"
        if name == "replace_add" and s.add_draft is not None:
            a, b = s.add_selection()
            d = s.add_draft
            return f"replace gold by {d.label} 「{clip_cells(s.text(d.doc_id)[a:b], 24)}」 at {d.doc_id} {a}–{b}"
        if name == "save_add" and s.add_draft is not None:
            a, b = s.add_selection()
            d = s.add_draft
            return f"add {d.label} 「{clip_cells(s.text(d.doc_id)[a:b], 24)}」 at {d.doc_id} {a}–{b}"
        if name == "undo":
            return "undo your last review action"
        return f"{name.replace('_', ' ')}{where}"

    def _edit(self, fn, *args) -> None:
        """A draft / new-span / correction step: only the detail, the status (and the gold
        list row) change; nothing is written."""
        self.confirm_replace = False
        ok, _ch = self.attempt(fn, *args)
        if ok:
            self._message = None
            self.detail.show()
            if self.session.walk is not None:
                self.gold_list.repaint_current()
            self.update_status()

    # ------------------------------------------------------------------ modes
    def watch_mode(self, old: str, new: str) -> None:
        if not hasattr(self, "attrs_form"):  # not mounted yet
            return
        self.show_bar(self.attrs_form, new == ATTRS)
        self.show_bar(self.search_bar, new == FIND)
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
        if self.mode == GOLD:
            if n > len(LABELS):
                self.error(f"labels are 1-{len(LABELS)}")
                return
            self._edit(self.session.correct_relabel, LABELS[n - 1])
            return
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
        elif self.mode == GOLD:
            self._do(self.session.save_correct)
        elif self.mode == ADD:
            s = self.session
            over = s.add_overlaps() if s.add_draft is not None and s.add_draft.label else []
            if over and s.add_check(replace=True) is None and not self.confirm_replace:
                self.confirm_replace = True  # ask first: replacing gold is not what n usually does
                names = ", ".join(f"{g['label']}「{g['text']}」" for g in over)
                self.say(f"replace {names} ({len(over)} gold span{'s' if len(over) > 1 else ''})? enter: yes · esc: no")
                self.detail.show()
                self.update_status()
                return
            if self.confirm_replace:
                self.confirm_replace = False
                self._save(self.replace_add)
            else:
                self._save(s.save_add)
        else:
            self._do(self.session.pick, self.version + 1)

    def action_reject(self) -> None:
        self._do(self.session.reject)

    def action_skip(self) -> None:
        self._do(self.session.skip)

    def action_undo(self) -> None:
        self._do(self.session.undo)

    def replace_add(self) -> Change:
        """Save the new span replacing the gold it overlaps (confirmed)."""
        return self.session.save_add(replace=True)

    def _save(self, save) -> None:
        """Save the edit / the new span; back to normal mode (the gold, when walking it)."""
        old = self.session.cursor

        def done(ch: Change) -> None:
            self.mode = GOLD if self.session.walk is not None else NORMAL
            self.say(ch.message, "ok")
            self._apply(ch, old)

        self.act(save, then=done)

    # edit mode
    def action_edit(self) -> None:
        ok, _draft = self.attempt(self.session.begin_edit, self.version)
        if ok:
            self._message = None
            self.mode = EDIT
            self.detail.show()

    def action_bound(self, which: str, d: int) -> None:
        if self.mode == GOLD:
            self._edit(self.session.correct_move, which, int(d))
            return
        self._edit(self.session.draft_move, which, int(d))

    def action_draft_select(self, d: int) -> None:
        self._edit(self.session.draft_select, int(d))

    def action_draft_drop(self) -> None:
        if self.mode == GOLD:
            self._edit(self.session.correct_remove)
            return
        self._edit(self.session.draft_drop)

    def action_base(self) -> None:
        d = self.session.draft
        if d is None:
            return
        self._edit(self.session.draft_from, (d.base + 1) % len(d.item.versions))

    # ------------------------------------------------------------------ the attrs form
    def action_attrs(self) -> None:
        s = self.session
        if self.mode == GOLD:
            shown = s.walk.shown() if s.walk is not None else None
            if shown is None:
                return
            label, attrs = shown["label"], shown.get("attrs")
        elif self.mode == ADD and s.add_draft is not None:
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
        setter = {ADD: s.add_set_attrs, GOLD: s.correct_set_attrs}.get(self._attrs_return, s.draft_set_attrs)
        ok, _ch = self.attempt(setter, event.attrs)
        if ok:
            self.mode = self._attrs_return
            self.detail.show()
            if s.walk is not None:
                self.gold_list.repaint_current()

    def on_attrs_form_invalid(self, event: AttrsForm.Invalid) -> None:
        self.error(event.error)

    async def on_attrs_form_cancelled(self, event: AttrsForm.Cancelled) -> None:
        self.mode = self._attrs_return
        self.say("attributes not changed")
        self.update_status()
        await self.release_keys()

    def _late_enter(self) -> None:
        # a second enter typed in the same burst reached the form before the first one's
        # message was handled: it was meant for the mode the first one returned to
        if self.mode in (EDIT, ADD, GOLD):
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

    async def on_search_bar_cancelled(self, event: SearchBar.Cancelled) -> None:
        self.mode = ADD
        self.update_status()
        await self.release_keys()

    def action_cancel(self) -> None:
        if self.mode == FIND:
            self.hold_keys()
            self.search_bar.cancel()
        elif self.mode == ATTRS:
            self.hold_keys()
            self.attrs_form.cancel()
        elif self.mode == GOLD:
            s = self.session
            if s.walk is not None and s.walk.pending:
                s.cancel_correct()
                self.say("correction dropped (nothing written)")
                self.detail.show()
                self.gold_list.repaint_current()
                self.update_status()
                return
            s.end_gold()
            self.mode = NORMAL
            self._apply(Change(reordered=True), s.cursor)
        elif self.mode == ADD:
            d = self.session.add_draft
            if self.confirm_replace:
                self.confirm_replace = False
                self.say("not replaced")
                self.detail.show()
                self.update_status()
                return
            if d is not None and d.anchor is not None:
                self._edit(self.session.add_drop_anchor)
                return
            self.session.cancel_add()
            self.mode = GOLD if self.session.walk is not None else NORMAL
            self.say("new span cancelled")
            self.detail.show()
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
            self.detail.forget_gold()
            self._message = None
            self.mode = ADD
            self.detail.show()

    def action_caret(self, d: int) -> None:
        self._edit(self.session.add_move, int(d))

    def action_caret_word(self, d: int) -> None:
        self._edit(self.session.add_word, int(d))

    def action_caret_word_end(self) -> None:
        """``e``: the caret to the end of its word (the shared new-span model's motion)."""
        self._edit(self.session.add_word_end)

    def action_caret_line_edge(self, d: int) -> None:
        """``0`` / ``$``: the caret to the start / end of its line."""
        self._edit(self.session.add_line_edge, int(d))

    def action_caret_line(self, d: int) -> None:
        """The caret one wrapped row down / up in the text shown, keeping its column."""
        s = self.session
        dr = s.add_draft
        rows = self.detail.add_lines
        if dr is None or not rows:
            return
        d = int(d)
        text = s.text(dr.doc_id)
        idx = self.detail.body.line_of_offset(dr.caret)
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

    # gold mode
    def action_gold(self) -> None:
        ok, _walk = self.attempt(self.session.begin_gold)
        if ok:
            self._message = None
            self.mode = GOLD
            self._gold_view()
            self.detail.show()
            self.update_header()
            self.update_status()

    def _gold_step(self, fn, *args) -> None:
        w = self.session.walk
        before = (w.doc_id, id(w.rows), w.index) if w is not None else None
        ok, ch = self.attempt(fn, *args)
        if ok:
            self._message = None
            if ch is not None and ch.message:
                self.say(ch.message)
            w = self.session.walk
            if before is not None and w is not None and (w.doc_id, id(w.rows)) == before[:2] and self.gold_list.display:
                self.gold_list.move(before[2], w.index)  # same rows: repaint the two cursor rows only
                self._list_header()
            else:
                self._gold_view()
            self.detail.show()
            self.update_header()
            self.update_status()

    def action_gold_move(self, d: int) -> None:
        self._gold_step(self.session.gold_move, int(d))

    def action_gold_first(self) -> None:
        self._gold_step(self.session.gold_goto, 0)

    def action_gold_last(self) -> None:
        w = self.session.walk
        self._gold_step(self.session.gold_goto, len(w.rows) - 1 if w is not None else 0)

    def action_gold_doc(self, d: int) -> None:
        self._gold_step(self.session.gold_doc, int(d))

    def on_gold_list_clicked(self, event: GoldList.Clicked) -> None:
        if self.mode == GOLD:
            self._gold_step(self.session.gold_goto, event.index)

    def on_item_list_clicked(self, event: ItemList.Clicked) -> None:
        if self.mode == NORMAL:
            self._do(self.session.set_cursor, event.index)


ReviewHelp = HelpScreen  # the help screen of this app (the shared one, filled from KEYS)

__all__ = ["ReviewApp", "ReviewHelp", "KEYS", "Item", "describe_spans"]
