"""Span evaluation: predicted spans against gold, per label and micro-averaged.

Pure functions over plain documents ``{"id", "spans": [{"start", "end",
"label", "attrs"?}]}``; no store, no Textual. ``workbench evaluate`` feeds
them the database's proposals (or gold) and a gold JSONL file.

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
from collections import defaultdict
from collections.abc import Iterable, Mapping

from .core.labels import LABELS

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
