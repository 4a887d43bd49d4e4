"""Fuzzing ``workbench ingest`` with bad input.

Random bytes, truncated GB18030, NULs, lone UTF-16 surrogates in JSON, malformed
JSON lines, empty files and a 10 MB single line. Whatever comes in, ingest
either stores the document(s) exactly as ``normalize`` reads them, or reports a
clear ``IngestError`` naming the file (and the line when there is one) and leaves
the database byte-for-byte as it was (compared with ``iterdump``). Never a
traceback, never a half-written file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from workbench.cli import cli
from workbench.core.normalize import DecodeError, normalize_bytes
from workbench.ingest import IngestError, ingest_file
from workbench.store import Store

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: CI failures are reproducible
)
_names = itertools.count()


def snapshot(store: Store) -> str:
    """A hash of the whole database content (schema + every row)."""
    h = hashlib.sha256()
    for line in store.conn.iterdump():
        h.update(line.encode("utf-8", "surrogatepass"))
        h.update(b"\n")
    return h.hexdigest()


def corpus_paragraphs() -> list[str]:
    paras = []
    for p in sorted(CORPUS.glob("*.txt")):
        paras += [x for x in p.read_text(encoding="utf-8").split("\n") if x.strip()]
    return paras


PARAS = corpus_paragraphs()


@pytest.fixture
def base(tmp_path):
    """A store holding one bundled report (so 'unchanged' means something)."""
    s = Store(tmp_path / "fuzz.db")
    res = ingest_file(s, sorted(CORPUS.glob("*.txt"))[0])
    assert res.added == 1 and res.error is None
    yield s, tmp_path
    s.close()


def new_file(folder: Path, suffix: str, data: bytes) -> Path:
    p = folder / f"f{next(_names)}{suffix}"
    p.write_bytes(data)
    return p


def check_clean_error(store: Store, before: str, res, path: Path, line: int | None = "any") -> IngestError:
    """The result is an error naming the file (and ``line``) and the DB is unchanged."""
    assert res.error is not None, "expected an error"
    if currently_in_test_context():
        event(f"refused: {res.error.reason[:28]}")
    assert isinstance(res.error, IngestError)
    assert res.added == 0 and res.unchanged == 0
    msg = str(res.error)
    assert msg.startswith(str(path)), msg
    assert res.error.reason and "Traceback" not in msg
    if line != "any":
        assert res.error.line == line, msg
        if line is not None:
            assert msg.startswith(f"{path}:{line}: "), msg
    assert snapshot(store) == before, "a failed ingest changed the database"
    return res.error


def expected_txt(data: bytes):
    """What ingesting ``data`` as a .txt must give: the normalized text, or a DecodeError."""
    try:
        return normalize_bytes(data)
    except DecodeError as e:
        return e


# ---------------------------------------------------------------------------- .txt


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=3000),
        st.tuples(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b""]), st.binary(max_size=600)).map(
            lambda t: t[0] + t[1]
        ),
        st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass")),
    )
)
@example(data=b"")
@example(data=b"\x00")
@example(data=b"\xff\xfe\x00\xd8")  # UTF-16 LE BOM + lone high surrogate
@example(data=b"\xed\xa0\x80")  # CESU/WTF-8 lone surrogate
@example(data="好".encode("gb18030")[:1])
def test_random_bytes_txt(base, data):
    store, folder = base
    before = snapshot(store)
    path = new_file(folder, ".txt", data)
    res = ingest_file(store, path)
    want = expected_txt(data)
    if isinstance(want, DecodeError):
        err = check_clean_error(store, before, res, path)
        assert err.line == want.line
    else:
        assert res.error is None, str(res.error)
        assert res.added == 1
        doc = store.get_document(path.stem, with_raw=True)
        assert doc["text"] == want.text and doc["raw_text"] == want.raw_text
        assert list(doc["offset_map"]) == list(want.offset_map)


def _gb18030_report() -> bytes:
    return sorted(CORPUS.glob("*.txt"))[1].read_text(encoding="utf-8").encode("gb18030")


GB = _gb18030_report()


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(GB)))
@example(cut=len(GB) - 1)
@example(cut=1)
def test_truncated_gb18030(base, cut):
    store, folder = base
    before = snapshot(store)
    data = GB[:cut]
    path = new_file(folder, ".txt", data)
    res = ingest_file(store, path)
    try:
        data.decode("gb18030")
        fails_at = None
    except UnicodeDecodeError as e:
        fails_at = e.start
    if fails_at is not None:
        # a cut inside a multi-byte character: reported on the line where it is cut
        err = check_clean_error(store, before, res, path)
        assert err.line == data.count(b"\n", 0, fails_at) + 1
        assert "GB18030" in err.reason
    elif not data.strip():
        check_clean_error(store, before, res, path, line=None)
    else:
        assert res.error is None and res.added == 1, str(res.error)
        doc = store.get_document(path.stem)
        assert doc["text"] == normalize_bytes(data).text
        assert doc["encoding"] in ("gb18030", "utf-8")


@FUZZ
@given(
    para=st.sampled_from(PARAS),
    lines=st.integers(1, 6),
    nul_at=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=3),
)
def test_nul_bytes_are_rejected_with_their_line(base, para, lines, nul_at):
    store, folder = base
    before = snapshot(store)
    data = "\n".join([para] * lines).encode("utf-8")
    positions = sorted({int(f * len(data)) for f in nul_at})
    for i, pos in enumerate(positions):
        pos += i
        data = data[:pos] + b"\x00" + data[pos:]
    path = new_file(folder, ".txt", data)
    res = ingest_file(store, path)
    first = data.index(b"\x00")
    check_clean_error(store, before, res, path, line=data.count(b"\n", 0, first) + 1)


@pytest.mark.parametrize(
    "suffix, data",
    [
        (".txt", b""),
        (".txt", b" \n\t\r\n"),
        (".txt", "\u3000\n".encode()),
        (".jsonl", b""),
        (".jsonl", b"\n\n  \n"),
    ],
)
def test_empty_files(base, suffix, data):
    store, folder = base
    before = snapshot(store)
    path = new_file(folder, suffix, data)
    res = ingest_file(store, path)
    err = check_clean_error(store, before, res, path)
    assert "empty" in err.reason


# ---------------------------------------------------------------------------- .jsonl

GOOD_ID = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(lambda s: s.strip())


def _corruptions(valid: dict) -> list[tuple[str, bytes]]:
    """(name, line bytes) that must each be refused."""
    line = json.dumps(valid, ensure_ascii=False)
    return [
        ("truncated json", line[: max(1, len(line) // 2)].encode()),
        ("trailing garbage", (line + " x").encode()),
        ("lone surrogate in text", json.dumps({"id": valid["id"] + "s", "text": "前\ud800后"}).encode()),
        ("lone low surrogate in id", json.dumps({"id": "a\udc00", "text": "正文"}).encode()),
        ("reversed surrogate pair", b'{"id": "rp", "text": "\\udc00\\ud800"}'),
        ("NUL in text", json.dumps({"id": valid["id"] + "n", "text": "a\u0000b"}).encode()),
        ("not an object", json.dumps([valid]).encode()),
        ("string", b'"just a string"'),
        ("number id float", json.dumps({"id": 1.5, "text": "x"}).encode()),
        ("missing text", json.dumps({"id": valid["id"] + "t"}).encode()),
        ("blank text", json.dumps({"id": valid["id"] + "b", "text": " \n "}).encode()),
        ("text not a string", json.dumps({"id": valid["id"] + "x", "text": ["a"]}).encode()),
        ("meta not object", json.dumps({"id": valid["id"] + "m", "text": "x", "meta": [1]}).encode()),
        ("surrogate in meta", b'{"id": "mm", "text": "x", "meta": {"k": "\\udfff"}}'),
        ("invalid utf-8", line.encode()[:-2] + b"\xff\xfe" + line.encode()[-2:]),
        ("gb18030 line", line.encode("gb18030") if any(ord(c) > 127 for c in line) else b"\xb2\xe2"),
        ("duplicate id", json.dumps({"id": valid["id"], "text": "另一个"}, ensure_ascii=False).encode()),
        ("NaN", b'{"id": "nan", "text": NaN}'),
    ]


# any code point, lone surrogates included now and then
ANY_CHAR = st.one_of(st.characters(), st.characters(codec=None, categories=["Cs"]))
N_CORRUPTIONS = len(_corruptions({"id": "a", "text": "b"}))


@pytest.mark.parametrize("which", range(N_CORRUPTIONS))
@settings(FUZZ, max_examples=12)
@given(
    ids=st.lists(GOOD_ID, min_size=1, max_size=8, unique=True),
    paras=st.lists(st.sampled_from(PARAS), min_size=8, max_size=8),
    bad_at=st.integers(0, 8),
    blank_lines=st.lists(st.integers(0, 9), max_size=3),
)
def test_one_bad_jsonl_line_names_its_line_and_writes_nothing(base, ids, paras, bad_at, which, blank_lines):
    store, folder = base
    before = snapshot(store)
    records = [{"id": i, "text": p, "meta": {"n": k}} for k, (i, p) in enumerate(zip(ids, paras))]
    bad_at = min(bad_at, len(records))
    name, bad = _corruptions(records[0])[which]
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in records]
    lines.insert(bad_at, bad)
    for b in sorted(blank_lines, reverse=True):
        lines.insert(min(b, len(lines)), b"   ")
    bad_line = lines.index(bad) + 1
    path = new_file(folder, ".jsonl", b"\n".join(lines) + b"\n")
    res = ingest_file(store, path)
    if name == "duplicate id" and bad_at == 0:
        # the corrupt line comes first: the real record is the duplicate
        bad_line = next(n for n, line in enumerate(lines, 1) if line == lines[bad_line])
    err = check_clean_error(store, before, res, path, line=bad_line)
    if name == "truncated json":
        assert "Unterminated" in err.reason or "Expecting" in err.reason, err.reason


@FUZZ
@given(
    text=st.text(ANY_CHAR, max_size=300),
    doc_id=st.text(ANY_CHAR, max_size=10),
    meta=st.dictionaries(st.text(ANY_CHAR, max_size=5), st.text(ANY_CHAR, max_size=5), max_size=2),
)
def test_random_jsonl_record(base, text, doc_id, meta):
    """Any JSON record: stored exactly (normalized) or refused on line 1, DB unchanged."""
    store, folder = base
    before = snapshot(store)
    line = json.dumps({"id": doc_id, "text": text, "meta": meta})  # ASCII: surrogates survive as \\u escapes
    path = new_file(folder, ".jsonl", line.encode() + b"\n")
    res = ingest_file(store, path)
    valid = (
        doc_id.strip()
        and text.strip()
        and "\x00" not in text
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in doc_id + text + json.dumps(meta, ensure_ascii=False))
    )
    if not valid:
        check_clean_error(store, before, res, path, line=1)
        return
    if store.document_exists(doc_id)[0] and res.error is not None:
        # an id used by an earlier example with other content: a conflict, DB unchanged
        check_clean_error(store, before, res, path, line=1)
        assert "already exists" in res.error.reason
        return
    assert res.error is None, str(res.error)
    doc = store.get_document(doc_id)
    from workbench.core.normalize import normalize_text

    assert doc["text"] == normalize_text(text, "json").text
    assert doc["meta"] == meta


# ---------------------------------------------------------------------------- big lines


def _big_line(n_bytes: int) -> str:
    body = "".join(PARAS)
    s = body * (n_bytes // len(body.encode()) + 1)
    return s.encode()[:n_bytes].decode("utf-8", "ignore")


def test_10mb_single_line_txt_is_ingested(base):
    store, folder = base
    line = _big_line(10_000_000)
    path = new_file(folder, ".txt", line.encode())
    res = ingest_file(store, path)
    assert res.error is None and res.added == 1
    doc = store.get_document(path.stem, with_raw=True)
    assert doc["raw_text"] == line and "\n" not in doc["text"]
    assert len(doc["offset_map"]) == len(doc["text"]) + 1


def test_10mb_malformed_json_line_is_a_clean_error(base):
    store, folder = base
    before = snapshot(store)
    good = json.dumps({"id": "small", "text": "正文"}, ensure_ascii=False)
    big = json.dumps({"id": "big", "text": _big_line(10_000_000)}, ensure_ascii=False)[:-3]  # unterminated
    path = new_file(folder, ".jsonl", (good + "\n" + big + "\n").encode())
    res = ingest_file(store, path)
    err = check_clean_error(store, before, res, path, line=2)
    assert "malformed JSON" in err.reason
    assert len(str(err)) < 300  # the message names the place, it does not echo the line


# ---------------------------------------------------------------------------- CLI


@settings(FUZZ, max_examples=25)
@given(data=st.binary(max_size=500), suffix=st.sampled_from([".txt", ".jsonl"]))
def test_cli_never_shows_a_traceback(base, data, suffix):
    store, folder = base
    before = snapshot(store)
    good = sorted(CORPUS.glob("*.txt"))[0]  # already in: unchanged
    path = new_file(folder, suffix, data)
    r = CliRunner().invoke(cli, ["--db", store.path, "ingest", str(path), str(good)])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    if r.exit_code == 1:
        assert len(errors) == 1 and errors[0].startswith(f"error: {path}"), r.output
        assert snapshot(store) == before
    else:
        assert r.exit_code == 0 and not errors, r.output
