"""Wrapping normalized text into screen lines by cell width, with Chinese line-breaking rules.

Pure functions (no Textual): a line is a ``(start, end)`` range of code points
into the text, never containing ``\\n``. CJK characters take two cells.

Line-breaking (kinsoku) rules: a line should not start with closing
punctuation (``，。、；：”）》？！…`` and friends) nor end with an opening one
(``“（《``). When a break would do that, the break moves back by up to
``MAX_PULL`` characters (the previous characters are pulled down to the next
line). If that is impossible (a line made only of such characters) the line is
broken by width alone.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from rich.cells import get_character_cell_size

NO_START = set("，。、；：？！…‥”’）》〉」』】〕〗｝］,.;:?!)]}%‰·—～〜ー々〻ゝゞヽヾ")
NO_END = set("“‘（《〈「『【〔〖｛［([{")
MAX_PULL = 3


@lru_cache(maxsize=65536)
def cell_width(ch: str) -> int:
    if ch == "\t":
        return 4
    w = get_character_cell_size(ch)
    return w if w >= 0 else 0


def wrap(text: str, width: int) -> list[tuple[int, int]]:
    """Wrap ``text`` into lines of at most ``width`` cells."""
    width = max(2, width)
    lines: list[tuple[int, int]] = []
    append = lines.append
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        if nl < 0:
            nl = n
        _wrap_paragraph(text, pos, nl, width, append)
        pos = nl + 1
    return lines


def _wrap_paragraph(text: str, start: int, end: int, width: int, append) -> None:
    if start == end:
        append((start, start))
        return
    # fast path: ASCII-free paragraph that fits
    line_start = start
    used = 0
    i = start
    cw = cell_width
    while i < end:
        w = cw(text[i])
        if used + w > width and i > line_start:
            brk = _adjust_break(text, line_start, i)
            append((line_start, brk))
            line_start = brk
            # recompute the width of the carried-over characters
            used = 0
            for j in range(brk, i):
                used += cw(text[j])
            continue
        used += w
        i += 1
    append((line_start, end))


def _adjust_break(text: str, line_start: int, brk: int) -> int:
    """Move a break at ``brk`` back so the next line does not start with closing
    punctuation and this one does not end with opening punctuation."""
    b = brk
    for _ in range(MAX_PULL + 1):
        if b <= line_start + 1:
            return brk
        if text[b] in NO_START or text[b - 1] in NO_END:
            b -= 1
            continue
        return b
    return brk


def line_of(starts: list[int], offset: int) -> int:
    """Index of the line containing ``offset`` given the lines' start offsets."""
    return max(0, bisect_right(starts, offset) - 1)


def text_width(text: str) -> int:
    return sum(cell_width(c) for c in text)
