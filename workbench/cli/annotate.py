"""``workbench annotate``: open the keyboard-driven annotation TUI."""

from __future__ import annotations

import getpass
import os
import sys

import click

from .context import BUNDLED_CORPUS, AppContext, Progress, default_name, echo_err, name_callback, pass_app
from .ingest import run_ingest


def default_annotator() -> str:
    for var in ("WORKBENCH_ANNOTATOR",):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers)
        return "annotator"


def prepare_store(store, *, quiet: bool = False) -> None:
    """An empty database gets the bundled corpus and proposals, so the workbench
    opens ready to use. A database with documents but no proposal at all is
    proposed first. (Cheap checks only: this runs before every first screen.)"""
    if not store.has_documents():
        if not quiet:
            echo_err(f"{store.path} is empty: ingesting the bundled corpus ({BUNDLED_CORPUS})")
        failed = run_ingest(store, [BUNDLED_CORPUS], quiet=quiet)
        if failed:
            raise click.ClickException("could not ingest the bundled corpus")
    if not store.has_proposals():
        unproposed = store.document_ids()
        try:
            from workbench.propose.run import propose_store
        except ImportError as e:
            echo_err(f"warning: proposer unavailable ({e}); annotating without proposals")
            return
        if not quiet:
            echo_err(f"proposing spans for {len(unproposed)} documents (the first takes a few seconds)…")
        # a counted bar on a terminal: the first start proposes for seconds, never in silence
        with Progress("propose", None if quiet else len(unproposed), threshold=1) as bar:
            res = propose_store(store, doc_ids=unproposed, progress=bar.done)
        if not quiet and isinstance(res, dict):
            n = res.get("proposals", res.get("spans"))
            if n is not None:
                echo_err(f"{n} proposals")


@click.command()
@click.option(
    "--annotator",
    "-a",
    default=None,
    metavar="NAME",
    callback=name_callback,
    help="Your name in the decision log (default: $WORKBENCH_ANNOTATOR or the login name).",
)
@click.option("--doc", "doc_id", default=None, metavar="ID", help="Open this document first.")
@click.option(
    "--order",
    type=click.Choice(["ingest", "uncertain"]),
    default="ingest",
    show_default=True,
    help="Queue order. uncertain: the documents you have not started, least sure first by the "
    "learned model's proposal scores (mean of min(p, 1-p)); needs workbench train && workbench propose -p learned.",
)
@click.option(
    "--retrain-every",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Retrain the learned proposer in a background process after every N finished documents and "
    "re-propose the documents nobody has started (0: off; default: the project's setting, "
    "workbench retrain --set-every, else 5).",
)
@click.option(
    "--keymap",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Keymap TOML (default: $WORKBENCH_KEYMAP or ~/.config/workbench/keymap.toml).",
)
@pass_app
def annotate(
    app: AppContext,
    annotator: str | None,
    doc_id: str | None,
    order: str,
    retrain_every: int | None,
    keymap: str | None,
) -> None:
    """Confirm, edit or reject proposals in the terminal, one document at a time.

    \b
    Keys (press ? in the workbench for all of them):
      j/k or ↓/↑   next / previous proposal      a or enter  accept
      x            reject                        space       skip
      1..7         label PERSON ORG LOC DATE DOC PROGRAM QUANTITY
      [ ] { }      move start / end              e           QUANTITY attrs
      n            new span (h l w b e 0 $ j k, v anchor, 1..7 adds)
      s            add by search (text, enter, 1..7)  u      undo (any depth)
      A            accept all pending (asks)     f           finish (on a finished one: reopen, asks)
      tab/shift+tab  next / previous document    /           search (enter goes, esc goes back)
      t/T then 1..7  next / previous of a label  H           hide / show accepted in the list
      ?            help    ctrl+p  command palette    q  quit

    Every decision is committed to the database before the screen updates.
    The queue shows your unfinished documents first; reopening resumes at the
    document and item you quit on. --order uncertain puts the documents you have
    not started that the learned model is least sure about first (started ones
    keep their place; without learned proposals it stops with a message). If the database is empty, the bundled corpus
    is ingested and proposed first (with a progress bar).

    While you work, a background process retrains the learned proposer after
    every N finished documents (--retrain-every, 0 off) and re-proposes the
    documents nobody has started; the header says what it does.
    """
    from pathlib import Path

    from workbench.session import AnnotationSession, SessionError

    name = annotator or default_name(default_annotator(), "$WORKBENCH_ANNOTATOR or the login name", "--annotator")
    # a new ./workbench.db (no --db, no $WORKBENCH_DB) is created and filled with the bundled
    # corpus; a --db that names no database is an error (a typo would open the sample corpus)
    store = app.open_store(create=not app.explicit)
    prepare_store(store)
    try:
        session = AnnotationSession(store, name, doc_id=doc_id, order=order)
    except SessionError as e:
        raise click.ClickException(str(e)) from None

    from workbench.tui.app import AnnotateApp  # Textual only now, after proposing

    tui = AnnotateApp(store, name, session=session, keymap_path=Path(keymap) if keymap else None)
    # What exists now (modules, the queue, caches) lives as long as the app: keep it out
    # of the cyclic collector, whose full passes otherwise pause a key press by 25-50 ms.
    import gc

    gc.freeze()
    from .retrain import effective_every, start_worker, stop_worker

    every = effective_every(store, retrain_every)
    worker = start_worker(store.path, every) if every > 0 and store.path != ":memory:" else None
    try:
        tui.run()
    finally:
        stop_worker(worker)
    if tui.return_code:  # quit with a decision not saved (the app printed which)
        sys.exit(tui.return_code)


COMMANDS = (annotate,)
