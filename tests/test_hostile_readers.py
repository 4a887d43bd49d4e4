"""Hostile input to every reader of user files (issue 12, "never a traceback").

Each reader (``ingest`` of JSONL, ``import proposals|annotations`` in every input format,
``evaluate --gold``) must end bad input as ``FILE:LINE: reason`` (or ``FILE: reason`` for a
whole-file problem), exit 1 on the command line, and leave the database as it was.

The first half reproduces the named cases through the command line; the second feeds
arbitrary JSON values (and records that are almost right: the right keys with wrong-typed
values) into the library entry points and checks: accepted, or refused with the reader's
own error and a ``FILE:LINE``-shaped message, never another exception, and the database
unchanged when refused.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from workbench.cli import cli
from workbench.core.labels import LABELS
from workbench.evaluate import GoldFileError, match_gold, read_gold
from workbench.formats.conll import conll_lines
from workbench.importer import ImportFailed, import_annotations, import_proposals
from workbench.ingest import IngestError, ingest_file

_n = itertools.count()


def run(db_path, *args):
    """The command as a user runs it; an exception other than click's own propagates (the test fails)."""
    return CliRunner().invoke(cli, ["--db", db_path, *args], catch_exceptions=False)


def db_dump(store) -> tuple:
    """Row count and largest rowid of every table, and the connection's change counter."""
    tables = [r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    out: list = [store.conn.total_changes]
    for t in tables:
        try:
            row = store.query(f'SELECT count(*) AS n, max(rowid) AS m FROM "{t}"')[0]
            out.append((t, row["n"], row["m"]))
        except sqlite3.OperationalError:  # a WITHOUT ROWID table (the kept counts): all its rows
            out.append((t, tuple(tuple(r) for r in store.conn.execute(f'SELECT * FROM "{t}" ORDER BY 1, 2'))))
    return tuple(out)


SHORT = [
    {"id": "short-1", "text": "北京市政府2024年完成3个项目，投入资金约1.5亿元。"},
    {"id": "short-2", "text": "张三在《条例》发布会上讲话。\n“同心筑梦”活动开展了12场。"},
]


@pytest.fixture
def doc(store, tmp_path):
    """A store holding two short documents; the first one's id and normalized text."""
    res = ingest_file(store, Path(write(tmp_path, SHORT)))
    assert res.added == 2, res.error
    doc_id = store.document_ids()[0]
    return store, doc_id, store.get_document(doc_id)["text"]


def write(tmp_path, lines, suffix=".jsonl") -> str:
    path = tmp_path / f"in{next(_n)}{suffix}"
    with open(path, "wb") as fh:
        for line in lines:
            if isinstance(line, str):
                line = line.encode("utf-8", "surrogatepass")
            elif not isinstance(line, bytes):
                line = json.dumps(line, ensure_ascii=False).encode()
            fh.write(line + b"\n")
    return str(path)


def assert_refused(res, path: str, line: int | None, *words: str) -> None:
    """Exit 1, an ``Error: FILE:LINE: reason`` line holding every word, nothing else odd."""
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    where = f"{path}:{line}: " if line else f"{path}: "
    hits = [ln for ln in res.output.splitlines() if ln.startswith(f"Error: {where}") or ln.startswith(where)]
    assert hits, res.output
    for w in words:
        assert w in hits[0], res.output


# ---------------------------------------------------------------------------- JSON: every JSON reader

DEEP = "[" * 100_000 + "]" * 100_000
BIG = "9" * 5000


def _jsonl_cases(doc_id: str, n: int) -> list[tuple[str, str, str]]:
    """(name, line, a word the reason holds) for a jsonl span line."""
    span = '{"start": 0, "end": 2, "label": "ORG"}'
    return [
        ("deep", DEEP, "nested"),
        ("deep object", '{"id": "x", "spans": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
        ("5000-digit id", f'{{"id": {BIG}, "spans": [{span}]}}', "digits"),
        (
            "5000-digit offset",
            f'{{"id": "{doc_id}", "spans": [{{"start": {BIG}, "end": 2, "label": "ORG"}}]}}',
            "digits",
        ),
        ("5000-digit meta", f'{{"meta": {{"id": "{doc_id}", "n": -{BIG}}}, "spans": [{span}]}}', "digits"),
        (
            "NaN score",
            f'{{"id": "{doc_id}", "spans": [{{"start": 0, "end": 2, "label": "ORG", "score": NaN}}]}}',
            "NaN",
        ),
        ("Infinity", f'{{"id": "{doc_id}", "spans": [{span}], "x": -Infinity}}', "Infinity"),
        ("1e999", f'{{"id": "{doc_id}", "spans": [{span}], "x": 1e999}}', "too large"),
    ]


@pytest.mark.parametrize("kind", ["proposals", "annotations"])
@pytest.mark.parametrize("case", range(8))
def test_import_refuses_hostile_json(doc, db_path, tmp_path, kind, case):
    store, doc_id, text = doc
    name, line, word = _jsonl_cases(doc_id, len(text))[case]
    path = write(tmp_path, [line])
    before = db_dump(store)
    extra = ["--source", "m"] if kind == "proposals" else ["--annotator", "ann"]
    res = run(db_path, "import", kind, path, *extra)
    assert_refused(res, path, 1, word)
    assert db_dump(store) == before, name


@pytest.mark.parametrize("case", range(8))
def test_evaluate_refuses_hostile_json(doc, db_path, tmp_path, case):
    store, doc_id, text = doc
    name, line, word = _jsonl_cases(doc_id, len(text))[case]
    good = json.dumps({"id": doc_id, "spans": []})
    path = write(tmp_path, [good, line])
    before = db_dump(store)
    res = run(db_path, "evaluate", "--source", "gold", "--gold", path)
    assert_refused(res, path, 2, word)
    assert db_dump(store) == before, name


def test_import_messages_keep_values_from_the_file_on_one_line(doc, db_path, tmp_path):
    """An id or annotator name holding a newline must not start a line of its own (it could
    forge a FILE:LINE message); long values are cut."""
    store, doc_id, _ = doc
    forged = "nope\n/tmp/other.jsonl:9: forged"
    path = write(tmp_path, [{"id": forged, "spans": []}])
    res = run(db_path, "import", "proposals", path, "--source", "m")
    assert_refused(res, path, 1, "unknown document id", "\\n")
    assert res.output.splitlines() == [res.output.splitlines()[0], "nothing was imported"]
    other = store.document_ids()[1]
    path = write(
        tmp_path,
        [
            {"id": doc_id, "spans": [], "_annotator_id": "a\n/tmp/other.jsonl:9: forged"},
            {"id": other, "spans": [], "_annotator_id": "c"},
        ],
    )
    res = run(db_path, "import", "annotations", path, "--annotator", "z")
    assert_refused(res, path, None, "several annotators")
    assert len(res.output.splitlines()) == 2, res.output
    path = write(tmp_path, [{"id": ["x" * 10_000], "spans": []}])
    res = run(db_path, "import", "proposals", path, "--source", "m")
    assert_refused(res, path, 1, '"id" must be')
    assert len(res.output) < 500


@pytest.mark.parametrize(
    ("name", "data", "word"),
    [
        ("random.jsonl", bytes(range(256)) * 40, "binary"),
        ("corpus.spacy", b"\x00\x01\x02" * 100, "spaCy"),
        ("utf16.jsonl", '{"id": "x", "spans": []}\n'.encode("utf-16"), "UTF-16"),
    ],
)
def test_binary_files_are_one_problem(doc, db_path, tmp_path, name, data, word):
    """Not text at all: one line saying so, not twenty "not UTF-8" lines."""
    path = str(tmp_path / name)
    with open(path, "wb") as fh:
        fh.write(data)
    res = run(db_path, "import", "proposals", path, "--source", "m")
    assert_refused(res, path, None, word)
    assert len(res.output.splitlines()) == 2, res.output
    res = run(db_path, "evaluate", "--source", "gold", "--gold", path)
    assert_refused(res, path, None, word)
    assert len(res.output.splitlines()) == 1, res.output


# ---------------------------------------------------------------------------- evaluate --gold


def _gold_cases(doc_id: str, text: str) -> list[tuple[str, object, str]]:
    n = len(text)

    def g(**span):
        return {"id": doc_id, "spans": [{"start": 0, "end": 2, "label": "ORG", **span}]}

    return [
        ("list label", g(label=["ORG"]), "label"),
        ("number label", g(label=7), "label"),
        ("empty label", g(label=""), "label"),
        ("negative offset", g(start=-5), "out of range"),
        ("beyond the text", g(end=n + 50), "out of range"),
        (
            "beyond the gold's own text",
            {"id": doc_id, "text": "短", "spans": [{"start": 0, "end": 2, "label": "ORG"}]},
            "out of range",
        ),
        ("bool offset", g(start=True), "integers"),
        ("float offset", g(end=2.0), "integers"),
        ("string offset", g(end="2"), "integers"),
        ("start after end", g(start=5, end=2), "greater"),
        ("missing end", {"id": doc_id, "spans": [{"start": 0, "label": "ORG"}]}, "end"),
        ("missing spans", {"id": doc_id}, "spans"),
        ("missing id", {"spans": []}, "id"),
        ("list id", {"id": [doc_id], "spans": []}, "id"),
        ("spans not a list", {"id": doc_id, "spans": {"start": 0}}, "spans"),
        ("span not an object", {"id": doc_id, "spans": [[0, 2, "ORG"]]}, "span 1"),
        ("text not a string", {"id": doc_id, "text": ["x"], "spans": []}, "text"),
        ("attrs a list", g(label="QUANTITY", attrs=[1, 2]), "attrs"),
        ("span text wrong", g(text="不是这个"), "does not match"),
        ("non-object line", [1, 2], "object"),
        ("a string line", '"just text"', "object"),
        ("duplicate id", None, "duplicate"),
    ]


@pytest.mark.parametrize("case", range(22))
def test_evaluate_refuses_bad_gold_records(doc, db_path, tmp_path, case):
    store, doc_id, text = doc
    name, rec, word = _gold_cases(doc_id, text)[case]
    good = {"id": doc_id, "spans": [{"start": 0, "end": 2, "label": "ORG"}]}
    if rec is None:
        rec = good
    path = write(tmp_path, [good if name == "duplicate id" else {"id": "other", "spans": []}, rec])
    before = db_dump(store)
    res = run(db_path, "evaluate", "--source", "gold", "--gold", path)
    assert_refused(res, path, 2, word)
    assert db_dump(store) == before, name


def test_evaluate_refuses_a_non_utf8_gold_file(doc, db_path, tmp_path):
    store, doc_id, _ = doc
    path = write(tmp_path, [{"id": doc_id, "spans": []}, b'{"id": "\xff\xfe", "spans": []}'])
    res = run(db_path, "evaluate", "--source", "gold", "--gold", path)
    assert_refused(res, path, 2, "UTF-8")


def test_evaluate_refuses_an_empty_or_missing_gold_file(doc, db_path, tmp_path):
    path = write(tmp_path, ["", "  "])
    assert_refused(run(db_path, "evaluate", "--source", "gold", "--gold", path), path, None, "empty")
    missing = str(tmp_path / "nope.jsonl")
    assert_refused(run(db_path, "evaluate", "--source", "gold", "--gold", missing), missing, None, "cannot read")


def test_evaluate_still_scores_a_good_gold_file(doc, db_path, tmp_path):
    store, doc_id, text = doc
    span = {"start": 0, "end": 2, "label": "ORG", "text": text[:2]}
    path = write(tmp_path, ["\ufeff" + json.dumps({"id": doc_id, "text": text, "spans": [span]}), ""])
    store.replace_proposals(doc_id, "rules", "1", [span])
    res = run(db_path, "evaluate", "--source", "proposals", "--gold", path, "--json")
    assert res.exit_code == 0, res.output
    res = json.loads(res.output)["exact"]["micro"]
    assert res["gold"] == 1 and res["f1"] == 1.0


# ---------------------------------------------------------------------------- CoNLL escapes

BAD_ESCAPES = [
    "\\UFFFFFFFF",  # beyond any code point (was OverflowError)
    "\\U00110000",  # one past U+10FFFF
    "\\U-0000041",  # a sign is not hex
    "\\u+041",
    "\\u_0_4",  # int() takes underscores
    "\\u 41 ",  # and spaces
    "\\ud800",  # a lone surrogate is no character of UTF-8 text
    "\\U0000DFFF",
    "\\x41",
    "\\u12",
]


@pytest.mark.parametrize("token", BAD_ESCAPES)
def test_conll_refuses_malformed_escapes(doc, db_path, tmp_path, token):
    store, doc_id, text = doc
    lines = [f"# id = {doc_id}"] + [f"{c}\tO" for c in text[:3]] + [f"{token}\tO"]
    path = write(tmp_path, lines, suffix=".conll")
    before = db_dump(store)
    res = run(db_path, "import", "annotations", path, "--annotator", "ann")
    assert_refused(res, path, 5, "escape")
    assert db_dump(store) == before


def test_conll_reports_the_line_of_bad_utf8(doc, db_path, tmp_path):
    store, doc_id, text = doc
    path = write(tmp_path, [f"# id = {doc_id}", f"{text[0]}\tO", b"\xff\tO"], suffix=".conll")
    res = run(db_path, "import", "annotations", path, "--annotator", "ann")
    assert_refused(res, path, 3, "UTF-8")


# ---------------------------------------------------------------------------- doccano records


def _doccano_cases(doc_id: str, text: str) -> list[tuple[str, dict, str]]:
    n = len(text)

    def d(**kw):
        return {"id": doc_id, "text": text, "label": [[0, 2, "ORG"]], **kw}

    return [
        ("attrs with list offsets", d(attrs=[[[0], [2], {"x": 1}]]), "attrs"),
        ("attrs with object offsets", d(attrs=[[{}, 2, {"x": 1}]]), "attrs"),
        ("attrs with bool offsets", d(label=[[1, 2, "ORG"]], attrs=[[True, 2, {"x": 1}]]), "attrs"),
        ("attrs with float offsets", d(attrs=[[0.0, 2.0, {"x": 1}]]), "attrs"),
        ("attrs of no span", d(attrs=[[3, 5, {"x": 1}]]), "no span"),
        ("attrs not an object", d(attrs=[[0, 2, [1]]]), "attrs"),
        ("attrs twice", d(attrs=[[0, 2, {"x": 1}], [0, 2, {"x": 2}]]), "attrs"),
        ("attrs not a list", d(attrs={"0": 1}), "attrs"),
        ("label as list", d(label=[[0, 2, ["ORG"]]]), "label"),
        ("offsets as strings", d(label=[["0", "2", "ORG"]]), "integers"),
        ("offsets as floats", d(label=[[0.0, 2.0, "ORG"]]), "integers"),
        ("offsets as bools", d(label=[[False, True, "ORG"]]), "integers"),
        ("negative offset", d(label=[[-1, 2, "ORG"]]), "out of range"),
        ("start after end", d(label=[[4, 2, "ORG"]]), "greater"),
        ("beyond the text", d(label=[[0, n + 1, "ORG"]]), "out of range"),
        (
            "entity offsets as strings",
            d(label=None, entities=[{"start_offset": "0", "end_offset": 2, "label": "ORG"}]),
            "integers",
        ),
        (
            "entity label as list",
            d(label=None, entities=[{"start_offset": 0, "end_offset": 2, "label": ["ORG"]}]),
            "label",
        ),
        ("entity not an object", d(label=None, entities=[[0, 2, "ORG"]]), "entity 1"),
        ("QUANTITY approx a list", d(label=[[0, 2, "QUANTITY"]], attrs=[[0, 2, {"approx": ["about"]}]]), "approx"),
    ]


@pytest.mark.parametrize("kind", ["proposals", "annotations"])
@pytest.mark.parametrize("case", range(19))
def test_doccano_refuses_wrong_types(doc, db_path, tmp_path, kind, case):
    store, doc_id, text = doc
    name, rec, word = _doccano_cases(doc_id, text)[case]
    if rec.get("label") is None:
        rec.pop("label", None)
    path = write(tmp_path, [rec])
    before = db_dump(store)
    extra = ["--source", "m"] if kind == "proposals" else ["--annotator", "ann"]
    res = run(db_path, "import", kind, path, "--format", "doccano", *extra)
    assert_refused(res, path, 1, word)
    assert db_dump(store) == before, name


def test_doccano_attrs_still_reach_their_span(doc, db_path, tmp_path):
    store, doc_id, text = doc
    rec = {"id": doc_id, "text": text, "label": [[0, 2, "ORG"], [3, 5, "LOC"]], "attrs": [[3, 5, {"x": 1}]]}
    path = write(tmp_path, [rec])
    res = run(db_path, "import", "proposals", path, "--source", "m")
    assert res.exit_code == 0, res.output
    got = {(p["start"], p["end"]): p["attrs"] for p in store.proposals(doc_id, source="m")}
    assert got == {(0, 2): None, (3, 5): {"x": 1}}


# ---------------------------------------------------------------------------- property-based

PROPS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

KEYS = [
    "id", "text", "spans", "start", "end", "label", "attrs", "score", "meta", "answer", "entities",
    "start_offset", "end_offset", "_input_hash", "_annotator_id", "value", "unit", "approx", "_format",
]  # fmt: skip


def _json_values(ints, floats, leaves: int = 16):
    scalars = st.none() | st.booleans() | ints | floats | st.text(max_size=8) | st.sampled_from(LABELS)
    return st.recursive(
        scalars,
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), c, max_size=4),
        max_leaves=leaves,
    )


