"""Checks of a read span against its document's text, the labels and the attrs schema (import).

Every reader's spans go through :func:`validate_span`, whatever the format.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.core.labels import LABELS, validate_attrs

from . import ErrorSink


def is_int(v: object) -> bool:
    """An int that is not a bool (JSON ``true`` is not an offset)."""
    return isinstance(v, int) and not isinstance(v, bool)


def label_error(label: object) -> str:
    if not isinstance(label, str):
        return f"label must be a string, got {json.dumps(label, ensure_ascii=False)}"
    hint = ""
    up = label.strip().upper()
    if up in LABELS:
        hint = f' (did you mean "{up}"?)'
    return f'unknown label "{label}"{hint}; labels are {", ".join(LABELS)}'


def validate_span(sp: dict, i: int, text: str, lineno: int, errs: ErrorSink) -> dict | None:
    """Span ``i`` of line ``lineno`` checked: ``{"start", "end", "label", "text", "attrs", "score",
    "line"}`` (``text`` from the document, ``{}`` attrs None), or None with the problem reported."""
    s: Any = sp.get("start")
    e: Any = sp.get("end")
    lab = sp.get("label")
    where = f"span {i + 1}"
    if not is_int(s) or not is_int(e):
        errs.add(lineno, f"{where}: start and end must be integers, got {json.dumps(s)} and {json.dumps(e)}")
        return None
    where = f"span {i + 1} [{s}, {e})"
    if e <= s:
        errs.add(lineno, f"{where}: end must be greater than start")
        return None
    if s < 0 or e > len(text):
        errs.add(lineno, f"{where}: offsets out of range (the document has {len(text)} characters)")
        return None
    if lab not in LABELS:
        errs.add(lineno, f"{where}: {label_error(lab)}")
        return None
    stext = sp.get("text")
    if stext is not None and stext != text[s:e]:
        errs.add(
            lineno,
            f"{where} {lab}: span text {json.dumps(stext, ensure_ascii=False)} does not match the "
            f"document text there {json.dumps(text[s:e], ensure_ascii=False)}",
        )
        return None
    attrs = sp.get("attrs")
    if attrs == {}:
        attrs = None
    err = validate_attrs(lab, attrs)
    if err:
        errs.add(lineno, f"{where} {lab}: {err}")
        return None
    score = sp.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        errs.add(lineno, f"{where}: score must be a number, got {json.dumps(score, ensure_ascii=False)}")
        return None
    return {"start": s, "end": e, "label": lab, "text": text[s:e], "attrs": attrs, "score": score, "line": lineno}
