"""A key in the browser (``workbench serve`` in headless Chromium) next to the same key in the
terminal app, and the memory each connected annotator costs.

    python bench/serve_latency.py [--presses 30] [--tabs 4]

Browser: keydown (a listener on the page, capture phase, ``performance.now()``) → the first
frame xterm.js renders after it (its ``onRender`` event, same clock): the key travels over the
websocket to that tab's app process, the app commits the decision and redraws, the bytes come
back and xterm paints them. Chromium is Debian's, headless, on this machine, so there is no
network in between: the figures are the floor a remote annotator adds their round trip to.

Terminal: ``bench/tui_latency.py``'s measurement (key press → first frame rendered, headless)
on the same database and document, in the same run.

Memory: the RSS and PSS (``/proc/PID/smaps_rollup``: shared pages divided among the processes
sharing them) of each tab's app process once its first screen is up, with ``--tabs`` tabs open,
and the server's own.

Each measured ``a`` / ``x`` / ``]`` commits a real decision (one browser user per key, so a
pending proposal is under the cursor for every press); the count is checked afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import tui_latency  # noqa: E402
from browser_helpers import (  # noqa: E402
    CHROMIUM,
    PROBE,
    chromium_missing,
    focus_terminal,
    free_port,
    login,
    running_server,
    screen,
    wait_screen,
)

from workbench.store import Store  # noqa: E402
from workbench.store.users import add_user  # noqa: E402

KEYS = [("j", None), ("a", None), ("x", None), ("]", "j")]
NAMES = {"j": "web-j", "a": "web-a", "x": "web-x", "]": "web-rb"}

# keydown time and the renders after it, read back per press
KEYDOWN = """
window.addEventListener('keydown', () => { window.__wb.keydown = performance.now(); }, true);
"""
FIRST_RENDER = """() => {
  const t0 = window.__wb.keydown;
  const r = window.__wb.renders.find((x) => x > t0);
  return r === undefined ? null : r - t0;
}"""


def _stats(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _mem(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of ``pid`` in MiB."""
    vals = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("Rss", "Pss"):
            vals[k] = int(v.split()[0]) / 1024
    return vals["Rss"], vals["Pss"]


def measure_key(page, key: str, between: str | None, n: int) -> list[float]:
    out = []
    for _ in range(n):
        if between:
            page.keyboard.press(between)
            time.sleep(0.15)
        page.evaluate("() => { window.__wb.keydown = Infinity; }")
        page.keyboard.press(key)
        page.wait_for_function(f"() => ({FIRST_RENDER})() !== null", timeout=30_000, polling=5)
        out.append(page.evaluate(FIRST_RENDER))
        time.sleep(0.15)  # let the rest of the update land before the next press
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=30)
    ap.add_argument("--tabs", type=int, default=4, help="tabs open at once for the memory figure")
    args = ap.parse_args()
    why = chromium_missing()
    if why:
        raise SystemExit(why)
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    db, info = tui_latency.build_docs(tmp)
    chars, props = info["a_big"]
    print(f"document a_big: {chars:,} characters, {props:,} proposals (the first of the queue)")

    term = asyncio.run(tui_latency.bench_annotate(db, "a_big", args.presses))

    store = Store(db)
    tokens = {k: add_user(store, NAMES[k])[1] for k, _ in KEYS}
    extra = [add_user(store, f"tab-{i}")[1] for i in range(args.tabs)]
    store.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web: dict[str, list[float]] = {}
    with running_server(str(db), port) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            for key, between in KEYS:
                ctx = browser.new_context(viewport={"width": 1600, "height": 900})
                ctx.add_init_script(PROBE + KEYDOWN)
                page = ctx.new_page()
                login(page, base, tokens[key])
                wait_screen(page, "queue")
                focus_terminal(page)
                measure_key(page, "j", None, 5)  # warm up
                measure_key(page, "k", None, 5)
                web[key] = measure_key(page, key, between, args.presses)
                assert NAMES[key] in screen(page).splitlines()[0]
                ctx.close()
            # memory: --tabs annotators connected at once
            pages = []
            for tok in extra:
                ctx = browser.new_context(viewport={"width": 1600, "height": 900})
                ctx.add_init_script(PROBE)
                page = ctx.new_page()
                login(page, base, tok)
                pages.append(page)
            for page in pages:
                wait_screen(page, "queue")
            time.sleep(1)
            apps = _children(server.pid)
            mems = [_mem(pid) for pid in apps]
            server_mem = _mem(server.pid)
        finally:
            browser.close()

    store = Store(db)
    for key, _ in KEYS:
        if key == "j":
            continue
        written = store.count("decisions", "annotator = ?", (NAMES[key],))
        if written != len(web[key]):
            raise SystemExit(f"{key}: {written} decisions for {len(web[key])} presses")
    store.close()

    print(f"\nkey → frame, ms ({args.presses} presses per key; browser: keydown → xterm.js render)")
    print(f"{'key':<4} {'terminal median':>16} {'p95':>7} {'browser median':>15} {'p95':>7}")
    for key, _ in KEYS:
        tkey = "right_square_bracket" if key == "]" else key
        tm, tp = _stats(term[tkey])
        bm, bp = _stats(web[key])
        print(f"{key:<4} {tm:>16.2f} {tp:>7.2f} {bm:>15.2f} {bp:>7.2f}")
    print(f"\nmemory with {len(apps)} tabs open (MiB): per app process")
    for rss, pss in mems:
        print(f"  RSS {rss:6.1f}  PSS {pss:6.1f}")
    if mems:
        print(
            f"median per annotator: RSS {statistics.median(m[0] for m in mems):.1f}, "
            f"PSS {statistics.median(m[1] for m in mems):.1f}; "
            f"server: RSS {server_mem[0]:.1f}, PSS {server_mem[1]:.1f}"
        )


if __name__ == "__main__":
    main()
