"""Adding a missed span (issue 14): the shared model (workbench.session.spanmode) and the
annotate screen's new-span mode driven with Pilot; every decision is read back through a
second connection when the screen shows it."""

from __future__ import annotations

import pytest
from pilot_helpers import fresh, press, run
from test_session import propose_gold

from workbench.core.labels import LABELS
from workbench.session.spanmode import SpanMode
from workbench.tui.app import AnnotateApp

SIZE = (160, 45)

# 苍岭镇 / 人民 / 政府 / 召开 / 会议 ，/ 部署 / 工作 (word starts as jieba would store them)
TEXT = "苍岭镇人民政府召开会议，部署工作\n第二行文字在这里"
WORDS = [0, 3, 5, 7, 9, 11, 12, 14, 17, 19, 21, 23]


# ---------------------------------------------------------------------------- the model
def test_word_end_lands_on_the_last_character_of_the_word():
    m = SpanMode(TEXT, WORDS, caret=0)
    assert m.word_end() == 2  # 苍岭镇
    assert m.word_end() == 4  # already at an end: the next word's (人民)
    m = SpanMode(TEXT, WORDS, caret=0)
    m.toggle_anchor()
    m.word_end()
    m.word_end()
    assert m.selection() == (0, 5) and m.selected_text() == "苍岭镇人民"  # w overshot by one here


def test_word_starts_and_the_word_at_the_caret():
    m = SpanMode(TEXT, WORDS, caret=0)
    assert m.word_next() == 3 and m.word_next() == 5
    assert m.word_prev() == 3
    assert m.selection() == (3, 5)  # no anchor: the word under the caret
    m.move(1)
    assert m.caret == 4 and m.selection() == (3, 5)


def test_line_motions_and_the_caret_never_rests_on_a_line_break():
    m = SpanMode(TEXT, WORDS, caret=5)
    assert m.line_end() == 15 and TEXT[15] == "作"
    assert m.line_start() == 0
    m.set_caret(15)
    assert m.move(1) == 17  # over the line break
    m.set_caret(2)
    assert m.line(1) == 17 + 2  # the same column one line down
    assert m.line(-1) == 2
    # display lines given by the screen (a wrapped line is two)
    m.set_caret(1)
    assert m.line(1, [(0, 8), (8, 17), (17, 25)]) == 9


def test_find_selects_the_match_and_wraps_and_a_miss_changes_nothing():
    m = SpanMode(TEXT, WORDS, caret=0)
    assert m.find("工作") == (14, 16) and m.selection() == (14, 16)
    assert m.find("苍岭") == (0, 2)  # wrapped around
    before = (m.caret, m.anchor)
    assert m.find("没有") is None and (m.caret, m.anchor) == before
    assert m.find("作\n第") is None  # a span never takes in a line break


def test_select_a_proposal_range_then_grow_it():
    m = SpanMode(TEXT, WORDS, caret=0)
    m.select(3, 5)
    assert m.selection() == (3, 5)
    m.word_end()
    assert m.selection() == (3, 7)
    assert not m.toggle_anchor() and m.anchor is None  # v with an anchor drops it
    assert m.toggle_anchor() and m.anchor == m.caret


# ---------------------------------------------------------------------------- the screen
@pytest.fixture
def pstore(corpus_store, gold_docs):
    propose_gold(corpus_store, gold_docs)
    return corpus_store


async def _started(app, pilot) -> None:
    """Wait for the first paint (the document loaded and drawn), however slow the machine."""
    for _ in range(400):
        await pilot.pause()
        if app.session.text and app.doc_view.lines and str(app.status_line._text).strip():
            return
    raise AssertionError("the annotate screen never painted")


def _status(app) -> str:
    app.update_status()
    return app.status_line._text.plain


def _decisions(store, action=None):
    rows = store.query("SELECT * FROM decisions ORDER BY id")
    return [r for r in rows if action is None or r["action"] == action]


def _free_word(s) -> tuple[int, int]:
    """A word of the text no item touches (where a missed span would be)."""
    covered = set()
    for it in s.items:
        covered.update(range(it["start"] - 1, it["end"] + 1))
    for p in range(len(s.text)):
        a, b = s.word_at(p)
        if b - a >= 2 and not covered & set(range(a, b)) and "\n" not in s.text[a:b] and s.text[a:b].strip():
            return a, b
    raise AssertionError("no free word")


def _make(store) -> AnnotateApp:
    return AnnotateApp(store, "alice", use_user_keymap=False)


