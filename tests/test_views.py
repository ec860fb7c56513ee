"""The views a change returns (`engine.service.views`) made by `built`, and the snapshot
a loaded case gives the core, are the objects their constructors make: equal, with the
same `__dict__` in the same order (the CLI and the idempotency record serialise it);
values that do not name every field in order go through the constructor, which says
what is wrong."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from engine.core.snapshot import CaseSnapshot, LinkedCase
from engine.service.loading import Loaded
from engine.service.views import CaseView, EventView, FireResult, built

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
EVENT = {"case_id": "c1", "seq": 2, "kind": "transition", "workflow_id": "w",
         "workflow_version": "1.0.0", "trigger": "go", "from_state": "a", "to_state": "b",
         "actor": "wang", "role": "caseworker", "input": {"by": 1}, "comment": None,
         "at": AT, "prev_hash": "0" * 64, "hash": "f" * 64, "changes": {"count": 1}}
CASE = {"id": "c1", "workflow_id": "w", "workflow_version": "1.0.0", "state": "b",
        "status": "active", "outcome": None, "data": {"name": "甲"}, "version": 2,
        "community": "d/s/c", "title": "甲", "priority": 1.0, "overdue": False,
        "entered_at": AT, "created_at": AT, "updated_at": AT, "checklist": {}, "links": [],
        "head_hash": "f" * 64, "event_count": 2, "assignee": None, "follow_up_on": None,
        "escalated_at": None}


def _same(made: Any, expected: Any) -> None:
    assert made == expected and type(made) is type(expected)
    assert list(made.__dict__.items()) == list(expected.__dict__.items())


@pytest.mark.parametrize(("kind", "values"), [(EventView, EVENT), (CaseView, CASE)])
def test_a_view_built_from_every_field_in_order_is_the_constructed_one(
        kind: type[Any], values: dict[str, Any]) -> None:
    assert tuple(values) == tuple(f.name for f in fields(kind))
    _same(built(kind, values), kind(**values))


def test_a_fire_result_built_is_the_constructed_one() -> None:
    case, event = CaseView(**CASE), EventView(**EVENT)
    values = {"case": case, "event": event, "automatic": [event], "replayed": False}
    _same(built(FireResult, values), FireResult(**values))


def test_values_out_of_order_or_short_of_a_field_go_through_the_constructor() -> None:
    shuffled = dict(reversed(EVENT.items()))
    _same(built(EventView, shuffled), EventView(**EVENT))
    defaulted = {k: v for k, v in CASE.items() if k != "escalated_at"}
    _same(built(CaseView, defaulted), CaseView(**CASE))
    with pytest.raises(TypeError):
        built(EventView, {k: v for k, v in EVENT.items() if k != "hash"})
    with pytest.raises(TypeError):
        built(EventView, {**EVENT, "colour": "red"})



def test_the_snapshot_of_a_loaded_case_is_the_constructed_one() -> None:
    row = {**CASE, "state_entries": {"b": 2}}
    link = {"other_case_id": "c2", "workflow_id": "w2", "state": "x", "relation": "member",
            "within": ("stage",), "direction": "outgoing"}
    loaded = Loaded(row, cast(Any, None), {}, [{"item": "signed"}], [link])
    expected = CaseSnapshot(state="b", data=CASE["data"], entered_at=AT,
                            checklist={"signed": True},
                            links=(LinkedCase("c2", "w2", "x", "member", ("stage",)),),
                            status="active", entries={"b": 2}, events=2)
    _same(loaded.snapshot(), expected)
    _same(Loaded(row, cast(Any, None), {}, [], []).snapshot(),
          CaseSnapshot(state="b", data=CASE["data"], entered_at=AT, status="active",
                       entries={"b": 2}, events=2))
