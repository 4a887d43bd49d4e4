"""The review screen driven with Pilot (keys → gold rows in the database, read
through a second connection) and SVG snapshots of it."""

from __future__ import annotations

import html
import json
import re

import pytest
from pilot_helpers import fresh, press, run
from test_agreement import other_label, simulate

from workbench.core.labels import LABELS
from workbench.core.motions import next_word, prev_word
from workbench.review import ReviewSession
from workbench.tui.review_app import ReviewApp, ReviewHelp

SIZE = (130, 36)


@pytest.fixture
def sim3(corpus_store, gold_docs):
    simulate(corpus_store, gold_docs, with_dave=False)
    return corpus_store


def adjudicated(store):
    with fresh(store) as s:
        rows = s.query(
            'SELECT doc_id, start, "end", label, attrs, origin, reviewer, annotators FROM gold'
            " WHERE origin = 'adjudicated' ORDER BY id"
        )
    for r in rows:
        r["annotators"] = json.loads(r["annotators"])
    return rows


def reviews(store):
    with fresh(store) as s:
        return [r["action"] for r in s.query("SELECT action FROM reviews WHERE action != 'agree' ORDER BY id")]


def test_pick_reject_skip_undo_keys(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        items = list(session.items)
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, "j", "j", "k")
            assert session.cursor == 1 and app.list.cursor == 1
            await press(pilot, "k")
            v2 = items[0].versions[1]
            await press(pilot, "2")
            rows = adjudicated(sim3)
            assert [(r["start"], r["end"], r["label"], r["annotators"], r["reviewer"]) for r in rows] == [
                (x["start"], x["end"], x["label"], v2.annotators, "rita") for x in v2.spans
            ]
            assert session.cursor == 1 and items[0].status in ("picked", "rejected")
            await press(pilot, "x")
            assert items[1].status == "rejected" and reviews(sim3)[-1] == "reject"
            await press(pilot, "space")
            assert items[2].status == "skipped" and reviews(sim3)[-1] == "skip"
            await press(pilot, "u", "u")
            assert items[1].status == "open" and session.cursor == 1
            assert reviews(sim3)[-2:] == ["undo", "undo"]
            # enter takes the highlighted version; l highlights the next one
            await press(pilot, "l", "enter")
            assert items[1].status in ("picked", "rejected") and items[1].version == 1
            # digits beyond the versions are refused with a message, nothing written
            n = len(reviews(sim3))
            await press(pilot, "9")
            assert len(reviews(sim3)) == n
            assert "versions" in str(app.query_one("#status").render())
            await press(pilot, "q")
        assert app.return_code in (0, None)

    run(go())


def test_edit_mode_keys(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            it = session.current
            base = next(n for n, v in enumerate(it.versions) if v.spans)
            g = it.versions[base].spans[0]
            await press(pilot, *(["l"] * base), "e")
            assert app.mode == "edit" and session.draft is not None
            new_label = other_label(other_label(g["label"]))
            await press(pilot, str(LABELS.index(new_label) + 1))  # digits relabel in edit mode
            await press(pilot, "right_square_bracket")  # start → (shrinks)
            assert session.draft.spans[0]["start"] == g["start"] + 1
            await press(pilot, "left_square_bracket")  # start ← back
            await press(pilot, "enter")
            assert app.mode == "normal" and it.status == "edited"
            rows = adjudicated(sim3)
            assert [(r["start"], r["end"], r["label"]) for r in rows] == [(g["start"], g["end"], new_label)]
            # esc cancels an edit: nothing written
            n = len(reviews(sim3))
            await press(pilot, "e", "d", "escape")
            assert app.mode == "normal" and session.draft is None and len(reviews(sim3)) == n
            # 8 is not a label in edit mode
            await press(pilot, "e", "8")
            assert app.mode == "edit" and "labels are 1-7" in str(app.query_one("#status").render())
            await press(pilot, "escape")

    run(go())


def test_quantity_attrs_bar(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        idx = next(
            i
            for i, it in enumerate(session.items)
            if it.versions[0].spans and it.versions[0].spans[0]["label"] == "QUANTITY"
        )
        session.set_cursor(idx)
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, "e", "a")
            assert app.mode == "attrs"
            inp = app.query_one("#attrs-input")
            inp.value = "1500万 斤 more"
            await press(pilot, "enter")
            assert app.mode == "edit"
            assert session.draft.spans[0]["attrs"] == {"value": 15000000.0, "unit": "斤", "approx": "more"}
            await press(pilot, "enter")
            row = adjudicated(sim3)[-1]
            assert json.loads(row["attrs"]) == {"value": 15000000.0, "unit": "斤", "approx": "more"}

    run(go())


def test_help_screen_opens_and_closes(sim3):
    async def go():
        app = ReviewApp(ReviewSession(sim3, "rita"))
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "question_mark")
            assert isinstance(app.screen, ReviewHelp)
            await press(pilot, "2")  # keys do not act under the help
            assert reviews(sim3) == []
            await press(pilot, "escape")
            assert not isinstance(app.screen, ReviewHelp)

    run(go())


