"""Run by .ci/run with the interpreter of a fresh venv that has only the built wheel installed.

Checks what a new user gets from ``pip install .`` (not ``-e``):
1. the installed distribution puts exactly one top-level package, ``workbench``, in site-packages;
2. the bundled corpus is package data;
3. ``workbench annotate`` in an empty folder (in a real pty) ingests the bundled corpus,
   proposes, and shows its first screen; ``q`` quits with exit 0 and the database holds the
   documents and proposals.

Prints one line per check and exits non-zero on the first failure.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from importlib import metadata

DIST = "report-workbench"


def fail(msg: str) -> None:
    print(f"wheel check FAILED: {msg}")
    sys.exit(1)


def top_level_packages() -> set[str]:
    files = metadata.distribution(DIST).files or []
    tops = set()
    for f in files:
        first = f.parts[0]
        if first.endswith((".dist-info", ".data")) or first == ".." or first.startswith("__"):
            continue
        tops.add(first.removesuffix(".py"))
    return tops


def run_annotate(folder: str, timeout: float = 240.0) -> tuple[int, str]:
    exe = shutil.which("workbench")
    if exe is None:
        fail("no workbench script on PATH")
    pid, fd = pty.fork()
    if pid == 0:  # child: the app in a 120x40 terminal
        os.chdir(folder)
        os.environ.update(TERM="xterm-256color", COLUMNS="120", LINES="40", WORKBENCH_ANNOTATOR="ci")
        os.execv(exe, [exe, "annotate"])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    deadline = time.monotonic() + timeout
    shown = False
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        text = re.sub(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]", b"", out).decode("utf-8", "replace")
        if not shown and re.search(r"doc\s+1/5", text):
            shown = True
            time.sleep(1.0)
            os.write(fd, b"q")
            deadline = time.monotonic() + 30
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    code = os.waitstatus_to_exitcode(status)
    if not shown:
        tail = re.sub(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]", b"", out)[-2000:].decode("utf-8", "replace")
        fail(f"workbench annotate never showed its first screen (exit {code}); last output:\n{tail}")
    return code, ""


def main() -> None:
    tops = top_level_packages()
    if tops != {"workbench"}:
        fail(f"top-level packages installed: {sorted(tops)} (want only workbench)")
    print("ok: one top-level package, workbench")

    import importlib.resources

    corpus = importlib.resources.files("workbench") / "data" / "corpus"
    n = len([p for p in corpus.iterdir() if p.name.endswith(".txt")])
    if n == 0:
        fail("the bundled corpus is not in the installed package")
    print(f"ok: bundled corpus installed ({n} reports)")

    folder = tempfile.mkdtemp(prefix="wb-wheel-")
    code, _ = run_annotate(folder)
    if code != 0:
        fail(f"workbench annotate exited {code}")
    db = os.path.join(folder, "workbench.db")
    con = sqlite3.connect(db)
    docs = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    props = con.execute("SELECT count(*) FROM proposals").fetchone()[0]
    con.close()
    if docs != n or props == 0:
        fail(f"after annotate in an empty folder: {docs} documents, {props} proposals")
    print(f"ok: workbench annotate in an empty folder: first screen shown, {docs} documents, {props} proposals")
    subprocess.run(["workbench", "--version"], check=True)


if __name__ == "__main__":
    main()
