"""CLI: ``assign``, ``agreement``, ``review``, ``history``."""

from __future__ import annotations

import getpass
import json
import os
import sys

import click

from .context import AppContext, default_name, echo_err, name_callback, pass_app


def _names(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def default_reviewer() -> str:
    for var in ("WORKBENCH_REVIEWER", "WORKBENCH_ANNOTATOR"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers)
        return "reviewer"


# ---------------------------------------------------------------------------- assign


def plan_assignments(
    doc_ids: list[str], annotators: list[str], per_doc: int, load: dict[str, int] | None = None
) -> list[tuple[str, str]]:
    """Give each document ``per_doc`` distinct annotators, round-robin and balanced:
    each document takes the least-loaded annotators, ties broken by the rotation
    order, so loads never differ by more than one (starting from ``load``)."""
    load = {a: (load or {}).get(a, 0) for a in annotators}
    order = {a: i for i, a in enumerate(annotators)}
    pairs = []
    nxt = 0
    n = len(annotators)
    for doc in doc_ids:
        ranked = sorted(annotators, key=lambda a: (load[a], (order[a] - nxt) % n))
        chosen = ranked[:per_doc]
        for a in sorted(chosen, key=lambda a: (order[a] - nxt) % n):
            pairs.append((doc, a))
            load[a] += 1
        nxt = (nxt + per_doc) % n
    return pairs


@click.command()
@click.option(
    "--annotators",
    "-a",
    "annotators_",
    metavar="A,B,C",
    callback=name_callback,
    help="Comma-separated annotator names.",
)
@click.option(
    "--per-doc", "-k", type=click.IntRange(min=1), default=2, show_default=True, help="Annotators per document."
)
@click.option("--docs", metavar="ID,...", help="Only these documents (default: all).")
@click.option(
    "--replace", is_flag=True, help="Drop the existing assignments of these documents first (decisions are kept)."
)
@click.option("--show", is_flag=True, help="Only print the current assignments.")
@pass_app
def assign(app: AppContext, annotators_: str | None, per_doc: int, docs: str | None, replace: bool, show: bool) -> None:
    """Give each document K annotators (round-robin, balanced).

    \b
      workbench assign --annotators alice,bob,carol --per-doc 2
      workbench assign --annotators dave --per-doc 1 --docs 003_b312853f4306f97e
      workbench assign --show

    With assignments in the database, ``workbench annotate`` shows each
    annotator only their documents, and review waits for every assigned
    annotator to finish a document. Without any assignment everybody sees
    every document (review takes a document once anyone finished it).
    Documents that already have assignments are left as they are (loads are
    balanced around them) unless --replace.
    """
    store = app.store
    if show:
        _print_assignments(store)
        return
    if not annotators_:
        raise click.UsageError("--annotators is required (or --show)")
    names = _names(annotators_)
    if len(set(names)) != len(names):
        raise click.BadParameter("an annotator is listed twice", param_hint="--annotators")
    if per_doc > len(names):
        raise click.BadParameter(
            f"{per_doc} annotators per document but only {len(names)} given", param_hint="--per-doc"
        )
    all_ids = store.document_ids()
    if not all_ids:
        raise click.ClickException(f"{store.path} has no documents (workbench ingest first)")
    if docs:
        ids = _names(docs)
        known = set(all_ids)
        unknown = [d for d in ids if d not in known]
        if unknown:
            raise click.ClickException(f"no such document{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        ids = list(dict.fromkeys(ids))
    else:
        ids = all_ids
    existing = store.assignments()
    if replace:
        existing = {d: a for d, a in existing.items() if d not in set(ids)}
    kept = [d for d in ids if d in existing]
    todo = [d for d in ids if d not in existing]
    load: dict[str, int] = {}
    for anns in existing.values():
        for a in anns:
            load[a] = load.get(a, 0) + 1
    pairs = plan_assignments(todo, names, per_doc, load)
    added = store.reassign(ids if replace else [], pairs)  # one transaction: drop (--replace), add
    click.echo(
        f"assigned {len(todo)} document{'s' if len(todo) != 1 else ''} × {per_doc} annotators ({added} new assignments)"
    )
    if kept:
        click.echo(
            f"{len(kept)} document{'s' if len(kept) != 1 else ''} already had assignments and "
            "kept them (--replace to redo)"
        )
    _print_load(store)


def _print_load(store) -> None:
    per: dict[str, list[str]] = {}
    for d, anns in store.assignments().items():
        for a in anns:
            per.setdefault(a, []).append(d)
    if not per:
        click.echo("no assignments: every annotator sees every document")
        return
    finished = {a: store.finished_docs(a) for a in per}
    from .tables import load_text

    click.echo(load_text([(a, len(per[a]), len(set(per[a]) & finished[a])) for a in sorted(per)]))


def _print_assignments(store) -> None:
    asg = store.assignments()
    if not asg:
        click.echo("no assignments: every annotator sees every document")
        return
    for d in store.document_ids():
        if d in asg:
            click.echo(f"{d}  {', '.join(asg[d])}")
    _print_load(store)


# ---------------------------------------------------------------------------- agreement


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every count and figure) instead of a table.")
@click.option("--label", "-l", metavar="LABEL", help="Only this label (others count as outside).")
@pass_app
def agreement(app: AppContext, as_json: bool, label: str | None) -> None:
    """Agreement between annotators, over the documents each pair has finished.

    \b
    For every pair: span precision / recall / F1 with exact match (same start,
    end, label) and with overlap match (same label, sharing a character,
    one-to-one), per label and micro; Cohen's kappa over character labels
    (O for none); Cohen's kappa of accept/reject decisions on the proposals
    both decided. For all annotators at once: Krippendorff's alpha (nominal)
    with each character a unit and an annotator who did not finish a
    document missing there.
    """
    from workbench.agreement import agreement_report
    from workbench.core.labels import LABELS
    from workbench.review import load_annotation_set

    if label is not None:
        label = label.upper()
        known = set(LABELS)
        if label not in known:
            raise click.BadParameter(f"unknown label {label!r} (one of {', '.join(LABELS)})", param_hint="--label")
    store = app.store
    data = load_annotation_set(store)
    if len(data.annotators()) < 2:
        n = len(data.annotators())
        raise click.ClickException(
            f"agreement needs two annotators with finished documents; {store.path} has {n}"
            + (f" ({data.annotators()[0]})" if n == 1 else "")
        )
    rep = agreement_report(data, label=label)
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=2))
    else:
        from .tables import agreement_text

        click.echo(agreement_text(rep))


