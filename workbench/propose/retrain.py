"""Learning while annotating: retrain the learned proposer after every N finished documents
and re-propose the documents nobody has started.

:func:`training_documents` is the training set of ``workbench train --with-annotations``
(the database's gold, plus each finished annotation of a document without gold), and the
same set is what "finished documents" counts here. :func:`retrain_once` is one check: when at
least ``every`` of those are new since the latest model was trained (not in its training
documents), train (outside any transaction), store the model row, and propose with
``learned`` (:func:`workbench.propose.run.propose_store`) on the documents nobody has started:
no decision by anyone, no gold; with assignments, the assigned ones. Each document's write
checks again, inside the write transaction, that still nobody has started it
(:class:`_UnstartedOnly`), so a decision made meanwhile is never followed by new proposals
under it. Decisions on older runs stay valid anyway (versioned runs).

:class:`Worker` runs the checks in a loop for ``workbench retrain`` (and the process
``workbench annotate`` starts): one worker per database (the lock row of
:mod:`workbench.store.retrain`, renewed by a heartbeat thread), exits when its parent
process is gone, writes what it does to the status note (never to a terminal it does not
own), turns every failure into that note (no package, no gold, a busy or read-only
database) and backs off.

App layer: no Textual, no click; jieba and the CRF are imported only when training.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable

from ..core.tempfiles import pid_alive
from ..store import Store, StoreError, now_iso
from . import ProposerUnavailable

DEFAULT_EVERY = 5
POLL_SECONDS = 3.0
HEARTBEAT_SECONDS = 10.0
MAX_BACKOFF = 60.0
SOURCE = "learned"
SAME_AS_FAILED = "same documents as the last failed attempt"


class Stopped(Exception):
    """The worker was asked to stop (its parent left, a signal) between two steps."""


# ---------------------------------------------------------------------------- training set


def _annotation_pairs(store, gold_ids: set[str], order: list[str]) -> list[tuple[str, str]]:
    rank = {d: k for k, d in enumerate(order)}
    return sorted(
        ((d, a) for a in store.annotators() for d in store.finished_docs(a) if d not in gold_ids),
        key=lambda p: (rank.get(p[0], len(rank)), p[1]),
    )


def training_ids(store) -> list[str]:
    """Ids of the training documents, cheaply (no texts): gold document ids, then
    ``"doc@annotator"`` for each finished annotation of a document without gold."""
    gold_ids = store.gold_document_ids()
    order = store.document_ids()
    return [i for i in order if i in gold_ids] + [f"{d}@{a}" for d, a in _annotation_pairs(store, gold_ids, order)]


def training_documents(store, with_annotations: bool) -> tuple[list[dict], int, int]:
    """``({"id", "text", "spans"}…, gold documents, annotated documents)`` in ingest order.
    With annotations: each finished (document, annotator) without gold is one more document
    (id ``doc@annotator``, the annotator's final spans)."""
    gold_ids = store.gold_document_ids()
    order = store.document_ids()
    docs = [{"id": i, "text": store.document_text(i), "spans": store.gold_rows(i)} for i in order if i in gold_ids]
    n_gold = len(docs)
    if with_annotations:
        for doc_id, annotator in _annotation_pairs(store, gold_ids, order):
            spans = [dict(s) for s in store.annotator_spans(doc_id, annotator)]
            docs.append({"id": f"{doc_id}@{annotator}", "text": store.document_text(doc_id), "spans": spans})
    return docs, n_gold, len(docs) - n_gold


def train_and_save(store, docs: list[dict], n_gold: int, n_ann: int, *, extra_figures: dict | None = None):
    """Train the CRF on ``docs`` and store the model row; returns ``(row, new, figures)``.
    Raises :class:`~workbench.propose.learned.TrainingError` / :class:`ProposerUnavailable`."""
    from workbench.core.labels import LABELS

    from .learned import MODEL_NAME, model_params
    from .learned import train as train_model

    data, figures = train_model(docs)
    figures["gold_documents"] = n_gold
    figures["annotated_documents"] = n_ann
    figures.update(extra_figures or {})
    row, new = store.save_model(
        MODEL_NAME,
        data,
        labels=list(LABELS),
        documents=[d["id"] for d in docs],
        figures=figures,
        params=model_params(),
        created_at=now_iso(),
    )
    return row, new, figures


# ---------------------------------------------------------------------------- one check


class _UnstartedOnly:
    """The store as :func:`propose_store` sees it, except that a document someone has
    started is not re-proposed: ``replace_proposals`` runs inside propose_store's write
    transaction, so the check and the write are one (``BEGIN IMMEDIATE`` holds the lock)."""

    def __init__(self, store):
        self._store = store
        self.skipped: list[str] = []

    def __getattr__(self, name):
        return getattr(self._store, name)

    def replace_proposals(self, doc_id, *args, **kwargs) -> int:
        if self._store.document_started(doc_id):
            self.skipped.append(doc_id)
            return 0
        return self._store.replace_proposals(doc_id, *args, **kwargs)


def new_since_model(store) -> tuple[list[str], list[str], dict | None]:
    """``(training ids, those not in the latest model's training documents, latest model row)``."""
    from .learned import MODEL_NAME

    ids = training_ids(store)
    row = store.latest_model(MODEL_NAME)
    trained = set(row["documents"]) if row else set()
    return ids, [i for i in ids if i not in trained], row


def repropose(
    store,
    version: str,
    *,
    status: Callable[[int, int], None] | None = None,
    check: Callable[[], None] | None = None,
) -> tuple[int, int]:
    """Propose with ``learned`` on the documents nobody has started (those not proposed with
    ``version`` yet), in one :func:`propose_store` run (the model is loaded once); returns
    ``(re-proposed, skipped)``. ``status(done, total)`` and ``check()`` (raise to stop) run as
    results are written (propose_store writes a few documents per transaction)."""
    from .run import propose_store

    todo = store.unstarted_documents(source=SOURCE, version=version)
    if not todo:
        return 0, 0
    guard = _UnstartedOnly(store)
    reached = [0]

    def progress(done: int, total: int) -> None:
        reached[0] = done
        if status is not None:
            status(done, total)
        if check is not None and done < total:
            check()

    if check is not None:
        check()
    propose_store(guard, SOURCE, doc_ids=todo, progress=progress)
    return reached[0] - len(guard.skipped), len(guard.skipped)


def retrain_once(
    store,
    every: int,
    *,
    force: bool = False,
    status: Callable[[dict], None] | None = None,
    check: Callable[[], None] | None = None,
    skip_ids: frozenset[str] | None = None,
) -> dict:
    """One check. Returns the outcome ``{"state", …}``: ``waiting`` (fewer than ``every``
    new finished documents; ``finished``, ``new``), ``trained`` (``model``, ``model_new``,
    ``docs``, ``reproposed``, ``skipped``, ``seconds``), ``error`` (``error``: one line).
    ``status(note)`` is told each step (training, proposing i/n). ``skip_ids``: the training
    set of an attempt that failed: not tried again until it changes."""
    from .learned import TrainingError, crfsuite

    every = max(1, int(every))
    ids, new, row = new_since_model(store)
    base = {"every": every, "finished": len(ids), "new": len(new), "model": row["version"] if row else None}
    if not ids:
        return {**base, "state": "waiting", "reason": "no gold or finished documents yet"}
    if not force and len(new) < every:
        return {**base, "state": "waiting"}
    if skip_ids is not None and frozenset(ids) == skip_ids:
        return {**base, "state": "waiting", "reason": SAME_AS_FAILED}
    try:
        crfsuite()
    except ProposerUnavailable as e:
        return {**base, "state": "error", "error": str(e), "ids": ids}
    t0 = time.perf_counter()
    if status is not None:
        status({**base, "state": "training", "docs": len(ids)})
    docs, n_gold, n_ann = training_documents(store, True)
    try:
        row, is_new, figures = train_and_save(store, docs, n_gold, n_ann, extra_figures={"retrained": True})
    except (TrainingError, ProposerUnavailable) as e:
        return {**base, "state": "error", "error": str(e), "ids": ids}
    trained = {
        **base,
        "new": 0,
        "model": row["version"],
        "model_new": is_new,
        "trained_at": row["created_at"],
        "docs": len(docs),
        "train_seconds": figures.get("seconds"),
    }

    def progress(done: int, total: int) -> None:
        if status is not None:
            status({**trained, "state": "proposing", "done": done, "total": total})

    progress(0, len(store.unstarted_documents(source=SOURCE, version=row["version"])))
    n, skipped = repropose(store, row["version"], status=progress, check=check)
    return {
        **trained,
        "state": "trained",
        "reproposed": n,
        "skipped": skipped,
        "seconds": round(time.perf_counter() - t0, 2),
        "ids": ids,
    }


# ---------------------------------------------------------------------------- the worker


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split()) or type(e).__name__
    return msg[:300]


