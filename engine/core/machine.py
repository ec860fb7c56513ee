"""The shared hierarchical machine and the structural questions it answers: the only module
that imports `transitions`.

A workflow version is compiled once into a `HierarchicalMachine(model=None)` shared by
every case and every thread; no machine is built per case or per request (measured with
transitions 0.9.3: a machine per object costs 0.25-1 ms and 20-74 KiB, and `add_model`
is O(n)). The machine is the authority on structure, and it is asked once, when the
version is compiled:

- where each state sits (its path: the state and the stages around it);
- which step a case rests in when it enters a stage (each composite's `initial`, all the
  way down);
- which transitions a nested state takes, its ancestors' included, innermost first
  (`get_triggers` and each event's transitions by source);
- which states a transition exits and enters (the machine's own resolution of a
  transition from a source configuration, asked once per pair, the first time).

The answers are kept in flat tables (`Structure`), so deciding a transition is a few
dictionary reads and nothing at run time mutates the machine. The state tree of a
definition that is not compiled yet (the linter's, the diagram's) is
`engine.language.tree`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from transitions.extensions.nesting import (
    HierarchicalMachine,
    NestedEventData,
    NestedState,
    NestedTransition,
)

SEPARATOR = "."
E = TypeVar("E")
Move = tuple[tuple[str, ...], tuple[str, ...]]


class _State(NestedState):
    """Nested states addressed as `parent.child` (designers' ids contain underscores)."""

    separator = SEPARATOR


class _Machine(HierarchicalMachine):
    state_cls = _State


@dataclass(frozen=True)
class Edge(Generic[E]):
    """One declared transition as the machine holds it: `item` is the caller's object
    (the compiled transition) handed back as a candidate."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    item: E


def build_machine(config: list[Any], initial: str, edges: Sequence[Edge[Any]]) -> Any:
    """The shared machine of one version: `config` is the nested state configuration
    (`{"name", "children", "initial"}` for a stage), `edges` use state paths.

    The transitions are added as `Machine.add_transition` adds them to a machine without
    models (one event per trigger, one transition per source, in order), by the machine's
    own factories, without its per-call checks for wildcards, enums and `State` objects,
    which named paths never are: 600 transitions cost 21 M instructions through
    `add_transitions`, 8 M here."""
    machine = _Machine(model=None, states=config, initial=initial, auto_transitions=False)
    events = machine.events
    for e in edges:
        event = events.get(e.trigger)
        if event is None:
            if e.trigger == machine.model_attribute:  # as add_transition refuses it
                raise ValueError("Trigger name cannot be same as model attribute name.")
            event = events[e.trigger] = machine._create_event(e.trigger, machine)
        for source in e.sources:
            event.add_transition(machine._create_transition(source, e.dest))
    return machine


@dataclass
class _Probe:
    """A stand-in model: the machine resolves a transition from a model's state."""

    state: str


@dataclass(frozen=True)
class Structure(Generic[E]):
    """What the machine says about one version, by state id (ids are unique)."""

    machine: Any
    path: Mapping[str, str]
    lineage: Mapping[str, tuple[str, ...]]
    """The state and its ancestors, innermost first."""
    leaf: Mapping[str, str]
    """The step a case rests in when it enters the state."""
    leaves: Mapping[str, tuple[str, ...]]
    """Every step a case in the state may rest in, sorted."""
    table: Mapping[tuple[str, str], tuple[E, ...]]
    """(state, trigger) -> the transitions that may leave it, in the order they are tried."""
    moves: dict[tuple[str, str], Move] = field(default_factory=dict)
    """(leaf, declared target) -> (states exited, states entered), filled as asked."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def move(self, source: str, to: str) -> Move:
        """States exited and entered when a transition declared `-> to` fires in `source`.

        Each pair is resolved by the machine the first time it is asked, under a lock
        (resolving scopes the shared machine), and read from the table ever after:
        resolving all of a large workflow's pairs up front would cost more than compiling
        the rest of it (about 25 us a pair, hundreds of pairs), most of them never used."""
        found = self.moves.get((source, to))
        if found is None:
            with self._lock:
                found = self.moves.setdefault((source, to), self._resolve(source, to))
        return found

    def _resolve(self, source: str, to: str) -> Move:
        if source == to:
            return (), ()  # back to the same step: internal, nothing is left or entered
        machine = self.machine
        probe = _Probe(self.path[source])
        event = next(iter(machine.events.values()), None)
        data = NestedEventData(machine.get_state(probe.state), event, machine, probe, (), {})
        _, exits, entries = NestedTransition(probe.state, self.path[to])._resolve_transition(data)
        # each is a partial of a state's scoped exit/enter: the state is the partial's owner
        return (tuple(_owner(p) for p in exits), tuple(_owner(p) for p in entries))


def _owner(scoped: Any) -> str:
    return str(scoped.func.__self__.name)


@dataclass
class _Shape:
    """Where each state of the machine sits, found by one walk of its state tree (an
    object, not a recursive closure, which would be a reference cycle)."""

    path: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, tuple[str, ...]] = field(default_factory=dict)
    leaf: dict[str, str] = field(default_factory=dict)
    leaves: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def walk(self, states: Mapping[str, Any], above: tuple[str, ...], prefix: str
             ) -> list[str]:
        """Note `states` and those below; every step below them."""
        below: list[str] = []
        for name, state in states.items():
            path = self.path[name] = f"{prefix}{name}"
            lineage = self.lineage[name] = (name, *above)
            found = self.walk(state.states, lineage, f"{path}{SEPARATOR}")
            leaves = self.leaves[name] = tuple(sorted(found)) if found else (name,)
            below += leaves
            entered = state
            while entered.initial:
                entered = entered.states[entered.initial]
            self.leaf[name] = entered.name
        return below


def structure(machine: Any, edges: Sequence[Edge[E]]) -> Structure[E]:
    """Ask the machine every structural question once (see the module's docstring)."""
    shape = _Shape()
    shape.walk(machine.states, (), "")
    path, lineage = shape.path, shape.lineage
    items: dict[tuple[str, str, str], list[E]] = {}
    for e in edges:
        for source in e.sources:
            bucket = items.setdefault((e.trigger, source, e.dest), [])
            if not bucket or bucket[-1] is not e.item:  # a source named twice: one candidate
                bucket.append(e.item)
    # each state's own candidates, per trigger, in the machine's order: asked once per
    # state, then each state's table is its own and its ancestors', innermost first. An
    # item has one destination, so the first transition to a destination brings all of
    # that destination's items, and a later one to the same destination nothing new.
    own: dict[str, dict[str, list[E]]] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            mine: list[E] = own.setdefault(source, {}).setdefault(trigger, [])
            reached: set[str] = set()
            for edge in transitions:
                if edge.dest not in reached:
                    reached.add(edge.dest)
                    mine += items.get((trigger, source, edge.dest), ())
    table: dict[tuple[str, str], tuple[E, ...]] = {}
    for name in path:
        above = [own[p] for s in lineage[name] if (p := path[s]) in own]
        if len(above) == 1:
            for trigger, mine in above[0].items():
                if mine:
                    table[(name, trigger)] = (*mine,)
            continue
        merged: dict[str, list[E]] = {}
        for candidates in above:
            for trigger, mine in candidates.items():
                found = merged.get(trigger)
                if found is None:
                    merged[trigger] = list(mine)
                    continue
                known = {id(item) for item in found}  # named by a state and its ancestor
                found += (item for item in mine if id(item) not in known)
        for trigger, found in merged.items():
            if found:
                table[(name, trigger)] = (*found,)
    return Structure(machine, path, lineage, shape.leaf, shape.leaves, table)
