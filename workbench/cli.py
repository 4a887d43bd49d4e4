"""The ``workbench`` command line.

Small composable commands on one SQLite file (``--db``, default
``./workbench.db`` or ``$WORKBENCH_DB``). Heavy imports (jieba, textual) happen
inside the commands that need them, so every command starts fast.

Command modules under ``workbench/commands/`` attach themselves to the groups
defined here; they are listed in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import sys
from pathlib import Path

import click

from workbench.store import Store, StoreError

from . import __version__

# The sample reports ship inside the package (package data), so a wheel install has them too.
BUNDLED_CORPUS = Path(str(importlib.resources.files("workbench") / "data" / "corpus"))


class AppContext:
    """Shared state of one CLI invocation: the database path and a lazily opened store."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            try:
                self._store = Store(self.db_path)
            except StoreError as e:
                raise click.ClickException(str(e)) from None
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    envvar="WORKBENCH_DB",
    default="workbench.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite database file (env WORKBENCH_DB).",
)
@click.version_option(__version__, prog_name="workbench")
@click.pass_context
def cli(ctx: click.Context, db: str) -> None:
    """Annotate Chinese work reports from the keyboard.

    \b
    Typical session:
      workbench ingest corpus/          # load reports (txt, folders, jsonl)
      workbench propose                 # automatic proposals
      workbench annotate                # confirm / edit / reject in the TUI
      workbench export gold -o gold.jsonl
    """
    ctx.obj = AppContext(db)
    ctx.call_on_close(ctx.obj.close)


@cli.group()
def export() -> None:
    """Write documents, proposals, annotations or gold to a file (-o - for stdout)."""


@cli.group(name="import")
def import_() -> None:
    """Read proposals or annotations made elsewhere (validated, all-or-nothing)."""


def echo_err(msg: str) -> None:
    click.echo(msg, err=True)


def progress_bar(items, label: str, *, threshold: int = 20, length: int | None = None):
    """A progress bar on stderr for large inputs; a plain iterator for small ones."""
    n = length if length is not None else (len(items) if hasattr(items, "__len__") else None)
    if n is None or n < threshold or not sys.stderr.isatty():
        return _NullBar(items)
    return click.progressbar(items, length=n, label=label, file=sys.stderr, show_pos=True)


class _NullBar:
    def __init__(self, items):
        self.items = items

    def __enter__(self):
        return self.items

    def __exit__(self, *exc):
        return False

    def update(self, n, current_item=None):
        pass


# ---------------------------------------------------------------------------- ingest


def run_ingest(store: Store, paths, *, quiet: bool = False) -> int:
    """Ingest ``paths``; print a summary and errors; return the number of failed files."""
    from .ingest import collect_inputs, ingest_file

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


@cli.command()
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


# ---------------------------------------------------------------------------- export documents


@export.command("documents")
@click.option("-o", "--output", required=True, help="Output file, or - for stdout.")
@pass_app
def export_documents(app: AppContext, output: str) -> None:
    """Documents as JSONL: {"id", "text", "meta", "flags"} in ingest order."""
    from .jsonl import dumps, open_output

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


# ---------------------------------------------------------------------------- stats


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_app
def stats(app: AppContext, as_json: bool) -> None:
    """Counts: documents, proposals, decisions per annotator, gold."""
    s = app.store.stats()
    if as_json:
        click.echo(json.dumps(s, ensure_ascii=False, indent=2))
        return
    click.echo(f"database        {s['database']} (schema v{s['schema_version']})")
    click.echo(f"documents       {s['documents']:,} ({s['characters']:,} characters)")
    click.echo(f"proposals       {s['proposals']:,} active, {s['proposals_superseded']:,} superseded")
    for src in s["proposal_sources"]:
        click.echo(f"  {src['source']} {src['version']:<10} {src['proposals']:,}")
    click.echo(f"decisions       {s['decisions']:,}")
    for a in s["annotators"]:
        click.echo(f"  {a['annotator']:<14}{a['decisions']:,} decisions in {a['documents']:,} documents")
    click.echo(f"gold            {s['gold_spans']:,} spans in {s['gold_documents']:,} documents")


# ---------------------------------------------------------------------------- command modules

# Each module attaches its commands to ``cli`` / ``export`` / ``import_`` on import.
COMMAND_MODULES: list[str] = [
    "workbench.commands.annotate",
    "workbench.commands.exchange",
    "workbench.commands.ops",
    "workbench.commands.review",
    "workbench.commands.propose",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name)


def main() -> None:
    try:
        cli(prog_name="workbench")
    except StoreError as e:  # pragma: no cover - surfaced by commands normally
        echo_err(f"error: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
