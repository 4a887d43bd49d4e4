"""Number grammar for QUANTITY spans: Arabic and Chinese numerals, decimals,
multipliers (十 百 千 万 亿), approximation markers and units.

Values are computed exactly with :class:`decimal.Decimal` and returned as an
``int`` when integral (``2.2亿`` → ``220000000``), else as the float of the
decimal string (``45.3`` → ``45.3``), never through binary float products.

Pure Python, no jieba: usable anywhere.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .labels import validate_attrs

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_BIG = {"万": 10_000, "亿": 100_000_000}
MULTIPLIER = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}

FULLWIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")


def parse_chinese_int(s: str) -> int | None:
    """``三`` → 3, ``十二`` → 12, ``一百零五`` → 105, ``两万三千`` → 23000,
    ``二〇二一`` → 2021 (digit by digit). None if not a numeral."""
    if not s:
        return None
    if all(c in CN_DIGITS for c in s):
        if len(s) == 1:
            return CN_DIGITS[s]
        return int("".join(str(CN_DIGITS[c]) for c in s))
    total = 0  # finished 亿/万 sections
    section = 0  # current section below 万
    digit = None
    for c in s:
        if c in CN_DIGITS:
            digit = CN_DIGITS[c]
        elif c in CN_UNITS:
            section += (1 if digit is None else digit) * CN_UNITS[c]
            digit = None
        elif c in CN_BIG:
            section += digit or 0
            if section == 0:
                section = 1
            total = (total + section) * CN_BIG[c] if c == "亿" else total + section * CN_BIG[c]
            section = 0
            digit = None
        else:
            return None
    return total + section + (digit or 0)


def to_number(d: Decimal) -> int | float:
    """Exact Decimal → int when integral, else float from its decimal string."""
    if d == d.to_integral_value():
        return int(d)
    return float(format(d.normalize(), "f"))


def parse_arabic(s: str) -> Decimal:
    return Decimal(s.translate(FULLWIDTH).replace(",", ""))


def apply_multipliers(value: Decimal, mult: str) -> Decimal:
    for c in mult:
        value *= MULTIPLIER[c]
    return value


# ----------------------------------------------------------------------------- grammar

# Units and counters (longest first inside the alternation). A unit may be
# preceded by a multiplier: 万元, 亿元, 万人次, 万斤 ...
UNITS = [
    "平方公里",
    "平方千米",
    "平方米",
    "立方米",
    "个百分点",
    "百分点",
    "人次",
    "户次",
    "场次",
    "批次",
    "架次",
    "车次",
    "班次",
    "余次",
    "公里",
    "千米",
    "厘米",
    "毫米",
    "公顷",
    "公斤",
    "千克",
    "小时",
    "个月",
    "美元",
    "欧元",
    "港元",
    "人民币",
    "千瓦",
    "兆瓦",
    "毫升",
    "课时",
    "学时",
    "家次",
    "件次",
    "万字",
    "人",
    "名",
    "位",
    "个",
    "家",
    "户",
    "次",
    "场",
    "期",
    "批",
    "项",
    "条",
    "件",
    "份",
    "块",
    "支",
    "座",
    "所",
    "处",
    "间",
    "类",
    "种",
    "篇",
    "本",
    "册",
    "部",
    "台",
    "辆",
    "套",
    "张",
    "幅",
    "首",
    "款",
    "门",
    "栋",
    "幢",
    "盏",
    "根",
    "棵",
    "株",
    "头",
    "只",
    "匹",
    "元",
    "米",
    "亩",
    "斤",
    "吨",
    "升",
    "字",
    "天",
    "岁",
    "倍",
    "届",
    "轮",
    "堂",
    "节",
    "对",
    "组",
    "队",
    "户",
]
UNITS = sorted(set(UNITS) - {"万字", "余次"}, key=len, reverse=True)
# units after which a following CJK char must not continue a word (点 → 点位 is fine, 点评 not)
UNIT_BLOCKERS = {
    "点": "评名赞击燃亮拨明滴",
    "天": "下然地空气津使",
    "对": "于接口象照比标话待外",
    "张": "力",
    "门": "户槛类",
    "队": "伍员",
    "站": "长点起台",
    "团": "结体队员",
    "组": "织成建长",
    "届": "时",
    "节": "日目约能",
    "条": "件例款",
    "部": "门分署长",
    "元": "旦素首",
    "所": "有以在谓属",
    "期": "间待望限末盼",
    "家": "庭乡园人里属",
    "本": "地土领身质次级",
    "村": "民级庄落",
    "镇": "村级区",
    "处": "理置于",
    "类": "型",
    "批": "准复评示",
    "次": "要",
    "台": "阶风账",
    "场": "所景地面馆",
    "头": "雁羊部",
    "名": "单称义额录",
    "种": "植养子类",
    "份": "额",
    "件": "事",
    "项": "目",
    "位": "于置",
    "堂": "课",
    "轮": "廓",
    "支": "部持援付撑出",
    "座": "谈",
    "间": "隔",
    "块": "头",
}
APPROX_PREFIX = {
    "大约": "about",
    "约": "about",
    "将近": "nearly",
    "接近": "nearly",
    "近": "nearly",
    "超过": "more",
    "逾": "more",
}
APPROX_SUFFIX = {"以上": "more", "左右": "about", "多": "more", "余": "more", "上下": "about"}

_AR = r"[0-9０-９]+(?:[,，][0-9０-９]{3})*(?:[.．][0-9０-９]+)?"
_CN = r"[零〇一二两三四五六七八九十百千万亿]+"
_MULT = r"(?:[十百千万亿](?![米克瓦]))*"
_UNIT = "|".join(map(re.escape, UNITS))
_RANGE = r"(?:至|到|—|–|-|~|～|－)"

QUANTITY_RE = re.compile(
    rf"(?P<pre>大约|约|将近|接近|近|超过|逾)?"
    rf"(?:(?P<ar>{_AR})|(?P<cn>{_CN}))"
    rf"(?P<mid>余|多)?"
    rf"(?P<mult>{_MULT})"
    rf"(?:{_RANGE}(?P<ar2>{_AR})(?P<mult2>{_MULT})|{_RANGE}(?P<cn2>{_CN}))?"
    rf"(?P<mid2>余|多)?"
    rf"(?:(?P<unit>{_UNIT})|(?P<pct>[%％]))?"
    rf"(?P<post>以上|左右|上下|多)?"
)
PERCENT_CN_RE = re.compile(rf"百分之(?P<cn>[零〇一二两三四五六七八九十百点]+|{_AR})")

ADMIN_CHARS = set("省市县区镇乡村旗")
_NUM_BEFORE = set("0123456789０１２３４５６７８９.．_/-:：")
_LATIN = re.compile(r"[A-Za-z]")


def _cn_value(s: str) -> Decimal | None:
    v = parse_chinese_int(s)
    return None if v is None else Decimal(v)


def find_quantities(text: str, start: int = 0, end: int | None = None) -> list[dict]:
    """QUANTITY spans with exact attrs in ``text[start:end]``."""
    end = len(text) if end is None else end
    out: list[dict] = []
    pos = start
    n = len(text)
    while pos < end:
        m = QUANTITY_RE.search(text, pos, end)
        if not m:
            break
        pos = m.end() if m.end() > m.start() else m.start() + 1
        span = _quantity_from_match(text, m, n)
        if span is not None:
            out.append(span)
            pos = span["end"]
        else:
            # skip the whole numeral run: never re-read its tail as a new number (十二 → 二)
            pos = max(m.start() + 1, m.end("ar") if m.group("ar") else m.end("cn"))
    for m in PERCENT_CN_RE.finditer(text, start, end):
        raw = m.group("cn")
        if raw[0].isdigit():
            val = parse_arabic(raw)
        elif "点" in raw:
            a, _, b = raw.partition("点")
            ia = parse_chinese_int(a)
            if ia is None or not b or any(c not in CN_DIGITS for c in b):
                continue
            val = Decimal(f"{ia}.{''.join(str(CN_DIGITS[c]) for c in b)}")
        else:
            v = parse_chinese_int(raw)
            if v is None:
                continue
            val = Decimal(v)
        out.append(
            {
                "start": m.start(),
                "end": m.end(),
                "label": "QUANTITY",
                "text": m.group(),
                "attrs": {"value": to_number(val), "unit": "%", "approx": None},
                "score": 0.9,
            }
        )
    return out


def _quantity_from_match(text: str, m: re.Match, n: int) -> dict | None:
    ar, cn = m.group("ar"), m.group("cn")
    unit, pct = m.group("unit"), m.group("pct")
    mult = m.group("mult") or ""
    s = m.start("ar") if ar else m.start("cn")
    before = text[s - 1] if s > 0 else ""
    pre = m.group("pre")
    # numbers glued to other numbers, codes, versions or times are not quantities
    if before in _NUM_BEFORE or (before and _LATIN.match(before)):
        return None
    if before == "第" or (pre is None and before and before in "每周"):
        return None
    if cn:
        # a Chinese numeral must contain a digit (千家万户 is not 1000 家),
        # and a lone 一 is an article (一个品牌, 一批) rather than a reported figure
        if not any(c in CN_DIGITS or c == "十" for c in cn):
            return None
        if cn in ("一", "两") and not (unit and unit in ("个百分点",)):
            if cn == "一":
                return None
        # multiplier chars were swallowed by the numeral itself: split trailing 万/亿
        val = _cn_value(cn)
        if val is None:
            return None
        if m.group("ar2"):
            return None
        if not unit and not pct:
            return None  # Chinese numerals need a counter (三个, 五个)
        if before and before in "之":
            return None
    else:
        val = parse_arabic(ar)
    val = apply_multipliers(val, mult)
    if m.group("cn2") and ar:
        return None
    if not unit and not pct:
        # a bare magnitude (1000万, 10亿) is a quantity with unit ""; a bare number is not
        if not mult or not any(c in "万亿" for c in mult) or not ar:
            return None
        unit = ""
    # unit must not be the start of a longer word (3点评 / 5天下)
    uend = m.end("unit") if m.group("unit") else (m.end("pct") if pct else m.end("mult"))
    if unit:
        blockers = UNIT_BLOCKERS.get(unit)
        nxt = text[uend] if uend < n else ""
        if blockers and nxt and nxt in blockers and not m.group("post"):
            return None
        if nxt and nxt in ADMIN_CHARS and unit in ("支", "条", "块", "台", "门", "头", "本", "部", "只", "张"):
            return None  # 九支镇 is a place, not nine of something
        if unit in ("届", "天", "堂", "轮", "节", "对", "组", "队", "米", "升") and cn:
            return None
    if m.group("ar2") or m.group("mult2"):
        # range: value = lower bound; a multiplier written only on the upper bound applies to both
        if not mult and m.group("mult2"):
            val = apply_multipliers(val, m.group("mult2"))
    approx = None
    if pre:
        approx = APPROX_PREFIX[pre]
    for g in ("mid", "mid2", "post"):
        if m.group(g):
            approx = approx or APPROX_SUFFIX[m.group(g)]
    if m.group("post") == "多" and approx is None:
        approx = "more"
    e = m.end()
    st = m.start()
    if pct:
        unit = "%"
    return {
        "start": st,
        "end": e,
        "label": "QUANTITY",
        "text": text[st:e],
        "attrs": {"value": to_number(val), "unit": unit, "approx": approx},
        "score": 0.95 if ar else 0.8,
    }


# ----------------------------------------------------------------------------- one value model
# Everything that reads, writes, compares or shows QUANTITY attrs goes through the functions
# below: the proposer (find_quantities above), the annotate and review TUIs, review clustering,
# import and export. A value is an ``int`` when integral, else a ``float``; ``15000000.0`` and
# ``15000000`` are the same value.

APPROX_MARKS = {"more": "余+", "about": "约~", "nearly": "近<"}

_VALUE_MULT = {"k": 1000, "K": 1000, "w": 10_000, "W": 10_000, **MULTIPLIER}


def parse_value(s: str) -> int | float | None:
    """A value typed by a person: ``"1500万"`` → 15000000, ``"2.2亿"`` → 220000000,
    ``"1,200"`` → 1200, ``"一千五百万"`` → 15000000, ``"4.5"`` → 4.5, ``""`` → None.

    Raises ValueError with a message for anything else."""
    s = s.strip().translate(FULLWIDTH).replace(",", "").replace("，", "")
    if not s or s.lower() in ("-", "none", "null"):
        return None
    cn = parse_chinese_int(s)
    if cn is not None:
        return cn
    mult = 1
    while s and s[-1] in _VALUE_MULT:
        mult *= _VALUE_MULT[s[-1]]
        s = s[:-1].strip()
    try:
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", s):
            cn = parse_chinese_int(s)
            if cn is None:
                raise ValueError
            return to_number(Decimal(cn) * mult)
        v = Decimal(s)
    except ValueError:
        raise ValueError(f"value must be a number (e.g. 1500, 1500万 or 一千五百万), not {s!r}") from None
    v *= mult
    if v and v.adjusted() > 18:  # past any real figure, and past what JSON readers keep exact
        raise ValueError(f"value must be a number below 10^19, not {s!r}")
    return to_number(v)


def derive_attrs(text: str) -> dict | None:
    """QUANTITY attrs of a span's text, by the proposer's grammar (:func:`find_quantities`):
    the longest figure the text holds (「干部1200余人」 → 1200 人 more; 「2至3个」 → 2 个);
    else a bare number typed as a span (「45」, 「一千五百」) with unit ``""``; None when the
    text holds no figure (「苍岭」, 「一批」).

    Whenever a span is or becomes QUANTITY (relabel, add, bound move, review edit, import
    without attrs) its attrs come from here, unless a person typed them."""
    found = find_quantities(text)
    if found:
        best = max(found, key=lambda q: (q["end"] - q["start"], -q["start"]))
        return dict(best["attrs"])
    try:
        v = parse_value(text)
    except ValueError:
        return None
    return None if v is None else {"value": v, "unit": "", "approx": None}


def attrs_disagree(attrs: dict | None, text: str) -> bool:
    """Whether QUANTITY attrs say something else than the span's text does (a value typed
    by hand for other bounds, stale attrs after a bound move). A text the grammar cannot
    read does not disagree: there is nothing to compare with."""
    derived = derive_attrs(text)
    return derived is not None and not same_attrs(attrs, derived)


def attrs_follow_text(attrs: dict | None, text: str) -> bool:
    """Whether a QUANTITY's attrs are the grammar's reading of ``text`` (or missing), so a
    bound move may read them again from the new text. Attrs a person typed to say something
    else, or typed where the grammar reads nothing, are theirs and stay."""
    return attrs is None or same_attrs(attrs, derive_attrs(text))


def canonical_value(v):
    """``15000000.0`` → ``15000000``; other values (and non-numbers) unchanged."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**63:
        return int(v)
    return v


