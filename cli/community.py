"""`hatchery community list`: the community directory the console shows names from.

Communities are kept by path (`fuzhou/cangshan/jinshan/jinzhou`); people see their names
(金州社区), read from the file `HATCHERY_COMMUNITIES_FILE` (default `communities.yaml` at the
project's root). The operator edits that file; this command checks it and shows what the
console will show, every problem named by its path.
"""

from __future__ import annotations

from typing import Annotated

import typer

from engine.access.communities import CommunityFileError, parse_directory
from engine.settings import Settings


def named(path: str) -> str:
    """A community path with its zh name beside it (`fuzhou/cangshan（仓山区）`) where the
    directory knows it: the lists of people and tokens show both (operators type paths)."""
    file = Settings().communities_file
    try:
        found = parse_directory(file.read_text(encoding="utf-8"), str(file))
    except (OSError, UnicodeDecodeError, CommunityFileError):
        return path
    known = found.names.get(path)
    return f"{path}（{known.zh}）" if known is not None else path


community_app = typer.Typer(help="Community names (zh, en) the console shows: list.",
                            no_args_is_help=True)


@community_app.command("list")
def list_communities(
    scope: Annotated[str | None, typer.Option(
        "--scope", help="Only the communities under this path (e.g. fuzhou/cangshan).")]
        = None,
) -> None:
    """Each community path with its names; exit 2 naming every bad entry of the file."""
    path = Settings().communities_file
    if not path.exists():
        typer.echo(f"no community directory at {path}: pages show each community by the "
                   "last segment of its path", err=True)
        return
    try:
        found = parse_directory(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: {path} cannot be read: {exc}", err=True)
        raise typer.Exit(2) from exc
    except CommunityFileError as exc:
        typer.echo(f"error: {path}:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from exc
    for community in found.within(scope or "*"):
        names = found.names[community]
        typer.echo(f"{community:<40} {names.zh:<16} {names.en}")
