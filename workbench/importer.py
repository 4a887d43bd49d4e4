"""Import proposals and annotations made elsewhere.

Every line of the file is parsed and validated against the database first;
any problem is reported as ``FILE:LINE: reason`` (all of them, up to a limit)
and nothing is written. Only a fully valid file is written, in short transactions
(:mod:`workbench.store.bulk`): a later failure takes back what was written.

Accepted shapes, detected per line (or forced with ``fmt``):

``jsonl``    ``{"id", "spans": [{"start", "end", "label", "text"?, "attrs"?, "score"?, "proposal"?,
             "attrs_manual"?}]}``
             (the gold export is this shape);
``doccano``  ``{"id", "text", "label": [[start, end, "LABEL"], ...]}`` (and the newer
             ``"entities": [{"start_offset", "end_offset", "label"}]``), with our
             optional ``"attrs": [[start, end, {...}]]``;
``prodigy``  ``{"text", "spans": [...], "answer", "_input_hash", ...}``: lines whose
             ``answer`` is ``reject`` or ``ignore`` are skipped; several lines for
             one document are merged (binary annotation writes one span per line);
             ``token_start``/``token_end`` and other span keys are ignored;
``conll``    the character-level BIO of ``export --format conll`` (by file suffix
             ``.conll``/``.bio`` or ``fmt="conll"``).

Unsure flags (``"unsure": {"note"}`` on a span and on a line, doccano ``"unsure_spans"``), as
``export annotations`` writes them, become the annotator's flags; they are read from every line,
those answered ``reject`` or ``ignore`` too (which add no span). A file without flags leaves
the annotator's flags alone; with ``replace`` the file's flags are the annotator's afterwards.

Annotation spans may name the proposal they answer (``"proposal": {"start", "end", "label",
"source"?}``; doccano ``"proposals": [[start, end, {...}], ...]``) and mark typed attrs
(``"attrs_manual": true``), as ``export annotations`` writes them (see :mod:`workbench.export`):
such a span is an accept or edit of that proposal (:func:`plan_decisions`). Both are checked
like every other key; files without them are matched by their spans, as always.

A line names its document by ``id`` (or ``meta.id``); without one, by its
``text``, which must then equal a document's normalized text exactly.
Offsets are code points into the normalized text (``workbench export documents``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

from .core.quantity import same_attrs
from .core.types import ACCEPT_STATUSES, Item
from .formats import Problems, detect_kind, not_text_reason
from .formats.conll import read_conll_file
from .formats.doccano import doccano_spans
from .formats.jsonl import jsonl_spans, read_json_lines
from .formats.validate import is_int, shown, unsure_flag, validate_span
from .store.bulk import BulkLimits

T = TypeVar("T")

INPUT_FORMATS = ("auto", "jsonl", "doccano", "prodigy", "conll")


class ImportFailed(Exception):
    """Validation failed; nothing was written. ``errors`` are ``FILE:LINE: reason`` strings."""

    def __init__(self, errors: list[str], total: int | None = None):
        self.errors = errors
        self.total = total if total is not None else len(errors)
        more = self.total - len(errors)
        msg = "\n".join(errors)
        if more > 0:
            msg += f"\n... and {more} more error{'s' if more != 1 else ''}"
        msg += "\nnothing was imported"
        super().__init__(msg)


class _Errors(Problems):
    def raise_if_any(self) -> None:
        if self.total:
            raise ImportFailed(self.items, self.total)


@dataclass
class DocIn:
    doc_id: str
    line: int
    kind: str
    text: str
    spans: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)  # unsure spans: {"start", "end", "label", "note"}
    doc_flag: dict | None = None  # the line's "unsure" (the whole document)
    flags_only: bool = False  # only reject / ignore lines: flags to read, no spans to assert


@dataclass
class ParsedFile:
    path: str
    docs: dict[str, DocIn]
    lines: int = 0
    skipped: int = 0  # prodigy lines answered reject/ignore
    filtered: int = 0  # lines of other annotators (from_annotator)
    sha256: str = ""

    @property
    def n_spans(self) -> int:
        return sum(len(d.spans) for d in self.docs.values())


@dataclass
class ImportResult:
    documents: int = 0  # documents written
    spans: int = 0  # spans written (proposals, or asserted spans)
    unchanged: int = 0  # documents already in the state the file gives
    decisions: int = 0  # decision rows appended (annotations)
    flags: int = 0  # unsure flag rows written (annotations)
    skipped_lines: int = 0
    filtered_lines: int = 0
    version: str | None = None
    dry_run: bool = False


# ---------------------------------------------------------------------------- reading


def _raw_spans(obj: dict, kind: str, lineno: int, errs: _Errors) -> list[dict] | None:
    """The line's spans as ``{"start", "end", "label", "text"?, "attrs"?, "score"?}``."""
    if kind == "doccano":
        return doccano_spans(obj, lineno, errs)
    return jsonl_spans(obj, lineno, errs)


