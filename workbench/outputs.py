"""Where an export writes: one output file, or a folder of shards, never half of either.

:func:`open_output` looks at what the path is before writing anything:

- ``-``: stdout.
- a device node or a FIFO (``/dev/null``, ``/dev/full``, a ``mkfifo``), or an alias of an open
  file descriptor (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``): written *through*
  (opened and written, never replaced, never created);
- anything else is written atomically: under a temporary name in the folder of the file,
  then renamed over it. A symlink is followed (its target is replaced, the link stays a
  link); an existing file keeps its mode (and owner, where allowed); a new file gets the mode
  a plain ``open()`` would give (the umask).

:func:`open_shard_folder` builds a folder of shards beside the old one and swaps it in at the
end: the folder holds the complete old shards or the complete new ones, never a mix. Other
files in the folder are kept (hard links, so nothing is copied).

Temporary names are ``.NAME.workbench-tmp-<pid>-<random>``; the stale ones of a killed run
are removed by the next run that writes to the same folder (:mod:`workbench.core.tempfiles`).
Every failure is an :class:`OutputError` of one line, ``PATH: reason`` (``is a folder``,
``permission denied``, ``disk full (no space left on device)``…), and leaves no temporary
file and the old file intact.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, NamedTuple

from .core.tempfiles import OLD, clean_stale, is_temp_name, make_temp_file, make_temp_folder, os_reason, temp_prefix

__all__ = ["OutputError", "Target", "clean_up_beside", "open_output", "open_shard_folder", "output_target"]


class OutputError(Exception):
    """An output that cannot be written: ``PATH: reason``, one line."""


# names of an open file descriptor: written through even when it is a regular file (the shell
# opened it; replacing the file would leave the shell's descriptor on the old one)
_FD_ALIAS = re.compile(r"^/(dev/(stdout|stderr|fd/\d+)|proc/(self|thread-self|\d+)/fd/\d+)$")


class Target(NamedTuple):
    path: str  # as given (for messages)
    real: str  # the file the bytes go to (symlinks followed)
    through: bool  # write through (device, FIFO, descriptor alias); else atomically
    st: os.stat_result | None  # the existing file, if any


def output_target(path: str) -> Target:
    """What writing to ``path`` means; :class:`OutputError` if it cannot be written."""
    if _FD_ALIAS.match(os.path.abspath(path)):
        return Target(path, path, True, None)
    real = os.path.realpath(path)
    try:
        st: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"{path}: {os_reason(e)}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a folder")
    if st is not None and not stat.S_ISREG(st.st_mode):
        return Target(path, path, True, st)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: folder {folder} does not exist")
    if st is not None and not os.access(real, os.W_OK):
        raise OutputError(f"{path}: permission denied")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: permission denied (cannot write in the folder {folder})")
    return Target(path, real, False, st)


def _ours(e: OSError, *paths: str) -> bool:
    """Whether ``e`` is about our output (a write error names no file)."""
    return e.filename is None or e.filename in paths


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _keep_owner_and_mode(tmp: str, st: os.stat_result | None) -> None:
    if st is None:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600
        return
    try:
        os.chown(tmp, st.st_uid, st.st_gid)
    except OSError:
        try:
            os.chown(tmp, -1, st.st_gid)
        except OSError:
            pass
    os.chmod(tmp, stat.S_IMODE(st.st_mode))


def _wrap(raw: IO[bytes], binary: bool) -> IO:
    if binary:
        return raw
    return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")


def clean_up_beside(path: str) -> None:
    """Remove what killed runs left beside ``path`` (stale temporary files; a folder of
    shards moved away by a swap that never finished goes back to its name first)."""
    if path != "-" and not _FD_ALIAS.match(os.path.abspath(path)):
        clean_stale(os.path.dirname(os.path.realpath(path.rstrip(os.sep) or os.sep)))


@contextmanager
def open_output(path: str, *, binary: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing as the module's docstring says; ``-`` is stdout."""
    if path == "-":
        out = sys.stdout.buffer if binary else sys.stdout
        yield out
        out.flush()
        return
    clean_up_beside(path)
    target = output_target(path)
    if target.through:
        with _through(target, binary) as fh:
            yield fh
        return
    folder = os.path.dirname(target.real)
    try:
        fd, tmp = make_temp_file(folder, os.path.basename(target.real))
    except OSError as e:
        raise OutputError(f"{path}: {os_reason(e)}") from None
    try:
        with _wrap(os.fdopen(fd, "wb"), binary) as fh:
            yield fh
            fh.flush()
            os.fsync(fd)
        _keep_owner_and_mode(tmp, target.st)
        os.replace(tmp, target.real)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and _ours(e, tmp, target.real):
            raise OutputError(f"{path}: {os_reason(e)}") from None
        raise


