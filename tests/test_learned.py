"""The learned proposer (issue 15): ``workbench train`` stores a versioned model row, ``propose
--proposer learned`` runs like every proposer (scores = the model's marginals, decisions kept
when the model changes), and every bad case is one line, exit 1, no traceback.

Trained on two or three of the dev gold's documents to stay fast."""

from __future__ import annotations

import hashlib
import re
import sys

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.core.labels import LABELS
from workbench.store import Store, now_iso


def add_gold(store: Store, doc: dict) -> None:
    rows = [
        {
            "start": s["start"],
            "end": s["end"],
            "label": s["label"],
            "text": s["text"],
            "attrs": s.get("attrs"),
            "origin": "adjudicated",
            "reviewer": "rita",
            "annotators": [],
            "ts": now_iso(),
        }
        for s in doc["spans"]
    ]
    store.settle(doc["id"], insert=rows)


def run(db: str, *args: str):
    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


def one_line_error(r, *needles: str) -> None:
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, gold_docs):
    """A database of the bundled corpus, gold for its first two documents, one model trained."""
    from conftest import CORPUS

    from workbench.ingest import ingest_paths

    db = str(tmp_path_factory.mktemp("learned") / "wb.db")
    with Store(db) as s:
        assert ingest_paths(s, [CORPUS]).added == 5
        ids = s.document_ids()
        assert set(gold_docs) == set(ids)  # the dev gold's ids are the bundled corpus' ids
        for i in ids[:2]:
            assert s.document_text(i) == gold_docs[i]["text"]
            add_gold(s, gold_docs[i])
    r = run(db, "train")
    assert r.exit_code == 0, r.output
    return db, ids


def test_train_is_a_registered_command():
    assert "train" in cli.commands
    r = CliRunner().invoke(cli, ["train", "--help"])
    assert r.exit_code == 0 and "--cv" in r.output and "--with-annotations" in r.output


def test_training_stores_a_versioned_model_row(trained):
    db, ids = trained
    with Store(db, create=False) as s:
        rows = s.models()
        assert len(rows) == 1
        row = rows[0]
        data = s.model_data(row["id"])
    assert row["name"] == "crf"
    assert data and row["size"] == len(data)
    assert row["version"] == hashlib.sha256(data).hexdigest()[:12]
    assert row["labels"] == list(LABELS)
    assert row["documents"] == ids[:2]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", row["created_at"])
    fig = row["figures"]
    assert fig["documents"] == 2 and fig["gold_documents"] == 2 and fig["characters"] > 0
    assert sum(fig["spans"].values()) > 0 and fig["seconds"] >= 0
    assert row["params"]["features"] and row["params"]["tags"] in ("BIO", "BILOU")


def test_propose_learned_scores_are_marginals_and_every_label_can_be_proposed(trained):
    db, ids = trained
    with Store(db, create=False) as s:
        version = s.latest_model("crf")["version"]
    r = run(db, "propose", "--proposer", "learned")
    assert r.exit_code == 0, r.output
    assert f"with learned {version}" in r.output
    with Store(db, create=False) as s:
        props = [p for i in ids for p in s.proposals(i, source="learned")]
        text = {i: s.document_text(i) for i in ids}
    assert props and all(p["version"] == version for p in props)
    assert all(isinstance(p["score"], float) and 0.0 <= p["score"] <= 1.0 for p in props)
    assert all(text[p["doc_id"]][p["start"] : p["end"]] == p["text"] for p in props)
    assert {p["label"] for p in props} == set(LABELS)
    q = [p for p in props if p["label"] == "QUANTITY"]
    assert q and all(p["attrs"] and "value" in p["attrs"] for p in q)
    # not every score is the same: they are the model's probabilities, not a constant
    assert len({p["score"] for p in props}) > 5


