"""Evaluation math on small hand-made cases."""

from __future__ import annotations

import pytest

from workbench.cli.tables import evaluation_text as format_table
from workbench.evaluate import evaluate, prf


def sp(s, e, label, **attrs):
    d = {"start": s, "end": e, "label": label}
    if attrs:
        d["attrs"] = attrs
    return d


def test_prf():
    assert prf(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    r = prf(2, 4, 2)
    assert r["precision"] == 0.5 and r["recall"] == 1.0 and r["f1"] == pytest.approx(2 / 3)


def test_exact_and_overlap_per_label_and_micro():
    gold = [
        {
            "id": "a",
            "spans": [sp(0, 3, "ORG"), sp(5, 7, "LOC"), sp(10, 12, "QUANTITY", value=30.0, unit="个", approx=None)],
        },
        {"id": "b", "spans": [sp(0, 2, "PERSON")]},
    ]
    pred = [
        {
            "id": "a",
            "spans": [
                sp(0, 3, "ORG"),
                sp(4, 7, "LOC"),
                sp(10, 12, "QUANTITY", value=30, unit="个", approx=None),
                sp(20, 22, "DATE"),
            ],
        },
        {"id": "b", "spans": [sp(0, 2, "LOC")]},
    ]
    r = evaluate(gold, pred)
    ex = r["exact"]
    assert ex["per_label"]["ORG"]["f1"] == 1.0
    assert ex["per_label"]["LOC"] == {"gold": 1, "pred": 2, "tp": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert ex["per_label"]["PERSON"]["recall"] == 0.0
    assert ex["per_label"]["DATE"]["precision"] == 0.0
    # micro: 2 correct (ORG, QUANTITY) of 5 predicted and 4 gold
    assert ex["micro"]["tp"] == 2 and ex["micro"]["pred"] == 5 and ex["micro"]["gold"] == 4
    assert ex["micro"]["precision"] == pytest.approx(2 / 5) and ex["micro"]["recall"] == pytest.approx(2 / 4)
    # overlap: the LOC 4..7 overlaps the gold 5..7 (a label mismatch never matches)
    ov = r["overlap"]
    assert ov["per_label"]["LOC"]["precision"] == pytest.approx(1 / 2) and ov["per_label"]["LOC"]["recall"] == 1.0
    assert ov["per_label"]["PERSON"]["recall"] == 0.0
    assert ov["micro"]["tp_pred"] == 3 and ov["micro"]["tp_gold"] == 3
    # gold stores 30.0, prediction 30: numerically equal
    assert r["quantity_attrs"] == {
        "matched": 1,
        "correct": 1,
        "accuracy": 1.0,
        "value": 1.0,
        "unit": 1.0,
        "approx": 1.0,
    }


def test_quantity_attr_mismatches_are_counted_per_attribute():
    gold = [
        {
            "id": "a",
            "spans": [
                sp(0, 2, "QUANTITY", value=3.0, unit="个", approx=None),
                sp(3, 6, "QUANTITY", value=1500.0, unit="斤", approx="more"),
                sp(7, 9, "QUANTITY", value=1e7, unit="", approx=None),
            ],
        }
    ]
    pred = [
        {
            "id": "a",
            "spans": [
                sp(0, 2, "QUANTITY", value=3, unit="个", approx=None),
                sp(3, 6, "QUANTITY", value=1500, unit="斤", approx=None),
                sp(7, 9, "QUANTITY", value=10000001, unit=None, approx=None),
            ],
        }
    ]
    q = evaluate(gold, pred)["quantity_attrs"]
    assert q["matched"] == 3 and q["correct"] == 1
    assert q["value"] == pytest.approx(2 / 3) and q["approx"] == pytest.approx(2 / 3)
    assert q["unit"] == 1.0  # None and "" are the same empty unit


def test_only_gold_documents_are_scored_and_missing_ones_count_empty():
    gold = [{"id": "a", "spans": [sp(0, 1, "LOC")]}, {"id": "b", "spans": [sp(0, 1, "LOC")]}]
    pred = [{"id": "a", "spans": [sp(0, 1, "LOC")]}, {"id": "zzz", "spans": [sp(0, 1, "LOC")]}]
    r = evaluate(gold, pred)
    assert r["documents"] == 2 and r["documents_without_prediction"] == ["b"]
    assert r["exact"]["micro"]["precision"] == 1.0 and r["exact"]["micro"]["recall"] == 0.5


def test_mapping_input_and_unknown_labels():
    r = evaluate({"a": [sp(0, 1, "EVENT")]}, {"a": {"spans": [sp(0, 1, "EVENT")]}})
    assert "EVENT" in r["labels"] and r["exact"]["per_label"]["EVENT"]["f1"] == 1.0


def test_perfect_and_empty():
    gold = [{"id": "a", "spans": [sp(0, 2, "DATE"), sp(3, 5, "DOC")]}]
    assert evaluate(gold, gold)["exact"]["micro"]["f1"] == 1.0
    r = evaluate(gold, [{"id": "a", "spans": []}])
    assert r["exact"]["micro"]["f1"] == 0.0 and r["quantity_attrs"]["accuracy"] is None


def test_table_lists_labels_and_micro():
    gold = [{"id": "a", "spans": [sp(0, 2, "DATE"), sp(3, 5, "QUANTITY", value=1, unit="个", approx=None)]}]
    out = format_table(evaluate(gold, gold))
    assert "DATE" in out and "micro" in out and "QUANTITY attrs: 1/1" in out
    assert "PERSON" not in out  # labels absent from both sides are left out
