"""``workbench retrain``: learning while annotating (retrain after every N finished documents,
re-propose the documents nobody has started). ``workbench annotate`` starts it as a background
process; a team server or cron can run it too (``--once``)."""

from __future__ import annotations

import contextlib
import os
import sys

import click

from workbench.core.visible import visible

from .context import AppContext, echo_err, pass_app


def effective_every(store, every: int | None) -> int:
    """``every`` if given, else the project's setting, else the default."""
    from workbench.propose.retrain import DEFAULT_EVERY

    if every is not None:
        return every
    saved = store.retrain_every()
    return DEFAULT_EVERY if saved is None else saved


BACKGROUND_NICE = 10  # the background worker's niceness increment (annotate's screen first)


def start_worker(db_path: str, every: int) -> object | None:
    """Start ``workbench retrain --parent <this pid>`` as a background process (its own
    session, no terminal: stdin, stdout and stderr are /dev/null; it writes what it does to
    the status note). Returns the ``subprocess.Popen`` (None if it could not start)."""
    import subprocess

    args = [
        sys.executable,
        "-c",
        "from workbench.cli import main; main()",
        "--db",
        os.path.abspath(db_path),
        "retrain",
        "--every",
        str(every),
        "--parent",
        str(os.getpid()),
        "--quiet",
    ]
    try:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        return None


def stop_worker(proc, timeout: float = 2.0) -> None:
    """Stop the worker :func:`start_worker` started and reap it (no zombie): SIGTERM (it
    stops between two steps), then SIGKILL after ``timeout`` seconds."""
    import subprocess

    if proc is None:
        return
    try:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait(timeout)
    except (OSError, subprocess.TimeoutExpired):
        pass


def _status_lines(store) -> list[str]:
    from workbench.propose.retrain import status_note

    lock = store.retrain_lock()
    alive = store.retrain_worker_alive()
    status = store.retrain_status()
    every = store.retrain_every()
    lines = [
        f"every: {effective_every(store, None)} finished documents"
        + (" (the project's setting)" if every is not None else " (the default)")
    ]
    if lock is None:
        lines.append("worker: none")
    else:
        lines.append(
            f"worker: pid {lock.get('pid')} on {visible(str(lock.get('host')))}" + ("" if alive else " (stale)")
        )
    note = status_note(status, True)
    if note:
        lines.append(f"{'status' if alive else 'last status'}: {visible(note)}")
    if status and status.get("error"):
        lines.append(f"last error: {visible(str(status['error']))}")
    return lines


@click.command()
@click.option(
    "--every",
    "every",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Retrain after every N newly finished documents (default: the project's setting, else 5).",
)
@click.option("--once", is_flag=True, help="One check (retrain if N new documents are finished), then exit.")
@click.option("--force", is_flag=True, help="Retrain now, however few documents are new.")
@click.option("--status", "show_status", is_flag=True, help="Print the worker and its status note, then exit.")
@click.option(
    "--set-every",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Store N as this project's default (0: 'workbench annotate' starts no retraining), then exit.",
)
@click.option("--parent", type=int, default=None, hidden=True, help="Stop when this process is gone.")
@click.option("--quiet", is_flag=True, hidden=True, help="Print nothing.")
@pass_app
def retrain(
    app: AppContext,
    every: int | None,
    once: bool,
    force: bool,
    show_status: bool,
    set_every: int | None,
    parent: int | None,
    quiet: bool,
) -> None:
    """Learn while people annotate: retrain the learned proposer after every N finished
    documents and re-propose the documents nobody has started.

    \b
    Finished documents are the training set of 'workbench train
    --with-annotations': the gold, and each finished annotation of a document
    without gold. When N of them are new since the latest model was trained,
    the CRF is trained on all of them and stored, then 'learned' proposes the
    documents nobody has started (no decision by anyone, no gold; with
    assignments, the assigned ones). Decisions are never touched: a document
    someone starts meanwhile is left alone.

    \b
    'workbench annotate' starts this in the background (--retrain-every N,
    0 disables); only one worker per database runs (a lock row in the
    database; a dead or silent holder is taken over). On a team server:
      workbench retrain              # checks every few seconds until stopped
      workbench retrain --once       # one check (cron)
      workbench retrain --status     # who holds the lock, what it did last
      workbench retrain --set-every 10
    """
    store = app.store
    if set_every is not None:
        store.set_retrain_every(set_every)
        click.echo(f"retrain every {set_every} finished documents" if set_every else "retraining off in annotate")
        return
    if show_status:
        for line in _status_lines(store):
            click.echo(line)
        return
    n = effective_every(store, every)
    if n == 0:
        if not once and not force:
            raise click.ClickException("retraining is off for this project (retrain:every 0); pass --every N")
        n = 1
    from workbench.propose.retrain import Worker

    if parent is not None:
        # started by 'workbench annotate': training (minutes at thousands of finished documents,
        # a whole core) yields the CPU to the annotators' screens
        with contextlib.suppress(OSError, AttributeError):
            os.nice(BACKGROUND_NICE)
    path = store.path
    app.close()  # the worker opens its own connections
    log = None if quiet else (lambda line: echo_err(visible(line)))
    worker = Worker(path, n, parent=parent, log=log, force=force)
    out = worker.run(once=once)
    if quiet:
        return
    if once:
        state = out.get("state")
        if state == "busy":
            echo_err("another retraining worker holds this database's lock; nothing done")
        elif state == "waiting":
            click.echo(
                f"{out.get('new', 0)} of {n} new finished documents since the latest model"
                f" ({out.get('finished', 0)} in all): not retrained"
            )
        elif state == "error":
            raise click.ClickException(str(out.get("error")))


COMMANDS = (retrain,)
