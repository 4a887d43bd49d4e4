"""The annotation session: the domain layer under the annotate TUI (see ``annotation.py`` for the
rules it enforces). ``view`` holds the queue, document and cursor; ``annotation`` the decisions;
``change`` the :class:`Change` both sessions return; ``attrs`` the QUANTITY attrs input."""

from .annotation import BATCH_ORIGIN, AnnotationSession
from .attrs import attrs_from_fields, parse_value
from .change import Change, SessionError
from .view import FINAL, STATUSES, Queue, SessionView, control_warning

__all__ = [
    "BATCH_ORIGIN",
    "FINAL",
    "STATUSES",
    "AnnotationSession",
    "Change",
    "Queue",
    "SessionError",
    "SessionView",
    "attrs_from_fields",
    "control_warning",
    "parse_value",
]
