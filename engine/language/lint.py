"""Checks of meaning over a workflow that has the right shape: references, graph, types.

`engine.language.spec` only says what shapes exist; this module says whether the definition makes
sense: every state a transition names exists, exactly one state is initial, a final state
is really final, every guard reads only what the workflow declares, automatic transitions
cannot chase each other forever, and so on (errors); and what is probably a mistake even
though it would run: states no case can reach, states no case can leave, triggers that
can never be used, fields nothing ever fills (warnings).

Everything here is a plain function of a `WorkflowSpec` and, to locate each finding, the
`SourceMap` of the file it came from. The graph walks visit each state and each
transition a bounded number of times (times the nesting depth), so a definition with
hundreds of states and transitions is checked in milliseconds.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from engine.core.compiler import scope_of
from engine.language.diagnostics import (
    Diagnostic,
    Reporter,
    SourceMap,
    Words,
    YamlPath,
    did_you_mean,
    without_thousands_separators,
)
from engine.language.expressions import (
    CEL_FUNCTIONS,
    OWN_FUNCTIONS,
    ROOTS,
    ExpressionProblem,
    Scope,
    check,
)
from engine.language.spec import FieldSpec, StateSpec, TimerSpec, TransitionSpec, WorkflowSpec
from engine.language.texts import check_texts
from engine.language.tree import Tree
from engine.language.typecheck import check_reads_before_set, check_types
from engine.language.values import check_value
from engine.timers.calendar import DurationError, parse_duration

BUILTIN_ROLES = frozenset({"admin", "caseworker", "designer", "auditor"})
ANY = "any"
DATE_TYPES = frozenset({"date", "datetime"})

__all__ = ["BUILTIN_ROLES", "lint"]


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


def lint(spec: WorkflowSpec, source: SourceMap | None = None, *, path: str = "<string>",
         lang: str = "en") -> list[Diagnostic]:
    """Every problem of meaning in `spec`, located through `source` when given."""
    report = Reporter(path, lang, source)
    index = build_index(spec, report)
    check_initial_states(index, report)
    check_final_states(index, report)
    check_transitions(index, report)
    # The graph warnings below would only echo a broken structure (one misspelt state
    # makes everything after it "unreachable"), so they wait until the structure is sound.
    sound = not report.diagnostics
    check_timers(index, report)
    check_parameters(spec, report)
    check_field_defaults(spec, report)
    check_references(spec, report)
    check_expressions(index, report)
    check_automatic_cycles(index, report)
    if sound:
        reached = reachable_states(index)
        warn_unreachable(index, reached, report)
        warn_triggers_never_enabled(index, reached, report)
        warn_no_way_out(index, report)
    warn_fields_never_set(spec, report)
    warn_guards_without_refusal(spec, report)
    check_texts(spec, report)
    return report.diagnostics


# ---------------------------------------------------------------------------------------
# the index


def build_index(spec: WorkflowSpec, report: Reporter) -> Index:
    """Flatten the state tree (reporting duplicate and reserved ids) and resolve sources."""
    index = Index(spec)

    def walk(states: Mapping[str, StateSpec], parent: str | None, prefix: YamlPath
             ) -> list[str]:
        registered: list[str] = []
        for sid, state in states.items():
            where = (*prefix, sid)
            if sid == ANY:
                report.error("reserved_state", where, at="key")
            if sid in index.states:
                first = report.source.locate(index.states[sid].path, "key")[0]
                report.error("duplicate_state", where, at="key", state=sid, first_line=first)
                walk(state.states, sid, (*where, "states"))
                continue
            index.states[sid] = StateNode(sid, state, parent, where, ())
            children = walk(state.states, sid, (*where, "states"))
            index.states[sid] = StateNode(sid, state, parent, where, tuple(children))
            registered.append(sid)
        return registered

    walk(spec.states, None, ("states",))
    top_open = tuple(s.id for s in index.states.values() if s.parent is None and not s.final)
    for i, t in enumerate(spec.transitions):
        is_any = t.sources == [ANY]
        sources = top_open if is_any else tuple(s for s in t.sources if s in index.states)
        target = t.to if t.to in index.states else None
        index.edges.append(Edge(i, t, sources, target, is_any))
    return index


def _from_path(edge: Edge, position: int) -> YamlPath:
    if isinstance(edge.spec.source, list):
        return (*edge.path, "from", position)
    return (*edge.path, "from")


# ---------------------------------------------------------------------------------------
# errors


def check_initial_states(index: Index, report: Reporter) -> None:
    """Exactly one initial state at the top, and in every state that has steps."""
    tops = [s for s in index.states.values() if s.parent is None]
    groups: list[tuple[StateNode | None, list[StateNode]]] = [(None, tops)]
    groups += [(s, [index.states[c] for c in s.children])
               for s in index.states.values() if s.children]
    for parent, members in groups:
        initials = [m for m in members if m.spec.initial]
        if not initials:
            if parent is None:
                report.error("no_initial_state", ("states",), at="key")
            else:
                report.error("composite_no_initial", (*parent.path, "states"), at="key",
                             state=parent.id)
        for extra in initials[1:]:
            where = (*extra.path, "initial")
            if parent is None:
                report.error("several_initial_states", where, at="key", state=extra.id,
                             first=initials[0].id)
            else:
                report.error("composite_several_initial", where, at="key", state=extra.id,
                             first=initials[0].id, parent=parent.id)


def check_final_states(index: Index, report: Reporter) -> None:
    """A final state has no steps, no checklist, no timers and nothing leaving it."""
    for node in index.states.values():
        if not node.final:
            continue
        if node.children:
            report.error("final_has_children", (*node.path, "states"), at="key", state=node.id)
        if node.spec.checklist:
            report.error("final_has_checklist", (*node.path, "checklist"), at="key",
                         state=node.id)
        if node.spec.timers:
            report.error("final_has_timers", (*node.path, "timers"), at="key", state=node.id)
    for edge in index.edges:
        if edge.any:
            continue
        for position, source in enumerate(edge.spec.sources):
            if source in index.states and index.states[source].final:
                report.error("final_has_transitions", _from_path(edge, position),
                             state=source, trigger=edge.spec.trigger)


def check_transitions(index: Index, report: Reporter) -> None:
    """States named by `from`/`to` exist, `any` stands alone, roles are declared."""
    known = list(index.states)
    declared = list(index.spec.roles) + sorted(BUILTIN_ROLES)
    for edge in index.edges:
        t = edge.spec
        if not edge.any:
            for position, source in enumerate(t.sources):
                if source == ANY:
                    report.error("any_not_alone", _from_path(edge, position))
                elif source not in index.states:
                    report.error("unknown_state", _from_path(edge, position), state=source,
                                 suggestion=did_you_mean(source, known))
        if edge.target is None:
            report.error("unknown_state", (*edge.path, "to"), state=t.to,
                         suggestion=did_you_mean(t.to, known))
        for position, role in enumerate(t.roles):
            if role not in declared:
                report.error("unknown_role", (*edge.path, "roles", position), role=role,
                             suggestion=did_you_mean(role, declared))
    for position, role in enumerate(index.spec.start_roles):
        if role not in declared:
            report.error("unknown_role", ("start_roles", position), role=role,
                         suggestion=did_you_mean(role, declared))


def check_timers(index: Index, report: Reporter) -> None:
    """Timer ids, the trigger each fires, what it counts from and how long it runs."""
    spec = index.spec
    sources_by_trigger: dict[str, set[str]] = {}
    for edge in index.edges:
        sources_by_trigger.setdefault(edge.spec.trigger, set()).update(edge.sources)
    for node in index.states.values():
        seen: set[str] = set()
        for position, timer in enumerate(node.spec.timers):
            where = (*node.path, "timers", position)
            if timer.id in seen:
                report.error("duplicate_timer", (*where, "id"), timer=timer.id, state=node.id)
            seen.add(timer.id)
            if timer.trigger is not None:
                _check_timer_trigger(index, node, timer, where, sources_by_trigger, report)
            if timer.relative_to != "entry":
                _check_relative_to(spec, timer, where, report)
            if timer.duration is not None:
                _check_length(spec, timer.duration, "duration", (*where, "duration"), report)
            if isinstance(timer.working_days, str):
                _check_length(spec, timer.working_days, "working_days",
                              (*where, "working_days"), report)
            if isinstance(timer.days, str):
                _check_length(spec, timer.days, "days", (*where, "days"), report)
            _check_counting(spec, timer, where, report)


def _check_timer_trigger(index: Index, node: StateNode, timer: TimerSpec, where: YamlPath,
                         sources_by_trigger: Mapping[str, set[str]], report: Reporter) -> None:
    """The trigger exists and can be taken in at least one step where the timer runs.

    A timer runs while the case rests anywhere inside its state, and a step takes the
    transitions declared on it and on the stages around it.
    """
    trigger = timer.trigger or ""
    sources = sources_by_trigger.get(trigger)
    if sources is None:
        report.error("timer_trigger_undefined", (*where, "trigger"), trigger=trigger,
                     suggestion=did_you_mean(trigger, sources_by_trigger))
        return
    resting = [s for s in index.tree.subtree(node.id) if not index.states[s].children] or [node.id]
    if not any(s in sources for leaf in resting for s in index.tree.lineage(leaf)):
        report.error("timer_trigger_not_from_state", (*where, "trigger"), trigger=trigger,
                     state=node.id)


def _check_relative_to(spec: WorkflowSpec, timer: TimerSpec, where: YamlPath,
                       report: Reporter) -> None:
    name = timer.relative_to
    found = spec.fields.get(name)
    if found is None:
        dates = ["entry", *(n for n, f in spec.fields.items() if f.type in DATE_TYPES)]
        report.error("relative_to_unknown", (*where, "relative_to"), field=name,
                     suggestion=did_you_mean(name, dates))
    elif found.type not in DATE_TYPES:
        report.error("relative_to_not_date", (*where, "relative_to"), field=name,
                     type=found.type)


_LENGTH_NEEDS = {
    "duration": ("duration", Words("a timer's duration", "定时器的 duration")),
    "working_days": ("integer", Words("a timer's working_days", "定时器的 working_days")),
    "days": ("integer", Words("a timer's days", "定时器的 days")),
}
COUNTINGS = ("working", "calendar")


def _check_counting(spec: WorkflowSpec, timer: TimerSpec, where: YamlPath,
                    report: Reporter) -> None:
    """`counting` goes with `days`, and is working, calendar or a string parameter whose
    every allowed value is one of those."""
    counting = timer.counting
    if counting == "working":
        return
    place = (*where, "counting")
    if timer.days is None:
        report.error("counting_without_days", place)
    elif counting.startswith("params."):
        name = counting.removeprefix("params.")
        parameter = spec.parameters.get(name)
        if parameter is None:
            report.error("unknown_parameter", place, name=name,
                         suggestion=did_you_mean(name, spec.parameters))
            return
        allowed: list[object] = list(parameter.values or ())
        allowed = allowed or [parameter.default]
        if parameter.type != "string" or any(v not in COUNTINGS for v in allowed):
            report.error("counting_parameter", place, name=name)
    elif counting not in COUNTINGS:
        report.error("bad_choice", place, value=counting, choices=list(COUNTINGS),
                     suggestion=did_you_mean(counting, COUNTINGS))


def _check_length(spec: WorkflowSpec, value: str, key: str, where: YamlPath,
                  report: Reporter) -> None:
    """A duration or working-days value: a literal, or `params.NAME` of the right type."""
    expected, needed_by = _LENGTH_NEEDS[key]
    if value.startswith("params."):
        name = value.removeprefix("params.")
        parameter = spec.parameters.get(name)
        if parameter is None:
            report.error("unknown_parameter", where, name=name,
                         suggestion=did_you_mean(name, spec.parameters))
        elif parameter.type != expected:
            report.error("parameter_wrong_type", where, name=name, type=parameter.type,
                         expected=expected, use=needed_by)
    elif key in ("working_days", "days"):
        report.error("bad_working_days", where, value=value)
    elif not _is_duration(value):
        report.error("bad_duration", where, value=value, hint=_duration_hint(value))


def _duration_hint(value: str) -> Words:
    upper = value.strip().upper()
    if upper.startswith("P") and "T" not in upper and upper[-1:] in ("H", "S"):
        return Words(" (hours, minutes and seconds go after a T, as in PT12H)",
                     "（时、分、秒要写在 T 之后，例如 PT12H）")
    return Words("", "")


def _is_duration(value: object) -> bool:
    try:
        parse_duration(value)  # type: ignore[arg-type]
    except DurationError:
        return False
    return True


_PARAMETER_KINDS: dict[str, Words] = {
    "integer": Words("a whole number", "整数"),
    "number": Words("a number", "数字"),
    "boolean": Words("true or false", "true 或 false"),
    "string": Words("text", "文本"),
    "duration": Words("an ISO 8601 duration such as P30D", "ISO 8601 时长，例如 P30D"),
}


def check_parameters(spec: WorkflowSpec, report: Reporter) -> None:
    """Each parameter's default has the parameter's type and lies within its range."""
    for name, parameter in spec.parameters.items():
        where = ("parameters", name, "default")
        value = parameter.default
        kind = parameter.type
        fits = {
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "string": isinstance(value, str),
            "duration": isinstance(value, str) and _is_duration(value),
        }[kind]
        plain = without_thousands_separators(value)
        if not fits and plain is not None and kind in ("integer", "number"):
            report.error("thousands_separator", where, name=Words("the default", "默认值"),
                         value=value, plain=plain)
            continue
        if not fits:
            report.error("parameter_default_type", where, name=name,
                         expected=_PARAMETER_KINDS[kind])
            continue
        if parameter.values is not None and (kind != "string" or value not in parameter.values):
            report.error("parameter_default_choice", where, name=name,
                         choices=parameter.values)
        if kind in ("integer", "number") and isinstance(value, int | float):
            low, high = parameter.min, parameter.max
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = f"{_number(low) if low is not None else '…'} – " \
                         f"{_number(high) if high is not None else '…'}"
                report.error("parameter_default_range", where, name=name, value=value,
                             bounds=bounds)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def check_field_defaults(spec: WorkflowSpec, report: Reporter) -> None:
    """A field's (or a transition input's) default satisfies the field itself."""
    places: list[tuple[YamlPath, str, FieldSpec]] = [
        (("fields", name), name, f) for name, f in spec.fields.items()]
    for i, t in enumerate(spec.transitions):
        places += [(("transitions", i, "input", name), name, f) for name, f in t.input.items()]
    for where, name, f in places:
        if f.default is None:
            continue
        _, problem = check_value(name, f, f.default)
        if problem is not None:
            report.error("field_default_invalid", (*where, "default"), field=name,
                         problem=Words(problem.en, problem.zh))


def check_references(spec: WorkflowSpec, report: Reporter) -> None:
    """Effects, title_field and migrations name what the workflow declares."""
    fields = list(spec.fields)
    for i, t in enumerate(spec.transitions):
        for name in t.effects:
            if name not in spec.fields:
                report.error("unknown_effect_field", ("transitions", i, "effects", name),
                             at="key", field=name, suggestion=did_you_mean(name, fields))
    if spec.title_field is not None and spec.title_field not in spec.fields:
        report.error("unknown_title_field", ("title_field",), field=spec.title_field,
                     suggestion=did_you_mean(spec.title_field, fields))
    states = _all_state_ids(spec.states)
    for version, mapping in spec.migrations.items():
        for old, new in mapping.items():
            if new not in states:
                report.error("migration_unknown_state", ("migrations", version, old),
                             version=version, state=new, suggestion=did_you_mean(new, states))


def _all_state_ids(states: Mapping[str, StateSpec]) -> list[str]:
    found: list[str] = []
    stack = [states]
    while stack:
        level = stack.pop()
        for sid, state in level.items():
            found.append(sid)
            stack.append(state.states)
    return found


def check_expressions(index: Index, report: Reporter) -> None:
    """Guards, effects and the priority parse and read only declared names.

    The scope of each transition is the one `engine.core.compiler` compiles it with, so an
    expression that passes here compiles there.
    """
    spec = index.spec
    checklists: dict[str, set[str]] = {}

    def items_below(state: str) -> set[str]:
        if state not in checklists:
            checklists[state] = {item for s in index.tree.subtree(state)
                                 for item in index.states[s].spec.checklist}
        return checklists[state]

    typed: list[tuple[str, Scope, YamlPath, TransitionSpec | None, str, frozenset[str]]] = []
    for edge in index.edges:
        t = edge.spec
        items = set().union(*(items_below(s) for s in edge.sources))
        scope = scope_of(spec, t, sources=list(edge.sources), checklist=items)
        guards = [((*edge.path, "guard"), t.guard)] if t.guard is not None else []
        guards += [((*edge.path, "conditions", n, "guard"), c.guard)
                   for n, c in enumerate(t.conditions)]
        for where, source in guards:
            _check_expression(source, scope, where, spec, report, t)
            typed.append((source, scope, where, t, "guard", frozenset(items)))
        for name, source in t.effects.items():
            where = (*edge.path, "effects", name)
            _check_expression(source, scope, where, spec, report, t)
            typed.append((source, scope, where, t, name, frozenset(items)))
    if spec.priority is not None:
        _check_expression(spec.priority, scope_of(spec), ("priority",), spec, report, None)
        typed.append((spec.priority, scope_of(spec), ("priority",), None, "priority",
                      frozenset()))
    check_types(spec, report, typed)
    check_reads_before_set(spec, report)


def _check_expression(source: str, scope: Scope, where: YamlPath, spec: WorkflowSpec,
                      report: Reporter, transition: TransitionSpec | None) -> None:
    _, problems = check(source, scope)
    for problem in problems:
        position = report.source.offset(where, problem.offset)
        report.add("error", problem.code, position,
                   **_expression_args(problem, spec, scope))


def _expression_args(problem: ExpressionProblem, spec: WorkflowSpec, scope: Scope
                     ) -> dict[str, object]:
    name = str(problem.args.get("name", ""))
    candidates: dict[str, list[str]] = {
        "expression_unknown_data": list(spec.fields),
        "expression_unknown_params": list(spec.parameters),
        "expression_unknown_input": sorted(scope.input or ()),
        "expression_unknown_checklist": sorted(scope.checklist or ()),
        "expression_unknown_name": sorted(ROOTS),
        "expression_unknown_function": sorted(CEL_FUNCTIONS | OWN_FUNCTIONS),
    }
    args: dict[str, object] = {"name": name, **problem.args}
    if problem.code == "expression_syntax":
        args["detail"] = syntax_words(str(problem.args.get("detail", problem.message)))
    if problem.code in candidates:
        found = did_you_mean(name, candidates[problem.code])
        root = str(problem.args.get("root", ""))
        args["suggestion"] = f"{root}.{found}" if found and root else found
    return args


def syntax_words(detail: str) -> Words:
    """CEL's parser message in words a designer understands (the original when unknown)."""
    found = re.search(r"token recognition error at: '(.*)'$", detail)
    if found:
        token = found.group(1).strip()
        if token[:1] in ("'", '"'):
            return Words("a quoted text is not closed", "引号中的文字没有闭合")
        if token == "=":
            return Words("'=' is not an operator here: compare with '=='",
                         "此处不能用“=”：比较相等请用“==”")
        return Words(f"'{token}' cannot be used here", f"此处不能使用“{token}”")
    found = re.search(r"missing '(.*?)' at", detail)
    if found:
        return Words(f"a '{found.group(1)}' is missing", f"缺少“{found.group(1)}”")
    found = re.search(r"(?:mismatched|extraneous) input '(.*?)'", detail)
    if found and found.group(1) == "<EOF>":
        return Words("the expression ends too early: something is missing at its end",
                     "表达式不完整：结尾缺少内容")
    if found:
        return Words(f"'{found.group(1)}' is not expected here",
                     f"此处不应出现“{found.group(1)}”")
    return Words(detail, "表达式的写法有误")


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
    queue: deque[str] = deque()

    def enter(state: str) -> None:
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


