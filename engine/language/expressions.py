"""Guards, effects and priorities: CEL expressions compiled once, evaluated in a sandbox.

Why CEL: definitions are data, never code. CEL cannot reach Python, has no loops beyond
comprehensions over finite lists, and always terminates, so a designer's guard cannot hang
or escape the engine. Every expression is compiled when its workflow loads; a syntax error
or a name the workflow does not declare is a validation error with a column, not a runtime
surprise.

What an expression sees (its environment, `engine.language.environment`):

    data.FIELD      the case's fields (a field with no value is absent: use has(data.x))
    input.FIELD     the input of the transition being fired (effects and guards only)
    params.NAME     the workflow's parameters, after deployment/community overrides
    now             the clock's time (timestamp)
    today           today's date on the China calendar (UTC+8), as dates are stored
    entered_at      when the case entered its current state (timestamp)
    entered_on      the China date it entered it, as dates are stored: the lower bound of a
                    date typed in a record's first step (a record cannot be registered on a
                    day before it was opened)
    state           the case's current state id
    checklist.ITEM  whether a checklist item of the current state is ticked
    linked(workflow[, state])   how many linked cases are of that workflow (and in that
                                state, or in a step nested inside that state)
    add_duration(ts, "P1Y")     ts moved by an ISO 8601 duration
    add_working_days(ts, n)     ts moved by n working days on the official Chinese calendar
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import cel

from engine.language.environment import OWN_FUNCTIONS, Environment
from engine.language.expression_problems import (
    ExpressionProblem,
    blank_strings,
    cost_problems,
    explained,
    syntax_problem,
)
from engine.language.flat import Flat, flattened

ROOTS = frozenset(
    {"data", "input", "params", "now", "today", "entered_at", "entered_on", "state",
     "checklist"}
)
CEL_FUNCTIONS = frozenset(
    {
        "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double",
        "string", "bytes", "timestamp", "duration", "dyn", "type", "max", "min", "has",
        "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
        "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    }
)
_MEMBER = re.compile(r"\b(data|input|params|checklist)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_COMPREHENSION = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,"
)


class Scope(NamedTuple):
    """The names an expression may use: the workflow's declarations in one place.

    A tuple, so that hashing and comparing it (a key of the compile caches, asked for
    every guard and effect of a definition) stay in C."""

    data: frozenset[str]
    params: frozenset[str]
    input: frozenset[str] | None = None  # None: no transition input is in reach
    checklist: frozenset[str] | None = None


class ExpressionError(ValueError):
    """Raised when an expression cannot be compiled; carries the problems found."""

    def __init__(self, source: str, problems: list[ExpressionProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


class EvaluationError(RuntimeError):
    """An expression failed at run time (a field without a value, a type mismatch).

    Carries its message in both languages; `missing` names the field that had no value,
    so a caller that knows the workflow can name it by its title.
    """

    def __init__(self, en: str, zh: str | None = None, missing: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh or "表达式无法计算（数据类型不符，或数值超出范围）"
        self.missing = missing


@lru_cache(maxsize=4096)
def _program(source: str) -> Any:
    """The CEL program of `source`. Programs are immutable and shared by every thread, so
    one compilation serves the linter, the type check and the compiler, and every workflow
    that repeats the same expression."""
    return cel.compile(source)


def check(source: str, scope: Scope) -> tuple[Any, list[ExpressionProblem]]:
    """Compile `source` and check every name it uses against `scope`.

    Returns the compiled program (None when the syntax is wrong) and the problems found.
    The answer is a function of its arguments, so it is remembered: the linter and the
    compiler ask the same question of every expression of a definition, and a large
    definition repeats the same guards on many transitions.
    """
    program, problems = _checked(source, scope)
    return program, list(problems)


@lru_cache(maxsize=8192)
def _checked(source: str, scope: Scope) -> tuple[Any, tuple[ExpressionProblem, ...]]:
    program, problems = _check(source, scope)
    return program, tuple(problems)


def _check(source: str, scope: Scope) -> tuple[Any, list[ExpressionProblem]]:
    try:
        program = _program(source)
    except ValueError as exc:
        return None, explained(source) or [syntax_problem(source, exc)]
    blanked = blank_strings(source)
    problems = cost_problems(blanked)
    bound = {m.group(1) for m in _COMPREHENSION.finditer(blanked)}
    for name in sorted(set(program.variables()) - ROOTS - bound):
        position = re.search(rf"\b{re.escape(name)}\b", blanked)
        problems.append(ExpressionProblem(
            "expression_unknown_name", f"unknown name '{name}'",
            position.start() if position else 0, {"name": name}))
    for name in program.functions():
        if name[0].isalpha() and name not in CEL_FUNCTIONS | OWN_FUNCTIONS:
            position = re.search(rf"\b{re.escape(name)}\s*\(", blanked)
            problems.append(ExpressionProblem(
                "expression_unknown_function", f"unknown function '{name}'",
                position.start() if position else 0, {"name": name}))
    declared: dict[str, frozenset[str] | None] = {
        "data": scope.data, "params": scope.params, "input": scope.input,
        "checklist": scope.checklist,
    }
    for match in _MEMBER.finditer(blanked):
        root, member = match.group(1), match.group(2)
        names = declared[root]
        if names is None:
            problems.append(ExpressionProblem(
                f"expression_no_{root}", f"'{root}' is not available here",
                match.start(), {"root": root}))
        elif member not in names:
            problems.append(ExpressionProblem(
                f"expression_unknown_{root}", f"'{root}.{member}' is not declared",
                match.start(2), {"root": root, "name": member}))
    return program, problems


def compile_expression(source: str, scope: Scope) -> CompiledExpression:
    """Compile and check an expression; raise `ExpressionError` when anything is wrong."""
    program, problems = check(source, scope)
    if problems:
        raise ExpressionError(source, problems)
    return CompiledExpression(source, program)


def names_read(program: Any) -> frozenset[str]:
    """The environment names (variables and the engine's functions) a program reads."""
    return frozenset(program.variables()) | (frozenset(program.functions()) & OWN_FUNCTIONS)


_DATA = re.compile(r"\bdata\b")
_DATA_FIELD = re.compile(r"\bdata\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")


def fields_read(source: str) -> frozenset[str] | None:
    """The `data` fields an expression reads, or None when it uses `data` as a whole (a
    map it iterates, sizes or indexes), so that only those fields need converting."""
    blanked = blank_strings(source)
    fields = [m.group(1) for m in _DATA_FIELD.finditer(blanked)]
    if len(fields) != len(_DATA.findall(blanked)):
        return None
    return frozenset(fields)


@dataclass(frozen=True)
class CompiledExpression:
    """A checked CEL program; immutable and shared by every case and thread."""

    source: str
    program: Any

    @cached_property
    def names(self) -> frozenset[str]:
        """What this expression reads from its environment."""
        return names_read(self.program)

    @cached_property
    def fields(self) -> frozenset[str] | None:
        """The `data` fields it reads (None: `data` as a whole)."""
        return fields_read(self.source)

    @cached_property
    def flat(self) -> Flat | None:
        """The same expression over flat names (None: it cannot be)."""
        return flattened(self.source, self.program)

    def evaluate(self, env: Environment | Mapping[str, Any]) -> Any:
        """Evaluate against an environment; run-time failures become `EvaluationError`."""
        return _run(self.program, env.context if isinstance(env, Environment) else dict(env))

    def evaluate_alone(self, env: Environment) -> Any:
        """`evaluate`, for an environment no other expression is evaluated in: over flat
        names when every member it reads has a value (a context of maps costs the CEL
        binding far more to convert: `engine.language.flat`)."""
        flat = self.flat
        if flat is not None:
            context = env.flat_context(flat.reads)
            if context is not None:
                return _run(flat.program, context)
        return self.evaluate(env)

    def test_quietly(self, env: Environment) -> bool | None:
        """Whether a guard holds: True, False, or None when it cannot be evaluated (the
        caller then evaluates it again with `test` to learn why)."""
        try:
            return self.evaluate(env) is True
        except EvaluationError:
            return None

    def test(self, env: Environment) -> bool:
        """Evaluate a guard; anything but the boolean true is false."""
        return self.evaluate(env) is True


def _run(program: Any, context: Any) -> Any:
    """Run a program; run-time failures become `EvaluationError`."""
    try:
        return program.execute(context)
    except KeyError as exc:
        name = str(exc.args[0])
        raise EvaluationError(f"'{name}' has no value yet", f"“{name}”尚无值",
                              missing=name) from exc
    except Exception as exc:  # the CEL runtime raises several builtin types
        raise EvaluationError(str(exc).split(". ")[0]) from exc
