"""The login layer in front of ``textual-serve``, and the server that runs one app per tab.

Requests, in order:

- ``GET /login`` (the only page without a session) and ``POST /login`` (form field ``token``):
  a valid, live token opens a session, kept on the server (a random id in an HttpOnly,
  SameSite=Strict cookie); the session holds the user's row id, nothing else.
- Every other request needs that session, and the session's user must still hold a live
  token (checked in the database each time, so ``--revoke-user`` from another shell takes
  effect at once): without it, ``GET`` answers a redirect to ``/login`` and anything else 403.
  ``/ws`` also needs an ``Origin`` of this host (no other site can open an app with the
  cookie).
- ``GET /`` is the terminal page; ``/ws`` starts the app process of the session's user:
  ``annotate --annotator=NAME`` for an annotator, ``review --reviewer=NAME`` for a reviewer,
  NAME the token's, as one argv entry (no shell; ``WORKBENCH_ANNOTATOR``/``REVIEWER`` and
  ``WORKBENCH_DB`` are removed from the child's environment). ``/static`` is textual-serve's
  xterm.js front end.
- A live connection whose user is revoked is closed within :attr:`recheck_seconds`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from workbench.core.visible import visible
from workbench.store import Store
from workbench.store.users import User, find_token, live_user, verify_secret

log = logging.getLogger("workbench.serve")

COOKIE = "wb_session"
SESSION_SECONDS = 12 * 3600
# environment variables a child app must not inherit from whoever started the server: the
# name and the database come from the session and the server's --db only
SCRUBBED_ENV = ("WORKBENCH_ANNOTATOR", "WORKBENCH_REVIEWER", "WORKBENCH_DB")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class Session:
    user_id: int
    name: str
    role: str
    expires: float


def app_argv(db_path: str, user: User) -> list[str]:
    """The command line of ``user``'s app: the name is the token's, one argv entry."""
    base = [sys.executable, "-c", "from workbench.cli import main; main()", "--db", db_path]
    if user.role == "reviewer":
        return [*base, "review", f"--reviewer={user.name}"]
    return [*base, "annotate", f"--annotator={user.name}"]


class AppProcess(AppService):
    """textual-serve's app service, started from an argv list (``create_subprocess_exec``,
    never a shell) with the scrubbed environment. When the app ends before it started (e.g.
    ``review`` with nothing ready), its last line of stderr is drawn in the browser terminal."""

    def __init__(self, argv: list[str], **kwargs: Any):
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.pid: int | None = None
        self.drew = False
        self._stderr: _Tail | None = None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width=width, height=height)
        for var in SCRUBBED_ENV:
            env.pop(var, None)
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24):
        env = self._build_environment(width=width, height=height)
        process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        self._process = process
        self.pid = process.pid
        self._stderr = _Tail(process.stderr)
        # run() only calls read() on it
        process.stderr = self._stderr  # type: ignore[assignment]
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def on_data(self, payload: bytes) -> None:
        self.drew = True
        await super().on_data(payload)

    async def run(self) -> None:
        await super().run()
        if not self.drew and self._stderr is not None:
            # the app ended before drawing (review with nothing ready, a database error…):
            # its last line says why; drawn through visible(), never raw
            lines = [x for x in self._stderr.data.decode("utf-8", "replace").splitlines() if x.strip()]
            why = visible(lines[-1]) if lines else "the app ended before it opened"
            try:
                await self.remote_write_bytes(f"\r\n  {why}\r\n".encode())
            except Exception:  # the browser left meanwhile
                pass


class _Tail:
    """An app's stderr reader that keeps the last 4 KiB it read."""

    def __init__(self, reader: Any):
        self.reader = reader
        self.data = b""

    async def read(self, n: int = -1) -> bytes:
        chunk = await self.reader.read(n)
        self.data = (self.data + chunk)[-4096:]
        return chunk


def _page(title: str, body: str, *, status: int = 200) -> web.Response:
    doc = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{background:#0c181f;color:#eee;font-family:sans-serif;display:flex;"
        "align-items:center;justify-content:center;height:100vh;margin:0}"
        "form{background:#12232d;padding:2em;border-radius:6px;min-width:22em}"
        "input{width:100%;box-sizing:border-box;padding:.5em;margin:.5em 0 1em;font-family:monospace}"
        "button{padding:.5em 1.5em}.error{color:#f88}</style></head>"
        f"<body>{body}</body></html>"
    )
    return web.Response(text=doc, status=status, content_type="text/html", headers=HEADERS)


def login_page(error: str | None = None, *, status: int = 200) -> web.Response:
    msg = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
    return _page(
        "report-workbench: log in",
        '<form method="post" action="/login"><h2>report-workbench</h2>'
        f"{msg}"
        '<label for="token">Your access token</label>'
        '<input type="password" id="token" name="token" autocomplete="off" autofocus required>'
        '<button type="submit" id="login">Log in</button></form>',
        status=status,
    )


