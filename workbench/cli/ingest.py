"""``workbench ingest``, ``workbench stats`` and ``workbench export documents``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from workbench.store import Store

from .context import AppContext, echo_err, pass_app, progress_bar


def run_ingest(store: Store, paths, *, quiet: bool = False) -> int:
    """Ingest ``paths``; print a summary and errors; return the number of failed files."""
    from workbench.ingest import collect_inputs, ingest_file

    files = collect_inputs(paths)
    added = unchanged = 0
    failed = []
    with progress_bar(files, "ingest") as bar:
        for path in bar:
            res = ingest_file(store, path)
            added += res.added
            unchanged += res.unchanged
            if res.error:
                failed.append(res.error)
                echo_err(f"error: {res.error}")
    if not quiet:
        click.echo(
            f"ingested {added} new document{'s' if added != 1 else ''}"
            f" ({unchanged} already present) from {len(files) - len(failed)} of {len(files)} files"
            f" into {store.path}"
        )
    return len(failed)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_app
def ingest(app: AppContext, paths: tuple[Path, ...]) -> None:
    """Load reports: .txt files (id = file stem), folders (recursively) and .jsonl
    files with {"id", "text", "meta"?} per line.

    Text is decoded (UTF-8, UTF-8 BOM, UTF-16 BOM, GB18030: detected) and
    normalized as the annotation guide says, keeping an offset map to the raw
    text. Re-ingesting the same content adds nothing. A bad file is reported
    with its line and nothing of it is written; the others go on; the exit
    status is 1 if any file failed.
    """
    failed = run_ingest(app.store, paths)
    if failed:
        raise click.exceptions.Exit(1)


@click.command("documents")
@click.option("-o", "--output", required=True, help="Output file, or - for stdout.")
@pass_app
def export_documents(app: AppContext, output: str) -> None:
    """Documents as JSONL: {"id", "text", "meta", "flags"} in ingest order."""
    from workbench.formats.jsonl import dumps, open_output

    store = app.store
    n = 0
    with (
        open_output(output) as fh,
        progress_bar(store.iter_documents(), "export", length=store.count("documents"), threshold=2000) as docs,
    ):
        for d in docs:
            fh.write(dumps({"id": d["id"], "text": d["text"], "meta": d["meta"], "flags": d["flags"]}) + "\n")
            n += 1
    if output != "-":
        echo_err(f"wrote {n} documents to {output}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def stats(app: AppContext, as_json: bool) -> None:
    """Counts: documents, proposals, decisions per annotator, gold."""
    s = app.store.stats()
    if as_json:
        click.echo(json.dumps(s, ensure_ascii=False, indent=2))
        return
    from .tables import stats_text

    click.echo(stats_text(s))


COMMANDS = (ingest, stats)
EXPORT_COMMANDS = (export_documents,)
