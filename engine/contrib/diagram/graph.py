"""The neutral graph both renderers draw: each state with its title and notes (its
timers, in words), each transition as an edge of its kind (action, automatic, timer,
start), labelled in the chosen language."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from engine.catalogue import Catalogue
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import StateSpec, TimerSpec, TransitionSpec, WorkflowSpec, as_text
from engine.language.texts import Values, fill
from engine.language.tree import tree_of
from engine.timers.calendar import DurationError, parse_duration

Lang = Literal["zh", "en"]
EdgeKind = Literal["action", "automatic", "timer", "start"]
Anchor = Literal["start", "middle", "end"]

_WORDS = Catalogue.en_zh("diagram", {
    "automatic": ("automatic", "自动"),
    "timer": ("timer", "定时"),
    "start": ("start", "开始"),
    "after": ("{length} after {field}", "{field}后{length}"),
    "every": ("every {length}", "每{length}"),
    "working_days": ("{n} working days", "{n}个工作日"),
    "days": ("{n} days", "{n}天"),
    "mark_overdue": ("marks overdue", "标记逾期"),
    "escalate": ("escalates", "上报提醒"),
    "legend_action": ("action", "操作"),
    "legend_automatic": ("automatic", "自动"),
    "legend_timer": ("timer", "定时"),
    "legend_start": ("first step", "起始步骤"),
})
_UNITS: tuple[tuple[str, str, str, str], ...] = (
    ("years", "year", "years", "年"),
    ("months", "month", "months", "个月"),
    ("weeks", "week", "weeks", "周"),
    ("days", "day", "days", "天"),
    ("hours", "hour", "hours", "小时"),
    ("minutes", "minute", "minutes", "分钟"),
    ("seconds", "second", "seconds", "秒"),
)


def _word(key: str, lang: Lang, **args: object) -> str:
    return _WORDS.text(key, lang, **args)


# --- the neutral graph both renderers draw ---------------------------------------------


@dataclass
class _Node:
    id: str
    label: str
    parent: str | None
    children: list[str]
    initial_child: str | None
    final: bool
    notes: list[str]


@dataclass
class _Edge:
    source: str
    target: str
    kind: EdgeKind
    labels: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return " / ".join(self.labels)


@dataclass
class _Graph:
    title: str
    initial: str
    nodes: dict[str, _Node]
    edges: list[_Edge]

    def roots(self) -> list[str]:
        return [n.id for n in self.nodes.values() if n.parent is None]


def _spec_of(workflow: CompiledWorkflow | WorkflowSpec) -> WorkflowSpec:
    return workflow.spec if isinstance(workflow, CompiledWorkflow) else workflow


def _walk(states: Mapping[str, StateSpec], parent: str | None
          ) -> Iterator[tuple[str, StateSpec, str | None]]:
    for sid, spec in states.items():
        yield sid, spec, parent
        yield from _walk(spec.states, sid)


def _length(timer: TimerSpec, spec: WorkflowSpec, lang: Lang) -> str:
    """A timer's length in words, with parameters shown at their default values."""
    def resolve(value: int | str) -> int | float | str:
        if isinstance(value, str) and value.startswith("params."):
            param = spec.parameters.get(value.removeprefix("params."))
            if param is not None and not isinstance(param.default, bool):
                return param.default
        return value

    if timer.working_days is not None:
        return _word("working_days", lang, n=resolve(timer.working_days))
    if timer.days is not None:
        working = resolve(timer.counting) == "working"
        return _word("working_days" if working else "days", lang, n=resolve(timer.days))
    text = str(resolve(timer.duration or ""))
    try:
        duration = parse_duration(text)
    except DurationError:
        return text
    parts = []
    for attr, one, many, zh in _UNITS:
        amount = getattr(duration, attr)
        if amount:
            parts.append(f"{amount}{zh}" if lang == "zh"
                         else f"{amount} {one if amount == 1 else many}")
    return ("" if lang == "zh" else " ").join(parts) or ("0天" if lang == "zh" else "0 days")


