"""Bulk inserts: sqlite-utils ``Table.insert_all`` against ``executemany`` inside one
transaction, on proposal-shaped rows (why the store's hot paths use ``executemany``).

    python bench/store_inserts.py [--rows 200000] [--repeat 3]

Prints the best time of each and the ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import sqlite3
import time

import sqlite_utils

DDL = (
    'CREATE TABLE p (id INTEGER PRIMARY KEY, doc_id TEXT, start INT, "end" INT, label TEXT, text TEXT, '
    "attrs TEXT, score REAL)"
)


def fresh() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:", isolation_level=None)
    c.execute(DDL)
    return c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = [
        {
            "doc_id": f"d{i // 50}",
            "start": i,
            "end": i + 3,
            "label": "ORG",
            "text": "统战部门",
            "attrs": None,
            "score": 0.5,
        }
        for i in range(args.rows)
    ]
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        c = fresh()
        t = time.perf_counter()
        c.execute("BEGIN")
        c.executemany(
            'INSERT INTO p (doc_id, start, "end", label, text, attrs, score) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [tuple(r.values()) for r in rows],
        )
        c.execute("COMMIT")
        best["executemany"] = min(best.get("executemany", 1e9), time.perf_counter() - t)
        c = fresh()
        db = sqlite_utils.Database(c)
        t = time.perf_counter()
        c.execute("BEGIN")
        db["p"].insert_all(rows, batch_size=1000)
        c.execute("COMMIT")
        best["insert_all"] = min(best.get("insert_all", 1e9), time.perf_counter() - t)
    for k, v in best.items():
        print(f"{k:<12} {args.rows:,} rows in {v:.3f} s = {args.rows / v:,.0f} rows/s")
    print(f"insert_all / executemany: {best['insert_all'] / best['executemany']:.2f}x the time")


if __name__ == "__main__":
    main()
