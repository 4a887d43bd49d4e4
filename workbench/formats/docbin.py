"""The spaCy ``DocBin`` writer of ``export --format spacy``: :class:`FastDocBin` writes the
bytes ``DocBin.to_bytes`` would, without making Docs (>100k spans/s), compressing on a
second thread as records come; if the installed spaCy lays DocBin out otherwise (checked
once on :data:`SELF_CHECK_RECORDS`), :class:`~.spacy.ReferenceDocBin` makes real Docs.
:class:`SpacyWriter` writes one ``.spacy`` file or a folder of shards.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator, Mapping
from typing import IO, Any

from . import ExportError
from .docbin_codec import LayoutMismatch, SpacyCodec
from .jsonl import open_output
from .spacy import ReferenceDocBin, blank_zh, load_spacy, spacy_doc, spacy_user_data

# zlib level of the fast path. DocBin.to_bytes uses 6 (zlib's default); any
# level loads the same. Measured on 1,000,000 gold spans (bench/export.py):
# 6 -> 93.6 MB in ~9.8 s (compressing is then the slowest of the two threads),
# 4 -> 99.8 MB (+6.6 %) in ~7.3 s, 3 -> 102.2 MB, no faster than 4.
_ZLEVEL = 4
_ADLER_BASE = 65521


def adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """The Adler-32 of ``a + b`` from ``adler32(a)``, ``adler32(b)`` and ``len(b)``
    (zlib's ``adler32_combine``, which Python's zlib module does not expose)."""
    base = _ADLER_BASE
    rem = len2 % base
    a1, b1 = adler1 & 0xFFFF, adler1 >> 16
    a2, b2 = adler2 & 0xFFFF, adler2 >> 16
    s1 = (a1 + a2 + base - 1) % base
    s2 = (rem * a1 + b1 + b2 + base - rem) % base
    return s1 | (s2 << 16)


_MSGPACK_MAX_BIN = (1 << 32) - 1  # msgpack's (so DocBin's) largest bytes value


def _msgpack_bin_header(n: int) -> bytes:
    if n > _MSGPACK_MAX_BIN:
        raise ExportError(
            f"the spaCy token data ({n:,} bytes) is too large for one .spacy file (DocBin's limit is 4 GiB):"
            " write shards into a folder instead (-o DIR/)"
        )
    if n < 1 << 8:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 1 << 16:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


_CODEC: list = []


def _msgpack_array_header(n: int) -> bytes:
    """The msgpack header of an array of ``n`` elements (what ``packb(list)`` starts with)."""
    if n < 16:
        return bytes([0x90 | n])
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def spacy_codec() -> SpacyCodec | None:
    """The shared fast-path state, or None when the installed spaCy's DocBin is
    not the layout :class:`FastDocBin` writes (then the reference path is used).
    Besides the layout constants, a few tricky records are written both ways
    once and must give the same DocBin."""
    if not _CODEC:
        load_spacy()
        try:
            codec = SpacyCodec()
            if not _same_docbin(codec, SELF_CHECK_RECORDS):
                raise LayoutMismatch("the fast DocBin differs from spaCy's on the self-check records")
        except Exception:  # LayoutMismatch, or a spaCy too different to even check
            codec = None
        _CODEC.append(codec)
    return _CODEC[0]


SELF_CHECK_RECORDS: list[dict[str, Any]] = [
    {
        "id": "a",
        "text": "X 在北京  召开\n\n会议 😀e\u0301\xa0\u3000。",
        "spans": [
            {"start": 0, "end": 1, "label": "PERSON", "text": "X"},
            {"start": 3, "end": 5, "label": "LOC", "text": "北京", "attrs": {"k": 1}},
            {"start": 14, "end": 17, "label": "QUANTITY", "text": "😀e\u0301"},
        ],
        "meta": {"m": [1, "二"]},
    },
    {
        "id": "b",
        "text": "统 战 工作\n",
        "spans": [{"start": 1, "end": 3, "label": "ORG", "text": " 战"}],
    },  # starts on a trailing space
    {"id": "c", "text": "无实体", "spans": [], "_input_hash": -5},
]


def both_docbins(codec: SpacyCodec, recs: list[dict], nlp=None) -> tuple[bytes, bytes]:
    """``recs`` as one DocBin blob by the fast path and by the reference path."""
    import io

    fast, ref = FastDocBin(codec), ReferenceDocBin(nlp)
    out_fast, out_ref = io.BytesIO(), io.BytesIO()
    try:
        for r in recs:
            fast.add(r)
            ref.add(r)
        fast.write_to(out_fast)
    finally:
        fast.abort()
    ref.write_to(out_ref)
    return out_fast.getvalue(), out_ref.getvalue()


def _same_docbin(codec: SpacyCodec, recs: list[dict]) -> bool:
    import zlib

    fast, ref = both_docbins(codec, recs)
    return zlib.decompress(fast) == zlib.decompress(ref)


class FastDocBin:
    """One DocBin blob written without making spaCy Docs, byte for byte the
    msgpack that ``DocBin.to_bytes`` makes of :class:`ReferenceDocBin`'s Docs.

    Each record's token rows (:meth:`SpacyCodec.doc_arrays`) are compressed
    by a background thread as they come (zlib releases the GIL, so reading the
    database and compressing use both cores), into a raw deflate stream that
    is spliced between the compressed head (written last, as it holds the
    total size) and the rest: the result is one ordinary zlib stream. Memory
    holds the compressed tokens (spilled to a temporary file past
    ``SPOOL_MAX``) and a few bytes per document, not the token arrays.
    """

    BATCH = 1 << 20  # bytes of token rows per hand-over to the compressor
    # compressed token bytes kept in memory; past that, an unnamed temporary file. Was 32 MB
    # (and 4 MB of user_data): that buffer was most of the peak RSS growth from 100k to 1M
    # spans (bench/export.py: 119 -> 154 MB; spilled at once, 109 -> 118 MB)
    SPOOL_MAX = 1 << 20
    THREAD_NAME = "spacy-docbin-zlib"

    def __init__(self, codec: SpacyCodec):
        import tempfile

        self.codec = codec
        np = codec.np
        self.seen = np.zeros(codec.N_CP, bool)  # characters that are tokens: strings
        self.strings: set[str] = set()
        self.lengths = array("i")  # tokens per document: 4 bytes each, not a Python int
        self.spaces: list = []  # per document: indices of tokens with a trailing space, or None
        self.unknown_spaces = bytearray()
        # each document's user_data, msgpack-encoded as an element of the final array, spooled:
        # kept in a list it was ~1 KB per document of memory until the end (tracemalloc)
        self._user_data = tempfile.SpooledTemporaryFile(max_size=self.SPOOL_MAX)
        self.n_tokens = 0
        self._batch: list = []
        self._batch_bytes = 0
        self._spool = tempfile.SpooledTemporaryFile(max_size=self.SPOOL_MAX)
        self._queue: Any = None  # a queue.Queue: the compressor thread starts with the first batch
        self._thread: Any = None
        self._adler = 1
        self._error: BaseException | None = None
        self._nlp = None

    def __len__(self) -> int:
        return len(self.lengths)

    # -- the compressor thread

    def _compress(self) -> None:
        """Deflate every batch into the spool until None comes; a failure is
        kept for :meth:`write_to` (and the queue still drained to the end)."""
        import zlib

        comp = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, -15)
        adler = 1
        write = self._spool.write
        error = None
        while True:
            item = self._queue.get()
            if item is None:
                break
            if error is None:
                try:
                    adler = zlib.adler32(item, adler)
                    out = comp.compress(item)
                    if out:
                        write(out)
                except BaseException as e:  # pragma: no cover - disk full, memory
                    error = e
        if error is None:
            try:
                write(comp.flush(zlib.Z_SYNC_FLUSH))  # byte-aligned, not final: more deflate follows
            except BaseException as e:  # pragma: no cover
                error = e
        self._adler = adler
        self._error = error

    def _hand_over(self) -> None:
        if not self._batch:
            return
        if self._thread is None:
            import queue
            import threading

            self._queue = queue.Queue(maxsize=8)
            self._thread = threading.Thread(target=self._compress, name=self.THREAD_NAME, daemon=True)
            self._thread.start()
        np = self.codec.np
        self._queue.put(np.concatenate(self._batch) if len(self._batch) > 1 else self._batch[0])
        self._batch = []
        self._batch_bytes = 0

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    # -- records

    def add(self, rec: Mapping[str, Any]) -> None:
        codec = self.codec
        arrays = codec.doc_arrays(rec)
        if arrays is None:
            tokens, spaces, strings, unknown = self._reference_arrays(rec)
            self.strings.update(strings)
            self.strings.update([s["label"] for s in rec["spans"]])
        else:
            tokens, spaces, chars, runs, labels = arrays
            self.seen[chars] = True
            if runs:
                self.strings.update(runs)
            self.strings.update(labels)
            unknown = False
        self.strings.add("")
        self._user_data.write(codec.pack(codec.pack(spacy_user_data(rec))))
        self.lengths.append(len(tokens))
        self.spaces.append(spaces)
        self.unknown_spaces.append(unknown)
        self.n_tokens += len(tokens)
        if self.n_tokens * 24 > _MSGPACK_MAX_BIN:
            _msgpack_bin_header(self.n_tokens * 24)  # refuses now rather than at the end
        self._batch.append(tokens)
        self._batch_bytes += tokens.nbytes
        if self._batch_bytes >= self.BATCH:
            self._hand_over()

    def _reference_arrays(self, rec: Mapping[str, Any]):
        """Token rows of a record the fast path does not take, from a real Doc."""
        from spacy.attrs import SPACY

        np = self.codec.np
        if self._nlp is None:
            self._nlp = blank_zh()
        doc = spacy_doc(self._nlp, rec)  # raises ExportError as the reference does
        tokens = doc.to_array(self.codec.attrs).reshape((len(doc), 3))
        sp = np.flatnonzero(doc.to_array(SPACY))
        return tokens, (sp if len(sp) else None), {t.text for t in doc}, doc.has_unknown_spaces

    # -- output

    def write_to(self, fh) -> None:
        """Write the DocBin (``DocBin.to_bytes`` format) to the binary file ``fh``."""
        import shutil
        import zlib

        np = self.codec.np
        pack = self.codec.pack
        self._hand_over()
        self._stop()
        if self._error is not None:  # pragma: no cover
            raise self._error
        n_docs = len(self.lengths)
        token_bytes = self.n_tokens * 8 * 3
        head = b"".join(
            [
                b"\x8a",  # a map of 10 entries, in DocBin.to_bytes' order
                pack("version"),
                pack(self.codec.version),
                pack("attrs"),
                pack(self.codec.attrs),
                pack("tokens"),
                _msgpack_bin_header(token_bytes),
            ]
        )
        comp = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, -15)
        fh.write(zlib.compress(b"", _ZLEVEL)[:2])  # the zlib header
        fh.write(comp.compress(head) + comp.flush(zlib.Z_SYNC_FLUSH))
        adler = adler32_combine(zlib.adler32(head), self._adler, token_bytes)
        self._spool.seek(0)
        shutil.copyfileobj(self._spool, fh, 1 << 20)
        self._spool.close()

        comp = zlib.compressobj(_ZLEVEL, zlib.DEFLATED, -15)

        def out(data) -> None:
            nonlocal adler
            adler = zlib.adler32(data, adler)
            fh.write(comp.compress(data))

        out(pack("spaces") + _msgpack_bin_header(self.n_tokens))
        chunk: list = []
        size = 0
        for length, sp in zip(self.lengths, self.spaces):
            flags = np.zeros(length, bool)
            if sp is not None:
                flags[sp] = True
            chunk.append(flags)
            size += length
            if size >= self.BATCH:
                out(np.concatenate(chunk))
                chunk, size = [], 0
        if chunk:
            out(np.concatenate(chunk))
        self.strings.update(chr(c) for c in np.flatnonzero(self.seen).tolist())
        out(
            b"".join(
                [
                    pack("lengths"),
                    pack(np.asarray(self.lengths, dtype="int32").tobytes("C")),
                    pack("strings"),
                    pack(sorted(self.strings)),
                ]
            )
        )
        # the per-document arrays element by element (packing whole lists held them, and
        # their msgpack, in memory: ~250 bytes per document)
        flag = {u: pack({"has_unknown_spaces": bool(u)}) for u in (0, 1)}
        cat, groups = pack({}), pack(self.codec.empty_span_groups)
        for part in _chunked(
            [pack("cats"), _msgpack_array_header(n_docs)],
            (cat for _ in range(n_docs)),
            [pack("flags"), _msgpack_array_header(n_docs)],
            (flag[u] for u in self.unknown_spaces),
            [pack("span_groups"), _msgpack_array_header(n_docs)],
            (groups for _ in range(n_docs)),
            [pack("user_data"), _msgpack_array_header(n_docs)],
        ):
            out(part)
        self._user_data.seek(0)
        while data := self._user_data.read(1 << 20):
            out(data)
        self._user_data.close()
        fh.write(comp.flush(zlib.Z_FINISH))
        fh.write(adler.to_bytes(4, "big"))

    def abort(self) -> None:
        """Stop the compressor thread without writing (an export that failed)."""
        self._batch = []
        self._stop()
        self._spool.close()
        self._user_data.close()


def _chunked(*parts, size: int = 1 << 16) -> Iterator[bytes]:
    """The bytes of ``parts`` (iterables of bytes) joined into blocks of about ``size``."""
    block: list[bytes] = []
    n = 0
    for part in parts:
        for b in part:
            block.append(b)
            n += len(b)
            if n >= size:
                yield b"".join(block)
                block, n = [], 0
    if block:
        yield b"".join(block)


def new_docbin():
    """A DocBin blob writer: the fast one, or the reference one if this spaCy's
    DocBin is laid out differently. Both have ``add(rec)``, ``len()``,
    ``write_to(fh)`` and ``abort()``."""
    codec = spacy_codec()
    return FastDocBin(codec) if codec is not None else ReferenceDocBin()


class SpacyWriter:
    """Collects records in a DocBin and writes it on close.

    The DocBin format is one serialized blob (its token arrays are 24 bytes
    per token) written after its last document: :class:`FastDocBin`
    compresses the token rows as they come, into memory up to 32 MB and an
    unnamed temporary file past that, and keeps a few hundred bytes per
    document. With ``shard_dir`` the writer instead writes
    ``{name}-00000.spacy``, ``{name}-00001.spacy``... of ``shard_docs``
    documents each into that folder (``spacy train`` reads a folder of
    ``.spacy`` files, and whoever loads a DocBin holds all of its tokens in
    memory: shards keep that small too). A single file is limited to 4 GiB
    of token rows (about 180 million characters).
    """

    binary = True
    SHARD_DOCS = 1000

    def __init__(
        self, fh: IO[bytes] | None, *, shard_dir: str | None = None, name: str = "docs", shard_docs: int | None = None
    ):
        self.fh = fh
        self.shard_dir = shard_dir
        self.name = name
        self.shard_docs = shard_docs or self.SHARD_DOCS
        self.shards: list[str] = []
        self.docbin = new_docbin()
        self.records = 0
        self.spans = 0

    def write(self, rec: Mapping[str, Any]) -> None:
        self.docbin.add(rec)
        self.records += 1
        self.spans += len(rec["spans"])
        if self.shard_dir is not None and len(self.docbin) >= self.shard_docs:
            self._write_shard()
            self.docbin = new_docbin()

    def _write_shard(self) -> None:
        assert self.shard_dir is not None
        path = os.path.join(self.shard_dir, f"{self.name}-{len(self.shards):05d}.spacy")
        with open_output(path, binary=True) as fh:
            self.docbin.write_to(fh)
        self.shards.append(path)

    def abort(self) -> None:
        self.docbin.abort()

    def close(self) -> None:
        if self.shard_dir is None:
            self.docbin.write_to(self.fh)
            return
        if len(self.docbin) or not self.shards:
            self._write_shard()
        else:
            self.docbin.abort()


def is_shard(name: str, filename: str) -> bool:
    """Whether ``filename`` is a shard ``{name}-NNNNN.spacy`` of :class:`SpacyWriter`: the
    files a new export of ``name`` into a folder replaces (an earlier, longer export's extra
    shards would be read too); other files of the folder stay."""
    return filename.startswith(f"{name}-") and filename.endswith(".spacy") and filename[len(name) + 1 : -6].isdigit()
