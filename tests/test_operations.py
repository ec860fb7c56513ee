"""The operations log: entries appended, listed by scope, actor, action and time, and never
changed or removed (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, START
from test_service import start_org

from engine.clock import FrozenClock
from engine.service import CaseService, build_service
from engine.settings import Settings
from engine.store.migrating import head_revision
from engine.store.operations import list_operations, record

HOUR = timedelta(hours=1)


def test_entries_are_listed_by_scope_actor_action_and_time(engine: sa.Engine) -> None:
    record(engine, actor="zhao", action="export", at=START, community="a/b")
    record(engine, actor="zhao", action="verify", at=START + HOUR, community="a/c")
    record(engine, actor="admin", action="token_create", at=START + 2 * HOUR,
           target="t1", detail={"roles": ["auditor"]})
    record(engine, actor="wang", action="fire", at=START + 3 * HOUR, outcome="refused",
           target="case1", community="a/b/x", detail={"code": "guard_failed"})
    everything, _ = list_operations(engine)
    assert [o.action for o in everything] == ["export", "verify", "token_create", "fire"]
    scoped, _ = list_operations(engine, community_prefix="a/b")
    assert [o.action for o in scoped] == ["export", "fire"]  # nothing global, nothing of a/c
    assert scoped[1].outcome == "refused" and scoped[1].detail == {"code": "guard_failed"}
    assert [o.action for o in list_operations(engine, actor="zhao")[0]] == ["export",
                                                                             "verify"]
    later, _ = list_operations(engine, since=START + HOUR, until=START + 3 * HOUR)
    assert [o.action for o in later] == ["verify", "token_create"]
    page, after = list_operations(engine, limit=3)
    assert len(page) == 3 and after is not None
    assert [o.action for o in list_operations(engine, after=after)[0]] == ["fire"]


def test_the_log_refuses_updates_and_deletes(engine: sa.Engine) -> None:
    record(engine, actor="zhao", action="export", at=START)
    for statement in ("UPDATE operations SET actor = 'someone'", "DELETE FROM operations"):
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
            connection.execute(sa.text(statement))
    assert [o.actor for o in list_operations(engine)[0]] == ["zhao"]


def test_an_unknown_outcome_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError):
        record(engine, actor="zhao", action="export", at=START, outcome="maybe")


def test_token_creation_and_revocation_are_logged_without_the_token(engine: sa.Engine) -> None:
    from engine.access.tokens import TokenStore

    store = TokenStore(engine)
    _, token = store.create("auditor.wang", ["auditor"], "fuzhou", now=START, actor="cli:root")
    assert store.revoke("auditor.wang", now=START, actor="cli:root") == 1
    assert store.revoke("nobody", now=START, actor="cli:root") == 0
    entries, _ = list_operations(engine, actor="cli:root")
    assert [(e.action, e.target, e.outcome) for e in entries] == [
        ("token_create", "auditor.wang", "done"), ("token_revoke", "auditor.wang", "done"),
        ("token_revoke", "nobody", "refused")]
    assert all(token not in str(e) for e in entries)


def test_suspension_and_resumption_are_logged(service: CaseService, engine: sa.Engine) -> None:
    case = start_org(service).case
    service.suspend(case.id, actor=COMMITTEE, reason="premises under repair")
    service.resume(case.id, actor=COMMITTEE, comment="repaired")
    entries, _ = list_operations(engine, actor=COMMITTEE.id)
    assert [(e.action, e.target, e.detail) for e in entries] == [
        ("suspend", case.id, {"reason": "premises under repair"}),
        ("resume", case.id, {"comment": "repaired"})]


def test_a_schema_upgrade_at_start_is_logged_once(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}",
                        HATCHERY_DATA_DIR=tmp_path, HATCHERY_WORKFLOWS_DIR=tmp_path)
    first = build_service(settings, FrozenClock(START))
    second = build_service(settings, FrozenClock(START))
    entries, _ = list_operations(first.engine, action="schema_upgrade")
    assert [(e.actor, e.detail["from"], e.detail["to"]) for e in entries] == [
        ("system:start", None, head_revision())]
    first.engine.dispose()
    second.engine.dispose()
