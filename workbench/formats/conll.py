"""Character-level BIO (CoNLL): the writer of ``export --format conll`` and its reader.

A ``# id = DOC`` comment line per document (and ``# key = value`` lines for extra
string fields), then one line per character ``CHAR<TAB>TAG``, a blank line after every
sentence. Sentences end after 。！？ (with any closing quotes/brackets that follow) and
after a newline, never inside a span. Every character of the text is written, so the text
is rebuilt exactly; characters that would break a whitespace-separated column are escaped
(:func:`conll_token`). The reader also takes any char-level BIO file (``TOKEN<TAB or
space>TAG``, CoNLL-2003 ``-DOCSTART-`` separators).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from . import ErrorSink, check_flat
from .jsonl import JsonlWriter

_CONLL_ESC = {" ": "\\s", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\"}
_CONLL_UNESC = {v: k for k, v in _CONLL_ESC.items()}
_SENT_END = re.compile("[。！？][”’」』）)》】\"']*|\n")


def conll_token(ch: str) -> str:
    e = _CONLL_ESC.get(ch)
    if e is not None:
        return e
    if ch.isspace() or unicodedata.category(ch)[0] in "CZ":
        cp = ord(ch)
        return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"
    return ch


_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")


class ConllError(ValueError):
    """A malformed line of a CoNLL file: ``args`` are ``(lineno, reason)``."""

    def __init__(self, lineno: int, reason: str):
        super().__init__(lineno, reason)
        self.lineno = lineno
        self.reason = reason


def conll_char(token: str) -> str:
    """Inverse of :func:`conll_token`; raises ValueError on a bad token: not one character,
    an unknown escape, hex digits that are not exactly 4 (``\\u``) or 8 (``\\U``), a code
    point past U+10FFFF, or a lone surrogate (no character of UTF-8 text)."""
    if len(token) == 1 and token != "\\":
        return token
    c = _CONLL_UNESC.get(token)
    if c is not None:
        return c
    m = _ESCAPE.fullmatch(token)
    if m is None:
        raise ValueError(f"not one character or a known escape: {token!r}")
    cp = int(m.group(1) or m.group(2), 16)
    if cp > 0x10FFFF:
        raise ValueError(f"bad escape {token!r}: beyond U+10FFFF, the last code point")
    if 0xD800 <= cp <= 0xDFFF:
        raise ValueError(f"bad escape {token!r}: a lone surrogate is not a character")
    return chr(cp)


def sentence_ends(text: str, spans: Sequence[Mapping[str, Any]]) -> list[int]:
    """Offsets where sentences end (exclusive): after 。！？ plus closing
    quotes/brackets, and after each newline; never inside a span."""
    inside: set[int] = set()
    for s in spans:
        inside.update(range(s["start"] + 1, s["end"]))
    ends = [m.end() for m in _SENT_END.finditer(text) if m.end() not in inside]
    if not ends or ends[-1] != len(text):
        ends.append(len(text))
    return ends


def _conll_tokens(seg: str) -> list[str]:
    """Tokens of a piece of text; plain printable text (the common case) is split
    at C speed, anything else goes through :func:`conll_token` per character."""
    body = seg[:-1] if seg.endswith("\n") else seg
    if body.isprintable() and " " not in body and "\\" not in body:
        toks = list(body)
        if len(body) != len(seg):
            toks.append("\\n")
        return toks
    return [conll_token(c) for c in seg]


def conll_lines(rec: Mapping[str, Any]) -> Iterator[str]:
    """The record as CoNLL: comment lines, then one block of ``TOKEN\tTAG``
    lines per sentence followed by an empty string (a blank line)."""
    text = rec["text"]
    yield f"# id = {rec['id']}"
    for k, v in rec.items():
        if k in ("id", "text", "spans") or not isinstance(v, (str, int)) or isinstance(v, bool):
            continue
        v = str(v)
        if "\n" not in v and "\r" not in v:
            yield f"# {k} = {v}"
    spans = sorted(rec["spans"], key=lambda s: (s["start"], s["end"]))
    check_flat(rec["id"], spans, "CoNLL (BIO cannot hold overlapping)")
    si = 0
    pos = 0
    for end in sentence_ends(text, spans):
        if end <= pos:
            continue
        toks = _conll_tokens(text[pos:end])
        pieces = []
        cur = 0  # index into toks (= offset - pos)
        while si < len(spans) and spans[si]["start"] < end:
            s = spans[si]
            a, b, lab = s["start"] - pos, s["end"] - pos, s["label"]
            if a > cur:
                pieces.append("\tO\n".join(toks[cur:a]) + "\tO")
            pieces.append(f"{toks[a]}\tB-{lab}")
            if b - a > 1:
                i_tag = f"\tI-{lab}"
                pieces.append((i_tag + "\n").join(toks[a + 1 : b]) + i_tag)
            cur = b
            si += 1
        if cur < end - pos:
            pieces.append("\tO\n".join(toks[cur:]) + "\tO")
        yield "\n".join(pieces)
        yield ""
        pos = end


class ConllWriter(JsonlWriter):
    def write(self, rec: Mapping[str, Any]) -> None:
        self.fh.write("\n".join(conll_lines(rec)))
        self.fh.write("\n")
        self.records += 1
        self.spans += len(rec["spans"])


def read_conll(lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """Parse the CoNLL written by :class:`ConllWriter` (or any char-level BIO
    file: ``TOKEN<TAB or space>TAG``; documents start at ``# id = ...`` or at
    a CoNLL-2003 ``-DOCSTART-`` line, which gives a record with ``id`` None).

    Yields ``(line of the record's first line, {"id", "text", "spans", ...})``;
    raises :class:`ConllError` (a ``ValueError`` with ``(lineno, reason)`` args) on a
    malformed line.
    """
    rec: dict | None = None
    chars: list[str] = []
    tags: list[tuple[str, int]] = []
    first = 0

    def finish() -> tuple[int, dict]:
        text = "".join(chars)
        spans: list[dict] = []
        cur: dict | None = None
        for i, (tag, _ln) in enumerate(tags):
            if tag == "O":
                cur = None
                continue
            kind, lab = tag[0], tag[2:]
            if kind == "B" or cur is None or cur["label"] != lab:
                cur = {"start": i, "end": i + 1, "label": lab}
                spans.append(cur)
            else:
                cur["end"] = i + 1
        for s in spans:
            s["text"] = text[s["start"] : s["end"]]
        r = dict(rec or {"id": None})
        r["text"] = text
        r["spans"] = spans
        return first, r

    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\n").rstrip("\r")
        if line.startswith("# "):
            key, sep, value = line[2:].partition(" = ")
            if not sep:
                continue  # a free comment
            if key == "id":
                if rec is not None or chars:
                    yield finish()
                rec, chars, tags, first = {"id": value}, [], [], lineno
            elif rec is not None:
                rec[key] = value
            continue
        if not line.strip():
            continue
        if line.startswith("-DOCSTART-"):  # CoNLL-2003 document separator
            if rec is not None or chars:
                yield finish()
            rec, chars, tags, first = None, [], [], lineno
            continue
        if rec is None and not chars:
            first = lineno
        parts = line.split("\t") if "\t" in line else line.rsplit(" ", 1)
        if len(parts) < 2:
            raise ConllError(lineno, f"expected CHAR<TAB>TAG, got {_cut(line)!r}")
        token, tag = parts[0], parts[-1].strip()
        try:
            ch = conll_char(token)
        except ValueError as e:
            raise ConllError(lineno, str(e)) from None
        if tag != "O" and not (len(tag) > 2 and tag[0] in "BI" and tag[1] == "-"):
            raise ConllError(lineno, f"bad BIO tag {_cut(tag)!r} (expected O, B-LABEL or I-LABEL)")
        chars.append(ch)
        tags.append((tag, lineno))
    if rec is not None or chars:
        yield finish()


def _cut(s: str, limit: int = 60) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _utf8_lines(fh: Iterable[bytes]) -> Iterator[str]:
    """The lines of a binary file as text (a BOM on the first is dropped); a line that is not
    UTF-8 raises :class:`ConllError` naming it."""
    for lineno, raw in enumerate(fh, 1):
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ConllError(lineno, f"not UTF-8 (byte {e.start} of the line)") from None


def read_conll_file(path: str, errs: ErrorSink) -> Iterator[tuple[int, dict]]:
    """:func:`read_conll` of a UTF-8 file (a BOM is allowed), each record marked
    ``"_format": "conll"``; a malformed line or bad encoding is reported (and ends the file)."""
    try:
        with open(path, "rb") as fh:
            yield from ((ln, dict(rec, _format="conll")) for ln, rec in read_conll(_utf8_lines(fh)))
    except ConllError as e:
        errs.add(e.lineno, e.reason)
    except OSError as e:
        errs.add(None, f"cannot read: {e.strerror or e}")
