"""Import of proposals and annotations: shapes, validation (FILE:LINE: reason, nothing
imported), decisions an annotation import records, re-import behaviour."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.importer import ImportFailed, import_annotations, import_proposals, plan_decisions


def run(db_path, *args, ok=True):
    res = CliRunner().invoke(cli, ["--db", db_path, *args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def write_lines(path, objs):
    with open(path, "w", encoding="utf-8") as fh:
        for o in objs:
            fh.write(o if isinstance(o, str) else json.dumps(o, ensure_ascii=False))
            fh.write("\n")
    return str(path)


def counts(store):
    return (store.count("proposals"), store.count("decisions"))


@pytest.fixture
def docs(corpus_store):
    ids = corpus_store.document_ids()
    return corpus_store, {i: corpus_store.get_document(i, with_raw=True)["text"] for i in ids}, ids


def sp(text, word, label, nth=0, **extra):
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return {"start": start, "end": start + len(word), "label": label, **extra}


# ---------------------------------------------------------------------------- proposals


def test_import_proposals_all_shapes(docs, db_path, tmp_path):
    store, texts, ids = docs
    a, b, c = ids[:3]
    ta, tb, tc = texts[a], texts[b], texts[c]
    s1 = sp(ta, "苍岭镇", "LOC", score=0.9)
    s2 = sp(tb, tb[10:14], "ORG")
    s3 = sp(tc, tc[5:8], "PERSON")
    path = write_lines(
        tmp_path / "pred.jsonl",
        [
            {"id": a, "spans": [s1, dict(s1), dict(s1, label="ORG")]},  # plain; exact duplicate merged
            {"id": b, "text": tb, "label": [[s2["start"], s2["end"], "ORG"]]},  # doccano
            {
                "text": tc,
                "spans": [dict(s3, token_start=1, token_end=2)],
                "answer": "accept",
                "_input_hash": 1,
            },  # prodigy, found by text
            {"text": tc, "spans": [sp(tc, tc[20:22], "LOC")], "answer": "reject"},  # skipped
        ],
    )
    res = run(db_path, "import", "proposals", path, "--source", "bert")
    version = hashlib.sha256(open(path, "rb").read()).hexdigest()[:12]
    assert version in res.output and "skipped 1" in res.output
    pa = store.proposals(a, source="bert")
    assert [(p["start"], p["end"], p["label"], p["score"], p["version"]) for p in pa] == [
        (s1["start"], s1["end"], "LOC", 0.9, version),
        (s1["start"], s1["end"], "ORG", 0.9, version),
    ]
    assert pa[0]["text"] == "苍岭镇"
    assert [(p["start"], p["label"]) for p in store.proposals(b, source="bert")] == [(s2["start"], "ORG")]
    assert [(p["start"], p["label"]) for p in store.proposals(c, source="bert")] == [(s3["start"], "PERSON")]
    # re-importing the same file is a no-op
    before = store.query("SELECT id, active FROM proposals ORDER BY id")
    res = run(db_path, "import", "proposals", path, "--source", "bert")
    assert "3 documents already had them" in res.output
    assert store.query("SELECT id, active FROM proposals ORDER BY id") == before


def test_new_version_supersedes_and_keeps_decided(docs, db_path, tmp_path):
    store, texts, ids = docs
    a = ids[0]
    s1 = sp(texts[a], "苍岭镇", "LOC")
    path = write_lines(tmp_path / "p1.jsonl", [{"id": a, "spans": [s1]}])
    run(db_path, "import", "proposals", path, "--source", "m", "--version", "1")
    (p,) = store.proposals(a)
    store.record_decision(
        a, "amy", "accept", proposal_id=p["id"], start=p["start"], end=p["end"], label="LOC", text=p["text"]
    )
    path2 = write_lines(tmp_path / "p2.jsonl", [{"id": a, "spans": [dict(s1, label="ORG")]}])
    run(db_path, "import", "proposals", path2, "--source", "m", "--version", "2")
    assert [(x["label"], x["version"]) for x in store.proposals(a)] == [("ORG", "2")]
    assert [i["status"] for i in store.annotator_items(a, "amy")] == ["accepted", "pending"]


def test_quantity_attrs_are_imported_and_validated(docs, db_path, tmp_path):
    store, texts, ids = docs
    a = ids[0]
    good = sp(texts[a], texts[a][40:43], "QUANTITY", attrs={"value": 3, "unit": "个", "approx": None})
    path = write_lines(tmp_path / "q.jsonl", [{"id": a, "spans": [good]}])
    run(db_path, "import", "proposals", path, "--source", "m")
    assert store.proposals(a)[0]["attrs"] == {"value": 3, "unit": "个", "approx": None}
    bad = dict(good, attrs={"value": "three"})
    path = write_lines(tmp_path / "q2.jsonl", [{"id": a, "spans": [bad]}])
    res = run(db_path, "import", "proposals", path, "--source", "m2", ok=False)
    assert f"{path}:1:" in res.output and "value must be a number" in res.output


# ---------------------------------------------------------------------------- validation


def _bad_lines(texts, ids):
    a = ids[0]
    t = texts[a]
    n = len(t)
    ok = {"start": 0, "end": 2, "label": "ORG"}
    return [
        ("not json", '{"id": "x", "spans": [', "malformed JSON"),
        ("not an object", "[1, 2]", "expected a JSON object"),
        ("unknown id", {"id": "nope", "spans": [ok]}, 'unknown document id "nope"'),
        ("no spans key", {"id": a}, "no spans"),
        ("out of range", {"id": a, "spans": [{"start": n - 1, "end": n + 3, "label": "ORG"}]}, "out of range"),
        ("negative", {"id": a, "spans": [{"start": -1, "end": 2, "label": "ORG"}]}, "out of range"),
        (
            "end before start",
            {"id": a, "spans": [{"start": 5, "end": 5, "label": "ORG"}]},
            "end must be greater than start",
        ),
        ("float offsets", {"id": a, "spans": [{"start": 1.0, "end": 3, "label": "ORG"}]}, "must be integers"),
        ("unknown label", {"id": a, "spans": [dict(ok, label="GPE")]}, 'unknown label "GPE"'),
        ("lowercase label", {"id": a, "spans": [dict(ok, label="org")]}, 'did you mean "ORG"'),
        ("span text", {"id": a, "spans": [dict(ok, text="不对")]}, "does not match the document text"),
        ("doc text", {"id": a, "text": t + "多", "spans": [ok]}, f"first difference at character {n}"),
        (
            "surrogate",
            '{"id": "%s", "spans": [{"start": 0, "end": 2, "label": "ORG", "text": "\\ud800x"}]}' % a,
            "surrogate",
        ),
        ("bad answer", {"id": a, "spans": [ok], "answer": "maybe"}, '"answer" must be'),
        ("doccano classification", {"id": a, "text": t, "label": ["POSITIVE"]}, "classification"),
        ("span not object", {"id": a, "spans": [[0, 2, "ORG"]]}, "expected an object"),
        ("missing label", {"id": a, "spans": [{"start": 0, "end": 2}]}, "missing 'label'"),
        ("no id no text", {"spans": [ok]}, 'no "id" and no "text"'),
        ("unknown text", {"text": "别的文本", "spans": [ok]}, "no document has exactly this"),
    ]


@pytest.mark.parametrize("case", range(19))
def test_every_bad_line_names_file_and_line_and_imports_nothing(docs, db_path, tmp_path, case):
    store, texts, ids = docs
    name, bad, reason = _bad_lines(texts, ids)[case]
    good = {"id": ids[1], "spans": [{"start": 0, "end": 2, "label": "ORG"}]}
    path = write_lines(tmp_path / "in.jsonl", [good, good | {"id": ids[2]}, bad])
    before = counts(store)
    for cmd in (["proposals", path, "--source", "m"], ["annotations", path, "--annotator", "amy"]):
        res = run(db_path, "import", *cmd, ok=False)
        assert res.exit_code == 1, name
        assert f"{path}:3: " in res.output and reason in res.output, (name, res.output)
        assert "nothing was imported" in res.output and "Traceback" not in res.output
        assert counts(store) == before


def test_raw_text_instead_of_normalized_gets_a_hint(store, db_path, tmp_path):
    from workbench.ingest import ingest_paths

    f = tmp_path / "t.txt"
    f.write_text("統一戰線工作", encoding="utf-8")
    ingest_paths(store, [f])
    path = write_lines(tmp_path / "in.jsonl", [{"id": "t", "text": "統一戰線工作", "spans": []}])
    res = run(db_path, "import", "proposals", path, "--source", "m", ok=False)
    assert "raw text" in res.output and "normalized" in res.output


def test_all_errors_are_listed_at_once(docs, db_path, tmp_path):
    store, texts, ids = docs
    lines = [{"id": f"nope{i}", "spans": []} for i in range(30)]
    path = write_lines(tmp_path / "in.jsonl", lines)
    res = run(db_path, "import", "proposals", path, "--source", "m", ok=False)
    assert f"{path}:1:" in res.output and f"{path}:20:" in res.output
    assert "and 10 more errors" in res.output


def test_overlaps_are_errors_for_annotations_only(docs, db_path, tmp_path):
    store, texts, ids = docs
    a = ids[0]
    path = write_lines(
        tmp_path / "in.jsonl",
        [{"id": a, "spans": [{"start": 0, "end": 4, "label": "ORG"}, {"start": 2, "end": 6, "label": "LOC"}]}],
    )
    res = run(db_path, "import", "annotations", path, "--annotator", "amy", ok=False)
    assert f"{path}:1:" in res.output and "overlaps" in res.output
    assert store.count("decisions") == 0
    run(db_path, "import", "proposals", path, "--source", "m")
    assert len(store.proposals(a)) == 2


def test_overlap_across_prodigy_lines_names_the_later_line(docs, db_path, tmp_path):
    store, texts, ids = docs
    a = ids[0]
    t = texts[a]
    mk = lambda s, e, lab: {"id": a, "text": t, "spans": [{"start": s, "end": e, "label": lab}], "answer": "accept"}
    path = write_lines(tmp_path / "in.jsonl", [mk(0, 4, "ORG"), mk(10, 12, "LOC"), mk(3, 5, "LOC")])
    res = run(db_path, "import", "annotations", path, "--annotator", "amy", ok=False)
    assert f"{path}:3:" in res.output and "(line 1)" in res.output


def test_duplicate_document_in_plain_jsonl(docs, db_path, tmp_path):
    store, texts, ids = docs
    path = write_lines(tmp_path / "in.jsonl", [{"id": ids[0], "spans": []}, {"id": ids[0], "spans": []}])
    res = run(db_path, "import", "annotations", path, "--annotator", "amy", ok=False)
    assert f"{path}:2:" in res.output and "first on line 1" in res.output


def test_file_level_errors(docs, db_path, tmp_path):
    res = run(db_path, "import", "proposals", str(tmp_path / "missing.jsonl"), "--source", "m", ok=False)
    assert "no such file" in res.output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    res = run(db_path, "import", "annotations", str(empty), "--annotator", "a", ok=False)
    assert "empty file" in res.output
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "\xe9"}\n')
    res = run(db_path, "import", "annotations", str(latin), "--annotator", "a", ok=False)
    assert f"{latin}:1: not UTF-8" in res.output


def test_dry_run_writes_nothing(docs, db_path, tmp_path):
    store, texts, ids = docs
    path = write_lines(tmp_path / "in.jsonl", [{"id": ids[0], "spans": [{"start": 0, "end": 2, "label": "ORG"}]}])
    res = run(db_path, "import", "annotations", path, "--annotator", "amy", "--dry-run")
    assert "would import 1 spans" in res.output
    res = run(db_path, "import", "proposals", path, "--source", "m", "--dry-run")
    assert "would import 1 proposals" in res.output
    assert counts(store) == (0, 0)


# ---------------------------------------------------------------------------- annotations


def test_annotation_import_decisions_against_proposals(docs, db_path, tmp_path):
    store, texts, ids = docs
    a = ids[0]
    t = texts[a]
    loc = sp(t, "苍岭镇", "LOC")
    person = sp(t, "黄军", "PERSON")
    qty = {"start": 40, "end": 43, "label": "QUANTITY"}
    wrong = {"start": 50, "end": 53, "label": "ORG"}
    store.replace_proposals(
        a,
        "rules",
        "v1",
        [
            dict(loc, text="苍岭镇"),
            dict(person, label="ORG", text="黄军"),
            dict(qty, text=t[40:43], attrs={"value": 1, "unit": "个", "approx": None}),
            dict(wrong, text=t[50:53]),
        ],
    )
    path = write_lines(
        tmp_path / "ann.jsonl",
        [
            {
                "id": a,
                "spans": [
                    loc,  # = proposal -> accept
                    person,  # label differs -> reject + add
                    dict(qty, attrs={"value": 2, "unit": "个", "approx": "about"}),  # attrs differ -> edit
                    {"start": 60, "end": 62, "label": "DATE"},  # new -> add
                ],
            }
        ],
    )
    res = run(db_path, "import", "annotations", path, "--annotator", "amy")
    assert "imported 4 spans of amy in 1 documents" in res.output
    decs = store.decisions(a, "amy")
    assert {d["origin"] for d in decs} == {"import"}
    assert sorted(d["action"] for d in decs) == ["accept", "add", "add", "edit", "finish", "reject", "reject"]
    assert decs[-1]["action"] == "finish" and store.is_finished(a, "amy")
    items = {(i["start"], i["label"]): i["status"] for i in store.annotator_items(a, "amy")}
    assert items[(loc["start"], "LOC")] == "accepted"
    assert items[(person["start"], "ORG")] == "rejected"
    assert items[(person["start"], "PERSON")] == "added"
    assert items[(40, "QUANTITY")] == "edited"
    assert items[(50, "ORG")] == "rejected"
    assert items[(60, "DATE")] == "added"
    spans = store.annotator_spans(a, "amy")
    assert [(s["start"], s["end"], s["label"]) for s in spans] == sorted(
        (s["start"], s["end"], s["label"]) for s in (loc, person, qty, {"start": 60, "end": 62, "label": "DATE"})
    )
    assert [s["attrs"] for s in spans if s["label"] == "QUANTITY"] == [{"value": 2, "unit": "个", "approx": "about"}]
    assert all(s["text"] == t[s["start"] : s["end"]] for s in spans)


def test_reimport_is_a_no_op_and_differences_need_replace(docs, db_path, tmp_path):
    store, texts, ids = docs
    a, b = ids[:2]
    v1 = write_lines(
        tmp_path / "v1.jsonl", [{"id": a, "spans": [{"start": 0, "end": 2, "label": "ORG"}]}, {"id": b, "spans": []}]
    )
    run(db_path, "import", "annotations", v1, "--annotator", "amy")
    n = store.count("decisions")
    res = run(db_path, "import", "annotations", v1, "--annotator", "amy")
    assert "2 documents already in this state" in res.output and store.count("decisions") == n
    v2 = write_lines(
        tmp_path / "v2.jsonl", [{"id": a, "spans": [{"start": 3, "end": 5, "label": "LOC"}]}, {"id": b, "spans": []}]
    )
    res = run(db_path, "import", "annotations", v2, "--annotator", "amy", ok=False)
    assert f"{v2}:1:" in res.output and "--replace" in res.output and store.count("decisions") == n
    res = run(db_path, "import", "annotations", v2, "--annotator", "amy", "--replace")
    assert "1 documents already in this state" in res.output
    assert [(s["start"], s["label"]) for s in store.annotator_spans(a, "amy")] == [(3, "LOC")]
    assert store.is_finished(a, "amy")
    actions = [d["action"] for d in store.decisions(a, "amy")]
    assert actions == ["add", "finish", "reopen", "remove", "add", "finish"]  # the log keeps everything
    # another annotator is independent
    run(db_path, "import", "annotations", v1, "--annotator", "bob")
    assert [(s["start"], s["label"]) for s in store.annotator_spans(a, "bob")] == [(0, "ORG")]


def test_mixed_annotators_need_from_annotator(docs, db_path, tmp_path):
    store, texts, ids = docs
    a = ids[0]
    t = texts[a]
    line = lambda ann, s: {
        "id": a,
        "text": t,
        "spans": [{"start": s, "end": s + 2, "label": "ORG"}],
        "answer": "accept",
        "_annotator_id": ann,
    }
    path = write_lines(tmp_path / "in.jsonl", [line("x", 0), line("y", 1)])
    res = run(db_path, "import", "annotations", path, "--annotator", "amy", ok=False)
    assert "x, y" in res.output and "--from-annotator" in res.output
    res = run(db_path, "import", "annotations", path, "--annotator", "amy", "--from-annotator", "y")
    assert "1 lines of other annotators left out" in res.output
    assert [s["start"] for s in store.annotator_spans(a, "amy")] == [1]


def test_plan_decisions_pure():
    items = [
        {
            "key": "p1",
            "proposal_id": 1,
            "start": 0,
            "end": 2,
            "label": "ORG",
            "text": "ab",
            "attrs": None,
            "status": "accepted",
            "proposal": {"start": 0, "end": 2, "label": "ORG", "attrs": None},
        },
        {
            "key": "d7",
            "proposal_id": None,
            "start": 4,
            "end": 6,
            "label": "LOC",
            "text": "cd",
            "attrs": None,
            "status": "added",
            "proposal": None,
        },
    ]
    same = [{"start": 0, "end": 2, "label": "ORG", "text": "ab"}, {"start": 4, "end": 6, "label": "LOC", "text": "cd"}]
    assert plan_decisions(items, True, same) == []
    assert plan_decisions(items, False, same) == [{"action": "finish"}]
    acts = plan_decisions(items, True, same[:1])
    assert acts == [{"action": "reopen"}, {"action": "remove", "ref_id": 7}, {"action": "finish"}]


def test_python_api_raises_import_failed(docs, tmp_path):
    store, texts, ids = docs
    path = write_lines(tmp_path / "in.jsonl", [{"id": "zz", "spans": []}])
    with pytest.raises(ImportFailed) as e:
        import_annotations(store, path, annotator="amy")
    assert e.value.errors == [f'{path}:1: unknown document id "zz" (not in the database; ingest it first)']
    with pytest.raises(ImportFailed):
        import_proposals(store, path, source=" ")


def test_renumbered_doccano_ids_are_found_by_text(docs, db_path, tmp_path):
    store, texts, ids = docs
    a = ids[2]
    path = write_lines(tmp_path / "doccano.jsonl", [{"id": 17, "text": texts[a], "label": [[0, 2, "ORG"]]}])
    run(db_path, "import", "annotations", path, "--annotator", "amy")
    assert [(s["start"], s["end"]) for s in store.annotator_spans(a, "amy")] == [(0, 2)]


def test_conll_without_ids_uses_docstart_and_text(docs, db_path, tmp_path):
    from workbench.formats.conll import conll_lines

    store, texts, ids = docs
    parts = []
    for i in ids[:2]:
        body = list(conll_lines({"id": i, "text": texts[i], "spans": [{"start": 1, "end": 3, "label": "LOC"}]}))
        parts.append("-DOCSTART- -X- O O\n\n" + "\n".join(body[1:]))  # drop the "# id" line
    path = tmp_path / "plain.conll"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    run(db_path, "import", "annotations", str(path), "--annotator", "amy")
    for i in ids[:2]:
        assert [(s["start"], s["end"], s["label"]) for s in store.annotator_spans(i, "amy")] == [(1, 3, "LOC")]
    bad = tmp_path / "bad.conll"
    bad.write_text("# id = %s\n甲\tO\n乙\tB_ORG\n" % ids[0], encoding="utf-8")
    res = run(db_path, "import", "annotations", str(bad), "--annotator", "bo", ok=False)
    assert f"{bad}:3:" in res.output and "BIO" in res.output