TERMINAL_PAGE = """<!DOCTYPE html>
<html lang=en>
<head>
<meta charset=utf-8>
<title>report-workbench: {title}</title>
<link rel="stylesheet" href="/static/css/xterm.css">
<script src="/static/js/textual.js"></script>
<style>
@font-face {{ font-family: "Roboto Mono"; src: url("/static/fonts/RobotoMono-VariableFont_wght.ttf"); }}
body {{ background: #0c181f; margin: 0; }}
.closed-dialog {{ display: none; position: absolute; inset: 0; z-index: 10; align-items: center;
  justify-content: center; background: rgba(12, 24, 31, .9); color: #eee; font-family: sans-serif; }}
body.-closed .closed-dialog {{ display: flex; }}
.closed-dialog form {{ display: inline; margin: 0 .5em; }}
</style>
</head>
<body>
<div class="closed-dialog"><div><p>Session ended.</p>
<form method="get" action="/"><button type="submit">Restart</button></form>
<form method="post" action="/logout"><button type="submit">Log out</button></form></div></div>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{ws_url}" data-font-size="{font_size}"></div>
</body>
</html>
"""


class WorkbenchServer(Server):
    """textual-serve's server with a login in front and one app per tab, as the session's user."""

    recheck_seconds = 2.0
    max_apps = 32
    max_apps_per_user = 4

    def __init__(
        self,
        db_path: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        public_url: str | None = None,
        argv_for: Callable[[str, User], list[str]] = app_argv,
        announce: Callable[[str], None] | None = None,
    ):
        super().__init__("workbench", host=host, port=port, title="report-workbench", public_url=public_url)
        self.db_path = str(Path(db_path).absolute())
        self.explicit_public_url = public_url
        self.argv_for = argv_for
        self.announce = announce or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.sessions: dict[str, Session] = {}
        self.live: dict[web.WebSocketResponse, tuple[Session, AppProcess]] = {}
        self._store: Store | None = None
        self._sweeper: asyncio.Task | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.db_path, create=False)
        return self._store

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")

    def initialize_logging(self) -> None:
        logging.basicConfig(level="INFO", format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard], client_max_size=64 * 1024)
        app.add_routes(
            [
                web.get("/login", self.handle_login_page),
                web.post("/login", self.handle_login),
                web.post("/logout", self.handle_logout),
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.static("/static", self.statics_path, show_index=False, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def make_app(self) -> web.Application:
        """The aiohttp application (for tests: ``TestServer(await server.make_app())``)."""
        return await self._make_app()

    async def on_startup(self, app: web.Application) -> None:
        self._sweeper = asyncio.create_task(self._sweep())
        self.announce(f"serving {self.public_url}/ (database {self.db_path}); Ctrl+C stops")

    async def on_shutdown(self, app: web.Application) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for ws in list(self.live):
            await ws.close()
        if self._store is not None:
            self._store.close()
            self._store = None

    # ------------------------------------------------------------------ sessions

    def session_of(self, request: web.Request) -> Session | None:
        """The request's session if its user still holds a live token (else it is dropped)."""
        sid = request.cookies.get(COOKIE)
        session = self.sessions.get(sid) if sid else None
        if session is None or sid is None:
            return None
        user = live_user(self.store, session.user_id)
        if user is None or session.expires < time.time():
            self.sessions.pop(sid, None)
            return None
        return session

    @web.middleware
    async def guard(self, request: web.Request, handler) -> web.StreamResponse:
        if request.path == "/login" and request.method in ("GET", "POST"):
            return await handler(request)
        session = self.session_of(request)
        if session is None:
            if request.method == "GET" and request.path != "/ws":
                raise web.HTTPSeeOther("/login", headers=HEADERS)
            raise web.HTTPForbidden(text="log in first", headers=HEADERS)
        return await handler(request)

    def _session(self, request: web.Request) -> Session:
        """The session of a request the guard let through (checked again: no request storage)."""
        session = self.session_of(request)
        if session is None:  # revoked between the guard and here
            raise web.HTTPForbidden(text="log in first", headers=HEADERS)
        return session

    async def handle_login_page(self, request: web.Request) -> web.StreamResponse:
        if self.session_of(request) is not None:
            raise web.HTTPSeeOther("/")
        return login_page()

    async def handle_login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = form.get("token")
        found = find_token(self.store, token) if isinstance(token, str) else None
        ok = False
        if found is not None:
            user, secret, stored = found
            ok = await asyncio.get_running_loop().run_in_executor(None, verify_secret, secret, stored)
        if not ok or found is None:
            log.info("login refused from %s", request.remote)
            return login_page("That token is not valid (or it was revoked).", status=401)
        user = found[0]
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = Session(user.id, user.name, user.role, time.time() + SESSION_SECONDS)
        log.info("login: %s (%s) from %s", user.name, user.role, request.remote)
        response = web.HTTPSeeOther("/", headers=HEADERS)
        response.set_cookie(
            COOKIE, sid, httponly=True, samesite="Strict", secure=self.secure, path="/", max_age=SESSION_SECONDS
        )
        raise response

    async def handle_logout(self, request: web.Request) -> web.StreamResponse:
        sid = request.cookies.get(COOKIE)
        if sid:
            self.sessions.pop(sid, None)
        response = web.HTTPSeeOther("/login", headers=HEADERS)
        response.del_cookie(COOKIE, path="/")
        raise response

    # ------------------------------------------------------------------ the app

    def _ws_url(self, request: web.Request) -> str:
        if self.explicit_public_url:
            base = self.explicit_public_url.rstrip("/")
            return ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1] + "/ws"
        return f"{'wss' if request.secure else 'ws'}://{request.host}/ws"

    def origin_ok(self, request: web.Request) -> bool:
        """A browser's websocket carries the page's Origin: it must be this server's host (the
        public URL's, behind a proxy), so no other site can open an app with the cookie."""
        origin = request.headers.get("Origin")
        if not origin:
            return False
        netloc = urlsplit(origin).netloc
        allowed = {request.host}
        if self.explicit_public_url:
            allowed.add(urlsplit(self.explicit_public_url).netloc)
        return netloc in allowed

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        font_size = min(max(_int(request.query.get("fontsize"), 16), 8), 40)
        who = f"{session.name} ({session.role})"
        text = TERMINAL_PAGE.format(
            title=html.escape(who), ws_url=html.escape(self._ws_url(request), quote=True), font_size=font_size
        )
        return web.Response(text=text, content_type="text/html", headers=HEADERS)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        session = self._session(request)
        if not self.origin_ok(request):
            raise web.HTTPForbidden(text="websocket from another origin refused")
        user = live_user(self.store, session.user_id)
        if user is None:  # pragma: no cover - the guard checked it a moment ago
            raise web.HTTPForbidden(text="log in first")
        mine = sum(1 for s, _ in self.live.values() if s.user_id == user.id)
        if len(self.live) >= self.max_apps or mine >= self.max_apps_per_user:
            raise web.HTTPTooManyRequests(text="too many open tabs; close one first")
        width = min(max(_int(request.query.get("width"), 80), 20), 400)
        height = min(max(_int(request.query.get("height"), 24), 8), 200)
        websocket = web.WebSocketResponse(heartbeat=15)
        service: AppProcess | None = None
        try:
            await websocket.prepare(request)
            service = AppProcess(
                self.argv_for(self.db_path, user),
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
            )
            self.live[websocket] = (session, service)
            log.info("app for %s (%s): %s", user.name, user.role, service.argv[4:])
            await service.start(width, height)
            try:
                await self._process_messages(websocket, service)
            finally:
                await service.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # a broken message from the browser: drop the connection
            log.warning("connection of %s ended: %s", user.name, error)
        finally:
            self.live.pop(websocket, None)
            if service is not None:
                await service.stop()
                await _reap(service)
        return websocket

    async def _sweep(self) -> None:
        """Close the connections and drop the sessions of users whose token was revoked."""
        while True:
            await asyncio.sleep(self.recheck_seconds)
            try:
                await self.sweep_once()
            except Exception as e:  # the database busy for a moment: try again next round
                log.warning("revocation check failed: %s", e)

    async def sweep_once(self) -> None:
        alive: dict[int, bool] = {}

        def ok(user_id: int) -> bool:
            if user_id not in alive:
                alive[user_id] = live_user(self.store, user_id) is not None
            return alive[user_id]

        for sid, session in list(self.sessions.items()):
            if not ok(session.user_id) or session.expires < time.time():
                self.sessions.pop(sid, None)
        for ws, (session, _service) in list(self.live.items()):
            if not ok(session.user_id):
                log.info("token of %s revoked: closing their app", session.name)
                await ws.close()


async def _reap(service: AppProcess) -> None:
    """Make sure the app process is gone (it quits on the 'quit' meta; else it is killed)."""
    process = service._process
    if process is None or process.returncode is not None:
        return
    try:
        await asyncio.wait_for(process.wait(), timeout=5)
    except TimeoutError:
        process.kill()
        await process.wait()


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def serve(db_path: str, *, host: str, port: int, public_url: str | None = None) -> None:
    """Run the server until Ctrl+C / SIGTERM."""
    os.environ.pop("TEXTUAL", None)  # no devtools in the children
    WorkbenchServer(db_path, host=host, port=port, public_url=public_url).serve()
