"""The workflow language: validate+compile of a large definition, and the decision rate.

Figures (keys `language.*`):

- `compile.ms`: loading a generated 200-state, 600-transition workflow from its text
  (YAML, model validation, lint, CEL compilation, the shared hierarchical machine and its
  lookup tables), median of several runs; `parse.ms` is the floor: YAML safe-load plus
  `WorkflowSpec.model_validate` of the same text; `compile.ratio_to_parse` divides the two.
- `decide.per_s`: pure `decide` calls per second on that workflow (role, input check,
  guard, checklist, effects, timers); `floor.per_s` is the floor: the same transitions'
  compiled CEL guards evaluated alone, after the same (state, trigger) dictionary lookup,
  each against the case's values it reads, handed to CEL afresh (as any evaluation of a
  guard for a case must);
  `decide.ratio_to_floor` divides the two (1.0 would mean deciding costs no more than
  evaluating the guard).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from ruamel.yaml import YAML

from engine.core.compiler import CompiledTransition, CompiledWorkflow, compile_workflow
from engine.core.decision import Actor, CaseSnapshot, Transition, decide, environment
from engine.definitions.loader import load_text
from engine.language.spec import WorkflowSpec

STAGES = 19
STEPS = 8  # per stage, plus one side step: 19 * 10 + 10 other states = 200 states
TRANSITIONS = 600
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
ACTOR = Actor("bench", frozenset({"caseworker"}))
T = TypeVar("T")


def generate(seed: int = 2) -> str:
    """A valid definition of exactly 200 states and 600 transitions, guards and effects
    on most of them, stages with steps, checklists and timers."""
    rng = random.Random(seed)
    lines = [
        "id: bench_language", "version: 1.0.0",
        "title: {zh: 基准流程, en: Benchmark workflow}",
        "roles: [caseworker, reviewer]",
        "parameters:",
        "  threshold: {type: integer, default: 3}",
        "  notice_days: {type: integer, default: 5}",
        "fields:",
        "  name: {type: string, required: true, max_length: 100}",
        "  count: {type: integer, default: 0, min: 0}",
        "  score: {type: number, default: 0, min: 0}",
        "  flag: {type: boolean, default: true}",
        "  level: {type: enum, values: [low, mid, high], default: mid}",
        "  note: {type: text}",
        "states:",
        "  intake: {initial: true, title: {zh: 受理, en: Intake}}",
    ]
    leaves: list[str] = []
    for s in range(STAGES):
        lines += [f"  stage_{s:02d}:", f"    title: {{zh: 阶段{s}, en: Stage {s}}}",
                  "    timers:",
                  f"      - {{id: due_{s:02d}, working_days: params.notice_days, "
                  "action: mark_overdue}",
                  "    states:"]
        for k in range(STEPS):
            step = f"s_{s:02d}_{k}"
            leaves.append(step)
            extra = ", initial: true" if k == 0 else ""
            lines.append(f"      {step}: {{title: {{zh: 步骤{s}-{k}, en: Step {s}-{k}}}{extra}}}")
            if k == STEPS - 1:
                lines.append(f"      {step}_x: {{title: {{en: Extra}}}}")
                leaves.append(f"{step}_x")
    # intake + 19 stages of 10 + 7 reviews + done + dropped = 200
    reviews = [f"review_{c}" for c in "abcdefg"]
    lines += [f"  {r}: {{title: {{en: Review {r[-1]}}}, checklist: {{ok_{r[-1]}: {{}}}}}}"
              for r in reviews]
    lines += ["  done: {final: true, outcome: done}", "  dropped: {final: true, outcome: dropped}"]
    transitions: list[str] = []

    def add(trigger: str, source: str, to: str, *, guard: str | None = None,
            effect: str | None = None, with_input: bool = False) -> None:
        item = [f"  - trigger: {trigger}", f"    from: {source}", f"    to: {to}",
                "    roles: [caseworker]"]
        if guard:
            item += [f"    guard: '{guard}'", "    refusal: {zh: 条件不满足。, en: Not yet.}"]
        if with_input:
            item += ["    input:", "      amount: {type: integer, required: true, min: 1}"]
        if effect:
            item += ["    effects:", f"      count: '{effect}'", "      flag: 'true'"]
        transitions.append("\n".join(item))

    add("begin", "intake", "stage_00", effect="data.count + 1")
    for s in range(STAGES):
        nxt = f"stage_{s + 1:02d}" if s + 1 < STAGES else "review_a"
        for k in range(STEPS - 1):
            add(f"step_{k}", f"s_{s:02d}_{k}", f"s_{s:02d}_{k + 1}",
                guard="data.count >= 0 && data.flag", effect="data.count + 1")
        add("finish", f"s_{s:02d}_{STEPS - 1}", nxt,
            guard="data.count >= params.threshold", effect="data.count + 1")
        add("aside", f"s_{s:02d}_{STEPS - 1}", f"s_{s:02d}_{STEPS - 1}_x")
        add("back", f"s_{s:02d}_{STEPS - 1}_x", f"s_{s:02d}_{STEPS - 1}")
    for a, b in zip(reviews, [*reviews[1:], "done"], strict=True):
        add("approve", a, b, guard=f"checklist.ok_{a[-1]}")
    add("drop", "any", "dropped")
    while len(transitions) < TRANSITIONS:
        source, target = rng.choice(leaves), rng.choice(leaves)
        n = len(transitions)
        add(f"jump_{n % 97}", source, target, with_input=n % 3 == 0,
            guard=("data.count + input.amount > params.threshold && data.level != \"low\""
                   if n % 3 == 0 else "data.score >= 0.0 && size(data.name) > 0"),
            effect="data.count + input.amount" if n % 3 == 0 else "data.count + 1")
    return "\n".join([*lines, "transitions:", *transitions]) + "\n"


def _timed(action: Callable[[], T], repeat: int) -> tuple[T, float]:
    """The action's last result and its median time in milliseconds."""
    times: list[float] = []
    while True:
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
        if len(times) >= repeat:
            return result, statistics.median(times)