def canonical_attrs(attrs: dict | None) -> dict | None:
    """Attrs with their value in canonical form (``{}`` → None), for storing and comparing."""
    if not attrs:
        return None
    if "value" in attrs and not isinstance(attrs["value"], bool):
        v = canonical_value(attrs["value"])
        if v is not attrs["value"]:
            return {**attrs, "value": v}
    return attrs


def same_attrs(a: dict | None, b: dict | None) -> bool:
    """Equal by value: ``{"value": 15000000.0}`` is ``{"value": 15000000}``."""
    return canonical_attrs(a) == canonical_attrs(b)


def format_value(v) -> str:
    """``15000000.0`` → ``15000000``, ``4.5`` → ``4.5``, None → ``""``."""
    if v is None:
        return ""
    v = canonical_value(v)
    return repr(v) if isinstance(v, float) else str(v)


def format_attrs(attrs: dict | None, *, compact: bool = False) -> str:
    """The one way attrs are shown: ``1500万元 (more)``; ``compact`` (a narrow column):
    ``1500万元 余+``. A missing value is ``?``."""
    if not attrs:
        return ""
    out = (format_value(attrs.get("value")) or "?") + (attrs.get("unit") or "")
    ap = attrs.get("approx")
    if ap:
        out += " " + APPROX_MARKS.get(ap, ap) if compact else f" ({ap})"
    return out


# ----------------------------------------------------------------------------- the attrs input
_APPROX_ALIASES = {
    "": None,
    "-": None,
    "none": None,
    "null": None,
    "more": "more",
    "余": "more",
    "多": "more",
    "以上": "more",
    "超过": "more",
    ">": "more",
    "about": "about",
    "约": "about",
    "左右": "about",
    "大约": "about",
    "~": "about",
    "nearly": "nearly",
    "近": "nearly",
    "将近": "nearly",
    "<": "nearly",
}


def attrs_from_fields(value: str, unit: str, approx: str) -> dict:
    """QUANTITY attrs from what a person typed (value, unit, approx), validated; ValueError
    with a message otherwise."""
    typed = approx.strip()
    a: str | None
    if typed.lower() in _APPROX_ALIASES:
        a = _APPROX_ALIASES[typed.lower()]
    elif typed in _APPROX_ALIASES:
        a = _APPROX_ALIASES[typed]
    else:
        raise ValueError(f"approx must be more / about / nearly or empty, not {approx.strip()!r}")
    attrs = {"value": parse_value(value), "unit": unit.strip(), "approx": a}
    err = validate_attrs("QUANTITY", attrs)
    if err:
        raise ValueError(err)
    return attrs
