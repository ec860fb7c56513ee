"""Point in time: where a case stood at any instant, and which cases stood in a state then.

The events table is the only source. A case's state at `t` is its last event at or before
`t` (every event names the state the case was left in: a tick or a suspension repeats the
current one); its data, checklist and status are the replay of its events up to there,
with the same rules the service applies when it writes them (a transition's `changes`
merged into the data, ticks counting only for the entry of their state they were made in,
a step back to its own stage being a new entry).

`cases_in_state` answers from indexes: `ix_events_workflow_state_case` (workflow,
to_state, case, seq, at) walks the events that left a case in the state, in case order,
with their time in the index; a NOT EXISTS probe on `uq_events_case_seq` (case, seq) keeps
the one that is the case's last at or before `t`. No sort: a page stops as soon as it is
full. It never reads a case's whole history, nor the events of other workflows or states;
its cost is the events that entered the state up to the page's last case (a state few
cases stand in at `t` costs a walk over all who ever entered it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.access.principals import community_scope
from engine.core.compiler import CompiledWorkflow
from engine.definitions.registry import WorkflowRegistry
from engine.errors import NotFound, NotYetStarted
from engine.store.db import read_connection
from engine.store.tables import CASES, EVENT_FIELDS, EVENTS

__all__ = ["CaseAt", "InStateAt", "case_at", "cases_in_state"]

MAX_LIMIT = 1000


@dataclass(frozen=True)
class CaseAt:
    """A case as it stood at `at`: the replay of its events up to that instant.

    `event` is the last event at or before `at` (what the case looked like is its doing);
    `entered_by` is the event that put the case into its state (the start, or the
    transition that entered it last).
    """

    case_id: str
    at: datetime
    workflow_id: str
    workflow_version: str
    community: str
    state: str
    status: str
    outcome: str | None
    data: dict[str, Any]
    checklist: dict[str, dict[str, Any]]
    entered_at: datetime
    event: dict[str, Any]
    entered_by: dict[str, Any]
    event_count: int = 0


@dataclass(frozen=True)
class InStateAt:
    """One case that was in the asked state at the instant, and the event that left it so."""

    case_id: str
    community: str
    state: str
    workflow_version: str
    seq: int
    event_at: datetime
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_EVENT_COLUMNS = (*EVENT_FIELDS, "prev_hash", "hash")


def history_until(case_id: str, at: datetime) -> sa.Select[Any]:
    """A case's events up to `at` in sequence order (answered from `uq_events_case_seq`)."""
    return (sa.select(*[EVENTS.c[name] for name in _EVENT_COLUMNS])
            .where(EVENTS.c.case_id == case_id, EVENTS.c.at <= at)
            .order_by(EVENTS.c.seq))


def case_at(engine: Engine, registry: WorkflowRegistry, case_id: str, at: datetime
            ) -> CaseAt:
    """The case as it stood at `at`; `NotFound` when it did not exist (yet) then."""
    with read_connection(engine) as connection:
        found = connection.execute(
            sa.select(CASES.c.community, CASES.c.created_at).where(CASES.c.id == case_id)).first()
        if found is None:
            raise NotFound("case", case_id)
        community = found.community
        rows = [dict(r) for r in connection.execute(history_until(case_id, at)).mappings()]
    if not rows:
        raise NotYetStarted(case_id, at, found.created_at)
    return replay(rows, registry.get, community=community, at=at)


