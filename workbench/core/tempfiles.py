"""Temporary files of the backup and the exports: recognisable names, and the cleanup of
those a killed run left behind.

A temporary file (or folder) is made in the folder of its target, so that renaming it over
the target is atomic, and is named ``.NAME.workbench-tmp-<pid>-<random>``: hidden, with the
target's name, the program and the process that writes it. A folder moved away while a
folder of shards is swapped is ``.NAME.workbench-old-<pid>-<random>``. SQLite adds
``-journal`` to a backup's temporary name while it writes it.

:func:`clean_stale` removes, in one folder, the temporary files whose process is gone (or
that nobody touched for :data:`STALE_AFTER` seconds while their pid now belongs to another
program: pids are reused), and
puts back a folder moved away whose replacement never arrived. A live process's files are
never touched. Only the standard library: the store's backup and the exports (app) both use
it, so it lives in core, its one module that touches the file system.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time

TEMP = "tmp"
OLD = "old"
STALE_AFTER = 12 * 3600  # seconds without a write after which a reused pid does not protect a file

_NAME = re.compile(r"^\.(?P<name>.+)\.workbench-(?P<kind>tmp|old)-(?P<pid>\d+)-[A-Za-z0-9_]+(?P<sfx>-journal)?$")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of these temporary names (of any process)."""
    return _NAME.match(name) is not None


def temp_prefix(name: str, kind: str = TEMP) -> str:
    """The start of a temporary name for the target ``name`` (tempfile adds the random part)."""
    return f".{name}.workbench-{kind}-{os.getpid()}-"


def make_temp_file(folder: str, name: str) -> tuple[int, str]:
    """``(fd, path)`` of a new temporary file (mode 0600) in ``folder`` for the target ``name``."""
    return tempfile.mkstemp(prefix=temp_prefix(name), dir=folder)


def make_temp_folder(folder: str, name: str) -> str:
    """A new empty temporary folder (mode 0700) in ``folder`` for the target ``name``."""
    return tempfile.mkdtemp(prefix=temp_prefix(name), dir=folder)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a pid we wrote: leave it alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def _is_workbench(pid: int) -> bool:
    """Whether the live process ``pid`` may be a workbench (True when that cannot be told)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"workbench" in fh.read()
    except OSError:
        return True


def _is_stale(path: str, pid: int, now: float) -> bool:
    if not pid_alive(pid):
        return True
    try:
        untouched = now - os.lstat(path).st_mtime > STALE_AFTER
    except OSError:
        return False
    # the pid was reused by another program (a live workbench's file is never removed)
    return untouched and not _is_workbench(pid)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def clean_stale(folder: str) -> list[str]:
    """Remove the stale temporary files and folders of killed runs in ``folder`` (see the
    module's docstring); a folder moved away for a swap that never finished is renamed back
    to its name if nothing took that name. Returns the names handled; never raises."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    now = time.time()
    done = []
    for entry in sorted(names):
        m = _NAME.match(entry)
        if m is None:
            continue
        path = os.path.join(folder, entry)
        if not _is_stale(path, int(m["pid"]), now):
            continue
        if m["kind"] == OLD and not m["sfx"]:
            original = os.path.join(folder, m["name"])
            if not os.path.lexists(original):
                try:
                    os.rename(path, original)  # the swap stopped between its two renames
                    done.append(entry)
                    continue
                except OSError:
                    pass
        _remove(path)
        done.append(entry)
    return done


# ---------------------------------------------------------------------------- error reasons

_REASONS = {
    errno.ENOSPC: "disk full (no space left on device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "input/output error",
    errno.EFBIG: "file too large",
    errno.ENAMETOOLONG: "name too long",
    errno.EPIPE: "the reader went away (broken pipe)",
}


def os_reason(e: OSError) -> str:
    """What went wrong, in a few words (``disk full (no space left on device)``,
    ``permission denied``…), without the path."""
    if e.errno in _REASONS:
        return _REASONS[e.errno]
    return (e.strerror or str(e)).lower()
