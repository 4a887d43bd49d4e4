"""The review screen's detail panel on the Line API (issue 14): the document of the current
disagreement in a virtualized text view scrolled to it, a head of version rows of which a
key renders again only those that changed, no layout pass per key, placeholders for
control characters, CJK at line ends, re-wrapping on resize."""

from __future__ import annotations

import html

from pilot_helpers import press, run

from workbench.core.visible import visible
from workbench.ingest import ingest_paths
from workbench.review import ReviewSession
from workbench.store import Store
from workbench.tui.review_app import ReviewApp
from workbench.tui.wrap import cell_width

SIZE = (160, 45)
PARA = "县委统战工作领导小组在酉阳发布微信公众号上设立同心筑酉专栏，定期刊载党委书记话统战的文章。\n"


def two_annotators(store, doc_id: str, spans: list[dict]) -> None:
    """alice accepts every span; bob rejects the first, relabels the second, accepts the rest."""
    text = store.get_document(doc_id)["text"]
    store.replace_proposals(doc_id, "fixture", "1", [{**s, "text": text[s["start"] : s["end"]]} for s in spans])
    for i, p in enumerate(store.proposals(doc_id)):
        kw = dict(proposal_id=p["id"], start=p["start"], end=p["end"], label=p["label"], text=p["text"])
        store.record_decision(doc_id, "alice", "accept", **kw)
        if i == 0:
            store.record_decision(doc_id, "bob", "reject", proposal_id=p["id"])
        elif i == 1:
            store.record_decision(doc_id, "bob", "edit", **{**kw, "label": "LOC"})
        else:
            store.record_decision(doc_id, "bob", "accept", **kw)
    for who in ("alice", "bob"):
        store.record_decision(doc_id, who, "finish")


def make_db(tmp_path, name: str, text: str, spans: list[dict]) -> Store:
    d = tmp_path / name
    d.mkdir()
    (d / f"{name}.txt").write_text(text, encoding="utf-8")
    store = Store(tmp_path / "wb.db")
    rep = ingest_paths(store, [d])
    assert not rep.errors, rep.errors
    two_annotators(store, name, spans)
    return store


async def painted(app, pilot) -> None:
    """Wait for the first paint (a loaded machine paints later)."""
    for _ in range(400):
        if "review" in str(app.query_one("#header").render()) and app.detail.body.lines[-1][1] > 0:
            return
        await pilot.pause(0.05)
    raise AssertionError("the first screen never came")


def screen_text(app) -> str:
    return html.unescape(app.export_screenshot()).replace("\u00a0", " ")


def long_doc(tmp_path):
    """A 200,000-character report; the disagreements are near its end."""
    text = ""
    while len(text) < 200_000:
        text += PARA
    text = text[:200_000]
    near_end = text.rfind("同心筑酉", 0, 199_500)
    second = text.rfind("酉阳发布", 0, near_end)
    third = text.find("党委书记", near_end)
    spans = [
        {"start": second, "end": second + 4, "label": "PROGRAM"},
        {"start": near_end, "end": near_end + 4, "label": "PROGRAM"},
        {"start": third, "end": third + 4, "label": "ORG"},
    ]
    return make_db(tmp_path, "long", text, spans), text, spans


def test_a_disagreement_near_the_end_of_a_long_document_is_shown_and_scrolled_to(tmp_path):
    store, text, spans = long_doc(tmp_path)

    async def go():
        session = ReviewSession(store, "rita")
        assert [(it.cluster.start, it.cluster.end) for it in session.items] == [
            (s["start"], s["end"]) for s in spans[:2]
        ]
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await painted(app, pilot)
            body = app.detail.body
            assert body.scroll_y > 1000  # scrolled far down the document
            shown = "\n".join(body.visible_text())
            first = spans[0]
            line = text[first["start"] - 8 : first["end"]].split("\n")[-1]
            assert line in shown.replace("\n", "")
            # only the lines in view were rendered, not the 4,000-odd lines of the document
            assert len(body.lines) > 2000 and body.lines_rendered < 3 * app.size.height
            await press(pilot, "j")
            assert session.cursor == 1
            assert text[spans[1]["start"] : spans[1]["end"]] in "".join(body.visible_text())
            assert "同心筑酉" in screen_text(app)
            # add mode from there: j / k move the caret by wrapped rows near the end of the text
            await press(pilot, "n")
            caret = session.add_draft.caret
            await press(pilot, "j")
            row = body.line_of_offset(caret)
            assert body.line_of_offset(session.add_draft.caret) == row + 1
            await press(pilot, "k", "k")
            assert body.line_of_offset(session.add_draft.caret) == row - 1
            lo, hi = body.scroll_y, body.scroll_y + body.scrollable_content_region.height
            assert lo <= body.line_of_offset(session.add_draft.caret) < hi

    run(go())


