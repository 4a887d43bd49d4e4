"""The learned proposer drops (vetoes) the rules' spans of a label only where the rules were not
precise on the training gold (leave-one-document-out on the dev gold, every veto hit a correct
span of rules the model had not seen at work: learned 0.960 against rules 0.963)."""

from __future__ import annotations

import pytest

from workbench.core.labels import LABELS
from workbench.propose import learned
from workbench.propose.learned import VETO_MIN_SPANS, LearnedProposer, veto_labels


def test_veto_labels_from_the_rules_precision_on_the_training_gold():
    n = VETO_MIN_SPANS
    seen = {"PROGRAM": [n * 5, n * 5 - 1], "LOC": [n * 5, int(n * 5 * 0.9)], "ORG": [n - 1, n - 1]}
    got = veto_labels(seen)
    assert "PROGRAM" not in got  # precise rules: never vetoed
    assert "LOC" in got  # 90% precise: the model may drop its spans
    assert "ORG" in got  # too few spans to tell
    assert set(got) | {"PROGRAM"} == set(LABELS)


@pytest.mark.parametrize("veto,kept", [(None, False), (["LOC"], True), (list(LABELS), False)])
def test_a_low_scored_rules_span_is_dropped_only_for_a_veto_label(monkeypatch, veto, kept):
    text = "开展“同心工程”活动"
    rule = {"start": 3, "end": 7, "label": "PROGRAM", "text": "同心工程", "score": 0.7}

    class A:
        rule_spans = [rule]

    p = LearnedProposer(b"x", "v", veto=veto)

    def model_spans(self, text, a=None, score=()):
        for s in score:
            s["_scored"], s["score"] = True, 0.01  # the model is sure it is wrong
        return []

    monkeypatch.setattr(LearnedProposer, "model_spans", model_spans)
    out = p._propose(text, A())
    assert ([s["text"] for s in out] == ["同心工程"]) is kept


def test_train_records_the_veto_labels(monkeypatch):
    pytest.importorskip("pycrfsuite")
    docs = [
        {
            "id": f"d{i}",
            "text": "王小明在北京市参加“同心工程”活动。",
            "spans": [
                {"start": 0, "end": 3, "label": "PERSON"},
                {"start": 4, "end": 7, "label": "LOC"},
                {"start": 10, "end": 14, "label": "PROGRAM"},
            ],
        }
        for i in range(3)
    ]
    monkeypatch.setitem(learned.TRAIN_PARAMS, "max_iterations", 5)
    _data, figs = learned.train(docs)
    assert figs["veto_labels"] == veto_labels(figs["rules_on_training"])
    assert set(figs["rules_on_training"]) <= set(LABELS)
