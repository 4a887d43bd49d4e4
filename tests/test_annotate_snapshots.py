"""Snapshots (pytest-textual-snapshot) of the annotate screen at 80x24 and 160x45 (issue 14:
"80x24 fully usable"): the main screen with every status, the attrs editor, the search bar,
the help's drawing section, the label jump, the list without accepted items, the reopen
question, and the sources of a span two proposers made (issue 13).

Deterministic: the bundled corpus with the dev gold inserted as proposals, a fixed annotator,
no user keymap. The text is read back from each SVG in the tests of test_annotate_flow.py;
these pin the layout."""

from __future__ import annotations

import pytest
from test_proposer_runs import DOC0, two_sources
from test_session import propose_gold

from workbench.tui.app import AnnotateApp

SMALL = (80, 24)
BIG = (160, 45)
SIZES = pytest.mark.parametrize("size", [SMALL, BIG], ids=["80x24", "160x45"])

# some decisions so every status is visible: accepted, rejected, edited, added
DECISIONS = ["j", "a", "x", "2", "j", "right_curly_bracket", "n", "w", "w", "v", "l", "3"]


@pytest.fixture
def app(corpus_store, gold_docs):
    propose_gold(corpus_store, gold_docs)
    return AnnotateApp(corpus_store, "alice", use_user_keymap=False)


async def _no_blink(pilot):
    for inp in pilot.app.query("Input"):
        inp.cursor_blink = False
    await pilot.pause()


@SIZES
def test_main(app, snap_compare, size):
    assert snap_compare(app, terminal_size=size, press=DECISIONS)


@SIZES
def test_attrs_editor(app, snap_compare, size):
    async def before(pilot):
        s = pilot.app.session
        q = next(i for i, it in enumerate(s.items) if it["label"] == "QUANTITY" and it["attrs"])
        pilot.app._do(s.set_cursor, q)
        await pilot.pause()
        await pilot.press("e")
        await _no_blink(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


@SIZES
def test_search_typed(app, snap_compare, size):
    async def before(pilot):
        await pilot.press("slash")
        await pilot.pause()
        pilot.app.search_bar.input.value = "苍岭"
        await _no_blink(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


def test_help_drawing_section_80x24(app, snap_compare):
    async def before(pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        from textual.widgets import Static

        drawing = next(w for w in pilot.app.screen.query(Static) if "How spans are drawn" in str(w.content))
        pilot.app.screen.query_one("VerticalScroll").scroll_to_widget(drawing, animate=False, top=True)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SMALL, run_before=before)


def test_label_jump_160x45(app, snap_compare):
    assert snap_compare(app, terminal_size=BIG, press=["t"])


def test_accepted_hidden_80x24(app, snap_compare):
    assert snap_compare(app, terminal_size=SMALL, press=["a", "a", "a", "H"])


def test_reopen_asks_80x24(app, snap_compare):
    assert snap_compare(app, terminal_size=SMALL, press=["f", "y", "shift+tab", "f"])


def test_two_sources_160x45(corpus_store, snap_compare):
    two_sources(corpus_store)
    app = AnnotateApp(corpus_store, "alice", doc_id=DOC0, use_user_keymap=False)
    assert snap_compare(app, terminal_size=BIG)


@SIZES
def test_unsure_flags(app, snap_compare, size):
    """A flagged span (⚑ in the list, its note in the status line), a flagged document (the
    header), and the note form open on the flagged span, its note in the field (issue 14)."""

    async def before(pilot):
        s = pilot.app.session
        s.flag_document("扫描件，数字待核")
        pilot.app._do(s.flag_current, "机构名是否完整？")
        await pilot.pause()
        await pilot.press("exclamation_mark")
        await _no_blink(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)
