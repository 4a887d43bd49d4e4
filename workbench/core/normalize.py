"""Decode and normalize raw report bytes into the canonical text of the guide.

The steps follow ``ANNOTATION_GUIDE.md`` ("Text the offsets refer to"):

1. decode: UTF-8, UTF-8 with BOM, UTF-16 with BOM, UTF-32 (with or without BOM), or
   GB18030 (detected and reported in ``Normalized.encoding``; anything else, and any
   text holding a NUL character, is a :class:`DecodeError`);
2. newlines to ``\\n``;
3. inline pinyin glosses after a CJK character are deleted (``統(tǒng)`` -> ``統``);
4. OpenCC ``t2s``.

Nothing else is changed. Every normalized character keeps the index of the raw
(decoded) character it came from in ``offset_map``; ``offset_map`` has one extra
trailing entry (``len(raw_text)``) so that an exclusive end offset maps too.

This module never imports Textual.
"""

from __future__ import annotations

import codecs
import difflib
import re
import unicodedata
from array import array
from dataclasses import dataclass, field

from .visible import BIDI, SEPARATORS

__all__ = [
    "DecodeError",
    "Normalized",
    "control_flags",
    "decode_bytes",
    "normalize_bytes",
    "normalize_text",
    "quality_flags",
    "raw_byte_offsets",
]


class DecodeError(ValueError):
    """The bytes are not a text report we can read (binary, empty, unknown encoding)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


# --------------------------------------------------------------------------- decode

# UTF-32 first: the UTF-32-LE BOM (FF FE 00 00) starts with the UTF-16-LE one (FF FE)
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _utf32_without_bom(data: bytes) -> str | None:
    """``utf-32-le`` / ``utf-32-be`` when every 4-byte unit of ``data`` has the zero high
    bytes of a code point (``XX XX 0? 00`` / ``00 0? XX XX``), else None.

    UTF-16 text never looks like this (its units are 2 bytes: ASCII gives ``XX 00 XX 00``),
    nor does UTF-8 or GB18030 (no NUL bytes at all).
    """
    if len(data) < 4 or len(data) % 4:
        return None
    units = len(data) // 4
    if data[3::4].count(0) == units and max(data[2::4]) <= 0x10:
        return "utf-32-le"
    if data[0::4].count(0) == units and max(data[1::4]) <= 0x10:
        return "utf-32-be"
    return None


def _decode_as(data: bytes, enc: str, skip: int = 0) -> str:
    try:
        return data.decode(enc)
    except UnicodeDecodeError as e:
        raise DecodeError(f"invalid {enc} at byte {e.start + skip}", _line_of(data, e.start)) from None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding)``; raise :class:`DecodeError` naming the line on failure.

    The BOM is not part of the returned text. ``encoding`` is one of ``utf-8``,
    ``utf-8-sig``, ``utf-16`` (BOM), ``utf-32`` (BOM), ``utf-32-le`` / ``utf-32-be``
    (no BOM, detected by the zero bytes of every unit), ``gb18030``. A NUL character in
    the decoded text, in any encoding, is refused (``text contains a NUL character``,
    with its line).
    """
    if not data:
        raise DecodeError("empty file")
    for bom, enc in _BOMS:
        if data.startswith(bom):
            text = _decode_as(data, enc)
            _check_text(text, data, enc)
            return text, enc
    enc32 = _utf32_without_bom(data)
    if enc32 is not None:
        text = _decode_as(data, enc32)
        _check_text(text, data, enc32)
        return text, enc32
    nul = data.find(b"\x00")
    if nul != -1:
        raise DecodeError("binary file (NUL byte)", _line_of(data, nul))
    try:
        text = data.decode("utf-8")
        enc = "utf-8"
    except UnicodeDecodeError as utf8_err:
        try:
            text = data.decode("gb18030")
            enc = "gb18030"
        except UnicodeDecodeError as e:
            # report the first place where neither encoding reads the bytes
            where = max(utf8_err.start, e.start)
            raise DecodeError(
                f"not UTF-8 or GB18030 (undecodable bytes at offset {where})", _line_of(data, where)
            ) from None
    _check_text(text, data, enc)
    return text, enc


_BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_text(text: str, data: bytes, enc: str) -> None:
    if not text.strip():
        raise DecodeError("empty file (only whitespace)")
    nul = text.find("\x00")
    if nul != -1:
        raise DecodeError("text contains a NUL character", text.count("\n", 0, nul) + 1)
    bad = _BAD_CONTROL.findall(text)
    # a few stray control characters occur in real pages; a text full of them is binary
    if len(bad) > max(8, len(text) // 100):
        m = _BAD_CONTROL.search(text)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        raise DecodeError(f"binary file ({len(bad)} control characters, decoded as {enc})", line)
    if enc in ("gb18030", "utf-16") or enc.startswith("utf-32"):
        # GB18030 maps almost any byte string to *something*; reject results that
        # are mostly private-use / unassigned code points: that is binary, not a report.
        odd = sum(1 for ch in text if unicodedata.category(ch) in ("Co", "Cn"))
        if odd > max(4, len(text) // 50):
            raise DecodeError("binary or unknown encoding (decoded as GB18030 gives unassigned characters)")


# --------------------------------------------------------------------------- pinyin

_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN_LETTERS = "a-zü" + _TONE
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# parenthesised pinyin right after a CJK character; half- or full-width parentheses
_GLOSS = re.compile(rf"(?<=[{_CJK}])[\(（]([{_PINYIN_LETTERS}]{{1,7}})[\)）]")
_HAS_TONE = re.compile(f"[{_TONE}]")
_INITIALS = "(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
_FINALS = (
    "(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|üan|van|ai|ei|ao|ou|an|en|er|in|"
    "ia|ie|iu|ua|uo|ui|un|ün|üe|ue|ve|ng|a|o|e|i|u|ü|v|n|m)"
)
_SYLLABLE = re.compile(f"{_INITIALS}{_FINALS}")
_TONE_STRIP = str.maketrans(
    {c: b for a, b in zip(["āáǎà", "ēéěè", "īíǐì", "ōóǒò", "ūúǔù", "ǖǘǚǜ"], "aeiouü") for c in a}
)
# a toneless gloss (neutral tone, 的(de)) only counts when toned glosses are this close
_TONELESS_CONTEXT = 40


def _is_syllable(s: str) -> bool:
    return _SYLLABLE.fullmatch(s.translate(_TONE_STRIP)) is not None


def _pinyin_glosses(text: str) -> list[tuple[int, int]]:
    """Spans of pinyin glosses to delete.

    A gloss is a parenthesised single pinyin syllable right after a CJK
    character. With a tone mark it is always a gloss; without one (neutral
    tone) only when a toned gloss stands within a few characters, so that
    ``附件(a)`` or ``(de)`` in ordinary prose is never touched.
    """
    toned: list[tuple[int, int]] = []
    toneless: list[tuple[int, int]] = []
    for m in _GLOSS.finditer(text):
        syl = m.group(1)
        if not _is_syllable(syl):
            continue
        (toned if _HAS_TONE.search(syl) else toneless).append(m.span())
    if not toneless or not toned:
        return toned
    import bisect

    starts = [s for s, _ in toned]
    keep = list(toned)
    for s, e in toneless:
        i = bisect.bisect_left(starts, s)
        near = (i < len(starts) and starts[i] - e <= _TONELESS_CONTEXT) or (
            i > 0 and s - toned[i - 1][1] <= _TONELESS_CONTEXT
        )
        if near:
            keep.append((s, e))
    keep.sort()
    return keep


# --------------------------------------------------------------------------- t2s


def _line_converter():
    """The converter of one line: :mod:`workbench.core.t2s` (the package's
    dictionaries and rule, applied fast; ``bench/t2s.py`` swaps in the
    package's own ``convert`` as its baseline)."""
    from .t2s import converter

    return converter().convert


def _t2s_chars() -> frozenset[str]:
    """Characters that t2s can change (those of its dictionaries' keys)."""
    from .t2s import converter

    return converter().chars


def _t2s(text: str) -> tuple[str, list[int] | None]:
    """Convert; return the text and, when lengths changed, a map new->old index."""
    if not text:
        return text, None
    if _t2s_chars().isdisjoint(text):
        return text, None
    convert = _line_converter()
    # convert line by line: OpenCC segments on punctuation anyway, and it keeps
    # the length-changing case (none in today's dictionaries) local.
    out_parts: list[str] = []
    mapping: list[int] | None = None
    pos = 0
    for line in text.splitlines(keepends=True):
        conv = convert(line)
        if len(conv) != len(line) and mapping is None:
            mapping = list(range(pos))
        if mapping is not None:
            mapping.extend(pos + j for j in _align(line, conv))
        out_parts.append(conv)
        pos += len(line)
    return "".join(out_parts), mapping


def _align(src: str, dst: str) -> list[int]:
    """For each index of ``dst``, the index in ``src`` it came from (monotonic)."""
    if len(src) == len(dst):
        return list(range(len(src)))
    out: list[int] = []
    sm = difflib.SequenceMatcher(None, src, dst, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        n = j2 - j1
        if tag == "equal":
            out.extend(range(i1, i2))
        elif n:
            width = max(i2 - i1, 1)
            out.extend(min(i1 + (k * width) // n, max(i1, i2 - 1)) for k in range(n))
    return out


# --------------------------------------------------------------------------- flags

_MOJIBAKE = re.compile(r"\?{2,}|\ufffd+|锟斤拷|(?:[ÃÂâ][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ''" "•–—˜™š›œžŸ¡-¿]){2,}")
_BOILERPLATE = [
    ("copyright", re.compile(r"(?i)copyright|版权所有|©|\(c\)\s*\d{4}")),
    ("icp", re.compile(r"ICP\s*[备証证]|备案号|公网安备")),
    ("breadcrumb", re.compile(r"^\s*(?:当前位置|您的位置|你的位置|所在位置)\s*[:：]")),
    (
        "font_widget",
        re.compile(r"【\s*字[体號号]\s*[:：]|字号\s*[:：]\s*[大中小]|^\s*【?\s*[大中小]\s*[中小]?\s*】?\s*$"),
    ),
    ("page_widget", re.compile(r"打印本页|关闭窗口|分享到|扫一扫在手机|【打印】|【关闭】|上一篇|下一篇")),
]


def quality_flags(text: str) -> dict:
    """Mojibake runs, U+FFFD count and boilerplate lines of a normalized text.

    Offsets are into ``text`` (normalized), end exclusive.
    """
    mojibake = [[m.start(), m.end()] for m in _MOJIBAKE.finditer(text)]
    boiler: list[list] = []
    pos = 0
    for line in text.split("\n"):
        for kind, rx in _BOILERPLATE:
            if rx.search(line):
                boiler.append([pos, pos + len(line), kind])
                break
        pos += len(line) + 1
    return {
        "mojibake": mojibake,
        "replacement_chars": text.count("\ufffd"),
        "boilerplate": boiler,
    }


# the characters :func:`workbench.core.visible.visible` draws as placeholders, but for the
# line feed and the tab, which a report may hold (a lone \r is a \n after step 2)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + BIDI + SEPARATORS + "]")
_MAX_CODES = 20


def control_flags(text: str) -> dict | None:
    """The ``flags["control_chars"]`` entry of a normalized text, or None when it has none.

    Counted: C0 controls but ``\n`` and ``\t``, ESC among them; DEL; C1 controls
    (U+0080-U+009F); bidi embeddings, overrides, isolates and marks; U+2028 / U+2029: the
    characters the TUI draws as one-cell placeholders (``core.visible``). The text is kept
    exact (nothing is stripped, no offset moves); the flag tells the annotator they are
    there. Shape::

        {"count": 3,                      # how many such characters the text holds
         "first": 120,                    # offset of the first, in the normalized text
         "codes": ["U+001B", "U+202E"]}   # the distinct code points, sorted (at most 20)

    Documents ingested before this flag existed have no entry even if they hold such
    characters; clean documents have none either (``flags.get("control_chars")``).
    """
    found = _CONTROL.findall(text)
    if not found:
        return None
    m = _CONTROL.search(text)
    assert m is not None
    codes = sorted({ord(c) for c in found})[:_MAX_CODES]
    return {"count": len(found), "first": m.start(), "codes": [f"U+{c:04X}" for c in codes]}


# --------------------------------------------------------------------------- main


@dataclass
class Normalized:
    text: str
    raw_text: str
    offset_map: array  # array('I'), len(text) + 1 entries, indices into raw_text
    encoding: str = "utf-8"
    flags: dict = field(default_factory=dict)

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw-text (code point) offsets of the normalized span ``[start, end)``."""
        if start >= end:
            return self.offset_map[start], self.offset_map[start]
        return self.offset_map[start], self.offset_map[end - 1] + 1


_CR = re.compile(r"\r\n?")


def normalize_text(raw_text: str, encoding: str = "utf-8") -> Normalized:
    """Normalize an already decoded text (steps 2-4), with the offset map."""
    # steps 2+3 only delete characters (and turn a lone \r into \n): collect deletions
    deletions: list[tuple[int, int]] = []
    for m in _CR.finditer(raw_text):
        if m.end() - m.start() == 2:  # \r\n: drop the \n, the \r becomes \n
            deletions.append((m.start() + 1, m.end()))
    # a gloss never contains a newline, so it is found on the raw text directly
    for s, e in _pinyin_glosses(raw_text):
        deletions.append((s, e))
    deletions.sort()
    omap = array("I")
    pieces: list[str] = []
    pos = 0
    for s, e in deletions:
        if s < pos:
            continue
        pieces.append(raw_text[pos:s])
        omap.extend(range(pos, s))
        pos = e
    pieces.append(raw_text[pos:])
    omap.extend(range(pos, len(raw_text)))
    text = "".join(pieces).replace("\r", "\n")
    text, t2s_map = _t2s(text)
    if t2s_map is not None:
        omap = array("I", (omap[j] for j in t2s_map))
    omap.append(len(raw_text))
    flags = quality_flags(text)
    flags["encoding"] = encoding
    flags["pinyin_removed"] = sum(1 for s, e in deletions if raw_text[s] in "(（")
    controls = control_flags(text)
    if controls is not None:
        flags["control_chars"] = controls
    return Normalized(text=text, raw_text=raw_text, offset_map=omap, encoding=encoding, flags=flags)


def normalize_bytes(data: bytes) -> Normalized:
    raw_text, enc = decode_bytes(data)
    return normalize_text(raw_text, enc)


def raw_byte_offsets(raw_text: str, encoding: str) -> array:
    """Byte offset of every raw character (plus the end) in the original file.

    Includes the BOM length for ``utf-8-sig`` / ``utf-16``.
    """
    codec = {"utf-8-sig": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(encoding, encoding)
    pos = {"utf-8-sig": 3, "utf-16": 2, "utf-32": 4}.get(encoding, 0)
    out = array("Q")
    for ch in raw_text:
        out.append(pos)
        pos += len(ch.encode(codec, errors="surrogatepass"))
    out.append(pos)
    return out
