"""The ``workbench`` command line.

Small composable commands on one SQLite file (``--db``, default
``./workbench.db`` or ``$WORKBENCH_DB``). Heavy imports (jieba, textual, rich) happen
inside the commands that need them, so every command starts fast.

One module per command family; each defines plain click commands and lists them in
``COMMANDS`` (top level), ``EXPORT_COMMANDS`` / ``IMPORT_COMMANDS`` (under ``export`` /
``import``). They are registered here, from the explicit tuple ``COMMAND_MODULES``:
command modules import only :mod:`workbench.cli.context`, never this package, so there
is no import cycle and nothing registers itself on import.
"""

from __future__ import annotations

import os
import sqlite3
import sys

import click
from click.core import ParameterSource

from workbench.outputs import OutputError
from workbench.store import StoreError, describe_error

from .. import __version__
from ..core.visible import visible
from . import annotate, exchange, ingest, ops, propose, retrain, review, serve, train
from .context import BUNDLED_CORPUS, AppContext, describe_os_error, echo_err, iter_progress, pass_app, progress_bar
from .ingest import run_ingest


class WorkbenchGroup(click.Group):
    """The top group: whatever the environment does to a command (a read-only database or
    folder, a full disk, a damaged file…) ends as one line saying what is wrong, exit 1,
    never a traceback. The transaction that failed was rolled back (``Store.write``)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except StoreError as e:
            raise click.ClickException(str(e)) from None
        except sqlite3.Error as e:
            app = ctx.obj if isinstance(ctx.obj, AppContext) else None
            raise click.ClickException(describe_error(e, app.db_path if app else "the database")) from None
        except OSError as e:
            raise click.ClickException(describe_os_error(e)) from None


@click.group(cls=WorkbenchGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    envvar="WORKBENCH_DB",
    default="workbench.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite database file (env WORKBENCH_DB).",
)
@click.version_option(__version__, prog_name="workbench")
@click.pass_context
def cli(ctx: click.Context, db: str) -> None:
    """Annotate Chinese work reports from the keyboard.

    \b
    Typical session, one annotator:
      workbench ingest corpus/          # load reports (txt, folders, jsonl)
      workbench propose                 # automatic proposals
      workbench annotate                # confirm / edit / reject in the TUI, f finishes a document
      workbench review --summary        # finished documents into gold
      workbench export gold -o gold.jsonl

    \b
    A team: after propose,
      workbench assign --annotators alice,bob --per-doc 2
      workbench annotate --annotator alice      # each annotator, on their own documents
      workbench agreement                       # how far they agree
      workbench review --reviewer rita          # agreed spans to gold, settle the rest
      workbench export gold -o gold.jsonl
    """
    explicit = ctx.get_parameter_source("db") not in (ParameterSource.DEFAULT, None)
    ctx.obj = AppContext(db, explicit=explicit)
    ctx.call_on_close(ctx.obj.close)


@cli.group()
def export() -> None:
    """Write documents, proposals, annotations or gold to a file (-o - for stdout)."""


@cli.group(name="import")
def import_() -> None:
    """Read proposals or annotations made elsewhere (validated, all-or-nothing)."""


# ---------------------------------------------------------------------------- command modules

COMMAND_MODULES = (ingest, propose, annotate, review, exchange, ops, train, retrain, serve)

for _module in COMMAND_MODULES:
    for _cmd in getattr(_module, "COMMANDS", ()):
        cli.add_command(_cmd)
    for _cmd in getattr(_module, "EXPORT_COMMANDS", ()):
        export.add_command(_cmd)
    for _cmd in getattr(_module, "IMPORT_COMMANDS", ()):
        import_.add_command(_cmd)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush of a closed pipe stays
    silent (the way the Python docs recommend for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    # not click's standalone mode: its error messages would reach the terminal raw, and they
    # quote ids and paths from the data; here they go through core.visible first
    try:
        rv = cli.main(prog_name="workbench", standalone_mode=False)
    except BrokenPipeError:  # `workbench history X | head`: the reader left; nothing to say
        _quiet_stdout()
        sys.exit(1)
    except click.ClickException as e:
        if isinstance(e.__context__, BrokenPipeError):
            _quiet_stdout()
            sys.exit(1)
        setattr(e, "message", visible(e.message, keep_newlines=True))  # noqa: B010  (Final in the stubs only)
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        echo_err("Aborted!")
        sys.exit(1)
    # the last net (the group turns these into one line already; this catches what happens
    # outside a command, e.g. closing the database)
    except StoreError as e:  # pragma: no cover - surfaced by commands normally
        echo_err(f"Error: {e}")
        sys.exit(1)
    except sqlite3.Error as e:  # pragma: no cover
        echo_err(f"Error: {describe_error(e, 'the database')}")
        sys.exit(1)
    except OSError as e:  # pragma: no cover
        echo_err(f"Error: {describe_os_error(e)}")
        sys.exit(1)
    except OutputError as e:  # an -o the command did not catch itself (export documents, propose)
        echo_err(f"Error: {e}")
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


__all__ = [
    "BUNDLED_CORPUS",
    "COMMAND_MODULES",
    "AppContext",
    "cli",
    "echo_err",
    "export",
    "import_",
    "iter_progress",
    "main",
    "pass_app",
    "progress_bar",
    "run_ingest",
]

if __name__ == "__main__":
    main()
