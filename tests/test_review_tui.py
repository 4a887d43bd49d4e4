"""The review screen driven with Pilot (keys → gold rows in the database, read
through a second connection) and SVG snapshots of it."""
from __future__ import annotations

import asyncio
import json

import pytest

from store import Store
from test_agreement import other_label, simulate
from workbench.labels import LABELS
from workbench.review import ReviewSession
from workbench.tui.review_app import ReviewApp, ReviewHelp

SIZE = (130, 36)


@pytest.fixture
def sim3(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs, with_dave=False)
    return corpus_store


def fresh(store) -> Store:
    return Store(store.path)


def adjudicated(store):
    with fresh(store) as s:
        rows = s.query('SELECT doc_id, start, "end", label, attrs, origin, reviewer, annotators FROM gold'
                       " WHERE origin = 'adjudicated' ORDER BY id")
    for r in rows:
        r["annotators"] = json.loads(r["annotators"])
    return rows


def reviews(store):
    with fresh(store) as s:
        return [r["action"] for r in s.query("SELECT action FROM reviews WHERE action != 'agree' ORDER BY id")]


async def press(pilot, *keys):
    for k in keys:
        await pilot.press(k)
    await pilot.pause()


def run(coro):
    return asyncio.run(coro)


def test_pick_reject_skip_undo_keys(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        items = list(session.items)
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, "j", "j", "k")
            assert session.cursor == 1 and app.list.cursor == 1
            await press(pilot, "k")
            v2 = items[0].versions[1]
            await press(pilot, "2")
            rows = adjudicated(sim3)
            assert [(r["start"], r["end"], r["label"], r["annotators"], r["reviewer"]) for r in rows] == [
                (x["start"], x["end"], x["label"], v2.annotators, "rita") for x in v2.spans]
            assert session.cursor == 1 and items[0].status in ("picked", "rejected")
            await press(pilot, "x")
            assert items[1].status == "rejected" and reviews(sim3)[-1] == "reject"
            await press(pilot, "space")
            assert items[2].status == "skipped" and reviews(sim3)[-1] == "skip"
            await press(pilot, "u", "u")
            assert items[1].status == "open" and session.cursor == 1
            assert reviews(sim3)[-2:] == ["undo", "undo"]
            # enter takes the highlighted version; l highlights the next one
            await press(pilot, "l", "enter")
            assert items[1].status in ("picked", "rejected") and items[1].version == 1
            # digits beyond the versions are refused with a message, nothing written
            n = len(reviews(sim3))
            await press(pilot, "9")
            assert len(reviews(sim3)) == n
            assert "versions" in str(app.query_one("#status").render())
            await press(pilot, "q")
        assert app.return_code in (0, None)

    run(go())


def test_edit_mode_keys(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            it = session.current
            base = next(n for n, v in enumerate(it.versions) if v.spans)
            g = it.versions[base].spans[0]
            await press(pilot, *(["l"] * base), "e")
            assert app.mode == "edit" and session.draft is not None
            new_label = other_label(other_label(g["label"]))
            await press(pilot, str(LABELS.index(new_label) + 1))     # digits relabel in edit mode
            await press(pilot, "right_square_bracket")                   # start → (shrinks)
            assert session.draft.spans[0]["start"] == g["start"] + 1
            await press(pilot, "left_square_bracket")                    # start ← back
            await press(pilot, "enter")
            assert app.mode == "normal" and it.status == "edited"
            rows = adjudicated(sim3)
            assert [(r["start"], r["end"], r["label"]) for r in rows] == [(g["start"], g["end"], new_label)]
            # esc cancels an edit: nothing written
            n = len(reviews(sim3))
            await press(pilot, "e", "d", "escape")
            assert app.mode == "normal" and session.draft is None and len(reviews(sim3)) == n
            # 8 is not a label in edit mode
            await press(pilot, "e", "8")
            assert app.mode == "edit" and "labels are 1-7" in str(app.query_one("#status").render())
            await press(pilot, "escape")

    run(go())


def test_quantity_attrs_bar(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        idx = next(i for i, it in enumerate(session.items)
                   if it.versions[0].spans and it.versions[0].spans[0]["label"] == "QUANTITY")
        session.set_cursor(idx)
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, "e", "a")
            assert app.mode == "attrs"
            inp = app.query_one("#attrs-input")
            inp.value = "1500万 斤 more"
            await press(pilot, "enter")
            assert app.mode == "edit"
            assert session.draft.spans[0]["attrs"] == {"value": 15000000.0, "unit": "斤", "approx": "more"}
            await press(pilot, "enter")
            row = adjudicated(sim3)[-1]
            assert json.loads(row["attrs"]) == {"value": 15000000.0, "unit": "斤", "approx": "more"}

    run(go())


def test_help_screen_opens_and_closes(sim3):
    async def go():
        app = ReviewApp(ReviewSession(sim3, "rita"))
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "question_mark")
            assert isinstance(app.screen, ReviewHelp)
            await press(pilot, "2")                 # keys do not act under the help
            assert reviews(sim3) == []
            await press(pilot, "escape")
            assert not isinstance(app.screen, ReviewHelp)

    run(go())


def test_rerun_after_tui_shows_only_unsettled(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        n = len(session.items)
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "1", "1", "x", "space")
        again = ReviewSession(sim3, "rita")
        assert len(again.items) == n - 3

    run(go())


# ---------------------------------------------------------------------------- snapshots

SNAP = (120, 32)


@pytest.fixture
def snap_app(sim3):
    return ReviewApp(ReviewSession(sim3, "rita"))


def test_snapshot_review_screen(snap_app, snap_compare):
    assert snap_compare(snap_app, terminal_size=SNAP, press=["j", "1", "l"])


def test_snapshot_edit_mode(snap_app, snap_compare):
    assert snap_compare(snap_app, terminal_size=SNAP, press=["j", "j", "e", "right_curly_bracket", "2"])


def test_snapshot_help(snap_app, snap_compare):
    assert snap_compare(snap_app, terminal_size=SNAP, press=["question_mark"])