# ---------------------------------------------------------------------------- review


@click.command()
@click.option(
    "--reviewer",
    "-r",
    metavar="NAME",
    default=None,
    callback=name_callback,
    help="Your name in the review log (default: $WORKBENCH_REVIEWER, $WORKBENCH_ANNOTATOR or login).",
)
@click.option(
    "--policy",
    type=click.Choice(["unanimous", "majority"]),
    default="unanimous",
    show_default=True,
    help="When a span becomes gold without review: all annotators agree, or more than half.",
)
@click.option("--docs", metavar="ID,...", help="Only these documents.")
@click.option(
    "--summary", is_flag=True, help="Do not open the TUI: make agreed spans gold and list what is still unsettled."
)
@click.option(
    "--all",
    "all_docs",
    is_flag=True,
    help="Audit all gold: every document ready for review or holding gold (not only those with "
    "disagreements); the screen opens on the gold walk (o). With --summary: gold per document.",
)
@pass_app
def review(app: AppContext, reviewer: str | None, policy: str, docs: str | None, summary: bool, all_docs: bool) -> None:
    """Settle disagreements between annotators into gold.

    \b
    A document is reviewed once all its assigned annotators finished it
    (without assignments: once anyone did). Spans all annotators agree
    on (or, with --policy majority, more than half) become gold at once
    (origin "agreed"; "single-annotator" when one annotator finished it alone,
    made agreed spans and disagreements when a second one finishes it). The rest are listed one disagreement at a time, the
    versions one under another over the same text, with who made them:
      1..9   take that version as gold     x      reject all (no gold span)
      space  skip (stays unsettled)        u      undo (any depth)
      j/k    next / previous item          h/l    highlight a version
      e      edit the highlighted version: 1-7 label, [ ] { } move start/end,
             tab next span, d drop span, a QUANTITY attrs, c next version as base,
             enter save (adjudicated), esc cancel
      n      add a span no annotator made: h/l w/b j/k move the caret, v anchor,
             1-7 label, a QUANTITY attrs, tab next document, enter save (origin
             "added"), esc cancel; not over an unsettled disagreement; over gold,
             enter asks and enter again replaces the gold it overlaps
      o      walk the gold of the document (any origin): j/k span, tab next
             document, 1-7 relabel, [ ] { } bounds, a attrs, d remove, n a new
             span replacing it, enter save (origin "corrected"), esc back
      ?      help     q  quit
    A correction of an agreed span stays when review starts again (the
    automatic sync does not bring it back); u undoes it. --all walks every
    document with gold, to audit what everybody agreed on.
    u undoes your own latest action, also one from an earlier session.
    Each action is committed (review log + gold rows, one transaction) before
    the screen updates. Running review again shows only what is unsettled.
    """
    from workbench.review import ReviewError, ReviewSession, waiting_docs

    store = app.store
    name = reviewer or default_name(
        default_reviewer(), "$WORKBENCH_REVIEWER, $WORKBENCH_ANNOTATOR or the login name", "--reviewer"
    )
    doc_ids = _names(docs) if docs else None
    if doc_ids:
        known = set(store.document_ids())
        unknown = [d for d in doc_ids if d not in known]
        if unknown:
            raise click.ClickException(f"no such document: {', '.join(unknown)}")
    try:
        session = ReviewSession(store, name, policy=policy, doc_ids=doc_ids, all_docs=all_docs)
    except ReviewError as e:
        raise click.ClickException(str(e)) from None
    s = session.summary
    if not s.documents and not (all_docs and session.docs):
        waiting = waiting_docs(store)
        msg = (
            "no document is ready for review: a document needs all its assigned annotators to finish it "
            "(without assignments: 2 annotators)"
        )
        if waiting:
            w = waiting[0]
            msg += f"; e.g. {w['id']} waits for {', '.join(w['waiting_for'])}"
        raise click.ClickException(msg)
    echo = click.echo if summary else echo_err
    _print_summary(echo, store, s, policy)
    if all_docs and s.gold_only:
        echo(
            f"also {s.gold_only} document{'s' if s.gold_only != 1 else ''} with gold not ready for review "
            "(being annotated again): their gold can be corrected, the automatic sync leaves them alone"
        )
    if summary and all_docs:
        from workbench.core.visible import visible

        for doc_id in session.docs:
            rows = session.gold(doc_id)
            by: dict[str, int] = {}
            for row in rows:
                by[row["origin"]] = by.get(row["origin"], 0) + 1
            parts = ", ".join(f"{n} {o}" for o, n in sorted(by.items())) or "no gold"
            click.echo(f"{visible(doc_id)}  gold {len(rows)} spans: {parts}  ({s.by_doc.get(doc_id, 0)} unsettled)")
    if summary:
        from workbench.core.visible import visible as _visible

        for it in session.items:
            c = it.cluster
            text = session.text(c.doc_id)[c.start : c.end].replace("\n", "⏎")
            vs = " | ".join(
                f"{i}: {'+'.join(v.annotators)} "
                + (", ".join(f"{x['label']}「{x['text']}」{x['start']}-{x['end']}" for x in v.spans) or "no span")
                for i, v in enumerate(it.versions, 1)
            )
            n_flags = sum(1 for f in session.item_flags(it) if not f["document"])
            flagged = f"  ⚑ {n_flags} unsure" if n_flags else ""
            click.echo(_visible(f"{c.doc_id}  {c.start}-{c.end}  「{text}」  {'+'.join(c.kinds)}  {vs}{flagged}"))
        for doc_id in session.docs:  # who flagged what as unsure, with the notes
            for f in session.flags(doc_id):
                what = "the document" if f["document"] else f"{f['label']}「{f['text']}」{f['start']}-{f['end']}"
                note = f"「{f['note']}」" if f["note"] else "(no note)"
                click.echo(_visible(f"⚑ {doc_id}  {f['annotator']}: {what} unsure {note}"))
        return
    if not session.items and not all_docs:
        echo_err(
            "nothing to adjudicate; the review screen opens to add spans no annotator made (n) "
            "or correct gold (o), q quits"
        )
    from workbench.tui.review_app import ReviewApp

    tui = ReviewApp(session)
    tui.run()
    g, gd = store.gold_totals()
    echo_err(
        f"{session.n_actions} review actions; {session.open_count} items still unsettled; "
        f"gold: {g} spans in {gd} documents"
    )
    if tui.return_code:  # quit with a review action not saved (the app printed which)
        sys.exit(tui.return_code)