def _load(text: str) -> CompiledWorkflow:
    result = load_text(text, "bench.yaml")
    errors = [d.format() for d in result.diagnostics if d.severity == "error"]
    if errors or result.spec is None:
        raise RuntimeError("the generated workflow does not validate: " + "; ".join(errors[:5]))
    ready = getattr(result, "compiled", None)
    return ready if ready is not None else compile_workflow(result.spec, text)


def _parse(text: str) -> WorkflowSpec:
    # The C parser when ruamel.yaml.clib is installed, as the loader does.
    return WorkflowSpec.model_validate(YAML(typ="safe").load(text))


def _scenarios(wf: CompiledWorkflow) -> list[tuple[CaseSnapshot, CompiledTransition,
                                                     dict[str, Any]]]:
    """Decisions that pass: every guarded leaf transition, from a case that satisfies it."""
    data = {"name": "上古健康服务中心", "count": 5, "score": 1.0, "flag": True, "level": "mid"}
    found = []
    for t in wf.transitions:
        source = t.spec.sources[0]
        if t.guard is None or source not in wf.states or wf.states[source].children:
            continue
        case = CaseSnapshot(source, data, NOW, checklist={"ok_" + source[-1]: True})
        given = {"amount": 2} if t.spec.input else {}
        if isinstance(decide(wf, case, t.trigger, given, ACTOR, NOW), Transition):
            found.append((case, t, given))
    if len(found) < 100:
        raise RuntimeError(f"only {len(found)} passing decisions in the generated workflow")
    return found


def _rate(action: Callable[[int], Any], count: int) -> float:
    started = time.perf_counter()
    action(count)
    return count / (time.perf_counter() - started)


def run(quick: bool) -> dict[str, float]:
    text = generate()
    repeat = 1 if quick else 5
    wf, compile_ms = _timed(lambda: _load(text), repeat)
    _, parse_ms = _timed(lambda: _parse(text), repeat)
    states, transitions = len(wf.states), len(wf.transitions)
    if (states, transitions) != (200, 600):
        raise RuntimeError(f"generated {states} states and {transitions} transitions")

    scenarios = _scenarios(wf)
    params = wf.resolve_params()
    count = 1_500 if quick else 30_000

    def deciding(n: int) -> None:
        for i in range(n):
            case, t, given = scenarios[i % len(scenarios)]
            decide(wf, case, t.trigger, given, ACTOR, NOW, params)

    envs = [((case.state, t.trigger), guard,
             {name: value for name, value in
              environment(wf, case, NOW, params).with_input(given).bindings().items()
              if name in guard.names})
            for case, t, given in scenarios if (guard := t.guard) is not None]

    def floor(n: int) -> None:
        table = wf.table
        for i in range(n):
            key, guard, bindings = envs[i % len(envs)]
            if table[key]:
                guard.program.execute(bindings)

    deciding(100)  # warm caches (the working-day calendar, CEL programs)
    floor(100)
    decide_rates, floor_rates = [], []
    for _ in range(3):  # interleaved, so that both see the same machine state
        decide_rates.append(_rate(deciding, count // 3))
        floor_rates.append(_rate(floor, count // 3))
    decide_rate, floor_rate = statistics.median(decide_rates), statistics.median(floor_rates)
    return {
        "language.workflow.states": float(states),
        "language.workflow.transitions": float(transitions),
        "language.compile.ms": round(compile_ms, 2),
        "language.parse.ms": round(parse_ms, 2),
        "language.compile.ratio_to_parse": round(compile_ms / parse_ms, 3),
        "language.decide.per_s": round(decide_rate, 1),
        "language.floor.per_s": round(floor_rate, 1),
        "language.decide.ratio_to_floor": round(decide_rate / floor_rate, 4),
    }
