"""Issue 13, QUANTITY attrs always right: whenever a span is or becomes QUANTITY (relabel,
add, bound move, import without attrs) its attrs come from the proposer's number grammar;
attrs a person typed that say something else than the text are kept and shown; a QUANTITY
with no value is counted at finish and at export."""

from __future__ import annotations

import json

import pytest

from workbench.session import AnnotationSession

DOC0 = "000_d84f443ac205a69d"


@pytest.fixture
def qstore(corpus_store):
    text = corpus_store.get_document(DOC0)["text"]
    i = text.index("45场")
    spans = [{"start": i, "end": i + 3, "label": "ORG", "text": "45场"}]  # a wrong label on a figure
    corpus_store.replace_proposals(DOC0, "test", "1", spans)
    return corpus_store


def session_at(store, text: str) -> AnnotationSession:
    s = AnnotationSession(store, "alice", doc_id=DOC0)
    s.set_cursor(next(i for i, it in enumerate(s.items) if it["text"] == text))
    return s


def test_relabel_to_quantity_derives_attrs(qstore):
    s = session_at(qstore, "45场")
    s.relabel("QUANTITY")
    assert s.current["attrs"] == {"value": 45, "unit": "场", "approx": None}
    assert qstore.annotator_spans(DOC0, "alice")[0]["attrs"] == {"value": 45, "unit": "场", "approx": None}


def test_added_quantity_gets_attrs(qstore):
    s = AnnotationSession(qstore, "alice", doc_id=DOC0)
    i = s.text.index("1200余人次") if "1200余人次" in s.text else s.text.index("34家")
    t = "1200余人次" if "1200余人次" in s.text else "34家"
    s.add_span(i, i + len(t), "QUANTITY")
    (sp,) = [x for x in qstore.annotator_spans(DOC0, "alice") if x["start"] == i]
    assert sp["attrs"] is not None and sp["attrs"]["value"] in (1200, 34)


def test_bound_move_rederives_automatic_attrs_and_keeps_typed_ones(qstore):
    s = session_at(qstore, "45场")
    s.relabel("QUANTITY")
    s.move_end(-1)  # 「45」: the counter is gone
    assert s.current["attrs"] == {"value": 45, "unit": "", "approx": None}
    s.move_end(1)
    assert s.current["attrs"] == {"value": 45, "unit": "场", "approx": None}
    typed = {"value": 46, "unit": "场", "approx": "about"}
    s.set_attrs(typed)
    s.move_start(1)  # 「5场」: a typed value is the annotator's, kept, and shown as disagreeing
    assert s.current["attrs"] == typed
    assert s.attrs_disagree(s.current)


def test_typed_attrs_where_the_grammar_reads_nothing_survive_a_move(qstore):
    s = AnnotationSession(qstore, "alice", doc_id=DOC0)
    i = s.text.index("统战")
    (key,) = s.add_span(i, i + 2, "QUANTITY").keys
    s.set_cursor(s.index_of(key))  # an add moves the cursor on (issue 14): back to it
    typed = {"value": 2, "unit": "个", "approx": None}
    s.set_attrs(typed)
    s.set_cursor(s.index_of(key))  # so does a saved attrs form
    s.move_end(1)  # still no figure in the text: the typed attrs are all there is
    assert s.current["attrs"] == typed


def test_finish_counts_quantities_without_value(qstore):
    s = AnnotationSession(qstore, "alice", doc_id=DOC0)
    i = s.text.index("统战")
    (key,) = s.add_span(i, i + 2, "QUANTITY").keys  # no figure in 「统战」
    assert s.items[s.index_of(key)]["attrs"] is None
    assert s.quantities_without_value() == 1
    ch = s.finish(force=True)
    assert "1 QUANTITY span without a value" in (ch.message or "")


def test_import_without_attrs_derives_them(qstore, tmp_path):
    from workbench.importer import import_annotations

    text = qstore.get_document(DOC0)["text"]
    i = text.index("45场")
    f = tmp_path / "a.jsonl"
    span = {"start": i, "end": i + 3, "label": "QUANTITY"}
    f.write_text(json.dumps({"id": DOC0, "spans": [span]}) + "\n", encoding="utf-8")
    import_annotations(qstore, str(f), annotator="bob")
    (sp,) = qstore.annotator_spans(DOC0, "bob")
    assert sp["attrs"] == {"value": 45, "unit": "场", "approx": None}


def test_export_says_how_many_quantities_have_no_attrs(qstore, tmp_path):
    from click.testing import CliRunner

    from workbench.cli import cli

    s = AnnotationSession(qstore, "alice", doc_id=DOC0)
    i = s.text.index("统战")
    s.add_span(i, i + 2, "QUANTITY")
    s.finish(force=True)
    out = tmp_path / "ann.jsonl"
    r = CliRunner().invoke(cli, ["--db", qstore.path, "export", "annotations", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "1 QUANTITY span without attrs (no value)" in r.output
