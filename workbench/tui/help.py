"""The help screen (``?``): every key, as currently mapped, and the rules."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "left_curly_bracket": "{",
    "right_curly_bracket": "}",
    "question_mark": "?",
    "slash": "/",
    "space": "space",
    "escape": "esc",
    "enter": "enter",
    "backspace": "backspace",
    "shift+tab": "⇧tab",
    "down": "↓",
    "up": "↑",
    "left": "←",
    "right": "→",
    "pagedown": "pgdn",
    "pageup": "pgup",
}


def key_label(key: str) -> str:
    key = key.strip()
    return KEY_NAMES.get(key, key)


RULES = """\
Every decision is written to the database the moment its key is pressed.
Spans are flat: a change that would overlap one of your spans is refused.
a on a proposal = accept · x = reject (on a span you added: remove it).
1-7 on a proposal changes its label (an edit); on a pending one with the same label, accepts it.
[ ] { } move the start / end by one character (never empty, never across a line break).
n: new span. Move the caret (h l, w b by word), v anchors, a label key adds the span
   (without an anchor: the word under the caret). / inside new-span mode selects the match.
u undoes your last decision in this document, any number of times (persisted);
   an accept-all is undone as a whole.
f finishes the document (asks if proposals are still pending) and opens the next
   unfinished one; f on a finished document reopens it. tab / shift+tab move in the queue.
Remap keys in ~/.config/workbench/keymap.toml (or $WORKBENCH_KEYMAP):
   [keymap]  accept = "y,enter"   (binding ids in the right column)"""


class KeysHelp(ModalScreen):
    """A help screen: a title, a table of keys (three columns, filled by ``fill``),
    the rules, and how to close it. Subclasses give their own CSS width."""

    AUTO_FOCUS = "VerticalScroll"
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "close help", id="help.close"),
    ]
    TITLE_TEXT = ""
    RULES_TEXT = ""
    LAST_COLUMN = ""

    def fill(self, table: Table) -> None:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
        table.add_column("keys", style="bold #ffd75f", no_wrap=True)
        table.add_column("action")
        table.add_column(self.LAST_COLUMN, style="#8a8a8a", no_wrap=True)
        self.fill(table)
        with VerticalScroll():
            yield Static(Text(self.TITLE_TEXT, style="bold"))
            yield Static(table)
            yield Static(Text("\n" + self.RULES_TEXT, style="#d0d0d0"))
            yield Static(Text("\nesc / q / ? closes this help", style="#8a8a8a"))

    def action_dismiss(self) -> None:
        self.app.pop_screen()


class HelpScreen(KeysHelp):
    """Every key of the annotate screen, grouped, with its binding id."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 96%; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    TITLE_TEXT = "workbench annotate: keys"
    RULES_TEXT = RULES
    LAST_COLUMN = "binding id"

    def __init__(self, app) -> None:
        super().__init__()
        self._main = app

    def fill(self, table: Table) -> None:
        from .app import KEYS

        group = None
        groups = list(dict.fromkeys(k[6] for k in KEYS))
        for bid, _keys, _action, desc, _show, modes, grp in sorted(KEYS, key=lambda k: groups.index(k[6])):
            if grp != group:
                group = grp
                table.add_row(Text(grp, style="bold underline #87afd7"), "", "")
            where = "" if modes == ("normal",) else f"  [{'/'.join(m for m in modes)}]"
            table.add_row(self._main.keys_for(bid), desc + where, bid)
        table.add_row(Text("General", style="bold underline #87afd7"), "", "")
        table.add_row("ctrl+p", "command palette (every action)", "")