class Worker:
    """Retrain in a loop: ``every`` finished documents, polling every ``poll`` seconds.

    ``parent``: a process id; the worker stops when that process is gone (or when it is no
    longer this process' parent). ``log(line)``: where a line of progress goes (``workbench
    retrain`` prints it; the process annotate starts has none). ``once``: one check, then stop
    (``busy`` if another worker holds the lock)."""

    def __init__(
        self,
        path: str,
        every: int,
        *,
        parent: int | None = None,
        poll: float = POLL_SECONDS,
        heartbeat: float = HEARTBEAT_SECONDS,
        log: Callable[[str], None] | None = None,
        force: bool = False,
    ):
        self.path = path
        self.every = max(1, int(every))
        self.parent = parent
        self.poll = poll
        self.heartbeat = heartbeat
        self.log = log or (lambda line: None)
        self.force = force
        self.stop = threading.Event()
        self.store: Store | None = None
        self.note: dict = {}
        self._written: dict | None = None
        self._failed: frozenset[str] | None = None
        self._backoff = 0.0
        self._beats: threading.Thread | None = None
        self._seen: tuple | None = None  # the store's retrain_fingerprint at the last check
        self._last: dict = {"state": "waiting"}

    # -- plumbing
    def parent_gone(self) -> bool:
        if self.parent is None:
            return False
        return not pid_alive(self.parent) or os.getppid() != self.parent

    def check(self) -> None:
        if self.stop.is_set() or self.parent_gone():
            self.stop.set()
            raise Stopped

    def _open(self) -> Store:
        if self.store is None:
            s = Store(self.path, create=False)
            s.write_timeout = 2.0  # busy: StoreBusy at once, the worker backs off and tries later
            self.store = s
        return self.store

    def _status(self, note: dict) -> None:
        """Write the status note when what it says changed (keeps the last model's fields)."""
        keep = {k: self.note[k] for k in ("model", "model_new", "trained_at", "reproposed", "docs") if k in self.note}
        self.note = {**keep, **{k: v for k, v in note.items() if k != "ids"}, "pid": os.getpid()}
        if self.note != self._written and self.store is not None:
            try:
                self.store.set_retrain_status(self.note)
                self._written = dict(self.note)
            except (sqlite3.Error, StoreError):
                pass  # the database is busy or read-only: the next step says it again

    def _heartbeats(self) -> None:
        """A thread with its own connection: renews the lock while the main thread trains,
        and ends the process when the parent is gone and the main thread cannot stop (inside
        the CRF's training) within a few seconds."""
        store = None
        last = time.monotonic()
        gone_at: float | None = None
        while True:
            stopped = self.stop.wait(1.0)
            now = time.monotonic()
            if self.parent_gone():
                self.stop.set()
                gone_at = gone_at or now
                if now - gone_at > 5.0:
                    os._exit(0)  # the lock is left to a dead pid: the next worker takes it over
                time.sleep(0.5)
                continue
            if stopped:
                break
            if now - last >= self.heartbeat:
                last = now
                try:
                    if store is None:
                        store = Store(self.path, create=False)
                        store.write_timeout = 2.0
                    store.renew_retrain_lock()
                except (sqlite3.Error, StoreError):
                    pass
        if store is not None:
            store.close()

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.stop.wait(min(1.0, max(0.0, end - time.monotonic()))):
                return
            if self.parent_gone():
                self.stop.set()
                return

    # -- the loop
    def step(self) -> dict:
        """One check under the lock; returns the outcome (``busy``: another worker holds it)."""
        store = self._open()
        if not store.acquire_retrain_lock():
            return {"state": "busy"}
        seen = store.retrain_fingerprint()
        if seen == self._seen and not self.force:
            return self._last  # no decision, gold or model since the last check
        out = retrain_once(
            store, self.every, force=self.force, status=self._report, check=self.check, skip_ids=self._failed
        )
        self.force = False
        # taken before the check: a decision made during it is seen at the next poll; after a
        # training, check again (the new model row moved it anyway)
        self._seen = None if out["state"] == "trained" else seen
        self._last = out
        if out.get("reason") == SAME_AS_FAILED:
            return out  # the note still says why the last attempt failed
        if out["state"] == "error":
            self._failed = frozenset(out.get("ids") or ())
            self.log(f"retrain: {out['error']}")
            self._status(out)
        elif out["state"] == "trained":
            self._failed = None
            self.log(
                f"trained crf {out['model']} on {out['docs']} documents; re-proposed {out['reproposed']} "
                f"not started ({out['skipped']} started meanwhile left alone) in {out['seconds']:.1f} s"
            )
            self._status({**out, "state": "idle"})
        else:
            self._status(out)
        return out

    def _report(self, note: dict) -> None:
        self._status(note)
        if note["state"] == "training":
            self.log(f"training on {note['docs']} documents…")

    def run(self, *, once: bool = False) -> dict:
        """Check until stopped (``once``: one check). Returns the last outcome."""
        out: dict = {"state": "stopped"}
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self._terminate())
        self._beats = threading.Thread(target=self._heartbeats, name="retrain-heartbeat", daemon=True)
        self._beats.start()
        try:
            while not self.stop.is_set():
                try:
                    out = self.step()
                    self._backoff = 0.0
                except Stopped:
                    break
                except (sqlite3.Error, StoreError) as e:
                    # busy or read-only: say so if possible, wait longer each time
                    self._backoff = min(MAX_BACKOFF, max(self.poll, self._backoff * 2 or self.poll))
                    out = {"state": "error", "error": f"database: {_one_line(e)}; trying again"}
                    self._status(out)
                    self.log(f"retrain: {out['error']} in {self._backoff:.0f} s")
                except Exception as e:  # never a traceback: the note says what broke
                    self._backoff = min(MAX_BACKOFF, max(self.poll, self._backoff * 2 or self.poll))
                    out = {"state": "error", "error": f"{type(e).__name__}: {_one_line(e)}"}
                    self._status(out)
                    self.log(f"retrain: {out['error']}")
                if once:
                    break
                self._sleep(self._backoff or self.poll)
        finally:
            self.stop.set()
            self._finish()
        return out

    def _terminate(self) -> None:
        self.stop.set()  # the loop stops between two steps (a training under way ends first)

    def _finish(self) -> None:
        store = self.store
        if store is None:
            return
        try:
            if store.holds_retrain_lock():
                if self.note:
                    self._status({**self.note, "state": "stopped"})
                store.release_retrain_lock()
        except (sqlite3.Error, StoreError):
            pass
        store.close()
        self.store = None


