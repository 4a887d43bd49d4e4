"""``workbench train``: a CRF on the database's gold, stored in the database as a model row.

The CRF package and jieba are imported only when the command runs.
"""

from __future__ import annotations

import json

import click

from workbench.core.visible import visible

from .context import AppContext, Progress, echo_err, pass_app


def _read_extra(paths: tuple[str, ...]) -> tuple[list[dict], list[dict]]:
    """The extra training documents of ``--extra`` files and each file's figures; a file with
    problems stops the command (``FILE:LINE: reason`` lines, exit 1, nothing trained)."""
    from workbench.propose.extra import ExtraError, read_extra

    docs: list[dict] = []
    figures: list[dict] = []
    for p in paths:
        try:
            d, f = read_extra(p)
        except ExtraError as e:
            for line in e.lines[:-1]:
                echo_err(visible(line))
            more = e.total - len(e.lines)
            raise click.ClickException(
                visible(e.lines[-1]) + (f" (and {more} more problem{'s' if more != 1 else ''})" if more > 0 else "")
            ) from None
        docs.extend(d)
        figures.append(f)
        left = ", ".join(f"{k} {v:,}" for k, v in sorted(f["left_out"].items()))
        echo_err(
            f"extra {visible(f['file'])}: {f['documents']:,} sentences or documents, spans "
            + ", ".join(f"{k} {v:,}" for k, v in f["spans"].items())
            + (f"; left out (labels not ours): {visible(left)}" if left else "")
            + (f"; {', '.join(f['filled_from_rules'])} from the rules" if f["filled_from_rules"] else "")
        )
    return docs, figures


def _cv_text(cv: dict) -> str:
    from workbench.core.labels import LABELS

    from .tables import new_table, render

    res = cv["results"]
    t = new_table(
        "label",
        ("gold", "right"),
        ("rules P", "right"),
        ("R", "right"),
        ("F1", "right"),
        ("learned P", "right"),
        ("R", "right"),
        ("F1", "right"),
        ("ΔF1", "right"),
        ("crf alone F1", "right"),
    )

    def row(name: str, r: dict, l: dict, c: dict, *, end_section: bool = False) -> None:
        t.add_row(
            name,
            f"{r['gold']:,}",
            f"{r['precision']:.3f}",
            f"{r['recall']:.3f}",
            f"{r['f1']:.3f}",
            f"{l['precision']:.3f}",
            f"{l['recall']:.3f}",
            f"{l['f1']:.3f}",
            f"{l['f1'] - r['f1']:+.3f}",
            f"{c['f1']:.3f}",
            end_section=end_section,
        )

    ex = {k: v["exact"] for k, v in res.items()}
    for i, L in enumerate(LABELS):
        row(
            L,
            ex["rules"]["per_label"][L],
            ex["learned"]["per_label"][L],
            ex["crf"]["per_label"][L],
            end_section=i == len(LABELS) - 1,
        )
    row("micro", ex["rules"]["micro"], ex["learned"]["micro"], ex["crf"]["micro"])
    head = (
        f"{cv['folds']}-fold cross-validation over {cv['documents']} documents "
        f"(exact match: same start, end and label), {cv['seconds']:.1f} s"
    )
    return render(head, t)


@click.command()
@click.option(
    "--cv",
    "cv",
    type=click.IntRange(min=2),
    default=None,
    metavar="K",
    help="First K-fold cross-validation: per-label and micro P/R/F1 of the learned proposer and of the "
    "rules on the same folds, side by side (K ≥ number of documents: leave-one-document-out).",
)
@click.option(
    "--with-annotations",
    is_flag=True,
    help="Also train on finished annotations of documents that have no gold yet (each annotator's spans).",
)
@click.option(
    "--extra",
    "extra_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="More training data: a general-domain NER corpus you hold, character per line with BIO / BMES / "
    "BIOES tags (CHAR<TAB>TAG, blank line between sentences) or JSONL {text, spans} (repeatable). "
    "Read strictly (FILE:LINE: reason); with --cv it is in every fold's training part, never scored.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the model row (and the cross-validation) as JSON.")
@pass_app
def train(app: AppContext, cv: int | None, with_annotations: bool, extra_files: tuple[str, ...], as_json: bool) -> None:
    """Train the learned proposer on the database's gold and store the model in the database.

    \b
    A linear-chain CRF (CRFsuite) over the characters of the normalized text,
    with features: the character and its neighbours, jieba's words and POS
    tags, the suffix lexicons, and the rules proposer's own labels (the model
    is stacked on the rules). The model is a row of the database (name crf,
    version = a hash of its bytes, training documents, figures): the one
    SQLite file stays the whole project. Then:
      workbench propose --proposer learned

    Training again on other gold makes a new version; proposals of the old
    one that annotators decided on are kept, like every proposer run.
    """
    from workbench.propose import ProposerUnavailable
    from workbench.propose.learned import MODEL_NAME, TrainingError, cross_validate
    from workbench.propose.retrain import train_and_save, training_documents

    store = app.store
    docs, n_gold, n_ann = training_documents(store, with_annotations)
    if not docs:
        hint = "finish documents in 'workbench annotate' and settle them with 'workbench review'" + (
            "" if with_annotations else ", or pass --with-annotations to train on finished annotations"
        )
        raise click.ClickException(f"no gold to train on in {store.path}: {hint}")
    extra, extra_figures = _read_extra(extra_files)  # (after: reading runs the rules over the whole file)
    cv_result = None
    try:
        if cv is not None:
            with Progress("cross-validation", cv, threshold=2) as bar:
                cv_result = cross_validate(docs, cv, progress=bar.done, extra=extra)
            if not as_json:
                click.echo(_cv_text(cv_result))
        more: dict = {"extra": extra_figures} if extra_figures else {}
        if cv_result is not None:
            more["cv"] = {
                "folds": cv_result["folds"],
                "documents": cv_result["documents"],
                "extra_documents": len(extra),
                "exact": {k: v["exact"] for k, v in cv_result["results"].items()},
            }
        row, new, figures = train_and_save(store, docs + extra, n_gold, n_ann, extra_figures=more)
    except (TrainingError, ProposerUnavailable) as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps({**row, "new": new}, ensure_ascii=False, indent=2))
        return
    spans = sum(figures["spans"].values())
    what = f"{n_gold} gold document{'s' if n_gold != 1 else ''}" + (
        f" and {n_ann} finished annotation{'s' if n_ann != 1 else ''}" if with_annotations else ""
    )
    if extra:
        what += f" plus {len(extra):,} extra sentences or documents ({', '.join(f['file'] for f in extra_figures)})"
    click.echo(
        f"trained {MODEL_NAME} {row['version']} on {what} ({figures['characters']:,} characters, {spans:,} spans)"
        f" in {figures['seconds']:.1f} s; model {row['size'] / 1024:,.0f} KB "
        + ("stored" if new else "unchanged (same version already stored)")
        + f" in {visible(store.path)}"
    )
    if figures.get("overlapping_spans_dropped"):
        echo_err(
            f"warning: {figures['overlapping_spans_dropped']} overlapping spans were left out (tags hold flat spans)"
        )
    click.echo("propose with: workbench propose --proposer learned")


COMMANDS = (train,)
