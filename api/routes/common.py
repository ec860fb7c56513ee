"""What several routers share: path parameter types, documented problem responses, and
the community filter narrowed to the caller's scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from api.errors import PROBLEM_MEDIA_TYPE, forbidden, invalid
from api.schemas import Problem
from api.security import Principal, narrow_scope, valid_community

WORKFLOW_ID = Annotated[str, Path(max_length=64, description="A workflow id.",
                                  examples=["social_org_incubation"])]
CASE_ID = Annotated[str, Path(max_length=200, description="A case id.")]

_DESCRIPTIONS = {
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
    """The documented problem responses of an operation (503 is possible everywhere, 429
    wherever a token is needed: `api.limits`)."""
    limited = (429,) if 401 in statuses else ()
    return {status: PROBLEMS[status] for status in (*statuses, *limited, 503)}


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
