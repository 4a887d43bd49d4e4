"""``workbench serve``: the annotate and review apps in a browser, and its users' tokens."""

from __future__ import annotations

import ipaddress

import click

from .context import AppContext, echo_err, pass_app

INSTALL_HINT = "workbench serve needs textual-serve: pip install 'report-workbench[serve]'"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--public-url",
    metavar="URL",
    default=None,
    help="The address browsers use, behind a reverse proxy (e.g. https://annotate.example.org).",
)
@click.option("--add-user", metavar="NAME", default=None, help="Issue an access token to NAME (printed once).")
@click.option(
    "--role",
    type=click.Choice(["annotator", "reviewer"]),
    default="annotator",
    show_default=True,
    help="With --add-user: annotators get the annotate app, reviewers the review app.",
)
@click.option("--revoke-user", metavar="NAME", default=None, help="Revoke NAME's token (their open tabs close).")
@click.option("--list-users", is_flag=True, help="List the users holding a live token (with --all: revoked too).")
@click.option("--all", "all_", is_flag=True, help="With --list-users: revoked tokens too.")
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    public_url: str | None,
    add_user: str | None,
    role: str,
    revoke_user: str | None,
    list_users: bool,
    all_: bool,
) -> None:
    """Serve the annotate and review apps in a browser (textual-serve).

    \b
      workbench serve --add-user alice                 # prints alice's token, once
      workbench serve --add-user rita --role reviewer
      workbench serve                                  # http://127.0.0.1:8000/
      workbench serve --list-users
      workbench serve --revoke-user alice              # her open tabs close too

    Each browser tab runs its own app process on this database, like a
    terminal user: every decision is committed before the screen changes,
    annotators stay blind to each other. A browser logs in with its token;
    the token alone says who it is and which app it gets (annotators:
    annotate, reviewers: review). Tokens are stored hashed (scrypt).

    It listens on 127.0.0.1; to publish it, put it behind a reverse proxy
    with TLS and pass --public-url (README: workbench serve).
    """
    from workbench.store.users import UserError
    from workbench.store.users import add_user as add
    from workbench.store.users import list_users as users
    from workbench.store.users import revoke_user as revoke

    actions = sum(x is not None and x is not False for x in (add_user, revoke_user, list_users or None))
    if actions > 1:
        raise click.UsageError("give one of --add-user, --revoke-user, --list-users")
    store = app.store
    try:
        if add_user is not None:
            user, token = add(store, add_user, role)
            echo_err(f"added {user.name} ({user.role}); the token is shown this once, hand it over privately:")
            click.echo(token)
            return
        if revoke_user is not None:
            user = revoke(store, revoke_user)
            echo_err(f"revoked the token of {user.name} ({user.role})")
            return
    except UserError as e:
        raise click.ClickException(str(e)) from None
    if list_users:
        from workbench.core.visible import visible

        rows = users(store, include_revoked=all_)
        if not rows:
            echo_err("no users; add one with: workbench serve --add-user NAME [--role reviewer]")
        for u in rows:
            state = f"revoked {u.revoked_at}" if u.revoked_at else "live"
            click.echo(f"{visible(u.name)}\t{u.role}\t{u.created_at}\t{state}")
        return

    try:
        from workbench.serve.server import serve as run_server
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
    if not users(store):
        echo_err("warning: no users yet, nobody can log in; add one with: workbench serve --add-user NAME")
    if not _loopback(host) and not (public_url or "").startswith("https://"):
        echo_err(
            f"warning: listening on {host} without TLS: tokens and text cross the network in clear; "
            "put it behind a reverse proxy with TLS (README: workbench serve)"
        )
    path = store.path
    app.close()  # the server opens its own connection; each tab's app its own
    run_server(path, host=host, port=port, public_url=public_url.rstrip("/") if public_url else None)


COMMANDS = (serve,)
