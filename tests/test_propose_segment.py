"""segment.cuts: both jieba segmentations from one pass, equal to the two cuts."""

from __future__ import annotations

import random
from importlib import resources

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.propose import get_proposer
from workbench.propose.segment import cuts, pos_tokenizer, tokens, word_starts

CORPUS = [
    p.read_text(encoding="utf-8")
    for p in (resources.files("workbench") / "data" / "corpus").iterdir()
    if p.name.endswith(".txt")
]


def test_cuts_equal_the_two_cuts_on_the_corpus():
    assert len(CORPUS) >= 5
    for text in CORPUS:
        starts, toks = cuts(text)
        assert starts == word_starts(text)
        assert toks == tokens(text)


def test_cuts_equal_the_two_cuts_on_generated_text():
    rng = random.Random(7)
    pool = [
        *"的一是在了有和人这中大为上个国我以要他统战部镇村县委",
        "abc",
        "A",
        "1",
        "23",
        "3.5",
        "+",
        "#",
        "%",
        "_",
        "-",
    ]
    pool += [" ", "\n", "\r\n", "\t", "，", "。", "“", "”", "《", "》", "\u3000", "𠀀", "é", "ü"]
    pool += ["习近平", "中国特色社会主义", "民营企业", "帮助34家民营企业融资493万元", "苍岭干部大讲堂"]
    for _ in range(400):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 60)))
        starts, toks = cuts(text)
        assert starts == word_starts(text), text
        assert toks == tokens(text), text


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("统战部长李明1a b，。\n\t%+.-_的工作县镇")), max_size=50))
def test_property_cuts(text):
    assert cuts(text) == (word_starts(text), tokens(text))


def test_rules_analyze_is_propose_plus_word_starts():
    p = get_proposer("rules")
    for text in CORPUS:
        spans, starts = p.analyze(text)
        assert spans == p.propose(text)
        assert starts == word_starts(text)


def test_jieba_proposer_builds_no_tagger_per_document(monkeypatch):
    import jieba.posseg as pseg

    p = get_proposer("jieba")
    first = pos_tokenizer()
    built = []
    original = pseg.POSTokenizer.__init__

    def counting(self, *a, **kw):
        built.append(1)
        original(self, *a, **kw)

    monkeypatch.setattr(pseg.POSTokenizer, "__init__", counting)
    spans = [p.propose(t) for t in CORPUS[:3]]
    assert built == []  # the old code built one per document (about a second each)
    assert pos_tokenizer() is first
    assert all(any(s["label"] in ("PERSON", "LOC", "ORG") for s in sp) for sp in spans)
