"""One QUANTITY value model for the proposer, both TUIs, review and export (issue 11).

Defects reproduced here: the attrs input stored ``15000000.0`` where the proposer stores
``15000000`` and refused Chinese numerals; review then showed an "attrs" disagreement between
identical values; four formatters printed three different things.
"""

from __future__ import annotations

import pytest

from workbench.core.quantity import (
    canonical_attrs,
    find_quantities,
    format_attrs,
    format_value,
    parse_value,
    same_attrs,
)
from workbench.review import cluster_doc, describe_attrs
from workbench.session import SessionError, attrs_from_fields
from workbench.tui.items import attrs_cell


def test_typed_value_is_the_proposers_value():
    (q,) = find_quantities("融资1500万元")
    typed = attrs_from_fields("1500万", "元", "")
    assert typed["value"] == q["attrs"]["value"] == 15000000
    assert type(typed["value"]) is type(q["attrs"]["value"]) is int


@pytest.mark.parametrize(
    "typed, value",
    [
        ("一千五百万", 15000000),
        ("两万三千", 23000),
        ("2.2亿", 220000000),
        ("1,200", 1200),
        ("１２", 12),
        ("4.5", 4.5),
        ("3k", 3000),
        ("", None),
    ],
)
def test_attrs_input_reads_the_number_grammar(typed, value):
    v = parse_value(typed)
    assert v == value and (value is None or type(v) is type(value))
    assert attrs_from_fields(typed, "元", "")["value"] == value


@pytest.mark.parametrize("bad", ["lots", "1.2.3", "nan", "inf"])
def test_non_numbers_are_refused(bad):
    with pytest.raises(SessionError, match="value must be a number"):
        attrs_from_fields(bad, "个", "")


def test_equal_values_are_no_review_disagreement():
    def sp(attrs):
        return {"start": 0, "end": 5, "label": "QUANTITY", "text": "1500万元", "attrs": attrs}

    by_ann = {
        "a": [sp({"value": 15000000, "unit": "元", "approx": None})],
        "b": [sp({"value": 15000000.0, "unit": "元", "approx": None})],
    }
    (cluster,) = cluster_doc("d", by_ann)
    assert cluster.kinds == []
    assert same_attrs(by_ann["a"][0]["attrs"], by_ann["b"][0]["attrs"])
    assert not same_attrs({"value": 2}, {"value": 3})
    assert canonical_attrs({}) is None


def test_one_formatter():
    a = {"value": 15000000.0, "unit": "元", "approx": "more"}
    assert format_attrs(a) == describe_attrs(a) == "15000000元 (more)"
    assert attrs_cell(a) == format_attrs(a, compact=True) == "15000000元 余+"
    assert format_value(4.5) == "4.5" and format_value(None) == "" and format_attrs(None) == ""
    assert format_attrs({"value": None, "unit": "人", "approx": None}) == "?人"


def test_absurd_magnitudes_are_refused_not_computed():
    with pytest.raises(SessionError, match="below 10"):
        attrs_from_fields("1e999999", "个", "")


@pytest.mark.parametrize(
    "text, attrs",
    [
        ("45场", {"value": 45, "unit": "场", "approx": None}),
        ("干部1200余人", {"value": 1200, "unit": "人", "approx": "more"}),
        ("1200余人次", {"value": 1200, "unit": "人次", "approx": "more"}),
        ("1500余万斤", {"value": 15000000, "unit": "斤", "approx": "more"}),
        ("2至3个", {"value": 2, "unit": "个", "approx": None}),
        ("45", {"value": 45, "unit": "", "approx": None}),
        ("一千五百", {"value": 1500, "unit": "", "approx": None}),
        ("苍岭", None),
        ("一批", None),
    ],
)
def test_derived_attrs_are_the_proposers(text, attrs):
    from workbench.core.quantity import derive_attrs

    assert derive_attrs(text) == attrs


def test_attrs_disagree_with_the_text_by_value():
    from workbench.core.quantity import attrs_disagree

    stale = {"value": 1200, "unit": "人次", "approx": "more"}
    assert attrs_disagree(stale, "干部1200余人")  # bounds moved off 次: the unit no longer matches
    assert not attrs_disagree({"value": 1200.0, "unit": "人", "approx": "more"}, "干部1200余人")
    assert not attrs_disagree({"value": 7, "unit": "x", "approx": None}, "苍岭")  # nothing to compare
    assert attrs_disagree(None, "45场")  # a QUANTITY without attrs where the text has a figure
