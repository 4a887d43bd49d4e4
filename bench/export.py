"""Export throughput: spans per second and peak memory for ``workbench export``.

Builds a database of realistic documents (the 5 seed reports repeated under new
ids, with their gold spans: ~3,100 characters and ~105 spans per document)
holding N gold spans, then runs ``workbench export gold`` in every format as a
child process and prints spans/s, output size and the child's peak RSS. A
second, 10x smaller database shows whether memory stays flat in corpus size.
``--annotations N`` also times ``export annotations`` on N decisions of one
annotator (jsonl: one decision line per span; spacy: one Doc per finished
document).

    python bench/export.py                   # 1,000,000 spans, all formats
    python bench/export.py --spans 200000 --formats jsonl conll
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.store import Store, input_hash, now_iso  # noqa: E402

SEEDS = ROOT / "tests" / "data" / "seeds.jsonl"


def build(db_path: str, n_spans: int, *, annotations: bool = False) -> tuple[int, int]:
    """Fill a fresh database with documents and gold (and one annotator's decisions)."""
    seeds = [json.loads(line) for line in open(SEEDS, encoding="utf-8")]
    store = Store(db_path)
    ts = now_iso()
    docs = spans = 0
    with store.write() as c:
        doc_rows, gold_rows, dec_rows = [], [], []
        while spans < n_spans:
            seed = seeds[docs % len(seeds)]
            doc_id = f"bench-{docs:07d}"
            text = seed["text"]
            doc_rows.append(
                (
                    doc_id,
                    f"bench/{doc_id}.txt",
                    f"{docs:064x}",
                    "utf-8",
                    text,
                    text,
                    None,
                    "{}",
                    json.dumps({"seed": seed["id"]}),
                    input_hash(text),
                    len(text),
                    ts,
                )
            )
            for s in seed["spans"][: n_spans - spans]:
                attrs = json.dumps(s["attrs"], ensure_ascii=False) if s.get("attrs") else None
                gold_rows.append(
                    (doc_id, s["start"], s["end"], s["label"], s["text"], attrs, "agreed", None, '["a", "b"]', ts)
                )
                if annotations:
                    dec_rows.append(
                        (doc_id, "a", ts, "add", s["start"], s["end"], s["label"], s["text"], attrs, "import")
                    )
                spans += 1
            if annotations:  # a finished document: doccano/conll/spacy export it by default
                dec_rows.append((doc_id, "a", ts, "finish", None, None, None, None, None, "import"))
            docs += 1
            if len(gold_rows) > 50_000:
                _flush(c, doc_rows, gold_rows, dec_rows)
        _flush(c, doc_rows, gold_rows, dec_rows)
    store.close()
    return docs, spans


def _flush(c, doc_rows, gold_rows, dec_rows):
    c.executemany(
        "INSERT INTO documents (id, source, raw_sha256, encoding, raw_text, text, offset_map, flags, meta,"
        " input_hash, n_chars, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        doc_rows,
    )
    c.executemany(
        'INSERT INTO gold (doc_id, start, "end", label, text, attrs, origin, reviewer, annotators, ts)'
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        gold_rows,
    )
    c.executemany(
        'INSERT INTO decisions (doc_id, annotator, ts, action, start, "end", label, text, attrs, origin)'
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        dec_rows,
    )
    doc_rows.clear()
    gold_rows.clear()
    dec_rows.clear()


def run_export(db: str, what: str, fmt: str, out: str) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, output bytes) of one ``workbench export`` child process."""
    cmd = [
        sys.executable,
        "-c",
        "from workbench.cli import main; main()",
        "--db",
        db,
        "export",
        what,
        "--format",
        fmt,
        "-o",
        out,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t0
    err = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"export failed: {err}")
    if os.path.isdir(out):
        size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    else:
        size = os.path.getsize(out)
    return dt, usage.ru_maxrss, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument(
        "--formats",
        nargs="+",
        default=["jsonl", "doccano", "conll", "spacy", "spacy/"],
        help='"spacy/" = spaCy shards in a folder (-o DIR/)',
    )
    ap.add_argument(
        "--annotations",
        type=int,
        default=0,
        metavar="N",
        help="also time export annotations on N decisions (one annotator, documents finished)",
    )
    ap.add_argument(
        "--ann-formats", nargs="+", default=["jsonl", "spacy"], help="formats for --annotations (default: jsonl spacy)"
    )
    ap.add_argument("--no-small", action="store_true", help="skip the 10x smaller memory comparison")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        sizes = [args.spans] + ([] if args.no_small else [max(args.spans // 10, 1)])
        dbs = {}
        for n in sizes:
            db = os.path.join(tmp, f"gold-{n}.db")
            t0 = time.perf_counter()
            docs, spans = build(db, n)
            dbs[n] = db
            print(
                f"built {db}: {docs:,} documents, {spans:,} gold spans in {time.perf_counter() - t0:.1f}s"
                f" ({os.path.getsize(db) / 1e6:,.0f} MB)"
            )
        print()
        print(f"{'export':<22}{'spans':>11}{'seconds':>9}{'spans/s':>11}{'output MB':>11}{'peak RSS MB':>13}")
        for fmt in args.formats:
            for n in sizes:
                if fmt.endswith("/"):  # a folder of shards
                    out = os.path.join(tmp, "shards") + "/"
                    dt, rss, size = run_export(dbs[n], "gold", fmt.rstrip("/"), out)
                    shutil.rmtree(out)
                else:
                    out = os.path.join(tmp, f"out.{fmt}")
                    dt, rss, size = run_export(dbs[n], "gold", fmt, out)
                    os.unlink(out)
                print(f"{'gold ' + fmt:<22}{n:>11,}{dt:>9.2f}{n / dt:>11,.0f}{size / 1e6:>11.1f}{rss / 1024:>13.0f}")
        if args.annotations:
            db = os.path.join(tmp, "ann.db")
            build(db, args.annotations, annotations=True)
            n = args.annotations
            for fmt in args.ann_formats:
                out = os.path.join(tmp, f"ann.{fmt}")
                dt, rss, size = run_export(db, "annotations", fmt, out)
                os.unlink(out)
                print(
                    f"{'annotations ' + fmt:<22}{n:>11,}{dt:>9.2f}{n / dt:>11,.0f}{size / 1e6:>11.1f}"
                    f"{rss / 1024:>13.0f}"
                )
        print("\n(seconds include starting the workbench process; peak RSS is the child's ru_maxrss)")


if __name__ == "__main__":
    main()
