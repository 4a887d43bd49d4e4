"""bench/keys_per_span.py: the oracle annotator reaches the gold through the real session, and
its key counts add up (issue 14, "Measure it")."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

from workbench.core.quantity import same_attrs
from workbench.ingest import ingest_paths
from workbench.propose.run import propose_store


def _bench():
    spec = importlib.util.spec_from_file_location("keys_per_span", ROOT / "bench" / "keys_per_span.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["keys_per_span"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


kps = _bench()

# a tiny hand-made report: every kind of step the oracle takes
TEXT = "2024年5月，黄军在苍岭镇党委主持会议，共有45场活动，参加1200余人次。“同心筑酉”专栏开通。\n下一行。"


def _at(s: str, label: str, attrs=None, text: str = TEXT, nth: int = 0) -> dict:
    i = -1
    for _ in range(nth + 1):
        i = text.index(s, i + 1)
    sp = {"start": i, "end": i + len(s), "label": label, "text": s}
    if attrs is not None:
        sp["attrs"] = attrs
    return sp


TINY_GOLD = [
    _at("2024年5月", "DATE"),
    _at("黄军", "PERSON"),
    _at("苍岭镇党委", "ORG"),
    _at("45场", "QUANTITY", {"value": 45, "unit": "场", "approx": None}),
    _at("1200余人次", "QUANTITY", {"value": 1200, "unit": "人次", "approx": "more"}),
    _at("同心筑酉", "PROGRAM"),
]


def _ingest_text(store, tmp_path: Path, doc_id: str, text: str) -> None:
    p = tmp_path / f"{doc_id}.txt"
    p.write_text(text, encoding="utf-8")
    rep = ingest_paths(store, [p])
    assert not rep.errors and rep.added == 1


def _spans_in_db(store, doc_id: str, annotator: str) -> list[tuple]:
    """The annotator's spans as the database derives them (not the oracle's memory)."""
    return sorted((s["start"], s["end"], s["label"]) for s in store.annotator_spans(doc_id, annotator))


def _assert_db_equals_gold(store, gold_docs: list[dict], annotator: str = "oracle") -> None:
    for d in gold_docs:
        assert _spans_in_db(store, d["id"], annotator) == sorted((s["start"], s["end"], s["label"]) for s in d["spans"])
        got = {(s["start"], s["end"]): s.get("attrs") for s in store.annotator_spans(d["id"], annotator)}
        for s in d["spans"]:
            if s["label"] == "QUANTITY":
                assert same_attrs(got[(s["start"], s["end"])], s.get("attrs")), s
            else:
                assert got[(s["start"], s["end"])] is None, s
        assert store.is_finished(d["id"], annotator)


def _assert_consistent(t) -> None:
    """Kinds sum to the total; steps (by their kinds in the table) sum to the same; the per-document
    figures sum to it; the report's rows say the same."""
    assert set(t.keys) <= set(kps.KINDS)
    total = sum(t.keys.values())
    assert total == t.total_keys > 0
    by_kind = Counter()
    for name, n in t.steps.items():
        assert name in kps.STEPS
        by_kind[kps.STEPS[name].kind] += n
    # a search's keys count as what it was used for (move or add): only those may move between kinds
    assert sum(by_kind.values()) == total
    assert sum(d["keys"] for d in t.per_doc) == total
    assert sum(d["typed"] for d in t.per_doc) == t.total_typed == sum(t.typed.values())
    assert sum(d["gold"] for d in t.per_doc) == t.gold_spans
    assert len(t.adds) == t.steps["new"] + t.steps["new.search"]  # n, or s (n and its search at once)
    assert sum(a[0] for a in t.adds) <= t.keys["add"] + t.keys["fix"]
    out = kps.report(t)
    rows = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s+[\d.]+\s+\d+$", out, re.M)}
    assert sum(rows[k] for k in kps.KINDS) == rows["total"] == total
    last = out.splitlines()[-1]
    assert last == f"keys per gold span: {total / t.gold_spans:.2f}"


def test_steps_follow_the_key_table():
    assert kps.check_steps() == []
    # the key pressed is the app's first key of the binding
    keys = {k.id: k.keys.split(",")[0] for k in kps.KEYS}
    assert kps._key_of(kps.STEPS["accept"]) == keys["accept"]
    assert kps._key_of(kps.STEPS["add"], "ORG") == keys["label.2"]
    assert kps._key_of(kps.STEPS["caret.right"]) == keys["span.right"]


