"""Widgets that repaint without a screen layout pass: the Line API panels, whose
virtual size changes without one, and one-line bars.

``Widget.virtual_size`` is a reactive declared with ``layout=True``: assigning
it makes Textual lay out and repaint the *whole screen* (every bar and panel),
~20 ms on the annotate screen. Opening another document changes the virtual
height of the text and of the items table, but nothing else on the screen moves
(both panels have fixed sizes and always-visible vertical scrollbars), so a
layout pass there is pure waste: it was most of the time of ``tab``.

``set_virtual_size`` stores the new size, updates the scrollbars and clamps the
scroll offset (what the layout pass would have done for these widgets) and
repaints only the widget itself.
"""

from __future__ import annotations

from contextlib import contextmanager

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget

from .safe import SafeText, safe_text
from .styles import STYLE_CLASSES, Styled


def set_virtual_size(widget: Widget, size: Size) -> None:
    if widget.virtual_size == size:
        return
    scroll_update = getattr(widget, "_scroll_update", None)
    if not widget.size.height or widget.styles.overflow_y != "scroll" or scroll_update is None:
        # not laid out yet, or a scrollbar may appear/disappear: let Textual lay out
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    scroll_update(size)
    widget.refresh()


class LineView(Styled, ScrollView, can_focus=False):
    """Base of the Line API panels (text, items, review list): always-visible vertical
    scrollbar (so a new virtual height never needs a layout pass, see
    ``set_virtual_size``), no horizontal scrolling, and ``base_style``: ``rich_style``
    computed once per frame. ``rich_style`` walks every ancestor's styles (~0.1 ms a
    call) and a panel asks for it on every line it renders: 80 lines a frame added
    ~8 ms to each document switch.

    Text styles come from CSS (``st``, see :mod:`workbench.tui.styles`); a panel caches
    rendered strips, so ``restyle`` (the app calls it on a theme change) drops its caches."""

    COMPONENT_CLASSES = STYLE_CLASSES

    DEFAULT_CSS = """
    LineView {
        overflow-y: scroll;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    """

    _frame_style = None

    def restyle(self) -> None:
        """The styles changed: forget cached rendering (subclasses drop their caches)."""
        self.refresh()

    def render_lines(self, crop):
        with self.style_frozen():
            return super().render_lines(crop)

    @contextmanager
    def style_frozen(self):
        """Within: ``base_style`` is computed once (rendering, prefetching)."""
        outer = self._frame_style
        if outer is None:
            self._frame_style = self.rich_style
        try:
            yield
        finally:
            self._frame_style = outer

    @property
    def base_style(self):
        style = self._frame_style
        return self.rich_style if style is None else style


class Line(Styled, Widget):
    """A one-line bar whose text changes without a layout pass (Static.update re-lays out
    the whole screen, which costs tens of ms per key)."""

    COMPONENT_CLASSES = STYLE_CLASSES

    DEFAULT_CSS = "Line { height: 1; }"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._text: Text = SafeText()

    def set(self, text: Text) -> None:
        text = safe_text(text)
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> Text:
        return self._text
