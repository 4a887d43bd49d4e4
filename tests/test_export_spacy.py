"""spaCy export: the fast DocBin writer (no Doc objects) against the reference
path (a spaCy Doc per record + DocBin), byte for byte and Doc for Doc; its
layout guard and fallback; the streaming zlib splice; failures mid-export."""

from __future__ import annotations

import threading
import zlib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_export import annotated, gold_store  # noqa: F401  (fixtures)

from workbench import export
from workbench.core.labels import LABELS
from workbench.formats import docbin as ex  # the fast DocBin path, and the names it uses

spacy = pytest.importorskip("spacy")
from spacy.tokens import DocBin  # noqa: E402

_NLP: dict = {}


def nlp():
    if "nlp" not in _NLP:
        _NLP["nlp"] = ex.blank_zh()
    return _NLP["nlp"]


def both(recs, codec=None):
    """(fast bytes, reference bytes) of one DocBin of ``recs``."""
    codec = codec or ex.spacy_codec()
    assert codec is not None, "the installed spaCy should take the fast path"
    return ex.both_docbins(codec, recs, nlp())


def load(data: bytes):
    return list(DocBin().from_bytes(data).get_docs(nlp().vocab))


def token_rows(doc):
    return [(t.text, t.whitespace_, t.idx, t.ent_iob_, t.ent_type_) for t in doc]


def assert_same(recs, codec=None):
    fast, ref = both(recs, codec)
    # the fast writer makes the very msgpack DocBin.to_bytes makes of the reference Docs
    assert zlib.decompress(fast) == zlib.decompress(ref)
    fast_docs, ref_docs = load(fast), load(ref)
    assert len(fast_docs) == len(ref_docs) == len(recs)
    for rec, f, r in zip(recs, fast_docs, ref_docs):
        assert f.text == r.text == rec["text"]
        assert token_rows(f) == token_rows(r)
        ents = sorted((s["start"], s["end"], s["label"]) for s in rec["spans"])
        assert [(e.start_char, e.end_char, e.label_) for e in f.ents] == ents
        assert dict(f.user_data) == dict(r.user_data)
        assert f.user_data["id"] == rec["id"]
    return fast_docs


# ---------------------------------------------------------------------------- same as the reference


def test_fast_docbin_is_the_reference_on_the_seeds(gold_docs):
    recs = []
    for i, d in enumerate(gold_docs.values()):
        spans = sorted(d["spans"], key=lambda s: (s["start"], s["end"], s["label"]))
        recs.append(
            {
                "id": d["id"],
                "text": d["text"],
                "spans": spans,
                "meta": {"seed": i},
                "_input_hash": -i,
                "annotators": ["ann1", "ann2"],
            }
        )
    docs = assert_same(recs)
    for rec, doc in zip(recs, docs):
        assert len(doc) <= len(rec["text"])
        assert doc.user_data["meta"] == {"seed": rec["meta"]["seed"]}
        n_attrs = sum(1 for s in rec["spans"] if s.get("attrs"))
        assert len(doc.user_data.get("attrs", ())) == n_attrs
    # the seed texts have trailing spaces, newline runs and \xa0: not one token per character
    assert any(len(d) < len(r["text"]) for d, r in zip(docs, recs))


def test_fast_docbin_batches_and_spills_the_same(gold_docs, monkeypatch):
    monkeypatch.setattr(ex.FastDocBin, "BATCH", 4096)  # many hand-overs to the compressor
    monkeypatch.setattr(ex.FastDocBin, "SPOOL_MAX", 10_000)  # compressed tokens spill to a file
    recs = [
        {"id": f"{d['id']}-{k}", "text": d["text"], "spans": sorted(d["spans"], key=lambda s: s["start"])}
        for k in range(3)
        for d in gold_docs.values()
    ]
    assert_same(recs)


@pytest.mark.parametrize("level", [1, 6, 9])
def test_any_zlib_level_is_one_valid_stream(gold_docs, monkeypatch, level):
    monkeypatch.setattr(ex, "_ZLEVEL", level)
    d = next(iter(gold_docs.values()))
    assert_same([{"id": d["id"], "text": d["text"], "spans": sorted(d["spans"], key=lambda s: s["start"])}])


