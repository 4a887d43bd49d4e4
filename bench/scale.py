"""Scale bench: a 100,000-document corpus with millions of proposals.

    python bench/scale.py                      # full size: 100,000 documents
    python bench/scale.py --docs 2000          # a quick run
    python bench/scale.py --out DIR --keep     # keep the database and files in DIR
    python bench/scale.py --out DIR --reuse-db # steps 5-7 again on DIR's kept database

Every step runs the real ``workbench`` command in a subprocess (as a user
would, start-up included) on one database, and prints what it measured:

1. generate the corpus (``bench/corpus_gen.py``: the bundled reports' paragraphs
   recombined with a fixed seed; ~1,500 characters per document);
2. ``workbench ingest`` → documents/s;
3. ``workbench propose --jobs 2`` → characters/s and proposals (if the proposer
   is not installed, the dev gold carried into the generated documents is
   imported as proposals with ``workbench import proposals`` instead, and the
   bench says so);
4. two simulated annotators finish the first ``--annotated`` documents
   (``workbench import annotations``; the second one drops 10% of the spans
   and relabels 5%);
5. ``workbench annotate`` in a pseudo-terminal: time from starting the command
   to its first complete screen (target < 1.5 s), then the time from pressing
   tab to the next document's screen (target < 50 ms), and from pressing a
   (accept, committed to SQLite) to the screen showing it;
6. ``workbench stats``, ``workbench agreement``, ``workbench export annotations``
   (spans/s), ``workbench check --quick``, ``workbench backup``;
7. database size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus_gen import generate  # noqa: E402

WB = [sys.executable, "-c", "from workbench.cli import main; main()"]
LABELS = ("PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY")


def say(msg: str) -> None:
    print(msg, flush=True)


def wb(db: Path, *args, check: bool = True, quiet: bool = True) -> tuple[float, str]:
    """Run ``workbench --db DB ARGS``; return (seconds, stdout+stderr)."""
    t0 = time.perf_counter()
    r = subprocess.run([*WB, "--db", str(db), *map(str, args)], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    out = r.stdout + r.stderr
    if check and r.returncode != 0:
        raise SystemExit(f"workbench {' '.join(map(str, args))} failed ({r.returncode}):\n{out[-3000:]}")
    if not quiet:
        say(out.rstrip())
    return dt, out


def has_command(db: Path, name: str) -> bool:
    r = subprocess.run([*WB, "--db", str(db), name, "--help"], capture_output=True, text=True)
    return r.returncode == 0


def scalar(db: Path, sql: str, params=()):
    import sqlite3

    c = sqlite3.connect(db)
    try:
        return c.execute(sql, params).fetchone()[0]
    finally:
        c.close()


def db_size(db: Path) -> int:
    return sum(os.path.getsize(p) for p in (str(db), f"{db}-wal") if os.path.exists(p))


def simulated_annotations(spans_file: Path, out: Path, n_docs: int) -> tuple[Path, Path, int]:
    """Two annotators' files over the first ``n_docs`` documents."""
    rng = random.Random(11)
    a_path, b_path = out / "annA.jsonl", out / "annB.jsonl"
    n_spans = 0
    with (
        open(spans_file, encoding="utf-8") as src,
        open(a_path, "w", encoding="utf-8") as fa,
        open(b_path, "w", encoding="utf-8") as fb,
    ):
        for i, line in enumerate(src):
            if i >= n_docs:
                break
            d = json.loads(line)
            spans = [
                {k: s[k] for k in ("start", "end", "label")} | ({"attrs": s["attrs"]} if s.get("attrs") else {})
                for s in d["spans"]
            ]
            fa.write(json.dumps({"id": d["id"], "spans": spans}, ensure_ascii=False) + "\n")
            b = []
            for s in spans:
                r = rng.random()
                if r < 0.10:
                    continue
                if r < 0.15:
                    s = {k: v for k, v in s.items() if k != "attrs"}
                    s["label"] = rng.choice([x for x in LABELS if x != s["label"]])
                b.append(s)
            fb.write(json.dumps({"id": d["id"], "spans": b}, ensure_ascii=False) + "\n")
            n_spans += len(spans) + len(b)
    return a_path, b_path, n_spans


def timed_press(term, key: str, pred, what: str, quiet: float = 0.1) -> float:
    """Press ``key``; return the seconds from the key to the last byte of the app's answer.

    The answer is read raw, with a timestamp per read, until the terminal has been
    quiet for ``quiet`` s; only then is it fed to the test terminal emulator, which is
    pure Python and slow (parsing a full frame takes longer than drawing it), so its
    cost is not counted. ``pred`` must hold on the screen afterwards."""
    import select

    t0 = time.perf_counter()
    term.press(key)
    last = None
    chunks = []
    end = t0 + 30
    while time.perf_counter() < end:
        r, _, _ = select.select([term.fd], [], [], quiet if last is not None else 0.5)
        if not r:
            if last is not None:
                break
            continue
        data = os.read(term.fd, 65536)
        if not data:
            break
        chunks.append(data)
        last = time.perf_counter()
    for data in chunks:
        term.feed_bytes(data)
    if last is None or not pred(term.screen):
        raise AssertionError(f"no {what} after pressing {key!r}; the screen:\n{term.screen.text()}")
    return last - t0