class _Docs:
    """Small LRU cache of document texts, and lookup by text."""

    def __init__(self, store, size: int = 256):
        self.store = store
        self.cache: OrderedDict[str, tuple[str, str] | None] = OrderedDict()
        self.size = size

    def get(self, doc_id: str) -> tuple[str, str] | None:
        if doc_id in self.cache:
            self.cache.move_to_end(doc_id)
            return self.cache[doc_id]
        self.cache[doc_id] = self.store.document_texts(doc_id)
        if len(self.cache) > self.size:
            self.cache.popitem(last=False)
        return self.cache[doc_id]

    def by_text(self, text: str) -> str | None:
        return self.store.document_id_by_text(text)


def _first_diff(a: str, b: str) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def parse_file(
    store, path: str | os.PathLike, *, fmt: str = "auto", flat: bool = True, from_annotator: str | None = None
) -> ParsedFile:
    """Read and validate a whole file against the database; raise
    :class:`ImportFailed` listing every problem (up to a limit).

    ``flat``: overlapping spans are an error (annotations); otherwise they are
    allowed (proposals). Exact duplicates are always merged.
    """
    path = os.fspath(path)
    errs = _Errors(path)
    if fmt not in INPUT_FORMATS:
        raise ImportFailed([f"{path}: unknown format {fmt!r} (choose from {', '.join(INPUT_FORMATS)})"])
    if not os.path.isfile(path):
        raise ImportFailed([f"{path}: no such file"])
    h = hashlib.sha256()
    head = b""
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                head = head or chunk[:4096]
                h.update(chunk)
    except OSError as e:
        raise ImportFailed([f"{path}: cannot read: {e.strerror or e}"]) from None
    not_text = not_text_reason(head, path)
    if not_text:
        raise ImportFailed([f"{path}: {not_text}"])
    pf = ParsedFile(path=path, docs={}, sha256=h.hexdigest())
    if fmt == "conll" or (fmt == "auto" and path.lower().endswith((".conll", ".bio"))):
        records: Iterator[tuple[int, object]] = read_conll_file(path, errs)
    else:
        records = read_json_lines(path, errs)
    docs = _Docs(store)
    annotators_seen: dict[str, int] = {}
    for lineno, obj in records:
        pf.lines += 1
        if errs.full:
            break
        if not isinstance(obj, dict):
            errs.add(lineno, f"expected a JSON object, got {type(obj).__name__}")
            continue
        kind = detect_kind(obj) if fmt in ("auto", "conll") else fmt
        if kind is None:
            errs.add(lineno, 'no spans: expected "spans" (jsonl, Prodigy) or "label" (doccano)')
            continue
        # whose line is it?
        ann = obj.get("_annotator_id")
        if isinstance(ann, str):
            annotators_seen.setdefault(ann, lineno)
            if from_annotator is not None and ann != from_annotator:
                pf.filtered += 1
                continue
        answer = obj.get("answer")
        flags_only = False
        if answer is not None:
            if answer in ("reject", "ignore"):
                pf.skipped += 1
                if not _has_flag(obj):
                    continue
                flags_only = True  # no span to assert, but flags to read
            elif answer != "accept":
                errs.add(lineno, f'"answer" must be accept, reject or ignore, got {shown(answer)}')
                continue
        doc_flag: dict | None = None
        if obj.get("unsure") is not None:
            read = unsure_flag(obj["unsure"])
            if isinstance(read, str):
                errs.add(lineno, read)
                continue
            doc_flag = read
        # which document?
        doc_id = obj.get("id")
        if doc_id is None and isinstance(obj.get("meta"), dict):
            doc_id = obj["meta"].get("id")
        if is_int(doc_id):
            doc_id = str(doc_id)
        line_text = obj.get("text")
        if line_text is not None and not isinstance(line_text, str):
            errs.add(lineno, '"text" must be a string')
            continue
        if doc_id is None:
            if line_text is None:
                errs.add(lineno, 'no "id" and no "text" to find the document by')
                continue
            doc_id = docs.by_text(line_text)
            if doc_id is None:
                errs.add(
                    lineno,
                    'no "id", and no document has exactly this "text" (offsets must refer to the '
                    "normalized text: see workbench export documents)",
                )
                continue
        if not isinstance(doc_id, str) or not doc_id:
            errs.add(lineno, f'"id" must be a non-empty string, got {shown(doc_id)}')
            continue
        found = docs.get(doc_id)
        if found is None and line_text is not None:
            # tools that renumber documents (doccano) keep the text: find it by that
            by_text = docs.by_text(line_text)
            if by_text is not None:
                doc_id, found = by_text, docs.get(by_text)
        if found is None:
            errs.add(lineno, f"unknown document id {shown(doc_id)} (not in the database; ingest it first)")
            continue
        text, raw_text = found
        if line_text is not None and line_text != text:
            if line_text == raw_text:
                hint = "it is the raw text; offsets must refer to the normalized text (see workbench export documents)"
            else:
                hint = f"first difference at character {_first_diff(line_text, text)}"
            errs.add(lineno, f'"text" differs from the text of document "{doc_id}" in the database: {hint}')
            continue
        raw_spans = _raw_spans(obj, kind, lineno, errs)
        if raw_spans is None:
            continue
        spans = []
        for i, sp in enumerate(raw_spans):
            v = validate_span(sp, i, text, lineno, errs)
            if v is None:
                break
            spans.append(v)
        else:
            flags = [
                {"start": v["start"], "end": v["end"], "label": v["label"], "note": v["unsure"]["note"]}
                for v in spans
                if v.get("unsure") is not None
            ]
            if flags_only:
                spans = []
            entry = pf.docs.get(doc_id)
            if entry is None:
                pf.docs[doc_id] = DocIn(doc_id, lineno, kind, text, spans, flags, doc_flag, flags_only)
            elif kind == "prodigy" and entry.kind == "prodigy":
                entry.spans.extend(spans)  # binary annotation: one line per span
                entry.flags.extend(flags)
                entry.doc_flag = entry.doc_flag or doc_flag
                entry.flags_only = entry.flags_only and flags_only
            else:
                errs.add(lineno, f"duplicate document {shown(doc_id)} (first on line {entry.line})")
    if from_annotator is None and len(annotators_seen) > 1:
        names = ", ".join(a if a.isprintable() and len(a) <= 40 else shown(a, 40) for a in sorted(annotators_seen))
        errs.add(None, f"the file mixes the decisions of several annotators ({names}); pick one with --from-annotator")
    elif from_annotator is not None and from_annotator not in annotators_seen:
        errs.add(None, f'no line has "_annotator_id": {shown(from_annotator)}')
    if not errs and pf.lines == 0:
        errs.add(None, "empty file (no records)")
    # per document: merge exact duplicates, check overlaps
    pf.docs = {k: d for k, d in pf.docs.items() if not (d.flags_only and not d.flags and d.doc_flag is None)}
    for d in pf.docs.values():
        d.spans.sort(key=lambda s: (s["start"], s["end"], s["label"], s["line"]))
        merged: list[dict] = []
        seen = set()
        for s in d.spans:
            k = (s["start"], s["end"], s["label"])
            if k in seen:
                continue
            seen.add(k)
            merged.append(s)
        if flat:
            named: dict[tuple, dict] = {}
            for s in sorted(merged, key=lambda s: s["line"]):  # the later line is the one reported
                ref = s.get("proposal")
                if ref is None:
                    continue
                first = named.setdefault((ref["start"], ref["end"], ref["label"], ref["source"]), s)
                if first is not s:
                    errs.add(
                        s["line"],
                        f'document "{d.doc_id}": span [{s["start"]}, {s["end"]}) {s["label"]} names the proposal '
                        f"[{ref['start']}, {ref['end']}) {ref['label']} that span [{first['start']}, {first['end']}) "
                        f"{first['label']}"
                        + (f" (line {first['line']})" if first["line"] != s["line"] else "")
                        + " answers already; a proposal is answered once",
                    )
                    break
            prev = None
            for s in merged:
                if prev is not None and s["start"] < prev["end"]:
                    errs.add(
                        s["line"],
                        f'document "{d.doc_id}": span [{s["start"]}, {s["end"]}) {s["label"]} overlaps '
                        f"[{prev['start']}, {prev['end']}) {prev['label']}"
                        + (f" (line {prev['line']})" if prev["line"] != s["line"] else "")
                        + "; spans are flat",
                    )
                    break
                prev = s
        d.spans = merged
    errs.raise_if_any()
    return pf


