"""load_annotation_set from one streaming pass equals the per-document load it replaced,
on a log with every kind of decision: accepts, rejects, edits, adds, removes, undos,
reopens, unfinished documents, superseded runs."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

from workbench.agreement import AnnotationSet, agreement_report
from workbench.propose.run import propose_store
from workbench.review import load_annotation_set

ROOT = Path(__file__).resolve().parent.parent


def _old_loader(store) -> AnnotationSet:
    # the loader before the streaming pass (two queries per annotator and finished document),
    # kept in bench/agreement.py as that bench's baseline
    spec = importlib.util.spec_from_file_location("bench_agreement", ROOT / "bench" / "agreement.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.per_document_loader(store)


def _random_log(store, seed: int) -> None:
    rng = random.Random(seed)
    docs = store.document_ids()
    for ann in ("a1", "a2", "王五"):
        for doc in docs:
            text = store.get_document(doc)["text"]
            if rng.random() < 0.15:
                continue  # never opened
            added: list[int] = []
            for p in store.proposals(doc):
                r = rng.random()
                span = {"start": p["start"], "end": p["end"], "label": p["label"], "text": p["text"]}
                if r < 0.6:
                    store.record_decision(doc, ann, "accept", proposal_id=p["id"], attrs=p["attrs"], **span)
                elif r < 0.75:
                    store.record_decision(doc, ann, "reject", proposal_id=p["id"], **span)
                elif r < 0.85:
                    e = min(len(text), p["end"] + 1)
                    store.record_decision(
                        doc,
                        ann,
                        "edit",
                        proposal_id=p["id"],
                        start=p["start"],
                        end=e,
                        label="ORG",
                        text=text[p["start"] : e],
                    )
            for _ in range(rng.randint(0, 4)):
                s = rng.randrange(0, len(text) - 5)
                added.append(
                    store.record_decision(doc, ann, "add", start=s, end=s + 3, label="LOC", text=text[s : s + 3])
                )
            if added and rng.random() < 0.5:
                a = added[0]
                store.record_decision(doc, ann, "remove", ref_id=a)
            last = store.record_decision(doc, ann, "finish")
            r = rng.random()
            if r < 0.1:
                store.record_decision(doc, ann, "undo", ref_id=last)  # finish undone: not finished
            elif r < 0.2:
                store.record_decision(doc, ann, "reopen")
            elif r < 0.3:
                store.record_decision(doc, ann, "reopen")
                store.record_decision(doc, ann, "finish")


def test_streaming_load_equals_the_per_document_load(corpus_store):
    s = corpus_store
    propose_store(s, proposer="numbers")
    _random_log(s, 1)
    propose_store(s, proposer="rules")  # a second source after decisions
    _random_log(s, 2)
    old, new = _old_loader(s), load_annotation_set(s)
    assert new.spans and new.decisions
    assert new.docs == old.docs
    assert new.spans == old.spans
    assert new.decisions == old.decisions
    assert agreement_report(new) == agreement_report(old)


def test_no_decisions_is_an_empty_set(corpus_store):
    got = load_annotation_set(corpus_store)
    assert got.docs == {} and got.spans == {} and got.decisions == {}