def _print_summary(echo, store, s, policy: str) -> None:
    echo(
        f"{s.documents} document{'s' if s.documents != 1 else ''} ready for review"
        + (f" ({s.waiting} still being annotated)" if s.waiting else "")
    )
    echo(
        f"agreed ({policy}): {s.agreed_spans} spans in gold"
        + (
            f" (+{s.agreed_added}" + (f", -{s.agreed_removed}" if s.agreed_removed else "") + " now)"
            if s.agreed_added or s.agreed_removed
            else ""
        )
    )
    echo(
        f"disagreements unsettled: {s.items}" + (f" ({s.already_settled} settled earlier)" if s.already_settled else "")
    )
    if s.flags:
        n = sum(s.flags.values())
        echo(
            f"unsure flags: {n} in {len(s.flags)} document{'s' if len(s.flags) != 1 else ''} "
            "(annotate ! / F; the review screen shows who flagged what, with the note)"
        )
    if s.extra:
        names = sorted({a for anns in s.extra.values() for a in anns})
        echo(
            f"left out: {len(s.extra)} document{'s' if len(s.extra) != 1 else ''} also finished by annotators not "
            f"assigned to them ({', '.join(names[:5])}{' …' if len(names) > 5 else ''}); assign them to count"
        )
    by_origin = store.gold_by_origin()
    if by_origin:
        order = ("agreed", "single-annotator", "adjudicated", "added", "corrected")
        parts = [f"{by_origin[o]} {o}" for o in order if o in by_origin]
        parts += [f"{n} {o}" for o, n in sorted(by_origin.items()) if o not in order]
        echo(
            f"gold spans by origin: {', '.join(parts)}"
            + (" (added = by a reviewer, no annotator had it)" if "added" in by_origin else "")
            + (" (corrected = gold a reviewer fixed)" if "corrected" in by_origin else "")
        )


