"""The workflow's states and transitions in the form the checks walk: the state tree
flattened (duplicate and reserved ids reported), each transition's sources resolved
(`any` expanded to every top-level state that is not final)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from engine.language.diagnostics import (
    Reporter,
    YamlPath,
)
from engine.language.spec import StateSpec, TransitionSpec, WorkflowSpec
from engine.language.tree import Tree

ANY = "any"


@dataclass(frozen=True)
class StateNode:
    """A state of the tree, flattened: its parent, its steps and where it is written."""

    id: str
    spec: StateSpec
    parent: str | None
    path: YamlPath
    children: tuple[str, ...]

    @property
    def final(self) -> bool:
        return self.spec.final


@dataclass(frozen=True)
class Edge:
    """A transition with its sources resolved to known states (`any` expanded)."""

    index: int
    spec: TransitionSpec
    sources: tuple[str, ...]
    target: str | None
    any: bool

    @property
    def path(self) -> YamlPath:
        return ("transitions", self.index)


@dataclass
class Index:
    """The workflow's states and transitions in the form the checks walk."""

    spec: WorkflowSpec
    states: dict[str, StateNode] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    @cached_property
    def tree(self) -> Tree:
        """Parent and children of every state (built once the index is complete)."""
        initial = {sid: next((c for c in node.children if self.states[c].spec.initial), None)
                   for sid, node in self.states.items()}
        return Tree({sid: node.parent for sid, node in self.states.items()},
                    {sid: node.children for sid, node in self.states.items()}, initial)

    @property
    def initial(self) -> str | None:
        return next((s.id for s in self.states.values()
                     if s.parent is None and s.spec.initial), None)


def build_index(spec: WorkflowSpec, report: Reporter) -> Index:
    """Flatten the state tree (reporting duplicate and reserved ids) and resolve sources."""
    index = Index(spec)
    _walk(index, report, spec.states, None, ("states",))
    top_open = tuple(s.id for s in index.states.values() if s.parent is None and not s.final)
    states, edges = index.states, index.edges
    for i, t in enumerate(spec.transitions):
        named = t.sources
        is_any = named == [ANY]
        sources = top_open if is_any else tuple([s for s in named if s in states])
        edges.append(Edge(i, t, sources, t.to if t.to in states else None, is_any))
    return index


def _walk(index: Index, report: Reporter, states: Mapping[str, StateSpec], parent: str | None,
          prefix: YamlPath) -> list[str]:
    """Register `states` (under `parent`) and their steps; the ids registered at this level.

    A module function, not a closure: a recursive closure is a reference cycle, which would
    keep the index alive until the cyclic collector passes."""
    registered: list[str] = []
    for sid, state in states.items():
        where = (*prefix, sid)
        if sid == ANY:
            report.error("reserved_state", where, at="key")
        if sid in index.states:
            first = report.source.locate(index.states[sid].path, "key")[0]
            report.error("duplicate_state", where, at="key", state=sid, first_line=first)
            _walk(index, report, state.states, sid, (*where, "states"))
            continue
        # registered before its steps (a step reusing its id is a duplicate), with its
        # children once they are known: a state without steps is built once
        index.states[sid] = StateNode(sid, state, parent, where, ())
        if state.states:
            children = _walk(index, report, state.states, sid, (*where, "states"))
            index.states[sid] = StateNode(sid, state, parent, where, tuple(children))
        registered.append(sid)
    return registered


def from_path(edge: Edge, position: int) -> YamlPath:
    if isinstance(edge.spec.source, list):
        return (*edge.path, "from", position)
    return (*edge.path, "from")
