"""Overlap resolution: candidate spans → flat spans, longest valid reading first."""

from __future__ import annotations

from bisect import bisect_left, insort

# on equal length, the more reliable rule wins
PRIORITY = {"DOC": 7, "DATE": 6, "QUANTITY": 5, "PROGRAM": 4, "ORG": 3, "PERSON": 2, "LOC": 1}


def resolve(spans: list[dict]) -> list[dict]:
    """Pick non-overlapping spans: longer first, then label priority, then score,
    then leftmost. Returns them sorted by start."""
    order = sorted(
        spans,
        key=lambda s: (-(s["end"] - s["start"]), -PRIORITY.get(s["label"], 0), -(s.get("score") or 0), s["start"]),
    )
    starts: list[int] = []
    ends: dict[int, int] = {}
    chosen: list[dict] = []
    for s in order:
        a, b = s["start"], s["end"]
        if b <= a:
            continue
        i = bisect_left(starts, a)
        # neighbour on the left may reach into [a, b); neighbour at/after a may start before b
        if i > 0 and ends[starts[i - 1]] > a:
            continue
        if i < len(starts) and starts[i] < b:
            continue
        insort(starts, a)
        ends[a] = b
        chosen.append(s)
    chosen.sort(key=lambda s: (s["start"], s["end"]))
    return chosen
