"""Review: spans no annotator made (the reviewer adds them to gold) and undo
read from the persisted review log (across sessions, own actions only)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_agreement import other_label, simulate

from workbench.export import iter_gold_records
from workbench.review import ReviewError, ReviewSession, added_key, history, live_reviews
from workbench.session import Change

# items made by bob in the "missed" fixture (proposal indexes, after the missed spans are taken out)
BOB_REJECTS = 3
BOB_RELABELS = 7


def missed_spans(doc: dict) -> list[dict]:
    """The first DOC and the first QUANTITY of a gold document: nobody will mark them."""
    out = []
    for label in ("DOC", "QUANTITY"):
        s = next((x for x in doc["spans"] if x["label"] == label), None)
        if s is not None:
            out.append(s)
    return out


@pytest.fixture
def missed(corpus_store, gold_docs):
    """alice and bob finished every document; both missed ``missed_spans`` (not even
    proposed); bob rejects one proposal and relabels another (two disagreements)."""
    st = corpus_store
    for doc_id, g in gold_docs.items():
        skip = {(s["start"], s["end"]) for s in missed_spans(g)}
        st.replace_proposals(
            doc_id, "gold-sim", "1", [dict(s) for s in g["spans"] if (s["start"], s["end"]) not in skip]
        )
        for i, p in enumerate(st.proposals(doc_id)):
            kw = dict(
                proposal_id=p["id"],
                start=p["start"],
                end=p["end"],
                label=p["label"],
                text=p["text"],
                attrs=p["attrs"],
                origin="import",
            )
            st.record_decision(doc_id, "alice", "accept", **kw)
            if i == BOB_REJECTS:
                st.record_decision(doc_id, "bob", "reject", proposal_id=p["id"], origin="import")
            elif i == BOB_RELABELS:
                st.record_decision(doc_id, "bob", "edit", **{**kw, "label": other_label(p["label"]), "attrs": None})
            else:
                st.record_decision(doc_id, "bob", "accept", **kw)
        for who in ("alice", "bob"):
            st.record_decision(doc_id, who, "finish", origin="import")
    return st


@pytest.fixture
def sim3(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs, with_dave=False)
    return corpus_store


def gold(store, doc_id=None, origin=None):
    sql = 'SELECT id, doc_id, start, "end", label, text, attrs, origin, reviewer, annotators FROM gold WHERE 1'
    params = []
    if doc_id:
        sql += " AND doc_id = ?"
        params.append(doc_id)
    if origin:
        sql += " AND origin = ?"
        params.append(origin)
    rows = store.query(sql + " ORDER BY doc_id, start", params)
    for r in rows:
        r["annotators"] = json.loads(r["annotators"])
        r["attrs"] = json.loads(r["attrs"]) if r["attrs"] else None
    return rows


def n_rows(store):
    return store.count("gold"), store.count("reviews")


def first_doc(gold_docs):
    return next(iter(gold_docs))


# ---------------------------------------------------------------------------- adding a span


def test_add_span_writes_gold_and_a_review_row(missed, gold_docs):
    d = first_doc(gold_docs)
    doc_span = missed_spans(gold_docs[d])[0]
    s = ReviewSession(missed, "rita")
    assert s.summary.items == 2 * len(gold_docs)
    assert not [g for g in gold(missed, d) if g["start"] == doc_span["start"]]  # nobody had it
    msg = s.add_span(d, doc_span["start"], doc_span["end"], doc_span["label"]).message
    assert msg.startswith(f"added DOC「{doc_span['text']}」")
    [row] = gold(missed, d, origin="added")
    assert (row["start"], row["end"], row["label"], row["text"]) == (
        doc_span["start"],
        doc_span["end"],
        "DOC",
        doc_span["text"],
    )
    assert row["reviewer"] == "rita" and row["annotators"] == [] and row["attrs"] is None
    text = missed.get_document(d)["text"]
    assert text[row["start"] : row["end"]] == row["text"]
    rv = live_reviews(missed, d)[-1]
    assert rv["action"] == "add" and rv["reviewer"] == "rita" and rv["payload"]["gold_ids"] == [row["id"]]
    assert (rv["start"], rv["end"], rv["label"]) == (doc_span["start"], doc_span["end"], "DOC")
    # listed as a settled item, in text order among the document's items, the cursor on it
    it = s.current
    assert it.status == "added" and it.settled and it.added and it.cluster.kinds == ["added"]
    assert (it.doc_id, it.cluster.start, it.cluster.end) == (d, doc_span["start"], doc_span["end"])
    assert len(s.items) == 2 * len(gold_docs) + 1 and s.open_count == 2 * len(gold_docs)
    keys = [(s.docs.index(x.doc_id), x.cluster.start) for x in s.items]
    assert keys == sorted(keys)
    # an added item cannot be picked, rejected or edited: u undoes it
    for act in (lambda: s.pick(1), s.reject, lambda: s.begin_edit(0)):
        with pytest.raises(ReviewError, match="u undoes"):
            act()
    # a new session does not list it again (it is settled) and it stays in gold
    s2 = ReviewSession(missed, "rita")
    assert len(s2.items) == 2 * len(gold_docs) and len(gold(missed, d, origin="added")) == 1


def test_add_rules_refuse_with_a_clear_message_and_write_nothing(missed, gold_docs):
    d = first_doc(gold_docs)
    text = missed.get_document(d)["text"]
    s = ReviewSession(missed, "rita")
    before = n_rows(missed)
    agreed = gold(missed, d, origin="agreed")[0]
    item = next(it for it in s.items if it.doc_id == d)
    nl = text.index("\n", 10)
    q = missed_spans(gold_docs[d])[1]
    cases = [
        ((d, 5, 5, "ORG"), "empty or leave the text"),
        ((d, len(text) - 1, len(text) + 2, "ORG"), "empty or leave the text"),
        ((d, -1, 2, "ORG"), "empty or leave the text"),
        ((d, nl - 1, nl + 1, "ORG"), "line break"),
        (
            (d, agreed["start"], agreed["end"], "ORG"),
            f"overlaps gold {agreed['label']}「{agreed['text']}」 {agreed['start']}–{agreed['end']} (agreed)",
        ),
        ((d, agreed["end"] - 1, agreed["end"] + 1, "ORG"), "overlaps gold"),
        ((d, item.cluster.start, item.cluster.start + 1, "ORG"), "overlaps an unsettled disagreement"),
        ((d, item.cluster.end - 1, item.cluster.end + 3, "ORG"), "settle it there"),
        ((d, q["start"], q["end"], "MONEY"), "unknown label"),
        ((d, q["start"], q["end"], "ORG", {"value": 1.0, "unit": "个", "approx": None}), "only QUANTITY"),
        ((d, q["start"], q["end"], "QUANTITY", {"value": "eight"}), "value must be a number"),
        (("no-such-doc", 0, 2, "ORG"), "not under review"),
    ]
    for args, msg in cases:
        with pytest.raises(ReviewError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            s.add_span(*args)
    assert n_rows(missed) == before and s.current is item
    # the same span twice: the second overlaps the first (now gold)
    s.add_span(d, q["start"], q["end"], "QUANTITY", q["attrs"])
    with pytest.raises(ReviewError, match=r"overlaps gold QUANTITY「.*」 .* \(added by rita\)"):
        s.add_span(d, q["start"], q["end"], "QUANTITY")
    assert gold(missed, d, origin="added")[0]["attrs"] == q["attrs"]
    # a document not under review (reopened by one of its assigned annotators) cannot take spans
    d2 = list(gold_docs)[1]
    missed.assign([(d2, "alice"), (d2, "bob")])
    missed.record_decision(d2, "bob", "reopen")
    s3 = ReviewSession(missed, "rita")
    m = missed_spans(gold_docs[d2])[0]
    with pytest.raises(ReviewError, match="not under review"):
        s3.add_span(d2, m["start"], m["end"], m["label"])


def test_add_is_allowed_where_a_disagreement_was_rejected(missed, gold_docs):
    s = ReviewSession(missed, "rita")
    it = s.current
    s.reject()
    s.add_span(it.doc_id, it.cluster.start, it.cluster.end, "ORG")
    assert [(g["start"], g["end"], g["origin"]) for g in gold(missed, it.doc_id) if g["start"] == it.cluster.start] == [
        (it.cluster.start, it.cluster.end, "added")
    ]


def test_add_mode_selection_label_attrs_and_save(missed, gold_docs):
    d = first_doc(gold_docs)
    q = missed_spans(gold_docs[d])[1]
    assert q["label"] == "QUANTITY" and q["end"] - q["start"] >= 2
    s = ReviewSession(missed, "rita")
    before = n_rows(missed)
    dr = s.begin_add()
    assert dr.doc_id == s.current.doc_id and dr.caret == s.current.cluster.end
    with pytest.raises(ReviewError, match="finish the new span"):
        s.move(1)
    with pytest.raises(ReviewError, match="finish the new span"):
        s.pick(1)
    # caret moves by character and by word, clamped to the text
    text = s.text(d)
    dr.caret = 0
    s.add_move(-5)
    assert dr.caret == 0
    s.add_word(1)
    assert dr.caret > 0
    s.add_word(-1)
    assert dr.caret == 0
    # without an anchor the selection is the word under the caret
    a, b = s.add_selection()
    assert a == 0 and b > 0
    # anchor at the first character of the quantity, caret on its last
    s.add_move(q["start"])
    s.add_anchor()
    s.add_move(q["end"] - q["start"] - 1)
    assert s.add_selection() == (q["start"], q["end"]) and text[q["start"] : q["end"]] == q["text"]
    # no label yet: refused, the draft kept
    with pytest.raises(ReviewError, match="choose a label first"):
        s.save_add()
    assert s.add_draft is dr
    s.add_label("ORG")
    with pytest.raises(ReviewError, match="only QUANTITY"):
        s.add_set_attrs({"value": 1.0, "unit": "个", "approx": None})
    s.add_label("QUANTITY")
    with pytest.raises(ReviewError, match="approx"):
        s.add_set_attrs({"value": 1.0, "unit": "个", "approx": "roughly"})
    s.add_set_attrs(q["attrs"])
    assert s.add_check() is None
    assert n_rows(missed) == before  # nothing written before enter
    msg = s.save_add().message
    assert s.add_draft is None and "added QUANTITY" in msg
    [row] = gold(missed, d, origin="added")
    assert (row["start"], row["end"], row["label"], row["attrs"]) == (q["start"], q["end"], "QUANTITY", q["attrs"])
    # a refused save keeps the draft (the selection overlaps the span just added)
    s.begin_add(d)
    s.add_draft.caret = q["start"]
    s.add_label("ORG")
    assert "overlaps gold QUANTITY" in s.add_check()
    with pytest.raises(ReviewError, match="overlaps gold"):
        s.save_add()
    assert s.add_draft is not None
    s.cancel_add()
    assert s.add_draft is None
    s.move(1)


def test_add_mode_switches_documents(missed, gold_docs):
    s = ReviewSession(missed, "rita")
    s.begin_add()
    assert s.add_draft.doc_id == s.docs[0]
    s.add_draft.anchor = 3
    assert s.add_doc(1) == s.docs[1] and s.add_draft.caret == 0 and s.add_draft.anchor is None
    assert s.add_doc(-2) == s.docs[-1]


def test_edit_cannot_grow_over_an_added_span(missed, gold_docs):
    s = ReviewSession(missed, "rita")
    # an item with a free character right after it (no gold, no line break)
    for idx, it in enumerate(s.items):  # noqa: B007  (idx is used after the loop)
        e = it.cluster.end
        if s.text(it.doc_id)[e] != "\n" and s.add_problem(it.doc_id, e, e + 1) is None:
            break
    s.set_cursor(idx)
    s.add_span(it.doc_id, e, e + 1, "ORG")
    s.set_cursor(s.items.index(it))
    base = next(n for n, v in enumerate(it.versions) if v.spans)
    s.begin_edit(base)
    span = s.draft.spans[0]
    while span["end"] < e:
        s.draft_move("end", 1)
    with pytest.raises(ReviewError, match="would overlap gold ORG"):
        s.draft_move("end", 1)
    s.save_edit()
    assert len(gold(missed, it.doc_id, origin="added")) == 1


# ---------------------------------------------------------------------------- undo


def test_undo_add_removes_the_gold_row_and_the_item(missed, gold_docs):
    d = first_doc(gold_docs)
    m = missed_spans(gold_docs[d])[0]
    s = ReviewSession(missed, "rita")
    n = len(s.items)
    s.add_span(d, m["start"], m["end"], m["label"])
    msg = s.undo().message
    assert msg.startswith(f"undid add 「{m['text'][:23]}") and f"」 at {d} {m['start']}–{m['end']}" in msg
    assert "earlier session" not in msg
    assert gold(missed, d, origin="added") == [] and len(s.items) == n
    acts = [(r["action"], r["payload"]) for r in live_reviews(missed, d) if r["action"] != "agree"]
    assert acts == [] and missed.count("reviews", "action = 'undo'") == 1
    assert [r["action"] for r in history(missed, d)["reviews"]] == ["agree", "add", "undo"]


def test_undo_reaches_actions_of_earlier_sessions(missed, gold_docs):
    d = first_doc(gold_docs)
    m = missed_spans(gold_docs[d])[0]
    s1 = ReviewSession(missed, "rita")
    gold0 = gold(missed)
    n0 = len(s1.items)
    a, b, c = s1.items[0], s1.items[1], s1.items[2]
    s1.pick(1)
    s1.reject()
    s1.begin_edit(next(n for n, v in enumerate(c.versions) if v.spans))
    s1.draft_relabel("LOC" if s1.draft.spans[0]["label"] != "LOC" else "ORG")
    s1.save_edit()
    s1.skip()
    s1.add_span(d, m["start"], m["end"], m["label"])
    del s1  # quit; start again
    s2 = ReviewSession(missed, "rita")
    assert len(s2.items) == n0 - 3 and s2.summary.already_settled == 3
    assert s2.undo().message.startswith("undid add")
    assert gold(missed, d, origin="added") == []
    msg = s2.undo().message
    assert msg.startswith("undid skip") and "(earlier session, " in msg
    msg = s2.undo().message
    assert msg.startswith("undid edit") and "(earlier session, " in msg
    back = s2.current
    assert back.key == c.key and back.status == "open" and len(s2.items) == n0 - 2
    assert s2.undo().message.startswith("undid reject") and s2.current.key == b.key
    assert s2.undo().message.startswith("undid pick") and s2.current.key == a.key and s2.cursor == 0
    assert [it.key for it in s2.items] == [it.key for it in ReviewSession(missed, "rita").items]
    assert len(s2.items) == n0 and all(it.status == "open" for it in s2.items)
    strip = lambda rows: [{k: r[k] for k in ("doc_id", "start", "end", "label", "origin")} for r in rows]
    assert strip(gold(missed)) == strip(gold0)
    with pytest.raises(ReviewError, match="nothing to undo: no action of rita's left"):
        s2.undo()
    # the undone items can be settled again in the new session
    s2.pick(1)
    assert s2.items[0].status in ("picked", "rejected")


def test_undo_takes_only_the_reviewers_own_actions_never_agree(missed, gold_docs):
    s_rita = ReviewSession(missed, "rita")  # its start wrote the agreed gold ('agree' rows by rita)
    agreed = gold(missed, origin="agreed")
    assert agreed and missed.count("reviews", "action = 'agree'") == len(gold_docs)
    with pytest.raises(ReviewError, match="nothing to undo"):
        s_rita.undo()
    assert gold(missed, origin="agreed") == agreed
    s_rita.pick(1)
    s_sam = ReviewSession(missed, "sam")
    with pytest.raises(ReviewError, match="nothing to undo: no action of sam's left"):
        s_sam.undo()
    s_sam.skip()
    assert s_sam.undo().message.startswith("undid skip")  # sam's own, not rita's pick
    assert missed.count("reviews", "action = 'pick'") == 1
    assert s_rita.undo().message.startswith("undid pick")


def test_undo_refused_when_another_reviewer_acted_on_the_range_since(missed, gold_docs):
    s_rita = ReviewSession(missed, "rita")
    it = s_rita.current
    s_rita.reject()
    s_sam = ReviewSession(missed, "sam")  # the rejected item is not listed: its range is free
    s_sam.add_span(it.doc_id, it.cluster.start, it.cluster.end, "ORG")
    before = n_rows(missed)
    with pytest.raises(ReviewError, match="sam has since added an overlapping range"):
        s_rita.undo()
    assert n_rows(missed) == before
    s_sam.undo()
    assert s_rita.undo().message.startswith("undid reject") and it.status == "open"


def test_undo_only_in_the_documents_under_review(missed, gold_docs):
    docs = list(gold_docs)
    s = ReviewSession(missed, "rita")
    s.pick(1)  # in docs[0]
    only = ReviewSession(missed, "rita", doc_ids=docs[1:])
    with pytest.raises(ReviewError, match="nothing to undo"):
        only.undo()
    assert ReviewSession(missed, "rita", doc_ids=docs[:1]).undo().message.startswith("undid pick")


def test_undo_restores_agreed_gold_under_the_current_policy(sim3, gold_docs):
    """Picked under unanimous; undone in a majority session: the majority span becomes agreed gold."""
    s = ReviewSession(sim3, "rita")
    it = next(x for x in s.items if len(x.versions) == 2 and len(x.versions[0].annotators) == 2 and x.versions[1].spans)
    s.set_cursor(s.items.index(it))
    s.pick(2)  # the minority version
    maj = ReviewSession(sim3, "rita", policy="majority")
    # the picked span blocks the majority span from becoming agreed gold
    assert not [
        g
        for g in gold(sim3, it.doc_id)
        if g["origin"] == "agreed" and g["start"] < it.cluster.end and it.cluster.start < g["end"]
    ]
    assert maj.undo().message.startswith("undid pick")
    rows = [g for g in gold(sim3, it.doc_id) if g["start"] < it.cluster.end and it.cluster.start < g["end"]]
    assert [(g["start"], g["end"], g["label"], g["origin"]) for g in rows] == [
        (x["start"], x["end"], x["label"], "agreed") for x in it.versions[0].spans
    ]
    assert it.key not in {x.key for x in maj.items}


# ---------------------------------------------------------------------------- export and history


def run_cli(db_path, *args):
    from workbench.cli import cli

    return CliRunner().invoke(cli, ["--db", db_path, *args], catch_exceptions=False)


def test_export_gold_carries_added_spans(missed, gold_docs, db_path, tmp_path):
    s = ReviewSession(missed, "rita")
    added = {}
    for d, g in gold_docs.items():
        for m in missed_spans(g):
            s.add_span(d, m["start"], m["end"], m["label"], m.get("attrs"))
            added.setdefault(d, []).append(m)
    recs = {r["id"]: r for r in iter_gold_records(missed)}
    for d, ms in added.items():
        got = {(x["start"], x["end"]): x for x in recs[d]["spans"]}
        for m in ms:
            x = got[(m["start"], m["end"])]
            assert x["label"] == m["label"] and x["text"] == m["text"] and x["attrs"] == (m.get("attrs") or None)
            assert recs[d]["text"][x["start"] : x["end"]] == x["text"]
        assert recs[d]["annotators"] == ["alice", "bob"]
    out = tmp_path / "gold.jsonl"
    r = run_cli(db_path, "export", "gold", "-o", str(out))
    assert r.exit_code == 0, r.output
    lines = {rec["id"]: rec for rec in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    for d, ms in added.items():
        spans = lines[d]["spans"]
        for m in ms:
            [x] = [x for x in spans if (x["start"], x["end"]) == (m["start"], m["end"])]
            assert lines[d]["text"][x["start"] : x["end"]] == x["text"] == m["text"]


def test_review_summary_counts_gold_by_origin(missed, gold_docs, db_path):
    d = first_doc(gold_docs)
    m = missed_spans(gold_docs[d])[0]
    s = ReviewSession(missed, "rita")
    s.add_span(d, m["start"], m["end"], m["label"])
    s.set_cursor(next(i for i, it in enumerate(s.items) if not it.settled))
    s.pick(1)
    r = run_cli(db_path, "review", "--summary", "--reviewer", "rita")
    assert r.exit_code == 0, r.output
    n_agreed = len(gold(missed, origin="agreed"))
    line = next(ln for ln in r.output.splitlines() if ln.startswith("gold spans by origin:"))
    assert line == (
        f"gold spans by origin: {n_agreed} agreed, {len(gold(missed, origin='adjudicated'))} adjudicated, "
        "1 added (added = by a reviewer, no annotator had it)"
    )
    assert len(gold(missed, origin="adjudicated")) >= 1


def test_history_shows_added_spans(missed, gold_docs, db_path):
    d = first_doc(gold_docs)
    m = missed_spans(gold_docs[d])[0]
    s = ReviewSession(missed, "rita")
    s.add_span(d, m["start"], m["end"], m["label"])
    h = history(missed, d)
    add = [r for r in h["reviews"] if r["action"] == "add"]
    assert len(add) == 1 and add[0]["payload"]["spans"][0]["text"] == m["text"] and add[0]["reviewer"] == "rita"
    s.undo()
    t = run_cli(db_path, "history", d)
    assert t.exit_code == 0
    add_line = next(ln for ln in t.output.splitlines() if " add " in ln)
    assert f"DOC {m['start']}-{m['end']} 「{m['text']}」" in add_line and "added by the reviewer" in add_line
    assert any("undoes review" in ln and "(add)" in ln for ln in t.output.splitlines())


def test_add_find_selects_occurrences_wrapping_both_ways(missed, gold_docs):
    d = first_doc(gold_docs)
    m = missed_spans(gold_docs[d])[0]
    s = ReviewSession(missed, "rita")
    dr = s.begin_add(d)
    text = s.text(d)
    q = m["text"]
    hits = [i for i in range(len(text)) if text.startswith(q, i)]
    dr.caret, dr.anchor = hits[0], None
    got = s.add_find(q)  # the next one after the caret, or around to the first
    nxt = hits[1] if len(hits) > 1 else hits[0]
    assert got == (nxt, nxt + len(q)) and s.add_selection() == got and text[got[0] : got[1]] == q
    dr.caret = hits[0]
    prev = s.add_find(q, backwards=True)  # before the caret: wraps to the last one
    assert prev == (hits[-1], hits[-1] + len(q))
    for bad, msg in (("", "type the text"), ("a\nb", "line break"), ("不存在的字符串＃", "is not in")):
        with pytest.raises(ReviewError, match=msg):
            s.add_find(bad)
    # found text is then saved like any selection
    dr.caret, dr.anchor = m["start"] - 1, None
    assert s.add_find(q) == (m["start"], m["end"])
    s.add_label(m["label"])
    s.save_add()
    assert [(g["start"], g["end"]) for g in gold(missed, d, origin="added")] == [(m["start"], m["end"])]


# ---------------------------------------------------------------------------- the Change each action returns


def test_actions_return_a_change_naming_the_items(sim3):
    s = ReviewSession(sim3, "rita")
    a, b, c, d = s.items[:4]
    ch = s.pick(1)
    assert isinstance(ch, Change) and ch.keys == {a.key} and ch.doc_id == a.doc_id and not ch.removed
    assert any(x <= a.cluster.start and a.cluster.end <= y for x, y in ch.spans)
    assert ch.message.startswith("version 1 ")
    ch = s.reject()
    assert ch.keys == {b.key} and ch.doc_id == b.doc_id and ch.message.startswith("rejected all")
    base = next(n for n, v in enumerate(c.versions) if v.spans)
    s.begin_edit(base)
    ch = s.draft_select(1)
    assert ch.keys == {c.key} and ch.doc_id == c.doc_id and not ch.message  # nothing written yet
    ch = s.save_edit()
    assert ch.keys == {c.key} and ch.doc_id == c.doc_id and "→ gold:" in ch.message
    ch = s.skip()
    assert ch.keys == {d.key} and ch.message == "skipped (stays unsettled)"
    # undo names the item it reopens, and the range it touched
    ch = s.undo()
    assert ch.keys == {d.key} and ch.message.startswith("undid skip") and not ch.reordered
    ch = s.undo()
    assert ch.keys == {c.key} and ch.doc_id == c.doc_id and ch.spans and c.status == "open"
    # an item settled in an earlier session comes back into the list: reordered
    s2 = ReviewSession(sim3, "rita")
    assert b.key not in {it.key for it in s2.items}
    ch = s2.undo()
    assert ch.keys == {b.key} and ch.reordered and b.key in {it.key for it in s2.items}


def test_add_and_its_undo_return_a_change(missed, gold_docs):
    d = first_doc(gold_docs)
    m = missed_spans(gold_docs[d])[0]
    s = ReviewSession(missed, "rita")
    ch = s.add_span(d, m["start"], m["end"], m["label"])
    key = added_key(m["start"], m["end"])
    assert ch.keys == {key} and ch.reordered and ch.doc_id == d and ch.spans == [(m["start"], m["end"])]
    assert ch.message.startswith(f"added {m['label']}")
    ch = s.undo()
    assert ch.removed == {key} and not ch.keys and ch.reordered and ch.doc_id == d
    assert key not in {it.key for it in s.items}
