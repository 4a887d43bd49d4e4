"""Traditional-to-Simplified conversion inside ingest: the package's own matcher
(``opencc-python-reimplemented``'s ``OpenCC("t2s").convert``, the baseline) against
``workbench.core.t2s`` (the same dictionaries and rule, applied fast), in one run.

    python bench/t2s.py [--docs 2000] [--rounds 3]

Generates ``--docs`` documents with ``bench/corpus_gen.py`` (raw lines of the
bundled reports: Traditional characters, pinyin glosses, mojibake), then, in
alternating rounds (baseline, fast, baseline, fast, ...; the machine is shared
and noisy, so each figure is the best of its rounds):

1. conversion alone: every line of every document through each converter, and a
   check that the two outputs are identical;
2. ``ingest_paths`` of the whole corpus into a fresh database with each
   converter: documents/s, and the share of ingest time the conversion takes
   (from 1).

Prints the figures and the ratios fast/baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus_gen

from workbench.core import normalize, t2s
from workbench.ingest import ingest_paths
from workbench.store import Store


def _lines(corpus: Path) -> list[str]:
    import json

    out: list[str] = []
    for part in sorted(corpus.glob("part-*.jsonl")):
        for raw in part.open(encoding="utf-8"):
            out.extend(json.loads(raw)["text"].splitlines(keepends=True))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    package = t2s.package().convert
    fast = t2s.converter().convert
    converters = {"baseline": lambda: package, "fast": lambda: fast}

    with tempfile.TemporaryDirectory(prefix="wb-t2s-") as tmp:
        out = Path(tmp)
        corpus_gen.generate(args.docs, out)
        corpus = out / "corpus"
        lines = _lines(corpus)
        n_chars = sum(map(len, lines))
        print(f"corpus: {args.docs:,} documents, {len(lines):,} lines, {n_chars:,} characters")

        conv: dict[str, float] = {}
        ing: dict[str, float] = {}
        results: dict[str, list[str]] = {}
        original = normalize._line_converter
        try:
            for r in range(args.rounds):
                for name, make in converters.items():
                    fn = make()
                    t0 = time.perf_counter()
                    results[name] = [fn(line) for line in lines]
                    conv[name] = min(conv.get(name, 1e9), time.perf_counter() - t0)

                    normalize._line_converter = make  # type: ignore[assignment]
                    store = Store(str(out / f"{name}-{r}.db"), create=True)
                    t0 = time.perf_counter()
                    ingest_paths(store, [corpus])
                    ing[name] = min(ing.get(name, 1e9), time.perf_counter() - t0)
                    store.close()
        finally:
            normalize._line_converter = original  # type: ignore[assignment]

        same = results["baseline"] == results["fast"]
        print(f"identical output: {same}")
        for name in converters:
            print(
                f"{name:9s} conversion {n_chars / conv[name] / 1e6:7.2f} M chars/s   "
                f"ingest {args.docs / ing[name]:8.0f} docs/s   "
                f"conversion = {100 * conv[name] / ing[name]:3.0f}% of ingest"
            )
        print(
            f"ratio fast/baseline: conversion {conv['baseline'] / conv['fast']:.1f}x, ingest {ing['baseline'] / ing['fast']:.2f}x"
        )
        if not same:
            raise SystemExit("the converters differ")


if __name__ == "__main__":
    main()