def measure_annotate(db: Path, annotator: str, tabs: int, accepts: int) -> dict:
    """First screen, next-document and accept latency of ``workbench annotate`` in a pty."""
    from test_crash import COLS, ROWS, Terminal, header

    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS), LANG="C.UTF-8")
    t0 = time.perf_counter()
    term = Terminal([*WB, "--db", str(db), "annotate", "--annotator", annotator], env)
    res: dict = {}
    try:
        # the first complete screen: header with the counts, and the key bar at the bottom
        term.wait_for(
            lambda s: header(s) is not None and any("accept" in line for line in s.lines()[-3:]),
            "the first screen",
            120,
        )
        res["first_screen_s"] = time.perf_counter() - t0
        term.settle(0.3)
        h0 = header(term.screen)
        res["queue"] = h0 and term.screen.lines()[0].split()[1]
        nexts = []
        for _ in range(tabs):
            idx = header(term.screen)["doc_index"]
            nexts.append(
                timed_press(
                    term, "\t", lambda s, idx=idx: (header(s) or {}).get("doc_index") == idx + 1, "next document"
                )
            )
        acc = []
        for _ in range(accepts):
            h = header(term.screen)
            if not h["pending"]:
                break
            acc.append(
                timed_press(
                    term, "a", lambda s, h=h: (header(s) or {}).get("accepted", -1) >= h["accepted"] + 1, "accept"
                )
            )
        res["next_doc_ms"] = [x * 1000 for x in nexts]
        res["accept_ms"] = [x * 1000 for x in acc]
        term.press("q")
        end = time.monotonic() + 10
        while term.proc.poll() is None and time.monotonic() < end:
            term.pump(0.05)
    finally:
        term.kill()
    return res


