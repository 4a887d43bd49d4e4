"""The annotate screen's key table, key bar and help rules (data; the app is in :mod:`.app`)."""

from __future__ import annotations

from ..core.labels import LABELS
from .keys import Key, KeybarEntry

NORMAL, SPAN, SEARCH, ATTRS, CONFIRM, JUMP, NOTE = "normal", "span", "search", "attrs", "confirm", "jump", "note"

KEYS: list[Key] = [
    Key("cursor.next", "j,down", "next_item", "next", True, (NORMAL,), "Move"),
    Key("cursor.prev", "k,up", "prev_item", "prev", True, (NORMAL,), "Move"),
    Key("cursor.first", "g,home", "first_item", "first proposal", False, (NORMAL,), "Move"),
    Key("cursor.last", "G,end", "last_item", "last proposal", False, (NORMAL,), "Move"),
    Key("label_jump", "t", "label_jump(1)", "next item of a label (then its key)", True, (NORMAL,), "Move"),
    Key("label_jump.back", "T", "label_jump(-1)", "previous item of a label (then its key)", False, (NORMAL,), "Move"),
    *[
        Key(f"jump.{i}", str(i), f"jump_label({i})", f"to {lab}", False, (JUMP,), "Move")
        for i, lab in enumerate(LABELS, 1)
    ],
    Key("hide_accepted", "H", "hide_accepted", "hide / show accepted in the list", True, (NORMAL,), "Move"),
    Key("page.down", "pagedown,ctrl+d", "page_down", "scroll text down", False, (NORMAL, SPAN), "Move"),
    Key("page.up", "pageup,ctrl+u", "page_up", "scroll text up", False, (NORMAL, SPAN), "Move"),
    Key("accept", "a,enter", "accept", "accept", True, (NORMAL,), "Decide"),
    Key("reject", "x", "reject", "reject (remove if added)", True, (NORMAL,), "Decide"),
    Key("skip", "space", "skip", "skip to next pending", True, (NORMAL,), "Decide"),
    *[Key(f"label.{i}", str(i), f"label({i})", lab, False, (NORMAL, SPAN), "Label") for i, lab in enumerate(LABELS, 1)],
    Key("start.left", "left_square_bracket", "move_start(-1)", "start ←", False, (NORMAL,), "Boundaries"),
    Key("start.right", "right_square_bracket", "move_start(1)", "start →", False, (NORMAL,), "Boundaries"),
    Key("end.left", "left_curly_bracket", "move_end(-1)", "end ←", False, (NORMAL,), "Boundaries"),
    Key("end.right", "right_curly_bracket", "move_end(1)", "end →", False, (NORMAL,), "Boundaries"),
    Key("attrs", "e", "edit_attrs", "attrs", True, (NORMAL,), "Decide"),
    Key(
        "flag",
        "exclamation_mark",
        "flag_span",
        "flag unsure with a note (flagged: edit / clear)",
        True,
        (NORMAL,),
        "Flags",
    ),
    Key(
        "flag.document",
        "F",
        "flag_document",
        "flag the document unsure (flagged: edit / clear)",
        True,
        (NORMAL,),
        "Flags",
    ),
    Key("note.clear", "ctrl+r", "clear_flag", "clear the flag", True, (NOTE,), "Flags"),
    Key("new_span", "n", "new_span", "new span", True, (NORMAL,), "New span"),
    Key("add_search", "s", "add_search", "add a span by search (type, enter, label key)", True, (NORMAL,), "New span"),
    Key("span.left", "h,left", "caret(-1)", "caret ←", True, (SPAN,), "New span"),
    Key("span.right", "l,right", "caret(1)", "caret →", True, (SPAN,), "New span"),
    Key("span.word_next", "w", "caret_word(1)", "next word start", True, (SPAN,), "New span"),
    Key("span.word_prev", "b", "caret_word(-1)", "previous word start", True, (SPAN,), "New span"),
    Key("span.word_end", "e", "caret_word_end", "end of the word", True, (SPAN,), "New span"),
    Key("span.line_start", "0,home", "caret_line_edge(-1)", "line start", False, (SPAN,), "New span"),
    Key("span.line_end", "dollar_sign,end", "caret_line_edge(1)", "line end", False, (SPAN,), "New span"),
    Key("span.line_down", "j,down", "caret_line(1)", "line down", True, (SPAN,), "New span"),
    Key("span.line_up", "k,up", "caret_line(-1)", "line up", True, (SPAN,), "New span"),
    Key("span.anchor", "v", "anchor", "anchor (again: drop it)", True, (SPAN,), "New span"),
    Key(
        "span.proposal",
        "p",
        "select_proposal",
        "select the current proposal's range (to grow it)",
        False,
        (SPAN,),
        "New span",
    ),
    *[
        Key(f"span.idle.{k}", k, f"span_idle({k!r})", "not in new-span mode", False, (SPAN,), "New span")
        for k in (
            "a",
            "x",
            "u",
            "f",
            "A",
            "n",
            "s",
            "t",
            "H",
            "F",
            "exclamation_mark",
            "q",
            "space",
            "enter",
            "tab",
            "left_square_bracket",
            "right_square_bracket",
            "left_curly_bracket",
            "right_curly_bracket",
        )
    ],
    Key("undo", "u,backspace", "undo", "undo", True, (NORMAL,), "Decide"),
    Key("accept_all", "A", "accept_all", "accept all", True, (NORMAL,), "Decide"),
    Key("finish", "f", "finish", "finish doc", True, (NORMAL,), "Documents"),
    Key("doc.next", "tab", "next_doc", "next doc", True, (NORMAL,), "Documents"),
    Key("doc.prev", "shift+tab", "prev_doc", "prev doc", False, (NORMAL,), "Documents"),
    Key("search", "slash", "search", "search", True, (NORMAL, SPAN), "Search"),
    Key("search.next", "down", "search_step(1)", "next match", True, (SEARCH,), "Search"),
    Key("search.prev", "up", "search_step(-1)", "previous match", True, (SEARCH,), "Search"),
    Key("confirm.yes", "y,enter", "confirm(True)", "yes", True, (CONFIRM,), "Confirm"),
    Key("confirm.no", "n", "confirm(False)", "no", True, (CONFIRM,), "Confirm"),
    Key(
        "cancel",
        "escape",
        "cancel",
        "cancel / close",
        True,
        (SPAN, SEARCH, ATTRS, CONFIRM, JUMP, NOTE, NORMAL),
        "General",
    ),
    Key("help", "question_mark", "help", "help", True, (NORMAL, SPAN), "General"),
    Key("quit", "q", "quit", "quit", True, (NORMAL,), "General"),
]