def test_caret_and_selection_are_drawn_unlike_the_current_proposal(pstore):
    async def go():
        app = _make(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await _started(app, pilot)
            dv = app.doc_view
            cur = app.session.current
            line = dv.line_of_offset(cur["start"])
            ls = dv.lines[line][0]

            def style_at(off):
                x = 0
                for seg in dv._render_text_line(line):
                    if x <= off - ls < x + len(seg.text):
                        return seg.style
                    x += len(seg.text)
                raise AssertionError(off)

            current = style_at(cur["start"])
            await press(pilot, "n")
            caret = style_at(app.span.caret)
            assert app.span.caret == cur["start"]
            assert caret.bgcolor != current.bgcolor  # it was drawn exactly like the current item
            a, b = app.span.selection()
            if b - a > 1:
                sel = style_at(a + 1)
                assert sel.bgcolor not in (caret.bgcolor, current.bgcolor)

    run(go())


def test_v_says_so_and_the_status_shows_the_selection(pstore):
    async def go():
        app = _make(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await _started(app, pilot)
            s = app.session
            await press(pilot, "n")
            a, b = app.span.selection()
            assert s.text[a:b] in _status(app) and f"{a}–{b}" in _status(app)
            await press(pilot, "v")
            assert "anchor set" in _status(app)
            await press(pilot, "l")
            a2, b2 = app.span.selection()
            assert (a2, b2) == (app.span.anchor, app.span.anchor + 2) and s.text[a2:b2] in _status(app)
            await press(pilot, "v")
            assert "anchor dropped" in _status(app)

    run(go())


def test_e_j_k_and_line_motions_in_the_mode(pstore):
    async def go():
        app = _make(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await _started(app, pilot)
            s = app.session
            await press(pilot, "n", "e")
            _, end = s.word_at(app.span.caret)
            assert app.span.caret == end - 1 and app.mode == "span"  # e ended the word (not attrs)
            lines = app.doc_view.lines
            row = next(i for i, (a, b) in enumerate(lines) if a <= app.span.caret < b)
            await press(pilot, "j")
            assert app.mode == "span" and lines[row + 1][0] <= app.span.caret < lines[row + 1][1] + 1
            await press(pilot, "k")
            assert lines[row][0] <= app.span.caret < lines[row][1]
            await press(pilot, "dollar_sign")
            assert s.text[app.span.caret + 1 : app.span.caret + 2] in ("\n", "")
            await press(pilot, "0")
            assert app.span.caret == 0 or s.text[app.span.caret - 1] == "\n"

    run(go())


def test_slash_in_the_mode_opens_empty_and_enter_then_a_digit_adds(pstore):
    async def go():
        app = _make(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await _started(app, pilot)
            s = app.session
            a, b = _free_word(s)
            word = s.text[a:b]
            await press(pilot, "slash", *s.text[0:2], "enter")  # a search before: the bar must not keep it
            await press(pilot, "n", "slash")
            assert app.mode == "search" and app.search_bar.input.value == ""
            await press(pilot, *word, "enter")
            assert app.mode == "span" and app.span.selection() == s.find(word, app._search_origin)
            sel = app.span.selection()
            await press(pilot, "3")
            assert app.mode == "normal" and "added" in _status(app)
            d = _decisions(fresh(pstore))[-1]  # in the database when the screen says so
            assert (d["action"], d["start"], d["end"], d["label"]) == ("add", sel[0], sel[1], LABELS[2])

    run(go())


def test_s_adds_by_search_in_three_keys_and_the_cursor_moves_on(pstore):
    async def go():
        app = _make(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await _started(app, pilot)
            s = app.session
            a, b = _free_word(s)
            word = s.text[a:b]
            n = len(_decisions(pstore))
            await press(pilot, "s", *word, "escape")  # s then esc: back in normal mode, nothing written
            assert app.mode == "normal" and len(_decisions(fresh(pstore))) == n
            await press(pilot, "s", *word, "enter", "2")
            rows = _decisions(fresh(pstore))
            assert len(rows) == n + 1 and rows[-1]["action"] == "add" and rows[-1]["label"] == LABELS[1]
            assert rows[-1]["text"] == word
            # after the add the cursor is on the next pending proposal, not on the added span
            assert s.current["status"] == "pending" and s.current["key"] != f"d{rows[-1]['id']}"
            # after an edit (a label key on a pending proposal) too
            key = s.current["key"]
            other = next(i for i, lab in enumerate(LABELS, 1) if lab != s.current["label"])
            await press(pilot, str(other))
            assert s.current["key"] != key and _decisions(fresh(pstore))[-1]["action"] == "edit"

    run(go())


def test_keys_that_do_nothing_in_the_mode_say_so(pstore):
    async def go():
        app = _make(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await _started(app, pilot)
            n = len(_decisions(pstore))
            await press(pilot, "n")
            for key in ("a", "x", "u", "f"):
                await press(pilot, key)
                assert app.mode == "span" and f"{key} does nothing in new-span mode" in _status(app)
            assert len(_decisions(fresh(pstore))) == n
            await press(pilot, "escape")
            assert app.mode == "normal"

    run(go())


# ---------------------------------------------------------------------------- snapshots
@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_snapshot_of_the_mode(pstore, snap_compare, size):
    """The new-span mode with an anchor and a two-word selection: orange caret, blue selection,
    the status naming it, the mode's key bar (pins the layout at both sizes)."""
    app = _make(pstore)
    assert snap_compare(app, terminal_size=size, press=["n", "v", "e", "e"])
