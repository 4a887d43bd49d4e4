"""Proposer throughput: characters per second, one process and --jobs 2.

The bundled corpus is repeated (as distinct documents) until it is at least
2 MB of UTF-8 text, ingested into a temporary database, then proposed with
``propose_store`` (the function ``workbench propose`` runs): once with one
process, once with two worker processes (the parent alone writes SQLite).
The in-memory rate of the proposer alone (no database) is printed too.

    python bench/propose.py [--mb 2] [--proposer rules] [--rounds 2]

The in-memory figure is measured twice, alternating, in the same run: the
one-pass ``analyze`` (both jieba cuts from one word graph) against the two
passes it replaced (``propose`` then ``word_starts``), with their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.ingest import ingest_paths  # noqa: E402
from workbench.propose import get_proposer  # noqa: E402
from workbench.propose.run import propose_store  # noqa: E402
from workbench.store import Store  # noqa: E402


def build_corpus(path: Path, min_bytes: int) -> tuple[int, int, int]:
    texts = [
        (p.stem, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "workbench" / "data" / "corpus").glob("*.txt"))
    ]
    n_docs = n_chars = n_bytes = 0
    rep = 0
    with open(path, "w", encoding="utf-8") as fh:
        while n_bytes < min_bytes:
            for stem, text in texts:
                fh.write(json.dumps({"id": f"{stem}#{rep}", "text": text}, ensure_ascii=False) + "\n")
                n_docs += 1
                n_chars += len(text)
                n_bytes += len(text.encode("utf-8"))
            rep += 1
    return n_docs, n_chars, n_bytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=2.0, help="corpus size in MB of UTF-8 text (default 2)")
    ap.add_argument("--proposer", default="rules")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of the in-memory comparison")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "corpus.jsonl"
        n_docs, n_chars, n_bytes = build_corpus(src, int(args.mb * 1_000_000))
        print(
            f"corpus: {n_docs} documents, {n_chars:,} characters, {n_bytes / 1e6:.2f} MB UTF-8 "
            f"(bundled corpus repeated); {os.cpu_count()} CPUs"
        )

        # the proposer alone, in memory (after loading jieba)
        p = get_proposer(args.proposer)
        t = time.perf_counter()
        p.analyze("初始化")
        load = time.perf_counter() - t
        texts = [json.loads(line)["text"] for line in open(src, encoding="utf-8")]

        def one_pass() -> None:
            for text in texts:
                p.analyze(text)

        def two_passes() -> None:  # the code before one-pass analyze: propose, then a second cut
            from workbench.propose.segment import word_starts

            for text in texts:
                p.propose(text)
                word_starts(text)

        best: dict[str, float] = {}
        for _ in range(args.rounds):  # alternating, best of each: the machine is shared and noisy
            for name, fn in (("two passes (baseline)", two_passes), ("one pass", one_pass)):
                t = time.perf_counter()
                fn()
                best[name] = min(best.get(name, 1e9), time.perf_counter() - t)
        for name, dt in best.items():
            print(
                f"{p.name} {p.version} in memory (spans + word starts), {name}: {n_chars / dt:,.0f} chars/s"
                f" ({dt:.2f} s; jieba load {load:.2f} s)"
            )
        base, new = best["two passes (baseline)"], best["one pass"]
        print(f"ratio one pass / two passes: {base / new:.2f}x")

        for jobs in (1, 2):
            db = Path(tmp) / f"bench{jobs}.db"
            store = Store(str(db))
            rep = ingest_paths(store, [src])
            assert not rep.errors, rep.errors
            t = time.perf_counter()
            res = propose_store(store, proposer=args.proposer, jobs=jobs)
            wall = time.perf_counter() - t
            store.close()
            print(
                f"propose_store jobs={jobs}: {res['characters'] / wall:,.0f} chars/s wall"
                f" ({wall:.2f} s for {res['documents']} documents, {res['proposals']:,} proposals written)"
            )


if __name__ == "__main__":
    main()
