"""The proposers: the default ``rules`` pipeline (all seven labels) and two
smaller ones (``numbers``: DATE/QUANTITY/DOC/PROGRAM without jieba entities;
``jieba``: jieba's raw person/place/organisation tags, a baseline to compare).
"""
from __future__ import annotations

from . import entities as ent
from . import lexicon as lx
from . import patterns as pt
from .numbers import find_quantities
from .resolve import resolve

PROGRAM_THRESHOLD = 1.5


def _span(text, s, e, label, score, attrs=None):
    d = {"start": s, "end": e, "label": label, "text": text[s:e], "score": round(score, 3)}
    if attrs is not None:
        d["attrs"] = attrs
    return d


def _finish(spans: list[dict]) -> list[dict]:
    out = []
    for s in resolve(spans):
        d = {"start": s["start"], "end": s["end"], "label": s["label"], "text": s["text"]}
        if s["label"] == "QUANTITY":
            d["attrs"] = s.get("attrs") or {"value": None, "unit": None, "approx": None}
        elif s.get("attrs"):
            d["attrs"] = s["attrs"]
        d["score"] = round(float(s.get("score") or 0.5), 3)
        out.append(d)
    return out


class BaseProposer:
    name = "base"
    version = "0"
    labels: tuple[str, ...] = ()

    def analyze(self, text: str) -> tuple[list[dict], list[int]]:
        """(spans, jieba word start offsets)."""
        from .segment import word_starts

        return self.propose(text), word_starts(text)

    def propose(self, text: str) -> list[dict]:  # pragma: no cover - abstract
        raise NotImplementedError


def classify_quote(text: str, s: int, e: int, places: list[dict], gazetteer: set[str]) -> dict | None:
    """A quoted name is an ORG (…服务团, …智库), a LOC (a place's …之家/…园), a
    PROGRAM (by :func:`patterns.program_score`), or nothing (metaphor, speech)."""
    inner = text[s:e]
    L = len(inner)
    if L < 2:
        return None
    if L >= 3 and not pt.numbered_slogan(inner) and "、" not in inner and "+" not in inner:
        if inner.endswith(lx.ORG_SUFFIXES_LENIENT) or inner.endswith(("委员会", "促进会", "联合会", "协会",
                                                                     "商会", "联谊会", "研究会", "教育所")):
            if inner not in lx.BARE_ORGANS:
                return _span(text, s, e, "ORG", 0.6)
        if inner.endswith(lx.FACILITY_SUFFIXES):
            has_place = any(s <= p["start"] and p["end"] <= e for p in places) or \
                any(g in inner for g in gazetteer if len(g) >= 2)
            if has_place:
                return _span(text, s, e, "LOC", 0.6)
    sc = pt.program_score(text, s, e)
    if sc >= PROGRAM_THRESHOLD:
        return _span(text, s, e, "PROGRAM", min(0.95, 0.4 + sc / 5))
    return None


class RulesProposer(BaseProposer):
    """Default pipeline: number grammar, date/doc/quote rules, jieba + context rules."""

    name = "rules"
    version = "1.0"
    labels = ("PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY")

    def propose(self, text: str) -> list[dict]:
        return self._run(text)

    def _run(self, text: str) -> list[dict]:
        from .segment import tokens

        doc = ent.Doc(text, tokens(text))
        cands: list[dict] = []
        cands += pt.find_dates(text)
        cands += pt.find_docs(text)
        cands += find_quantities(text)

        places = ent.find_places(doc)
        gazetteer: set[str] = set()
        for p in places:
            gazetteer.add(p["text"])
            gazetteer.update(ent.short_forms(p["text"]))
        gazetteer = {g for g in gazetteer if len(g) >= 2 and g not in lx.GENERIC_PLACE_WORDS}

        orgs = ent.find_orgs(doc, places, gazetteer)
        # names of places learnt from organisations (礼泉县委 → 礼泉)
        for o in orgs:
            core = o["text"]
            for p in lx.PARTY_PREFIXES:
                if core.startswith(p):
                    core = core[len(p):]
            for organ in ("县委", "市委", "省委", "区委", "旗委", "州委", "镇委", "乡委"):
                i = core.find(organ)
                if i >= 2:
                    name = core[:i]
                    if name in gazetteer or all(ent.is_cjk(c) for c in name) and len(name) <= 4:
                        if not name.endswith(lx.ADMIN_SUFFIXES):
                            gazetteer.add(name)
                        else:
                            gazetteer.add(name)
                            gazetteer.update(ent.short_forms(name))
                    break

        quote_spans = []
        for s, e in pt.find_quotes(text):
            q = classify_quote(text, s, e, places, gazetteer)
            if q is not None:
                quote_spans.append(q)
        persons = ent.find_persons(doc)

        cands += places + orgs + quote_spans + persons
        # propagation inside the document
        names = {p["text"]: "PERSON" for p in persons if len(p["text"]) >= 2}
        cands += ent.propagate(text, names, 0.5)
        progs = {q["text"]: "PROGRAM" for q in quote_spans
                 if q["label"] == "PROGRAM" and (len(q["text"]) >= 4 or pt.numbered_slogan(q["text"]))}
        cands += ent.propagate(text, progs, 0.45)
        locs = {g: "LOC" for g in gazetteer}
        cands += ent.propagate(text, locs, 0.45)
        cands += ent.merge_adjacent(cands, text)
        return _finish(cands)


class NumbersProposer(BaseProposer):
    """DATE, QUANTITY, DOC and quoted PROGRAM names only (no jieba entities)."""

    name = "numbers"
    version = "1.0"
    labels = ("DATE", "DOC", "PROGRAM", "QUANTITY")

    def propose(self, text: str) -> list[dict]:
        cands = pt.find_dates(text) + pt.find_docs(text) + find_quantities(text)
        for s, e in pt.find_quotes(text):
            sc = pt.program_score(text, s, e)
            if sc >= PROGRAM_THRESHOLD:
                cands.append(_span(text, s, e, "PROGRAM", min(0.95, 0.4 + sc / 5)))
        return _finish(cands)


class JiebaProposer(BaseProposer):
    """jieba.posseg's own tags (nr → PERSON, ns → LOC, nt → ORG), unrepaired: a baseline."""

    name = "jieba"
    version = "0.42.1"
    labels = ("PERSON", "ORG", "LOC")

    def propose(self, text: str) -> list[dict]:
        import jieba.posseg as pseg

        from .segment import _init

        pt_ = pseg.POSTokenizer(_init()["tk"])
        out = []
        pos = 0
        for pair in pt_.cut(text):
            w, flag = pair.word, pair.flag
            lab = {"nr": "PERSON", "nrfg": "PERSON", "nrt": "PERSON", "ns": "LOC", "nt": "ORG"}.get(flag)
            if lab and len(w) >= 2:
                out.append(_span(text, pos, pos + len(w), lab, 0.3))
            pos += len(w)
        return _finish(out)
