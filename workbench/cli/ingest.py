"""``workbench ingest``, ``workbench stats`` and ``workbench export documents``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from workbench.store import Store

from .context import AppContext, echo_err, pass_app, process_alive, progress_bar


def run_ingest(store: Store, paths, *, quiet: bool = False) -> int:
    """Ingest ``paths``; print a summary, errors and warnings; return the number of failed files."""
    from workbench.ingest import MAX_FLAGGED_IDS, collect_inputs, ingest_file

    files = collect_inputs(paths)
    _warn_unfinished(store, files)
    added = unchanged = flagged = 0
    flagged_ids: list[str] = []
    failed = []
    with progress_bar(files, "ingest") as bar:
        for path in bar:
            res = ingest_file(store, path)
            added += res.added
            unchanged += res.unchanged
            flagged += res.flagged
            flagged_ids.extend(res.flagged_ids[: MAX_FLAGGED_IDS - len(flagged_ids)])
            if res.error:
                failed.append(res.error)
                echo_err(f"error: {res.error}")
    if flagged:
        # echo_err shows each control character of an id as its placeholder
        more = f" … and {flagged - len(flagged_ids)} more" if flagged > len(flagged_ids) else ""
        echo_err(
            f"warning: {flagged} document{'s hold' if flagged != 1 else ' holds'} control characters"
            f" (shown as placeholders): {', '.join(flagged_ids)}{more}"
        )
    if not quiet:
        click.echo(
            f"ingested {added} new document{'s' if added != 1 else ''}"
            f" ({unchanged} already present) from {len(files) - len(failed)} of {len(files)} files"
            f" into {store.path}"
        )
    return len(failed)


def _warn_unfinished(store: Store, files) -> None:
    """Earlier ingests that did not finish (killed mid-way) and are not being run again now."""
    now = {os.path.abspath(p) for p in files}
    for note in store.unfinished_bulk_runs("ingest"):
        if note["path"] in now:
            continue
        pid = note.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and process_alive(pid):
            echo_err(f"note: an ingest of {note['path']} is under way (process {pid})")
            continue
        echo_err(
            f"warning: an ingest of {note['path']} was interrupted (started {note.get('started', '?')}):"
            " some of its documents are in the database; run it again to finish it"
        )


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
    status is 1 if any file failed. Control characters (ESC, bidi overrides…)
    are kept exactly and the documents holding them are flagged and listed.
    Large files are written in short batches, so annotators are not locked
    out; a killed ingest is finished by running the same ingest again.
    """
    failed = run_ingest(app.open_store(create=True), paths)  # the command that creates a database
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
