"""The desks kept for some roles (the auditor's, the designer's): one dependency maker for
their routes, and one page for a person whose roles do not include the desk's."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from api.console.auth import CurrentDesk, Desk
from api.console.i18n import text
from api.console.templating import render
from engine.access.principals import ADMIN, AUDITOR, DESIGNER

__all__ = [
    "AUDIT_ROLES",
    "DESIGN_ROLES",
    "NotForYourRoles",
    "desk_for",
    "not_for_your_roles",
]

AUDIT_ROLES = frozenset({AUDITOR, ADMIN})
"""Who sits at the auditor's desk, and so reads the operations log."""
DESIGN_ROLES = frozenset({DESIGNER, ADMIN})
"""Who sits at the designer's desk."""


class NotForYourRoles(Exception):
    """The person's roles include none of the desk's; `message` names the desk's people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def desk_for(roles: frozenset[str], message: str) -> Callable[[Desk], Desk]:
    """A route dependency: the signed-in person's desk, if their roles include one of
    `roles`; otherwise a 403 page saying `message` (a catalogue key)."""

    def dependency(desk: CurrentDesk) -> Desk:
        if not desk.principal.roles & roles:
            raise NotForYourRoles(message)
        return desk

    return dependency


async def not_for_your_roles(request: Request, exc: Exception) -> Response:
    lang = str(getattr(request.state, "lang", "zh"))
    message = exc.message if isinstance(exc, NotForYourRoles) else "error.forbidden"
    return render(request, "error.html", {"heading": text("error.forbidden", lang),
                                          "message": text(message, lang)}, status=403)
