"""Learning while annotating (issue 15): after every N finished documents a background worker
retrains the learned proposer and re-proposes the documents nobody has started; one worker per
database (a lock row), it exits with its parent, and every failure ends in the status note the
annotate header shows.

Made-up tiny reports (a sentence or two each) keep every training under a second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from pilot_helpers import annotate_painted, header_plain, run

from workbench.cli import cli
from workbench.propose.retrain import (
    Worker,
    repropose,
    retrain_once,
    status_note,
    training_documents,
    training_ids,
)
from workbench.store import Store

# made-up sentences (not from the gold): a person, a place, an organization, a date, a quantity
TEXTS = [
    "2023年3月，王建国在青松县调研，县农业局投入资金3亿元。",
    "2022年5月，李红梅到白河镇检查，市交通局安排资金2000万元。",
    "2021年9月，赵志强在东坪乡座谈，省水利厅下达资金5亿元。",
    "2020年7月，孙丽华到南湖区走访，区教育局建成学校12所。",
    "2019年4月，周海涛在北山县考察，县卫生局新建医院3家。",
    "2018年6月，吴晓东到西岭镇督导，市财政局拨付资金800万元。",
    "2017年8月，郑秀英在长林乡调研，县民政局发放补贴60万元。",
    "2016年2月，冯国平到石桥区检查，区住建局改造小区15个。",
]
# the spans an annotator adds before finishing: (substring, label)
SPANS = (("县", "LOC"), ("镇", "LOC"), ("乡", "LOC"), ("区", "LOC"))


def _db(tmp_path) -> str:
    from workbench.ingest import ingest_paths

    src = tmp_path / "tiny.jsonl"
    src.write_text(
        "".join(json.dumps({"id": f"t{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS)),
        encoding="utf-8",
    )
    path = str(tmp_path / "wb.db")
    with Store(path) as s:
        assert ingest_paths(s, [src]).added == len(TEXTS)
    r = CliRunner().invoke(cli, ["--db", path, "propose"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return path


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory) -> str:
    return _db(tmp_path_factory.mktemp("retrain"))


@pytest.fixture
def db(tiny_db, tmp_path) -> str:
    import shutil

    dst = tmp_path / "wb.db"
    shutil.copy(tiny_db, dst)
    return str(dst)


def finish(store: Store, doc_id: str, annotator: str = "alice") -> None:
    """The annotator adds the document's place and person and finishes it."""
    text = store.document_text(doc_id)
    person = text.index("，") + 1
    store.record_decision(
        doc_id, annotator, "add", start=person, end=person + 3, label="PERSON", text=text[person : person + 3]
    )
    for suffix, label in SPANS:
        i = text.find(suffix, person + 5)
        if i > 0:
            store.record_decision(
                doc_id, annotator, "add", start=i - 2, end=i + 1, label=label, text=text[i - 2 : i + 1]
            )
            break
    store.record_decision(doc_id, annotator, "finish")


def snapshot(store: Store, doc_id: str) -> tuple:
    """Everything a re-proposal could change in a document: its proposals (all runs) and decisions."""
    props = [
        (p["id"], p["source"], p["version"], p["start"], p["end"], p["label"], p["active"], p["score"])
        for p in store.proposals(doc_id, active_only=False)
    ]
    return props, store.decisions(doc_id)


def learned_versions(store: Store, doc_id: str) -> set[str]:
    return {p["version"] for p in store.proposals(doc_id, source="learned")}


# ---------------------------------------------------------------------------- the job


def test_the_training_set_is_train_with_annotations(db):
    with Store(db, create=False) as s:
        finish(s, "t0")
        finish(s, "t1", "bob")
        docs, n_gold, n_ann = training_documents(s, True)
        assert [d["id"] for d in docs] == training_ids(s) == ["t0@alice", "t1@bob"]
        assert (n_gold, n_ann) == (0, 2)
        assert training_documents(s, False)[0] == []


