"""Review domain layer and commands: clustering, automatic gold (unanimous /
majority), adjudication into gold, undo, re-running shows only what is still
unsettled; ``assign``, ``review --summary``, ``history``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_agreement import (
    drop_b,
    drop_c,
    other_label,
    relabel_c,
    shrink_b,
    simulate,
    sorted_gold,
)

from workbench.review import (
    ReviewError,
    ReviewSession,
    cluster_doc,
    live_reviews,
    reviewable_docs,
)


def sp(start, end, label, attrs=None):
    return {"start": start, "end": end, "label": label, "text": "x" * (end - start), "attrs": attrs}


def gold_rows(store, doc_id=None):
    sql = 'SELECT doc_id, start, "end", label, text, attrs, origin, reviewer, annotators FROM gold'
    rows = store.query(
        sql + (" WHERE doc_id = ?" if doc_id else "") + " ORDER BY doc_id, start", (doc_id,) if doc_id else ()
    )
    for r in rows:
        r["annotators"] = json.loads(r["annotators"])
        r["attrs"] = json.loads(r["attrs"]) if r["attrs"] else None
    return rows


@pytest.fixture
def sim3(corpus_store, gold_docs):
    """alice = gold, bob and carol perturbed (test_agreement's rules), all five documents finished."""
    simulate(corpus_store, gold_docs, with_dave=False)
    return corpus_store


def categories(gold_docs):
    """(doc, i, gold span, bob deviates, carol deviates) for every gold span."""
    out = []
    for d, g in gold_docs.items():
        for i, s in enumerate(sorted_gold(g)):
            out.append((d, i, s, drop_b(i) or shrink_b(i, s), drop_c(i) or relabel_c(i)))
    return out


# ---------------------------------------------------------------------------- clustering


def test_cluster_versions_and_kinds():
    by_ann = {
        "a": [
            sp(0, 4, "ORG"),
            sp(10, 12, "PERSON"),
            sp(20, 22, "QUANTITY", {"value": 2, "unit": "个", "approx": None}),
        ],
        "b": [
            sp(0, 2, "LOC"),
            sp(2, 4, "ORG"),
            sp(10, 12, "PERSON"),
            sp(20, 22, "QUANTITY", {"value": 3, "unit": "个", "approx": None}),
        ],
        "c": [sp(0, 4, "ORG"), sp(20, 22, "QUANTITY", {"value": 2, "unit": "个", "approx": None})],
    }
    cl = cluster_doc("d", by_ann)
    assert [(c.start, c.end) for c in cl] == [(0, 4), (10, 12), (20, 22)]
    first = cl[0]
    # b's two spans are one version; a and c agree
    assert [v.annotators for v in first.versions] == [["a", "c"], ["b"]]
    assert [[(s["start"], s["end"], s["label"]) for s in v.spans] for v in first.versions] == [
        [(0, 4, "ORG")],
        [(0, 2, "LOC"), (2, 4, "ORG")],
    ]
    assert first.kinds == ["boundary", "label"]
    assert cl[1].kinds == ["missing"] and cl[1].versions[-1].spans == [] and cl[1].versions[-1].annotators == ["c"]
    assert cl[2].kinds == ["attrs"]
    # automatic: unanimous needs 3 of 3, majority 2 of 3
    assert [c.winner("unanimous") for c in cl] == [None, None, None]
    assert [c.winner("majority").annotators for c in cl] == [["a", "c"], ["a", "b"], ["a", "c"]]
    # keys are stable and differ per content
    again = cluster_doc("d", {k: [dict(s) for s in v] for k, v in by_ann.items()})
    assert [c.key for c in again] == [c.key for c in cl]
    assert len({c.key for c in cl}) == 3


def test_reviewable_docs_follow_assignments(sim3, gold_docs):
    docs = list(gold_docs)
    assert [d for d, _ in reviewable_docs(sim3)] == docs
    sim3.assign([(docs[0], "alice"), (docs[0], "bob"), (docs[0], "dave")])
    ready = dict(reviewable_docs(sim3))
    assert docs[0] not in ready  # dave has not finished it
    assert ready[docs[1]] == ["alice", "bob", "carol"]  # unassigned: everyone who finished it
    sim3.record_decision(docs[0], "dave", "finish")
    # assigned: the assigned annotators only (carol finished it too, unassigned: left out, issue 13)
    assert dict(reviewable_docs(sim3))[docs[0]] == ["alice", "bob", "dave"]


def test_single_annotator_documents_are_reviewable(corpus_store, gold_docs):
    # issue 13: one annotator alone (no assignments) must reach gold; they used to wait forever
    d = next(iter(gold_docs))
    corpus_store.record_decision(
        d, "alice", "add", start=0, end=2, label="DATE", text=corpus_store.get_document(d)["text"][:2]
    )
    corpus_store.record_decision(d, "alice", "finish")
    assert reviewable_docs(corpus_store) == [(d, ["alice"])]


# ---------------------------------------------------------------------------- automatic gold


def test_unanimous_agreed_gold_and_items(sim3, gold_docs):
    s = ReviewSession(sim3, "rita")
    cats = categories(gold_docs)
    agreed = [(d, x) for d, i, x, b, c in cats if not b and not c]
    disputed = [(d, i) for d, i, x, b, c in cats if b or c]
    assert s.summary.documents == 5 and s.summary.agreed_spans == len(agreed) == s.summary.agreed_added
    assert len(s.items) == len(disputed) == s.summary.items
    rows = gold_rows(sim3)
    assert [(r["doc_id"], r["start"], r["end"], r["label"]) for r in rows] == [
        (d, x["start"], x["end"], x["label"]) for d, x in agreed
    ]
    assert all(
        r["origin"] == "agreed" and r["reviewer"] == "rita" and r["annotators"] == ["alice", "bob", "carol"]
        for r in rows
    )
    # each item is one gold span and the perturbations of it
    for it, (d, i) in zip(s.items, disputed):
        g = sorted_gold(gold_docs[d])[i]
        assert it.doc_id == d and (it.cluster.start, it.cluster.end) == (g["start"], g["end"])
        assert any(v.annotators[0] == "alice" and v.spans[0]["label"] == g["label"] for v in it.versions)
    # an 'agree' review row per document logs the automatic gold
    assert sum(len([r for r in live_reviews(sim3, d) if r["action"] == "agree"]) for d in gold_docs) == 5
    # starting again adds nothing and shows the same items
    s2 = ReviewSession(sim3, "rita")
    assert s2.summary.agreed_added == 0 and len(s2.items) == len(disputed)
    assert len(gold_rows(sim3)) == len(agreed)


def test_majority_policy(sim3, gold_docs):
    s = ReviewSession(sim3, "rita", policy="majority")
    cats = categories(gold_docs)
    # at most one of bob/carol departs: the gold span wins 2 of 3
    agreed = [(d, x) for d, i, x, b, c in cats if not (b and c)]
    # both depart: both dropped → 'no span' wins (settled, nothing in gold); otherwise 3 versions → item
    items = [(d, i) for d, i, x, b, c in cats if b and c and not (drop_b(i) and drop_c(i))]
    assert [(r["doc_id"], r["start"], r["end"], r["label"]) for r in gold_rows(sim3)] == [
        (d, x["start"], x["end"], x["label"]) for d, x in agreed
    ]
    assert [(it.doc_id, it.cluster.start) for it in s.items] == [
        (d, sorted_gold(gold_docs[d])[i]["start"]) for d, i in items
    ]
    assert all(len(it.versions) == 3 for it in s.items)
    # majority rows record the annotators who held the span
    holders = {(r["doc_id"], r["start"]): r["annotators"] for r in gold_rows(sim3)}
    for d, _i, x, b, c in cats:
        if b and not c:
            assert holders[(d, x["start"])] == ["alice", "carol"]
    # back to unanimous: the majority-only rows are removed again and come back as items
    s3 = ReviewSession(sim3, "rita", policy="unanimous")
    assert s3.summary.agreed_removed == sum(1 for d, i, x, b, c in cats if (b or c) and not (b and c))
    assert len(s3.items) == sum(1 for _ in cats if _[3] or _[4])


# ---------------------------------------------------------------------------- adjudication


def test_pick_reject_edit_write_gold_and_rerun_shows_only_unsettled(sim3, gold_docs):
    s = ReviewSession(sim3, "rita")
    n0 = len(s.items)
    before = len(gold_rows(sim3))
    # pick the version alice holds on the first item
    it = s.items[0]
    k = next(n for n, v in enumerate(it.versions, 1) if "alice" in v.annotators)
    v = it.versions[k - 1]
    s.pick(k)
    assert it.status == "picked" and s.cursor == 1
    new = [r for r in gold_rows(sim3, it.doc_id) if r["origin"] == "adjudicated"]
    assert [(r["start"], r["end"], r["label"], r["reviewer"], r["annotators"]) for r in new] == [
        (x["start"], x["end"], x["label"], "rita", v.annotators) for x in v.spans
    ]
    rv = live_reviews(sim3, it.doc_id)[-1]
    assert rv["action"] == "pick" and rv["item_key"] == it.key and rv["reviewer"] == "rita"
    assert rv["payload"]["chosen"] == v.annotators and rv["payload"]["gold_ids"]
    assert len(rv["payload"]["versions"]) == len(it.versions)
    # reject all on the second: no gold in its range
    it2 = s.items[1]
    s.reject()
    assert it2.status == "rejected"
    assert not [r for r in gold_rows(sim3, it2.doc_id) if r["start"] < it2.cluster.end and it2.cluster.start < r["end"]]
    # edit the third: relabel alice's version, move its end left
    it3 = s.items[2]
    base = next(n for n, v in enumerate(it3.versions) if "alice" in v.annotators)
    s.begin_edit(base)
    g = it3.versions[base].spans[0]
    s.draft_relabel(other_label(other_label(g["label"])))
    if g["end"] - g["start"] > 1:
        s.draft_move("end", -1)
    s.save_edit()
    assert it3.status == "edited" and s.draft is None
    e = [r for r in gold_rows(sim3, it3.doc_id) if r["origin"] == "adjudicated" and r["start"] == g["start"]]
    text = sim3.get_document(it3.doc_id)["text"]
    assert len(e) == 1 and e[0]["label"] == other_label(other_label(g["label"])) and e[0]["annotators"] == []
    assert text[e[0]["start"] : e[0]["end"]] == e[0]["text"]
    # skip the fourth: logged, not settled
    it4 = s.items[3]
    s.skip()
    assert it4.status == "skipped"
    assert len(gold_rows(sim3)) == before + len(v.spans) + 1
    # a new session (another reviewer even) shows only what is unsettled, the skipped one included
    s2 = ReviewSession(sim3, "sam")
    assert len(s2.items) == n0 - 3 and s2.summary.already_settled == 3
    keys = {i.key for i in s2.items}
    assert it.key not in keys and it2.key not in keys and it3.key not in keys and it4.key in keys


def test_settle_everything_reproduces_the_gold(sim3, gold_docs):
    from workbench.export import iter_gold_records

    s = ReviewSession(sim3, "rita")
    while s.open_count:
        it = s.current
        k = next(n for n, v in enumerate(it.versions, 1) if "alice" in v.annotators)
        s.pick(k)
    assert ReviewSession(sim3, "rita").items == []
    recs = {r["id"]: r for r in iter_gold_records(sim3)}
    assert set(recs) == set(gold_docs)
    for d, g in gold_docs.items():
        assert [(x["start"], x["end"], x["label"]) for x in recs[d]["spans"]] == [
            (x["start"], x["end"], x["label"]) for x in sorted_gold(g)
        ]
        assert recs[d]["annotators"] == ["alice", "bob", "carol"]


def test_undo_any_depth(sim3):
    s = ReviewSession(sim3, "rita")
    n_gold = len(gold_rows(sim3))
    a, b = s.items[0], s.items[1]
    s.pick(1)
    s.reject()
    s.skip()
    assert s.undo().message.startswith("undid skip")
    assert s.undo().message.startswith("undid reject") and b.status == "open" and s.cursor == 1
    assert s.undo().message.startswith("undid pick") and a.status == "open" and s.cursor == 0
    assert len(gold_rows(sim3)) == n_gold
    with pytest.raises(ReviewError, match="nothing to undo"):
        s.undo()
    acts = [r["action"] for r in sim3.query("SELECT action FROM reviews WHERE action != 'agree' ORDER BY id")]
    assert acts == ["pick", "reject", "skip", "undo", "undo", "undo"]
    assert len(ReviewSession(sim3, "rita").items) == len(s.items)


def test_two_reviewers_cannot_settle_the_same_item_twice(sim3):
    s1, s2 = ReviewSession(sim3, "rita"), ReviewSession(sim3, "sam")
    s1.pick(1)
    with pytest.raises(ReviewError, match="rita settled this item meanwhile"):
        s2.pick(2)
    assert s2.items[0].status == "open"
    assert sim3.count("reviews", "action = 'pick'") == 1


def test_edit_rules(sim3):
    s = ReviewSession(sim3, "rita")
    it = s.current
    base = next(n for n, v in enumerate(it.versions) if v.spans)
    s.begin_edit(base)
    with pytest.raises(ReviewError, match="finish the edit"):
        s.pick(1)
    span = s.draft.spans[0]
    # cannot be emptied
    with pytest.raises(ReviewError, match="empty"):
        for _ in range(span["end"] - span["start"]):
            s.draft_move("end", -1)
    s.cancel_edit()
    s.begin_edit(base)
    # growing into the next item's range is refused
    nxt = next(x for x in s.items if x.doc_id == it.doc_id and x.cluster.start > it.cluster.end)
    with pytest.raises(ReviewError):
        for _ in range(nxt.cluster.start - it.cluster.end + 1):
            s.draft_move("end", 1)
    assert s.draft.spans[0]["end"] <= nxt.cluster.start
    # an edit back to an existing version is recorded as picking it
    s.draft_from(base)
    s.save_edit()
    assert it.status == "picked" and it.version == base
    assert live_reviews(sim3, it.doc_id)[-1]["action"] == "pick"
    # dropping every span and saving is a reject
    it2 = s.current
    s.begin_edit(next(n for n, v in enumerate(it2.versions) if v.spans))
    while s.draft.spans:
        s.draft_drop()
    s.save_edit()
    assert it2.status == "rejected"
    # a version without span cannot be edited
    it3 = s.current
    empty = [n for n, v in enumerate(it3.versions) if not v.spans]
    if empty:
        with pytest.raises(ReviewError, match="has no span"):
            s.begin_edit(empty[0])


def test_quantity_attrs_in_edit(sim3, gold_docs):
    s = ReviewSession(sim3, "rita")
    it = next(x for x in s.items if any(sp_["label"] == "QUANTITY" for v in x.versions for sp_ in v.spans))
    s.set_cursor(s.items.index(it))
    base = next(n for n, v in enumerate(it.versions) if v.spans and v.spans[0]["label"] == "QUANTITY")
    s.begin_edit(base)
    s.draft_set_attrs({"value": 7.0, "unit": "个", "approx": "more"})
    with pytest.raises(ReviewError):
        s.draft_set_attrs({"value": "seven"})
    s.draft_relabel("ORG")
    assert s.draft.spans[0]["attrs"] is None
    with pytest.raises(ReviewError, match="only QUANTITY"):
        s.draft_set_attrs({"value": 1.0, "unit": "", "approx": None})
    s.draft_relabel("QUANTITY")
    s.draft_set_attrs({"value": 7.0, "unit": "个", "approx": "more"})
    s.save_edit()
    row = [r for r in gold_rows(sim3, it.doc_id) if r["origin"] == "adjudicated"][0]
    assert row["attrs"] == {"value": 7.0, "unit": "个", "approx": "more"}


def test_quantity_attrs_follow_the_bounds_in_a_review_edit(sim3):
    """Issue 13: the grammar's attrs follow a bound move; attrs the reviewer typed to say
    otherwise stay; a span relabelled QUANTITY with no version to copy gets the grammar's."""
    from workbench.core.quantity import derive_attrs

    s = ReviewSession(sim3, "rita")
    it = next(
        x
        for x in s.items
        if any(sp_["label"] == "QUANTITY" and derive_attrs(sp_["text"]) for v in x.versions for sp_ in v.spans)
    )
    s.set_cursor(s.items.index(it))
    base = next(
        n
        for n, v in enumerate(it.versions)
        if any(x["label"] == "QUANTITY" and derive_attrs(x["text"]) for x in v.spans)
    )
    s.begin_edit(base)
    while not (
        s.draft.spans[s.draft.current]["label"] == "QUANTITY" and derive_attrs(s.draft.spans[s.draft.current]["text"])
    ):
        s.draft_select(1)
    sp = s.draft.spans[s.draft.current]
    s.draft_set_attrs(derive_attrs(sp["text"]))
    s.draft_move("end", -1)
    assert sp["attrs"] == derive_attrs(sp["text"])
    typed = {"value": 99999, "unit": "x", "approx": None}
    s.draft_set_attrs(typed)
    s.draft_move("end", 1)
    assert sp["attrs"] == typed
    s.draft_relabel("ORG")
    assert sp["attrs"] is None
    s.draft_move("end", -1)  # no version has these bounds as QUANTITY
    s.draft_relabel("QUANTITY")
    assert sp["attrs"] == derive_attrs(sp["text"])


def test_annotator_changes_bring_items_back(sim3, gold_docs):
    sim3.assign([(d, a) for d in gold_docs for a in ("alice", "bob", "carol")])
    s = ReviewSession(sim3, "rita")
    n0 = len(s.items)
    d = next(iter(gold_docs))
    # carol reopens the first document and relabels a span everybody agreed on
    agreed_i = next(
        i
        for i, x in enumerate(sorted_gold(gold_docs[d]))
        if not (drop_b(i) or shrink_b(i, x) or drop_c(i) or relabel_c(i))
    )
    p = sim3.proposals(d)[agreed_i]
    sim3.record_decision(d, "carol", "reopen")
    sim3.record_decision(
        d,
        "carol",
        "edit",
        proposal_id=p["id"],
        start=p["start"],
        end=p["end"],
        label=other_label(p["label"]),
        text=p["text"],
    )
    # while reopened, the document is not reviewable: its gold stays, its items are not listed
    s_mid = ReviewSession(sim3, "rita")
    assert d not in {i.doc_id for i in s_mid.items} and s_mid.summary.documents == 4
    sim3.record_decision(d, "carol", "finish")
    s2 = ReviewSession(sim3, "rita")
    assert s2.summary.agreed_removed == 1 and len(s2.items) == n0 + 1
    assert not [r for r in gold_rows(sim3, d) if r["start"] == p["start"]]
    new = next(i for i in s2.items if i.doc_id == d and i.cluster.start == p["start"])
    assert new.cluster.kinds == ["label"]


def test_bad_session_arguments(sim3):
    with pytest.raises(ReviewError, match="policy"):
        ReviewSession(sim3, "rita", policy="plurality")
    with pytest.raises(ReviewError, match="empty"):
        ReviewSession(sim3, "  ")


# ---------------------------------------------------------------------------- commands


def run_cli(db_path, *args):
    from workbench.cli import cli

    return CliRunner().invoke(cli, ["--db", db_path, *args], catch_exceptions=False)


def test_assign_round_robin_balanced(corpus_store, db_path, gold_docs):
    r = run_cli(db_path, "assign", "--annotators", "alice,bob,carol", "--per-doc", "2")
    assert r.exit_code == 0, r.output
    asg = corpus_store.assignments()
    assert set(asg) == set(gold_docs) and all(len(a) == 2 for a in asg.values())
    loads = {a: sum(a in v for v in asg.values()) for a in ("alice", "bob", "carol")}
    assert sum(loads.values()) == 10 and max(loads.values()) - min(loads.values()) <= 1
    assert "assigned 5 documents × 2 annotators (10 new assignments)" in r.output
    # the annotate queue follows the assignment
    assert [q["id"] for q in corpus_store.queue("alice")] == [d for d in gold_docs if "alice" in asg[d]]
    # again: kept
    r = run_cli(db_path, "assign", "--annotators", "alice,bob,carol", "--per-doc", "2")
    assert "5 documents already had assignments" in r.output and corpus_store.assignments() == asg
    # --replace on one document with a new annotator
    d0 = next(iter(gold_docs))
    r = run_cli(db_path, "assign", "--annotators", "dave", "--per-doc", "1", "--docs", d0, "--replace")
    assert r.exit_code == 0 and corpus_store.assignments(d0) == {d0: ["dave"]}
    assert d0 in run_cli(db_path, "assign", "--show").output


@pytest.mark.parametrize(
    "args,msg",
    [
        (["--annotators", "a,b", "--per-doc", "3"], "only 2 given"),
        (["--annotators", "a,a"], "listed twice"),
        (["--annotators", "a,b", "--docs", "nope"], "no such document: nope"),
        ([], "--annotators is required"),
    ],
)
def test_assign_errors(corpus_store, db_path, args, msg):
    r = run_cli(db_path, "assign", *args)
    assert r.exit_code != 0 and msg in r.output and corpus_store.assignments() == {}


def test_review_summary_command(sim3, db_path, gold_docs):
    r = run_cli(db_path, "review", "--summary", "--reviewer", "rita")
    assert r.exit_code == 0, r.output
    n = sum(1 for c in categories(gold_docs) if c[3] or c[4])
    assert f"disagreements unsettled: {n}" in r.output
    assert "5 documents ready for review" in r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith(tuple(gold_docs))]
    assert len(lines) == n and "1: alice" in r.output
    r = run_cli(db_path, "review", "--summary", "--policy", "majority", "--docs", next(iter(gold_docs)))
    assert "1 document ready for review" in r.output


