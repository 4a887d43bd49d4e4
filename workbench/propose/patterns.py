"""Regular-expression rules: DATE, DOC (《》), quoted names (PROGRAM candidates)
and numbered slogans. No jieba here.
"""

from __future__ import annotations

import re

from . import lexicon as lx

# ----------------------------------------------------------------------------- DATE
_Y = r"(?:1[89]|20)\d{2}"
_M = r"(?:1[0-2]|0?[1-9])"
_D = r"(?:3[01]|[12]\d|0?[1-9])"
_SEP = r"\s?(?:至|到|—|–|-|~|～|－|——)\s?"
_CNY = r"[〇零一二三四五六七八九]{4}"
_CNM = r"(?:十[一二]|[一二三四五六七八九十])"
_CND = r"(?:三十[一]?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])"

DATE_RE = re.compile(
    rf"(?<![0-9０-９.\-])(?:"
    # 2020年7月17日, 2021年7月, 2024年, ranges 2019年6月至2020年1月, 2021年7月1日至3日
    rf"{_Y}年(?:{_M}月(?:{_D}(?:日|号)?(?:{_SEP}(?:(?:{_Y}年)?{_M}月)?{_D}(?:日|号))?|{_SEP}(?:{_Y}年)?{_M}月)?"
    rf"|{_SEP}{_Y}年)?"
    # 11月8日至9日, 5月29—30日, 06月07日, 7月
    rf"|{_M}月{_D}(?:日|号)?{_SEP}(?:{_M}月)?{_D}(?:日|号)"
    rf"|{_M}月{_D}(?:日|号)"
    rf"|{_M}月(?:{_SEP}{_M}月)?(?=[份,，。、中底初上下以起至到的]|$)"
    # 2020-07-17, 2020/7/17, 2020.07.17
    rf"|{_Y}[-/.]{_M}[-/.]{_D}(?![0-9])"
    # 二〇二一年十月一日
    rf"|{_CNY}年(?:{_CNM}月(?:{_CND}日)?)?"
    rf"|{_CNM}月{_CND}日"
    rf")"
)
# copyright year ranges: 2015-2022 (only between two plausible years)
YEAR_RANGE_RE = re.compile(rf"(?<![0-9])({_Y})\s?[-—–~]\s?({_Y})(?![0-9年])")
# relative or festive expressions that look like dates but are not
_NOT_DATE_AFTER = ("来", "之前")


def find_dates(text: str) -> list[dict]:
    out = []
    for m in DATE_RE.finditer(text):
        s, e = m.span()
        if e <= s:
            continue
        t = m.group()
        if text.startswith(_NOT_DATE_AFTER, e) and t.endswith("年") and "月" not in t:
            continue  # 2018年来 style relative time
        if re.fullmatch(rf"{_M}月", t) and s > 0 and text[s - 1] in "个几每上下本这该":
            continue
        out.append({"start": s, "end": e, "label": "DATE", "text": t, "score": 0.95})
    for m in YEAR_RANGE_RE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if a < b:
            out.append({"start": m.start(), "end": m.end(), "label": "DATE", "text": m.group(), "score": 0.8})
    return out


# ----------------------------------------------------------------------------- DOC
DOC_RE = re.compile(r"《([^《》\n]{1,80})》")


def find_docs(text: str) -> list[dict]:
    out = []
    for m in DOC_RE.finditer(text):
        s, e = m.span(1)
        inner = m.group(1)
        if not inner.strip():
            continue
        out.append({"start": s, "end": e, "label": "DOC", "text": inner, "score": 0.95})
    return out


# ----------------------------------------------------------------------------- quotes
QUOTE_PAIRS = (("“", "”"), ("‘", "’"), ("「", "」"), ("『", "』"), ('"', '"'))
_QUOTE_RES = [
    re.compile(re.escape(o) + r"([^" + re.escape(o + c) + r"\n]{1,80})" + re.escape(c)) for o, c in QUOTE_PAIRS
]
SENTENCE_PUNCT = set("。！？!?；;")
_DIGIT_RE = re.compile(r"[0-9０-９A-Za-z]")
_STRUCT_RE = re.compile(r"[+＋·•\-—/]")


