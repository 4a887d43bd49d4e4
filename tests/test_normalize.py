"""Normalization: the seeds' canonical text, encodings, pinyin glosses, offset map."""

from __future__ import annotations

import codecs

import pytest
from conftest import CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.normalize import DecodeError, decode_bytes, normalize_bytes, normalize_text, raw_byte_offsets


def seed_files():
    return sorted(CORPUS.glob("*.txt"))


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_seed_text_equals_gold(path, gold_docs):
    norm = normalize_bytes(path.read_bytes())
    assert norm.text == gold_docs[path.stem]["text"]


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_gb18030_and_bom_give_same_text(path, gold_docs):
    raw = path.read_bytes().decode("utf-8")
    expected = gold_docs[path.stem]["text"]
    gb = normalize_bytes(raw.encode("gb18030"))
    bom = normalize_bytes(codecs.BOM_UTF8 + raw.encode("utf-8"))
    u16 = normalize_bytes(codecs.BOM_UTF16_LE + raw.encode("utf-16-le"))
    assert (gb.text, gb.encoding) == (expected, "gb18030")
    assert (bom.text, bom.encoding) == (expected, "utf-8-sig")
    assert (u16.text, u16.encoding) == (expected, "utf-16")


def test_encoding_is_detected_and_reported():
    assert decode_bytes("统一战线".encode())[1] == "utf-8"
    assert decode_bytes("统一战线".encode("gb18030"))[1] == "gb18030"
    assert decode_bytes(codecs.BOM_UTF8 + "统一".encode())[1] == "utf-8-sig"


def test_traditional_seed_is_converted(gold_docs):
    norm = normalize_bytes((CORPUS / "001_6532a16337e4d2ef.txt").read_bytes())
    assert "統" not in norm.text and "统一战线" in norm.text
    assert norm.flags["pinyin_removed"] > 300


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("統(tǒng)一戰(zhàn)線", "统一战线"),
        ("學(xué)習(xí)", "学习"),
        ("合（hé）江", "合江"),  # full-width parentheses
        ("統(tǒng)一的(de)戰(zhàn)線", "统一的战线"),  # neutral tone next to toned glosses
    ],
)
def test_pinyin_glosses_removed(raw, expected):
    assert normalize_text(raw).text == expected


@pytest.mark.parametrize(
    "raw",
    [
        "苍岭镇(街)村(社区)",  # real parentheses with CJK inside
        "见附件(a)和附件(b)",  # single Latin letters after CJK, no tone
        "我们的(de)用法",  # toneless syllable with no glossed text around
        "英文(English)缩写",  # a word, not a syllable
        "统战(APP)平台",  # uppercase
        "2023(ǎ)",  # tone mark but not after a CJK character
        "编号(tǒngzhàn)",  # two syllables in one parenthesis: not a per-character gloss
    ],
)
def test_pinyin_false_positive_guards(raw):
    assert normalize_text(raw).text == raw


def test_newlines_normalized_and_mapped():
    raw = "第一行\r\n第二行\r第三行\n"
    n = normalize_text(raw)
    assert n.text == "第一行\n第二行\n第三行\n"
    assert len(n.offset_map) == len(n.text) + 1
    # the \n of a \r\n maps to the \r that stood there
    assert raw[n.offset_map[3]] == "\r"


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_offset_map_round_trip(path):
    from opencc import OpenCC

    cc = OpenCC("t2s")
    norm = normalize_bytes(path.read_bytes())
    omap = norm.offset_map
    assert len(omap) == len(norm.text) + 1 and omap[-1] == len(norm.raw_text)
    for i, ch in enumerate(norm.text):
        src = norm.raw_text[omap[i]]
        # text[i] comes from raw[map[i]]: same char, its t2s conversion, or \n from \r
        assert src == ch or cc.convert(src) == ch or (src == "\r" and ch == "\n"), (i, src, ch)
    # a span maps back to the raw text it came from
    s = norm.text.index("统一战线")
    rs, re_ = norm.raw_span(s, s + 4)
    assert normalize_text(norm.raw_text[rs:re_]).text == "统一战线"


def test_raw_byte_offsets():
    raw = "统a战"
    assert list(raw_byte_offsets(raw, "utf-8")) == [0, 3, 4, 7]
    assert list(raw_byte_offsets(raw, "utf-8-sig")) == [3, 6, 7, 10]
    assert list(raw_byte_offsets(raw, "gb18030")) == [0, 2, 3, 5]


def test_quality_flags_on_seeds():
    n1 = normalize_bytes((CORPUS / "001_6532a16337e4d2ef.txt").read_bytes())
    assert len(n1.flags["mojibake"]) == 3
    assert all(n1.text[s:e] == "??" for s, e in n1.flags["mojibake"])
    n2 = normalize_bytes((CORPUS / "002_0d6ba5edfa074bb1.txt").read_bytes())
    kinds = {k for _, _, k in n2.flags["boilerplate"]}
    assert {"breadcrumb", "font_widget"} <= kinds
    n3 = normalize_bytes((CORPUS / "003_b312853f4306f97e.txt").read_bytes())
    ((s, e, kind),) = n3.flags["boilerplate"]
    assert kind == "copyright" and "京ICP备" in n3.text[s:e]
    clean = normalize_bytes((CORPUS / "004_b811958664596ffb.txt").read_bytes())
    assert clean.flags["mojibake"] == [] and clean.flags["replacement_chars"] == 0


def test_replacement_char_flagged():
    n = normalize_text("统战\ufffd\ufffd工作")
    assert n.flags["replacement_chars"] == 2 and n.flags["mojibake"] == [[2, 4]]


@pytest.mark.parametrize(
    "data, needle",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\x80\x81\xff\xfe\xfd", "not UTF-8 or GB18030"),
    ],
)
def test_bad_bytes_raise(data, needle):
    with pytest.raises(DecodeError, match=needle):
        decode_bytes(data)


def test_decode_error_names_line():
    data = "第一行\n第二行\n".encode() + b"\x81\x30\xff\xff\n"
    with pytest.raises(DecodeError) as ei:
        decode_bytes(data)
    assert ei.value.line == 3


def test_normalization_is_stable():
    data = (CORPUS / "001_6532a16337e4d2ef.txt").read_bytes()
    a, b = normalize_bytes(data), normalize_bytes(data)
    assert a.text == b.text and a.offset_map == b.offset_map


_text_chars = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(list("統一戰線學習()（）\r\nǎàǒtongzhxué镇街")),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(_text_chars, max_size=200))
def test_normalize_never_crashes_and_map_is_monotonic(raw):
    n = normalize_text(raw)
    omap = n.offset_map
    assert len(omap) == len(n.text) + 1
    assert all(omap[i] < omap[i + 1] for i in range(len(omap) - 2))
    assert omap[-1] == len(raw)
    assert all(0 <= x <= len(raw) for x in omap)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_decode_random_bytes_never_crashes(data):
    try:
        n = normalize_bytes(data)
    except DecodeError as e:
        assert str(e)
    else:
        assert len(n.offset_map) == len(n.text) + 1
