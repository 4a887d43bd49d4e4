"""``workbench serve``: the token store, the login layer in front of textual-serve, and the
annotate app in a real headless Chromium (issue 17)."""

from __future__ import annotations

import asyncio
import hmac
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.store import Store
from workbench.store import users as users_mod
from workbench.store.users import UserError, add_user, authenticate, list_users, parse_token, revoke_user

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_helpers import (  # noqa: E402
    CHROMIUM,
    PROBE,
    chromium_missing,
    focus_terminal,
    free_port,
    login,
    running_server,
    screen,
    wait_screen,
)


def _rows(db_path: str) -> list[tuple]:
    c = sqlite3.connect(db_path)
    try:
        return c.execute("SELECT * FROM users ORDER BY id").fetchall()
    finally:
        c.close()


# ---------------------------------------------------------------------------- the token store


def test_a_token_is_stored_hashed_never_in_clear(store):
    user, token = add_user(store, "alice")
    token_id, secret = parse_token(token)
    assert user.name == "alice" and user.role == "annotator" and user.token_id == token_id
    (row,) = _rows(store.path)
    assert not any(isinstance(v, str) and (secret in v or token in v) for v in row)
    stored = store.query("SELECT token_hash FROM users")[0]["token_hash"]
    assert stored.startswith("scrypt$16384$8$1$")
    assert users_mod.verify_secret(secret, stored) and not users_mod.verify_secret(secret + "x", stored)
    # two hashes of one secret differ (salted)
    assert users_mod.hash_secret(secret) != users_mod.hash_secret(secret)


def test_authenticate_good_wrong_malformed_and_foreign_tokens(store):
    alice, atok = add_user(store, "alice")
    bob, btok = add_user(store, "bob")
    assert authenticate(store, atok) == alice
    assert authenticate(store, f"  {btok}\n") == bob
    a_id, a_secret = parse_token(atok)
    b_id, b_secret = parse_token(btok)
    assert authenticate(store, f"wb_{a_id}_{b_secret}") is None  # bob's secret on alice's id
    assert authenticate(store, atok[:-1] + ("A" if atok[-1] != "A" else "B")) is None
    for junk in ("", "alice", "wb_", atok + "x", atok.upper(), "wb_zzzzzzzzzzzz_" + a_secret, None, 42):
        assert authenticate(store, junk) is None  # type: ignore[arg-type]


