"""QUANTITY number grammar: numerals, multipliers, approximations, ranges, exact values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workbench.core.quantity import find_quantities, parse_chinese_int, to_number


def q(text):
    return [(s["text"], s["attrs"]["value"], s["attrs"]["unit"], s["attrs"]["approx"]) for s in find_quantities(text)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("覆盖党员干部1200余人次,", ("1200余人次", 1200, "人次", "more")),
        ("融资493万元,", ("493万元", 4_930_000, "元", None)),
        ("资金2.2亿元,", ("2.2亿元", 220_000_000, "元", None)),
        ("落地资金20.2亿元。", ("20.2亿元", 2_020_000_000, "元", None)),
        ("收购加工榨菜1500余万斤,", ("1500余万斤", 15_000_000, "斤", "more")),
        ("面积近500平方米,", ("近500平方米", 500, "平方米", "nearly")),
        ("面积约700平方米", ("约700平方米", 700, "平方米", "about")),
        ("投入资金1000万元以上,", ("1000万元以上", 10_000_000, "元", "more")),
        ("吸引7万余人次参与", ("7万余人次", 70_000, "人次", "more")),
        ("带动2万多人就业", ("2万多人", 20_000, "人", "more")),
        ("参会100人左右。", ("100人左右", 100, "人", "about")),
        ("超过300家企业", ("超过300家", 300, "家", "more")),
        ("硬化公路45.3公里。", ("45.3公里", 45.3, "公里", None)),
        ("编印三个文本", ("三个", 3, "个", None)),
        ("形成十二个专班", ("十二个", 12, "个", None)),
        ("一百二十个点位", ("一百二十个", 120, "个", None)),
        ("适时成立2至3个行业商会", ("2至3个", 2, "个", None)),
        ("年投入5-10万元", ("5-10万元", 50_000, "元", None)),
        ("占比66.3%。", ("66.3%", 66.3, "%", None)),
        ("增长百分之三点五", ("百分之三点五", 3.5, "%", None)),
        ("曝光量突破1000万,", ("1000万", 10_000_000, "", None)),
        ("投资10亿的项目", ("10亿", 1_000_000_000, "", None)),
        ("形成45万字的工具书", ("45万字", 450_000, "字", None)),
        ("全角１２人参加", ("１２人", 12, "人", None)),
        ("共2,000元", ("2,000元", 2000, "元", None)),
    ],
)
def test_quantity_grammar(text, expected):
    assert q(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "第一次观摩交流会",
        "组织一批骨干",
        "县镇村三级齐抓共管",
        "成立70周年",
        "首个示范点",
        "千家万户",
        "一个组织一个品牌",
        "九支镇块岩村",
        "备案号:京ICP备2022018928号-48",
        "时间18:49",
        "PART 01 坚持党的领导",
        "五年来成效明显",
        "近年来",
        "三大法宝",
        "联系邮箱:315 54 11 85",
    ],
)
def test_not_quantities(text):
    assert q(text) == []


def test_value_is_exact_not_float_product():
    # 2.2 * 1e8 in binary floating point is 220000000.00000003
    (span,) = find_quantities("2.2亿元")
    assert span["attrs"]["value"] == 220000000 and isinstance(span["attrs"]["value"], int)
    (span,) = find_quantities("0.3万人")
    assert span["attrs"]["value"] == 3000 and isinstance(span["attrs"]["value"], int)
    (span,) = find_quantities("1.25万元")
    assert span["attrs"]["value"] == 12500
    (span,) = find_quantities("66.35%")
    assert span["attrs"]["value"] == 66.35 and isinstance(span["attrs"]["value"], float)


def test_offsets_and_text():
    text = "共开展活动45场,覆盖1200余人次,获资金2.2亿元。"
    spans = find_quantities(text)
    assert [s["text"] for s in spans] == ["45场", "1200余人次", "2.2亿元"]
    for s in spans:
        assert text[s["start"] : s["end"]] == s["text"]
        assert s["label"] == "QUANTITY"


@pytest.mark.parametrize(
    "s,v",
    [
        ("三", 3),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("一百零五", 105),
        ("两万三千", 23000),
        ("三亿五千万", 350_000_000),
        ("二〇二一", 2021),
    ],
)
def test_parse_chinese_int(s, v):
    assert parse_chinese_int(s) == v


def test_to_number():
    assert to_number(Decimal("30.0")) == 30 and isinstance(to_number(Decimal("30.0")), int)
    assert to_number(Decimal("45.30")) == 45.3
