"""The service on the configured database, assembled once per process."""

from __future__ import annotations

from sqlalchemy import Engine

from engine.audit.seals import attach_service_key
from engine.clock import Clock, SystemClock
from engine.definitions.registry import WorkflowRegistry
from engine.ledger.chain import ChainBreak
from engine.service.assignment import AssignmentOperations
from engine.service.changes import Changes
from engine.service.migrate import Migration
from engine.service.queries import Queries
from engine.service.records import Records
from engine.service.timers import TimerFiring
from engine.settings import Settings
from engine.store.migrating import current_revision, upgrade
from engine.store.operations import record as record_operation
from engine.store.partitions import ensure_partitions
from engine.store.pool import check_capacity, pool_plan, service_engine
from engine.timers.calendar_store import load_notices

__all__ = ["CaseService", "build_service", "open_store", "verify_store"]


class CaseService(Changes, AssignmentOperations, TimerFiring, Migration, Queries, Records):
    """The only code that changes a case (`engine.service.door.Door` writes every change),
    and the read side callers use. Thread-safe; share one per process."""


def open_store(settings: Settings, clock: Clock | None = None) -> Engine:
    """The configured database as every writer needs it: schema upgraded to the newest
    migration (the upgrade recorded in the operations log) and the chain key attached, so
    that what this process writes is sealed. Every process that writes opens it here: an
    entry written without the key leaves the operations log's head unsealed."""
    engine = service_engine(settings)
    clock = clock or SystemClock()
    try:
        before = current_revision(engine)
        upgrade(engine)
        attach_service_key(engine, settings.chain_key, settings.data_dir)
        after = current_revision(engine)
        if after != before:
            record_operation(engine, actor="system:start", action="schema_upgrade",
                             at=clock.now(), target=after,
                             detail={"from": before, "to": after})
    except BaseException:
        engine.dispose()
        raise
    return engine


def build_service(settings: Settings, clock: Clock | None = None, *,
                  max_automatic_steps: int = 20) -> CaseService:
    """The service on the configured database (`open_store`), shipped workflows
    registered (a new version only when changed)."""
    clock = clock or SystemClock()
    engine = open_store(settings, clock)
    try:
        check_capacity(engine, pool_plan(settings))
        ensure_partitions(engine, clock.now())
        registry = WorkflowRegistry(engine, clock)
        registry.sync_directory(settings.workflows_dir)
        load_notices(engine)
    except BaseException:
        engine.dispose()
        raise
    return CaseService(engine, registry, clock, max_automatic_steps=max_automatic_steps)


def verify_store(engine: Engine, case_id: str | None = None) -> list[ChainBreak]:
    """Every case's first chain break (see `engine.audit.verify`)."""
    from engine.audit.verify import verify

    return verify(engine, case_id)
