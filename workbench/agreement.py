"""Inter-annotator agreement: pure functions over plain span dicts.

No database, no Textual. :func:`workbench.review.load_annotation_set` reads the
store into an :class:`AnnotationSet`; :func:`agreement_report` computes every
figure ``workbench agreement`` prints.

Figures, for every pair of annotators over the documents *both* finished:

* span precision / recall / F1, one annotator taken as the reference (F1 is
  symmetric), per label and micro-averaged (counts summed over labels), with
  two matching rules:

  - ``exact``: same start, end and label;
  - ``overlap`` (printed "1:1 overlap"): same label and at least one shared
    character, each span matched at most once (a maximum one-to-one matching;
    for two flat span lists the greedy left-to-right matching below is maximum).
    Not ``workbench evaluate``'s overlap, which is any-overlap, many-to-many
    (:mod:`workbench.evaluate`): agreement must not let one long span count as
    agreeing with several;

* Cohen's kappa over character labels: every character of the shared
  documents gets the label of the span covering it, or ``O``;
* the kappa of accept/reject decisions on the proposals both annotators
  decided in those documents (``accept`` = accepted or edited: the annotator
  kept a span there; ``reject`` = rejected). Pending proposals are not decisions.

Beside each kappa: the raw percent agreement and Gwet's AC1, a chance-corrected
coefficient that stays meaningful when one category dominates. With good
proposals nearly everything is accepted, and kappa collapses (two annotators who
agree on 110 of 113 decisions get κ = −0.012: the "prevalence paradox"); AC1 of
the same table is 0.973. INCEpTION (DKPro Statistics) offers AC1 for the same reason.

And for all annotators at once: Krippendorff's alpha (nominal) with every
character of every document finished by at least two annotators as a unit;
an annotator who did not finish a document is a missing value there.

Characters are counted as runs between span boundaries, so the cost grows with
the number of spans, not with the length of the text.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .core.labels import LABELS

OUTSIDE = "O"
MATCH_MODES = ("exact", "overlap")
# what each mode means, also in the JSON report (``"matching"``)
MATCHING = {
    "exact": "same start, end and label",
    "overlap": "one-to-one overlap: same label and a shared character, each span matched at most once",
}


# ---------------------------------------------------------------------------- spans → characters


def flat_runs(spans: Iterable[dict], n: int) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` runs sorted, clipped to ``[0, n)`` and made flat
    (a span overlapping an earlier one loses the shared characters)."""
    out: list[tuple[int, int, str]] = []
    last = 0
    for s in sorted(spans, key=lambda s: (s["start"], s["end"], s["label"])):
        a, b = max(s["start"], last, 0), min(s["end"], n)
        if b > a:
            out.append((a, b, s["label"]))
            last = b
    return out


def char_segments(n: int, raters: Sequence[list[dict] | None]) -> Iterable[tuple[int, tuple]]:
    """Split ``[0, n)`` at every span boundary; yield ``(length, labels)`` with one
    label per rater (``O`` outside spans, ``None`` for a rater given as None)."""
    runs = [None if r is None else flat_runs(r, n) for r in raters]
    points = {0, n}
    for r in runs:
        if r:
            for a, b, _ in r:
                points.add(a)
                points.add(b)
    pts = sorted(p for p in points if 0 <= p <= n)
    ptr = [0] * len(runs)
    for a, b in zip(pts, pts[1:]):
        if b <= a:
            continue
        labels: list[str | None] = []
        for i, r in enumerate(runs):
            if r is None:
                labels.append(None)
                continue
            j = ptr[i]
            while j < len(r) and r[j][1] <= a:
                j += 1
            ptr[i] = j
            labels.append(r[j][2] if j < len(r) and r[j][0] <= a else OUTSIDE)
        yield b - a, tuple(labels)


def char_confusion(n: int, spans_a: list[dict], spans_b: list[dict]) -> Counter:
    """``Counter[(label_a, label_b)]`` = number of characters of a text of length ``n``."""
    c: Counter = Counter()
    for length, (la, lb) in char_segments(n, [spans_a, spans_b]):
        c[(la, lb)] += length
    return c


# ---------------------------------------------------------------------------- kappa


def cohen_kappa(confusion: Counter | dict) -> float | None:
    """Cohen's kappa from ``{(a, b): count}``: (p_o - p_e) / (1 - p_e).

    None when undefined (no items, or both raters used one single category, p_e = 1).
    """
    total = sum(confusion.values())
    if not total:
        return None
    agree = sum(v for (a, b), v in confusion.items() if a == b)
    pa: Counter = Counter()
    pb: Counter = Counter()
    for (a, b), v in confusion.items():
        pa[a] += v
        pb[b] += v
    po = Fraction(agree, total)
    pe = sum((Fraction(pa[c] * pb[c], total * total) for c in pa), Fraction(0))
    if pe == 1:
        return None
    return float((po - pe) / (1 - pe))


def percent_agreement(confusion: Counter | dict) -> float | None:
    """Share of items both raters put in the same category; None with no items."""
    total = sum(confusion.values())
    if not total:
        return None
    return sum(v for (a, b), v in confusion.items() if a == b) / total