def find_quotes(text: str) -> list[tuple[int, int]]:
    """(start, end) of the insides of quotation marks (several quote styles)."""
    out = []
    for rx in _QUOTE_RES:
        for m in rx.finditer(text):
            out.append(m.span(1))
    out.sort()
    return out


def _after(text: str, e: int, n: int = 12) -> str:
    """Text after a quote, skipping closing marks and one 的/等."""
    j = e
    while j < len(text) and text[j] in '”’」』" ':
        j += 1
    return text[j : j + n]


def _before(text: str, s: int, n: int = 4) -> str:
    j = s
    while j > 0 and text[j - 1] in '“‘「『" ':
        j -= 1
    return text[max(0, j - n) : j]


def numbered_slogan(inner: str) -> bool:
    """三大法宝, 四好五化六有, 一核引领, 1+3+N, 1146: numbered slogans."""
    if _DIGIT_RE.search(inner):
        return len(inner) >= 2 or inner.isdigit() and len(inner) >= 2
    return inner[0] in lx.CN_NUMERAL_CHARS and len(inner) >= 2


_CUE_STOP = set("，。、；：,;:“”‘’「」（）()\n!?！？")


def _cue_at(tail: str) -> int | None:
    """Index of the first programme cue word in ``tail`` before any punctuation."""
    for i in range(min(len(tail), 8)):
        if tail[i] in _CUE_STOP:
            return None
        if tail.startswith(lx.PROGRAM_CUES, i):
            return i
    return None


def program_score(text: str, s: int, e: int) -> float:
    """How much the quoted text ``text[s:e]`` looks like a named programme.

    Features: digits / ``+`` / ``·`` structure, a leading Chinese numeral
    (numbered slogans), programme-like endings, cue words after the quote
    (专栏, 行动, 模式, 机制, 活动 ...), a programme verb before it (开展, 打造 ...),
    list context (等, 、“). Against: sentence punctuation (quoted speech),
    one-character quotes, metaphors, honour titles, style words after the
    quote (文章, 起来).
    """
    inner = text[s:e]
    L = len(inner)
    if L < 2 or inner in lx.METAPHORS:
        return 0.0
    if any(c in SENTENCE_PUNCT for c in inner) or L > 60:
        return 0.0
    after = _after(text, e)
    before = re.sub(r"[0-9一二三四五六七八九十两百千万余多个项家场次]+$", "", _before(text, s, 10)).rstrip("了着出")
    score = 0.0
    has_digit = bool(_DIGIT_RE.search(inner))
    if has_digit:
        if inner.isdigit() and L < 3:
            return 0.0
        score += 1.5
    if _STRUCT_RE.search(inner) and L >= 3:
        score += 1.5 if ("+" in inner or "＋" in inner) else 1.0
    if inner[0] in lx.CN_NUMERAL_CHARS and not has_digit:
        score += 1.5
    if inner.endswith(lx.PROGRAM_ENDINGS):
        score += 1.0
    tail = after
    for skip in ("的", "等", "和", "及", "为"):
        if tail.startswith(skip) and not tail.startswith(
            ("为主", "为抓", "为架", "为桥", "为载", "为目", "为引", "为重", "为核")
        ):
            tail = tail[len(skip) :]
            break
    i = _cue_at(tail)
    if i is not None:
        score += 1.5 if i <= 2 else 1.0
    elif after.startswith("等"):
        score += 0.6
    if before.endswith(lx.PROGRAM_PRE_VERBS):
        score += 0.5
    # apposition: 信贷产品——“…”, 服务品牌:“…”
    appo = _before(text, s, 8)
    if re.search(r"(?:产品|品牌|平台|栏目|专栏|公众号|工程|项目)(?:——|—|:|：)$", appo):
        score += 1.5
    if after.startswith(lx.NON_PROGRAM_AFTER):
        score -= 2.0
    # enumerations of clauses with 、 or , are slogans only with a cue
    if ("、" in inner or "," in inner or "，" in inner) and i is None and not inner.endswith(lx.PROGRAM_ENDINGS):
        score -= 1.0
    # honour titles (示范单位, 先进集体) are not programmes
    if re.search(r"示范|先进|模范|标兵|优秀|五好|十佳|星级|文明单位", inner) and not has_digit:
        score -= 2.0
    # atmosphere words: 大统战, 大合唱, 大团结大联合
    if inner.startswith("大") and L <= 6 and not has_digit:
        score -= 1.5
    # short style words: X力, X度, X圈 (引领力, 温度, 朋友圈), and 2-char quotes
    if L <= 3 and inner[-1] in "力度圈感性" and inner[0] not in lx.CN_NUMERAL_CHARS:
        score -= 1.5
    if L == 2 and not has_digit and inner[0] not in lx.CN_NUMERAL_CHARS:
        score -= 0.7
    if inner.endswith(("起来", "下去", "出来")):
        score -= 2.0
    return score


