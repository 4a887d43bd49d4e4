"""Export gold and annotations as training data other tools read correctly.

Pure domain code (no click, no Textual, no SQL): record builders that stream from the
store one document at a time (:class:`workbench.store.exchange.ExchangeQueries`), and the
choice of a writer of :mod:`workbench.formats` for each format.

Record shapes
-------------
*Document records* (gold, and annotations in the document formats) are
``{"id", "text", "spans": [{"start", "end", "label", "text", "attrs"}], ...}``
with offsets in Python code points into the normalized ``text``, end exclusive,
spans sorted by ``(start, end, label)`` (:class:`workbench.core.types.ExportSpan`).
Extra keys (``meta``, ``_input_hash``, ``annotators``, ``_annotator_id``...) ride
along; each writer keeps what its format can carry (see :mod:`workbench.formats`).
QUANTITY values are written canonically (``15000000``, not ``15000000.0``).

*Decision records* (``export annotations`` as JSONL) follow Prodigy's binary
NER shape: one line per (document, annotator, span decision) with
``"answer": "accept" | "reject"`` and ``_input_hash``, ``_task_hash``,
``_annotator_id``, ``_session_id``, ``_timestamp``.

Annotation spans (decision records, and the document records of ``export annotations``)
carry two keys of their own beside the span, so ``import annotations`` rebuilds the same
decisions (tools that don't know them keep them as extra span keys, as Prodigy and spaCy do):

``"proposal": {"start", "end", "label", "source"}``
    on a span that answers a proposal (accepted, edited, rejected): the proposal's own
    bounds, label and source. A span whose bounds or label differ from it is an edit of
    that proposal (bounds moved, relabelled); equal bounds and label with other attrs an
    edit too; no key: a span the annotator added. Proposal ids are not written (they are
    this database's); the bounds find the proposal in any database with the same proposals.
``"attrs_manual": true``
    the attrs were typed by a person (kept through bound moves); absent when they are the
    number grammar's or the proposer's. Beside ``attrs``, never inside: the attrs schema
    is the guide's (value, unit, approx).

doccano records carry the first as ``"proposals": [[start, end, {...}], ...]`` (like our
``"attrs"``), spaCy's ``doc.user_data["proposals"]`` the same list; CoNLL carries neither.

Unsure flags (annotate ``!`` / ``F``) ride along the same way, in annotation exports:

``"unsure": {"note": "..."}`` on a span
    the annotator flagged the span as unsure, with their note (``""``: none).
``"unsure": {"note": "..."}`` on a record
    the annotator flagged the whole document (on every line of it in the JSONL decision
    export). A flagged proposal the annotator left pending gets a line of its own with
    ``"answer": "ignore"`` (Prodigy's "not sure"; ``"status": "pending"``), and a flagged
    document without any decided span one ``"ignore"`` line with ``"spans": []``, so no flag
    is lost; ``import annotations`` reads them back (ignore lines add no span).

doccano records and spaCy's ``doc.user_data`` carry the span flags of the spans they hold as
``"unsure_spans": [[start, end, {"note"}], ...]`` and the document's as ``"unsure"``; CoNLL
carries none.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict, cast

from workbench.core.flags import attach_flags, current_flags
from workbench.core.spans import derive_items
from workbench.store import task_hash
from workbench.store.exchange import ExportDocument

from .core.labels import SCHEMA_NAME
from .core.quantity import canonical_attrs
from .core.types import ACCEPT_STATUSES, ExportSpan, Item
from .formats import ExportError, check_flat
from .formats.conll import ConllWriter
from .formats.docbin import SpacyWriter, is_shard
from .formats.doccano import DoccanoWriter
from .formats.jsonl import JsonlWriter, dumps, open_output
from .formats.spacy import load_spacy
from .outputs import clean_up_beside, open_shard_folder

__all__ = [
    "FORMATS",
    "ExportError",
    "RawOffsets",
    "annotation_document_record",
    "decision_lines",
    "decision_records",
    "format_for",
    "iter_annotation_states",
    "iter_gold_records",
    "open_writer",
]

FORMATS = ("jsonl", "doccano", "conll", "spacy")
# gold the review sync writes by itself (workbench.review.clustering.AUTOMATIC): no reviewer's choice
AUTOMATIC_ORIGINS = ("agreed", "single-annotator")
BINARY_FORMATS = ("spacy",)
SUFFIX_FORMATS = {".spacy": "spacy", ".conll": "conll", ".bio": "conll"}


def format_for(path: str, fmt: str | None) -> str:
    """The format asked for, or the one implied by the file suffix (default jsonl)."""
    if fmt:
        return fmt
    for suffix, f in SUFFIX_FORMATS.items():
        if path.lower().endswith(suffix):
            return f
    return "jsonl"


# ---------------------------------------------------------------------------- records


class GoldRecord(TypedDict):
    """One document's gold (:func:`iter_gold_records`); ``_source``/``_encoding`` with raw offsets."""

    id: str
    text: str
    spans: list[ExportSpan]
    meta: dict
    _input_hash: int
    annotators: list[str]
    _source: NotRequired[str | None]
    _encoding: NotRequired[str | None]


