"""Text styles by name, from CSS: the colours of both apps live in ``base.tcss``.

Every widget that builds Rich ``Text`` (the bars, the Line API panels, the review
detail, the help) mixes in :class:`Styled`: its ``COMPONENT_CLASSES`` are the
``wb--<name>`` classes styled in ``base.tcss`` (so a theme or a user stylesheet
recolours them), and ``st(name)`` is the Rich style of one, a dict lookup once
Textual has computed it (Textual caches component styles until the styles change).

Label colours stay data in :mod:`workbench.core.labels` (``COLORS``): they belong to
the label set (one colour per label, the same in every view), not to a widget.
"""

from __future__ import annotations

from rich.style import Style

STYLE_NAMES = (
    # plain text
    "bold",
    "text",
    "dim",
    "faint",
    "sep",
    "context",
    "open",
    "attrs",
    "muted",
    "muted-strike",
    "kind",
    "key",
    "helpkey",
    "group",
    "focus",
    "cursor-mark",
    # states
    "ok",
    "ok-b",
    "warn",
    "warn-b",
    "error",
    "error-b",
    "error-i",
    "rejected",
    "rejected-cell",
    "info",
    "info-b",
    # chips: black text on a colour
    "chip",
    "chip-title",
    "chip-ok",
    "chip-user",
    "chip-warn",
    "chip-info",
    "chip-span",
    "chip-sel",
    # highlights
    "cursor",
    "blocked",
    "search",
    "selection",
    "caret",
    "current",
    "current-rejected",
)


STYLE_CLASSES = {f"wb--{n}" for n in STYLE_NAMES}


class Styled:
    """Widget mixin: ``st(name)``, the Rich style of a shared text style. (The widget
    class sets ``COMPONENT_CLASSES = STYLE_CLASSES`` itself: Textual collects component
    classes from the widget's own DOM bases only, not from mixins.)"""

    _st_cache: dict[str, Style] | None = None

    def st(self, name: str) -> Style:
        # our own cache: Textual's is dropped whenever the widget's styles are refreshed,
        # and computing one again walks the ancestors (~0.1 ms; a key asks for dozens)
        cache = self._st_cache
        if cache is None:
            cache = self._st_cache = {}
        style = cache.get(name)
        if style is None:
            style = cache[name] = self.get_component_rich_style(f"wb--{name}", partial=True)  # type: ignore[attr-defined]
        return style

    def render_lines(self, crop):
        """The net of :mod:`workbench.tui.safe`: no rendered line carries a control character."""
        from .safe import guard_strip

        return [guard_strip(strip) for strip in super().render_lines(crop)]

    def forget_styles(self) -> None:
        """The theme or the stylesheet changed: look the styles up again."""
        self._st_cache = None

    def label_st(self, label: str | None, chip: bool = False) -> Style:
        """A label's colour (``COLORS``): as text (bold), or as a chip (black on it)."""
        from ..core.labels import COLORS

        color = COLORS.get(label or "")
        if color is None:
            return self.st("chip-sel") if chip else Style()
        return self.st("chip") + Style(bgcolor=color) if chip else Style(color=color, bold=True)