def test_retraining_keeps_decisions_made_on_the_old_model(trained, gold_docs):
    db, ids = trained
    assert run(db, "propose", "-p", "learned").exit_code == 0
    with Store(db, create=False) as s:
        old = s.latest_model("crf")["version"]
        target = ids[3]
        prop = s.proposals(target, source="learned")[0]
        s.record_decision(
            target,
            "alice",
            "accept",
            proposal_id=prop["id"],
            start=prop["start"],
            end=prop["end"],
            label=prop["label"],
            text=prop["text"],
            attrs=prop["attrs"],
        )
        add_gold(s, gold_docs[ids[2]])
    r = run(db, "train")
    assert r.exit_code == 0, r.output
    with Store(db, create=False) as s:
        new = s.latest_model("crf")
        assert new["version"] != old and new["documents"] == ids[:3]
        assert [m["version"] for m in s.models()] == [new["version"], old]
    assert run(db, "propose", "-p", "learned").exit_code == 0
    with Store(db, create=False) as s:
        active = s.proposals(target, source="learned")
        assert active and {p["version"] for p in active} == {new["version"]}
        everything = s.proposals(target, active_only=False, source="learned")
        kept = [p for p in everything if p["id"] == prop["id"]]
        assert kept and kept[0]["version"] == old  # the decided proposal of the old run is still there
        items = s.annotator_items(target, "alice")
        assert [it["status"] for it in items if it["proposal_id"] == prop["id"]] == ["accepted"]
        assert s.decisions(target, "alice")[0]["proposal_id"] == prop["id"]
    # training again on the same gold gives the same model: one row, said so
    r = run(db, "train")
    assert r.exit_code == 0 and "unchanged" in r.output
    with Store(db, create=False) as s:
        assert len(s.models()) == 2


def test_cross_validation_prints_rules_and_learned_side_by_side(trained):
    db, _ = trained
    r = run(db, "train", "--cv", "2")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    head = next(ln for ln in lines if "rules P" in ln)
    assert "learned P" in head and "F1" in head
    for L in (*LABELS, "micro"):
        row = next(ln for ln in lines if ln.startswith(L + " "))
        nums = [float(x) for x in row.split()[2:9]]
        assert all(0.0 <= x <= 1.0 for x in nums[:6])
    with Store(db, create=False) as s:
        cv = s.latest_model("crf")["figures"]["cv"]
    assert cv["folds"] == 2 and set(cv["exact"]) == {"rules", "learned", "crf"}


# ---------------------------------------------------------------------------- errors


def test_no_gold_to_train_on(corpus_store):
    one_line_error(run(corpus_store.path, "train"), "no gold to train on")
    one_line_error(run(corpus_store.path, "train", "--with-annotations"), "no gold to train on")
    assert corpus_store.models() == []


def test_propose_learned_without_a_model(corpus_store):
    one_line_error(run(corpus_store.path, "propose", "-p", "learned"), "no trained model", "workbench train")
    assert corpus_store.count("proposals") == 0


def test_a_model_trained_on_another_label_set(corpus_store):
    corpus_store.save_model(
        "crf",
        b"not used",
        labels=["PER", "LOC"],
        documents=[],
        figures={},
        params={"features": "x", "tags": "BIO"},
        created_at=now_iso(),
    )
    one_line_error(run(corpus_store.path, "propose", "-p", "learned"), "another label set", "workbench train")
    assert corpus_store.count("proposals") == 0


def test_the_crf_package_missing(corpus_store, gold_docs, monkeypatch):
    add_gold(corpus_store, gold_docs[corpus_store.document_ids()[0]])
    monkeypatch.setitem(sys.modules, "pycrfsuite", None)  # import pycrfsuite → ImportError
    one_line_error(run(corpus_store.path, "train"), "install python-crfsuite")
    assert corpus_store.models() == []
    from workbench.propose.learned import FEATURES_VERSION, model_params

    corpus_store.save_model(
        "crf", b"x", labels=list(LABELS), documents=[], figures={}, params=model_params(), created_at=now_iso()
    )
    assert model_params()["features"] == FEATURES_VERSION
    one_line_error(run(corpus_store.path, "propose", "-p", "learned"), "install python-crfsuite")
    assert corpus_store.count("proposals") == 0


def test_training_on_finished_annotations(corpus_store):
    doc = corpus_store.document_ids()[1]
    text = corpus_store.document_text(doc)
    i = text.index("统战部") if "统战部" in text else 0
    corpus_store.record_decision(doc, "bob", "add", start=i, end=i + 3, label="ORG", text=text[i : i + 3])
    corpus_store.record_decision(doc, "bob", "finish")
    r = run(corpus_store.path, "train", "--with-annotations")
    assert r.exit_code == 0, r.output
    assert "0 gold documents and 1 finished annotation" in r.output
    row = corpus_store.latest_model("crf")
    assert row["documents"] == [f"{doc}@bob"] and row["figures"]["annotated_documents"] == 1