ANY_INT = st.integers(-(2**70), 2**70)
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
# any JSON value, with NaN/Infinity and integers beyond 64 bits (json.dumps(allow_nan=True) writes them)
json_values = _json_values(ANY_INT, ANY_FLOAT)
# a small one, for a value of the wrong type in a record
wrong_values = _json_values(ANY_INT, ANY_FLOAT, leaves=3)
# what any JSON tool would write
plain_json_values = _json_values(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False))
# raw lines no json.dumps makes: deep, huge integers, bad UTF-8, lone surrogates, broken JSON
raw_lines = st.sampled_from(
    [
        DEEP,
        "{" * 5000 + "}",
        f'{{"id": {BIG}}}',
        f'{{"spans": [{{"start": -{BIG}, "end": 1, "label": "ORG"}}]}}',
        '{"id": "x", "spans": [], "text": "\\ud800"}',
        '{"id": 1e400, "spans": []}',
        b'{"id": "\xc3\x28", "spans": []}',
        b"\xef\xbb\xbf{}",
        '{"id": "x", "spans": [',
        "\x00",
        "NaN",
        "-Infinity",
    ]
)


@st.composite
def wrong(draw, ok):
    """``ok``, or (one time in six) a small JSON value of any type in its place."""
    return draw(wrong_values) if draw(st.integers(0, 5)) == 0 else draw(ok)


