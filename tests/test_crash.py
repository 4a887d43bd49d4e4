"""Crash safety: ``workbench annotate`` killed with SIGKILL loses nothing it showed.

The real command runs in a pseudo-terminal (standard library ``pty``, no tmux
needed). A small terminal emulator below turns its output into a screen grid.
The test waits for the first screen, presses keys one at a time (accept,
reject, next, relabel, undo, next document, ...) and after each key waits
until the screen shows exactly what an :class:`AnnotationSession` replaying the
same keys on a copy of the database says it must (the header's counts and
decision total, the current item's status). Then it kills the process with
SIGKILL, with no chance to flush or clean up, and checks that the database
holds every decision the screen showed as done: the same counts, document by
document, and the same item statuses as the replayed session.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
import unicodedata

import pytest

from workbench.session import AnnotationSession
from workbench.store import Store

ROWS, COLS = 40, 140
ANNOTATOR = "crashtest"
TIMEOUT = float(os.environ.get("WORKBENCH_PTY_TIMEOUT", "60"))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


# ---------------------------------------------------------------------------- a tiny terminal


def _cells(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class Screen:
    """Just enough of a VT100/xterm to read what Textual draws: cursor
    positioning, erase, SGR (ignored), private modes and OSC (ignored), wide
    characters taking two cells."""

    _CSI = re.compile(r"\x1b\[([0-9;:?<=>]*)([ -/]*)([@-~])")
    _OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")

    def __init__(self, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.y = self.x = 0
        self.pending = ""

    def feed(self, data: str) -> None:
        s = self.pending + data
        self.pending = ""
        i, n = 0, len(s)
        while i < n:
            ch = s[i]
            if ch == "\x1b":
                if i + 1 >= n:
                    self.pending = s[i:]
                    return
                nxt = s[i + 1]
                if nxt == "[":
                    m = self._CSI.match(s, i)
                    if m is None:
                        if re.fullmatch(r"\x1b\[[0-9;:?<=>]*[ -/]*", s[i:]):
                            self.pending = s[i:]  # incomplete: wait for more
                            return
                        i += 2
                        continue
                    self._csi(m.group(1), m.group(3))
                    i = m.end()
                elif nxt == "]":
                    m = self._OSC.match(s, i)
                    if m is None:
                        self.pending = s[i:]
                        return
                    i = m.end()
                elif nxt in "()*+":
                    i += 3
                else:
                    i += 2
                continue
            if ch == "\r":
                self.x = 0
            elif ch == "\n":
                self.y = min(self.rows - 1, self.y + 1)
            elif ch == "\b":
                self.x = max(0, self.x - 1)
            elif ch >= " " and ch != "\x7f":
                w = _cells(ch)
                if w and 0 <= self.y < self.rows and self.x < self.cols:
                    self.grid[self.y][self.x] = ch
                    if w == 2 and self.x + 1 < self.cols:
                        self.grid[self.y][self.x + 1] = ""
                    self.x += w
            i += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?") or params.startswith(">") or params.startswith("<") or params.startswith("="):
            return
        nums = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")] if params else []
        if final in "Hf":
            r = nums[0] if nums and nums[0] else 1
            c = nums[1] if len(nums) > 1 and nums[1] else 1
            self.y, self.x = min(r, self.rows) - 1, min(c, self.cols) - 1
        elif final == "G":
            self.x = (nums[0] if nums and nums[0] else 1) - 1
        elif final == "d":
            self.y = (nums[0] if nums and nums[0] else 1) - 1
        elif final == "C":
            self.x = min(self.cols - 1, self.x + (nums[0] if nums and nums[0] else 1))
        elif final == "D":
            self.x = max(0, self.x - (nums[0] if nums and nums[0] else 1))
        elif final == "A":
            self.y = max(0, self.y - (nums[0] if nums and nums[0] else 1))
        elif final == "B":
            self.y = min(self.rows - 1, self.y + (nums[0] if nums and nums[0] else 1))
        elif final == "K":
            mode = nums[0] if nums else 0
            row = self.grid[self.y]
            rng = range(self.x, self.cols) if mode == 0 else range(0, self.x + 1) if mode == 1 else range(self.cols)
            for j in rng:
                row[j] = " "
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode in (2, 3):
                self.grid = [[" "] * self.cols for _ in range(self.rows)]
            elif mode == 0:
                self._csi("0", "K")
                for r in range(self.y + 1, self.rows):
                    self.grid[r] = [" "] * self.cols

    def lines(self) -> list[str]:
        return ["".join(row) for row in self.grid]

    def text(self) -> str:
        return "\n".join(self.lines())


class Terminal:
    """``workbench annotate`` running in a pseudo-terminal."""

    def __init__(self, args: list[str], env: dict):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self.fd = master
        self.screen = Screen(ROWS, COLS)
        self.raw = bytearray()
        self._decoder_buf = b""

    def pump(self, timeout: float) -> bool:
        """Read what is there within ``timeout``; True if anything came."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the child is gone
            return False
        if not data:
            return False
        self.feed_bytes(data)
        return True

    def feed_bytes(self, data: bytes) -> None:
        """Feed what the app wrote (any split of it) to the screen."""
        self.raw += data
        buf = self._decoder_buf + data
        # keep an incomplete UTF-8 sequence for the next read
        cut = len(buf)
        for k in range(1, 4):
            if len(buf) >= k and (buf[-k] & 0xC0) == 0xC0:
                need = 2 if buf[-k] < 0xE0 else 3 if buf[-k] < 0xF0 else 4
                if need > k:
                    cut = len(buf) - k
                break
        self.screen.feed(buf[:cut].decode("utf-8", "replace"))
        self._decoder_buf = buf[cut:]

    def wait_for(self, pred, what: str, timeout: float = TIMEOUT) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.screen):
                return
            if self.proc.poll() is not None:
                while self.pump(0.05):
                    pass
                if pred(self.screen):
                    return
                raise AssertionError(
                    f"annotate exited ({self.proc.returncode}) while waiting for {what}:\n"
                    f"{self.screen.text()}\n{bytes(self.raw[-2000:])!r}"
                )
            self.pump(0.05)
        raise AssertionError(f"timed out waiting for {what}; the screen:\n{self.screen.text()}")

    def settle(self, quiet: float = 0.3, timeout: float = 10) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.pump(quiet):
            pass

    def press(self, key: str) -> None:
        os.write(self.fd, key.encode())

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        os.close(self.fd)


