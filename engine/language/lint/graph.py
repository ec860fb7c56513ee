"""The graph of states: automatic transitions that chase each other forever (an error),
and the warnings of a sound structure: states no case can reach, triggers never enabled,
states no transition leads out of. The walks visit each state and transition a bounded
number of times (times the nesting depth)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from engine.language.diagnostics import (
    Reporter,
)
from engine.language.lint.index import Edge, Index


def check_automatic_cycles(index: Index, report: Reporter) -> None:
    """Automatic transitions that can follow each other back to where they started.

    The graph is over the states a case rests in (leaves): an automatic transition from a
    stage applies in each of its steps. A cycle is reported once, at its first transition.
    """
    leaves_below: dict[str, list[str]] = {}

    def leaves(state: str) -> list[str]:
        if state not in leaves_below:
            leaves_below[state] = [s for s in index.tree.subtree(state)
                                   if not index.states[s].children and not index.states[s].final]
        return leaves_below[state]

    graph: dict[str, list[tuple[str, int]]] = {}
    for edge in index.edges:
        if not edge.spec.automatic or edge.target is None:
            continue
        destination = index.tree.leaf(edge.target)
        for source in edge.sources:
            if index.states[source].final:
                continue
            for leaf in leaves(source):
                graph.setdefault(leaf, []).append((destination, edge.index))
    for component in strongly_connected(graph):
        members = set(component)
        inside = sorted((i, s, d) for s in component for d, i in graph.get(s, ())
                        if d in members)
        if not inside:
            continue
        index_, start, after = inside[0]
        cycle = [start, *_path_within(graph, members, after, start)]
        report.error("automatic_cycle", ("transitions", index_, "automatic"), at="key",
                     cycle=" -> ".join(cycle))


def strongly_connected(graph: Mapping[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    counter = 0
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    nodes = list(dict.fromkeys([*graph, *(d for out in graph.values() for d, _ in out)]))
    for root in nodes:
        if root in order:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                order[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph.get(node, [])
            if position < len(successors):
                work.append((node, position + 1))
                successor = successors[position][0]
                if successor not in order:
                    work.append((successor, 0))
                elif successor in on_stack:
                    low[node] = min(low[node], order[successor])
                continue
            if low[node] == order[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component[::-1])
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _path_within(graph: Mapping[str, list[tuple[str, int]]], members: set[str], start: str,
                 goal: str) -> list[str]:
    """The shortest walk from `start` to `goal` inside `members` (both included)."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current == goal:
            break
        for successor, _ in graph.get(current, []):
            if successor in members and successor not in previous:
                previous[successor] = current
                queue.append(successor)
    walk: list[str] = []
    step: str | None = goal if goal in previous else start
    while step is not None:
        walk.append(step)
        step = previous.get(step)
    return walk[::-1]


# ---------------------------------------------------------------------------------------
# warnings


def reachable_states(index: Index) -> set[str]:
    """States a case can be in, starting from the initial state over every transition.

    Entering a state enters its ancestors and its initial steps; a transition applies in
    its source state and every step nested in it; a final state is left by nothing.
    """
    initial = index.initial
    if initial is None:
        return set()
    by_source: dict[str, list[str]] = {}
    from_any: list[str] = []
    for edge in index.edges:
        if edge.target is None:
            continue
        if edge.any:
            from_any.append(edge.target)
            continue
        for source in edge.sources:
            by_source.setdefault(source, []).append(edge.target)
    reached: set[str] = set()
    entered: set[str] = set()  # entering a state twice reaches nothing new
    queue: deque[str] = deque()

    def enter(state: str) -> None:
        if state in entered:
            return
        entered.add(state)
        for s in (*index.tree.lineage(state), *index.tree.entry_chain(state)):
            if s not in reached:
                reached.add(s)
                queue.append(s)

    enter(initial)
    any_entered = False
    while queue:
        node = index.states[queue.popleft()]
        if node.final:
            continue
        if not any_entered and node.parent is None:
            any_entered = True
            for target in from_any:
                enter(target)
        for target in by_source.get(node.id, ()):
            enter(target)
    return reached


def warn_unreachable(index: Index, reached: set[str], report: Reporter) -> None:
    """States no case can reach (a stage's steps only when the stage itself is reached)."""
    initial = index.initial
    for node in index.states.values():
        if node.id in reached:
            continue
        if node.parent is None or node.parent in reached:
            report.warning("unreachable_state", node.path, at="key", state=node.id,
                           initial=initial)


def _open_states(index: Index) -> set[str]:
    """The states that are not final (asked once, not per transition)."""
    return {sid for sid, node in index.states.items() if not node.spec.final}


def warn_triggers_never_enabled(index: Index, reached: set[str], report: Reporter) -> None:
    """Triggers all of whose transitions start in states no case can reach."""
    first: dict[str, Edge] = {}
    enabled: set[str] = set()
    has_source: set[str] = set()
    open_states = _open_states(index)
    for edge in index.edges:
        trigger = edge.spec.trigger
        first.setdefault(trigger, edge)
        live = [s for s in edge.sources if s in open_states]
        if live:
            has_source.add(trigger)
            if not reached.isdisjoint(live):
                enabled.add(trigger)
    for trigger in has_source - enabled:
        edge = first[trigger]
        report.warning("trigger_never_enabled", (*edge.path, "trigger"), trigger=trigger)


def warn_no_way_out(index: Index, report: Reporter) -> None:
    """Non-final states (or stages) that no transition leads out of.

    A transition leads out of state S when it applies in S (declared on S, on a step
    inside S, or inherited from a stage around S) and the case ends up outside S.
    """
    targets_from: dict[str, set[str]] = {}
    leaf_of: dict[str, str] = {}  # many transitions lead to the same state
    open_states = _open_states(index)
    for edge in index.edges:
        if edge.target is None:
            continue
        leaf = leaf_of.get(edge.target)
        if leaf is None:
            leaf = leaf_of[edge.target] = index.tree.leaf(edge.target)
        for source in edge.sources:
            if source in open_states:
                targets_from.setdefault(source, set()).add(leaf)
    lineages: dict[str, list[str]] = {}

    def lineage(state: str) -> list[str]:
        found = lineages.get(state)
        if found is None:
            found = lineages[state] = index.tree.lineage(state)
        return found

    exits: set[str] = set()
    for source, leaves in targets_from.items():
        for leaf in leaves:
            around = lineage(leaf)
            exits.update(s for s in lineage(source) if s not in around)
    for node in index.states.values():
        if node.final or node.id in exits:
            continue
        ancestors = lineage(node.id)[1:]
        inherited = any(node.id not in lineage(leaf)
                        for a in ancestors for leaf in targets_from.get(a, ()))
        if not inherited:
            report.warning("no_way_out", node.path, at="key", state=node.id)
