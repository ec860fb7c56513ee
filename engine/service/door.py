"""The one door: every change of a case, from every interface, goes through `CaseService`.

Each operation is one database transaction:

    load the case (locked: BEGIN IMMEDIATE on SQLite, FOR UPDATE on PostgreSQL),
    its links and the checklist ticks of its current state entries
    -> check the caller's case version (else `Conflict` naming the current one)
    -> decide with the pure core (`engine.core.decision`): a refusal raises `Refused` and
       nothing is written
    -> write the case row (`UPDATE ... WHERE id = :id AND version = :v`), the event with
       its hash chained to the case's head, the timers to arm and cancel, the idempotency
       record
    -> commit.

After the change, the automatic transitions of the case are taken in the same
transaction (actor `system:auto`, same code path), so a case never rests in a state that
an automatic transition should already have left. Then each linked case whose guards may
now read differently (a linked state or the set of links changed) is re-evaluated, each
in its own transaction, cascading along links. The whole chain is bounded by
`max_automatic_steps`: a badly designed workflow stops there instead of looping.

Idempotency: a request carrying a key that was already used returns the first result
(`replayed=True`) and writes nothing; the same key with a different request is refused
(`idempotency_key_reused`). The primary key on the records decides races, also between
processes. The replayed result is what was recorded with the first change: its case view
and the automatic steps taken in that transaction.

The pure core never reads a clock; this module passes `clock.now()`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from engine.audit.conditions import hidden_titles
from engine.audit.filters import InputCondition
from engine.audit.seals import attach_service_key
from engine.clock import Clock, SystemClock
from engine.core import decision
from engine.core.compiler import CompiledWorkflow
from engine.core.decision import (
    DEFAULT_ROLES,
    SUPER_ROLES,
    Action,
    Actor,
    CaseSnapshot,
    LinkedCase,
    TimerPlan,
    Transition,
)
from engine.definitions.registry import WorkflowRegistry
from engine.errors import (
    Conflict,
    HatcheryError,
    NotFound,
    Refusal,
    Refused,
    StoreUnavailable,
)
from engine.language.spec import as_text
from engine.language.values import problem
from engine.ledger.chain import GENESIS, ChainBreak, canonical_json
from engine.service.assignment import AssignmentOperations
from engine.settings import Settings
from engine.store import repository as repo
from engine.store.db import (
    current_revision,
    describe_error,
    read_connection,
    upgrade,
    write_connection,
)
from engine.store.operations import record as record_operation
from engine.store.partitions import ensure_partitions
from engine.store.pool import check_capacity, pool_plan, service_engine
from engine.timers.calendar import CalendarCoverageError, DurationError
from engine.timers.calendar_store import load_notices

__all__ = [
    "AUTO_ACTOR",
    "CaseService",
    "CaseView",
    "EventView",
    "FireResult",
    "build_service",
    "verify_store",
]

log = logging.getLogger("hatchery.service")

AUTO_ACTOR = Actor("system:auto")
MAX_LIMIT = 1000
MAX_KEY = 200
_COMMUNITY = re.compile(r"^[^/\s*][^/]{0,63}(?:/[^/\s*][^/]{0,63}){0,9}$")
_RELATION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_REFUSALS: dict[str, tuple[str, str]] = {
    "checklist_unknown_item": ("'{item}' is not a checklist item of '{state}'",
                               "“{item}”不是“{state}”阶段的清单项"),
    "evidence_required": ("ticking '{item}' needs evidence", "勾选“{item}”需要提供佐证材料"),
    "already_ticked": ("'{item}' is already ticked", "“{item}”已经勾选"),
    "not_ticked": ("'{item}' is not ticked", "“{item}”尚未勾选"),
    "link_self": ("a case cannot be linked to itself", "案件不能与自身关联"),
    "already_linked": ("case {case} is already linked to case {other}",
                       "案件 {case} 已与案件 {other} 关联"),
    "not_linked": ("case {case} is not linked to case {other}",
                   "案件 {case} 未与案件 {other} 关联"),
    "invalid_relation": ("'{relation}' is not a relation name (lowercase letters, digits, _)",
                         "“{relation}”不是有效的关联类型（小写字母、数字、下划线）"),
    "already_suspended": ("the case is already suspended", "案件已处于暂停状态"),
    "not_suspended": ("the case is not suspended", "案件未处于暂停状态"),
    "idempotency_key_reused": (
        "the idempotency key '{key}' was already used for a different request",
        "幂等键“{key}”已用于另一个不同的请求"),
    "invalid_community": (
        "'{community}' is not a community path like district/street/community",
        "“{community}”不是“区/街道/社区”形式的社区路径"),
    "invalid_idempotency_key": ("an idempotency key has 1 to {max} characters",
                                "幂等键的长度应为 1 到 {max} 个字符"),
    "invalid_cursor": ("the page cursor is not valid: start again from the first page",
                       "分页游标无效，请从第一页重新开始"),
    "invalid_parameter": ("the parameter override is not valid: {error}",
                          "参数设置无效：{error}"),
}


def _refusal(code: str, details: Mapping[str, Any] | None = None, **args: Any) -> Refusal:
    en, zh = _REFUSALS[code]
    return Refusal(code, en.format(**args), zh.format(**args), dict(details or {}))


# ---------------------------------------------------------------------------------------
# What callers see


@dataclass(frozen=True)
class CaseView:
    """A case as it stands: state, data, checklist of the current entry, links."""

    id: str
    workflow_id: str
    workflow_version: str
    state: str
    status: str
    outcome: str | None
    data: dict[str, Any]
    version: int
    community: str
    title: str | None
    priority: float
    overdue: bool
    entered_at: datetime
    created_at: datetime
    updated_at: datetime
    checklist: dict[str, dict[str, Any]]
    links: list[dict[str, Any]]
    head_hash: str = GENESIS
    event_count: int = 0
    assignee: str | None = None
    follow_up_on: date | None = None


@dataclass(frozen=True)
class EventView:
    """One recorded change of a case (the hashed body's fields, plus its hashes)."""

    case_id: str
    seq: int
    kind: str
    workflow_id: str
    workflow_version: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    actor: str
    role: str | None
    input: dict[str, Any]
    comment: str | None
    at: datetime
    prev_hash: str
    hash: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FireResult:
    """The case after a change, the change's event, and the automatic steps that followed.

    `replayed` is True when an idempotency key matched an earlier request: nothing was
    written and this is the earlier result.
    """

    case: CaseView
    event: EventView
    automatic: list[EventView]
    replayed: bool = False


# ---------------------------------------------------------------------------------------
# Internals: a case loaded inside a transaction


@dataclass
class _Loaded:
    row: dict[str, Any]
    wf: CompiledWorkflow
    params: dict[str, Any]
    ticks: list[dict[str, Any]]
    links: list[dict[str, Any]]
    state_changed: bool = False

    @property
    def id(self) -> str:
        return str(self.row["id"])

    def snapshot(self) -> CaseSnapshot:
        return CaseSnapshot(
            state=self.row["state"], data=self.row["data"], entered_at=self.row["entered_at"],
            checklist={t["item"]: True for t in self.ticks},
            links=tuple(LinkedCase(link["other_case_id"], link["workflow_id"], link["state"],
                                   link["relation"]) for link in self.links),
            status=self.row["status"],
        )


@dataclass(frozen=True)
class _Outcome:
    """What an operation's transaction produced, before the cascade along links."""

    result: FireResult
    cascade: tuple[str, ...]


class CaseService(AssignmentOperations):
    """The only code that changes a case. Thread-safe; share one per process."""

    def __init__(self, engine: Engine, registry: WorkflowRegistry, clock: Clock, *,
                 max_automatic_steps: int = 20) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.max_automatic_steps = max_automatic_steps

    # -- changes ------------------------------------------------------------------------

    def start_case(self, workflow_id: str, data: dict[str, Any], *, actor: Actor,
                   community: str, version: str | None = None, comment: str | None = None,
                   idempotency_key: str | None = None) -> FireResult:
        """Start a case of the workflow (latest version unless `version` is given).

        The initial data is checked against the workflow's fields (`input_invalid` with
        every problem); the case starts in the initial state with its timers armed.
        """
        request = {"workflow_id": workflow_id, "version": version, "data": data,
                   "community": community, "comment": comment}

        def work(connection: Connection) -> _Outcome:
            wf = self.registry.get(workflow_id, version)
            scope = _check_community(community)
            now = self.clock.now()
            role = self._handler_role(wf, actor, "start", wf.initial)
            params = self._params(connection, wf, scope)
            started = decision.start(wf, data, actor, now, params, comment)
            if isinstance(started, Refusal):
                raise Refused(started)
            case_id = _new_case_id()
            body = {**started.event, "case_id": case_id, "seq": 1, "role": role,
                    "community": scope}  # chained: an edit of the row's community shows
            digest, canonical = _chain(GENESIS, body)
            final = wf.states[started.state]
            row = {
                "id": case_id, "workflow_id": wf.id, "workflow_version": wf.version,
                "state": started.state, "status": "closed" if final.final else "active",
                "outcome": final.spec.outcome if final.final else None,
                "data": dict(started.data), "version": 1, "community": scope,
                "title": _title(wf, started.data), "priority": started.priority,
                "overdue": False, "entered_at": now,
                "state_entries": dict.fromkeys(wf.lineage(started.state), 1),
                "head_hash": digest, "event_count": 1, "created_at": now, "updated_at": now,
            }
            repo.insert_case(connection, row)
            event = self._insert_event(connection, body, GENESIS, digest, canonical)
            repo.arm_timers(connection, case_id, started.arm, now)
            loaded = _Loaded(row, wf, params, [], [])
            automatic = self._automatic(connection, loaded, self.max_automatic_steps)
            result = FireResult(self._view(loaded), event, automatic)
            return _Outcome(result, self._cascade_seeds(loaded))

        return self._change("start", actor, idempotency_key, request, work)

    def fire(self, case_id: str, trigger: str, *, input: dict[str, Any] | None = None,
             actor: Actor, expected_version: int | None = None, comment: str | None = None,
             idempotency_key: str | None = None) -> FireResult:
        """Fire `trigger` on the case: role, input, guard, checklist, effects, timers."""
        values = dict(input or {})
        request = {"case_id": case_id, "trigger": trigger, "input": values,
                   "expected_version": expected_version, "comment": comment}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version)
            now = self.clock.now()
            outcome = decision.decide(loaded.wf, loaded.snapshot(), trigger, values, actor,
                                      now, loaded.params, comment)
            if isinstance(outcome, Refusal):
                raise Refused(outcome)
            event = self._apply_transition(connection, loaded, outcome, now)
            return self._finish(connection, loaded, event)

        return self._change("fire", actor, idempotency_key, request, work)

    def tick(self, case_id: str, item: str, *, evidence: str | None, actor: Actor,
             expected_version: int | None = None,
             idempotency_key: str | None = None) -> FireResult:
        """Tick a checklist item of the case's current state, with evidence."""
        request = {"case_id": case_id, "item": item, "evidence": evidence,
                   "expected_version": expected_version}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version)
            owner = self._checklist_owner(loaded, item)
            role = self._handler_role(loaded.wf, actor, "tick", loaded.row["state"])
            spec = loaded.wf.states[owner].spec.checklist[item]
            if spec.evidence and not (evidence or "").strip():
                raise Refused(_refusal("evidence_required", {"item": item}, item=item))
            if any(t["item"] == item for t in loaded.ticks):
                raise Refused(_refusal("already_ticked", {"item": item}, item=item))
            now = self.clock.now()
            tick = {"case_id": loaded.id, "state": owner,
                    "entry_seq": loaded.row["state_entries"][owner], "item": item,
                    "evidence": evidence, "actor": actor.id, "at": now}
            repo.insert_tick(connection, tick)
            event = self._record(connection, loaded, now, kind="checklist_tick", actor=actor,
                                 role=role, input={"item": item, "evidence": evidence})
            loaded.ticks.append(tick)
            return self._finish(connection, loaded, event)

        return self._change("tick", actor, idempotency_key, request, work)

    def untick(self, case_id: str, item: str, *, actor: Actor, reason: str | None = None,
               expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Take back a tick of the current state entry (the history keeps both)."""
        request = {"case_id": case_id, "item": item, "reason": reason,
                   "expected_version": expected_version}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version)
            self._checklist_owner(loaded, item)
            role = self._handler_role(loaded.wf, actor, "untick", loaded.row["state"])
            found = next((t for t in loaded.ticks if t["item"] == item), None)
            if found is None:
                raise Refused(_refusal("not_ticked", {"item": item}, item=item))
            now = self.clock.now()
            repo.delete_tick(connection, found["id"])
            event = self._record(connection, loaded, now, kind="checklist_untick",
                                 actor=actor, role=role,
                                 input={"item": item, "reason": reason})
            loaded.ticks.remove(found)
            return self._finish(connection, loaded, event)

        return self._change("untick", actor, idempotency_key, request, work)

    def link(self, case_id: str, other_case_id: str, *, relation: str = "related",
             actor: Actor, expected_version: int | None = None,
             idempotency_key: str | None = None) -> FireResult:
        """Link two cases (guards of either may count the other by workflow and state)."""
        request = {"case_id": case_id, "other_case_id": other_case_id, "relation": relation,
                   "expected_version": expected_version}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version)
            if other_case_id == case_id:
                raise Refused(_refusal("link_self", {"other_case_id": other_case_id}))
            if not _RELATION.match(relation):
                raise Refused(_refusal("invalid_relation", {"relation": relation},
                                       relation=relation))
            other = repo.load_case(connection, other_case_id)
            if other is None:
                raise NotFound("case", other_case_id)
            if repo.find_link(connection, case_id, other_case_id) is not None:
                raise Refused(_refusal("already_linked", {"other_case_id": other_case_id},
                                       case=case_id, other=other_case_id))
            role = self._handler_role(loaded.wf, actor, "link", loaded.row["state"])
            now = self.clock.now()
            repo.insert_link(connection, {"case_id": case_id, "other_case_id": other_case_id,
                                          "relation": relation, "created_at": now})
            loaded.links.append({"case_id": case_id, "other_case_id": other_case_id,
                                 "relation": relation, "direction": "outgoing",
                                 "workflow_id": other["workflow_id"],
                                 "state": other["state"], "community": other["community"]})
            # A priority may read linked cases (party presence at selection): it moves now.
            event = self._record(connection, loaded, now, kind="link", actor=actor, role=role,
                                 input={"other_case_id": other_case_id, "relation": relation},
                                 values={"priority": self._priority(loaded, now)})
            return self._finish(connection, loaded, event, also=(other_case_id,))

        return self._change("link", actor, idempotency_key, request, work)

    def unlink(self, case_id: str, other_case_id: str, *, actor: Actor,
               expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Remove the link between two cases (made from either side)."""
        request = {"case_id": case_id, "other_case_id": other_case_id,
                   "expected_version": expected_version}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version)
            found = repo.find_link(connection, case_id, other_case_id)
            if found is None:
                raise Refused(_refusal("not_linked", {"other_case_id": other_case_id},
                                       case=case_id, other=other_case_id))
            role = self._handler_role(loaded.wf, actor, "unlink", loaded.row["state"])
            now = self.clock.now()
            repo.delete_link(connection, found["id"])
            loaded.links = [link for link in loaded.links
                            if link["other_case_id"] != other_case_id]
            event = self._record(connection, loaded, now, kind="unlink", actor=actor,
                                 role=role, input={"other_case_id": other_case_id,
                                                   "relation": found["relation"]},
                                 values={"priority": self._priority(loaded, now)})
            return self._finish(connection, loaded, event, also=(other_case_id,))

        return self._change("unlink", actor, idempotency_key, request, work)

    def suspend(self, case_id: str, *, actor: Actor, reason: str,
                expected_version: int | None = None,
                idempotency_key: str | None = None) -> FireResult:
        """Pause the case: no trigger, tick or link until resumed; its timers stop."""
        request = {"case_id": case_id, "reason": reason, "expected_version": expected_version}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version,
                                           allow_suspended=True)
            if loaded.row["status"] == "suspended":
                raise Refused(_refusal("already_suspended",
                                       {"current_state": loaded.row["state"]}))
            if not (reason or "").strip():
                raise Refused(decision.input_refusal([problem("reason", "required")], {}))
            role = self._handler_role(loaded.wf, actor, "suspend", loaded.row["state"])
            now = self.clock.now()
            repo.pause_timers(connection, case_id, now)
            event = self._record(connection, loaded, now, kind="suspend", actor=actor,
                                 role=role, input={"reason": reason},
                                 values={"status": "suspended"})
            return self._finish(connection, loaded, event)

        return self._logged(self._change("suspend", actor, idempotency_key, request, work),
                            "suspend", actor, {"reason": reason})

    def resume(self, case_id: str, *, actor: Actor, comment: str | None = None,
               expected_version: int | None = None,
               idempotency_key: str | None = None) -> FireResult:
        """Resume a suspended case; its timers run again for the time they had left."""
        request = {"case_id": case_id, "comment": comment, "expected_version": expected_version}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version,
                                           allow_suspended=True)
            if loaded.row["status"] != "suspended":
                raise Refused(_refusal("not_suspended", {"current_state": loaded.row["state"]}))
            role = self._handler_role(loaded.wf, actor, "resume", loaded.row["state"])
            now = self.clock.now()
            repo.resume_timers(connection, case_id, now)
            event = self._record(connection, loaded, now, kind="resume", actor=actor,
                                 role=role, input={}, comment=comment,
                                 values={"status": "active"})
            return self._finish(connection, loaded, event)

        return self._logged(self._change("resume", actor, idempotency_key, request, work),
                            "resume", actor, {"comment": comment})

    def set_parameter(self, workflow_id: str, name: str, value: Any, *,
                      community: str = "") -> None:
        """Override a workflow parameter for a community and everything under it
        (`community=""`: everywhere). Checked against the parameter's declared type."""
        scope = _check_community(community) if community else ""
        wf = self.registry.get(workflow_id)
        try:
            wf.resolve_params({name: value})
        except HatcheryError as error:
            raise Refused(_refusal("invalid_parameter", {"name": name},
                                   error=error)) from error
        with write_connection(self.engine) as connection:
            repo.set_parameter(connection, scope, workflow_id, name, value, self.clock.now())

    # -- reading ------------------------------------------------------------------------

    def get_case(self, case_id: str) -> CaseView:
        with read_connection(self.engine) as connection:
            return self._view(self._load(connection, case_id))

    def actions(self, case_id: str, actor: Actor) -> list[Action]:
        """Every trigger of the case's workflow: allowed for `actor`, or why not."""
        with read_connection(self.engine) as connection:
            loaded = self._load(connection, case_id)
        return decision.available_actions(loaded.wf, loaded.snapshot(), actor,
                                          self.clock.now(), loaded.params)

    def history(self, case_id: str) -> list[EventView]:
        with read_connection(self.engine) as connection:
            if repo.case_version(connection, case_id) is None:
                raise NotFound("case", case_id)
            return [_event_view(row) for row in repo.events_of(connection, case_id)]

    def list_cases(self, *, workflow_id: str | None = None, state: str | None = None,
                   community_prefix: str | None = None, overdue: bool | None = None,
                   text: str | None = None,
                   order: Literal["priority", "updated"] = "priority", limit: int = 50,
                   cursor: str | None = None, status: str | None = None, pii: bool = True,
                   assignee: str | None = None, unassigned: bool = False,
                   follow_up_by: date | None = None,
                   ) -> tuple[list[CaseView], str | None]:
        """A page of cases and the cursor of the next page (None on the last).

        `priority` order is a work queue: highest priority first, then oldest.
        `community_prefix` keeps a community and everything under it; `status` keeps
        active, suspended or closed cases. Without `pii`, `text` does not search the titles
        the reader sees masked.
        """
        limit = min(max(int(limit), 1), MAX_LIMIT)
        with read_connection(self.engine) as connection:
            try:
                rows, following = repo.list_cases(
                    connection, workflow_id=workflow_id, state=state,
                    community_prefix=community_prefix, overdue=overdue, text=text,
                    order=order, limit=limit, cursor=cursor, status=status,
                    hidden_titles=hidden_titles(self.registry, self.engine, pii, text),
                    assignee=assignee, unassigned=unassigned, follow_up_by=follow_up_by)
            except repo.CursorError as error:
                raise Refused(_refusal("invalid_cursor", {"cursor": cursor})) from error
            ids = [r["id"] for r in rows]
            all_ticks = repo.ticks_of(connection, ids)
            all_links = repo.links_of(connection, ids)
        views = []
        for row in rows:
            wf = self.registry.get(row["workflow_id"], row["workflow_version"])
            entries = row["state_entries"]
            current = [dict(t) for t in all_ticks if t["case_id"] == row["id"]
                       and entries.get(t["state"]) == t["entry_seq"]]
            case_links = [dict(link) for link in all_links if link["case_id"] == row["id"]]
            views.append(self._view(_Loaded(dict(row), wf, {}, current, case_links)))
        return views, following

    def list_events(self, *, case_id: str | None = None, actor: str | None = None,
                    workflow_id: str | None = None, trigger: str | None = None,
                    state: str | None = None, community_prefix: str | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    limit: int = 100, cursor: str | None = None, role: str | None = None,
                    conditions: Sequence[InputCondition] = (),
                    ) -> tuple[list[EventView], str | None]:
        """A page of events in time order (`since` inclusive, `until` exclusive).

        `state` keeps events that entered or left that state; `role` the events done in
        that role; each of `conditions` compares a field of the recorded input.
        """
        limit = min(max(int(limit), 1), MAX_LIMIT)
        with read_connection(self.engine) as connection:
            try:
                rows, following = repo.list_events(
                    connection, case_id=case_id, actor=actor, workflow_id=workflow_id,
                    trigger=trigger, state=state, community_prefix=community_prefix,
                    since=since, until=until, limit=limit, cursor=cursor, role=role,
                    conditions=conditions)
            except repo.CursorError as error:
                raise Refused(_refusal("invalid_cursor", {"cursor": cursor})) from error
        return [_event_view(row) for row in rows], following

    def _logged(self, result: FireResult, action: str, actor: Actor,
                detail: Mapping[str, Any]) -> FireResult:
        """Suspensions and resumptions also go to the operations log, where auditors list
        actions across cases; a replayed request was logged the first time."""
        if not result.replayed:
            record_operation(self.engine, actor=actor.id, action=action,
                             at=result.event.at, target=result.case.id,
                             community=result.case.community, detail=dict(detail))
        return result

    # -- the transaction ------------------------------------------------------------------

    def _change(self, operation: str, actor: Actor, key: str | None,
                request: Mapping[str, Any],
                work: Callable[[Connection], _Outcome]) -> FireResult:
        fingerprint = ""
        if key is not None:
            if not 0 < len(key) <= MAX_KEY:
                raise Refused(_refusal("invalid_idempotency_key", {"key": key[:MAX_KEY]},
                                       max=MAX_KEY))
            fingerprint = _fingerprint(operation, actor, request)
        try:
            with write_connection(self.engine) as connection:
                if key is not None:
                    replayed = _replay(connection, key, fingerprint)
                    if replayed is not None:
                        return replayed
                outcome = work(connection)
                if key is not None:
                    repo.insert_idempotency(connection, {
                        "key": key, "actor": actor.id, "operation": operation,
                        "fingerprint": fingerprint, "case_id": outcome.result.case.id,
                        "response": _result_to_json(outcome.result),
                        "created_at": outcome.result.event.at})
        except sa.exc.IntegrityError as error:
            # Another transaction committed the same key first (possibly in another
            # process): everything above was rolled back; its result is the answer.
            if key is not None:
                with read_connection(self.engine) as connection:
                    replayed = _replay(connection, key, fingerprint)
                if replayed is not None:
                    return replayed
            raise StoreUnavailable(describe_error(self.engine, error)) from error
        return self._after(outcome)

    def _after(self, outcome: _Outcome) -> FireResult:
        """Re-evaluate linked cases, each in its own transaction, within the step budget."""
        result = outcome.result
        budget = self.max_automatic_steps - len(result.automatic)
        if not outcome.cascade or budget <= 0:
            return result
        extra = self._cascade(list(outcome.cascade), budget)
        if not extra:
            return result
        case = result.case
        if any(e.case_id == case.id for e in extra):
            case = self.get_case(case.id)
        return replace(result, case=case, automatic=[*result.automatic, *extra])

    def _cascade(self, seeds: list[str], budget: int) -> list[EventView]:
        taken: list[EventView] = []
        queue = deque(dict.fromkeys(seeds))
        while queue and len(taken) < budget:
            case_id = queue.popleft()
            try:
                # A cheap look first: most linked cases have nothing to do.
                with read_connection(self.engine) as connection:
                    probe = self._load(connection, case_id)
                if decision.automatic_step(probe.wf, probe.snapshot(), self.clock.now(),
                                           probe.params) is None:
                    continue
                with write_connection(self.engine) as connection:
                    loaded = self._load(connection, case_id, lock=True)
                    steps = self._automatic(connection, loaded, budget - len(taken))
            except HatcheryError as error:
                log.warning("automatic steps of linked case %s not taken: %s", case_id, error)
                continue
            taken.extend(steps)
            for other in self._cascade_seeds(loaded):
                if other not in queue:
                    queue.append(other)
        if queue and len(taken) >= budget:
            log.warning("automatic steps stopped after %d steps (max_automatic_steps); "
                        "cases left unevaluated: %s", self.max_automatic_steps, list(queue))
        return taken

    # -- loading ------------------------------------------------------------------------

    def _load(self, connection: Connection, case_id: str, *, lock: bool = False) -> _Loaded:
        row, overrides = repo.load_case_and_overrides(connection, case_id, lock=lock)
        if row is None:
            raise NotFound("case", case_id)
        wf = self.registry.get(row["workflow_id"], row["workflow_version"])
        params = wf.resolve_params(overrides)
        # Only ticks of the current checklist count anywhere: none to read without one.
        current = [dict(t) for t in repo.current_ticks(connection, case_id,
                                                       row["state_entries"])
                   ] if wf.checklist_of(row["state"]) else []
        case_links = [dict(link) for link in repo.links_of(connection, [case_id])]
        return _Loaded(dict(row), wf, params, current, case_links)

    def _load_for_change(self, connection: Connection, case_id: str,
                         expected_version: int | None, *,
                         allow_suspended: bool = False) -> _Loaded:
        loaded = self._load(connection, case_id, lock=True)
        current = loaded.row["version"]
        if expected_version is not None and expected_version != current:
            raise Conflict(case_id, expected_version, current)
        status = loaded.row["status"]
        state = loaded.row["state"]
        if status == "closed" or loaded.wf.states[state].final:
            title = loaded.wf.states[state].spec.title
            raise Refused(decision.refusal(
                "case_closed", {"current_state": state},
                state=(as_text(title, "en", state), as_text(title, "zh", state))))
        if status == "suspended" and not allow_suspended:
            raise Refused(decision.refusal("case_suspended", {"current_state": state}))
        return loaded

    def _params(self, connection: Connection, wf: CompiledWorkflow,
                community: str) -> dict[str, Any]:
        return wf.resolve_params(repo.parameter_overrides(connection, wf.id, community))

    def _checklist_owner(self, loaded: _Loaded, item: str) -> str:
        items = loaded.wf.checklist_of(loaded.row["state"])
        if item not in items:
            state = loaded.row["state"]
            raise Refused(_refusal("checklist_unknown_item",
                                   {"item": item, "items": list(items)}, item=item,
                                   state=state))
        return items[item]

    @staticmethod
    def _priority(loaded: _Loaded, now: datetime) -> float:
        return decision.priority(loaded.wf, loaded.snapshot(), now, loaded.params)

    @staticmethod
    def _handler_role(wf: CompiledWorkflow, actor: Actor, operation: str,
                      state: str) -> str | None:
        """The role under which `actor` may handle cases of `wf` (ticks, links, ...)."""
        if actor.is_system:
            return None
        named = [*wf.spec.roles, *(r for t in wf.transitions for r in t.spec.roles),
                 *DEFAULT_ROLES]
        allowed = list(dict.fromkeys(named))
        for role in [*allowed, *sorted(SUPER_ROLES)]:
            if role in actor.roles:
                return role
        raise Refused(decision.refusal(
            "role_missing", {"required_roles": allowed}, roles=", ".join(allowed),
            trigger=operation, state=state, workflow=wf.id))

    # -- writing ------------------------------------------------------------------------

    def _finish(self, connection: Connection, loaded: _Loaded, event: EventView,
                also: Sequence[str] = ()) -> _Outcome:
        automatic = self._automatic(connection, loaded, self.max_automatic_steps)
        result = FireResult(self._view(loaded), event, automatic)
        seeds = self._cascade_seeds(loaded)
        return _Outcome(result, tuple(dict.fromkeys([*seeds, *also])))

    @staticmethod
    def _cascade_seeds(loaded: _Loaded) -> tuple[str, ...]:
        # Guards see linked cases only through their workflow and state: the others need
        # a look only when this case's state changed.
        if not loaded.state_changed:
            return ()
        return tuple(dict.fromkeys(link["other_case_id"] for link in loaded.links))

    def _automatic(self, connection: Connection, loaded: _Loaded,
                   budget: int) -> list[EventView]:
        taken: list[EventView] = []
        while len(taken) < budget:
            now = self.clock.now()
            step = decision.automatic_step(loaded.wf, loaded.snapshot(), now, loaded.params)
            if step is None:
                return taken
            taken.append(self._apply_transition(connection, loaded, step, now))
        if decision.automatic_step(loaded.wf, loaded.snapshot(), self.clock.now(),
                                   loaded.params) is not None:
            log.warning("case %s: automatic transitions stopped after %d steps "
                        "(max_automatic_steps)", loaded.id, budget)
        return taken

    def _apply_transition(self, connection: Connection, loaded: _Loaded, t: Transition,
                          now: datetime) -> EventView:
        wf = loaded.wf
        seq = loaded.row["event_count"] + 1
        entries = {s: n for s, n in loaded.row["state_entries"].items() if s not in t.exited}
        entries.update(dict.fromkeys(t.entered, seq))
        moved = t.from_state != t.to_state
        values: dict[str, Any] = {
            "state": t.to_state, "data": dict(t.data), "state_entries": entries,
            "title": _title(wf, t.data),
        }
        if moved or t.entered:  # re-entering its own stage is a new entry too
            values["entered_at"] = now
        if t.exited:
            values["overdue"] = False
        if t.final:
            values["status"] = "closed"
            values["outcome"] = t.outcome
        snapshot = CaseSnapshot(state=t.to_state, data=t.data,
                                entered_at=values.get("entered_at", loaded.row["entered_at"]),
                                checklist={}, links=loaded.snapshot().links)
        values["priority"] = decision.priority(wf, snapshot, now, loaded.params)
        event = self._record(connection, loaded, now, body=dict(t.event), values=values)
        # Timer rows are only ever armed for states whose definition (in the case's
        # version: see `migrate_case`) has timers, and leaving a state cancels its own:
        # with no timed state left, there is nothing to cancel.
        if t.final:
            if any(info.spec.timers for info in wf.states.values()):
                repo.cancel_timers(connection, loaded.id)
        else:
            timed = [s for s in t.exited if wf.states[s].spec.timers]
            if timed:
                repo.cancel_timers(connection, loaded.id, timed)
            repo.arm_timers(connection, loaded.id, t.arm, now)
        loaded.ticks = [tick for tick in loaded.ticks
                        if entries.get(tick["state"]) == tick["entry_seq"]]
        loaded.state_changed = loaded.state_changed or moved
        return event

    def _record(self, connection: Connection, loaded: _Loaded, now: datetime, *,
                body: dict[str, Any] | None = None, kind: str = "transition",
                actor: Actor | None = None, role: str | None = None,
                input: Mapping[str, Any] | None = None, comment: str | None = None,
                values: Mapping[str, Any] | None = None) -> EventView:
        """Write one change: the case row (version-checked), then its chained event.

        `body` is a transition's event from the core; other kinds are described by
        `kind`, `actor`, `role`, `input` and `comment` and leave the state as it is.
        """
        row = loaded.row
        version, seq, prev = row["version"], row["event_count"] + 1, row["head_hash"]
        if body is None:
            assert actor is not None
            body = {"kind": kind, "workflow_id": loaded.wf.id,
                    "workflow_version": loaded.wf.version, "trigger": None,
                    "from_state": row["state"], "to_state": row["state"], "actor": actor.id,
                    "role": role, "input": dict(input or {}), "comment": comment,
                    "changes": {}, "at": now}
        body = {**body, "case_id": row["id"], "seq": seq}
        digest, canonical = _chain(prev, body)
        update = {**(values or {}), "version": version + 1, "event_count": seq,
                  "head_hash": digest, "updated_at": now}
        if not repo.update_case(connection, row["id"], version, update):
            current = repo.case_version(connection, row["id"])
            raise Conflict(row["id"], version, current if current is not None else -1)
        event = self._insert_event(connection, body, prev, digest, canonical)
        row.update(update)
        return event

    @staticmethod
    def _insert_event(connection: Connection, body: Mapping[str, Any], prev: str,
                      digest: str, canonical: str | None = None) -> EventView:
        if canonical is None:
            canonical = canonical_json(body).decode("utf-8")
        values = {name: body.get(name) for name in _EVENT_COLUMNS}
        values["input"] = dict(values["input"] or {})
        values["changes"] = dict(values["changes"] or {})
        repo.insert_event(connection, {**values, "prev_hash": prev, "hash": digest,
                                       "body": canonical})
        return _event_view({**values, "prev_hash": prev, "hash": digest})

    # -- views --------------------------------------------------------------------------

    def _view(self, loaded: _Loaded) -> CaseView:
        row = loaded.row
        items = loaded.wf.checklist_of(row["state"])
        ticked = {t["item"]: t for t in loaded.ticks}
        checklist: dict[str, dict[str, Any]] = {}
        for item, owner in items.items():
            tick = ticked.get(item)
            checklist[item] = {
                "state": owner, "ticked": tick is not None,
                "evidence": tick["evidence"] if tick else None,
                "actor": tick["actor"] if tick else None, "at": tick["at"] if tick else None,
            }
        case_links = [{"case_id": link["other_case_id"], "workflow_id": link["workflow_id"],
                       "state": link["state"], "relation": link["relation"],
                       "direction": link["direction"], "community": link.get("community")}
                      for link in loaded.links]
        return CaseView(
            id=row["id"], workflow_id=row["workflow_id"],
            workflow_version=row["workflow_version"], state=row["state"],
            status=row["status"], outcome=row["outcome"], data=dict(row["data"]),
            version=row["version"], community=row["community"], title=row["title"],
            priority=row["priority"], overdue=row["overdue"], entered_at=row["entered_at"],
            created_at=row["created_at"], updated_at=row["updated_at"], checklist=checklist,
            links=case_links, head_hash=row["head_hash"], event_count=row["event_count"],
            assignee=row.get("assignee"), follow_up_on=row.get("follow_up_on"),
        )

    # -- timers ---------------------------------------------------------------------------

    def mark_overdue(self, case_id: str, *, actor: Actor, reason: str | None = None,
                     details: Mapping[str, Any] | None = None, comment: str | None = None,
                     expected_version: int | None = None,
                     idempotency_key: str | None = None) -> FireResult:
        """Flag the case overdue and record an `overdue` event (state and data unchanged).

        The flag shows in case lists (`list_cases(overdue=True)`) until the case leaves its
        state. Timers with action `mark_overdue` do this as `system:timer`; a person with a
        role of the workflow may too.
        """
        return self._flag("overdue", case_id, actor=actor, reason=reason, details=details,
                          comment=comment, expected_version=expected_version,
                          idempotency_key=idempotency_key)

    def escalate(self, case_id: str, *, actor: Actor, reason: str | None = None,
                 details: Mapping[str, Any] | None = None, comment: str | None = None,
                 expected_version: int | None = None,
                 idempotency_key: str | None = None) -> FireResult:
        """Record an `escalation` event on the case (state and data unchanged).

        Other tools follow escalations with `list_escalations`. Timers with action
        `escalate` do this as `system:timer`; a person with a role of the workflow may too.
        """
        return self._flag("escalation", case_id, actor=actor, reason=reason, details=details,
                          comment=comment, expected_version=expected_version,
                          idempotency_key=idempotency_key)

    def fire_timer(self, timer_row_id: int, *, worker_id: str) -> TimerOutcome:
        """Do what a claimed timer says, through the one door, as `system:timer`.

        The timer must be pending and claimed by `worker_id` (see `engine.timers.worker`), else it
        is skipped. Its action (fire the trigger, mark overdue, escalate), its `fired` mark
        and, for a repeating timer, its next occurrence are written in one transaction with
        idempotency key `timer:<id>`, so that a retry can never double it. A refused
        trigger is recorded as the timer's outcome, in a transaction of its own; nothing
        else is written then.
        """
        seen: dict[str, Any] = {}

        def work(connection: Connection) -> _Outcome:
            first = repo.timer_row(connection, timer_row_id)
            if first is None:
                raise NotFound("timer", str(timer_row_id))
            seen["row"] = first
            if not _claimed_by(first, worker_id):
                raise _TimerSkip(_skip_reason(first, worker_id))
            loaded = self._load_for_change(connection, first["case_id"], None)
            # Every change of a case's timers holds the case's lock, taken just now: what
            # is read from here on stays true until commit.
            current = repo.timer_row(connection, timer_row_id)
            if current is None or not _claimed_by(current, worker_id):
                raise _TimerSkip(_skip_reason(current, worker_id))
            plan = _timer_plan(current)
            comment = _timer_comment(current)
            now = self.clock.now()
            if plan.action == "fire":
                decided = decision.decide(loaded.wf, loaded.snapshot(), plan.trigger or "", {},
                                          TIMER_ACTOR, now, loaded.params, comment)
                if isinstance(decided, Refusal):
                    raise Refused(decided)
                event = self._apply_transition(connection, loaded, decided, now)
            else:
                kind = "overdue" if plan.action == "mark_overdue" else "escalation"
                details = {"timer": plan.key, "timer_row": timer_row_id,
                           "due_at": plan.due_at.isoformat()}
                event = self._record_flag(connection, loaded, now, kind, TIMER_ACTOR, None,
                                          None, details, comment)
            result = self._finish(connection, loaded, event)
            seen["next"], note = self._rearm(connection, loaded, timer_row_id, plan, now)
            repo.finish_timer(connection, timer_row_id, now=now, outcome=_timer_outcome_json(
                "fired", event=event, next_due=seen["next"], note=note))
            return result

        try:
            fired = self._change("timer", TIMER_ACTOR, f"timer:{timer_row_id}",
                                 {"timer": timer_row_id}, work)
        except _TimerSkip as skip:
            return _timer_outcome(seen["row"], "skipped", detail=skip.detail)
        except Refused as refused:
            if "row" not in seen:
                raise
            return self._record_timer_refusal(seen["row"], worker_id, refused.refusal)
        if fired.replayed:
            return self._timer_replayed(timer_row_id, fired)
        return _timer_outcome(seen["row"], "fired", event=fired.event, next_due=seen.get("next"))

    def list_timers(self, *, case_id: str | None = None, due_before: datetime | None = None,
                    state: str | None = None, community_prefix: str | None = None,
                    limit: int = 100,
                    cursor: str | None = None) -> tuple[list[TimerView], str | None]:
        """A page of timers, soonest due first, and the cursor of the next page.

        `state` is the timer's status: pending (waiting for its time), claimed (a worker is
        firing it now), paused (its case is suspended), fired or cancelled. `due_before` is
        exclusive; `community_prefix` keeps the timers of cases in a community and under it.
        """
        if state is not None and state not in TIMER_STATES:
            raise Refused(_timer_refusal("invalid_timer_state", {"state": state},
                                         state=state, states=", ".join(TIMER_STATES)))
        limit = min(max(int(limit), 1), MAX_LIMIT)
        with read_connection(self.engine) as connection:
            try:
                rows, following = repo.list_timers(
                    connection, case_id=case_id, due_before=due_before, status=state,
                    community_prefix=community_prefix, now=self.clock.now(), limit=limit,
                    cursor=cursor)
            except repo.CursorError as error:
                raise Refused(_refusal("invalid_cursor", {"cursor": cursor})) from error
        return [_timer_view(row) for row in rows], following

    def next_due(self, case_ids: list[str]) -> dict[str, datetime]:
        """The soonest pending deadline of each case that has one (a work queue's column)."""
        with read_connection(self.engine) as connection:
            return repo.next_due(connection, case_ids[:MAX_LIMIT])

    def escalated(self, case_ids: list[str]) -> set[str]:
        """Those of these cases escalated in their current state (a work queue's badge)."""
        with read_connection(self.engine) as connection:
            return repo.escalated(connection, case_ids[:MAX_LIMIT])

    def list_escalations(self, *, workflow_id: str | None = None,
                         community_prefix: str | None = None, since: datetime | None = None,
                         until: datetime | None = None, limit: int = 100,
                         cursor: str | None = None) -> tuple[list[EventView], str | None]:
        """Escalation events in time order (`since` inclusive, `until` exclusive).

        A follower keeps the last cursor (or the last event's time) and asks again.
        """
        limit = min(max(int(limit), 1), MAX_LIMIT)
        with read_connection(self.engine) as connection:
            try:
                rows, following = repo.list_events_of_kind(
                    connection, "escalation", workflow_id=workflow_id,
                    community_prefix=community_prefix, since=since, until=until,
                    limit=limit, cursor=cursor)
            except repo.CursorError as error:
                raise Refused(_refusal("invalid_cursor", {"cursor": cursor})) from error
        return [_event_view(row) for row in rows], following

    def _flag(self, kind: str, case_id: str, *, actor: Actor, reason: str | None,
              details: Mapping[str, Any] | None, comment: str | None,
              expected_version: int | None, idempotency_key: str | None) -> FireResult:
        operation = "mark_overdue" if kind == "overdue" else "escalate"
        request = {"case_id": case_id, "reason": reason, "details": dict(details or {}),
                   "comment": comment, "expected_version": expected_version}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version)
            role = self._handler_role(loaded.wf, actor, operation, loaded.row["state"])
            event = self._record_flag(connection, loaded, self.clock.now(), kind, actor, role,
                                      reason, details, comment)
            return self._finish(connection, loaded, event)

        return self._change(operation, actor, idempotency_key, request, work)

    def _record_flag(self, connection: Connection, loaded: _Loaded, now: datetime, kind: str,
                     actor: Actor, role: str | None, reason: str | None,
                     details: Mapping[str, Any] | None, comment: str | None) -> EventView:
        """An `overdue` event (which also sets the case's flag) or an `escalation` event."""
        body_input = dict(details or {})
        if reason is not None:
            body_input["reason"] = reason
        return self._record(connection, loaded, now, kind=kind, actor=actor, role=role,
                            input=body_input, comment=comment,
                            values={"overdue": True} if kind == "overdue" else None)

    def _rearm(self, connection: Connection, loaded: _Loaded, timer_row_id: int,
               plan: TimerPlan, now: datetime) -> tuple[datetime | None, str | None]:
        """Arm a repeating timer's next occurrence, while its state is still the case's.

        Returns the next due time, or a note saying why there is none.
        """
        if not plan.repeat:
            return None, None
        current = repo.timer_row(connection, timer_row_id)
        if current is None or current["status"] != "pending":
            return None, "not re-armed: its state was left"
        try:
            following = decision.next_repeat(loaded.wf, plan, loaded.params)
        except (CalendarCoverageError, DurationError, KeyError) as error:
            return None, f"not re-armed: {error}"
        if following is None:
            return None, "not re-armed: the timer is no longer in the definition"
        repo.arm_timers(connection, loaded.id, [following], now)
        return following.due_at, None

    def _record_timer_refusal(self, row: Mapping[str, Any], worker_id: str,
                              refusal: Refusal) -> TimerOutcome:
        """Record a refused trigger as the timer's outcome (the case stays as it is); a
        repeating timer still gets its next occurrence."""
        with write_connection(self.engine) as connection:
            loaded = self._load(connection, row["case_id"], lock=True)
            current = repo.timer_row(connection, row["id"])
            if current is None or not _claimed_by(current, worker_id):
                return _timer_outcome(row, "skipped", detail=_skip_reason(current, worker_id))
            now = self.clock.now()
            following, note = None, None
            if loaded.row["status"] == "active":
                following, note = self._rearm(connection, loaded, row["id"],
                                              _timer_plan(current), now)
            repo.finish_timer(connection, row["id"], now=now, outcome=_timer_outcome_json(
                "refused", refusal=refusal, next_due=following, note=note))
        return _timer_outcome(row, "refused", refusal=refusal, next_due=following)

    def _timer_replayed(self, timer_row_id: int, fired: FireResult) -> TimerOutcome:
        """The key `timer:<id>` was used already: normally by the fire that also marked the
        timer (another worker's, once this one's lease had expired), so there is nothing to
        do. Should the mark be missing, it is added."""
        with write_connection(self.engine) as connection:
            row = repo.timer_row(connection, timer_row_id)
            if row is None:
                raise NotFound("timer", str(timer_row_id))
            self._load(connection, row["case_id"], lock=True)
            row = repo.timer_row(connection, timer_row_id)
            assert row is not None
            if row["status"] != "pending":
                return _timer_outcome(row, "skipped", detail=f"the timer is {row['status']}")
            repo.finish_timer(connection, timer_row_id, now=self.clock.now(),
                              outcome=_timer_outcome_json("fired", event=fired.event))
        return _timer_outcome(row, "fired", event=fired.event, detail="replayed")

    # -- definition versions --------------------------------------------------------------

    def migrate_case(self, case_id: str, to_version: str, *, actor: Actor,
                     expected_version: int | None = None,
                     comment: str | None = None) -> FireResult:
        """Move a running case to `to_version` of its workflow, with a `migration` event.

        `engine.migration.plan_case` decides whether it can move and to which state; when
        it cannot, `Refused` (code `migration_blocked`, every reason in
        `details["problems"]`) and nothing is written. The actor needs the role admin or
        designer. In the same transaction: the case row takes the new version, state and
        data (defaults of new fields filled in); states the case stays in keep their entry
        (checklist ticks, running timers); timers the new version no longer defines are
        cancelled, and states entered afresh arm theirs (paused if the case is
        suspended). Then the automatic transitions of the new version are taken, as after
        any change. Closed cases are not migrated (`case_closed`).
        """
        from engine.core.migration import plan_case
        from engine.timers.calendar import CalendarCoverageError, DurationError

        request = {"case_id": case_id, "to_version": to_version,
                   "expected_version": expected_version, "comment": comment}

        def work(connection: Connection) -> _Outcome:
            loaded = self._load_for_change(connection, case_id, expected_version,
                                           allow_suspended=True)
            row = loaded.row
            old_state, old_entries = row["state"], dict(row["state_entries"])
            role: str | None = None
            if not actor.is_system:
                role = next((r for r in ("admin", "designer") if r in actor.roles), None)
                if role is None:
                    raise Refused(decision.refusal(
                        "role_missing", {"required_roles": ["admin", "designer"]},
                        trigger=("migrate", "迁移"), roles="admin, designer"))
            target = self.registry.get(row["workflow_id"], to_version)
            move = plan_case(row["id"], row["workflow_version"], old_state, row["data"],
                             target)
            if not move.movable or move.to_state is None:
                problems = [p.as_dict() for p in move.problems]
                raise Refused(Refusal(
                    "migration_blocked",
                    f"case {case_id} cannot move to {to_version}: {move.reasons('en')}",
                    f"案件 {case_id} 不能迁移到 {to_version}：{move.reasons('zh')}",
                    {"problems": problems, "to_version": to_version}))
            now = self.clock.now()
            params = self._params(connection, target, row["community"])
            seq = row["event_count"] + 1
            lineage = target.lineage(move.to_state)
            entries = {s: old_entries.get(s, seq) for s in lineage}
            entered = [s for s in reversed(lineage) if s not in old_entries]
            data = dict(move.data)
            changes = {k: data.get(k) for k in sorted({*data, *row["data"]})
                       if data.get(k) != row["data"].get(k)}
            values: dict[str, Any] = {
                "workflow_version": target.version, "state": move.to_state, "data": data,
                "state_entries": entries, "title": _title(target, data),
            }
            if move.to_state not in old_entries:
                values["entered_at"] = now
            snapshot = CaseSnapshot(
                state=move.to_state, data=data,
                entered_at=values.get("entered_at", row["entered_at"]),
                links=loaded.snapshot().links)
            values["priority"] = decision.priority(target, snapshot, now, params)
            try:
                arm = decision.plan_timers(target, entered, data, now, params)
            except (CalendarCoverageError, DurationError, KeyError) as error:
                raise Refused(decision.refusal("calendar_not_covered", {},
                                               error=error)) from error
            body = {
                "kind": "migration", "workflow_id": target.id,
                "workflow_version": target.version, "trigger": None,
                "from_state": old_state, "to_state": move.to_state, "actor": actor.id,
                "role": role, "input": {"from_version": row["workflow_version"],
                                        "to_version": target.version,
                                        "mapped": move.mapped},
                "comment": comment, "changes": changes, "at": now,
            }
            event = self._record(connection, loaded, now, body=body, values=values)
            # Timers stay only where the new version still defines them on a state the
            # case stays in (`_apply_transition` relies on it).
            obsolete = [t["id"] for t in repo.timers_of(connection, case_id)
                        if t["status"] in repo.LIVE_TIMERS
                        and (t["state"] not in entries or t["state"] in entered
                             or t["timer_id"] not in {x.id for x in
                                                      target.states[t["state"]].spec.timers})]
            repo.cancel_timer_rows(connection, obsolete)
            repo.arm_timers(connection, case_id, arm, now)
            if row["status"] == "suspended":
                repo.pause_timers(connection, case_id, now)
            loaded.wf, loaded.params = target, params
            items = target.checklist_of(move.to_state)
            loaded.ticks = [t for t in loaded.ticks
                            if entries.get(t["state"]) == t["entry_seq"] and t["item"] in items]
            loaded.state_changed = loaded.state_changed or move.to_state != old_state
            return self._finish(connection, loaded, event)

        return self._change("migrate", actor, None, request, work)