def test_tiny_document_reaches_the_gold(store, tmp_path):
    _ingest_text(store, tmp_path, "tiny", TEXT)
    proposals = [
        _at("2024年5月", "DATE"),  # exact: a
        _at("黄军在", "PERSON"),  # one too long: }
        _at("苍岭镇党委", "LOC"),  # wrong label: a digit
        _at("45场", "QUANTITY", {"value": 40, "unit": "场", "approx": None}),  # wrong value: e
        _at("会议", "LOC"),  # no gold span: x
        # 1200余人次 and 同心筑酉 are missed: n ...
    ]
    store.replace_proposals("tiny", "hand", "1", proposals)
    gold = [{"id": "tiny", "text": TEXT, "spans": TINY_GOLD}]
    oracle = kps.Oracle(store, gold)
    t = oracle.run()
    from workbench.store import Store

    with Store(store.path) as fresh:  # read back through a connection of its own
        _assert_db_equals_gold(fresh, gold)
    assert oracle.differences() == {}
    _assert_consistent(t)
    assert t.steps["accept"] == 1
    assert t.steps["reject"] == 1
    assert t.steps["relabel"] == 1
    assert t.steps["attrs"] == 1 and t.steps["attrs.save"] == 1
    assert t.steps["end.left"] == 1
    assert len(t.adds) == 2
    assert t.keys["finish"] == 1  # nothing left pending: f alone


def test_proposals_equal_to_the_gold_cost_one_accept_per_span(store, tmp_path):
    _ingest_text(store, tmp_path, "same", TEXT)
    store.replace_proposals("same", "hand", "1", [dict(s) for s in TINY_GOLD])
    gold = [{"id": "same", "text": TEXT, "spans": TINY_GOLD}]
    t = kps.Oracle(store, gold).run()
    _assert_db_equals_gold(store, gold)
    _assert_consistent(t)
    # a advances to the next pending proposal: no move; f finishes (nothing pending: no y)
    assert t.steps == Counter({"accept": len(TINY_GOLD), "finish": 1})
    assert t.keys == Counter({kps.STEPS["accept"].kind: len(TINY_GOLD), kps.STEPS["finish"].kind: 1})
    assert t.total_typed == 0


@pytest.mark.parametrize("accept_all", [False, True])
def test_two_dev_gold_documents(store, tmp_path, gold_docs, accept_all):
    ids = ["002_0d6ba5edfa074bb1", "003_b312853f4306f97e"]
    src = tmp_path / "corpus"
    src.mkdir()
    for i in ids:
        shutil.copy(CORPUS / f"{i}.txt", src / f"{i}.txt")
    assert not ingest_paths(store, [src]).errors
    propose_store(store)
    gold = [gold_docs[i] for i in ids]
    oracle = kps.Oracle(store, gold, accept_all=accept_all)
    t = oracle.run()
    _assert_db_equals_gold(store, gold)
    assert oracle.differences() == {}
    _assert_consistent(t)
    assert t.gold_spans == sum(len(d["spans"]) for d in gold)
    assert t.keys["accept"] >= 1 and t.adds  # the proposer misses some of these spans


def test_command_line(tmp_path, capsys):
    db = tmp_path / "cli.db"
    from workbench.store import Store

    with Store(str(db)) as s:
        _ingest_text(s, tmp_path, "tiny", TEXT)
        s.replace_proposals("tiny", "hand", "1", [_at("黄军", "PERSON"), _at("会议", "LOC")])
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text(json.dumps({"id": "tiny", "text": TEXT, "spans": TINY_GOLD}, ensure_ascii=False) + "\n")
    assert kps.main(["--gold", str(gold_file), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^keys per gold span: \d+\.\d\d$", out.splitlines()[-1])
    assert "adding a missed span (5): median" in out
    with Store(str(db)) as s:
        _assert_db_equals_gold(s, [{"id": "tiny", "spans": TINY_GOLD}])
        # run again: the oracle's decisions are there already, refused in one line
        with pytest.raises(SystemExit, match="already has decisions"):
            kps.main(["--gold", str(gold_file), "--db", str(db)])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "tiny"}\n')
    with pytest.raises(SystemExit, match=r"bad.jsonl:1: "):
        kps.main(["--gold", str(bad), "--db", str(db)])
