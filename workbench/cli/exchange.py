"""CLI: ``export gold``, ``export annotations``, ``import proposals``, ``import annotations``."""

from __future__ import annotations

import sys

import click

from .context import AppContext, echo_err, iter_progress, name_callback, pass_app, progress_bar

_FORMAT = click.Choice(["jsonl", "doccano", "conll", "spacy"])
_IN_FORMAT = click.Choice(["auto", "jsonl", "doccano", "prodigy", "conll"])


def _out_option(f):
    return click.option(
        "-o",
        "--output",
        required=True,
        help="Output file, or - for stdout. Written under a temporary name and renamed into place "
        "(a symlink's target is replaced, an existing file keeps its mode); devices and FIFOs "
        "(/dev/null, /dev/stdout, a mkfifo) are written through.",
    )(f)


def _format_option(f):
    return click.option(
        "--format",
        "fmt",
        type=_FORMAT,
        default=None,
        help="jsonl (default), doccano, conll (character BIO) or spacy (DocBin; -o DIR/ writes "
        "shards of 1000 documents, memory flat). Default: from the suffix of -o (.spacy, .conll), "
        "else jsonl.",
    )(f)


def _raw_option(f):
    return click.option(
        "--raw-offsets",
        is_flag=True,
        help="Add raw_start/raw_end (code points into the raw source text) and, for documents "
        "read from files, raw_byte_start/raw_byte_end (bytes in the file) to every span (jsonl only).",
    )(f)


def _resolve_format(output: str, fmt: str | None, raw_offsets: bool) -> str:
    from workbench.export import format_for

    fmt = format_for(output, fmt)
    if raw_offsets and fmt != "jsonl":
        raise click.UsageError("--raw-offsets works with --format jsonl only")
    if fmt == "spacy" and output == "-" and sys.stdout.isatty():  # (click.get_text_stream is deprecated)
        raise click.UsageError("the spacy format is binary: write it to a file (-o corpus.spacy)")
    return fmt


class _Unvalued:
    """Counts the exported QUANTITY spans without a value (the guide says every QUANTITY has
    attrs: a training set with holes should say so)."""

    def __init__(self) -> None:
        self.n = 0

    def spans(self, spans) -> None:
        for sp in spans:
            if sp["label"] == "QUANTITY" and (not sp.get("attrs") or sp["attrs"].get("value") is None):
                self.n += 1


def _run_export(store, output: str, fmt: str, records_fn, total: int, what: str, unvalued: _Unvalued) -> None:
    """Stream ``records_fn(writer, bar)`` into ``output`` inside one read snapshot."""
    from workbench.export import ExportError, open_writer
    from workbench.outputs import OutputError

    bar = progress_bar(range(total), f"export {what}", length=total, threshold=200)
    try:
        with store.read_snapshot(), open_writer(output, fmt, name=what) as w, bar:
            records_fn(w, bar)
    except (ExportError, OutputError) as e:
        raise click.ClickException(str(e)) from None
    if output != "-":
        unit = "lines" if fmt in ("jsonl", "doccano") else "documents"
        where = output
        if getattr(w, "shards", None):
            where = f"{len(w.shards)} shard{'s' if len(w.shards) != 1 else ''} in {output}"
        echo_err(f"wrote {w.spans:,} spans in {w.records:,} {unit} ({fmt}) to {where}")
    if unvalued.n:
        echo_err(
            f"warning: {unvalued.n:,} QUANTITY span{'s' if unvalued.n != 1 else ''} without attrs (no value); "
            "set the value in annotate (e on the span) or review (a)"
        )


