"""Export: gold and annotations in jsonl, doccano, CoNLL and spaCy; raw offsets; determinism."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.cli import cli
from workbench.core.quantity import canonical_attrs
from workbench.export import ExportError, format_for
from workbench.formats.conll import conll_lines, conll_token, read_conll, sentence_ends
from workbench.formats.spacy import spacy_doc
from workbench.store import Store, input_hash, now_iso, task_hash


def insert_gold(store: Store, docs, annotators=("ann1", "ann2")) -> int:
    """Insert gold rows as the review step would (directly, inside one write)."""
    n = 0
    with store.write() as c:
        for d in docs:
            for i, sp in enumerate(d["spans"]):
                anns = list(annotators) if i % 3 else [annotators[0], "zed"]
                c.execute(
                    'INSERT INTO gold (doc_id, start, "end", label, text, attrs, origin, reviewer, annotators, ts)'
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        d["id"],
                        sp["start"],
                        sp["end"],
                        sp["label"],
                        sp["text"],
                        json.dumps(sp["attrs"], ensure_ascii=False) if sp.get("attrs") else None,
                        "agreed" if i % 2 else "adjudicated",
                        None if i % 2 else "rev",
                        json.dumps(anns),
                        now_iso(),
                    ),
                )
                n += 1
    return n


def run(db_path, *args, ok=True):
    res = CliRunner().invoke(cli, ["--db", db_path, *args], catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


def read_jsonl(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def span_key(s):
    return (s["start"], s["end"], s["label"], s["text"], s.get("attrs") or None)


@pytest.fixture
def gold_store(corpus_store, gold_docs):
    # reversed insertion order: the export must sort, not rely on insert order
    docs = [dict(d, spans=list(reversed(d["spans"]))) for d in gold_docs.values()]
    insert_gold(corpus_store, docs)
    return corpus_store


# ---------------------------------------------------------------------------- gold jsonl


def test_gold_jsonl_is_the_seed_gold(gold_store, gold_docs, db_path, tmp_path):
    out = tmp_path / "gold.jsonl"
    res = run(db_path, "export", "gold", "-o", str(out))
    assert "wrote" in res.output
    recs = read_jsonl(out)
    assert [r["id"] for r in recs] == gold_store.document_ids()  # ingest order
    for r in recs:
        assert list(r) == ["id", "text", "spans", "meta", "_input_hash", "annotators"]
        g = gold_docs[r["id"]]
        assert r["text"] == g["text"]
        assert r["_input_hash"] == input_hash(r["text"]) == gold_store.get_document(r["id"])["input_hash"]
        assert r["annotators"] == ["ann1", "ann2", "zed"]
        keys = [(s["start"], s["end"], s["label"]) for s in r["spans"]]
        assert keys == sorted(keys)
        for s in r["spans"]:
            # provenance rides along: origin always, reviewer on a reviewer's own gold
            if s["origin"] == "agreed":
                assert list(s) == ["start", "end", "label", "text", "attrs", "origin"]
            else:
                assert s["origin"] == "adjudicated" and s["reviewer"] == "rev"
                assert list(s) == ["start", "end", "label", "text", "attrs", "origin", "reviewer"]
            assert r["text"][s["start"] : s["end"]] == s["text"]
        assert sorted(map(span_key, r["spans"])) == sorted(map(span_key, g["spans"]))


def test_gold_export_is_deterministic_in_every_format(gold_store, db_path, tmp_path):
    for fmt in ("jsonl", "doccano", "conll", "spacy"):
        a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        run(db_path, "export", "gold", "--format", fmt, "-o", str(a))
        run(db_path, "export", "gold", "--format", fmt, "-o", str(b))
        assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 0, fmt


def test_gold_to_stdout_equals_file(gold_store, db_path, tmp_path):
    out = tmp_path / "g.jsonl"
    run(db_path, "export", "gold", "-o", str(out))
    res = run(db_path, "export", "gold", "-o", "-")
    assert res.stdout == out.read_text(encoding="utf-8")


def test_annotators_are_sorted_union_per_document(corpus_store, db_path, tmp_path):
    doc = corpus_store.get_document(corpus_store.document_ids()[0])
    text = doc["text"]
    with corpus_store.write() as c:
        for start, anns in ((0, ["b", "a"]), (5, ["c"]), (9, [])):
            c.execute(
                'INSERT INTO gold (doc_id, start, "end", label, text, origin, annotators, ts) VALUES (?,?,?,?,?,?,?,?)',
                (doc["id"], start, start + 2, "ORG", text[start : start + 2], "agreed", json.dumps(anns), now_iso()),
            )
    out = tmp_path / "g.jsonl"
    run(db_path, "export", "gold", "-o", str(out))
    (rec,) = read_jsonl(out)
    assert rec["annotators"] == ["a", "b", "c"]
    assert [s["attrs"] for s in rec["spans"]] == [None, None, None]


def test_gold_export_refuses_wrong_text_and_writes_nothing(corpus_store, db_path, tmp_path):
    doc_id = corpus_store.document_ids()[1]
    with corpus_store.write() as c:
        c.execute(
            'INSERT INTO gold (doc_id, start, "end", label, text, origin, ts) VALUES (?,?,?,?,?,?,?)',
            (doc_id, 0, 2, "ORG", "不对", "agreed", now_iso()),
        )
    out = tmp_path / "g.jsonl"
    res = run(db_path, "export", "gold", "-o", str(out), ok=False)
    assert res.exit_code == 1
    assert doc_id in res.output and "不对" in res.output and "Traceback" not in res.output
    assert not out.exists() and list(tmp_path.glob(".tmp-*")) == []


def test_gold_export_refuses_overlapping_gold(corpus_store, db_path, tmp_path):
    doc = corpus_store.get_document(corpus_store.document_ids()[0])
    with corpus_store.write() as c:
        for s, e in ((0, 4), (2, 6)):
            c.execute(
                'INSERT INTO gold (doc_id, start, "end", label, text, origin, ts) VALUES (?,?,?,?,?,?,?)',
                (doc["id"], s, e, "ORG", doc["text"][s:e], "agreed", now_iso()),
            )
    res = run(db_path, "export", "gold", "-o", str(tmp_path / "g.jsonl"), ok=False)
    assert res.exit_code == 1 and "overlap" in res.output


def test_export_gold_with_no_gold_says_so(corpus_store, db_path, tmp_path):
    out = tmp_path / "g.jsonl"
    res = run(db_path, "export", "gold", "-o", str(out))
    assert "no gold" in res.stderr
    assert out.read_text() == ""


def test_format_from_suffix():
    assert format_for("x.spacy", None) == "spacy"
    assert format_for("x.conll", None) == "conll"
    assert format_for("x.jsonl", None) == "jsonl"
    assert format_for("x.spacy", "jsonl") == "jsonl"


def test_raw_offsets_needs_jsonl(gold_store, db_path, tmp_path):
    res = run(db_path, "export", "gold", "--format", "conll", "--raw-offsets", "-o", str(tmp_path / "x"), ok=False)
    assert res.exit_code == 2 and "--raw-offsets" in res.output


# ---------------------------------------------------------------------------- raw offsets


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig"])
def test_raw_offsets_point_into_the_source_file(store, db_path, tmp_path, encoding):
    from workbench.core.normalize import normalize_text
    from workbench.ingest import ingest_paths

    raw = "前言\r\n統(tǒng)一戰(zhàn)線工作會议在北京市召開。\r\n參加人員共120余人。"
    path = tmp_path / "trad.txt"
    path.write_bytes(raw.encode(encoding))
    assert not ingest_paths(store, [path]).errors
    doc = store.get_document("trad", with_raw=True)
    text = doc["text"]
    spans = []
    for word, label in (("统一战线工作会议", "PROGRAM"), ("北京市", "LOC"), ("120余人", "QUANTITY")):
        s = text.index(word)
        spans.append(
            {
                "start": s,
                "end": s + len(word),
                "label": label,
                "text": word,
                "attrs": {"value": 120, "unit": "人", "approx": "more"} if label == "QUANTITY" else None,
            }
        )
    insert_gold(store, [{"id": "trad", "spans": spans}])
    out = tmp_path / "g.jsonl"
    run(db_path, "export", "gold", "--raw-offsets", "-o", str(out))
    (rec,) = read_jsonl(out)
    assert rec["_encoding"] == encoding and rec["_source"].endswith("trad.txt")
    data = path.read_bytes()
    codec = {"utf-16": "utf-16-le", "utf-8-sig": "utf-8"}.get(encoding, encoding)
    for s in rec["spans"]:
        raw_piece = doc["raw_text"][s["raw_start"] : s["raw_end"]]
        assert normalize_text(raw_piece).text == s["text"]
        assert data[s["raw_byte_start"] : s["raw_byte_end"]].decode(codec) == raw_piece
    # the traditional, pinyin-glossed source really differs from the span text
    assert doc["raw_text"][rec["spans"][0]["raw_start"] : rec["spans"][0]["raw_end"]].startswith("統(tǒng)")


def test_raw_offsets_identity_for_jsonl_ingest(store, db_path, tmp_path):
    from workbench.ingest import ingest_paths

    src = tmp_path / "docs.jsonl"
    src.write_text(json.dumps({"id": "j1", "text": "在北京市召开"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert not ingest_paths(store, [src]).errors
    insert_gold(store, [{"id": "j1", "spans": [{"start": 1, "end": 4, "label": "LOC", "text": "北京市"}]}])
    out = tmp_path / "g.jsonl"
    run(db_path, "export", "gold", "--raw-offsets", "-o", str(out))
    (s,) = read_jsonl(out)[0]["spans"]
    assert (s["raw_start"], s["raw_end"]) == (1, 4)
    assert "raw_byte_start" not in s  # a JSON string has no byte offsets in a file of its own


# ---------------------------------------------------------------------------- doccano


def test_doccano_shape(gold_store, gold_docs, db_path, tmp_path):
    out = tmp_path / "g.doccano.jsonl"
    run(db_path, "export", "gold", "--format", "doccano", "-o", str(out))
    for r in read_jsonl(out):
        g = gold_docs[r["id"]]
        assert r["text"] == g["text"]
        assert sorted(map(tuple, r["label"])) == sorted((s["start"], s["end"], s["label"]) for s in g["spans"])
        assert all(isinstance(x, list) and len(x) == 3 for x in r["label"])
        # the seed gold holds integral values as floats (8.0): exports write them canonically (8)
        want_attrs = sorted(
            (s["start"], s["end"], json.dumps(canonical_attrs(s["attrs"]), sort_keys=True))
            for s in g["spans"]
            if s.get("attrs")
        )
        got_attrs = sorted((a, b, json.dumps(c, sort_keys=True)) for a, b, c in r.get("attrs", []))
        assert got_attrs == want_attrs


# ---------------------------------------------------------------------------- CoNLL


def test_conll_format_lines(gold_store, gold_docs, db_path, tmp_path):
    out = tmp_path / "g.conll"
    run(db_path, "export", "gold", "-o", str(out))  # format from the suffix
    lines = out.read_text(encoding="utf-8").split("\n")
    n_docs = sum(1 for ln in lines if ln.startswith("# id = "))
    assert n_docs == len(gold_docs)
    n_tokens = 0
    for ln in lines:
        if not ln or ln.startswith("# "):
            continue
        tok, tag = ln.split("\t")  # exactly one tab
        assert tok and not any(c.isspace() for c in tok)
        assert tag == "O" or tag[:2] in ("B-", "I-")
        n_tokens += 1
    assert n_tokens == sum(len(d["text"]) for d in gold_docs.values())
    # sentences: blocks between blank lines end at 。！？ (+ closing quotes) or a newline
    blocks, cur = [], []
    for ln in lines:
        if ln.startswith("# id = ") and cur:
            blocks.append(cur)
            cur = []
        if ln and not ln.startswith("# "):
            cur.append(ln.split("\t")[0])
        elif not ln and cur:
            blocks.append(cur)
            cur = []
    assert sum(map(len, blocks)) == n_tokens and len(blocks) > 100
    enders = set("。！？”’」』）)》】\"'") | {"\\n"}
    last_of_doc = {g["text"][-1] for g in gold_docs.values()}
    assert all(b[-1] in enders or b[-1] in last_of_doc for b in blocks)
    assert all("\\n" not in b[:-1] for b in blocks)  # a newline always ends its sentence
    recs = {r["id"]: r for _, r in read_conll(out.read_text(encoding="utf-8").splitlines(True))}
    for doc_id, g in gold_docs.items():
        assert recs[doc_id]["text"] == g["text"]
        assert sorted((s["start"], s["end"], s["label"]) for s in recs[doc_id]["spans"]) == sorted(
            (s["start"], s["end"], s["label"]) for s in g["spans"]
        )


def test_conll_escapes_whitespace_and_keeps_spans_whole():
    text = "甲 乙\t丙\\丁\xa0戊\u3000#己。“庚”！\n\n《辛。壬》？x"
    spans = [
        {"start": 0, "end": 3, "label": "ORG", "text": text[0:3]},  # contains a space
        {
            "start": text.index("《") + 1,
            "end": text.index("》"),
            "label": "DOC",
            "text": text[text.index("《") + 1 : text.index("》")],
        },  # contains 。 inside
    ]
    rec = {"id": "x", "text": text, "spans": spans, "_annotator_id": "ann"}
    out = list(conll_lines(rec))
    assert out[0] == "# id = x" and out[1] == "# _annotator_id = ann"
    body = "\n".join(out[2:])
    assert "\\s\tI-ORG" in body and "\\t\tO" in body and "\\\\\tO" in body
    assert "\\u00a0\tO" in body and "\\u3000\tO" in body and "#\tO" in body
    assert "\\n\tO" in body
    ends = sentence_ends(text, spans)
    inside = {p for s in spans for p in range(s["start"] + 1, s["end"])}
    assert not inside & set(ends)
    assert text.index("”") + 2 in ends  # 。“庚”！ ends after ！ (and the quote run after 。)
    ((_, back),) = list(read_conll(("\n".join(out) + "\n").splitlines(True)))
    assert back["id"] == "x" and back["text"] == text and back["_annotator_id"] == "ann"
    assert [(s["start"], s["end"], s["label"], s["text"]) for s in back["spans"]] == [
        (s["start"], s["end"], s["label"], s["text"]) for s in spans
    ]


def test_conll_reader_errors_name_the_line():
    with pytest.raises(ValueError) as e:
        list(read_conll(["# id = a\n", "甲\tO\n", "乙\tX-ORG\n"]))
    assert e.value.args[0] == 3 and "BIO" in e.value.args[1]
    with pytest.raises(ValueError) as e:
        list(read_conll(["# id = a\n", "甲乙\tO\n"]))
    assert e.value.args[0] == 2


_ALPHABET = st.sampled_from(list("统战部北京市。！？“”》 \n\t\\#\xa0\u3000a1") + ["\U00020000"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_ALPHABET, min_size=1, max_size=40).map("".join), st.data())
def test_conll_round_trip_property(text, data):
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=8))))
    spans = []
    for a, b in zip(cuts[::2], cuts[1::2]):
        if b > a:
            spans.append(
                {
                    "start": a,
                    "end": b,
                    "text": text[a:b],
                    "label": data.draw(st.sampled_from(["ORG", "LOC", "QUANTITY"])),
                }
            )
    rec = {"id": "p", "text": text, "spans": spans}
    ((_, back),) = list(read_conll(("\n".join(conll_lines(rec)) + "\n").splitlines(True)))
    assert back["text"] == text
    assert [(s["start"], s["end"], s["label"]) for s in back["spans"]] == [
        (s["start"], s["end"], s["label"]) for s in spans
    ]
    for ch in text:
        tok = conll_token(ch)
        assert tok and "\t" not in tok and not any(c.isspace() for c in tok)


# ---------------------------------------------------------------------------- spaCy


def test_spacy_docbin_loads_with_every_span_an_entity(gold_store, gold_docs, db_path, tmp_path):
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    out = tmp_path / "gold.spacy"
    run(db_path, "export", "gold", "-o", str(out))
    nlp = spacy.blank("zh")
    docs = list(DocBin().from_disk(out).get_docs(nlp.vocab))
    assert len(docs) == len(gold_docs)
    for doc in docs:
        g = gold_docs[doc.user_data["id"]]
        assert doc.text == g["text"]
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == sorted(
            (s["start"], s["end"], s["label"]) for s in g["spans"]
        )
        assert [e.text for e in doc.ents] == [s["text"] for s in sorted(g["spans"], key=lambda s: s["start"])]
        for s in g["spans"]:
            assert doc.char_span(s["start"], s["end"], alignment_mode="strict") is not None
        n_attrs = sum(1 for s in g["spans"] if s.get("attrs"))
        assert len(doc.user_data.get("attrs", [])) == n_attrs


def test_spacy_span_on_a_space_still_aligns():
    pytest.importorskip("spacy")
    from workbench.formats.spacy import blank_zh

    nlp = blank_zh()
    text = "在 北京 开会 ab cd"
    spans = [
        {"start": 1, "end": 4, "label": "LOC", "text": text[1:4]},  # starts on a space
        {"start": 10, "end": 13, "label": "ORG", "text": text[10:13]},
    ]  # ends on... "b c"
    doc = spacy_doc(nlp, {"id": "s", "text": text, "spans": spans})
    assert doc.text == text
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [(1, 4, "LOC"), (10, 13, "ORG")]


def test_spacy_missing_is_a_clear_error(gold_store, db_path, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)  # import spacy -> ImportError
    out = tmp_path / "g.spacy"
    res = run(db_path, "export", "gold", "-o", str(out), ok=False)
    assert res.exit_code == 1 and "pip install" in res.output and "Traceback" not in res.output
    assert not out.exists()
    from workbench.formats.spacy import load_spacy

    with pytest.raises(ExportError):
        load_spacy()


# ---------------------------------------------------------------------------- annotations


@pytest.fixture
def annotated(corpus_store):
    """Two annotators on two documents with every kind of decision."""
    s = corpus_store
    d0, d1 = s.document_ids()[:2]
    t0 = s.get_document(d0)["text"]
    props = [
        {"start": a, "end": b, "label": lab, "text": t0[a:b]}
        for a, b, lab in ((0, 2, "ORG"), (3, 5, "LOC"), (6, 8, "PERSON"), (10, 12, "DATE"))
    ]
    s.replace_proposals(d0, "rules", "v1", props)
    p = {x["start"]: x["id"] for x in s.proposals(d0)}
    s.record_decision(d0, "bob", "accept", proposal_id=p[0], start=0, end=2, label="ORG", text=t0[0:2])
    s.record_decision(d0, "bob", "reject", proposal_id=p[3])
    s.record_decision(d0, "bob", "edit", proposal_id=p[6], start=6, end=9, label="PERSON", text=t0[6:9])
    s.record_decision(
        d0,
        "bob",
        "add",
        start=20,
        end=24,
        label="QUANTITY",
        text=t0[20:24],
        attrs={"value": 1.0, "unit": "个", "approx": None},
    )
    # proposal at 10 stays pending for bob
    s.record_decision(d0, "bob", "finish")
    s.record_decision(d0, "amy", "reject", proposal_id=p[0])
    t1 = s.get_document(d1)["text"]
    s.record_decision(d1, "amy", "add", start=1, end=3, label="LOC", text=t1[1:3])
    return s, d0, d1, p


def test_annotations_jsonl_prodigy_lines(annotated, db_path, tmp_path):
    s, d0, d1, p = annotated
    out = tmp_path / "a.jsonl"
    run(db_path, "export", "annotations", "-o", str(out))
    lines = read_jsonl(out)
    got = [(r["id"], r["_annotator_id"], r["spans"][0]["start"], r["answer"], r["status"]) for r in lines]
    assert got == [
        (d0, "amy", 0, "reject", "rejected"),
        (d0, "bob", 0, "accept", "accepted"),
        (d0, "bob", 3, "reject", "rejected"),
        (d0, "bob", 6, "accept", "edited"),
        (d0, "bob", 20, "accept", "added"),
        (d1, "amy", 1, "accept", "added"),  # unfinished documents count in jsonl
    ]
    for r in lines:
        (sp,) = r["spans"]
        assert r["text"][sp["start"] : sp["end"]] == sp["text"]
        assert r["_task_hash"] == task_hash(r["_input_hash"], sp["start"], sp["end"], sp["label"])
        assert r["_input_hash"] == input_hash(r["text"])
        assert r["_session_id"] == f"report-v1-{r['_annotator_id']}"
        assert isinstance(r["_timestamp"], int)
    edited = lines[3]
    assert edited["spans"][0]["end"] == 9 and edited["source"] == "rules"
    assert lines[4]["spans"][0]["attrs"] == {"value": 1.0, "unit": "个", "approx": None}
    ts = s.scalar("SELECT ts FROM decisions WHERE action = 'add' AND annotator = 'bob'")
    assert lines[4]["_timestamp"] == int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())


def test_annotations_filter_and_document_formats(annotated, db_path, tmp_path):
    s, d0, d1, p = annotated
    out = tmp_path / "amy.jsonl"
    run(db_path, "export", "annotations", "--annotator", "amy", "-o", str(out))
    assert {r["_annotator_id"] for r in read_jsonl(out)} == {"amy"}
    out = tmp_path / "all.doccano"
    run(db_path, "export", "annotations", "--format", "doccano", "-o", str(out))
    recs = read_jsonl(out)
    # only finished documents by default: bob's d0 (amy finished nothing)
    assert [(r["id"], r["_annotator_id"]) for r in recs] == [(d0, "bob")]
    assert recs[0]["label"] == [[0, 2, "ORG"], [6, 9, "PERSON"], [20, 24, "QUANTITY"]]
    run(db_path, "export", "annotations", "--format", "doccano", "--include-unfinished", "-o", str(out))
    assert [(r["id"], r["_annotator_id"]) for r in read_jsonl(out)] == [(d0, "amy"), (d0, "bob"), (d1, "amy")]
    out = tmp_path / "fin.jsonl"
    run(db_path, "export", "annotations", "--finished-only", "-o", str(out))
    assert {r["_annotator_id"] for r in read_jsonl(out)} == {"bob"}


def test_annotations_unknown_annotator(annotated, db_path, tmp_path):
    res = run(db_path, "export", "annotations", "--annotator", "nobody", "-o", str(tmp_path / "x"), ok=False)
    assert res.exit_code == 1 and "nobody" in res.output and "amy" in res.output


def test_rejected_duplicate_of_an_accepted_span_is_not_a_negative(corpus_store, db_path, tmp_path):
    s = corpus_store
    d0 = s.document_ids()[0]
    t = s.get_document(d0)["text"]
    s.replace_proposals(d0, "rules", "v1", [{"start": 0, "end": 2, "label": "ORG", "text": t[:2]}])
    s.replace_proposals(d0, "model", "v1", [{"start": 0, "end": 2, "label": "ORG", "text": t[:2]}])
    a, b = [x["id"] for x in s.proposals(d0)]
    s.record_decision(d0, "bob", "accept", proposal_id=a, start=0, end=2, label="ORG", text=t[:2])
    s.record_decision(d0, "bob", "reject", proposal_id=b)
    out = tmp_path / "a.jsonl"
    run(db_path, "export", "annotations", "-o", str(out))
    assert [r["answer"] for r in read_jsonl(out)] == ["accept"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list("统战ab。 \n\t\xa0\u3000\x1c\x85\u2028")), max_size=30).map("".join))
def test_char_words_is_spacys_char_segmenter(text):
    pytest.importorskip("spacy")
    from workbench.formats.spacy import blank_zh, char_words

    nlp = _NLP.setdefault("nlp", blank_zh())
    doc = nlp.make_doc(text)
    assert char_words(text) == ([t.text for t in doc], [bool(t.whitespace_) for t in doc])


_NLP: dict = {}


def test_char_words_on_the_seeds(gold_docs):
    pytest.importorskip("spacy")
    from workbench.formats.spacy import blank_zh, char_words

    nlp = blank_zh()
    for d in gold_docs.values():
        doc = nlp.make_doc(d["text"])
        assert char_words(d["text"]) == ([t.text for t in doc], [bool(t.whitespace_) for t in doc])


def test_spacy_shards_into_a_folder(gold_store, gold_docs, db_path, tmp_path, monkeypatch):
    spacy = pytest.importorskip("spacy")
    from spacy.tokens import DocBin

    from workbench.formats.docbin import SpacyWriter

    monkeypatch.setattr(SpacyWriter, "SHARD_DOCS", 2)
    folder = tmp_path / "train"
    res = run(db_path, "export", "gold", "--format", "spacy", "-o", f"{folder}/")
    assert "3 shards" in res.stderr
    nlp = spacy.blank("zh")

    def load():
        docs = []
        for f in sorted(folder.glob("*.spacy")):
            docs += list(DocBin().from_disk(f).get_docs(nlp.vocab))
        return docs

    docs = load()
    assert [d.user_data["id"] for d in docs] == gold_store.document_ids()
    assert sum(len(d.ents) for d in docs) == sum(len(g["spans"]) for g in gold_docs.values())
    monkeypatch.setattr(SpacyWriter, "SHARD_DOCS", 1000)
    run(db_path, "export", "gold", "--format", "spacy", "-o", str(folder))  # an existing folder
    assert sorted(p.name for p in folder.iterdir()) == ["gold-00000.spacy"]  # stale shards gone
    assert [d.user_data["id"] for d in load()] == gold_store.document_ids()
    res = run(db_path, "export", "gold", "--format", "jsonl", "-o", str(folder), ok=False)
    assert res.exit_code == 1 and "folder" in res.output


def test_decision_lines_equal_the_records(annotated):
    from workbench.export import decision_lines, decision_records, iter_annotation_states
    from workbench.formats.jsonl import dumps

    n = 0
    for doc, ann, items, _, raw in iter_annotation_states(annotated[0]):
        recs = [dumps(r) for r in decision_records(doc, ann, [dict(i) for i in items], raw)]
        assert list(decision_lines(doc, ann, items, raw)) == recs
        n += len(recs)
    assert n == 6


def test_annotations_raw_offsets_and_determinism(annotated, db_path, tmp_path):
    s, d0, d1, p = annotated
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run(db_path, "export", "annotations", "--raw-offsets", "-o", str(a))
    run(db_path, "export", "annotations", "--raw-offsets", "-o", str(b))
    assert a.read_bytes() == b.read_bytes()
    for r in read_jsonl(a):
        doc = s.get_document(r["id"], with_raw=True)
        (sp,) = r["spans"]
        m = doc["offset_map"]
        assert (sp["raw_start"], sp["raw_end"]) == (m[sp["start"]], m[sp["end"] - 1] + 1)
        raw_bytes = open(doc["source"], "rb").read()
        assert (
            raw_bytes[sp["raw_byte_start"] : sp["raw_byte_end"]].decode("utf-8")
            == doc["raw_text"][sp["raw_start"] : sp["raw_end"]]
        )


# ---------------------------------------------------------------------------- QUANTITY values


def test_float_quantity_values_of_old_versions_are_written_canonically(corpus_store, db_path, tmp_path):
    """Older versions stored integral QUANTITY values as floats (``15000000.0``): gold and
    annotations are exported with the canonical value (``15000000``) in every format."""
    doc_id = corpus_store.document_ids()[0]
    text = corpus_store.get_document(doc_id)["text"]
    old = json.dumps({"value": 15000000.0, "unit": "元", "approx": None}, ensure_ascii=False)
    assert "15000000.0" in old
    span = {"start": 0, "end": 2, "label": "QUANTITY", "text": text[:2], "attrs": json.loads(old)}
    insert_gold(corpus_store, [{"id": doc_id, "spans": [span]}])
    with corpus_store.write() as c:  # an annotation as an old version stored it
        for action, s, attrs in (("add", span, old), ("finish", None, None)):
            c.execute(
                'INSERT INTO decisions (doc_id, annotator, ts, action, start, "end", label, text, attrs, origin)'
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    doc_id,
                    "amy",
                    now_iso(),
                    action,
                    *((s["start"], s["end"], s["label"], s["text"]) if s else (None,) * 4),
                    attrs,
                    "import",
                ),
            )
    for what in ("gold", "annotations"):
        for fmt in ("jsonl", "doccano"):
            out = tmp_path / f"{what}.{fmt}.jsonl"
            run(db_path, "export", what, "--format", fmt, "-o", str(out))
            raw = out.read_text(encoding="utf-8")
            assert '"value": 15000000,' in raw and "15000000.0" not in raw, (what, fmt)
            rec = read_jsonl(out)[0]
            attrs = rec["spans"][0]["attrs"] if fmt == "jsonl" else rec["attrs"][0][2]
            assert type(attrs["value"]) is int and attrs["value"] == 15000000


def test_read_snapshot_sees_one_state_while_others_write(gold_store, gold_docs, db_path):
    """An export reads one snapshot (``store.read_snapshot``): gold removed meanwhile by another
    process is not seen; a nested snapshot is the same one; afterwards the new state shows."""
    from workbench.export import iter_gold_records

    before = gold_store.count_gold_documents()
    first = next(iter(gold_docs))
    other = Store(db_path)
    try:
        with gold_store.read_snapshot():
            ids = [r["id"] for r in iter_gold_records(gold_store)]
            with other.write() as c:
                c.execute("DELETE FROM gold WHERE doc_id = ?", (first,))
            with gold_store.read_snapshot():
                assert gold_store.count_gold_documents() == before == len(ids)
                assert [r["id"] for r in iter_gold_records(gold_store)] == ids
        assert gold_store.count_gold_documents() == before - 1
    finally:
        other.close()
