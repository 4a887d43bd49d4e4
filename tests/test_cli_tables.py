"""The CLI's tables (workbench.cli.tables): rich measures cells in terminal cells, so a
column after CJK text still lines up; the output is plain, stable text."""

from __future__ import annotations

from rich.cells import cell_len

from workbench.cli.tables import evaluation_text, history_text, new_table, render, stats_text


def _col(line: str, needle: str) -> int:
    """The terminal column where ``needle`` starts in ``line``."""
    return cell_len(line[: line.index(needle)])


def test_cjk_cells_keep_columns_aligned():
    t = new_table("who", ("n", "right"), "after")
    t.add_row("张三丰", "1", "x")
    t.add_row("bob", "22", "y")
    lines = render(t).splitlines()
    assert lines[0].startswith("who") and set(lines[1].strip()) == {"─"}
    assert _col(lines[2], "x") == _col(lines[3], "y")
    assert all(ln == ln.rstrip() for ln in lines)


def test_stats_rows():
    s = {
        "database": "wb.db",
        "schema_version": 2,
        "documents": 5,
        "characters": 15816,
        "proposals": 3,
        "proposals_superseded": 1,
        "proposal_sources": [{"source": "rules", "version": "1.0", "proposals": 3}],
        "decisions": 2,
        "annotators": [
            {"annotator": "王五", "decisions": 1, "documents": 1},
            {"annotator": "ann1", "decisions": 1, "documents": 1},
        ],
        "gold_documents": 0,
        "gold_spans": 0,
    }
    out = stats_text(s)
    assert "documents       5 (15,816 characters)" in out
    a, b = (ln for ln in out.splitlines() if "decisions in" in ln)
    assert _col(a, "1 decisions") == _col(b, "1 decisions") == 16


def test_history_columns_line_up_after_cjk_span_text():
    ds = [
        {"id": 1, "ts": "t", "annotator": "a", "action": "add", "start": 0, "end": 4, "text": "合江县委",
         "label": "ORG", "proposal_id": None, "ref_id": None, "origin": "tui", "attrs": None},
        {"id": 12, "ts": "t", "annotator": "a", "action": "accept", "start": 5, "end": 7, "text": "ab",
         "label": "LOC", "proposal_id": 3, "ref_id": None, "origin": "tui", "attrs": None},
    ]  # fmt: skip
    lines = history_text("d", ds, []).splitlines()
    assert lines[0] == "d: 2 decisions, 0 review actions"
    assert _col(lines[2], "ORG") == _col(lines[3], "LOC")
    assert lines[2][:6].strip() == "1" and lines[3][:6].strip() == "12"  # ids in the first 6 columns


def test_evaluation_names_its_overlap():
    z = {"gold": 1, "pred": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    res = {
        "labels": ["DATE"],
        "exact": {"per_label": {"DATE": z}, "micro": z},
        "overlap": {"per_label": {"DATE": z}, "micro": z},
        "quantity_attrs": {"matched": 0},
        "documents": 1,
        "documents_without_prediction": [],
    }
    out = evaluation_text(res)
    assert "any-overlap match, many-to-many" in out and "micro" in out and "DATE" in out
