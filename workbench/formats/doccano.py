"""doccano's sequence-labelling JSONL: ``{"id", "text", "label": [[start, end, "LABEL"], ...]}``.

We write ``label`` (and, when any span has attributes, our ``"attrs": [[start, end,
{...}], ...]``; in annotation exports, when any span answers a proposal, our ``"proposals":
[[start, end, {"start", "end", "label", "source"}], ...]``: the proposal's own bounds; doccano
keeps both as metadata) and read both ``label`` and the newer
``"entities": [{"start_offset", "end_offset", "label"}]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import ErrorSink, span_attrs, span_proposals, span_unsure
from .jsonl import JsonlWriter, dumps
from .validate import is_int, shown


def doccano_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rec["id"],
        "text": rec["text"],
        "label": [[s["start"], s["end"], s["label"]] for s in rec["spans"]],
    }
    attrs = span_attrs(rec["spans"])
    if attrs:
        out["attrs"] = attrs
    proposals = span_proposals(rec["spans"])
    if proposals:
        out["proposals"] = proposals
    unsure = span_unsure(rec["spans"])
    if unsure:
        out["unsure_spans"] = unsure
    for k, v in rec.items():
        if k not in ("id", "text", "spans") and k not in out:
            out[k] = v
    return out


class DoccanoWriter(JsonlWriter):
    def write(self, rec: Mapping[str, Any]) -> None:
        self.fh.write(dumps(doccano_record(rec)))
        self.fh.write("\n")
        self.records += 1
        self.spans += len(rec["spans"])


def doccano_spans(obj: dict, lineno: int, errs: ErrorSink) -> list[dict] | None:
    """The spans of a doccano line (``entities`` and/or ``label``, with our ``attrs``) as
    ``{"start", "end", "label", "attrs"?}``, offsets and labels unchecked (:func:`.validate_span`
    checks them); None (and the problem reported) if the line's shape is wrong.

    ``attrs`` is checked here: each entry ``[start, end, {...}]`` with integer offsets (not
    bools: ``true`` would give span ``[1, …)`` its attributes) that name one of the line's
    spans, at most one entry per span."""
    out: list[dict] = []
    if "entities" in obj:
        ents = obj["entities"]
        if not isinstance(ents, list):
            errs.add(lineno, '"entities" must be a list')
            return None
        for i, e in enumerate(ents):
            if not isinstance(e, dict) or not {"start_offset", "end_offset", "label"} <= e.keys():
                errs.add(lineno, f'entity {i + 1}: expected {{"start_offset", "end_offset", "label"}}')
                return None
            out.append({"start": e["start_offset"], "end": e["end_offset"], "label": e["label"]})
    labels = obj.get("label")
    if labels is not None:
        if not isinstance(labels, list):
            errs.add(lineno, '"label" must be a list of [start, end, "LABEL"]')
            return None
        for i, e in enumerate(labels):
            if not isinstance(e, list) or len(e) != 3:
                errs.add(
                    lineno,
                    f'label {i + 1}: expected [start, end, "LABEL"], got {shown(e)}'
                    + (" (a document classification label, not a span)" if isinstance(e, str) else ""),
                )
                return None
            out.append({"start": e[0], "end": e[1], "label": e[2]})
    for key, what, noun in (
        ("attrs", "attrs", "the attributes"),
        ("proposals", "proposal", "the proposal"),
        ("unsure_spans", "unsure", "the unsure flag"),
    ):
        entries = obj.get(key)
        if entries is None:
            continue
        by_pos = _by_position(entries, key, noun, lineno, errs)
        if by_pos is None:
            return None
        matched = set()
        for sp in out:
            pos = (sp["start"], sp["end"])
            if is_int(pos[0]) and is_int(pos[1]) and pos in by_pos:
                sp[what] = by_pos[pos][0]  # spans at the same offsets share them
                matched.add(pos)
        for (s, e), (_, i) in by_pos.items():
            if (s, e) not in matched:
                errs.add(lineno, f"{key} {i} [{s}, {e}): no span of the line has these offsets")
                return None
    return out


def _by_position(
    entries: object, key: str, noun: str, lineno: int, errs: ErrorSink
) -> dict[tuple[int, int], tuple[dict, int]] | None:
    """Our ``"attrs"`` (or ``"proposals"``): ``[[start, end, {...}], ...]`` as ``{(start, end):
    (object, entry number)}``; None (and the problem reported) if an entry is malformed or
    repeats offsets."""
    if not isinstance(entries, list):
        errs.add(lineno, f'"{key}" must be a list of [start, end, {{...}}], got {shown(entries)}')
        return None
    by_pos: dict[tuple[int, int], tuple[dict, int]] = {}
    for i, a in enumerate(entries, 1):
        if not (isinstance(a, list) and len(a) == 3 and is_int(a[0]) and is_int(a[1])):
            errs.add(lineno, f"{key} {i}: expected [start, end, {{...}}] with integer offsets, got {shown(a)}")
            return None
        s, e, value = a
        if not isinstance(value, dict):
            errs.add(lineno, f"{key} {i} [{s}, {e}): {noun} must be an object, got {shown(value)}")
            return None
        if (s, e) in by_pos:
            errs.add(lineno, f"{key} {i} [{s}, {e}): a second entry for these offsets (first: {key} {by_pos[s, e][1]})")
            return None
        by_pos[s, e] = (value, i)
    return by_pos
