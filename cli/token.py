"""`hatchery token create|revoke|list`: API tokens, stored hashed, shown once."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from engine.clock import SystemClock
from engine.errors import StoreUnavailable
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.access.tokens import TokenStore

token_app = typer.Typer(help="API tokens: create (printed once), revoke, list.",
                        no_args_is_help=True)


def _store() -> TokenStore:
    from engine.access.tokens import TokenStore
    from engine.service import open_store

    return TokenStore(open_store(Settings()))


def _operator() -> str:
    """Who ran the command, for the operations log: the shell's user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who uses it; recorded as the actor.")],
    role: Annotated[list[str], typer.Option(
        "--role", help="admin, designer, caseworker, auditor or a workflow role "
                       "(repeat for several).")],
    community: Annotated[str, typer.Option(
        "--community", help="Scope: a path such as fuzhou/cangshan/jinshan, or '*' for "
                            "every community.")],
    permission: Annotated[list[str] | None, typer.Option(
        "--permission", help="pii: see sensitive fields unmasked.")] = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from engine.access.tokens import TokenError

    try:
        store = _store()
        record, token = store.create(name, role, community, permission or (),
                                     now=SystemClock().now(), actor=_operator())
    except (TokenError, StoreUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(token)
    typer.echo(f"token '{record.name}' (id {record.id}): roles {', '.join(record.roles)}; "
               f"community {record.community}"
               + (f"; permissions {', '.join(record.permissions)}" if record.permissions
                  else "")
               + ". It is shown only now: keep it safe.", err=True)


@token_app.command("revoke")
def revoke(name_or_id: Annotated[str, typer.Argument(help="The token's name or id.")]
           ) -> None:
    """Revoke a token at once (by name: every active token of that name)."""
    try:
        store = _store()
        count = store.revoke(name_or_id, now=SystemClock().now(), actor=_operator())
    except StoreUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if count == 0:
        typer.echo(f"error: no active token named or numbered '{name_or_id}'", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {count} token(s)")


@token_app.command("list")
def list_tokens(all_: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")]
                = False) -> None:
    """The tokens (never the tokens themselves: only names, roles and scopes)."""
    try:
        store = _store()
        records = store.list(include_revoked=all_)
    except StoreUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    from cli.community import named

    for r in records:
        state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        typer.echo(f"{r.id}  {r.name:<20} {','.join(r.roles):<30} {named(r.community):<30} "
                   f"{','.join(r.permissions) or '-':<5} {state}")
    if not records:
        typer.echo("no tokens", err=True)
