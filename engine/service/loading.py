"""Loading a case inside a transaction: the row (locked for a change: BEGIN IMMEDIATE on
SQLite, FOR NO KEY UPDATE on PostgreSQL), its workflow version and parameters, the
checklist ticks of its current state entries and its links; the snapshot the core
decides over; the view callers see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.core.compiler import CompiledWorkflow
from engine.core.snapshot import CaseSnapshot, LinkedCase, made
from engine.definitions.registry import WorkflowRegistry
from engine.errors import Conflict, DefinitionError, NotFound
from engine.service.views import CaseView, built
from engine.store import repository as repo

__all__ = ["Loaded", "check_version", "enclosing", "links_of", "load", "view"]


@dataclass
class Loaded:
    """A case as read in the current transaction, kept up to date as changes are written."""

    row: dict[str, Any]
    wf: CompiledWorkflow
    params: dict[str, Any]
    ticks: list[dict[str, Any]]
    links: list[dict[str, Any]]
    state_changed: bool = False
    next_due: datetime | None = None
    """The soonest pending timer's due time, as the door's writes left it."""
    next_due_known: bool = True
    """False when a write may have moved `next_due` in a way only the timers can tell."""
    stored_next_due: datetime | None = None
    """What the case row's `next_due` column holds (`engine.service.deadlines`)."""

    @property
    def id(self) -> str:
        return str(self.row["id"])

    def snapshot(self) -> CaseSnapshot:
        """The case as the core decides over it (made once or twice per change: without
        the frozen `__init__`, `engine.core.snapshot.made`)."""
        row = self.row
        links = self.links
        return made(
            CaseSnapshot, state=row["state"], data=row["data"], entered_at=row["entered_at"],
            checklist={t["item"]: True for t in self.ticks} if self.ticks else {},
            links=tuple(LinkedCase(link["other_case_id"], link["workflow_id"], link["state"],
                                   link["relation"], tuple(link.get("within", ())))
                        for link in links) if links else (),
            status=row["status"], entries=row["state_entries"], events=row["event_count"],
        )


def load(connection: Connection, registry: WorkflowRegistry, case_id: str, *,
         lock: bool = False) -> Loaded:
    row, overrides, has_links = repo.load_for_change(connection, case_id, lock=lock)
    if row is None:
        raise NotFound("case", case_id)
    wf = registry.get(row["workflow_id"], row["workflow_version"])
    params = wf.resolve_params(overrides)
    # Only ticks of the current checklist count anywhere: none to read without one.
    current = [dict(t) for t in repo.current_ticks(connection, case_id,
                                                   row["state_entries"])
               ] if wf.checklist_of(row["state"]) else []
    # `has_links` is also True when the locking statement waited for a change that
    # committed meanwhile (on PostgreSQL its subqueries saw the snapshot from before the
    # wait): the links are then read again, after the lock.
    case_links = links_of(connection, registry, case_id) if has_links else []
    next_due = row.pop("next_due", None)  # the row is a dict of its own (`Direct.rows`)
    return Loaded(row, wf, params, current, case_links, next_due=next_due,
                  stored_next_due=next_due)


def links_of(connection: Connection, registry: WorkflowRegistry,
             case_id: str) -> list[dict[str, Any]]:
    """The case's links, each with the stages enclosing the other case's state (`within`):
    `linked("member_development", "probation_stage")` counts a member in any step of it."""
    return [{**link, "within": enclosing(registry, link["workflow_id"],
                                         link["workflow_version"], link["state"])}
            for link in repo.links_of(connection, [case_id])]


def enclosing(registry: WorkflowRegistry, workflow_id: str, version: str,
              state: str) -> tuple[str, ...]:
    """The stages enclosing `state` in that version of the workflow, innermost first;
    none when the version or the state is unknown (a guard then counts the step alone)."""
    try:
        info = registry.get(workflow_id, version).states.get(state)
    except (NotFound, DefinitionError):
        return ()
    return info.lineage[1:] if info is not None else ()


def check_version(loaded: Loaded, expected_version: int | None) -> None:
    """`Conflict` naming the current version when the caller read another one."""
    current = loaded.row["version"]
    if expected_version is not None and expected_version != current:
        raise Conflict(loaded.id, expected_version, current)


def view(loaded: Loaded) -> CaseView:
    row = loaded.row
    items = loaded.wf.checklist_of(row["state"])
    checklist: dict[str, dict[str, Any]] = {}
    if items:
        ticked = {t["item"]: t for t in loaded.ticks}
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
                  for link in loaded.links] if loaded.links else []
    return built(CaseView, {
        "id": row["id"], "workflow_id": row["workflow_id"],
        "workflow_version": row["workflow_version"], "state": row["state"],
        "status": row["status"], "outcome": row["outcome"], "data": dict(row["data"]),
        "version": row["version"], "community": row["community"], "title": row["title"],
        "priority": row["priority"], "overdue": row["overdue"],
        "entered_at": row["entered_at"], "created_at": row["created_at"],
        "updated_at": row["updated_at"], "checklist": checklist, "links": case_links,
        "head_hash": row["head_hash"], "event_count": row["event_count"],
        "assignee": row.get("assignee"), "follow_up_on": row.get("follow_up_on"),
        "escalated_at": None,
    })
