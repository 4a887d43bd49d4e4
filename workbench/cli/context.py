"""What every command module shares: the invocation's :class:`AppContext`, ``pass_app``,
``echo_err``, the one progress helper, the bundled corpus.

A leaf module: it imports no command module and no group, so command modules import it
and :mod:`workbench.cli` registers them without an import cycle.
"""

from __future__ import annotations

import importlib.resources
import sys
from collections.abc import Iterable, Iterator, Sized
from pathlib import Path
from typing import Any

import click

from workbench.core.visible import visible
from workbench.store import Store, StoreError

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
