"""The CLI's tables, drawn by ``rich.table``: rich measures every cell in terminal cells
(a CJK character takes two), so all tables follow one width rule and no command pads
by hand.

Output is plain text (no colour, no box characters but the header rule), wide enough
never to wrap, trailing blanks stripped: the same bytes in a terminal, a pipe or a test.
rich is imported on first use (``workbench --help`` does not load it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.core.visible import visible

if TYPE_CHECKING:
    from rich.table import Table

# no borders; a rule under the header and under each section's last row (``end_section``)
_RULED_BOX = "    \n    \n ── \n    \n ── \n ── \n    \n    \n"


def new_table(*columns: str | tuple[str, str] | tuple[str, str, int], rule: bool = True) -> Table:
    """A borderless table; a column is ``"name"`` (left-aligned), ``("name", "right")`` or
    ``("name", justify, min_width)``. ``rule``: a line under the header (and under rows
    added with ``end_section=True``)."""
    from rich.box import Box

    t = _safe_table()(
        box=Box(_RULED_BOX) if rule else None,
        show_header=True,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        header_style="",
        highlight=False,
    )
    for c in columns:
        name, justify, width = (c, "left", None) if isinstance(c, str) else (*c, None)[:3]
        t.add_column(name, justify=justify, min_width=width, no_wrap=True)
    return t


_SafeTable: Any = None


def _safe_table() -> Any:
    """``rich.table.Table`` whose string cells go through ``core.visible``: ids, span texts and
    names from the data never reach the terminal raw, and each placeholder takes its one cell in
    the column widths. (Built on first use: rich is imported lazily.)"""
    global _SafeTable
    if _SafeTable is None:
        from rich.table import Table

        class SafeTable(Table):
            def add_row(self, *renderables: Any, **kw: Any) -> None:
                super().add_row(*(visible(r) if isinstance(r, str) else r for r in renderables), **kw)

        _SafeTable = SafeTable
    return _SafeTable


def render(*parts: Any) -> str:
    """``parts`` (tables or strings) as plain text lines."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(
        file=buf, width=100_000, no_color=True, color_system=None, highlight=False, emoji=False, markup=False
    )
    for p in parts:
        console.print(visible(p, keep_newlines=True) if isinstance(p, str) else p, overflow="ignore", crop=False)
    lines = [ln.rstrip() for ln in buf.getvalue().splitlines()]
    return "\n".join(lines)