@contextmanager
def _through(target: Target, binary: bool) -> Iterator[IO]:
    path = target.path
    try:
        # never O_CREAT (a typo under /dev must not make a file there), never truncate (a
        # descriptor alias of a file the shell opened for appending keeps what it holds)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY)
    except OSError as e:
        raise OutputError(f"{path}: {os_reason(e)}") from None
    try:
        with _wrap(os.fdopen(fd, "wb"), binary) as fh:
            yield fh
    except OSError as e:
        if _ours(e, path):
            raise OutputError(f"{path}: {os_reason(e)}") from None
        raise


# ---------------------------------------------------------------------------- folders of shards


@contextmanager
def open_shard_folder(path: str, *, drop: Callable[[str], bool]) -> Iterator[str]:
    """A new empty folder to write shards into; when the block succeeds it replaces the
    folder ``path`` (created if missing) in two renames, keeping the old folder's mode. Only
    a folder of shards (entries ``drop`` names) is replaced: one holding anything else, or the
    current folder, is refused before anything is written. On failure the new folder goes
    and ``path`` is as it was."""
    real = os.path.realpath(path.rstrip(os.sep) or os.sep)
    if os.path.exists(real) and not os.path.isdir(real):
        raise OutputError(f"{path}: is not a folder")
    if os.path.isdir(real):
        # The swap replaces the whole folder: only a folder of shards may be replaced. A folder
        # with anything else (`-o .`, a home folder, the database's own folder) is refused.
        if real == os.path.realpath(os.getcwd()):
            raise OutputError(f"{path}: is the current folder; write the shards to a folder of their own (-o shards/)")
        others = sorted(e for e in os.listdir(real) if not drop(e) and not is_temp_name(e))
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise OutputError(
                f"{path}: holds other files than shards ({shown}); write the shards to an empty or new folder"
            )
    parent, name = os.path.split(real)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{path}: {os_reason(e)}") from None
    clean_stale(parent)  # a swap killed half-way is undone first
    try:
        build = make_temp_folder(parent, name)
    except OSError as e:
        raise OutputError(f"{path}: {os_reason(e)} (cannot make a folder beside it in {parent})") from None
    try:
        yield build
        old_st = os.stat(real) if os.path.isdir(real) else None
        if old_st is not None:
            os.chmod(build, stat.S_IMODE(old_st.st_mode))
        else:
            os.chmod(build, 0o777 & ~_umask())
        _swap(real, build, parent, name)
    except BaseException as e:
        shutil.rmtree(build, ignore_errors=True)
        if isinstance(e, OSError):
            raise OutputError(f"{path}: {os_reason(e)}") from None
        raise


def _swap(real: str, build: str, parent: str, name: str) -> None:
    """``build`` becomes ``real``: the old folder is renamed away, the new one in, the old one
    removed. Killed between the renames, the next run puts the old folder back."""
    if not os.path.isdir(real):
        os.rename(build, real)
        return
    away = os.path.join(parent, temp_prefix(name, OLD) + secrets.token_hex(6))
    os.rename(real, away)
    try:
        os.rename(build, real)
    except BaseException:
        os.rename(away, real)
        raise
    shutil.rmtree(away, ignore_errors=True)
