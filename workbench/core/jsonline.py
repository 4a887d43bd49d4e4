"""One JSON line from a file we did not write, parsed strictly.

Every reader of user JSON (ingest, import, evaluate --gold, the format readers) parses
through :func:`loads`, so hostile input ends in one clear reason, never a traceback:

- malformed JSON: the decoder's message and column;
- nesting deeper than :data:`MAX_DEPTH` (the stdlib decoder recurses: 100,000 ``[`` ends
  in ``RecursionError``);
- ``NaN``, ``Infinity``, ``-Infinity`` and floats that overflow to infinity (``1e999``):
  Python accepts them, but they are not JSON and other tools reject the file;
- integers outside SQLite's 64-bit range (a 5,000-digit integer is a ``ValueError`` from
  ``int()`` past Python's digit limit, and cannot be stored anyway);
- text holding an unpaired UTF-16 surrogate (``"\\ud800"``): it cannot be written as UTF-8.

Pure: no I/O, no third-party import.
"""

from __future__ import annotations

import json
import math
import re

MAX_DEPTH = 200
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
_MAX_INT_CHARS = 20  # "-9223372036854775808" is 20 characters

_SURROGATE_ESC = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
# brackets outside strings: strings are skipped whole (escapes included)
_DEPTH_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


class JSONLineError(ValueError):
    """Why a line is not acceptable JSON: ``reason`` (one short sentence) and ``column``
    (1-based, or None)."""

    def __init__(self, reason: str, column: int | None = None):
        self.reason = reason
        self.column = column
        super().__init__(f"{reason} (column {column})" if column else reason)


def _reject_constant(name: str):
    raise JSONLineError(f"{name} is not valid JSON (write a number or null)")


def _parse_int(s: str) -> int:
    if len(s.lstrip("-")) > _MAX_INT_CHARS - 1:
        raise JSONLineError(f"integer of {len(s.lstrip('-'))} digits is out of range (64-bit integers only)")
    v = int(s)
    if not INT_MIN <= v <= INT_MAX:
        raise JSONLineError(f"integer {s} is out of range (64-bit integers only)")
    return v


def _parse_float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):
        raise JSONLineError(f"number {s[:40]} is too large (it overflows to infinity)")
    return v


def nesting_depth(line: str, stop: int | None = None) -> int:
    """The deepest bracket nesting of a JSON text, brackets inside strings not counted;
    the scan ends as soon as the depth reaches ``stop`` (then ``stop`` is returned)."""
    depth = deepest = 0
    if "[" not in line and "{" not in line:
        return 0
    for m in _DEPTH_TOKENS.finditer(line):
        tok = m.group()
        if tok in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest == stop:
                    break
        elif tok in "]}":
            depth -= 1
    return deepest


def find_surrogate(obj: object) -> str | None:
    """The first unpaired surrogate in a string (key or value), escaped (``\\ud800``), or None."""
    if isinstance(obj, str):
        for ch in obj:
            if "\ud800" <= ch <= "\udfff":
                return f"\\u{ord(ch):04x}"
        return None
    if isinstance(obj, dict):
        for k, v in obj.items():
            r = find_surrogate(k) or find_surrogate(v)
            if r:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find_surrogate(v)
            if r:
                return r
    return None


def loads(line: str, *, max_depth: int = MAX_DEPTH) -> object:
    """Parse one JSON text strictly (see the module docstring); raise :class:`JSONLineError`."""
    # The depth scan runs only when the line could be deep: a regex pass over every
    # line would cost more than the parse. Brackets are a cheap upper bound.
    if line.count("[") + line.count("{") > max_depth and nesting_depth(line, max_depth + 1) > max_depth:
        raise JSONLineError(f"nested more than {max_depth} levels deep")
    try:
        obj = json.loads(line, parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as e:
        raise JSONLineError(f"malformed JSON: {e.msg}", e.colno) from None
    except RecursionError:  # pragma: no cover - the depth scan comes first
        raise JSONLineError(f"nested more than {max_depth} levels deep") from None
    if _SURROGATE_ESC.search(line):
        bad = find_surrogate(obj)
        if bad:
            raise JSONLineError(f"invalid text: an unpaired UTF-16 surrogate ({bad})")
    return obj
