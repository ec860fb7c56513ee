"""The hot path of a change reads and writes through statements run on the driver's cursor
(`engine.store.direct.Direct`): they must read and write exactly what SQLAlchemy Core does,
and fail the way it fails. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import CASEWORKER, COMMITTEE, COMMUNITY

from engine.ledger.chain import chain_event as _chain
from engine.ledger.chain import event_hash
from engine.service import CaseService
from engine.store import repository
from engine.store.db import read_connection, write_connection
from engine.store.tables import CASES


def test_the_case_row_reads_as_sqlalchemy_core_reads_it(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = service.start_case("store_org", {"name": "山海志愿队"}, actor=COMMITTEE,
                                 community=COMMUNITY).case.id
    service.fire(case_id, "grow", input={"by": 2}, actor=CASEWORKER)
    with read_connection(engine) as connection:
        core = dict(connection.execute(
            sa.select(CASES).where(CASES.c.id == case_id)
        ).mappings().one())
        direct = repository.load_case(connection, case_id)
        joined, overrides = repository.load_case_and_overrides(connection, case_id, lock=True)
    assert direct == core == joined
    assert overrides == {}
    assert core["entered_at"].tzinfo is not None and core["overdue"] is False
    assert core["data"] == {"name": "山海志愿队", "size": 2}


def test_the_locked_read_tells_whether_a_link_touches_the_case_from_either_side(
        service: CaseService, engine: sa.Engine) -> None:
    a, b, alone = (service.start_case("store_org", {"name": name}, actor=COMMITTEE,
                                      community=COMMUNITY).case.id
                   for name in ("甲", "乙", "丙"))
    service.link(a, b, actor=COMMITTEE)
    with read_connection(engine) as connection:
        found = {case_id: repository.load_for_change(connection, case_id, lock=True)[2]
                 for case_id in (a, b, alone)}
    assert found == {a: True, b: True, alone: False}


@pytest.mark.parametrize(("stored", "applies"), [
    ("", True), ("fuzhou", True), ("fuzhou/cangshan", True), (COMMUNITY, True),
    ("fuzhou/cang", False), ("fuzhou/cangshan/jinshan/jinzhou/x", False), ("xiamen", False),
])
def test_an_override_applies_to_its_community_and_everything_under_it(
        service: CaseService, engine: sa.Engine, stored: str, applies: bool) -> None:
    case_id = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                                 community=COMMUNITY).case.id
    with write_connection(engine) as connection:
        repository.set_parameter(connection, stored, "store_org", "members_needed", 7,
                                 service.clock.now())
    with read_connection(engine) as connection:
        _, overrides = repository.load_case_and_overrides(connection, case_id)
        separate = repository.parameter_overrides(connection, "store_org", COMMUNITY)
    assert overrides == separate == ({"members_needed": 7} if applies else {})


def test_the_most_specific_override_wins_in_one_statement(
        service: CaseService, engine: sa.Engine) -> None:
    case_id = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                                 community=COMMUNITY).case.id
    for community, value in (("fuzhou/cangshan", 5), ("", 9), ("fuzhou", 4)):
        service.set_parameter("store_org", "members_needed", value, community=community)
    with read_connection(engine) as connection:
        _, overrides = repository.load_case_and_overrides(connection, case_id)
    assert overrides == {"members_needed": 5}


def test_a_constraint_broken_on_the_direct_path_is_sqlalchemys_integrity_error(
        service: CaseService, engine: sa.Engine) -> None:
    case = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case
    with pytest.raises(sa.exc.IntegrityError), write_connection(engine) as connection:
        repository.insert_event(connection, {  # seq 1 exists: unique (case_id, seq)
            "case_id": case.id, "seq": 1, "workflow_id": "store_org",
            "workflow_version": "1.0.0", "kind": "start", "trigger": None,
            "from_state": None, "to_state": "forming", "actor": "x", "role": None,
            "input": {}, "changes": {}, "comment": None, "at": service.clock.now(),
            "prev_hash": "0" * 64, "hash": "0" * 64, "body": "{}"})
    assert len(service.history(case.id)) == 1


def test_an_event_broken_in_the_combined_write_is_an_integrity_error_and_writes_nothing(
        service: CaseService, engine: sa.Engine) -> None:
    case = service.start_case("store_org", {"name": "A"}, actor=COMMITTEE,
                              community=COMMUNITY).case
    with pytest.raises(sa.exc.IntegrityError), write_connection(engine) as connection:
        repository.write_change(connection, case.id, case.version, {"title": "B"}, {
            "case_id": case.id, "seq": 1, "workflow_id": "store_org",  # seq 1 exists
            "workflow_version": "1.0.0", "kind": "transition", "trigger": None,
            "from_state": None, "to_state": "forming", "actor": "x", "role": None,
            "input": {}, "changes": {}, "comment": None, "at": service.clock.now(),
            "prev_hash": "0" * 64, "hash": "0" * 64, "body": "{}"})
    assert service.get_case(case.id) == case
    assert len(service.history(case.id)) == 1


def test_the_chain_helper_hashes_as_the_ledger_does() -> None:
    body = {"case_id": "c1", "seq": 2, "trigger": "选择", "input": {"by": 1.5}}
    digest, canonical = _chain("a" * 64, body)
    assert digest == event_hash("a" * 64, body)
    assert canonical == '{"case_id":"c1","input":{"by":1.5},"seq":2,"trigger":"选择"}'



def test_an_events_columns_are_its_body_fields_in_the_order_its_view_declares() -> None:
    from engine.service.views import EVENT_VIEW_FIELDS, EventView, event_view
    from engine.service.writing import _event_values
    from engine.store.tables import EVENT_FIELDS

    body = {name: None for name in EVENT_FIELDS}
    values = _event_values({**body, "input": {"a": 1}}, "p" * 64, "h" * 64)
    assert tuple(values) == EVENT_VIEW_FIELDS
    assert set(values) == {*EVENT_FIELDS, "prev_hash", "hash"}
    assert values["input"] == {"a": 1} and values["changes"] == {}
    assert isinstance(event_view(values), EventView)
