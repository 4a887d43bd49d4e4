"""Issue 12 (critical part): terminal control sequences in a report never reach the terminal.

A report holding terminal *queries* (XTVERSION ``ESC [>0q``, DA2 ``ESC [>c``, DSR ``ESC [6n``)
made the terminal answer on stdin, and the app read the answers as keys: with nobody at the
keyboard ``workbench annotate`` wrote decisions by the hundred. OSC 52 wrote the clipboard,
OSC 0 the window title, ``ESC [2J`` wiped the screen.

Here ``workbench annotate`` runs in a real pty in front of an emulated terminal that answers
those queries the way xterm does. For ten seconds no key is pressed: no decision may be
written and none of the document's sequences may appear in what the app wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from test_crash import Terminal, pty_env

from workbench.ingest import ingest_paths
from workbench.store import Store

HOSTILE = {
    "xtversion": b"\x1b[>0q",
    "da2": b"\x1b[>c",
    "dsr": b"\x1b[6n",
    "osc52": b"\x1b]52;c;SE9TVElMRQ==\x07",
    "osc0": b"\x1b]0;HOSTILE-TITLE\x07",
    "wipe": b"\x1b[2J",
    "c1-csi": "\x9b6n".encode(),
    "bidi": "\u202e".encode(),
}

# what xterm answers on stdin
ANSWERS = {
    b"\x1b[>0q": b"\x1bP>|XTerm(390)\x1b\\",
    b"\x1b[>c": b"\x1b[>41;390;0c",
    b"\x1b[6n": b"\x1b[12;40R",
}


class AnsweringTerminal(Terminal):
    """A terminal that answers queries, as a real one does (the answers arrive as input)."""

    answered = 0

    def feed_bytes(self, data: bytes) -> None:
        before = len(self.raw)
        super().feed_bytes(data)
        window = bytes(self.raw[max(0, before - 8) :])
        for query, answer in ANSWERS.items():
            n = window.count(query)
            for _ in range(n):
                try:
                    os.write(self.fd, answer)
                except OSError:
                    return
                self.answered += 1


@pytest.fixture
def hostile_db(tmp_path):
    body = "统战工作报告。" + "".join(
        f"第{i}段{seq.decode('utf-8', 'surrogateescape')}内容。" for i, seq in enumerate(HOSTILE.values())
    )
    text = (body + "县委统战部帮助34家民营企业融资493万元。\n") * 3
    src = tmp_path / "hostile.jsonl"
    src.write_text(json.dumps({"id": "hostile\x1b]0;ID-TITLE\x07doc", "text": text}) + "\n", encoding="utf-8")
    db = tmp_path / "wb.db"
    store = Store(db)
    rep = ingest_paths(store, [src])
    assert not rep.errors and rep.added == 1, rep.errors
    (doc_id,) = store.document_ids()
    stored = store.get_document(doc_id)["text"]
    assert "\x1b[6n" in stored  # the stored text stays exact
    # proposals over the hostile parts too (the list shows their text)
    spans = []
    for seq in ("\x1b[6n", "\x1b]52;c;SE9TVElMRQ==\x07", "\u202e"):
        i = stored.index(seq)
        spans.append(
            {"start": i - 2, "end": i + len(seq) + 2, "label": "ORG", "text": stored[i - 2 : i + len(seq) + 2]}
        )
    spans.sort(key=lambda s: s["start"])
    store.replace_proposals(doc_id, "fixture", "1", spans)
    store.close()
    return str(db)


def watch_idle(term: Terminal, seconds: float = 10) -> bytes:
    """Let the app run with no key for ``seconds`` (the terminal still answers); its output."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        term.pump(0.1)
    assert term.proc.poll() is None, "the app exited by itself"
    return bytes(term.raw)


def test_annotate_with_hostile_text_and_no_key_writes_nothing(hostile_db, tmp_path):
    args = [sys.executable, "-c", "from workbench.cli import main; main()", "--db", hostile_db, "annotate"]
    args += ["--annotator", "idle"]
    term = AnsweringTerminal(args, pty_env(tmp_path))
    try:
        term.wait_for(lambda s: "doc 1/1" in s.text(), "the first screen")
        out = watch_idle(term)
    finally:
        term.kill()
    store = Store(hostile_db)
    n = store.count("decisions")
    store.close()
    assert n == 0, f"{n} decisions written with no key pressed ({term.answered} terminal answers)"
    for name, seq in HOSTILE.items():
        assert seq not in out, f"the document's {name} sequence reached the terminal"
    assert "␛" in term.screen.text()  # drawn as a visible placeholder instead
    assert b"\x1b]0;ID-TITLE" not in out  # the id is drawn visibly too
    screen = term.screen.text()
    assert "␛" in screen  # drawn as a visible placeholder instead


def test_review_with_hostile_text_and_no_key_settles_nothing(hostile_db, tmp_path):
    """Two annotators disagree on every span over the hostile parts; the reviewer's screen is
    open for ten seconds with no key: no review action, no gold."""
    store = Store(hostile_db)
    (doc_id,) = store.document_ids()
    for p in store.proposals(doc_id):
        for annotator, label in (("alice", "ORG"), ("bob", "LOC")):
            store.record_decision(
                doc_id, annotator, "add", start=p["start"], end=p["end"], label=label, text=p["text"], origin="import"
            )
    for annotator in ("alice", "bob"):
        store.record_decision(doc_id, annotator, "finish")
    store.close()
    args = [sys.executable, "-c", "from workbench.cli import main; main()", "--db", hostile_db, "review"]
    args += ["--reviewer", "rita"]
    term = AnsweringTerminal(args, pty_env(tmp_path))
    try:
        term.wait_for(lambda s: "rita" in s.text() and "unsettled" in s.text(), "the review screen")
        out = watch_idle(term)
    finally:
        term.kill()
    store = Store(hostile_db)
    acted = [r for r in store.review_rows(doc_id) if r["action"] != "agree"]
    gold = store.gold_rows(doc_id)
    store.close()
    assert acted == [] and gold == [], f"{len(acted)} review actions with no key ({term.answered} answers)"
    for name, seq in HOSTILE.items():
        assert seq not in out, f"the document's {name} sequence reached the terminal"
    assert "␛" in term.screen.text()  # drawn as a visible placeholder instead


