"""SQL for the browser users of ``workbench serve``: per-person access tokens (table ``users``,
migration 6).

A token reads ``wb_<id>_<secret>``: ``id`` (12 hex digits) finds the row, ``secret`` (32
random URL-safe characters, 192 bits) is checked against its scrypt hash with a constant-time
compare. The token itself is never stored: it is shown once, when the lead adds the user. A
revoked token keeps its row (``revoked_at``); a name has at most one live token at a time.
The name a token acts as is checked like every annotator name (:func:`clean_name`), and it is
the only name the server ever runs an app under: never one from the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.core.names import clean_name

from .db import now_iso

if TYPE_CHECKING:
    from .db import Store

ROLES = ("annotator", "reviewer")
"""``annotator``: the annotate app, as that name; ``reviewer``: the review app."""

# scrypt parameters of new hashes (16 MiB, ~50 ms a check); stored with each hash, so they
# can be raised later without invalidating the tokens already issued
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_TOKEN = re.compile(r"wb_([0-9a-f]{12})_([A-Za-z0-9_-]{32})")


class UserError(ValueError):
    """A user operation that cannot be done (bad name or role, no such user, already has a
    token); the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    token_id: str
    created_at: str
    revoked_at: str | None = None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


def hash_secret(
    secret: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
) -> str:
    """``scrypt$n$r$p$salt$digest`` (hex) of ``secret``; a new random salt unless given."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * r * n + 1024, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` hashes to ``stored`` (constant-time compare of the digests)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        again = hash_secret(secret, salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(again.rsplit("$", 1)[1].encode(), digest.encode())


def parse_token(token: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of a well-formed token (surrounding blanks ignored), else None."""
    m = _TOKEN.fullmatch(token.strip()) if isinstance(token, str) else None
    return (m.group(1), m.group(2)) if m else None


def _user(row: dict) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        token_id=row["token_id"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


_COLS = "id, name, role, token_id, created_at, revoked_at"


def add_user(store: Store, name: str, role: str = "annotator") -> tuple[User, str]:
    """Issue a token to ``name`` (checked by :func:`clean_name`) with ``role``; returns the
    user and the token, which exists nowhere else afterwards. A name that has a live token
    already is refused (revoke it first)."""
    try:
        name = clean_name(name, what="user name")
    except ValueError as e:
        raise UserError(str(e)) from None
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)  # 32 characters
    token = f"wb_{token_id}_{secret}"
    stored = hash_secret(secret)
    with store.write() as c:
        live = c.execute("SELECT role FROM users WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone()
        if live is not None:
            raise UserError(
                f"{name} has a live token already ({live[0]}); revoke it first: workbench serve --revoke-user NAME"
            )
        cur = c.execute(
            "INSERT INTO users (name, role, token_id, token_hash, created_at) VALUES (?,?,?,?,?)",
            (name, role, token_id, stored, now_iso()),
        )
        row = store.query(f"SELECT {_COLS} FROM users WHERE id = ?", (cur.lastrowid,))[0]
    return _user(row), token


def revoke_user(store: Store, name: str) -> User:
    """Revoke the live token of ``name``; the row stays, marked revoked. UserError if
    ``name`` has no live token."""
    try:
        name = clean_name(name, what="user name")
    except ValueError as e:
        raise UserError(str(e)) from None
    with store.write() as c:
        c.execute("UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (now_iso(), name))
        if c.execute("SELECT changes()").fetchone()[0] == 0:
            raise UserError(f"no live token for {name}")
        row = store.query(f"SELECT {_COLS} FROM users WHERE name = ? ORDER BY id DESC LIMIT 1", (name,))[0]
    return _user(row)


def list_users(store: Store, *, include_revoked: bool = False) -> list[User]:
    """The users, by name (live ones only unless ``include_revoked``), oldest token first."""
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    return [_user(r) for r in store.query(f"SELECT {_COLS} FROM users{where} ORDER BY name, id")]


def live_user(store: Store, user_id: int) -> User | None:
    """The user of row ``user_id`` if its token is still live (a cheap check, no hashing:
    for every request of a logged-in browser)."""
    rows = store.query(f"SELECT {_COLS} FROM users WHERE id = ? AND revoked_at IS NULL", (user_id,))
    return _user(rows[0]) if rows else None


def find_token(store: Store, token: str) -> tuple[User, str, str] | None:
    """``(user, secret, stored hash)`` of the live user a well-formed ``token`` names, else
    None; the secret is not checked yet (:func:`verify_secret`, ~50 ms of CPU: a server runs
    it off its event loop)."""
    parts = parse_token(token)
    if parts is None:
        return None
    token_id, secret = parts
    rows = store.query(f"SELECT {_COLS}, token_hash FROM users WHERE token_id = ? AND revoked_at IS NULL", (token_id,))
    return (_user(rows[0]), secret, rows[0]["token_hash"]) if rows else None


def authenticate(store: Store, token: str) -> User | None:
    """The live user ``token`` belongs to, or None (malformed, unknown, revoked or wrong)."""
    found = find_token(store, token)
    if found is None or not verify_secret(found[1], found[2]):
        return None
    return found[0]


__all__ = [
    "ROLES",
    "User",
    "UserError",
    "add_user",
    "authenticate",
    "find_token",
    "hash_secret",
    "list_users",
    "live_user",
    "parse_token",
    "revoke_user",
    "verify_secret",
]