class AnnotationRecord(TypedDict):
    """One annotator's asserted spans of one document (:func:`annotation_document_record`)."""

    id: str
    text: str
    spans: list[ExportSpan]
    meta: dict
    _input_hash: int
    _annotator_id: str
    _session_id: str
    _finished: bool
    unsure: NotRequired[dict]


class DecisionRecord(TypedDict):
    """One decided span, Prodigy's binary NER line (:func:`decision_records`)."""

    id: str
    text: str
    spans: list[ExportSpan]
    answer: Literal["accept", "reject", "ignore"]
    status: str
    source: str | None
    _input_hash: int
    _task_hash: int
    _annotator_id: str
    _session_id: str
    _timestamp: int | None
    _view_id: str
    unsure: NotRequired[dict]


class RawOffsets:
    """Maps normalized spans of one document to its raw text (code points) and,
    when the document came from a file, to byte offsets in that file."""

    def __init__(self, doc: ExportDocument):
        from workbench.store import unpack_ints

        from .core.normalize import raw_byte_offsets

        text = doc["text"]
        self.omap = unpack_ints(doc["offset_map"])  # None = identity
        self.n = len(text)
        self.bytes: Sequence[int] | None = None
        encoding = doc.get("encoding")
        if encoding and encoding != "json":
            try:
                self.bytes = raw_byte_offsets(doc["raw_text"], encoding)
            except LookupError:
                self.bytes = None

    def add(self, span: ExportSpan, start: int, end: int) -> None:
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


class TimedItem(Item):
    """An annotator's item (``derive_items``) with ``ts``: when its state was set, and
    ``unsure``: the annotator's flag on it (``{"note"}``), if any."""

    ts: NotRequired[str | None]
    unsure: NotRequired[dict]


class AnnotatorItems(list[TimedItem]):
    """One annotator's items of one document, and ``doc_flag``: their unsure flag on the
    document (``{"note"}``) or None."""

    doc_flag: dict | None = None


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


def _attrs(v: Any) -> dict | None:
    """Canonical attrs of a span (stored JSON or a dict); ``{}`` is None."""
    if v is not None and not isinstance(v, dict):
        v = json.loads(v)
    return canonical_attrs(v)


# ---------------------------------------------------------------------------- gold


def iter_gold_records(store, *, raw_offsets: bool = False) -> Iterator[GoldRecord]:
    """One record per document that has gold, in ingest order:
    ``{"id", "text", "spans", "meta", "_input_hash", "annotators"}``.

    Spans are sorted by (start, end, label); every span's text is checked
    against the document text, and overlapping gold spans are refused.
    With ``raw_offsets`` each span also gets ``raw_start``/``raw_end`` (code
    points into the raw text) and, for documents read from a file,
    ``raw_byte_start``/``raw_byte_end`` (bytes in that file, BOM included).
    """
    for doc in store.export_gold_documents(with_raw=raw_offsets):
        doc_id, text = doc["id"], doc["text"]
        raw = RawOffsets(doc) if raw_offsets else None
        spans: list[ExportSpan] = []
        ann_lists: set[str] = set()
        n = len(text)
        prev_end = 0
        loads = json.loads
        for start, end, label, stext, attrs, anns, origin, reviewer in store.export_gold_rows(doc_id):
            if text[start:end] != stext or not 0 <= start < end <= n:
                _check_span(doc_id, text, start, end, label, stext)
            if start < prev_end:
                check_flat(doc_id, [*spans, {"start": start, "end": end, "label": label}], "gold")
            prev_end = end
            span: ExportSpan = {
                "start": start,
                "end": end,
                "label": label,
                "text": stext,
                "attrs": canonical_attrs(loads(attrs)) if attrs else None,
                "origin": origin,
            }
            if reviewer is not None and origin not in AUTOMATIC_ORIGINS:
                span["reviewer"] = reviewer
            if raw is not None:
                raw.add(span, start, end)
            spans.append(span)
            ann_lists.add(anns)
        annotators: set[str] = set()
        for a in ann_lists:
            if a and a != "[]":
                annotators.update(loads(a))
        rec: GoldRecord = {
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


def _epoch(ts: str | None) -> int | None:
    if not ts:
        return None
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())