# ---------------------------------------------------------------------------- proposals


def _has_flag(obj: dict) -> bool:
    """Whether a line (one answered reject / ignore) carries an unsure flag to read."""
    if obj.get("unsure") is not None or obj.get("unsure_spans"):
        return True
    spans = obj.get("spans")
    return isinstance(spans, list) and any(isinstance(s, dict) and s.get("unsure") is not None for s in spans)


def _same_proposals(store, doc_id: str, source: str, version: str, spans: list[dict]) -> bool:
    """Are this source's active proposals for the document already exactly these?"""
    cur = store.proposals(doc_id, source=source)
    if not cur:
        return not spans
    if any(p["version"] != version for p in cur):
        return False

    def key(x):
        sc = x.get("score")
        return (x["start"], x["end"], x["label"], _attrs_key(x.get("attrs")), sc is None, sc or 0.0)

    return sorted(map(key, cur)) == sorted(map(key, spans))


def import_proposals(
    store,
    path,
    *,
    source: str,
    version: str | None = None,
    fmt: str = "auto",
    dry_run: bool = False,
    progress=None,
    limits: BulkLimits | None = None,
    between: Callable[[], None] | None = None,
) -> ImportResult:
    """Validate ``path`` completely, then store its spans as proposals of
    ``source`` (``version`` defaults to the file's sha256[:12]) in one
    transaction. Documents whose active proposals of this source already are
    this version with these spans are left alone (re-importing is a no-op).
    Overlapping proposals are allowed; exact duplicates are merged."""
    if not source or not source.strip():
        raise ImportFailed([f"{os.fspath(path)}: --source must name the model or tool the proposals come from"])
    pf = parse_file(store, path, fmt=fmt, flat=False)
    version = version or pf.sha256[:12]
    res = ImportResult(skipped_lines=pf.skipped, version=version, dry_run=dry_run)
    todo = []
    for d in pf.docs.values():
        if _same_proposals(store, d.doc_id, source, version, d.spans):
            res.unchanged += 1
        else:
            todo.append(d)
    if dry_run:
        res.documents = len(todo)
        res.spans = sum(len(d.spans) for d in todo)
        return res
    _write_proposals(store, path, todo, source, version, res, progress, limits, between)
    return res