def test_retrains_after_n_finished_documents_and_not_before(db):
    with Store(db, create=False) as s:
        for d in ("t0", "t1"):
            finish(s, d)
        out = retrain_once(s, 3)
        assert out["state"] == "waiting" and out["new"] == 2 and out["finished"] == 2
        assert s.models() == [] and not any(learned_versions(s, d) for d in s.document_ids())
        finish(s, "t2")
        # started, not finished: alice accepted one rules proposal of t3; bob undid his only decision in t4
        p = s.proposals("t3")[0]
        s.record_decision(
            "t3", "alice", "accept", proposal_id=p["id"], start=p["start"], end=p["end"], label=p["label"]
        )
        p4 = s.proposals("t4")[0]
        s.record_decision("t4", "bob", "reject", proposal_id=p4["id"])
        s.undo_last("t4", "bob")
        before = {d: snapshot(s, d) for d in ("t0", "t1", "t2", "t3", "t4")}
        notes: list[dict] = []
        out = retrain_once(s, 3, status=notes.append)
        assert out["state"] == "trained" and out["docs"] == 3
        version = out["model"]
        row = s.latest_model("crf")
        assert row["version"] == version and row["documents"] == ["t0@alice", "t1@alice", "t2@alice"]
        assert row["figures"]["retrained"] is True
        # unstarted documents got learned proposals of the new model, nobody's decision touched
        assert out["reproposed"] == 3 and out["skipped"] == 0
        for d in ("t5", "t6", "t7"):
            assert learned_versions(s, d) == {version}
        for d, snap in before.items():
            assert snapshot(s, d) == snap, d
        assert [n["state"] for n in notes][:2] == ["training", "proposing"]
        assert notes[-1] == {**notes[-1], "state": "proposing", "done": 3, "total": 3}
        # nothing new since: the next check waits
        again = retrain_once(s, 3)
        assert again["state"] == "waiting" and again["new"] == 0 and again["model"] == version


def test_a_document_started_while_proposing_is_left_alone(db):
    with Store(db, create=False) as s:
        for d in ("t0", "t1"):
            finish(s, d)
        assert retrain_once(s, 2)["state"] == "trained"
        finish(s, "t2")
        finish(s, "t3")
        from workbench.propose.retrain import train_and_save

        docs, g, a = training_documents(s, True)  # a new model, as the worker would train
        row, _, _ = train_and_save(s, docs, g, a)
        old = {d: snapshot(s, d) for d in s.document_ids()}

        def someone_starts_t4() -> None:  # between the list of unstarted documents and the write
            if not s.decisions("t4"):
                p = s.proposals("t4")[0]
                s.record_decision("t4", "carol", "reject", proposal_id=p["id"])
                old["t4"] = snapshot(s, "t4")

        n, skipped = repropose(s, row["version"], check=someone_starts_t4)
        assert (n, skipped) == (3, 1)
        assert snapshot(s, "t4") == old["t4"]
        assert learned_versions(s, "t5") == {row["version"]}


def test_with_assignments_only_assigned_unstarted_documents_are_reproposed(db):
    with Store(db, create=False) as s:
        s.assign([("t5", "alice"), ("t6", "bob")])
        finish(s, "t0")
        out = retrain_once(s, 1)
        assert out["state"] == "trained" and out["reproposed"] == 2
        assert learned_versions(s, "t5") == learned_versions(s, "t6") == {out["model"]}
        assert not learned_versions(s, "t7")


# ---------------------------------------------------------------------------- errors


def test_no_crf_package_ends_in_the_status_not_a_traceback(db, monkeypatch):
    with Store(db, create=False) as s:
        finish(s, "t0")
    monkeypatch.setitem(sys.modules, "pycrfsuite", None)  # import pycrfsuite → ImportError
    out = Worker(db, 1).run(once=True)
    assert out["state"] == "error" and "install python-crfsuite" in out["error"]
    with Store(db, create=False) as s:
        assert s.models() == []
        st = s.retrain_status()
        assert st["state"] == "stopped" and "install python-crfsuite" in st["error"]
        assert s.retrain_lock() is None  # released
        assert status_note({**st, "state": "error"}, True) == "retrain: needs python-crfsuite"


