"""What both workbench apps share: the key table turned into priority bindings, the
user keymap, the command palette built from the key table, idle garbage collection,
the key bar, the status message helpers and the help screen.

An app subclasses :class:`WorkbenchApp`, sets ``KEY_TABLE`` (a list of
:class:`~workbench.tui.keys.Key`), ``BINDINGS = bindings(KEY_TABLE)``,
``ACTION_MODES = action_modes(KEY_TABLE)``, ``KEYBAR`` and the help texts, and
implements ``ready`` (called once mounted, after the keymap is applied) and
``update_status``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import App
from textual.command import DiscoveryHit, Hit, Provider
from textual.reactive import reactive
from textual.timer import Timer

from workbench.store import StoreError
from workbench.store.db import StoreBusy

from ..core.visible import visible
from ..session import SessionError
from .help import HelpScreen, key_label
from .idle_gc import IdleGCApp
from .keymap import KeymapError, ModalActions, default_keymap_path, load_keymap
from .keys import Key, KeybarEntry
from .safe import SafeText
from .scroll import Line, LineView
from .styles import Styled

BASE_CSS = str(Path(__file__).with_name("base.tcss"))

# Another program holding the database's write lock must never freeze the screen: a decision
# waits FIRST_WAIT for the lock (ordinary contention between annotators is shorter), then the
# screen says it is waiting and tries again every RETRY_EVERY, waiting RETRY_WAIT each time
# (the screen stays live in between: q quits, other keys are dropped with a word).
FIRST_WAIT = 0.25
RETRY_WAIT = 0.05
RETRY_EVERY = 0.2
QUIT_KEYS = ("ctrl+c", "ctrl+q")  # quit while waiting, besides the keys bound to quit


@dataclass
class PendingWrite:
    """A decision the database has not taken yet (its write lock is held elsewhere)."""

    fn: Callable
    args: tuple
    then: Callable
    what: str  # "accept PERSON 「黄军」 in doc-3": what is not saved yet
    since: float
    dropped: int = 0  # keys dropped meanwhile


class ActionsProvider(Provider):
    """The command palette (ctrl+p): the actions of the key table the app offers now."""

    def _commands(self):
        app = self.app
        assert isinstance(app, WorkbenchApp)
        for k in app.palette_keys():
            yield app.palette_name(k), f"{app.keys_for(k.id)}  ({k.id})", partial(app.palette_run, k.action)
        for name, help_, action in app.PALETTE_EXTRA:
            yield name, help_, partial(app.palette_run, action)

    async def discover(self):
        for name, help_, cb in self._commands():
            yield DiscoveryHit(name, cb, help=help_)

    async def search(self, query: str):
        matcher = self.matcher(query)
        for name, help_, cb in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_)


class WorkbenchApp(IdleGCApp, ModalActions, App):
    """Base of the annotate and review apps."""

    KEY_TABLE: ClassVar[list[Key]] = []
    KEYMAP_SECTION: ClassVar[str] = "keymap"
    KEYBAR: ClassVar[dict[str, list[KeybarEntry]]] = {}
    KEYBAR_DROP: ClassVar[dict[str, list[int]]] = {}  # entries dropped first when narrow
    KEYBAR_LINES: ClassVar[int] = 1  # lines the key bar may take when narrow
    PALETTE_SKIP: ClassVar[tuple[str, ...]] = ("cancel",)  # binding ids (or id prefixes ending in ".")
    PALETTE_EXTRA: ClassVar[list[tuple[str, str, str]]] = []  # (name, help, action)
    HELP_TITLE: ClassVar[str] = ""
    HELP_RULES: ClassVar[str] = ""
    HELP_HIDE: ClassVar[tuple[str, ...]] = ()  # binding ids not listed in the help
    HELP_ROWS: ClassVar[dict[str, list[tuple[str, str]]]] = {}  # binding id -> rows (keys, description) instead
    MODE_NAMES: ClassVar[dict[str, str]] = {}  # how the help names a mode

    COMMANDS = App.COMMANDS | {ActionsProvider}
    ENABLE_COMMAND_PALETTE = True
    AUTO_FOCUS = None

    mode: reactive[str] = reactive("normal", bindings=True)

    def __init__(
        self, *, keymap: dict[str, str] | None = None, keymap_path: Path | None = None, use_user_keymap: bool = True
    ) -> None:
        super().__init__()
        self._keymap_arg = keymap
        self._keymap_path = keymap_path
        self._use_user_keymap = use_user_keymap
        self._message: Text | None = None
        self._pending: PendingWrite | None = None
        self._pending_timer: Timer | None = None
        self.unsaved: list[str] = []  # decisions given up on quitting while the database was locked

    # ------------------------------------------------------------------ mounting
    def on_mount(self) -> None:
        self.writes_store().write_timeout = FIRST_WAIT
        keymap = dict(self._keymap_arg or {})
        if self._use_user_keymap:
            path = self._keymap_path or default_keymap_path()
            try:
                user, warnings = load_keymap(path, {k.id for k in self.KEY_TABLE}, self.KEYMAP_SECTION)
            except KeymapError as e:
                user, warnings = {}, [f"keymap not loaded: {e}"]
            keymap = {**user, **keymap}
            for w in warnings:
                self.notify(w, severity="warning", timeout=8)
        if keymap:
            self.set_keymap(keymap)
        self.set_focus(None)
        self.theme_changed_signal.subscribe(self, self._restyle)
        self.ready()

    def _restyle(self, _theme=None) -> None:
        """A new theme: every widget looks its text styles up again, the panels render
        again (their strip caches hold the old colours), the bars are rebuilt."""

        def again() -> None:
            for w in self.query("*"):
                if isinstance(w, Styled):
                    w.forget_styles()
            self.restyle()

        self.call_after_refresh(again)

    def restyle(self) -> None:
        """Rebuild what was rendered with the old styles (the app's bars, its panels)."""
        for w in self.query(LineView):
            w.restyle()
        self.update_keybar()
        self.update_header()
        self.update_status()

    def update_header(self) -> None:
        """Rebuild the header bar (if the app has one)."""

    def writes_store(self):
        """The store the app's session writes to (its writes get a short lock wait)."""
        return self.session.store

    def ready(self) -> None:
        """The app is mounted and its keymap applied."""

    # ------------------------------------------------------------------ keys
    def keys_for(self, bid: str) -> str:
        """The keys of a binding as currently mapped, for display ("j ↓")."""
        keys = self._keymap.get(bid) if hasattr(self, "_keymap") else None
        if keys is None:
            keys = next((k.keys for k in self.KEY_TABLE if k.id == bid), "")
        if isinstance(keys, (list, tuple)):
            keys = ",".join(keys)
        return " ".join(key_label(k) for k in (keys or "").split(",") if k)

    def keybar_parts(self, dropped: bool = False) -> list[Text]:
        """One text per key bar entry of the current mode, then the palette's; ``dropped``:
        some entries do not fit, the help's says it lists them all."""
        parts: list[Text] = []
        for entry in self.KEYBAR.get(self.mode, []):
            if dropped and entry.ids == ("help",):
                entry = entry._replace(description="all keys")
            keys = [self.keys_for(i).split(" ")[0] for i in entry.ids]
            if len(keys) == 2 and entry.ids[0].endswith(".1"):
                k = f"{keys[0]}-{keys[1]}"
            elif len(keys) > 2 and all(len(x) == 1 for x in keys):
                k = "".join(keys)
            else:
                k = entry.sep.join(keys)
            t = SafeText()
            if k:
                t.append(k, style=self.st("key"))
                t.append(" ")
            t.append(f"{entry.description}  ", style=self.st("text"))
            parts.append(t)
        tail = SafeText("^p", style=self.st("key"))
        tail.append(" palette", style=self.st("text"))
        parts.append(tail)
        return parts

    def keybar_text(self, width: int | None = None) -> Text:
        """The key bar of the current mode, ``width`` cells wide (default: the screen's),
        on up to ``KEYBAR_LINES`` lines, the least important entries dropped to fit."""
        parts = self.keybar_parts()
        width = width or self.size.width or 200
        order = [i for i in self.KEYBAR_DROP.get(self.mode, []) if i < len(parts)]
        keep = list(range(len(parts)))
        if self.KEYBAR_LINES <= 1:
            if order and sum(p.cell_len for p in parts) > width - 1:  # measured as shown once some are dropped
                parts = self.keybar_parts(dropped=True)
            while sum(parts[i].cell_len for i in keep) > width - 1 and order:  # 1: the leading space
                keep.remove(order.pop(0))
            lines = [keep]
        else:
            while True:
                lines = _pack([parts[i].cell_len for i in keep], width - 1)
                if len(lines) <= self.KEYBAR_LINES or not order:
                    break
                keep.remove(order.pop(0))
            lines = [[keep[j] for j in line] for line in lines[: self.KEYBAR_LINES]]
        if len(keep) < len(parts):
            parts = self.keybar_parts(dropped=True)
        t = SafeText(no_wrap=True, overflow="ellipsis")
        for n, line in enumerate(lines):
            if n:
                t.append("\n")
            t.append(" ")
            for i in line:
                t.append_text(parts[i])
        return t

    def update_keybar(self, width: int | None = None) -> None:
        bar = self.query_one("#keybar", Line)
        text = self.keybar_text(width)
        lines = text.plain.count("\n") + 1
        if bar.styles.height is None or bar.styles.height.value != lines:
            bar.styles.height = lines
        bar.set(text)

    def on_resize(self, event) -> None:
        # the new width (``self.size`` is still the old one here: the bar was fitted to the
        # previous width and lost its last entries, ``? help`` and ``q quit``, on a shrink)
        self.update_keybar(event.size.width)

    # ------------------------------------------------------------------ the palette
    def palette_keys(self) -> Iterable[Key]:
        """The key table rows offered in the palette: by default those usable in the
        current mode (the palette runs the action in it, once closed)."""
        for k in self.KEY_TABLE:
            if k.id in self.PALETTE_SKIP or k.id.startswith(tuple(p for p in self.PALETTE_SKIP if p.endswith("."))):
                continue
            if self.palette_mode_ok(k):
                yield k

    def palette_mode_ok(self, k: Key) -> bool:
        return self.mode in k.modes

    def palette_name(self, k: Key) -> str:
        return f"{k.group}: {k.description}"

    def palette_run(self, action: str) -> None:
        """Run an action chosen in the command palette, once the palette has closed."""
        self.call_after_refresh(lambda: self.call_later(self.run_action, action))

    # ------------------------------------------------------------------ status
    @property
    def status_line(self) -> Line:
        line = self.__dict__.get("_status_line")
        if line is None:
            line = self._status_line = self.query_one("#status", Line)
        return line

    def st(self, name: str):
        """A text style by name (``base.tcss``), as the status bar renders it."""
        return self.status_line.st(name)

    def update_status(self) -> None:
        raise NotImplementedError

    def status_tail(self, t: Text) -> None:
        """Append the current message (if any) to the status text."""
        if self._message is not None:
            t.append("  │ ", style=self.st("sep"))
            t.append_text(self._message)

    def say(self, msg: str | None, style: str | None = None) -> None:
        """Set the status message (shown on the next ``update_status``)."""
        self._message = None if msg is None else SafeText(visible(msg), style=self.st(style) if style else "")

    USER_ERRORS: ClassVar[tuple[type[Exception], ...]] = (SessionError,)

    def attempt(self, fn, *args):
        """``(True, fn(*args))``, or ``(False, None)`` with the error in the status bar: a
        refusal of the session, or a failed write (nothing changed on screen either). For
        steps that do not write (a decision goes through :meth:`act`)."""
        if self._pending is not None:
            self.key_dropped()
            return False, None
        try:
            return True, fn(*args)
        except self.USER_ERRORS as e:
            self.error(str(e))
        except (StoreError, sqlite3.Error) as e:
            self.error(f"not saved: {e}")
        return False, None

    # ------------------------------------------------------------------ decisions while the database is locked
    def describe_action(self, fn, args: tuple) -> str:
        """What a session action would save, for "not saved: …" (apps say more)."""
        return getattr(fn, "__name__", "the last action").replace("_", " ").strip()

    def act(self, fn, *args, then: Callable) -> None:
        """Run a session action that writes, then ``then(result)`` to show it. If another
        program holds the write lock, the screen says so and tries again (never frozen);
        ``then`` runs once the decision is written, so the screen never shows more than the
        database holds. Keys meanwhile are dropped (:meth:`on_event`), never applied later."""
        if self._pending is not None:
            self.key_dropped()
            return
        what = self.describe_action(fn, args)
        state, result = self._try_write(fn, args, FIRST_WAIT)
        if state == "busy":
            self._pending = PendingWrite(fn, args, then, what, time.monotonic())
            self._pending_timer = self.set_interval(RETRY_EVERY, self._retry_pending)
            self.update_status()
        elif state == "ok":
            then(result)

    def _try_write(self, fn, args: tuple, wait: float):
        store = self.writes_store()
        store.write_timeout = wait
        try:
            return "ok", fn(*args)
        except StoreBusy:
            return "busy", None
        except self.USER_ERRORS as e:
            self.error(str(e))
        except (StoreError, sqlite3.Error) as e:
            self.error(f"not saved: {e}")
        finally:
            store.write_timeout = FIRST_WAIT
        return "error", None

    def _retry_pending(self) -> None:
        p = self._pending
        if p is None:
            return
        state, result = self._try_write(p.fn, p.args, RETRY_WAIT)
        if state == "busy":
            self.update_status()
            return
        self._end_pending()
        if state == "ok":
            p.then(result)
        else:
            self.update_status()

    def _end_pending(self) -> None:
        self._pending = None
        if self._pending_timer is not None:
            self._pending_timer.stop()
            self._pending_timer = None

    @property
    def waiting(self) -> bool:
        """A decision waits for the database (keys are dropped meanwhile)."""
        return self._pending is not None

    def waiting_text(self) -> Text:
        """The status line while a decision waits for the database."""
        p = self._pending
        assert p is not None
        st = self.st
        t = SafeText(no_wrap=True, overflow="ellipsis")
        t.append(" WAITING ", style=st("chip-warn"))
        t.append(f" waiting for the database… {int(time.monotonic() - p.since)} s ", style="bold")
        if p.dropped:
            t.append(f"│ busy: key ignored (×{p.dropped}) ", style=st("error-b"))
        t.append(f"│ not saved yet: {visible(p.what)} ", style=st("warn"))
        t.append(f"│ {self.keys_for('quit') or 'q'} quits without it (another program holds the lock)", style=st("dim"))
        return t

    def key_dropped(self) -> None:
        """A key (or click) came while a decision waits: it does nothing, and says so."""
        if self._pending is not None:
            self._pending.dropped += 1
        self.update_status()
        self.bell()

    def _is_quit_key(self, event: events.Key) -> bool:
        if event.key in QUIT_KEYS:
            return True
        active = self.active_bindings.get(event.key)
        return active is not None and active.binding.action in ("quit", "app.quit")

    def error(self, msg: str) -> None:
        self._message = SafeText(visible(msg), style=self.st("error-b"))
        self.update_status()
        self.bell()

    # ------------------------------------------------------------------ keys typed ahead of a form's answer
    _held: list | None = None

    def hold_keys(self) -> None:
        """A form was just answered (escape, y/n) and its message is on its way: keys that
        come meanwhile wait for it, so that a burst ("A n j", "/ … escape j") acts in the
        order typed, in the mode the answer leaves (not in the form's mode, or lost)."""
        if self._held is None:
            self._held = []
            self.set_timer(0.5, self._release_late)

    async def release_keys(self) -> None:
        """The form's message was handled: act on the keys held, in order."""
        held, self._held = self._held, None
        for event in held or ():
            await self.on_event(event)

    async def _release_late(self) -> None:
        if self._held is not None:  # the answer never came (the form went away): do not keep the keys
            await self.release_keys()

    async def on_event(self, event) -> None:
        if self._pending is not None and isinstance(event, events.Key):
            event.stop()
            event.prevent_default()
            if self._is_quit_key(event):
                await self.action_quit()
            else:
                self.key_dropped()
            return
        if self._held is not None and isinstance(event, events.Key):
            self._held.append(event)
            return
        await super().on_event(event)

    @staticmethod
    def show_bar(widget, on: bool) -> None:
        """Show or hide ``widget`` (a form bar on a mode switch) only if that changes: setting
        ``display``, even to what it is, lays the whole screen out again."""
        if widget.display != on:
            widget.display = on

    # ------------------------------------------------------------------ general actions
    def help_sections(self, st) -> list[Text]:
        """Texts the help shows after the keys (``st``: the help screen's styles)."""
        return []

    _help_screen: HelpScreen | None = None
    _help_keys: tuple | None = None

    def action_help(self) -> None:
        """Open the help. It is built once and kept (installed, so closing it does not tear
        it down): ``?`` after the first shows the same screen again, unless the keymap
        changed since (then it is built again, with the keys as now mapped)."""
        keys = tuple(sorted(getattr(self, "_keymap", {}).items()))
        if self._help_screen is None or keys != self._help_keys:
            if self._help_screen is not None:
                self.uninstall_screen(self._help_screen)
            self._help_screen = HelpScreen(self)
            self._help_keys = keys
            self.install_screen(self._help_screen, name="workbench-help")
        self.push_screen("workbench-help")

    def on_unmount(self) -> None:
        self.writes_store().write_timeout = None  # the store waits as it did before the screen

    async def action_quit(self) -> None:
        p = self._pending
        if p is None:
            self.exit()
            return
        self._end_pending()
        self.unsaved.append(p.what)
        self.exit(
            return_code=1,
            message=SafeText(visible(f"not saved: {p.what} (the database was locked by another program)")),
        )


def _pack(widths: list[int], width: int) -> list[list[int]]:
    """Indexes of ``widths`` packed in order into lines of at most ``width`` cells."""
    lines: list[list[int]] = [[]]
    used = 0
    for i, w in enumerate(widths):
        if lines[-1] and used + w > width:
            lines.append([])
            used = 0
        lines[-1].append(i)
        used += w
    return lines