def quote_groups(text: str, quotes: list[tuple[int, int]]) -> list[list[int]]:
    """Indices of quotes written next to each other (“A”“B”, “A”、“B”, “A”和“B”)."""
    groups: list[list[int]] = []
    for k, (s, _e) in enumerate(quotes):
        if groups:
            ps, pe = quotes[groups[-1][-1]]
            gap = text[pe:s]
            if len(gap) <= 3 and re.fullmatch(r"[”’」』\"]\s?(?:、|和|与|及|,|，)?\s?[“‘「『\"]", gap):
                groups[-1].append(k)
                continue
        groups.append([k])
    return groups


# ----------------------------------------------------------------------------- unquoted programmes
_PRE = "|".join(map(re.escape, sorted(set(lx.PROGRAM_PRE_VERBS), key=len, reverse=True)))
_UNQUOTED_RE = re.compile(
    rf"(?:{_PRE})了?([\u4e00-\u9fff]{{2,12}}?(?:"
    + "|".join(map(re.escape, lx.UNQUOTED_PROGRAM_HEADS))
    + r"))(?=[，。、；：,;:！？!?\s（(0-9０-９]|等|的|和|与|及|$)"
)
_ENUM_RE = re.compile(
    rf"(?:{_PRE})了?((?:[\u4e00-\u9fff]{{2,10}}、)+[\u4e00-\u9fff]{{2,10}})等"
    r"[\u4e00-\u9fff]{0,10}?[一二两三四五六七八九十]大[\u4e00-\u9fff]{0,2}?(?:" + "|".join(lx.ENUMERATION_HEADS) + ")"
)
_NOT_NAME_START = ("各", "这", "该", "此", "其", "多", "全", "一批", "一系列", "相关", "有关", "若干", "本")


def _generic_program(name: str, head: str) -> bool:
    mod = name[: -len(head)]
    if len(mod) < 2 or mod in lx.GENERIC_PROGRAM_MODIFIERS or mod.startswith(_NOT_NAME_START):
        return True
    if head in ("工程", "行动", "计划", "行动计划", "专项行动") and mod.endswith(lx.GENERIC_PROGRAM_MODIFIER_ENDS):
        return True
    return False


def find_unquoted_programs(text: str) -> list[dict]:
    """Unquoted programme names: a programme verb (实施, 开展, 启动 …), then a
    name ending with a programme head (…工程, …行动, …计划, …大讲堂, …擂台赛), the
    head included; and enumerations of names closed by 等…N大行动 (each name).
    Generic names (专项行动, 重点工程, 基础设施建设工程) are left out."""
    out = []
    for m in _UNQUOTED_RE.finditer(text):
        name = m.group(1)
        head = next(h for h in sorted(lx.UNQUOTED_PROGRAM_HEADS, key=len, reverse=True) if name.endswith(h))
        if _generic_program(name, head) or any(c in "的了着和与及或把被" for c in name):
            continue  # 推进工作的行动: a clause, not a name
        if re.match(r"\s*[0-9０-９一二三四五六七八九十两]+\s*[个项处座条]", text[m.end(1) : m.end(1) + 6]):
            continue  # 实施…工程5个: projects of a kind, counted
        out.append({"start": m.start(1), "end": m.end(1), "label": "PROGRAM", "text": name, "score": 0.55})
    for m in _ENUM_RE.finditer(text):
        pos = m.start(1)
        for part in m.group(1).split("、"):
            if not part.startswith(_NOT_NAME_START):
                out.append({"start": pos, "end": pos + len(part), "label": "PROGRAM", "text": part, "score": 0.55})
            pos += len(part) + 1
    return out
