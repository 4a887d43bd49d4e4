"""``workbench train --extra FILE`` (issue 15, optional part): a general-domain NER corpus the
user holds (character per line with BIO / BMES tags, or JSONL spans) as more training data,
read strictly: every problem is ``FILE:LINE: reason``, exit 1, nothing trained.

The corpora here are made up, a few lines each (we hold no real external corpus)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_retrain import _db, finish

from workbench.cli import cli
from workbench.propose.extra import ExtraError, map_label, read_extra
from workbench.store import Store


def chars(*sentences: list[tuple[str, str]]) -> str:
    return "\n\n".join("\n".join(f"{c}\t{t}" for c, t in s) for s in sentences) + "\n"


def tagged(text: str, spans: dict[str, tuple[str, str]], scheme: str = "BMES") -> list[tuple[str, str]]:
    """``text`` tagged: ``spans`` maps a substring to (label, scheme)."""
    tags = ["O"] * len(text)
    for sub, label in spans.items():
        i = text.index(sub)
        n = len(sub)
        if scheme == "BMES":
            seq = ["S"] if n == 1 else ["B"] + ["M"] * (n - 2) + ["E"]
        else:
            seq = ["B"] + ["I"] * (n - 1)
        for k, p in enumerate(seq):
            tags[i + k] = f"{p}-{label}"
    return list(zip(text, tags))


def test_bmes_is_read_labels_mapped_others_left_out_and_the_rest_from_the_rules(tmp_path):
    f = tmp_path / "news.bmes"
    s1 = "2020年，陈立新到访河西市。"
    s2 = "华光公司在江北设厂。"
    f.write_text(
        "-DOCSTART-\n"
        + chars(
            tagged(s1, {"陈立新": "NR", "河西市": "NS"}),
            tagged(s2, {"华光公司": "ORG", "江北": "PRODUCT"}),
        ),
        encoding="utf-8",
    )
    docs, fig = read_extra(f)
    assert [d["text"] for d in docs] == [s1, s2]
    got = {(s["text"], s["label"]) for d in docs for s in d["spans"]}
    assert {("陈立新", "PERSON"), ("河西市", "LOC"), ("华光公司", "ORG")} <= got
    assert ("2020年", "DATE") in got  # DATE is not in the corpus: the rules' spans
    assert not any(t == "江北" for t, _ in got) and fig["left_out"] == {"PRODUCT": 1}
    assert fig["spans"] == {"PERSON": 1, "ORG": 1, "LOC": 1} and "DATE" in fig["filled_from_rules"]
    assert map_label("per.nam") == "PERSON" and map_label("weird") is None


def test_bio_and_jsonl_read_alike(tmp_path):
    s = "周明到访北岭县。"
    bio = tmp_path / "a.bio"
    bio.write_text(chars(tagged(s, {"周明": "PER", "北岭县": "LOC"}, "BIO")).replace("\t", " "), encoding="utf-8")
    js = tmp_path / "a.jsonl"
    js.write_text(
        json.dumps(
            {"text": s, "spans": [{"start": 0, "end": 2, "label": "PER"}, {"start": 4, "end": 7, "label": "LOC"}]}
        )
        + "\n",
        encoding="utf-8",
    )
    a, _ = read_extra(bio)
    b, _ = read_extra(js)
    key = lambda docs: [(x["start"], x["end"], x["label"]) for x in docs[0]["spans"]]
    assert key(a) == key(b) == [(0, 2, "PERSON"), (4, 7, "LOC")]


@pytest.mark.parametrize(
    "content, line, reason",
    [
        ("周\tB-PER\n明明\tE-PER\n", 2, "expected one character per line"),
        ("周\tB-PER\n明\tX-PER\n", 2, "bad tag 'X-PER'"),
        ("周\tB-PER\n明\n", 2, "expected CHAR<TAB>TAG"),
        ('{"text": "周明", "spans": [{"start": 1, "end": 9, "label": "PER"}]}\n', 1, "out of range"),
        ('{"text": "周明"}\n[1]\n', 2, "expected a JSON object"),
    ],
)
def test_bad_input_is_file_line_reason(tmp_path, content, line, reason):
    f = tmp_path / ("bad.jsonl" if content.startswith(("{", "[")) else "bad.bio")
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ExtraError) as e:
        read_extra(f)
    assert e.value.lines[0].startswith(f"{f}:{line}: ") and reason in e.value.lines[0], e.value.lines


def test_not_utf8_and_no_mappable_label(tmp_path):
    f = tmp_path / "gbk.bio"
    f.write_bytes("周\tB-PER\n".encode() + "明\tI-PER\n".encode("gb18030"))
    with pytest.raises(ExtraError, match=r"gbk.bio:2: not UTF-8"):
        read_extra(f)
    g = tmp_path / "odd.bio"
    g.write_text(chars(tagged("红旗牌", {"红旗": "BRAND"})), encoding="utf-8")
    with pytest.raises(ExtraError, match="no span of a label we can map"):
        read_extra(g)


@pytest.fixture
def db(tmp_path) -> str:
    path = _db(tmp_path)
    with Store(path, create=False) as s:
        for d in ("t0", "t1", "t2"):
            finish(s, d)
    return path


def test_train_extra_refuses_bad_input_and_leaves_the_database_unchanged(db, tmp_path):
    bad = tmp_path / "bad.bio"
    bad.write_text("周\tB-PER\n明明\tE-PER\n周\tQ\n", encoding="utf-8")
    digest = hashlib.sha256(Path(db).read_bytes()).hexdigest()
    r = CliRunner().invoke(cli, ["--db", db, "train", "--with-annotations", "--extra", str(bad)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert lines == [
        f"{bad}:2: expected one character per line (a character-level corpus), got '明明'",
        f"Error: {bad}:3: bad tag 'Q' (expected O or B-/I-/M-/E-/S-/L-/U-LABEL)",
    ]
    assert hashlib.sha256(Path(db).read_bytes()).hexdigest() == digest


def test_train_extra_trains_on_both_and_records_it(db, tmp_path):
    f = tmp_path / "news.bmes"
    f.write_text(chars(tagged("冯立到访南河县。", {"冯立": "PER", "南河县": "LOC"})), encoding="utf-8")
    r = CliRunner().invoke(cli, ["--db", db, "train", "--with-annotations", "--extra", str(f)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "plus 1 extra sentences or documents (news.bmes)" in r.output
    with Store(db, create=False) as s:
        row = s.latest_model("crf")
        assert row["documents"][:3] == ["t0@alice", "t1@alice", "t2@alice"] and len(row["documents"]) == 4
        assert row["figures"]["extra"][0]["spans"] == {"PERSON": 1, "LOC": 1}


def test_without_gold_train_says_so_before_reading_the_extra_corpus(tmp_path, monkeypatch):
    """Reading an extra corpus runs the rules over all of it: with nothing to train on, say so
    first instead of reading (and failing after) the whole file."""
    import workbench.cli.train as cli_train

    path = _db(tmp_path)  # documents, nobody finished any
    f = tmp_path / "extra.bio"
    f.write_text("周\tB-PER\n明\tI-PER\n", encoding="utf-8")
    read: list[object] = []
    monkeypatch.setattr(cli_train, "_read_extra", lambda files: read.append(files) or ([], {}))
    r = CliRunner().invoke(cli, ["--db", path, "train", "--with-annotations", "--extra", str(f)])
    assert r.exit_code == 1 and "no gold to train on" in r.output and "Traceback" not in r.output
    assert read == []
