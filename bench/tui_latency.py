"""Key press → next rendered frame, for the annotate TUI and a trivial Textual app.

    python bench/tui_latency.py [--presses 60]

What is measured: for each key, the time from just before ``pilot.press(key)``
(Textual's test driver posts the key event to the app) until the end of the
first screen update displayed after it (``App._display`` returning: the
compositor has rendered the dirty regions, which calls our ``render_line``,
and the update has been turned into terminal escape sequences). The run is
headless, so the final write to a terminal is replaced by rendering the same
bytes into memory: both apps pay for that the same way.

Documents: a 100,000-character report with 3,000 proposals and a 3,000-
character one (~100 proposals), built from the bundled corpus and its dev gold
spans, repeated. Every ``a`` / ``x`` / ``]`` writes and commits a decision to
SQLite (WAL) before the screen updates, exactly as in use.

The baseline is a trivial Textual app (one Static whose text changes per key)
measured the same way in the same process, so Textual's own frame pacing and
input path are subtracted out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.app import App  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.widgets import Static  # noqa: E402

from workbench.ingest import ingest_paths  # noqa: E402
from workbench.store import Store  # noqa: E402
from workbench.tui.app import AnnotateApp  # noqa: E402

SIZE = (160, 45)


def _find_gold() -> Path:
    for p in (ROOT.parent / "shared" / "gold" / "seeds.jsonl", ROOT / "tests" / "data" / "seeds.jsonl"):
        if p.exists():
            return p
    raise SystemExit("no gold file found for span positions")


def build_docs(tmp: Path, big_chars: int = 100_000, big_props: int = 3000, small_chars: int = 3000):
    """Return (db path, {name: doc_id}) with two documents and their proposals."""
    gold = [json.loads(line) for line in _find_gold().open(encoding="utf-8")]
    text = ""
    spans: list[dict] = []
    while len(text) < big_chars:
        for g in gold:
            base = len(text)
            text += g["text"] + "\n"
            spans += [{**s, "start": s["start"] + base, "end": s["end"] + base} for s in g["spans"]]
    text = text[:big_chars]
    spans = [s for s in spans if s["end"] <= big_chars]
    spans = sorted({(s["start"], s["end"]): s for s in spans}.values(), key=lambda s: s["start"])
    if len(spans) >= big_props:
        step = len(spans) / big_props
        big_spans = [spans[int(i * step)] for i in range(big_props)]
    else:
        big_spans = spans
    small_text = text[:small_chars]
    small_spans = [s for s in spans if s["end"] <= small_chars]
    d = tmp / "docs"
    d.mkdir()
    (d / "a_big.txt").write_text(text, encoding="utf-8")
    (d / "b_small.txt").write_text(small_text, encoding="utf-8")
    db = tmp / "bench.db"
    store = Store(db)
    rep = ingest_paths(store, [d])
    assert not rep.errors, rep.errors
    for doc_id, sp in (("a_big", big_spans), ("b_small", small_spans)):
        t = store.get_document(doc_id)["text"]
        sp = [s for s in sp if t[s["start"] : s["end"]] == s["text"]]
        store.replace_proposals(doc_id, "bench", "1", sp)
    info = {
        doc_id: (store.get_document(doc_id)["n_chars"], len(store.proposals(doc_id))) for doc_id in ("a_big", "b_small")
    }
    store.close()
    return db, info


class FrameClock:
    """Mixin: note when a frame has been displayed after a key press started."""

    _t_press: float | None = None
    _t_frame: float | None = None

    def _display(self, screen, renderable) -> None:  # type: ignore[override]
        super()._display(screen, renderable)
        if renderable is not None and self.is_headless and hasattr(renderable, "render_segments"):
            renderable.render_segments(self.console)  # the bytes a terminal would get
        if self._t_press is not None and self._t_frame is None and renderable is not None:
            self._t_frame = time.perf_counter()


class TimedAnnotate(FrameClock, AnnotateApp):
    pass


class Trivial(FrameClock, App):
    BINDINGS = [Binding(k, "bump", "bump") for k in ("j", "a", "x", "right_square_bracket")]

    def __init__(self):
        super().__init__()
        self.n = 0

    def compose(self):
        yield Static("0", id="s")

    def action_bump(self) -> None:
        self.n += 1
        self.query_one("#s", Static).update(f"key presses: {self.n}")


async def _measure(app, pilot, key: str, n: int, between: str | None = None) -> list[float]:
    out = []
    for _ in range(n):
        if between:
            await pilot.press(between)
            await pilot.pause()
        app._t_frame = None
        app._t_press = time.perf_counter()
        await pilot.press(key)
        for _ in range(200):
            if app._t_frame is not None:
                break
            await asyncio.sleep(0.0005)
        if app._t_frame is not None:
            out.append((app._t_frame - app._t_press) * 1000)
        app._t_press = None
        await pilot.pause()
    return out


PLAN = [("j", None), ("a", None), ("x", None), ("right_square_bracket", "j")]
SHOW = {"right_square_bracket": "]"}


async def bench_annotate(db: Path, doc_id: str, n: int) -> dict[str, list[float]]:
    """One app per key, each with its own annotator, so that every measured press
    does real work (a pending proposal is under the cursor for every a / x / ])."""
    store = Store(db)
    res = {}
    for key, between in PLAN:
        app = TimedAnnotate(store, f"bench-{key}", doc_id=doc_id, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.2)
            await _measure(app, pilot, "j", 5)  # warm up
            await _measure(app, pilot, "k", 5)
            before = store.count("decisions", "annotator = ?", (f"bench-{key}",))
            res[key] = await _measure(app, pilot, key, n, between)
            written = store.count("decisions", "annotator = ?", (f"bench-{key}",)) - before
            if key != "j" and written != len(res[key]):
                raise SystemExit(f"{doc_id} {key}: {written} decisions for {len(res[key])} presses")
    store.close()
    return res


async def bench_trivial(n: int) -> dict[str, list[float]]:
    app = Trivial()
    res = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await _measure(app, pilot, "j", 5)
        for key, between in PLAN:
            res[key] = await _measure(app, pilot, key, n, between)
    return res


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presses", type=int, default=60, help="measured presses per key and document")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, info = build_docs(Path(tmp))
        base = asyncio.run(bench_trivial(args.presses))
        results = {doc: asyncio.run(bench_annotate(db, doc, args.presses)) for doc in ("a_big", "b_small")}
        base2 = asyncio.run(bench_trivial(args.presses))  # baseline again, after
    for k in base:
        base[k] += base2[k]
    print(
        f"key press -> next rendered frame, ms ({args.presses} presses per key; terminal {SIZE[0]}x{SIZE[1]};"
        f" python {sys.version.split()[0]})"
    )
    print()
    hdr = f"{'document':<34}{'key':>4}{'median':>9}{'p95':>9}{'baseline med':>14}{'baseline p95':>14}{'Δ median':>10}{'Δ p95':>8}"
    print(hdr)
    print("-" * len(hdr))
    for doc, res in results.items():
        chars, props = info[doc]
        name = f"{chars:,} chars, {props:,} proposals"
        for key, xs in res.items():
            b = base[key]
            m, q = statistics.median(xs), p95(xs)
            bm, bq = statistics.median(b), p95(b)
            print(
                f"{name:<34}{SHOW.get(key, key):>4}{m:>9.2f}{q:>9.2f}{bm:>14.2f}{bq:>14.2f}{m - bm:>+10.2f}{q - bq:>+8.2f}"
            )
    print()
    print("target: annotate median/p95 <= baseline + 10 ms on both documents")


if __name__ == "__main__":
    main()
