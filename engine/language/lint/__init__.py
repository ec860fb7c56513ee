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

from engine.language.diagnostics import Diagnostic, Reporter, SourceMap
from engine.language.lint.advice import warn_fields_never_set, warn_guards_without_refusal
from engine.language.lint.declarations import (
    check_field_defaults,
    check_parameters,
    check_references,
)
from engine.language.lint.expressions import check_expressions, syntax_words
from engine.language.lint.graph import (
    check_automatic_cycles,
    reachable_states,
    strongly_connected,
    warn_no_way_out,
    warn_triggers_never_enabled,
    warn_unreachable,
)
from engine.language.lint.index import build_index
from engine.language.lint.states import (
    BUILTIN_ROLES,
    check_final_states,
    check_initial_states,
    check_transitions,
)
from engine.language.lint.timers import check_timers
from engine.language.spec import WorkflowSpec
from engine.language.texts import check_texts

__all__ = ["BUILTIN_ROLES", "build_index", "lint", "reachable_states", "strongly_connected",
           "syntax_words"]


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
