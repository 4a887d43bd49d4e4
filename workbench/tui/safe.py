"""Nothing from the data reaches the terminal raw (issue 12).

Two layers:
- at the sources, text is made visible before it is laid out (the document text in
  ``DocView``, every ``Text`` given to a ``Line`` bar, the review detail, status messages), so
  each placeholder takes its one cell in the layout;
- a net under every widget of ours (``Styled.render_lines``): a rendered line that still holds
  a control or bidi character is redrawn with placeholders and cropped to its width. That
  catches whatever a future code path forgets.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip

from ..core.visible import is_visible, visible


class SafeText(Text):
    """A rich ``Text`` that draws control characters as placeholders instead of dropping them.

    Rich's ``Text`` removes BEL, BS, VT, FF and CR from what it is given
    (``rich.control.strip_control_codes``): a document id ``"a\\x07b"`` was drawn ``"ab"``, one
    character gone with nothing to show it, and the rest of the line one cell off (the net
    below cannot bring back what is gone). The TUI builds its texts with this class: what is
    given to it is made visible first (newlines kept: multi-line texts are laid out by line)."""

    def __init__(self, text: str = "", *args, **kwargs) -> None:
        super().__init__(visible(text, keep_newlines=True), *args, **kwargs)

    def append(self, text, style=None) -> SafeText:
        if isinstance(text, str):
            text = visible(text, keep_newlines=True)
        super().append(text, style)
        return self


def safe_text(t: Text) -> Text:
    """``t`` with its characters made visible (same length, so its spans still fit)."""
    plain = t.plain
    shown = visible(plain, keep_newlines=True)
    if shown is plain:
        return t
    out = t.copy()
    out.plain = shown
    return out


def guard_strip(strip: Strip) -> Strip:
    if is_visible(strip.text):
        return strip
    width = strip.cell_length
    segs = [seg if seg.control else Segment(visible(seg.text), seg.style) for seg in strip]
    return Strip(segs).crop_extend(0, width, None)
