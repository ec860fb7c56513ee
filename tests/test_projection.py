"""The case row is a checked projection of its events: an edit to the row alone (its data,
community, status or version) is reported by verify, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from test_audit_chain_store import grown_case

from engine.audit import verify as audit
from engine.audit.projection import PROJECTION_MISMATCH
from engine.service import CaseService
from engine.store.tables import CASES


@pytest.mark.parametrize(("column", "value"), [
    ("data", {"name": "B"}), ("community", "elsewhere/moved"), ("status", "suspended"),
    ("version", 9),
])
def test_an_edit_to_the_case_row_alone_is_reported(service: CaseService, engine: sa.Engine,
                                                    column: str, value: Any) -> None:
    intact, edited = grown_case(service), grown_case(service)
    with engine.begin() as connection:
        if column == "data":
            current = dict(connection.execute(sa.select(CASES.c.data).where(
                CASES.c.id == edited)).scalar_one())
            value = {**current, **value}
        connection.execute(sa.update(CASES).where(CASES.c.id == edited)
                           .values({column: value}))
    [found] = audit.verify(engine)
    assert (found.case_id, found.reason, found.seq) == (edited, PROJECTION_MISMATCH, 4)
    assert column in found.message
    assert audit.verify(engine, intact) == []


def test_a_suspended_and_a_closed_case_verify(service: CaseService,
                                              engine: sa.Engine) -> None:
    from conftest import CASEWORKER

    case_id = grown_case(service, 1)
    service.suspend(case_id, actor=CASEWORKER, reason="paused")
    assert audit.verify(engine) == []
    service.resume(case_id, actor=CASEWORKER)
    assert audit.verify(engine) == []