def _batches(items: Iterable[T], rows: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for x in items:
        batch.append(x)
        if len(batch) >= rows:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_proposals(
    store, path, todo: list[DocIn], source: str, version: str, res: ImportResult, progress, limits, between
) -> None:
    """The write part of :func:`import_proposals`: short transactions (one document's
    proposals never split), the earlier state restored if a later one fails
    (:mod:`workbench.store.bulk`); a killed import is finished by importing the file again."""
    run = store.bulk_run("import-proposals", os.path.abspath(path), limits=limits, between=between)

    def write_one(d: DocIn) -> None:
        spans = [{k: s[k] for k in ("start", "end", "label", "text", "attrs", "score")} for s in d.spans]
        res.spans += run.replace_proposals(d.doc_id, source, version, spans)
        res.documents += 1

    try:
        for batch in _batches(progress(todo) if progress else todo, run.limits.rows):
            run.write(batch, write_one)
        run.finish()
    except BaseException:
        run.undo()
        res.spans = res.documents = 0
        raise


# ---------------------------------------------------------------------------- annotations


def _attrs_key(a) -> str:
    return json.dumps(a or None, sort_keys=True, ensure_ascii=False)


def _same_attrs(a: object, b: object) -> bool:
    """Attrs equal by value (``15000000.0 == 15000000``), whatever their static type."""
    return same_attrs(cast(dict | None, a), cast(dict | None, b))


def plan_decisions(items: Sequence[Item], finished: bool, target: list[dict]) -> list[dict]:
    """Decisions that turn an annotator's current ``items`` (``derive_items``)
    into exactly the ``target`` spans, then finish the document.

    A target span that names the proposal it answers (``proposal``: the proposal's start,
    end, label and source, as annotation exports write it) is a decision on that proposal:
    ``accept`` if it equals the proposal (attrs compared by value), else ``edit`` (bounds
    moved, label or attrs changed, or attrs marked ``attrs_manual``: typed by a person, kept
    in the decision). If the items hold no such proposal, or the span names
    none (files of other tools), a span equal (start, end, label) to a proposal accepts it
    (``edit`` if its attrs differ); proposals no target span matches are rejected; target
    spans no proposal has are added; spans the annotator added earlier that the target
    lacks are removed. Items already in the wanted state get no decision, so an annotator
    already in the target state gets ``[]``.
    Each returned dict holds ``record_decision`` arguments (``action`` first).
    """
    consumed: set[int] = set()  # target spans placed (by index)
    kept: set[str] = set()  # items that answer a target span
    actions: list[dict] = []

    def span_args(s: dict) -> dict:
        args = {"start": s["start"], "end": s["end"], "label": s["label"], "text": s["text"], "attrs": s.get("attrs")}
        if s.get("attrs_manual"):
            args["attrs_manual"] = True
        return args

    def same_as(x, w) -> bool:  # attrs by value, and typed or not
        return _same_attrs(x.get("attrs"), w.get("attrs")) and bool(x.get("attrs_manual")) == bool(
            w.get("attrs_manual")
        )

    def ref(it):
        return {"proposal_id": it["proposal_id"]} if it["proposal_id"] is not None else {"ref_id": int(it["key"][1:])}

    def bounds(x) -> tuple:
        return (x["start"], x["end"], x["label"])

    # 0. target spans that name their proposal: a decision on that proposal
    by_proposal: dict[tuple, list] = {}
    for it in items:
        if it["proposal_id"] is not None and it["proposal"] is not None:
            by_proposal.setdefault(bounds(it["proposal"]), []).append(it)
    for i, w in enumerate(target):
        r = w.get("proposal")
        if r is None:
            continue
        cands = [it for it in by_proposal.get(bounds(r), ()) if it["key"] not in kept]
        if not cands:
            continue  # not a proposal here: matched by its span below
        it = next((c for c in cands if c["source"] == r.get("source")), cands[0])
        consumed.add(i)
        kept.add(it["key"])
        p = it["proposal"]
        assert p is not None
        if it["status"] in ACCEPT_STATUSES and bounds(it) == bounds(w) and same_as(it, w):
            continue  # already so
        same = bounds(p) == bounds(w) and same_as(p, w)  # typed attrs are an edit, even the same
        act = "accept" if same else "edit"
        actions.append({"action": act, "proposal_id": it["proposal_id"], **span_args(w)})
    want: dict[tuple, int] = {}
    for i, s in enumerate(target):
        if i not in consumed:
            want.setdefault(bounds(s), i)
    for i, s in enumerate(target):
        if i not in consumed and want[bounds(s)] != i:
            consumed.add(i)  # the same span twice: once is enough
    # 1. spans the annotator already asserts and the target keeps
    for it in items:
        k = bounds(it)
        if it["key"] in kept or it["status"] not in ACCEPT_STATUSES or k not in want or want[k] in consumed:
            continue
        consumed.add(want[k])
        kept.add(it["key"])
        w = target[want[k]]
        if not same_as(it, w):
            actions.append({"action": "edit", **ref(it), **span_args(w)})
    # 2. proposals: accept the ones the target has, reject the rest
    for it in items:
        if it["proposal_id"] is None or it["key"] in kept:
            continue
        p = it["proposal"]
        assert p is not None  # the item of a proposal carries its bounds
        k = bounds(p)
        if k in want and want[k] not in consumed:
            consumed.add(want[k])
            w = target[want[k]]
            act = "accept" if same_as(p, w) else "edit"
            actions.append({"action": act, "proposal_id": it["proposal_id"], **span_args(w)})
        elif it["status"] != "rejected":
            actions.append(
                {
                    "action": "reject",
                    "proposal_id": it["proposal_id"],
                    "start": p["start"],
                    "end": p["end"],
                    "label": p["label"],
                    "text": it["text"],
                    "attrs": None,
                }
            )
    # 3. spans the annotator added that the target lacks
    for it in items:
        if it["proposal_id"] is None and it["key"] not in kept:
            actions.append({"action": "remove", "ref_id": int(it["key"][1:])})
    # 4. target spans nobody proposed
    for i in want.values():
        if i not in consumed:
            actions.append({"action": "add", **span_args(target[i])})
    if actions and finished:
        actions.insert(0, {"action": "reopen"})
    if actions or not finished:
        actions.append({"action": "finish"})
    return actions


def import_annotations(
    store,
    path,
    *,
    annotator: str,
    fmt: str = "auto",
    replace: bool = False,
    from_annotator: str | None = None,
    dry_run: bool = False,
    progress=None,
    limits: BulkLimits | None = None,
    between: Callable[[], None] | None = None,
) -> ImportResult:
    """Validate ``path`` completely, then record its spans as ``annotator``'s
    finished decisions (origin ``import``), in short transactions, all or nothing
    (:func:`_write_annotations`).

    Re-importing: a document where the annotator is already in exactly the
    file's state is left alone (no new rows). A document where the annotator
    has other decisions is refused (nothing imported) unless ``replace``, which
    appends the decisions that bring the annotator to the file's state (the
    log keeps the old ones, as always).
    """
    from workbench.core.names import clean_name

    path_s = os.fspath(path)
    if not annotator or not annotator.strip():
        raise ImportFailed([f"{path_s}: --annotator must name who the annotations are from"])
    annotator = clean_name(annotator, what="annotator name")  # ValueError: not a name
    pf = parse_file(store, path, fmt=fmt, flat=True, from_annotator=from_annotator)
    res = ImportResult(skipped_lines=pf.skipped, filtered_lines=pf.filtered, dry_run=dry_run)
    errs = _Errors(path_s)
    planned: dict[str, tuple[tuple, list[dict]]] = {}

    def run() -> None:
        plans = []
        for d in pf.docs.values():
            stamp = store.document_stamp(d.doc_id, annotator)
            actions, has_work = _plan(store, d, annotator)
            if not actions and not _flag_plan(store, d, annotator, replace, store.annotator_items(d.doc_id, annotator)):
                res.unchanged += 1
                continue
            if has_work and not replace:
                errs.add(
                    d.line,
                    f'annotator "{annotator}" already has decisions on document "{d.doc_id}" that '
                    "differ from this file; pass --replace to overwrite them",
                )
                continue
            planned[d.doc_id] = (stamp, actions)
            plans.append((d, actions))
        errs.raise_if_any()
        if dry_run:
            res.flags = sum(len(d.flags) + (d.doc_flag is not None) for d, _ in plans)
            res.documents = len(plans)
            res.spans = sum(len(d.spans) for d, _ in plans)
            res.decisions = sum(len(a) for _, a in plans)
            return
        _write_annotations(
            store, path_s, [d for d, _ in plans], annotator, replace, res, progress, limits, between, planned
        )

    run()
    return res


def _plan(store, d: DocIn, annotator: str) -> tuple[list[dict], bool]:
    """The decisions that make the annotator's state of ``d`` the file's, and whether the
    annotator has work of their own there (decisions, or the document finished)."""
    from workbench.core.spans import derive_items, is_finished

    decs = store.decisions(d.doc_id, annotator)
    items = derive_items(store.proposals(d.doc_id, active_only=False), decs)
    finished = is_finished(decs)
    has_work = finished or any(i["status"] != "pending" for i in items)
    if d.flags_only:  # reject / ignore lines only: their flags, no decision
        return [], has_work
    return plan_decisions(items, finished, d.spans), has_work


def _flag_plan(store, d: DocIn, annotator: str, replace: bool, items: Sequence[Item]) -> list[dict]:
    """The flag writes that give the annotator the file's unsure flags on ``d`` over their
    current ``items``: ``{"action": "set"|"clear", "item_key", "start", "end", "label", "note"}``.
    A file's span flag goes to the annotator's item of the same span and label (an asserted
    one first). Flags the file does not name are cleared only with ``replace``; without it a
    flag the annotator set is never changed."""
    from workbench.core.flags import attach_flags

    current_doc, current = attach_flags(store.flags_in_force(d.doc_id, annotator), items)
    want: dict[str | None, dict] = {}
    by_span: dict[tuple, dict] = {}
    for it in items:
        k = (it["start"], it["end"], it["label"])
        if k not in by_span or it["status"] in ACCEPT_STATUSES:
            by_span[k] = dict(it)
    for f in d.flags:
        match = by_span.get((f["start"], f["end"], f["label"]))
        if match is not None:
            want[match["key"]] = {**f, "item_key": match["key"]}
    if d.doc_flag is not None:
        want[None] = {"item_key": None, "start": None, "end": None, "label": None, "note": d.doc_flag["note"]}
    have: dict[str | None, dict] = {k: v for k, v in current.items()}
    if current_doc is not None:
        have[None] = current_doc
    out: list[dict] = []
    for key, w in want.items():
        h = have.get(key)
        if h is not None and (h["note"] == w["note"] or not replace):
            continue
        out.append({"action": "set", **w})
    if replace:
        for key, h in have.items():
            if key not in want:
                out.append({"action": "clear", "item_key": h["key"]})
    return out


def _write_flags(store, d: DocIn, annotator: str, replace: bool) -> int:
    """Write :func:`_flag_plan` (inside the caller's transaction); returns the rows written."""
    plan = _flag_plan(store, d, annotator, replace, store.annotator_items(d.doc_id, annotator))
    for f in plan:
        if f["action"] == "set":
            store.set_flag(
                d.doc_id,
                annotator,
                note=f["note"],
                item_key=f["item_key"],
                start=f["start"],
                end=f["end"],
                label=f["label"],
                origin="import",
            )
        else:
            store.clear_flag(d.doc_id, annotator, item_key=f["item_key"], origin="import")
    return len(plan)


def _write_annotations(
    store,
    path: str,
    docs: list[DocIn],
    annotator: str,
    replace: bool,
    res: ImportResult,
    progress,
    limits,
    between,
    planned: dict[str, tuple[tuple, list[dict]]],
) -> None:
    """The write part of :func:`import_annotations`. Each document is planned again inside
    the transaction that writes it (the annotator may have acted since the check), and its
    decisions are never split over two transactions; a document the annotator started
    meanwhile is refused (unless ``replace``) and the whole import taken back, as is any
    later failure (:mod:`workbench.store.bulk`). A killed import is finished by importing
    the same file again (documents already in the file's state are skipped)."""

    run = store.bulk_run("import-annotations", os.path.abspath(path), limits=limits, between=between)
    first_flag = store.max_flag_id()  # flag rows above it are this import's (taken back on failure)

    def write_one(d: DocIn) -> None:
        stamp, actions = planned.get(d.doc_id, ((), []))
        # the plan holds while nothing changed since (planning a 20,000-span document again
        # here held the write lock for over a second); otherwise plan again, inside the write
        if store.document_stamp(d.doc_id, annotator) != stamp:
            actions, has_work = _plan(store, d, annotator)
            if not actions:
                n = _write_flags(store, d, annotator, replace)
                res.flags += n
                res.unchanged += not n
                return
            if has_work and not replace:
                raise ImportFailed(
                    [
                        f'{path}:{d.line}: annotator "{annotator}" started document "{d.doc_id}" during the import; '
                        "pass --replace to overwrite"
                    ]
                )
        if actions:
            res.decisions += run.record_decisions(d.doc_id, annotator, actions, origin="import")
        res.flags += _write_flags(store, d, annotator, replace)
        res.documents += 1
        res.spans += len(d.spans)

    try:
        for batch in _batches(progress(docs) if progress else docs, run.limits.rows):
            run.write(batch, write_one)
        run.finish()
    except BaseException:
        run.undo()
        try:
            store.delete_flags_after(annotator, first_flag, "import")
        except Exception:  # the undo's own failure is reported by the note it leaves
            pass
        res.decisions = res.documents = res.spans = res.flags = 0
        raise
