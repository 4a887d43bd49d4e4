"""Word motions for the new-span caret, shared by annotate and review: word starts from the
propose-time segmentation when a document has them, else runs of one character class.

Pure: no jieba (segmentation is precomputed), no Textual, no SQL.
"""

from __future__ import annotations

import bisect
import unicodedata


def char_class(ch: str) -> int:
    """0 space, 1 CJK/ideograph, 2 ASCII/latin word char, 3 digit-ish, 4 punctuation/other."""
    if ch.isspace():
        return 0
    o = ord(ch)
    if 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF:
        return 1
    if ch.isdigit() or ch in ".%":
        return 3
    if ch.isalpha() or ch == "_":
        return 2
    cat = unicodedata.category(ch)
    if cat.startswith("L"):
        return 1
    return 4


def _runs_start(text: str, pos: int) -> bool:
    if pos <= 0 or pos >= len(text):
        return True
    a, b = char_class(text[pos - 1]), char_class(text[pos])
    return a != b or b == 4


def next_word(text: str, words, pos: int) -> int:
    """The next word start after ``pos`` (``len(text) - 1`` at most)."""
    last = max(0, len(text) - 1)
    if pos >= last:
        return last
    if words is not None and len(words):
        i = bisect.bisect_right(words, pos)
        while i < len(words) and words[i] <= last:
            if not text[words[i]].isspace():
                return words[i]
            i += 1
        return last
    p = pos + 1
    while p < last and not (_runs_start(text, p) and not text[p].isspace()):
        p += 1
    return p


def prev_word(text: str, words, pos: int) -> int:
    """The previous word start before ``pos`` (0 at least)."""
    if pos <= 0:
        return 0
    if words is not None and len(words):
        i = bisect.bisect_left(words, pos) - 1
        while i >= 0:
            if words[i] < len(text) and not text[words[i]].isspace():
                return words[i]
            i -= 1
        return 0
    p = pos - 1
    while p > 0 and not (_runs_start(text, p) and not text[p].isspace()):
        p -= 1
    return p


def word_at(text: str, words, pos: int) -> tuple[int, int]:
    """The word containing ``pos`` as (start, end)."""
    n = len(text)
    if n == 0:
        return (0, 0)
    pos = max(0, min(pos, n - 1))
    if words is not None and len(words):
        i = bisect.bisect_right(words, pos) - 1
        s = words[i] if i >= 0 else 0
        e = words[i + 1] if i + 1 < len(words) else n
        return (s, max(e, s + 1))
    s = pos
    while s > 0 and not _runs_start(text, s):
        s -= 1
    e = pos + 1
    while e < n and not _runs_start(text, e):
        e += 1
    return (s, e)
