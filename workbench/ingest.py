"""Ingest raw reports into the store: .txt files, folders of them, and JSONL.

Each input file is read and validated completely before anything is written; a bad
file leaves the database as it was. A JSONL file is streamed (flat memory) and written
in short transactions, so annotators working meanwhile are never locked out for long
(:func:`ingest_file`, :mod:`workbench.store.bulk`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .core.jsonline import JSONLineError, loads
from .core.normalize import DecodeError, control_flags, normalize_bytes, normalize_text
from .store import StoreError, describe_error
from .store.bulk import BulkLimits, SeenIds

MAX_FLAGGED_IDS = 10  # ids of documents with control characters kept per file, for the warning

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
    flagged: int = 0  # documents holding control characters (``flags.control_chars``)
    flagged_ids: list[str] = field(default_factory=list)  # the first MAX_FLAGGED_IDS of them

    def note_flags(self, doc_id: str, flags: dict) -> None:
        if flags.get("control_chars"):
            self.flagged += 1
            if len(self.flagged_ids) < MAX_FLAGGED_IDS:
                self.flagged_ids.append(doc_id)


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


def _jsonl_records(path: Path) -> Iterator[dict]:
    """Each JSON line of ``path`` validated (no duplicate check), streamed: ``{"id",
    "text", "meta", "_line"}``. The first problem raises :class:`IngestError`."""
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
                obj = loads(line.rstrip("\r\n"))
            except JSONLineError as e:
                raise IngestError(path, str(e), lineno) from None
            yield _validate_record(obj, path, lineno)


def _checked_records(path: Path, seen: SeenIds | None = None) -> Iterator[dict]:
    """:func:`_jsonl_records` with the duplicate-id check (ids kept on disk, not in memory)."""
    own = seen is None
    ids = SeenIds() if seen is None else seen
    try:
        for rec in _jsonl_records(path):
            first = ids.add(rec["id"], rec["_line"])
            if first is not None:
                raise IngestError(path, f'duplicate id "{rec["id"]}" (first on line {first})', rec["_line"])
            yield rec
    finally:
        if own:
            ids.close()


def _validate_record(obj, path, lineno: int) -> dict:
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
    if "\x00" in doc_id:  # cannot be typed back (history ID, --doc ID), and cuts C strings
        raise IngestError(path, '"id" contains a NUL character', lineno)
    nul = text.find("\x00")
    if nul != -1:
        raise IngestError(path, '"text" contains a NUL character', lineno)
    return {
        "id": doc_id,
        "source": f"{os.fspath(path)}:{lineno}",
        "raw_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "text": text,
        "meta": meta,
        "_line": lineno,
    }


def _normalized(rec: dict) -> dict:
    norm = normalize_text(rec["text"], "json")
    return {
        "id": rec["id"],
        "source": rec["source"],
        "raw_sha256": rec["raw_sha256"],
        "encoding": "json",
        "raw_text": norm.raw_text,
        "text": norm.text,
        "offset_map": norm.offset_map,
        "flags": norm.flags,
        "meta": rec["meta"],
        "_line": rec["_line"],
    }


def _conflict(path, doc: dict) -> IngestError:
    return IngestError(
        path,
        f'document id "{doc["id"]}" already exists with different content (rename the file or give it another id)',
        doc.get("_line"),
    )


def ingest_file(
    store,
    path: Path,
    *,
    limits: BulkLimits | None = None,
    between: Callable[[], None] | None = None,
) -> FileResult:
    """Read, validate and write one file: all of it or nothing of it.

    A JSONL file is read twice, streamed (memory stays flat in its size):

    1. validate every line (JSON, fields, duplicate ids on disk, ids already stored with
       other content) without writing; the first problem ends the file with its line;
    2. read it again, normalize a batch of ``limits.rows`` documents outside any
       transaction, write the batch in transactions of at most ``limits.seconds`` (see
       :mod:`workbench.store.bulk`), and so on.

    If step 2 fails (a document stored meanwhile by someone else with other content, disk
    full, Ctrl-C), what this run committed is deleted again, in short transactions: the
    database is as it was. If the process is killed in step 2, the documents of the
    committed batches stay, with a note of the unfinished run (``Store.unfinished_bulk_runs``);
    ingesting the same file again skips them (same content) and adds the rest.
    ``between()`` is called after each commit (tests write from a second connection there).
    """
    path = Path(path)
    res = FileResult(os.fspath(path))
    if not path.exists():
        res.error = IngestError(path, "no such file or folder")
        return res
    if path.suffix.lower() == ".jsonl":
        _ingest_jsonl(store, path, res, limits or BulkLimits.from_env(), between)
        return res
    try:
        docs = read_txt(path)
    except IngestError as e:
        res.error = e
        return res
    try:
        with store.write():
            for d in docs:
                exists, sha = store.document_exists(d["id"])
                if exists:
                    if sha != d["raw_sha256"]:
                        raise _conflict(path, d)
                    res.unchanged += 1
                else:
                    store.insert_document(d)
                    res.added += 1
                res.note_flags(d["id"], d["flags"])
    except IngestError as e:
        res.added = res.unchanged = 0
        res.flagged, res.flagged_ids = 0, []
        res.error = e
    return res


def _ingest_jsonl(store, path: Path, res: FileResult, limits: BulkLimits, between) -> None:
    # 1. validate, writing nothing
    n = 0
    try:
        for rec in _checked_records(path):
            n += 1
            exists, sha = store.document_exists(rec["id"])
            if exists and sha != rec["raw_sha256"]:
                raise _conflict(path, rec)
    except IngestError as e:
        res.error = e
        return
    if not n:
        res.error = IngestError(path, "empty file (no JSON lines)")
        return
    # 2. write in short batches
    run = store.bulk_run("ingest", os.path.abspath(path), limits=limits, between=between)

    def write_one(doc: dict) -> None:
        status = run.add_document(doc)
        if status == "conflict":
            raise _conflict(path, doc)
        if status == "added":
            res.added += 1
        else:
            res.unchanged += 1

    try:
        batch: list[dict] = []
        for rec in _jsonl_records(path):
            exists, sha = store.document_exists(rec["id"])
            if exists and sha == rec["raw_sha256"]:
                res.unchanged += 1  # nothing to normalize or write (a re-run)
                res.note_flags(rec["id"], {"control_chars": control_flags(rec["text"])})
                continue
            doc = _normalized(rec)
            res.note_flags(doc["id"], doc["flags"])
            batch.append(doc)
            if len(batch) >= limits.rows:
                run.write(batch, write_one)
                batch = []
        run.write(batch, write_one)
        run.finish()
    except BaseException as e:
        reason = e if isinstance(e, IngestError) else None
        if reason is None and not isinstance(e, sqlite3.Error | OSError | StoreError):
            run.undo()
            raise
        undone = run.undo()
        res.added = res.unchanged = 0
        res.flagged, res.flagged_ids = 0, []
        if reason is None:
            reason = IngestError(
                path, describe_error(e, store.path) if isinstance(e, sqlite3.Error) else f"cannot write: {e}"
            )
        tail = (
            "nothing of the file was written"
            if undone
            else "some of its documents are still in the database: run the same ingest again to finish it"
        )
        res.error = IngestError(path, f"{reason.reason}; {tail}", reason.line)


def ingest_paths(store, paths: Iterable[str | os.PathLike], progress=None) -> IngestReport:
    """Ingest many inputs; ``progress(path)`` is called after each file."""
    report = IngestReport()
    for path in collect_inputs(paths):
        report.files.append(ingest_file(store, path))
        if progress:
            progress(path)
    return report