def test_review_command_nothing_ready(corpus_store, db_path):
    r = run_cli(db_path, "review", "--summary")
    assert r.exit_code == 1 and "no document is ready for review" in r.output


def test_history_command(sim3, db_path, gold_docs):
    d = next(iter(gold_docs))
    ReviewSession(sim3, "rita").pick(1)
    r = run_cli(db_path, "history", d, "--json")
    h = json.loads(r.output)
    ids = [x["id"] for x in h["decisions"]]
    assert ids == sorted(ids) and len(ids) == sim3.count("decisions", "doc_id = ?", (d,))
    assert [x["action"] for x in h["reviews"]] == ["agree", "pick"]
    t = run_cli(db_path, "history", d, "--annotator", "bob")
    assert t.exit_code == 0
    body = t.output.splitlines()
    assert body[0].startswith(f"{d}: {sim3.count('decisions', 'doc_id = ? AND annotator = ?', (d, 'bob'))} decisions")
    assert all(" bob " in ln for ln in body[2:] if ln and ln[:6].strip().isdigit() and "rita" not in ln)
    assert "review log" in t.output and "pick" in t.output
    r = run_cli(db_path, "history", "nope")
    assert r.exit_code == 1 and "no document 'nope'" in r.output


# ---------------------------------------------------------------------------- the review SQL lives in the store


