"""Text from documents, ids and names made safe to draw on a terminal.

A scraped report may hold terminal control sequences (``ESC [6n`` makes the terminal answer
on stdin, which a TUI reads as keys; OSC 52 writes the clipboard; ``ESC [2J`` wipes the
screen) or bidi overrides that make a span read as something else. Everything shown to a
person goes through :func:`visible`: each C0/C1 control, DEL, and each bidi
embedding/override/isolate/mark becomes one visible one-cell placeholder, **one character for
one character**, so every offset into the shown text is still an offset into the stored text
(which stays exact).

Placeholders: the Unicode control pictures for C0 (``␛`` for ESC, ``␊`` for a line feed,
``␉`` for a tab …) and DEL (``␡``); ``␦`` for C1 controls, bidi controls and the line and
paragraph separators (U+2028/U+2029). All of them are one terminal cell wide.
"""

from __future__ import annotations

import re
import unicodedata

SUBSTITUTE = "\u2426"  # ␦

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SEPARATORS = "\u2028\u2029"

_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20)}
_TABLE[0x7F] = "\u2421"  # ␡
_TABLE.update(dict.fromkeys(range(128, 160), SUBSTITUTE))
_TABLE.update({ord(c): SUBSTITUTE for c in BIDI + SEPARATORS})

# the same set, for a fast "is anything to replace here" test
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f" + BIDI + SEPARATORS + "]")
# the same, but line feeds allowed (multi-line text drawn line by line)
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + BIDI + SEPARATORS + "]")
_TABLE_KEEP_NEWLINE = {k: v for k, v in _TABLE.items() if k != 0x0A}


def visible(s: str, *, keep_newlines: bool = False) -> str:
    """``s`` with every control and bidi character replaced by a one-cell placeholder
    (same length). ``keep_newlines`` leaves ``\\n`` alone, for text laid out line by line."""
    if keep_newlines:
        if _UNSAFE_BUT_NEWLINE.search(s) is None:
            return s
        return s.translate(_TABLE_KEEP_NEWLINE)
    if _UNSAFE.search(s) is None:
        return s
    return s.translate(_TABLE)


def is_visible(s: str) -> bool:
    """True when :func:`visible` would change nothing."""
    return _UNSAFE.search(s) is None


def first_hidden(s: str) -> str | None:
    """The first character of ``s`` that would make text read as something else on a terminal
    (a control, line break, bidi mark, invisible format, private or unassigned code point), or
    None: names and notes refuse such text (:func:`workbench.core.names.clean_name`,
    :func:`workbench.core.flags.clean_note`)."""
    return next(
        (c for c in s if not is_visible(c) or unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
        None,
    )