def _f(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


# ---------------------------------------------------------------------------- stats


def stats_text(s: dict) -> str:
    """``workbench stats``: one row per figure, proposer runs and annotators indented."""
    from rich.table import Table

    t = Table.grid(padding=(0, 1))
    t.add_column(min_width=15, no_wrap=True)
    t.add_column(no_wrap=True)
    t.add_row("database", f"{s['database']} (schema v{s['schema_version']})")
    t.add_row("documents", f"{s['documents']:,} ({s['characters']:,} characters)")
    t.add_row("proposals", f"{s['proposals']:,} active, {s['proposals_superseded']:,} superseded")
    for src in s["proposal_sources"]:
        t.add_row(f"  {src['source']} {src['version']}", f"{src['proposals']:,}")
    t.add_row("decisions", f"{s['decisions']:,}")
    for a in s["annotators"]:
        t.add_row(f"  {a['annotator']}", f"{a['decisions']:,} decisions in {a['documents']:,} documents")
    t.add_row("gold", f"{s['gold_spans']:,} spans in {s['gold_documents']:,} documents")
    return render(t)


# ---------------------------------------------------------------------------- evaluate


def evaluation_text(res: dict) -> str:
    """``workbench evaluate``: per label and micro, exact and any-overlap matching, then the
    QUANTITY attribute accuracy. See :mod:`workbench.evaluate` for the definitions."""
    R = "right"
    t = new_table("label", ("gold", R), ("pred", R), ("P", R), ("R", R), ("F1", R), ("P~", R), ("R~", R), ("F1~", R))
    ex, ov = res["exact"], res["overlap"]

    def row(name: str, e: dict, o: dict, *, end_section: bool = False) -> None:
        t.add_row(
            name,
            str(e["gold"]),
            str(e["pred"]),
            *(f"{x[k]:.3f}" for x in (e, o) for k in ("precision", "recall", "f1")),
            end_section=end_section,
        )

    shown = [L for L in res["labels"] if ex["per_label"][L]["gold"] or ex["per_label"][L]["pred"]]
    for i, L in enumerate(shown):
        row(L, ex["per_label"][L], ov["per_label"][L], end_section=i == len(shown) - 1)
    row("micro", ex["micro"], ov["micro"])
    lines = [
        "exact match (P R F1) and any-overlap match, many-to-many (P~ R~ F1~: a prediction is right",
        "if it overlaps a gold span of its label; a gold span is found if a prediction of its label overlaps it)",
    ]
    q = res["quantity_attrs"]
    if q["matched"]:
        tail = (
            f"QUANTITY attrs: {q['correct']}/{q['matched']} exact-matched spans fully correct "
            f"({q['accuracy']:.3f}); value {q['value']:.3f}, unit {q['unit']:.3f}, approx {q['approx']:.3f}"
        )
    else:
        tail = "QUANTITY attrs: no exact-matched QUANTITY spans"
    missing = res["documents_without_prediction"]
    docs = f"documents: {res['documents']}" + (f" ({len(missing)} without prediction)" if missing else "")
    return "\n".join([*lines, render(t), tail, docs])


# ---------------------------------------------------------------------------- agreement


def agreement_text(rep: dict) -> str:
    """``workbench agreement``: alpha, one row per annotator pair, F1 per label."""
    anns = rep["annotators"]
    what = f" (label {rep['label']} only; other labels count as O)" if rep["label"] else ""
    fin = rep["finished"]
    lines = ["annotators: " + ", ".join(f"{a} ({fin[a]} finished)" for a in anns) + what]
    al = rep["alpha"]
    lines.append(
        f"Krippendorff's alpha (nominal, characters, all annotators): {_f(al['value'])}"
        f"  over {al['documents']} documents, {al['characters']:,} characters"
    )
    if not rep["pairs"]:
        lines.append("no pair of annotators has finished a common document")
        return "\n".join(lines)
    R = "right"
    t = new_table(
        "pair",
        ("docs", R),
        ("chars", R),
        ("exact P", R),
        ("R", R),
        ("F1", R),
        ("1:1 overlap P", R),
        ("R", R),
        ("F1", R),
    )
    chance = new_table(
        "pair",
        ("chars agree", R),
        ("κ", R),
        ("AC1", R),
        ("decisions", R),
        ("agree", R),
        ("κ", R),
        ("AC1", R),
        rule=False,
    )
    for p in rep["pairs"]:
        e, o, d = p["exact"]["micro"], p["overlap"]["micro"], p["decisions"]
        t.add_row(
            f"{p['a']} ~ {p['b']}",
            str(p["documents"]),
            f"{p['characters']:,}",
            *(_f(x[k]) for x in (e, o) for k in ("precision", "recall", "f1")),
        )
        chance.add_row(
            f"{p['a']} ~ {p['b']}",
            _pct(p["char_agreement"]),
            _f(p["char_kappa"]),
            _f(p["char_ac1"]),
            str(d["shared"]),
            f"{_pct(d['percent'])} ({d['agree']})" if d["shared"] else "–",
            _f(d["kappa"]),
            _f(d["ac1"]),
        )
    parts: list[Any] = [
        "\n".join(lines),
        "",
        t,
        "",
        "Agreement on character labels and on accept/reject decisions: raw, Cohen's κ, Gwet's AC1",
        chance,
    ]
    labels: list[str] = []
    for p in rep["pairs"]:
        for lab in p["exact"]["labels"]:
            if lab not in labels:
                labels.append(lab)
    if labels and not rep["label"]:
        from workbench.core.labels import LABELS

        labels.sort(key=lambda x: (LABELS.index(x) if x in LABELS else 99, x))
        per = new_table("pair", *((lab, "right") for lab in labels), rule=False)
        for p in rep["pairs"]:
            cells = []
            for lab in labels:
                e = p["exact"]["labels"].get(lab)
                o = p["overlap"]["labels"].get(lab)
                cells.append(f"{_f(e and e['f1'], 2)}/{_f(o and o['f1'], 2)}" if e else "–")
            per.add_row(f"{p['a']} ~ {p['b']}", *cells)
        parts += ["", "F1 per label, exact / 1:1 overlap (reference = first annotator; F1 is symmetric)", per]
    if rep["no_overlap"]:
        parts += ["", "no common finished document: " + ", ".join(f"{a} ~ {b}" for a, b in rep["no_overlap"])]
    parts += [
        "",
        "P/R take the first annotator as reference. 1:1 overlap: same label and a shared character,\n"
        "each span matched at most once (one-to-one). Characters: every character's label (O outside\n"
        "spans). Decisions: accept (or edit) vs reject on the proposals both decided. κ falls towards 0\n"
        "when one category dominates (nearly all accepted) even with high raw agreement; AC1 does not.",
    ]
    return render(*parts)


# ---------------------------------------------------------------------------- history


def _span_cell(r: dict) -> str:
    if r.get("start") is None:
        return ""
    t = r.get("text")
    return f"{r['start']}-{r['end']}" + (f" 「{t}」" if t else "")


def _review_outcome(r: dict) -> str:
    from workbench.review.history import review_outcome

    return review_outcome(r)


def history_text(doc_id: str, decisions: Sequence[dict], reviews: Sequence[dict]) -> str:
    """``workbench history``: the decision log, then the review log."""
    R = "right"
    parts: list[Any] = [f"{doc_id}: {len(decisions)} decisions, {len(reviews)} review actions"]
    if decisions:
        t = new_table(
            ("id", R, 6),
            "ts",
            "annotator",
            "action",
            "span",
            "label",
            ("proposal", R),
            ("ref", R),
            "origin",
            rule=False,
        )
        for d in decisions:
            extra = ("  " + json.dumps(d["attrs"], ensure_ascii=False)) if d["attrs"] else ""
            t.add_row(
                str(d["id"]),
                d["ts"],
                d["annotator"],
                d["action"],
                _span_cell(d),
                d["label"] or "",
                "" if d["proposal_id"] is None else str(d["proposal_id"]),
                "" if d["ref_id"] is None else str(d["ref_id"]),
                f"{d['origin']}{extra}",
            )
        parts.append(t)
    if reviews:
        t = new_table(("id", R, 6), "ts", "reviewer", "action", "item", "outcome", rule=False)
        for r in reviews:
            t.add_row(str(r["id"]), r["ts"], r["reviewer"], r["action"], r["item_key"] or "", _review_outcome(r))
        parts += ["", "review log", t]
    return render(*parts)


# ---------------------------------------------------------------------------- assign


def load_text(rows: Sequence[tuple[str, int, int]]) -> str:
    """``workbench assign``: (annotator, documents assigned, finished) per annotator."""
    t = new_table("annotator", ("documents", "right"), ("finished", "right"), rule=False)
    for name, n, done in rows:
        t.add_row(name, str(n), str(done))
    return render(t)


# ---------------------------------------------------------------------------- runs


def runs_text(rows: list[dict]) -> str:
    """``workbench runs``: one row per proposer run."""
    if not rows:
        return "no proposals (run workbench propose or workbench import proposals)"
    R = "right"
    t = new_table("source", "version", ("proposals", R), ("active", R), ("decided", R), "created")
    for r in rows:
        t.add_row(
            r["source"],
            r["version"],
            f"{r['proposals']:,}",
            f"{r['active'] or 0:,}",
            f"{r['decided'] or 0:,}",
            (r["created"] or "")[:19].replace("T", " "),
        )
    return render(t)
