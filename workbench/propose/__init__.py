"""Automatic proposals for the ``report-v1`` schema.

A proposer has a ``name``, a ``version`` (both recorded on every proposal it
makes) and ``propose(text) -> list[span]`` where a span is
``{"start", "end", "label", "text", "attrs"?, "score"?}`` with Python
code-point offsets into ``text`` (end exclusive, ``text[start:end] ==
span["text"]``). ``analyze(text)`` also returns jieba's word start offsets,
stored for the TUI's word moves (the TUI itself never imports jieba).

    >>> from workbench.propose import get_proposer
    >>> p = get_proposer("rules")
    >>> [s["text"] for s in p.propose("2021年7月，合江县投入资金2.2亿元。")]
    ['2021年7月', '合江县', '2.2亿元']

Pure library: no Textual, no store import here (``workbench.propose.run``
connects proposers to the store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

DEFAULT_PROPOSER = "rules"


@runtime_checkable
class Proposer(Protocol):
    name: str
    version: str
    labels: tuple[str, ...]

    def propose(self, text: str) -> list[dict]: ...

    def analyze(self, text: str) -> tuple[list[dict], list[int]]: ...


# Proposers are found through the ``workbench.proposers`` entry-point group, so another
# package can add one (``[project.entry-points."workbench.proposers"] mine = "pkg:Cls"``).
# The built-ins are declared there too (pyproject.toml); this table is the same list, used
# when the package is not installed (a plain checkout has no entry-point metadata).
ENTRY_POINT_GROUP = "workbench.proposers"
BUILTIN_PROPOSERS = {
    "rules": "workbench.propose.pipeline:RulesProposer",
    "numbers": "workbench.propose.pipeline:NumbersProposer",
    "jieba": "workbench.propose.pipeline:JiebaProposer",
    "learned": "workbench.propose.learned:LearnedProposer",
}


class ProposerUnavailable(Exception):
    """A registered proposer that cannot run here: no trained model yet, a model made for
    another label set, a package missing. The message (one line) says what to do."""


def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load(name: str) -> object:
    """The class (or factory) registered as ``name``: an installed entry point, else a
    built-in. Raises KeyError naming the available ones."""
    ep = _entry_points().get(name)
    if ep is not None:
        return ep.load()
    if name in BUILTIN_PROPOSERS:
        from importlib.metadata import EntryPoint

        return EntryPoint(name, BUILTIN_PROPOSERS[name], ENTRY_POINT_GROUP).load()
    raise KeyError(f"unknown proposer {name!r}; available: {', '.join(available())}")


_instances: dict[str, Proposer] = {}


def available() -> list[str]:
    """Names of the registered proposers (the default first). Loads none of them."""
    names = set(BUILTIN_PROPOSERS) | set(_entry_points())
    return [DEFAULT_PROPOSER] + sorted(n for n in names if n != DEFAULT_PROPOSER)


def get_proposer(name: str | None = None) -> Proposer:
    """The proposer called ``name`` (default: ``rules``), one instance per process.
    Raises KeyError naming the available ones for an unknown name, TypeError for an
    entry point that does not give a :class:`Proposer`."""
    name = name or DEFAULT_PROPOSER
    if name not in _instances:
        factory = _load(name)
        if not callable(factory):
            raise TypeError(f"proposer entry point {name!r} is not a class or factory: {factory!r}")
        p = factory()
        if not isinstance(p, Proposer):
            raise TypeError(f"proposer {name!r} lacks name/version/labels/propose/analyze: {p!r}")
        _instances[name] = p
    return _instances[name]


__all__ = [
    "BUILTIN_PROPOSERS",
    "DEFAULT_PROPOSER",
    "ENTRY_POINT_GROUP",
    "Proposer",
    "ProposerUnavailable",
    "available",
    "get_proposer",
]
