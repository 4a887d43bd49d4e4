"""Issue 13, proposer runs: an identical span+label from several sources is shown once; the
lead can deactivate and reactivate a source's run (decisions on it are kept), which chooses
what annotators see."""

from __future__ import annotations

from click.testing import CliRunner

from workbench.cli import cli
from workbench.session import AnnotationSession

DOC0 = "000_d84f443ac205a69d"


def run(store, *args):
    return CliRunner().invoke(cli, ["--db", store.path, *args])


def two_sources(store):
    text = store.get_document(DOC0)["text"]
    i, j = text.index("45场"), text.index("统战")
    same = {"start": i, "end": i + 3, "label": "QUANTITY", "text": "45场"}
    store.replace_proposals(DOC0, "rules", "1", [dict(same, score=0.9)])
    store.replace_proposals(
        DOC0, "m", "7", [dict(same, score=0.5), {"start": j, "end": j + 2, "label": "ORG", "text": "统战"}]
    )


def test_an_identical_span_from_two_sources_is_shown_once(corpus_store):
    two_sources(corpus_store)
    s = AnnotationSession(corpus_store, "alice", doc_id=DOC0)
    assert sorted((it["text"], it["source"]) for it in s.items) == [("45场", "rules"), ("统战", "m")]
    s.set_cursor(next(k for k, it in enumerate(s.items) if it["text"] == "45场"))
    s.accept()
    assert sorted(it["status"] for it in AnnotationSession(corpus_store, "alice", doc_id=DOC0).items) == [
        "accepted",
        "pending",
    ]


def test_a_source_can_be_deactivated_and_reactivated_keeping_decisions(corpus_store):
    two_sources(corpus_store)
    s = AnnotationSession(corpus_store, "alice", doc_id=DOC0)
    s.set_cursor(next(k for k, it in enumerate(s.items) if it["text"] == "统战"))
    s.reject()
    r = run(corpus_store, "runs")
    assert r.exit_code == 0 and "rules" in r.output and "m" in r.output, r.output
    r = run(corpus_store, "runs", "--deactivate", "m")
    assert r.exit_code == 0 and "deactivated" in r.output, r.output
    # bob never saw m's proposals: gone for him; alice keeps her decision on one of them
    bob = AnnotationSession(corpus_store, "bob", doc_id=DOC0)
    assert [(it["text"], it["source"]) for it in bob.items] == [("45场", "rules")]
    alice = AnnotationSession(corpus_store, "alice", doc_id=DOC0)
    assert ("统战", "rejected") in [(it["text"], it["status"]) for it in alice.items]
    r = run(corpus_store, "runs", "--activate", "m")
    assert r.exit_code == 0 and "activated" in r.output
    bob = AnnotationSession(corpus_store, "bob", doc_id=DOC0)
    assert sorted(it["text"] for it in bob.items) == ["45场", "统战"]
    r = run(corpus_store, "runs", "--deactivate", "nope")
    assert r.exit_code == 1 and "no proposals from" in r.output
