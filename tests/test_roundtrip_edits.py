"""``export annotations`` then ``import annotations`` keeps every decision kind (issue 13):
an edit (bounds moved, label changed, attrs changed) stays an edit of the same proposal, an
accept an accept, an add an add, a reject a reject, so the decision agreement of an annotator
with their own re-imported copy is 1.0 (it was κ 0.636: every edit came back as reject + add).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import CORPUS

from workbench.cli import cli
from workbench.importer import import_annotations, import_proposals
from workbench.ingest import ingest_paths
from workbench.session import AnnotationSession
from workbench.store import Store


def run(db_path, *args, ok=True):
    res = CliRunner().invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def at(text: str, word: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return start, start + len(word)


def span(text, word, label, nth=0, **extra):
    s, e = at(text, word, nth)
    return {"start": s, "end": e, "label": label, **extra}


DOC0, DOC2 = "000_d84f443ac205a69d", "002_0d6ba5edfa074bb1"


def proposal_files(tmp_path, texts):
    """Two proposers' files: ``rules`` (most spans) and ``model`` (one span ``rules`` has
    with other bounds, the trap of an edit moved onto another proposal's bounds)."""
    t0, t2 = texts[DOC0], texts[DOC2]
    rules = [
        {
            "id": DOC0,
            "spans": [
                span(t0, "苍岭镇党委", "ORG"),  # accepted
                span(t0, "三大法宝", "PROGRAM"),  # rejected
                span(t0, "统战工作领导小组", "ORG"),  # start moved left onto model's span
                span(t0, "同心筑酉", "PROGRAM"),  # relabelled LOC
                span(t0, "45场", "QUANTITY", attrs={"value": 45, "unit": "场", "approx": None}),  # attrs set
                span(t0, "1200余人", "QUANTITY", attrs={"value": 1200, "unit": "人", "approx": "more"}),  # end moved
                span(t0, "四个关系", "PROGRAM"),  # label changed and start moved
            ],
        },
        {"id": DOC2, "spans": [span(t2, "苏力德苏木", "LOC"), span(t2, "10次", "QUANTITY")]},
    ]
    model = [{"id": DOC0, "spans": [span(t0, "县委统战工作领导小组", "ORG", score=0.4)]}]
    paths = []
    for name, recs in (("rules", rules), ("model", model)):
        p = tmp_path / f"{name}.jsonl"
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
        paths.append((name, p))
    return paths


def make_db(path, tmp_path) -> Store:
    """A database with the corpus and the same proposals each time it is made."""
    store = Store(str(path))
    assert not ingest_paths(store, [CORPUS]).errors
    texts = {i: store.get_document(i)["text"] for i in store.document_ids()}
    for name, p in proposal_files(tmp_path, texts):
        import_proposals(store, p, source=name, version="v1")
    return store


def goto(sess: AnnotationSession, word: str, label: str | None = None, nth: int = 0) -> None:
    s, e = at(sess.text, word, nth)
    for i, it in enumerate(sess.items):
        if (it["start"], it["end"]) == (s, e) and (label is None or it["label"] == label):
            sess.set_cursor(i)
            return
    raise AssertionError(f"no item at {word}")


def annotate(store: Store, who: str = "a1") -> None:
    """Every decision kind through the annotate session, as the TUI sends them."""
    sess = AnnotationSession(store, who, doc_id=DOC0)
    goto(sess, "苍岭镇党委")
    sess.accept()
    goto(sess, "三大法宝")
    sess.reject()
    goto(sess, "县委统战工作领导小组")  # model's span: rejected, then rules' span moved onto it
    sess.reject()
    goto(sess, "统战工作领导小组", "ORG")
    sess.move_start(-2)
    goto(sess, "同心筑酉")
    sess.relabel("LOC")
    goto(sess, "45场")
    sess.set_attrs({"value": 45, "unit": "场", "approx": "about"})
    goto(sess, "1200余人")
    sess.move_end(1)  # 1200余人次: the grammar's attrs follow the text
    goto(sess, "四个关系")
    sess.relabel("DOC")
    sess.move_start(-1)
    sess.add_span(*at(sess.text, "黄军"), "PERSON")
    sess.finish()
    assert sess.counts()["edited"] == 5  # moved, relabelled, attrs set, moved end, label + start
    sess.open(sess.queue.ids.index(DOC2))
    goto(sess, "苏力德苏木")
    sess.accept()
    goto(sess, "10次")
    sess.reject()
    sess.add_span(*at(sess.text, "乌审旗"), "LOC")
    sess.finish()


