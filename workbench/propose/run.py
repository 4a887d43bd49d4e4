"""Run a proposer over the documents of a store.

Workers (``jobs > 1``: separate processes) only compute spans and word
boundaries from texts; the calling process alone writes to SQLite, in short
transactions of a few documents, so annotators working at the same time are
never blocked for long.

Re-running stores a new run: the store marks the earlier run of the same
proposer inactive but keeps it, so decisions made on its proposals stay valid.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from . import Proposer, get_proposer

# documents are sent to workers in chunks of about this many characters
CHUNK_CHARS = 40_000
CHUNK_DOCS = 64
WRITE_BATCH = 50

_worker_proposer: Proposer | None = None


def _init_worker(name: str, bound: Proposer | None = None) -> None:
    global _worker_proposer
    _worker_proposer = bound if bound is not None else get_proposer(name)
    _worker_proposer.analyze("初始化")  # load jieba once per process


Result = tuple[str, list[dict], "array[int] | None", int]  # (doc id, spans, word starts, characters)


def _analyze(p: Proposer, doc_id: str, text: str) -> Result:
    spans, words = p.analyze(text)
    # word starts as an unsigned-int array: pickled as one bytes block (not ~1,700 ints
    # per document), and the store packs it as it is
    # (a plugin proposer that segments nothing may give None: the store keeps no word starts)
    return doc_id, spans, array("I", words) if words is not None else None, len(text)


def _work(chunk: list[tuple[str, str]]) -> tuple[list[Result], float]:
    """A chunk's results and the CPU seconds the worker spent on them."""
    p = _worker_proposer
    assert p is not None, "_init_worker runs first in every worker"
    t = time.process_time()
    out = [_analyze(p, doc_id, text) for doc_id, text in chunk]
    return out, time.process_time() - t


def _chunks(docs: Iterable[dict]) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    size = 0
    for d in docs:
        chunk.append((d["id"], d["text"]))
        size += len(d["text"])
        if size >= CHUNK_CHARS or len(chunk) >= CHUNK_DOCS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def propose_store(
    store,
    proposer: str | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    doc_ids: Iterable[str] | None = None,
) -> dict:
    """Propose spans for every document (or only ``doc_ids``) and store them.

    ``proposer``: a registered name (default ``rules``); ``jobs``: worker
    processes (1 = in this process); ``progress(done, total)`` is called with
    document counts as results are written. Returns ``{"documents",
    "proposals", "characters", "seconds", "proposer", "version", "jobs"}`` and where
    the time went: ``analyze_seconds`` (CPU in the proposer, summed over the
    processes), ``write_seconds`` (the store's writes, in this process) and
    ``wait_seconds`` (this process waiting for workers).
    Raises KeyError for an unknown proposer name, :class:`ProposerUnavailable` for one that
    cannot run on this database (``learned`` without a trained model).
    """
    p = get_proposer(proposer)
    bind = getattr(p, "for_store", None)
    if bind is not None:  # a proposer that reads the database (learned: its latest model)
        p = bind(store)
    ids = list(doc_ids) if doc_ids is not None else None
    total = len(ids) if ids is not None else store.count("documents")
    jobs = max(1, int(jobs or 1))
    t_load = time.perf_counter()
    if jobs == 1 or total <= 1:
        p.analyze("初始化")  # load jieba's dictionary before timing the run
    load_seconds = time.perf_counter() - t_load
    t0 = time.perf_counter()
    counts = {"documents": 0, "proposals": 0, "characters": 0}
    phases = {"analyze": 0.0, "write": 0.0, "wait": 0.0}
    pending_writes: list[Result] = []

    def flush():
        if not pending_writes:
            return
        tw = time.perf_counter()
        with store.write():
            for doc_id, spans, words, n in pending_writes:
                counts["proposals"] += store.replace_proposals(doc_id, p.name, p.version, spans, words=words)
                counts["documents"] += 1
                counts["characters"] += n
        pending_writes.clear()
        phases["write"] += time.perf_counter() - tw
        if progress is not None:
            progress(counts["documents"], total)

    def collect(results):
        pending_writes.extend(results)
        if len(pending_writes) >= WRITE_BATCH:
            flush()

    docs = store.iter_documents(ids=ids)
    if jobs == 1 or total <= 1:
        for d in docs:
            ta = time.process_time()
            r = _analyze(p, d["id"], d["text"])
            phases["analyze"] += time.process_time() - ta
            collect([r])
    else:
        # fork where available: workers inherit the loaded proposer and jieba
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        if ctx.get_start_method() == "fork":
            p.analyze("初始化")
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(p.name, p if bind is not None else None)) as pool:
            window: deque = deque()

            def take() -> None:
                tw = time.perf_counter()
                results, cpu = window.popleft().get()
                phases["wait"] += time.perf_counter() - tw
                phases["analyze"] += cpu
                collect(results)

            for chunk in _chunks(docs):
                window.append(pool.apply_async(_work, (chunk,)))
                while len(window) > 2 * jobs:
                    take()
            while window:
                take()
    flush()
    return {
        "documents": counts["documents"],
        "proposals": counts["proposals"],
        "characters": counts["characters"],
        "seconds": round(time.perf_counter() - t0, 3),
        "load_seconds": round(load_seconds, 3),
        "analyze_seconds": round(phases["analyze"], 3),
        "write_seconds": round(phases["write"], 3),
        "wait_seconds": round(phases["wait"], 3),
        "proposer": p.name,
        "version": p.version,
        "jobs": jobs,
    }
