"""The review screen's key table, key bar and help rules (data; the app is in :mod:`.review_app`)."""

from __future__ import annotations

from ..core.labels import LABELS
from .keys import Key, KeybarEntry

NORMAL, EDIT, ATTRS, ADD, FIND, GOLD = "normal", "edit", "attrs", "add", "find", "gold"


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
            f"take version {i}" + (f" · edit/add/gold: label {LABELS[i - 1]}" if i <= len(LABELS) else ""),
            (NORMAL, EDIT, ADD, GOLD),
            "Decide",
        )
        for i in range(1, 10)
    ],
    _k(
        "pick",
        "enter",
        "enter",
        "take the highlighted version · edit/add/gold: save",
        (NORMAL, EDIT, ADD, GOLD),
        "Decide",
    ),
    _k("reject", "x", "reject", "reject all versions (no gold span here)", (NORMAL,), "Decide"),
    _k("skip", "space", "skip", "skip (stays unsettled)", (NORMAL,), "Decide"),
    _k(
        "undo",
        "u,backspace",
        "undo",
        "undo your latest action (any depth, earlier sessions too)",
        (NORMAL, GOLD),
        "Decide",
    ),
    _k("edit", "e", "edit", "edit the highlighted version", (NORMAL,), "Edit"),
    _k("edit.start_left", "left_square_bracket", "bound('start',-1)", "start ←", (EDIT, GOLD), "Edit"),
    _k("edit.start_right", "right_square_bracket", "bound('start',1)", "start →", (EDIT, GOLD), "Edit"),
    _k("edit.end_left", "left_curly_bracket", "bound('end',-1)", "end ←", (EDIT, GOLD), "Edit"),
    _k("edit.end_right", "right_curly_bracket", "bound('end',1)", "end →", (EDIT, GOLD), "Edit"),
    _k("edit.next_span", "tab,l,right", "draft_select(1)", "next span of the draft", (EDIT,), "Edit"),
    _k("edit.prev_span", "shift+tab,h,left", "draft_select(-1)", "previous span of the draft", (EDIT,), "Edit"),
    _k(
        "edit.drop",
        "d",
        "draft_drop",
        "drop the span from the draft · gold: remove it (again: keep)",
        (EDIT, GOLD),
        "Edit",
    ),
    _k("edit.attrs", "a", "attrs", "QUANTITY attrs (value unit approx)", (EDIT, ADD, GOLD), "Edit"),
    _k("edit.base", "c", "base", "start over from the next version", (EDIT,), "Edit"),
    _k(
        "add",
        "n",
        "new_span",
        "add a span no annotator made: select it in the text · gold: a span replacing gold",
        (NORMAL, GOLD),
        "Add",
    ),
    _k("add.left", "h,left", "caret(-1)", "caret ←", (ADD,), "Add"),
    _k("add.right", "l,right", "caret(1)", "caret →", (ADD,), "Add"),
    _k("add.word_next", "w", "caret_word(1)", "caret to the next word", (ADD,), "Add"),
    _k("add.word_prev", "b", "caret_word(-1)", "caret to the previous word", (ADD,), "Add"),
    _k("add.word_end", "e", "caret_word_end", "caret to the end of the word (there: of the next)", (ADD,), "Add"),
    _k("add.line_start", "0,home", "caret_line_edge(-1)", "caret to the line start", (ADD,), "Add"),
    _k("add.line_end", "dollar_sign,end", "caret_line_edge(1)", "caret to the line end", (ADD,), "Add"),
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
    _k("gold", "o", "gold", "walk the gold of this document (correct any span of it)", (NORMAL,), "Gold"),
    _k("gold.next", "j,down", "gold_move(1)", "next gold span", (GOLD,), "Gold"),
    _k("gold.prev", "k,up", "gold_move(-1)", "previous gold span", (GOLD,), "Gold"),
    _k("gold.first", "g,home", "gold_first", "first gold span", (GOLD,), "Gold"),
    _k("gold.last", "G,end", "gold_last", "last gold span", (GOLD,), "Gold"),
    _k("gold.next_doc", "tab", "gold_doc(1)", "next document with gold", (GOLD,), "Gold"),
    _k("gold.prev_doc", "shift+tab", "gold_doc(-1)", "previous document with gold", (GOLD,), "Gold"),
    _k(
        "cancel",
        "escape",
        "cancel",
        "cancel the edit / new span (drops the anchor first) / correction / leave the gold",
        (EDIT, ATTRS, ADD, FIND, GOLD),
        "General",
    ),
    _k("help", "question_mark", "help", "help", (NORMAL, EDIT, ADD, GOLD), "General"),
    _k("quit", "q", "quit", "quit", (NORMAL, GOLD), "General"),
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
        E(("gold",), "gold"),
        E(("undo",), "undo"),
        E(("help",), "help"),
        E(("quit",), "quit"),
    ],
    GOLD: [
        E(("gold.next", "gold.prev"), "span"),
        E(("digit.1", "digit.7"), "label"),
        E(("edit.start_left", "edit.start_right"), "start", " "),
        E(("edit.end_left", "edit.end_right"), "end", " "),
        E(("edit.attrs",), "attrs"),
        E(("edit.drop",), "remove"),
        E(("add",), "replace"),
        E(("pick",), "save"),
        E(("undo",), "undo"),
        E(("gold.next_doc",), "document"),
        E(("cancel",), "back"),
        E(("help",), "help"),
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
        E(("add.word_next", "add.word_prev", "add.word_end"), "word"),
        E(("add.line_down", "add.line_up"), "line"),
        E(("add.line_start", "add.line_end"), "line edge"),
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

# key bar entries dropped first when the screen is narrow (indices into KEYBAR[mode])
# (the list's: the palette, highlight, enter take, gold, skip, undo: "? help" and "q quit" stay at 80 columns;
# the add mode's: the palette, line edge, document, line, find, attrs, char: "? help" stays)
KEYBAR_DROP: dict[str, list[int]] = {NORMAL: [12, 2, 3, 8, 6, 9], GOLD: [8, 9, 4, 11, 1], ADD: [12, 3, 8, 2, 5, 7, 0]}

HELP_RULES = """\
Every action is written to the database (review log + gold, one transaction) when its key is pressed.
A disagreement groups the overlapping spans of all annotators; a version is one annotator's spans
there (maybe none). Versions are shown over the same text window, most supported first.
1-9 take a version as gold (a version without span = nothing in gold), x rejects all.
e edits a copy of the highlighted version: here digits 1-7 set the label, [ ] { } move start / end,
  tab moves between the draft's spans, d drops one, a sets QUANTITY attrs, c restarts from the
  next version; enter saves it as an adjudicated span (or as the version it now equals).
n adds a span no annotator made: h/l (w/b word start, e word end, 0/$ line start/end, j/k) move the
  caret, v sets an anchor (the selection is
  anchor..caret, without anchor the word under the caret), 1-7 the label, a QUANTITY attrs, tab the
  next document, enter saves it to gold (origin "added"). It may not overlap gold or an unsettled item.
space skips (logged, stays unsettled); u undoes your own latest action, any depth, also one made in an
  earlier session (never the automatic gold, never another reviewer's action).
o walks the gold of the document (any origin: agreed, single-annotator, adjudicated, added, corrected):
  j/k the span, tab the next document with gold; 1-7 relabel, [ ] { } move start / end, a QUANTITY
  attrs, d marks it for removal; enter saves the correction (origin "corrected", by you, undone by u),
  esc drops it (again: back to the list). n selects a new span starting from the gold span: over gold,
  enter asks, enter again replaces the gold it overlaps. Corrected automatic spans stay corrected
  when review starts again (workbench review --all walks every document with gold).
Spans all annotators agree on (or a majority, with --policy majority) are gold without review.
Running review again lists only what is still unsettled.
List: kind M = a span only some annotators have, B = boundaries, L = labels, A = QUANTITY attrs differ,
  + = added by the reviewer;  · open  ✓ taken  ✎ edited  ✗ rejected  ↷ skipped  + added."""