# ---------------------------------------------------------------------------- the header note


def _docs(n) -> str:
    return f"{n} doc" if n == 1 else f"{n} docs"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def status_note(status: dict | None, alive: bool, *, doc_model: str | None = None) -> str | None:
    """The annotate header's few words on retraining, from the status note (None: nothing to
    say: no worker running). ``doc_model``: the model version the header already shows for
    the open document (not repeated)."""
    if not alive or not isinstance(status, dict):
        return None
    state = status.get("state")
    model = status.get("model")
    every = status.get("every") or DEFAULT_EVERY
    if state == "training":
        return f"retraining on {_docs(status.get('docs', '?'))}…"
    if state == "proposing":
        return f"re-proposing {status.get('done', 0)}/{status.get('total', '?')}…"
    if state == "error":
        err = str(status.get("error") or "failed")
        if "python-crfsuite" in err:
            err = "needs python-crfsuite"
        return f"retrain: {_clip(err, 40)}"
    left = max(0, int(every) - int(status.get("new") or 0))
    shown = model is not None and model == doc_model
    if model and not status.get("new") and "reproposed" in status:
        if shown:
            return f"new model · {_docs(status['reproposed'])} re-proposed"
        return f"model {model} new · {_docs(status['reproposed'])} re-proposed"
    if model:
        return f"retrains in {_docs(left)}" if shown else f"model {model} · retrains in {_docs(left)}"
    if not status.get("finished"):
        return f"retrains after {every} finished docs (none yet)"
    return f"retrains after {left} more finished {'doc' if left == 1 else 'docs'}"


__all__ = [
    "DEFAULT_EVERY",
    "Stopped",
    "Worker",
    "new_since_model",
    "repropose",
    "retrain_once",
    "status_note",
    "train_and_save",
    "training_documents",
    "training_ids",
]