def test_empty_docbin_is_the_reference():
    assert_same([])


_ALPHABET = list("统战部北京会议Xx_1。😀𠀀") + [
    " ",
    " ",
    "\n",
    "\t",
    "\r",
    "\xa0",
    "\u3000",
    "\u2028",
    "\u0301",
    "\u200b",
    "\x1c",
    "\x85",
]


@st.composite
def records(draw):
    text = draw(st.lists(st.sampled_from(_ALPHABET), max_size=24).map("".join))
    n = len(text)
    cuts = sorted(draw(st.lists(st.integers(0, n), unique=True, max_size=8)))
    spans = []
    for a, b in zip(cuts[::2], cuts[1::2]):
        span = {"start": a, "end": b, "label": draw(st.sampled_from(LABELS)), "text": text[a:b]}
        if draw(st.booleans()):
            span["attrs"] = {"unit": draw(st.sampled_from(["人", "个", ""])), "n": draw(st.integers(-3, 10**12))}
        spans.append(span)
    rec = {"id": draw(st.text(max_size=5)), "text": text, "spans": spans}
    if draw(st.booleans()):
        rec["meta"] = {"k": draw(st.lists(st.integers(-(2**63), 2**64 - 1), max_size=2))}
        rec["_input_hash"] = draw(st.integers(-(2**31), 2**31))
    return rec


@settings(max_examples=300, deadline=None)
@given(st.lists(records(), min_size=1, max_size=4))
@example(
    [
        {
            "id": "edges",
            "text": "北 京",
            "spans": [
                {"start": 0, "end": 1, "label": "LOC", "text": "北"},
                {"start": 2, "end": 3, "label": "ORG", "text": "京"},
            ],
        }
    ]
)
@example([{"id": "space-span", "text": "a  b", "spans": [{"start": 1, "end": 3, "label": "ORG", "text": "  "}]}])
@example(
    [{"id": "all", "text": " \n😀\u0301 ", "spans": [{"start": 0, "end": 5, "label": "DOC", "text": " \n😀\u0301 "}]}]
)
@example([{"id": "runs", "text": "\n\n\xa0 x \t", "spans": [{"start": 4, "end": 5, "label": "PERSON", "text": "x"}]}])
def test_fast_docbin_is_the_reference_on_any_text(recs):
    assert_same(recs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), min_size=1, max_size=30).map("".join))
def test_tokens_are_the_char_segmenter_s(text):
    """Without spans, the fast tokens are exactly ``nlp.make_doc``'s."""
    (doc,) = load(both([{"id": "t", "text": text, "spans": []}])[0])
    ref = nlp().make_doc(text)
    assert [(t.text, t.whitespace_) for t in doc] == [(t.text, t.whitespace_) for t in ref]


def test_unusual_records_take_the_reference_path():
    codec = ex.spacy_codec()
    unsorted = {
        "id": "u",
        "text": "北京上海",
        "spans": [
            {"start": 2, "end": 4, "label": "LOC", "text": "上海"},
            {"start": 0, "end": 2, "label": "LOC", "text": "北京"},
        ],
    }
    empty = {"id": "e", "text": "", "spans": []}
    assert codec.doc_arrays(unsorted) is None and codec.doc_arrays(empty) is None
    assert_same([unsorted, empty, {"id": "ok", "text": "统战", "spans": []}])


def test_overlapping_spans_fail_as_the_reference_does():
    rec = {
        "id": "o",
        "text": "北京上海",
        "spans": [
            {"start": 0, "end": 3, "label": "LOC", "text": "北京上"},
            {"start": 2, "end": 4, "label": "LOC", "text": "上海"},
        ],
    }
    errors = []
    for blob in (ex.FastDocBin(ex.spacy_codec()), ex.ReferenceDocBin(nlp())):
        with pytest.raises(ex.ExportError) as e:
            blob.add(rec)
        blob.abort()
        errors.append(str(e.value))
    assert errors[0] == errors[1] and "o" in errors[0]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_adler32_combine_is_zlib_s(a, b):
    assert ex.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