def gwet_ac1(confusion: Counter | dict, categories: int | None = None) -> float | None:
    """Gwet's AC1 of two raters from ``{(a, b): count}``: (p_o - p_e) / (1 - p_e) with
    p_e = 1/(q - 1) * sum_k pi_k (1 - pi_k), pi_k the mean of both raters' shares of
    category k (Gwet 2008, eq. 17).

    ``q`` (``categories``) defaults to the categories either rater used, as DKPro
    Statistics counts them; None when undefined (no items, or fewer than two categories).
    """
    total = sum(confusion.values())
    if not total:
        return None
    marg: Counter = Counter()
    for (a, b), v in confusion.items():
        marg[a] += v
        marg[b] += v
    q = categories if categories is not None else len(marg)
    if q < 2:
        return None
    po = Fraction(sum(v for (a, b), v in confusion.items() if a == b), total)
    pis = [Fraction(v, 2 * total) for v in marg.values()]
    pe = sum((p * (1 - p) for p in pis), Fraction(0)) / (q - 1)
    if pe == 1:  # pragma: no cover - pi (1 - pi) <= 1/4, so pe < 1 for q >= 2
        return None
    return float((po - pe) / (1 - pe))


# ---------------------------------------------------------------------------- Krippendorff's alpha


def coincidences(units: dict[tuple, int] | Counter) -> dict[tuple[Hashable, Hashable], Fraction]:
    """The coincidence matrix ``o[c, k]`` of nominal data.

    ``units`` maps a unit's multiset of values (a tuple, missing values left
    out) to how many units have exactly it. A unit with ``m`` >= 2 values adds,
    for every ordered pair of its values from different coders, ``1 / (m - 1)``;
    units with fewer than two values are not pairable and add nothing.
    """
    o: dict[tuple, Fraction] = {}
    for values, weight in units.items():
        m = len(values)
        if m < 2 or not weight:
            continue
        counts = Counter(values)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nk - 1) if c == k else nc * nk
                if pairs:
                    o[(c, k)] = o.get((c, k), Fraction(0)) + Fraction(weight * pairs, m - 1)
    return o


def alpha_from_coincidences(o: dict[tuple, Fraction]) -> float | None:
    """Nominal alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k.

    None when undefined (fewer than two pairable values, or one value only).
    """
    n_c: dict[Hashable, Fraction] = {}
    for (c, _k), v in o.items():
        n_c[c] = n_c.get(c, Fraction(0)) + v
    n = sum(n_c.values(), Fraction(0))
    if n <= 1:
        return None
    observed = sum((v for (c, k), v in o.items() if c != k), Fraction(0))
    expected = n * n - sum((v * v for v in n_c.values()), Fraction(0))  # sum_{c!=k} n_c n_k
    if expected == 0:
        return None
    return float(1 - (n - 1) * observed / expected)


