"""Review: where annotators differ, automatic gold where they agree, and the
reviewer's adjudication. The domain layer under ``workbench review``; no Textual.

Which documents are reviewed
    A document with assignments is ready once every assigned annotator has
    finished it; a document without assignments once anyone has (one annotator
    alone reaches gold: origin ``single-annotator``, rewritten by the sync as
    agreed spans and disagreements once a second annotator finishes it). With
    assignments, the assigned annotators take part; others who finished it are
    counted as extra (``Summary.extra``) and never reopen settled work.

Items
    The spans of all participating annotators in a document are clustered:
    spans that overlap (across annotators, transitively) form one cluster. An
    annotator's *version* of a cluster is the list of their spans in it (start,
    end, label, attrs), possibly empty. A cluster where one version is held by
    all annotators (policy ``unanimous``) or by more than half of them
    (``majority``) is settled automatically: its spans become gold with origin
    ``agreed`` (nothing, if the winning version is empty). Every other cluster
    is a disagreement *item* the reviewer settles: pick a version, edit one,
    or reject all (no gold). An item's key is derived from its range and its
    versions, so an item changes (and comes back) when an annotator reopens a
    document and changes it.

Writes
    Every reviewer action is one transaction: the ``reviews`` row (action,
    item key, payload with the versions shown, chosen annotators, gold row ids
    written and gold rows replaced) together with the ``gold`` rows. Undo
    deletes those gold rows, restores the replaced ones and logs an ``undo``
    row (payload ``{"undo": <review id>}``). Automatic gold is synchronised
    each time review starts: agreed rows no longer agreed are deleted, new ones
    inserted, and an ``agree`` row logs what changed.

Spans nobody made
    The reviewer may add a span no annotator made (``add``): inside the text,
    not empty, no line break, overlapping neither a gold span of the document
    nor an unsettled disagreement. It is written as a gold row (origin
    ``added``, the reviewer, no annotators) with an ``add`` review row, in one
    transaction.

Correcting gold
    Any gold span of a document under review can be corrected, whatever its origin
    (:mod:`.correct`): relabelled, moved, its attrs set, removed, or replaced together with
    the gold it overlaps by a new span (the add mode over gold, confirmed). One ``correct``
    review row (payload ``before``/``after``/``changes``) and gold rows of origin
    ``corrected`` (the reviewer, the replaced rows' annotators), one transaction, undone like
    the others. The sync never writes again an automatic span a live correction replaced.
    ``all_docs`` (``workbench review --all``) also takes documents with gold that are not ready.

Undo
    Undo reads the persisted review log, so it reaches across sessions: it
    takes the reviewer's own latest live (not undone) action in the documents
    under review (pick, edit, reject, skip, add, correct; never an ``agree`` sync and
    never another reviewer's action). It is refused when another reviewer has
    since acted on an overlapping range (that action would be left dangling).

Modules
    :mod:`.clustering` (clusters, versions, automatic gold), :mod:`.readiness` (which
    documents are ready), :mod:`.session` (the reviewer's actions, each returning a
    :class:`workbench.session.Change`), :mod:`.drafts` (edit and add modes), :mod:`.correct` (walking and correcting gold),
    :mod:`.history` (the review log read back). The SQL is in
    :mod:`workbench.store.review`.
"""

from __future__ import annotations

from .clustering import POLICIES, Cluster, ReviewError, Version, added_key, cluster_doc, span_key, sync_agreed
from .correct import CORRECTED, GoldWalk
from .drafts import AddDraft, Draft
from .history import (
    SETTLE_ACTIONS,
    UNDOABLE_ACTIONS,
    describe_attrs,
    describe_spans,
    history,
    live_reviews,
    review_extent,
    settled_items,
    span_changes,
    undone_review_ids,
)
from .readiness import load_annotation_set, reviewable_docs, waiting_docs
from .session import Item, ReviewSession, Summary

__all__ = [
    "POLICIES",
    "SETTLE_ACTIONS",
    "UNDOABLE_ACTIONS",
    "CORRECTED",
    "AddDraft",
    "GoldWalk",
    "Cluster",
    "Draft",
    "Item",
    "ReviewError",
    "ReviewSession",
    "Summary",
    "Version",
    "added_key",
    "cluster_doc",
    "describe_attrs",
    "describe_spans",
    "span_changes",
    "history",
    "live_reviews",
    "load_annotation_set",
    "review_extent",
    "reviewable_docs",
    "settled_items",
    "span_key",
    "sync_agreed",
    "undone_review_ids",
    "waiting_docs",
]