def test_no_review_key_lays_the_screen_out(tmp_path):
    """The detail panel was a Static updated per key: each key laid out the whole screen."""
    store, text, spans = long_doc(tmp_path)

    async def go():
        session = ReviewSession(store, "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(400):
                if "review" in str(app.query_one("#header").render()):
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.3)
            screen = app.screen
            layouts = []
            real = screen._refresh_layout

            def counted(*a, **k):
                layouts.append(1)
                return real(*a, **k)

            screen._refresh_layout = counted
            await press(pilot, "l")  # highlight version 2
            assert app.version == 1
            await press(pilot, "j", "k")  # another disagreement and back
            assert session.cursor == 0
            await press(pilot, "1")  # settled
            assert session.items[0].status in ("picked", "rejected")
            await press(pilot, "u")
            assert session.items[0].status == "open"
            assert layouts == []

    run(go())


def test_a_key_renders_again_only_the_rows_it_changed(tmp_path):
    store, text, spans = long_doc(tmp_path)

    async def go():
        session = ReviewSession(store, "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await painted(app, pilot)
            await pilot.pause(0.2)
            head, body = app.detail.head, app.detail.body
            rows, lines = head.rows_rendered, body.lines_rendered
            await press(pilot, "l")  # the ▶ moves from one version row to the other
            assert app.version == 1
            assert head.rows_rendered - rows == 2 and body.lines_rendered == lines
            await press(pilot, "1")  # settled: its status row, its line of text, the next item's
            assert session.items[0].status in ("picked", "rejected")
            assert body.lines_rendered - lines <= 4

    run(go())


CONTROLS = "\x1b\x07\u202e"


def controls_text(width: int) -> str:
    """CJK paragraphs for a ``width``-cell text view: a row ending in a control character
    (ESC, BEL, a bidi override; its placeholder takes the last cell but one, the next
    two-cell character goes to the next row), a full row, then a row starting with an ASCII
    letter whose last CJK character would overhang the last cell."""
    out = ""
    for k in range(12):
        out += "统" * (width // 2 - 1) + CONTROLS[k % 3]
        out += "工作领导小组"[k % 6] * (width // 2) + ("a" if width % 2 else "")
        out += "b" + "酉阳发布" * (width // 8 + 1) + "。\n"
    return out


def test_control_characters_and_cjk_at_line_ends_are_drawn_as_placeholders(tmp_path):
    store = make_db(
        tmp_path,
        "a_probe",
        PARA * 3,
        [{"start": 0, "end": 4, "label": "ORG"}, {"start": 10, "end": 14, "label": "ORG"}],
    )

    async def width_of_text_view() -> int:
        app = ReviewApp(ReviewSession(store, "rita"), use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await painted(app, pilot)
            return app.detail.body.scrollable_content_region.width

    width = run(width_of_text_view())
    text = controls_text(width)
    store.close()
    store = make_db(
        tmp_path, "ctl", text, [{"start": 3, "end": 7, "label": "ORG"}, {"start": 12, "end": 16, "label": "ORG"}]
    )
    assert store.get_document("ctl")["text"] == text  # kept exactly (and flagged)

    async def go():
        session = ReviewSession(store, "rita", doc_ids=["ctl"])
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await painted(app, pilot)
            body = app.detail.body
            assert body.scrollable_content_region.width == width
            top = int(body.scroll_y)
            ends = 0
            for y in range(body.scrollable_content_region.height):
                if top + y >= len(body.lines):
                    break
                s, e = body.lines[top + y]
                drawn = body.render_line(y).text
                assert visible(drawn) == drawn  # no raw control or bidi character
                assert drawn.rstrip() == visible(text[s:e]).rstrip()  # nothing cropped or lost
                assert sum(cell_width(c) for c in text[s:e]) <= width  # a wide character never overhangs
                ends += e > s and text[e - 1] in CONTROLS
            assert ends >= 6  # the rows ending in a control character end in its placeholder
            shown = screen_text(app)
            assert "\x1b" not in shown and visible("\x1b") in shown and visible("\u202e") in shown

    run(go())


def test_resize_rewraps_the_text_and_keeps_the_disagreement_in_view(tmp_path):
    store, text, spans = long_doc(tmp_path)

    async def go():
        session = ReviewSession(store, "rita")
        app = ReviewApp(session, use_user_keymap=False)
        async with app.run_test(size=SIZE) as pilot:
            await painted(app, pilot)
            body = app.detail.body
            wide = len(body.lines)
            await pilot.resize_terminal(80, 24)
            for _ in range(200):
                await pilot.pause(0.05)
                if len(body.lines) > wide:
                    break
            assert len(body.lines) > wide
            width = body.scrollable_content_region.width
            assert all(sum(cell_width(c) for c in text[s:e]) <= width for s, e in body.lines[:500])
            first = spans[0]
            row = body.line_of_offset(first["start"])
            top = int(body.scroll_y)
            assert top <= row < top + body.scrollable_content_region.height
            assert "2 versions" in str(app.query_one("#status").render())

    run(go())
