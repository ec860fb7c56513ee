"""Guards, effects and the priority: they parse, read only declared names and types, and
CEL's parser messages are said in words a designer understands."""

from __future__ import annotations

import re

from engine.core.compiler import Expressions, scope_of
from engine.language.diagnostics import (
    Reporter,
    Words,
    YamlPath,
    did_you_mean,
)
from engine.language.environment import OWN_FUNCTIONS
from engine.language.expression_problems import ExpressionProblem
from engine.language.expressions import CEL_FUNCTIONS, ROOTS, Scope, check
from engine.language.lint.index import Index
from engine.language.spec import TransitionSpec, WorkflowSpec
from engine.language.typecheck import check_reads_before_set, check_types


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
    scopes = Expressions(spec)
    # transitions from the same states with the same input names share one scope (one
    # object, so that the compile caches compare it by identity)
    shared: dict[tuple[tuple[str, ...], tuple[str, ...]], Scope] = {}
    for edge in index.edges:
        t = edge.spec
        same = (edge.sources, tuple(t.input))
        scope = shared.get(same)
        if scope is None:
            items = set().union(*(items_below(s) for s in edge.sources))
            scope = shared[same] = scopes.scope(t, items)
        checklist = scope.checklist or frozenset()
        base = edge.path
        guards = [((*base, "guard"), t.guard)] if t.guard is not None else []
        if t.conditions:
            guards += [((*base, "conditions", n, "guard"), c.guard)
                       for n, c in enumerate(t.conditions)]
        for where, source in guards:
            if check(source, scope)[1]:
                _check_expression(source, scope, where, spec, report, t)
            typed.append((source, scope, where, t, "guard", checklist))
        for name, source in t.effects.items():
            where = (*base, "effects", name)
            if check(source, scope)[1]:  # remembered: asked again only to report
                _check_expression(source, scope, where, spec, report, t)
            typed.append((source, scope, where, t, name, checklist))
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
