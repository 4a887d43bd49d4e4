"""What every command module shares: the invocation's :class:`AppContext`, ``pass_app``,
``echo_err``, the one progress helper, the bundled corpus, the name option callbacks.

A leaf module: it imports no command module and no group, so command modules import it
and :mod:`workbench.cli` registers them without an import cycle.
"""

from __future__ import annotations

import errno
import importlib.resources
import sys
from collections.abc import Iterable, Iterator, Sized
from pathlib import Path
from typing import Any

import click

from workbench.core.names import clean_name
from workbench.core.tempfiles import pid_alive
from workbench.core.visible import visible
from workbench.store import NoSuchDatabase, Store, StoreError

# The sample reports ship inside the package (package data), so a wheel install has them too.
BUNDLED_CORPUS = Path(str(importlib.resources.files("workbench") / "data" / "corpus"))


class AppContext:
    """Shared state of one CLI invocation: the database path and a lazily opened store.

    Only commands that add data create a database (``open_store(create=True)``: ingest, and
    annotate on the default ``./workbench.db``); :attr:`store` opens an existing one, and a
    path with no database is "no such database" (a mistyped ``--db`` creates nothing and
    touches no output file). ``explicit``: the path came from ``--db`` or ``$WORKBENCH_DB``."""

    def __init__(self, db_path: str, *, explicit: bool = True):
        self.db_path = db_path
        self.explicit = explicit
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The existing database (never created here)."""
        return self.open_store()

    def open_store(self, *, create: bool = False, readonly: bool = False) -> Store:
        """The store, opened on first use. ``create``: a missing database is created (and
        that is said on stderr); ``readonly``: opened read-only, not migrated (``check``)."""
        if self._store is None:
            try:
                store = Store(self.db_path, create=create, readonly=readonly)
            except NoSuchDatabase as e:
                raise click.ClickException(
                    f"{e}; create one with: workbench --db {self.db_path} ingest FILE_OR_FOLDER…"
                ) from None
            except StoreError as e:
                raise click.ClickException(str(e)) from None
            if store.created:
                echo_err(f"created new database {store.path}")
            self._store = store
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


process_alive = pid_alive  # whether a process exists (a bulk run's note names the process that wrote it)


def describe_os_error(e: OSError) -> str:
    """One line for a failed file operation: what is wrong first ("disk full", "permission
    denied"), then the file."""
    where = e.filename if e.filename is not None else ""
    reason = e.strerror or str(e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full: cannot write {where} ({reason})" if where else f"disk full ({reason})"
    if e.errno == errno.EROFS:
        return f"read-only file system: {where} ({reason})" if where else f"read-only file system ({reason})"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: {where} ({reason})" if where else f"permission denied ({reason})"
    return f"{where}: {reason}" if where else reason


def _clean(value: str, what: str) -> str:
    try:
        return clean_name(value, what=what)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _what(param: click.Parameter | None) -> str:
    name = (param.name or "name") if param is not None else "name"
    name = name.rstrip("_").replace("_", " ")
    if name.endswith("annotators"):
        name = name[:-1]
    return f"{name} name"


def name_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """click callback of every option that takes an annotator or reviewer name: stripped and
    checked (:func:`workbench.core.names.clean_name`); None stays None. A comma-separated list
    (``--annotators A,B``) has each name checked and comes back joined by commas."""
    if value is None:
        return None
    what = _what(param)
    if isinstance(value, tuple):
        return tuple(_clean(v, what) for v in value)
    if param is not None and (param.name or "").startswith("annotators"):
        names = [_clean(v, what) for v in value.split(",") if v.strip()]
        if not names:
            raise click.BadParameter(f"no {what} given")
        return ",".join(names)
    return _clean(value, what)


def default_name(value: str, source: str, option: str) -> str:
    """A name taken from the environment or the login (no option given), checked like one."""
    try:
        return clean_name(value, what=f"the name from {source}")
    except ValueError as e:
        raise click.ClickException(f"{e}; pass {option} NAME") from None


pass_app = click.make_pass_decorator(AppContext)


def echo_err(msg: str) -> None:
    """A message on stderr; text from the data in it (ids, names, spans) is made visible, so a
    hostile id cannot send terminal sequences (OSC 52 clipboard writes, title changes…)."""
    click.echo(visible(msg, keep_newlines=True), err=True)


class Progress:
    """The one progress display of the CLI: a bar on stderr when stderr is a terminal and
    there are at least ``threshold`` steps, nothing otherwise.

    Use as a context manager, then either iterate (``for x in bar.iter(items)``), or
    report steps (``bar.update(n)``) or absolute counts (``bar.done(k)``, the shape of
    ``propose_store``'s ``progress(done, total)`` callback)."""

    def __init__(self, label: str, length: int | None, *, threshold: int = 20):
        self.position = 0
        self._bar: Any = None
        if length is not None and length >= threshold and sys.stderr.isatty():
            self._bar = click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def update(self, n: int = 1, current_item: object = None) -> None:
        self.position += n
        if self._bar is not None:
            self._bar.update(n)

    def done(self, done: int, _total: int | None = None) -> None:
        """Move to ``done`` steps in all (a callback taking absolute counts)."""
        if done > self.position:
            self.update(done - self.position)

    def iter(self, items: Iterable) -> Iterator:
        for item in items:
            yield item
            self.update(1)


class _IterProgress(Progress):
    """:func:`progress_bar`'s context: entering gives the iterator over the items."""

    def __init__(self, items: Iterable, label: str, length: int | None, threshold: int):
        super().__init__(label, length, threshold=threshold)
        self.items = items

    def __enter__(self) -> Any:
        super().__enter__()
        return self.iter(self.items)


def progress_bar(items: Iterable, label: str, *, threshold: int = 20, length: int | None = None) -> Any:
    """``with progress_bar(items, label) as it: for x in it: ...``: :class:`Progress` over
    ``items`` (length: ``length``, else ``len(items)`` when it has one). The object itself
    also takes ``update(n)`` for commands that count steps apart from the iteration."""
    n = length if length is not None else (len(items) if isinstance(items, Sized) else None)
    return _IterProgress(items, label, n, threshold)


def iter_progress(items: Iterable, label: str, *, threshold: int = 200) -> Iterator:
    """``items`` with a progress bar while they are consumed (a generator: for library calls
    that take ``progress=lambda xs: iter_progress(xs, "import")``)."""
    with progress_bar(items, label, threshold=threshold) as it:
        yield from it