def test_adler32_combine_on_long_data():
    a, b = bytes(range(256)) * 300, b"\xff" * 200_003
    assert ex.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


# ---------------------------------------------------------------------------- layout guard and fallback


def test_self_check_failure_falls_back_to_the_reference(monkeypatch):
    monkeypatch.setattr(ex, "_CODEC", [])
    monkeypatch.setattr(ex, "_same_docbin", lambda codec, recs: False)
    assert ex.spacy_codec() is None
    assert isinstance(ex.new_docbin(), ex.ReferenceDocBin)


def test_other_docbin_layout_falls_back_to_the_reference(monkeypatch):
    import spacy.tokens

    class OtherDocBin(spacy.tokens.DocBin):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.version = "0.2"

    monkeypatch.setattr(ex, "_CODEC", [])
    monkeypatch.setattr(spacy.tokens, "DocBin", OtherDocBin)
    assert ex.spacy_codec() is None


def test_cli_export_is_the_same_with_the_fallback(gold_docs, corpus_store, db_path, tmp_path, monkeypatch):
    from test_export import insert_gold, run

    insert_gold(corpus_store, list(gold_docs.values()))
    fast, ref = tmp_path / "fast.spacy", tmp_path / "ref.spacy"
    run(db_path, "export", "gold", "-o", str(fast))
    monkeypatch.setattr(ex, "_CODEC", [None])  # as if the layout check had failed
    run(db_path, "export", "gold", "-o", str(ref))
    assert zlib.decompress(fast.read_bytes()) == zlib.decompress(ref.read_bytes())
    for f, r in zip(load(fast.read_bytes()), load(ref.read_bytes())):
        assert token_rows(f) == token_rows(r) and f.text == r.text
        assert dict(f.user_data) == dict(r.user_data)


def test_cli_annotations_are_the_same_with_the_fallback(annotated, db_path, tmp_path, monkeypatch):
    from test_export import run

    fast, ref = tmp_path / "fast.spacy", tmp_path / "ref.spacy"
    args = ["export", "annotations", "--format", "spacy", "--include-unfinished"]
    run(db_path, *args, "-o", str(fast))
    monkeypatch.setattr(ex, "_CODEC", [None])
    run(db_path, *args, "-o", str(ref))
    assert zlib.decompress(fast.read_bytes()) == zlib.decompress(ref.read_bytes())
    docs = load(fast.read_bytes())
    assert [(d.user_data["id"], d.user_data["_annotator_id"]) for d in docs] == [
        (annotated[1], "amy"),
        (annotated[1], "bob"),
        (annotated[2], "amy"),
    ]
    bob = docs[1]
    assert bob.user_data["_finished"] is True
    assert [(e.start_char, e.end_char, e.label_) for e in bob.ents] == [
        (0, 2, "ORG"),
        (6, 9, "PERSON"),
        (20, 24, "QUANTITY"),
    ]
    assert bob.user_data["attrs"] == ((20, 24, {"value": 1.0, "unit": "个", "approx": None}),)


# ---------------------------------------------------------------------------- failures


def _compressor_threads():
    return [t for t in threading.enumerate() if t.name == ex.FastDocBin.THREAD_NAME and t.is_alive()]


