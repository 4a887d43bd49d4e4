"""The key table type of both apps: one row per binding, with its id (what a user
keymap remaps, as in Posting), keys, action, description, modes and help group."""

from __future__ import annotations

from typing import NamedTuple

from textual.binding import Binding, BindingType

from .help import key_label


class Key(NamedTuple):
    id: str
    keys: str  # "j,down"
    action: str  # "move(1)"
    description: str
    show: bool = False  # in Textual's footer (neither app shows one; kept for the palette/help)
    modes: tuple[str, ...] = ("normal",)
    group: str = "General"

    @property
    def action_name(self) -> str:
        return self.action.split("(")[0]


# A key bar entry: the binding ids whose keys it shows, its text, and how keys are joined.
class KeybarEntry(NamedTuple):
    ids: tuple[str, ...]
    description: str
    sep: str = "/"


def bindings(table: list[Key]) -> list[BindingType]:
    """Every binding is a priority binding. Textual handles priority bindings as the key
    reaches the app, and the others only after the key has gone through the screen's
    queue: with a mix, a burst "a x tab" (typed ahead, pasted, or arriving at once over
    a slow SSH link) ran tab first and put a and x on the next document. With all of
    them priority, keys act in the order they came. Keys meant for an input (search,
    attrs) still reach it: ``check_action`` refuses every action outside its modes."""
    return [
        Binding(
            k.keys,
            k.action,
            k.description,
            show=k.show,
            id=k.id,
            priority=True,
            key_display=key_label(k.keys.split(",")[0]),
        )
        for k in table
    ]


def action_modes(table: list[Key]) -> dict[str, tuple[str, ...]]:
    """Action name -> the modes any of its bindings is active in."""
    out: dict[str, tuple[str, ...]] = {}
    for k in table:
        out[k.action_name] = tuple(dict.fromkeys((*out.get(k.action_name, ()), *k.modes)))
    return out
