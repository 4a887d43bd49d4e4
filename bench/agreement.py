"""``workbench agreement`` loading: one streaming pass over the decision log
(``Store.annotation_groups``) against the per-document loader it replaced (two queries
and a dict per proposal of every (annotator, finished document)), in one run.

    python bench/agreement.py [--copies 200] [--annotators 3]

The bundled corpus is repeated ``--copies`` times (as distinct documents), proposed with
the ``numbers`` proposer, and each annotator accepts or rejects every proposal
(seeded at random), adds a span now and then, and finishes every document. Prints the
time of each loader (best of 3, alternating), their ratio, and the time of the whole
report (load + figures), after checking the two loaders give the same set.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.agreement import AnnotationSet, agreement_report  # noqa: E402
from workbench.core.spans import final_spans  # noqa: E402
from workbench.ingest import ingest_paths  # noqa: E402
from workbench.propose.run import propose_store  # noqa: E402
from workbench.review import load_annotation_set  # noqa: E402
from workbench.store import Store  # noqa: E402


def per_document_loader(store) -> AnnotationSet:
    """The loader before the streaming pass (review/readiness.py before this bench)."""
    spans: dict = {}
    decisions: dict = {}
    docs: set = set()
    for ann in store.annotators():
        spans[ann], decisions[ann] = {}, {}
        for doc_id in store.finished_docs(ann):
            items = store.annotator_items(doc_id, ann)
            spans[ann][doc_id] = final_spans(items)
            dec = {}
            for it in items:
                if it["proposal_id"] is not None and it["status"] in ("accepted", "edited", "rejected"):
                    lab = (it.get("proposal") or {}).get("label") or it["label"]
                    dec[it["proposal_id"]] = (lab, "reject" if it["status"] == "rejected" else "accept")
            decisions[ann][doc_id] = dec
            docs.add(doc_id)
    return AnnotationSet(
        docs=store.document_sizes(docs),
        spans={a: d for a, d in spans.items() if d},
        decisions={a: d for a, d in decisions.items() if d},
    )


def build(tmp: Path, copies: int, annotators: int) -> Store:
    src = tmp / "corpus.jsonl"
    texts = sorted((ROOT / "workbench" / "data" / "corpus").glob("*.txt"))
    with src.open("w", encoding="utf-8") as fh:
        for r in range(copies):
            for p in texts:
                rec = {"id": f"{p.stem}#{r}", "text": p.read_text(encoding="utf-8")}
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    store = Store(str(tmp / "agreement.db"), create=True)
    ingest_paths(store, [src])
    propose_store(store, proposer="numbers")
    rng = random.Random(3)
    for doc in store.document_ids():
        props = store.proposals(doc)
        text = store.get_document(doc)["text"]
        for k in range(annotators):
            acts = []
            for p in props:
                span = {"start": p["start"], "end": p["end"], "label": p["label"], "text": p["text"]}
                act = "accept" if rng.random() < 0.9 else "reject"
                acts.append({"action": act, "proposal_id": p["id"], "attrs": p["attrs"], **span})
            if rng.random() < 0.3:
                s = rng.randrange(0, len(text) - 4)
                acts.append({"action": "add", "start": s, "end": s + 3, "label": "LOC", "text": text[s : s + 3]})
            acts.append({"action": "finish"})
            store.record_decisions(doc, f"a{k + 1}", acts, origin="import")
    return store


def best(fn, rounds: int = 3) -> float:
    out = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=200)
    ap.add_argument("--annotators", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wb-agree-") as tmp:
        store = build(Path(tmp), args.copies, args.annotators)
        n_dec = store.stats()["decisions"]
        print(f"{store.stats()['documents']:,} documents, {args.annotators} annotators, {n_dec:,} decisions")
        old, new = per_document_loader(store), load_annotation_set(store)
        assert (old.docs, old.spans, old.decisions) == (new.docs, new.spans, new.decisions), "loaders differ"
        times: dict[str, float] = {}
        for _ in range(3):
            for name, fn in (("per document (before)", per_document_loader), ("one pass (now)", load_annotation_set)):
                times[name] = min(times.get(name, 1e9), best(lambda fn=fn: fn(store), rounds=1))
        for name, dt in times.items():
            print(f"load {name:22s} {dt:7.3f} s")
        print(f"ratio load before/now: {times['per document (before)'] / times['one pass (now)']:.2f}x")
        report = best(lambda: agreement_report(load_annotation_set(store)), rounds=2)
        figures = best(lambda: agreement_report(new), rounds=2)
        print(f"agreement report (load + figures) {report:.3f} s; figures alone {figures:.3f} s")
        store.close()


if __name__ == "__main__":
    main()
