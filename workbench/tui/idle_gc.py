"""Run Python's cyclic garbage collector when the annotator pauses, not inside a key.

Textual makes reference cycles as it renders (its ``Strip`` objects cache
themselves), so on a large queue a full collection pass (8-17 ms at 100k
documents) lands in the middle of every ~8th document switch. ``IdleGC``
switches automatic collection off while the app runs and collects from a
timer once no key has been handled for ``quiet`` seconds, or at once when the
garbage pending would otherwise grow past ``max_pending`` tracked objects (a
long burst of keys never grows memory without bound). Automatic collection is
switched back on when the app stops.
"""

from __future__ import annotations

import gc
import time


class IdleGC:
    def __init__(self, *, quiet: float = 0.08, every: float = 0.1, min_pending: int = 1_000, max_pending: int = 50_000):
        self.quiet = quiet
        self.every = every
        self.min_pending = min_pending
        self.max_pending = max_pending
        self.last_activity = time.monotonic()
        self.collections = 0
        self._was_enabled = True

    def start(self, app) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        app.set_interval(self.every, self.tick, name="idle-gc")

    def touch(self) -> None:
        """A key was handled: postpone collecting."""
        self.last_activity = time.monotonic()
        if gc.get_count()[0] > self.max_pending:
            self.collect()

    def tick(self) -> None:
        pending = gc.get_count()[0]
        if pending >= self.min_pending and time.monotonic() - self.last_activity >= self.quiet:
            self.collect()

    def collect(self) -> None:
        gc.collect()
        self.collections += 1

    def stop(self) -> None:
        if self._was_enabled:
            gc.enable()


class IdleGCApp:
    """App mixin: ``self.idle_gc`` runs from mount to unmount; every key postpones it.
    (Textual calls the ``on_mount`` / ``on_unmount`` of every class in the MRO.)"""

    idle_gc: IdleGC

    def on_mount(self) -> None:
        self.idle_gc = IdleGC()
        self.idle_gc.start(self)

    def on_unmount(self) -> None:
        self.idle_gc.stop()

    async def on_event(self, event) -> None:
        from textual import events

        if isinstance(event, events.Key) and hasattr(self, "idle_gc"):
            self.idle_gc.touch()
        await super().on_event(event)  # type: ignore[misc]  # (the App after this mixin)
