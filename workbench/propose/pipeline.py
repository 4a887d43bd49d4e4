"""The proposers: the default ``rules`` pipeline (all seven labels) and two
smaller ones (``numbers``: DATE/QUANTITY/DOC/PROGRAM without jieba entities;
``jieba``: jieba's raw person/place/organisation tags, a baseline to compare).
"""

from __future__ import annotations

from ..core.quantity import find_quantities
from . import entities as ent
from . import lexicon as lx
from . import patterns as pt
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


def classify_quotes(text: str, places: list[dict], gazetteer: set[str]) -> list[dict]:
    """Quoted names: an ORG (…服务团, …智库), a LOC (a known place name, a place's
    …之家/…园), a PROGRAM (by :func:`patterns.program_score`, with a bonus when a
    quote written next to it is one), or nothing (metaphor, speech)."""
    quotes = pt.find_quotes(text)
    out: list[dict | None] = [None] * len(quotes)
    scores = [0.0] * len(quotes)
    for k, (s, e) in enumerate(quotes):
        inner = text[s:e]
        L = len(inner)
        if L < 2:
            continue
        if inner in gazetteer and not pt.numbered_slogan(inner):
            out[k] = _span(text, s, e, "LOC", 0.6)
            continue
        if L >= 3 and not pt.numbered_slogan(inner) and "、" not in inner and "+" not in inner:
            if inner.endswith(lx.ORG_SUFFIXES_LENIENT) or inner.endswith(lx.QUOTED_ORG_SUFFIXES):
                if inner not in lx.BARE_ORGANS:
                    out[k] = _span(text, s, e, "ORG", 0.6)
                    continue
            if inner.endswith(lx.FACILITY_SUFFIXES):
                has_place = any(s <= p["start"] and p["end"] <= e for p in places) or any(g in inner for g in gazetteer)
                if has_place:
                    out[k] = _span(text, s, e, "LOC", 0.6)
                    continue
        scores[k] = pt.program_score(text, s, e)
    # quotes written side by side are siblings: one programme makes the others programmes
    for group in pt.quote_groups(text, quotes):
        if len(group) < 2:
            continue
        sc = [scores[k] for k in group if out[k] is None]
        if sc and (max(sc) >= PROGRAM_THRESHOLD or (max(sc) >= 1.0 and sum(x for x in sc if x > 0) >= 2.0)):
            for k in group:
                inner = text[quotes[k][0] : quotes[k][1]]
                if (
                    out[k] is None
                    and scores[k] >= -1.0
                    and len(inner) >= 2
                    and inner not in lx.METAPHORS
                    and not any(c in pt.SENTENCE_PUNCT for c in inner)
                ):
                    scores[k] = max(scores[k], PROGRAM_THRESHOLD)
    # the same name quoted elsewhere in the document
    best: dict[str, float] = {}
    for k, (s, e) in enumerate(quotes):
        if out[k] is None:
            best[text[s:e]] = max(best.get(text[s:e], -9.0), scores[k])
    for k, (s, e) in enumerate(quotes):
        if out[k] is None and best.get(text[s:e], 0) >= PROGRAM_THRESHOLD and scores[k] > -1.5:
            scores[k] = max(scores[k], PROGRAM_THRESHOLD)
    for k, (s, e) in enumerate(quotes):
        if out[k] is None and scores[k] >= PROGRAM_THRESHOLD:
            out[k] = _span(text, s, e, "PROGRAM", min(0.95, 0.4 + scores[k] / 5))
    return [o for o in out if o is not None]


def _program_context(text: str, s: int, e: int) -> bool:
    """An unquoted occurrence of a programme name counts only in programme context."""
    after = text[e : e + 8]
    i = pt._cue_at(after)
    before = text[max(0, s - 4) : s]
    return (i is not None and i <= 2) or before.endswith(lx.PROGRAM_PRE_VERBS)


class RulesProposer(BaseProposer):
    """Default pipeline: number grammar, date/doc/quote rules, jieba + context rules."""

    name = "rules"
    version = "1.1"
    labels = ("PERSON", "ORG", "LOC", "DATE", "DOC", "PROGRAM", "QUANTITY")

    def analyze(self, text: str) -> tuple[list[dict], list[int]]:
        from .segment import cuts

        starts, toks = cuts(text)  # both segmentations from one pass
        return self._run(text, toks), starts

    def propose(self, text: str) -> list[dict]:
        from .segment import tokens

        return self._run(text, tokens(text))

    def _run(self, text: str, toks) -> list[dict]:
        doc = ent.Doc(text, toks)
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

        # named sites, with the places known so far (苍岭 → 苍岭片区)
        known = places + [p for p in ent.propagate(text, dict.fromkeys(gazetteer, "LOC"), 0.45)]
        facilities = ent.find_facilities(doc, known)
        places = places + facilities
        for f in facilities:
            gazetteer.add(f["text"])

        orgs = ent.find_orgs(doc, places, gazetteer)
        # names of places learnt from organisations (礼泉县委 → 礼泉)
        for o in orgs:
            core = o["text"]
            for prefix in lx.PARTY_PREFIXES:
                if core.startswith(prefix):
                    core = core[len(prefix) :]
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

        # named sites without their leading place (合江县荔城统战之家 → 荔城统战之家)
        for p in places:
            if p["text"].endswith(lx.FACILITY_SUFFIXES):
                for g in sorted(gazetteer, key=len, reverse=True):
                    if p["text"].startswith(g) and len(p["text"]) - len(g) >= 5:
                        gazetteer.add(p["text"][len(g) :])
                        break
        quote_spans = classify_quotes(text, places, gazetteer)
        persons = ent.find_persons(doc)

        cands += places + orgs + quote_spans + persons + pt.find_unquoted_programs(text)
        # propagation inside the document
        names = {p["text"]: "PERSON" for p in persons if len(p["text"]) >= 2}
        cands += ent.propagate(text, names, 0.5)
        progs = {
            q["text"]: "PROGRAM"
            for q in quote_spans
            if q["label"] == "PROGRAM" and (len(q["text"]) >= 4 or pt.numbered_slogan(q["text"]))
        }
        cands += [p for p in ent.propagate(text, progs, 0.45) if _program_context(text, p["start"], p["end"])]
        locs = dict.fromkeys(gazetteer, "LOC")
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
        cands += [q for q in classify_quotes(text, [], set()) if q["label"] == "PROGRAM"]
        return _finish(cands)


class JiebaProposer(BaseProposer):
    """jieba.posseg's own tags (nr → PERSON, ns → LOC, nt → ORG), unrepaired: a baseline."""

    name = "jieba"
    version = "0.42.1"
    labels = ("PERSON", "ORG", "LOC")

    def propose(self, text: str) -> list[dict]:
        from .segment import pos_tokenizer

        pt_ = pos_tokenizer()
        out = []
        pos = 0
        for pair in pt_.cut(text):
            w, flag = pair.word, pair.flag
            lab = {"nr": "PERSON", "nrfg": "PERSON", "nrt": "PERSON", "ns": "LOC", "nt": "ORG"}.get(flag)
            if lab and len(w) >= 2:
                out.append(_span(text, pos, pos + len(w), lab, 0.3))
            pos += len(w)
        return _finish(out)