def test_no_gold_yet_says_so(db):
    r = CliRunner().invoke(cli, ["--db", db, "retrain", "--once", "--every", "2"], catch_exceptions=False)
    assert r.exit_code == 0 and "Traceback" not in r.output
    assert "0 of 2 new finished documents" in r.output
    with Store(db, create=False) as s:
        st = s.retrain_status()
        assert st["finished"] == 0 and s.models() == []
        assert status_note({**st, "state": "waiting"}, True) == "retrains after 2 finished docs (none yet)"


def test_nothing_to_learn_is_an_error_in_the_status_and_not_retried(db):
    with Store(db, create=False) as s:
        s.record_decision("t0", "alice", "finish")  # finished with no span at all
    w = Worker(db, 1)
    out = w.run(once=True)
    assert out["state"] == "error" and "hold no span" in out["error"]
    # the same documents again: not retried, the note keeps the error
    w2 = Worker(db, 1)
    w2._failed = frozenset(["t0@alice"])
    assert w2.run(once=True)["state"] == "waiting"
    with Store(db, create=False) as s:
        assert "hold no span" in s.retrain_status()["error"]


def test_a_read_only_database_backs_off(db, tmp_path):
    with Store(db, create=False) as s:
        finish(s, "t0")
    w = Worker(db, 1)
    calls = []

    def busy(*a, **k):
        import sqlite3

        calls.append(1)
        raise sqlite3.OperationalError("attempt to write a readonly database")

    w._open()
    w.store.acquire_retrain_lock = busy  # type: ignore[method-assign]
    out = w.run(once=True)
    assert calls and out["state"] == "error" and "readonly" in out["error"] and w._backoff > 0


# ---------------------------------------------------------------------------- the lock


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _put_lock(store: Store, **lock) -> None:
    store.set_setting("retrain:lock", lock)


def test_a_second_worker_does_not_run_while_the_first_holds_the_lock(db):
    import socket

    with Store(db, create=False) as s:
        finish(s, "t0")
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            _put_lock(s, pid=sleeper.pid, host=socket.gethostname(), heartbeat=time.time(), started=time.time())
            writes = s.conn.total_changes
            assert not s.acquire_retrain_lock()
            assert s.conn.total_changes == writes  # a waiting worker polls without writing
            assert Worker(db, 1).run(once=True) == {"state": "busy"}
            assert s.models() == []
            assert s.retrain_lock()["pid"] == sleeper.pid  # not taken
            # another host's fresh heartbeat: not taken either
            _put_lock(s, pid=1, host="elsewhere", heartbeat=time.time(), started=time.time())
            assert not s.acquire_retrain_lock()
            # the holder stops renewing: taken over
            _put_lock(s, pid=sleeper.pid, host=socket.gethostname(), heartbeat=time.time() - 3600, started=0)
            assert s.acquire_retrain_lock() and s.retrain_lock()["pid"] == os.getpid()
            writes = s.conn.total_changes
            assert s.acquire_retrain_lock() and s.conn.total_changes == writes  # ours, just renewed
        finally:
            sleeper.kill()
            sleeper.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over(db):
    import socket

    with Store(db, create=False) as s:
        finish(s, "t0")
        _put_lock(s, pid=_dead_pid(), host=socket.gethostname(), heartbeat=time.time(), started=time.time())
        assert not s.retrain_worker_alive()
        out = Worker(db, 1).run(once=True)
        assert out["state"] == "trained"
        assert s.latest_model("crf") is not None and s.retrain_lock() is None


# ---------------------------------------------------------------------------- the process


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return any(ln.startswith("State:") and "Z" in ln.split()[1] for ln in fh)
    except FileNotFoundError:
        return True


