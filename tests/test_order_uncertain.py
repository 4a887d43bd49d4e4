"""``workbench annotate --order uncertain`` and the learned model version in the header (issue 15).

A tiny model is trained on two gold documents of the bundled corpus and proposes with
``learned`` for every document but the last; the queue order is then checked against the
documented rule, computed here from the stored proposals: the documents the annotator has not
started, least sure first (the mean ``min(p, 1 - p)`` of their active learned proposals), those
without learned proposals after them, ties in ingest order; started documents keep their place."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from pilot_helpers import annotate_painted, header_plain, run
from test_learned import add_gold, one_line_error
from test_learned import run as cli_run

from workbench.session import AnnotationSession, SessionError
from workbench.session.view import uncertain_order
from workbench.store import Store


@pytest.fixture(scope="module")
def proposed(tmp_path_factory, gold_docs):
    from conftest import CORPUS

    from workbench.ingest import ingest_paths

    db = str(tmp_path_factory.mktemp("uncertain") / "wb.db")
    with Store(db) as s:
        assert ingest_paths(s, [CORPUS]).added == 5
        ids = s.document_ids()
        for i in ids[:2]:
            add_gold(s, gold_docs[i])
    assert cli_run(db, "propose").exit_code == 0  # rules for every document
    assert cli_run(db, "train").exit_code == 0
    args = [a for i in ids[:-1] for a in ("--doc", i)]
    r = cli_run(db, "propose", "-p", "learned", *args)
    assert r.exit_code == 0, r.output
    return db, ids


@pytest.fixture
def db(proposed, tmp_path) -> tuple[str, list[str]]:
    src, ids = proposed
    dst = tmp_path / "wb.db"
    shutil.copy(src, dst)
    return str(dst), ids


def expected_order(store: Store, ids: list[str], started: set[str]) -> list[str]:
    unsure = {}
    for i in ids:
        ps = [p["score"] for p in store.proposals(i, source="learned") if p["score"] is not None]
        if ps:
            unsure[i] = sum(min(p, 1 - p) for p in ps) / len(ps)
    free = [i for i in ids if i not in started]
    ranked = sorted(free, key=lambda i: (i not in unsure, -unsure.get(i, 0.0), ids.index(i)))
    it = iter(ranked)
    return [i if i in started else next(it) for i in ids]


def test_the_rule_ranks_unsure_first_unscored_last_ties_in_order_started_in_place():
    rows = [{"id": d, "finished": False} for d in "abcdef"] + [{"id": "g", "finished": True}]
    unsure = {"a": 0.1, "b": 0.3, "d": 0.3, "e": 0.05, "g": 0.49}
    got = [r["id"] for r in uncertain_order(rows, unsure, started={"c"})]
    # c started: stays third; b and d tie: ingest order; f has no learned proposal: after; g finished
    assert got == ["b", "d", "c", "a", "e", "f", "g"]


def test_order_uncertain_ranks_documents_by_the_learned_scores(db):
    path, ids = db
    with Store(path, create=False) as s:
        want = expected_order(s, ids, set())
        sess = AnnotationSession(s, "alice", order="uncertain")
        assert sess.queue.ids == want
        assert want[-1] == ids[-1]  # the one document without learned proposals comes last
        assert want != ids  # the scores really reorder the bundled corpus
        assert sess.doc_id == want[0]  # it opens on the least sure document
        plain = AnnotationSession(s, "alice")
        assert plain.queue.ids == ids  # the default stays ingest order


def test_started_documents_keep_their_place(db):
    path, ids = db
    with Store(path, create=False) as s:
        before = AnnotationSession(s, "alice", order="uncertain").queue.ids
        # start the document ranked last among the learned ones: it must now sit in its ingest slot
        target = before[-2]
        p = s.proposals(target, source="learned")[0]
        s.record_decision(
            target, "alice", "accept", proposal_id=p["id"], start=p["start"], end=p["end"], label=p["label"]
        )
        got = AnnotationSession(s, "alice", order="uncertain").queue.ids
        assert got[ids.index(target)] == target
        assert got == expected_order(s, ids, {target})
        # another annotator has started nothing: their order is unchanged
        assert AnnotationSession(s, "bob", order="uncertain").queue.ids == before


def test_without_learned_proposals_it_is_one_line_and_exit_1(tmp_path):
    from conftest import CORPUS

    from workbench.ingest import ingest_paths

    path = str(tmp_path / "rules.db")
    with Store(path) as s:
        ingest_paths(s, [CORPUS])
    assert cli_run(path, "propose").exit_code == 0
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    r = cli_run(path, "annotate", "--annotator", "alice", "--order", "uncertain")
    one_line_error(r, "--order uncertain", "workbench train && workbench propose -p learned")
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
    with Store(path, create=False) as s, pytest.raises(SessionError):
        AnnotationSession(s, "alice", order="uncertain")


def test_help_names_the_order():
    from click.testing import CliRunner

    from workbench.cli import cli

    r = CliRunner().invoke(cli, ["annotate", "--help"])
    assert r.exit_code == 0 and "--order" in r.output and "uncertain" in r.output


# ---------------------------------------------------------------------------- the header
_header, _painted = header_plain, annotate_painted


def test_header_shows_the_learned_model_version_and_drops_it_first_when_narrow(db):
    from workbench.tui.app import AnnotateApp

    path, ids = db
    with Store(path, create=False) as s:
        version = s.latest_model("crf")["version"]

        async def go(size, doc):
            app = AnnotateApp(s, "alice", session=AnnotationSession(s, "alice", doc_id=doc), use_user_keymap=False)
            async with app.run_test(size=size) as pilot:
                await _painted(app, pilot)
                return _header(app), app.session.model_version

        head, model = run(go((160, 45), ids[0]))
        assert model == f"learned {version}"
        assert f"learned {version}" in head and ids[0] in head
        head, model = run(go((160, 45), ids[-1]))  # only rules proposals: nothing
        assert model is None and "learned" not in head and ids[-1] in head
        head, _ = run(go((80, 24), ids[0]))
        assert len(head) <= 80 and ids[0] in head and "learned" not in head
