"""Span evaluation: predicted spans against gold, per label and micro-averaged.

Pure functions over plain documents ``{"id", "spans": [{"start", "end",
"label", "attrs"?}]}``; no store, no Textual. ``workbench evaluate`` feeds
them the database's proposals (or gold) and a gold JSONL file, read and checked
by :func:`read_gold` and :func:`match_gold` (a bad file is a :class:`GoldFileError`
listing ``FILE:LINE: reason`` lines, never a traceback).

* exact match: same start, end and label;
* any-overlap match, many-to-many (the ``overlap`` figures): a predicted span
  counts as correct if it overlaps any gold span of the same label (precision
  side), a gold span counts as found if any predicted span of its label
  overlaps it (recall side); one long prediction can thus "find" several gold
  spans. (``workbench agreement``'s overlap is one-to-one instead: see
  :mod:`workbench.agreement`.);
* QUANTITY attributes: over exactly matched QUANTITY spans, the share whose
  ``value`` (compared numerically: gold 30.0 == predicted 30), ``unit`` and
  ``approx`` are all equal; each attribute's own accuracy too.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .core.labels import LABELS, validate_attrs
from .formats import Problems, not_text_reason
from .formats.jsonl import read_json_lines
from .formats.validate import is_int, shown

# what each set of figures means, also in the JSON result (``"matching"``)
MATCHING = {
    "exact": "same start, end and label",
    "overlap": "any-overlap, many-to-many: a prediction is right if it overlaps any gold span of its label; "
    "a gold span is found if any prediction of its label overlaps it",
}


def prf(tp: int, n_pred: int, n_gold: int, tp_gold: int | None = None) -> dict:
    """Precision, recall, F1. ``tp_gold`` (overlap matching) is the number of gold
    spans found when it differs from the number of correct predictions."""
    tp_gold = tp if tp_gold is None else tp_gold
    p = tp / n_pred if n_pred else 0.0
    r = tp_gold / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def _key(s: dict) -> tuple[int, int, str]:
    return (int(s["start"]), int(s["end"]), s["label"])


def values_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return a == b


def _norm_unit(u):
    return "" if u is None else u


def _as_map(docs) -> dict[str, list[dict]]:
    if isinstance(docs, Mapping):
        return {k: (v["spans"] if isinstance(v, Mapping) else v) for k, v in docs.items()}
    return {d["id"]: d.get("spans") or [] for d in docs}


def evaluate(
    gold_docs: Iterable[dict] | Mapping, pred_docs: Iterable[dict] | Mapping, labels: Iterable[str] | None = None
) -> dict:
    """Compare predicted documents with gold documents (matched by ``id``).

    Only documents present in the gold are scored; a gold document without a
    prediction counts as predicted empty. Returns a JSON-ready dict with
    ``exact`` and ``overlap`` (each ``per_label`` and ``micro``; ``matching`` says
    what they mean),
    ``quantity_attrs`` and counts.
    """
    gold = _as_map(gold_docs)
    pred = _as_map(pred_docs)
    labels = list(labels) if labels is not None else list(LABELS)
    for spans in list(gold.values()) + [pred.get(i, []) for i in gold]:
        for s in spans:
            if s["label"] not in labels:
                labels.append(s["label"])

    ex = {L: {"tp": 0, "gold": 0, "pred": 0} for L in labels}
    ov = {L: {"tp_pred": 0, "tp_gold": 0, "gold": 0, "pred": 0} for L in labels}
    qa = {"matched": 0, "correct": 0, "value": 0, "unit": 0, "approx": 0}
    missing = [i for i in gold if i not in pred]

    for doc_id, gspans in gold.items():
        pspans = pred.get(doc_id, [])
        gmap = {_key(s): s for s in gspans}
        pmap = {_key(s): s for s in pspans}
        for k in gmap:
            ex[k[2]]["gold"] += 1
        for k in pmap:
            ex[k[2]]["pred"] += 1
        for k, g in gmap.items():
            p = pmap.get(k)
            if p is None:
                continue
            ex[k[2]]["tp"] += 1
            if k[2] == "QUANTITY":
                ga, pa = g.get("attrs") or {}, p.get("attrs") or {}
                v = values_equal(ga.get("value"), pa.get("value"))
                u = _norm_unit(ga.get("unit")) == _norm_unit(pa.get("unit"))
                a = ga.get("approx") == pa.get("approx")
                qa["matched"] += 1
                qa["value"] += v
                qa["unit"] += u
                qa["approx"] += a
                qa["correct"] += v and u and a
        # overlap matching, per label, with a sweep over sorted spans
        by_label_g: dict[str, list[tuple[int, int]]] = defaultdict(list)
        by_label_p: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for start, end, L in gmap:
            by_label_g[L].append((start, end))
        for start, end, L in pmap:
            by_label_p[L].append((start, end))
        for L in set(by_label_g) | set(by_label_p):
            gs, ps = sorted(by_label_g.get(L, [])), sorted(by_label_p.get(L, []))
            ov[L]["gold"] += len(gs)
            ov[L]["pred"] += len(ps)
            ov[L]["tp_gold"] += sum(1 for x in gs if _overlaps_any(x, ps))
            ov[L]["tp_pred"] += sum(1 for x in ps if _overlaps_any(x, gs))

    def table_exact():
        per = {}
        for L in labels:
            c = ex[L]
            per[L] = {"gold": c["gold"], "pred": c["pred"], "tp": c["tp"], **prf(c["tp"], c["pred"], c["gold"])}
        tp = sum(c["tp"] for c in ex.values())
        ng = sum(c["gold"] for c in ex.values())
        np_ = sum(c["pred"] for c in ex.values())
        return {"per_label": per, "micro": {"gold": ng, "pred": np_, "tp": tp, **prf(tp, np_, ng)}}

    def table_overlap():
        per = {}
        for L in labels:
            c = ov[L]
            per[L] = {
                "gold": c["gold"],
                "pred": c["pred"],
                "tp_pred": c["tp_pred"],
                "tp_gold": c["tp_gold"],
                **prf(c["tp_pred"], c["pred"], c["gold"], c["tp_gold"]),
            }
        tpp = sum(c["tp_pred"] for c in ov.values())
        tpg = sum(c["tp_gold"] for c in ov.values())
        ng = sum(c["gold"] for c in ov.values())
        np_ = sum(c["pred"] for c in ov.values())
        return {
            "per_label": per,
            "micro": {"gold": ng, "pred": np_, "tp_pred": tpp, "tp_gold": tpg, **prf(tpp, np_, ng, tpg)},
        }

    m = qa["matched"]
    return {
        "documents": len(gold),
        "documents_without_prediction": missing,
        "labels": labels,
        "matching": MATCHING,
        "exact": table_exact(),
        "overlap": table_overlap(),
        "quantity_attrs": {
            "matched": m,
            "correct": qa["correct"],
            "accuracy": qa["correct"] / m if m else None,
            "value": qa["value"] / m if m else None,
            "unit": qa["unit"] / m if m else None,
            "approx": qa["approx"] / m if m else None,
        },
    }


def _overlaps_any(x: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    a, b = x
    # others sorted by start; any with start < b and end > a
    for s, e in others:
        if s >= b:
            break
        if e > a:
            return True
    return False


# ---------------------------------------------------------------------------- the gold file


class GoldFileError(ValueError):
    """The gold file cannot be evaluated against; ``errors`` are ``FILE:LINE: reason``
    (or ``FILE: reason``) lines, the first :data:`MAX_ERRORS` of ``total``."""

    def __init__(self, errors: list[str], total: int | None = None):
        self.errors = errors
        self.total = total if total is not None else len(errors)
        more = self.total - len(errors)
        super().__init__(
            "\n".join(errors) + (f"\n... and {more} more error{'s' if more != 1 else ''}" if more > 0 else "")
        )


class _Problems(Problems):
    """Collects a gold file's problems (the ``ErrorSink`` of the line reader)."""

    def raise_if_any(self) -> None:
        if self.total:
            raise GoldFileError(self.items, self.total)