def _wait(cond, seconds: float = 30.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_the_worker_exits_when_its_parent_dies(db):
    code = (
        "import sys, time\n"
        "from workbench.cli.retrain import start_worker\n"
        "p = start_worker(sys.argv[1], 5)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code, db], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        with Store(db, create=False) as s:
            assert _wait(lambda: (s.retrain_lock() or {}).get("pid") == worker)
            assert s.retrain_worker_alive()
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait(lambda: _gone(worker))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_annotate_stops_and_reaps_its_worker(db):
    from workbench.cli.retrain import BACKGROUND_NICE, start_worker, stop_worker

    proc = start_worker(db, 5)
    with Store(db, create=False) as s:
        assert _wait(lambda: (s.retrain_lock() or {}).get("pid") == proc.pid)
        # the worker yields the CPU to the screens: it runs niced
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) >= os.getpriority(os.PRIO_PROCESS, 0) + min(
            BACKGROUND_NICE, 19 - os.getpriority(os.PRIO_PROCESS, 0)
        )
        stop_worker(proc)
        assert proc.returncode is not None and _gone(proc.pid)
        assert s.retrain_lock() is None  # released on SIGTERM
        assert s.retrain_status()["state"] == "stopped"


def test_annotate_has_the_option_and_retrain_is_a_command():
    r = CliRunner().invoke(cli, ["annotate", "--help"])
    assert "--retrain-every" in r.output
    r = CliRunner().invoke(cli, ["retrain", "--help"])
    assert r.exit_code == 0 and "--once" in r.output and "--every" in r.output


def test_the_projects_n(db):
    from workbench.cli.retrain import effective_every

    r = CliRunner().invoke(cli, ["--db", db, "retrain", "--set-every", "7"], catch_exceptions=False)
    assert r.exit_code == 0
    with Store(db, create=False) as s:
        assert s.retrain_every() == 7 and effective_every(s, None) == 7 and effective_every(s, 2) == 2
    CliRunner().invoke(cli, ["--db", db, "retrain", "--set-every", "0"], catch_exceptions=False)
    with Store(db, create=False) as s:
        assert effective_every(s, None) == 0


# ---------------------------------------------------------------------------- the header


_header, _painted = header_plain, annotate_painted


def test_the_header_shows_the_retraining_note(db):
    from workbench.session import AnnotationSession
    from workbench.tui.app import AnnotateApp

    with Store(db, create=False) as s:
        for d in ("t0", "t1"):
            finish(s, d)
        out = Worker(db, 2).run(once=True)
        assert out["state"] == "trained"
        version = out["model"]

        async def go(size, doc="t5"):
            app = AnnotateApp(s, "dora", session=AnnotationSession(s, "dora", doc_id=doc), use_user_keymap=False)
            async with app.run_test(size=size) as pilot:
                await _painted(app, pilot)
                return _header(app)

        assert s.retrain_lock() is None
        assert "re-proposed" not in run(go((160, 45)))  # no worker running: no note
        assert s.acquire_retrain_lock()  # a worker (this process) holds the lock
        s.set_retrain_status({**s.retrain_status(), "state": "idle"})
        head = run(go((160, 45)))  # t5 was re-proposed: its model chip names the version
        assert f"learned {version}" in head and head.rstrip().endswith("new model · 6 docs re-proposed")
        head = run(go((160, 45), "t0"))  # finished by alice before: rules proposals only
        assert "learned" not in head and f"model {version} new · 6 docs re-proposed" in head
        head = run(go((122, 30)))  # little room left: the note is clipped, the rest stays
        assert len(head) <= 122 and f"learned {version}" in head and head.rstrip().endswith("…")
        assert "new model" in head and "re-proposed" not in head
        s.set_retrain_status({"state": "training", "docs": 12})
        assert "retraining on 12 docs…" in run(go((160, 45)))
        s.set_retrain_status({"state": "error", "error": "the learned proposer needs the CRF package: install x"})
        assert "retrain: the learned proposer needs the CRF pack…" in run(go((160, 45)))
        head = run(go((80, 24)))
        assert len(head) <= 80 and "retrain" not in head
        s.release_retrain_lock()


def test_status_notes():
    st = {"state": "idle", "model": "abc", "new": 0, "reproposed": 4, "every": 5}
    assert status_note(st, False) is None
    assert status_note(st, True) == "model abc new · 4 docs re-proposed"
    assert status_note(st, True, doc_model="abc") == "new model · 4 docs re-proposed"
    assert status_note({**st, "state": "waiting", "new": 2}, True) == "model abc · retrains in 3 docs"
    assert status_note({**st, "state": "proposing", "done": 8, "total": 20}, True) == "re-proposing 8/20…"
    assert status_note({**st, "reproposed": 1}, True) == "model abc new · 1 doc re-proposed"
    err = "the learned proposer needs the CRF package: install python-crfsuite (pip install python-crfsuite)"
    assert status_note({"state": "error", "error": err}, True) == "retrain: needs python-crfsuite"
    assert status_note({"state": "waiting", "new": 1, "finished": 1, "every": 5}, True) == (
        "retrains after 4 more finished docs"
    )


def test_the_worker_checks_again_only_when_something_changed(db, monkeypatch):
    import workbench.propose.retrain as rt

    calls: list[int] = []
    real = rt.retrain_once

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(rt, "retrain_once", counting)
    w = Worker(db, 2)
    try:
        assert w.step()["state"] == "waiting" and w.step()["state"] == "waiting"
        assert len(calls) == 1  # nothing decided in between: one read, no second check
        finish(w.store, "t0")
        assert w.step()["new"] == 1 and len(calls) == 2
        finish(w.store, "t1")
        assert w.step()["state"] == "trained" and len(calls) == 3
        assert w.step()["state"] == "waiting" and len(calls) == 4  # after a training: once more
        assert w.step()["state"] == "waiting" and len(calls) == 4
    finally:
        w._finish()


def test_the_worker_never_writes_to_the_terminal_it_was_started_from(tmp_path):
    # a worker that fails at once (no such database): its error goes nowhere near the parent's
    # stdout / stderr (the annotate TUI's terminal)
    code = (
        "import sys\n"
        "from workbench.cli.retrain import start_worker\n"
        "p = start_worker(sys.argv[1], 5)\n"
        "print('rc', p.wait(60))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "none.db")], capture_output=True, text=True, timeout=90
    )
    assert r.stdout == "rc 1\n" and r.stderr == ""


def test_the_header_note_changes_with_no_key_pressed(db, monkeypatch):
    """The annotator is reading, pressing nothing: the retraining note still appears (a timer
    reads it again; before, it changed only on a key or a document open)."""
    import workbench.session.view as view
    import workbench.tui.app as tui_app
    from workbench.session import AnnotationSession
    from workbench.tui.app import AnnotateApp

    monkeypatch.setattr(view, "RETRAIN_REFRESH", 0.1)
    monkeypatch.setattr(tui_app, "RETRAIN_REFRESH", 0.1)
    with Store(db, create=False) as s:
        assert s.acquire_retrain_lock()
        s.set_retrain_status({"state": "idle"})

        async def go():
            app = AnnotateApp(s, "dora", session=AnnotationSession(s, "dora", doc_id="t5"), use_user_keymap=False)
            async with app.run_test(size=(160, 45)) as pilot:
                await _painted(app, pilot)
                assert "retraining" not in _header(app)
                s.set_retrain_status({"state": "training", "docs": 7})  # the worker starts, elsewhere
                for _ in range(100):
                    await pilot.pause(0.05)
                    if "retraining on 7 docs…" in _header(app):
                        return True
                return False

        try:
            assert run(go()), "the header never showed the new note without a key"
        finally:
            s.release_retrain_lock()


def test_a_document_with_only_a_flag_counts_as_started(db):
    """carol flagged a span and the document unsure and decided nothing yet: her flags belong to
    the proposals she saw, so retraining must not re-propose that document (review finding)."""
    with Store(db, create=False) as s:
        for d in ("t0", "t1"):
            finish(s, d)
        p = s.proposals("t5")[0]
        s.set_flag("t5", "carol", item_key=f"p{p['id']}", start=p["start"], end=p["end"], label=p["label"], note="?")
        s.set_flag("t6", "carol", note="whole document unclear")
        assert s.document_started("t5") and s.document_started("t6")
        before = {d: s.proposals(d) for d in ("t5", "t6")}
        out = retrain_once(s, 2)
        assert out["state"] == "trained"
        for d, props in before.items():
            assert s.proposals(d) == props and not learned_versions(s, d), d
        assert learned_versions(s, "t7") == {out["model"]}
