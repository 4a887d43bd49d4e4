"""File formats of export and import: plain functions over plain record dicts (no SQL, no store).

A *document record* is ``{"id", "text", "spans": [{"start", "end", "label", "text",
"attrs"}], ...}`` with offsets in Python code points into ``text``, end exclusive. Extra
keys (``meta``, ``_input_hash``, ``annotators``, ``_annotator_id``...) ride along; each
writer keeps what its format can carry.

``jsonl``    one JSON object per line (:mod:`.jsonl`; also the atomic output files).
``doccano``  ``{"id", "text", "label": [[start, end, "LABEL"], ...]}`` plus, when
             any span has attributes, ``"attrs": [[start, end, {...}], ...]``
             (doccano keeps unknown keys as metadata), and in annotation exports
             ``"proposals": [[start, end, {"start", "end", "label", "source"}], ...]``:
             the proposal each span answers (:mod:`.doccano`).
``conll``    character-level BIO: a ``# id = DOC`` comment line per document
             (and ``# key = value`` lines for extra string fields), then one line
             per character ``CHAR<TAB>TAG``, a blank line after every sentence.
             Sentences end after 。！？ (with any closing quotes/brackets that
             follow) and after a newline, never inside a span. Every character
             of the text is written, so the text is rebuilt exactly; characters
             that would break a whitespace-separated column are escaped:
             ``\\s`` space, ``\\n`` newline, ``\\t`` tab, ``\\r`` CR, ``\\\\``
             backslash, ``\\uXXXX`` / ``\\UXXXXXXXX`` any other space,
             separator, control or format character (e.g. ``\\u00a0``) (:mod:`.conll`).
``spacy``    a spaCy ``DocBin`` (``.spacy``), one ``Doc`` per record, tokenised
             one character per token by ``spacy.blank("zh")`` with the ``char``
             segmenter; every span is an entity (``doc.ents``). The record's id,
             ``_input_hash``, extra fields, span attributes (``"attrs"``) and, in
             annotation exports, the proposals the spans answer (``"proposals"``, as
             doccano's) are kept in ``doc.user_data``. spaCy is an optional extra and is imported lazily.
             The DocBin is written without making Docs (:mod:`.docbin`: the same
             msgpack ``DocBin.to_bytes`` makes of them, compressed by a second
             thread as records come); if the installed spaCy lays DocBin out
             otherwise, Docs are made (:mod:`.spacy`, the reference path).
             A ``.spacy`` file holds its compressed token data in memory until
             it is written; an output folder (``-o DIR/``) gets shards of 1000
             documents instead (``spacy train`` reads a folder of ``.spacy``
             files, and loading one file needs its whole token array).

Readers (import) report problems to an :class:`ErrorSink` (``add(line, reason)``) and
go on, so a file's every problem is listed at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol


class ExportError(Exception):
    """The data cannot be exported as asked (a bug upstream, or a missing extra)."""


class ErrorSink(Protocol):
    """Where readers report a problem with a line (None: the whole file) and go on."""

    def add(self, line: int | None, reason: str) -> None: ...


MAX_ERRORS = 20  # problems listed per file (the rest are counted)


class Problems:
    """An :class:`ErrorSink` that keeps a file's problems as ``FILE:LINE: reason`` lines (the
    first :data:`MAX_ERRORS`) and counts them all; ``full`` once there are so many that
    reading on is pointless."""

    def __init__(self, path: str):
        self.path = path
        self.items: list[str] = []
        self.total = 0

    def add(self, line: int | None, reason: str) -> None:
        self.total += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(f"{self.path}:{line}: {reason}" if line else f"{self.path}: {reason}")

    def __bool__(self) -> bool:
        return self.total > 0

    @property
    def full(self) -> bool:
        return self.total >= MAX_ERRORS * 5


def span_attrs(spans: Iterable[Mapping[str, Any]]) -> list[list]:
    """``[[start, end, {...}], ...]`` of the spans that have attributes: how formats without
    a place for them in a span (doccano, spaCy ``user_data``) carry them."""
    return [[s["start"], s["end"], s["attrs"]] for s in spans if s.get("attrs")]


def span_proposals(spans: Iterable[Mapping[str, Any]]) -> list[list]:
    """``[[start, end, {"start", "end", "label", "source"}], ...]`` of the spans that answer a
    proposal (annotation exports): how doccano records say which proposal a span came from."""
    return [[s["start"], s["end"], s["proposal"]] for s in spans if s.get("proposal")]


def span_unsure(spans: Iterable[Mapping[str, Any]]) -> list[list]:
    """``[[start, end, {"note"}], ...]`` of the spans an annotator flagged unsure (annotation
    exports): how doccano records and spaCy's ``user_data`` carry the flags."""
    return [[s["start"], s["end"], s["unsure"]] for s in spans if s.get("unsure") is not None]


def check_flat(doc_id: str, spans: Iterable[Mapping[str, Any]], what: str) -> None:
    """Refuse overlapping spans (``spans`` sorted by start): formats and training need flat spans."""
    prev = None
    for s in spans:
        if prev is not None and s["start"] < prev["end"]:
            raise ExportError(
                f"document {doc_id}: {what} spans overlap: [{prev['start']}, {prev['end']}) {prev['label']} "
                f"and [{s['start']}, {s['end']}) {s['label']}; spans must be flat (fix it in review)"
            )
        prev = s


def not_text_reason(head: bytes, path: str) -> str | None:
    """Why a file whose first bytes are ``head`` is no text to read line by line (one
    problem, said once, rather than a "not UTF-8" per line), or None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (a byte order mark): save the file as UTF-8"
    if b"\x00" not in head:
        return None
    if path.lower().endswith(".spacy"):
        return "a spaCy DocBin (binary) cannot be read here: export it as jsonl, doccano or conll"
    return "binary data, not text (NUL bytes): expected UTF-8 JSON lines or CoNLL"


def detect_kind(obj: Mapping[str, Any]) -> str | None:
    """The shape of one read record: ``conll``, ``doccano``, ``prodigy`` (a ``spans`` line with
    Prodigy's task keys), ``jsonl``, or None (no spans at all)."""
    if obj.get("_format") == "conll":
        return "conll"
    if "entities" in obj or isinstance(obj.get("label"), list):
        return "doccano"
    if "spans" in obj:
        if any(k in obj for k in ("answer", "_input_hash", "_task_hash", "_view_id", "_session_id")):
            return "prodigy"
        return "jsonl"
    return None
