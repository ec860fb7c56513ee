"""The HTTP application: `create_app(settings)` builds it; nothing happens at import.

The service (store, migrations, shipped workflows) is built when the app starts, unless a
test injects one. Routes live under `/api/v1`; `/healthz` and `/readyz` at the root;
OpenAPI at `/docs` and `/openapi.json`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.concurrency import run_in_threadpool

from api import console, errors
from api.front import Front
from api.limits import RefusalLimit
from api.metrics import MeteredService, Metrics, RequestMeter, StoreCollector
from api.metrics import router as metrics_routes
from api.routes import audit, cases, exports, health, history, timers, workflows
from api.security import CaseCommunities, TokenStore
from api.views import Presenter
from engine.clock import Clock
from engine.core.compiler import CompiledWorkflow
from engine.errors import HatcheryError
from engine.observability import configure_logging
from engine.service import CaseService
from engine.settings import Settings

MAX_BODY_BYTES = 1024 * 1024
API_PREFIX = "/api/v1"
logger = logging.getLogger("uvicorn.error")

DESCRIPTION = """
Incubation workflows for urban communities: designers upload definitions, caseworkers
start and advance cases, auditors read histories.

**Auth**: `Authorization: Bearer <token>`; tokens come from
`hatchery token create --name N --role R --community C [--permission pii]`.
A token sees the cases of its community and of the communities nested in it.

**Errors** are `application/problem+json` (RFC 9457) with a stable `code`;
`Accept-Language: zh` gives Chinese messages.

**Concurrency**: `GET /cases/{id}` returns `ETag`; send it back as `If-Match`
(412 when stale, 409 when another change won the race); `Idempotency-Key` makes retries safe.
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               service: Any = None, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """Build the app for `settings`; the service is built when it starts (or injected)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = service
        scheduler = None
        watch = None
        if current is None:
            from engine.service import build_service
            from engine.timers.worker import start_scheduler

            built = await run_in_threadpool(build_service, settings, clock)
            current = MeteredService(built, metrics)
            if settings.database_read_url:
                from api.replica_metrics import ReplicaCollector
                from engine.store.replica import attach_replica

                metrics.registry.register(ReplicaCollector(attach_replica(
                    built.engine, settings.database_read_url, settings.read_max_lag_seconds)))
            if settings.run_timers:
                scheduler = start_scheduler(cast(CaseService, current), built.clock,
                                            interval_s=settings.timer_poll_seconds,
                                            lease_s=settings.timer_lease_seconds)
            if settings.workflows_poll_seconds > 0:
                from engine.definitions.watch import FolderWatch

                watch = FolderWatch(built.registry, settings.workflows_dir,
                                    settings.workflows_poll_seconds)
                watch.start()
        else:
            current = MeteredService(current, metrics)
        metrics.registry.register(StoreCollector(current.engine, current.clock.now))
        _attach(app, current)
        meter.engine = current.engine  # the pool gauges follow its pool
        _quiet_access_log()
        _prepare_routes(app)
        await run_in_threadpool(_hint_first_token, app.state.tokens, settings)
        try:
            yield
        finally:
            if watch is not None:
                await run_in_threadpool(watch.stop)
            if scheduler is not None:
                await run_in_threadpool(scheduler.stop)

    app = FastAPI(
        title="Hatchery", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # /docs is served by the console, from local files
        openapi_tags=[
            {"name": "workflows", "description": "Workflow definitions and their versions."},
            {"name": "cases", "description": "Starting and advancing cases."},
            {"name": "history", "description": "Append-only, hash-chained histories."},
            {"name": "timers", "description": "Deadlines, reminders and periodic reviews."},
            {"name": "health", "description": "Liveness and readiness."},
        ],
    )
    metrics = Metrics()
    meter = RequestMeter(metrics)
    app.state.metrics = metrics
    app.state.default_language = "zh" if settings.lang == "zh" else "en"
    app.state.max_body_bytes = max_body_bytes
    app.state.refusal_limit = RefusalLimit(burst=settings.refusal_burst,
                                           per_minute=settings.refusal_per_minute)
    errors.install(app)
    app.include_router(health.router)
    for router in (workflows.router, cases.router, history.router, timers.router,
                   audit.router, exports.router):
        app.include_router(router, prefix=API_PREFIX)
    console.mount(app, settings)
    app.include_router(metrics_routes)
    app.add_middleware(Front, meter=meter, max_body_bytes=max_body_bytes)
    return app


def _prepare_routes(app: FastAPI) -> None:
    """Build what FastAPI builds for each included route on the first request that reaches
    it (its effective handler, with a pydantic adapter per parameter and response: about
    half a second for this app), now, before the worker takes requests: otherwise the first
    request of every worker waits for it, and so does every request queued behind it on the
    event loop."""
    for _ in iter_route_contexts(app.router.routes):
        pass


class DropQueryStrings(logging.Filter):
    """Access-log lines keep the path but not the query string: a search for a name or an
    ID number must not end up in the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def _quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())


def _attach(app: FastAPI, service: Any) -> None:
    """Put the service and what the routes derive from it on `app.state`."""
    registry = service.registry

    def lookup(workflow_id: str, version: str) -> CompiledWorkflow | None:
        try:
            found: CompiledWorkflow = registry.get(workflow_id, version)
        except HatcheryError:
            return None
        return found

    app.state.service = service
    app.state.db = service.engine
    app.state.tokens = TokenStore(service.engine)
    app.state.presenter = Presenter(lookup)
    app.state.communities = CaseCommunities()


def _hint_first_token(tokens: TokenStore, settings: Settings) -> None:
    """Say how to make the first person (for the console) and the first token (for the API)
    when there is none (a fresh install)."""
    from engine.access.users import UserStore

    try:
        has_people, has_tokens = UserStore(tokens.engine).any_active(), tokens.any_active()
    except HatcheryError:
        return
    if not has_people:
        logger.warning(
            "no people for the console yet: create the first with `.venv/bin/hatchery user "
            "create --name admin --role admin --community '*' --permission pii` (it asks for "
            "a first password, to be changed at the first sign-in)")
    if not has_tokens:
        logger.warning(
            "no API tokens yet: create one with `.venv/bin/hatchery token create --name admin "
            "--role admin --community <root community, e.g. fuzhou, or '*' for all> "
            "--permission pii` (it is printed once)")


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory api.main:app_from_env`: each worker process calls it,
    so each sets up its logging here (`HATCHERY_LOG_FORMAT`: text or json)."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
