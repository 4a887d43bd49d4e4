"""Learning curve of the learned proposer against the rules, on a gold file.

For each fold (default: leave one document out), the learned proposer is trained on 1, 2,
4, … of the other documents (the first ones after the held-out document, in file order,
so every document is used) and both proposers propose the held-out documents; exact-match
micro and per-label F1 (``workbench.evaluate``) are summed over the folds. Also printed:
training seconds per size, the learned proposer's speed (chars/s of ``analyze``, the call
``workbench propose`` makes, on the held-out texts; the rules' beside it), the model size,
and the time to train on ``--train-docs`` documents (the gold's documents repeated under
new ids when it has fewer: the same characters count, not new information).

    python bench/learning_curve.py --gold FILE [--folds K] [--sizes 1,2,4] [--train-docs 20] [--json]

Lines need their ``text`` (as ``workbench export gold`` writes them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.core.labels import LABELS  # noqa: E402
from workbench.evaluate import GoldFileError, evaluate, read_gold  # noqa: E402
from workbench.propose import get_proposer  # noqa: E402
from workbench.propose.learned import LearnedProposer, folds, train  # noqa: E402


def load(path: str) -> list[dict]:
    try:
        gold = read_gold(path)
    except GoldFileError as e:
        sys.exit(str(e))
    docs = []
    for d in gold.docs:
        if "text" not in d:
            sys.exit(f'{path}:{d["line"]}: no "text" (export gold writes it)')
        docs.append({"id": d["id"], "text": d["text"], "spans": d["spans"]})
    return docs


def rate(fn, texts: list[str]) -> float:
    t0 = time.perf_counter()
    for t in texts:
        fn(t)
    dt = time.perf_counter() - t0
    return sum(map(len, texts)) / dt if dt else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", required=True, help="gold JSONL with text")
    ap.add_argument("--folds", type=int, default=0, help="K folds (default: one per document, leave-one-out)")
    ap.add_argument("--sizes", default="", help="training sizes, e.g. 1,2,4 (default: 1, 2, 4, … and all)")
    ap.add_argument("--train-docs", type=int, default=20, help="also time training on this many documents (0: skip)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    docs = load(args.gold)
    n = len(docs)
    if n < 2:
        sys.exit("need at least 2 gold documents")
    k = args.folds or n
    parts = folds([d["id"] for d in docs], k)
    pool_max = n - max(len(p) for p in parts)
    if args.sizes:
        sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    else:
        sizes, m = [], 1
        while m < pool_max:
            sizes.append(m)
            m *= 2
        sizes.append(pool_max)
    sizes = [m for m in sizes if 1 <= m <= pool_max]
    order = [d["id"] for d in docs]
    by_id = {d["id"]: d for d in docs}
    rules = get_proposer("rules")
    rules.analyze("初始化")

    gold = {d["id"]: d["spans"] for d in docs}
    rules_pred: dict[str, list[dict]] = {}
    learned_pred: dict[int, dict[str, list[dict]]] = {m: {} for m in sizes}
    train_s: dict[int, list[float]] = {m: [] for m in sizes}
    model_bytes = 0
    speed_learned: list[float] = []
    speed_rules: list[float] = []
    for part in parts:
        held = set(part)
        start = max(order.index(i) for i in part) + 1
        pool = [order[(start + j) % n] for j in range(n)]
        pool = [i for i in pool if i not in held]
        texts = [by_id[i]["text"] for i in part]
        for i in part:
            rules_pred[i] = rules.propose(by_id[i]["text"])
        speed_rules.append(rate(rules.analyze, texts))
        for m in sizes:
            t0 = time.perf_counter()
            data, figs = train([by_id[i] for i in pool[:m]])
            train_s[m].append(time.perf_counter() - t0)
            model_bytes = max(model_bytes, len(data))
            p = LearnedProposer.from_bytes(data, veto=figs["veto_labels"])
            p.analyze("初始化")
            for i in part:
                learned_pred[m][i] = p.propose(by_id[i]["text"])
            if m == sizes[-1]:
                speed_learned.append(rate(p.analyze, texts))
        print(f"fold {parts.index(part) + 1}/{len(parts)} done", file=sys.stderr, flush=True)

    res_rules = evaluate(gold, rules_pred, LABELS)["exact"]
    rows = []
    for m in sizes:
        ex = evaluate(gold, learned_pred[m], LABELS)["exact"]
        rows.append(
            {
                "train_docs": m,
                "train_seconds_mean": round(sum(train_s[m]) / len(train_s[m]), 2),
                "micro": ex["micro"]["f1"],
                "per_label": {L: ex["per_label"][L]["f1"] for L in LABELS},
            }
        )
    big = None
    if args.train_docs:
        many = [dict(by_id[order[j % n]], id=f"{order[j % n]}#{j}") for j in range(args.train_docs)]
        t0 = time.perf_counter()
        data, fig = train(many)
        big = {
            "documents": args.train_docs,
            "characters": fig["characters"],
            "seconds": round(time.perf_counter() - t0, 1),
            "model_bytes": len(data),
        }
        model_bytes = max(model_bytes, len(data))
    out = {
        "gold": args.gold,
        "documents": n,
        "folds": len(parts),
        "rules": {"micro": res_rules["micro"]["f1"], "per_label": {L: res_rules["per_label"][L]["f1"] for L in LABELS}},
        "learned": rows,
        "speed_chars_per_s": {
            "learned": round(sum(speed_learned) / len(speed_learned)),
            "rules": round(sum(speed_rules) / len(speed_rules)),
        },
        "model_bytes_max": model_bytes,
        "train_many": big,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    short = {"PERSON": "PER", "QUANTITY": "QTY", "PROGRAM": "PROG"}
    head = f"{'system':<18}{'train s':>8}{'micro':>8}" + "".join(f"{short.get(L, L):>7}" for L in LABELS)
    print(f"{out['folds']}-fold over {n} documents of {args.gold} (exact-match F1)")
    print(head)
    print("─" * len(head))
    r = out["rules"]
    print(f"{'rules':<18}{'':>8}{r['micro']:>8.3f}" + "".join(f"{r['per_label'][L]:>7.3f}" for L in LABELS))
    for row in rows:
        name = f"learned, {row['train_docs']} doc{'s' if row['train_docs'] != 1 else ''}"
        print(
            f"{name:<18}{row['train_seconds_mean']:>8.1f}{row['micro']:>8.3f}"
            + "".join(f"{row['per_label'][L]:>7.3f}" for L in LABELS)
        )
    sp = out["speed_chars_per_s"]
    print(f"propose speed (analyze, 1 process): learned {sp['learned']:,} chars/s, rules {sp['rules']:,} chars/s")
    print(f"largest model: {model_bytes / 1024:,.0f} KB")
    if big:
        print(
            f"training on {big['documents']} documents ({big['characters']:,} characters): {big['seconds']:.1f} s, "
            f"model {big['model_bytes'] / 1024:,.0f} KB"
        )


if __name__ == "__main__":
    main()