@click.command("gold")
@_out_option
@_format_option
@_raw_option
@pass_app
def export_gold(app: AppContext, output: str, fmt: str | None, raw_offsets: bool) -> None:
    """Gold spans, one record per document that has gold, in ingest order:
    {"id", "text", "spans": [{"start", "end", "label", "text", "attrs"}], "meta",
    "_input_hash", "annotators"}.

    Offsets are code points into the normalized "text", end exclusive; spans are
    sorted by (start, end, label); every span's text is checked against the
    document. The same database always gives the same bytes.
    """
    from workbench.export import iter_gold_records

    fmt = _resolve_format(output, fmt, raw_offsets)
    store = app.store

    unvalued = _Unvalued()

    def records(w, bar):
        for rec in iter_gold_records(store, raw_offsets=raw_offsets):
            unvalued.spans(rec["spans"])
            w.write(rec)
            bar.update(1)

    total = store.count_gold_documents()
    pending = store.finished_without_gold()
    if pending:
        n = len(pending)
        echo_err(
            f"note: {n} finished document{'s are' if n != 1 else ' is'} not in gold yet "
            f"(e.g. {pending[0]}): run `workbench review` (one annotator's work, and what annotators "
            "agree on, goes to gold there; disagreements are settled in its screen), then export again"
        )
    elif total == 0:
        echo_err("note: the database has no gold yet (finish documents in workbench annotate, then workbench review)")
    _run_export(store, output, fmt, records, total, "gold", unvalued)


@click.command("annotations")
@_out_option
@click.option(
    "--annotator", default=None, callback=name_callback, help="Only this annotator's decisions (default: everyone's)."
)
@_format_option
@_raw_option
@click.option(
    "--finished-only/--include-unfinished",
    "finished_only",
    default=None,
    help="Only documents the annotator finished. Default: on for doccano/conll/spacy "
    "(a document record must be complete), off for jsonl (each line is one decision).",
)
@pass_app
def export_annotations(
    app: AppContext, output: str, annotator: str | None, fmt: str | None, raw_offsets: bool, finished_only: bool | None
) -> None:
    """Every annotator's decisions as training data.

    \b
    jsonl (Prodigy binary NER style): one line per (document, annotator, span):
      {"id", "text", "spans": [one span], "answer": "accept"|"reject", "status",
       "source", "_input_hash", "_task_hash", "_annotator_id", "_session_id",
       "_timestamp", "_view_id"}
      accepted, edited and added spans are "accept"; rejected proposals are
      "reject" (negative examples); pending proposals are not exported.
      A span that answers a proposal has "proposal": {"start", "end", "label",
      "source"} (the proposal's own bounds: an edit differs from them); attrs a
      person typed have "attrs_manual": true beside them. import annotations
      reads both back, so edits stay edits. Unsure flags (annotate ! / F):
      "unsure": {"note"} on a span and on every line of a flagged document; a
      flagged pending proposal or document gets an "answer": "ignore" line.
    doccano / conll / spacy: one record per (document, annotator) with the
      spans the annotator asserts, and "_annotator_id" (doccano and spacy also
      "proposals": [[start, end, {...}], ...], "unsure_spans" and "unsure").
    Ordered by document (ingest order), annotator, then span.
    """
    from workbench.core.types import ACCEPT_STATUSES
    from workbench.export import (
        annotation_document_record,
        decision_lines,
        iter_annotation_states,
    )

    fmt = _resolve_format(output, fmt, raw_offsets)
    if finished_only is None:
        finished_only = fmt != "jsonl"
    store = app.store
    if annotator is not None and annotator not in store.annotators():
        raise click.ClickException(
            f'no decisions by annotator "{annotator}" (annotators: {", ".join(store.annotators()) or "none"})'
        )

    unvalued = _Unvalued()

    def records(w, bar):
        last = None
        for doc, ann, items, finished, raw in iter_annotation_states(
            store, annotator=annotator, finished_only=finished_only, raw_offsets=raw_offsets
        ):
            if doc["id"] != last:
                if last is not None:
                    bar.update(1)
                last = doc["id"]
            unvalued.spans(it for it in items if it["status"] in ACCEPT_STATUSES)
            if fmt == "jsonl":
                for line in decision_lines(doc, ann, items, raw):
                    w.write_line(line, 1)
            else:
                w.write(annotation_document_record(doc, ann, items, finished, raw))
        if last is not None:
            bar.update(1)

    _run_export(store, output, fmt, records, store.count_annotated_documents(annotator), "annotations", unvalued)


# ---------------------------------------------------------------------------- import


def _import_errors(e) -> click.ClickException:
    return click.ClickException(str(e))