def test_review_code_runs_no_sql():
    from test_layers import PKG, _sql_outside_store

    files = sorted((PKG / "review").glob("*.py")) + [PKG / "cli" / "review.py"]
    assert not (PKG.parent / "workbench" / "review.py").exists()
    assert [hit for p in files for hit in _sql_outside_store(p)] == []


def test_store_settle_is_one_transaction(sim3):
    """A failing insert rolls back the deletes and the review row of the same settle."""
    s = ReviewSession(sim3, "rita")
    d = s.docs[0]
    gold = sim3.gold_rows(d)
    n_reviews = len(sim3.review_rows(d))
    bad = {**gold[0], "start": 5, "end": 5}  # empty: refused by the gold CHECK
    log = {"reviewer": "rita", "action": "pick", "item_key": "k", "spans": [], "payload": {}, "ts": "t"}
    with pytest.raises(Exception, match="CHECK"):
        sim3.settle(d, remove=[gold[0]["id"]], insert=[bad], log=log)
    assert sim3.gold_rows(d) == gold and len(sim3.review_rows(d)) == n_reviews
    # and a good one writes all three: gold out, gold in, the log row with the ids written
    done = sim3.settle(d, remove=[gold[0]["id"]], insert=[gold[0]], log=log, log_gold_ids=True)
    assert [g["id"] for g in sim3.gold_rows(d, overlapping=(gold[0]["start"], gold[0]["end"]))] == done.gold_ids
    assert sim3.review_rows(d)[-1]["payload"] == {"gold_ids": done.gold_ids} and done.review_id


def test_reassign_replaces_a_documents_assignments(corpus_store):
    ids = corpus_store.document_ids()[:2]
    assert corpus_store.reassign([], [(ids[0], "alice"), (ids[1], "bob")]) == 2
    assert corpus_store.reassign([ids[0]], [(ids[0], "carol")]) == 1
    assert corpus_store.assignments() == {ids[0]: ["carol"], ids[1]: ["bob"]}