def kinds(store: Store, who: str) -> dict:
    """doc -> {what: (status, start, end, label, attrs)}: a proposal's item by the proposal
    (bounds, label, source), an added span by its own bounds."""
    out: dict = {}
    for doc in (DOC0, DOC2):
        got = {}
        for it in store.annotator_items(doc, who):
            p = it["proposal"]
            k = (
                ("proposal", p["start"], p["end"], p["label"], it["source"])
                if p is not None
                else ("added", it["start"], it["end"], it["label"])
            )
            got[k] = (it["status"], it["start"], it["end"], it["label"], it["attrs"])
        out[doc] = got
    return out


@pytest.fixture
def annotated(tmp_path):
    db = tmp_path / "a.db"
    store = make_db(db, tmp_path)
    annotate(store)
    yield db, store
    store.close()


@pytest.mark.parametrize("fmt", ["jsonl", "doccano"])
def test_edits_stay_edits_through_export_and_import(annotated, tmp_path, fmt):
    db, store = annotated
    want = kinds(store, "a1")
    statuses = sorted(s for d in want.values() for s, *_ in d.values())
    assert statuses.count("edited") == 5 and statuses.count("added") == 2
    assert statuses.count("rejected") == 3 and statuses.count("accepted") == 2
    out = tmp_path / f"a1.{fmt}"
    run(db, "export", "annotations", "--format", fmt, "-o", str(out))

    # a fresh database holding the same documents and proposals
    fresh_db = tmp_path / "fresh.db"
    fresh = make_db(fresh_db, tmp_path)
    try:
        run(fresh_db, "import", "annotations", str(out), "--annotator", "a1")
        assert kinds(fresh, "a1") == want
        # importing the same file again changes nothing
        n = fresh.count("decisions")
        assert "nothing to import" in run(fresh_db, "import", "annotations", str(out), "--annotator", "a1").output
        assert fresh.count("decisions") == n
    finally:
        fresh.close()

    # the same database, as another annotator: decision agreement with the original is 1.0
    run(db, "import", "annotations", str(out), "--annotator", "copy")
    assert kinds(store, "copy") == want
    rep = json.loads(run(db, "agreement", "--json").output)
    (pair,) = [p for p in rep["pairs"] if {p["a"], p["b"]} == {"a1", "copy"}]
    assert pair["decisions"]["shared"] == 10
    assert pair["decisions"]["kappa"] == pytest.approx(1.0)
    assert pair["decisions"]["percent"] == pytest.approx(1.0)


def test_the_export_names_the_proposal_of_each_span(annotated, tmp_path):
    """The decision lines say which proposal each span answers (``proposal``: its bounds,
    label and source); a span the annotator added has none."""
    db, store = annotated
    out = tmp_path / "a1.jsonl"
    run(db, "export", "annotations", "-o", str(out))
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    text = store.get_document(DOC0)["text"]
    by_text = {(r["spans"][0]["text"], r["answer"]): r for r in lines if r["id"] == DOC0}
    moved = by_text["县委统战工作领导小组", "accept"]
    s, e = at(text, "统战工作领导小组")
    assert moved["status"] == "edited"
    assert moved["spans"][0]["proposal"] == {"start": s, "end": e, "label": "ORG", "source": "rules"}
    relabelled = by_text["同心筑酉", "accept"]["spans"][0]
    assert relabelled["label"] == "LOC" and relabelled["proposal"]["label"] == "PROGRAM"
    accepted = by_text["苍岭镇党委", "accept"]["spans"][0]
    assert accepted["proposal"] == {k: accepted[k] for k in ("start", "end", "label")} | {"source": "rules"}
    assert "proposal" not in by_text["黄军", "accept"]["spans"][0]
    assert by_text["三大法宝", "reject"]["spans"][0]["proposal"]["source"] == "rules"


def test_files_without_the_key_are_matched_as_before(annotated, tmp_path):
    """A file from another tool (no ``proposal`` key): a span equal to a proposal accepts it,
    other spans are added, unmatched proposals are rejected, as before."""
    db, store = annotated
    out = tmp_path / "a1.jsonl"
    run(db, "export", "annotations", "-o", str(out))
    plain = tmp_path / "plain.jsonl"
    with open(plain, "w", encoding="utf-8") as fh:
        for line in out.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            for s in r["spans"]:
                s.pop("proposal", None)
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    import_annotations(store, plain, annotator="other")
    got = kinds(store, "other")[DOC0]
    text = store.get_document(DOC0)["text"]
    s, e = at(text, "县委统战工作领导小组")
    # the moved span equals model's proposal: accepted there, and rules' proposal rejected
    assert got["proposal", s, e, "ORG", "model"][0] == "accepted"
    s, e = at(text, "统战工作领导小组", 0)
    assert got["proposal", s, e, "ORG", "rules"][0] == "rejected"
    s, e = at(text, "同心筑酉")
    assert got["added", s, e, "LOC"][0] == "added"


