"""Spec -> compiled workflow: the only module that imports `transitions`.

A workflow version is compiled once into a `HierarchicalMachine(model=None)` shared by
every case and every thread; no machine is built per case or per request (measured with
transitions 0.9.3: a machine per object costs 0.25-1 ms and 20-74 KiB, and `add_model`
is O(n)). The machine is the authority on structure: which transitions leave which
state, how nested states inherit their parent's transitions, which child a composite
enters. From it the compiler derives flat, read-only lookup tables so that deciding a
transition is a few dictionary reads, and nothing at run time mutates the machine.

Compilation assumes a spec that `engine.language.lint` found free of errors; `compile_workflow`
raises `DefinitionError` otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from transitions.extensions.nesting import HierarchicalMachine, NestedState

from engine.errors import DefinitionError
from engine.language.expressions import CompiledExpression, Scope, compile_expression
from engine.language.spec import (
    FieldSpec,
    Label,
    StateSpec,
    TimerSpec,
    TransitionSpec,
    WorkflowSpec,
)
from engine.language.texts import Values, fill, shown
from engine.language.tree import tree_of

ANY = "any"
_PARAM_TYPES: dict[str, type | tuple[type, ...]] = {
    "integer": int, "number": (int, float), "boolean": bool, "string": str, "duration": str,
}


class _State(NestedState):
    """Nested states addressed as `parent.child` (designers' ids contain underscores)."""

    separator = "."


class _Machine(HierarchicalMachine):
    state_cls = _State


@dataclass(frozen=True)
class StateInfo:
    """One state, flattened: where it sits in the tree and what it carries.

    `lineage` (the state and its ancestors, innermost first), `leaf` (the step a case
    rests in on entering it) and `leaves` (every step a case in it may rest in) are
    answered once, when the workflow is compiled (`engine.language.tree`).
    """

    id: str
    path: str
    spec: StateSpec
    parent: str | None
    children: tuple[str, ...]
    lineage: tuple[str, ...] = ()
    leaf: str = ""
    leaves: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.spec.final


@dataclass(frozen=True)
class CompiledCondition:
    """One condition of a transition: its compiled guard and its own refusal text."""

    guard: CompiledExpression
    refusal: Label | None
    reads_input: bool


@dataclass(frozen=True)
class CompiledTransition:
    """A transition with its expressions compiled; `index` is its place in the YAML.

    `conditions` holds the `guard` (first) and every entry of `conditions`, in order.
    """

    index: int
    spec: TransitionSpec
    guard: CompiledExpression | None
    effects: Mapping[str, CompiledExpression]
    conditions: tuple[CompiledCondition, ...] = ()

    @property
    def trigger(self) -> str:
        return self.spec.trigger

    @cached_property
    def names(self) -> frozenset[str]:
        """What the conditions and effects read from the environment (only these are
        converted for CEL when the transition is decided)."""
        found: frozenset[str] = frozenset()
        for expression in (*(c.guard for c in self.conditions), *self.effects.values()):
            found |= expression.names
        return found

    def before_input(self) -> CompiledTransition:
        """This transition as far as it can be judged before its input is given: without
        the conditions that read `input`, and without effects (for "what may I do next")."""
        kept = tuple(c for c in self.conditions if not c.reads_input)
        return replace(self, conditions=kept, effects={})


@dataclass(frozen=True)
class CompiledWorkflow:
    """An immutable, thread-safe compiled workflow version."""

    spec: WorkflowSpec
    content_hash: str
    machine: Any
    states: Mapping[str, StateInfo]
    transitions: tuple[CompiledTransition, ...]
    table: Mapping[tuple[str, str], tuple[CompiledTransition, ...]]
    automatic: Mapping[str, tuple[CompiledTransition, ...]]
    initial: str
    priority: CompiledExpression | None
    param_defaults: Mapping[str, Any] = field(default_factory=dict)
    triggers: tuple[str, ...] = ()
    trigger_titles: Mapping[str, Label | None] = field(default_factory=dict)
    """Every trigger, in the order the definition first names it -> its first title."""
    exits: Mapping[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict)
    """(leaf, declared target) -> (states exited, states entered), for every transition."""

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def fields(self) -> Mapping[str, FieldSpec]:
        return self.spec.fields

    def leaf(self, state_id: str) -> str:
        """The state a case actually rests in when entering `state_id` (initial children)."""
        return self.states[state_id].leaf

    def lineage(self, state_id: str) -> list[str]:
        """`state_id` and its ancestors, innermost first."""
        return list(self.states[state_id].lineage)

    def leaves(self, state_id: str) -> tuple[str, ...]:
        """Every state a case in `state_id` may rest in (itself, or its steps), sorted."""
        return self.states[state_id].leaves

    def moves(self, source: str, to: str) -> tuple[list[str], list[str]]:
        """States exited and entered when a transition to `to` fires in leaf `source`.

        A transition back to the same leaf is internal: nothing is exited or entered. A
        transition from a step to its own enclosing stage leaves and re-enters that stage
        (the case restarts at the stage's first step), as a hierarchical machine does.
        Answered from the tables built at compile time for every transition that applies
        in `source`.
        """
        found = self.exits.get((source, to))
        if found is None:
            found = _move(self.states, source, to)
        return list(found[0]), list(found[1])

    def candidates(self, state_id: str, trigger: str) -> tuple[CompiledTransition, ...]:
        """Transitions of `trigger` that may leave `state_id`, in the order they are tried."""
        return self.table.get((state_id, trigger), ())

    def timers_of(self, state_id: str) -> list[tuple[str, TimerSpec]]:
        """Timers armed while a case rests in `state_id` (its own and its ancestors')."""
        return [(s, t) for s in self.lineage(state_id) for t in self.states[s].spec.timers]

    def checklist_of(self, state_id: str) -> dict[str, str]:
        """Checklist items of `state_id` and its ancestors: item -> owning state."""
        return {i: s for s in self.lineage(state_id) for i in self.states[s].spec.checklist}

    def text(self, label: Label | None, lang: str, default: str = "",
             params: Mapping[str, Any] | None = None,
             data: Mapping[str, Any] | None = None) -> str:
        """A title or description of this workflow as a person reads it in `lang`, its
        placeholders filled from `params` (default: the parameters' defaults) and `data`."""
        values = Values(fields=self.spec.fields, parameters=self.spec.parameters,
                        params=self.param_defaults if params is None else params,
                        data=data or {}, input_fields={}, input={})
        return fill(label, lang, values, default)

    def value_title(self, field: str, value: Any, lang: str) -> str:
        """A stored value of `field` as a person reads it (enum values by their titles)."""
        return shown(self.spec.fields.get(field), value, lang)

    def resolve_params(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Parameter values after overrides; unknown or mistyped overrides raise."""
        values = dict(self.param_defaults)
        for name, value in (overrides or {}).items():
            spec = self.spec.parameters.get(name)
            if spec is None:
                raise DefinitionError(f"unknown parameter '{name}' in overrides")
            expected = _PARAM_TYPES[spec.type]
            if not isinstance(value, expected) or (spec.type != "boolean"
                                                   and isinstance(value, bool)):
                raise DefinitionError(f"parameter '{name}' must be of type {spec.type}")
            if spec.values is not None and value not in spec.values:
                raise DefinitionError(
                    f"parameter '{name}' must be one of: {', '.join(spec.values)}")
            values[name] = value
        return values


def content_hash(source: str) -> str:
    """The identity of a definition's text: a new version is registered only if it changes."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _flatten(states: Mapping[str, StateSpec], parent: str | None, prefix: str,
             out: dict[str, StateInfo]) -> list[Any]:
    """Flatten nested states into `out` and return the machine's state configuration."""
    config: list[Any] = []
    for sid, spec in states.items():
        path = f"{prefix}{sid}"
        out[sid] = StateInfo(sid, path, spec, parent, tuple(spec.states))
        if spec.states:
            initial = next((c for c, s in spec.states.items() if s.initial), None)
            children = _flatten(spec.states, sid, f"{path}.", out)
            config.append({"name": sid, "children": children, "initial": initial})
        else:
            config.append(sid)
    return config


def scope_of(spec: WorkflowSpec, transition: TransitionSpec | None = None,
             sources: list[str] | None = None, checklist: set[str] | None = None) -> Scope:
    """The names an expression of `spec` may use (with a transition's input, if given)."""
    return Scope(
        data=frozenset(spec.fields),
        params=frozenset(spec.parameters),
        input=frozenset(transition.input) if transition is not None else None,
        checklist=frozenset(checklist or ()) if sources is not None else None,
    )


def _sources(spec: TransitionSpec, top_open: list[str]) -> list[str]:
    """A transition's source states, `any` expanded to every top-level non-final state."""
    sources = spec.sources
    return list(top_open) if sources == [ANY] else sources


def _compile_transition(index: int, spec: WorkflowSpec, t: TransitionSpec,
                        states: Mapping[str, StateInfo], top_open: list[str]
                        ) -> CompiledTransition:
    sources = _sources(t, top_open)
    items = {i for s in sources if s in states for i in _checklist_items(states, s)}
    scope = scope_of(spec, t, sources=sources, checklist=items)
    guard = compile_expression(t.guard, scope) if t.guard else None
    effects = {name: compile_expression(expr, scope) for name, expr in t.effects.items()}
    conditions = [CompiledCondition(guard, t.refusal, _reads_input(guard))] if guard else []
    for c in t.conditions:
        compiled = compile_expression(c.guard, scope)
        conditions.append(CompiledCondition(compiled, c.refusal, _reads_input(compiled)))
    return CompiledTransition(index, t, guard, effects, tuple(conditions))


def _reads_input(expression: CompiledExpression) -> bool:
    return "input" in expression.program.variables()


def _checklist_items(states: Mapping[str, StateInfo], state_id: str) -> set[str]:
    """Checklist items visible from `state_id` and all states nested inside it."""
    info = states[state_id]
    items = set(info.spec.checklist)
    for child in info.children:
        items |= _checklist_items(states, child)
    return items


def _tree(spec: WorkflowSpec, states: dict[str, StateInfo]) -> None:
    """Store each state's lineage, leaf and leaves (answered once, here)."""
    tree = tree_of(spec.states)
    for sid, info in list(states.items()):
        states[sid] = replace(info, lineage=tuple(tree.lineage(sid)), leaf=tree.leaf(sid),
                              leaves=tuple(tree.leaves(sid)))


def _move(states: Mapping[str, StateInfo], source: str, to: str
          ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """States exited and entered when a transition declared `-> to` fires in leaf `source`."""
    if source == to:
        return (), ()
    up, down = states[source].lineage, states[states[to].leaf].lineage
    # Above the transition's target stage (or the common ancestor) nothing is left.
    shared = set(up[up.index(to) + 1:]) if to in up else set(up) & set(down)
    return (tuple(s for s in up if s not in shared),
            tuple(s for s in reversed(down) if s not in shared))


def compile_workflow(spec: WorkflowSpec, source_text: str = "") -> CompiledWorkflow:
    """Compile a checked spec into a shared, immutable workflow."""
    states: dict[str, StateInfo] = {}
    config = _flatten(spec.states, None, "", states)
    _tree(spec, states)
    initial = next((sid for sid, s in spec.states.items() if s.initial), None)
    if initial is None:
        raise DefinitionError(f"workflow '{spec.id}' has no initial state")
    top_open = [s.id for s in states.values() if s.parent is None and not s.final]
    compiled = tuple(_compile_transition(i, spec, t, states, top_open)
                     for i, t in enumerate(spec.transitions))
    machine = _Machine(
        model=None, states=config, initial=initial, auto_transitions=False,
        transitions=[
            {"trigger": c.trigger, "source": [states[s].path for s in _sources(c.spec, top_open)],
             "dest": states[c.spec.to].path}
            for c in compiled
        ],
    )
    table = _lookup_table(machine, states, compiled, top_open)
    automatic = {
        sid: tuple(t for trig in dict.fromkeys(c.trigger for c in compiled if c.spec.automatic)
                   for t in table.get((sid, trig), ()) if t.spec.automatic)
        for sid in states
    }
    params = {name: p.default for name, p in spec.parameters.items()}
    priority = compile_expression(spec.priority, scope_of(spec)) if spec.priority else None
    exits = {(sid, t.spec.to): _move(states, sid, t.spec.to)
             for (sid, _), found in table.items() if not states[sid].children
             for t in found}
    return CompiledWorkflow(
        spec=spec, content_hash=content_hash(source_text), machine=machine, states=states,
        transitions=compiled, table=table, automatic=automatic, initial=initial,
        priority=priority, param_defaults=params,
        triggers=tuple(dict.fromkeys(c.trigger for c in compiled)),
        trigger_titles=_trigger_titles(compiled), exits=exits,
    )


def _trigger_titles(compiled: tuple[CompiledTransition, ...]) -> dict[str, Label | None]:
    """Each trigger's first title, so messages need not scan the transitions."""
    titles: dict[str, Label | None] = {}
    for c in compiled:
        if titles.get(c.trigger) is None:
            titles[c.trigger] = c.spec.title
    return titles


def _lookup_table(machine: Any, states: Mapping[str, StateInfo],
                  compiled: tuple[CompiledTransition, ...], top_open: list[str],
                  ) -> dict[tuple[str, str], tuple[CompiledTransition, ...]]:
    """(state, trigger) -> candidate transitions, read off the machine.

    A nested state inherits its ancestors' transitions, innermost first, as the
    hierarchical machine resolves them; among transitions declared on the same source the
    definition's order decides, so a designer can write guarded alternatives.
    """
    by_edge: dict[tuple[str, str, str], list[CompiledTransition]] = {}
    for c in compiled:
        for s in _sources(c.spec, top_open):
            by_edge.setdefault((c.trigger, states[s].path, states[c.spec.to].path), []).append(c)
    declared: dict[str, list[tuple[str, CompiledTransition]]] = {}
    for trigger, event in machine.events.items():
        for path, edges in event.transitions.items():
            for edge in edges:
                for c in by_edge.get((trigger, path, edge.dest), []):
                    declared.setdefault(path, []).append((trigger, c))
    table: dict[tuple[str, str], list[CompiledTransition]] = {}
    for sid, info in states.items():
        for ancestor in info.lineage:
            for trigger, c in declared.get(states[ancestor].path, []):
                found = table.setdefault((sid, trigger), [])
                if all(c is not other for other in found):
                    found.append(c)
    return {key: tuple(found) for key, found in table.items()}
