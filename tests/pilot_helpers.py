"""Helpers shared by the Pilot-driven TUI tests."""

from __future__ import annotations

import asyncio

from workbench.store import Store


async def press(pilot, *keys):
    """Press ``keys`` in order, then let the app process them and repaint."""
    for k in keys:
        await pilot.press(k)
    await pilot.pause()


def run(coro):
    return asyncio.run(coro)


def fresh(store) -> Store:
    """A second connection: proves a write is committed, not just in our transaction."""
    return Store(store.path)


def header_plain(app) -> str:
    """The annotate header's text as drawn."""
    from workbench.tui.scroll import Line

    return app.query_one("#header", Line)._text.plain


async def annotate_painted(app, pilot) -> None:
    """Wait for the annotate screen's first paint (the document, its lines and the header)."""
    for _ in range(400):
        await pilot.pause()
        if app.session.text and app.doc_view.lines and header_plain(app).strip():
            return
    raise AssertionError("the annotate screen never painted")
