"""The one-line forms of both apps: search, QUANTITY attributes, an unsure flag's note, a
yes/no prompt.

Each form is a widget that posts messages (``Submitted``, ``Cancelled``; the
search bar also ``Changed``) and knows nothing of the app: the app opens it,
handles its messages and closes it. Attribute fields are parsed here, by the one
grammar (:func:`workbench.session.attrs_from_fields`): a form submits the parsed
attributes or, when they do not parse, posts ``Invalid`` and stays open.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static

from ..core.flags import NOTE_MAX, clean_note
from ..core.quantity import format_value
from ..session import SessionError, attrs_from_fields
from .safe import SafeText
from .styles import STYLE_CLASSES, Styled


class Form(Styled, Horizontal):
    """A one-line bar, hidden until ``open``."""

    COMPONENT_CLASSES = STYLE_CLASSES

    class Cancelled(Message):
        pass

    def open(self) -> None:
        self.display = True

    def close(self) -> None:
        self.display = False

    def cancel(self) -> None:
        self.post_message(self.Cancelled())


class SearchBar(Form):
    """``/``: a query typed live (``Changed`` on every edit), ``Submitted`` on enter."""

    class Cancelled(Form.Cancelled):
        pass

    class Changed(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Submitted(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    def __init__(self, placeholder: str, *, id: str = "search-bar") -> None:
        super().__init__(id=id, classes="bar")
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Label("/", id="search-label")
        yield Input(id="search-input", placeholder=self._placeholder)
        yield Label("", id="search-count", classes="count")

    @property
    def input(self) -> Input:
        return self.query_one("#search-input", Input)

    def open_with(self, query: str, *, placeholder: str | None = None) -> None:
        """Show the bar with ``query`` in it and focus the input (at once: keys typed
        right after the opening key must reach it); ``placeholder``: the hint shown while
        it is empty (else the one it was made with)."""
        self.open()
        inp = self.input
        inp.placeholder = placeholder or self._placeholder
        inp.value = query
        self.screen.set_focus(inp)

    def set_count(self, text: str | Text) -> None:
        self.query_one("#search-count", Label).update(text)

    def no_match(self, query: str) -> None:
        self.set_count(SafeText("no match" if query else "", style=self.st("error")))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.display:
            self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))


class AttrsForm(Form):
    """QUANTITY attributes: three fields (value, unit, approx; tab moves between them),
    or ``compact``: one field of up to three words ("1500万 斤 more")."""

    class Cancelled(Form.Cancelled):
        pass

    class Submitted(Message):
        def __init__(self, attrs: dict | None) -> None:
            super().__init__()
            self.attrs = attrs

    class Invalid(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    FIELDS = (("value", "1500万 / 2.2亿 / 36"), ("unit", "元"), ("approx", "more/about/nearly/-"))
    COMPACT_PLACEHOLDER = "value unit approx   e.g. 1500万 斤 more  ·  36 个 -"

    def __init__(self, *, compact: bool = False, id: str = "attrs-bar") -> None:
        super().__init__(id=id, classes="bar")
        self.compact = compact

    def compose(self) -> ComposeResult:
        yield Label("attrs", id="attrs-title")
        if self.compact:
            yield Input(id="attrs-input", placeholder=self.COMPACT_PLACEHOLDER)
            return
        for name, placeholder in self.FIELDS:
            yield Label(name)
            yield Input(id=f"attr-{name}", placeholder=placeholder)

    def open_for(self, title: Text | str, attrs: dict | None) -> None:
        """Show the form for a span (its current ``attrs``) and focus the first field."""
        a = attrs or {}
        values = [format_value(a.get("value")), a.get("unit") or "", a.get("approx") or ""]
        self.query_one("#attrs-title", Label).update(title)
        inputs = list(self.query(Input))
        if self.compact:
            inputs[0].value = " ".join(v for v in values if v)
        else:
            for inp, v in zip(inputs, values):
                inp.value = v
        self.open()
        self.screen.set_focus(inputs[0])

    def fields(self) -> list[str]:
        values = [inp.value for inp in self.query(Input)]
        if not self.compact:
            return values
        parts = values[0].split()
        if len(parts) > 3:
            raise SessionError("attrs: value unit approx (three words at most)")
        return parts + [""] * (3 - len(parts))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            parts = self.fields()
            attrs = attrs_from_fields(*parts) if any(parts) or not self.compact else None
        except SessionError as e:
            self.post_message(self.Invalid(str(e)))
            return
        self.post_message(self.Submitted(attrs))


class NoteForm(Form):
    """The note of an unsure flag (annotate ``!`` on a span, ``F`` on the document): one field,
    enter saves (an empty note too), esc cancels; on a flagged target the field holds its note
    and the app's clear key takes the flag away. A note that is no note (a control character)
    posts ``Invalid`` and the form stays open."""

    class Cancelled(Form.Cancelled):
        pass

    class Submitted(Message):
        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    class Invalid(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, *, id: str = "note-bar") -> None:
        super().__init__(id=id, classes="bar")

    def compose(self) -> ComposeResult:
        yield Label("unsure", id="note-title")
        yield Input(id="note-input", max_length=NOTE_MAX, placeholder="a short note (may stay empty)")
        yield Label("", id="note-hint", classes="count")

    @property
    def input(self) -> Input:
        return self.query_one("#note-input", Input)

    def open_for(self, title: Text | str, note: str, hint: Text | str) -> None:
        """Show the form for a target (``title``), its current ``note``, and focus the field."""
        self.query_one("#note-title", Label).update(title)
        self.query_one("#note-hint", Label).update(hint)
        inp = self.input
        inp.value = note
        self.open()
        self.screen.set_focus(inp)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            note = clean_note(event.value)
        except ValueError as e:
            self.post_message(self.Invalid(str(e)))
            return
        self.post_message(self.Submitted(note))


class ConfirmBar(Styled, Static):
    """A yes/no question; the app's keys answer it (``answer``), which posts
    ``Submitted`` (yes) or ``Cancelled`` (no) with the pending callback."""

    COMPONENT_CLASSES = STYLE_CLASSES

    class Submitted(Message):
        def __init__(self, callback) -> None:
            super().__init__()
            self.callback = callback

    class Cancelled(Message):
        pass

    def __init__(self, *, id: str = "confirm-bar") -> None:
        super().__init__(id=id, classes="bar")
        self._callback = None

    def ask(self, question: str, callback, yes_keys: str, no_keys: str) -> None:
        self._callback = callback
        t = SafeText(" ? ", style=self.st("chip-warn"))
        t.append(f" {question}  ")
        t.append(yes_keys, style="bold")
        t.append(" yes   ")
        t.append(f"{no_keys} esc", style="bold")
        t.append(" no")
        self.update(t)
        self.display = True

    def answer(self, yes: bool) -> None:
        cb, self._callback = self._callback, None
        self.display = False
        self.post_message(self.Submitted(cb) if yes and cb is not None else self.Cancelled())