# ---------------------------------------------------------------------------- history


@click.command()
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {id, decisions, reviews}.")
@click.option("--annotator", "-a", metavar="NAME", callback=name_callback, help="Only this annotator's decisions.")
@pass_app
def history(app: AppContext, doc_id: str, as_json: bool, annotator: str | None) -> None:
    """The decision log of a document, oldest first, then its review log.

    Columns: decision id, time (UTC), annotator, action, span (start-end and
    text), label, proposal id, ref (the decision an undo cancels, or the added
    span an edit/remove changes), origin.
    """
    from workbench.review import history as load_history

    store = app.store
    if store.get_document(doc_id) is None:
        raise click.ClickException(f"no document {doc_id!r} in {store.path}")
    h = load_history(store, doc_id)
    h["flags"] = store.flag_rows(doc_id, annotator)  # the unsure flags' log (annotate ! / F)
    if annotator:
        h["decisions"] = [d for d in h["decisions"] if d["annotator"] == annotator]
    if as_json:
        click.echo(json.dumps(h, ensure_ascii=False, indent=2))
        return
    from workbench.core.visible import visible

    from .tables import history_text

    click.echo(history_text(doc_id, h["decisions"], h["reviews"]))
    if h["flags"]:
        click.echo("\nunsure flags (set / clear / undo, oldest first):")
        for f in h["flags"]:
            what = "document" if f["item_key"] is None and f["action"] != "undo" else f["item_key"] or ""
            if f["start"] is not None:
                what += f" {f['label']} {f['start']}-{f['end']}"
            ref = f"  (undoes {f['ref_id']})" if f["ref_id"] is not None else ""
            note = f"  「{f['note']}」" if f["note"] else ""
            click.echo(
                visible(
                    f"{f['id']:>5}  {f['ts']}  {f['annotator']}  {f['action']:<5}  {what}{note}{ref}  {f['origin']}"
                )
            )


COMMANDS = (assign, agreement, review, history)
