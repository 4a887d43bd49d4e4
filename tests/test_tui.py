"""The annotate TUI driven with Pilot: every key of the issue's table, then the
database state is asserted (the decision is on disk when the key returns)."""

from __future__ import annotations

import pytest
from pilot_helpers import fresh, press, run
from test_session import DOC0, propose_gold
from textual import events

from workbench.store import Store
from workbench.tui.app import KEYS, AnnotateApp
from workbench.tui.docview import DocView
from workbench.tui.wrap import NO_START, cell_width, wrap

SIZE = (120, 36)


@pytest.fixture
def pstore(corpus_store, gold_docs):
    propose_gold(corpus_store, gold_docs)
    return corpus_store


def make_app(store, annotator="alice", **kw) -> AnnotateApp:
    kw.setdefault("use_user_keymap", False)
    return AnnotateApp(store, annotator, **kw)


def decisions(store, action=None):
    rows = store.query("SELECT * FROM decisions ORDER BY id")
    return [r for r in rows if action is None or r["action"] == action]


def test_move_accept_reject_skip(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            await press(pilot, "j", "j", "k")
            assert s.cursor == 1
            await press(pilot, "down", "down", "up")
            assert s.cursor == 2
            assert app.table.cursor_row == 2
            await press(pilot, "a")
            other = fresh(pstore)
            acc = [d for d in decisions(other) if d["action"] == "accept"]
            assert len(acc) == 1 and acc[0]["proposal_id"] == s.items[2]["proposal_id"]
            assert s.cursor == 3
            await press(pilot, "enter")
            assert s.items[3]["status"] == "accepted" and len(decisions(other, "accept")) == 2
            await press(pilot, "x")
            assert s.items[4]["status"] == "rejected" and len(decisions(other, "reject")) == 1
            n = len(decisions(pstore))
            await press(pilot, "space")
            assert s.cursor == 6 and len(decisions(pstore)) == n
            other.close()

    run(go())


def test_label_keys_relabel(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            for i, label in enumerate(["PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY"], 1):
                key = s.current["key"]
                want_accept = s.current["label"] == label
                await press(pilot, str(i))
                d = decisions(pstore)[-1]
                assert d["label"] == label
                assert d["action"] == ("accept" if want_accept else "edit")
                assert s.items[s.index_of(key)]["label"] == label
                if want_accept:
                    await press(pilot, "k")

    run(go())


def test_bracket_keys_move_boundaries(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            it = dict(s.current)
            await press(pilot, "right_square_bracket")
            assert decisions(pstore)[-1]["start"] == it["start"] + 1
            await press(pilot, "left_square_bracket", "left_square_bracket")
            assert decisions(pstore)[-1]["start"] == it["start"] - 1
            await press(pilot, "right_curly_bracket")
            d = decisions(pstore)[-1]
            assert (d["start"], d["end"]) == (it["start"] - 1, it["end"] + 1)
            await press(pilot, "left_curly_bracket")
            d = decisions(pstore)[-1]
            assert (d["action"], d["end"], d["text"]) == ("edit", it["end"], s.text[it["start"] - 1 : it["end"]])
            assert s.current["status"] == "edited"

    run(go())


def test_e_edits_quantity_attrs_inline(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            await press(pilot, "e")  # first item is not a QUANTITY
            assert app.mode == "normal" and "no attributes" in str(app._message)
            q = next(i for i, it in enumerate(s.items) if it["label"] == "QUANTITY")
            s.set_cursor(q)
            await press(pilot, "e")
            assert app.mode == "attrs" and app.focused.id == "attr-value"
            app.focused.value = ""
            await press(pilot, *"1500万", "tab")
            app.focused.value = ""
            await press(pilot, *"斤", "tab")
            app.focused.value = ""
            await press(pilot, *"more", "enter")
            assert app.mode == "normal"
            d = decisions(fresh(pstore))[-1]
            assert d["action"] == "edit" and d["proposal_id"] == s.items[q]["proposal_id"]
            assert s.items[q]["attrs"] == {"value": 15000000.0, "unit": "斤", "approx": "more"}
            assert s.cursor != q  # a saved attrs form moves the cursor on, like an accept (issue 14)
            # a bad value keeps the bar open and writes nothing
            n = len(decisions(pstore))
            s.set_cursor(q)
            await press(pilot, "e")
            app.focused.value = "lots"
            await press(pilot, "enter")
            assert app.mode == "attrs" and len(decisions(pstore)) == n
            await press(pilot, "escape")
            assert app.mode == "normal" and len(decisions(pstore)) == n

    run(go())


def test_n_new_span_with_caret_word_and_anchor(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            start = s.current["start"]
            await press(pilot, "n")
            assert app.mode == "span" and app.span.caret == start
            await press(pilot, "l", "l", "h")
            assert app.span.caret == start + 1
            await press(pilot, "right", "left")
            assert app.span.caret == start + 1
            await press(pilot, "w")
            w1 = app.span.caret
            assert w1 > start + 1
            await press(pilot, "b")
            assert app.span.caret < w1
            # select 2 characters somewhere nobody proposed
            covered = set()
            for it in s.items:
                covered.update(range(it["start"], it["end"]))
            a = next(i for i in range(len(s.text) - 2) if not covered & {i, i + 1} and "\n" not in s.text[i : i + 2])
            app.span.set_caret(a)
            await press(pilot, "v", "l", "3")
            assert app.mode == "normal"
            d = decisions(fresh(pstore))[-1]
            assert (d["action"], d["start"], d["end"], d["label"], d["text"]) == (
                "add",
                a,
                a + 2,
                "LOC",
                s.text[a : a + 2],
            )
            # the cursor moved on to the next pending proposal after the add (issue 14)
            assert s.current["key"] != f"d{d['id']}" and s.current["status"] == "pending"
            # escape leaves new-span mode without writing
            n = len(decisions(pstore))
            await press(pilot, "n", "escape")
            assert app.mode == "normal" and len(decisions(pstore)) == n

    run(go())


def test_u_and_backspace_undo(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            await press(pilot, "a", "x", "2")
            assert s.n_decisions == 3
            await press(pilot, "u")
            await press(pilot, "backspace")
            await press(pilot, "u")
            other = fresh(pstore)
            assert other.annotator_spans(DOC0, "alice") == []
            assert len(decisions(other, "undo")) == 3
            assert all(it["status"] == "pending" for it in s.items)
            assert s.cursor == 0

    run(go())


def test_A_accepts_all_after_one_confirmation(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            n = s.pending_count
            await press(pilot, "A")
            assert app.mode == "confirm" and app.query_one("#confirm-bar").display
            await press(pilot, "n")
            assert app.mode == "normal" and decisions(pstore) == []
            await press(pilot, "A", "y")
            assert len(decisions(fresh(pstore), "accept")) == n and s.pending_count == 0
            await press(pilot, "u")  # the whole batch
            assert s.pending_count == n

    run(go())


def test_tab_shift_tab_and_f_finish(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            await press(pilot, "tab")
            assert s.doc_index == 1
            await press(pilot, "tab", "shift+tab")
            assert s.doc_index == 1
            await press(pilot, "shift+tab")
            assert s.doc_index == 0 and app.doc_view.text == s.text
            await press(pilot, "f")  # pending left: asks
            assert app.mode == "confirm"
            await press(pilot, "escape")
            assert not pstore.is_finished(DOC0, "alice")
            await press(pilot, "A", "y", "f")
            assert pstore.is_finished(DOC0, "alice")
            assert s.doc_index == 1  # the next unfinished document opened
            # reopening the app: the unfinished documents come first
            app2 = make_app(pstore)
            assert app2.session.queue[-1]["id"] == DOC0

    run(go())


def test_slash_search_moves_to_match(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            await press(pilot, "slash")
            assert app.mode == "search" and app.focused.id == "search-input"
            await press(pilot, *"黄军")
            hit = s.text.index("黄军", s.items[0]["start"])
            assert app._search_pos == hit
            assert s.cursor == 0  # typing shows the match; the cursor moves on enter (issue 14)
            assert app.doc_view.search and app.doc_view.search[0] == (s.text.index("黄军"), s.text.index("黄军") + 2)
            await press(pilot, "down")
            assert app._search_pos == s.text.find("黄军", hit + 1) or app._search_pos == s.text.index("黄军")
            await press(pilot, "enter")
            assert app.mode == "normal"
            pos = app._search_pos
            assert s.current["end"] > pos and s.current["start"] <= pos + 2
            await press(pilot, "escape")
            assert app.doc_view.search == []
            assert decisions(pstore) == []

    run(go())


def test_search_in_new_span_mode_selects_the_match(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            word = "久久为功"
            await press(pilot, "n", "slash", *word, "enter")
            assert app.mode == "span"
            await press(pilot, "6")
            d = decisions(pstore)[-1]
            assert d["action"] == "add" and d["text"] == word and d["label"] == "PROGRAM"
            assert s.text[d["start"] : d["end"]] == word

    run(go())


def test_help_palette_and_quit(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await press(pilot, "question_mark")
            from workbench.tui.help import HelpScreen

            assert isinstance(app.screen, HelpScreen)
            await press(pilot, "a")  # keys do nothing behind the help
            assert decisions(pstore) == []
            await press(pilot, "escape")
            assert not isinstance(app.screen, HelpScreen)
            await press(pilot, "ctrl+p")
            from textual.command import CommandPalette

            assert isinstance(app.screen, CommandPalette)
            await press(pilot, *"reject")
            await pilot.pause(0.3)
            await press(pilot, "enter")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, CommandPalette)
            assert [d["action"] for d in decisions(pstore)] == ["reject"]
            await press(pilot, "q")
        assert app.return_code == 0 or app.return_code is None
        assert not app.is_running

    run(go())


def test_user_keymap_remaps_bindings(pstore, tmp_path):
    km = tmp_path / "keymap.toml"
    km.write_text('[keymap]\naccept = "y"\n"cursor.next" = ["ctrl+n", "j"]\nbogus = "z"\n', encoding="utf-8")

    async def go():
        app = make_app(pstore, use_user_keymap=True, keymap_path=km)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s = app.session
            await press(pilot, "a")
            assert decisions(pstore) == []
            await press(pilot, "y")
            assert len(decisions(pstore, "accept")) == 1
            await press(pilot, "ctrl+n")
            assert s.cursor == 2
            assert app.keys_for("accept") == "y"

    run(go())


def test_every_binding_has_an_id_and_is_tested():
    ids = [k[0] for k in KEYS]
    assert len(ids) == len(set(ids))
    keys = {k for row in KEYS for k in row[1].split(",")}
    # the table
    for k in [
        "j",
        "down",
        "k",
        "up",
        "a",
        "enter",
        "x",
        "space",
        *"1234567",
        "left_square_bracket",
        "right_square_bracket",
        "left_curly_bracket",
        "right_curly_bracket",
        "e",
        "n",
        "h",
        "l",
        "w",
        "b",
        "v",
        "u",
        "backspace",
        "A",
        "tab",
        "shift+tab",
        "slash",
        "question_mark",
        "q",
    ]:
        assert k in keys, k


def test_doc_view_renders_only_visible_lines(corpus_store):
    """A long document: a key press renders a bounded number of new lines."""
    text = ("统一战线工作领导小组在苍岭镇召开会议，强调团结奋斗。" * 40 + "\n") * 100
    from workbench.ingest import ingest_paths  # noqa: F401  (corpus_store already ingested)

    with corpus_store.write() as c:
        c.execute("UPDATE documents SET text = ?, n_chars = ? WHERE id = ?", (text, len(text), DOC0))
    spans = []
    i = 0
    while len(spans) < 500:
        i = text.index("苍岭镇", i + 1)
        spans.append({"start": i, "end": i + 3, "label": "LOC", "text": "苍岭镇"})
    corpus_store.replace_proposals(DOC0, "t", "1", spans)

    async def go():
        app = make_app(corpus_store)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            view = app.query_one(DocView)
            assert len(view.lines) > 1000
            before = view.lines_rendered
            for _ in range(20):
                await press(pilot, "a")
            per_key = (view.lines_rendered - before) / 20
            assert per_key < 10  # bounded by the lines the spans touch, not the document
            # the current item is always in view
            top = int(view.scroll_y)
            line = view.line_of_offset(app.session.current["start"])
            assert top <= line < top + view.scrollable_content_region.height

    run(go())


def test_document_switch_repaints_without_a_screen_layout(pstore):
    """tab changes the text's and the table's virtual heights without a whole-screen
    layout pass (the cost of the next-document key at scale), and the scroll range,
    scrollbars and the last lines are still right for each document."""

    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            s, view, table = app.session, app.doc_view, app.table
            layouts = []
            orig = app.screen._refresh_layout

            def counting(*a, **kw):
                layouts.append(1)
                return orig(*a, **kw)

            app.screen._refresh_layout = counting
            seen_heights = set()
            for _ in range(len(s.queue) - 1):
                await press(pilot, "tab")
                assert view.text == s.text
                h = view.scrollable_content_region.height
                assert view.virtual_size.height == len(view.lines)
                assert view.vertical_scrollbar.window_virtual_size == len(view.lines)
                assert view.max_scroll_y == max(0, len(view.lines) - h)
                assert table.virtual_size.height == len(s.items)
                assert table.max_scroll_y == max(0, len(s.items) - table.scrollable_content_region.height)
                seen_heights.add(len(view.lines))
                # the end of the document can be reached and is drawn
                view.scroll_to(y=view.max_scroll_y, animate=False, immediate=True)
                await pilot.pause()
                last_line = s.text[slice(*view.lines[-1])].strip()
                assert last_line[:4] in "".join(view.visible_text())
                await press(pilot, "j")  # moving the cursor brings the current item back into view
                line = view.line_of_offset(s.current["start"])
                assert int(view.scroll_y) <= line < int(view.scroll_y) + h
            assert len(seen_heights) > 1  # documents of different lengths were switched between
            assert layouts == []

    run(go())


def test_wrap_respects_width_and_line_breaking_rules():
    text = "本期推出苍岭镇党委书记黄军的文章《深刻把握统战工作“四个关系”》。习近平总书记指出，做好工作，要把握好关系。\n\n第二段ABC def，好。"
    for width in range(6, 40):
        lines = wrap(text, width)
        # lines cover the text exactly (newlines between paragraphs)
        joined = []
        for s, e in lines:
            assert "\n" not in text[s:e]
            joined.append(text[s:e])
        assert "".join(joined) == text.replace("\n", "")
        for s, e in lines:
            assert sum(cell_width(c) for c in text[s:e]) <= width
        for (s, e), (s2, _e2) in zip(lines, lines[1:]):
            if s2 == e and e > s + 4 and s2 < len(text):  # a soft break inside a paragraph
                assert text[s2] not in NO_START, (width, text[s:e], text[s2:])


def test_annotate_command_prepares_an_empty_database(db_path, monkeypatch):
    """An empty database gets the bundled corpus and a proposer run before the TUI starts."""
    import sys
    import types

    from click.testing import CliRunner

    from workbench.cli import cli

    calls = []

    def fake_propose_store(store, proposer=None, jobs=1, progress=None, doc_ids=None):
        calls.append(list(doc_ids))
        for d in doc_ids:
            text = store.get_document(d)["text"]
            store.replace_proposals(d, "fake", "1", [{"start": 0, "end": 2, "label": "ORG", "text": text[:2]}])
        return {"documents": len(doc_ids), "proposals": len(doc_ids)}

    mod = types.ModuleType("workbench.propose.run")
    mod.propose_store = fake_propose_store
    monkeypatch.setitem(sys.modules, "workbench.propose.run", mod)
    Store(db_path).close()  # an empty workbench database (a --db naming none is an error)
    r = CliRunner().invoke(cli, ["--db", db_path, "annotate", "--annotator", "alice", "--doc", "nope"])
    assert r.exit_code == 1 and "no document 'nope'" in r.output
    assert len(calls) == 1 and len(calls[0]) == 5
    s = Store(db_path)
    assert s.count("documents") == 5 and s.count("proposals") == 5
    # a second start neither re-ingests nor re-proposes
    r = CliRunner().invoke(cli, ["--db", db_path, "annotate", "--doc", "nope"])
    assert len(calls) == 1 and s.count("documents") == 5
    s.close()


def test_idle_gc_collects_between_keys_and_restores_automatic_gc(pstore):
    """While the annotate app runs, Python's automatic GC is off and the app collects
    when no key came for a moment; after the app, automatic GC is back on."""
    import gc

    assert gc.isenabled()

    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert not gc.isenabled()
            app.idle_gc.min_pending = 0
            before = app.idle_gc.collections
            await press(pilot, "tab", "j", "a")
            await pilot.pause(app.idle_gc.quiet + 3 * app.idle_gc.every)
            assert app.idle_gc.collections > before

    run(go())
    assert gc.isenabled()


def test_idle_gc_waits_for_a_pause_but_bounds_the_backlog():
    import gc

    from workbench.tui.idle_gc import IdleGC

    g = IdleGC(quiet=60, min_pending=0, max_pending=10**9)
    was = gc.isenabled()
    try:
        g.touch()
        g.tick()  # a key just now: no collection
        assert g.collections == 0
        g.last_activity -= 61
        g.tick()  # a minute without keys
        assert g.collections == 1
        g.max_pending = -1  # backlog over the bound: collect even inside a burst
        g.touch()
        assert g.collections == 2
    finally:
        if was:
            gc.enable()


def test_a_burst_of_keys_acts_in_order(pstore):
    """Keys arriving at once ("a x tab" typed ahead or over a slow link) act in the
    order they came: the decisions land on the document they were meant for."""

    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            d0 = app.session.doc_id
            for key, ch in (("a", "a"), ("x", "x"), ("tab", "\t"), ("a", "a")):
                app.post_message(events.Key(key, ch))
            await pilot.pause(0.3)
            rows = fresh(pstore).query("SELECT doc_id, action FROM decisions ORDER BY id")
            d1 = app.session.queue.ids[1]
            assert [(r["doc_id"], r["action"]) for r in rows] == [(d0, "accept"), (d0, "reject"), (d1, "accept")]
            assert app.session.doc_id == d1
            # typing into the search bar in a burst: the letters reach the input, no key acts
            n = len(rows)
            await press(pilot, "slash")
            for key, ch in (("a", "a"), ("x", "x"), ("1", "1"), ("q", "q")):
                app.post_message(events.Key(key, ch))
            await pilot.pause(0.3)
            assert app.query_one("#search-input").value == "ax1q" and app.mode == "search"
            assert len(fresh(pstore).query("SELECT id FROM decisions")) == n and app.is_running

    run(go())


# ---------------------------------------------------------------------------- forms: widgets that post messages

from textual.app import App  # noqa: E402

from workbench.tui.forms import AttrsForm, ConfirmBar, SearchBar  # noqa: E402


class FormsApp(App):
    def __init__(self, form):
        super().__init__()
        self.form = form
        self.got: list = []

    def compose(self):
        yield self.form

    def on_mount(self) -> None:
        self.form.display = True

    def on_attrs_form_submitted(self, m):
        self.got.append(("submitted", m.attrs))

    def on_attrs_form_invalid(self, m):
        self.got.append(("invalid", m.error))

    def on_attrs_form_cancelled(self, m):
        self.got.append(("cancelled",))

    def on_search_bar_changed(self, m):
        self.got.append(("changed", m.query))

    def on_search_bar_submitted(self, m):
        self.got.append(("submitted", m.query))

    def on_search_bar_cancelled(self, m):
        self.got.append(("cancelled",))

    def on_confirm_bar_submitted(self, m):
        self.got.append(("yes", m.callback()))

    def on_confirm_bar_cancelled(self, m):
        self.got.append(("no",))


def test_attrs_form_three_fields_parses_and_posts():
    async def go():
        app = FormsApp(AttrsForm())
        async with app.run_test() as pilot:
            app.form.open_for("QUANTITY", {"value": 36.0, "unit": "个", "approx": None})
            await pilot.pause()
            assert app.focused.id == "attr-value" and app.focused.value == "36"
            app.focused.value = "1500万"
            await press(pilot, "tab")
            app.focused.value = "斤"
            await press(pilot, "tab")
            app.focused.value = "more"
            await press(pilot, "enter")
            assert app.got == [("submitted", {"value": 15000000.0, "unit": "斤", "approx": "more"})]
            app.query_one("#attr-value").value = "lots"
            await press(pilot, "enter")
            assert app.got[-1][0] == "invalid"
            app.form.cancel()
            await pilot.pause()
            assert app.got[-1] == ("cancelled",)

    run(go())


def test_attrs_form_compact_one_field():
    async def go():
        app = FormsApp(AttrsForm(compact=True))
        async with app.run_test() as pilot:
            app.form.open_for("attrs", None)
            await pilot.pause()
            inp = app.query_one("#attrs-input")
            inp.value = "8 次 -"
            await press(pilot, "enter")
            inp.value = ""
            await press(pilot, "enter")
            inp.value = "1 2 3 4"
            await press(pilot, "enter")
            assert app.got[0] == ("submitted", {"value": 8.0, "unit": "次", "approx": None})
            assert app.got[1] == ("submitted", None)  # all empty: no attributes
            assert app.got[2][0] == "invalid" and "three words" in app.got[2][1]

    run(go())


def test_search_bar_posts_changed_submitted_cancelled():
    async def go():
        app = FormsApp(SearchBar("find"))
        async with app.run_test() as pilot:
            app.form.open_with("")
            await pilot.pause()
            await press(pilot, "a", "b", "enter")
            app.form.cancel()
            await pilot.pause()
            assert app.got == [("changed", "a"), ("changed", "ab"), ("submitted", "ab"), ("cancelled",)]

    run(go())


def test_confirm_bar_answers_with_the_callback():
    async def go():
        app = FormsApp(ConfirmBar())
        async with app.run_test() as pilot:
            app.form.ask("sure?", lambda: 42, "y", "n")
            app.form.answer(True)
            await pilot.pause()
            app.form.ask("sure?", lambda: 43, "y", "n")
            app.form.answer(False)
            await pilot.pause()
            assert app.got == [("yes", 42), ("no",)]
            assert not app.form.display

    run(go())


def test_text_styles_come_from_css_and_survive_a_theme_change(pstore):
    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            ok = app.st("ok")
            assert ok.color is not None and ok.color.triplet.hex == "#87d787"
            assert app.doc_view.st("search").bgcolor.triplet.hex == "#5f5f00"
            assert app.doc_view._cache
            app.theme = "textual-light"
            await pilot.pause(0.2)
            await press(pilot, "j", "a")
            assert app.is_running and app.session.items[1]["status"] == "accepted"

    run(go())


def test_a_burst_after_answering_a_form_acts_in_the_new_mode(pstore):
    """Keys typed right after the key that answers a form (n in the confirm prompt,
    escape in the search bar) wait for the form's message, then act in order."""

    async def go():
        app = make_app(pstore)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for key, ch in (("A", "A"), ("n", "n"), ("j", "j")):
                app.post_message(events.Key(key, ch))
            await pilot.pause(0.3)
            assert app.mode == "normal" and app.session.cursor == 1 and decisions(pstore) == []
            await press(pilot, "slash")
            for key, ch in (("escape", None), ("j", "j"), ("x", "x")):
                app.post_message(events.Key(key, ch))
            await pilot.pause(0.3)
            assert app.mode == "normal" and app.query_one("#search-input").value == ""
            assert app.session.cursor == 3 and [d["action"] for d in decisions(pstore)] == ["reject"]

    run(go())
