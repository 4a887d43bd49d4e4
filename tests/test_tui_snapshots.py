"""Snapshots (pytest-textual-snapshot) of the annotate screen: main, help, QUANTITY attrs edit.

Deterministic: the bundled corpus with the dev gold inserted as proposals, a
fixed annotator, no user keymap, a small terminal.
"""

from __future__ import annotations

import pytest
from test_session import propose_gold

from workbench.tui.app import AnnotateApp

SIZE = (100, 30)


@pytest.fixture
def app(corpus_store, gold_docs):
    propose_gold(corpus_store, gold_docs)
    return AnnotateApp(corpus_store, "alice", use_user_keymap=False)


async def _no_blink(pilot):
    for inp in pilot.app.query("Input"):
        inp.cursor_blink = False
    await pilot.pause()


def test_main_screen(app, snap_compare):
    # some decisions so every status is visible: accepted, rejected, edited, added
    assert snap_compare(
        app, terminal_size=SIZE, press=["j", "a", "x", "2", "j", "right_curly_bracket", "n", "w", "w", "v", "l", "3"]
    )


def test_help_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"])


def test_quantity_attrs_edit(app, snap_compare):
    async def before(pilot):
        s = pilot.app.session
        q = next(i for i, it in enumerate(s.items) if it["label"] == "QUANTITY" and it["attrs"])
        pilot.app._do(s.set_cursor, q)
        await pilot.pause()
        await pilot.press("e")
        await _no_blink(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
