"""Round trip on the seed gold: export gold -> import into a fresh database as an
annotator -> export that annotator's spans -> identical spans, for every format
that can be read back (jsonl, doccano, conll)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import CORPUS
from test_export import insert_gold

from workbench.cli import cli
from workbench.formats.conll import read_conll


def run(db_path, *args):
    res = CliRunner().invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def read_jsonl(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def spans_of(path, fmt) -> dict[str, list[tuple]]:
    """doc id -> sorted (start, end, label, text) of an export file, read independently."""
    out: dict[str, list[tuple]] = {}
    if fmt == "conll":
        with open(path, encoding="utf-8") as fh:
            for _, r in read_conll(fh):
                out[r["id"]] = sorted((s["start"], s["end"], s["label"], s["text"]) for s in r["spans"])
        return out
    for r in read_jsonl(path):
        if fmt == "doccano":
            out[r["id"]] = sorted((s, e, lab, r["text"][s:e]) for s, e, lab in r["label"])
        elif "answer" in r:  # annotation decision lines
            if r["answer"] == "accept":
                s = r["spans"][0]
                out.setdefault(r["id"], []).append((s["start"], s["end"], s["label"], s["text"]))
        else:
            out[r["id"]] = sorted((s["start"], s["end"], s["label"], s["text"]) for s in r["spans"])
    return {k: sorted(v) for k, v in out.items()}


def full_spans(path) -> dict[str, list]:
    """doc id -> spans with attrs, from gold jsonl or annotation jsonl."""
    out: dict[str, list] = {}
    for r in read_jsonl(path):
        if r.get("answer", "accept") == "accept":
            out.setdefault(r["id"], []).extend(
                (s["start"], s["end"], s["label"], s["text"], json.dumps(s["attrs"], sort_keys=True))
                for s in r["spans"]
            )
    return {k: sorted(v) for k, v in out.items()}


@pytest.fixture
def gold_db(corpus_store, gold_docs, db_path):
    insert_gold(corpus_store, gold_docs.values())
    return db_path


@pytest.mark.parametrize("fmt", ["jsonl", "doccano", "conll"])
def test_round_trip_through_a_fresh_database(gold_db, gold_docs, tmp_path, fmt):
    gold = tmp_path / f"gold.{fmt}"
    run(gold_db, "export", "gold", "--format", fmt, "-o", str(gold))
    fresh = tmp_path / "fresh.db"
    run(fresh, "ingest", str(CORPUS))
    res = run(fresh, "import", "annotations", str(gold), "--annotator", "carol")
    assert f"imported {sum(len(d['spans']) for d in gold_docs.values())} spans" in res.output
    want = {
        d["id"]: sorted((s["start"], s["end"], s["label"], s["text"]) for s in d["spans"]) for d in gold_docs.values()
    }
    assert spans_of(gold, fmt) == want
    # the annotator's export, in jsonl (decision lines) and in the same format
    back = tmp_path / "carol.jsonl"
    run(fresh, "export", "annotations", "--annotator", "carol", "-o", str(back))
    assert spans_of(back, "jsonl") == want
    back_fmt = tmp_path / f"carol.{fmt}"
    run(fresh, "export", "annotations", "--annotator", "carol", "--format", fmt, "-o", str(back_fmt))
    assert spans_of(back_fmt, fmt) == want
    if fmt in ("jsonl", "doccano"):  # these carry QUANTITY attrs too
        gold_jsonl = tmp_path / "gold_full.jsonl"
        run(gold_db, "export", "gold", "-o", str(gold_jsonl))
        assert full_spans(back) == full_spans(gold_jsonl)
    # and importing the annotator's export again changes nothing
    before = run(fresh, "stats", "--json").output
    res = run(fresh, "import", "annotations", str(back_fmt), "--annotator", "carol")
    assert "5 documents already in this state" in res.output
    assert run(fresh, "stats", "--json").output == before


def test_round_trip_into_a_database_built_from_the_export_itself(gold_db, tmp_path):
    """A truly separate database: ingest the exported gold file (its id + text), import
    its spans, export: the gold export of one equals the annotation export of the other."""
    gold = tmp_path / "gold.jsonl"
    run(gold_db, "export", "gold", "-o", str(gold))
    other = tmp_path / "other.db"
    run(other, "ingest", str(gold))
    run(other, "import", "annotations", str(gold), "--annotator", "dan")
    back = tmp_path / "dan.jsonl"
    run(other, "export", "annotations", "-o", str(back))
    assert full_spans(back) == full_spans(gold)
    texts = {r["id"]: r["text"] for r in read_jsonl(gold)}
    assert all(r["text"] == texts[r["id"]] for r in read_jsonl(back))


def test_round_trip_with_proposals_accepts_and_rejects(gold_db, gold_docs, tmp_path):
    """With proposals in the fresh database, the import accepts matching ones, rejects
    the others and adds the rest; the exported spans are still the gold spans, and the
    rejected proposals come out as negative examples."""
    gold = tmp_path / "gold.jsonl"
    run(gold_db, "export", "gold", "-o", str(gold))
    fresh = tmp_path / "fresh.db"
    run(fresh, "ingest", str(CORPUS))
    preds = tmp_path / "preds.jsonl"
    with open(preds, "w", encoding="utf-8") as fh:
        for d in gold_docs.values():
            spans = []
            for i, s in enumerate(d["spans"]):
                if i % 3 == 0:
                    spans.append({"start": s["start"], "end": s["end"], "label": s["label"]})  # right
                elif i % 3 == 1 and s["end"] - s["start"] > 1:
                    spans.append({"start": s["start"], "end": s["end"] - 1, "label": s["label"]})  # too short
            fh.write(json.dumps({"id": d["id"], "spans": spans}, ensure_ascii=False) + "\n")
    run(fresh, "import", "proposals", str(preds), "--source", "model")
    run(fresh, "import", "annotations", str(gold), "--annotator", "erin")
    back = tmp_path / "erin.jsonl"
    run(fresh, "export", "annotations", "-o", str(back))
    assert full_spans(back) == full_spans(gold)
    lines = read_jsonl(back)
    rejects = [r for r in lines if r["answer"] == "reject"]
    n_short = sum(
        1 for d in gold_docs.values() for i, s in enumerate(d["spans"]) if i % 3 == 1 and s["end"] - s["start"] > 1
    )
    assert len(rejects) == n_short > 0
    assert {r["status"] for r in lines if r["answer"] == "accept"} >= {"accepted", "added"}
    assert all(r["source"] == "model" for r in rejects)
