"""Agreement figures: hand-computed small cases (the arithmetic is in the comments),
Krippendorff's alpha against the ``krippendorff`` package, and three (plus one
partial) simulated annotators on the seed gold, with the expected figures derived
independently from how the annotators were built."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest
from click.testing import CliRunner

from workbench.agreement import (
    AnnotationSet,
    agreement_report,
    alpha_from_coincidences,
    char_confusion,
    cohen_kappa,
    coincidences,
    gwet_ac1,
    krippendorff_alpha,
    match_counts,
    pair_agreement,
    percent_agreement,
)
from workbench.core.labels import LABELS
from workbench.review import load_annotation_set


def sp(start, end, label, attrs=None):
    return {"start": start, "end": end, "label": label, "text": "x" * (end - start), "attrs": attrs}


# ---------------------------------------------------------------------------- hand-computed cases


def test_cohen_kappa_two_by_two_by_hand():
    # yes/yes 20, yes/no 5, no/yes 10, no/no 15 → N = 50
    # p_o = (20 + 15) / 50 = 0.7
    # p_A(yes) = 25/50 = 0.5, p_B(yes) = 30/50 = 0.6
    # p_e = 0.5*0.6 + 0.5*0.4 = 0.5 → kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    k = cohen_kappa({("y", "y"): 20, ("y", "n"): 5, ("n", "y"): 10, ("n", "n"): 15})
    assert k == pytest.approx(0.4, abs=1e-12)


def test_cohen_kappa_undefined_and_perfect():
    assert cohen_kappa({}) is None
    assert cohen_kappa({("O", "O"): 10}) is None  # p_e = 1: undefined
    assert cohen_kappa({("a", "a"): 3, ("b", "b"): 2}) == pytest.approx(1.0)


def test_gwet_ac1_by_hand():
    # Gwet (2008) two raters, two categories: 20 y/y, 5 y/n, 10 n/y, 15 n/n (n = 50)
    # p_o = 35/50 = .7; pi_y = (25 + 30) / 100 = .55, pi_n = .45
    # p_e = (.55·.45 + .45·.55) / (2 - 1) = .495 → AC1 = (.7 - .495) / .505 = 41/101
    conf = {("y", "y"): 20, ("y", "n"): 5, ("n", "y"): 10, ("n", "n"): 15}
    assert gwet_ac1(conf) == pytest.approx(41 / 101, abs=1e-12)
    assert percent_agreement(conf) == pytest.approx(0.7)
    # three categories, q = 3: 4 a/a, 2 b/b, 1 c/c, 1 a/b, 2 b/c (n = 10), p_o = .7
    # each rater's counts: A = a5 b4 c1, B = a4 b3 c3
    # pi = (9, 7, 4) / 20 → sum pi(1 - pi) = (9·11 + 7·13 + 4·16) / 400 = 254/400
    # p_e = 254/400 / 2 = 127/400 → AC1 = (.7 - 127/400) / (273/400) = 153/273
    conf3 = {("a", "a"): 4, ("b", "b"): 2, ("c", "c"): 1, ("a", "b"): 1, ("b", "c"): 2}
    assert gwet_ac1(conf3) == pytest.approx(153 / 273, abs=1e-12)
    assert gwet_ac1({}) is None and percent_agreement({}) is None
    assert gwet_ac1({("O", "O"): 10}) is None  # one category used: q = 1, undefined
    # the same table on a two-point scale: p_e = 2·1·0 = 0 → AC1 = p_o = 1
    assert gwet_ac1({("accept", "accept"): 10}, categories=2) == pytest.approx(1.0)


def test_prevalence_paradox_kappa_beside_raw_and_ac1():
    # 110 of 113 decisions agree (all accepts); 2 accept/reject, 1 reject/accept.
    # p_o = 110/113; kappa: p_e = (112·111 + 1·2) / 113² = 12434/12769
    #   → κ = (110·113 - 12434) / (12769 - 12434) = -4/335 ≈ -0.0119
    # AC1: pi_acc = 223/226, pi_rej = 3/226 → p_e = 2·223·3/226² = 1338/51076
    #   → AC1 = (110/113 - 1338/51076) / (1 - 1338/51076) = (49720 - 1338) / (51076 - 1338) = 48382/49738
    conf = {("accept", "accept"): 110, ("accept", "reject"): 2, ("reject", "accept"): 1}
    assert cohen_kappa(conf) == pytest.approx(-4 / 335, abs=1e-12)
    assert gwet_ac1(conf, categories=2) == pytest.approx(48382 / 49738, abs=1e-12)
    assert percent_agreement(conf) == pytest.approx(110 / 113)
    data = AnnotationSet(
        docs={"d": 10},
        spans={"a": {"d": []}, "b": {"d": []}},
        decisions={
            "a": {"d": {i: ("ORG", "reject" if i == 112 else "accept") for i in range(113)}},
            "b": {"d": {i: ("ORG", "reject" if i in (110, 111) else "accept") for i in range(113)}},
        },
    )
    d = pair_agreement(data, "a", "b")["decisions"]
    assert d["shared"] == 113 and d["agree"] == 110
    assert d["percent"] == pytest.approx(110 / 113)
    assert d["kappa"] == pytest.approx(-4 / 335) and d["ac1"] == pytest.approx(48382 / 49738)


def test_char_kappa_by_hand():
    # text of 10 characters; A: PERSON [0,4); B: PERSON [2,6)
    # chars 0,1: P/O   2,3: P/P   4,5: O/P   6..9: O/O
    conf = char_confusion(10, [sp(0, 4, "PERSON")], [sp(2, 6, "PERSON")])
    assert conf == Counter({("PERSON", "O"): 2, ("PERSON", "PERSON"): 2, ("O", "PERSON"): 2, ("O", "O"): 4})
    # p_o = 6/10; p_A(P) = p_B(P) = 4/10; p_e = .16 + .36 = .52
    # kappa = (.6 - .52) / .48 = 1/6
    assert cohen_kappa(conf) == pytest.approx(1 / 6, abs=1e-12)


def test_alpha_by_hand_with_missing_values():
    # 3 coders × 4 units (None = missing):
    #   u1: a a a   → o(a,a) += 3·2/(3-1) = 3
    #   u2: a b -   → o(a,b) += 1, o(b,a) += 1
    #   u3: b b b   → o(b,b) += 3
    #   u4: a - -   → one value: not pairable
    # n_a = 3 + 1 = 4, n_b = 1 + 3 = 4, n = 8
    # alpha = 1 - (n-1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k = 1 - 7·2 / (2·4·4) = 1 - 14/32 = 0.5625
    data = [["a", "a", "b", "a"], ["a", "b", "b", None], ["a", None, "b", None]]
    assert krippendorff_alpha(data) == pytest.approx(0.5625, abs=1e-12)
    o = coincidences(Counter({("a", "a", "a"): 1, ("a", "b"): 1, ("b", "b", "b"): 1, ("a",): 1}))
    assert o == {("a", "a"): 3, ("a", "b"): 1, ("b", "a"): 1, ("b", "b"): 3}
    assert alpha_from_coincidences(o) == pytest.approx(0.5625, abs=1e-12)


def test_alpha_undefined_when_one_value_only():
    assert krippendorff_alpha([["O", "O"], ["O", "O"]]) is None
    assert krippendorff_alpha([["a", None], [None, "b"]]) is None  # nothing pairable


def test_alpha_matches_the_krippendorff_package_on_random_tables():
    import krippendorff
    import numpy as np

    rng = random.Random(7)
    checked = 0
    for _ in range(150):
        coders, units, k = rng.randint(2, 5), rng.randint(2, 25), rng.randint(2, 4)
        table = [[None if rng.random() < 0.25 else rng.randrange(k) for _ in range(units)] for _ in range(coders)]
        mine = krippendorff_alpha(table)
        arr = np.array([[np.nan if v is None else v for v in row] for row in table], dtype=float)
        try:
            with np.errstate(all="ignore"):
                ref = krippendorff.alpha(reliability_data=arr, level_of_measurement="nominal")
        except (ValueError, ZeroDivisionError):
            ref = float("nan")
        if mine is None:
            assert ref is None or math.isnan(ref)
            continue
        assert mine == pytest.approx(ref, abs=1e-9)
        checked += 1
    assert checked > 100


def test_span_prf_exact_and_overlap_by_hand():
    ref = [sp(0, 3, "ORG"), sp(5, 8, "LOC"), sp(10, 12, "PERSON")]
    hyp = [sp(0, 3, "ORG"), sp(5, 7, "LOC"), sp(10, 12, "LOC"), sp(14, 16, "DATE")]
    ex = match_counts(ref, hyp, "exact")
    # ORG: same span → tp 1; LOC: 5-8 vs 5-7, 10-12 → tp 0, fp 2, fn 1; PERSON: fn 1; DATE: fp 1
    assert {k: (c.tp, c.fp, c.fn) for k, c in ex.items()} == {
        "ORG": (1, 0, 0),
        "LOC": (0, 2, 1),
        "PERSON": (0, 0, 1),
        "DATE": (0, 1, 0),
    }
    ov = match_counts(ref, hyp, "overlap")
    # LOC 5-8 overlaps LOC 5-7 → tp 1; LOC 10-12 has no LOC partner → fp 1
    assert {k: (c.tp, c.fp, c.fn) for k, c in ov.items()} == {
        "ORG": (1, 0, 0),
        "LOC": (1, 1, 0),
        "PERSON": (0, 0, 1),
        "DATE": (0, 1, 0),
    }
    data = AnnotationSet(docs={"d": 20}, spans={"a": {"d": ref}, "b": {"d": hyp}})
    p = pair_agreement(data, "a", "b")
    # exact micro: tp 1, fp 3, fn 2 → P = 1/4, R = 1/3, F1 = 2·1 / (2·1 + 3 + 2) = 2/7
    assert (p["exact"]["micro"]["precision"], p["exact"]["micro"]["recall"]) == (0.25, pytest.approx(1 / 3))
    assert p["exact"]["micro"]["f1"] == pytest.approx(2 / 7)
    # overlap micro: tp 2, fp 2, fn 1 → P = 1/2, R = 2/3, F1 = 4 / (4 + 2 + 1) = 4/7
    assert p["overlap"]["micro"]["f1"] == pytest.approx(4 / 7)
    assert p["overlap"]["micro"]["precision"] == 0.5 and p["overlap"]["micro"]["recall"] == pytest.approx(2 / 3)
    # swapping the reference swaps P and R, F1 is symmetric
    q = pair_agreement(data, "b", "a")
    assert q["overlap"]["micro"]["precision"] == pytest.approx(2 / 3)
    assert q["overlap"]["micro"]["f1"] == pytest.approx(4 / 7)


def test_overlap_matching_is_one_to_one():
    # one long span against two short ones inside it: one match, one spare
    c = match_counts([sp(0, 10, "ORG")], [sp(0, 3, "ORG"), sp(5, 8, "ORG")], "overlap")["ORG"]
    assert (c.tp, c.fp, c.fn) == (1, 1, 0)
    # a chain: A 0-5, 6-10; B 4-7 → only one pair can match
    c = match_counts([sp(0, 5, "ORG"), sp(6, 10, "ORG")], [sp(4, 7, "ORG")], "overlap")["ORG"]
    assert (c.tp, c.fp, c.fn) == (1, 0, 1)
    # A 0-5, 6-10; B 0-7, 8-9: both can match (0-5~0-7, 6-10~8-9)
    c = match_counts([sp(0, 5, "ORG"), sp(6, 10, "ORG")], [sp(0, 7, "ORG"), sp(8, 9, "ORG")], "overlap")["ORG"]
    assert (c.tp, c.fp, c.fn) == (2, 0, 0)


def test_decision_kappa_by_hand():
    # proposals 1..5 decided by both, 6 only by a
    # a: acc acc acc rej rej | b: acc rej acc rej acc
    # pairs: (acc,acc)×2, (acc,rej), (rej,rej), (rej,acc) → p_o = 3/5
    # p_a(acc) = 3/5, p_b(acc) = 3/5 → p_e = .36 + .16 = .52 → kappa = (.6 - .52)/.48 = 1/6
    A, R = "accept", "reject"
    da = {1: ("ORG", A), 2: ("ORG", A), 3: ("LOC", A), 4: ("ORG", R), 5: ("LOC", R), 6: ("ORG", A)}
    db = {1: ("ORG", A), 2: ("ORG", R), 3: ("LOC", A), 4: ("ORG", R), 5: ("LOC", A)}
    data = AnnotationSet(
        docs={"d": 5}, spans={"a": {"d": []}, "b": {"d": []}}, decisions={"a": {"d": da}, "b": {"d": db}}
    )
    d = pair_agreement(data, "a", "b")["decisions"]
    assert (d["shared"], d["agree"]) == (5, 3)
    assert d["kappa"] == pytest.approx(1 / 6)
    # --label LOC: proposals 3 and 5 only: (acc,acc), (rej,acc): p_o = 1/2, p_a(acc) = 1/2, p_b(acc) = 1
    # p_e = 1/2·1 + 1/2·0 = 1/2 → kappa = 0
    d = pair_agreement(data, "a", "b", label="LOC")["decisions"]
    assert d["shared"] == 2 and d["kappa"] == pytest.approx(0.0)


def test_report_alpha_uses_missing_values_and_skips_single_docs():
    # doc x (6 chars): a, b, c finished; doc y (4 chars): only a → not a unit
    # a: ORG [0,2) in x; b: ORG [0,2); c: nothing
    # units over x: chars 0,1 = {ORG, ORG, O}; chars 2..5 = {O, O, O}
    #   per char 0/1: o(ORG,ORG) += 2·1/2 = 1, o(ORG,O) += 2·1/2 = 1, o(O,ORG) += 1  (two such chars)
    #   per char 2..5: o(O,O) += 3 (four such chars)
    # o = {ORG,ORG: 2, ORG,O: 2, O,ORG: 2, O,O: 12}; n_ORG = 4, n_O = 14, n = 18
    # alpha = 1 - 17·4 / (2·4·14) = 1 - 68/112 = 44/112 = 0.392857…
    data = AnnotationSet(
        docs={"x": 6, "y": 4},
        spans={"a": {"x": [sp(0, 2, "ORG")], "y": [sp(0, 1, "LOC")]}, "b": {"x": [sp(0, 2, "ORG")]}, "c": {"x": []}},
    )
    rep = agreement_report(data)
    assert rep["alpha"]["documents"] == 1 and rep["alpha"]["characters"] == 6
    assert rep["alpha"]["value"] == pytest.approx(44 / 112)
    assert [(p["a"], p["b"], p["documents"]) for p in rep["pairs"]] == [("a", "b", 1), ("a", "c", 1), ("b", "c", 1)]


# ---------------------------------------------------------------------------- simulated annotators on the seeds


# How each simulated annotator departs from the gold (index i = position of the
# span in the document's gold list). Perturbations stay inside the gold span,
# so a perturbed span never overlaps another gold span.
def drop_b(i):
    return i % 10 == 3


def shrink_b(i, s):
    return not drop_b(i) and i % 7 == 2 and s["end"] - s["start"] > 1


def drop_c(i):
    return i % 15 == 0


def relabel_c(i):
    return not drop_c(i) and i % 8 == 5


def drop_d(i):
    return i % 4 == 0


DAVE_DOCS = 2  # dave finishes only the first two documents


def other_label(label):
    return LABELS[(LABELS.index(label) + 1) % len(LABELS)]


def simulate(store, gold_docs, *, with_dave=True):
    """Proposals = the gold; alice accepts everything, bob rejects drop_b and
    shrinks the end of shrink_b by one, carol rejects drop_c and relabels
    relabel_c, dave (first two documents) rejects drop_d. All finish."""
    for doc_id, g in gold_docs.items():
        store.replace_proposals(doc_id, "gold-sim", "1", [dict(s) for s in g["spans"]])
    for n, (doc_id, g) in enumerate(gold_docs.items()):
        props = store.proposals(doc_id)
        assert [(p["start"], p["end"], p["label"]) for p in props] == [
            (s["start"], s["end"], s["label"]) for s in sorted(g["spans"], key=lambda s: (s["start"], s["end"]))
        ]
        for i, p in enumerate(props):
            kw = dict(
                proposal_id=p["id"],
                start=p["start"],
                end=p["end"],
                label=p["label"],
                text=p["text"],
                attrs=p["attrs"],
                origin="import",
            )
            store.record_decision(doc_id, "alice", "accept", **kw)
            if drop_b(i):
                store.record_decision(doc_id, "bob", "reject", proposal_id=p["id"], origin="import")
            elif shrink_b(i, p):
                store.record_decision(doc_id, "bob", "edit", **{**kw, "end": p["end"] - 1, "text": p["text"][:-1]})
            else:
                store.record_decision(doc_id, "bob", "accept", **kw)
            if drop_c(i):
                store.record_decision(doc_id, "carol", "reject", proposal_id=p["id"], origin="import")
            elif relabel_c(i):
                store.record_decision(
                    doc_id, "carol", "edit", **{**kw, "label": other_label(p["label"]), "attrs": None}
                )
            else:
                store.record_decision(doc_id, "carol", "accept", **kw)
            if with_dave and n < DAVE_DOCS:
                if drop_d(i):
                    store.record_decision(doc_id, "dave", "reject", proposal_id=p["id"], origin="import")
                else:
                    store.record_decision(doc_id, "dave", "accept", **kw)
        for who in ("alice", "bob", "carol") + (("dave",) if with_dave and n < DAVE_DOCS else ()):
            store.record_decision(doc_id, who, "finish", origin="import")


def sorted_gold(g):
    return sorted(g["spans"], key=lambda s: (s["start"], s["end"]))


def char_labels(n, spans):
    """Per-character labels, the plain way (independent of the run-based code)."""
    out = ["O"] * n
    for s in spans:
        for k in range(s["start"], s["end"]):
            out[k] = s["label"]
    return out


def textbook_kappa(xs, ys):
    n = len(xs)
    po = sum(x == y for x, y in zip(xs, ys)) / n
    cx, cy = Counter(xs), Counter(ys)
    pe = sum(cx[c] * cy[c] for c in cx) / (n * n)
    return (po - pe) / (1 - pe)


def version(g, who):
    """The spans annotator ``who`` ends up with, built from the gold and the rules above."""
    out = []
    for i, s in enumerate(sorted_gold(g)):
        if who == "bob":
            if drop_b(i):
                continue
            if shrink_b(i, s):
                s = {**s, "end": s["end"] - 1}
        elif who == "carol":
            if drop_c(i):
                continue
            if relabel_c(i):
                s = {**s, "label": other_label(s["label"])}
        elif who == "dave" and drop_d(i):
            continue
        out.append(s)
    return out


@pytest.fixture
def sim_store(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs)
    return corpus_store


def test_simulated_annotators_span_f1(sim_store, gold_docs):
    rep = agreement_report(load_annotation_set(sim_store))
    assert rep["annotators"] == ["alice", "bob", "carol", "dave"]
    assert rep["finished"] == {"alice": 5, "bob": 5, "carol": 5, "dave": 2}
    pairs = {(p["a"], p["b"]): p for p in rep["pairs"]}
    # expected counts from the index rules only (no span matching)
    idx = [(i, s) for g in gold_docs.values() for i, s in enumerate(sorted_gold(g))]
    n_b_drop = sum(drop_b(i) for i, s in idx)
    n_b_shrink = sum(shrink_b(i, s) for i, s in idx)
    n_c_drop = sum(drop_c(i) for i, s in idx)
    n_c_relabel = sum(relabel_c(i) for i, s in idx)
    total = len(idx)
    ab = pairs[("alice", "bob")]
    # exact: a shrunk span is a false positive and a false negative; a dropped one a false negative
    assert (ab["exact"]["micro"]["tp"], ab["exact"]["micro"]["fp"], ab["exact"]["micro"]["fn"]) == (
        total - n_b_drop - n_b_shrink,
        n_b_shrink,
        n_b_drop + n_b_shrink,
    )
    # overlap: a shrunk span still overlaps its gold span
    assert (ab["overlap"]["micro"]["tp"], ab["overlap"]["micro"]["fp"], ab["overlap"]["micro"]["fn"]) == (
        total - n_b_drop,
        0,
        n_b_drop,
    )
    assert ab["overlap"]["micro"]["precision"] == 1.0
    ac = pairs[("alice", "carol")]
    # a relabelled span matches nothing in either mode
    for mode in ("exact", "overlap"):
        m = ac[mode]["micro"]
        assert (m["tp"], m["fp"], m["fn"]) == (total - n_c_drop - n_c_relabel, n_c_relabel, n_c_drop + n_c_relabel)
    bc = pairs[("bob", "carol")]
    both_exact = sum(not (drop_b(i) or shrink_b(i, s) or drop_c(i) or relabel_c(i)) for i, s in idx)
    assert bc["exact"]["micro"]["tp"] == both_exact
    assert bc["exact"]["micro"]["fp"] == total - n_c_drop - both_exact
    assert bc["exact"]["micro"]["fn"] == total - n_b_drop - both_exact
    assert bc["exact"]["micro"]["f1"] == pytest.approx(2 * both_exact / ((total - n_b_drop) + (total - n_c_drop)))
    # per label: PERSON exact F1 for alice~bob from the PERSON spans alone
    per = [(i, s) for i, s in idx if s["label"] == "PERSON"]
    tp = sum(not drop_b(i) and not shrink_b(i, s) for i, s in per)
    fp = sum(shrink_b(i, s) for i, s in per)
    assert ab["exact"]["labels"]["PERSON"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + (len(per) - tp)))
    # dave shares two documents with everybody
    assert pairs[("alice", "dave")]["documents"] == 2 and ab["documents"] == 5


def test_simulated_annotators_char_kappa_and_alpha(sim_store, gold_docs):
    import krippendorff
    import numpy as np

    rep = agreement_report(load_annotation_set(sim_store))
    pairs = {(p["a"], p["b"]): p for p in rep["pairs"]}
    texts = {d: sim_store.get_document(d)["text"] for d in gold_docs}
    per_char = {who: {} for who in ("alice", "bob", "carol", "dave")}
    for n, (d, g) in enumerate(gold_docs.items()):
        for who in per_char:
            if who == "dave" and n >= DAVE_DOCS:
                continue
            per_char[who][d] = char_labels(len(texts[d]), version(g, who))
    for a, b in (("alice", "bob"), ("alice", "carol"), ("bob", "carol"), ("bob", "dave")):
        docs = [d for d in gold_docs if d in per_char[a] and d in per_char[b]]
        xs = [c for d in docs for c in per_char[a][d]]
        ys = [c for d in docs for c in per_char[b][d]]
        assert pairs[(a, b)]["characters"] == len(xs)
        assert pairs[(a, b)]["char_kappa"] == pytest.approx(textbook_kappa(xs, ys), abs=1e-12)
    # alpha: every character a unit, dave missing on the documents he did not finish
    codes = {lab: k for k, lab in enumerate(("O",) + LABELS)}
    rows = []
    for who in ("alice", "bob", "carol", "dave"):
        row = []
        for d in gold_docs:
            if d in per_char[who]:
                row += [codes[c] for c in per_char[who][d]]
            else:
                row += [np.nan] * len(texts[d])
        rows.append(row)
    ref = krippendorff.alpha(reliability_data=np.array(rows, dtype=float), level_of_measurement="nominal")
    assert rep["alpha"]["value"] == pytest.approx(ref, abs=1e-9)
    assert rep["alpha"]["characters"] == sum(len(t) for t in texts.values())


def test_simulated_annotators_decision_kappa(sim_store, gold_docs):
    rep = agreement_report(load_annotation_set(sim_store))
    pairs = {(p["a"], p["b"]): p for p in rep["pairs"]}
    idx = [(i, s) for g in gold_docs.values() for i, s in enumerate(sorted_gold(g))]
    # alice accepts everything: p_A(accept) = 1 → p_o = p_e = p_B(accept) → kappa 0
    assert pairs[("alice", "bob")]["decisions"]["shared"] == len(idx)
    assert pairs[("alice", "bob")]["decisions"]["kappa"] == pytest.approx(0.0)
    # bob ~ carol: an edit counts as accept; the 2×2 table from the index rules
    xs = ["reject" if drop_b(i) else "accept" for i, s in idx]
    ys = ["reject" if drop_c(i) else "accept" for i, s in idx]
    d = pairs[("bob", "carol")]["decisions"]
    assert d["shared"] == len(idx)
    assert d["agree"] == sum(x == y for x, y in zip(xs, ys))
    assert d["kappa"] == pytest.approx(textbook_kappa(xs, ys), abs=1e-12)


def test_label_filter(sim_store, gold_docs):
    rep = agreement_report(load_annotation_set(sim_store), label="PERSON")
    ab = {(p["a"], p["b"]): p for p in rep["pairs"]}[("alice", "bob")]
    assert list(ab["exact"]["labels"]) == ["PERSON"]
    full = agreement_report(load_annotation_set(sim_store))
    fab = {(p["a"], p["b"]): p for p in full["pairs"]}[("alice", "bob")]
    assert ab["exact"]["micro"] == fab["exact"]["labels"]["PERSON"]
    # characters of other labels count as O
    texts = {d: sim_store.get_document(d)["text"] for d in gold_docs}
    xs, ys = [], []
    for d, g in gold_docs.items():
        xs += char_labels(len(texts[d]), [s for s in version(g, "alice") if s["label"] == "PERSON"])
        ys += char_labels(len(texts[d]), [s for s in version(g, "bob") if s["label"] == "PERSON"])
    assert ab["char_kappa"] == pytest.approx(textbook_kappa(xs, ys), abs=1e-12)


def test_unfinished_documents_do_not_count(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs, with_dave=False)
    doc = next(iter(gold_docs))
    corpus_store.record_decision(doc, "bob", "reopen")
    rep = agreement_report(load_annotation_set(corpus_store))
    pairs = {(p["a"], p["b"]): p for p in rep["pairs"]}
    assert pairs[("alice", "bob")]["documents"] == 4 and pairs[("alice", "carol")]["documents"] == 5
    assert rep["alpha"]["documents"] == 5  # doc still has alice and carol


# ---------------------------------------------------------------------------- the command


def run_cli(db_path, *args):
    from workbench.cli import cli

    return CliRunner().invoke(cli, ["--db", db_path, *args], catch_exceptions=False)


def test_agreement_command_json_and_table(sim_store, db_path):
    r = run_cli(db_path, "agreement", "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep == json.loads(json.dumps(agreement_report(load_annotation_set(sim_store))))
    t = run_cli(db_path, "agreement")
    assert t.exit_code == 0
    ab = {(p["a"], p["b"]): p for p in rep["pairs"]}[("alice", "bob")]
    line = next(ln for ln in t.output.splitlines() if ln.startswith("alice ~ bob "))
    assert f"{ab['exact']['micro']['f1']:.3f}" in line
    # the chance-corrected table: raw agreement, κ and AC1 side by side, chars and decisions
    chance = [ln for ln in t.output.splitlines() if ln.startswith("alice ~ bob ")][1]
    d = ab["decisions"]
    for fig in (f"{100 * ab['char_agreement']:.1f}%", f"{ab['char_kappa']:.3f}", f"{ab['char_ac1']:.3f}"):
        assert fig in chance
    for fig in (f"{100 * d['percent']:.1f}% ({d['agree']})", f"{d['kappa']:.3f}", f"{d['ac1']:.3f}"):
        assert fig in chance
    assert "Gwet's AC1" in t.output
    assert f"{rep['alpha']['value']:.3f}" in t.output
    assert "F1 per label" in t.output and "QUANTITY" in t.output
    r = run_cli(db_path, "agreement", "--label", "person", "--json")
    assert json.loads(r.output)["label"] == "PERSON"
    r = run_cli(db_path, "agreement", "--label", "NAME")
    assert r.exit_code != 0 and "unknown label" in r.output


def test_agreement_command_needs_two_annotators(corpus_store, db_path):
    r = run_cli(db_path, "agreement")
    assert r.exit_code == 1 and "needs two annotators" in r.output and "Traceback" not in r.output
