"""Fuzzing ``workbench import proposals|annotations`` with bad input.

Valid files of random spans over the bundled reports are imported exactly; a
file with one corrupted span or line (offsets out of range, negative or
reversed, non-integer offsets, unknown or non-string labels, overlapping spans
in annotations, wrong span text, bad QUANTITY attrs, lone surrogates, malformed
JSON, unknown documents) is refused with ``FILE:LINE: reason`` naming the
corrupted line, and the database is byte-for-byte unchanged. Random bytes are
refused cleanly too. Never a traceback.
"""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_ingest import snapshot

from workbench.cli import cli
from workbench.core.labels import LABELS
from workbench.importer import ImportFailed, import_annotations, import_proposals

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
_n = itertools.count()


@pytest.fixture
def texts(corpus_store):
    ids = corpus_store.document_ids()
    return corpus_store, {i: corpus_store.get_document(i)["text"] for i in ids}


@st.composite
def doc_spans(draw, texts: dict[str, str], n_docs: int | None = None):
    """Lines ``{"id", "spans"}`` for distinct documents with flat random spans."""
    ids = sorted(texts)
    chosen = draw(st.lists(st.sampled_from(ids), min_size=n_docs or 1, max_size=n_docs or len(ids), unique=True))
    lines = []
    for doc_id in chosen:
        n = len(texts[doc_id])
        cuts = sorted(draw(st.sets(st.integers(0, n), min_size=2, max_size=12)))
        spans = []
        for s, e in zip(cuts[::2], cuts[1::2]):
            label = draw(st.sampled_from(LABELS))
            sp = {"start": s, "end": e, "label": label}
            if draw(st.booleans()):
                sp["text"] = texts[doc_id][s:e]
            if label == "QUANTITY" and draw(st.booleans()):
                sp["attrs"] = {
                    "value": draw(st.integers(0, 10**6)),
                    "unit": "个",
                    "approx": draw(st.sampled_from([None, "more", "about", "nearly"])),
                }
            spans.append(sp)
        lines.append({"id": doc_id, "spans": spans})
    return lines


def write(tmp_path, lines: list) -> str:
    path = tmp_path / f"in{next(_n)}.jsonl"
    with open(path, "wb") as fh:
        for line in lines:
            fh.write(line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode())
            fh.write(b"\n")
    return str(path)


def key(s):
    return (s["start"], s["end"], s["label"])


# ---------------------------------------------------------------------------- valid files


@FUZZ
@given(data=st.data())
def test_valid_random_spans_are_imported_exactly(texts, tmp_path, data):
    store, tx = texts
    lines = data.draw(doc_spans(tx))
    path = write(tmp_path, lines)
    src, ann = f"model{next(_n)}", f"ann{next(_n)}"
    res = import_proposals(store, path, source=src)
    assert res.documents == len(lines)
    res = import_annotations(store, path, annotator=ann)
    assert res.documents == len(lines)
    for line in lines:
        want = sorted(key(s) for s in line["spans"])
        got = store.proposals(line["id"], source=src)
        assert sorted(key(p) for p in got) == want
        assert all(p["text"] == tx[line["id"]][p["start"] : p["end"]] for p in got)
        assert sorted(key(s) for s in store.annotator_spans(line["id"], ann)) == want
        assert store.is_finished(line["id"], ann)
    # the same file again changes nothing
    before = snapshot(store)
    assert import_annotations(store, path, annotator=ann).decisions == 0
    assert import_proposals(store, path, source=src).documents == 0
    assert snapshot(store) == before


# ---------------------------------------------------------------------------- corrupted files

# name -> (function(span, text, draw) -> new span or None to corrupt the line, reason, applies to)
BOTH, ANNOTATIONS = ("proposals", "annotations"), ("annotations",)


def _corrupt(kind: str, sp: dict, text: str, draw, line: dict):
    n = len(text)
    s, e = sp["start"], sp["end"]
    if kind == "end past the text":
        return dict(sp, end=n + draw(st.integers(1, 10**6)), text=None) | {}, "out of range"
    if kind == "huge offsets":
        return dict(sp, start=s, end=draw(st.integers(2**63, 2**80))), "out of range"
    if kind == "negative start":
        return dict(sp, start=-draw(st.integers(1, 10**6))), "out of range"
    if kind == "end not after start":
        return dict(sp, end=s - draw(st.integers(0, s))), "end must be greater than start"
    if kind == "float offset":
        return dict(sp, start=float(s)), "must be integers"
    if kind == "string offset":
        return dict(sp, end=str(e)), "must be integers"
    if kind == "boolean offset":
        return dict(sp, start=False), "must be integers"
    if kind == "null offset":
        return dict(sp, end=None), "must be integers"
    if kind == "unknown label":
        lab = draw(st.text(min_size=0, max_size=8).filter(lambda x: x not in LABELS))
        return dict(sp, label=lab), "unknown label"
    if kind == "non-string label":
        return dict(
            sp, label=draw(st.one_of(st.integers(), st.none(), st.lists(st.integers(), max_size=2)))
        ), "label must be a string"
    if kind == "span text differs":
        other = text[s:e] + "x"
        return dict(sp, text=other), "does not match the document text"
    if kind == "bad QUANTITY attrs":
        bad, reason = draw(
            st.sampled_from(
                [
                    ({"value": "many"}, "value must be a number"),
                    ({"approx": "roughly"}, "approx must be one of"),
                    ({"unit": 3}, "unit must be a string"),
                    ("3", "attrs must be an object"),
                    ([1], "attrs must be an object"),
                ]
            )
        )
        return dict(sp, label="QUANTITY", attrs=bad), reason
    if kind == "missing key":
        k = draw(st.sampled_from(["start", "end", "label"]))
        return {x: v for x, v in sp.items() if x != k}, f"missing '{k}'"
    if kind == "overlapping span":
        a = draw(st.integers(max(0, s - 5), e - 1))
        b = draw(st.integers(max(a + 1, s + 1), min(n, e + 5)))
        lab = draw(st.sampled_from([x for x in LABELS if x != sp["label"]] if (a, b) == (s, e) else LABELS))
        return [sp, {"start": a, "end": b, "label": lab}], "overlaps"
    raise AssertionError(kind)


