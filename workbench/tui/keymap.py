"""User keymaps: a TOML file mapping binding ids to keys.

Looked up at ``$WORKBENCH_KEYMAP``, else ``$XDG_CONFIG_HOME/workbench/keymap.toml``
(``~/.config/workbench/keymap.toml``). Example::

    # binding id = "key[,key...]"  (ids: press ? in the workbench)
    [keymap]
    accept = "y,enter"
    reject = "d"
    "cursor.next" = "j,down,ctrl+n"

A bare table (no ``[keymap]`` header) works too. Values may be a string of
comma-separated keys or a list of keys. ``[keymap]`` is the annotate screen;
the review screen reads its own table, ``[review]`` (its binding ids differ)::

    [review]
    pick = "enter,p"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any


class KeymapError(Exception):
    pass


def default_keymap_path() -> Path:
    env = os.environ.get("WORKBENCH_KEYMAP")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "workbench" / "keymap.toml"


def load_keymap(path: Path | None, known_ids: set[str], section: str = "keymap") -> tuple[dict[str, str], list[str]]:
    """Read the ``section`` table of a keymap file; returns (binding id -> "k1,k2", warnings).

    A missing file is an empty keymap. A malformed one raises KeymapError
    naming the file (and line, from the TOML parser).
    """
    if path is None or not path.exists():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise KeymapError(f"{path}: {e}") from None
    if section in data:
        table = data[section]
    elif section == "keymap":  # a bare table: the annotate keys (other apps have their own table)
        table = {k: v for k, v in data.items() if not isinstance(v, dict)}
    else:
        table = {}
    if not isinstance(table, dict):
        raise KeymapError(f"{path}: [{section}] must be a table of binding id = keys")
    out: dict[str, str] = {}
    warnings: list[str] = []
    for bid, keys in table.items():
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keys = ",".join(keys)
        if not isinstance(keys, str) or not keys.strip():
            raise KeymapError(f"{path}: {bid!r} must be a key string or a list of keys")
        if bid not in known_ids:
            warnings.append(f"{path}: unknown binding id {bid!r} ignored")
            continue
        out[bid] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return out, warnings


class ModalActions:
    """App mixin: an action listed in ``ACTION_MODES`` (action name -> modes) runs only
    in those modes, and never while another screen (help, palette) is on top; any
    other action always runs. The app has a ``mode`` reactive."""

    ACTION_MODES: dict[str, tuple[str, ...]] = {}

    def check_action(self, action: str, parameters) -> bool | None:
        modes = self.ACTION_MODES.get(action)
        if modes is None:
            return True
        app: Any = self  # an App with a ``mode``
        if len(app.screen_stack) > 1:
            return False
        return app.mode in modes