_EVENT_COLUMNS = ("case_id", "seq", "kind", "workflow_id", "workflow_version", "trigger",
                  "from_state", "to_state", "actor", "role", "input", "changes", "comment",
                  "at")


def _chain(prev: str, body: Mapping[str, Any]) -> tuple[str, str]:
    """`engine.ledger.event_hash(prev, body)` and the canonical text it hashed, which is
    what the event stores as its body: made once instead of twice on every change."""
    canonical = canonical_json(body)
    digest = hashlib.sha256(prev.encode("ascii") + canonical).hexdigest()
    return digest, canonical.decode("utf-8")


def _new_case_id() -> str:
    return secrets.token_hex(8)


def _title(wf: CompiledWorkflow, data: Mapping[str, Any]) -> str | None:
    name = wf.spec.title_field
    value = data.get(name) if name else None
    return None if value is None else str(value)[:400]


def _check_community(community: str) -> str:
    scope = (community or "").strip().strip("/")
    if not _COMMUNITY.fullmatch(scope):
        raise Refused(_refusal("invalid_community", {"community": community},
                               community=community))
    return scope


def _event_view(row: Mapping[Any, Any]) -> EventView:
    return EventView(
        case_id=row["case_id"], seq=row["seq"], kind=row["kind"],
        workflow_id=row["workflow_id"], workflow_version=row["workflow_version"],
        trigger=row["trigger"], from_state=row["from_state"], to_state=row["to_state"],
        actor=row["actor"], role=row["role"], input=dict(row["input"] or {}),
        comment=row["comment"], at=row["at"], prev_hash=row["prev_hash"], hash=row["hash"],
        changes=dict(row["changes"] or {}),
    )