def warn_triggers_never_enabled(index: Index, reached: set[str], report: Reporter) -> None:
    """Triggers all of whose transitions start in states no case can reach."""
    first: dict[str, Edge] = {}
    enabled: set[str] = set()
    has_source: set[str] = set()
    for edge in index.edges:
        trigger = edge.spec.trigger
        first.setdefault(trigger, edge)
        live = [s for s in edge.sources if not index.states[s].final]
        if live:
            has_source.add(trigger)
        if any(s in reached for s in live):
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
    for edge in index.edges:
        if edge.target is None:
            continue
        leaf = index.tree.leaf(edge.target)
        for source in edge.sources:
            if not index.states[source].final:
                targets_from.setdefault(source, set()).add(leaf)
    exits: set[str] = set()
    for source, leaves in targets_from.items():
        for leaf in leaves:
            exits.update(s for s in index.tree.lineage(source) if s not in index.tree.lineage(leaf))
    for node in index.states.values():
        if node.final or node.id in exits:
            continue
        ancestors = index.tree.lineage(node.id)[1:]
        inherited = any(node.id not in index.tree.lineage(leaf)
                        for a in ancestors for leaf in targets_from.get(a, ()))
        if not inherited:
            report.warning("no_way_out", node.path, at="key", state=node.id)


