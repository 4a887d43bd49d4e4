"""workbench.core.t2s gives exactly the output of opencc-python-reimplemented's
OpenCC("t2s"), which stays the source of the conversion data and rule."""

from __future__ import annotations

import random
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opencc import OpenCC

from workbench.core import normalize
from workbench.core.t2s import T2S, t2s

PACKAGE = OpenCC("t2s")
FAST = T2S(OpenCC("t2s"))


def _corpus() -> list[str]:
    root = resources.files("workbench") / "data" / "corpus"
    return [p.read_text(encoding="utf-8") for p in root.iterdir() if p.name.endswith(".txt")]


CORPUS = _corpus()
TRADITIONAL = [OpenCC("s2t").convert(t) for t in CORPUS] + [OpenCC("s2tw").convert(t) for t in CORPUS]
PHRASES = sorted(FAST._phrases)
CHARS = sorted(chr(k) for k in FAST._table)
SEPARATORS = list(" \t\n\u3000，。、；：？！…“”‘’「」『』（）《》〈〉—－-,.?!*～．／＼【】［］｛｝")


def test_corpus_and_its_traditional_variants_convert_identically():
    assert len(CORPUS) >= 5
    for text in CORPUS + TRADITIONAL:
        assert FAST.convert(text) == PACKAGE.convert(text)
        for line in text.splitlines(keepends=True):
            assert FAST.convert(line) == PACKAGE.convert(line)


def test_the_traditional_variants_do_change():
    # the comparison above is not vacuous: the variants hold phrases and characters to convert
    assert sum(FAST.convert(t) != t for t in TRADITIONAL) == len(TRADITIONAL)
    assert any(p in t for t in TRADITIONAL for p in PHRASES)


def test_generated_text_dense_in_phrases_fragments_and_separators():
    rng = random.Random(20261202)
    fragments = [p[: rng.randint(1, len(p))] for p in PHRASES] + [p[rng.randint(0, len(p) - 1) :] for p in PHRASES]
    pool = PHRASES * 3 + fragments + CHARS + SEPARATORS * 2 + list("的一是在不了有和人这中大为上个国我以要他")
    for _ in range(5000):
        s = "".join(rng.choice(pool) for _ in range(rng.randint(1, 40)))
        assert FAST.convert(s) == PACKAGE.convert(s), s


def _leftmost_longest(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        for size in range(min(FAST._max, len(s) - i), 0, -1):
            if s[i : i + size] in FAST._phrases:
                out.append(FAST._phrases[s[i : i + size]])
                i += size
                break
        else:
            out.append(s[i].translate(FAST._table))
            i += 1
    return "".join(out)


def test_overlapping_phrases_take_the_packages_choice_not_leftmost_longest():
    # the package replaces the longest phrase anywhere first, then recurses left and
    # right; a plain leftmost-longest matcher differs on overlapping phrases
    differ = []
    for a in PHRASES:
        for b in PHRASES:
            for k in range(1, min(len(a), len(b))):
                if a[-k:] == b[:k]:
                    s = a + b[k:]
                    if PACKAGE.convert(s) != _leftmost_longest(s):
                        differ.append(s)
    assert len(differ) >= 10
    for s in differ:
        assert FAST.convert(s) == PACKAGE.convert(s), s


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PHRASES + CHARS[:400] + SEPARATORS + ["a", "1", "的"]), max_size=30))
def test_property_same_as_package(parts):
    s = "".join(parts)
    assert FAST.convert(s) == PACKAGE.convert(s)


@pytest.mark.parametrize("text", ["", "\n", "   ", "乾隆", "乾坤", "於是", "頭髮", "ABC", "\x00\x07"])
def test_small_cases(text):
    assert t2s(text) == PACKAGE.convert(text)


def test_normalize_uses_it():
    text = TRADITIONAL[0]
    converted, mapping = normalize._t2s(text)
    assert converted == PACKAGE.convert(text) != text
    assert mapping is None  # no dictionary entry changes length
