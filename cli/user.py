"""`hatchery user create|passwd|disable|list`: the people who sign in to the console.

A person has what a token has (roles, a community scope, the `pii` permission). Their
first password is asked for (or generated and printed once) and must be changed at the
first sign-in; `passwd` sets a new one the same way and unlocks a locked account. Passwords
are read without echo and never logged.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from engine.clock import SystemClock
from engine.errors import StoreUnavailable
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.access.users import UserStore

user_app = typer.Typer(help="People who sign in to the web console: create, passwd, disable, "
                            "list.", no_args_is_help=True)


def _store() -> UserStore:
    from engine.access.users import UserStore
    from engine.service import open_store

    return UserStore(open_store(Settings()))


def _operator() -> str:
    """Who ran the command, for the operations log: the shell's user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _ask_password(generate: bool) -> str | None:
    """A password typed twice without echo, or None to generate one."""
    if generate:
        return None
    first = getpass.getpass("Password (empty: generate one): ")
    if not first:
        return None
    if getpass.getpass("Again: ") != first:
        typer.echo("error: the two passwords are not the same", err=True)
        raise typer.Exit(2)
    return first


@user_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Sign-in name; recorded as the actor.")],
    role: Annotated[list[str], typer.Option(
        "--role", help="admin, designer, caseworker, auditor or a workflow role "
                       "(repeat for several).")],
    community: Annotated[str, typer.Option(
        "--community", help="Scope: a path such as fuzhou/cangshan/jinshan, or '*'.")],
    display_name: Annotated[str | None, typer.Option(
        "--display-name", help="The name shown on pages (e.g. 王丽).")] = None,
    permission: Annotated[list[str] | None, typer.Option(
        "--permission", help="pii: see sensitive fields unmasked.")] = None,
    generate: Annotated[bool, typer.Option(
        "--generate-password", help="Generate the first password instead of asking.")] = False,
) -> None:
    """Create a person; the first password must be changed at the first sign-in."""
    from engine.access.principals import AccessError

    password = _ask_password(generate)
    try:
        record, first = _store().create(name, role, community, permission or (),
                                        display_name=display_name, password=password,
                                        now=SystemClock().now(), actor=_operator())
    except (AccessError, StoreUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if password is None:
        typer.echo(first)
    typer.echo(f"person '{record.name}': roles {', '.join(record.roles)}; community "
               f"{record.community}"
               + (f"; permissions {', '.join(record.permissions)}" if record.permissions
                  else "")
               + ". The first password must be changed at the first sign-in.", err=True)


@user_app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="The person's sign-in name.")],
    generate: Annotated[bool, typer.Option(
        "--generate-password", help="Generate the password instead of asking.")] = False,
) -> None:
    """Set a new password (to be changed at the next sign-in); unlocks a locked account."""
    from engine.access.passwords import generate_password
    from engine.access.principals import AccessError
    from engine.access.users import PasswordRefused

    password = _ask_password(generate)
    chosen = password if password is not None else generate_password()
    try:
        _store().set_password(name, chosen, now=SystemClock().now(), actor=_operator())
    except (AccessError, PasswordRefused, StoreUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if password is None:
        typer.echo(chosen)
    typer.echo(f"new password set for '{name}' (to be changed at the next sign-in)", err=True)


@user_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="The person's sign-in name.")]) -> None:
    """Disable a person at once: no sign-in, and their open sessions end."""
    from engine.access.principals import AccessError

    try:
        _store().disable(name, now=SystemClock().now(), actor=_operator())
    except (AccessError, StoreUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"disabled '{name}'")


@user_app.command("list")
def list_users(all_: Annotated[bool, typer.Option("--all", help="Include disabled people.")]
               = False) -> None:
    """The people (names, roles, scopes; never passwords)."""
    try:
        records = _store().list(include_disabled=all_)
    except StoreUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    from cli.community import named

    now = SystemClock().now()
    for r in records:
        locked = r.locked_until is not None and r.locked_until > now
        state = ("disabled" if r.disabled_at else "locked" if locked else
                 "must change password" if r.must_change_password else "active")
        typer.echo(f"{r.name:<20} {r.display_name:<16} {','.join(r.roles):<30} "
                   f"{named(r.community):<30} {','.join(r.permissions) or '-':<5} {state}")
    if not records:
        typer.echo("no people yet", err=True)