def pty_env(tmp_path) -> dict:
    """The environment of an app run in the pty: a plain xterm, no user keymap, a fresh HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "PYTEST"))}
    env.update(
        TERM="xterm-256color",
        COLUMNS=str(COLS),
        LINES=str(ROWS),
        LANG="C.UTF-8",
        WORKBENCH_KEYMAP=str(tmp_path / "no-keymap.toml"),
        HOME=str(tmp_path),
    )
    return env


# ---------------------------------------------------------------------------- what the screen says

_HEADER = re.compile(r"doc (\d+)/(\d+)\s+(\S+)\s.*?(\d+) done / (\d+) to do\s+│\s*(\d+)✓ (\d+)✎ (\d+)\+ (\d+)✗")


def header(screen: Screen) -> dict | None:
    for line in screen.lines()[:3]:
        m = _HEADER.search(line.replace("\u00a0", " "))
        if m:
            g = m.groups()
            return {
                "doc_index": int(g[0]) - 1,
                "doc_id": g[2],
                "done": int(g[3]),
                "pending": int(g[4]),
                "accepted": int(g[5]),
                "edited": int(g[6]),
                "added": int(g[7]),
                "rejected": int(g[8]),
            }
    return None


def expected(session: AnnotationSession) -> dict:
    c = session.counts()
    done, _todo = session.progress()
    return {"doc_index": session.doc_index, "doc_id": session.doc_id, "done": done, **c}


def current_status_shown(screen: Screen, session: AnnotationSession) -> bool:
    """The status line names the current item as the session has it."""
    it = session.current
    want = f"{session.cursor + 1}/{len(session.items)} "
    return any(want in line and it["status"] in line for line in screen.lines()[-6:])


# ---------------------------------------------------------------------------- the test

KEYS = [
    ("a", "accept"),
    ("x", "reject"),
    ("j", "move", 1),
    ("a", "accept"),
    ("3", "relabel", "LOC"),
    ("a", "accept"),
    ("u", "undo"),
    ("x", "reject"),
    ("k", "move", -1),
    ("2", "relabel", "ORG"),
    ("\t", "next_doc"),
    ("a", "accept"),
    ("1", "relabel", "PERSON"),
    ("x", "reject"),
    ("7", "relabel", "QUANTITY"),
    ("a", "accept"),
    ("j", "move", 1),
    ("u", "undo"),
    ("a", "accept"),
    ("x", "reject"),
]


@pytest.fixture
def proposed_db(corpus_store, gold_docs):
    store = corpus_store
    for doc_id in store.document_ids():
        store.replace_proposals(doc_id, "fixture", "1", [dict(sp) for sp in gold_docs[doc_id]["spans"]])
    path = store.path
    store.close()
    return path


def test_sigkill_mid_session_loses_nothing_shown(proposed_db, tmp_path):
    # the replay: the same keys through the session on a copy of the database
    twin = tmp_path / "twin.db"
    shutil.copy(proposed_db, twin)
    twin_store = Store(twin)
    twin_session = AnnotationSession(twin_store, ANNOTATOR)

    env = pty_env(tmp_path)
    args = [
        sys.executable,
        "-c",
        "from workbench.cli import main; main()",
        "--db",
        proposed_db,
        "annotate",
        "--annotator",
        ANNOTATOR,
    ]
    term = Terminal(args, env)
    try:
        term.wait_for(lambda s: header(s) == expected(twin_session), "the first screen")
        assert "accept" in term.screen.text()  # the key bar is there too
        shown_by_doc: dict[str, dict] = {}
        for key, method, *arg in KEYS:
            getattr(twin_session, method)(*arg)
            want = expected(twin_session)
            term.press(key)
            term.wait_for(
                lambda s, want=want: header(s) == want and current_status_shown(s, twin_session),
                f"the screen after {key!r} ({method}) to show {want}",
            )
            shown_by_doc[want["doc_id"]] = want
        final = header(term.screen)
        # one more key, and the kill right behind it: that decision may or may not
        # have made it, but never half of it
        term.press("a")
    finally:
        term.kill()  # SIGKILL: no exit handlers, no flushing, nothing
    assert term.proc.returncode == -signal.SIGKILL

    assert final == expected(twin_session)
    assert len(shown_by_doc) == 2  # decisions in two documents
    assert sum(shown_by_doc[d][k] for d in shown_by_doc for k in ("accepted", "edited", "rejected")) >= 8
    assert any(shown_by_doc[d]["edited"] for d in shown_by_doc)
    last_doc = final["doc_id"]

    def state(s, doc_id):
        return [(it["start"], it["end"], it["label"], it["status"]) for it in s.annotator_items(doc_id, ANNOTATOR)]

    store = Store(proposed_db)
    assert store.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # the in-flight key: the database is either exactly what the screen showed, or that plus the accept
    shown_state = state(twin_store, last_doc)
    n_shown = twin_store.count("decisions", "annotator = ?", (ANNOTATOR,))
    twin_session.accept()
    n_after = twin_store.count("decisions", "annotator = ?", (ANNOTATOR,))
    assert n_after == n_shown + 1  # the extra key is a real decision
    allowed = [shown_state, state(twin_store, last_doc)]
    assert state(store, last_doc) in allowed
    in_flight = int(state(store, last_doc) == allowed[1])
    for doc_id, shown in shown_by_doc.items():
        session = AnnotationSession(store, ANNOTATOR, doc_id=doc_id)
        got = expected(session)
        if doc_id == last_doc and in_flight:
            got["done"] -= 1
            got["accepted"] -= 1
            got["pending"] += 1
        for k in ("done", "pending", "accepted", "edited", "added", "rejected"):
            assert got[k] == shown[k], f"{doc_id}: the screen showed {k}={shown[k]}, the database has {got[k]}"
    # item by item, the database equals the replayed session
    for doc_id in shown_by_doc:
        if doc_id != last_doc:
            assert state(store, doc_id) == state(twin_store, doc_id)
    assert store.count("decisions", "annotator = ?", (ANNOTATOR,)) == n_shown + in_flight
    twin_store.close()
    store.close()
