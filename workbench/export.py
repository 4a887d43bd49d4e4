"""Export gold and annotations as training data other tools read correctly.

Pure domain code (no click, no Textual): record builders that stream from the
store one document at a time, and writers/readers for the formats.

Record shapes
-------------
*Document records* (gold, and annotations in the document formats) are
``{"id", "text", "spans": [{"start", "end", "label", "text", "attrs"}], ...}``
with offsets in Python code points into the normalized ``text``, end exclusive,
spans sorted by ``(start, end, label)``. Extra keys (``meta``, ``_input_hash``,
``annotators``, ``_annotator_id``...) ride along; each writer keeps what its
format can carry.

*Decision records* (``export annotations`` as JSONL) follow Prodigy's binary
NER shape: one line per (document, annotator, span decision) with
``"answer": "accept" | "reject"`` and ``_input_hash``, ``_task_hash``,
``_annotator_id``, ``_session_id``, ``_timestamp``.

Formats
-------
``jsonl``    one JSON object per line, as above.
``doccano``  ``{"id", "text", "label": [[start, end, "LABEL"], ...]}`` plus, when
             any span has attributes, ``"attrs": [[start, end, {...}], ...]``
             (doccano keeps unknown keys as metadata).
``conll``    character-level BIO: a ``# id = DOC`` comment line per document
             (and ``# key = value`` lines for extra string fields), then one line
             per character ``CHAR<TAB>TAG``, a blank line after every sentence.
             Sentences end after 。！？ (with any closing quotes/brackets that
             follow) and after a newline, never inside a span. Every character
             of the text is written, so the text is rebuilt exactly; characters
             that would break a whitespace-separated column are escaped:
             ``\\s`` space, ``\\n`` newline, ``\\t`` tab, ``\\r`` CR, ``\\\\``
             backslash, ``\\uXXXX`` / ``\\UXXXXXXXX`` any other space,
             separator, control or format character (e.g. ``\\u00a0``).
``spacy``    a spaCy ``DocBin`` (``.spacy``), one ``Doc`` per record, tokenised
             one character per token by ``spacy.blank("zh")`` with the ``char``
             segmenter; every span is an entity (``doc.ents``). The record's id,
             ``_input_hash``, extra fields and span attributes are kept in
             ``doc.user_data``. spaCy is an optional extra and is imported lazily.
             The DocBin is written without making Docs (:class:`FastDocBin`:
             the same msgpack ``DocBin.to_bytes`` makes of them, compressed by
             a second thread as records come); if the installed spaCy lays
             DocBin out otherwise, Docs are made (:class:`ReferenceDocBin`).
             A ``.spacy`` file holds its compressed token data in memory until
             it is written; an output folder (``-o DIR/``) gets shards of 1000
             documents instead (``spacy train`` reads a folder of ``.spacy``
             files, and loading one file needs its whole token array).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO

from workbench.core.spans import derive_items
from workbench.store import task_hash

from .core.labels import SCHEMA_NAME
from .jsonl import dumps, open_output

FORMATS = ("jsonl", "doccano", "conll", "spacy")
BINARY_FORMATS = ("spacy",)
SUFFIX_FORMATS = {".spacy": "spacy", ".conll": "conll", ".bio": "conll"}


class ExportError(Exception):
    """The data cannot be exported as asked (a bug upstream, or a missing extra)."""


def format_for(path: str, fmt: str | None) -> str:
    """The format asked for, or the one implied by the file suffix (default jsonl)."""
    if fmt:
        return fmt
    for suffix, f in SUFFIX_FORMATS.items():
        if path.lower().endswith(suffix):
            return f
    return "jsonl"


# ---------------------------------------------------------------------------- store reading


@contextmanager
def read_snapshot(store):
    """One read transaction around an export: every query sees the same
    database state, even while annotators keep writing (WAL)."""
    conn = store.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


_DOC_COLS = "d.id, d.text, d.meta, d.input_hash"
_RAW_COLS = ", d.raw_text, d.offset_map, d.encoding, d.source"


def _iter_doc_rows(store, where: str, params=(), *, with_raw: bool = False, batch: int = 100) -> Iterator[dict]:
    """Documents matching ``where`` in ingest order, fetched in small batches
    (keyset pagination on rowid, so memory stays flat)."""
    cols = _DOC_COLS + (_RAW_COLS if with_raw else "")
    last = -1
    conn = store.conn
    while True:
        cur = conn.execute(
            f"SELECT d.rowid, {cols} FROM documents d WHERE d.rowid > ? AND ({where}) ORDER BY d.rowid LIMIT ?",
            (last, *params, batch),
        )
        names = [c[0] for c in cur.description]
        rows = cur.fetchall()
        if not rows:
            return
        for row in rows:
            d = dict(zip(names, row))
            d["meta"] = json.loads(d["meta"]) if d["meta"] else {}
            yield d
        last = rows[-1][0]


def count_gold_documents(store) -> int:
    return store.scalar("SELECT count(DISTINCT doc_id) FROM gold") or 0


def count_annotated_documents(store, annotator: str | None = None) -> int:
    if annotator is None:
        return store.scalar("SELECT count(DISTINCT doc_id) FROM decisions") or 0
    return store.scalar("SELECT count(DISTINCT doc_id) FROM decisions WHERE annotator = ?", (annotator,)) or 0


class RawOffsets:
    """Maps normalized spans of one document to its raw text (code points) and,
    when the document came from a file, to byte offsets in that file."""

    def __init__(self, doc: dict):
        from workbench.store import unpack_ints

        from .core.normalize import raw_byte_offsets

        text = doc["text"]
        self.omap = unpack_ints(doc["offset_map"])  # None = identity
        self.n = len(text)
        self.bytes = None
        if doc.get("encoding") and doc["encoding"] != "json":
            try:
                self.bytes = raw_byte_offsets(doc["raw_text"], doc["encoding"])
            except LookupError:
                self.bytes = None

    def add(self, span: dict, start: int, end: int) -> None:
        m = self.omap
        if m is None:
            rs, re_ = start, end
        else:
            rs, re_ = m[start], m[end - 1] + 1
        span["raw_start"] = rs
        span["raw_end"] = re_
        if self.bytes is not None:
            span["raw_byte_start"] = self.bytes[rs]
            span["raw_byte_end"] = self.bytes[re_]


def _check_span(doc_id: str, text: str, start: int, end: int, label: str, span_text: str) -> None:
    if not (0 <= start < end <= len(text)):
        raise ExportError(
            f"document {doc_id}: span [{start}, {end}) {label} is outside the text "
            f"(length {len(text)}); the database is inconsistent"
        )
    if text[start:end] != span_text:
        raise ExportError(
            f"document {doc_id}: span [{start}, {end}) {label} says {span_text!r} but the text there is "
            f"{text[start:end]!r}; the database is inconsistent (refusing to export wrong offsets)"
        )


def _check_flat(doc_id: str, spans: list[dict], what: str) -> None:
    prev = None
    for s in spans:
        if prev is not None and s["start"] < prev["end"]:
            raise ExportError(
                f"document {doc_id}: {what} spans overlap: [{prev['start']}, {prev['end']}) {prev['label']} "
                f"and [{s['start']}, {s['end']}) {s['label']}; spans must be flat (fix it in review)"
            )
        prev = s


def _attrs(v):
    if v is None or isinstance(v, dict):
        return v
    return json.loads(v)


# ---------------------------------------------------------------------------- gold


def iter_gold_records(store, *, raw_offsets: bool = False) -> Iterator[dict]:
    """One record per document that has gold, in ingest order:
    ``{"id", "text", "spans", "meta", "_input_hash", "annotators"}``.

    Spans are sorted by (start, end, label); every span's text is checked
    against the document text, and overlapping gold spans are refused.
    With ``raw_offsets`` each span also gets ``raw_start``/``raw_end`` (code
    points into the raw text) and, for documents read from a file,
    ``raw_byte_start``/``raw_byte_end`` (bytes in that file, BOM included).
    """
    conn = store.conn
    for doc in _iter_doc_rows(store, "EXISTS (SELECT 1 FROM gold g WHERE g.doc_id = d.id)", with_raw=raw_offsets):
        doc_id, text = doc["id"], doc["text"]
        raw = RawOffsets(doc) if raw_offsets else None
        spans = []
        ann_lists: set[str] = set()
        n = len(text)
        prev_end = 0
        loads = json.loads
        for start, end, label, stext, attrs, anns in conn.execute(
            'SELECT start, "end", label, text, attrs, annotators FROM gold WHERE doc_id = ?'
            ' ORDER BY start, "end", label, id',
            (doc_id,),
        ).fetchall():
            if text[start:end] != stext or not 0 <= start < end <= n:
                _check_span(doc_id, text, start, end, label, stext)
            if start < prev_end:
                _check_flat(doc_id, spans + [{"start": start, "end": end, "label": label}], "gold")
            prev_end = end
            span = {"start": start, "end": end, "label": label, "text": stext, "attrs": loads(attrs) if attrs else None}
            if raw is not None:
                raw.add(span, start, end)
            spans.append(span)
            ann_lists.add(anns)
        annotators: set[str] = set()
        for a in ann_lists:
            if a and a != "[]":
                annotators.update(loads(a))
        rec = {
            "id": doc_id,
            "text": text,
            "spans": spans,
            "meta": doc["meta"],
            "_input_hash": doc["input_hash"],
            "annotators": sorted(annotators),
        }
        if raw_offsets:
            rec["_source"] = doc["source"]
            rec["_encoding"] = doc["encoding"]
        yield rec


# ---------------------------------------------------------------------------- annotations


ACCEPT_STATUSES = ("accepted", "edited", "added")


def _epoch(ts: str | None) -> int | None:
    if not ts:
        return None
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())


def session_id(annotator: str) -> str:
    return f"{SCHEMA_NAME}-{annotator}"


def iter_annotation_states(
    store, *, annotator: str | None = None, finished_only: bool = False, raw_offsets: bool = False
) -> Iterator[tuple[dict, str, list[dict], bool, RawOffsets | None]]:
    """``(doc, annotator, items, finished, raw)`` for every document and
    annotator with decisions, in ingest order then annotator name.

    ``items`` are the annotator's current items (``workbench.core.spans.derive_items``,
    the same derivation as ``Store.annotator_items``) with ``ts`` added: the
    time of the decision that set the item's state.
    """
    from workbench.core.spans import is_finished

    if annotator is None:
        where, params = "EXISTS (SELECT 1 FROM decisions x WHERE x.doc_id = d.id)", ()
    else:
        where, params = "EXISTS (SELECT 1 FROM decisions x WHERE x.doc_id = d.id AND x.annotator = ?)", (annotator,)
    for doc in _iter_doc_rows(store, where, params, with_raw=raw_offsets):
        doc_id = doc["id"]
        proposals = store.proposals(doc_id, active_only=False)
        decisions = store.decisions(doc_id, annotator)
        by_ann: dict[str, list[dict]] = {}
        for d in decisions:
            by_ann.setdefault(d["annotator"], []).append(d)
        raw = RawOffsets(doc) if raw_offsets else None
        for ann in sorted(by_ann):
            decs = by_ann[ann]
            finished = is_finished(decs)
            if finished_only and not finished:
                continue
            ts = {d["id"]: d["ts"] for d in decs}
            items = derive_items(proposals, decs)
            for it in items:
                it["ts"] = ts.get(it["decision_id"])
            yield doc, ann, items, finished, raw


def _span_of(doc_id: str, text: str, it: dict, raw: RawOffsets | None) -> dict:
    _check_span(doc_id, text, it["start"], it["end"], it["label"], it["text"])
    span = {
        "start": it["start"],
        "end": it["end"],
        "label": it["label"],
        "text": it["text"],
        "attrs": _attrs(it["attrs"]) or None,
    }
    if raw is not None:
        raw.add(span, it["start"], it["end"])
    return span


def decision_records(doc: dict, annotator: str, items: list[dict], raw: RawOffsets | None = None) -> Iterator[dict]:
    """Prodigy-style binary lines for one (document, annotator): one line per
    decided span, ``accept`` for accepted/edited/added spans, ``reject`` for
    rejected proposals (negative examples). Pending proposals are not decisions
    and are left out; a rejected proposal identical to an accepted span (the
    same span proposed twice) is left out too, so a file never says both."""
    doc_id, text, ih = doc["id"], doc["text"], doc["input_hash"]
    accepted = {(i["start"], i["end"], i["label"]) for i in items if i["status"] in ACCEPT_STATUSES}
    sess = session_id(annotator)
    for it in items:
        status = it["status"]
        if status in ACCEPT_STATUSES:
            answer = "accept"
        elif status == "rejected":
            if (it["start"], it["end"], it["label"]) in accepted:
                continue
            answer = "reject"
        else:
            continue
        yield {
            "id": doc_id,
            "text": text,
            "spans": [_span_of(doc_id, text, it, raw)],
            "answer": answer,
            "status": status,
            "source": it.get("source"),
            "_input_hash": ih,
            "_task_hash": task_hash(ih, it["start"], it["end"], it["label"]),
            "_annotator_id": annotator,
            "_session_id": sess,
            "_timestamp": _epoch(it.get("ts")),
            "_view_id": "ner",
        }


def decision_lines(doc: dict, annotator: str, items: list[dict], raw: RawOffsets | None = None) -> Iterator[str]:
    """:func:`decision_records` as JSONL lines (no newline), byte-identical to
    ``dumps(record)``, with the document text encoded once per document instead
    of once per line (the text is most of every line)."""
    text_json = None
    for rec in decision_records(doc, annotator, items, raw):
        if text_json is None:
            text_json = dumps(rec["text"])
        head = dumps({"id": rec["id"]})[:-1]
        rec.pop("id")
        rec.pop("text")
        yield f'{head}, "text": {text_json}, {dumps(rec)[1:]}'


def annotation_document_record(
    doc: dict, annotator: str, items: list[dict], finished: bool, raw: RawOffsets | None = None
) -> dict:
    """The annotator's asserted spans of one document as a document record
    (for doccano / CoNLL / spaCy, which have no notion of a rejected span)."""
    doc_id, text = doc["id"], doc["text"]
    spans = [_span_of(doc_id, text, it, raw) for it in items if it["status"] in ACCEPT_STATUSES]
    spans.sort(key=lambda s: (s["start"], s["end"], s["label"]))
    _check_flat(doc_id, spans, f"{annotator}'s")
    return {
        "id": doc_id,
        "text": text,
        "spans": spans,
        "meta": doc["meta"],
        "_input_hash": doc["input_hash"],
        "_annotator_id": annotator,
        "_session_id": session_id(annotator),
        "_finished": finished,
    }


# ---------------------------------------------------------------------------- writers


class JsonlWriter:
    binary = False

    def __init__(self, fh: IO[str]):
        self.fh = fh
        self.records = 0
        self.spans = 0

    def write(self, rec: dict) -> None:
        self.fh.write(dumps(rec))
        self.fh.write("\n")
        self.records += 1
        self.spans += len(rec.get("spans") or ())

    def write_line(self, line: str, n_spans: int) -> None:
        """Write one already serialized JSON line."""
        self.fh.write(line)
        self.fh.write("\n")
        self.records += 1
        self.spans += n_spans

    def close(self) -> None:
        pass


def doccano_record(rec: dict) -> dict:
    out = {"id": rec["id"], "text": rec["text"], "label": [[s["start"], s["end"], s["label"]] for s in rec["spans"]]}
    attrs = [[s["start"], s["end"], s["attrs"]] for s in rec["spans"] if s.get("attrs")]
    if attrs:
        out["attrs"] = attrs
    for k, v in rec.items():
        if k not in ("id", "text", "spans") and k not in out:
            out[k] = v
    return out


class DoccanoWriter(JsonlWriter):
    def write(self, rec: dict) -> None:
        self.fh.write(dumps(doccano_record(rec)))
        self.fh.write("\n")
        self.records += 1
        self.spans += len(rec["spans"])


# -- CoNLL

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


def conll_char(token: str) -> str:
    """Inverse of :func:`conll_token`; raises ValueError on a bad token."""
    if len(token) == 1 and token != "\\":
        return token
    c = _CONLL_UNESC.get(token)
    if c is not None:
        return c
    if (token.startswith("\\u") and len(token) == 6) or (token.startswith("\\U") and len(token) == 10):
        try:
            return chr(int(token[2:], 16))
        except ValueError:
            pass
    raise ValueError(f"not one character or a known escape: {token!r}")


def sentence_ends(text: str, spans: list[dict]) -> list[int]:
    """Offsets where sentences end (exclusive): after 。！？ plus closing
    quotes/brackets, and after each newline; never inside a span."""
    inside = set()
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


def conll_lines(rec: dict) -> Iterator[str]:
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
    _check_flat(rec["id"], spans, "CoNLL (BIO cannot hold overlapping)")
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
    def write(self, rec: dict) -> None:
        self.fh.write("\n".join(conll_lines(rec)))
        self.fh.write("\n")
        self.records += 1
        self.spans += len(rec["spans"])


def read_conll(lines: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """Parse the CoNLL written by :class:`ConllWriter` (or any char-level BIO
    file: ``TOKEN<TAB or space>TAG``; documents start at ``# id = ...`` or at
    a CoNLL-2003 ``-DOCSTART-`` line, which gives a record with ``id`` None).

    Yields ``(line of the record's first line, {"id", "text", "spans", ...})``;
    raises ``ValueError`` with ``(lineno, reason)`` args on a malformed line.
    """
    rec: dict | None = None
    chars: list[str] = []
    tags: list[tuple[str, int]] = []
    first = 0

    def finish():
        text = "".join(chars)
        spans = []
        cur = None
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
            raise ValueError(lineno, f"expected CHAR<TAB>TAG, got {line!r}")
        token, tag = parts[0], parts[-1].strip()
        try:
            ch = conll_char(token)
        except ValueError as e:
            raise ValueError(lineno, str(e)) from None
        if tag != "O" and not (len(tag) > 2 and tag[0] in "BI" and tag[1] == "-"):
            raise ValueError(lineno, f"bad BIO tag {tag!r} (expected O, B-LABEL or I-LABEL)")
        chars.append(ch)
        tags.append((tag, lineno))
    if rec is not None or chars:
        yield finish()


# -- spaCy


def load_spacy():
    try:
        import spacy
    except ImportError:
        raise ExportError(
            "the spacy format needs spaCy, an optional extra: pip install 'report-workbench[spacy]'"
            " (or pip install spacy)"
        ) from None
    return spacy


def blank_zh():
    """``spacy.blank("zh")`` with character segmentation (no jieba/pkuseg, no download)."""
    spacy = load_spacy()
    return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "char"}}})


_CHAR_TOKEN = re.compile(r"(\S)( ?)|(\s+)")
_CHAR_TOKEN_PLAIN = re.compile(r"\S|\s+")


def char_words(text: str) -> tuple[list[str], list[bool]]:
    """The words and spaces spaCy's zh ``char`` segmenter makes of ``text``
    (``nlp.make_doc``), in one linear pass: one token per character, a single
    space after a character becomes its trailing whitespace, and any other run
    of whitespace is one token."""
    if " " not in text:  # no trailing spaces possible: plain tokens
        words = _CHAR_TOKEN_PLAIN.findall(text)
        return words, [False] * len(words)
    parts = _CHAR_TOKEN.findall(text)
    return [c or ws for c, _, ws in parts], [sp == " " for _, sp, _ in parts]


def spacy_doc(nlp, rec: dict):
    """A spaCy Doc of the record with every span as an entity.

    Tokens are those of the zh ``char`` segmenter (:func:`char_words`): one
    per character, except that a single space after a character becomes its
    trailing whitespace and other whitespace runs are one token. A span that
    starts or ends on such whitespace would not align, so that (rare) document
    is tokenised strictly one token per character instead. Either way
    ``doc.text == rec["text"]`` and every span is an entity.
    """
    from spacy.tokens import Doc

    text = rec["text"]
    spans = rec["spans"]
    words, spaces = char_words(text)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    ents = [doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="strict") for s in spans]
    if any(e is None for e in ents):
        doc = Doc(nlp.vocab, words=list(text), spaces=[False] * len(text))
        ents = [doc.char_span(s["start"], s["end"], label=s["label"], alignment_mode="strict") for s in spans]
    if any(e is None for e in ents):  # pragma: no cover - impossible with one char per token
        raise ExportError(f"document {rec['id']}: a span does not align to characters")
    try:
        doc.ents = ents
    except ValueError as e:
        raise ExportError(f"document {rec['id']}: spans cannot all be entities (overlap?): {e}") from None
    doc.user_data["id"] = rec["id"]
    attrs = [[s["start"], s["end"], s["attrs"]] for s in spans if s.get("attrs")]
    if attrs:
        doc.user_data["attrs"] = attrs
    for k, v in rec.items():
        if k not in ("id", "text", "spans"):
            doc.user_data[k] = v
    return doc


_DOCBIN_PARTS = ("attrs", "tokens", "spaces", "flags", "strings", "cats", "user_data", "span_groups")
_DOCBIN_ATTRS = ["ORTH", "ENT_IOB", "ENT_TYPE"]


def docbin_add(docbin, doc, labels: Iterable[str]) -> None:
    """``DocBin.add`` for the blank, entity-only Docs made here, without its
    per-token Python loop (which adds tag, lemma, morph... strings that these
    Docs do not have and that take most of its time). The strings a Doc needs
    are its token texts and entity labels. Falls back to ``DocBin.add`` if a
    spaCy version lays DocBin out differently."""
    if not all(hasattr(docbin, a) for a in _DOCBIN_PARTS):  # pragma: no cover - other spaCy layouts
        docbin.add(doc)
        return
    import numpy
    import srsly
    from spacy.attrs import SPACY

    array = doc.to_array(docbin.attrs)
    if len(array.shape) == 1:
        array = array.reshape((array.shape[0], 1))
    docbin.tokens.append(array)
    spaces = doc.to_array(SPACY)
    docbin.spaces.append(numpy.asarray(spaces.reshape((spaces.shape[0], 1)), dtype=bool))
    docbin.flags.append({"has_unknown_spaces": doc.has_unknown_spaces})
    docbin.strings.add("")
    strings = doc.vocab.strings
    docbin.strings.update(strings[h] for h in set(array[:, 0].tolist()))  # ORTH is column 0
    docbin.strings.update(labels)
    docbin.cats.append(doc.cats)
    if docbin.store_user_data:
        docbin.user_data.append(srsly.msgpack_dumps(doc.user_data))
    docbin.span_groups.append(doc.spans.to_bytes())


def spacy_user_data(rec: dict) -> dict:
    """``doc.user_data`` of the record's Doc: its id, span attributes, extra fields."""
    data = {"id": rec["id"]}
    attrs = [[s["start"], s["end"], s["attrs"]] for s in rec["spans"] if s.get("attrs")]
    if attrs:
        data["attrs"] = attrs
    for k, v in rec.items():
        if k not in ("id", "text", "spans"):
            data[k] = v
    return data


class ReferenceDocBin:
    """One DocBin blob built the plain way: a spaCy ``Doc`` per record
    (:func:`spacy_doc`) added to a ``DocBin``. The fast path
    (:class:`FastDocBin`) must give the same bytes; this one is used when the
    installed spaCy lays DocBin out differently than the fast path expects."""

    def __init__(self, nlp=None):
        from spacy.tokens import DocBin

        self.nlp = nlp or blank_zh()
        self.docbin = DocBin(attrs=_DOCBIN_ATTRS, store_user_data=True)

    def __len__(self) -> int:
        return len(self.docbin)

    def add(self, rec: dict) -> None:
        docbin_add(self.docbin, spacy_doc(self.nlp, rec), {s["label"] for s in rec["spans"]})

    def write_to(self, fh) -> None:
        fh.write(self.docbin.to_bytes())

    def abort(self) -> None:
        pass


class _Layout(Exception):
    """The installed spaCy's DocBin is not laid out as :class:`FastDocBin` writes it."""


# zlib level of the fast path. DocBin.to_bytes uses 6 (zlib's default); any
# level loads the same. Measured on 1,000,000 gold spans (bench/export.py):
# 6 -> 93.6 MB in ~9.8 s (compressing is then the slowest of the two threads),
# 4 -> 99.8 MB (+6.6 %) in ~7.3 s, 3 -> 102.2 MB, no faster than 4.
_ZLEVEL = 4
_ADLER_BASE = 65521


def adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """The Adler-32 of ``a + b`` from ``adler32(a)``, ``adler32(b)`` and ``len(b)``
    (zlib's ``adler32_combine``, which Python's zlib module does not expose)."""
    base = _ADLER_BASE
    rem = len2 % base
    a1, b1 = adler1 & 0xFFFF, adler1 >> 16
    a2, b2 = adler2 & 0xFFFF, adler2 >> 16
    s1 = (a1 + a2 + base - 1) % base
    s2 = (rem * a1 + b1 + b2 + base - rem) % base
    return s1 | (s2 << 16)


_MSGPACK_MAX_BIN = (1 << 32) - 1  # msgpack's (so DocBin's) largest bytes value


def _msgpack_bin_header(n: int) -> bytes:
    if n > _MSGPACK_MAX_BIN:
        raise ExportError(
            f"the spaCy token data ({n:,} bytes) is too large for one .spacy file (DocBin's limit is 4 GiB):"
            " write shards into a folder instead (-o DIR/)"
        )
    if n < 1 << 8:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 1 << 16:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


class _SpacyCodec:
    """What every :class:`FastDocBin` shares: spaCy's string ids of characters
    (a table over all code points, filled as characters are met), of labels and
    of whitespace runs; the DocBin layout constants."""

    N_CP = 0x110000

    def __init__(self):
        import numpy as np
        import srsly
        from spacy.attrs import ENT_IOB, ENT_TYPE, ORTH
        from spacy.strings import get_string_id
        from spacy.tokens import Doc, DocBin
        from spacy.vocab import Vocab

        db = DocBin(attrs=_DOCBIN_ATTRS, store_user_data=True)
        self.attrs = list(db.attrs)
        self.version = db.version
        if (
            self.attrs != [ORTH, ENT_IOB, ENT_TYPE]
            or self.version != "0.1"
            or not all(hasattr(db, a) for a in _DOCBIN_PARTS)
        ):
            raise _Layout(f"DocBin version {self.version!r}, attrs {self.attrs}")
        self.np = np
        self.string_id = get_string_id
        self.cp_id = np.zeros(self.N_CP, np.uint64)  # 0 = not looked up yet
        # every str.isspace() character (= the regex \s of char_words) is below U+3001
        self.isspace = np.zeros(self.N_CP, bool)
        self.isspace[[c for c in range(0x3001) if chr(c).isspace()]] = True
        self.label_ids: dict[str, int] = {}
        self.run_ids: dict[str, int] = {}
        self.pack = srsly.msgpack.Packer(use_bin_type=True).pack
        self.empty_span_groups = Doc(Vocab(), words=[]).spans.to_bytes()

    def char_ids(self, cps):
        """spaCy string ids of the characters (code points) ``cps``."""
        ids = self.cp_id[cps]
        unknown = ids == 0  # no character's id is 0 (that is the empty string's)
        if unknown.any():
            for c in self.np.unique(cps[unknown]).tolist():
                self.cp_id[c] = self.string_id(chr(c))
            ids = self.cp_id[cps]
        return ids

    def label_id(self, label) -> int | None:
        if type(label) is not str:
            return None
        i = self.label_ids.get(label)
        if i is None:
            if not label:
                return None
            i = self.label_ids[label] = self.string_id(label)
        return i

    def run_id(self, run: str) -> int:
        i = self.run_ids.get(run)
        if i is None:
            i = self.run_ids[run] = self.string_id(run)
        return i

    def doc_arrays(self, rec: dict):
        """The DocBin rows of one record without making a Doc, or None when
        the record is unusual (empty text, unsorted/overlapping/odd spans,
        surrogates...) and must go through the reference path.

        Returns ``(tokens, spaces, chars, runs, labels)``: the ``(n, 3)`` uint64
        array of ORTH, ENT_IOB, ENT_TYPE per token; the indices of tokens
        followed by a space (or None); the code points of the one-character
        tokens; the whitespace runs that are tokens; the spans' labels.

        Tokens are those of :func:`spacy_doc`: :func:`char_words`' (one per
        character, a single space after a non-space character is that token's
        trailing whitespace, any other whitespace run is one token), or one per
        character if a span does not align to those.
        """
        np = self.np
        text = rec["text"]
        n = len(text)
        if not n:
            return None
        try:
            cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError:  # lone surrogates
            return None
        spans = rec["spans"]
        m = len(spans)
        labels: list = []
        if m:
            starts = [s["start"] for s in spans]
            ends = [s["end"] for s in spans]
            if not {*map(type, starts), *map(type, ends)} <= {int}:
                return None
            labels = [s["label"] for s in spans]
            try:
                lids = list(map(self.label_ids.get, labels))
            except TypeError:  # an unhashable label
                return None
            if None in lids:
                lids = list(map(self.label_id, labels))
                if None in lids:
                    return None
            try:
                starts = np.array(starts, dtype=np.int64)
                ends = np.array(ends, dtype=np.int64)
            except OverflowError:
                return None
            if not ((starts[0] >= 0) and (ends[-1] <= n) and (starts < ends).all() and (starts[1:] >= ends[:-1]).all()):
                return None  # the reference path sorts or refuses these

        # char_words on the (few) whitespace positions: a space after a
        # non-space character is that token's trailing whitespace ("trailing"),
        # and whitespace after whitespace that is not trailing continues a run
        # token ("cont"); every other character starts a token
        wsp = np.flatnonzero(self.isspace[cps])
        runs: list[str] = []
        spaces = None
        per_char = True
        if len(wsp):
            after_ws = np.zeros(len(wsp), bool)
            after_ws[1:] = wsp[1:] - wsp[:-1] == 1
            trailing = (cps[wsp] == 32) & ~after_ws
            if wsp[0] == 0:
                trailing[0] = False
            cont = np.zeros(len(wsp), bool)
            cont[1:] = after_ws[1:] & ~trailing[:-1]
            tpos, cpos = wsp[trailing], wsp[cont]
            if len(tpos) or len(cpos):
                is_start = np.ones(n, bool)
                is_start[tpos] = False
                is_start[cpos] = False
                aligned = True
                if m:  # a span must start on a token and end where a token's text ends
                    bad_end = np.zeros(n + 1, bool)
                    bad_end[tpos + 1] = True
                    bad_end[cpos] = True
                    aligned = bool(is_start[starts].all()) and not bad_end[ends].any()
                if aligned:  # else the reference tokenises one character per token
                    per_char = False
                    tok = np.flatnonzero(is_start)
                    ntok = len(tok)
                    chars = cps[tok]
                    orth = self.char_ids(chars)
                    # the token of character i is searchsorted(tok, i, "right") - 1;
                    # for a token's first character that is searchsorted(tok, i)
                    if len(tpos):
                        spaces = np.searchsorted(tok, tpos - 1)
                    if len(cpos):  # whitespace runs of 2+ characters are one token each
                        ci = np.flatnonzero(cont)
                        first = np.ones(len(ci), bool)
                        first[1:] = ci[1:] - ci[:-1] != 1
                        last = np.ones(len(ci), bool)
                        last[:-1] = first[1:]
                        run_starts = wsp[ci[first] - 1]
                        run_ends = (wsp[ci[last]] + 1).tolist()
                        runs = [text[a:b] for a, b in zip(run_starts.tolist(), run_ends)]
                        run_id = self.run_id
                        multi = np.searchsorted(tok, run_starts)
                        orth[multi] = [run_id(r) for r in runs]
                        chars = np.delete(chars, multi)
                    if m:
                        starts = np.searchsorted(tok, starts)
                        ends = np.searchsorted(tok, ends - 1, "right")
        if per_char:
            chars, ntok, orth = cps, n, self.char_ids(cps)

        tokens = np.empty((ntok, 3), np.uint64)
        tokens[:, 0] = orth
        if m:
            # ENT_IOB / ENT_TYPE by runs: gap (O, 0), span (I, label), ..., gap
            lens = np.empty(2 * m + 1, np.int64)
            lens[0] = starts[0]
            lens[2:-1:2] = starts[1:] - ends[:-1]
            lens[1::2] = ends - starts
            lens[-1] = ntok - ends[-1]
            iob = np.full(2 * m + 1, 2, np.uint64)  # O
            iob[1::2] = 1  # I
            iob = np.repeat(iob, lens)
            iob[starts] = 3  # B
            tokens[:, 1] = iob
            etype = np.zeros(2 * m + 1, np.uint64)
            etype[1::2] = lids
            tokens[:, 2] = np.repeat(etype, lens)
        else:
            tokens[:, 1] = 2
            tokens[:, 2] = 0
        return tokens, spaces, chars, runs, labels


_CODEC: list = []


def spacy_codec() -> _SpacyCodec | None:
    """The shared fast-path state, or None when the installed spaCy's DocBin is
    not the layout :class:`FastDocBin` writes (then the reference path is used).
    Besides the layout constants, a few tricky records are written both ways
    once and must give the same DocBin."""
    if not _CODEC:
        load_spacy()
        try:
            codec = _SpacyCodec()
            if not _same_docbin(codec, SELF_CHECK_RECORDS):
                raise _Layout("the fast DocBin differs from spaCy's on the self-check records")
        except Exception:  # _Layout, or a spaCy too different to even check
            codec = None
        _CODEC.append(codec)
    return _CODEC[0]


SELF_CHECK_RECORDS = [
    {
        "id": "a",
        "text": "X 在北京  召开\n\n会议 😀e\u0301\xa0\u3000。",
        "spans": [
            {"start": 0, "end": 1, "label": "PERSON", "text": "X"},
            {"start": 3, "end": 5, "label": "LOC", "text": "北京", "attrs": {"k": 1}},
            {"start": 14, "end": 17, "label": "QUANTITY", "text": "😀e\u0301"},
        ],
        "meta": {"m": [1, "二"]},
    },
    {
        "id": "b",
        "text": "统 战 工作\n",
        "spans": [{"start": 1, "end": 3, "label": "ORG", "text": " 战"}],
    },  # starts on a trailing space
    {"id": "c", "text": "无实体", "spans": [], "_input_hash": -5},
]


def both_docbins(codec: _SpacyCodec, recs: list[dict], nlp=None) -> tuple[bytes, bytes]:
    """``recs`` as one DocBin blob by the fast path and by the reference path."""
    import io

    fast, ref = FastDocBin(codec), ReferenceDocBin(nlp)
    out_fast, out_ref = io.BytesIO(), io.BytesIO()
    try:
        for r in recs:
            fast.add(r)
            ref.add(r)
        fast.write_to(out_fast)
    finally:
        fast.abort()
    ref.write_to(out_ref)
    return out_fast.getvalue(), out_ref.getvalue()


def _same_docbin(codec: _SpacyCodec, recs: list[dict]) -> bool:
    import zlib

    fast, ref = both_docbins(codec, recs)
    return zlib.decompress(fast) == zlib.decompress(ref)


class FastDocBin:
    """One DocBin blob written without making spaCy Docs, byte for byte the
    msgpack that ``DocBin.to_bytes`` makes of :class:`ReferenceDocBin`'s Docs.

    Each record's token rows (:meth:`_SpacyCodec.doc_arrays`) are compressed
    by a background thread as they come (zlib releases the GIL, so reading the
    database and compressing use both cores), into a raw deflate stream that
    is spliced between the compressed head (written last, as it holds the
    total size) and the rest: the result is one ordinary zlib stream. Memory
    holds the compressed tokens (spilled to a temporary file past
    ``SPOOL_MAX``) and a few bytes per document, not the token arrays.
    """

    BATCH = 1 << 20  # bytes of token rows per hand-over to the compressor
    SPOOL_MAX = 32 << 20  # compressed token bytes kept in memory; past that, an unnamed temporary file
    THREAD_NAME = "spacy-docbin-zlib"

    def __init__(self, codec: _SpacyCodec):
        import tempfile

        self.codec = codec
        np = codec.np
        self.seen = np.zeros(codec.N_CP, bool)  # characters that are tokens: strings
        self.strings: set[str] = set()
        self.lengths: list[int] = []
        self.spaces: list = []  # per document: indices of tokens with a trailing space, or None
        self.unknown_spaces: list[bool] = []
        self.user_data: list[bytes] = []
        self.n_tokens = 0
        self._batch: list = []
        self._batch_bytes = 0
        self._spool = tempfile.SpooledTemporaryFile(max_size=self.SPOOL_MAX)
        self._queue = None  # the compressor thread starts with the first batch
        self._thread = None
        self._adler = 1
        self._error: BaseException | None = None
        self._nlp = None

    def __len__(self) -> int:
        return len(self.lengths)

    # -- the compressor thread

    def _compress(self) -> None:
        """Deflate every batch into the spool until None comes; a failure is
        kept for :meth:`write_to` (and the queue still drained to the end)."""
        import zlib

        comp = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, -15)
        adler = 1
        write = self._spool.write
        error = None
        while True:
            item = self._queue.get()
            if item is None:
                break
            if error is None:
                try:
                    adler = zlib.adler32(item, adler)
                    out = comp.compress(item)
                    if out:
                        write(out)
                except BaseException as e:  # pragma: no cover - disk full, memory
                    error = e
        if error is None:
            try:
                write(comp.flush(zlib.Z_SYNC_FLUSH))  # byte-aligned, not final: more deflate follows
            except BaseException as e:  # pragma: no cover
                error = e
        self._adler = adler
        self._error = error

    def _hand_over(self) -> None:
        if not self._batch:
            return
        if self._thread is None:
            import queue
            import threading

            self._queue = queue.Queue(maxsize=8)
            self._thread = threading.Thread(target=self._compress, name=self.THREAD_NAME, daemon=True)
            self._thread.start()
        np = self.codec.np
        self._queue.put(np.concatenate(self._batch) if len(self._batch) > 1 else self._batch[0])
        self._batch = []
        self._batch_bytes = 0

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    # -- records

    def add(self, rec: dict) -> None:
        codec = self.codec
        arrays = codec.doc_arrays(rec)
        if arrays is None:
            tokens, spaces, strings, unknown = self._reference_arrays(rec)
            self.strings.update(strings)
            self.strings.update([s["label"] for s in rec["spans"]])
        else:
            tokens, spaces, chars, runs, labels = arrays
            self.seen[chars] = True
            if runs:
                self.strings.update(runs)
            self.strings.update(labels)
            unknown = False
        self.strings.add("")
        self.user_data.append(codec.pack(spacy_user_data(rec)))
        self.lengths.append(len(tokens))
        self.spaces.append(spaces)
        self.unknown_spaces.append(unknown)
        self.n_tokens += len(tokens)
        if self.n_tokens * 24 > _MSGPACK_MAX_BIN:
            _msgpack_bin_header(self.n_tokens * 24)  # refuses now rather than at the end
        self._batch.append(tokens)
        self._batch_bytes += tokens.nbytes
        if self._batch_bytes >= self.BATCH:
            self._hand_over()

    def _reference_arrays(self, rec: dict):
        """Token rows of a record the fast path does not take, from a real Doc."""
        from spacy.attrs import SPACY

        np = self.codec.np
        if self._nlp is None:
            self._nlp = blank_zh()
        doc = spacy_doc(self._nlp, rec)  # raises ExportError as the reference does
        tokens = doc.to_array(self.codec.attrs).reshape((len(doc), 3))
        sp = np.flatnonzero(doc.to_array(SPACY))
        return tokens, (sp if len(sp) else None), {t.text for t in doc}, doc.has_unknown_spaces

    # -- output

    def write_to(self, fh) -> None:
        """Write the DocBin (``DocBin.to_bytes`` format) to the binary file ``fh``."""
        import shutil
        import zlib

        np = self.codec.np
        pack = self.codec.pack
        self._hand_over()
        self._stop()
        if self._error is not None:  # pragma: no cover
            raise self._error
        n_docs = len(self.lengths)
        token_bytes = self.n_tokens * 8 * 3
        head = b"".join(
            [
                b"\x8a",  # a map of 10 entries, in DocBin.to_bytes' order
                pack("version"),
                pack(self.codec.version),
                pack("attrs"),
                pack(self.codec.attrs),
                pack("tokens"),
                _msgpack_bin_header(token_bytes),
            ]
        )
        comp = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, -15)
        fh.write(zlib.compress(b"", _ZLEVEL)[:2])  # the zlib header
        fh.write(comp.compress(head) + comp.flush(zlib.Z_SYNC_FLUSH))
        adler = adler32_combine(zlib.adler32(head), self._adler, token_bytes)
        self._spool.seek(0)
        shutil.copyfileobj(self._spool, fh, 1 << 20)
        self._spool.close()

        comp = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, -15)

        def out(data) -> None:
            nonlocal adler
            adler = zlib.adler32(data, adler)
            fh.write(comp.compress(data))

        out(pack("spaces") + _msgpack_bin_header(self.n_tokens))
        chunk: list = []
        size = 0
        for length, sp in zip(self.lengths, self.spaces):
            flags = np.zeros(length, bool)
            if sp is not None:
                flags[sp] = True
            chunk.append(flags)
            size += length
            if size >= self.BATCH:
                out(np.concatenate(chunk))
                chunk, size = [], 0
        if chunk:
            out(np.concatenate(chunk))
        self.strings.update(chr(c) for c in np.flatnonzero(self.seen).tolist())
        out(
            b"".join(
                [
                    pack("lengths"),
                    pack(np.asarray(self.lengths, dtype="int32").tobytes("C")),
                    pack("strings"),
                    pack(sorted(self.strings)),
                    pack("cats"),
                    pack([{}] * n_docs),
                    pack("flags"),
                    pack([{"has_unknown_spaces": u} for u in self.unknown_spaces]),
                    pack("span_groups"),
                    pack([self.codec.empty_span_groups] * n_docs),
                    pack("user_data"),
                    pack(self.user_data),
                ]
            )
        )
        fh.write(comp.flush(zlib.Z_FINISH))
        fh.write(adler.to_bytes(4, "big"))

    def abort(self) -> None:
        """Stop the compressor thread without writing (an export that failed)."""
        self._batch = []
        self._stop()
        self._spool.close()