# the key bar (footer) per mode: (binding ids, description). The label keys are in the
# legend beside the list; a narrow terminal gets the bar on two lines (KEYBAR_LINES).
KEYBAR: dict[str, list[KeybarEntry]] = {
    NORMAL: [
        KeybarEntry(("cursor.next", "cursor.prev"), "move"),
        KeybarEntry(("accept",), "accept"),
        KeybarEntry(("reject",), "reject"),
        KeybarEntry(("skip",), "skip"),
        KeybarEntry(("label.1", "label.7"), "label"),
        KeybarEntry(("start.left", "start.right", "end.left", "end.right"), "bounds"),
        KeybarEntry(("attrs",), "attrs"),
        KeybarEntry(("new_span",), "new span"),
        KeybarEntry(("add_search",), "add by search"),
        KeybarEntry(("undo",), "undo"),
        KeybarEntry(("accept_all",), "accept all"),
        KeybarEntry(("finish",), "finish"),
        KeybarEntry(("doc.next", "doc.prev"), "doc"),
        KeybarEntry(("search",), "search"),
        KeybarEntry(("label_jump",), "to label"),
        KeybarEntry(("hide_accepted",), "hide ✓"),
        KeybarEntry(("flag", "flag.document"), "unsure"),
        KeybarEntry(("help",), "help"),
        KeybarEntry(("quit",), "quit"),
    ],
    SPAN: [
        KeybarEntry(("span.left", "span.right"), "caret"),
        KeybarEntry(("span.word_next", "span.word_prev", "span.word_end"), "word"),
        KeybarEntry(("span.line_down", "span.line_up"), "line"),
        KeybarEntry(("span.anchor",), "anchor"),
        KeybarEntry(("label.1", "label.7"), "add span"),
        KeybarEntry(("search",), "search"),
        KeybarEntry(("cancel",), "cancel"),
        KeybarEntry(("help",), "help"),
    ],
    SEARCH: [
        KeybarEntry(("search.next", "search.prev"), "next/prev match"),
        KeybarEntry((), "enter go there"),
        KeybarEntry(("cancel",), "back where you were"),
    ],
    ATTRS: [KeybarEntry((), "tab next field"), KeybarEntry((), "enter save"), KeybarEntry(("cancel",), "cancel")],
    CONFIRM: [KeybarEntry(("confirm.yes",), "yes"), KeybarEntry(("confirm.no", "cancel"), "no")],
    JUMP: [KeybarEntry(("jump.1", "jump.7"), "label to go to"), KeybarEntry(("cancel",), "cancel")],
    NOTE: [
        KeybarEntry((), "enter save (empty is fine)"),
        KeybarEntry(("note.clear",), "clear flag"),
        KeybarEntry(("cancel",), "cancel"),
    ],
}
KEYBAR_LINES = 2