@dataclass
class GoldFile:
    """A read gold file: ``docs`` are ``{"id", "text"?, "spans", "line"}`` with checked spans
    ``{"start", "end", "label", "attrs", "text"?}``."""

    path: str
    docs: list[dict] = field(default_factory=list)


@dataclass
class GoldMatch:
    """The gold documents to score (``{"id", "spans"}``) and the ids skipped: not in the
    database, or with another text there."""

    docs: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    text_differs: list[str] = field(default_factory=list)


def _gold_span(sp: object, i: int, text: str | None) -> tuple[dict | None, str | None]:
    """Span ``i`` (0-based) of a gold line checked (against ``text`` when the line has one):
    ``(span, None)`` or ``(None, reason)``."""
    where = f"span {i + 1}"
    if not isinstance(sp, dict):
        return None, f"{where}: expected an object, got {shown(sp)}"
    missing = [k for k in ("start", "end", "label") if k not in sp]
    if missing:
        return None, f"{where}: missing {', '.join(repr(m) for m in missing)}"
    s, e, lab = sp["start"], sp["end"], sp["label"]
    if not is_int(s) or not is_int(e):
        return None, f"{where}: start and end must be integers, got {shown(s, 40)} and {shown(e, 40)}"
    where = f"span {i + 1} [{s}, {e})"
    if e <= s:
        return None, f"{where}: end must be greater than start"
    if s < 0 or (text is not None and e > len(text)):
        n = f"the document has {len(text)} characters" if text is not None else "offsets start at 0"
        return None, f"{where}: offsets out of range ({n})"
    if not isinstance(lab, str) or not lab.strip():
        return None, f"{where}: label must be a non-empty string, got {shown(lab)}"
    out = {"start": s, "end": e, "label": lab, "attrs": sp.get("attrs")}
    stext = sp.get("text")
    if stext is not None:
        if not isinstance(stext, str):
            return None, f"{where}: span text must be a string, got {shown(stext)}"
        out["text"] = stext
    reason = _span_text_error(out, text)
    if reason:
        return None, f"{where}: {reason}"
    attrs = out["attrs"]
    if attrs is not None and not isinstance(attrs, dict):
        return None, f"{where} {lab}: attrs must be an object, got {shown(attrs)}"
    err = validate_attrs(lab, attrs) if lab in LABELS else None
    if err:
        return None, f"{where} {lab}: {err}"
    return out, None


