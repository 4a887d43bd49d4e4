"""The add-a-missed-span mode, one model for annotate ``n`` and review ``n``.

A caret (one character) and an optional anchor select a span of the text: anchor..caret
inclusive, or, without an anchor, the word under the caret (the stored propose-time word
starts, else runs of one character class). Motions land where a person expects:

* ``left`` / ``right``: one character (never resting on a line break);
* ``word_next`` (w) / ``word_prev`` (b): the next / previous word start; ``word_end`` (e): the
  last character of this word, or of the next one when the caret is already there;
* ``line_start`` (0) / ``line_end`` ($): the first / last character of the line;
* ``line`` (j / k): the same column one line down / up (display lines when the screen gives
  them, else the text's own lines);
* ``find``: the next / previous occurrence of a text; the match becomes the selection;
* ``select``: a given range becomes the selection (the current proposal's bounds, to grow it).

The commit (a label key) belongs to the session that owns the decisions; this model only says
what is selected. Pure: no jieba (word starts are precomputed), no Textual, no SQL.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from ..core.motions import next_word, prev_word, word_at


class SpanMode:
    """Caret, anchor and selection over one document's text."""

    def __init__(self, text: str, words: Sequence[int] | None = None, caret: int = 0, anchor: int | None = None):
        self.text = text
        self.words = words
        self.caret = self._clamp(caret)
        self.anchor: int | None = None if anchor is None else self._clamp(anchor)

    # ------------------------------------------------------------------ state
    @property
    def last(self) -> int:
        return max(0, len(self.text) - 1)

    def _clamp(self, pos: int) -> int:
        return max(0, min(int(pos), max(0, len(self.text) - 1)))

    def selection(self) -> tuple[int, int]:
        """The selected range (start, end): anchor..caret inclusive, or the word under the caret."""
        if self.anchor is None:
            return word_at(self.text, self.words, self.caret)
        a, b = sorted((self.anchor, self.caret))
        return a, b + 1

    def selected_text(self) -> str:
        a, b = self.selection()
        return self.text[a:b]

    # ------------------------------------------------------------------ anchor
    def toggle_anchor(self) -> bool:
        """Set the anchor at the caret; with one set, drop it (back to the word at the caret).
        True if it is set."""
        self.anchor = self.caret if self.anchor is None else None
        return self.anchor is not None

    def drop_anchor(self) -> None:
        self.anchor = None

    def select(self, start: int, end: int) -> None:
        """Make ``start..end`` the selection (anchor on its first character, caret on its last)."""
        start, end = sorted((int(start), int(end)))
        self.anchor = self._clamp(start)
        self.caret = self._clamp(max(start, end - 1))

    # ------------------------------------------------------------------ motions
    def set_caret(self, pos: int) -> int:
        self.caret = self._clamp(pos)
        return self.caret

    def move(self, delta: int) -> int:
        """``delta`` characters; the caret does not rest on a line break."""
        text, last = self.text, self.last
        pos = self._clamp(self.caret + int(delta))
        step = 1 if delta > 0 else -1
        while delta and text[pos : pos + 1] == "\n" and 0 < pos < last:
            pos += step
        self.caret = pos
        return pos

    def word_next(self) -> int:
        self.caret = next_word(self.text, self.words, self.caret)
        return self.caret

    def word_prev(self) -> int:
        self.caret = prev_word(self.text, self.words, self.caret)
        return self.caret

    def word_end(self) -> int:
        """The last character of the word under the caret; already there: of the next word."""
        text = self.text
        if not text:
            return 0
        s, e = word_at(text, self.words, self.caret)
        end = e - 1
        if end <= self.caret:
            p = next_word(text, self.words, self.caret)
            if p <= self.caret:
                return self.caret
            s, e = word_at(text, self.words, p)
            end = e - 1
        while end > s and text[end].isspace():
            end -= 1
        self.caret = self._clamp(end)
        return self.caret

    def _line_bounds(self, pos: int) -> tuple[int, int]:
        text = self.text
        a = text.rfind("\n", 0, pos) + 1
        b = text.find("\n", pos)
        return a, (len(text) if b < 0 else b)

    def line_start(self) -> int:
        a, _ = self._line_bounds(self.caret)
        self.caret = self._clamp(a)
        return self.caret

    def line_end(self) -> int:
        a, b = self._line_bounds(self.caret)
        self.caret = self._clamp(max(a, b - 1))
        return self.caret

    def line(self, delta: int, lines: Sequence[tuple[int, int]] | None = None) -> int:
        """The same column ``delta`` lines down (up): ``lines`` are (start, end) of the lines as
        drawn (a wrapped paragraph is several); without them, the text's own lines."""
        if lines is None:
            lines = self.text_lines()
        if not lines:
            return self.caret
        starts = [a for a, _ in lines]
        i = max(0, bisect.bisect_right(starts, self.caret) - 1)
        col = self.caret - lines[i][0]
        j = max(0, min(len(lines) - 1, i + int(delta)))
        while j != i and lines[j][1] <= lines[j][0] and 0 < j < len(lines) - 1:  # skip empty lines
            j += 1 if delta > 0 else -1
        a, b = lines[j]
        end = b - 1 if b > a and self.text[b - 1 : b] == "\n" else b
        self.caret = self._clamp(min(a + col, max(a, end - 1)))
        return self.caret

    def text_lines(self) -> list[tuple[int, int]]:
        out, a = [], 0
        for part in self.text.split("\n"):
            out.append((a, a + len(part)))
            a += len(part) + 1
        return out

    def find(self, query: str, backwards: bool = False, *, origin: int | None = None) -> tuple[int, int] | None:
        """Select the next (previous) occurrence of ``query`` from ``origin`` (default: after the
        caret; backwards: before it), wrapping around; None (nothing changes) when absent."""
        if not query or "\n" in query:
            return None
        text = self.text
        if backwards:
            o = self.caret if origin is None else origin
            i = text.rfind(query, 0, max(0, o))
            if i < 0:
                i = text.rfind(query)
        else:
            o = self.caret + 1 if origin is None else origin
            i = text.find(query, o)
            if i < 0:
                i = text.find(query)
        if i < 0:
            return None
        self.select(i, i + len(query))
        return i, i + len(query)