def test_the_secret_is_compared_in_constant_time(store, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(users_mod.hmac, "compare_digest", spy)
    _, token = add_user(store, "alice")
    assert authenticate(store, token) is not None
    assert authenticate(store, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert len(calls) == 2


def test_revocation_roles_and_one_live_token_per_name(store):
    rita, rtok = add_user(store, "rita", "reviewer")
    assert rita.role == "reviewer"
    with pytest.raises(UserError, match="live token already"):
        add_user(store, "rita")
    with pytest.raises(UserError, match="unknown role"):
        add_user(store, "carol", "admin")
    revoked = revoke_user(store, "rita")
    assert revoked.revoked_at is not None and not revoked.live
    assert authenticate(store, rtok) is None
    assert list_users(store) == []
    assert [u.name for u in list_users(store, include_revoked=True)] == ["rita"]
    with pytest.raises(UserError, match="no live token"):
        revoke_user(store, "rita")
    again, rtok2 = add_user(store, "rita", "annotator")  # a new token after revocation
    assert authenticate(store, rtok2) == again and again.role == "annotator"
    assert authenticate(store, rtok) is None
    assert [(u.name, u.live) for u in list_users(store, include_revoked=True)] == [("rita", False), ("rita", True)]


@pytest.mark.parametrize(
    "name",
    ["", "   ", "ali\x1bce", "bo\nb", "\u202eevil", "zero\u200bwidth", "x" * 65],
    ids=["empty", "blank", "esc", "newline", "bidi", "zero-width", "long"],
)
def test_bad_names_are_refused_and_nothing_is_written(store, name):
    with pytest.raises(UserError):
        add_user(store, name)
    assert _rows(store.path) == []


def test_names_are_stripped_like_every_annotator_name(store):
    user, _ = add_user(store, "  alice ")
    assert user.name == "alice"


# ---------------------------------------------------------------------------- the CLI


def _cli(db: str, *args: str):
    from workbench.cli import cli

    return CliRunner().invoke(cli, ["--db", db, "serve", *args], catch_exceptions=False)


def test_cli_add_list_revoke(corpus_store):
    db = corpus_store.path
    r = _cli(db, "--add-user", "alice")
    assert r.exit_code == 0
    token = r.stdout.strip()
    assert parse_token(token) is not None  # stdout: the token alone
    assert "shown this once" in r.stderr
    assert _cli(db, "--add-user", "rita", "--role", "reviewer").exit_code == 0
    r = _cli(db, "--list-users")
    assert [line.split("\t")[:2] for line in r.stdout.splitlines()] == [["alice", "annotator"], ["rita", "reviewer"]]
    assert token not in r.stdout
    r = _cli(db, "--revoke-user", "alice")
    assert r.exit_code == 0 and "revoked" in r.stderr
    assert [line.split("\t")[0] for line in _cli(db, "--list-users").stdout.splitlines()] == ["rita"]
    assert "revoked" in _cli(db, "--list-users", "--all").stdout


def test_cli_bad_name_is_one_line_exit_1(corpus_store):
    before = _rows(corpus_store.path)
    r = _cli(corpus_store.path, "--add-user", "ev\x1bil")
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1 and "\x1b" not in r.stderr and "U+001B" in r.stderr
    assert "Traceback" not in r.output
    assert _rows(corpus_store.path) == before


def test_serve_without_textual_serve_says_what_to_install(corpus_store, monkeypatch):
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    monkeypatch.setitem(sys.modules, "textual_serve.app_service", None)
    monkeypatch.delitem(sys.modules, "workbench.serve.server", raising=False)
    r = _cli(corpus_store.path)
    assert r.exit_code == 1
    assert r.stderr.strip() == "Error: workbench serve needs textual-serve: pip install 'report-workbench[serve]'"


def test_browser_reserved_shortcuts_are_bound_by_neither_app():
    """Chromium never hands ctrl+w / ctrl+t / ctrl+n / ctrl+tab (and their shift forms) to a
    page: a key the apps need must not be one of them."""
    from workbench.tui.annotate_keys import KEYS as ANNOTATE_KEYS
    from workbench.tui.review_keys import KEYS as REVIEW_KEYS

    reserved = {"ctrl+w", "ctrl+t", "ctrl+n", "ctrl+tab", "ctrl+shift+w", "ctrl+shift+t", "ctrl+shift+n"}
    reserved |= {"ctrl+shift+tab", "ctrl+shift+q", "alt+f4", "f11"}
    bound = {k.strip() for key in (*ANNOTATE_KEYS, *REVIEW_KEYS) for k in key.keys.split(",")}
    assert bound and not (bound & reserved)


# ---------------------------------------------------------------------------- the login layer

textual_serve = pytest.importorskip("textual_serve", reason="textual-serve is not installed (pip install -e '.[test]')")

# a stand-in for the app: starts like a Textual app under textual-serve, sends its argv and
# the annotator variable back as a data packet, and ends on the server's quit packet
FAKE_APP = r"""
import json, os, sys
out = sys.stdout.buffer
out.write(b"__GANGLION__\n")
payload = json.dumps({"argv": sys.argv[1:], "env": os.environ.get("WORKBENCH_ANNOTATOR")}).encode()
out.write(b"D" + len(payload).to_bytes(4, "big") + payload)
out.flush()
data = b""
while b"quit" not in data:
    chunk = os.read(0, 4096)
    if not chunk:
        break
    data += chunk
"""


def _layer(store, monkeypatch):
    from workbench.serve.server import WorkbenchServer, app_argv

    started: list[list[str]] = []

    def fake_argv(db_path, user):
        real = app_argv(db_path, user)
        started.append(real)
        return [sys.executable, "-c", FAKE_APP, *real[3:]]

    monkeypatch.setenv("WORKBENCH_ANNOTATOR", "mallory")  # the server's environment must not leak
    server = WorkbenchServer(store.path, argv_for=fake_argv, announce=lambda msg: None)
    return server, started


def _run(coro):
    return asyncio.run(coro)


async def _client(server):
    from aiohttp.test_utils import TestClient, TestServer

    client = TestClient(TestServer(await server.make_app()))
    await client.start_server()
    return client


async def _log_in(client, token: str):
    return await client.post("/login", data={"token": token}, allow_redirects=False)


def _origin(client) -> dict[str, str]:
    return {"Origin": f"http://{client.host}:{client.port}"}


def test_without_a_session_only_the_login_page(store, monkeypatch):
    server, started = _layer(store, monkeypatch)

    async def go():
        client = await _client(server)
        try:
            for path in ("/", "/static/js/textual.js", "/static/css/xterm.css", "/nothing", "/?annotator=alice"):
                r = await client.get(path, allow_redirects=False)
                assert r.status == 303 and r.headers["Location"] == "/login", path
                assert "textual" not in await r.text()
            r = await client.get("/login")
            body = await r.text()
            assert r.status == 200 and 'name="token"' in body and "textual.js" not in body
            assert r.headers["X-Frame-Options"] == "DENY"
            r = await client.post("/", allow_redirects=False)
            assert r.status == 403
            r = await client.get("/ws", headers=_origin(client), allow_redirects=False)
            assert r.status == 403
            with pytest.raises(Exception):
                await client.ws_connect("/ws", headers=_origin(client))
            client.session.cookie_jar.update_cookies({"wb_session": "forged"})
            r = await client.get("/", allow_redirects=False)
            assert r.status == 303
        finally:
            await client.close()

    _run(go())
    assert started == []


def test_a_wrong_token_gets_no_app(store, monkeypatch):
    server, started = _layer(store, monkeypatch)
    _, token = add_user(store, "alice")

    async def go():
        client = await _client(server)
        try:
            for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "alice", ""):
                r = await _log_in(client, bad)
                assert r.status in (400, 401) and "set-cookie" not in {k.lower() for k in r.headers}
                assert (await client.get("/", allow_redirects=False)).status == 303
                with pytest.raises(Exception):
                    await client.ws_connect("/ws", headers=_origin(client))
        finally:
            await client.close()

    _run(go())
    assert started == []


async def _open_app(client, query: str = "") -> dict:
    import json

    ws = await client.ws_connect("/ws" + query, headers=_origin(client))
    try:
        msg = await asyncio.wait_for(ws.receive(), timeout=60)
        return json.loads(msg.data)
    finally:
        await ws.close()


def test_the_token_names_the_user_never_the_url(store, monkeypatch):
    server, started = _layer(store, monkeypatch)
    _, atok = add_user(store, "alice")
    _, rtok = add_user(store, "rita", "reviewer")

    async def go():
        client = await _client(server)
        try:
            r = await _log_in(client, atok)
            assert r.status == 303 and r.headers["Location"] == "/"
            cookie = r.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            page = await (await client.get("/")).text()
            assert "/static/js/textual.js" in page and "/ws" in page
            sent = await _open_app(client, "?annotator=rita&reviewer=rita&app=review&role=reviewer")
            assert sent["argv"][-2:] == ["annotate", "--annotator=alice"]
            assert sent["env"] is None  # WORKBENCH_ANNOTATOR=mallory of the server is not passed on
            assert not any("review" in a or "rita" in a for a in sent["argv"])
            # another site cannot open an app with the cookie
            with pytest.raises(Exception):
                await client.ws_connect("/ws", headers={"Origin": "http://evil.example"})
            with pytest.raises(Exception):
                await client.ws_connect("/ws")  # no Origin at all
            # the reviewer gets review
            client.session.cookie_jar.clear()
            assert (await _log_in(client, rtok)).status == 303
            sent = await _open_app(client, "?annotator=alice")
            assert sent["argv"][-2:] == ["review", "--reviewer=rita"]
        finally:
            await client.close()

    _run(go())
    assert [a[-2:] for a in started] == [["annotate", "--annotator=alice"], ["review", "--reviewer=rita"]]
    assert all(a[a.index("--db") + 1] == str(Path(store.path).absolute()) for a in started)


def test_revoking_ends_the_session_and_closes_open_apps(store, monkeypatch):
    server, started = _layer(store, monkeypatch)
    _, atok = add_user(store, "alice")

    async def go():
        client = await _client(server)
        try:
            assert (await _log_in(client, atok)).status == 303
            ws = await client.ws_connect("/ws", headers=_origin(client))
            await asyncio.wait_for(ws.receive(), timeout=60)  # the app runs
            other = Store(store.path)  # the lead, from another shell
            revoke_user(other, "alice")
            other.close()
            await server.sweep_once()
            msg = await asyncio.wait_for(ws.receive(), timeout=30)
            assert ws.closed or msg.type.name in ("CLOSE", "CLOSING", "CLOSED")
            assert (await client.get("/", allow_redirects=False)).status == 303
            with pytest.raises(Exception):
                await client.ws_connect("/ws", headers=_origin(client))
        finally:
            await client.close()

    _run(go())
    assert len(started) == 1


def test_logout_drops_the_session(store, monkeypatch):
    server, _ = _layer(store, monkeypatch)
    _, atok = add_user(store, "alice")

    async def go():
        client = await _client(server)
        try:
            assert (await _log_in(client, atok)).status == 303
            cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["wb_session"].value
            assert (await client.get("/", allow_redirects=False)).status == 200
            r = await client.post("/logout", allow_redirects=False)
            assert r.status == 303 and r.headers["Location"] == "/login"
            client.session.cookie_jar.update_cookies({"wb_session": cookie})  # the old cookie, kept
            assert (await client.get("/", allow_redirects=False)).status == 303
        finally:
            await client.close()

    _run(go())


# ---------------------------------------------------------------------------- a real browser


@pytest.fixture
def served_db(corpus_store):
    from workbench.propose.run import propose_store

    propose_store(corpus_store)
    return corpus_store


def _decisions(db: str, annotator: str) -> list[dict]:
    s = Store(db)
    try:
        return [d for doc in s.document_ids() for d in s.decisions(doc, annotator)]
    finally:
        s.close()


def test_annotate_in_chromium_two_users_blind_to_each_other(served_db, tmp_path):
    why = chromium_missing()
    if why:
        if os.environ.get("CI"):  # .ci/run installs both: there, a skip would hide the browser test
            pytest.fail(f"CI: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    db = served_db.path
    _, alice = add_user(served_db, "alice")
    _, bob = add_user(served_db, "bob")
    _, rita = add_user(served_db, "rita", "reviewer")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    shot = Path(os.environ.get("WORKBENCH_SERVE_SCREENSHOT") or tmp_path / "serve.png")
    with running_server(db, port), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            pages = {}
            for name in ("alice", "bob", "rita", "eve"):
                ctx = browser.new_context(viewport={"width": 1600, "height": 900})
                ctx.add_init_script(PROBE)
                pages[name] = ctx.new_page()
            a, b, r, e = pages["alice"], pages["bob"], pages["rita"], pages["eve"]

            # a wrong token: the login page again, no terminal, no app
            login(e, base, alice[:-1] + ("A" if alice[-1] != "A" else "B"))
            e.wait_for_selector("#error")
            assert e.url == base + "/login" and e.locator("#terminal").count() == 0
            e.goto(base + "/?annotator=alice")
            assert e.url == base + "/login" and e.locator("#terminal").count() == 0

            # two annotators at once
            login(a, base, alice)
            login(b, base, bob)
            first_a = wait_screen(a, "queue")
            first_b = wait_screen(b, "queue")
            assert " alice " in first_a.splitlines()[0] and " bob " in first_b.splitlines()[0]
            assert "0✓ 0✎ 0+ 0✗" in first_a.splitlines()[0]

            focus_terminal(a)
            for key in "jax":
                a.keyboard.press(key)
            after_a = wait_screen(a, "1✓ 0✎ 0+ 1✗")
            # the screen says it: the database holds it already
            got = _decisions(db, "alice")
            assert [d["action"] for d in got] == ["accept", "reject"]
            assert got[0]["proposal_id"] != got[1]["proposal_id"]
            assert "✓ accepted" in after_a and "✗ rejected" in after_a
            assert _decisions(db, "bob") == []

            # bob sees none of it: his counts, his list
            focus_terminal(b)
            b.keyboard.press("x")
            after_b = wait_screen(b, "0✓ 0✎ 0+ 1✗")
            assert "✓ accepted" not in after_b
            assert [d["action"] for d in _decisions(db, "bob")] == ["reject"]
            assert "1✓ 0✎ 0+ 1✗" in screen(a).splitlines()[0]  # alice's counts unchanged by bob's x
            assert len(_decisions(db, "alice")) == 2

            a.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000

            # undo in the browser: the reject is undone in the database, and the screen says so
            a.keyboard.press("u")
            wait_screen(a, "1✓ 0✎ 0+ 0✗")
            got = _decisions(db, "alice")
            assert [d["action"] for d in got] == ["accept", "reject", "undo"] and got[2]["ref_id"] == got[1]["id"]

            # a reviewer gets the review app (here: nothing finished yet, and it says so)
            login(r, base, rita)
            wait_screen(r, "no document is ready for review")
        finally:
            browser.close()
