"""The console's navigation: one list of entries, each shown to the people whose roles it
names (an empty `roles` shows it to everyone signed in). A desk adds its entries here.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from engine.access.principals import Principal

__all__ = ["NAVIGATION", "NavEntry", "navigation_for"]


@dataclass(frozen=True)
class NavEntry:
    """One link of the main navigation; `label` is a key of `api.console.i18n.TEXTS`."""

    path: str
    label: str
    roles: frozenset[str] = frozenset()
    acting: bool = False  # shown only to people who may change cases

    def shown_to(self, principal: Principal) -> bool:
        if self.acting and not principal.acting_roles:
            return False
        return not self.roles or bool(self.roles & principal.roles)


@dataclass(frozen=True)
class NavLink:
    path: str
    label: str
    current: bool


NAVIGATION: list[NavEntry] = [
    NavEntry("/", "nav.queue"),
    NavEntry("/cases/new", "nav.start", acting=True),
    NavEntry("/audit", "nav.audit", roles=frozenset({"auditor", "admin"})),
    NavEntry("/design", "nav.design", roles=frozenset({"designer", "admin"})),
]


def navigation_for(request: Request, principal: Principal) -> list[NavLink]:
    """The entries this person sees, the current page marked."""
    path = request.url.path
    return [NavLink(e.path, e.label, path == e.path or (e.path != "/" and
                                                       path.startswith(e.path)))
            for e in NAVIGATION if e.shown_to(principal)]
