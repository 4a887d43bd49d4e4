"""Small helpers for writing output files atomically (or to stdout)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO


def dumps(obj) -> str:
    """One JSONL line: UTF-8 text (not \\u escapes), keys in the order given."""
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


@contextmanager
def open_output(path: str, *, binary: bool = False) -> Iterator[IO]:
    """Open ``path`` for writing; ``-`` is stdout.

    A file is written under a temporary name and renamed into place only when
    the block succeeds, so a failed export never leaves half a file.
    """
    if path == "-":
        if binary:
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
        else:
            yield sys.stdout
            sys.stdout.flush()
        return
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": "\n"})) as fh:
            yield fh
        # mkstemp creates 0600; give the file the mode a plain open() would (umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
