"""JSONL: one JSON object per line. The writer of export and the line reader of import;
``open_output`` (the output files every export writes through: atomic files, devices and
FIFOs written through, symlinks followed) is :func:`workbench.outputs.open_output`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import IO, Any

from ..core import jsonline
from ..outputs import open_output as open_output  # the outputs every export writes through
from . import ErrorSink


def dumps(obj) -> str:
    """One JSONL line: UTF-8 text (not \\u escapes), keys in the order given."""
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


class JsonlWriter:
    """Writes records as JSON lines; ``records`` / ``spans`` count what was written.
    The other text formats' writers subclass it and override :meth:`write`."""

    binary = False

    def __init__(self, fh: IO[str]):
        self.fh = fh
        self.records = 0
        self.spans = 0

    def write(self, rec: Mapping[str, Any]) -> None:
        self.fh.write(dumps(rec))
        self.fh.write("\n")
        self.records += 1
        self.spans += len(rec.get("spans") or ())

    def write_line(self, line: str, n_spans: int) -> None:
        """Write one already serialized JSON line."""
        self.fh.write(line)
        self.fh.write("\n")
        self.records += 1
        self.spans += n_spans

    def close(self) -> None:
        pass


# ---------------------------------------------------------------------------- reading


def read_json_lines(path: str, errs: ErrorSink) -> Iterator[tuple[int, object]]:
    """``(line number, parsed JSON)`` of every non-blank line of a UTF-8 file (a BOM is
    allowed); a line that is not UTF-8 or not strict JSON (:func:`workbench.core.jsonline.loads`:
    malformed, too deep, NaN, out-of-range integers, lone surrogates) is reported."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                errs.add(lineno, f"not UTF-8 (byte {e.start} of the line)")
                continue
            try:
                obj = jsonline.loads(line)
            except jsonline.JSONLineError as e:
                errs.add(lineno, str(e))
                continue
            yield lineno, obj


def jsonl_spans(obj: dict, lineno: int, errs: ErrorSink) -> list[dict] | None:
    """The ``spans`` of a jsonl or Prodigy line (``{"start", "end", "label", ...}`` objects,
    unchecked beyond their keys); None (and the problem reported) if the shape is wrong."""
    spans = obj.get("spans")
    if spans is None:
        return []
    if not isinstance(spans, list):
        errs.add(lineno, '"spans" must be a list')
        return None
    out: list[dict] = []
    for i, s in enumerate(spans):
        if not isinstance(s, dict):
            errs.add(lineno, f"span {i + 1}: expected an object, got {type(s).__name__}")
            return None
        missing = [k for k in ("start", "end", "label") if k not in s]
        if missing:
            errs.add(lineno, f"span {i + 1}: missing {', '.join(repr(m) for m in missing)}")
            return None
        out.append(s)
    return out
