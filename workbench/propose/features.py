"""Features of the learned proposer: one list of feature strings per code point.

Everything here is general: the character and its neighbours (unigrams, bigrams, a coarse
character class), jieba's word boundaries (its default cut, the one stored for the TUI) and the
dictionary POS tags of those words, the general lexicons of
:mod:`workbench.propose.lexicon` (administrative and organisation suffixes, facility heads,
titles, surnames, programme cue words…) matched around the character, whether it is inside
“…” or 《…》, and the rules proposer's own label of the character and its neighbours
(stacking: the model learns where the rules are right). No string of any gold file is
written here; what the model knows of the project's documents it learns from their gold.

Texts are cut into sequences after 。！？； and newlines (no entity crosses them), which keeps
training and tagging linear in the text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from . import lexicon as lx

# bump when a feature changes: a model trained on other features must be retrained
FEATURES_VERSION = "2"
SEQUENCE_ENDS = frozenset("。！？；!?;\n")


def _lexicons() -> dict[str, frozenset[str]]:
    return {
        "ADM": frozenset(lx.ADMIN_SUFFIXES),
        "FAC": frozenset(lx.FACILITY_SUFFIXES),
        "ORGS": frozenset(lx.ORG_SUFFIXES_LENIENT)
        | frozenset(lx.ORG_SUFFIXES_STRICT)
        | frozenset(lx.QUOTED_ORG_SUFFIXES),
        "ORGAN": frozenset(lx.ORGAN_STOP) | frozenset(lx.ORGAN_HEADS) | frozenset(lx.BARE_ORGANS),
        "NAT": frozenset(lx.NATIONAL_BODIES) | frozenset(lx.DEMOCRATIC_PARTIES) | frozenset(lx.PARTY_PREFIXES),
        "TITLE": frozenset(lx.TITLES) | frozenset(lx.AFTER_NAME_TITLES),
        "CUE": frozenset(lx.PROGRAM_CUES),
        "PRE": frozenset(lx.PROGRAM_PRE_VERBS),
        "CRED": frozenset(lx.CREDIT_KEYS),
        "GEN": frozenset(lx.GENERIC_PLACE_WORDS),
    }


_BY_WORD: dict[str, tuple[str, ...]] = {}
# first character of a lexicon word -> the lengths of the words starting with it, longest first
_FIRST: dict[str, tuple[int, ...]] = {}


def _init_lexicons() -> None:
    if _BY_WORD:
        return
    by: dict[str, list[str]] = {}
    for name, words in _lexicons().items():
        for w in words:
            if w:
                by.setdefault(w, []).append(name)
    first: dict[str, set[int]] = {}
    for w in by:
        first.setdefault(w[0], set()).add(len(w))
    _FIRST.update({c: tuple(sorted(ls, reverse=True)) for c, ls in first.items()})
    _BY_WORD.update({w: tuple(sorted(ns)) for w, ns in by.items()})


def char_class(c: str) -> str:
    """A coarse class: H (CJK), D (digit, any script), N (Chinese numeral), L (Latin letter),
    Q (quote or bracket), P (other punctuation), S (space), O (other)."""
    if c in "一二两三四五六七八九十百千万亿零〇":
        return "N"
    if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf":
        return "H"
    if c.isdigit():
        return "D"
    if c.isspace():
        return "S"
    if c in "“”‘’《》〈〉「」『』()（）[]【】\"'":
        return "Q"
    cat = unicodedata.category(c)
    if cat.startswith("L"):
        return "L"
    if cat.startswith("P") or cat.startswith("S"):
        return "P"
    return "O"


def sequences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of the sequences the text is tagged in: cut after 。！？； and newlines."""
    out = []
    start = 0
    for i, c in enumerate(text):
        if c in SEQUENCE_ENDS:
            out.append((start, i + 1))
            start = i + 1
    if start < len(text):
        out.append((start, len(text)))
    return out


def span_tags(n: int, spans: Iterable[dict], scheme: str = "BIO") -> list[str]:
    """Tags over ``n`` code points for flat spans: ``BIO`` (B-X first, I-X after) or ``BILOU``
    (U-X a one-character span, B-X I-X… L-X a longer one), O outside."""
    tags = ["O"] * n
    bilou = scheme == "BILOU"
    for s in spans:
        a, b, lab = s["start"], s["end"], s["label"]
        if a < 0 or b > n or b <= a:
            continue
        if bilou and b - a == 1:
            tags[a] = "U-" + lab
            continue
        tags[a] = "B-" + lab
        for i in range(a + 1, b):
            tags[i] = "I-" + lab
        if bilou:
            tags[b - 1] = "L-" + lab
    return tags


def tags_of_span(label: str, length: int, scheme: str = "BIO") -> list[str]:
    """The tags a span of ``label`` and ``length`` code points has."""
    return span_tags(length, [{"start": 0, "end": length, "label": label}], scheme)


