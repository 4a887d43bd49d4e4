"""Mode switches (help, forms) behave the same when their screens are kept between uses,
and the review key bar keeps ``? help`` and ``q quit`` at 80 columns."""

from __future__ import annotations

from pilot_helpers import press, run
from test_agreement import simulate

from workbench.review import ReviewSession
from workbench.tui.help import HelpScreen
from workbench.tui.review_app import ReviewApp


async def _painted(app, pilot) -> None:
    for _ in range(200):  # under load the first paint may take a while
        if str(app.query_one("#keybar").render()).strip():
            return
        await pilot.pause(0.05)


def _help_rows(app) -> list[str]:
    from rich.table import Table
    from textual.widgets import Static

    tables = [s.content for s in app.screen.query(Static)]
    table = next(t for t in tables if isinstance(t, Table))
    return [str(c) for col in table.columns for c in col._cells]


def test_review_list_keybar_at_80_keeps_help_and_quit(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs, with_dave=False)

    async def go():
        app = ReviewApp(ReviewSession(corpus_store, "rita"))
        async with app.run_test(size=(80, 24)) as pilot:
            await _painted(app, pilot)
            kb = app.query_one("#keybar")
            bar = "".join(kb.render_line(y).text for y in range(kb.size.height))  # the cells shown
            assert "q quit" in bar, bar
            assert "? help" in bar or "? all keys" in bar, bar
            assert "move" in bar and "take" in bar, bar  # the main keys stay too
            await press(pilot, "q")

    run(go())


def test_review_help_reopens_with_same_rows(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs, with_dave=False)

    async def go():
        app = ReviewApp(ReviewSession(corpus_store, "rita"))
        async with app.run_test(size=(130, 36)) as pilot:
            await _painted(app, pilot)
            await press(pilot, "question_mark")
            assert isinstance(app.screen, HelpScreen)
            first = _help_rows(app)
            assert "help" in first and "quit" in first
            await press(pilot, "escape")
            assert not isinstance(app.screen, HelpScreen)
            await press(pilot, "question_mark")
            assert isinstance(app.screen, HelpScreen) and _help_rows(app) == first
            await press(pilot, "q")  # q closes the help, not the app
            assert not isinstance(app.screen, HelpScreen) and app.is_running
            await press(pilot, "q")

    run(go())
