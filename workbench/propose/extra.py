"""External training data for the learned proposer (``workbench train --extra FILE``): a
general-domain NER corpus the user holds, read strictly, as more training documents.

Two shapes:

- JSONL (``.jsonl`` / ``.json``): ``{"text", "spans": [{"start", "end", "label"}]}`` per line
  (our export's shape; ``id`` optional), checked like a gold file (offsets in range, end after
  start, a span's ``text`` if given equal to the text there).
- Character per line (anything else), CoNLL style: ``CHAR<TAB or space>TAG``, a blank line
  between sentences (each sentence is one training document), ``#`` comments and
  ``-DOCSTART-`` lines skipped. Tags: ``O`` and ``X-LABEL`` (or ``X_LABEL``) with X one of
  B I (BIO), B M E S (BMES), B I E S (BIOES), B I L U (BILOU).

Labels are mapped to ours (:data:`LABEL_MAP`: PER/NR → PERSON, LOC/NS/GPE → LOC, ORG/NT →
ORG, TIME → DATE, our own labels as they are; ``PER.NAM`` style subtypes by their prefix);
spans of other labels are left out and counted. The labels the file does not cover at all
are filled in from the rules proposer on its texts, so the model does not learn from such a
corpus that a programme name or an amount is nothing. Texts are used as they are (not
normalized). Every problem is ``FILE:LINE: reason`` (:class:`ExtraError`); nothing is
downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from ..core.labels import LABELS
from ..formats import Problems, not_text_reason
from ..formats.conll import conll_char
from ..formats.jsonl import read_json_lines

LABEL_MAP = {
    **{label: label for label in LABELS},
    "PER": "PERSON",
    "PEOPLE": "PERSON",
    "NR": "PERSON",
    "LOC": "LOC",
    "LOCATION": "LOC",
    "NS": "LOC",
    "GPE": "LOC",
    "ORGANIZATION": "ORG",
    "NT": "ORG",
    "TIME": "DATE",
}
STARTS, INSIDE, ENDS, SINGLE = frozenset("B"), frozenset("IM"), frozenset("EL"), frozenset("SU")


class ExtraError(ValueError):
    """Problems of an extra training file: ``lines`` are ``FILE:LINE: reason``."""

    def __init__(self, lines: list[str], total: int):
        self.lines = lines
        self.total = total
        more = total - len(lines)
        super().__init__("\n".join(lines) + (f"\n... and {more} more" if more > 0 else ""))


def map_label(label: str) -> str | None:
    """Our label for a corpus label (case-insensitive, ``PER.NAM`` by its prefix), or None."""
    u = label.strip().upper()
    return LABEL_MAP.get(u) or LABEL_MAP.get(u.split(".", 1)[0])


# ---------------------------------------------------------------------------- char per line


def _decode(chars: list[str], tags: list[tuple[str, str | None]]) -> list[dict]:
    """Spans of one sentence from ``(prefix, label)`` tags (prefix "O" has no label)."""
    text = "".join(chars)
    spans: list[dict] = []
    cur: dict | None = None
    for i, (prefix, label) in enumerate(tags):
        if prefix == "O":
            cur = None
            continue
        if prefix in STARTS or prefix in SINGLE or cur is None or cur["label"] != label:
            cur = {"start": i, "end": i + 1, "label": label}
            spans.append(cur)
        else:
            cur["end"] = i + 1
        if prefix in ENDS or prefix in SINGLE:
            cur = None
    for s in spans:
        s["text"] = text[s["start"] : s["end"]]
    return spans


def read_char_lines(path: str, lines: Iterable[str], errs: Problems) -> Iterator[dict]:
    """Sentences of a char-per-line file as ``{"id", "text", "spans"}`` (corpus labels)."""
    chars: list[str] = []
    tags: list[tuple[str, str | None]] = []
    first = 0

    def done() -> dict:
        return {"id": f"{os.path.basename(path)}:{first}", "text": "".join(chars), "spans": _decode(chars, tags)}

    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("-DOCSTART-"):
            if chars:
                yield done()
            chars, tags = [], []
            continue
        if line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.rsplit(" ", 1)
        if len(parts) < 2 or not parts[-1].strip():
            errs.add(lineno, f"expected CHAR<TAB>TAG, got {_cut(line)!r}")
            continue
        token, tag = parts[0], parts[-1].strip()
        try:
            ch = conll_char(token)
        except ValueError:
            errs.add(lineno, f"expected one character per line (a character-level corpus), got {_cut(token)!r}")
            continue
        if tag == "O":
            parsed: tuple[str, str | None] = ("O", None)
        elif len(tag) > 2 and tag[0] in "BIMESLU" and tag[1] in "-_":
            parsed = (tag[0], tag[2:])
        else:
            errs.add(lineno, f"bad tag {_cut(tag)!r} (expected O or B-/I-/M-/E-/S-/L-/U-LABEL)")
            continue
        if not chars:
            first = lineno
        chars.append(ch)
        tags.append(parsed)
        if errs.full:
            return
    if chars:
        yield done()


def _cut(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _utf8(path: str, fh, errs: Problems) -> Iterator[str]:
    for lineno, raw in enumerate(fh, 1):
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as e:
            errs.add(lineno, f"not UTF-8 (byte {e.start} of the line)")
            yield "\n"  # ends the sentence; the file is refused anyway


# ---------------------------------------------------------------------------- JSONL


def read_jsonl(path: str, errs: Problems) -> Iterator[dict]:
    from ..evaluate import _gold_span

    for lineno, obj in read_json_lines(path, errs):
        if not isinstance(obj, dict):
            errs.add(lineno, f"expected a JSON object, got {type(obj).__name__}")
            continue
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            errs.add(lineno, 'expected a non-empty "text" string')
            continue
        raw = obj.get("spans", [])
        if not isinstance(raw, list):
            errs.add(lineno, '"spans" must be a list')
            continue
        spans = []
        for i, sp in enumerate(raw):
            s, reason = _gold_span(sp, i, text)
            if reason:
                errs.add(lineno, reason)
                break
            assert s is not None
            spans.append(
                {"start": s["start"], "end": s["end"], "label": s["label"], "text": text[s["start"] : s["end"]]}
            )
        else:
            doc_id = obj.get("id")
            yield {
                "id": f"{os.path.basename(path)}:{doc_id if isinstance(doc_id, str) else lineno}",
                "text": text,
                "spans": spans,
            }
        if errs.full:
            return


# ---------------------------------------------------------------------------- the whole file


def read_extra(path: str | os.PathLike) -> tuple[list[dict], dict]:
    """Training documents ``{"id", "text", "spans"}`` (our labels) of one extra file, and
    figures ``{"file", "documents", "spans": {label: n}, "left_out": {corpus label: n},
    "filled_from_rules": [labels]}``; :class:`ExtraError` with every problem (nothing returned)."""
    path = os.fspath(path)
    errs = Problems(path)
    try:
        with open(path, "rb") as fh:
            reason = not_text_reason(fh.read(4096), path)
            if reason:
                raise ExtraError([f"{path}: {reason}"], 1)
            fh.seek(0)
            if path.endswith((".jsonl", ".json")):
                fh.close()
                docs = list(read_jsonl(path, errs))
            else:
                docs = list(read_char_lines(path, _utf8(path, fh, errs), errs))
    except OSError as e:
        raise ExtraError([f"{path}: cannot read: {e.strerror or e}"], 1) from None
    if errs:
        raise ExtraError(errs.items, errs.total)
    if not docs:
        raise ExtraError([f"{path}: no sentence or document in the file"], 1)
    left_out: dict[str, int] = {}
    counts = dict.fromkeys(LABELS, 0)
    for d in docs:
        kept = []
        for s in d["spans"]:
            ours = map_label(s["label"])
            if ours is None:
                left_out[s["label"]] = left_out.get(s["label"], 0) + 1
                continue
            kept.append({**s, "label": ours})
            counts[ours] += 1
        d["spans"] = kept
    covered = {label for label, n in counts.items() if n}
    if not covered:
        raise ExtraError([f"{path}: no span of a label we can map ({', '.join(sorted(left_out)) or 'no spans'})"], 1)
    fill = [label for label in LABELS if label not in covered]
    if fill:
        _fill_from_rules(docs, set(fill))
    return docs, {
        "file": os.path.basename(path),
        "documents": len(docs),
        "spans": {k: v for k, v in counts.items() if v},
        "left_out": left_out,
        "filled_from_rules": fill,
    }


def _fill_from_rules(docs: list[dict], labels: set[str]) -> None:
    """Add the rules proposer's spans of ``labels`` (those the corpus does not cover) where
    they overlap none of the corpus' spans."""
    from . import get_proposer

    rules = get_proposer("rules")
    for d in docs:
        taken = [(s["start"], s["end"]) for s in d["spans"]]
        for s in rules.propose(d["text"]):
            if s["label"] in labels and not any(a < s["end"] and s["start"] < b for a, b in taken):
                d["spans"].append({k: s[k] for k in ("start", "end", "label", "text")})
        d["spans"].sort(key=lambda s: (s["start"], s["end"]))


__all__ = ["LABEL_MAP", "ExtraError", "map_label", "read_extra"]
