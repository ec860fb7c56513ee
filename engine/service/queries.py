"""The read side of the door: cases (with their escalation flag), histories, actions,
events and timers, each read in one consistent snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Literal

from engine.access.users import UserRecord, UserStore
from engine.audit.conditions import hidden_titles, stored_workflows
from engine.audit.filters import InputCondition
from engine.core import decision
from engine.core.compiler import CompiledWorkflow
from engine.core.decision import Action
from engine.core.refusals import refusal
from engine.core.snapshot import Actor
from engine.errors import NotFound, Refused
from engine.service.door import Door
from engine.service.loading import Loaded, load, view
from engine.service.timers import TIMER_STATES, timer_state_refusal
from engine.service.views import CaseView, EventView, TimerView, event_view, timer_view
from engine.store import repository as repo
from engine.store.db import read_connection

__all__ = ["MAX_LIMIT", "Queries"]

MAX_LIMIT = 1000


def _limit(limit: int) -> int:
    return min(max(int(limit), 1), MAX_LIMIT)


def _cursor_refused(cursor: str | None) -> Refused:
    return Refused(refusal("invalid_cursor", {"cursor": cursor}))


class Queries(Door):
    """What callers read."""

    def get_case(self, case_id: str) -> CaseView:
        with read_connection(self.engine) as connection:
            loaded = load(connection, self.registry, case_id)
            escalated = repo.escalated(connection, [case_id])
        return replace(view(loaded), escalated_at=escalated.get(case_id))

    def actions(self, case_id: str, actor: Actor) -> list[Action]:
        """What `actor` may do on the case now, and what is near but refused, with why:
        the transitions a person may fire from the case's state (its stages' included),
        each allowed or with the refusal it would meet (role, guard, checklist, the case
        suspended). Automatic transitions and those from other states are not listed."""
        with read_connection(self.engine) as connection:
            loaded = load(connection, self.registry, case_id)
        return [action for action in decision.available_actions(
                    loaded.wf, loaded.snapshot(), actor, self.clock.now(), loaded.params)
                if action.transition is not None]

    def history(self, case_id: str) -> list[EventView]:
        with read_connection(self.engine) as connection:
            if repo.case_version(connection, case_id) is None:
                raise NotFound("case", case_id)
            return [event_view(row) for row in repo.events_of(connection, case_id)]

    def list_cases(self, *, workflow_id: str | None = None, state: str | None = None,
                   community_prefix: str | None = None, overdue: bool | None = None,
                   text: str | None = None,
                   order: Literal["priority", "updated", "follow_up", "deadline"] = "priority",
                   limit: int = 50,
                   cursor: str | None = None, status: str | None = None, pii: bool = True,
                   assignee: str | None = None, unassigned: bool = False,
                   follow_up_by: date | None = None, escalated: bool | None = None,
                   ) -> tuple[list[CaseView], str | None]:
        """A page of cases and the cursor of the next page (None on the last).

        `priority` order is a work queue: highest priority first, then oldest;
        `follow_up` and `deadline` put first the cases with a follow-up date or a pending
        deadline, soonest first, then the others in queue order (`updated`: latest first).
        `community_prefix` keeps a community and everything under it; `status` keeps
        active, suspended or closed cases; `escalated` those escalated (or not) since they
        entered their current state. Without `pii`, `text` does not search the titles the
        reader sees masked.
        """
        with read_connection(self.engine) as connection:
            try:
                rows, following = repo.list_cases(
                    connection, workflow_id=workflow_id, state=state,
                    community_prefix=community_prefix, overdue=overdue, text=text,
                    order=order, limit=_limit(limit), cursor=cursor, status=status,
                    hidden_titles=hidden_titles(self.registry, self.engine, pii, text),
                    assignee=assignee, unassigned=unassigned, follow_up_by=follow_up_by,
                    escalated=escalated)
            except repo.CursorError as error:
                raise _cursor_refused(cursor) from error
            ids = [r["id"] for r in rows]
            all_ticks = repo.ticks_of(connection, ids)
            all_links = repo.links_of(connection, ids)
            flagged = repo.escalated(connection, ids)
        views = []
        for row in rows:
            wf = self.registry.get(row["workflow_id"], row["workflow_version"])
            entries = row["state_entries"]
            current = [dict(t) for t in all_ticks if t["case_id"] == row["id"]
                       and entries.get(t["state"]) == t["entry_seq"]]
            case_links = [dict(link) for link in all_links if link["case_id"] == row["id"]]
            views.append(replace(view(Loaded(dict(row), wf, {}, current, case_links)),
                                 escalated_at=flagged.get(row["id"])))
        return views, following

    def list_events(self, *, case_id: str | None = None, actor: str | None = None,
                    workflow_id: str | None = None, trigger: str | None = None,
                    state: str | None = None, community_prefix: str | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    limit: int = 100, cursor: str | None = None, role: str | None = None,
                    conditions: Sequence[InputCondition] = (), kind: str | None = None,
                    ) -> tuple[list[EventView], str | None]:
        """A page of events in time order (`since` inclusive, `until` exclusive).

        `state` keeps events that entered or left that state; `role` the events done in
        that role; `kind` the events of one kind (`EVENT_KINDS`: `escalation` follows
        escalations; a follower keeps the last cursor and asks again); each of
        `conditions` compares a field of the recorded input.
        """
        with read_connection(self.engine) as connection:
            try:
                rows, following = repo.list_events(
                    connection, case_id=case_id, actor=actor, workflow_id=workflow_id,
                    trigger=trigger, state=state, community_prefix=community_prefix,
                    since=since, until=until, limit=_limit(limit), cursor=cursor, role=role,
                    conditions=conditions, kind=kind)
            except repo.CursorError as error:
                raise _cursor_refused(cursor) from error
        return [event_view(row) for row in rows], following

    def list_timers(self, *, case_id: str | None = None, due_before: datetime | None = None,
                    status: str | None = None, community_prefix: str | None = None,
                    limit: int = 100, cursor: str | None = None, state: str | None = None,
                    ) -> tuple[list[TimerView], str | None]:
        """A page of timers, those still to fall due first (soonest first), then fired and
        cancelled ones, and the cursor of the next page.

        `status` is the timer's: pending (waiting for its time), claimed (a worker is
        firing it now), paused (its case is suspended), fired or cancelled. `state` is the
        state that armed it. `due_before` is exclusive; `community_prefix` keeps the timers
        of cases in a community and under it.
        """
        if status is not None and status not in TIMER_STATES:
            raise timer_state_refusal(status)
        with read_connection(self.engine) as connection:
            try:
                rows, following = repo.list_timers(
                    connection, case_id=case_id, due_before=due_before, status=status,
                    community_prefix=community_prefix, now=self.clock.now(),
                    limit=_limit(limit), cursor=cursor, state=state)
            except repo.CursorError as error:
                raise _cursor_refused(cursor) from error
        return [timer_view(row) for row in rows], following

    def next_due(self, case_ids: list[str]) -> dict[str, datetime]:
        """The soonest pending deadline of each case that has one (a work queue's column)."""
        with read_connection(self.engine) as connection:
            return repo.next_due(connection, case_ids[:MAX_LIMIT])

    def escalated(self, case_ids: list[str]) -> dict[str, datetime]:
        """Those of these cases escalated since they entered their current state, each
        with the time of its latest escalation (a work queue's badge, the case's flag)."""
        with read_connection(self.engine) as connection:
            return repo.escalated(connection, case_ids[:MAX_LIMIT])

    def assignee_candidates(self, community: str) -> list[UserRecord]:
        """The people who may be responsible for a case (责任人) in `community`, by name:
        they sign in (not disabled), their roles may change cases and their scope covers
        the community. The door records any name it is given; who exists is known here,
        for the API and the console alike."""
        return [u for u in UserStore(self.engine).list()
                if u.principal.acting_roles and u.principal.sees(community)]

    def is_assignee_candidate(self, name: str, community: str) -> bool:
        return any(u.name == name for u in self.assignee_candidates(community))

    def stored_workflows(self, workflow_id: str | None = None) -> list[CompiledWorkflow]:
        """Every stored version (of `workflow_id`, or of every workflow), retired or not:
        what the events of any case may have been recorded under."""
        return stored_workflows(self.registry, self.engine, workflow_id)
