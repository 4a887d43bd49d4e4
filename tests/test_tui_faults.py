"""Issue 12, "never a silent freeze" (the TUI half), re-proposing under an annotator, and the
control-character warning.

- Another program holds the database's write lock: a decision key shows "waiting for the
  database… N s" (N counting up), keys typed meanwhile are dropped with a message (never applied
  later, unseen), ``q`` / ctrl+c quit and name the decision that was not saved, and when the lock
  frees the decision is written, then shown. Before, annotate froze without a word for up to
  5 minutes (busy timeout x retries), ignored ``q`` and ctrl+c, then replayed every key.
- ``workbench propose`` run again while someone annotates: their next key just works (before:
  "FOREIGN KEY constraint failed" on every key of the document).
- A document flagged at ingest for control characters says so on screen.

The lock is held by a plain second sqlite3 connection (``BEGIN IMMEDIATE``). In the Pilot tests
the store's own waiting is cut short (``BUSY_TIMEOUT_MS``, ``WRITE_RETRIES``), so that the old
code fails in a second instead of freezing the test for five minutes.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time

import pytest
from pilot_helpers import press, run
from test_agreement import simulate
from test_crash import Terminal, pty_env
from test_session import DOC0, propose_gold

from workbench.review import ReviewSession
from workbench.session import AnnotationSession
from workbench.store import Store
from workbench.store import db as store_db
from workbench.tui.app import AnnotateApp
from workbench.tui.review_app import ReviewApp

SIZE = (160, 40)
PATIENCE = 20.0  # seconds a test waits for something to show up (generous: a loaded machine)


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def short_waits(monkeypatch):
    """The store gives up on a locked database after ~0.2 s instead of 5 minutes (so the old
    code, which blocked the screen for that long, fails quickly instead of hanging)."""
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(store_db, "WRITE_RETRIES", 2)


@pytest.fixture
def pdb(corpus_store, gold_docs) -> str:
    propose_gold(corpus_store, gold_docs)
    path = corpus_store.path
    corpus_store.close()
    return path


class Locker:
    """Another program holding the write lock (a transaction left open)."""

    def __init__(self, path: str):
        self.conn = sqlite3.connect(path, isolation_level=None)

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def release(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def __exit__(self, *exc):
        self.release()
        self.conn.close()


def status(app) -> str:
    return str(app.query_one("#status").render())


def header(app) -> str:
    return str(app.query_one("#header").render())


def decisions(path: str) -> list[dict]:
    with Store(path) as s:
        return s.query("SELECT * FROM decisions ORDER BY id")


async def until(pilot, pred, what: str, timeout: float = PATIENCE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _seconds(text: str) -> int | None:
    m = re.search(r"waiting for the database… (\d+) s", text)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------- annotate, locked


def test_annotate_waits_visibly_drops_keys_and_writes_when_the_lock_frees(pdb, short_waits):
    async def go():
        app = AnnotateApp(Store(pdb), "alice", use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            first = dict(s.current)
            cursor = s.cursor
            with Locker(pdb) as lock:
                await press(pilot, "a")
                await until(pilot, lambda: "waiting for the database" in status(app), "the waiting message")
                assert decisions(pdb) == []
                assert s.current["status"] == "pending"  # the screen claims nothing yet
                assert "0 done" in header(app)
                # the elapsed time counts up
                t0 = _seconds(status(app))
                assert t0 is not None
                await until(pilot, lambda: (_seconds(status(app)) or 0) > t0, "the elapsed time to count up")
                # keys typed meanwhile are dropped, with a word
                await press(pilot, "j", "x", "j", "3", "u")
                await until(pilot, lambda: "key ignored" in status(app), "the dropped-key message")
                assert s.cursor == cursor and decisions(pdb) == []
                lock.release()
                await until(pilot, lambda: "waiting for the database" not in status(app), "the write")
            await pilot.pause()
            rows = decisions(pdb)
            assert [(d["action"], d["proposal_id"]) for d in rows] == [("accept", first["proposal_id"])]
            assert s.items[s.index_of(first["key"])]["status"] == "accepted"
            assert "1 done" in header(app)
            assert "accepted" in status(app)
            # the dropped keys were never applied: the cursor moved once, for the accept only
            assert s.cursor == cursor + 1
            # and the app works on as before
            await press(pilot, "x")
            assert [d["action"] for d in decisions(pdb)] == ["accept", "reject"]

    run(go())


def test_annotate_quit_while_waiting_says_what_was_not_saved(pdb, short_waits):
    async def go():
        app = AnnotateApp(Store(pdb), "alice", use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            it = dict(app.session.current)
            with Locker(pdb):
                await press(pilot, "a")
                await until(pilot, lambda: "waiting for the database" in status(app), "the waiting message")
                await press(pilot, "q")
                await until(pilot, lambda: not app.is_running, "the app to quit")
        assert decisions(pdb) == []
        assert app.return_code == 1
        assert app.unsaved and app.unsaved[0].startswith("accept")
        assert it["text"] in app.unsaved[0] and app.session.doc_id in app.unsaved[0]

    run(go())


# ---------------------------------------------------------------------------- review, locked


@pytest.fixture
def sim_db(corpus_store, gold_docs) -> str:
    simulate(corpus_store, gold_docs, with_dave=False)
    path = corpus_store.path
    corpus_store.close()
    return path


def _review_actions(path: str) -> list[str]:
    with Store(path) as s:
        return [r["action"] for r in s.query("SELECT action FROM reviews WHERE action != 'agree' ORDER BY id")]


def test_review_waits_visibly_drops_keys_and_writes_when_the_lock_frees(sim_db, short_waits):
    async def go():
        session = ReviewSession(Store(sim_db), "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            first = session.current
            with Locker(sim_db) as lock:
                await press(pilot, "x")
                await until(pilot, lambda: "waiting for the database" in status(app), "the waiting message")
                assert _review_actions(sim_db) == [] and first.status == "open"
                await press(pilot, "j", "1", "space")
                await until(pilot, lambda: "key ignored" in status(app), "the dropped-key message")
                assert _review_actions(sim_db) == []
                lock.release()
                await until(pilot, lambda: "waiting for the database" not in status(app), "the write")
            await pilot.pause()
            assert _review_actions(sim_db) == ["reject"]
            assert first.status == "rejected"
            await press(pilot, "q")
        assert app.unsaved == []

    run(go())


def test_review_quit_while_waiting_says_what_was_not_saved(sim_db, short_waits):
    async def go():
        session = ReviewSession(Store(sim_db), "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            doc_id = session.current.doc_id
            with Locker(sim_db):
                await press(pilot, "1")
                await until(pilot, lambda: "waiting for the database" in status(app), "the waiting message")
                await press(pilot, "ctrl+c")
                await until(pilot, lambda: not app.is_running, "the app to quit")
        assert _review_actions(sim_db) == []
        assert app.unsaved and app.unsaved[0].startswith("pick version 1") and doc_id in app.unsaved[0]

    run(go())


# ---------------------------------------------------------------------------- in a real terminal


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")
@pytest.mark.parametrize("quit_key", ["q", "\x03"], ids=["q", "ctrl+c"])
def test_annotate_in_a_pty_quits_while_locked_and_names_the_unsaved_decision(pdb, tmp_path, quit_key):
    args = [sys.executable, "-c", "from workbench.cli import main; main()", "--db", pdb, "annotate"]
    args += ["--annotator", "alice"]
    term = Terminal(args, pty_env(tmp_path))
    with Store(pdb) as s:
        want = AnnotationSession(s, "alice").current
        assert want is not None
    try:
        term.wait_for(lambda sc: "doc 1/5" in sc.text(), "the first screen")
        with Locker(pdb):
            term.press("a")
            term.wait_for(lambda sc: "waiting for the database" in sc.text(), "the waiting message", PATIENCE)
            term.press("j")
            term.wait_for(lambda sc: "key ignored" in sc.text(), "the dropped-key message", PATIENCE)
            term.press(quit_key)
            end = time.monotonic() + PATIENCE
            while term.proc.poll() is None and time.monotonic() < end:
                term.pump(0.05)
            assert term.proc.poll() is not None, "annotate did not quit while the database was locked"
            while term.pump(0.05):
                pass
    finally:
        term.kill()
    out = bytes(term.raw).decode("utf-8", "replace")
    assert "not saved: accept" in out and want["text"] in out, out[-600:]
    assert decisions(pdb) == []
    assert term.proc.returncode == 1  # a script running annotate sees that something was lost


# ---------------------------------------------------------------------------- propose again while annotating


def _proposal_of(path: str, pid: int) -> dict | None:
    with Store(path) as s:
        rows = s.query('SELECT id, start, "end", label, active FROM proposals WHERE id = ?', (pid,))
    return rows[0] if rows else None


def test_repropose_same_run_while_annotating_next_key_just_works(pdb, gold_docs):
    async def go():
        app = AnnotateApp(Store(pdb), "alice", use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            await press(pilot, "a")  # one decision on the document before
            it = dict(s.current)
            # propose runs again (the same proposer and version) from another process
            with Store(pdb) as other:
                propose_gold(other, gold_docs)
            await press(pilot, "a")
            assert "FOREIGN KEY" not in status(app)
            rows = decisions(pdb)
            assert [d["action"] for d in rows] == ["accept", "accept"]
            p = _proposal_of(pdb, rows[-1]["proposal_id"])
            assert p is not None and (p["start"], p["end"], p["label"]) == (it["start"], it["end"], it["label"])
            assert p["active"] == 1
            await press(pilot, "3")  # and the next key too
            assert [d["action"] for d in decisions(pdb)][-1] in ("edit", "accept")
            assert "FOREIGN KEY" not in status(app)

    run(go())


def _doc0_spans(gold_docs) -> list[dict]:
    return sorted((dict(x) for x in gold_docs[DOC0]["spans"]), key=lambda x: (x["start"], x["end"]))


def test_repropose_with_a_changed_proposal_records_against_its_new_row(pdb, gold_docs):
    """The proposal under the cursor comes back with other attrs (a new row, a new id): the
    key is recorded against the new proposal of the same span."""

    async def go():
        app = AnnotateApp(Store(pdb), "alice", use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            it = dict(s.current)
            spans = _doc0_spans(gold_docs)
            for x in spans:
                if (x["start"], x["end"], x["label"]) == (it["start"], it["end"], it["label"]) and x["label"] != (
                    "QUANTITY"
                ):
                    x["attrs"] = {"note": "rerun"}
            with Store(pdb) as other:
                other.replace_proposals(DOC0, "test", "1", spans)
                assert other.count("proposals", "id = ?", (it["proposal_id"],)) == 0  # really a new row
            await press(pilot, "a")
            assert "FOREIGN KEY" not in status(app)
            (d,) = decisions(pdb)
            assert d["action"] == "accept" and d["proposal_id"] != it["proposal_id"]
            p = _proposal_of(pdb, d["proposal_id"])
            assert p is not None and (p["start"], p["end"], p["label"]) == (it["start"], it["end"], it["label"])
            assert "proposals changed" in status(app)

    run(go())


def test_repropose_without_the_current_proposal_applies_nothing_and_says_so(pdb, gold_docs):
    async def go():
        app = AnnotateApp(Store(pdb), "alice", use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            it = dict(s.current)
            spans = [
                x
                for x in _doc0_spans(gold_docs)
                if (x["start"], x["end"], x["label"]) != (it["start"], it["end"], it["label"])
            ]
            with Store(pdb) as other:
                other.replace_proposals(DOC0, "test", "1", spans)
            await press(pilot, "a")
            assert decisions(pdb) == []
            assert "the proposals changed: reloaded" in status(app)
            assert "FOREIGN KEY" not in status(app)
            assert it["key"] not in {x["key"] for x in s.items}
            assert len(s.items) == len(spans)
            await press(pilot, "a")  # the next key works on the reloaded list
            (d,) = decisions(pdb)
            assert _proposal_of(pdb, d["proposal_id"]) is not None

    run(go())


def test_replace_proposals_keeps_unchanged_rows(corpus_store, gold_docs):
    """The same run again keeps the rows of the spans it proposes again (same ids), so nobody
    holding them is left with an id that is gone."""
    propose_gold(corpus_store, gold_docs)
    before = {(p["start"], p["end"], p["label"]): p["id"] for p in corpus_store.proposals(DOC0)}
    spans = _doc0_spans(gold_docs)
    dropped = spans.pop(0)
    other = "ORG" if dropped["label"] != "ORG" else "LOC"
    added = {"start": dropped["start"], "end": dropped["end"], "label": other, "text": dropped["text"]}
    corpus_store.replace_proposals(DOC0, "test", "1", [*spans, added])
    after = {(p["start"], p["end"], p["label"]): p["id"] for p in corpus_store.proposals(DOC0)}
    kept = {k: v for k, v in before.items() if k != (dropped["start"], dropped["end"], dropped["label"])}
    assert {k: after[k] for k in kept} == kept
    assert (dropped["start"], dropped["end"], dropped["label"]) not in after
    assert (added["start"], added["end"], other) in after
    assert corpus_store.count("proposals", "doc_id = ?", (DOC0,)) == len(spans) + 1


# ---------------------------------------------------------------------------- control characters


def _flag(path: str, doc_id: str, flag) -> None:
    with Store(path) as s, s.write() as c:
        flags = json.loads(c.execute("SELECT flags FROM documents WHERE id = ?", (doc_id,)).fetchone()[0])
        flags["control_chars"] = flag
        c.execute("UPDATE documents SET flags = ? WHERE id = ?", (json.dumps(flags), doc_id))


def test_annotate_warns_about_a_document_with_control_characters(pdb):
    _flag(pdb, DOC0, {"count": 3, "first": 12})

    async def go():
        app = AnnotateApp(Store(pdb), "alice", use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for _ in range(100):  # on a loaded machine the first paint may come later
                if header(app) and status(app):
                    break
                await pilot.pause(0.05)
            assert app.session.doc_id == DOC0
            shown = header(app) + status(app)
            assert "⚠" in shown and "3 control characters" in shown and "␛" in shown
            await press(pilot, "tab")  # the next document has no flag: no warning
            assert "control characters" not in header(app) + status(app)
            await press(pilot, "shift+tab")
            assert "3 control characters" in header(app) + status(app)

    run(go())


def test_review_warns_about_a_document_with_control_characters(sim_db):
    with Store(sim_db) as s:
        ids = s.document_ids()
    for doc_id in ids:
        _flag(sim_db, doc_id, {"count": 2, "first": 0})

    async def go():
        session = ReviewSession(Store(sim_db), "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for _ in range(100):  # on a loaded machine the first paint may come later
                if "control characters" in header(app) + status(app):
                    break
                await pilot.pause(0.05)
            shown = header(app) + status(app)
            assert "⚠" in shown and "2 control characters" in shown

    run(go())


def test_accept_all_after_a_repropose_that_dropped_one_applies_nothing(pdb, gold_docs):
    """The batch was confirmed for proposals one of which is gone: none of it is written (one
    transaction), the document is reloaded and the annotator told."""
    with Store(pdb) as store:
        s = AnnotationSession(store, "alice")
        spans = _doc0_spans(gold_docs)[1:]  # the first proposal is not proposed again
        with Store(pdb) as other:
            other.replace_proposals(DOC0, "test", "1", spans)
        ch = s.accept_all()
        assert "the proposals changed: reloaded" in ch.message
        assert store.decisions(DOC0) == []
        assert len(s.items) == len(spans) and s.pending_count == len(spans)
        s.accept_all()  # on the reloaded list it works
        assert len(store.decisions(DOC0)) == len(spans)
