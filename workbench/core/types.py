"""The plain dicts that flow between layers, as ``TypedDict``s (spaCy/Prodigy style: records
stay JSON-ready dicts; these only tell readers and mypy their shape).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

Label = Literal["PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY"]
Status = Literal["pending", "accepted", "rejected", "edited", "added"]


class QuantityAttrs(TypedDict):
    """QUANTITY attrs: ``value`` int when integral, else float (see core.quantity)."""

    value: int | float | None
    unit: str
    approx: Literal["more", "about", "nearly"] | None


class Span(TypedDict):
    """A labelled character range of a document's canonical text: ``text[start:end]``."""

    start: int
    end: int
    label: str
    text: str
    attrs: NotRequired[QuantityAttrs | dict | None]


class ProposalBounds(TypedDict):
    start: int
    end: int
    label: str
    attrs: QuantityAttrs | dict | None


class Item(TypedDict):
    """One row of an annotator's view of a document (``core.spans.derive_items``)."""

    key: str  # p<proposal id> or d<decision id>
    proposal_id: int | None
    start: int
    end: int
    label: str
    text: str
    attrs: QuantityAttrs | dict | None
    attrs_manual: NotRequired[bool]  # a person typed ``attrs`` (kept through bound moves)
    status: Status
    source: str | None
    score: float | None
    decision_id: int | None
    proposal: ProposalBounds | None


# statuses of an item the annotator asserts (the others are pending or rejected proposals)
ACCEPT_STATUSES: tuple[Status, ...] = ("accepted", "edited", "added")


class ProposalRef(TypedDict):
    """Which proposal an exported annotation span answers (accepted, edited or rejected):
    the proposal's own bounds, label and source, so an import into another database with the
    same proposals finds it again (an edit stays an edit of that proposal)."""

    start: int
    end: int
    label: str
    source: str | None


class ExportSpan(TypedDict):
    """A span as exports write it (``workbench.export``): ``attrs`` canonical (or None);
    ``proposal`` on annotation spans that answer a proposal; ``raw_*`` only with
    ``--raw-offsets`` (``raw_byte_*`` for documents read from a file)."""

    start: int
    end: int
    label: str
    text: str
    attrs: dict | None
    attrs_manual: NotRequired[bool]  # annotation exports: true when a person typed ``attrs``
    origin: NotRequired[str]  # gold exports: agreed, single-annotator, picked, edited, added, corrected, ...
    reviewer: NotRequired[str]  # gold exports: the reviewer who wrote it (not for automatic gold)
    proposal: NotRequired[ProposalRef]
    unsure: NotRequired[dict]  # annotation exports: the annotator flagged the span unsure ({"note"})
    raw_start: NotRequired[int]
    raw_end: NotRequired[int]
    raw_byte_start: NotRequired[int]
    raw_byte_end: NotRequired[int]