_DATA_MEMBER = re.compile(r"\bdata\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")


def warn_fields_never_set(spec: WorkflowSpec, report: Reporter) -> None:
    """Fields that something expects a value in, but that nothing ever fills.

    A field that is not required at the start, has no default and is set by no effect
    only has a value if someone happens to type it when the case starts. That is normal
    for optional intake data (a contact person), so it is only a warning when the
    workflow relies on the field: an expression or a timer reads it, or a transition asks
    for an input of the same name that no effect copies into it.
    """
    targets = {name for t in spec.transitions for name in t.effects}
    candidates = {name for name, f in spec.fields.items()
                  if not f.required and f.default is None and name not in targets}
    if not candidates:
        return
    sources = [spec.priority or ""]
    sources += [t.guard or "" for t in spec.transitions]
    sources += [e for t in spec.transitions for e in t.effects.values()]
    read = {m.group(1) for text in sources for m in _DATA_MEMBER.finditer(text)}
    read |= {timer.relative_to for node in _all_states(spec.states) for timer in node.timers}
    asked = {name: t.trigger for t in reversed(spec.transitions) for name in t.input}
    for name in spec.fields:
        if name not in candidates:
            continue
        if name in read:
            reason = Words("the workflow reads it", "流程中有地方读取它")
        elif name in asked:
            reason = Words(f"'{asked[name]}' asks for an input '{name}' but no effect copies "
                           "it into the field",
                           f"“{asked[name]}”要求输入“{name}”，却没有效果把它写入该字段")
        else:
            continue
        report.warning("field_never_set", ("fields", name), at="key", field=name,
                       reason=reason)


def _all_states(states: Mapping[str, StateSpec]) -> Iterator[StateSpec]:
    for state in states.values():
        yield state
        yield from _all_states(state.states)


def warn_guards_without_refusal(spec: WorkflowSpec, report: Reporter) -> None:
    """A guard with no refusal text leaves caseworkers with a generic refusal.

    Automatic transitions are left out: nobody fires them, so nobody is refused.
    """
    for i, t in enumerate(spec.transitions):
        if t.automatic:
            continue
        if t.guard is not None and t.refusal is None:
            report.warning("guard_without_refusal", ("transitions", i, "guard"), at="key")
        for position, condition in enumerate(t.conditions):
            if condition.refusal is None:
                report.warning("guard_without_refusal",
                               ("transitions", i, "conditions", position, "guard"), at="key")
