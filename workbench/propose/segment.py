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

``cuts(text)`` gives both from one pass: jieba builds its word graph (DAG)
and best route once per block, and both walks read them (the two separate
cuts spent 40% and 32% of proposing time, each mostly on the same graph).
The walks follow ``jieba.Tokenizer.__cut_DAG`` and ``__cut_DAG_NO_HMM``
(0.42.1) exactly; ``tests/test_propose_segment.py`` checks the output equals the two
``cut`` calls on the corpus and generated text.

Only this module imports jieba; nothing under ``workbench.tui`` imports it.
"""

from __future__ import annotations

import logging
import threading
from math import log
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
        st["pos"] = pt  # built once: it reads the whole tag dictionary
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


def pos_tokenizer():
    """The process's one ``jieba.posseg.POSTokenizer`` (building one reloads the tag
    dictionary: about a second)."""
    return _init()["pos"]


def _route(blk: str, fq: dict, lp: dict, logtotal: float) -> list[tuple[float, int]]:
    """jieba's best route over ``blk``: ``Tokenizer.get_DAG`` and ``calc`` in one loop.

    The same candidates, scores (``log(freq or 1) - logtotal + route[x + 1][0]``,
    computed in that order, so the floats are identical) and ties (``max`` over
    ``(score, x)``). Measured in ``bench/propose.py``: jieba's two functions (a dict
    of lists, a generator per character, a ``log`` per edge) were most of a cut;
    ``lp`` caches ``log(freq or 1) - logtotal`` per word for the process.
    """
    n = len(blk)
    route: list = [None] * (n + 1)
    route[n] = (0, 0)
    for idx in range(n - 1, -1, -1):
        best = None
        i = idx
        frag = blk[idx]
        while i < n and frag in fq:
            if fq[frag]:
                w = lp.get(frag)
                if w is None:
                    w = lp[frag] = log(fq[frag]) - logtotal
                cand = (w + route[i + 1][0], i)
                if best is None or cand > best:
                    best = cand
            i += 1
            frag = blk[idx : i + 1]
        if best is None:
            frag = blk[idx]
            w = lp.get(frag)
            if w is None:
                w = lp[frag] = log(fq.get(frag) or 1) - logtotal
            best = (w + route[idx + 1][0], idx)
        route[idx] = best
    return route


def cuts(text: str) -> tuple[list[int], list[Token]]:
    """``(word_starts(text), tokens(text))`` from one pass over jieba's word graph."""
    import jieba
    from jieba import finalseg

    st = _init()
    tk, tags, fq = st["tk"], st["tags"], st["freq"]
    re_han, re_skip, re_eng = jieba.re_han_default, jieba.re_skip_default, jieba.re_eng
    lp = st.setdefault("logp", {})
    logtotal = st.setdefault("logtotal", log(tk.total))
    hmm: list[str] = []  # the default cut's words
    plain: list[str] = []  # the dictionary-only cut's words
    for blk in re_han.split(text):
        if not blk:
            continue
        if not re_han.match(blk):
            for x in re_skip.split(blk):
                words = [x] if re_skip.match(x) else list(x)
                hmm.extend(words)
                plain.extend(words)
            continue
        route = _route(blk, fq, lp, logtotal)
        n = len(blk)
        # __cut_DAG_NO_HMM: single ASCII letters/digits run together
        x, buf = 0, ""
        while x < n:
            y = route[x][1] + 1
            w = blk[x:y]
            if len(w) == 1 and re_eng.match(w):
                buf += w
            else:
                if buf:
                    plain.append(buf)
                    buf = ""
                plain.append(w)
            x = y
        if buf:
            plain.append(buf)
        # __cut_DAG: runs of single characters not in the dictionary go to the HMM
        x, buf = 0, ""

        def flush(buf: str) -> None:
            if len(buf) == 1:
                hmm.append(buf)
            elif not fq.get(buf):
                hmm.extend(finalseg.cut(buf))
            else:
                hmm.extend(buf)

        while x < n:
            y = route[x][1] + 1
            w = blk[x:y]
            if y - x == 1:
                buf += w
            else:
                if buf:
                    flush(buf)
                    buf = ""
                hmm.append(w)
            x = y
        if buf:
            flush(buf)
    starts: list[int] = []
    pos = 0
    for w in hmm:
        if not w.isspace():
            starts.append(pos)
        pos += len(w)
    toks: list[Token] = []
    pos = 0
    for w in plain:
        k = len(w)
        toks.append(Token(pos, pos + k, w, tags.get(w, ""), fq.get(w, 0) or 0))
        pos += k
    return starts, toks
