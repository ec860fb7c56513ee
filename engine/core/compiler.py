"""Spec -> compiled workflow: expressions compiled, structure asked of the machine.

The shared hierarchical machine (`engine.core.machine`, the only importer of
`transitions`) answers every structural question once, here: where each state sits, which
step a stage enters, which transitions a nested state takes (its ancestors' included),
which states a transition exits and enters. The compiled workflow keeps those answers in
flat, read-only tables, so deciding a transition is a few dictionary reads.

Compilation assumes a spec that `engine.language.lint` found free of errors; `compile_workflow`
raises `DefinitionError` otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from engine.core.machine import Edge, Structure, build_machine, structure
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

ANY = "any"
_PARAM_TYPES: dict[str, type | tuple[type, ...]] = {
    "integer": int, "number": (int, float), "boolean": bool, "string": str, "duration": str,
}


@dataclass(frozen=True)
class StateInfo:
    """One state, flattened: where it sits in the tree and what it carries.

    `lineage` (the state and its ancestors, innermost first), `leaf` (the step a case
    rests in on entering it) and `leaves` (every step a case in it may rest in) are
    answered once, when the workflow is compiled, by the machine (`engine.core.machine`).
    """

    id: str
    path: str
    spec: StateSpec
    parent: str | None
    children: tuple[str, ...]
    lineage: tuple[str, ...] = ()
    leaf: str = ""
    leaves: tuple[str, ...] = ()
    checklist: Mapping[str, str] = field(default_factory=dict)
    """Checklist items in reach while a case rests here (its own and its ancestors'):
    item -> owning state."""

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

    @cached_property
    def fields(self) -> frozenset[str] | None:
        """The `data` fields the conditions and effects read (None: `data` as a whole)."""
        found: frozenset[str] = frozenset()
        for expression in (*(c.guard for c in self.conditions), *self.effects.values()):
            if expression.fields is None:
                return None
            found |= expression.fields
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
    structure: Structure[CompiledTransition] | None = None
    """The machine's answers (lineage, entries, candidates, exits and entries)."""

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def fields(self) -> Mapping[str, FieldSpec]:
        return self.spec.fields

    @cached_property
    def timed_states(self) -> frozenset[str]:
        """The states that have timers (only theirs are ever armed)."""
        return frozenset(sid for sid, info in self.states.items() if info.spec.timers)

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
        Answered by the machine at compile time for every transition that applies in
        `source`.
        """
        assert self.structure is not None
        exited, entered = self.structure.move(source, to)
        return list(exited), list(entered)

    def recorded_move(self, trigger: str | None, source: str, target: str
                      ) -> tuple[list[str], list[str]]:
        """States a recorded transition event (`source` -> `target`, both leaves) left and
        entered, as the door computed them when it was written.

        The event keeps the leaf it arrived in; the declared target may be its enclosing
        stage (a step back to its own stage leaves and re-enters it), so the declaration is
        looked up among the candidates of `trigger` in `source`. States this version does
        not know leave and enter nothing.
        """
        if source not in self.states or target not in self.states:
            return [], []
        declared = next((t.spec.to for t in self.candidates(source, trigger or "")
                         if self.states[t.spec.to].leaf == target), target)
        return self.moves(source, declared)

    def candidates(self, state_id: str, trigger: str) -> tuple[CompiledTransition, ...]:
        """Transitions of `trigger` that may leave `state_id`, in the order they are tried."""
        return self.table.get((state_id, trigger), ())

    def timers_of(self, state_id: str) -> list[tuple[str, TimerSpec]]:
        """Timers armed while a case rests in `state_id` (its own and its ancestors')."""
        return [(s, t) for s in self.lineage(state_id) for t in self.states[s].spec.timers]

    def checklist_of(self, state_id: str) -> Mapping[str, str]:
        """Checklist items of `state_id` and its ancestors: item -> owning state."""
        return self.states[state_id].checklist

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


def _configuration(states: Mapping[str, StateSpec], out: dict[str, StateSpec]) -> list[Any]:
    """The machine's state configuration of nested `states` (each spec kept in `out`)."""
    config: list[Any] = []
    for sid, spec in states.items():
        out[sid] = spec
        if spec.states:
            initial = next((c for c, s in spec.states.items() if s.initial), None)
            config.append({"name": sid, "children": _configuration(spec.states, out),
                           "initial": initial})
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


class Expressions:
    """One compiled expression per distinct (text, scope) of a workflow.

    A large definition repeats the same guards and effects on many transitions; sharing
    one `CompiledExpression` between them compiles and checks each text once, and what
    it reads (`names`, `fields`) is worked out once, not once per transition. The scope
    is the one `scope_of` gives (the declarations built once per workflow); the linter
    asks it for the same scopes, so an expression that passes there compiles here."""

    def __init__(self, spec: WorkflowSpec) -> None:
        self.data = frozenset(spec.fields)
        self.params = frozenset(spec.parameters)
        self.found: dict[tuple[str, Scope], CompiledExpression] = {}

    def scope(self, transition: TransitionSpec, checklist: set[str]) -> Scope:
        """`scope_of(spec, transition, sources, checklist)`, for a transition."""
        return Scope(self.data, self.params, frozenset(transition.input),
                     frozenset(checklist))

    def compile(self, source: str, scope: Scope) -> CompiledExpression:
        """`compile_expression(source, scope)`, once per distinct pair."""
        key = (source, scope)
        found = self.found.get(key)
        if found is None:
            found = self.found[key] = compile_expression(source, scope)
        return found


def _sources(spec: TransitionSpec, top_open: list[str]) -> list[str]:
    """A transition's source states, `any` expanded to every top-level non-final state."""
    sources = spec.sources
    return list(top_open) if sources == [ANY] else sources


def _compile_transition(index: int, expressions: Expressions, t: TransitionSpec,
                        sources: list[str], below: Mapping[str, tuple[str, ...]],
                        specs: Mapping[str, StateSpec],
                        scopes: dict[tuple[tuple[str, ...], tuple[str, ...]], Scope]
                        ) -> CompiledTransition:
    same = (tuple(sources), tuple(t.input))  # one Scope object per sources and input names
    scope = scopes.get(same)
    if scope is None:
        items = {i for s in sources for step in below.get(s, ()) for i in specs[step].checklist}
        scope = scopes[same] = expressions.scope(t, items)
    guard = expressions.compile(t.guard, scope) if t.guard else None
    effects = {name: expressions.compile(expr, scope) for name, expr in t.effects.items()}
    conditions = [CompiledCondition(guard, t.refusal, _reads_input(guard))] if guard else []
    for c in t.conditions:
        compiled = expressions.compile(c.guard, scope)
        conditions.append(CompiledCondition(compiled, c.refusal, _reads_input(compiled)))
    return CompiledTransition(index, t, guard, effects, tuple(conditions))


def _reads_input(expression: CompiledExpression) -> bool:
    return "input" in expression.names


def compile_workflow(spec: WorkflowSpec, source_text: str = "") -> CompiledWorkflow:
    """Compile a checked spec into a shared, immutable workflow."""
    specs: dict[str, StateSpec] = {}
    config = _configuration(spec.states, specs)
    initial = next((sid for sid, s in spec.states.items() if s.initial), None)
    if initial is None:
        raise DefinitionError(f"workflow '{spec.id}' has no initial state")
    top_open = [sid for sid, s in spec.states.items() if not s.final]
    below = _below(spec.states)
    sources = [_sources(t, top_open) for t in spec.transitions]
    expressions = Expressions(spec)
    scopes: dict[tuple[tuple[str, ...], tuple[str, ...]], Scope] = {}
    compiled = tuple(_compile_transition(i, expressions, t, sources[i], below, specs, scopes)
                     for i, t in enumerate(spec.transitions))
    paths = _paths(spec.states, "")
    edges = [Edge(c.spec.trigger, tuple([paths[s] for s in sources[c.index]]),
                  paths[c.spec.to], c) for c in compiled]
    machine = build_machine(config, initial, edges)
    shaped = structure(machine, edges)
    states = {sid: StateInfo(sid, shaped.path[sid], specs[sid],
                             shaped.lineage[sid][1] if len(shaped.lineage[sid]) > 1 else None,
                             tuple(specs[sid].states), shaped.lineage[sid], shaped.leaf[sid],
                             shaped.leaves[sid],
                             {i: s for s in shaped.lineage[sid] for i in specs[s].checklist})
              for sid in shaped.path}
    table = shaped.table
    automatic_triggers = tuple(dict.fromkeys(c.trigger for c in compiled if c.spec.automatic))
    automatic = {
        sid: tuple(t for trig in automatic_triggers
                   for t in table.get((sid, trig), ()) if t.spec.automatic)
        for sid in states
    }
    params = {name: p.default for name, p in spec.parameters.items()}
    priority = compile_expression(spec.priority, scope_of(spec)) if spec.priority else None
    return CompiledWorkflow(
        spec=spec, content_hash=content_hash(source_text), machine=machine, states=states,
        transitions=compiled, table=table, automatic=automatic, initial=initial,
        priority=priority, param_defaults=params,
        triggers=tuple(dict.fromkeys(c.trigger for c in compiled)),
        trigger_titles=_trigger_titles(compiled), structure=shaped,
    )


def _paths(states: Mapping[str, StateSpec], prefix: str) -> dict[str, str]:
    """Each state's address in the machine (`stage.step`)."""
    found: dict[str, str] = {}
    for sid, spec in states.items():
        found[sid] = f"{prefix}{sid}"
        found.update(_paths(spec.states, f"{prefix}{sid}."))
    return found


def _below(states: Mapping[str, StateSpec]) -> dict[str, tuple[str, ...]]:
    """Each state and every state nested in it (whose checklists its transitions see)."""
    found: dict[str, tuple[str, ...]] = {}
    for sid, spec in states.items():
        inner = _below(spec.states)
        found.update(inner)
        found[sid] = (sid, *(s for child in spec.states for s in inner[child]))
    return found


def _trigger_titles(compiled: tuple[CompiledTransition, ...]) -> dict[str, Label | None]:
    """Each trigger's first title, so messages need not scan the transitions."""
    titles: dict[str, Label | None] = {}
    for c in compiled:
        if titles.get(c.trigger) is None:
            titles[c.trigger] = c.spec.title
    return titles
