"""Key press → next rendered frame, for the annotate and review TUIs and a trivial Textual app.

    python bench/tui_latency.py [--presses 60] [--app annotate|review|both]

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

The review app (``--app review``) runs over 1,000 disagreements: two annotators
finished the 100,000-character report, one accepting every proposal, the other
rejecting every sixth and relabelling every sixth + 3. Measured there: ``j``/``k``
over the list, ``1`` (take version 1: a review row and gold written) and ``u``
(undo it, also written), the edit mode's bound and label keys, the add mode's
caret motions, the gold walk's ``j``/``k`` and ``]``, and the mode switches
(``?`` help and Esc closing it, ``e``/``n``/``o`` and Esc leaving them, the attrs
form and the find bar opened and closed by Esc). For a mode switch the frame
timed is the first one showing the new mode (for ``?``: the help screen).

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
from workbench.review import ReviewSession  # noqa: E402
from workbench.store import Store  # noqa: E402
from workbench.tui.app import AnnotateApp  # noqa: E402
from workbench.tui.help import HelpScreen  # noqa: E402
from workbench.tui.review_app import ReviewApp  # noqa: E402

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
    """Mixin: note when a frame has been displayed after a key press started (the first
    one for which ``_t_until(screen)`` holds: a mode switch is timed to the frame showing it)."""

    _t_press: float | None = None
    _t_frame: float | None = None
    _t_until = None

    def _display(self, screen, renderable) -> None:  # type: ignore[override]
        super()._display(screen, renderable)
        if renderable is not None and self.is_headless and hasattr(renderable, "render_segments"):
            renderable.render_segments(self.console)  # the bytes a terminal would get
        if self._t_press is not None and self._t_frame is None and renderable is not None:
            if self._t_until is None or self._t_until(screen):
                self._t_frame = time.perf_counter()


class TimedAnnotate(FrameClock, AnnotateApp):
    pass


class TimedReview(FrameClock, ReviewApp):
    pass


class Trivial(FrameClock, App):
    BINDINGS = [
        Binding(k, "bump", "bump", priority=True)
        for k in (
            "j",
            "k",
            "a",
            "x",
            "u",
            "1",
            "2",
            "e",
            "n",
            "o",
            "h",
            "l",
            "w",
            "b",
            "v",
            "question_mark",
            "escape",
            "slash",
            "right_square_bracket",
            "left_curly_bracket",
            "t",
        )
    ]

    def __init__(self):
        super().__init__()
        self.n = 0

    def compose(self):
        yield Static("0", id="s")

    def action_bump(self) -> None:
        self.n += 1
        self.query_one("#s", Static).update(f"key presses: {self.n}")


async def _measure(
    app, pilot, key: str, n: int, between: str | None = None, after: str | None = None, until=None
) -> list[float]:
    """``n`` presses of ``key`` (``between`` pressed before each, ``after`` after each, not
    timed); the time to the first frame displayed after it (for which ``until(screen)`` holds)."""
    out = []
    for _ in range(n):
        if between:
            await pilot.press(between)
            await pilot.pause()
        app._t_frame = None
        app._t_until = until
        app._t_press = time.perf_counter()
        await pilot.press(key)
        for _ in range(4000):
            if app._t_frame is not None:
                break
            await asyncio.sleep(0.0005)
        if app._t_frame is not None:
            out.append((app._t_frame - app._t_press) * 1000)
        app._t_press = None
        app._t_until = None
        await pilot.pause()
        if after:
            await pilot.press(after)
            await pilot.pause()
    return out


PLAN = [("j", None), ("a", None), ("x", None), ("right_square_bracket", "j")]
SHOW = {
    "right_square_bracket": "]",
    "left_square_bracket": "[",
    "left_curly_bracket": "{",
    "right_curly_bracket": "}",
    "question_mark": "?",
    "escape": "esc",
    "slash": "/",
}


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


# the annotate app's mode switches: (label, key, between, after, until(app)); timed to the first
# frame showing the new mode (for ``?``: the help screen). The cursor is put on a QUANTITY first
# (``t 7``), so that ``e`` opens the attrs form.
def annotate_switches():
    return [
        ("? help", "question_mark", None, "escape", lambda app: _is_help),
        ("esc help", "escape", "question_mark", None, lambda app: _not_help),
        ("/ search", "slash", None, "escape", lambda app: _mode(app, "search")),
        ("esc search", "escape", "slash", None, lambda app: _mode(app, "normal")),
        ("n span", "n", None, "escape", lambda app: _mode(app, "span")),
        ("esc span", "escape", "n", None, lambda app: _mode(app, "normal")),
        ("t jump", "t", None, "escape", lambda app: _mode(app, "jump")),
        ("esc jump", "escape", "t", None, lambda app: _mode(app, "normal")),
        ("e attrs", "e", None, "escape", lambda app: _mode(app, "attrs")),
        ("esc attrs", "escape", "e", None, lambda app: _mode(app, "normal")),
    ]


async def bench_annotate_switches(db: Path, doc_id: str, n: int) -> dict[str, list[float]]:
    store = Store(db)
    res = {}
    app = TimedAnnotate(store, "bench-switches", doc_id=doc_id, use_user_keymap=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await _measure(app, pilot, "j", 5)  # warm up
        for k in ("t", "7"):
            await pilot.press(k)
        await pilot.pause()
        it = app.session.current
        if it is None or it["label"] != "QUANTITY":
            raise SystemExit(f"{doc_id}: t 7 did not land on a QUANTITY")
        for label, key, between, after, until in annotate_switches():
            xs = await _measure(app, pilot, key, n, between, after, until(app))
            if len(xs) != n:
                raise SystemExit(f"{doc_id} {label}: {n - len(xs)} presses showed no frame")
            res[label] = xs
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


# ---------------------------------------------------------------------- the review app

REVIEW_DISAGREEMENTS = 1000


def build_review(db: Path, doc_id: str = "a_big") -> int:
    """alice accepts every proposal of ``doc_id``, bob rejects every sixth and relabels
    every sixth + 3; both finish. Returns the number of disagreements."""
    store = Store(db)
    props = store.proposals(doc_id)
    alice, bob = [], []
    for i, p in enumerate(props):
        kw = dict(
            proposal_id=p["id"], start=p["start"], end=p["end"], label=p["label"], text=p["text"], attrs=p["attrs"]
        )
        alice.append({"action": "accept", **kw})
        if i % 6 == 0:
            bob.append({"action": "reject", "proposal_id": p["id"]})
        elif i % 6 == 3:
            other = "ORG" if p["label"] != "ORG" else "LOC"
            bob.append({"action": "edit", **{**kw, "label": other, "attrs": None}})
        else:
            bob.append({"action": "accept", **kw})
    for who, acts in (("alice", alice), ("bob", bob)):
        store.record_decisions(doc_id, who, acts + [{"action": "finish"}], origin="import")
    n = len(ReviewSession(store, "bench-setup", doc_ids=[doc_id]).items)
    store.close()
    return n


def _not_help(screen) -> bool:
    return not isinstance(screen, HelpScreen)


def _is_help(screen) -> bool:
    return isinstance(screen, HelpScreen)


def _mode(app, mode: str):
    return lambda _screen: app.mode == mode


# (group, setup keys, [(label, key, between, after, until(app) or None)])
# a group runs in its own app with its own reviewer; labels are what the table prints
def review_plan():
    normal = [
        ("j", "j", None, None, None),
        ("k", "k", None, None, None),
        ("1 pick", "1", None, None, None),
        ("u undo", "u", None, None, None),
    ]
    switches = [
        ("? help", "question_mark", None, "escape", lambda app: _is_help),
        ("esc help", "escape", "question_mark", None, lambda app: _not_help),
        ("e edit", "e", None, "escape", lambda app: _mode(app, "edit")),
        ("esc edit", "escape", "e", None, lambda app: _mode(app, "normal")),
        ("n add", "n", None, "escape", lambda app: _mode(app, "add")),
        ("esc add", "escape", "n", None, lambda app: _mode(app, "normal")),
        ("o gold", "o", None, "escape", lambda app: _mode(app, "gold")),
        ("esc gold", "escape", "o", None, lambda app: _mode(app, "normal")),
    ]
    edit = [
        ("] start", "right_square_bracket", None, "left_square_bracket", None),
        ("{ end", "left_curly_bracket", None, "right_curly_bracket", None),
        ("2 label", "2", None, "3", None),
        ("? help", "question_mark", None, "escape", lambda app: _is_help),
        ("esc help", "escape", "question_mark", None, lambda app: _not_help),
    ]
    add = [
        ("l caret", "l", None, None, None),
        ("h caret", "h", None, None, None),
        ("w word", "w", None, None, None),
        ("b word", "b", None, None, None),
        ("j line", "j", None, None, None),
        ("k line", "k", None, None, None),
        ("v anchor", "v", None, None, None),
        ("/ find", "slash", None, "escape", lambda app: _mode(app, "find")),
        ("esc find", "escape", "slash", None, lambda app: _mode(app, "add")),
        ("a attrs", "a", None, "escape", lambda app: _mode(app, "attrs")),
        ("esc attrs", "escape", "a", None, lambda app: _mode(app, "add")),
    ]
    gold = [
        ("j", "j", None, None, None),
        ("k", "k", None, None, None),
        ("] start", "right_square_bracket", None, "left_square_bracket", None),
        ("2 label", "2", None, "3", None),
    ]
    return [
        ("list", [], normal),
        ("list", [], switches),
        ("edit", ["edit"], edit),
        ("add", ["n", "7"], add),
        ("gold", ["o"], gold),
    ]


async def _to_editable(app, pilot) -> None:
    """Highlight a version with a span (so the edit mode's bound keys have one to move), then e."""
    it = app.session.current
    v = next(i for i, x in enumerate(it.versions) if x.spans)
    for _ in range(v):
        await pilot.press("l")
    await pilot.press("e")
    await pilot.pause()


async def bench_review(db: Path, n: int) -> dict[str, list[float]]:
    store = Store(db)
    res: dict[str, list[float]] = {}
    for g, (group, setup, keys) in enumerate(review_plan()):
        reviewer = f"bench-{g}"
        app = TimedReview(ReviewSession(store, reviewer), use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(400):  # the first paint, under load
                await pilot.pause(0.05)
                if app.session.items and "review" in str(app.query_one("#header").render()):
                    break
            await _measure(app, pilot, "j", 5)  # warm up
            await _measure(app, pilot, "k", 5)
            if setup == ["edit"]:
                await _to_editable(app, pilot)
            else:
                for k in setup:
                    await pilot.press(k)
                await pilot.pause()
            if group != "list" and app.mode != group:
                raise SystemExit(f"review {group}: setup left the app in mode {app.mode}")
            for label, key, between, after, until in keys:
                before = store.count("reviews", "reviewer = ?", (reviewer,))
                xs = await _measure(app, pilot, key, n, between, after, until(app) if until else None)
                res[f"{group:<5} {label}"] = xs
                written = store.count("reviews", "reviewer = ?", (reviewer,)) - before
                if key in ("1", "u") and written != n:
                    raise SystemExit(f"review {label}: {written} review rows for {n} presses")
                if len(xs) != n:
                    raise SystemExit(f"review {group} {label}: {n - len(xs)} presses showed no frame")
    store.close()
    return res


REVIEW_BASE = {"1 pick": "1", "u undo": "u"}


async def bench_trivial_keys(keys: list[str], n: int) -> dict[str, list[float]]:
    app = Trivial()
    res = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await _measure(app, pilot, "j", 5)
        for key in keys:
            res[key] = await _measure(app, pilot, key, n)
    return res


def _row(name: str, key: str, xs: list[float], b: list[float], width: int) -> str:
    m, q = statistics.median(xs), p95(xs)
    bm, bq = statistics.median(b), p95(b)
    return f"{name:<{width}}{key:>10}{m:>9.2f}{q:>9.2f}{bm:>14.2f}{bq:>14.2f}{m - bm:>+10.2f}{q - bq:>+8.2f}{m / bm:>8.1f}×"


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presses", type=int, default=60, help="measured presses per key and document")
    ap.add_argument("--app", choices=("annotate", "review", "both"), default="both", help="which app to measure")
    args = ap.parse_args()
    print(
        f"key press -> next rendered frame, ms ({args.presses} presses per key; terminal {SIZE[0]}x{SIZE[1]};"
        f" python {sys.version.split()[0]})"
    )
    print()
    if args.app in ("annotate", "both"):
        main_annotate(args)
    if args.app in ("review", "both"):
        if args.app == "both":
            print()
        main_review(args)


def main_review(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db, info = build_docs(Path(tmp))
        n_items = build_review(db)
        keys = sorted({k for _g, _s, ks in review_plan() for _l, k, *_ in ks})
        base = asyncio.run(bench_trivial_keys(keys, args.presses))
        results = asyncio.run(bench_review(db, args.presses))
        base2 = asyncio.run(bench_trivial_keys(keys, args.presses))  # baseline again, after
    for k in base:
        base[k] += base2[k]
    chars, _props = info["a_big"]
    print(f"review app: {n_items:,} disagreements in one document of {chars:,} characters")
    hdr = f"{'mode  key':<16}{'key':>10}{'median':>9}{'p95':>9}{'baseline med':>14}{'baseline p95':>14}{'Δ median':>10}{'Δ p95':>8}{'ratio':>9}"
    print(hdr)
    print("-" * len(hdr))
    labels = {f"{g:<5} {lab}": k for g, _s, ks in review_plan() for lab, k, *_ in ks}
    for name, xs in results.items():
        key = labels[name]
        print(_row(name, SHOW.get(key, key), xs, base[key], 16))
    print()
    print("target: review keys median/p95 <= baseline + 10 ms; mode switches (? esc e n o / a) <= baseline + 50 ms")


def main_annotate(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db, info = build_docs(Path(tmp))
        base = asyncio.run(bench_trivial(args.presses))
        results = {doc: asyncio.run(bench_annotate(db, doc, args.presses)) for doc in ("a_big", "b_small")}
        switch_keys = sorted({k for _l, k, *_ in annotate_switches()})
        sbase = asyncio.run(bench_trivial_keys(switch_keys, args.presses))
        switches = asyncio.run(bench_annotate_switches(db, "a_big", args.presses))
        base2 = asyncio.run(bench_trivial(args.presses))  # baseline again, after
        sbase2 = asyncio.run(bench_trivial_keys(switch_keys, args.presses))
    for k in base:
        base[k] += base2[k]
    for k in sbase:
        sbase[k] += sbase2[k]
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
    print()
    chars, props = info["a_big"]
    print(f"annotate mode switches ({chars:,} chars, {props:,} proposals)")
    hdr = f"{'switch':<16}{'key':>10}{'median':>9}{'p95':>9}{'baseline med':>14}{'baseline p95':>14}{'Δ median':>10}{'Δ p95':>8}{'ratio':>9}"
    print(hdr)
    print("-" * len(hdr))
    keys = {lab: k for lab, k, *_ in annotate_switches()}
    for name, xs in switches.items():
        print(_row(name, SHOW.get(keys[name], keys[name]), xs, sbase[keys[name]], 16))
    print()
    print("target: mode switches median <= baseline + 50 ms")


if __name__ == "__main__":
    main()