@click.command("proposals")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--source", required=True, help="Name of the model or tool that made the proposals.")
@click.option("--version", "version", default=None, help="Version of that source (default: the file's sha256[:12]).")
@click.option(
    "--format",
    "fmt",
    type=_IN_FORMAT,
    default="auto",
    show_default=True,
    help="Input shape; auto detects it per line (conll by suffix .conll/.bio).",
)
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@pass_app
def import_proposals_cmd(app: AppContext, file: str, source: str, version: str | None, fmt: str, dry_run: bool) -> None:
    """External predictions become proposals of SOURCE that annotators review.

    \b
    Shapes (detected per line):
      {"id", "spans": [{"start", "end", "label", "score"?, "attrs"?}]}
      doccano  {"id", "text", "label": [[start, end, "LABEL"], ...]}
      Prodigy  {"text", "spans": [...], "answer", ...}  (reject/ignore lines skipped)
    Offsets are code points into the normalized text (workbench export documents).
    Every line is validated first; any error (file:line: reason) imports nothing.
    A new version of SOURCE supersedes its earlier proposals; decisions on them stay.
    """
    from workbench.importer import ImportFailed, import_proposals

    store = app.store
    try:
        res = import_proposals(
            store,
            file,
            source=source,
            version=version,
            fmt=fmt,
            dry_run=dry_run,
            progress=lambda xs: iter_progress(xs, "import"),
        )
    except ImportFailed as e:
        raise _import_errors(e) from None
    verb = "would import" if dry_run else "imported"
    if res.documents or not res.unchanged:
        msg = f"{verb} {res.spans:,} proposals of {source} {res.version} in {res.documents:,} documents"
    else:
        msg = f"nothing to import ({source} {res.version})"
    if res.unchanged:
        msg += f"; {res.unchanged:,} documents already had them"
    if res.skipped_lines:
        msg += f"; skipped {res.skipped_lines:,} lines answered reject/ignore"
    click.echo(msg)


@click.command("annotations")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--annotator", required=True, callback=name_callback, help="Record the spans as this annotator's decisions."
)
@click.option(
    "--format",
    "fmt",
    type=_IN_FORMAT,
    default="auto",
    show_default=True,
    help="Input shape; auto detects it per line (conll by suffix .conll/.bio).",
)
@click.option(
    "--from-annotator",
    default=None,
    callback=name_callback,
    help='Only lines with this "_annotator_id" (for exports that hold several annotators).',
)
@click.option(
    "--replace",
    is_flag=True,
    help="Overwrite the annotator's differing decisions on these documents (appended to the log).",
)
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@pass_app
def import_annotations_cmd(
    app: AppContext, file: str, annotator: str, fmt: str, from_annotator: str | None, replace: bool, dry_run: bool
) -> None:
    """Load finished annotations made elsewhere as ANNOTATOR's decisions.

    Each document's spans become decisions (origin "import"): a span that names
    its proposal ("proposal", as export annotations writes it) accepts or edits
    that proposal; otherwise a span equal to a proposal accepts it; proposals
    without a span are rejected, other spans are added; then the document is
    finished. Spans must be flat (no overlaps).
    Same shapes as import proposals (gold exports and jsonl/doccano/conll
    annotation exports read back). Re-importing the same file changes nothing;
    a document the annotator already annotated differently is refused unless
    --replace. Everything is validated first: any error imports nothing.
    """
    from workbench.importer import ImportFailed, import_annotations

    store = app.store
    try:
        res = import_annotations(
            store,
            file,
            annotator=annotator,
            fmt=fmt,
            replace=replace,
            from_annotator=from_annotator,
            dry_run=dry_run,
            progress=lambda xs: iter_progress(xs, "import"),
        )
    except ImportFailed as e:
        raise _import_errors(e) from None
    verb = "would import" if dry_run else "imported"
    if res.documents or not res.unchanged:
        msg = (
            f"{verb} {res.spans:,} spans of {annotator} in {res.documents:,} documents "
            f"({res.decisions:,} decisions, finished)"
        )
    else:
        msg = "nothing to import"
    if res.flags:
        msg += f"; {res.flags:,} unsure flag{'s' if res.flags != 1 else ''}"
    if res.unchanged:
        msg += f"; {res.unchanged:,} documents already in this state"
    if res.skipped_lines:
        msg += f"; skipped {res.skipped_lines:,} lines answered reject/ignore"
    if res.filtered_lines:
        msg += f"; {res.filtered_lines:,} lines of other annotators left out"
    click.echo(msg)


EXPORT_COMMANDS = (export_gold, export_annotations)
IMPORT_COMMANDS = (import_proposals_cmd, import_annotations_cmd)
