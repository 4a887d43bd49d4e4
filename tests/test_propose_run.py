"""Proposals in the store: propose_store, parallel workers, re-proposing, and the
``propose`` / ``evaluate`` / ``export proposals`` commands."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import CORPUS, GOLD

from workbench.cli import cli
from workbench.propose import get_proposer
from workbench.propose.run import propose_store


def _active(store):
    return store.query(
        'SELECT doc_id, start, "end", label, text, attrs, source, version FROM proposals'
        ' WHERE active = 1 ORDER BY doc_id, start, "end", label'
    )


def test_propose_store_writes_spans_and_words(corpus_store):
    calls = []
    res = propose_store(corpus_store, progress=lambda done, total: calls.append((done, total)))
    assert res["documents"] == 5 and res["proposer"] == "rules"
    assert res["proposals"] == corpus_store.count("proposals", "active = 1") > 0
    assert res["characters"] == corpus_store.scalar("SELECT sum(n_chars) FROM documents")
    assert calls and calls[-1] == (5, 5)
    for doc_id in corpus_store.document_ids():
        doc = corpus_store.get_document(doc_id)
        words = doc["words"]
        assert words is not None and words[0] == 0 and list(words) == sorted(words)
        for p in corpus_store.proposals(doc_id):
            assert doc["text"][p["start"] : p["end"]] == p["text"]
            assert p["source"] == "rules" and p["version"] == get_proposer().version


def test_parallel_jobs_give_the_same_proposals(tmp_path, monkeypatch):
    from workbench.ingest import ingest_paths
    from workbench.propose import run
    from workbench.store import Store

    monkeypatch.setattr(run, "CHUNK_DOCS", 1)  # five chunks: the window of results in flight is used
    monkeypatch.setattr(run, "WRITE_BATCH", 2)
    out = []
    for jobs in (1, 2):
        s = Store(str(tmp_path / f"j{jobs}.db"))
        ingest_paths(s, [CORPUS])
        res = propose_store(s, jobs=jobs)
        assert res["jobs"] == jobs and res["documents"] == 5
        # where the time went: the proposer's CPU (the workers' at jobs 2), the parent's writes
        assert res["analyze_seconds"] > 0 and res["write_seconds"] > 0 and res["wait_seconds"] >= 0
        rows = s.query(
            'SELECT doc_id, start, "end", label, text, attrs, source, version, score FROM proposals'
            ' WHERE active = 1 ORDER BY doc_id, start, "end", label'
        )
        words = {d: list(s.get_document(d)["words"]) for d in s.document_ids()}
        out.append((rows, words))
        s.close()
    assert out[0][0] and out[0] == out[1]


def test_only_some_documents(corpus_store):
    ids = corpus_store.document_ids()[:2]
    res = propose_store(corpus_store, doc_ids=ids)
    assert res["documents"] == 2
    assert {r["doc_id"] for r in _active(corpus_store)} == set(ids)


def test_repropose_new_version_keeps_decisions(corpus_store, monkeypatch):
    propose_store(corpus_store)
    doc_id = corpus_store.document_ids()[0]
    props = corpus_store.proposals(doc_id)
    accepted, rejected = props[0], props[1]
    corpus_store.record_decision(
        doc_id,
        "ann",
        "accept",
        proposal_id=accepted["id"],
        start=accepted["start"],
        end=accepted["end"],
        label=accepted["label"],
        text=accepted["text"],
        attrs=accepted["attrs"],
    )
    corpus_store.record_decision(doc_id, "ann", "reject", proposal_id=rejected["id"])
    before = corpus_store.annotator_spans(doc_id, "ann")

    monkeypatch.setattr(get_proposer("rules"), "version", "test-next")
    propose_store(corpus_store)
    # the old run is inactive but kept; the decisions still resolve to the same spans
    old = corpus_store.proposals(doc_id, active_only=False)
    assert {p["id"] for p in old} >= {accepted["id"], rejected["id"]}
    assert all(not p["active"] for p in old if p["id"] in (accepted["id"], rejected["id"]))
    assert {p["version"] for p in corpus_store.proposals(doc_id)} == {"test-next"}
    assert corpus_store.annotator_spans(doc_id, "ann") == before
    items = {i["proposal_id"]: i["status"] for i in corpus_store.annotator_items(doc_id, "ann")}
    assert items[accepted["id"]] == "accepted" and items[rejected["id"]] == "rejected"


def test_unknown_proposer(corpus_store):
    with pytest.raises(KeyError):
        propose_store(corpus_store, proposer="nope")


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def run(db_path):
    runner = CliRunner()

    def _run(*args, ok=True):
        res = runner.invoke(cli, ["--db", db_path, *args])
        if ok:
            assert res.exit_code == 0, res.output + str(res.exception)
        return res

    return _run


def test_cli_propose_evaluate_export(run, tmp_path):
    run("ingest", str(CORPUS))
    res = run("propose")
    assert "proposed" in res.output and "5 documents" in res.output and "rules" in res.output

    res = run("evaluate", "--gold", str(GOLD))
    assert "micro" in res.output and "QUANTITY attrs" in res.output
    for label in ("PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY"):
        assert label in res.output

    res = run("evaluate", "--gold", str(GOLD), "--json")
    data = json.loads(res.output)
    assert data["exact"]["micro"]["f1"] >= 0.85 and data["source"] == "proposals:rules"
    assert data["quantity_attrs"]["accuracy"] >= 0.97

    out1, out2 = tmp_path / "p1.jsonl", tmp_path / "p2.jsonl"
    run("export", "proposals", "-o", str(out1))
    run("export", "proposals", "-o", str(out2))
    assert out1.read_bytes() == out2.read_bytes()  # deterministic
    recs = [json.loads(line) for line in out1.read_text(encoding="utf-8").splitlines()]
    assert len(recs) == 5
    for rec in recs:
        assert set(rec) == {"id", "text", "spans"}
        for s in rec["spans"]:
            assert set(s) == {"start", "end", "label", "text", "attrs", "source", "score"}
            assert rec["text"][s["start"] : s["end"]] == s["text"] and s["source"] == "rules"
    res = run("export", "proposals", "-o", "-")
    assert [json.loads(line)["id"] for line in res.output.splitlines()] == [r["id"] for r in recs]


def test_cli_evaluate_gold_source_and_errors(run, tmp_path):
    run("ingest", str(CORPUS))
    res = run("evaluate", "--gold", str(GOLD), ok=False)
    assert res.exit_code == 1 and "run 'workbench propose'" in res.output
    run("propose", "-p", "numbers")
    res = run("evaluate", "--gold", str(GOLD), "--source", "gold", "--json", ok=False)
    assert res.exit_code == 1 and "has gold for none of the file's documents" in res.output  # no gold yet
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "spans": []}\n{"id": 3\n', encoding="utf-8")
    res = run("evaluate", "--gold", str(bad), ok=False)
    assert res.exit_code == 1 and f"{bad}:2" in res.output and "Traceback" not in res.output
    other = tmp_path / "other.jsonl"
    other.write_text('{"id": "not-here", "spans": []}\n', encoding="utf-8")
    res = run("evaluate", "--gold", str(other), ok=False)
    assert res.exit_code == 1 and "not in the database" in res.output


def test_cli_propose_options(run):
    res = run("propose", ok=False)
    assert res.exit_code == 1 and "ingest" in res.output
    run("ingest", str(CORPUS))
    res = run("propose", "--proposer", "nope", ok=False)
    assert res.exit_code == 1 and "available: rules" in res.output
    res = run("propose", "--list")
    assert res.output.splitlines()[0].startswith("rules")
    res = run("propose", "--jobs", "2", "--doc", "000_d84f443ac205a69d", "--doc", "001_6532a16337e4d2ef")
    assert "2 documents" in res.output
    res = run("propose", "--doc", "nope", ok=False)
    assert res.exit_code == 1 and "no such document" in res.output
