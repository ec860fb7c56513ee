"""The state tree of a workflow: lineage, the steps a case enters, what lies below a stage.

One implementation of these walks over a definition's nested `states:`, used by the linter
(before the definition may be compiled), by the compiler (which stores the answers in the
compiled workflow's tables, so deciding a transition reads them instead of walking) and by
the diagrams. A state id that appears twice (a lint error) keeps its first place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from engine.language.spec import StateSpec


@dataclass(frozen=True)
class Tree:
    """Parent and children of every state, in definition order."""

    parent: Mapping[str, str | None]
    children: Mapping[str, tuple[str, ...]]
    initial_child: Mapping[str, str | None] = field(default_factory=dict)

    def lineage(self, state: str) -> list[str]:
        """`state` and its ancestors, innermost first."""
        chain: list[str] = []
        current: str | None = state
        while current is not None:
            chain.append(current)
            current = self.parent.get(current)
        return chain

    def entry_chain(self, state: str) -> list[str]:
        """`state` and the initial steps a case enters below it, outermost first."""
        chain = [state]
        current: str | None = self.initial_child.get(state)
        while current is not None:
            chain.append(current)
            current = self.initial_child.get(current)
        return chain

    def leaf(self, state: str) -> str:
        """The state a case rests in when it enters `state`."""
        return self.entry_chain(state)[-1]

    def subtree(self, state: str) -> Iterator[str]:
        """`state` and every state nested in it."""
        stack = [state]
        while stack:
            current = stack.pop()
            yield current
            stack.extend(self.children.get(current, ()))

    def leaves(self, state: str) -> list[str]:
        """The states without steps at or below `state`, sorted."""
        return sorted(s for s in self.subtree(state) if not self.children.get(s))


def tree_of(states: Mapping[str, StateSpec]) -> Tree:
    """The tree of a definition's `states:` (nested steps included)."""
    parent: dict[str, str | None] = {}
    children: dict[str, tuple[str, ...]] = {}
    initial: dict[str, str | None] = {}

    def walk(level: Mapping[str, StateSpec], owner: str | None) -> list[str]:
        placed: list[str] = []
        for sid, spec in level.items():
            if sid in parent:
                walk(spec.states, sid)
                continue
            parent[sid] = owner
            placed.append(sid)
            children[sid] = tuple(walk(spec.states, sid))
            initial[sid] = next((c for c, s in spec.states.items() if s.initial), None)
        return placed

    walk(states, None)
    return Tree(parent, children, initial)
