"""The help screen (``?``): every key, as currently mapped, and the rules."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .safe import SafeText
from .styles import STYLE_CLASSES, Styled

KEY_NAMES = {
    "dollar_sign": "$",
    "exclamation_mark": "!",
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


class HelpScreen(Styled, ModalScreen):
    """Every key of the app (its ``KEY_TABLE``, as currently mapped), grouped, with
    its binding id; then the app's rules and how to close the help."""

    COMPONENT_CLASSES = STYLE_CLASSES

    AUTO_FOCUS = "VerticalScroll"
    BINDINGS = [
        Binding("escape,q,question_mark", "close_help", "close help", id="help.close"),
    ]

    def __init__(self, app) -> None:
        super().__init__()
        self._main = app

    def fill(self, table: Table) -> None:
        app = self._main
        keys = [k for k in app.KEY_TABLE if k.id not in app.HELP_HIDE]
        groups = list(dict.fromkeys(k.group for k in keys))
        group = None
        for k in sorted(keys, key=lambda k: groups.index(k.group)):
            if k.group != group:
                group = k.group
                table.add_row(SafeText(group, style=self.st("group")), "", "")
            where = "" if k.modes == ("normal",) else f"  [{'/'.join(app.MODE_NAMES.get(m, m) for m in k.modes)}]"
            for shown, desc in app.HELP_ROWS.get(k.id, [(app.keys_for(k.id), k.description + where)]):
                table.add_row(SafeText(shown), SafeText(desc), k.id)  # Text: "[span]" is not markup
        table.add_row(SafeText("General", style=self.st("group")), "", "")
        table.add_row("ctrl+p", "command palette (every action)", "")

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
        table.add_column("keys", style=self.st("helpkey"), no_wrap=True)
        table.add_column("action")
        table.add_column("binding id", style=self.st("faint"), no_wrap=True)
        self.fill(table)
        with VerticalScroll():
            yield Static(SafeText(self._main.HELP_TITLE, style="bold"))
            yield Static(table)
            for section in self._main.help_sections(self.st):
                yield Static(section)
            yield Static(SafeText("\n" + self._main.HELP_RULES, style=self.st("text")))
            yield Static(SafeText("\nesc / q / ? closes this help", style=self.st("faint")))

    def action_close_help(self) -> None:
        self.app.pop_screen()
