"""Ingest raw reports into the store: .txt files, folders of them, and JSONL.

Each input file is read and validated completely before anything is written,
then written in one transaction: a bad file leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .core.normalize import DecodeError, normalize_bytes, normalize_text

SUFFIXES = (".txt", ".jsonl")


class IngestError(ValueError):
    """A bad input file: ``path``, ``line`` (1-based, or None) and the reason."""

    def __init__(self, path, reason: str, line: int | None = None):
        self.path = os.fspath(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@dataclass
class FileResult:
    path: str
    added: int = 0
    unchanged: int = 0
    error: IngestError | None = None


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def unchanged(self) -> int:
        return sum(f.unchanged for f in self.files)

    @property
    def errors(self) -> list[IngestError]:
        return [f.error for f in self.files if f.error]


def collect_inputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders recursively (sorted, .txt and .jsonl only); keep files as given."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in SUFFIXES))
        else:
            out.append(p)
    return out


def _doc_from_bytes(doc_id: str, data: bytes, source: str) -> dict:
    norm = normalize_bytes(data)
    return {
        "id": doc_id,
        "source": source,
        "raw_sha256": hashlib.sha256(data).hexdigest(),
        "encoding": norm.encoding,
        "raw_text": norm.raw_text,
        "text": norm.text,
        "offset_map": norm.offset_map,
        "flags": norm.flags,
        "meta": {},
    }


def read_txt(path: Path) -> list[dict]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(path, f"cannot read: {e.strerror or e}") from None
    try:
        return [_doc_from_bytes(path.stem, data, os.fspath(path))]
    except DecodeError as e:
        raise IngestError(path, str(e), e.line) from None


def read_jsonl(path: Path) -> list[dict]:
    """Parse and validate every line; the first problem raises with its line number."""
    docs: list[dict] = []
    seen: dict[str, int] = {}
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise IngestError(path, f"cannot read: {e.strerror or e}") from None
    with fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise IngestError(path, f"not UTF-8 (byte {e.start} of the line)", lineno) from None
            try:
                # without its line break, so a cut-off line reads "Unterminated string"
                obj = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as e:
                raise IngestError(path, f"malformed JSON: {e.msg} (column {e.colno})", lineno) from None
            docs.append(_validate_record(obj, path, lineno, seen))
    if not docs:
        raise IngestError(path, "empty file (no JSON lines)")
    return docs


def _validate_record(obj, path, lineno: int, seen: dict[str, int]) -> dict:
    if not isinstance(obj, dict):
        raise IngestError(path, f"expected a JSON object, got {type(obj).__name__}", lineno)
    doc_id = obj.get("id")
    if isinstance(doc_id, int) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise IngestError(path, 'missing or empty "id" (a string)', lineno)
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise IngestError(path, 'missing or empty "text" (a string)', lineno)
    meta = obj.get("meta", {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise IngestError(path, '"meta" must be an object', lineno)
    for name, value in (("id", doc_id), ("text", text)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise IngestError(path, f'"{name}" contains an unpaired UTF-16 surrogate', lineno) from None
    try:
        json.dumps(meta, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError(path, '"meta" contains an unpaired UTF-16 surrogate', lineno) from None
    if doc_id in seen:
        raise IngestError(path, f'duplicate id "{doc_id}" (first on line {seen[doc_id]})', lineno)
    seen[doc_id] = lineno
    if "\x00" in text:
        raise IngestError(path, '"text" contains a NUL character', lineno)
    norm = normalize_text(text, "json")
    return {
        "id": doc_id,
        "source": f"{os.fspath(path)}:{lineno}",
        "raw_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "encoding": "json",
        "raw_text": norm.raw_text,
        "text": norm.text,
        "offset_map": norm.offset_map,
        "flags": norm.flags,
        "meta": meta,
        "_line": lineno,
    }


def read_file(path: Path) -> list[dict]:
    if not path.exists():
        raise IngestError(path, "no such file or folder")
    if path.suffix.lower() == ".jsonl":
        return read_jsonl(path)
    return read_txt(path)


def ingest_file(store, path: Path) -> FileResult:
    """Read, validate and write one file atomically."""
    res = FileResult(os.fspath(path))
    try:
        docs = read_file(path)
    except IngestError as e:
        res.error = e
        return res
    try:
        with store.write():
            for d in docs:
                exists, sha = store.document_exists(d["id"])
                if exists:
                    if sha == d["raw_sha256"]:
                        res.unchanged += 1
                        continue
                    raise IngestError(
                        path,
                        f'document id "{d["id"]}" already exists with different content '
                        "(rename the file or give it another id)",
                        d.get("_line"),
                    )
                store.insert_document(d)
                res.added += 1
    except IngestError as e:
        res.added = res.unchanged = 0
        res.error = e
    return res


def ingest_paths(store, paths: Iterable[str | os.PathLike], progress=None) -> IngestReport:
    """Ingest many inputs; ``progress(path)`` is called after each file."""
    report = IngestReport()
    for path in collect_inputs(paths):
        report.files.append(ingest_file(store, path))
        if progress:
            progress(path)
    return report
