"""A change of a case as data: what the core decided, for the shell to write.

Every operation of the core (`engine.core.operations`, `engine.core.decision`,
`engine.core.migration`) returns a `Change` or a `Refusal`; none executes anything. The
door (`engine.service.door`) writes a change the same way whatever made it: the case row
(`values`, version-checked), the event (`event`, chained to the case's head), then each
effect in order. `moved` says the case's state changed, so linked cases whose guards
count it may now decide differently; `also` names cases to re-evaluate regardless (a
link made or removed changes what both sides count).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.core.snapshot import LinkedCase, TimerPlan

if TYPE_CHECKING:
    from engine.core.compiler import CompiledWorkflow

__all__ = [
    "AddLink", "AddTick", "ArmTimers", "CancelTimers", "Change", "Effect", "KeepTimers",
    "PauseTimers", "Record", "RemoveLink", "RemoveTick", "ResumeTimers",
]


@dataclass(frozen=True)
class ArmTimers:
    """Arm these timers (pending from now)."""

    plans: tuple[TimerPlan, ...]


@dataclass(frozen=True)
class CancelTimers:
    """Cancel the live timers owned by `states`; every live timer of the case when None."""

    states: tuple[str, ...] | None = None


@dataclass(frozen=True)
class KeepTimers:
    """Cancel every live timer except those named `(state, timer_id)` in `keep`."""

    keep: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class PauseTimers:
    """Pending timers stop, remembering the time they had left."""


@dataclass(frozen=True)
class ResumeTimers:
    """Paused timers run again for the time they had left."""


@dataclass(frozen=True)
class AddTick:
    """Record a checklist item ticked during the current entry of `state`."""

    state: str
    entry_seq: int
    item: str
    evidence: str | None
    actor: str


@dataclass(frozen=True)
class RemoveTick:
    """Take back the current entry's tick of `item` (the history keeps both events)."""

    item: str


@dataclass(frozen=True)
class AddLink:
    """Link the case to `other` (made from this side)."""

    other: LinkedCase


@dataclass(frozen=True)
class RemoveLink:
    """Remove the link between the case and `other_case_id` (made from either side)."""

    other_case_id: str


@dataclass(frozen=True)
class Record:
    """An entry of the operations log about this case (auditors list such actions across
    cases there), written with the change."""

    action: str
    actor: str
    detail: Mapping[str, Any]


Effect = (ArmTimers | CancelTimers | KeepTimers | PauseTimers | ResumeTimers | AddTick
          | RemoveTick | AddLink | RemoveLink | Record)


@dataclass(frozen=True)
class Change:
    """One change of a case: the row's new values, the event, and the effects.

    `event` is the event's body without `case_id` and `seq` (the shell numbers it);
    `values` are the case row's columns that change (besides version, event count, head
    hash and update time, which every change moves). `workflow` and `params` are set when
    the case moves to another version of its workflow.
    """

    event: Mapping[str, Any]
    values: Mapping[str, Any]
    effects: tuple[Effect, ...] = ()
    moved: bool = False
    also: tuple[str, ...] = ()
    workflow: CompiledWorkflow | None = None
    params: Mapping[str, Any] | None = None
