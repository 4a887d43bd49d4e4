"""Checks of a read span against its document's text, the labels and the attrs schema (import).

Every reader's spans go through :func:`validate_span`, whatever the format.
"""

from __future__ import annotations

import json
from typing import Any

from workbench.core.flags import clean_note
from workbench.core.labels import LABELS, validate_attrs
from workbench.core.quantity import derive_attrs

from . import ErrorSink


def is_int(v: object) -> bool:
    """An int that is not a bool (JSON ``true`` is not an offset)."""
    return isinstance(v, int) and not isinstance(v, bool)


def shown(v: object, limit: int = 80) -> str:
    """A value read from a file as a message quotes it: as JSON (a string in quotes, its
    newlines and control characters escaped, so a message stays one line), cut to ``limit``
    characters."""
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def label_error(label: object) -> str:
    if not isinstance(label, str):
        return f"label must be a string, got {shown(label)}"
    hint = ""
    up = label.strip().upper()
    if up in LABELS:
        hint = f' (did you mean "{up}"?)'
    return f"unknown label {shown(label)}{hint}; labels are {', '.join(LABELS)}"


def validate_span(sp: dict, i: int, text: str, lineno: int, errs: ErrorSink) -> dict | None:
    """Span ``i`` of line ``lineno`` checked: ``{"start", "end", "label", "text", "attrs", "score",
    "line", "attrs_manual"?, "proposal"?, "unsure"?}`` (``text`` from the document, ``{}`` attrs
    None, a QUANTITY's missing attrs derived from its text, ``attrs_manual`` true when the file
    says a person typed the attrs, ``proposal`` (:func:`proposal_ref`) when the span names the
    proposal it answers, ``unsure`` (:func:`unsure_flag`) when the annotator flagged it), or
    None with the problem reported."""
    s: Any = sp.get("start")
    e: Any = sp.get("end")
    lab = sp.get("label")
    where = f"span {i + 1}"
    if not is_int(s) or not is_int(e):
        errs.add(lineno, f"{where}: start and end must be integers, got {shown(s, 40)} and {shown(e, 40)}")
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
            f"{where} {lab}: span text {shown(stext)} does not match the document text there {shown(text[s:e])}",
        )
        return None
    attrs = sp.get("attrs")
    if attrs == {}:
        attrs = None
    err = validate_attrs(lab, attrs)
    if err:
        errs.add(lineno, f"{where} {lab}: {err}")
        return None
    manual = sp.get("attrs_manual", False)
    if not isinstance(manual, bool):
        errs.add(lineno, f'{where} {lab}: "attrs_manual" must be true or false, got {shown(manual, 40)}')
        return None
    if manual and attrs is None:
        errs.add(lineno, f'{where} {lab}: "attrs_manual" is true but the span has no attrs')
        return None
    if lab == "QUANTITY" and attrs is None:
        # a QUANTITY always carries attrs (the guide): read by the proposer's grammar
        attrs = derive_attrs(text[s:e])
    score = sp.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        errs.add(lineno, f"{where}: score must be a number, got {shown(score)}")
        return None
    out = {"start": s, "end": e, "label": lab, "text": text[s:e], "attrs": attrs, "score": score, "line": lineno}
    if manual:
        out["attrs_manual"] = True
    if sp.get("proposal") is not None:
        ref = proposal_ref(sp["proposal"], len(text))
        if isinstance(ref, str):
            errs.add(lineno, f"{where} {lab}: {ref}")
            return None
        out["proposal"] = ref
    if sp.get("unsure") is not None:
        flag = unsure_flag(sp["unsure"])
        if isinstance(flag, str):
            errs.add(lineno, f"{where} {lab}: {flag}")
            return None
        out["unsure"] = flag
    return out


def unsure_flag(v: object) -> dict | str:
    """An ``"unsure"`` flag (a span's or a document's, as annotation exports write it)
    checked: ``{"note"}`` with the note cleaned (:func:`workbench.core.flags.clean_note`; other
    keys ignored), or the reason it is wrong."""
    if not isinstance(v, dict):
        return f'"unsure" must be an object {{"note": "..."}}, got {shown(v, 40)}'
    try:
        return {"note": clean_note(v.get("note", ""))}
    except ValueError as e:
        return f'"unsure": {e}'


PROPOSAL_SHAPE = '{"start", "end", "label", "source"?}'


def proposal_ref(v: object, n: int) -> dict | str:
    """A span's ``proposal`` (which proposal it answers, as annotation exports write it)
    checked: ``{"start", "end", "label", "source"}`` (``source`` None when not given; other
    keys ignored), or the reason it is wrong."""
    if not isinstance(v, dict):
        return f'"proposal" must be an object {PROPOSAL_SHAPE}, got {shown(v, 40)}'
    missing = [k for k in ("start", "end", "label") if k not in v]
    if missing:
        return f'"proposal" misses {", ".join(repr(m) for m in missing)} (expected {PROPOSAL_SHAPE})'
    s, e, lab, src = v["start"], v["end"], v["label"], v.get("source")
    if not is_int(s) or not is_int(e):
        return f'"proposal": start and end must be integers, got {shown(s, 40)} and {shown(e, 40)}'
    if e <= s or s < 0 or e > n:
        return f'"proposal" [{s}, {e}): not a span of the text (the document has {n} characters)'
    if lab not in LABELS:
        return f'"proposal": {label_error(lab)}'
    if src is not None and not isinstance(src, str):
        return f'"proposal": source must be a string, got {shown(src, 40)}'
    return {"start": s, "end": e, "label": lab, "source": src}
