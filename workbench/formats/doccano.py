"""doccano's sequence-labelling JSONL: ``{"id", "text", "label": [[start, end, "LABEL"], ...]}``.

We write ``label`` (and, when any span has attributes, our ``"attrs": [[start, end,
{...}], ...]``, which doccano keeps as metadata) and read both ``label`` and the newer
``"entities": [{"start_offset", "end_offset", "label"}]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import ErrorSink, span_attrs
from .jsonl import JsonlWriter, dumps


def doccano_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rec["id"],
        "text": rec["text"],
        "label": [[s["start"], s["end"], s["label"]] for s in rec["spans"]],
    }
    attrs = span_attrs(rec["spans"])
    if attrs:
        out["attrs"] = attrs
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
    ``{"start", "end", "label", "attrs"?}``, unchecked; None (and the problem reported)
    if the line's shape is wrong."""
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
                    f'label {i + 1}: expected [start, end, "LABEL"], got {json.dumps(e, ensure_ascii=False)}'
                    + (" (a document classification label, not a span)" if isinstance(e, str) else ""),
                )
                return None
            out.append({"start": e[0], "end": e[1], "label": e[2]})
    attrs = obj.get("attrs")
    if attrs is not None:
        if not isinstance(attrs, list) or not all(isinstance(a, list) and len(a) == 3 for a in attrs):
            errs.add(lineno, '"attrs" must be a list of [start, end, {...}]')
            return None
        by_pos: dict[tuple, object] = {}
        for s, e, a in attrs:
            by_pos.setdefault((s, e), a)
        for sp in out:
            a = by_pos.get((sp["start"], sp["end"]))
            if a is not None:
                sp["attrs"] = a
    return out