def _workbench(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from workbench.cli import main; main()", *args], cwd=cwd, capture_output=True
    )


def test_cli_messages_quote_hostile_ids_and_paths_visibly(tmp_path):
    """The ingest error for a duplicate hostile id (OSC 52 in it wrote the clipboard) and click's
    own error messages with a hostile path reach stderr with placeholders, no ESC or BEL."""
    line = json.dumps({"id": "a\x1b]52;c;SE9TVElMRQ==\x07b", "text": "统战"})
    (tmp_path / "dup.jsonl").write_text(line + "\n" + line + "\n", encoding="utf-8")
    r = _workbench("ingest", "dup.jsonl", cwd=tmp_path)
    assert r.returncode == 1
    assert b"\x1b" not in r.stderr and b"\x07" not in r.stderr
    assert "duplicate id" in r.stderr.decode() and "a␛]52;c;SE9TVElMRQ==␇b" in r.stderr.decode()
    r = _workbench("--db", "no\x1b]0;T\x07dir/x.db", "stats", cwd=tmp_path)
    assert r.returncode == 1 and b"\x1b" not in r.stderr and "no␛]0;T␇dir" in r.stderr.decode()
    r = _workbench("frob\x1b[2J", cwd=tmp_path)
    assert r.returncode == 2 and b"\x1b" not in r.stderr


def test_cli_tables_show_hostile_ids_and_span_texts_visibly(hostile_db, tmp_path):
    """``history`` prints the id and the span texts of decisions (a span over ``ESC [6n``)."""
    store = Store(hostile_db)
    (doc_id,) = store.document_ids()
    for p in store.proposals(doc_id):
        store.record_decision(
            doc_id,
            "amy",
            "accept",
            proposal_id=p["id"],
            start=p["start"],
            end=p["end"],
            label=p["label"],
            text=p["text"],
        )
    store.close()
    r = _workbench("--db", hostile_db, "history", doc_id, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "hostile␛]0;ID-TITLE␇doc" in out and "␛[6n" in out


# ---------------------------------------------------------------------------- characters Rich would drop

# Rich's Text drops BEL, BS, VT, FF and CR from what it is given (``strip_control_codes``):
# an id "a\x07b" was drawn as "ab", a character gone with no placeholder, and everything
# after it one cell off. Every one must be drawn as its placeholder.
DROPPED = "\x07\x08\x0b\x0c\r"
PICTURES = "␇␈␋␌␍"
IN_TEXT = DROPPED[:-1]  # ingest makes a CR in the text a line break; in an id it stays


@pytest.fixture
def dropped_db(tmp_path):
    text = f"县委统战部{IN_TEXT}帮助34家民营企业融资493万元。\n"
    src = tmp_path / "dropped.jsonl"
    src.write_text(json.dumps({"id": f"id{DROPPED}x", "text": text}) + "\n", encoding="utf-8")
    db = tmp_path / "wb.db"
    with Store(db) as store:
        rep = ingest_paths(store, [src])
        assert not rep.errors, rep.errors
        (doc_id,) = store.document_ids()
        stored = store.get_document(doc_id)["text"]
        i = stored.index(IN_TEXT)
        span = {"start": i - 2, "end": i + len(IN_TEXT) + 2, "label": "ORG", "text": stored[i - 2 : i + 6]}
        store.replace_proposals(doc_id, "fixture", "1", [span])
        for ann in ("a1", "a2"):  # a disagreement for the review screen
            s = dict(span, end=span["end"] + (ann == "a2"))
            s["text"] = stored[s["start"] : s["end"]]
            store.record_decision(doc_id, ann, "add", start=s["start"], end=s["end"], label="ORG", text=s["text"])
            store.record_decision(doc_id, ann, "finish")
    return str(db)


def _screen_text(app) -> str:
    import html

    return html.unescape(app.export_screenshot()).replace("\u00a0", " ")


async def _painted(app, pilot, needle: str) -> str:
    """The screen once ``needle`` is on it (a loaded machine paints later), or as it is."""
    shown = ""
    for _ in range(100):
        shown = _screen_text(app)
        if needle in shown:
            break
        await pilot.pause(0.05)
    return shown


def test_annotate_draws_every_control_character_rich_would_drop(dropped_db):
    from pilot_helpers import run

    from workbench.tui.app import AnnotateApp

    async def go():
        app = AnnotateApp(Store(dropped_db), "viewer", use_user_keymap=False)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            shown = await _painted(app, pilot, f"id{PICTURES}x")
            assert f"id{PICTURES}x" in shown  # header
            assert f"部{PICTURES[:-1]}帮" in shown  # text panel, list, status line
            assert shown.count(PICTURES[:-1]) >= 3, shown

    run(go())


def test_review_draws_every_control_character_rich_would_drop(dropped_db):
    from pilot_helpers import run

    from workbench.review import ReviewSession
    from workbench.tui.review_app import ReviewApp

    async def go():
        session = ReviewSession(Store(dropped_db), "rita")
        assert session.items
        app = ReviewApp(session)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            shown = await _painted(app, pilot, f"id{PICTURES}x")
            assert f"id{PICTURES}x" in shown
            assert shown.count(PICTURES[:-1]) >= 2, shown

    run(go())