def new_docbin():
    """A DocBin blob writer: the fast one, or the reference one if this spaCy's
    DocBin is laid out differently. Both have ``add(rec)``, ``len()``,
    ``write_to(fh)`` and ``abort()``."""
    codec = spacy_codec()
    return FastDocBin(codec) if codec is not None else ReferenceDocBin()


class SpacyWriter:
    """Collects records in a DocBin and writes it on close.

    The DocBin format is one serialized blob (its token arrays are 24 bytes
    per token) written after its last document: :class:`FastDocBin`
    compresses the token rows as they come, into memory up to 32 MB and an
    unnamed temporary file past that, and keeps a few hundred bytes per
    document. With ``shard_dir`` the writer instead writes
    ``{name}-00000.spacy``, ``{name}-00001.spacy``... of ``shard_docs``
    documents each into that folder (``spacy train`` reads a folder of
    ``.spacy`` files, and whoever loads a DocBin holds all of its tokens in
    memory: shards keep that small too). A single file is limited to 4 GiB
    of token rows (about 180 million characters).
    """

    binary = True
    SHARD_DOCS = 1000

    def __init__(
        self, fh: IO[bytes] | None, *, shard_dir: str | None = None, name: str = "docs", shard_docs: int | None = None
    ):
        self.fh = fh
        self.shard_dir = shard_dir
        self.name = name
        self.shard_docs = shard_docs or self.SHARD_DOCS
        self.shards: list[str] = []
        self.docbin = new_docbin()
        self.records = 0
        self.spans = 0

    def write(self, rec: dict) -> None:
        self.docbin.add(rec)
        self.records += 1
        self.spans += len(rec["spans"])
        if self.shard_dir is not None and len(self.docbin) >= self.shard_docs:
            self._write_shard()
            self.docbin = new_docbin()

    def _write_shard(self) -> None:
        path = os.path.join(self.shard_dir, f"{self.name}-{len(self.shards):05d}.spacy")
        with open_output(path, binary=True) as fh:
            self.docbin.write_to(fh)
        self.shards.append(path)

    def abort(self) -> None:
        self.docbin.abort()

    def close(self) -> None:
        if self.shard_dir is None:
            self.docbin.write_to(self.fh)
            return
        if len(self.docbin) or not self.shards:
            self._write_shard()
        else:
            self.docbin.abort()
        # shards left from an earlier, longer export of the same name would be read too
        keep = {os.path.basename(p) for p in self.shards}
        for f in os.listdir(self.shard_dir):
            if (
                f.startswith(f"{self.name}-")
                and f.endswith(".spacy")
                and f not in keep
                and f[len(self.name) + 1 : -6].isdigit()
            ):
                os.unlink(os.path.join(self.shard_dir, f))


