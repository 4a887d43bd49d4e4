"""Eight annotators at once on one database, through ``AnnotationSession``
(the code path the annotate TUI uses).

Eight processes (spawn) each open a session as their own annotator and press
random keys (accept, reject, relabel, move boundaries, add spans, set attrs,
undo, accept all, finish/reopen, next document) as fast as they can for
``WORKBENCH_CONCURRENCY_SECONDS`` (default 6; the issue's full run is 30).
Meanwhile the parent takes online backups. Afterwards:

* no error other than the session's own refusals (``SessionError``) reached a
  worker: in particular no "database is locked";
* every decision a worker was told succeeded is in the database, and the
  database holds no decision of that annotator the worker was not told about;
* what each worker's screen state showed for every document it touched equals
  the state derived from the database;
* ``PRAGMA integrity_check`` is ok, and so is every backup.

Run ``WORKBENCH_CONCURRENCY_SECONDS=30 python -m pytest tests/test_concurrency.py -s``
to see the figures (decisions/s, write latency, lock retries).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import sqlite3
import time

import pytest

N_WORKERS = int(os.environ.get("WORKBENCH_CONCURRENCY_WORKERS", "8"))
SECONDS = float(os.environ.get("WORKBENCH_CONCURRENCY_SECONDS", "6"))


def _state(items: list[dict]) -> list:
    return sorted(
        (
            it["key"],
            it["status"],
            it["start"],
            it["end"],
            it["label"],
            json.dumps(it["attrs"], sort_keys=True) if it["attrs"] else None,
        )
        for it in items
    )


def _worker(db: str, annotator: str, seed: int, seconds: float, barrier, out) -> None:
    from workbench.core.labels import LABELS
    from workbench.session import AnnotationSession, SessionError
    from workbench.store import Store

    class CountingStore(Store):
        """Collects the ids of the decisions this process writes, and lock retries."""

        def __init__(self, *a, **kw):
            self.pending: list[int] = []
            self.attempts = self.calls = 0
            super().__init__(*a, **kw)

        def _retry(self, fn):
            self.calls += 1

            def counted():
                self.attempts += 1
                return fn()

            return super()._retry(counted)

        def record_decision(self, *a, **kw):
            did = super().record_decision(*a, **kw)
            self.pending.append(did)
            return did

        def undo_last(self, doc_id, annotator):
            d = super().undo_last(doc_id, annotator)
            if d is not None:
                self.pending.append(self.conn.execute("SELECT last_insert_rowid()").fetchone()[0])
            return d

    rng = random.Random(seed)
    store = CountingStore(db)
    s = AnnotationSession(store, annotator)
    acknowledged: list[int] = []
    errors: list[str] = []
    latencies: list[float] = []
    shown: dict[str, list] = {}
    refusals = actions = 0

    def attrs():
        return {
            "value": rng.choice([None, 3, 1500.0, 2.2e8]),
            "unit": rng.choice(["", "个", "万元"]),
            "approx": rng.choice([None, "more", "about", "nearly"]),
        }

    keys = (
        ["a"] * 20
        + ["x"] * 10
        + ["j"] * 10
        + ["k"] * 5
        + ["label"] * 8
        + ["["] * 3
        + ["]"] * 3
        + ["e"] * 3
        + ["n"] * 5
        + ["u"] * 8
        + ["A"] * 1
        + ["f"] * 2
        + ["tab"] * 3
        + ["space"] * 2
    )
    barrier.wait()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        key = rng.choice(keys)
        store.pending = []
        t0 = time.perf_counter()
        try:
            if key == "a":
                s.accept()
            elif key == "x":
                s.reject()
            elif key == "j":
                s.move(1)
            elif key == "k":
                s.move(-1)
            elif key == "space":
                s.skip()
            elif key == "label":
                s.relabel(rng.choice(LABELS))
            elif key == "[":
                s.move_start(rng.choice([-1, 1]))
            elif key == "]":
                s.move_end(rng.choice([-1, 1]))
            elif key == "e":
                s.set_attrs(attrs())
            elif key == "n":
                a = rng.randrange(0, max(1, len(s.text) - 6))
                s.add_span(a, a + rng.randint(1, 5), rng.choice(LABELS))
            elif key == "u":
                s.undo()
            elif key == "A":
                s.accept_all()
            elif key == "f":
                s.reopen() if s.finished else s.finish(force=True)
            elif key == "tab":
                s.next_doc() if s.doc_index < s.n_docs - 1 else s.open(0)
        except SessionError:
            refusals += 1
            store.pending = []  # a refusal writes nothing (checked below: no unacknowledged rows)
        except Exception as e:
            errors.append(f"{key}: {type(e).__name__}: {e}")
            store.pending = []
        else:
            if store.pending:
                latencies.append(time.perf_counter() - t0)
                acknowledged.extend(store.pending)
        actions += 1
        shown[s.doc_id] = _state(s.items)
    store.close()
    latencies.sort()
    out.put(
        {
            "annotator": annotator,
            "acknowledged": acknowledged,
            "errors": errors,
            "actions": actions,
            "refusals": refusals,
            "shown": shown,
            "retries": store.attempts - store.calls,
            "writes": len(latencies),
            "lat_max": latencies[-1] if latencies else 0.0,
            "lat_p50": latencies[len(latencies) // 2] if latencies else 0.0,
            "lat_p99": latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        }
    )


@pytest.fixture
def proposed(corpus_store, gold_docs):
    """The bundled reports with proposals: the gold spans, plus shifted copies that
    overlap them (so flat-span refusals happen too)."""
    store = corpus_store
    for doc_id in store.document_ids():
        text = store.get_document(doc_id)["text"]
        spans = [dict(sp) for sp in gold_docs[doc_id]["spans"]][:60]
        extra = []
        for sp in spans[::3]:
            s, e = sp["start"] + 1, min(len(text), sp["end"] + 2)
            extra.append({"start": s, "end": e, "label": "ORG", "text": text[s:e]})
        store.replace_proposals(doc_id, "fixture", "1", spans + extra)
    return store


def test_eight_annotators_at_once(proposed, tmp_path):
    from workbench.store import Store

    db = proposed.path
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(N_WORKERS + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(db, f"ann{i}", 1000 + i, SECONDS, barrier, out)) for i in range(N_WORKERS)
    ]
    for p in procs:
        p.start()
    results = []
    backups = []
    try:
        barrier.wait(timeout=120)
        t_start = time.monotonic()
        reader = Store(db)
        while time.monotonic() - t_start < SECONDS:
            # a reviewer's reads and a backup while everyone writes
            reader.stats()
            backups.append(reader.backup(tmp_path / f"backup{len(backups)}.db")["path"])
            time.sleep(SECONDS / 4)
        reader.close()
        for _ in procs:
            results.append(out.get(timeout=SECONDS + 120))
        elapsed = time.monotonic() - t_start
        for p in procs:
            p.join(60)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * N_WORKERS

    errors = [e for r in results for e in r["errors"]]
    assert not errors, errors[:10]

    store = Store(db)
    assert store.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    total = 0
    for r in results:
        ann = r["annotator"]
        in_db = {row[0] for row in store.conn.execute("SELECT id FROM decisions WHERE annotator = ?", (ann,))}
        ack = set(r["acknowledged"])
        assert len(ack) == len(r["acknowledged"])
        assert ack - in_db == set(), f"{ann}: acknowledged decisions missing from the database"
        assert in_db - ack == set(), f"{ann}: decisions in the database nobody was told about"
        for doc_id, state in r["shown"].items():
            assert _state(store.annotator_items(doc_id, ann)) == state, f"{ann} on {doc_id}: screen != database"
        total += len(ack)
    store.close()
    assert total > 0 and all(r["writes"] > 0 for r in results)
    for b in backups:
        c = sqlite3.connect(b)
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        c.close()

    writes = sum(r["writes"] for r in results)
    print(
        f"\nconcurrency: {N_WORKERS} annotators for {SECONDS:g} s (measured {elapsed:.1f} s): "
        f"{sum(r['actions'] for r in results):,} actions, {writes:,} writing actions, "
        f"{total:,} decisions = {total / SECONDS:,.0f} decisions/s; "
        f"write latency p50 {max(r['lat_p50'] for r in results) * 1000:.1f} ms (worst worker), "
        f"p99 {max(r['lat_p99'] for r in results) * 1000:.1f} ms, max {max(r['lat_max'] for r in results) * 1000:.1f} ms; "
        f"lock retries {sum(r['retries'] for r in results)}; refusals {sum(r['refusals'] for r in results):,}; "
        f"{len(backups)} backups during the run, all ok"
    )
