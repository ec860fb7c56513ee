"""Dependencies the routes declare: who calls, in which language, through which service.

`Reader`, `Acting`, `Designer` and `Auditing` each take the bearer token, look up its
`Principal` (in a worker thread: the one blocking step) and wrap it in a `Context` after
checking the role an operation needs (anyone with a token reads; changing cases needs a
role other than designer and auditor; definitions need designer or admin). They are
`async` and one level deep: FastAPI solves every level of dependencies for every request
(its parameters, cache key, scopes), and sends each plain `def` dependency to a worker
thread, which costs more than the check it makes. The operations `api.quick` serves look
the token up in their own worker thread instead (`BLOCKING`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import ApiProblem, forbidden, language, unauthenticated
from api.schemas import FireResultPublic
from api.security import DEFINITION_ROLES, CaseCommunities, Principal, TokenStore
from api.views import Presenter
from engine.errors import NotFound
from engine.observability import ATTEMPT
from engine.service import CaseService
from engine.service.views import CaseView, FireResult
from engine.store.replica import allow_replica_reads

bearer = HTTPBearer(auto_error=False, description="A token from `hatchery token create`.")


@dataclass(frozen=True)
class Context:
    """One request's caller and language, with the app's service and presenter."""

    principal: Principal
    lang: str
    service: CaseService
    presenter: Presenter
    communities: CaseCommunities

    def case(self, case_id: str) -> CaseView:
        """The case, if the caller's scope covers its community; `NotFound` otherwise,
        so that a case elsewhere cannot be told from one that does not exist."""
        view = self.service.get_case(case_id)
        self.communities.put(view.id, view.community)
        if not self.principal.sees(view.community):
            raise NotFound("case", case_id)
        return view

    def check(self, case_id: str) -> None:
        """`NotFound` unless the case exists within the caller's scope; the case is read
        only when its community is not known yet (a case never changes community)."""
        community = self.communities.get(case_id)
        if community is None:
            self.case(case_id)
        elif not self.principal.sees(community):
            raise NotFound("case", case_id)

    def result(self, result: FireResult) -> FireResultPublic:
        """A change's result as the caller may see it, its case flagged as `get_case`
        flags it."""
        self.communities.put(result.case.id, result.case.community)
        escalated_at = self._escalated_at(result)
        if escalated_at is not None or result.case.escalated_at is not None:
            # Copied only when there is something to set (two copies: 2 % of a fire).
            result = replace(result, case=replace(result.case, escalated_at=escalated_at))
        return self.presenter.fire(result, self.principal, self.lang)

    def _escalated_at(self, result: FireResult) -> datetime | None:
        """When the changed case was last escalated in its stage: the change itself, none
        when the change put it in its stage, else read (a tick, a link, an assignment)."""
        if result.event.kind == "escalation":
            return result.event.at
        if result.case.entered_at >= result.event.at:
            return None
        return self.service.escalated([result.case.id]).get(result.case.id)


def get_language(request: Request) -> str:
    return language(request.headers.get("accept-language"),
                    getattr(request.app.state, "default_language", "en"))


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_principal(request: Request, credentials: HTTPAuthorizationCredentials | None
                  ) -> Principal:
    """The caller of a valid, unrevoked bearer token; 401 otherwise. Blocking (it reads
    the token's row, every request, so that a revoked token is refused at once)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthenticated()
    tokens: TokenStore = request.app.state.tokens
    principal = tokens.lookup(credentials.credentials)
    if principal is None:
        raise unauthenticated()
    request.state.principal = principal  # for the refused-attempt entry of the operations log
    attempt = ATTEMPT.get()
    if attempt is not None:
        attempt.actor, attempt.community = principal.name, principal.community
        limit = getattr(request.app.state, "refusal_limit", None)
        wait = None if limit is None else limit.wait(principal.name)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise ApiProblem.of(429, "too_many_refusals", seconds=seconds,
                                headers={"Retry-After": str(seconds)})
    return principal


async def caller(request: Request, credentials: HTTPAuthorizationCredentials | None
                 ) -> Principal:
    """`get_principal` in a worker thread."""
    return await run_in_threadpool(get_principal, request, credentials)


def _context(request: Request, principal: Principal) -> Context:
    state = request.app.state
    return Context(principal, get_language(request), state.service, state.presenter,
                   state.communities)


def reading(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Context:
    """Any valid token reads (within its community scope). Blocking: `reader` runs it in
    a worker thread, `api.quick` in the operation's own."""
    return _context(request, get_principal(request, credentials))


def changing(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Context:
    """Changing a case needs a role other than designer and auditor (who only read).
    Blocking, like `reading`."""
    principal = get_principal(request, credentials)
    if not principal.acting_roles:
        raise forbidden("role_missing",
                        "changing cases needs the role caseworker, admin or a workflow role; "
                        "designer and auditor tokens only read",
                        "变更事项需要 caseworker（社工）、admin（管理员）或流程角色；"
                        "designer 与 auditor 令牌只能查看",
                        required_roles=["admin", "caseworker"])
    return _context(request, principal)


async def reader(request: Request, credentials: Credentials) -> Context:
    """`reading`, in a worker thread."""
    return await run_in_threadpool(reading, request, credentials)


async def acting(request: Request, credentials: Credentials) -> Context:
    """`changing`, in a worker thread."""
    return await run_in_threadpool(changing, request, credentials)


BLOCKING: dict[Callable[..., Any], Callable[[Request, HTTPAuthorizationCredentials | None],
                                            Context]] = {reader: reading, acting: changing}
"""The blocking body of each dependency that `api.quick` may run in an operation's own
worker thread instead of a thread of its own."""


async def designer(request: Request, credentials: Credentials) -> Context:
    """Managing definitions needs the designer or admin role."""
    principal = await caller(request, credentials)
    if not principal.roles & DEFINITION_ROLES:
        raise forbidden("role_missing",
                        "managing workflow definitions needs the role designer or admin",
                        "管理流程定义需要 designer（设计者）或 admin（管理员）角色",
                        required_roles=sorted(DEFINITION_ROLES))
    return _context(request, principal)


async def auditing(request: Request, credentials: Credentials) -> Context:
    """A reader whose reads may be served by the streaming replica (auditors' queries,
    exports, statistics: `engine.store.replica`), unless the caller changed something
    lately. The choice is made here, in the request's own context, not the thread's."""
    principal = await caller(request, credentials)
    allow_replica_reads(principal.name)
    return _context(request, principal)


Reader = Annotated[Context, Depends(reader)]
Auditing = Annotated[Context, Depends(auditing)]
Acting = Annotated[Context, Depends(acting)]
Designer = Annotated[Context, Depends(designer)]
