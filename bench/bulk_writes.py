"""How long the bulk writers (ingest, import proposals) lock other writers out, and how much
memory ingest takes for a large JSONL.

    python bench/bulk_writes.py [--docs 100000] [--spans 232000] [--mb 100] [--code DIR]

(a) A probe process writes one row every 10 ms (``BEGIN IMMEDIATE; INSERT; COMMIT`` into a
scratch table of the database, the shape of an annotator's decision) and records how long
each write waited for the lock (``BEGIN IMMEDIATE``) and took in all (with its commit, which
may run a WAL checkpoint of the bulk writer's pages). Printed: the longest and the
99th-percentile lock wait with no bulk writer
(baseline, same run), during ``workbench ingest`` of ``--docs`` small documents (one JSONL
file) and during ``workbench import proposals`` of ``--spans`` spans, and the ratio of the
longest wait to the baseline's.

(b) Peak RSS (``os.wait4`` of the child ``workbench ingest``) for a generated JSONL of
about ``--mb`` MB, beside a tiny ingest's in the same run. The generated text avoids the
characters OpenCC converts, so this part measures memory, not t2s speed.

``--code DIR`` runs the ``workbench`` of another checkout (``git archive REV | tar -x -C
DIR``), to measure the code before a change on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE_TABLE = "bench_probe"


# ---------------------------------------------------------------------------- the probe


def probe(db: str, stop: str, out: str) -> None:
    """Write a row every 10 ms until ``stop`` exists; write the waits (seconds) to ``out``."""
    conn = sqlite3.connect(db, timeout=600, isolation_level=None)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (id INTEGER PRIMARY KEY, ts REAL)")
    conn.execute("PRAGMA synchronous = NORMAL")  # as the workbench's own connections
    waits, totals = [], []
    while not os.path.exists(stop):
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        waits.append(time.perf_counter() - t0)
        conn.execute(f"INSERT INTO {PROBE_TABLE} (ts) VALUES (?)", (time.time(),))
        conn.execute("COMMIT")
        totals.append(time.perf_counter() - t0)
        time.sleep(0.01)
    conn.close()
    Path(out).write_text(json.dumps({"lock": waits, "total": totals}))


class Probe:
    def __init__(self, db: str, work: Path, name: str):
        self.stop = work / f"{name}.stop"
        self.out = work / f"{name}.waits"
        self.stop.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--probe", db, str(self.stop), str(self.out)],
        )
        time.sleep(0.5)  # let it start writing

    def finish(self) -> dict:
        self.stop.touch()
        self.proc.wait()
        got = json.loads(self.out.read_text())
        waits, totals = sorted(got["lock"]), sorted(got["total"])
        return {"n": len(waits), "max": waits[-1], "p99": waits[int(0.99 * (len(waits) - 1))], "total": totals[-1]}


# ---------------------------------------------------------------------------- workbench


def wb(code: str | None, db: str, *args: str) -> tuple[float, int, str]:
    """Run ``workbench --db DB ARGS``; return (seconds, peak RSS in KB, stdout)."""
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli import main; main()", "--db", db, *args],
        env=env,
        cwd=os.path.dirname(db),  # not this checkout: python -c puts the current folder first
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"workbench {' '.join(args)} failed ({proc.returncode}):\n{out}{err}")
    return secs, usage.ru_maxrss, out.strip()


def small_docs(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(
                json.dumps({"id": f"d{i}", "text": f"第{i}号报告：统一战线工作会议召开。"}, ensure_ascii=False) + "\n"
            )


def spans_file(path: Path, n_spans: int, n_docs: int) -> int:
    per_doc = max(1, -(-n_spans // n_docs))
    written = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n_docs):
            if written >= n_spans:
                break
            k = min(per_doc, n_spans - written)
            spans = [{"start": j, "end": j + 1, "label": "QUANTITY"} for j in range(k)]
            fh.write(json.dumps({"id": f"d{i}", "spans": spans}) + "\n")
            written += k
    return written


def big_jsonl(path: Path, mb: float) -> tuple[int, int]:
    """About ``mb`` MB of documents of ~2,000 characters, none of them converted by t2s."""
    from workbench.core.normalize import _t2s_chars

    need = _t2s_chars()
    pool = [chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in need][:3000] + list("，。、；：0123456789")
    rnd = random.Random(12)
    size = n = 0
    with open(path, "w", encoding="utf-8") as fh:
        while size < mb * 1_000_000:
            text = "".join(rnd.choices(pool, k=2000))
            line = json.dumps({"id": f"big{n}", "text": text, "meta": {"n": n}}, ensure_ascii=False) + "\n"
            fh.write(line)
            size += len(line.encode("utf-8"))
            n += 1
    return n, size


# ---------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000, help="small documents in the ingest (a)")
    ap.add_argument("--spans", type=int, default=232_000, help="spans in the import (a)")
    ap.add_argument("--mb", type=float, default=100, help="size of the JSONL for the RSS figure (b)")
    ap.add_argument("--baseline-seconds", type=float, default=5)
    ap.add_argument("--code", help="checkout whose workbench to run (default: the installed one)")
    ap.add_argument("--out", help="work folder (default: a temporary one)")
    ap.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        probe(*args.probe)
        return
    work = Path(args.out or tempfile.mkdtemp(prefix="bulk_writes_"))
    work.mkdir(parents=True, exist_ok=True)
    db = str(work / "bench.db")
    for suffix in ("", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)
    code = os.path.abspath(args.code) if args.code else None
    print(f"code: {code or 'installed workbench'}; work folder {work}")

    # (a) the probe's waits
    docs = work / "small.jsonl"
    small_docs(docs, args.docs)
    spans = work / "spans.jsonl"
    n_spans = spans_file(spans, args.spans, args.docs)
    wb(code, db, "ingest", str(Path(__file__).resolve().parent.parent / "workbench/data/corpus"))

    p = Probe(db, work, "baseline")
    time.sleep(args.baseline_seconds)
    base = p.finish()

    p = Probe(db, work, "ingest")
    secs_i, _, out_i = wb(code, db, "ingest", str(docs))
    ing = p.finish()

    p = Probe(db, work, "import")
    secs_m, _, out_m = wb(code, db, "import", "proposals", str(spans), "--source", "bench")
    imp = p.finish()

    print()
    print(
        f"{'probe writer (every 10 ms)':34} {'writes':>7} {'max wait ms':>12} {'p99 ms':>8} {'max / baseline':>15}"
        f" {'max write ms':>13}"
    )
    for name, r in (
        ("baseline (no bulk writer)", base),
        (f"ingest {args.docs:,} docs ({secs_i:.1f} s)", ing),
        (f"import {n_spans:,} spans ({secs_m:.1f} s)", imp),
    ):
        ratio = r["max"] / base["max"] if base["max"] else float("nan")
        print(
            f"{name:34} {r['n']:>7,} {r['max'] * 1000:>12.1f} {r['p99'] * 1000:>8.1f} {ratio:>15.1f}"
            f" {r['total'] * 1000:>13.1f}"
        )
    print(f"  ingest: {out_i}")
    print(f"  import: {out_m}")

    # (b) ingest peak RSS
    tiny = work / "tiny.jsonl"
    small_docs(tiny, 1)
    big = work / "big.jsonl"
    n_big, size = big_jsonl(big, args.mb)
    rss_db = str(work / "rss.db")
    for suffix in ("", "-wal", "-shm"):
        Path(rss_db + suffix).unlink(missing_ok=True)
    _, rss_tiny, _ = wb(code, rss_db, "ingest", str(tiny))
    secs_b, rss_big, _ = wb(code, rss_db, "ingest", str(big))
    print()
    print(f"{'ingest':34} {'documents':>10} {'MB':>8} {'seconds':>8} {'peak RSS MB':>12}")
    print(f"{'tiny JSONL (baseline)':34} {1:>10,} {tiny.stat().st_size / 1e6:>8.3f} {'':>8} {rss_tiny / 1024:>12.0f}")
    print(f"{'large JSONL':34} {n_big:>10,} {size / 1e6:>8.1f} {secs_b:>8.1f} {rss_big / 1024:>12.0f}")


if __name__ == "__main__":
    main()