@st.composite
def offsets(draw, n: int):
    s = draw(wrong(st.integers(-2, n + 2)))
    near = st.integers(s - 1, s + 6) if is_int_(s) else st.integers(-2, n + 2)
    e = draw(wrong(near))
    return s, e


def is_int_(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


quantity_attrs = st.fixed_dictionaries(
    {},
    optional={
        "value": wrong(st.integers(0, 100)),
        "unit": wrong(st.just("个")),
        "approx": wrong(st.sampled_from([None, "about"])),
    },
)


def attrs_():
    return st.one_of(st.none(), quantity_attrs, wrong_values)


def doc_ids(texts: dict[str, str]):
    """A document id, the two shortest documents more often than the others."""
    short = sorted(texts, key=lambda i: len(texts[i]))[:2]
    return st.sampled_from(short + short + sorted(texts))


def maybe(d: dict, draw, key: str, strat) -> None:
    if draw(st.booleans()):
        d[key] = draw(strat)


@st.composite
def almost_right(draw, fmt: str, texts: dict[str, str]):
    """A record of ``fmt`` with the right keys, some holding wrong-typed values."""
    doc_id = draw(doc_ids(texts))
    text = texts[doc_id]
    n = len(text)
    label = wrong(st.sampled_from(LABELS))
    if fmt == "ingest":
        rec = {"id": draw(wrong(st.text(min_size=1, max_size=8))), "text": draw(wrong(st.text(max_size=20)))}
        maybe(rec, draw, "meta", wrong(st.dictionaries(st.text(max_size=4), wrong_values, max_size=3)))
        return rec
    if fmt == "conll":
        raise AssertionError("conll lines come from conll_files")
    spans: list = []
    pos: list = []
    for _ in range(draw(st.integers(0, 3))):
        s, e = draw(offsets(n))
        pos.append((s, e))
        if fmt == "doccano":
            spans.append(draw(wrong(st.just([s, e, draw(label)]))))
        else:
            sp: dict = {"start": s, "end": e, "label": draw(label)}
            maybe(sp, draw, "text", wrong(st.just(text[s:e] if is_int_(s) and is_int_(e) else "")))
            maybe(sp, draw, "attrs", attrs_())
            maybe(sp, draw, "score", wrong(st.floats(0, 1)))
            spans.append(draw(wrong(st.just(sp))))
    rec = {"id": draw(wrong(st.just(doc_id)))}
    if fmt in ("doccano", "prodigy", "gold"):
        maybe(rec, draw, "text", wrong(st.just(text)))
    if fmt == "doccano":
        rec["label"] = draw(wrong(st.just(spans)))
        if draw(st.booleans()):
            s, e = draw(st.sampled_from(pos)) if pos and draw(st.booleans()) else draw(offsets(n))
            rec["attrs"] = draw(wrong(st.just([draw(wrong(st.just([s, e, draw(wrong(quantity_attrs))])))])))
        if draw(st.booleans()):
            s, e = draw(offsets(n))
            ent = {"start_offset": s, "end_offset": e, "label": draw(label)}
            rec["entities"] = draw(wrong(st.just([draw(wrong(st.just(ent)))])))
    else:
        rec["spans"] = draw(wrong(st.just(spans)))
    if fmt == "prodigy":
        rec["answer"] = draw(wrong(st.sampled_from(["accept", "reject", "ignore"])))
        rec["_input_hash"] = draw(wrong(st.integers(-(2**31), 2**31)))
        maybe(rec, draw, "_annotator_id", wrong(st.just("a")))
        maybe(rec, draw, "meta", wrong(st.just({"id": doc_id})))
    return rec


@st.composite
def jsonl_files(draw, fmt: str, texts: dict[str, str]) -> list:
    """1-2 lines: any JSON value, an almost-right record (most often), or a raw hostile line."""
    out = []
    for _ in range(draw(st.integers(1, 2))):
        pick = draw(st.sampled_from(["any", "almost", "almost", "almost", "almost", "raw"]))
        if pick == "any":
            out.append(json.dumps(draw(json_values), allow_nan=True))
        elif pick == "almost":
            out.append(json.dumps(draw(almost_right(fmt, texts)), allow_nan=True, ensure_ascii=draw(st.booleans())))
        else:
            out.append(draw(raw_lines))
    return out


@st.composite
def conll_files(draw, texts: dict[str, str]) -> list:
    """A document as ``export --format conll`` writes it, with 0-3 lines made wrong (a bad
    token or escape, a bad tag, a line of anything, another id), or just lines of anything."""
    doc_id = draw(doc_ids(texts))
    text = texts[doc_id]
    tag = st.one_of(
        st.just("O"),
        st.sampled_from(LABELS).map(lambda lab: "B-" + lab),
        st.sampled_from(LABELS).map(lambda lab: "I-" + lab),
        st.text(max_size=6),
    )
    hexes = st.text("0123456789abcdefABCDEF+-_ xg", min_size=0, max_size=9)
    token = st.one_of(
        st.sampled_from(text[:20] or "x"),
        st.sampled_from(["\\s", "\\n", "\\t", "\\r", "\\\\", "\\", ""]),
        hexes.map(lambda h: "\\u" + h),
        hexes.map(lambda h: "\\U" + h),
        st.text(max_size=3),
    )
    anything = st.one_of(st.text(max_size=10), st.sampled_from(["", "# id = x", "-DOCSTART- -X- O O", b"\xff\tO"]))
    if draw(st.integers(0, 4)) == 0:
        return draw(st.lists(anything, max_size=6))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=6)))
    spans = [{"start": a, "end": b, "label": draw(st.sampled_from(LABELS))} for a, b in zip(cuts[::2], cuts[1::2])]
    lines: list = "\n".join(conll_lines({"id": doc_id, "text": text, "spans": spans})).split("\n")
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["token", "tag", "line", "id"]))
        if how == "id":
            lines[0] = f"# id = {draw(st.text(max_size=6))}"
        elif how == "line":
            lines[i] = draw(anything)
        else:
            old_tok, _, old_tag = str(lines[i]).partition("\t")
            sep = draw(st.sampled_from(["\t", " ", "\t\t"]))
            lines[i] = (draw(token) + sep + old_tag) if how == "token" else (old_tok + sep + draw(tag))
    return lines


