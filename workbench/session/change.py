"""What a session action changed (shared by the annotate and the review session), and the
error an action raises when it is refused."""

from __future__ import annotations

from dataclasses import dataclass, field


class SessionError(Exception):
    """An action refused for a reason the annotator should read (shown in the status line)."""


@dataclass
class Change:
    """What an action changed, so a view can update only that."""

    keys: set[str] = field(default_factory=set)  # items added or modified
    removed: set[str] = field(default_factory=set)  # items that disappeared
    spans: list[tuple[int, int]] = field(default_factory=list)  # text ranges to repaint
    reordered: bool = False  # item order changed (a view must re-sync its rows)
    document: bool = False  # another document is open now
    message: str = ""
    doc_id: str | None = None  # the document keys and spans belong to (None: the one open; review spans several)