def replay(rows: Sequence[Mapping[str, Any]],
           workflow: Any, *, community: str, at: datetime) -> CaseAt:
    """Fold a case's events (in sequence order) into where it stood after the last one.

    `workflow(id, version)` gives the compiled workflow each event was written under.
    """
    data: dict[str, Any] = {}
    entries: dict[str, int] = {}
    ticks: dict[str, dict[str, Any]] = {}
    state, status, outcome = "", "active", None
    entered_by: Mapping[str, Any] = rows[0]
    wf: CompiledWorkflow | None = None
    for row in rows:
        wf = workflow(row["workflow_id"], row["workflow_version"])
        kind, seq = row["kind"], row["seq"]
        changes = dict(row["changes"] or {})
        values = dict(row["input"] or {})
        if kind == "start":
            data = changes
            state = row["to_state"]
            entries = dict.fromkeys(wf.lineage(state), seq)
            entered_by = row
        elif kind == "transition":
            data.update(changes)
            exited, entered = wf.recorded_move(row["trigger"], row["from_state"],
                                               row["to_state"])
            entries = {s: n for s, n in entries.items() if s not in exited}
            entries.update(dict.fromkeys(entered, seq))
            if row["from_state"] != row["to_state"] or entered:
                entered_by = row
            state = row["to_state"]
            info = wf.states[state]
            if info.final:
                status, outcome = "closed", info.spec.outcome
        elif kind == "checklist_tick":
            item = values.get("item")
            owner = wf.checklist_of(state).get(str(item))
            if owner is not None:
                ticks[str(item)] = {"state": owner, "entry_seq": entries.get(owner),
                                    "evidence": values.get("evidence"),
                                    "actor": row["actor"], "at": row["at"]}
        elif kind == "checklist_untick":
            ticks.pop(str(values.get("item")), None)
        elif kind == "suspend":
            status = "suspended"
        elif kind == "resume":
            status = "active"
        else:  # link, unlink, migration: the state named by the event, data changes merged
            data.update(changes)
            state = row["to_state"] or state
        ticks = {item: t for item, t in ticks.items()
                 if entries.get(t["state"]) == t["entry_seq"]}
    assert wf is not None
    last = rows[-1]
    checklist: dict[str, dict[str, Any]] = {}
    for item, owner in wf.checklist_of(state).items():
        tick = ticks.get(item)
        checklist[item] = {"state": owner, "ticked": tick is not None,
                           "evidence": tick["evidence"] if tick else None,
                           "actor": tick["actor"] if tick else None,
                           "at": tick["at"] if tick else None}
    return CaseAt(
        case_id=last["case_id"], at=at, workflow_id=last["workflow_id"],
        workflow_version=last["workflow_version"], community=community, state=state,
        status=status, outcome=outcome, data=data, checklist=checklist,
        entered_at=entered_by["at"], event=_plain(last), entered_by=_plain(entered_by),
        event_count=int(last["seq"]))


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in _EVENT_COLUMNS if name in row}


def in_state_query(workflow_id: str, states: Iterable[str], at: datetime, *,
                   community_prefix: str | None = None, after: str | None = None,
                   limit: int = 100) -> sa.Select[Any]:
    """The cases of the workflow whose last event at or before `at` left them in `states`."""
    e = EVENTS.alias("e")
    later = EVENTS.alias("later")
    newer = (sa.select(sa.literal(1)).select_from(later)
             .where(later.c.case_id == e.c.case_id, later.c.seq > e.c.seq,
                    later.c.at <= at))
    query = (sa.select(e.c.case_id, e.c.to_state, e.c.workflow_version, e.c.seq, e.c.at,
                       CASES.c.community, CASES.c.title)
             .select_from(e.join(CASES, CASES.c.id == e.c.case_id))
             .where(e.c.workflow_id == workflow_id, e.c.to_state.in_(list(states)),
                    e.c.at <= at, ~sa.exists(newer))
             .order_by(e.c.case_id)
             .limit(min(max(int(limit), 1), MAX_LIMIT)))
    if community_prefix:
        query = query.where(community_scope(CASES.c.community, community_prefix))
    if after is not None:
        query = query.where(e.c.case_id > after)
    return query


def cases_in_state(engine: Engine, registry: WorkflowRegistry, workflow_id: str, state: str,
                   at: datetime, *, community_prefix: str | None = None,
                   after: str | None = None, limit: int = 100
                   ) -> tuple[list[InStateAt], str | None]:
    """A page of the cases in `state` (a leaf, or a stage: any of its steps) at `at`, by
    case id, and the case id to continue after (None on the last page)."""
    states: set[str] = set()
    for definition in registry.versions(workflow_id):
        wf = registry.get(workflow_id, definition.version)
        if state in wf.states:
            states.update(wf.leaves(state))
    if not states:
        registry.get(workflow_id)  # NotFound for an unknown workflow
        raise NotFound("state", f"{workflow_id}.{state}")
    limit = min(max(int(limit), 1), MAX_LIMIT)
    with read_connection(engine) as connection:
        rows = list(connection.execute(
            in_state_query(workflow_id, sorted(states), at, community_prefix=community_prefix,
                           after=after, limit=limit + 1)).mappings())
    found = [InStateAt(case_id=r["case_id"], community=r["community"], state=r["to_state"],
                       workflow_version=r["workflow_version"], seq=r["seq"],
                       event_at=r["at"], title=r["title"]) for r in rows[:limit]]
    following = found[-1].case_id if len(rows) > limit else None
    return found, following