SHAPE = r"(:\d+)?: \S"


def assert_shaped(path: str, messages: list[str]) -> None:
    assert messages
    for m in messages:
        assert re.match(re.escape(path) + SHAPE, m), m
        assert "\n" not in m, m


class Texts(dict):
    """Document id -> text, with a short repr (hypothesis prints the strategies' arguments)."""

    def __repr__(self) -> str:
        return f"<texts of {len(self)} documents>"


@pytest.fixture
def texts(corpus_store, tmp_path):
    """The corpus store with two short documents more (short files are fast to read and
    write, and random spans over them are often right) and every document's text."""
    short = write(tmp_path, SHORT)
    assert ingest_file(corpus_store, Path(short)).added == 2
    ids = corpus_store.document_ids()
    return corpus_store, Texts({i: corpus_store.get_document(i)["text"] for i in ids})


def _import(store, path: str, fmt: str, kind: str) -> None:
    before = db_dump(store)
    try:
        if kind == "proposals":
            import_proposals(store, path, source="fuzz", fmt=fmt)
        else:
            import_annotations(store, path, annotator="fuzz", fmt=fmt, replace=True)
    except ImportFailed as e:
        event("refused")
        assert_shaped(path, e.errors)
        assert db_dump(store) == before
    else:
        event("accepted")