def test_rerun_after_tui_shows_only_unsettled(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        n = len(session.items)
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "1", "1", "x", "space")
        again = ReviewSession(sim3, "rita")
        assert len(again.items) == n - 3

    run(go())


# ---------------------------------------------------------------------------- snapshots

SNAP = (120, 32)


@pytest.fixture
def snap_app(sim3):
    return ReviewApp(ReviewSession(sim3, "rita"))


def test_snapshot_review_screen(snap_app, snap_compare):
    assert snap_compare(snap_app, terminal_size=SNAP, press=["j", "1", "l"])


def test_snapshot_edit_mode(snap_app, snap_compare):
    assert snap_compare(snap_app, terminal_size=SNAP, press=["j", "j", "e", "right_curly_bracket", "2"])


def test_snapshot_help(snap_app, snap_compare):
    assert snap_compare(snap_app, terminal_size=SNAP, press=["question_mark"])


# ---------------------------------------------------------------------------- add mode and undo across sessions

from test_review_add import missed, missed_spans  # noqa: E402,F401  (the fixture, reused)


def added_rows(store):
    with fresh(store) as s:
        rows = s.query(
            'SELECT doc_id, start, "end", label, text, attrs, origin, reviewer, annotators FROM gold'
            " WHERE origin = 'added' ORDER BY id"
        )
    for r in rows:
        r["annotators"] = json.loads(r["annotators"])
        r["attrs"] = json.loads(r["attrs"]) if r["attrs"] else None
    return rows


def all_reviews(store):
    with fresh(store) as s:
        return [r["action"] for r in s.query("SELECT action FROM reviews WHERE action != 'agree' ORDER BY id")]


async def caret_to(pilot, session, pos):
    """Move the add-mode caret to ``pos`` as a person would: j / k to its row, then w / b, h / l."""
    rows = pilot.app.detail
    for _ in range(400):
        c = session.add_draft.caret
        if c == pos:
            return
        row = next(((x, y) for x, y in rows.add_lines if x <= c <= y), (c, c + 1))
        if pos >= row[1] + 1:
            key = "j"
        elif pos < row[0]:
            key = "k"
        else:
            d = session.add_draft
            text, words = session.text(d.doc_id), session.words(d.doc_id)
            if c < pos:
                key = "w" if next_word(text, words, c) <= pos else "l"
            else:
                key = "b" if prev_word(text, words, c) >= pos else "h"
        await pilot.press(key)
    raise AssertionError(f"caret stuck at {session.add_draft.caret}, wanted {pos}")


async def select(pilot, session, start, end):
    await caret_to(pilot, session, start)
    await press(pilot, "v")
    await caret_to(pilot, session, end - 1)
    await pilot.pause()
    assert session.add_selection() == (start, end)


def status(app) -> str:
    return str(app.query_one("#status").render())


def test_add_span_keys_write_gold_and_u_takes_it_back(missed, gold_docs):
    d = next(iter(gold_docs))
    m = missed_spans(gold_docs[d])[0]

    async def go():
        session = ReviewSession(missed, "rita")
        n = len(session.items)
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "n")
            assert app.mode == "add" and session.add_draft.doc_id == d
            await select(pilot, session, m["start"], m["end"])
            assert added_rows(missed) == [] and all_reviews(missed) == []  # nothing before enter
            await press(pilot, "enter")  # no label yet: refused
            assert app.mode == "add" and "choose a label first" in status(app) and all_reviews(missed) == []
            await press(pilot, str(LABELS.index(m["label"]) + 1), "enter")
            assert app.mode == "normal" and session.add_draft is None
            [row] = added_rows(missed)
            assert (row["doc_id"], row["start"], row["end"], row["label"], row["text"]) == (
                d,
                m["start"],
                m["end"],
                m["label"],
                m["text"],
            )
            assert row["reviewer"] == "rita" and row["annotators"] == [] and all_reviews(missed) == ["add"]
            it = session.current
            assert it.status == "added" and len(session.items) == n + 1
            assert app.list.cursor == session.cursor and "added by a reviewer" in status(app)
            # the list shows it with the + mark
            row_text = str(app.list._row(session.cursor))
            assert "+" in row_text and m["text"][:3] in row_text
            # u takes it back out of gold and out of the list
            await press(pilot, "u")
            assert added_rows(missed) == [] and all_reviews(missed) == ["add", "undo"]
            assert len(session.items) == n and "undid add" in status(app)

    run(go())


