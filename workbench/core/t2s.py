"""Traditional to Simplified, exactly as ``opencc-python-reimplemented``'s
``OpenCC("t2s")`` converts, applied fast.

The package stays the source of the conversion data (its ``TSPhrases`` and
``TSCharacters`` dictionaries, loaded by the package itself) and of the rule;
only how the rule is applied changes. Measured in ``bench/t2s.py``: its
pure-Python matcher (``StringTree.__findMatch``) was 83% of ingest time.

The package's rule, per *segment* (the text between the separators of its
``split_chars_re``: whitespace and CJK/ASCII punctuation, left unchanged):

1. the longest ``TSPhrases`` key found anywhere in the segment (the leftmost
   of equally long ones) is replaced by its value, and the rule recurses on
   the text left of it and the text right of it;
2. text no phrase covers goes through ``TSCharacters``; all its keys are one
   character, so this is a character-by-character mapping;
3. a value listing several alternatives (``乾	干 乾``) gives the first.

Applied here: a ``str.translate`` table for step 2 (separators excluded, as
the package never converts them), and one compiled alternation of the phrase
keys that finds whether a line holds a phrase at all; only such lines (rare)
are split into segments and run through step 1 in Python. ``tests/test_t2s.py``
checks the output is identical to the package's on the corpus, on the variant
files, and on generated text dense in phrases, separators and rare characters.
A regex alternation beat a hand-written trie and needs no extra dependency:
Python's ``re`` skips every position whose character cannot start a phrase.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["T2S", "converter", "package", "t2s"]


def _first(value: str) -> str:
    return value.split(" ")[0]


class T2S:
    """A converter built once from the dictionaries an ``OpenCC("t2s")`` loaded."""

    def __init__(self, cc) -> None:
        cc.convert("")  # loads the dictionaries
        groups = cc._dict_chain_data
        # t2s.json: one group of two dictionaries, phrases then characters
        if len(groups) != 1 or len(groups[0]) != 2:
            raise ValueError("unexpected t2s dictionary layout")
        (p_max, p_min, phrases), (_c_max, _c_min, chars) = groups[0]
        if any(len(k) != 1 for k in chars):
            raise ValueError("unexpected t2s character dictionary")
        self._split = cc.split_chars_re
        sep = self._split
        # keys holding a separator can never match inside a segment: leave them out
        self._phrases = {k: _first(v) for k, v in phrases.items() if k and not sep.search(k)}
        self._max = p_max
        self._min = max(p_min, 1)
        self._table = {ord(k): _first(v) for k, v in chars.items() if not sep.fullmatch(k)}
        # every character a dictionary key holds: text with none of them is left as it is
        self.chars = frozenset(map(chr, self._table)) | frozenset("".join(self._phrases))
        keys = sorted(self._phrases, key=lambda k: (-len(k), k))
        self._has_phrase = re.compile("|".join(map(re.escape, keys))) if keys else None

    def convert(self, text: str) -> str:
        """``OpenCC("t2s").convert(text)``, identical output."""
        if self._has_phrase is None or self._has_phrase.search(text) is None:
            return text.translate(self._table)
        parts = self._split.split(text)
        out = []
        for i, part in enumerate(parts):
            if i % 2:
                out.append(part)  # a separator: never converted
            elif self._has_phrase.search(part) is None:
                out.append(part.translate(self._table))
            else:
                self._segment(part, out)
        return "".join(out)

    def _segment(self, s: str, out: list[str]) -> None:
        """Step 1 of the rule on one segment, appending the converted pieces to ``out``."""
        n = len(s)
        size = min(n, self._max)
        while size >= self._min:
            for i in range(n - size + 1):
                value = self._phrases.get(s[i : i + size])
                if value is not None:
                    if i:
                        self._segment(s[:i], out)
                    out.append(value)
                    if i + size < n:
                        self._segment(s[i + size :], out)
                    return
            size -= 1
        out.append(s.translate(self._table))


@lru_cache(maxsize=1)
def package():
    """The package's own ``OpenCC("t2s")``: the conversion data (and ``bench/t2s.py``'s baseline)."""
    from opencc import OpenCC  # opencc-python-reimplemented

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def converter() -> T2S:
    """The process's one fast converter, built from :func:`package`'s dictionaries."""
    return T2S(package())


def t2s(text: str) -> str:
    """Convert ``text`` from Traditional to Simplified Chinese."""
    return converter().convert(text)
