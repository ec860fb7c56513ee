"""What an operator watches: `/metrics` in the Prometheus text format (prometheus-client),
and one id per request, in the `X-Request-ID` header, the logs and the operations log.

Counted as it happens, in each worker process (several workers share their counts through
prometheus-client's multiprocess mode: `hatchery serve` gives them PROMETHEUS_MULTIPROC_DIR):

    hatchery_http_requests_total{route,method,status}
    hatchery_http_request_duration_seconds{route,method}        histogram
    hatchery_fires_total{workflow,source}                        changes made (api, timer)
    hatchery_refusals_total{workflow,reason}                     refused, by refusal code
    hatchery_timers_claimed_total, hatchery_timers_fired_total{action,result}
    hatchery_db_pool_connections_in_use, hatchery_db_pool_size

Read from the database when scraped, so every worker and `hatchery worker` count alike:

    hatchery_timers_due             pending timers whose time has come
    hatchery_timers_missed          of those, due longer ago than MISSED_AFTER: no process
                                    is firing timers (or it cannot keep up)
    hatchery_cases_overdue          cases marked overdue by their timers
    hatchery_verify_last_timestamp_seconds / hatchery_verify_last_broken_cases
    hatchery_checkpoint_age_seconds time since the last checkpoint was taken
    hatchery_store_up               0 when the database could not be read for the above

`/metrics` answers only a token with the admin or auditor role (a Prometheus scrape config
sends it as `authorization: credentials`); `hatchery serve --metrics-port` also serves it
without a token on a port of its own, for an address only the monitoring network reaches.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import Scope

from api.errors import forbidden
from api.security import ADMIN, AUDITOR, Principal
from engine.errors import HatcheryError, Refused
from engine.observability import ATTEMPT, REQUEST_ID, Attempt, log_line, usable_request_id
from engine.store.db import read_connection

__all__ = [
    "MeteredService",
    "Metrics",
    "RequestMeter",
    "StoreCollector",
    "metrics_app",
    "router",
]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
MISSED_AFTER = timedelta(minutes=5)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
MAX_REMEMBERED_SERIES = 4096
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
access = logging.getLogger("hatchery.request")
Marks = tuple[contextvars.Token[str | None], contextvars.Token[Attempt | None]]


class Metrics:
    """The counters of one app (one process), and the registry `/metrics` reads."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_DIR))
        self.registry = CollectorRegistry(auto_describe=True)
        own = None if self.multiprocess else self.registry
        self.requests = Counter("hatchery_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=own)
        self.latency = Histogram("hatchery_http_request_duration_seconds",
                                 "Time to answer an HTTP request", ["route", "method"],
                                 buckets=BUCKETS, registry=own)
        self.fires = Counter("hatchery_fires", "Changes made through the service door",
                             ["workflow", "source"], registry=own)
        self.refusals = Counter("hatchery_refusals", "Changes refused, by refusal code",
                                ["workflow", "reason"], registry=own)
        self.timers_claimed = Counter("hatchery_timers_claimed",
                                      "Due timers claimed for firing", registry=own)
        self.timers_fired = Counter("hatchery_timers_fired", "Timers fired, by outcome",
                                    ["action", "result"], registry=own)
        self.pool_in_use = Gauge("hatchery_db_pool_connections_in_use",
                                 "Database connections checked out of the pool",
                                 registry=own, multiprocess_mode="livesum")
        self.pool_size = Gauge("hatchery_db_pool_size", "Connections the pool keeps",
                               registry=own, multiprocess_mode="livesum")
        if self.multiprocess:
            MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class StoreCollector(Collector):
    """Figures read from the database at scrape time (see the module docstring)."""

    def __init__(self, engine: sa.Engine, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hatchery_store_up", "1 when the database could be read")
        try:
            figures = self._read()
        except (HatcheryError, sa.exc.SQLAlchemyError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, text, value in figures:
            if value is not None:
                yield GaugeMetricFamily(name, text, value=value)

    def _read(self) -> list[tuple[str, str, float | None]]:
        now = self.now()
        with read_connection(self.engine) as connection:
            due = _scalar(connection, "SELECT count(*) FROM timers WHERE status = 'pending' "
                                      "AND due_at <= :now", now=now)
            missed = _scalar(connection, "SELECT count(*) FROM timers WHERE status = "
                                         "'pending' AND due_at <= :then",
                             then=now - MISSED_AFTER)
            overdue = _scalar(connection, "SELECT count(*) FROM cases WHERE overdue = :yes "
                                          "AND status <> 'closed'", yes=True)
            verified = _last(connection, "verify")
            checkpoint = _last(connection, "checkpoint")
        return [
            ("hatchery_timers_due", "Pending timers whose time has come", due),
            ("hatchery_timers_missed", f"Pending timers due more than "
             f"{int(MISSED_AFTER.total_seconds())} s ago", missed),
            ("hatchery_cases_overdue", "Open cases marked overdue", overdue),
            ("hatchery_verify_last_timestamp_seconds", "When the history was last verified",
             verified[0].timestamp() if verified else None),
            ("hatchery_verify_last_broken_cases", "Cases the last verification found broken",
             float(verified[1].get("breaks", 0)) if verified else None),
            ("hatchery_checkpoint_age_seconds", "Seconds since the last checkpoint was taken",
             (now - checkpoint[0]).total_seconds() if checkpoint else None),
        ]


def _scalar(connection: sa.Connection, sql: str, **values: Any) -> float:
    return float(connection.execute(sa.text(sql), values).scalar_one())


def _last(connection: sa.Connection, action: str) -> tuple[datetime, Mapping[str, Any]] | None:
    from engine.store.tables import OPERATIONS

    row = connection.execute(sa.select(OPERATIONS.c.at, OPERATIONS.c.detail)
                             .where(OPERATIONS.c.action == action)
                             .order_by(OPERATIONS.c.id.desc()).limit(1)).first()
    return None if row is None else (row.at, dict(row.detail or {}))


class MeteredService:
    """The service as the app and its timer scheduler use it, counting what the door did:
    every other attribute is the service's own."""

    def __init__(self, service: Any, metrics: Metrics) -> None:
        self._service = service
        self._metrics = metrics
        # The fires series of each workflow, looked up once (`labels()` checks, joins and
        # locks every time: about half the cost of counting a fire).
        self._fired: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def fire(self, case_id: str, trigger: str, **options: Any) -> Any:
        try:
            result = self._service.fire(case_id, trigger, **options)
        except Refused as refused:
            self._metrics.refusals.labels(self._workflow_of(case_id),
                                          refused.refusal.code).inc()
            raise
        if not result.replayed:
            workflow = result.case.workflow_id
            series = self._fired.get(workflow)
            if series is None:
                series = self._metrics.fires.labels(workflow, "api")
                if len(self._fired) < MAX_REMEMBERED_SERIES:
                    self._fired[workflow] = series
            series.inc()
        return result

    def fire_timer(self, timer_id: int, **options: Any) -> Any:
        self._metrics.timers_claimed.inc()
        outcome = self._service.fire_timer(timer_id, **options)
        self._metrics.timers_fired.labels(outcome.action or "unknown", outcome.result).inc()
        if outcome.result == "fired" and outcome.action == "fire":
            self._metrics.fires.labels(self._workflow_of(outcome.case_id), "timer").inc()
        return outcome

    def _workflow_of(self, case_id: str) -> str:
        try:
            return str(self._service.get_case(case_id).workflow_id)
        except HatcheryError:
            return UNMATCHED


class RequestMeter:
    """Names each request, times it, counts it, logs one line (`api.front` calls it).

    The route label is the route's template (`/api/v1/cases/{case_id}/events`), never the
    raw path, so case ids do not each become a time series.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        # The app's database, whose pool the gauges follow; set when the app starts.
        self.engine: sa.Engine | None = None
        # Per request, only what changes: the series of each (route, method, status) are
        # looked up once (prometheus-client's `labels()` checks, joins and locks every
        # time), and the pool gauges are written when their values move.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._pool_seen: tuple[int, int] | None = None

    def enter(self, scope: Scope) -> tuple[str, Marks]:
        """The request's id (the caller's when usable), set as `REQUEST_ID` with, for a
        changing request, its `ATTEMPT`; the marks to give `leave`."""
        offered = None
        for name, value in scope["headers"]:  # a loop: next() over a generator costs 2x
            if name == b"x-request-id":
                offered = value.decode("latin-1")
                break
        request_id = usable_request_id(offered)
        token = REQUEST_ID.set(request_id)
        # A changing request's attempt, recorded in the operations log if refused.
        attempt = ATTEMPT.set(Attempt(scope["method"], scope["path"])
                              if scope["method"] in CHANGING_METHODS else None)
        return request_id, (token, attempt)

    def leave(self, scope: Scope, status: int, seconds: float, marks: Marks) -> None:
        """Count and log the answered request, then unset what `enter` set."""
        try:
            self._observe(scope, status, seconds)
        finally:
            REQUEST_ID.reset(marks[0])
            ATTEMPT.reset(marks[1])

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_label(scope)
        method = scope["method"]
        series = self._series.get((route, method, status))
        if series is None:
            series = (self.metrics.requests.labels(route, method, str(status)),
                      self.metrics.latency.labels(route, method))
            if len(self._series) < MAX_REMEMBERED_SERIES:  # methods are the client's word
                self._series[(route, method, status)] = series
        series[0].inc()
        series[1].observe(seconds)
        pool = (0, 0) if self.engine is None else pool_use(self.engine)
        if pool != self._pool_seen:
            self._pool_seen = pool
            self.metrics.pool_in_use.set(pool[0])
            self.metrics.pool_size.set(pool[1])
        if not access.isEnabledFor(logging.INFO):
            return
        state = scope.get("state") or {}
        principal = state.get("principal") if isinstance(state, dict) else None
        log_line(access, logging.INFO, "%s %s %s", (method, route, status), {
            "method": method, "route": route, "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "case_id": (scope.get("path_params") or {}).get("case_id"),
            "actor": getattr(principal, "name", None)})


def route_label(scope: Scope) -> str:
    """The matched route's template with its prefix (`/api/v1/cases/{case_id}/events`):
    the request's path with each path parameter's segment put back as `{name}` (a segment
    equal to two parameters' values takes the last one's name)."""
    if scope.get("route") is None:
        return UNMATCHED
    params = scope.get("path_params")
    if not params:
        return str(scope["path"])
    parts = scope["path"].split("/")
    if len(params) == 1:  # most routes: one name, no mapping to build
        for name, value in params.items():
            value = str(value)
            named = f"{{{name}}}"
            return "/".join([named if part == value else part for part in parts])
    names = {str(v): k for k, v in params.items()}
    return "/".join([f"{{{names[part]}}}" if part in names else part for part in parts])


def pool_use(engine: sa.Engine) -> tuple[int, int]:
    """(connections checked out, pool size) of `engine`'s pool, (0, 0) when it has none."""
    pool = engine.pool
    checkedout = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    return (int(checkedout()) if callable(checkedout) else 0,
            int(size()) if callable(size) else 0)


def _metrics_reader(request: Request) -> Principal:
    from api.deps import get_principal

    credentials = request.headers.get("authorization", "")
    scheme, _, token = credentials.partition(" ")
    from fastapi.security import HTTPAuthorizationCredentials

    principal = get_principal(request, HTTPAuthorizationCredentials(
        scheme=scheme, credentials=token) if token else None)
    if not principal.roles & {ADMIN, AUDITOR}:
        raise forbidden("role_missing", "metrics need the role admin or auditor",
                        "查看监控指标需要 admin（管理员）或 auditor（审计）角色",
                        required_roles=[ADMIN, AUDITOR])
    return principal


router = APIRouter(tags=["health"])


@router.get("/metrics", summary="Metrics in the Prometheus text format (admin or auditor)",
            response_class=Response)
def metrics(request: Request,
            _: Principal = Depends(_metrics_reader)) -> Response:  # noqa: B008
    found: Metrics = request.app.state.metrics
    return Response(found.exposition(), media_type=CONTENT_TYPE_LATEST)


def metrics_app(metrics: Metrics) -> FastAPI:
    """`/metrics` alone, without a token: for `hatchery serve --metrics-port`."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/metrics")
    def scrape() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app
