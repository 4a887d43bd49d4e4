"""The bulk writers (ingest, import) keep every write transaction short, stay all-or-nothing
for a failed file, leave a killed run for a re-run to finish, and keep memory flat; ingest
detects UTF-32, refuses NUL characters after decoding and flags control characters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli import cli
from workbench.core.normalize import DecodeError, decode_bytes, normalize_bytes, normalize_text
from workbench.ingest import ingest_file
from workbench.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "workbench" / "data" / "corpus"


def run(db, *args):
    return CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)


def write_docs(path: Path, n: int, start: int = 0, prefix: str = "d") -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            fh.write(json.dumps({"id": f"{prefix}{i}", "text": f"第{i}号报告：统一战线工作。"}, ensure_ascii=False))
            fh.write("\n")
    return path


def dump(db_path) -> list[str]:
    s = Store(db_path)
    try:
        return [
            repr(r)
            for t in ("documents", "proposals", "decisions", "settings")
            for r in s.query(f"SELECT * FROM {t} ORDER BY rowid")
        ]
    finally:
        s.close()


@pytest.fixture
def seeded(db_path):
    """A database holding one bundled report (a document a second writer can decide on)."""
    s = Store(db_path)
    res = ingest_file(s, CORPUS / "000_d84f443ac205a69d.txt")
    assert res.added == 1
    yield s
    s.close()


# ---------------------------------------------------------------------------- short transactions


def test_ingest_releases_the_lock_between_batches(seeded, db_path, tmp_path):
    from workbench.store.bulk import BulkLimits

    path = write_docs(tmp_path / "many.jsonl", 10_000)
    other = Store(db_path)
    writes = []

    counts = []

    def between():
        # a second connection writes while the ingest is under way: the lock is free
        counts.append(other.count("documents"))
        writes.append(other.record_decision("000_d84f443ac205a69d", "probe", "finish", origin="cli"))

    res = ingest_file(seeded, path, limits=BulkLimits(rows=400, pause=0), between=between)
    other.close()
    assert res.error is None and res.added == 10_000
    assert len(writes) >= 25  # one write between every two batches
    assert counts == sorted(counts) and counts[0] < 1_000 and counts[-1] == 10_001
    assert seeded.count("documents") == 10_001
    assert seeded.count("decisions") == len(writes)
    assert seeded.unfinished_bulk_runs() == []


def test_failure_in_a_late_batch_leaves_the_database_as_it_was(seeded, db_path, tmp_path, monkeypatch):
    from workbench.store.bulk import BulkLimits

    write_docs(tmp_path / "first.jsonl", 50)
    assert ingest_file(seeded, tmp_path / "first.jsonl").added == 50
    before = dump(db_path)
    path = write_docs(tmp_path / "many.jsonl", 8_000, start=40)  # d40..d49 already present
    real = Store.insert_document
    calls = {"n": 0}

    def failing(self, doc):
        calls["n"] += 1
        if calls["n"] == 7_000:
            raise OSError(28, "No space left on device")
        return real(self, doc)

    monkeypatch.setattr(Store, "insert_document", failing)
    committed = []
    res = ingest_file(
        seeded, path, limits=BulkLimits(rows=500, pause=0), between=lambda: committed.append(seeded.count("documents"))
    )
    monkeypatch.setattr(Store, "insert_document", real)
    assert res.error is not None and res.added == 0
    assert "No space left on device" in str(res.error) and "nothing of the file was written" in str(res.error)
    assert max(committed) > 5_000  # batches really were committed before the failure...
    assert dump(db_path) == before  # ...and taken back


def test_conflicting_id_in_a_late_line_writes_nothing(seeded, db_path, tmp_path):
    before = dump(db_path)
    path = write_docs(tmp_path / "x.jsonl", 5_000)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "000_d84f443ac205a69d", "text": "别的内容"}, ensure_ascii=False) + "\n")
    res = ingest_file(seeded, path)
    assert res.error is not None and res.error.line == 5_001 and "already exists" in str(res.error)
    assert dump(db_path) == before


def test_duplicate_id_far_apart_is_found_with_its_first_line(seeded, tmp_path):
    path = write_docs(tmp_path / "x.jsonl", 3_000)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "d17", "text": "又一篇"}, ensure_ascii=False) + "\n")
    res = ingest_file(seeded, path)
    assert res.error is not None and res.error.line == 3_001
    assert 'duplicate id "d17" (first on line 18)' in str(res.error)
    assert seeded.count("documents") == 1


def test_killed_ingest_is_finished_by_running_it_again(db_path, tmp_path):
    """A SIGKILL mid-way leaves the documents of the batches committed so far (never half a
    document) and a note of the unfinished run; ingesting the same file again adds the rest."""
    n = 20_000
    path = write_docs(tmp_path / "big.jsonl", n)
    Store(db_path).close()
    env = {**os.environ, "WORKBENCH_BULK_ROWS": "250"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli import main; main()", "--db", db_path, "ingest", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    watcher = Store(db_path)
    seen = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        seen = watcher.count("documents")
        if seen >= 1_000:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1_000 <= seen < n, f"the ingest never showed a committed part ({seen} documents)"
    partial = watcher.count("documents")
    assert 0 < partial < n
    assert [r["path"] for r in watcher.unfinished_bulk_runs()] == [os.path.abspath(path)]
    watcher.close()
    # the next ingest says so, and running the same file again finishes it
    r = run(db_path, "ingest", str(path))
    assert r.exit_code == 0, r.output
    assert f"ingested {n - partial} new documents ({partial} already present)" in r.output
    s = Store(db_path)
    assert s.count("documents") == n and s.unfinished_bulk_runs() == []
    assert s.get_document(f"d{n - 1}")["text"] == f"第{n - 1}号报告：统一战线工作。"
    s.close()


def test_an_unfinished_run_is_reported_by_the_next_ingest(db_path, tmp_path):
    s = Store(db_path)
    s.note_bulk_run("ingest", str(tmp_path / "gone.jsonl"))
    s.close()
    r = run(db_path, "ingest", str(CORPUS / "000_d84f443ac205a69d.txt"))
    assert r.exit_code == 0
    assert "gone.jsonl was interrupted" in r.output and "run it again" in r.output


# ---------------------------------------------------------------------------- memory


def _peak_ingest(tmp_path: Path, n: int) -> int:
    from workbench.store.bulk import BulkLimits

    path = write_docs(tmp_path / f"m{n}.jsonl", n)
    s = Store(str(tmp_path / f"m{n}.db"))
    ingest_file(s, CORPUS / "000_d84f443ac205a69d.txt")  # OpenCC loaded before measuring
    tracemalloc.start()
    try:
        res = ingest_file(s, path, limits=BulkLimits(rows=250, pause=0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        s.close()
    assert res.added == n
    return peak


def test_ingest_memory_is_flat_in_the_number_of_documents(tmp_path):
    small = _peak_ingest(tmp_path, 500)
    large = _peak_ingest(tmp_path, 5_000)
    assert large < 1.5 * small, (small, large)


# ---------------------------------------------------------------------------- import


def _import_fixture(seeded, tmp_path, n_docs=300):
    write_docs(tmp_path / "docs.jsonl", n_docs)
    assert ingest_file(seeded, tmp_path / "docs.jsonl").added == n_docs
    lines = []
    for i in range(n_docs):
        lines.append(
            {
                "id": f"d{i}",
                "spans": [{"start": 0, "end": 1, "label": "QUANTITY"}, {"start": 5, "end": 9, "label": "ORG"}],
            }
        )
    p = tmp_path / "spans.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return p


def test_import_proposals_releases_the_lock_between_batches(seeded, db_path, tmp_path):
    from workbench.importer import import_proposals
    from workbench.store.bulk import BulkLimits

    p = _import_fixture(seeded, tmp_path)
    other = Store(db_path)
    writes = []
    res = import_proposals(
        seeded,
        p,
        source="m",
        limits=BulkLimits(rows=20, pause=0),
        between=lambda: writes.append(other.record_decision("000_d84f443ac205a69d", "probe", "finish")),
    )
    other.close()
    assert res.documents == 300 and res.spans == 600
    assert len(writes) >= 14


def test_import_annotations_failure_in_a_late_batch_leaves_the_database_as_it_was(
    seeded, db_path, tmp_path, monkeypatch
):
    from workbench.importer import import_annotations, import_proposals
    from workbench.store.bulk import BulkLimits

    p = _import_fixture(seeded, tmp_path)
    import_proposals(seeded, p, source="m")
    before = dump(db_path)
    real = Store.record_decisions
    calls = {"n": 0}

    def failing(self, *a, **kw):  # one call per document
        calls["n"] += 1
        if calls["n"] == 25:  # in the third transaction (10 documents each)
            raise OSError(28, "No space left on device")
        return real(self, *a, **kw)

    monkeypatch.setattr(Store, "record_decisions", failing)
    with pytest.raises(OSError):
        import_annotations(seeded, p, annotator="alice", limits=BulkLimits(rows=10, pause=0))
    monkeypatch.setattr(Store, "record_decisions", real)
    assert calls["n"] == 25
    assert dump(db_path) == before


def test_import_proposals_failure_in_a_late_batch_restores_the_earlier_run(seeded, db_path, tmp_path, monkeypatch):
    from workbench.importer import import_proposals
    from workbench.store.bulk import BulkLimits

    p = _import_fixture(seeded, tmp_path)
    import_proposals(seeded, p, source="m", version="v1")
    before = dump(db_path)
    real = Store.replace_proposals
    calls = {"n": 0}

    def failing(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 250:
            raise OSError(28, "No space left on device")
        return real(self, *a, **kw)

    monkeypatch.setattr(Store, "replace_proposals", failing)
    with pytest.raises(OSError):
        import_proposals(seeded, p, source="m", version="v2", limits=BulkLimits(rows=10, pause=0))
    monkeypatch.setattr(Store, "replace_proposals", real)
    after = dump(db_path)
    # the same proposals, active again, v1; only the rowids of nothing else moved
    assert after == before


# ---------------------------------------------------------------------------- UTF-32 and NUL


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_is_detected(codec, tmp_path, store):
    text = "统一战线工作报告\n第二行 𠀀 ok\n"
    data = text.encode(codec)  # "utf-32" writes a BOM (native order)
    got, enc = decode_bytes(data)
    assert got == text and enc.startswith("utf-32")
    p = tmp_path / "r.txt"
    p.write_bytes(data)
    res = ingest_file(store, p)
    assert res.error is None and res.added == 1
    assert store.get_document("r")["text"] == text


@pytest.mark.parametrize("bom", [b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"])
def test_utf32_with_bom_of_either_order(bom, store, tmp_path):
    codec = "utf-32-le" if bom[0] == 0xFF else "utf-32-be"
    data = bom + "报告一\n".encode(codec)
    assert decode_bytes(data)[0] == "报告一\n"
    norm = normalize_bytes(data)
    assert norm.encoding == "utf-32" and norm.text == "报告一\n"


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-32", "utf-32-le"])
def test_nul_character_after_decoding_is_refused_with_its_line(codec, tmp_path, store):
    data = "第一行\n第二行\n第三\x00行\n".encode(codec)
    with pytest.raises(DecodeError) as ei:
        decode_bytes(data)
    assert "text contains a NUL character" in str(ei.value) and ei.value.line == 3
    p = tmp_path / "n.txt"
    p.write_bytes(data)
    res = ingest_file(store, p)
    assert res.error is not None and f"{p}:3: text contains a NUL character" in str(res.error)
    assert store.count("documents") == 0


# ---------------------------------------------------------------------------- control characters


def test_control_characters_are_kept_and_flagged():
    text = "报告\x1b[6n正文\u202e倒\x7f\t制表\n\u2028\x85末"
    norm = normalize_text(text)
    assert norm.text == text  # nothing stripped, no offset moved
    flag = norm.flags["control_chars"]
    assert flag["count"] == 5 and flag["first"] == 2
    assert flag["codes"] == ["U+001B", "U+007F", "U+0085", "U+2028", "U+202E"]
    assert "control_chars" not in normalize_text("干净的\t文本\n第二行").flags


def test_ingest_warns_about_documents_with_control_characters(db_path, tmp_path):
    p = tmp_path / "h.jsonl"
    lines = [{"id": f"bad\x1b]0;x\x07{i}", "text": f"正文\x1b[6n{i}"} for i in range(12)]
    lines.append({"id": "clean", "text": "干净"})
    p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    r = run(db_path, "ingest", str(p))
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output
    warn = [l for l in r.output.splitlines() if "control characters" in l]
    assert len(warn) == 1, r.output
    assert warn[0].startswith("warning: 12 documents hold control characters (shown as placeholders): bad␛]0;x␇0")
    assert "and 2 more" in warn[0]
    s = Store(db_path)
    doc = s.get_document("bad\x1b]0;x\x070", with_raw=True)
    assert doc["text"] == "正文\x1b[6n0" and doc["flags"]["control_chars"] == {
        "count": 1,
        "first": 2,
        "codes": ["U+001B"],
    }
    assert "control_chars" not in s.get_document("clean")["flags"]
    s.close()


def test_import_proposals_failure_restores_kept_deleted_and_rescored_rows_of_the_same_version(
    seeded, db_path, tmp_path, monkeypatch
):
    from workbench.importer import import_proposals
    from workbench.store.bulk import BulkLimits

    p = _import_fixture(seeded, tmp_path)
    import_proposals(seeded, p, source="m", version="v1")
    before = dump(db_path)
    # the same version again: one span kept (score changed), one dropped, one new, per document
    lines = [
        {
            "id": f"d{i}",
            "spans": [
                {"start": 0, "end": 1, "label": "QUANTITY", "score": 0.5},
                {"start": 2, "end": 4, "label": "LOC"},
            ],
        }
        for i in range(300)
    ]
    q = tmp_path / "again.jsonl"
    q.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    real = Store.replace_proposals
    calls = {"n": 0}

    def failing(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 290:
            raise OSError(28, "No space left on device")
        return real(self, *a, **kw)

    monkeypatch.setattr(Store, "replace_proposals", failing)
    with pytest.raises(OSError):
        import_proposals(seeded, q, source="m", version="v1", limits=BulkLimits(rows=10, pause=0))
    monkeypatch.setattr(Store, "replace_proposals", real)
    assert dump(db_path) == before


def test_check_reports_an_interrupted_bulk_run(db_path, tmp_path):
    """A killed ingest or import was only reported by the next ingest; `check` said ok."""
    Store(db_path).close()
    gone = str(tmp_path / "preds.jsonl")
    code = f"from workbench.store import Store; Store({db_path!r}).note_bulk_run('import-proposals', {gone!r})"
    subprocess.run([sys.executable, "-c", code], check=True)  # its process is gone now
    r = run(db_path, "check")
    assert r.exit_code == 1
    assert f"import-proposals of {gone} was interrupted" in r.output and "run the same command again" in r.output


def test_import_annotations_plans_again_when_the_annotator_acted_meanwhile(seeded, db_path, tmp_path, monkeypatch):
    """The plan is made before the write (planning inside held the lock over a second for a
    20,000-span document); a document the annotator touched in between is planned again
    inside the write, and refused (no --replace): the whole import is taken back."""
    from workbench.importer import ImportFailed, import_annotations, import_proposals

    p = _import_fixture(seeded, tmp_path, n_docs=30)
    import_proposals(seeded, p, source="m")
    real = Store.document_stamp
    seen: dict[str, int] = {}

    def stamp(self, doc_id, annotator):
        seen[doc_id] = seen.get(doc_id, 0) + 1
        got = real(self, doc_id, annotator)
        if doc_id == "d21" and seen[doc_id] == 1:  # d20 is planned: alice acts there before the write
            with Store(db_path) as other:
                other.record_decision("d20", "alice", "finish")
        return got

    monkeypatch.setattr(Store, "document_stamp", stamp)
    with pytest.raises(ImportFailed, match='annotator "alice" started document "d20" during the import'):
        import_annotations(seeded, p, annotator="alice")
    with Store(db_path) as s:
        rows = s.query("SELECT doc_id, action FROM decisions WHERE annotator = 'alice'")
    assert rows == [{"doc_id": "d20", "action": "finish"}]  # only what alice did herself
