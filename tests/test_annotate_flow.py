"""The annotate screen as an annotator meets it (issue 14, "What the screen must tell" and
"Missing, that annotators expect"; issue 13, the proposal's source in the list): each test
drives the real app with Pilot and reads what the screen shows (and the database holds)."""

from __future__ import annotations

import sys

import pytest
from pilot_helpers import press, run
from test_proposer_runs import DOC0, two_sources
from test_session import propose_gold

from workbench.session import AnnotationSession
from workbench.store import Store
from workbench.tui.app import AnnotateApp

BIG = (160, 45)
SMALL = (80, 24)


@pytest.fixture
def pstore(corpus_store, gold_docs):
    propose_gold(corpus_store, gold_docs)
    return corpus_store


def make_app(store, annotator="alice", **kw) -> AnnotateApp:
    kw.setdefault("use_user_keymap", False)
    return AnnotateApp(store, annotator, **kw)


def screen_lines(app) -> list[str]:
    """The screen as plain text, one string per terminal row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen(app) -> str:
    return "\n".join(screen_lines(app))


def bar(app, name: str) -> str:
    return app.query_one(f"#{name}")._text.plain


async def painted(app, pilot) -> None:
    """Wait for the first paint (a loaded machine paints later): the header and status are set."""
    for _ in range(200):
        if bar(app, "header").strip() and bar(app, "status").strip() and "doc " in screen(app):
            return
        await pilot.pause(0.05)
    raise AssertionError("the first screen never came")


async def until(pilot, pred, what: str) -> None:
    for _ in range(200):
        if pred():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never: {what}")


# ---------------------------------------------------------------------------- issue 13: sources in the list


def test_the_list_names_each_proposals_sources_and_score(corpus_store):
    two_sources(corpus_store)  # 「45场」 from rules (0.9) and m (0.5); 「统战」 from m only

    async def go():
        app = make_app(corpus_store, doc_id=DOC0)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            side = [line.split("▕", 1)[-1] for line in screen_lines(app)]
            row45 = next(line for line in side if "45场" in line)
            row_org = next(line for line in side if "统战" in line and "ORG" in line)
            assert "rules+m" in row45 and ".90" in row45, row45  # one item, both sources, the best score
            assert " m " in row_org and "rules" not in row_org, row_org

    run(go())


# ---------------------------------------------------------------------------- what the screen must tell


@pytest.mark.parametrize("size", [SMALL, BIG])
def test_a_label_legend_is_always_on_screen(pstore, size):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=size) as pilot:
            await painted(app, pilot)
            flat = " ".join(screen(app).split())
            for i, label in enumerate(["PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY"], 1):
                assert f"{i} {label}" in flat, (label, screen(app))
            await press(pilot, "n")  # in new-span mode too
            flat = " ".join(screen(app).split())
            assert "7 QUANTITY" in flat

    run(go())


def test_help_says_how_spans_are_drawn(pstore):
    async def help_text():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            await press(pilot, "question_mark")
            await until(pilot, lambda: len(app.screen_stack) > 1, "the help")
            from textual.widgets import Static

            return "\n".join(str(w.content) for w in app.screen.query(Static))

    text = run(help_text())
    assert "How spans are drawn" in text
    for what in ("pending proposal", "accepted", "edited by you", "added by you", "rejected", "current item", "caret"):
        assert what in text, what


def test_the_key_bar_is_fitted_to_the_new_width_after_a_resize(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            await pilot.resize_terminal(100, 30)
            await until(pilot, lambda: app.size.width == 100, "the resize")
            await pilot.pause()
            keybar = bar(app, "keybar")
            assert "q quit" in keybar and "? " in keybar, keybar
            assert all(len(line) <= 100 for line in keybar.splitlines()), keybar
            shown = screen(app)
            assert "q quit" in shown

    run(go())


def test_at_80x24_the_footer_shows_every_main_action(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SMALL) as pilot:
            await painted(app, pilot)
            shown = " ".join(screen_lines(app)[-3:])
            for want in ("a accept", "x reject", "f finish", "tab", "doc", "bounds", "A accept all", "/ search"):
                assert want in shown, (want, shown)
            assert "q quit" in shown and "? " in shown

    run(go())


def test_at_80x24_every_attrs_field_is_on_screen(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SMALL) as pilot:
            await painted(app, pilot)
            s = app.session
            q = next(i for i, it in enumerate(s.items) if it["label"] == "QUANTITY")
            app._do(s.set_cursor, q)
            await press(pilot, "e")
            assert app.mode == "attrs"
            await pilot.pause()
            for name in ("value", "unit", "approx"):
                r = app.query_one(f"#attr-{name}").region
                assert r.width >= 6 and r.right <= 80, (name, r)

    run(go())


def test_the_message_of_a_document_is_cleared_on_tab(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            await press(pilot, "x")
            assert "rejected" in bar(app, "status")
            await press(pilot, "tab")
            assert app.session.doc_index == 1
            assert "rejected" not in bar(app, "status"), bar(app, "status")

    run(go())


def test_search_moves_nothing_while_typing_and_escape_goes_back(pstore):
    async def type_query(pilot, app, text: str) -> None:
        inp = app.search_bar.input
        for k in range(1, len(text) + 1):  # as typed: one change per character
            inp.value = text[:k]
            await pilot.pause()

    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            s = app.session
            far = s.text.rindex("苍岭")
            await press(pilot, "j", "j")
            start = s.cursor
            await press(pilot, "slash")
            await type_query(pilot, app, "苍岭")
            assert s.cursor == start  # typing highlights, the cursor stays
            assert app.search_bar.query_one("#search-count").render()  # a count is shown
            await press(pilot, "escape")
            assert app.mode == "normal" and s.cursor == start
            assert app.doc_view.search == []  # highlights gone
            # enter goes to the match
            await press(pilot, "slash")
            await type_query(pilot, app, "苍岭")
            await press(pilot, "enter")
            assert s.current["end"] > s.text.index("苍岭", s.items[start]["start"])
            assert s.cursor != start
            moved = s.cursor
            # / again: nothing runs at once (the old bar re-ran the last query and jumped)
            await press(pilot, "g")
            assert s.cursor == 0
            await press(pilot, "slash")
            assert s.cursor == 0 and app.search_bar.input.value == ""
            await press(pilot, "enter")  # enter alone: the last search again
            assert s.cursor == moved
            # esc after stepping through matches: back where the annotator was
            await press(pilot, "g")
            y = app.doc_view.scroll_y
            await press(pilot, "slash")
            await type_query(pilot, app, s.text[far : far + 4])
            await press(pilot, "down")
            assert s.cursor == 0
            await press(pilot, "escape")
            assert s.cursor == 0 and app.doc_view.scroll_y == y

    run(go())


def test_a_on_an_edited_span_confirms_it_and_moves_on(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            s = app.session
            await press(pilot, "right_square_bracket")
            edited = s.current["key"]
            assert s.current["status"] == "edited"
            await press(pilot, "a")
            assert s.current["key"] != edited and s.current["status"] == "pending"
            status = bar(app, "status")
            assert "already" not in status and "confirmed" in status, status
            assert s.items[s.index_of(edited)]["status"] == "edited"

    run(go())


def test_f_on_a_finished_document_asks_before_reopening(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            s = app.session
            doc = s.doc_id
            await press(pilot, "f", "y")  # finish (asks: proposals pending)
            assert pstore.is_finished(doc, "alice")
            await press(pilot, "shift+tab")
            assert s.doc_id == doc and s.finished
            await press(pilot, "f")
            assert app.mode == "confirm" and "Reopen" in str(app.confirm_bar.render())
            assert pstore.is_finished(doc, "alice")  # nothing written yet
            await press(pilot, "n")
            assert pstore.is_finished(doc, "alice") and s.finished
            await press(pilot, "f", "y")
            assert not pstore.is_finished(doc, "alice") and not s.finished

    run(go())


def test_reopening_resumes_at_the_document_and_item_left(pstore):
    async def first():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            await press(pilot, "tab", "tab", "j", "j", "j")
            where = (app.session.doc_id, app.session.current["key"])
            await press(pilot, "q")
            return where

    where = run(first())

    async def again():
        app = make_app(Store(pstore.path))
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            return app.session.doc_id, app.session.current["key"], bar(app, "header")

    doc_id, key, header = run(again())
    assert (doc_id, key) == where
    assert "doc 3/5" in header


def test_the_header_counts_spans_done_and_to_do_not_key_presses(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            n = len(app.session.items)
            await press(pilot, "right_square_bracket", "right_curly_bracket", "left_curly_bracket")  # one span, 3 keys
            header = bar(app, "header")
            assert f"1 done / {n - 1} to do" in header, header
            assert "decisions" not in header

    run(go())


def test_t_and_a_label_key_jump_to_the_next_item_of_that_label(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            s = app.session
            qs = [i for i, it in enumerate(s.items) if it["label"] == "QUANTITY"]
            await press(pilot, "t")
            assert "which label" in bar(app, "status")
            await press(pilot, "7")
            assert s.cursor == qs[0] and app.mode == "normal"
            await press(pilot, "t", "7")
            assert s.cursor == qs[1]
            await press(pilot, "T", "7")
            assert s.cursor == qs[0]
            await press(pilot, "t", "escape")
            assert app.mode == "normal" and s.cursor == qs[0]

    run(go())


def test_accepted_items_can_be_hidden_from_the_list(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=BIG) as pilot:
            await painted(app, pilot)
            s = app.session
            await press(pilot, "a", "a", "a")
            accepted = {it["key"] for it in s.items if it["status"] == "accepted"}
            assert len(accepted) == 3
            await press(pilot, "H")
            rows = [s.items[i]["key"] for i in app.table.rows]
            assert not accepted & set(rows) and len(rows) == len(s.items) - 3
            assert "hidden" in bar(app, "status")
            await press(pilot, "g")
            for _ in range(5):
                assert s.current["key"] not in accepted
                await press(pilot, "j")
            await press(pilot, "k", "k", "k", "k", "k", "k")
            assert s.current["key"] not in accepted
            await press(pilot, "a")  # accepted now: it leaves the list
            assert len(app.table.rows) == len(s.items) - 4
            await press(pilot, "H")
            assert len(app.table.rows) == len(s.items)

    run(go())


# ---------------------------------------------------------------------------- the first start


def test_the_first_start_on_an_empty_database_shows_progress(store, monkeypatch, capsys):
    from workbench.cli.annotate import prepare_store

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    prepare_store(store)
    err = capsys.readouterr().err
    n = len(store.document_ids())
    assert n == 5
    assert f"{n}/{n}" in err, err  # a counted progress bar, not minutes of silence
    assert AnnotationSession(store, "alice").items