def session_id(annotator: str) -> str:
    return f"{SCHEMA_NAME}-{annotator}"


def iter_annotation_states(
    store, *, annotator: str | None = None, finished_only: bool = False, raw_offsets: bool = False
) -> Iterator[tuple[ExportDocument, str, list[TimedItem], bool, RawOffsets | None]]:
    """``(doc, annotator, items, finished, raw)`` for every document and
    annotator with decisions, in ingest order then annotator name.

    ``items`` are the annotator's current items (``workbench.core.spans.derive_items``,
    the same derivation as ``Store.annotator_items``) with ``ts`` added: the
    time of the decision that set the item's state.
    """
    from workbench.core.spans import is_finished

    for doc in store.export_annotated_documents(annotator, with_raw=raw_offsets):
        doc_id = doc["id"]
        proposals = store.proposals(doc_id, active_only=False)
        decisions = store.decisions(doc_id, annotator)
        by_ann: dict[str, list[dict]] = {}
        for d in decisions:
            by_ann.setdefault(d["annotator"], []).append(d)
        raw = RawOffsets(doc) if raw_offsets else None
        rows: dict[str, list[dict]] = {}
        for r in store.flag_rows(doc_id, annotator):
            rows.setdefault(r["annotator"], []).append(r)
        by_flagger = {a: current_flags(r) for a, r in rows.items()}
        for a, in_force in by_flagger.items():  # flagged without a decision: exported for the flags
            if in_force:
                by_ann.setdefault(a, [])
        for ann in sorted(by_ann):
            decs = by_ann[ann]
            finished = is_finished(decs)
            if finished_only and not finished:
                continue
            ts = {d["id"]: d["ts"] for d in decs}
            items = AnnotatorItems(cast(list[TimedItem], derive_items(proposals, decs)))
            for it in items:
                it["ts"] = ts.get(it["decision_id"])
            flags = by_flagger.get(ann)
            if flags:
                doc_flag, by_key = attach_flags(flags, items)
                items.doc_flag = {"note": doc_flag["note"]} if doc_flag is not None else None
                for it in items:
                    f = by_key.get(it["key"])
                    if f is not None:
                        it["unsure"] = {"note": f["note"]}
            yield doc, ann, items, finished, raw


def _span_of(doc_id: str, text: str, it: Item, raw: RawOffsets | None) -> ExportSpan:
    _check_span(doc_id, text, it["start"], it["end"], it["label"], it["text"])
    span: ExportSpan = {
        "start": it["start"],
        "end": it["end"],
        "label": it["label"],
        "text": it["text"],
        "attrs": _attrs(it["attrs"]),
    }
    if it.get("attrs_manual") and span["attrs"] is not None:
        span["attrs_manual"] = True  # typed by a person (beside attrs: their schema is the guide's)
    p = it["proposal"]
    if p is not None:  # which proposal the span answers: an import finds it again by this
        span["proposal"] = {"start": p["start"], "end": p["end"], "label": p["label"], "source": it.get("source")}
    flag = cast(TimedItem, it).get("unsure")
    if flag is not None:
        span["unsure"] = flag
    if raw is not None:
        raw.add(span, it["start"], it["end"])
    return span


