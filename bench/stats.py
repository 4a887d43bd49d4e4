"""``workbench stats`` at scale: the counts kept by triggers (``store/tallies.py``)
against the full scans they replaced, and what the triggers cost the writers.

    python bench/stats.py [--docs 100000] [--per-doc 10]

Builds two databases with the workbench schema and fills them with the same
synthetic rows in batches like the bulk writers' (documents, ``--per-doc``
proposals per document from two sources, re-run rows made inactive, decisions
of three annotators on a tenth of the documents, gold on a twentieth): one with
the tally triggers (as shipped), one with them dropped (the baseline writer).
Prints, in one run:

* write time with and without triggers, and the ratio;
* ``workbench propose`` (``propose_store``, rules) over the bundled corpus
  repeated ``--propose-copies`` times, with and without triggers: the cost in
  a real writer, where computing the proposals dominates;
* ``Store.stats()`` (reads the tallies) against the old full-scan queries on
  the same database, best of 3 each, and the ratio.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.store import Store, tallies  # noqa: E402

OLD_STATS = [  # what stats ran before the tallies (store/ops.py before migration 5)
    "SELECT annotator, count(*) AS decisions, count(DISTINCT doc_id) AS documents"
    " FROM decisions GROUP BY annotator ORDER BY annotator",
    "SELECT count(*), count(DISTINCT doc_id) FROM gold",
    "SELECT count(*) FROM documents",
    "SELECT coalesce(sum(n_chars), 0) FROM documents",
    "SELECT count(*) FROM proposals WHERE active = 1",
    "SELECT count(*) FROM proposals WHERE active = 0",
    "SELECT source, version, count(*) AS proposals FROM proposals WHERE active = 1"
    " GROUP BY source, version ORDER BY source, version",
    "SELECT count(*) FROM decisions",
]

TS = "2026-12-02T00:00:00.000Z"


def fill(path: str, n_docs: int, per_doc: int, batch: int = 2000) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    text = "县委统战部组织召开座谈会，帮助34家民营企业融资493万元。" * 20
    t0 = time.perf_counter()
    c0 = time.process_time()
    pid = 0
    for lo in range(0, n_docs, batch):
        ids = [f"d{i:07d}" for i in range(lo, min(n_docs, lo + batch))]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO documents (id, source, raw_sha256, encoding, raw_text, text, input_hash, n_chars, created_at)"
            " VALUES (?, 'bench', '', 'utf-8', ?, ?, 0, ?, ?)",
            [(d, text, text, len(text), TS) for d in ids],
        )
        rows = []
        for d in ids:
            for k in range(per_doc):
                src = "rules" if k % 3 else "m"
                rows.append(
                    (d, k * 10, k * 10 + 4, "QUANTITY", text[k * 10 : k * 10 + 4], src, "1.0", int(k % 7 != 0), TS)
                )
        conn.executemany(
            'INSERT INTO proposals (doc_id, start, "end", label, text, source, version, active, created_at)'
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        pid += len(rows)
        dec = [(d, a, TS, "accept") for j, d in enumerate(ids) if j % 10 == 0 for a in ("a1", "a2", "王五")]
        conn.executemany("INSERT INTO decisions (doc_id, annotator, ts, action) VALUES (?, ?, ?, ?)", dec)
        gold = [(d, 0, 4, "ORG", text[:4], "agreed", TS) for j, d in enumerate(ids) if j % 20 == 0]
        conn.executemany(
            'INSERT INTO gold (doc_id, start, "end", label, text, origin, ts) VALUES (?, ?, ?, ?, ?, ?, ?)', gold
        )
        conn.execute("COMMIT")
    dt = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    return dt


def _propose_both(tmp: Path, copies: int) -> dict[str, float]:
    import json

    from workbench.ingest import ingest_paths
    from workbench.propose.run import propose_store

    src = tmp / "corpus.jsonl"
    texts = sorted((ROOT / "workbench" / "data" / "corpus").glob("*.txt"))
    with src.open("w", encoding="utf-8") as fh:
        for r in range(copies):
            for p in texts:
                fh.write(json.dumps({"id": f"{p.stem}#{r}", "text": p.read_text(encoding="utf-8")}, ensure_ascii=False))
                fh.write("\n")
    out: dict[str, float] = {}
    for rnd in range(2):  # alternating rounds, best of each
        for name in ("without (baseline)", "with triggers"):
            path = str(tmp / f"p-{rnd}-{'w' if name == 'with triggers' else 'o'}.db")
            st = Store(path, create=True)
            if name != "with triggers":
                for trig in tallies._trigger_names():
                    st.conn.execute(f"DROP TRIGGER {trig}")
            ingest_paths(st, [src])
            t = time.perf_counter()
            propose_store(st, proposer="rules")
            out[name] = min(out.get(name, 1e9), time.perf_counter() - t)
            st.close()
    return out


def best(fn, rounds: int = 3) -> float:
    out = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--per-doc", type=int, default=10)
    ap.add_argument("--propose-copies", type=int, default=10)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wb-stats-") as tmp:
        paths = {"with triggers": f"{tmp}/with.db", "without (baseline)": f"{tmp}/without.db"}
        for path in paths.values():
            Store(path, create=True).close()
        conn = sqlite3.connect(paths["without (baseline)"])
        for name in tallies._trigger_names():
            conn.execute(f"DROP TRIGGER {name}")
        conn.commit()
        conn.close()
        write: dict[str, tuple[float, float]] = {}
        for name in ("without (baseline)", "with triggers"):
            write[name] = fill(paths[name], args.docs, args.per_doc)
        n_props = args.docs * args.per_doc
        print(
            f"{args.docs:,} documents, {n_props:,} proposals, {args.docs // 10 * 3:,} decisions, {args.docs // 20:,} gold"
        )
        for name, (dt, cpu) in write.items():
            print(f"write {name:20s} {dt:7.2f} s wall, {cpu:6.2f} s CPU")
        w, b = write["with triggers"], write["without (baseline)"]
        print(f"ratio write with/without triggers: {w[0] / b[0]:.2f}x wall, {w[1] / b[1]:.2f}x CPU")

        propose = _propose_both(Path(tmp), args.propose_copies)
        for name, dt in propose.items():
            print(f"propose {name:18s} {dt:7.2f} s")
        print(f"ratio propose with/without triggers: {propose['with triggers'] / propose['without (baseline)']:.2f}x")

        store = Store(paths["with triggers"])
        kept = best(store.stats)

        def old() -> None:
            for sql in OLD_STATS:
                store.conn.execute(sql).fetchall()

        scan = best(old)
        assert store.tally_problems() == [], "kept counts differ from a recount"
        store.close()
        print(f"stats, full scans (before)  {scan * 1000:8.1f} ms")
        print(f"stats, kept counts (now)    {kept * 1000:8.1f} ms")
        print(f"ratio scans/kept: {scan / kept:,.0f}x")


if __name__ == "__main__":
    main()