def test_slash_finds_text_in_add_mode(missed, gold_docs):
    d = next(iter(gold_docs))
    m = missed_spans(gold_docs[d])[0]

    async def go():
        session = ReviewSession(missed, "rita")
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "n")
            session.add_draft.caret = m["start"] - 1
            await press(pilot, "slash")
            assert app.mode == "find" and app.focused is app.query_one("#search-input")
            for ch in "1ja":
                await pilot.press(ch)  # typed into the bar: no binding fires (label, move, attrs)
            await pilot.pause()
            inp = app.query_one("#search-input")
            assert inp.value == "1ja" and app.mode == "find"
            inp.value = m["text"]
            await press(pilot, "enter")
            assert app.mode == "add" and session.add_selection() == (m["start"], m["end"])
            assert f"found at {m['start']}–{m['end']}" in status(app)
            await press(pilot, str(LABELS.index(m["label"]) + 1), "enter")
            [row] = added_rows(missed)
            assert (row["start"], row["end"], row["text"]) == (m["start"], m["end"], m["text"])
            # not found: said, and the bar stays for another try; esc goes back to add mode
            await press(pilot, "n", "slash")
            app.query_one("#search-input").value = "不存在的字符串＃"
            await press(pilot, "enter")
            assert app.mode == "find" and "is not in" in status(app)
            await press(pilot, "escape")
            assert app.mode == "add"

    run(go())


def test_add_mode_keys_attrs_cancel_and_refusals(missed, gold_docs):
    d = next(iter(gold_docs))
    q = missed_spans(gold_docs[d])[1]

    async def go():
        session = ReviewSession(missed, "rita")
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            cur = session.cursor
            await press(pilot, "n")
            # j/k move the caret by a line here (not the list cursor); w/b by word
            c0 = session.add_draft.caret
            await press(pilot, "j")
            assert session.add_draft.caret > c0 and session.cursor == cur
            await press(pilot, "k", "w")
            assert session.add_draft.caret > 0
            # esc drops the anchor first, then leaves the mode; nothing written
            await press(pilot, "v", "l", "escape")
            assert app.mode == "add" and session.add_draft.anchor is None
            await press(pilot, "escape")
            assert app.mode == "normal" and session.add_draft is None and all_reviews(missed) == []
            # over an agreed gold span: refused with the reason, the mode kept
            agreed = next(g for g in session.gold(d) if g["origin"] == "agreed")
            await press(pilot, "n")
            await select(pilot, session, agreed["start"], agreed["end"])
            await press(pilot, "2")
            assert "overlaps gold" in str(app.detail.build(100))
            await press(pilot, "enter")  # over gold: it asks before replacing it (issue 13), nothing written
            assert app.mode == "add" and "? enter: yes" in status(app) and all_reviews(missed) == []
            await press(pilot, "escape")  # no
            assert app.mode == "add" and "not replaced" in status(app) and all_reviews(missed) == []
            # attrs only for QUANTITY
            await press(pilot, "a")
            assert app.mode == "add" and "only QUANTITY" in status(app)
            await press(pilot, "escape", "escape")
            # the missed QUANTITY with its attrs
            await press(pilot, "n")
            await select(pilot, session, q["start"], q["end"])
            await press(pilot, "7", "a")
            assert app.mode == "attrs"
            # typed into the attrs bar: keys bound elsewhere (digits, space, k, backspace) go to the input here
            await press(pilot, "9", "backspace", "1", "2", "space", "k", "m", "space", "m", "o", "r", "e")
            assert app.query_one("#attrs-input").value == "12 km more"
            await press(pilot, "enter")
            assert app.mode == "add" and session.add_draft.attrs == {"value": 12.0, "unit": "km", "approx": "more"}
            await press(pilot, "a")
            app.query_one("#attrs-input").value = "8 次 -"
            await press(pilot, "enter")
            assert app.mode == "add" and session.add_draft.attrs == {"value": 8.0, "unit": "次", "approx": None}
            await press(pilot, "enter")
            [row] = added_rows(missed)
            assert (row["start"], row["end"], row["label"], row["attrs"]) == (
                q["start"],
                q["end"],
                "QUANTITY",
                {"value": 8.0, "unit": "次", "approx": None},
            )
            assert missed.get_document(d)["text"][row["start"] : row["end"]] == row["text"]
            # tab / shift+tab switch documents in add mode (also right after n: keys are taken in order)
            await pilot.press("n", "tab")
            assert session.add_draft.doc_id == session.docs[1]
            await press(pilot, "shift+tab", "shift+tab")
            assert session.add_draft.doc_id == session.docs[-1]
            await press(pilot, "escape", "escape")
            assert app.mode == "normal"

    run(go())