def decode(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, label)`` of a BIO or BILOU tag sequence. A span ends at L-/U-, at
    O, at B-, or where the label changes; an I-/L- without its B- opens one."""
    out = []
    start, label = -1, ""
    for i, t in enumerate(tags):
        kind, lab = t[:1], t[2:]
        if start >= 0 and (kind == "O" or kind in "BU" or lab != label):
            out.append((start, i, label))
            start = -1
        if kind == "O":
            continue
        if kind == "U":
            out.append((i, i + 1, lab))
            continue
        if start < 0:
            start, label = i, lab
        if kind == "L":
            out.append((start, i + 1, label))
            start = -1
    if start >= 0:
        out.append((start, len(tags), label))
    return out


def _quote_state(text: str) -> list[str]:
    """Per character: "“" inside a “…” quote, "《" inside a 《…》 title, "" outside (the
    quote marks themselves are outside). Unclosed marks close at the end of the line."""
    state = [""] * len(text)
    cur = ""
    for i, c in enumerate(text):
        if c == "\n":
            cur = ""
            continue
        if c in "“《":
            cur = c
            continue
        if (c == "”" and cur == "“") or (c == "》" and cur == "《"):
            cur = ""
            continue
        state[i] = cur
    return state


def _lexicon_marks(text: str) -> list[list[str]]:
    """Per character: its lexicon marks, ``le=X`` (a word of lexicon X ends here), ``lb=X``
    (one starts here), ``li=X`` (inside one), ``lnext=X`` (one starts at the next
    character), ``lprev=X`` (one ended at the previous character)."""
    _init_lexicons()
    n = len(text)
    marks: list[list[str]] = [[] for _ in range(n)]
    by_word, first = _BY_WORD, _FIRST
    for i, c in enumerate(text):
        lengths = first.get(c)
        if lengths is None:
            continue
        for L in lengths:
            if i + L > n:
                continue
            names = by_word.get(text[i : i + L])
            if names is None:
                continue
            e = i + L - 1
            for x in names:
                marks[i].append("lb=" + x)
                marks[e].append("le=" + x)
                if i > 0:
                    marks[i - 1].append("lnext=" + x)
                if e + 1 < n:
                    marks[e + 1].append("lprev=" + x)
                for j in range(i + 1, e):
                    marks[j].append("li=" + x)
    return marks


def text_features(text: str, words: Sequence[int], rule_spans: list[dict]) -> list[list[str]]:
    """The features of every code point of ``text``. ``words``: the start offsets of jieba's
    words (:func:`workbench.propose.segment.word_starts`); ``rule_spans``: the rules
    proposer's spans of the same text."""
    from .segment import tag

    n = len(text)
    cls = ["^"] + [char_class(c) for c in text] + ["$"]
    wpos = [""] * n
    wtag = [""] * n
    bounds = sorted({w for w in words if 0 <= w < n} | {0}) + [n]
    for a, b in zip(bounds, bounds[1:]):
        L = b - a
        t = tag(text[a:b]) or "x"
        if L == 1:
            wpos[a] = "S1"
        else:
            size = str(min(L, 5))
            wpos[a] = "B" + size
            for j in range(a + 1, b - 1):
                wpos[j] = "M" + size
            wpos[b - 1] = "E" + size
        for j in range(a, b):
            wtag[j] = t
    wtag_p = ["^"] + wtag + ["$"]
    rules = ["-"] + span_tags(n, rule_spans) + ["-"]
    quote = _quote_state(text)
    marks = _lexicon_marks(text)
    surnames = lx.COMMON_SURNAMES
    stop = lx.NAME_STOP_CHARS
    pad = ["^", "^"] + list(text) + ["$", "$"]

    out: list[list[str]] = []
    for i in range(n):
        j = i + 2
        c, p1, p2, n1, n2 = pad[j], pad[j - 1], pad[j - 2], pad[j + 1], pad[j + 2]
        k = i + 1
        r0, rp, rn = rules[k], rules[k - 1], rules[k + 1]
        f = [
            "b",
            "c=" + c,
            "c-1=" + p1,
            "c-2=" + p2,
            "c+1=" + n1,
            "c+2=" + n2,
            "c-1c=" + p1 + c,
            "cc+1=" + c + n1,
            "k3=" + cls[k - 1] + cls[k] + cls[k + 1],
            "w=" + wpos[i],
            "t=" + wtag[i],
            "t-1=" + wtag_p[k - 1],
            "t+1=" + wtag_p[k + 1],
            "r=" + r0,
            "r-1=" + rp,
            "r+1=" + rn,
            "rr=" + rp + "|" + r0 + "|" + rn,
            "q=" + quote[i],
        ]
        if c in surnames:
            f.append("sur")
        if c in stop:
            f.append("stop")
        f += marks[i]
        out.append(f)
    return out