def decision_records(
    doc: ExportDocument, annotator: str, items: list[TimedItem], raw: RawOffsets | None = None
) -> Iterator[DecisionRecord]:
    """Prodigy-style binary lines for one (document, annotator): one line per
    decided span, ``accept`` for accepted/edited/added spans, ``reject`` for
    rejected proposals (negative examples). Pending proposals are not decisions
    and are left out, unless the annotator flagged one unsure: that is an ``ignore`` line
    (Prodigy's "not sure"); a rejected proposal identical to an accepted span (the
    same span proposed twice) is left out too, so a file never says both. The document's
    unsure flag is on every line (``"unsure"``), and on an ``ignore`` line with no span
    when no other line is written."""
    doc_id, text, ih = doc["id"], doc["text"], doc["input_hash"]
    accepted = {(i["start"], i["end"], i["label"]) for i in items if i["status"] in ACCEPT_STATUSES}
    sess = session_id(annotator)
    doc_flag = getattr(items, "doc_flag", None)
    written = 0
    for it in items:
        status = it["status"]
        answer: Literal["accept", "reject", "ignore"]
        if status in ACCEPT_STATUSES:
            answer = "accept"
        elif status == "rejected":
            if (it["start"], it["end"], it["label"]) in accepted:
                continue
            answer = "reject"
        elif it.get("unsure") is not None and (it["start"], it["end"], it["label"]) not in accepted:
            answer = "ignore"
        else:
            continue
        written += 1
        rec: DecisionRecord = {
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
        if doc_flag is not None:
            rec["unsure"] = doc_flag
        yield rec
    if doc_flag is not None and not written:
        yield {
            "id": doc_id,
            "text": text,
            "spans": [],
            "answer": "ignore",
            "status": "document",
            "source": None,
            "_input_hash": ih,
            "_task_hash": ih,
            "_annotator_id": annotator,
            "_session_id": sess,
            "_timestamp": None,
            "_view_id": "ner",
            "unsure": doc_flag,
        }


def decision_lines(
    doc: ExportDocument, annotator: str, items: list[TimedItem], raw: RawOffsets | None = None
) -> Iterator[str]:
    """:func:`decision_records` as JSONL lines (no newline), byte-identical to
    ``dumps(record)``, with the document text encoded once per document instead
    of once per line (the text is most of every line)."""
    text_json = None
    for rec in decision_records(doc, annotator, items, raw):
        if text_json is None:
            text_json = dumps(rec["text"])
        head = dumps({"id": rec["id"]})[:-1]
        rest = cast(dict[str, Any], rec)  # the same dict, without its first two keys
        del rest["id"], rest["text"]
        yield f'{head}, "text": {text_json}, {dumps(rest)[1:]}'


def annotation_document_record(
    doc: ExportDocument, annotator: str, items: list[TimedItem], finished: bool, raw: RawOffsets | None = None
) -> AnnotationRecord:
    """The annotator's asserted spans of one document as a document record
    (for doccano / CoNLL / spaCy, which have no notion of a rejected span)."""
    doc_id, text = doc["id"], doc["text"]
    spans = [_span_of(doc_id, text, it, raw) for it in items if it["status"] in ACCEPT_STATUSES]
    spans.sort(key=lambda s: (s["start"], s["end"], s["label"]))
    check_flat(doc_id, spans, f"{annotator}'s")
    rec: AnnotationRecord = {
        "id": doc_id,
        "text": text,
        "spans": spans,
        "meta": doc["meta"],
        "_input_hash": doc["input_hash"],
        "_annotator_id": annotator,
        "_session_id": session_id(annotator),
        "_finished": finished,
    }
    doc_flag = getattr(items, "doc_flag", None)
    if doc_flag is not None:
        rec["unsure"] = doc_flag
    return rec


# ---------------------------------------------------------------------------- writers


WRITERS: dict[str, type] = {"jsonl": JsonlWriter, "doccano": DoccanoWriter, "conll": ConllWriter, "spacy": SpacyWriter}


def is_shard_dir(output: str) -> bool:
    return output != "-" and (output.endswith(("/", os.sep)) or os.path.isdir(output))


@contextmanager
def open_writer(output: str, fmt: str, *, name: str = "docs") -> Iterator[Any]:
    """A writer for ``fmt`` on ``output`` (``-`` = stdout), written atomically
    (:mod:`workbench.outputs`: devices and FIFOs written through, symlinks followed, the
    mode of an existing file kept; a failure is an :class:`~workbench.outputs.OutputError`).

    ``writer.write(record)`` takes a document record ``{"id", "text", "spans",
    ...}`` (or, for jsonl, any JSON object); ``writer.records`` / ``.spans``
    count what was written. For ``spacy``, an ``output`` that is a folder (or
    ends with ``/``) gets shards ``{name}-NNNNN.spacy`` (memory flat), built in a new folder
    beside it that replaces it at the end (its other files are kept).
    """
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    clean_up_beside(output)  # first: a shard folder a killed export moved away is put back
    if fmt == "spacy":
        load_spacy()  # fail before creating the file
        if is_shard_dir(output):
            # built beside the folder and swapped in: complete old shards or complete new ones
            with open_shard_folder(output, drop=lambda f: is_shard(name, f)) as build:
                w = SpacyWriter(None, shard_dir=build, name=name)
                try:
                    yield w
                except BaseException:
                    w.abort()
                    raise
                w.close()
            w.shards = [os.path.join(output, os.path.basename(p)) for p in w.shards]
            return
    elif is_shard_dir(output):
        raise ExportError(f"{output}: is a folder (folders of shards are for --format spacy only)")
    with open_output(output, binary=fmt in BINARY_FORMATS) as fh:
        w = WRITERS[fmt](fh)
        try:
            yield w
        except BaseException:
            getattr(w, "abort", lambda: None)()  # the spaCy writer's compressor thread
            raise
        w.close()
