"""Drive ``workbench serve`` in a real Chromium (Playwright's Python API, Debian's chromium).

Used by tests/test_serve.py and bench/serve_latency.py. Nothing is downloaded: the browser is
the system's (``CHROMIUM``), launched with ``executable_path``.

Reading the screen: textual-serve draws with xterm.js on a canvas, so the text is in xterm's
buffer, not in the DOM. :data:`PROBE` (an init script, run before the page's own scripts)
catches the ``Terminal`` object when textual.js stores it (``this.terminal = new Terminal``)
and records each render (``onRender``) with its time; :func:`screen` reads the buffer rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

PROBE = """
(() => {
  window.__wb = {terms: [], renders: []};
  Object.defineProperty(Object.prototype, 'terminal', {
    configurable: true,
    get() { return undefined; },
    set(v) {
      Object.defineProperty(this, 'terminal', {value: v, writable: true, configurable: true, enumerable: true});
      if (v && v.buffer && v.onRender) {
        window.__wb.terms.push(v);
        v.onRender(() => window.__wb.renders.push(performance.now()));
      }
    },
  });
})();
"""

SCREEN_JS = """() => {
  const t = window.__wb && window.__wb.terms[0];
  if (!t) return '';
  const b = t.buffer.active, out = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    out.push(line ? line.translateToString(true) : '');
  }
  return out.join('\\n');
}"""


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed (pip install -e '.[test]')"
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        return "textual-serve is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set WORKBENCH_CHROMIUM)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(db: str, port: int, *, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """``workbench --db DB serve --port PORT`` in a child process, until it answers /login."""
    cmd = [sys.executable, "-c", "from workbench.cli import main; main()", "--db", db, "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"workbench serve ended: {proc.stdout.read() if proc.stdout else ''}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("workbench serve did not answer")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def login(page, base: str, token: str) -> None:
    """Open ``base``, which shows the login page, and log in with ``token``."""
    page.goto(base + "/")
    page.fill("#token", token)
    page.click("#login")


def screen(page) -> str:
    return page.evaluate(SCREEN_JS)


def wait_screen(page, text: str, *, timeout: float = 90) -> str:
    """Wait until ``text`` is on the terminal screen (polled in the page); the screen."""
    page.wait_for_function(f"(want) => ({SCREEN_JS})().includes(want)", arg=text, timeout=timeout * 1000, polling=50)
    return screen(page)


def focus_terminal(page) -> None:
    page.focus(".xterm-helper-textarea")
