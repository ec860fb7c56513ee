"""The quick operations (`api.quick`) reached without the router's walk over every route.

FastAPI's router finds a request's route by trying each route in turn, in the order they
were included: for a fire that is about twenty regular-expression matches, each with its
bookkeeping in the scope (a sixth of the event loop's time for a fire). `QuickRoutes`
sits where the router is called (inside FastAPI's exception handling, `api.front` before
it) and picks a quick operation's route itself when its path and method are the
operation's, then does to the scope exactly what the router does on its way to that route
(the same FastAPI functions, in the same order) and lets the route answer as always.

It only does so for a route no earlier route could ever take a request from: checked
when the table is built, by comparing the paths segment by segment (a literal segment
against a literal one, a parameter taking anything but a slash); a route shadowed, or
one it cannot tell, is left to the router. The table is built again whenever the route
version of any router moves (a route added), and every other request goes to the router.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    APIRoute,
    APIRouter,
    _apply_router_form_limits,
    _EffectiveRouteContext,
    _get_fastapi_scope,
    _IncludedRouter,
    _update_scope,
)
from fastapi.telemetry._api import _route_selected
from starlette._utils import get_route_path
from starlette.convertors import (
    Convertor,
    FloatConvertor,
    IntegerConvertor,
    StringConvertor,
    UUIDConvertor,
)
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.quick import QUICK

__all__ = ["QuickRoutes"]

_ONE_SEGMENT = (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor)


class _Entry:
    """One quick route: its own regular expression and methods, and how the router gets
    to it (the top router's inclusion of its router)."""

    def __init__(self, branch: _IncludedRouter, context: _EffectiveRouteContext,
                 route: APIRoute) -> None:
        self.branch = branch
        self.context = context
        self.route = route
        self.regex = context.path_regex
        self.methods = context.methods
        self.path = (getattr(context.starlette_route, "path_format", None)
                     or context.path_format)


class QuickRoutes:
    """The router, with the quick operations' routes found directly (see above)."""

    def __init__(self, router: ASGIApp) -> None:
        self.router = router
        self.entries: list[_Entry] = []
        # Each router the top one includes, however deep, with its route version when
        # the table was built: FastAPI's own check (`_get_routes_version`, their sum)
        # walks them all again every time, about 7 us.
        self.versions: list[tuple[APIRouter, int]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        router = self.router
        if scope["type"] == "http" and isinstance(router, APIRouter):
            if self.stale():
                self.entries = quick_entries(router)
                self.versions = route_versions(router)
            path = get_route_path(scope)
            for entry in self.entries:
                if scope["method"] in entry.methods and entry.regex.match(path):
                    await self.answer(router, entry, scope, receive, send)
                    return
        await router(scope, receive, send)

    def stale(self) -> bool:
        """Whether the table is not built yet, or a route was added since."""
        if not self.versions:
            return True
        for watched, version in self.versions:  # noqa: SIM110 (any() over a generator: 3x dearer)
            if watched._routes_version != version:
                return True
        return False

    @staticmethod
    async def answer(router: APIRouter, entry: _Entry, scope: Scope, receive: Receive,
                     send: Send) -> None:
        """What `APIRouter.app`, `_IncludedRouter.handle` and `_handle_selected` do to the
        scope on their way to `entry`'s route, then the route's own answer."""
        _apply_router_form_limits(scope, router.form_limits)
        if "router" not in scope:
            scope["router"] = router
        fastapi_scope = _get_fastapi_scope(scope)  # the router's matching leaves it there
        branch = entry.branch
        _route_selected(scope=scope, path=getattr(branch, "path_format", None), mount=False)
        _apply_router_form_limits(scope, branch.include_context.form_limits)
        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = branch
        match, child_scope = entry.context.matches(scope)
        if match != Match.FULL:  # cannot be: the path and method were checked
            await router(scope, receive, send)
            return
        child_scope["route"] = entry.route
        _update_scope(scope, child_scope)
        _route_selected(scope=scope, path=entry.path, mount=False)
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = entry.context
        scope["route"] = entry.route
        await entry.route.handle(scope, receive, send)


def route_versions(router: APIRouter) -> list[tuple[APIRouter, int]]:
    """`router` and every router it includes, however deep, each with its route version
    (a route added to any of them moves its version, and so FastAPI's sum)."""
    found: dict[int, tuple[APIRouter, int]] = {}
    waiting = [router]
    while waiting:
        current = waiting.pop()
        if id(current) in found:
            continue
        found[id(current)] = (current, current._routes_version)
        waiting += [route.original_router for route in current.routes
                    if isinstance(route, _IncludedRouter)]
    return list(found.values())


def quick_entries(router: APIRouter) -> list[_Entry]:
    """The quick routes of `router`'s direct inclusions that no route before them could
    take a request from, in the router's order."""
    entries: list[_Entry] = []
    before: list[Any] = []  # every route the router tries first, flattened
    for top in router.routes:
        if not isinstance(top, _IncludedRouter):
            before.append(top)
            continue
        for candidate in top.effective_candidates():
            if (isinstance(candidate, _EffectiveRouteContext)
                    and isinstance(candidate.original_route, APIRoute)
                    and getattr(candidate.original_route.endpoint, QUICK, None) is not None
                    and candidate.original_route.methods
                    and not any(_may_take(other, candidate) for other in before)):
                entries.append(_Entry(top, candidate, candidate.original_route))
            before.append(candidate)
    return entries


def _may_take(other: Any, quick: _EffectiveRouteContext) -> bool:
    """Whether route `other`, tried before `quick`, might match a request `quick` would
    answer (True whenever that cannot be told)."""
    if isinstance(other, _EffectiveRouteContext) and isinstance(other.original_route, APIRoute):
        template: Any = other
    elif isinstance(other, _EffectiveRouteContext) and isinstance(other.starlette_route, Route):
        template = other.starlette_route
    elif isinstance(other, Route):
        template = other
    else:
        return True
    methods: set[str] | None = template.methods
    if methods and not methods & quick.methods:
        return False
    if not (_one_segment_each(template.param_convertors)
            and _one_segment_each(quick.param_convertors)):
        return True
    return _paths_overlap(template.path_format, quick.path_format)


def _one_segment_each(convertors: dict[str, Convertor[Any]]) -> bool:
    """Whether every parameter takes one segment (none takes a slash)."""
    return all(type(convertor) in _ONE_SEGMENT for convertor in convertors.values())


def _paths_overlap(one: str, two: str) -> bool:
    """Whether some path matches both templates, each parameter taking one segment."""
    first, second = one.split("/"), two.split("/")
    if len(first) != len(second):
        return False
    return all("{" in a or "{" in b or a == b for a, b in zip(first, second, strict=True))