# keybar entries dropped first when the terminal is narrow (indexes into KEYBAR[mode] + palette);
# help and quit are never dropped: ? lists every key, ctrl+p runs every action
KEYBAR_DROP = {NORMAL: [19, 15, 14, 8, 3, 16, 12, 5, 10, 13, 6, 11], SPAN: [8, 2, 5]}

HELP_HIDE = (
    "label_jump.back",
    *(k.id for k in KEYS if k.id.startswith("span.idle.")),
    *(f"jump.{i}" for i in range(1, len(LABELS) + 1)),
)


HELP_RULES = """\
Every decision is written to the database the moment its key is pressed.
Spans are flat: a change that would overlap one of your spans is refused.
a on a proposal = accept · x = reject (on a span you added: remove it).
1-7 on a proposal changes its label (an edit); on a pending one with the same label, accepts it.
[ ] { } move the start / end by one character (never empty, never across a line break).
n: new span (the caret is the orange cell, the selection blue; the status shows it). Move the
   caret: h l char, w b word start, e word end, 0 $ line start/end, j k line; v anchors
   (the selection is anchor..caret; without one, the word under the caret); p selects the
   current proposal's range; a label key adds the selection. / in new-span mode opens empty,
   enter selects the match, a label key adds it. s = n then / (s text enter 1-7).
   After an add, a label key or a saved attrs form the cursor moves to the next pending one.
u undoes your last decision in this document, any number of times (persisted);
   an accept-all is undone as a whole.
f finishes the document (asks if proposals are still pending) and opens the next
   unfinished one; f on a finished document asks, then reopens it. tab / shift+tab move in
   the queue; quitting notes where you are, and the next start resumes there.
/ searches as you type (highlights and shows the match; the cursor stays): enter goes to it,
   esc goes back where you were. / then enter repeats the last search.
! flags the current item as unsure with a short note (enter saves, an empty note is fine, esc
   cancels); F flags the whole document. On a flagged one the same key edits the note, ctrl+r
   clears the flag. The list marks flagged items ⚑, the header a flagged document; reviewers
   see the flags and notes, exports carry them. The flag follows its span through edits;
   u undoes flag actions too, in the order they came with your decisions.
t then a label key: the next item of that label (T: the previous). H hides the accepted
   items from the list (the text still shows them); H again shows them.
Remap keys in ~/.config/workbench/keymap.toml (or $WORKBENCH_KEYMAP):
   [keymap]  accept = "y,enter"   (binding ids in the right column)"""
