"""A large synthetic corpus made from the bundled reports, for the scale bench.

    python bench/corpus_gen.py --docs 100000 --out /tmp/wb-scale/corpus

Each generated document is a title line and body paragraphs drawn (with a
fixed seed) from the five bundled reports: the raw lines, so ingest does the
real decoding and normalization work (traditional characters, pinyin glosses,
mojibake flags). Lengths vary from ~300 to ~2,500 characters. Alongside the
raw corpus the dev gold spans of every drawn paragraph are carried over,
shifted to the generated document's normalized offsets (``spans.jsonl``): the
bench uses them for simulated annotators and, if no proposer is installed, as
stand-in proposals.

Writes ``corpus/part-NNNN.jsonl`` (5,000 documents each: one ingest
transaction per file) and ``spans.jsonl`` (``{"id", "spans"}``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "workbench" / "data" / "corpus"
PER_FILE = 5000


def _find_gold() -> Path:
    for p in (ROOT.parent / "shared" / "gold" / "seeds.jsonl", ROOT / "tests" / "data" / "seeds.jsonl"):
        if p.exists():
            return p
    raise SystemExit("no gold file (tests/data/seeds.jsonl) found")


def load_paragraphs() -> tuple[list[dict], list[dict]]:
    """(titles, body paragraphs): each {"raw", "norm", "spans"} with spans relative to the line."""
    gold = {d["id"]: d for d in map(json.loads, _find_gold().open(encoding="utf-8"))}
    titles, body = [], []
    for path in sorted(CORPUS.glob("*.txt")):
        raw_lines = path.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n")
        g = gold[path.stem]
        norm_lines = g["text"].split("\n")
        if len(raw_lines) != len(norm_lines):
            raise SystemExit(f"{path.name}: raw and normalized line counts differ")
        pos = 0
        for k, (raw, norm) in enumerate(zip(raw_lines, norm_lines)):
            end = pos + len(norm)
            spans = [
                {
                    **{x: v for x, v in s.items() if x not in ("start", "end")},
                    "start": s["start"] - pos,
                    "end": s["end"] - pos,
                }
                for s in g["spans"]
                if pos <= s["start"] and s["end"] <= end
            ]
            if norm.strip():
                (titles if k == 0 else body).append({"raw": raw, "norm": norm, "spans": spans})
            pos = end + 1
    return titles, body


def generate(n_docs: int, out: Path, seed: int = 7, progress=None) -> dict:
    titles, body = load_paragraphs()
    rng = random.Random(seed)
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.glob("part-*.jsonl"):
        old.unlink()
    n_chars = n_spans = 0
    fh = None
    with open(out / "spans.jsonl", "w", encoding="utf-8") as sfh:
        for i in range(n_docs):
            if i % PER_FILE == 0:
                if fh:
                    fh.close()
                fh = open(corpus / f"part-{i // PER_FILE:04d}.jsonl", "w", encoding="utf-8")
            target = rng.randint(300, 2500)
            lines = [rng.choice(titles)]
            length = len(lines[0]["norm"])
            while length < target:
                p = rng.choice(body)
                lines.append(p)
                length += 1 + len(p["norm"])
            raw = "\n".join(x["raw"] for x in lines)
            spans, pos = [], 0
            for x in lines:
                spans += [dict(s, start=s["start"] + pos, end=s["end"] + pos) for s in x["spans"]]
                pos += len(x["norm"]) + 1
            doc_id = f"gen{i:06d}"
            fh.write(
                json.dumps({"id": doc_id, "text": raw, "meta": {"generated": True, "seed": seed}}, ensure_ascii=False)
                + "\n"
            )
            sfh.write(json.dumps({"id": doc_id, "spans": spans}, ensure_ascii=False) + "\n")
            n_chars += pos - 1
            n_spans += len(spans)
            if progress and (i + 1) % 10000 == 0:
                progress(i + 1)
    if fh:
        fh.close()
    return {
        "documents": n_docs,
        "characters": n_chars,
        "gold_spans": n_spans,
        "files": len(list(corpus.glob("part-*.jsonl"))),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    res = generate(a.docs, a.out, a.seed, progress=lambda n: print(f"  {n:,} documents", file=sys.stderr))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