def krippendorff_alpha(reliability_data: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Nominal alpha of a coders × units table (None = missing), the layout of
    the ``krippendorff`` package's ``reliability_data``."""
    units: Counter = Counter()
    for column in zip(*reliability_data):
        units[tuple(sorted((v for v in column if v is not None), key=repr))] += 1
    return alpha_from_coincidences(coincidences(units))


# ---------------------------------------------------------------------------- span matching


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def as_dict(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        d = 2 * self.tp + self.fp + self.fn
        f = 2 * self.tp / d if d else None
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": p, "recall": r, "f1": f}


def _overlap_matches(ref: list[tuple[int, int]], hyp: list[tuple[int, int]]) -> int:
    """Size of a maximum one-to-one matching of overlapping intervals.

    Both lists sorted by start. Of the two heads, the one ending first overlaps
    at most the other head among the remaining intervals of the other list
    (when each list is flat), so matching it there, or dropping it, is optimal.
    """
    i = j = tp = 0
    while i < len(ref) and j < len(hyp):
        (a, b), (c, d) = ref[i], hyp[j]
        if a < d and c < b:
            tp += 1
            i += 1
            j += 1
        elif b <= d:
            i += 1
        else:
            j += 1
    return tp


def match_counts(ref: list[dict], hyp: list[dict], mode: str = "exact") -> dict[str, Counts]:
    """Per label: tp (matched pairs), fp (hyp spans unmatched), fn (ref spans unmatched)."""
    if mode not in MATCH_MODES:
        raise ValueError(f"mode must be one of {MATCH_MODES}")
    out: dict[str, Counts] = {}
    labels = {s["label"] for s in ref} | {s["label"] for s in hyp}
    for lab in labels:
        r = sorted((s["start"], s["end"]) for s in ref if s["label"] == lab)
        h = sorted((s["start"], s["end"]) for s in hyp if s["label"] == lab)
        if mode == "exact":
            tp = sum((Counter(r) & Counter(h)).values())
        else:
            tp = _overlap_matches(r, h)
        out[lab] = Counts(tp, len(h) - tp, len(r) - tp)
    return out


# ---------------------------------------------------------------------------- the report


@dataclass
class AnnotationSet:
    """What agreement is computed from.

    ``docs``: doc id → number of characters of its normalized text.
    ``spans``: annotator → doc id → that annotator's spans, for the documents
    the annotator *finished* only.
    ``decisions``: annotator → doc id → proposal id → ``(proposal label,
    "accept" | "reject")`` for the proposals the annotator decided (finished
    documents only).
    """

    docs: dict[str, int]
    spans: dict[str, dict[str, list[dict]]]
    decisions: dict[str, dict[str, dict[int, tuple[str, str]]]] = field(default_factory=dict)

    def annotators(self) -> list[str]:
        return sorted(a for a, d in self.spans.items() if d)


def _ordered_labels(seen: Iterable[str]) -> list[str]:
    seen = set(seen)
    return [lab for lab in LABELS if lab in seen] + sorted(seen - set(LABELS))


def _keep(spans: list[dict], label: str | None) -> list[dict]:
    return spans if label is None else [s for s in spans if s["label"] == label]


def pair_agreement(data: AnnotationSet, a: str, b: str, *, label: str | None = None) -> dict:
    """Every pairwise figure for annotators ``a`` (reference) and ``b``."""
    shared = sorted(set(data.spans.get(a, {})) & set(data.spans.get(b, {})))
    per_mode: dict[str, dict[str, Counts]] = {m: {} for m in MATCH_MODES}
    confusion: Counter = Counter()
    n_spans = [0, 0]
    for doc in shared:
        sa = _keep(data.spans[a][doc], label)
        sb = _keep(data.spans[b][doc], label)
        n_spans[0] += len(sa)
        n_spans[1] += len(sb)
        for mode in MATCH_MODES:
            for lab, c in match_counts(sa, sb, mode).items():
                per_mode[mode].setdefault(lab, Counts()).add(c)
        confusion.update(char_confusion(data.docs[doc], sa, sb))
    spans_out = {}
    for mode in MATCH_MODES:
        micro = Counts()
        for c in per_mode[mode].values():
            micro.add(c)
        spans_out[mode] = {
            "micro": micro.as_dict(),
            "labels": {lab: per_mode[mode][lab].as_dict() for lab in _ordered_labels(per_mode[mode])},
        }
    # decisions on shared proposals
    dconf: Counter = Counter()
    da, db = data.decisions.get(a, {}), data.decisions.get(b, {})
    for doc in shared:
        xa, xb = da.get(doc, {}), db.get(doc, {})
        for pid in xa.keys() & xb.keys():
            lab, va = xa[pid]
            if label is not None and lab != label:
                continue
            dconf[(va, xb[pid][1])] += 1
    n_dec = sum(dconf.values())
    return {
        "a": a,
        "b": b,
        "documents": len(shared),
        "characters": sum(confusion.values()),
        "spans": {a: n_spans[0], b: n_spans[1]},
        **spans_out,
        "char_kappa": cohen_kappa(confusion),
        "char_agreement": percent_agreement(confusion),
        "char_ac1": gwet_ac1(confusion),
        "decisions": {
            "shared": n_dec,
            "agree": sum(v for (x, y), v in dconf.items() if x == y),
            "percent": percent_agreement(dconf),
            "kappa": cohen_kappa(dconf),
            # q = 2 always: accept and reject are the scale even when one was never used
            "ac1": gwet_ac1(dconf, categories=2),
            "table": {f"{x}/{y}": v for (x, y), v in sorted(dconf.items())},
        },
    }


def alpha_units(data: AnnotationSet, *, label: str | None = None) -> tuple[Counter, int, int]:
    """Units for Krippendorff's alpha: ``(Counter[value multiset] of characters,
    documents used, characters used)``. A document counts when at least two
    annotators finished it."""
    anns = data.annotators()
    units: Counter = Counter()
    n_docs = n_chars = 0
    for doc, n in data.docs.items():
        raters = [_keep(data.spans[x][doc], label) if doc in data.spans[x] else None for x in anns]
        if sum(r is not None for r in raters) < 2:
            continue
        n_docs += 1
        n_chars += n
        for length, labels in char_segments(n, raters):
            units[tuple(sorted(v for v in labels if v is not None))] += length
    return units, n_docs, n_chars


def agreement_report(data: AnnotationSet, *, label: str | None = None) -> dict:
    """All figures: ``{"annotators", "label", "alpha": {...}, "pairs": [...]}``.

    Pairs without a shared finished document are listed in ``"no_overlap"``.
    """
    anns = data.annotators()
    units, n_docs, n_chars = alpha_units(data, label=label)
    pairs, no_overlap = [], []
    for a, b in itertools.combinations(anns, 2):
        if set(data.spans[a]) & set(data.spans[b]):
            pairs.append(pair_agreement(data, a, b, label=label))
        else:
            no_overlap.append([a, b])
    return {
        "annotators": anns,
        "label": label,
        "matching": MATCHING,
        "finished": {a: len(data.spans[a]) for a in anns},
        "alpha": {
            "value": alpha_from_coincidences(coincidences(units)),
            "documents": n_docs,
            "characters": n_chars,
        },
        "pairs": pairs,
        "no_overlap": no_overlap,
    }
