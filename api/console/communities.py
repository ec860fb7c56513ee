"""Communities as people see them on the console: by name in their language, never by
path. The directory is the operator's file (`engine.access.communities`), loaded once per
app and followed as it changes; this module is what pages and templates ask of it.
"""

from __future__ import annotations

from starlette.requests import Request

from engine.access.communities import CommunityBook, CommunityDirectory
from engine.settings import Settings

__all__ = ["choices", "directory", "install"]


def install(app: object, settings: Settings) -> None:
    """Read the directory named by the settings (a bad file stops the start, named)."""
    app.state.community_names = CommunityBook(settings.communities_file)  # type: ignore[attr-defined]


def directory(request: Request) -> CommunityDirectory:
    """The directory in force now (empty when the app has none)."""
    book: CommunityBook | None = getattr(request.app.state, "community_names", None)
    return book.current() if book is not None else CommunityDirectory({})


def choices(found: CommunityDirectory, scope: str, lang: str,
            chosen: str | None = None) -> list[tuple[str, str]]:
    """(path, full name) of the known communities inside `scope`, for a list to choose
    from; a chosen path the directory lacks is kept (by its short name) so that a form
    shown again keeps what was sent. Empty when the directory knows none in scope."""
    listed = [(path, found.full_name(path, lang)) for path in found.within(scope)]
    if listed and chosen and all(path != chosen for path, _ in listed):
        listed.append((chosen, found.name(chosen, lang)))
    return listed
