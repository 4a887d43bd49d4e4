"""Annotator and reviewer names: one check for every place a name enters.

A name is written into the decision and review logs, shown in tables, headers and
messages, and compared for equality (``alice`` and ``alice `` would be two annotators).
:func:`clean_name` strips surrounding whitespace and refuses what cannot be a name: empty,
longer than :data:`MAX_NAME_LENGTH` characters, or holding a character that is not drawn
(controls, line breaks, bidi overrides and other format characters such as zero-width
spaces, which make two different names look the same).
"""

from __future__ import annotations

from .visible import first_hidden, visible

MAX_NAME_LENGTH = 64


def clean_name(name: str, *, what: str = "name") -> str:
    """``name`` stripped; ValueError (saying why, the name shown safely) if it is no name."""
    if not isinstance(name, str):
        raise ValueError(f"{what} must be text, not {type(name).__name__}")
    s = name.strip()
    if not s:
        raise ValueError(f"{what} is empty")
    if len(s) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is too long ({len(s)} characters; at most {MAX_NAME_LENGTH})")
    bad = first_hidden(s)
    if bad is not None:
        raise ValueError(
            f'{what} "{visible(s)}" contains U+{ord(bad):04X} (control, line break, bidi or invisible '
            "characters are not allowed in a name)"
        )
    return s
