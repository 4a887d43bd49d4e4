"""core.visible: controls and bidi characters shown as one-cell placeholders, offsets kept."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from workbench.core.visible import visible

HOSTILE = [
    "\x1b[>0q",  # XTVERSION query: the terminal answers on stdin
    "\x1b[>c",  # DA2
    "\x1b[6n",  # cursor position report
    "\x1b]52;c;aGVsbG8=\x07",  # OSC 52: write the clipboard
    "\x1b]0;title\x07",  # OSC 0: window title
    "\x1b[2J",  # wipe the screen
    "\x9b6n",  # C1 CSI
    "\u202e\u2066",  # bidi override, isolate
    "\x7f\x00",
]


def test_every_hostile_sequence_is_inert_and_keeps_its_length():
    for seq in HOSTILE:
        text = f"统战{seq}工作"
        shown = visible(text)
        assert len(shown) == len(text)
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in shown), repr(shown)
        assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown
        assert shown[:2] == "统战" and shown[-2:] == "工作"
        assert cell_len(shown) == cell_len("统战工作") + len(seq)  # each placeholder is one cell


def test_placeholders_are_the_control_pictures():
    assert visible("a\x1bb") == "a␛b"
    assert visible("a\nb") == "a␊b"
    assert visible("a\nb", keep_newlines=True) == "a\nb"
    assert visible("a\tb\x7f") == "a␉b␡"
    assert visible("\u202e") == "␦"


def test_clean_text_is_returned_as_is():
    s = "帮助34家民营企业融资493万元"
    assert visible(s) is s


@given(st.text())
def test_any_text_keeps_length_and_has_no_controls(s):
    shown = visible(s)
    assert len(shown) == len(s)
    for a, b in zip(s, shown, strict=True):
        if a != b:
            assert unicodedata.category(a) in ("Cc", "Cf", "Zl", "Zp")
    assert not any(unicodedata.category(c) == "Cc" for c in shown)
