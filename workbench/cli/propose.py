"""``workbench propose``, ``workbench evaluate`` and ``workbench export proposals``.

jieba is imported only inside the commands that run a proposer.
"""

from __future__ import annotations

import json

import click

from .context import AppContext, Progress, echo_err, pass_app, progress_bar


def _proposer_names() -> list[str]:
    from workbench.propose import available

    return available()


class _ProposeCommand(click.Command):
    """``propose --help`` ends with the proposers registered now (entry points included),
    looked up only when the help is shown."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text("Available proposers: " + ", ".join(_proposer_names()) + ".")


@click.command(cls=_ProposeCommand)
@click.option("-p", "--proposer", default=None, metavar="NAME", help="Proposer to run (default: rules). See --list.")
@click.option(
    "-j",
    "--jobs",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (the main process alone writes the database).",
)
@click.option("--doc", "doc_ids", multiple=True, metavar="ID", help="Only these documents (repeatable).")
@click.option("--list", "list_", is_flag=True, help="List the available proposers and exit.")
@pass_app
def propose(app: AppContext, proposer: str | None, jobs: int, doc_ids: tuple[str, ...], list_: bool) -> None:
    """Propose spans for every document with a proposer (default: rules).

    \b
    rules    all seven labels: number grammar (QUANTITY with value/unit/approx),
             DATE, DOC 《》, quoted PROGRAM names, PERSON/ORG/LOC from jieba
             plus context rules (titles, suffixes, places)
    numbers  DATE, QUANTITY, DOC and PROGRAM only
    jieba    jieba.posseg's raw nr/ns/nt tags (a baseline to compare)
    learned  the latest model of 'workbench train' (a CRF stacked on rules;
             its version is the model's; scores are its marginal probabilities)

    Each proposal records the proposer's name and version. Running again
    supersedes the previous run of the same proposer; proposals annotators
    already decided on are kept, so no decision is lost. jieba's word
    boundaries are stored too (the annotate TUI uses them for w/b).
    """
    from workbench.propose import get_proposer

    if list_:
        for name in _proposer_names():
            p = get_proposer(name)
            click.echo(f"{p.name:<10}{p.version:<10}{' '.join(p.labels)}")
        return
    try:
        get_proposer(proposer)
    except KeyError as e:
        raise click.ClickException(e.args[0]) from None
    store = app.store
    ids = list(doc_ids) or None
    if ids:
        missing = [i for i in ids if store.get_document(i) is None]
        if missing:
            raise click.ClickException(f"no such document: {', '.join(missing)}")
    total = len(ids) if ids else store.count("documents")
    if total == 0:
        raise click.ClickException(f"no documents in {store.path}; run 'workbench ingest' first")
    from workbench.propose import ProposerUnavailable
    from workbench.propose.run import propose_store

    with Progress("propose", total) as bar:
        try:
            res = propose_store(store, proposer=proposer, jobs=jobs, progress=bar.done, doc_ids=ids)
        except ProposerUnavailable as e:  # learned: no model yet, another label set, no CRF package
            raise click.ClickException(str(e)) from None
    rate = res["characters"] / res["seconds"] if res["seconds"] else 0.0
    click.echo(
        f"proposed {res['proposals']:,} spans in {res['documents']:,} documents "
        f"({res['characters']:,} characters) with {res['proposer']} {res['version']}"
        f" in {res['seconds']:.2f} s ({rate:,.0f} chars/s, {res['jobs']} job{'s' if res['jobs'] != 1 else ''})"
    )


# ---------------------------------------------------------------------------- evaluate


def _db_spans(store, doc_id: str, source: str, proposer: str | None) -> list[dict]:
    if source == "gold":
        return store.gold_rows(doc_id)
    return store.proposals(doc_id, active_only=True, source=proposer)


def _pick_source(store, proposer: str | None) -> str | None:
    srcs = store.proposal_sources()
    if proposer is not None:
        if proposer not in srcs:
            raise click.ClickException(
                f"no active proposals of {proposer!r}; sources: {', '.join(srcs) or 'none (run workbench propose)'}"
            )
        return proposer
    if not srcs:
        raise click.ClickException("no proposals in the database; run 'workbench propose' first")
    if len(srcs) == 1:
        return srcs[0]
    from workbench.propose import DEFAULT_PROPOSER

    if DEFAULT_PROPOSER in srcs:
        return DEFAULT_PROPOSER
    raise click.ClickException(f"proposals from several sources ({', '.join(srcs)}); choose one with --proposer")


@click.command()
@click.option(
    "--gold",
    "gold_path",
    required=True,
    type=click.Path(dir_okay=False),
    help='Gold JSONL: {"id", "text"?, "spans"} per line.',
)
@click.option(
    "--source",
    type=click.Choice(["proposals", "gold"]),
    default="proposals",
    show_default=True,
    help="What to score: the active proposals or the database's gold.",
)
@click.option(
    "-p",
    "--proposer",
    default=None,
    metavar="NAME",
    help="With --source proposals: whose proposals (default: the only source, else rules).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def evaluate(app: AppContext, gold_path: str, source: str, proposer: str | None, as_json: bool) -> None:
    """Score proposals (or the database's gold) against a gold file.

    Documents are matched by id; gold documents missing from the database, or
    whose text differs from it, are skipped with a warning. Prints per-label
    and micro precision/recall/F1 for exact and overlap matching, and the
    QUANTITY attribute accuracy (value, unit and approx all equal, over
    exactly matched QUANTITY spans).
    """
    from workbench.evaluate import GoldFileError, match_gold, read_gold
    from workbench.evaluate import evaluate as run_eval

    from .tables import evaluation_text

    try:
        gold = read_gold(gold_path)  # the file first: its problems before the database's
    except GoldFileError as e:
        raise click.ClickException(str(e)) from None
    store = app.store
    src = _pick_source(store, proposer) if source == "proposals" else None

    def text_of(doc_id: str) -> str | None:
        doc = store.get_document(doc_id)
        return doc["text"] if doc is not None else None

    try:
        matched = match_gold(gold, text_of)
    except GoldFileError as e:
        raise click.ClickException(str(e)) from None
    kept, skipped_missing, skipped_text = matched.docs, matched.missing, matched.text_differs
    no_gold: list[str] = []
    if source == "gold":
        # only documents the database has gold for: the others would count as all missed
        have = store.gold_document_ids()
        no_gold = [d["id"] for d in kept if d["id"] not in have]
        kept = [d for d in kept if d["id"] in have]
        if no_gold:
            echo_err(
                f"note: {len(no_gold)} of the file's documents have no gold in the database yet (left out): "
                + ", ".join(no_gold[:5])
                + (" …" if len(no_gold) > 5 else "")
            )
    pred = [{"id": d["id"], "spans": _db_spans(store, d["id"], source, src)} for d in kept]
    if skipped_missing:
        echo_err(
            f"warning: {len(skipped_missing)} gold documents are not in the database (skipped): "
            + ", ".join(skipped_missing[:5])
            + (" …" if len(skipped_missing) > 5 else "")
        )
    if skipped_text:
        echo_err(
            f"warning: {len(skipped_text)} gold documents have a different text in the database (skipped): "
            + ", ".join(skipped_text[:5])
            + (" …" if len(skipped_text) > 5 else "")
        )
    if not kept:
        if no_gold:
            raise click.ClickException("the database has gold for none of the file's documents; nothing to evaluate")
        raise click.ClickException("no gold document matches a database document; nothing to evaluate")
    res = run_eval(kept, pred)
    res["source"] = source if source == "gold" else f"proposals:{src}"
    res["gold_file"] = gold_path
    res["skipped_documents"] = {"missing": skipped_missing, "text_differs": skipped_text, "no_gold": no_gold}
    if as_json:
        click.echo(json.dumps(res, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{res['source']} vs {gold_path}")
        click.echo(evaluation_text(res))


# ---------------------------------------------------------------------------- proposer runs


@click.command()
@click.option(
    "--deactivate", "deactivate", default=None, metavar="SOURCE", help="Hide SOURCE's proposals from annotators."
)
@click.option("--activate", "activate", default=None, metavar="SOURCE", help="Show SOURCE's latest run again.")
@pass_app
def runs(app: AppContext, deactivate: str | None, activate: str | None) -> None:
    """The proposer runs in the database (source, version, proposals, how many active and
    decided); --deactivate / --activate choose which sources annotators see.

    Decisions are kept: a deactivated proposal an annotator already decided stays in their
    view (and in agreement, review and exports); the pending ones disappear."""
    store = app.store
    if deactivate and activate:
        raise click.UsageError("--deactivate and --activate: one at a time")
    name = deactivate or activate
    if name is not None:
        if name not in {r["source"] for r in store.proposal_runs()}:
            known = ", ".join(sorted({r["source"] for r in store.proposal_runs()})) or "none"
            raise click.ClickException(f'no proposals from "{name}" (sources: {known})')
        n = store.set_source_active(name, activate is not None)
        echo_err(f"{'activated' if activate else 'deactivated'} {name}: {n:,} proposals")
    from .tables import runs_text

    click.echo(runs_text(store.proposal_runs()))


# ---------------------------------------------------------------------------- export proposals


def iter_proposal_records(store, proposer: str | None = None):
    """One record per document in ingest order: id, text and its active proposals,
    sorted by (start, end, label, source, id)."""
    for doc in store.iter_documents():
        rows = store.proposals(doc["id"], active_only=True, source=proposer)
        rows.sort(key=lambda r: (r["start"], r["end"], r["label"], r["source"], r["id"]))
        yield {
            "id": doc["id"],
            "text": doc["text"],
            "spans": [
                {
                    "start": r["start"],
                    "end": r["end"],
                    "label": r["label"],
                    "text": r["text"],
                    "attrs": r["attrs"],
                    "source": r["source"],
                    "score": r["score"],
                }
                for r in rows
            ],
        }


@click.command("proposals")
@click.option("-o", "--output", required=True, help="Output file, or - for stdout.")
@click.option("-p", "--proposer", default=None, metavar="NAME", help="Only this proposer's proposals.")
@pass_app
def export_proposals(app: AppContext, output: str, proposer: str | None) -> None:
    """Active proposals as JSONL, one document per line in ingest order:
    {"id", "text", "spans": [{"start", "end", "label", "text", "attrs", "source", "score"}]}."""
    from workbench.formats.jsonl import dumps, open_output

    store = app.store
    n = spans = 0
    with (
        open_output(output) as fh,
        progress_bar(
            iter_proposal_records(store, proposer), "export", length=store.count("documents"), threshold=2000
        ) as recs,
    ):
        for rec in recs:
            fh.write(dumps(rec) + "\n")
            n += 1
            spans += len(rec["spans"])
    if output != "-":
        echo_err(f"wrote {spans:,} proposals in {n:,} documents to {output}")


COMMANDS = (propose, evaluate, runs)
EXPORT_COMMANDS = (export_proposals,)