def fmt_ms(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    p95 = sorted(xs)[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"median {statistics.median(xs):.1f} ms, p95 {p95:.1f} ms, max {max(xs):.1f} ms (n={len(xs)})"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Scale bench (see the module docstring).")
    ap.add_argument("--docs", type=int, default=100_000, help="documents to generate (default 100,000)")
    ap.add_argument(
        "--annotated", type=int, default=2000, help="documents the two simulated annotators finish (default 2,000)"
    )
    ap.add_argument("--jobs", type=int, default=2, help="workbench propose --jobs (default 2)")
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--tabs", type=int, default=20, help="next-document presses to time")
    ap.add_argument("--skip-generate", action="store_true", help="reuse DIR/corpus and DIR/spans.jsonl")
    ap.add_argument(
        "--reuse-db",
        action="store_true",
        help="skip steps 1-4: measure annotate, the commands and the size on DIR/scale.db as kept",
    )
    a = ap.parse_args(argv)
    if a.reuse_db and a.out is None:
        ap.error("--reuse-db needs --out DIR (the folder of a kept run)")

    out = a.out or Path(tempfile.mkdtemp(prefix="wb-scale-"))
    out.mkdir(parents=True, exist_ok=True)
    db = out / "scale.db"
    if a.reuse_db:
        if not db.exists():
            ap.error(f"{db} does not exist (run once with --out {out} --keep)")
        n_docs = scalar(db, "SELECT count(*) FROM documents")
        n_props = scalar(db, "SELECT count(*) FROM proposals WHERE active = 1")
        say(
            f"scale bench: reusing {db}: {n_docs:,} documents, {n_props:,} proposals "
            f"(python {sys.version.split()[0]}, {os.cpu_count()} cpus)"
        )
        figures: dict = {"documents": n_docs, "proposals": n_props, "reused_db": True}
        measure_rest(db, out, a, n_docs, figures)
        return
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if p.exists():
            p.unlink()
    say(f"scale bench: {a.docs:,} documents in {out} (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    figures = {"documents": a.docs}

    # 1. corpus
    if not a.skip_generate:
        t0 = time.perf_counter()
        gen = generate(a.docs, out)
        say(
            f"generate      {gen['documents']:,} documents, {gen['characters']:,} characters, "
            f"{gen['gold_spans']:,} carried gold spans in {time.perf_counter() - t0:.1f} s"
        )

    # 2. ingest
    dt, _ = wb(db, "ingest", out / "corpus")
    n_docs = scalar(db, "SELECT count(*) FROM documents")
    n_chars = scalar(db, "SELECT sum(n_chars) FROM documents")
    figures.update(ingest_s=dt, ingest_docs_per_s=n_docs / dt)
    say(
        f"ingest        {n_docs:,} documents ({n_chars:,} characters) in {dt:.1f} s = "
        f"{n_docs / dt:,.0f} docs/s, {n_chars / dt / 1e6:.2f} M chars/s"
    )

    # 3. proposals
    if has_command(db, "propose"):
        dt, text = wb(db, "propose", "--jobs", a.jobs)
        n_props = scalar(db, "SELECT count(*) FROM proposals WHERE active = 1")
        figures.update(propose_s=dt, propose_chars_per_s=n_chars / dt, proposals=n_props, proposer="workbench propose")
        say(
            f"propose       --jobs {a.jobs}: {n_props:,} proposals in {dt:.1f} s = {n_chars / dt / 1e6:.3f} M chars/s, "
            f"{n_docs / dt:,.0f} docs/s"
        )
    else:
        dt, _ = wb(db, "import", "proposals", out / "spans.jsonl", "--source", "gold-carried", "--version", "1")
        n_props = scalar(db, "SELECT count(*) FROM proposals WHERE active = 1")
        figures.update(import_proposals_s=dt, proposals=n_props, proposer="none (gold carried, imported)")
        say(
            f"propose       NOT AVAILABLE (no workbench propose): imported {n_props:,} carried gold spans as "
            f"proposals in {dt:.1f} s = {n_props / dt:,.0f} spans/s"
        )
    if n_props < 3_000_000 and a.docs >= 100_000:
        say(f"WARNING       only {n_props:,} proposals (< 3,000,000)")

    # 4. two annotators
    k = min(a.annotated, n_docs)
    fa, fb, n_ann = simulated_annotations(out / "spans.jsonl", out, k)
    dt_a, _ = wb(db, "import", "annotations", fa, "--annotator", "annA")
    dt_b, _ = wb(db, "import", "annotations", fb, "--annotator", "annB")
    figures.update(import_annotations_spans_per_s=n_ann / (dt_a + dt_b))
    say(
        f"annotators    annA, annB finished {k:,} documents each ({n_ann:,} spans) via import annotations "
        f"in {dt_a + dt_b:.1f} s = {n_ann / (dt_a + dt_b):,.0f} spans/s"
    )
    measure_rest(db, out, a, n_docs, figures)


def measure_rest(db: Path, out: Path, a, n_docs: int, figures: dict) -> None:
    """Steps 5-7: annotate, the commands, the size."""
    # 5. annotate
    # a newcomer with a fresh name each run (a kept database may be measured again)
    for who, name in (("newcomer", f"newcomer{os.getpid()}"), ("annA", "annA")):
        r = measure_annotate(db, name, a.tabs, accepts=10)
        figures[f"annotate_{who}"] = r
        say(
            f"annotate      as {who}: first screen {r['first_screen_s']:.2f} s (queue {r['queue']}); "
            f"next document {fmt_ms(r['next_doc_ms'])}; accept {fmt_ms(r['accept_ms'])}"
        )

    # 6. commands
    dt, _ = wb(db, "stats")
    figures["stats_s"] = dt
    say(f"stats         {dt:.2f} s")
    dt, text = wb(db, "agreement")
    figures["agreement_s"] = dt
    f1 = [line for line in text.splitlines() if "annA" in line and "annB" in line][:1]
    say(f"agreement     {dt:.2f} s  {f1[0].strip() if f1 else ''}")
    exp = out / "annotations.jsonl"
    dt, text = wb(db, "export", "annotations", "-o", exp)
    n_lines = sum(1 for _ in open(exp, encoding="utf-8"))
    figures.update(export_s=dt, export_spans_per_s=n_lines / dt)
    say(
        f"export        annotations (jsonl, one span per line): {n_lines:,} spans in {dt:.2f} s = "
        f"{n_lines / dt:,.0f} spans/s"
    )
    dt, text = wb(db, "export", "annotations", "-o", out / "annotations.conll", "--format", "conll")
    say(f"export        annotations (conll): {dt:.2f} s")
    spacy_out = out / "annotations.spacy"
    dt, text = wb(db, "export", "annotations", "-o", spacy_out, "--format", "spacy", check=False)
    if spacy_out.exists():
        figures["export_spacy_s"] = dt
        say(f"export        annotations (spacy): {dt:.2f} s ({spacy_out.stat().st_size / 1e6:,.1f} MB)")
        spacy_out.unlink()
    else:
        say(
            f"export        annotations (spacy): not written ({text.strip().splitlines()[-1] if text.strip() else '?'})"
        )
    dt, _ = wb(db, "export", "documents", "-o", out / "documents.jsonl")
    say(f"export        documents: {n_docs:,} in {dt:.2f} s = {n_docs / dt:,.0f} docs/s")
    dt, _ = wb(db, "check", "--quick", "--no-spans")
    say(f"check         --quick --no-spans {dt:.2f} s")
    dt, _ = wb(db, "backup", out / "backup.db", "--force")
    figures["backup_s"] = dt
    say(f"backup        {dt:.2f} s ({db_size(out / 'backup.db') / 1e6:,.0f} MB)")
    (out / "backup.db").unlink()

    # 7. size
    size = db_size(db)
    figures["db_bytes"] = size
    say(f"database      {size / 1e6:,.0f} MB ({size / max(n_docs, 1) / 1e3:.1f} KB per document)")
    (out / ("figures-reused.json" if figures.get("reused_db") else "figures.json")).write_text(
        json.dumps(figures, indent=2)
    )
    if not a.keep and a.out is None:
        shutil.rmtree(out)
    else:
        say(f"kept          {out}")


if __name__ == "__main__":
    main()