WRITERS = {"jsonl": JsonlWriter, "doccano": DoccanoWriter, "conll": ConllWriter, "spacy": SpacyWriter}


def is_shard_dir(output: str) -> bool:
    return output != "-" and (output.endswith(("/", os.sep)) or os.path.isdir(output))


@contextmanager
def open_writer(output: str, fmt: str, *, name: str = "docs"):
    """A writer for ``fmt`` on ``output`` (``-`` = stdout), written atomically.

    ``writer.write(record)`` takes a document record ``{"id", "text", "spans",
    ...}`` (or, for jsonl, any JSON object); ``writer.records`` / ``.spans``
    count what was written. For ``spacy``, an ``output`` that is a folder (or
    ends with ``/``) gets shards ``{name}-NNNNN.spacy`` (memory flat).
    """
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "spacy":
        load_spacy()  # fail before creating the file
        if is_shard_dir(output):
            os.makedirs(output, exist_ok=True)
            w = SpacyWriter(None, shard_dir=output, name=name)
            try:
                yield w
            except BaseException:
                w.abort()
                raise
            w.close()
            return
    elif is_shard_dir(output):
        raise ExportError(f"{output} is a folder; folders of shards are for --format spacy only")
    with open_output(output, binary=fmt in BINARY_FORMATS) as fh:
        w = WRITERS[fmt](fh)
        try:
            yield w
        except BaseException:
            getattr(w, "abort", lambda: None)()  # the spaCy writer's compressor thread
            raise
        w.close()
