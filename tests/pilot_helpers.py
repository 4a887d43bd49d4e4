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