def test_undo_key_after_restart(sim3):
    async def go():
        s1 = ReviewSession(sim3, "rita")
        first = s1.items[0]
        app = ReviewApp(s1)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "1", "x", "q")
        assert reviews(sim3) == ["pick", "reject"]
        s2 = ReviewSession(sim3, "rita")  # restart: both settled items are gone from the list
        assert first.key not in {i.key for i in s2.items}
        app2 = ReviewApp(s2)
        async with app2.run_test(size=SIZE) as pilot:
            await press(pilot, "u")
            assert "undid reject" in status(app2) and "earlier session" in status(app2)
            await press(pilot, "u")
            assert "undid pick" in status(app2)
            assert s2.current.key == first.key and s2.current.status == "open" and app2.list.cursor == 0
            assert len(s2.items) == len(s1.items)
            await press(pilot, "u")
            assert "nothing to undo" in status(app2)
        assert reviews(sim3) == ["pick", "reject", "undo", "undo"]
        # another reviewer's u does not touch rita's actions
        ReviewSession(sim3, "rita").pick(1)
        app3 = ReviewApp(ReviewSession(sim3, "sam"))
        async with app3.run_test(size=SIZE) as pilot:
            await press(pilot, "u")
            assert "nothing to undo: no action of sam's" in status(app3)
        assert reviews(sim3)[-1] == "pick"

    run(go())


def test_empty_list_still_adds_spans(missed, gold_docs):
    """Every disagreement settled: the screen opens empty and n adds spans in any document."""
    docs = list(gold_docs)
    m = missed_spans(gold_docs[docs[1]])[0]
    s0 = ReviewSession(missed, "rita")
    while s0.open_count:
        s0.pick(1)

    async def go():
        session = ReviewSession(missed, "rita")
        assert session.items == []
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            assert "nothing left to adjudicate" in str(app.detail.build(100))
            await press(pilot, "n", "tab")
            assert session.add_draft.doc_id == docs[1]
            await select(pilot, session, m["start"], m["end"])
            await press(pilot, str(LABELS.index(m["label"]) + 1), "enter")
            assert len(session.items) == 1 and session.current.status == "added"
            got = [(r["doc_id"], r["start"], r["end"]) for r in added_rows(missed)]
            assert got == [(docs[1], m["start"], m["end"])]

    run(go())


def test_help_lists_the_add_keys(sim3):
    async def go():
        app = ReviewApp(ReviewSession(sim3, "rita"))
        async with app.run_test(size=(130, 80)) as pilot:
            await press(pilot, "question_mark")
            svg = app.export_screenshot()
            shown = html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
            for phrase in (
                "add a span no annotator made",
                "caret one line down",
                "anchor",
                "next document under review",
                "undo your latest action",
                "earlier session",
            ):
                assert phrase in shown, phrase

    run(go())


def test_snapshot_add_mode(snap_app, snap_compare):
    assert snap_compare(snap_app, terminal_size=SNAP, press=["j", "n", "w", "w", "v", "w", "3"])


def test_review_app_collects_garbage_in_pauses_and_restores_gc(sim3):
    import gc

    assert gc.isenabled()

    async def go():
        app = ReviewApp(ReviewSession(sim3, "rita"))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert not gc.isenabled()
            app.idle_gc.min_pending = 0
            before = app.idle_gc.collections
            await press(pilot, "j", "j")
            await pilot.pause(app.idle_gc.quiet + 3 * app.idle_gc.every)
            assert app.idle_gc.collections > before

    run(go())
    assert gc.isenabled()


