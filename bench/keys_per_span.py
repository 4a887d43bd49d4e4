"""Keys per gold span: an oracle annotator that knows the gold drives the real annotate session.

    python bench/keys_per_span.py --gold /work/shared/gold/seeds.jsonl [--db DB] [--accept-all]

Without ``--db`` the documents are ingested from ``--corpus`` (default: the bundled corpus) into a
temporary database and proposed (``rules``); every gold document must be there with the gold's
text. With ``--db`` that database is used as it is (gold documents without proposals are proposed);
the oracle's decisions are written to it under ``--annotator`` (default ``oracle``, which must have
no decisions in the gold documents yet).

The oracle drives :class:`workbench.session.AnnotationSession` (the object the annotate screen
calls) and uses only what that screen offers a person: the keys of
``workbench/tui/annotate_keys.py`` and the inputs of its bars (search, attrs). Per document it
reads the proposals, decides for each which gold span it is (exact, to fix, or none), and then
works through the document from top to bottom, each time taking the cheapest sequence of keys:

* moves: the shortest path of ``j k g G space`` to the item, or ``/`` + typed text + Enter;
* a proposal equal to a gold span: ``a`` (the cursor advances to the next pending one);
* a proposal near a gold span: fixed with the bound keys ``[ ] { }``, a label digit and ``e``
  (attrs form), or rejected and the span added, whichever is cheaper;
* a proposal that is no gold span: ``x``;
* a missed span: ``n`` and the caret motions ``h l w b e 0 $`` with ``v`` (anchor) and a label
  digit, or the word under the caret and a digit, or ``n p`` (the current proposal's range) and
  motions, or ``s`` + typed text + Enter (+ motions) + digit (``s`` opens the new-span mode's
  search; Enter selects the match); the cheapest. An add, a label key and a saved attrs form
  move the cursor to the next pending proposal;
* ``f`` (and ``y`` when proposals are left pending) finishes the document and opens the next.

The cost of a sequence is its key presses plus ``TYPED_CHAR_COST`` per typed character (``--typed-cost``:
a Chinese character typed through an input method takes a few keys); typed
text is counted apart from keys (``keys per gold span`` excludes it and a line of its own gives
it). With ``--accept-all`` the oracle may also start a document with ``A`` ``y`` (accept every
pending proposal at once) and then fix what is wrong, when that is cheaper: a person who
accepts without reading is not what the headline measures, so it is off by default.

The add mode's caret and anchor are :class:`workbench.session.spanmode.SpanMode`, the model the
annotate screen (and review's add mode) moves: the oracle drives that same object, so its motions
(``h l w b e 0 $``, ``v``, ``p``) land where the app's do. The search bar's state (it opens empty,
typing finds from the origin, Enter goes or selects) is the app's and is modelled here.

At the end the oracle's spans are read back from the database and compared with the gold
(start, end, label, and QUANTITY attrs by value); any difference is printed and the exit
status is 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.core.labels import LABELS  # noqa: E402
from workbench.core.quantity import attrs_follow_text, derive_attrs, format_value, same_attrs  # noqa: E402
from workbench.session import AnnotationSession, SessionError, attrs_from_fields  # noqa: E402
from workbench.session.spanmode import SpanMode  # noqa: E402
from workbench.session.view import FINAL  # noqa: E402
from workbench.tui.annotate_keys import ATTRS, CONFIRM, KEYS, NORMAL, SEARCH, SPAN  # noqa: E402
from workbench.tui.help import key_label  # noqa: E402

KINDS = ("accept", "fix", "add", "reject", "move", "finish")
TYPED_CHAR_COST = 1.0  # what one typed character weighs against one key when the oracle compares sequences
SEARCH_STEPS_MAX = 40
BOOKKEEPING = (
    "search.query",
    "attrs.values",
)  # plan entries that are no key: what a search or form is for  # next/previous-match presses the oracle considers after a search


# ---------------------------------------------------------------------------------------------
# THE key-cost table: oracle step -> the binding it presses (its key read from annotate_keys.KEYS)
# or, for keys of an input bar (which the key table does not hold), the key itself.
@dataclass(frozen=True)
class Step:
    binding: str | None  # a binding id of annotate_keys.KEYS ("label.{n}": the label's digit)
    mode: str  # the mode the key is pressed in (checked against the key table)
    kind: str  # what it counts as (a search counts as the kind of what it is used for)
    key: str | None = None  # for keys of an input bar only (enter, tab, ctrl+u in Textual's Input)


STEPS: dict[str, Step] = {
    # moving the cursor over the proposals
    "next": Step("cursor.next", NORMAL, "move"),
    "prev": Step("cursor.prev", NORMAL, "move"),
    "first": Step("cursor.first", NORMAL, "move"),
    "last": Step("cursor.last", NORMAL, "move"),
    "skip": Step("skip", NORMAL, "move"),
    # deciding
    "accept": Step("accept", NORMAL, "accept"),
    "accept_all": Step("accept_all", NORMAL, "accept"),
    "accept_all.yes": Step("confirm.yes", CONFIRM, "accept"),
    "reject": Step("reject", NORMAL, "reject"),
    # fixing a proposal
    "relabel": Step("label.{n}", NORMAL, "fix"),
    "start.left": Step("start.left", NORMAL, "fix"),
    "start.right": Step("start.right", NORMAL, "fix"),
    "end.left": Step("end.left", NORMAL, "fix"),
    "end.right": Step("end.right", NORMAL, "fix"),
    "attrs": Step("attrs", NORMAL, "fix"),
    "attrs.field": Step(None, ATTRS, "fix", key="tab"),
    "attrs.clear": Step(None, ATTRS, "fix", key="ctrl+u"),
    "attrs.save": Step(None, ATTRS, "fix", key="enter"),
    # adding a missed span
    "new": Step("new_span", NORMAL, "add"),
    "new.search": Step("add_search", NORMAL, "add"),
    "caret.left": Step("span.left", SPAN, "add"),
    "caret.right": Step("span.right", SPAN, "add"),
    "word.next": Step("span.word_next", SPAN, "add"),
    "word.prev": Step("span.word_prev", SPAN, "add"),
    "word.end": Step("span.word_end", SPAN, "add"),
    "line.start": Step("span.line_start", SPAN, "add"),
    "line.end": Step("span.line_end", SPAN, "add"),
    "anchor": Step("span.anchor", SPAN, "add"),
    "proposal": Step("span.proposal", SPAN, "add"),
    "add": Step("label.{n}", SPAN, "add"),
    # search (in normal mode it moves the cursor; in the new-span mode it selects the match)
    "search": Step("search", NORMAL, "move"),
    "search.span": Step("search", SPAN, "add"),
    "search.next": Step("search.next", SEARCH, "move"),
    "search.prev": Step("search.prev", SEARCH, "move"),
    "search.done": Step(None, SEARCH, "move", key="enter"),
    # documents
    "finish": Step("finish", NORMAL, "finish"),
    "finish.yes": Step("confirm.yes", CONFIRM, "finish"),
    "doc.next": Step("doc.next", NORMAL, "finish"),
    "doc.prev": Step("doc.prev", NORMAL, "finish"),
}


def _key_of(step: Step, label: str | None = None) -> str:
    """The key a person presses for ``step``: the first key of its binding in the app's table."""
    if step.binding is None:
        assert step.key is not None
        return step.key
    bid = step.binding.format(n=LABELS.index(label) + 1 if label else 1)
    for k in KEYS:
        if k.id == bid:
            return k.keys.split(",")[0]
    raise KeyError(bid)