@pytest.mark.parametrize("fmt", ["auto", "jsonl", "prodigy", "doccano"])
@PROPS
@given(data=st.data())
def test_import_takes_any_json(texts, tmp_path, fmt, data):
    store, tx = texts
    lines = data.draw(jsonl_files("jsonl" if fmt == "auto" else fmt, tx))
    path = write(tmp_path, lines)
    _import(store, path, fmt, data.draw(st.sampled_from(["proposals", "annotations"])))


@PROPS
@given(data=st.data())
def test_import_takes_any_conll(texts, tmp_path, data):
    store, tx = texts
    path = write(tmp_path, data.draw(conll_files(tx)), suffix=".conll")
    _import(
        store,
        path,
        data.draw(st.sampled_from(["auto", "conll"])),
        data.draw(st.sampled_from(["proposals", "annotations"])),
    )


@PROPS
@given(data=st.data())
def test_evaluate_gold_takes_any_json(texts, tmp_path, data):
    store, tx = texts
    path = write(tmp_path, data.draw(jsonl_files("gold", tx)))
    before = db_dump(store)

    def text_of(doc_id: str) -> str | None:
        d = store.get_document(doc_id)
        return d["text"] if d else None

    try:
        match_gold(read_gold(path), text_of)
    except GoldFileError as e:
        event("refused")
        assert_shaped(path, e.errors)
    else:
        event("accepted")
    assert db_dump(store) == before


