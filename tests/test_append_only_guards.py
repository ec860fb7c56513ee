"""The database's own guards of the history are checked: a missing, disabled or
replica-bypassable append-only trigger is reported by verify, and on PostgreSQL a replica
session cannot edit events either (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_audit_chain_store import grown_case

from engine.audit import verify as audit
from engine.audit.guards import GUARD_MISSING, missing_guards
from engine.service import CaseService


def test_a_migrated_store_has_every_guard(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        assert missing_guards(connection) == []


def test_a_dropped_or_disabled_trigger_is_reported_by_verify(service: CaseService,
                                                             engine: sa.Engine) -> None:
    grown_case(service)
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        if sqlite:
            saved = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = "
                                               "'events_no_delete'").scalar_one()
            connection.exec_driver_sql("DROP TRIGGER events_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE operations DISABLE TRIGGER "
                                       "operations_append_only")
    found = audit.verify(engine)
    assert [(b.case_id, b.seq, b.reason) for b in found] == [("", None, GUARD_MISSING)]
    assert ("events_no_delete: missing" if sqlite
            else "operations_append_only: disabled") in found[0].message
    with engine.begin() as connection:
        if sqlite:
            connection.exec_driver_sql(saved)
        else:
            connection.exec_driver_sql("ALTER TABLE operations ENABLE ALWAYS TRIGGER "
                                       "operations_append_only")
    assert audit.verify(engine) == []


@pytest.mark.postgres
def test_a_replica_session_cannot_edit_events_on_postgresql(service: CaseService,
                                                            engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    case_id = grown_case(service, 1)
    for statement in ("UPDATE events SET actor = 'mallory' WHERE case_id = :c",
                      "DELETE FROM events WHERE case_id = :c"):
        with pytest.raises(sa.exc.DatabaseError), engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.execute(sa.text(statement), {"c": case_id})
    assert audit.verify(engine) == []