# ---------------------------------------------------------------------------- hostile input


def db_state(store: Store) -> tuple:
    return tuple(store.count(t) for t in ("decisions", "proposals", "gold")) + (store.conn.total_changes,)


def _line(text, **span_extra):
    s, e = at(text, "苍岭镇党委")
    return {"id": DOC0, "spans": [{"start": s, "end": e, "label": "ORG", **span_extra}]}


HOSTILE_SPAN = [
    ({"proposal": 5}, '"proposal" must be an object {"start", "end", "label", "source"?}, got 5'),
    ({"proposal": [1, 2, "ORG"]}, '"proposal" must be an object'),
    ({"proposal": {"start": 1, "label": "ORG"}}, "\"proposal\" misses 'end'"),
    ({"proposal": {"start": True, "end": 3, "label": "ORG"}}, '"proposal": start and end must be integers'),
    ({"proposal": {"start": 1.0, "end": 3, "label": "ORG"}}, '"proposal": start and end must be integers'),
    ({"proposal": {"start": 3, "end": 3, "label": "ORG"}}, '"proposal" [3, 3): not a span of the text'),
    ({"proposal": {"start": -1, "end": 3, "label": "ORG"}}, '"proposal" [-1, 3): not a span of the text'),
    ({"proposal": {"start": 0, "end": 10**9, "label": "ORG"}}, "not a span of the text (the document has"),
    ({"proposal": {"start": 0, "end": 3, "label": "org"}}, '"proposal": unknown label "org" (did you mean "ORG"?)'),
    ({"proposal": {"start": 0, "end": 3, "label": None}}, '"proposal": label must be a string, got null'),
    ({"proposal": {"start": 0, "end": 3, "label": "ORG", "source": 7}}, '"proposal": source must be a string, got 7'),
    (
        {"proposal": {"start": 0, "end": 3, "label": "ORG", "source": "\x1b]0;x\x07"}},
        None,  # a hostile source is only a name to look for: the span is matched by its bounds
    ),
]


@pytest.mark.parametrize("extra,reason", HOSTILE_SPAN)
def test_a_bad_proposal_key_is_refused_with_its_line(annotated, tmp_path, extra, reason):
    db, store = annotated
    text = store.get_document(DOC0)["text"]
    bad = tmp_path / "bad.jsonl"
    good = {"id": DOC2, "spans": []}
    bad.write_text(
        json.dumps(good) + "\n" + json.dumps(_line(text, **extra), ensure_ascii=False) + "\n", encoding="utf-8"
    )
    before = db_state(store)
    res = run(db, "import", "annotations", str(bad), "--annotator", "h", ok=False)
    if reason is None:
        assert res.exit_code == 0, res.output
        return
    assert res.exit_code == 1
    assert f"{bad}:2: span 1 [" in res.output and reason in res.output, res.output
    assert "Traceback" not in res.output and "nothing was imported" in res.output
    assert db_state(store)[:3] == before[:3] and store.decisions(DOC0, "h") == []


def test_two_spans_answering_one_proposal_are_refused(annotated, tmp_path):
    db, store = annotated
    text = store.get_document(DOC0)["text"]
    s, e = at(text, "统战工作领导小组")
    ref = {"start": s, "end": e, "label": "ORG", "source": "rules"}
    a, b = at(text, "苍岭镇党委"), at(text, "县委统战工作领导小组")
    bad = tmp_path / "twice.jsonl"
    lines = [
        {
            "id": DOC0,
            "_annotator_id": "x",
            "answer": "accept",
            "spans": [{"start": a[0], "end": a[1], "label": "ORG", "proposal": ref}],
        },
        {
            "id": DOC0,
            "_annotator_id": "x",
            "answer": "accept",
            "spans": [{"start": b[0], "end": b[1], "label": "ORG", "proposal": ref}],
        },
    ]
    bad.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    before = db_state(store)
    res = run(db, "import", "annotations", str(bad), "--annotator", "h", ok=False)
    assert res.exit_code == 1
    assert f'{bad}:2: document "{DOC0}": span [{b[0]}, {b[1]}) ORG names the proposal [{s}, {e}) ORG' in res.output
    assert "(line 1)" in res.output and "Traceback" not in res.output
    assert db_state(store)[:3] == before[:3]


