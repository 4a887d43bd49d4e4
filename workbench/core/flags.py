"""Unsure flags: an annotator marks one of their items, or the whole document, as unsure, with
a short note (Prodigy's "ignore" with a comment). Pure functions over plain dicts: the rows
of the append-only ``flags`` log (``workbench.store.flags``) in, the current flags out.

The log works like the decision log: ``set`` writes a flag (again: a new note replaces the
old one), ``clear`` takes it away, ``undo`` cancels one earlier ``set`` or ``clear`` of the
same annotator (its ``ref_id``). A flag names its target by the item key (``p<proposal id>``
or ``d<add decision id>``, :func:`workbench.core.spans.derive_items`), so it follows the span
through bound moves, relabelling and undo of those; ``item_key`` NULL flags the document.
The span's bounds and label when it was flagged are kept in the row too (shown when the
item is gone, matched on import).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from .spans import undone_ids
from .visible import first_hidden, visible

NOTE_MAX = 200  # characters of a note
_SPACES = re.compile("[ \t\r\n]+")


def clean_note(note: object) -> str:
    """``note`` as stored: line breaks and tabs become spaces, runs of spaces one, the ends
    stripped. ValueError (saying why, the text shown safely) if it is not text, longer than
    :data:`NOTE_MAX` characters, or holds another control, bidi or invisible format character
    (those would make the note read as something else on a terminal)."""
    if note is None:
        return ""
    if not isinstance(note, str):
        raise ValueError(f"a note must be text, not {type(note).__name__}")
    s = _SPACES.sub(" ", note).strip(" ")
    if len(s) > NOTE_MAX:
        raise ValueError(f"the note is too long ({len(s)} characters; at most {NOTE_MAX})")
    bad = first_hidden(s)
    if bad is not None:
        raise ValueError(
            f'the note "{visible(s)[:40]}" contains U+{ord(bad):04X} (control, bidi or invisible characters '
            "are not allowed in a note)"
        )
    return s


def current_flags(rows: Sequence[Mapping]) -> dict[str | None, dict]:
    """The flags in force after ``rows`` (one annotator's log for one document, in id order):
    ``{item_key or None: {"key", "id", "note", "ts", "start", "end", "label", "origin"}}``."""
    undone = undone_ids(rows)  # flags are undone like decisions
    out: dict[str | None, dict] = {}
    for r in rows:
        if r["action"] == "undo" or r["id"] in undone:
            continue
        key = r["item_key"]
        if r["action"] == "set":
            out[key] = {
                "key": key,
                "id": r["id"],
                "note": r["note"] or "",
                "ts": r["ts"],
                "start": r["start"],
                "end": r["end"],
                "label": r["label"],
                "origin": r.get("origin"),
            }
        elif r["action"] == "clear":
            out.pop(key, None)
    return out


def _targets(flags: Mapping[str | None, dict], items: Iterable[Mapping]) -> dict[str, str]:
    """``{flag key: item key}``: the item each span flag shows on (its own, or for a proposal
    the list now shows under another proposal of the same span and label, that one)."""
    keys = {it["key"] for it in items}
    by_span = {(it["start"], it["end"], it["label"]): it["key"] for it in items}
    out: dict[str, str] = {}
    for key, flag in flags.items():
        if key is None:
            continue
        if key in keys:
            out[key] = key
        elif key.startswith("p"):
            other = by_span.get((flag["start"], flag["end"], flag["label"]))
            if other is not None:
                out[key] = other
    return out


def attach_flags(flags: Mapping[str | None, dict], items: Iterable[Mapping]) -> tuple[dict | None, dict[str, dict]]:
    """(the document's flag or None, ``{item key: flag}``) for the items shown now. A flag
    whose item is gone (a span the annotator added and removed) is left out: it went with
    the span. A flag on a proposal the list now shows under another proposal of the same
    span and label (one item per span: the best-scored source) goes to that item, unless
    that item has a flag of its own (see :func:`flag_keys_on` for all of an item's flags)."""
    by_key: dict[str, dict] = {}
    for key, target in _targets(flags, items).items():
        if key == target or target not in flags:
            by_key[target] = flags[key]
    return flags.get(None), by_key


def flag_keys_on(flags: Mapping[str | None, dict], items: Iterable[Mapping], item_key: str) -> list[str]:
    """Every flag key in ``flags`` that shows on the item ``item_key`` (its own and those of
    proposals it stands for), in flag order: what clearing the item's flag must clear, or
    the flag it shows would come back from under another key."""
    return sorted((k for k, t in _targets(flags, items).items() if t == item_key), key=lambda k: flags[k]["id"])
