"""Which documents are ready for review (every assigned annotator finished them; without
assignments, anyone finished them), which still wait, and every annotator's finished work
as an :class:`~workbench.agreement.AnnotationSet`.

A document one annotator finished alone (no assignments, or only that annotator assigned)
goes to gold through the same sync as agreed spans, with origin ``single-annotator``; when
a second annotator finishes it later, the sync makes it agreed spans and disagreements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from workbench.agreement import AnnotationSet
from workbench.core.spans import derive_items, final_spans, is_finished


class Waiting(TypedDict):
    id: str
    finished: list[str]  # annotators who finished it
    waiting_for: list[str]  # the assigned annotators who still have to


def load_annotation_set(store) -> AnnotationSet:
    """Every annotator's spans and proposal decisions in the documents they finished.

    One streaming pass over the decision log (``Store.annotation_groups``): the items of
    each (document, annotator) are derived from their decisions and the proposals those
    answer; pending proposals play no part in agreement."""
    spans: dict[str, dict[str, list]] = {}
    decisions: dict[str, dict[str, dict[int, tuple[str, str]]]] = {}
    docs: dict[str, None] = {}
    for doc_id, ann, decs, props in store.annotation_groups():
        if not is_finished(decs):
            continue
        items = derive_items(props, decs)
        spans.setdefault(ann, {})[doc_id] = final_spans(items)
        dec = {}
        for it in items:
            if it["proposal_id"] is not None and it["status"] in ("accepted", "edited", "rejected"):
                prop = it.get("proposal")
                lab = (prop["label"] if prop else None) or it["label"]
                dec[it["proposal_id"]] = (lab, "reject" if it["status"] == "rejected" else "accept")
        decisions.setdefault(ann, {})[doc_id] = dec
        docs[doc_id] = None
    return AnnotationSet(
        docs=store.document_sizes(docs),
        spans={a: spans[a] for a in sorted(spans) if spans[a]},
        decisions={a: decisions[a] for a in sorted(decisions) if decisions[a]},
    )


def _doc_progress(store) -> Iterator[tuple[str, list[str], list[str] | None]]:
    """``(doc_id, annotators who finished it, annotators assigned or None)`` in ingest order."""
    assignments = store.assignments()
    finished = {a: store.finished_docs(a) for a in store.annotators()}
    for doc_id in store.document_ids():
        done = sorted(a for a, ds in finished.items() if doc_id in ds)
        yield doc_id, done, assignments.get(doc_id)


def reviewable_docs(store) -> list[tuple[str, list[str]]]:
    """``(doc_id, annotators who finished it)`` for the documents ready for review, in ingest order."""
    out = []
    for doc_id, done, assigned in _doc_progress(store):
        ready = all(a in done for a in assigned) if assigned else len(done) >= 1
        if ready and done:
            # with assignments, only the assigned annotators take part: annotations of anyone
            # else (imported, or a stray login name) never reopen settled work
            out.append((doc_id, [a for a in done if a in assigned] if assigned else done))
    return out


def extra_annotators(store) -> dict[str, list[str]]:
    """doc id → annotators who finished it without being assigned to it (left out of review)."""
    out: dict[str, list[str]] = {}
    for doc_id, done, assigned in _doc_progress(store):
        if assigned:
            extra = [a for a in done if a not in assigned]
            if extra:
                out[doc_id] = extra
    return out


def waiting_docs(store) -> list[Waiting]:
    """Documents not ready yet, with who still has to finish them (for messages)."""
    out: list[Waiting] = []
    for doc_id, done, assigned in _doc_progress(store):
        if assigned:
            missing = [a for a in assigned if a not in done]
            if missing:
                out.append({"id": doc_id, "finished": done, "waiting_for": missing})
    return out