def _span_text_error(sp: dict, text: str | None) -> str | None:
    stext = sp.get("text")
    if text is None or stext is None or stext == text[sp["start"] : sp["end"]]:
        return None
    return f"span text {shown(stext)} does not match the document text there {shown(text[sp['start'] : sp['end']])}"


def read_gold(path: str | os.PathLike) -> GoldFile:
    """Read a gold JSONL file, ``{"id", "text"?, "spans": [{"start", "end", "label",
    "text"?, "attrs"?}]}`` per line, strictly (:func:`workbench.core.jsonline.loads`) and
    completely; raise :class:`GoldFileError` listing its problems. Offsets are checked
    against the line's ``text`` if it has one (else by :func:`match_gold`); labels are any
    non-empty strings (a label outside ours is scored as its own); ids are unique."""
    path = os.fspath(path)
    errs = _Problems(path)
    gold = GoldFile(path)
    first: dict[str, int] = {}
    try:
        with open(path, "rb") as fh:
            not_text = not_text_reason(fh.read(4096), path)
        if not_text:
            raise GoldFileError([f"{path}: {not_text}"])
        for lineno, obj in read_json_lines(path, errs):
            if errs.full:
                break
            reason = _gold_record(obj, lineno, first, gold)
            if reason:
                errs.add(lineno, reason)
    except OSError as e:
        raise GoldFileError([f"{path}: cannot read: {e.strerror or e}"]) from None
    if not errs.total and not gold.docs:
        errs.add(None, "empty file (no JSON lines)")
    errs.raise_if_any()
    return gold


def _gold_record(obj: object, lineno: int, first: dict[str, int], gold: GoldFile) -> str | None:
    if not isinstance(obj, dict):
        return f'expected a JSON object {{"id", "spans"}}, got {shown(obj, 40)}'
    if "id" not in obj:
        return 'missing "id"'
    doc_id = obj["id"]
    if not isinstance(doc_id, str) or not doc_id:
        return f'"id" must be a non-empty string, got {shown(doc_id)}'
    if "spans" not in obj:
        return 'missing "spans" (a list of {"start", "end", "label"})'
    if not isinstance(obj["spans"], list):
        return f'"spans" must be a list, got {shown(obj["spans"])}'
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        return f'"text" must be a string, got {shown(text)}'
    if doc_id in first:
        return f"duplicate document {shown(doc_id)} (first on line {first[doc_id]})"
    spans = []
    for i, sp in enumerate(obj["spans"]):
        checked, reason = _gold_span(sp, i, text)
        if reason:
            return reason
        spans.append(checked)
    first[doc_id] = lineno
    doc = {"id": doc_id, "spans": spans, "line": lineno}
    if text is not None:
        doc["text"] = text
    gold.docs.append(doc)
    return None


def match_gold(gold: GoldFile, text_of: Callable[[str], str | None]) -> GoldMatch:
    """The gold documents that can be scored: ``text_of(id)`` is the database's text of a
    document (None: not there, skipped). A line with a ``text`` other than the database's is
    skipped; a line without one has its offsets (and span texts) checked against the
    database's text, and a span that does not fit is a :class:`GoldFileError`."""
    errs = _Problems(gold.path)
    out = GoldMatch()
    for d in gold.docs:
        text = text_of(d["id"])
        if text is None:
            out.missing.append(d["id"])
            continue
        if "text" in d:
            if d["text"] != text:
                out.text_differs.append(d["id"])
                continue
        else:
            for i, sp in enumerate(d["spans"]):
                where = f"span {i + 1} [{sp['start']}, {sp['end']})"
                if sp["end"] > len(text):
                    errs.add(d["line"], f"{where}: offsets out of range (the document has {len(text)} characters)")
                    break
                reason = _span_text_error(sp, text)
                if reason:
                    errs.add(d["line"], f"{where}: {reason}")
                    break
        out.docs.append({"id": d["id"], "spans": d["spans"]})
    errs.raise_if_any()
    return out
