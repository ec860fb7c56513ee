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
    (`{"name", "children", "initial"}` for a stage), `edges` use state paths."""
    return _Machine(
        model=None, states=config, initial=initial, auto_transitions=False,
        transitions=[{"trigger": e.trigger, "source": list(e.sources), "dest": e.dest}
                     for e in edges],
    )


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


def structure(machine: Any, edges: Sequence[Edge[E]]) -> Structure[E]:
    """Ask the machine every structural question once (see the module's docstring)."""
    path: dict[str, str] = {}
    lineage: dict[str, tuple[str, ...]] = {}
    leaf: dict[str, str] = {}
    leaves: dict[str, tuple[str, ...]] = {}

    def walk(states: Mapping[str, Any], above: tuple[str, ...], prefix: str) -> list[str]:
        below: list[str] = []
        for name, state in states.items():
            path[name] = f"{prefix}{name}"
            lineage[name] = (name, *above)
            found = walk(state.states, lineage[name], f"{path[name]}{SEPARATOR}")
            leaves[name] = tuple(sorted(found)) if found else (name,)
            below += leaves[name]
            entered = state
            while entered.initial:
                entered = entered.states[entered.initial]
            leaf[name] = entered.name
        return below

    walk(machine.states, (), "")
    items: dict[tuple[str, str, str], list[E]] = {}
    for e in edges:
        for source in e.sources:
            items.setdefault((e.trigger, source, e.dest), []).append(e.item)
    # each state's own candidates, per trigger, in the machine's order: asked once per
    # state, then each state's table is its own and its ancestors', innermost first
    own: dict[str, dict[str, list[E]]] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            mine: list[E] = own.setdefault(source, {}).setdefault(trigger, [])
            for edge in transitions:
                for item in items.get((trigger, source, edge.dest), ()):
                    if all(item is not other for other in mine):
                        mine.append(item)
    table: dict[tuple[str, str], tuple[E, ...]] = {}
    for name in path:
        above = [own[p] for s in lineage[name] if (p := path[s]) in own]
        if len(above) == 1:
            for trigger, mine in above[0].items():
                if mine:
                    table[(name, trigger)] = (*mine,)
            continue
        for trigger in dict.fromkeys(t for candidates in above for t in candidates):
            found: list[E] = []
            for candidates in above:
                for item in candidates.get(trigger, ()):
                    if all(item is not other for other in found):
                        found.append(item)
            if found:
                table[(name, trigger)] = (*found,)
    return Structure(machine, path, lineage, leaf, leaves, table)
