"""PERSON, ORG and LOC from jieba tokens plus context rules.

jieba gives the tokens and dictionary tags; these rules decide:

* LOC: a name (unknown characters or a place word) before an administrative
  suffix (省 市 县 镇 乡 村 旗 苏木 嘎查 …), jieba's place words (``ns``) minus
  generic ones, named sites (…之家, …基地, …陈列馆 with a place or proper name
  in them), adjacent places merged (湖北襄阳), short forms of places already
  found in the document (合江县 → 合江).
* ORG: organ chains after a place or level (县委统战部, 县工商联,
  中共X市委统战部), democratic-party committees (民革X市委会), names before
  organisation suffixes (…有限公司, …银行, …学院, …报社, …促进会, …局);
  bare organs (党委, 县委, 政府, 统战部) are never proposed.
* PERSON: a surname after a title (书记, 常务副部长, 人士 …), a known name
  before 总书记/同志, credit lines (编辑/…, 审核 _ …), a name in
  parentheses closing a paragraph; names found once are propagated within
  the document. jieba's person tag alone is never trusted (it tags 高水平).

About 600 lines, on purpose in one module: the three labels' rules share the
token view (:class:`Doc`) and the left-boundary finders (``_name_left``,
``_proper_left``, ``_org_left``), and ORG rules consume the places found first.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from . import lexicon as lx
from .segment import Token, freq, in_dict, tag

FUNCTION_TAGS = frozenset(
    ["p", "c", "u", "uj", "ul", "ud", "uz", "uv", "ug", "ude", "d", "r", "m", "q", "y", "e", "o", "f"]
)
PROPER_TAGS = frozenset(["ns", "nr", "nrt", "nrfg", "nz"])
_CJK = re.compile(r"[\u3400-\u9fff]")
ADMIN_SET = frozenset(lx.ADMIN_SUFFIXES)


def is_cjk(c: str) -> bool:
    return bool(c) and "\u3400" <= c <= "\u9fff"


class Doc:
    """Tokens of one text with position indexes."""

    def __init__(self, text: str, toks: list[Token]):
        self.text = text
        self.toks = toks
        self.starts = [t.start for t in toks]
        self.start_idx = {t.start: i for i, t in enumerate(toks)}
        self.end_idx = {t.end: i for i, t in enumerate(toks)}

    def tok_at(self, pos: int) -> int:
        """Index of the token containing ``pos``."""
        i = bisect_left(self.starts, pos)
        if i < len(self.starts) and self.starts[i] == pos:
            return i
        return i - 1

    def is_boundary(self, pos: int) -> bool:
        return pos == 0 or pos == len(self.text) or pos in self.start_idx


def name_char_token(t: Token) -> bool:
    """A token that may be part of a proper name."""
    w = t.word
    if len(w) == 1:
        return is_cjk(w) and t.tag not in FUNCTION_TAGS and w not in lx.NAME_STOP_CHARS
    if not all(is_cjk(c) for c in w):
        return False
    if t.tag in ("ns", "nrt", "nrfg", "nz", "j"):
        return True
    if t.tag == "nr":
        return t.freq < 3000
    return t.tag == "" or (t.tag in ("n", "ng") and t.freq < 60)


def proper_token(t: Token) -> bool:
    """A token that is (part of) a proper name: place words, rare person words, unknown chars."""
    if t.tag == "ns" and t.word not in lx.GENERIC_PLACE_WORDS and len(t.word) >= 2:
        return True
    if t.tag in ("nr", "nrt", "nrfg") and len(t.word) >= 2 and t.freq < 3000 and t.word[0] not in lx.CN_NUMERAL_CHARS:
        return True
    return False


# ============================================================================ LOC


def find_places(doc: Doc) -> list[dict]:
    text, toks = doc.text, doc.toks
    out: list[dict] = []
    n = len(toks)
    for k, t in enumerate(toks):
        w = t.word
        # 1. jieba place words
        if t.tag == "ns" and len(w) >= 2 and w not in lx.GENERIC_PLACE_WORDS and w not in ADMIN_SET:
            if w[0] in "全各本该我此每这那其某哪":
                continue  # 各乡镇: a quantifier and a generic word
            if text.startswith(lx.NOT_PLACE_BEFORE, t.end) or text.startswith(("了", "着", "过"), t.end):
                continue  # 中国特色, 新建了: not a place here
            s, e = t.start, t.end
            if (
                k + 1 < n
                and toks[k + 1].word in ("镇", "乡", "村", "县", "区", "市", "旗", "街道", "社区")
                and not text.startswith(("委", "政府"), toks[k + 1].end)
            ):
                e = toks[k + 1].end
            out.append(_loc(text, s, e, 0.8))
            continue
        # a whole token that ends with an admin suffix and is a name word (乌审旗/nr)
        if (
            len(w) >= 3
            and t.tag in ("nr", "nrt", "nz", "n", "")
            and w.endswith(lx.ADMIN_SUFFIXES)
            and w[:-1] not in lx.GENERIC_PLACE_WORDS
            and t.freq < 50
            and freq(w[:-1]) < 100
        ):
            out.append(_loc(text, t.start, t.end, 0.7))
            continue
        # 2. name + administrative suffix
        if w in ADMIN_SET:
            if text.startswith(("委", "政府", "级", "域", "直", "属", "长", "民", "场", "里", "内", "外"), t.end):
                continue  # 市委, 县政府, 县级, 区域, 村民 ... are not places
            left = _name_left(doc, k, 4)
            if left is None:
                continue
            s = left
            name = text[s : t.start]
            if len(name) == 1 and w not in ("县", "市", "州", "旗", "省"):
                continue
            if name[0] in lx.CN_NUMERAL_CHARS and not (toks[k - 1].tag == "m" and len(name) == 2):
                continue  # 百企帮百村 is a slogan, not a village
            if (
                name in lx.GENERIC_PLACE_WORDS
                or name in ADMIN_SET
                or (name[0] in lx.NOT_PLACE_HEAD if len(name) == 1 else name[0] in "全各本该我此每这那其某哪")
                or name[-1] in "省市县区镇乡村旗州盟"
                or name.endswith(("苏木", "嘎查"))
                or _generic_modifier(name)
            ):
                continue
            out.append(_loc(text, s, t.end, 0.75))
        elif w == "县" and k > 0 and _one_char_county(doc, k):
            out.append(_loc(text, t.start - 1, t.end, 0.6))  # 道县, 歙县
        elif k + 1 < n and _loose_head(doc, k):
            out.append(_loc(text, t.start, toks[k + 1].end, 0.6))  # 光明社区, 石门街道
    out += _untokenized_suffixes(doc)
    return out + _chains(doc, out)


_ADMIN_BY_LENGTH = sorted(lx.ADMIN_SUFFIXES, key=len, reverse=True)
_ADMIN_RE = re.compile("|".join(_ADMIN_BY_LENGTH))
_NOT_AFTER_ADMIN = ("委", "政府", "级", "域", "直", "属", "长", "民", "场", "里", "内", "外", "情", "容", "貌", "两委")
_CLAUSE_TAGS = frozenset(["v", "vd", "vn", "p", "c", "d", "r", "m", "t", "f", "u", "uj", "ad", "a", "l", "i", "q"])


def _generic_modifier(name: str) -> bool:
    """智慧社区, 示范村, 民族团结进步示范社区: a quality word, not a name."""
    return any(name.endswith(w) or name.startswith(w) for w in lx.GENERIC_PLACE_MODIFIERS)


def _suffix_ok(doc: Doc, a: int, b: int) -> bool:
    """An administrative suffix at ``text[a:b]`` that ends a place name here (not
    县委, 市场, 乡村, 区域 …)."""
    text = doc.text
    if text.startswith(_NOT_AFTER_ADMIN, b):
        return False
    i = doc.tok_at(b - 1)
    t = doc.toks[i]
    if t.end > b and t.freq >= 100 and t.tag != "ns":
        return False  # 乡村, 村民, 镇上: the suffix starts a common word
    if t.start < a and t.end == b and t.freq >= 100 and t.tag not in ("ns", "nr", "nz", ""):
        return False  # 地区, 城市: a common word ends with the suffix char
    return True


def _one_char_county(doc: Doc, k: int) -> bool:
    """One character before 县 that opens its clause (。道县…, 、歙县…): a county
    with a one-character name, unless it is a quantifier (全县, 该县, 邻县 …)."""
    text, t = doc.text, doc.toks[k]
    a = t.start - 1
    if a < 0 or not is_cjk(text[a]) or text[a] in lx.NAME_STOP_CHARS or text[a] in lx.NOT_PLACE_HEAD:
        return False
    if text[a] in "邻外该原新老小大贫强名" or not _suffix_ok(doc, t.start, t.end):
        return False
    prev = doc.toks[k - 1]
    if prev.start != a or prev.tag in ("p", "c", "d", "r", "u", "uj", "f", "v", "a"):
        return False
    return a == 0 or not is_cjk(text[a - 1]) or text[a - 1] in lx.NAME_STOP_CHARS


def _loose_head(doc: Doc, k: int) -> bool:
    """A common noun used as a place name right before a suffix token (光明社区,
    石门街道), when the word before it closes off the name."""
    toks = doc.toks
    t, suf = toks[k], toks[k + 1]
    if suf.word not in ("镇", "乡", "村", "街道", "社区", "嘎查", "苏木"):
        return False
    if len(t.word) != 2 or not all(is_cjk(c) for c in t.word) or t.tag not in ("n", "nz", "nr", "ns", "ng"):
        return False
    if t.freq >= 1500 or t.word in lx.GENERIC_PLACE_WORDS or _generic_modifier(t.word):
        return False
    if t.word[0] in lx.NOT_PLACE_HEAD or not _suffix_ok(doc, suf.start, suf.end):
        return False
    if k == 0:
        return True
    prev = toks[k - 1]
    return (
        (not is_cjk(prev.word[0]))
        or prev.tag in ("p", "c")
        or prev.word in lx.NAME_STOP_CHARS
        or (prev.tag == "v" and len(prev.word) >= 2)
    )


def _untokenized_suffixes(doc: Doc) -> list[dict]:
    """Multi-character suffixes jieba splits (嘎/o 查/v): the name before them."""
    text = doc.text
    out = []
    for m in re.finditer("嘎查|苏木|街道|社区", text):
        a, b = m.span()
        k = doc.start_idx.get(a)
        if k is None or doc.toks[k].word == m.group() or not _suffix_ok(doc, a, b):
            continue
        s = _name_left(doc, k, 6, translit=m.group() in ("嘎查", "苏木"))
        if s is None or a - s < 2:
            continue
        name = text[s:a]
        if (
            name in lx.GENERIC_PLACE_WORDS
            or name[0] in lx.NOT_PLACE_HEAD
            or _generic_modifier(name)
            or name[-1] in "省市县区镇乡村旗州盟"
        ):
            continue
        out.append(_loc(text, s, b, 0.7))
    return out


def _admin_level(name: str) -> int:
    """Level of the administrative suffix ``name`` ends with (1 = 省); 0 for none."""
    for suf in _ADMIN_BY_LENGTH:
        if name.endswith(suf):
            return lx.ADMIN_LEVELS.get(suf, 0)
    return 0


def _not_below(level: int, lv: int, name: str) -> bool:
    """Whether a part of level ``lv`` named ``name`` cannot follow one of ``level`` in a chain:
    its level is not lower (大板镇 + 锡林郭勒盟). A county-level city under a prefecture-level
    one is the exception (苏州市 + 昆山市, 锡林郭勒盟 + 锡林浩特市: one LOC by the guide)."""
    if not (level and lv) or lv > level:
        return False
    return not (lv == level == 2 and name.endswith("市"))


def _chains(doc: Doc, places: list[dict]) -> list[dict]:
    """Administrative chains after a place: 鄂托克前旗 + 城川镇 + 大沙头嘎查,
    永州市 + 道县 (the guide: adjacent place names form one LOC).

    A chain walks down the levels (省 > 市/盟/州 > 县/区/旗 > 镇/乡/苏木/街道 >
    村/嘎查/社区): 大板镇 + 锡林郭勒盟 starts a new chain. Places inside a chain
    already written are not walked again, so the whole pass is linear."""
    text = doc.text
    out = []
    last_end = -1
    for p in sorted(places, key=lambda x: x["start"]):
        s, e = p["start"], p["end"]
        if s < last_end:
            continue
        level = _admin_level(text[s:e])
        parts = 1
        grew = False
        while parts < lx.MAX_CHAIN_PARTS:
            m = _ADMIN_RE.search(text, e + 1, e + 8)
            if m is None:
                break
            a, b = m.span()
            gap = text[e:a]
            suf = m.group()
            lv = lx.ADMIN_LEVELS.get(suf, 0)
            if _not_below(level, lv, suf):
                break  # 大板镇 + 锡林郭勒盟: the level goes up, a new chain
            if not _chain_gap(doc, e, a, suf) or not _suffix_ok(doc, a, b):
                break
            if len(gap) >= 2 and _generic_modifier(gap):
                break
            e = b
            level = lv or level
            parts += 1
            grew = True
        if grew:
            out.append(_loc(text, s, e, 0.7))
            last_end = e
    return out


def _chain_gap(doc: Doc, e: int, a: int, suf: str) -> bool:
    """``text[e:a]`` is a name between two administrative suffixes."""
    text = doc.text
    gap = text[e:a]
    if not gap or len(gap) > (6 if suf in ("嘎查", "苏木") else 4):
        return False
    if any(not is_cjk(c) or c in lx.CHAIN_STOP_CHARS for c in gap):
        return False
    if gap[0] in lx.NOT_PLACE_HEAD or gap in lx.GENERIC_PLACE_WORDS or gap in ADMIN_SET:
        return False
    if len(gap) == 1 and suf not in ("县", "旗"):
        return False
    if a not in doc.start_idx:
        t = doc.toks[doc.tok_at(a)]
        if not (t.end == a + len(suf) and t.start >= e and (t.freq < 100 or t.tag in ("ns", "nr", "nz"))):
            return False  # the suffix char is inside a word (武侯区/nr is fine)
    i = doc.tok_at(e)
    while i < len(doc.toks) and doc.toks[i].start < a:
        t = doc.toks[i]
        if t.start >= e and t.end <= a and len(t.word) >= 2:
            if t.tag in _CLAUSE_TAGS and t.freq >= 200:
                return False  # 召开乡: a clause, not a name
            if t.freq >= 3000 and t.tag not in ("ns", "nr", "nz", "nrt"):
                return False
        i += 1
    return True


def find_facilities(doc: Doc, places: list[dict]) -> list[dict]:
    """Named sites: a place or proper name, then nouns, then …之家/…基地/…陈列馆."""
    text = doc.text
    out: list[dict] = []
    for suf in lx.FACILITY_SUFFIXES:
        for m in re.finditer(re.escape(suf), text):
            e = m.end()
            a = m.start()
            if not doc.is_boundary(a):
                # 产业园/区: the word that runs into the suffix joins the name
                t = doc.toks[doc.tok_at(a)]
                if not (t.end < e and t.start < a and len(suf) >= 2):
                    continue
                a = t.start
            s = _proper_left(doc, a, 14, places)
            if s is not None and s < a:
                out.append(_loc(text, s, e, 0.65))
    return out


def _loc(text, s, e, score):
    return {"start": s, "end": e, "label": "LOC", "text": text[s:e], "score": score}


def _name_left(doc: Doc, k: int, max_chars: int, translit: bool = False) -> int | None:
    """Start of a name made of name-like tokens ending right before token ``k``;
    ``translit``: single characters of any content tag may join (巴音希里嘎查)."""
    toks = doc.toks
    j = k - 1
    s = None
    while j >= 0:
        t = toks[j]
        if t.word in ADMIN_SET:
            break
        if (
            translit
            and len(t.word) == 1
            and is_cjk(t.word)
            and t.word not in lx.NAME_STOP_CHARS
            and t.tag not in ("p", "c", "u", "uj", "ul", "ud", "uz", "y", "e", "r")
            and toks[k].start - t.start <= max_chars
        ):
            s = t.start
            j -= 1
            continue
        if (
            len(t.word) == 1
            and t.tag == "q"
            and s is not None
            and j > 0
            and len(toks[j - 1].word) == 1
            and name_char_token(toks[j - 1])
            and toks[k].start - toks[j - 1].start <= max_chars
        ):
            s = toks[j - 1].start  # 柏家坪镇: a classifier char inside a name
            j -= 2
            continue
        if not name_char_token(t):
            # 九支镇: a numeral word can open a place name right before its suffix
            if not (
                j == k - 1
                and t.tag == "m"
                and len(t.word) == 2
                and is_cjk(t.word[0])
                and t.word[-1] not in "个名家次批项年月日期届级位人元万亿千百十"
            ):
                break
        if toks[k].start - t.start > max_chars:
            break
        s = t.start
        j -= 1
    return s


_NOUNISH = frozenset(["n", "nz", "ns", "nr", "nrt", "nrfg", "nt", "j", "vn", "b", "l", "an", "ng", "nl", "g", "zg"])


def _proper_left(doc: Doc, pos: int, max_chars: int, places: list[dict]) -> int | None:
    """Walk left from ``pos`` over noun-like tokens; return the leftmost start of a
    proper-name token (or a known place) reached, else None."""
    toks = doc.toks
    place_starts = {p["start"]: p["end"] for p in places}
    j = doc.tok_at(pos - 1) if pos > 0 else -1
    best = None
    while j >= 0:
        t = toks[j]
        if pos - t.start > max_chars:
            break
        if len(t.word) == 1:
            if not name_char_token(t):
                break
        elif t.tag not in _NOUNISH and t.tag != "":
            # verbs inside names (统战之家, 乡村振兴合作试验园) but not clause verbs (建成…基地)
            if t.tag not in ("v", "vn") or t.word in lx.CLAUSE_VERBS:
                break
        if proper_token(t) or (t.start in place_starts and place_starts[t.start] <= pos):
            best = t.start
        j -= 1
    return best


def merge_adjacent(spans: list[dict], text: str, label: str = "LOC") -> list[dict]:
    """Adjacent places form one span (湖北襄阳, 黑龙江省哈尔滨市): add merged candidates."""
    locs = sorted((s for s in spans if s["label"] == label), key=lambda s: (s["start"], -s["end"]))
    by_start: dict[int, list[dict]] = {}
    for s in locs:
        by_start.setdefault(s["start"], []).append(s)
    out = []
    for s in locs:
        e = s["end"]
        level = _admin_level(s["text"])
        chain_end = None
        while e in by_start:
            nxt = by_start[e]
            first = min(nxt, key=lambda x: x["end"])  # 锡林郭勒盟 of 锡林郭勒盟正蓝旗上都镇
            lv = _admin_level(first["text"])
            if _not_below(level, lv, first["text"]):
                break  # 大板镇 + 锡林郭勒盟: the level goes up, two places
            end = max(x["end"] for x in nxt)
            if end - s["start"] > 16:
                break
            e = end
            level = _admin_level(text[s["start"] : e]) or level
            chain_end = e
        if chain_end is not None:
            out.append(
                {
                    "start": s["start"],
                    "end": chain_end,
                    "label": label,
                    "text": text[s["start"] : chain_end],
                    "score": s.get("score", 0.7),
                }
            )
    return out


# ============================================================================ ORG

_CHAIN_RE = re.compile(
    r"(?:(?P<lvl>[省市县区州旗盟镇乡])委|党工委|党委|党组)"
    r"(?P<sub>统战部|组织部|宣传部|常委会|政法委|办公室)?(?P<sub2>研究室|办公室|机关党委)?"
    r"|(?P<lvl2>[省市县区州旗镇乡])?(?P<body>工商联|总商会|商会|政协|人大常委会|统战部|团委|妇联|总工会|侨联|科协|文联|残联)"
    r"|(?P<gov>人民政府|人民法院|人民检察院)"
)
_DEMOCRATIC_RE = re.compile(
    r"(?:" + "|".join(lx.DEMOCRATIC_PARTIES) + r")[\u4e00-\u9fff]{2,5}?(?:[省市县区]委会|委员会|总支|支部)"
)
_SUFFIX_RE = re.compile(
    "|".join(map(re.escape, sorted(set(lx.ORG_SUFFIXES_LENIENT) | set(lx.ORG_SUFFIXES_STRICT), key=len, reverse=True)))
)
_MEDIA_RE = re.compile(r"([\u4e00-\u9fff]{2,6}(?:网|日报|晚报|报|电视台))(?=\s*(?:版权所有|讯|消息|报道|记者))")
_TEMPLE_RE = re.compile(r"[\u4e00-\u9fff]{2}(?:寺|宫|庙|观|庵|清真寺|教堂)(?![\u4e00-\u9fff]?[镇乡村县市区])")
_NATIONAL_RE = re.compile("|".join(map(re.escape, sorted(lx.NATIONAL_BODIES, key=len, reverse=True))))


def _org(text, s, e, score):
    return {"start": s, "end": e, "label": "ORG", "text": text[s:e], "score": score}


def find_orgs(doc: Doc, places: list[dict], gazetteer: set[str]) -> list[dict]:
    text = doc.text
    out: list[dict] = []
    place_end: dict[int, int] = {}
    for p in places:
        if p["end"] not in place_end or p["start"] < place_end[p["end"]]:
            place_end[p["end"]] = p["start"]

    def place_before(pos: int) -> int | None:
        """Start of a place name ending at ``pos`` (found place, gazetteer name),
        following adjacent places leftwards (乌审旗苏力德苏木)."""
        start = None
        while True:
            s = place_end.get(pos)
            if s is None:
                for L in (5, 4, 3, 2):
                    if pos - L >= 0 and text[pos - L : pos] in gazetteer:
                        s = pos - L
                        break
            if s is None or s >= pos:
                return start
            start = pos = s

    def with_party(s: int) -> int:
        for p in lx.PARTY_PREFIXES:
            if text.startswith(p, s - len(p)):
                return s - len(p)
        return s

    for m in _CHAIN_RE.finditer(text):
        cs, ce = m.span()
        body = m.group()
        ps = place_before(cs)
        if ps is None and (m.group("lvl") or m.group("gov")) and cs in doc.start_idx:
            # 礼泉县委 / 法王寺镇人民政府: a name-like run right before
            k = doc.start_idx.get(cs)
            if k is not None:
                s = _name_left(doc, k, 4)
                if (
                    s is not None
                    and cs - s >= 2
                    and text[s:cs] not in lx.GENERIC_PLACE_WORDS
                    and text[s] not in lx.NOT_PLACE_HEAD
                    and not text[s:cs].endswith(("党", "中共"))
                ):
                    ps = s
        if ps is not None:
            s = with_party(ps)
            out.append(_org(text, s, ce, 0.8))
            continue
        # no place: level + sub-organ (市委统战部, 县工商联); bare organs are nothing
        if (m.group("lvl") and m.group("sub")) or (m.group("lvl2") and m.group("body")):
            s = with_party(cs)
            if body not in lx.BARE_ORGANS:
                out.append(_org(text, s, ce, 0.7))
    for m in _PLACE_HEAD_RE.finditer(text):
        a, b = m.span()
        if m.group() in ("政府", "日报", "委员会") and a > 0 and text[a - 1] in "人党村居":
            continue  # 人民政府, 村民委员会 are matched whole
        ps = place_before(a)
        if ps is None and a > 1 and text[a - 1] == "县" and (a - 1) in doc.start_idx:
            k = doc.start_idx[a - 1]
            if k > 0 and _one_char_county(doc, k):
                ps = a - 2  # 道县融媒体中心
        if ps is None and a > 0 and text[a - 1] in lx.LEVEL_CHARS:
            # 县融媒体中心: a level alone (not the end of an unknown name)
            if a - 1 == 0 or not is_cjk(text[a - 2]) or text[a - 2] in lx.NAME_STOP_CHARS:
                ps = a - 1
            if m.group() in ("政府", "人民政府", "委员会"):
                ps = None  # 县政府, 县委员会: bare organs
        if ps is not None and text[ps:b] not in lx.BARE_ORGANS:
            out.append(_org(text, with_party(ps), b, 0.75))
    for t in doc.toks:
        if t.tag == "nt" and len(t.word) >= 4 and t.word.endswith(lx.ORG_SUFFIXES_LENIENT):
            out.append(_org(text, t.start, t.end, 0.7))  # 中国农业银行: jieba's organisation words
    for m in _DEMOCRATIC_RE.finditer(text):
        out.append(_org(text, m.start(), m.end(), 0.8))
    for m in _NATIONAL_RE.finditer(text):
        if text.startswith(("党员", "党史"), m.end()):
            continue
        out.append(_org(text, m.start(), m.end(), 0.75))
    for m in _MEDIA_RE.finditer(text):
        s = m.start(1)
        out.append(_org(text, s, m.end(1), 0.6))
    for m in _TEMPLE_RE.finditer(text):
        s, e = m.span()
        i = doc.tok_at(s)
        if doc.toks[i].start != s:
            continue
        j = doc.tok_at(s + 2)
        if doc.toks[j].start < s + 2 and doc.toks[j].end > s + 2:
            continue  # 参观, 故宫: the head char is inside a word
        name = text[s : s + 2]
        if freq(name) >= 100 and not proper_token(doc.toks[i]):
            continue
        out.append(_org(text, s, e, 0.55))
    lenient = set(lx.ORG_SUFFIXES_LENIENT)
    for m in _SUFFIX_RE.finditer(text):
        suf = m.group()
        ss, se = m.span()
        absorbed = None
        if not doc.is_boundary(ss):
            # 移民局, 促进会: a word ending with the suffix; the whole word joins the name
            t = doc.toks[doc.tok_at(ss)]
            if t.end != se or len(t.word) - len(suf) > 2:
                continue
            absorbed = ss
            ss = t.start
        if se < len(text) and suf in ("局", "厅", "委会") and is_cjk(text[se]) and text[se] not in "，、和与及":
            # 局长, 局面: a single-char suffix must end the word
            if text[se] in "长面势限部":
                continue
        s = _org_left(doc, ss, 16, keep_orgs=suf in ("支行", "分行", "分公司"))
        if s is None or s >= ss:
            if absorbed is None:
                continue
            s = ss
        name = text[s : absorbed if absorbed is not None else ss]
        full = text[s:se]
        if full in lx.BARE_ORGANS:
            continue
        if suf in lenient:
            if len(name) < 2 or name in lx.GENERIC_PLACE_WORDS:
                continue
            out.append(_org(text, s, se, 0.6))
            continue
        # strict suffixes: the name must carry a place, a level or a proper name
        ps = _place_or_level_start(doc, s, ss, places, gazetteer)
        if ps is None:
            if suf == "中心组" and ("党委" in name or "党组" in name):
                out.append(_org(text, s, se, 0.6))
            continue
        out.append(_org(text, with_party(ps), se, 0.6))
    return out + _branches(text, out)


_PLACE_HEAD_RE = re.compile("|".join(map(re.escape, sorted(lx.PLACE_ORG_HEADS, key=len, reverse=True))))
_BRANCH_RE = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:" + "|".join(lx.BRANCH_HEADS) + ")")


def _branches(text: str, orgs: list[dict]) -> list[dict]:
    """A bank or company, a place, a branch head: one ORG (中国农业银行X县支行)."""
    out = []
    for o in orgs:
        if not o["text"].endswith(("银行", "公司", "集团", "信用社", "联社")):
            continue
        m = _BRANCH_RE.match(text, o["end"])
        if m is None or any(c in lx.NAME_STOP_CHARS for c in m.group()):
            continue
        out.append(_org(text, o["start"], m.end(), 0.75))
    return out


def _org_left(doc: Doc, pos: int, max_chars: int, keep_orgs: bool = False) -> int | None:
    """Left edge of an organisation name ending at ``pos``: noun-like tokens; a verb
    is crossed only when a place or level further left anchors the name."""
    toks = doc.toks
    j = doc.tok_at(pos - 1) if pos > 0 else -1
    best = None
    pending_verb = False
    while j >= 0:
        t = toks[j]
        if pos - t.start > max_chars:
            break
        w = t.word
        if w in lx.ORGAN_HEADS:
            s = t.start
            if j > 0 and (toks[j - 1].word in lx.LEVEL_CHARS or toks[j - 1].tag == "ns"):
                s = toks[j - 1].start  # 镇党委…, 襄阳市委…
            return s
        if (w in lx.ORGAN_STOP or (t.tag == "nt" and w.endswith(tuple(lx.ORGAN_STOP)))) and not keep_orgs:
            break
        if len(w) == 1:
            if not is_cjk(w) or w in lx.NAME_STOP_CHARS:
                break
            if t.tag in FUNCTION_TAGS and not (
                t.tag == "f" and best is not None and best == t.end and len(toks[j + 1].word) == 1
            ):
                break
            if w in lx.LEVEL_CHARS:
                best = t.start
                pending_verb = False
                j -= 1
                continue
        elif t.tag in ("v", "vd", "a", "ad", "d", "p", "c", "r", "m", "t", "f", "u", "uj"):
            if t.tag in ("v", "a") and best is not None and t.freq < 20000:
                pending_verb = True  # 乡村振兴…总会, 农业发展有限公司
                j -= 1
                continue
            if t.tag in ("v", "a") and best is None:
                best = t.start  # 建设银行, 团结报社
                j -= 1
                continue
            break
        if pending_verb:
            if proper_token(t) or t.tag == "ns":
                best = t.start
                pending_verb = False
            elif t.tag in _NOUNISH or t.tag == "":
                pass
            else:
                break
        else:
            best = t.start
        j -= 1
    return best


def _place_or_level_start(doc: Doc, s: int, e: int, places, gazetteer) -> int | None:
    """Start of the org name inside ``text[s:e]``: the first token that is a place,
    a level (县, 市委 …) or 中共; None if there is none (a generic name)."""
    text = doc.text
    starts = {p["start"] for p in places if p["end"] <= e}
    k = doc.tok_at(s)
    while k < len(doc.toks) and doc.toks[k].start < e:
        t = doc.toks[k]
        p = t.start
        if p in starts or any(text.startswith(g, p) for g in gazetteer if len(g) <= e - p):
            return p
        if text.startswith(lx.PARTY_PREFIXES, p):
            return p
        w = t.word
        if (w in lx.LEVEL_CHARS or (len(w) == 2 and w[0] in lx.LEVEL_CHARS and w[1] in "委")) and not text.startswith(
            "级", p + 1
        ):
            return p
        k += 1
    return None


def _head_ok(prefix: str) -> bool:
    return prefix == "" or prefix in lx.PARTY_PREFIXES or (len(prefix) == 1 and prefix in lx.LEVEL_CHARS)


# ============================================================================ PERSON

_TITLE_RE = re.compile("|".join(map(re.escape, sorted(lx.TITLES, key=len, reverse=True))))
_AFTER_RE = re.compile("(?=(" + "|".join(map(re.escape, lx.AFTER_NAME_TITLES)) + "))")
_CREDIT_RE = re.compile(
    r"(?:^|(?<=[丨|｜\s]))(?:本期|本文|责任)?(?:" + "|".join(map(re.escape, lx.CREDIT_KEYS)) + r")"
    r"\s*[/／:：_|｜]\s*"
    r"((?:(?!(?:" + "|".join(map(re.escape, lx.CREDIT_KEYS)) + r")\s*[/／:：_|｜])"
    r"[\u4e00-\u9fff]{2,4}(?:[ \u3000、，,]+|(?=[\s丨|｜)）]|$)))+)",
    re.M,
)  # a name item is never the next credit key (编辑 | 某 校对 | 某)
_PAREN_NAME_RE = re.compile(r"(?<=[。！？!?”])\s*[（(]([\u4e00-\u9fff]{2,3})[)）]\s*(?=\n|$)")


def _given_len(doc: Doc, i: int) -> int:
    """Length of the name starting at ``i`` (surname included): 2 or 3 (or 4 for
    compound surnames), decided by stop characters and dictionary words after it."""
    text = doc.text
    sl = 2 if text.startswith(lx.COMPOUND_SURNAMES, i) else 1
    a = i + sl
    if a >= len(text) or not is_cjk(text[a]) or text[a] in lx.NAME_STOP_CHARS:
        return 0
    b = a + 1
    if b >= len(text) or not is_cjk(text[b]) or text[b] in lx.NAME_STOP_CHARS:
        return sl + 1
    if in_dict(text[b : b + 2]) or text.startswith(lx.AFTER_NAME_VERBS, b) or text.startswith(lx.TITLES, b):
        return sl + 1
    return sl + 2


def find_persons(doc: Doc) -> list[dict]:
    text = doc.text
    out: list[dict] = []
    for m in _TITLE_RE.finditer(text):
        i = m.end()
        if i >= len(text):
            continue
        c = text[i]
        if c not in lx.COMMON_SURNAMES and not text.startswith(lx.COMPOUND_SURNAMES, i):
            continue
        L = _given_len(doc, i)
        if L < 2:
            continue
        ct = tag(c)
        if ct == "c":
            continue  # 干事和嘎查村: a conjunction, not a surname
        if ct in ("p", "d", "r", "v") and i + 1 in doc.start_idx:
            k = doc.start_idx[i + 1]
            if len(doc.toks[k].word) >= 2:
                continue  # 人才向新乡集聚, 委员谈感悟: a function word or verb before a word
        name = text[i : i + L]
        weak = m.group() in lx.WEAK_TITLES
        if in_dict(name) and (weak or tag(name) not in ("nr", "nrfg", "nrt")):
            continue  # a word, not a name (after a strong title jieba's person words count)
        if (
            weak
            and L == 2
            and i + L < len(text)
            and text[i + L] not in lx.NAME_STOP_CHARS
            and not text.startswith(lx.AFTER_NAME_VERBS, i + L)
        ):
            continue  # 各界人士齐聚一堂: after a role word a short name needs a clear end
        out.append({"start": i, "end": i + L, "label": "PERSON", "text": name, "score": 0.8})
    for m in _AFTER_RE.finditer(text):
        e = m.start()
        for L in (3, 2, 4):
            s = e - L
            if s < 0:
                continue
            name = text[s:e]
            if not all(is_cjk(c) for c in name) or name[0] not in lx.COMMON_SURNAMES:
                continue
            at = doc.start_idx.get(s)
            if at is None:
                continue
            t = doc.toks[at]
            if t.end == e and t.tag in ("nr", "nrfg"):
                out.append({"start": s, "end": e, "label": "PERSON", "text": name, "score": 0.85})
                break
    for m in _CREDIT_RE.finditer(text):
        g0 = m.start(1)
        for nm in re.finditer(r"[\u4e00-\u9fff]{2,4}", m.group(1)):
            s, e = g0 + nm.start(), g0 + nm.end()
            if in_dict(nm.group()) and not doc_tag_person(nm.group()):
                continue
            out.append({"start": s, "end": e, "label": "PERSON", "text": nm.group(), "score": 0.75})
    for m in _PAREN_NAME_RE.finditer(text):
        name = m.group(1)
        if in_dict(name) or any(c in lx.NAME_STOP_CHARS for c in name):
            continue
        out.append({"start": m.start(1), "end": m.end(1), "label": "PERSON", "text": name, "score": 0.6})
    for cm in _SPACED_CREDIT_RE.finditer(text):
        if _name_shaped(doc, cm.start(1), cm.end(1)):
            out.append({"start": cm.start(1), "end": cm.end(1), "label": "PERSON", "text": cm.group(1), "score": 0.7})
    return out + _name_lists(doc, out)


# 记者 周某某 通讯员 吴某某: a credit key, spaces, a name, then a space or the line end
_SPACED_CREDIT_RE = re.compile(
    r"(?:^|(?<=[\s丨|｜(（]))(?:"
    + "|".join(map(re.escape, [k for k in lx.CREDIT_KEYS if len(k) >= 2]))
    + r")[ \u3000]+([\u4e00-\u9fff]{2,4})(?=[ \u3000\n丨|｜)）]|$)",
    re.M,
)
# items of a list separated by 、: 张某、王某某、李某某
_LIST_RE = re.compile(r"[\u4e00-\u9fff]{2,4}(?:、[\u4e00-\u9fff]{2,4})+")


def _name_shaped(doc: Doc, s: int, e: int) -> bool:
    """``text[s:e]`` can be a person's name: a surname, one or two more characters,
    whole jieba tokens, and not a dictionary word unless jieba calls it a person."""
    text = doc.text
    name = text[s:e]
    sl = 2 if name.startswith(lx.COMPOUND_SURNAMES) else 1
    if not (sl + 1 <= len(name) <= sl + 2) or (sl == 1 and name[0] not in lx.COMMON_SURNAMES):
        return False
    if any(c in lx.NAME_STOP_CHARS for c in name) or not doc.is_boundary(s) or not doc.is_boundary(e):
        return False
    if in_dict(name):
        return tag(name) in ("nr", "nrfg", "nrt") and freq(name) < 1000
    # the characters after the surname must not be a common word of their own (高校, 马上)
    rest = name[sl:]
    if len(rest) == 2 and freq(rest) >= 300 and tag(rest) not in ("nr", "nrfg", "nrt", "nz"):
        return False
    i = doc.start_idx[s]
    while i < len(doc.toks) and doc.toks[i].end <= e:
        t = doc.toks[i]
        if len(t.word) >= 2 and t.tag not in ("nr", "nrfg", "nrt", "") and t.freq >= 300:
            return False  # 王/国家: a common word inside
        if t.start > s and (t.tag in ("m", "q") or t.word in lx.CN_NUMERAL_CHARS):
            return False  # 江华两: a count, not a given name
        i += 1
    return True


def _name_lists(doc: Doc, found: list[dict]) -> list[dict]:
    """Names listed with 、 without titles (领导张某、王某出席; 有李某、陈某、黄某):
    every item must look like a name, and the list needs a cue (a list word or title
    before it, 等/出席/参加 after it) or a member already found as a person."""
    text = doc.text
    known = {(p["start"], p["end"]) for p in found}
    out = []
    for m in _LIST_RE.finditer(text):
        items = []
        pos = m.start()
        for part in m.group().split("、"):
            items.append((pos, pos + len(part)))
            pos += len(part) + 1
        # the regex may have glued the end of a cue or title to the first item
        # (导张某 of 领导张某): the first item is the name-shaped tail
        s0, e0 = items[0]
        for L in (3, 2, 4):
            if e0 - L >= s0 and _name_shaped(doc, e0 - L, e0):
                items[0] = (e0 - L, e0)
                break
        else:
            continue
        # ... and the start of what follows to the last item (刘某某参加)
        sl, el = items[-1]
        for L in (3, 2, 4):
            if sl + L <= el and _name_shaped(doc, sl, sl + L):
                items[-1] = (sl, sl + L)
                break
        else:
            continue
        if not all(_name_shaped(doc, a, b) for a, b in items[1:]):
            continue
        before = text[max(0, items[0][0] - 5) : items[0][0]]
        after = text[items[-1][1] : items[-1][1] + 3]
        cue = (
            before.endswith(lx.NAME_LIST_CUES)
            or before.endswith(lx.TITLES)
            or after.startswith(lx.NAME_LIST_AFTER)
            or any(it in known for it in items)
        )
        if not cue:
            continue
        for a, b in items:
            out.append({"start": a, "end": b, "label": "PERSON", "text": text[a:b], "score": 0.65})
    return out


def doc_tag_person(word: str) -> bool:
    """A dictionary word that may still be a person's name: jieba tags it as a
    person and its given-name part is not a common word (高水平 = 高 + 水平)."""
    if tag(word) not in ("nr", "nrfg", "nrt") or len(word) not in (2, 3, 4):
        return False
    rest = word[1:]
    if len(rest) >= 2 and freq(rest) > 300 and tag(rest) not in ("nr", "nrfg", "nrt"):
        return False
    return freq(word) < 3000


# ============================================================================ propagation


def propagate(text: str, strings: dict[str, str], score: float = 0.5) -> list[dict]:
    """Other occurrences in the document of names already found: ``strings`` maps
    a surface string to its label."""
    keys = [k for k in strings if len(k) >= 2]
    if not keys:
        return []
    rx = re.compile("|".join(map(re.escape, sorted(keys, key=len, reverse=True))))
    out = []
    for m in rx.finditer(text):
        out.append({"start": m.start(), "end": m.end(), "label": strings[m.group()], "text": m.group(), "score": score})
    return out


def short_forms(name: str) -> list[str]:
    """合江县 → 合江, 苍岭镇 → 苍岭 (only when two or more characters remain)."""
    out = []
    for suf in lx.SHORTENABLE:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            core = name[: -len(suf)]
            if core not in lx.GENERIC_PLACE_WORDS and not core.endswith(lx.ADMIN_SUFFIXES):
                out.append(core)
            break
    return out