def check_steps() -> list[str]:
    """Every step names a binding the annotate key table has, active in the step's mode."""
    problems = []
    by_id = {k.id: k for k in KEYS}
    for name, st in STEPS.items():
        if st.binding is None:
            continue
        bid = st.binding.format(n=1)
        k = by_id.get(bid)
        if k is None:
            problems.append(f"step {name}: annotate_keys has no binding {bid!r}")
        elif st.mode not in k.modes:
            problems.append(f"step {name}: binding {bid!r} is not active in mode {st.mode!r} ({', '.join(k.modes)})")
    return problems


_PROBLEMS = check_steps()
if _PROBLEMS:  # the key table changed under the bench: say what to update
    raise SystemExit(
        "bench/keys_per_span.py: STEPS is out of date with annotate_keys.KEYS:\n  " + "\n  ".join(_PROBLEMS)
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class Tally:
    keys: Counter = field(default_factory=Counter)  # kind -> key presses
    typed: Counter = field(default_factory=Counter)  # kind -> typed characters
    steps: Counter = field(default_factory=Counter)  # step name -> presses
    adds: list[tuple[int, int, str]] = field(default_factory=list)  # per added span: (keys, typed, method)
    keys_of: dict[str, set[str]] = field(default_factory=dict)  # step name -> the keys pressed for it
    log: list[str] = field(default_factory=list)  # per added span: what was pressed (--verbose)
    gold_spans: int = 0
    per_doc: list[dict] = field(default_factory=list)
    strategy: Counter = field(default_factory=Counter)

    @property
    def total_keys(self) -> int:
        return sum(self.keys.values())

    @property
    def total_typed(self) -> int:
        return sum(self.typed.values())


@dataclass
class Plan:
    """A costed sequence: (step name, argument) pairs and typed text, not run yet."""

    steps: list[tuple[str, object]] = field(default_factory=list)
    keys: int = 0
    typed: int = 0
    method: str = ""
    typed_cost: ClassVar[float] = TYPED_CHAR_COST  # set by --typed-cost

    @property
    def cost(self) -> float:
        return self.keys + self.typed_cost * self.typed

    def add(self, name: str, arg: object = None) -> Plan:
        self.steps.append((name, arg))
        if name in BOOKKEEPING:
            pass
        elif name == "type":
            self.typed += len(str(arg))
        else:
            self.keys += 1
        return self

    def extend(self, other: Plan) -> Plan:
        for name, arg in other.steps:
            self.add(name, arg)
        return self


def _gold_key(sp: dict) -> tuple:
    return (sp["start"], sp["end"], sp["label"])


def spans_equal(got: list[dict], gold: list[dict]) -> list[str]:
    """Differences between the annotator's spans and the gold (start, end, label; QUANTITY attrs by
    value). Empty when they are equal."""
    out = []
    g = {_gold_key(s): s for s in gold}
    a = {_gold_key(s): s for s in got}
    for k in sorted(g.keys() - a.keys()):
        out.append(f"missing {k[2]} {k[0]}-{k[1]} 「{g[k]['text']}」")
    for k in sorted(a.keys() - g.keys()):
        out.append(f"extra {k[2]} {k[0]}-{k[1]} 「{a[k]['text']}」")
    for k in sorted(a.keys() & g.keys()):
        if k[2] == "QUANTITY" and not same_attrs(a[k].get("attrs"), g[k].get("attrs")):
            out.append(f"attrs of {k[0]}-{k[1]} 「{a[k]['text']}」: {a[k].get('attrs')} != {g[k].get('attrs')}")
    if len(got) != len(a):
        out.append(f"{len(got) - len(a)} duplicate spans")
    return out


# the caret motions of the new-span mode the oracle walks (step name -> SpanMode method); j k
# (display lines) depend on the terminal width and are left out
MOTIONS = {
    "caret.left": lambda m: m.move(-1),
    "caret.right": lambda m: m.move(1),
    "word.next": SpanMode.word_next,
    "word.prev": SpanMode.word_prev,
    "word.end": SpanMode.word_end,
    "line.start": SpanMode.line_start,
    "line.end": SpanMode.line_end,
}


class DocOracle:
    """The oracle on the open document of ``session``."""

    def __init__(self, oracle: Oracle, gold: list[dict]):
        self.o = oracle
        self.s = oracle.session
        self.text = self.s.text
        self.n = len(self.text)
        self.gold = sorted(gold, key=_gold_key)
        self.span = SpanMode(self.text, self.s.words)
        # the caret graph of the new-span mode: every motion from every position, as the
        # shared model (workbench.session.spanmode) moves it
        n = max(1, self.n)
        probe = SpanMode(self.text, self.s.words)
        self._moves: list[list[tuple[int, str]]] = []
        for p in range(n):
            out = []
            for name, fn in MOTIONS.items():
                probe.caret, probe.anchor = p, None
                fn(probe)
                out.append((probe.caret, name))
            self._moves.append(out)
        self._bfs: dict[int, tuple[list[int], list[tuple[int, str]]]] = {}
        self.role: dict[str, tuple[str, int | None]] = {}  # item key -> ("exact"|"fix"|"junk", gold index)
        self.missed: list[int] = []  # gold spans to add
        # the search bar while it is open: origin, query typed so far, the last hit
        self._origin = 0
        self._query = ""
        self._pos: int | None = None

    # ----------------------------------------------------------------- caret distances
    def _caret_bfs(self, src: int) -> tuple[list[int], list[tuple[int, str]]]:
        hit = self._bfs.get(src)
        if hit is not None:
            return hit
        n = max(1, self.n)
        dist = [-1] * n
        par: list[tuple[int, str]] = [(-1, "")] * n
        dist[src] = 0
        q = deque([src])
        while q:
            p = q.popleft()
            for nxt, step in self._moves[p]:
                if dist[nxt] < 0:
                    dist[nxt] = dist[p] + 1
                    par[nxt] = (p, step)
                    q.append(nxt)
        if len(self._bfs) > 64:
            self._bfs.clear()
        self._bfs[src] = (dist, par)
        return dist, par

    def caret_path(self, src: int, dst: int) -> list[str]:
        dist, par = self._caret_bfs(src)
        out = []
        p = dst
        while p != src:
            prev, step = par[p]
            out.append(step)
            p = prev
        return out[::-1]

    def caret_dist(self, src: int, dst: int) -> int:
        return self._caret_bfs(src)[0][dst]

    # ----------------------------------------------------------------- search
    def _search_typing(self, query: str, plan: Plan, *, in_span: bool) -> None:
        """``/`` (in normal mode; ``s`` opens the new-span mode and its search at once) and the
        typing of ``query`` into the search bar, which opens empty (Enter alone repeats the
        last query)."""
        plan.add("new.search" if in_span else "search")
        if query == self.o.last_query:
            return
        plan.add("type", query)

    def _search_hits(self, query: str, origin: int) -> list[int]:
        """Where the search lands on opening (from ``origin``) and after each next-match press,
        as the app steps it (``find`` from the last hit + 1, wrapping)."""
        hits: list[int] = []
        h = self.s.find(query, origin)
        while h is not None and len(hits) <= SEARCH_STEPS_MAX:
            hits.append(h[0])
            h = self.s.find(query, h[0] + 1)
            if h is not None and h[0] == hits[0]:
                break
        return hits

    def _search_back(self, query: str, origin: int) -> list[int]:
        h = self.s.find(query, origin)
        out: list[int] = []
        while h is not None and len(out) <= SEARCH_STEPS_MAX:
            out.append(h[0])
            h = self.s.find(query, h[0], backwards=True)
            if h is not None and h[0] == out[0]:
                break
        return out

    def _search_to(self, query: str, origin: int, target: int) -> list[str] | None:
        """The next/previous-match presses that bring a search for ``query`` from ``origin``
        to the match starting at ``target``, fewest first; None if out of reach."""
        fwd = self._search_hits(query, origin)
        back = self._search_back(query, origin)
        best = None
        if target in fwd:
            best = ["search.next"] * fwd.index(target)
        if target in back:
            b = ["search.prev"] * back.index(target)
            if best is None or len(b) < len(best):
                best = b
        return best

    # ----------------------------------------------------------------- adding a missed span
    def add_plan(self, g: dict, origin: int, item: dict | None = None) -> Plan:
        """The cheapest way to add gold span ``g`` after ``n`` with the caret at ``origin``
        (the current item ``item``'s start)."""
        s, e, label = g["start"], g["end"], g["label"]
        best: Plan | None = None

        def consider(p: Plan) -> None:
            nonlocal best
            if best is None or (p.cost, p.keys) < (best.cost, best.keys):
                best = p

        dist = self._caret_bfs(origin)[0]
        # the word under the caret
        for p in range(s, e):
            if self.s.word_at(p) == (s, e):
                pl = Plan(method="word under caret").add("new")
                for st in self.caret_path(origin, p):
                    pl.add(st)
                consider(pl.add("add", label))
        # anchor at one end, caret to the other
        for a, b in ((s, e - 1), (e - 1, s)):
            if dist[a] < 0:
                continue
            pl = Plan(method="motions + anchor").add("new")
            for st in self.caret_path(origin, a):
                pl.add(st)
            pl.add("anchor")
            for st in self.caret_path(a, b):
                pl.add(st)
            consider(pl.add("add", label))
        # the current proposal's range (p), the caret then moved to the span's end
        if item is not None and item["start"] == s and dist[s] >= 0:
            pl = Plan(method="proposal range").add("new").add("proposal")
            for st in self.caret_path(item["end"] - 1, e - 1):
                pl.add(st)
            consider(pl.add("add", label))
        # search (s): a prefix of the span (the match is selected), the caret then moved to its end
        for k in range(1, e - s + 1):
            query = self.text[s : s + k]
            presses = self._search_to(query, origin, s)
            if presses is None:
                continue
            pl = Plan(method="search")
            self._search_typing(query, pl, in_span=True)
            for st in presses:
                pl.add(st)
            pl.add("search.done")
            for st in self.caret_path(s + k - 1, e - 1):
                pl.add(st)
            pl.add("add", label)
            pl.steps.insert(0, ("search.query", query))  # bookkeeping, no key
            consider(pl)
        assert best is not None
        return best

    def run_add(self, g: dict, plan: Plan) -> None:
        o, sp = self.o, self.span
        keys0, typed0 = o.tally.total_keys, o.tally.total_typed
        o.trace = []
        query = None
        for name, arg in plan.steps:
            if name == "search.query":
                query = arg
                continue
            if name in ("new", "new.search"):
                it = self.s.current  # n: the caret at the current item's start (the bench never scrolls)
                sp.caret, sp.anchor = sp._clamp(it["start"] if it is not None else 0), None
                if name == "new":
                    o.press(name)
                else:
                    self._run_search_step(name, arg, query, kind="add", span=True)
            elif name in MOTIONS:
                o.press(name)
                MOTIONS[name](sp)
            elif name == "anchor":
                o.press(name)
                sp.toggle_anchor()
            elif name == "proposal":
                o.press(name)
                it = self.s.current
                assert it is not None
                sp.select(it["start"], it["end"])
            elif name in ("type", "search.next", "search.prev", "search.done"):
                self._run_search_step(name, arg, query, kind="add", span=True)
            elif name == "add":
                a, b = sp.selection()
                if (a, b) != (g["start"], g["end"]):
                    raise AssertionError(f"bench: the selection is {a}-{b}, not {g['start']}-{g['end']}")
                o.press(
                    name, kind="add", label=str(arg), call=lambda a=a, b=b, lab=str(arg): self.s.add_span(a, b, lab)
                )
            else:
                raise AssertionError(name)
        self.o.tally.adds.append((o.tally.total_keys - keys0, o.tally.total_typed - typed0, plan.method))
        self.o.tally.log.append(
            f"{self.s.doc_id} {g['label']} 「{g['text']}」 {g['start']}-{g['end']}: {' '.join(o.trace)}"
        )
        o.trace = None

    def _run_search_step(self, name: str, arg, query, *, kind: str, span: bool) -> None:
        """Search as the app runs it: the bar opens empty; typing finds the match from the origin
        (nothing moves yet), next/previous step from the last hit, Enter goes to the match (in
        the new-span mode: selects it); Enter on an empty bar repeats the last query."""
        o = self.o
        if name in ("search", "new.search"):
            o.press(name, kind=kind)
            it = self.s.current
            self._origin = self.span.caret if span else (it["start"] if it is not None else 0)
            self._query = ""
            self._pos = None
        elif name == "type":
            o.type_text(str(arg), kind)
            self._query += str(arg)
            self._search_run(self._query, self._origin)
        elif name in ("search.next", "search.prev"):
            o.press(name, kind=kind)
            q = self._query or o.last_query
            pos = self._pos if self._pos is not None else self._origin
            if name == "search.next":
                self._search_run(q, pos + 1)
            else:
                self._search_run(q, pos, backwards=True)
        elif name == "search.done":
            o.press(name, kind=kind)
            q = self._query or o.last_query
            if self._pos is None:
                self._search_run(q, self._origin)
            if self._pos is not None:
                hit = self.s.find(q, self._pos)
                assert hit is not None
                if span:
                    self.span.select(*hit)
                else:
                    self.s.goto_offset(hit[0])
            o.last_query = q
            if query is not None and q != query:
                raise AssertionError(f"bench: searched {q!r}, meant {query!r}")

    def _search_run(self, query: str, origin: int, backwards: bool = False) -> None:
        hit = self.s.find(query, origin, backwards=backwards)
        self._pos = None if hit is None else hit[0]

    # ----------------------------------------------------------------- moving the cursor
    def _landing(self, offset: int) -> int:
        """The item ``goto_offset`` makes current (the first that ends after ``offset``)."""
        for j, it in enumerate(self.s.items):
            if it["end"] > offset:
                return j
        return len(self.s.items) - 1

    def nav_plan(self, target: int) -> Plan:
        """The cheapest moves from the cursor to item ``target``: j k g G space, or a search."""
        items = self.s.items
        n = len(items)
        c = self.s.cursor
        if c == target or n == 0:
            return Plan()
        pending = [it["status"] == "pending" for it in items]
        nxt_pending = [n] * (n + 1)
        for i in range(n - 1, -1, -1):
            nxt_pending[i] = i if pending[i] else nxt_pending[i + 1]

        def space(i: int) -> int:
            j = nxt_pending[i + 1] if i + 1 <= n else n
            return j if j < n else min(i + 1, n - 1)

        dist = {c: 0}
        par: dict[int, tuple[int, str]] = {}
        q = deque([c])
        while q and target not in dist:
            i = q.popleft()
            for j, st in (
                (min(i + 1, n - 1), "next"),
                (max(i - 1, 0), "prev"),
                (0, "first"),
                (n - 1, "last"),
                (space(i), "skip"),
            ):
                if j not in dist:
                    dist[j] = dist[i] + 1
                    par[j] = (i, st)
                    q.append(j)
        path = []
        i = target
        while i != c:
            i, st = par[i]
            path.append(st)
        best = Plan(method="moves")
        for st in reversed(path):
            best.add(st)
        if best.keys > 3:  # a search costs / + text + Enter: worth a look only past 3 moves
            origin = items[c]["start"]
            t0 = items[target]["start"]
            for k in range(1, 7):
                query = self.text[t0 : t0 + k]
                if not query or "\n" in query:
                    break
                presses = self._search_to(query, origin, t0)
                if presses is None or self._landing(t0) != target:
                    continue
                pl = Plan(method="search")
                pl.steps.append(("search.query", query))
                self._search_typing(query, pl, in_span=False)
                for st in presses:
                    pl.add(st)
                pl.add("search.done")
                if (pl.cost, pl.keys) < (best.cost, best.keys):
                    best = pl
        return best

    def run_nav(self, plan: Plan) -> None:
        o, s = self.o, self.s
        query = None
        for name, arg in plan.steps:
            if name == "search.query":
                query = arg
            elif name == "next":
                o.press(name, call=lambda: s.move(1))
            elif name == "prev":
                o.press(name, call=lambda: s.move(-1))
            elif name == "first":
                o.press(name, call=lambda: s.set_cursor(0))
            elif name == "last":
                o.press(name, call=lambda: s.set_cursor(len(s.items) - 1))
            elif name == "skip":
                o.press(name, call=s.skip)
            else:
                self._run_search_step(name, arg, query, kind="move", span=False)

    def goto(self, key: str) -> None:
        i = self.s.index_of(key)
        assert i is not None
        self.run_nav(self.nav_plan(i))
        if self.s.current is None or self.s.current["key"] != key:
            raise AssertionError(f"bench: navigation missed item {key}")

    # ----------------------------------------------------------------- fixing a proposal
    def _bound_steps(self, it: dict, g: dict) -> list[tuple[str, int, int]] | None:
        """The bound presses from ``it``'s range to ``g``'s, shrinking first: (step, start, end)
        after each; None if an intermediate range would be refused (line break, overlap)."""
        s, e = it["start"], it["end"]
        out = []
        while s < g["start"]:
            s += 1
            out.append(("start.right", s, e))
        while e > g["end"]:
            e -= 1
            out.append(("end.left", s, e))
        while s > g["start"]:
            s -= 1
            out.append(("start.left", s, e))
        while e < g["end"]:
            e += 1
            out.append(("end.right", s, e))
        for _, a, b in out:
            if a >= b or "\n" in self.text[a:b] or self._blocker(a, b, it["key"], final_only=True):
                return None
        return out

    def _attrs_plan(self, have: dict | None, want: dict | None) -> Plan | None:
        """``e``, the fields that differ (tab to it, ctrl+u, type), Enter; None if nothing to do."""
        if same_attrs(have, want):
            return None
        h = have or {}
        w = want or {}
        cur = [format_value(h.get("value")), h.get("unit") or "", h.get("approx") or ""]
        new = [format_value(w.get("value")), w.get("unit") or "", w.get("approx") or ""]
        if not same_attrs(attrs_from_fields(*new), want):
            raise AssertionError(f"bench: the attrs form cannot give {want}")
        pl = Plan(method="attrs").add("attrs")
        field_at = 0
        for i in range(3):
            if cur[i] == new[i]:
                continue
            for _ in range(i - field_at):
                pl.add("attrs.field")
            field_at = i
            if cur[i]:
                pl.add("attrs.clear")
            if new[i]:
                pl.add("type", new[i])
        pl.steps.append(("attrs.values", tuple(new)))
        return pl.add("attrs.save")

    def fix_plan(self, it: dict, g: dict) -> Plan | None:
        """Bounds, then label, then attrs; None if the bound moves would be refused on the way."""
        bounds = self._bound_steps(it, g)
        if bounds is None:
            return None
        pl = Plan(method="fix")
        for st, _, _ in bounds:
            pl.add(st)
        attrs = it["attrs"]
        if bounds and it["label"] == "QUANTITY":
            if attrs_follow_text(attrs, it["text"]):
                attrs = derive_attrs(self.text[g["start"] : g["end"]])
        if g["label"] != it["label"]:
            pl.add("relabel", g["label"])
            if g["label"] != "QUANTITY":
                attrs = None
            elif it["label"] != "QUANTITY":
                attrs = derive_attrs(self.text[g["start"] : g["end"]])
        if g["label"] == "QUANTITY":
            ap = self._attrs_plan(attrs, g.get("attrs"))
            if ap is not None:
                pl.extend(ap)
        return pl

    def run_fix(self, plan: Plan, key: str | None = None) -> None:
        """Run a fix of item ``key`` (default: the current one); a label key moves the cursor
        on, so the attrs form after it is opened on the item again (moves counted)."""
        o, s = self.o, self.s
        if key is None and s.current is not None:
            key = s.current["key"]
        values: tuple = ("", "", "")
        for name, arg in plan.steps:
            if name == "start.right":
                o.press(name, call=lambda: s.move_start(1))
            elif name == "start.left":
                o.press(name, call=lambda: s.move_start(-1))
            elif name == "end.right":
                o.press(name, call=lambda: s.move_end(1))
            elif name == "end.left":
                o.press(name, call=lambda: s.move_end(-1))
            elif name == "relabel":
                o.press(name, label=str(arg), call=lambda a=str(arg): s.relabel(a))
            elif name == "attrs":
                if key is not None and (s.current is None or s.current["key"] != key):
                    self.goto(key)
                o.press(name)
            elif name in ("attrs.field", "attrs.clear"):
                o.press(name)
            elif name == "type":
                o.type_text(str(arg), "fix")
            elif name == "attrs.values":
                assert isinstance(arg, tuple)
                values = arg
            elif name == "attrs.save":
                o.press(name, call=lambda v=values: s.set_attrs(attrs_from_fields(*v)))
            else:
                raise AssertionError(name)

    # ----------------------------------------------------------------- the plan of the document
    def _blocker(self, a: int, b: int, exclude: str | None, *, final_only: bool = True) -> dict | None:
        """A final item (one of the annotator's spans) overlapping a..b other than ``exclude``."""
        for it in self.s.items:
            if it["key"] != exclude and it["status"] in FINAL and it["start"] < b and it["end"] > a:
                return it
        return None

    def assign_roles(self) -> None:
        items = self.s.items
        by_span = {(it["start"], it["end"], it["label"]): it for it in items if it["proposal_id"] is not None}
        taken: set[str] = set()
        self.missed = []
        for gi, g in enumerate(self.gold):
            it = by_span.get(_gold_key(g))
            if it is not None:
                self.role[it["key"]] = ("exact", gi)
                taken.add(it["key"])
        exact_gold = {gi for r, gi in self.role.values() if r == "exact"}
        for gi, g in enumerate(self.gold):
            if gi in exact_gold:
                continue
            best, best_cost = None, None
            for it in items:
                if it["key"] in taken or it["proposal_id"] is None:
                    continue
                if it["start"] < g["end"] and it["end"] > g["start"]:
                    # the bound moves, as if nothing blocked them (checked again when run)
                    cost = abs(it["start"] - g["start"]) + abs(it["end"] - g["end"]) + (it["label"] != g["label"])
                    if best_cost is None or cost < best_cost:
                        best, best_cost = it, cost
            if best is not None and best_cost is not None:
                add_cost = self.add_plan(g, best["start"], best).cost
                if best_cost <= add_cost:
                    self.role[best["key"]] = ("fix", gi)
                    taken.add(best["key"])
                    continue
            self.missed.append(gi)
        for it in items:
            self.role.setdefault(it["key"], ("junk", None))

    def _done_gold(self, gi: int) -> bool:
        g = self.gold[gi]
        for it in self.s.items:
            if (it["start"], it["end"], it["label"]) == _gold_key(g) and it["status"] in FINAL:
                return g["label"] != "QUANTITY" or same_attrs(it["attrs"], g.get("attrs"))
        return False

    def targets(self, *, reject_pending: bool) -> list[tuple[tuple, str, object]]:
        """What is left to do, in document order: (position, what, item key or gold index)."""
        out: list[tuple[tuple, str, object]] = []
        for it in self.s.items:
            role, gi = self.role.get(it["key"], ("added", None))
            pos = (it["start"], 0, it["end"])
            if role == "exact" and gi is not None:
                g = self.gold[gi]
                attrs_ok = g["label"] != "QUANTITY" or same_attrs(it["attrs"], g.get("attrs"))
                if it["status"] not in FINAL:
                    out.append((pos, "accept" if attrs_ok else "fix", it["key"]))
                elif not attrs_ok:
                    out.append((pos, "fix", it["key"]))
            elif role == "fix" and gi is not None:
                if not self._done_gold(gi) or it["status"] not in FINAL:
                    out.append((pos, "fix", it["key"]))
            elif role == "junk":
                if it["status"] in FINAL or (reject_pending and it["status"] == "pending"):
                    out.append((pos, "reject", it["key"]))
        for gi in self.missed:
            if not self._done_gold(gi):
                g = self.gold[gi]
                out.append(((g["start"], 1, g["end"]), "add", gi))
        out.sort(key=lambda t: t[0])
        return out

    def _item(self, key: str) -> dict:
        i = self.s.index_of(key)
        assert i is not None, key
        return self.s.items[i]

    def _range_of(self, what: str, ref) -> tuple[int, int, str | None]:
        if what == "add":
            g = self.gold[ref]
            return g["start"], g["end"], None
        if what == "fix":
            gi = self.role[ref][1]
            it = self._item(ref)
            if gi is not None:
                g = self.gold[gi]
                return min(g["start"], it["start"]), max(g["end"], it["end"]), ref
            return it["start"], it["end"], ref
        it = self._item(ref)
        return it["start"], it["end"], ref

    def do(self, what: str, ref, reject_pending: bool) -> None:
        if what != "reject":  # the annotator's own wrong spans in the way go first
            a, b, exclude = self._range_of(what, ref)
            blocker = self._blocker(a, b, exclude)
            if blocker is not None and self.role.get(blocker["key"], ("added",))[0] == "junk":
                self.do("reject", blocker["key"], reject_pending)
                return
        if what == "accept":
            self.goto(ref)
            self.o.press("accept", call=self.s.accept)
        elif what == "reject":
            self.goto(ref)
            self.o.press("reject", call=self.s.reject)
        elif what == "fix":
            gi = self.role[ref][1]
            assert gi is not None
            it = self._item(ref)
            plan = self.fix_plan(it, self.gold[gi])
            if plan is None:  # the bound moves would be refused here: reject it and add the span
                self.role[ref] = ("junk", None)
                self.missed.append(gi)
                return
            self.goto(ref)
            self.run_fix(plan, ref)
        elif what == "add":
            g = self.gold[ref]
            best = None
            for key in self._add_origins(g):
                i = self.s.index_of(key) if key is not None else None
                nav = self.nav_plan(i) if i is not None else Plan()
                origin = self.s.items[i]["start"] if i is not None else 0
                add = self.add_plan(g, origin, self.s.items[i] if i is not None else None)
                total = nav.cost + add.cost
                if best is None or total < best[0]:
                    best = (total, nav, add)
            assert best is not None
            self.run_nav(best[1])
            self.run_add(g, best[2])
            # the QUANTITY attrs the add read from the text, if the gold says otherwise (the add
            # moved the cursor on: back to the added span first)
            cur = next((it for it in self.s.items if _gold_key(it) == _gold_key(g)), None)
            if cur is not None and g["label"] == "QUANTITY":
                ap = self._attrs_plan(cur["attrs"], g.get("attrs"))
                if ap is not None:
                    self.goto(cur["key"])
                    self.run_fix(ap)

    def _add_origins(self, g: dict) -> list[str | None]:
        """Where ``n`` may be pressed from: the current item, the items just before and after."""
        items = self.s.items
        if not items:
            return [None]
        keys = [items[self.s.cursor]["key"]]
        before = [it for it in items if it["start"] <= g["start"]]
        after = [it for it in items if it["start"] >= g["end"]]
        if before:
            keys.append(before[-1]["key"])
        if after:
            keys.append(after[0]["key"])
        return list(dict.fromkeys(keys))

    def run(self, *, accept_all: bool) -> str:
        self.assign_roles()
        strategy = "walk"
        if accept_all and self.s.pending_count and self._accept_all_pays():
            strategy = "accept-all"
            self.o.press("accept_all")
            self.o.press("accept_all.yes", call=self.s.accept_all)
        guard = 0
        while True:
            todo = self.targets(reject_pending=strategy == "walk")
            if not todo:
                break
            _, what, ref = todo[0]
            self.do(what, ref, strategy == "walk")
            guard += 1
            if guard > 20 * (len(self.gold) + len(self.s.items) + 10):
                raise AssertionError(f"bench: no progress in {self.s.doc_id}: {todo[:3]}")
        return strategy

    def _accept_all_pays(self) -> bool:
        """Whether ``A y`` and fixing what is wrong is cheaper than deciding one by one (a
        dry estimate: one key per proposal walking, against 2 + ~(3 moves + 1) per wrong one)."""
        wrong = sum(1 for it in self.s.items if it["status"] == "pending" and self.role[it["key"]][0] != "exact")
        return 2 + 4 * wrong < self.s.pending_count


class Oracle:
    """Annotates the gold documents through one AnnotationSession, counting keys."""

    def __init__(self, store, gold_docs: list[dict], *, annotator: str = "oracle", accept_all: bool = False):
        self.store = store
        self.gold = {d["id"]: d for d in gold_docs}
        self.annotator = annotator
        self.accept_all = accept_all
        self.tally = Tally()
        self.last_query = ""
        self.session = AnnotationSession(store, annotator)
        self.trace: list[str] | None = None

    def press(self, name: str, *, kind: str | None = None, label: str | None = None, call=None):
        st = STEPS[name]
        k = kind or st.kind
        self.tally.keys[k] += 1
        key = _key_of(st, label)
        self.tally.steps[name] += 1
        self.tally.keys_of.setdefault(name, set()).add(key)
        if self.trace is not None:
            self.trace.append(key)
        if call is None:
            return None
        try:
            return call()
        except SessionError as e:
            raise AssertionError(f"bench: {name} refused in {self.session.doc_id}: {e}") from None

    def type_text(self, text: str, kind: str) -> None:
        self.tally.typed[kind] += len(text)
        if self.trace is not None:
            self.trace.append(repr(text))

    def run(self) -> Tally:
        s = self.session
        ids = s.queue.ids
        order = sorted(ids.index(d) for d in self.gold if d in ids)
        missing = [d for d in self.gold if d not in ids]
        if missing:
            raise SystemExit(f"gold documents not in {self.annotator}'s queue: {', '.join(missing[:5])}")
        for qi in order:
            while s.doc_index != qi:  # tab / shift+tab to it
                if s.doc_index < qi:
                    self.press("doc.next", call=s.next_doc)
                else:
                    self.press("doc.prev", call=s.prev_doc)
            gold = self.gold[s.doc_id]
            if gold["text"] != s.text:
                raise SystemExit(f"{s.doc_id}: the database's text is not the gold's (another corpus?)")
            keys0, typed0 = self.tally.total_keys, self.tally.total_typed
            strategy = DocOracle(self, gold["spans"]).run(accept_all=self.accept_all)
            self.tally.strategy[strategy] += 1
            self.press("finish")
            if s.pending_count:
                self.press("finish.yes")
            self.press_finish_call()
            self.tally.gold_spans += len(gold["spans"])
            self.tally.per_doc.append(
                {
                    "id": gold["id"],
                    "gold": len(gold["spans"]),
                    "keys": self.tally.total_keys - keys0,
                    "typed": self.tally.total_typed - typed0,
                    "strategy": strategy,
                }
            )
        return self.tally

    def press_finish_call(self) -> None:
        s = self.session
        try:
            s.finish(force=True)
        except SessionError as e:
            raise AssertionError(f"bench: finish refused: {e}") from None
        try:
            s.next_unfinished()  # what f does next in the app
        except SessionError:
            pass

    def differences(self) -> dict[str, list[str]]:
        """The oracle's spans as the database holds them, against the gold."""
        out = {}
        for doc_id, gold in self.gold.items():
            got = self.store.annotator_spans(doc_id, self.annotator)
            diff = spans_equal([dict(g) for g in got], gold["spans"])
            if diff:
                out[doc_id] = diff
        return out


def report(t: Tally) -> str:
    n = max(1, t.gold_spans)
    lines = [
        f"gold spans {t.gold_spans} in {len(t.per_doc)} documents; "
        f"{t.total_keys} keys and {t.total_typed} typed characters "
        f"(strategy per document: {', '.join(f'{k} {v}' for k, v in sorted(t.strategy.items()))})",
        "",
        "kind        keys  per gold span  typed chars",
    ]
    for k in KINDS:
        lines.append(f"{k:<10} {t.keys[k]:>5}  {t.keys[k] / n:>13.3f}  {t.typed[k]:>11}")
    lines.append(f"{'total':<10} {t.total_keys:>5}  {t.total_keys / n:>13.3f}  {t.total_typed:>11}")
    lines += ["", "steps pressed (most first)       key          presses  per gold span"]
    for name, c in t.steps.most_common():
        keys = " ".join(sorted(key_label(k) for k in t.keys_of.get(name, ())))
        lines.append(f"  {name:<30} {keys:<12} {c:>7}  {c / n:>13.3f}")
    lines.append("")
    if t.adds:
        ks = [a[0] for a in t.adds]
        ty = [a[1] for a in t.adds]
        methods = Counter(a[2] for a in t.adds)
        lines.append(
            f"adding a missed span ({len(t.adds)}): median {statistics.median(ks):g} keys + "
            f"{statistics.median(ty):g} typed chars; keys min {min(ks)} max {max(ks)}; "
            f"typed min {min(ty)} max {max(ty)}; by {', '.join(f'{m} {c}' for m, c in methods.most_common())}"
        )
        hist = Counter(ks)
        lines.append("  keys: " + "  ".join(f"{k}×{hist[k]}" for k in sorted(hist)))
    else:
        lines.append("adding a missed span: none missed")
    lines.append("")
    lines.append("document                  gold   keys  typed  keys/span  strategy")
    for d in t.per_doc:
        lines.append(
            f"{d['id']:<24} {d['gold']:>5}  {d['keys']:>5}  {d['typed']:>5}  {d['keys'] / max(1, d['gold']):>9.2f}  {d['strategy']}"
        )
    lines.append("")
    lines.append(f"typed characters per gold span: {t.total_typed / n:.2f}")
    lines.append(f"keys per gold span: {t.total_keys / n:.2f}")
    return "\n".join(lines)


def read_gold(path: Path) -> list[dict]:
    from workbench.core.jsonline import loads

    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = loads(line)
                if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not isinstance(d.get("spans"), list):
                    raise ValueError('a gold line is {"id", "text", "spans": [...]}')
            except ValueError as e:
                raise SystemExit(f"{path}:{i}: {e}") from None
            out.append(d)
    return out


def prepare(store, gold: list[dict], corpus: Path | None) -> None:
    """Ingest ``corpus`` (when given) and propose the gold documents that have no proposals."""
    from workbench.ingest import ingest_paths
    from workbench.propose.run import propose_store

    if corpus is not None:
        rep = ingest_paths(store, [corpus])
        if rep.errors:
            raise SystemExit(f"{corpus}: ingest failed: {rep.errors[0]}")
    absent = [d["id"] for d in gold if store.get_document(d["id"]) is None]
    if absent:
        raise SystemExit(f"gold documents not in the database: {', '.join(absent[:5])}")
    todo = [d["id"] for d in gold if not store.proposals(d["id"])]
    if todo:
        propose_store(store, doc_ids=todo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", required=True, type=Path, help="gold JSONL: {id, text, spans} per line")
    ap.add_argument("--db", help="use this database (else a temporary one, ingested from --corpus and proposed)")
    ap.add_argument("--corpus", type=Path, default=ROOT / "workbench" / "data" / "corpus")
    ap.add_argument("--annotator", default="oracle")
    ap.add_argument("--accept-all", action="store_true", help="let the oracle start a document with A y")
    ap.add_argument(
        "--typed-cost",
        type=float,
        default=TYPED_CHAR_COST,
        help=f"what a typed character weighs against a key when the oracle chooses (default {TYPED_CHAR_COST:g})",
    )
    ap.add_argument("--verbose", action="store_true", help="print the keys of every added span")
    args = ap.parse_args(argv)

    from workbench.store import Store

    gold = read_gold(args.gold)
    Plan.typed_cost = args.typed_cost
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "keys.db")
        store = Store(db)
        try:
            prepare(store, gold, None if args.db else args.corpus)
            used = [d["id"] for d in gold if store.decisions(d["id"], args.annotator)]
            if used:
                raise SystemExit(f"{args.annotator} already has decisions in {used[0]}: pick --annotator NAME")
            oracle = Oracle(store, gold, annotator=args.annotator, accept_all=args.accept_all)
            tally = oracle.run()
            diff = oracle.differences()
        finally:
            store.close()
    for doc_id, d in diff.items():
        for line in d[:10]:
            print(f"{doc_id}: {line}")
    if args.verbose:
        print("\n".join(tally.log) + "\n")
    print(report(tally))
    if diff:
        print(f"the oracle's spans differ from the gold in {len(diff)} documents")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
