"""Liveness and readiness, for load balancers and orchestrators (no token needed)."""

from __future__ import annotations

from contextlib import suppress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.routes.workflows import rejected_public
from api.schemas import CalendarCoveragePublic, HealthPublic, ReadyPublic, ReplicaPublic
from engine.audit.guards import missing_guards
from engine.errors import HatcheryError
from engine.store.db import read_connection
from engine.store.migrating import current_revision, head_revision
from engine.store.partitions import keep_months_ahead
from engine.store.replica import replica_of
from engine.timers.calendar import CHINA_TZ, default_calendar
from engine.timers.calendar_store import load_notices

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up", response_model=HealthPublic)
def healthz() -> HealthPublic:
    return HealthPublic(status="ok")


@router.get("/readyz", summary="The database is reachable and its schema is current",
            response_model=ReadyPublic,
            responses={503: {"model": ReadyPublic, "description": "Not ready."}})
def readyz(request: Request) -> ReadyPublic | JSONResponse:
    head = head_revision()
    try:
        revision = current_revision(request.app.state.db)
        reachable = True
    except HatcheryError:
        revision, reachable = None, False
    missing = _guards_missing(request) if reachable else []
    ready = reachable and revision == head and not missing
    if ready:  # the next months' partitions of the history (PostgreSQL), at most hourly;
        # on a failure the next probe tries again (writes land in events_default meanwhile)
        with suppress(HatcheryError):
            keep_months_ahead(request.app.state.db, request.app.state.service.clock.now())
    service = getattr(request.app.state, "service", None)
    rejected = rejected_public(service.registry, "en") if service is not None else []
    body = ReadyPublic(status="ready" if ready else "not_ready", database=reachable,
                       revision=revision, head=head, rejected_definitions=rejected,
                       calendar=_calendar(request) if ready else None,
                       guards_missing=missing,
                       replica=_replica(request))
    if ready:
        return body
    return JSONResponse(body.model_dump(), status_code=503)


def _guards_missing(request: Request) -> list[str]:
    """The append-only triggers not in place (engine/audit/guards.py)."""
    try:
        with read_connection(request.app.state.db) as connection:
            return missing_guards(connection)
    except HatcheryError:
        return []


def _replica(request: Request) -> ReplicaPublic | None:
    replica = replica_of(request.app.state.db)
    if replica is None:
        return None
    state = replica.state(fresh=True)
    return ReplicaPublic(database=state.database, reachable=state.reachable,
                         lag_seconds=state.lag_seconds, max_lag_seconds=state.max_lag_seconds,
                         in_use=state.usable, error=state.error)


def _calendar(request: Request) -> CalendarCoveragePublic:
    """The working-day calendar's coverage, notices imported since start included."""
    load_notices(request.app.state.db)
    coverage = default_calendar().coverage()
    warning = coverage.warning(request.app.state.service.clock.now().astimezone(CHINA_TZ).date())
    return CalendarCoveragePublic(
        first_year=coverage.first_year, last_year=coverage.last_year,
        provisional_until=coverage.provisional_until, imported=list(coverage.imported),
        warning=warning[0] if warning else None, warning_zh=warning[1] if warning else None)