# ---------------------------------------------------------------------------------------
# Idempotency records: results as JSON and back


def _fingerprint(operation: str, actor: Actor, request: Mapping[str, Any]) -> str:
    """What makes two requests "the same" for an idempotency key (stable across runs)."""
    text = json.dumps({"operation": operation, "actor": actor.id, "request": dict(request)},
                      sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _replay(connection: Connection, key: str, fingerprint: str) -> FireResult | None:
    record = repo.find_idempotency(connection, key)
    if record is None:
        return None
    if record["fingerprint"] != fingerprint:
        raise Refused(_refusal("idempotency_key_reused", {"key": key}, key=key))
    return replace(_result_from_json(record["response"]), replayed=True)


def _plain_time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _event_to_json(event: EventView) -> dict[str, Any]:
    return {**event.__dict__, "at": _plain_time(event.at)}


def _event_from_json(raw: Mapping[str, Any]) -> EventView:
    return EventView(**{**raw, "at": _time(raw["at"])})


def _result_to_json(result: FireResult) -> dict[str, Any]:
    case = result.case
    plain_case = {
        **case.__dict__,
        "entered_at": _plain_time(case.entered_at),
        "created_at": _plain_time(case.created_at),
        "updated_at": _plain_time(case.updated_at),
        "follow_up_on": case.follow_up_on.isoformat() if case.follow_up_on else None,
        "checklist": {item: {**entry, "at": _plain_time(entry["at"])}
                      for item, entry in case.checklist.items()},
    }
    return {"case": plain_case, "event": _event_to_json(result.event),
            "automatic": [_event_to_json(e) for e in result.automatic]}


def _result_from_json(raw: Mapping[str, Any]) -> FireResult:
    plain = raw["case"]
    case = CaseView(**{
        **plain,
        "entered_at": _time(plain["entered_at"]),
        "created_at": _time(plain["created_at"]),
        "updated_at": _time(plain["updated_at"]),
        "follow_up_on": (date.fromisoformat(plain["follow_up_on"])
                         if plain.get("follow_up_on") else None),
        "checklist": {item: {**entry, "at": _time(entry["at"])}
                      for item, entry in plain["checklist"].items()},
    })
    return FireResult(case, _event_from_json(raw["event"]),
                      [_event_from_json(e) for e in raw["automatic"]])


# ---------------------------------------------------------------------------------------
# Assembly


def build_service(settings: Settings, clock: Clock | None = None, *,
                  max_automatic_steps: int = 20) -> CaseService:
    """The service on the configured database: engine made, schema upgraded to the
    newest migration, shipped workflows registered (a new version only when changed)."""
    engine = service_engine(settings)
    clock = clock or SystemClock()
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
        if after != before:
            record_operation(engine, actor="system:start", action="schema_upgrade",
                             at=clock.now(), target=after,
                             detail={"from": before, "to": after})
        attach_service_key(engine, settings.chain_key, settings.data_dir)
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


# ---------------------------------------------------------------------------------------
# Timers: what callers see, and helpers of `CaseService.fire_timer`

TIMER_ACTOR = Actor("system:timer")
TIMER_STATES = ("pending", "claimed", "paused", "fired", "cancelled")
_TIMER_REFUSALS: dict[str, tuple[str, str]] = {
    "invalid_timer_state": ("'{state}' is not a timer state: use one of {states}",
                            "“{state}”不是计时器状态，可选：{states}"),
}
__all__ += ["TIMER_ACTOR", "TimerOutcome", "TimerView"]


@dataclass(frozen=True)
class TimerView:
    """One timer as stored; `outcome` is what its firing did (`result`: fired or
    refused; for fired: the event's `kind`, `seq`, `trigger`, `to_state`; for refused:
    the refusal's `code`, `en`, `zh`; `next_due` when a repeating timer was re-armed;
    `note` when it was not)."""

    id: int
    case_id: str
    state: str
    timer_id: str
    due_at: datetime
    action: str
    trigger: str | None
    repeat: bool
    status: str
    remaining_seconds: float | None
    claimed_by: str | None
    claimed_until: datetime | None
    fired_at: datetime | None
    outcome: dict[str, Any] | None
    created_at: datetime

    @property
    def key(self) -> str:
        """`state:timer_id`, as the definition names it."""
        return f"{self.state}:{self.timer_id}"


@dataclass(frozen=True)
class TimerOutcome:
    """What firing one claimed timer came to.

    `result` is `fired` (the action was done; `event` is its event), `refused` (the
    trigger was refused; `refusal` says why; recorded on the timer, nothing else
    written), `skipped` (nothing to do: the timer was cancelled, paused or fired already,
    or its lease was taken over by another worker; `detail` says which) or `failed` (an
    error, in `detail`; the claim stays, and the timer is fired by whichever worker claims
    it after the lease expires). `next_due` is a repeating timer's next occurrence.
    """

    timer: int
    case_id: str
    key: str
    action: str
    result: Literal["fired", "refused", "skipped", "failed"]
    event: EventView | None = None
    refusal: Refusal | None = None
    next_due: datetime | None = None
    detail: str | None = None


class _TimerSkip(Exception):
    """Raised inside a timer's transaction to roll it back: nothing to do."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _timer_refusal(code: str, details: Mapping[str, Any], **args: Any) -> Refusal:
    en, zh = _TIMER_REFUSALS[code]
    return Refusal(code, en.format(**args), zh.format(**args), dict(details))


def _claimed_by(row: Mapping[Any, Any], worker_id: str) -> bool:
    return bool(row["status"] == "pending" and row["claimed_by"] == worker_id)


def _skip_reason(row: Mapping[Any, Any] | None, worker_id: str) -> str:
    if row is None:
        return "the timer no longer exists"
    if row["status"] != "pending":
        return f"the timer is {row['status']}"
    return f"the claim belongs to {row['claimed_by']}, not {worker_id}"


def _timer_plan(row: Mapping[Any, Any]) -> TimerPlan:
    return TimerPlan(row["state"], row["timer_id"], row["due_at"], row["action"],
                     row["trigger"], row["repeat"])


def _timer_comment(row: Mapping[Any, Any]) -> str:
    """The comment of a timer's event: which timer, which row, due when."""
    due = row["due_at"].isoformat(timespec="seconds")
    return f"timer {row['state']}:{row['timer_id']} #{row['id']}, due {due}"


def _timer_outcome(row: Mapping[Any, Any], result: Literal["fired", "refused", "skipped"],
                   **extra: Any) -> TimerOutcome:
    return TimerOutcome(timer=row["id"], case_id=row["case_id"],
                        key=f"{row['state']}:{row['timer_id']}", action=row["action"],
                        result=result, **extra)


def _timer_outcome_json(result: str, *, event: EventView | None = None,
                        refusal: Refusal | None = None, next_due: datetime | None = None,
                        note: str | None = None) -> str:
    """A timer's stored outcome: JSON text, shaped as `TimerView.outcome`."""
    plain: dict[str, Any] = {"result": result}
    if event is not None:
        plain.update(kind=event.kind, seq=event.seq, trigger=event.trigger,
                     to_state=event.to_state)
    if refusal is not None:
        plain.update(code=refusal.code, en=refusal.en, zh=refusal.zh)
    if next_due is not None:
        plain["next_due"] = next_due.isoformat()
    if note is not None:
        plain["note"] = note
    return json.dumps(plain, ensure_ascii=False, sort_keys=True)


def _timer_view(row: Mapping[Any, Any]) -> TimerView:
    outcome = None
    if row["outcome"]:
        try:
            outcome = json.loads(row["outcome"])
        except ValueError:
            outcome = {"result": "unknown", "text": row["outcome"]}
    return TimerView(
        id=row["id"], case_id=row["case_id"], state=row["state"], timer_id=row["timer_id"],
        due_at=row["due_at"], action=row["action"], trigger=row["trigger"],
        repeat=row["repeat"], status=row["status"],
        remaining_seconds=row["remaining_seconds"], claimed_by=row["claimed_by"],
        claimed_until=row["claimed_until"], fired_at=row["fired_at"], outcome=outcome,
        created_at=row["created_at"])
