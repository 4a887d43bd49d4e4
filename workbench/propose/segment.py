"""jieba, privately: one ``jieba.Tokenizer`` per process, initialised once, quiet.

Two segmentations are used:

* ``word_starts(text)``: jieba's default cut (dictionary + HMM for unknown
  words) — the word boundaries stored for the TUI's ``w``/``b`` moves;
* ``tokens(text)``: the dictionary-only cut, tagged with jieba.posseg's
  dictionary tags (``POSTokenizer.word_tag_tab``). Unknown words stay split
  into single characters, which is what the name rules want: a run of
  unknown single characters before 镇 or after 部长 is a name candidate.
  (posseg's own HMM tagger runs at ~50k chars/s and tags words like 高水平
  as person names; the rules here decide names from context instead.)

Only this module imports jieba; nothing under ``workbench.tui`` imports it.
"""

from __future__ import annotations

import logging
import threading
from typing import NamedTuple

_lock = threading.Lock()
_state: dict = {}


class Token(NamedTuple):
    start: int
    end: int
    word: str
    tag: str  # posseg dictionary tag, "" for characters/words not in the dictionary
    freq: int  # dictionary frequency (0 if unknown)


def _init():
    st = _state
    if "tk" in st:
        return st
    with _lock:
        if "tk" in st:
            return st
        import jieba
        import jieba.posseg as pseg

        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        tk.initialize()
        pt = pseg.POSTokenizer(tk)
        st["tags"] = pt.word_tag_tab
        st["freq"] = tk.FREQ
        st["tk"] = tk
    return st


def freq(word: str) -> int:
    return _init()["freq"].get(word, 0) or 0


def tag(word: str) -> str:
    return _init()["tags"].get(word, "")


def in_dict(word: str) -> bool:
    return bool(_init()["freq"].get(word))


def word_starts(text: str) -> list[int]:
    """Start offsets of jieba's words (default cut, HMM on), whitespace skipped."""
    tk = _init()["tk"]
    out = []
    pos = 0
    for w in tk.cut(text, HMM=True):
        if not w.isspace():
            out.append(pos)
        pos += len(w)
    return out


def tokens(text: str) -> list[Token]:
    """Dictionary-only tokens with posseg dictionary tags and frequencies."""
    st = _init()
    tk, tags, fq = st["tk"], st["tags"], st["freq"]
    out = []
    pos = 0
    for w in tk.cut(text, HMM=False):
        n = len(w)
        out.append(Token(pos, pos + n, w, tags.get(w, ""), fq.get(w, 0) or 0))
        pos += n
    return out
