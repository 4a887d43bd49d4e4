"""Shared fixtures: paths to the bundled corpus and the dev gold, temp databases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "workbench" / "data" / "corpus"


def _find_gold() -> Path:
    env = os.environ.get("WORKBENCH_GOLD")
    if env:
        return Path(env)
    for cand in (ROOT.parent / "shared" / "gold" / "seeds.jsonl", ROOT / "tests" / "data" / "seeds.jsonl"):
        if cand.exists():
            return cand
    return ROOT / "tests" / "data" / "seeds.jsonl"


GOLD = _find_gold()


@pytest.fixture(scope="session")
def gold_docs() -> dict[str, dict]:
    with open(GOLD, encoding="utf-8") as fh:
        return {d["id"]: d for d in map(json.loads, fh)}


@pytest.fixture
def db_path(tmp_path) -> str:
    return str(tmp_path / "wb.db")


@pytest.fixture
def store(db_path):
    from workbench.store import Store

    s = Store(db_path)
    yield s
    s.close()


@pytest.fixture
def corpus_store(store):
    """A store with the bundled corpus ingested."""
    from workbench.ingest import ingest_paths

    rep = ingest_paths(store, [CORPUS])
    assert not rep.errors and rep.added == 5
    return store