def _ingest_takes_any_json(store, tmp_path, lines, *, must_refuse: bool = False) -> None:
    path = write(tmp_path, lines)
    before = db_dump(store)
    res = ingest_file(store, Path(path))
    event("accepted" if res.error is None else "refused")
    if res.error is not None:
        assert isinstance(res.error, IngestError)
        assert_shaped(path, [str(res.error)])
        assert db_dump(store) == before
        return
    assert not must_refuse, f"accepted a line no other tool reads: {lines[0][:80]!r}"
    for doc in store.iter_documents():  # what was stored is valid JSON for any other reader
        json.dumps(doc["meta"], allow_nan=False)


@PROPS
@given(data=st.data())
def test_ingest_takes_any_json_value(texts, tmp_path, data):
    store, tx = texts
    recs = [data.draw(st.one_of(plain_json_values, almost_right("ingest", tx))) for _ in range(2)]
    try:
        lines = [json.dumps(r, allow_nan=False) for r in recs]
    except ValueError:  # NaN: the hostile case below
        assume(False)
    _ingest_takes_any_json(store, tmp_path, lines)


@PROPS
@given(data=st.data())
def test_ingest_takes_hostile_json(texts, tmp_path, data):
    """NaN/Infinity, deep nesting, huge integers, bad UTF-8 (ingest parses with core.jsonline
    since the bulk-writer work; it was json.loads: RecursionError, ValueError, NaN stored)."""
    store, tx = texts
    if data.draw(st.booleans()):
        _ingest_takes_any_json(store, tmp_path, [data.draw(raw_lines)], must_refuse=True)
        return
    value = data.draw(json_values)
    try:
        json.dumps(value, allow_nan=False)
        hostile = False
    except ValueError:
        hostile = True  # NaN or Infinity somewhere in it
    line = json.dumps({"id": "h", "text": "正文。", "meta": {"v": value}}, allow_nan=True)
    _ingest_takes_any_json(store, tmp_path, [line], must_refuse=hostile)
