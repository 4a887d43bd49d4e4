"""Issue 13: "a value the annotator typed by hand is kept and marked as manual, and a bound
move that makes it disagree with the text is shown".

"Manual" used to be inferred (attrs that disagree with the grammar's reading of the text).
A value typed equal to the grammar's reading was then taken for the grammar's: the next
bound move read the text again and replaced it, without a word. Typed attrs are now marked
in the decision (``attrs_manual``), kept through bound moves, undo, reload, export and
import; the grammar's attrs still follow the bounds.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.session import AnnotationSession

DOC0 = "000_d84f443ac205a69d"
TYPED = {"value": 1200, "unit": "人", "approx": "more"}  # what the grammar reads in 「1200余人」


def run(db_path, *args, ok=True):
    res = CliRunner().invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


@pytest.fixture
def qstore(corpus_store):
    text = corpus_store.get_document(DOC0)["text"]
    i = text.index("1200余人次")
    spans = [{"start": i, "end": i + 6, "label": "QUANTITY", "text": "1200余人", "attrs": dict(TYPED)}]
    corpus_store.replace_proposals(DOC0, "test", "1", spans)
    return corpus_store


def session(store, who="alice") -> AnnotationSession:
    s = AnnotationSession(store, who, doc_id=DOC0)
    s.set_cursor(next(i for i, it in enumerate(s.items) if it["label"] == "QUANTITY"))
    return s


def test_a_typed_value_equal_to_the_grammars_is_kept_through_a_bound_move(qstore):
    s = session(qstore)
    s.set_attrs(dict(TYPED))  # typed by hand, the same as the grammar reads
    assert s.current["attrs_manual"] is True
    s.move_end(1)  # 「1200余人次」: the grammar would read unit 人次
    assert s.current["text"] == "1200余人次"
    assert s.current["attrs"] == TYPED  # the annotator's value stays
    assert s.attrs_disagree(s.current)  # and the list shows it disagrees with the text
    # the database holds the same (a reload derives it from the log)
    again = session(qstore)
    assert again.current["attrs"] == TYPED and again.current["attrs_manual"] is True


def test_the_grammars_attrs_still_follow_the_bounds(qstore):
    s = session(qstore)
    s.move_end(1)  # never typed: read again from 「1200余人次」
    assert s.current["attrs"] == {"value": 1200, "unit": "人次", "approx": "more"}
    assert not s.current.get("attrs_manual")
    assert not s.attrs_disagree(s.current)


def test_relabel_and_undo_take_the_mark_away(qstore):
    s = session(qstore)
    s.set_attrs({"value": 1300, "unit": "人", "approx": None})
    s.relabel("ORG")
    assert s.current["attrs"] is None and not s.current.get("attrs_manual")
    s.relabel("QUANTITY")  # read from the text again: the grammar's, not typed
    assert s.current["attrs"] == TYPED and not s.current.get("attrs_manual")
    s.undo()
    s.undo()
    assert s.current["attrs"] == {"value": 1300, "unit": "人", "approx": None} and s.current["attrs_manual"]
    s.undo()
    assert not s.current.get("attrs_manual")


def test_the_mark_goes_through_export_and_import(qstore, db_path, tmp_path):
    s = session(qstore)
    s.set_attrs(dict(TYPED))
    s.move_end(1)
    s.finish()
    out = tmp_path / "a.jsonl"
    run(db_path, "export", "annotations", "-o", str(out))
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    (span,) = line["spans"]
    assert span["attrs"] == TYPED and span["attrs_manual"] is True  # beside attrs, not inside
    run(db_path, "import", "annotations", str(out), "--annotator", "copy")
    it = session(qstore, "copy").current
    assert it["attrs"] == TYPED and it["attrs_manual"] is True and it["status"] == "edited"
    back = tmp_path / "b.jsonl"
    run(db_path, "export", "annotations", "--annotator", "copy", "-o", str(back))
    (line2,) = [json.loads(x) for x in back.read_text(encoding="utf-8").splitlines()]
    assert line2["spans"] == line["spans"]


def test_grammar_attrs_are_not_marked_in_the_export(qstore, db_path, tmp_path):
    s = session(qstore)
    s.accept()
    s.finish()
    out = tmp_path / "a.jsonl"
    run(db_path, "export", "annotations", "-o", str(out))
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert "attrs_manual" not in line["spans"][0]


@pytest.mark.parametrize(
    "value,reason",
    [
        ("yes", '"attrs_manual" must be true or false, got "yes"'),
        (1, '"attrs_manual" must be true or false, got 1'),
    ],
)
def test_a_bad_mark_is_refused_with_its_line(qstore, db_path, tmp_path, value, reason):
    text = qstore.get_document(DOC0)["text"]
    i = text.index("1200余人次")
    bad = tmp_path / "bad.jsonl"
    rec = {
        "id": DOC0,
        "spans": [{"start": i, "end": i + 6, "label": "QUANTITY", "attrs": TYPED, "attrs_manual": value}],
    }
    bad.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    n = qstore.count("decisions")
    res = run(db_path, "import", "annotations", str(bad), "--annotator", "h", ok=False)
    assert res.exit_code == 1 and f"{bad}:1: span 1 [{i}, {i + 6}) QUANTITY: {reason}" in res.output, res.output
    assert qstore.count("decisions") == n


def test_a_mark_without_attrs_is_refused(qstore, db_path, tmp_path):
    text = qstore.get_document(DOC0)["text"]
    i = text.index("苍岭")
    bad = tmp_path / "bad.jsonl"
    rec = {"id": DOC0, "spans": [{"start": i, "end": i + 2, "label": "LOC", "attrs_manual": True}]}
    bad.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    res = run(db_path, "import", "annotations", str(bad), "--annotator", "h", ok=False)
    assert res.exit_code == 1
    assert f'{bad}:1: span 1 [{i}, {i + 2}) LOC: "attrs_manual" is true but the span has no attrs' in res.output