def _timer_phrase(timer: TimerSpec, spec: WorkflowSpec, lang: Lang) -> str:
    """`5 working days`, `every 6 months`, `1 year after Agreement date`."""
    length = _length(timer, spec, lang)
    if timer.relative_to != "entry":
        field_spec = spec.fields.get(timer.relative_to)
        name = as_text(field_spec.title if field_spec else None, lang, timer.relative_to)
        return _word("after", lang, length=length, field=name)
    return _word("every", lang, length=length) if timer.repeat else length


def timer_phrase(timer: TimerSpec, spec: WorkflowSpec, lang: Lang) -> str:
    """A timer's length as the diagram writes it (`5个工作日`, `每6个月`), for pages that
    describe a workflow in words."""
    return _timer_phrase(timer, spec, lang)


def _bracket(text: str, note: str, lang: Lang) -> str:
    return f"{text}（{note}）" if lang == "zh" else f"{text} ({note})"


def _shown(spec: WorkflowSpec) -> Values:
    """Placeholders in titles show parameters at their defaults and fields by their titles."""
    defaults = {name: p.default for name, p in spec.parameters.items()}
    return Values(fields=spec.fields, parameters=spec.parameters, params=defaults, data={},
                  input_fields={}, input={})


def _graph(spec: WorkflowSpec, lang: Lang) -> _Graph:
    shown = _shown(spec)
    nodes: dict[str, _Node] = {}
    fired_by: dict[tuple[str, str], TimerSpec] = {}
    for sid, state, parent in _walk(spec.states, None):
        notes = []
        for timer in state.timers:
            if timer.action == "fire" and timer.trigger is not None:
                fired_by.setdefault((sid, timer.trigger), timer)
                continue
            note = _word("timer", lang) + ("，" if lang == "zh" else ", ")
            note += _timer_phrase(timer, spec, lang)
            title = fill(timer.title, lang, shown, timer.id)
            does = ("、" if lang == "zh" else ", ").join(_word(a, lang) for a in timer.actions)
            notes.append(f"{_bracket(title, note, lang)} → {does}")
        nodes[sid] = _Node(
            id=sid, label=fill(state.title, lang, shown, sid), parent=parent,
            children=list(state.states),
            initial_child=next((c for c, s in state.states.items() if s.initial), None),
            final=state.final, notes=notes,
        )
    initial = next((sid for sid, s in spec.states.items() if s.initial), next(iter(spec.states)))
    edges: dict[tuple[str, str, EdgeKind], _Edge] = {}
    for t in spec.transitions:
        if t.to not in nodes:
            continue
        for source in _sources(t, spec, nodes):
            kind, label = _edge_label(t, source, nodes, fired_by, spec, lang)
            edge = edges.setdefault((source, t.to, kind), _Edge(source, t.to, kind))
            if label not in edge.labels:
                edge.labels.append(label)
    return _Graph(fill(spec.title, lang, shown, spec.id), initial, nodes, list(edges.values()))


def _sources(t: TransitionSpec, spec: WorkflowSpec, nodes: Mapping[str, _Node]) -> list[str]:
    """Declared sources; `any` is every top-level non-final state, as the compiler reads it."""
    if t.sources == ["any"]:
        return [sid for sid, s in spec.states.items() if not s.final]
    return [s for s in t.sources if s in nodes]


def _edge_label(t: TransitionSpec, source: str, nodes: Mapping[str, _Node],
                fired_by: Mapping[tuple[str, str], TimerSpec], spec: WorkflowSpec,
                lang: Lang) -> tuple[EdgeKind, str]:
    label = fill(t.title, lang, _shown(spec), t.trigger)
    if t.automatic:
        return "automatic", _bracket(label, _word("automatic", lang), lang)
    # A timer fires the trigger of the state it sits on; the edge may be declared on that
    # state, on one of its ancestors (inherited) or on one of its children.
    tree = tree_of(spec.states)
    related = {*tree.lineage(source), *tree.subtree(source)} if source in nodes else {source}
    timer = next((fired_by[(s, t.trigger)] for s in sorted(related)
                  if (s, t.trigger) in fired_by), None)
    if timer is not None:
        note = _word("timer", lang) + ("，" if lang == "zh" else ", ")
        return "timer", _bracket(label, note + _timer_phrase(timer, spec, lang), lang)
    return "action", label
