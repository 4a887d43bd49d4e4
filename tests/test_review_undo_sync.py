"""An undo re-syncs only the range it freed (sync_agreed(within=...)); the whole document must
still end in sync: a full sync right after finds nothing to add or remove, and the gold equals
the gold before the undone action, for picks, rejects and edits under both policies."""

from __future__ import annotations

import pytest
from test_agreement import simulate

from workbench.review import ReviewSession, sync_agreed


def _gold(store):
    return sorted(
        (r["doc_id"], r["start"], r["end"], r["label"], r["origin"])
        for r in store.query('SELECT doc_id, start, "end", label, origin FROM gold')
    )


def _full_sync_changes(s: ReviewSession) -> tuple[int, int]:
    total = [0, 0]
    for doc_id, clusters in s._clusters.items():
        a, r = sync_agreed(s.store, doc_id, clusters, s.policy, s.reviewer)
        total[0] += a
        total[1] += r
    return total[0], total[1]


@pytest.mark.parametrize("policy", ["unanimous", "majority"])
def test_each_undo_leaves_the_whole_document_in_sync(corpus_store, gold_docs, policy):
    simulate(corpus_store, gold_docs, with_dave=False)
    s = ReviewSession(corpus_store, "rita", policy=policy)
    assert s.items, "the simulation must leave disagreements"
    befores = []
    for i in range(min(9, len(s.items))):
        befores.append(_gold(corpus_store))
        it = s.current
        if i % 3 == 0:
            s.pick(1)
        elif i % 3 == 1:
            s.reject()
        else:
            v = next((k for k, x in enumerate(it.versions) if x.spans), 0)
            s.begin_edit(v)
            s.draft_relabel("ORG" if it.versions[v].spans and it.versions[v].spans[0]["label"] != "ORG" else "LOC")
            s.save_edit()
    assert _gold(corpus_store) != befores[0]
    while befores:
        s.undo()
        assert _gold(corpus_store) == befores.pop(), "the undo must restore the gold from before the action"
        assert _full_sync_changes(s) == (0, 0), "a full sync after the undo found the document out of sync"


def test_undo_under_another_policy_fills_the_freed_range(corpus_store, gold_docs):
    """rita takes the minority's version under the unanimous policy where a majority agrees; reopened under
    the majority policy, her undo frees the range and the majority's span becomes agreed gold
    there (the range sync must reach it)."""
    simulate(corpus_store, gold_docs, with_dave=False)
    s = ReviewSession(corpus_store, "rita", policy="unanimous")
    majority = [
        i
        for i, it in enumerate(s.items)
        if it.cluster.winner("majority") is not None and len(it.versions) > 1 and it.versions[1].spans
    ]
    assert majority, "the simulation must leave items a majority settles, with a minority version"
    s.set_cursor(majority[0])
    it = s.current
    s.pick(2)  # the minority's version: her gold row keeps the majority's span away on reopening
    rejected = (it.doc_id, it.cluster.start, it.cluster.end)
    m = ReviewSession(corpus_store, "rita", policy="majority")
    m.undo()
    doc, a, b = rejected
    spans = [g for g in _gold(corpus_store) if g[0] == doc and g[1] < b and a < g[2]]
    want = sorted((doc, x["start"], x["end"], x["label"]) for x in it.cluster.winner("majority").spans)
    assert sorted(g[:4] for g in spans) == want and all(g[4] == "agreed" for g in spans)
    assert _full_sync_changes(m) == (0, 0)
