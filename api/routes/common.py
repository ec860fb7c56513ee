"""What several routers share: the route class (strict JSON bodies, known query parameters
only), path parameter types, documented problem responses, and the community filter
narrowed to the caller's scope."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Coroutine, Iterable
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.dependencies.models import Dependant
from starlette.responses import Response

from api.edge import StrictJsonRoute
from api.errors import PROBLEM_MEDIA_TYPE, ApiProblem, forbidden, invalid
from api.quick import quick_handler
from api.schemas import Problem
from api.security import Principal, narrow_scope, valid_community

WORKFLOW_ID = Annotated[str, Path(max_length=64, description="A workflow id.",
                                  examples=["social_org_incubation"])]
CASE_ID = Annotated[str, Path(max_length=200, description="A case id.")]



def unknown_parameter(name: str, accepted: Iterable[str]) -> ApiProblem:
    """400 naming a query parameter the operation does not take, the closest one it does,
    and all it does: a typo (`?stat=`) must not silently return everything."""
    names = sorted(accepted)
    close = difflib.get_close_matches(name, names, n=1)
    hint_en = f"did you mean '{close[0]}'? " if close else ""
    hint_zh = f"是否想用“{close[0]}”？" if close else ""
    listed_en = ", ".join(names) if names else "none"
    listed_zh = "、".join(names) if names else "无"
    en = f"unknown query parameter '{name}': {hint_en}this operation accepts {listed_en}"
    zh = f"未知的查询参数“{name}”：{hint_zh}此操作可用的参数：{listed_zh}"
    entry = {"field": name, "in": "query", "code": "unknown_parameter", "en": en, "zh": zh}
    return ApiProblem(400, "unknown_parameter", en, zh, {"accepted": names}, errors=[entry])


def _query_names(dependant: Dependant) -> Iterable[str]:
    """The query parameters an operation declares, its dependencies' included."""
    yield from (param.alias for param in dependant.query_params)
    for inner in dependant.dependencies:
        yield from _query_names(inner)


class ApiRoute(StrictJsonRoute):
    """Every `/api/v1` operation: a strict JSON body (`StrictJsonRoute`), no query
    parameter it does not declare (400 `unknown_parameter`, checked before anything else
    is read, like the request line), and the quick path for the operations marked with
    `api.quick.quick`."""

    def checked_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return quick_handler(self, super().checked_handler())

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        accepted = frozenset(_query_names(self.dependant))

        async def known(request: Request) -> Response:
            # Without a query string there is nothing to check: parsing an empty one into
            # `query_params` costs a few microseconds of every fire.
            if request.scope.get("query_string"):
                for name in request.query_params:
                    if name not in accepted:
                        raise unknown_parameter(name, accepted)
            return await handler(request)

        return known


_DESCRIPTIONS = {
    400: "A query parameter the operation does not take (`unknown_parameter`; "
         "`accepted` lists those it does).",
    401: "No valid bearer token.",
    403: "The token lacks the role or the community scope (the problem names it).",
    404: "No such resource, or a case outside the token's community scope.",
    409: "The case changed first (`current_version` in the body), or its state forbids this.",
    412: "`If-Match` names a version that is no longer current.",
    413: "The request body is larger than the limit.",
    422: "The input is not valid; `errors` lists each field's problem.",
    429: "A change asked by a token refused too often lately (`too_many_refusals`); "
         "`Retry-After` says when to try again.",
    503: "The database cannot be reached.",
}

PROBLEMS: dict[int, dict[str, Any]] = {
    status: {"model": Problem, "description": text,
             "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, text in _DESCRIPTIONS.items()
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented problem responses of an operation (400 for an unknown query parameter
    and 503 are possible everywhere, 429 wherever a token is needed: `api.limits`)."""
    limited = (429,) if 401 in statuses else ()
    return {status: PROBLEMS[status] for status in (400, *statuses, *limited, 503)}


def scope_prefix(principal: Principal, community: str | None) -> str | None:
    """The community prefix to list by: the filter narrowed to the caller's scope."""
    if community is not None and not valid_community(community):
        raise invalid("community", "community", "a community is a path like "
                      "district/street/community", "社区须为“区/街道/社区”形式的路径",
                      location="query")
    try:
        return narrow_scope(principal.community, community)
    except ValueError:
        raise out_of_scope(principal, community or "") from None


def out_of_scope(principal: Principal, community: str) -> Exception:
    """403 naming the token's scope and the community it does not cover."""
    return forbidden("community_out_of_scope",
                     f"the token's scope '{principal.community}' does not cover '{community}'",
                     f"令牌的范围“{principal.community}”不包括“{community}”",
                     scope=principal.community)