HOSTILE_DOCCANO = [
    ("proposals", 3, '"proposals" must be a list of [start, end, {...}], got 3'),
    ("proposals", [[0, 2]], "proposals 1: expected [start, end, {...}] with integer offsets"),
    ("proposals", [[True, 2, {}]], "proposals 1: expected [start, end, {...}] with integer offsets"),
    ("proposals", [["x", 2, {}]], "proposals 1: expected [start, end, {...}] with integer offsets"),
    ("proposals", [[0, 1, "ORG"]], 'proposals 1 [0, 1): the proposal must be an object, got "ORG"'),
    ("proposals", [[0, 1, {"start": 0, "end": 1, "label": "ORG"}]], "proposals 1 [0, 1): no span of the line"),
    ("proposals", "span", '"proposals" must be a list'),
]


@pytest.mark.parametrize("key,value,reason", HOSTILE_DOCCANO)
def test_a_bad_doccano_proposals_entry_is_refused(annotated, tmp_path, key, value, reason):
    db, store = annotated
    text = store.get_document(DOC0)["text"]
    s, e = at(text, "苍岭镇党委")
    rec = {"id": DOC0, "text": text, "label": [[s, e, "ORG"]], key: value}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    before = db_state(store)
    res = run(db, "import", "annotations", str(bad), "--annotator", "h", ok=False)
    assert res.exit_code == 1
    assert f"{bad}:1: {reason}" in res.output, res.output
    assert db_state(store)[:3] == before[:3]


def test_a_doccano_proposal_is_checked_like_a_span(annotated, tmp_path):
    db, store = annotated
    text = store.get_document(DOC0)["text"]
    s, e = at(text, "苍岭镇党委")
    rec = {"id": DOC0, "text": text, "label": [[s, e, "ORG"]], "proposals": [[s, e, {"start": s, "end": e}]]}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    res = run(db, "import", "annotations", str(bad), "--annotator", "h", ok=False)
    assert res.exit_code == 1
    assert f"{bad}:1: span 1 [{s}, {e}) ORG: \"proposal\" misses 'label'" in res.output, res.output


def test_a_proposal_this_database_lacks_is_matched_by_the_span(annotated, tmp_path):
    """An exported span naming a proposal this database does not have (another proposer run)
    is matched as a file without the key is: here, added."""
    db, store = annotated
    text = store.get_document(DOC0)["text"]
    s, e = at(text, "苍岭镇党委")
    ref = {"start": 0, "end": 2, "label": "PERSON", "source": "elsewhere"}
    f = tmp_path / "other.jsonl"
    f.write_text(json.dumps({"id": DOC0, "spans": [{"start": s, "end": e, "label": "ORG", "proposal": ref}]}) + "\n")
    import_annotations(store, f, annotator="h")
    got = kinds(store, "h")[DOC0]
    assert got["proposal", s, e, "ORG", "rules"][0] == "accepted"  # equal to a proposal here: accepted
    f.write_text(
        json.dumps({"id": DOC0, "spans": [{"start": s, "end": e - 1, "label": "ORG", "proposal": ref}]}) + "\n"
    )
    import_annotations(store, f, annotator="h2", replace=True)
    assert kinds(store, "h2")[DOC0]["added", s, e - 1, "ORG"][0] == "added"


def test_spacy_user_data_names_the_proposals(annotated, tmp_path, monkeypatch):
    """A DocBin of annotations keeps the proposals its spans answer in ``doc.user_data``
    (``"proposals"``, as doccano's), the fast writer and spaCy's own alike."""
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    from workbench.formats import docbin

    db, store = annotated
    fast, ref = tmp_path / "fast.spacy", tmp_path / "ref.spacy"
    run(db, "export", "annotations", "--format", "spacy", "-o", str(fast))
    monkeypatch.setattr(docbin, "_CODEC", [None])
    run(db, "export", "annotations", "--format", "spacy", "-o", str(ref))
    docs = list(DocBin().from_bytes(fast.read_bytes()).get_docs(spacy.blank("zh").vocab))
    refs = list(DocBin().from_bytes(ref.read_bytes()).get_docs(spacy.blank("zh").vocab))
    assert [dict(d.user_data) for d in docs] == [dict(r.user_data) for r in refs]
    doc0 = next(d for d in docs if d.user_data["id"] == DOC0)
    text = store.get_document(DOC0)["text"]
    moved, orig = at(text, "县委统战工作领导小组"), at(text, "统战工作领导小组")
    got = {(s, e): p for s, e, p in doc0.user_data["proposals"]}
    assert got[moved] == {"start": orig[0], "end": orig[1], "label": "ORG", "source": "rules"}
    assert at(text, "黄军") not in got  # added: no proposal