SPAN_CORRUPTIONS = {
    "end past the text": BOTH,
    "huge offsets": BOTH,
    "negative start": BOTH,
    "end not after start": BOTH,
    "float offset": BOTH,
    "string offset": BOTH,
    "boolean offset": BOTH,
    "null offset": BOTH,
    "unknown label": BOTH,
    "non-string label": BOTH,
    "span text differs": BOTH,
    "bad QUANTITY attrs": BOTH,
    "missing key": BOTH,
    "overlapping span": ANNOTATIONS,
}
LINE_CORRUPTIONS = {
    "malformed json": (lambda line: json.dumps(line, ensure_ascii=False).encode()[:-1], "malformed JSON"),
    "lone surrogate": (
        lambda line: (
            json.dumps(dict(line, spans=[dict(line["spans"][0], label="ORG\ud800")])).encode()
            if line["spans"]
            else b'{"id": "\\udc00", "spans": []}'
        ),
        "surrogate",
    ),
    "unknown document": (lambda line: json.dumps(dict(line, id=line["id"] + "-nope")).encode(), "unknown document"),
    "invalid utf-8": (lambda line: json.dumps(line, ensure_ascii=False).encode() + b"\xc3", "not UTF-8"),
    "not an object": (lambda line: json.dumps([line]).encode(), "expected a JSON object"),
}


def _assert_refused(store, before, fn, path, line_no, reason):
    with pytest.raises(ImportFailed) as ei:
        fn()
    msg = str(ei.value)
    assert any(err.startswith(f"{path}:{line_no}: ") and reason in err for err in ei.value.errors), msg
    assert msg.endswith("nothing was imported")
    assert snapshot(store) == before, "a refused import changed the database"


@pytest.mark.parametrize("kind", sorted(SPAN_CORRUPTIONS))
@settings(FUZZ, max_examples=10)
@given(data=st.data())
def test_one_corrupted_span_names_its_line_and_imports_nothing(texts, tmp_path, kind, data):
    store, tx = texts
    lines = data.draw(doc_spans(tx).filter(lambda ls: any(line["spans"] for line in ls)))
    candidates = [i for i, line in enumerate(lines) if line["spans"]]
    li = data.draw(st.sampled_from(candidates))
    si = data.draw(st.integers(0, len(lines[li]["spans"]) - 1))
    line = lines[li]
    new, reason = _corrupt(kind, line["spans"][si], tx[line["id"]], data.draw, line)
    spans = list(line["spans"])
    spans[si : si + 1] = (
        new
        if isinstance(new, list)
        else [{k: v for k, v in new.items() if v is not None or k in ("start", "end", "label")}]
    )
    lines[li] = dict(line, spans=spans)
    path = write(tmp_path, lines)
    before = snapshot(store)
    if "annotations" in SPAN_CORRUPTIONS[kind]:
        _assert_refused(store, before, lambda: import_annotations(store, path, annotator="fz"), path, li + 1, reason)
    if "proposals" in SPAN_CORRUPTIONS[kind]:
        _assert_refused(store, before, lambda: import_proposals(store, path, source="fz"), path, li + 1, reason)
    else:  # overlapping proposals are fine
        import_proposals(store, path, source="fz")
        assert store.count("proposals", "source = 'fz'") >= 1


@pytest.mark.parametrize("kind", sorted(LINE_CORRUPTIONS))
@settings(FUZZ, max_examples=8)
@given(data=st.data())
def test_one_corrupted_line_names_it_and_imports_nothing(texts, tmp_path, kind, data):
    store, tx = texts
    lines: list = data.draw(doc_spans(tx))
    li = data.draw(st.integers(0, len(lines) - 1))
    make, reason = LINE_CORRUPTIONS[kind]
    lines[li] = make(lines[li])
    path = write(tmp_path, lines)
    before = snapshot(store)
    _assert_refused(store, before, lambda: import_annotations(store, path, annotator="fz"), path, li + 1, reason)
    _assert_refused(store, before, lambda: import_proposals(store, path, source="fz"), path, li + 1, reason)


@settings(FUZZ, max_examples=30)
@given(
    data=st.binary(max_size=400),
    what=st.sampled_from(["proposals", "annotations"]),
    suffix=st.sampled_from([".jsonl", ".conll"]),
)
def test_random_bytes_are_refused_cleanly_by_the_cli(texts, tmp_path, data, what, suffix):
    store, _ = texts
    before = snapshot(store)
    path = tmp_path / f"r{next(_n)}{suffix}"
    path.write_bytes(data)
    opt = ["--source", "fz"] if what == "proposals" else ["--annotator", "fz"]
    r = CliRunner().invoke(cli, ["--db", store.path, "import", what, str(path), *opt])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code != 0:
        assert r.exit_code == 1 and f"Error: {path}" in r.output and "nothing was imported" in r.output, r.output
        assert snapshot(store) == before
