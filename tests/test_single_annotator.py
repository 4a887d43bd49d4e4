"""Issue 13: one annotator alone reaches gold. A document with no assignments, or with one
assigned annotator, is settled into gold once that annotator finished it (origin
``single-annotator``), through the same review sync; ``export gold`` says when finished
documents are not in gold yet and what to run."""

from __future__ import annotations

import json

from click.testing import CliRunner

from workbench.cli import cli
from workbench.session import AnnotationSession

DOC0 = "000_d84f443ac205a69d"


def run(store, *args):
    return CliRunner().invoke(cli, ["--db", store.path, *args])


def finish_doc(store, annotator: str, doc_id: str = DOC0, *, reject_first: bool = False) -> int:
    s = AnnotationSession(store, annotator, doc_id=doc_id)
    if reject_first:
        s.reject()
    s.accept_all()
    s.finish(force=True)
    return len(store.annotator_spans(doc_id, annotator))


def test_one_annotator_without_assignments_reaches_gold(corpus_store, gold_docs, tmp_path):
    corpus_store.replace_proposals(DOC0, "test", "1", [dict(s) for s in gold_docs[DOC0]["spans"]])
    n = finish_doc(corpus_store, "solo")
    assert n > 0
    out = tmp_path / "gold.jsonl"
    r = run(corpus_store, "export", "gold", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "1 finished document is not in gold yet" in r.output and "workbench review" in r.output
    r = run(corpus_store, "review", "--summary", "--reviewer", "lead")
    assert r.exit_code == 0, r.output
    r = run(corpus_store, "export", "gold", "-o", str(out))
    assert r.exit_code == 0, r.output
    (rec,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert rec["id"] == DOC0 and len(rec["spans"]) == n and rec["annotators"] == ["solo"]
    assert "not in gold yet" not in r.output
    origins = {g["origin"] for g in corpus_store.gold_rows(DOC0)}
    assert origins == {"single-annotator"}


def test_one_assigned_annotator_reaches_gold_as_single_annotator(corpus_store, gold_docs):
    corpus_store.replace_proposals(DOC0, "test", "1", [dict(s) for s in gold_docs[DOC0]["spans"]])
    corpus_store.assign([(DOC0, "solo")])
    finish_doc(corpus_store, "solo")
    r = run(corpus_store, "review", "--summary", "--reviewer", "lead")
    assert r.exit_code == 0, r.output
    assert {g["origin"] for g in corpus_store.gold_rows(DOC0)} == {"single-annotator"}


def test_a_second_annotator_later_turns_single_gold_into_agreed_and_disagreements(corpus_store, gold_docs):
    corpus_store.replace_proposals(DOC0, "test", "1", [dict(s) for s in gold_docs[DOC0]["spans"]])
    n = finish_doc(corpus_store, "solo")
    assert run(corpus_store, "review", "--summary", "--reviewer", "lead").exit_code == 0
    finish_doc(corpus_store, "second", reject_first=True)  # agrees on all but one span
    r = run(corpus_store, "review", "--summary", "--reviewer", "lead")
    assert r.exit_code == 0, r.output
    rows = corpus_store.gold_rows(DOC0)
    assert {g["origin"] for g in rows} == {"agreed"}
    assert len(rows) == n - 1
    assert "disagreements unsettled: 1" in r.output


def test_an_annotator_outside_the_assignments_is_told_the_real_reason(corpus_store):
    import pytest

    from workbench.session import SessionError

    corpus_store.assign([(d, a) for d in corpus_store.document_ids() for a in ("a1", "a2")])
    with pytest.raises(SessionError) as e:
        AnnotationSession(corpus_store, "root")
    msg = str(e.value)
    assert "ingest and propose first" not in msg
    assert '"root"' in msg and "a1, a2" in msg and "--annotator" in msg and "workbench assign" in msg
    r = run(corpus_store, "annotate", "--annotator", "root")
    assert r.exit_code == 1 and "a1, a2" in r.output and "Traceback" not in r.output


def test_evaluate_gold_scores_only_documents_with_gold(corpus_store, gold_docs, tmp_path):
    """`evaluate --source gold` scored every document of the file, the ones with no gold in the
    database as all missed (F1 0.18 for a perfect single document)."""
    corpus_store.replace_proposals(DOC0, "test", "1", [dict(s) for s in gold_docs[DOC0]["spans"]])
    finish_doc(corpus_store, "solo")
    assert run(corpus_store, "review", "--summary", "--reviewer", "lead").exit_code == 0
    f = tmp_path / "gold.jsonl"
    f.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in gold_docs.values()), encoding="utf-8")
    r = run(corpus_store, "evaluate", "--source", "gold", "--gold", str(f), "--json")
    assert r.exit_code == 0, r.output
    assert f"note: {len(gold_docs) - 1} of the file's documents have no gold in the database yet" in r.output
    res = json.loads(r.output[r.output.index("{") :])
    assert res["skipped_documents"]["no_gold"] == [d for d in gold_docs if d != DOC0]
    assert res["exact"]["micro"]["f1"] == 1.0


def test_annotations_of_an_unassigned_annotator_never_reopen_settled_work(corpus_store, gold_docs, tmp_path):
    """Importing annotations for someone not assigned to a document re-opened its settled
    review items (their spans made new disagreements). Review uses the assigned annotators;
    the others are counted as extra."""
    from workbench.review import ReviewSession

    spans = [dict(s) for s in gold_docs[DOC0]["spans"]]
    corpus_store.replace_proposals(DOC0, "test", "1", spans)
    corpus_store.assign([(DOC0, "a1"), (DOC0, "a2")])
    finish_doc(corpus_store, "a1")
    finish_doc(corpus_store, "a2", reject_first=True)
    s = ReviewSession(corpus_store, "lead")
    assert len(s.items) == 1
    s.pick(1)
    gold_before = corpus_store.gold_rows(DOC0)
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"id": DOC0, "spans": spans[1:3]}, ensure_ascii=False) + "\n", encoding="utf-8")
    r = run(corpus_store, "import", "annotations", str(f), "--annotator", "outsider")
    assert r.exit_code == 0, r.output
    s2 = ReviewSession(corpus_store, "lead")
    assert s2.items == [] and s2.summary.already_settled == 1
    assert corpus_store.gold_rows(DOC0) == gold_before
    assert s2.summary.extra == {DOC0: ["outsider"]}
    r = run(corpus_store, "review", "--summary", "--reviewer", "lead")
    assert "not assigned" in r.output and "outsider" in r.output