@pytest.mark.parametrize("shards", [False, True])
def test_a_failed_export_stops_the_compressor_and_writes_nothing(tmp_path, shards):
    before = len(_compressor_threads())
    out = str(tmp_path / "shards") + "/" if shards else str(tmp_path / "x.spacy")
    good = {"id": "g", "text": "统战部" * 50, "spans": [{"start": 0, "end": 3, "label": "ORG", "text": "统战部"}]}
    bad = {
        "id": "bad",
        "text": "北京上海",
        "spans": [
            {"start": 0, "end": 3, "label": "LOC", "text": "北京上"},
            {"start": 2, "end": 4, "label": "LOC", "text": "上海"},
        ],
    }
    with pytest.raises(ex.ExportError, match="bad"), export.open_writer(out, "spacy", name="gold") as w:
        w.write(good)
        w.write(bad)
    assert len(_compressor_threads()) == before
    if shards:
        assert list((tmp_path / "shards").glob("*.spacy")) == []
    else:
        assert not (tmp_path / "x.spacy").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_too_much_for_one_file_is_refused_early(gold_store, db_path, tmp_path, monkeypatch):
    from test_export import run

    monkeypatch.setattr(ex, "_MSGPACK_MAX_BIN", 5000 * 24)  # as if 4 GiB were 5,000 tokens
    out = tmp_path / "g.spacy"
    res = run(db_path, "export", "gold", "-o", str(out), ok=False)
    assert res.exit_code == 1 and "-o DIR/" in res.output and "Traceback" not in res.output
    assert not out.exists() and not _compressor_threads()
    monkeypatch.setattr(ex.SpacyWriter, "SHARD_DOCS", 1)  # shards of one document fit
    run(db_path, "export", "gold", "--format", "spacy", "-o", f"{tmp_path}/shards/")
    assert len(list((tmp_path / "shards").glob("*.spacy"))) == 5


def test_writer_output_loads_in_shards(tmp_path, gold_docs):
    recs = [
        {"id": d["id"], "text": d["text"], "spans": sorted(d["spans"], key=lambda s: s["start"])}
        for d in gold_docs.values()
    ]
    w = ex.SpacyWriter(None, shard_dir=str(tmp_path), name="t", shard_docs=2)
    for r in recs:
        w.write(r)
    w.close()
    assert len(w.shards) == 3
    docs = [d for p in w.shards for d in load(open(p, "rb").read())]
    assert [d.user_data["id"] for d in docs] == [r["id"] for r in recs]
    assert [d.text for d in docs] == [r["text"] for r in recs]
    assert [len(d.ents) for d in docs] == [len(r["spans"]) for r in recs]


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 65_535, 65_536, 70_000])
def test_array_header_is_msgpacks(n):
    import srsly

    from workbench.formats.docbin import _msgpack_array_header

    packed = srsly.msgpack_dumps([None] * n)
    assert packed[: len(packed) - n] == _msgpack_array_header(n)


@pytest.mark.parametrize("n", [15, 16, 17])
def test_user_data_of_many_documents_streams_to_the_same_blob(n):
    # the user_data array is written from a spool (its msgpack header: fixarray, array 16, array 32)
    recs = [
        {
            "id": f"u{i}",
            "text": "县委统战部",
            "spans": [{"start": 0, "end": 5, "label": "ORG", "text": "县委统战部", "attrs": None}],
            "meta": {"i": i},
        }
        for i in range(n)
    ]
    fast, ref = both(recs)
    assert zlib.decompress(fast) == zlib.decompress(ref)


def test_fast_docbin_memory_is_bounded_past_a_megabyte_and_the_blob_is_the_same():
    """What the writer holds in memory stops growing: past 1 MB the compressed tokens and the
    user data go to a temporary file (32 MB used to stay in memory: most of the peak RSS
    growth from 100k to 1M spans), and the per-document arrays at the end are written element
    by element; the blob is still the reference's."""
    import io
    import random

    rng = random.Random(7)
    chars = [chr(c) for c in range(0x4E00, 0x9FA5)]
    recs = []
    for i in range(40):
        text = "".join(rng.choice(chars) for _ in range(8000))
        recs.append({"id": f"d{i}", "text": text, "spans": [{"start": 3, "end": 7, "label": "ORG", "text": text[3:7]}]})
    fast = ex.FastDocBin(ex.spacy_codec())
    for r in recs:
        fast.add(r)
    fast._hand_over()
    fast._stop()
    fast._thread = None
    assert fast._spool._rolled  # on disk, not in memory
    out = io.BytesIO()
    fast.write_to(out)
    ref = ex.ReferenceDocBin(nlp())
    for r in recs:
        ref.add(r)
    buf = io.BytesIO()
    ref.write_to(buf)
    assert zlib.decompress(out.getvalue()) == zlib.decompress(buf.getvalue())