# ---------------------------------------------------------------------------- shared base: keymap, palette


def test_review_user_keymap_remaps_bindings(sim3, tmp_path):
    km = tmp_path / "keymap.toml"
    km.write_text(
        '[keymap]\naccept = "y"\n\n[review]\nreject = "d"\n"item.next" = ["ctrl+n", "j"]\nbogus = "z"\n',
        encoding="utf-8",
    )

    async def go():
        session = ReviewSession(sim3, "rita")
        app = ReviewApp(session, keymap_path=km)
        notes = []
        app.notify = lambda msg, **kw: notes.append(msg)  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, "x")  # x is no longer reject
            assert reviews(sim3) == []
            await press(pilot, "d")
            assert reviews(sim3) == ["reject"]
            c = session.cursor
            await press(pilot, "ctrl+n")
            assert session.cursor == c + 1
            assert app.keys_for("reject") == "d" and app.keys_for("item.next") == "ctrl+n j"
            # the annotate table ([keymap]) is not read here; an unknown review id is said
            assert len(notes) == 1 and "bogus" in notes[0]

    run(go())


def test_review_command_palette_runs_an_action(sim3):
    from textual.command import CommandPalette

    async def go():
        app = ReviewApp(ReviewSession(sim3, "rita"), use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, "ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            await press(pilot, *"reject all")
            await pilot.pause(0.3)
            await press(pilot, "enter")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, CommandPalette)
            assert reviews(sim3) == ["reject"]

    run(go())


def test_review_repaints_only_the_rows_a_change_names(sim3):
    async def go():
        session = ReviewSession(sim3, "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            shown = set(app.list._cache)
            assert len(shown) > 5
            await press(pilot, "1")  # settles item 0, the cursor moves to item 1
            kept = set(app.list._cache)
            assert shown - {0, 1} <= kept  # every other row kept its rendering
            assert session.items[0].status in ("picked", "rejected")
            assert "✓" in str(app.list._row(0)) or "✗" in str(app.list._row(0))

    run(go())


def test_add_mode_word_end_and_line_edges_move_the_caret_like_annotate(missed, gold_docs):
    """e, 0 / home and $ / end in the review add mode: the shared new-span model's motions
    (workbench.session.spanmode), bound as in annotate; the key bar and the help list them."""
    from workbench.session.spanmode import SpanMode

    async def go():
        session = ReviewSession(missed, "rita")
        app = ReviewApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "n")
            d = session.add_draft
            text, words = session.text(d.doc_id), session.words(d.doc_id)
            await press(pilot, "j", "w", "w")
            start = d.caret

            def model(caret):
                return SpanMode(text, words, caret)

            want = model(start)
            want.word_end()
            await press(pilot, "e")
            assert session.add_draft.caret == want.caret != start
            want.word_end()
            await press(pilot, "e")  # at a word's end: the next word's
            assert session.add_draft.caret == want.caret
            for key, motion in (
                ("0", "line_start"),
                ("dollar_sign", "line_end"),
                ("home", "line_start"),
                ("end", "line_end"),
            ):
                m = model(session.add_draft.caret)
                getattr(m, motion)()
                await press(pilot, key)
                assert session.add_draft.caret == m.caret, key
                assert text[m.caret] != "\n"
            await press(pilot, "0")
            a = session.add_draft.caret
            assert a == 0 or text[a - 1] == "\n"
            await press(pilot, "v", "dollar_sign")  # anchor at the line start, caret at its end: the whole line
            sel = session.add_selection()
            assert sel[0] == a and (sel[1] == len(text) or text[sel[1]] == "\n")
            bar = app.keybar_text(200).plain  # a wide terminal: every entry
            assert "wbe word" in bar and "0/$ line edge" in bar
            assert "wbe word" in app.keybar_text(80).plain and "? all keys" in app.keybar_text(80).plain
            assert app.mode == "add" and added_rows(missed) == [] and all_reviews(missed) == []  # motions write nothing
            await press(pilot, "question_mark")
            from rich.table import Table

            table = Table()
            app.screen.fill(table)  # the help screen's key table
            rows = list(zip(*(list(c.cells) for c in table.columns)))
            for bid, keys in (("add.word_end", "e"), ("add.line_start", "0 home"), ("add.line_end", "$ end")):
                assert [str(r[0]) for r in rows if r[2] == bid] == [keys], bid
            assert "e word end, 0/$ line start/end" in app.HELP_RULES

    run(go())
