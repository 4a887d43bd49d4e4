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

from typing import Protocol, runtime_checkable

DEFAULT_PROPOSER = "rules"


@runtime_checkable
class Proposer(Protocol):
    name: str
    version: str
    labels: tuple[str, ...]

    def propose(self, text: str) -> list[dict]: ...

    def analyze(self, text: str) -> tuple[list[dict], list[int]]: ...


def _registry() -> dict[str, type]:
    from .pipeline import JiebaProposer, NumbersProposer, RulesProposer

    return {c.name: c for c in (RulesProposer, NumbersProposer, JiebaProposer)}


_instances: dict[str, Proposer] = {}


def available() -> list[str]:
    """Names of the registered proposers (the default first)."""
    names = list(_registry())
    return [DEFAULT_PROPOSER] + sorted(n for n in names if n != DEFAULT_PROPOSER)


def get_proposer(name: str | None = None) -> Proposer:
    """The proposer called ``name`` (default: ``rules``). Raises KeyError naming
    the available ones for an unknown name."""
    name = name or DEFAULT_PROPOSER
    if name not in _instances:
        reg = _registry()
        if name not in reg:
            raise KeyError(f"unknown proposer {name!r}; available: {', '.join(available())}")
        _instances[name] = reg[name]()
    return _instances[name]


__all__ = ["DEFAULT_PROPOSER", "Proposer", "available", "get_proposer"]
