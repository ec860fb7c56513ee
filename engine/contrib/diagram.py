"""Diagrams of a workflow for the people who design and run it: Mermaid text and SVG.

`mermaid(workflow)` returns `stateDiagram-v2` text (the format GitHub, GitLab and most
wikis render inline); `svg(workflow)` returns a self-contained SVG drawn by a small layered
layout, for places without a Mermaid renderer. Both take a `CompiledWorkflow` or a bare
`WorkflowSpec`, label everything in the chosen language (zh or en, falling back to the
other), and do no I/O.

Why the Mermaid text is generated here rather than by `transitions`' own diagram support
(`transitions.extensions.diagrams`, `graph_engine="mermaid"`, evaluated on 0.9.3):

- it draws the graph of the machine's first model, so on the shared compiled machine
  (`model=None`) `get_combined_graph()` raises IndexError; it needs a second machine built
  with a model, and it styles that model's current state (the initial one) as "active";
- `NestedState` refuses a `label` argument (TypeError), so showing zh/en titles instead of
  ids needs custom state and transition classes; edge labels are bare trigger ids;
- it writes the title as a bare line between `---` fences, which Mermaid reads as front
  matter without a `title:` key and drops; it marks final states only when the state
  configuration carries `final`, and it does not escape `:` or `;` in labels, which end a
  Mermaid label early;
- it cannot tell automatic transitions and timer-fired ones from actions, which is what a
  designer most needs to see, and importing it would make a second module depend on
  `transitions` (the compiler is meant to be the only one).

Nested states (`.`-separated paths in the machine) do render as nested `state X { }`
blocks there; here they do too, with each state's own id, since ids are unique across a
whole workflow.

The SVG needs neither Graphviz nor Node at run time: states are rounded boxes placed in
rows by their breadth-first distance from the initial state (a composite stage leads to its
first step by a dashed "start" arrow), rows are ordered by one barycentre sweep to reduce
crossings, forward arrows run downwards, arrows back up or within a row curve around the
side. The output is deterministic: the same definition gives the same bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal
from xml.sax.saxutils import escape

from engine.core.compiler import CompiledWorkflow
from engine.language.spec import StateSpec, TimerSpec, TransitionSpec, WorkflowSpec, as_text
from engine.language.texts import Values, fill
from engine.language.tree import tree_of
from engine.timers.calendar import DurationError, parse_duration

Lang = Literal["zh", "en"]
EdgeKind = Literal["action", "automatic", "timer", "start"]
Anchor = Literal["start", "middle", "end"]

__all__ = ["mermaid", "svg", "timer_phrase"]

_WORDS: dict[str, tuple[str, str]] = {
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
}
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
    en, zh = _WORDS[key]
    return (zh if lang == "zh" else en).format(**args)


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


# --- Mermaid ---------------------------------------------------------------------------

# Words the Mermaid state-diagram lexer reads as keywords at the start of a statement.
_MERMAID_KEYWORDS = frozenset({
    "state", "note", "class", "classdef", "style", "scale", "hide", "direction", "click",
    "acctitle", "accdescr", "statediagram", "end", "as", "left", "right", "of",
})
CURRENT_STYLE = "fill:#fde68a,stroke:#b45309,stroke-width:3px"
FINAL_STYLE = "fill:#e5e7eb,stroke:#374151"


def _mermaid_id(sid: str) -> str:
    """Designers' ids are lower case, so an upper-case suffix cannot collide with one."""
    return f"{sid}_S" if sid in _MERMAID_KEYWORDS else sid


def _mermaid_text(text: str) -> str:
    """A label Mermaid reads whole: no line breaks, quotes, colons or semicolons."""
    flat = " ".join(text.split())
    return (flat.replace('"', "'").replace(":", "∶").replace(";", "；")
            .replace("{", "(").replace("}", ")"))


def mermaid(workflow: CompiledWorkflow | WorkflowSpec, *, lang: Lang = "en",
            highlight: str | None = None) -> str:
    """Mermaid `stateDiagram-v2` text of the workflow, labelled in `lang`.

    Composite states are nested `state X { ... }` blocks entered at their initial step;
    `[*] -->` marks where a case starts and `--> [*]` the final states. Automatic and
    timer-fired transitions say so in their labels; timers that do not fire a trigger are
    listed inside their state. `highlight` names a state (a case's current one) drawn with
    the `current` class.
    """
    spec = _spec_of(workflow)
    graph = _graph(spec, lang)
    if highlight is not None and highlight not in graph.nodes:
        raise ValueError(f"cannot highlight '{highlight}': the workflow has no such state")
    title = _mermaid_text(f"{graph.title} {spec.version}").replace("'", "''")
    lines = ["---", f"title: '{title}'", "---", "stateDiagram-v2"]

    def block(ids: list[str], depth: int) -> None:
        pad = "    " * depth
        for sid in ids:
            node = graph.nodes[sid]
            mid = _mermaid_id(sid)
            lines.append(f'{pad}state "{_mermaid_text(node.label)}" as {mid}')
            if not node.children:
                lines.extend(f"{pad}{mid} : {_mermaid_text(note)}" for note in node.notes)
            else:
                lines.append(f"{pad}state {mid} {{")
                if node.initial_child is not None:
                    lines.append(f"{pad}    [*] --> {_mermaid_id(node.initial_child)}")
                block(node.children, depth + 1)
                lines.append(f"{pad}}}")
                # Mermaid refuses descriptions on a composite state; a note carries them.
                if node.notes:
                    lines.append(f"{pad}note right of {mid}")
                    lines.extend(f"{pad}    {_mermaid_text(note)}" for note in node.notes)
                    lines.append(f"{pad}end note")
            if node.final:
                lines.append(f"{pad}{mid} --> [*]")

    block(graph.roots(), 1)
    lines.append(f"    [*] --> {_mermaid_id(graph.initial)}")
    for edge in graph.edges:
        lines.append(f"    {_mermaid_id(edge.source)} --> {_mermaid_id(edge.target)} : "
                     f"{_mermaid_text(edge.label)}")
    finals = [_mermaid_id(n.id) for n in graph.nodes.values() if n.final]
    if finals:
        lines.append(f"    classDef final {FINAL_STYLE}")
        lines.append(f"    class {','.join(finals)} final")
    if highlight is not None:
        lines.append(f"    classDef current {CURRENT_STYLE}")
        lines.append(f"    class {_mermaid_id(highlight)} current")
    return "\n".join(lines) + "\n"


# --- SVG -------------------------------------------------------------------------------

_FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
_TITLE_SIZE = 14
_NOTE_SIZE = 11
_LABEL_SIZE = 11
_PAD_X, _PAD_Y = 14, 10
_ROW_GAP = 96
_COL_GAP = 56
_MARGIN = 30
_LINE = 16
_LANE = 18
_POINT = re.compile(r"(-?[0-9.]+),(-?[0-9.]+)")
_EDGE_STYLE: dict[EdgeKind, str] = {
    "action": 'stroke="#374151"',
    "automatic": 'stroke="#1d4ed8" stroke-dasharray="7 4"',
    "timer": 'stroke="#b45309" stroke-dasharray="2 3"',
    "start": 'stroke="#6b7280" stroke-dasharray="4 4"',
}


def _text_width(text: str, size: float) -> float:
    """Rendered width estimate: CJK and other wide characters take a full em."""
    return sum(size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.6
               for ch in text)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float
    row: int
    slot: float  # the width it occupies in its row, with a self-loop and its label

    @property
    def reach(self) -> float:
        return self.x + self.slot

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class _Label:
    text: str
    x: float
    y: float
    anchor: Anchor

    def extent(self) -> tuple[float, float]:
        width = _text_width(self.text, _LABEL_SIZE)
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}
        return left[self.anchor], left[self.anchor] + width


def _layers(graph: _Graph) -> list[list[str]]:
    """Rows of state ids by breadth-first distance from the initial state.

    A composite stage leads to its first step; states no path reaches go in a last row.
    """
    succ: dict[str, list[str]] = {sid: [] for sid in graph.nodes}
    for sid, node in graph.nodes.items():
        if node.initial_child is not None:
            succ[sid].append(node.initial_child)
    for edge in graph.edges:
        if edge.target not in succ[edge.source]:
            succ[edge.source].append(edge.target)
    depth = {graph.initial: 0}
    queue = [graph.initial]
    for sid in queue:
        for nxt in succ[sid]:
            if nxt not in depth:
                depth[nxt] = depth[sid] + 1
                queue.append(nxt)
    # A stage sits just above its first step, also when transitions lead to its steps
    # directly (and never to the stage); inner stages are settled before outer ones.
    for sid in reversed(graph.nodes):
        child = graph.nodes[sid].initial_child
        if child in depth and depth.get(sid, depth[child]) >= depth[child]:
            depth[sid] = max(depth[child] - 1, 0)
            if sid not in queue:
                queue.append(sid)
    levels = sorted(set(depth.values()))
    rows: list[list[str]] = [[] for _ in levels]
    for sid in queue:
        rows[levels.index(depth[sid])].append(sid)
    unreached = [sid for sid in graph.nodes if sid not in depth]
    if unreached:
        rows.append(unreached)
    # One barycentre sweep: order each row by the mean position of its predecessors above.
    preds: dict[str, list[str]] = {sid: [] for sid in graph.nodes}
    for sid, nexts in succ.items():
        for nxt in nexts:
            preds[nxt].append(sid)
    position: dict[str, float] = {sid: float(i) for i, sid in enumerate(rows[0])}
    row_of = {sid: r for r, row in enumerate(rows) for sid in row}
    for r, row in enumerate(rows[1:], start=1):
        def key(item: tuple[int, str], r: int = r) -> tuple[float, int]:
            index, sid = item
            above = [position[p] for p in preds[sid] if row_of[p] < r]
            return (sum(above) / len(above) if above else float(index), index)

        row[:] = [sid for _, sid in sorted(enumerate(row), key=key)]
        position.update({sid: float(i) for i, sid in enumerate(row)})
    return rows


def _place(graph: _Graph, rows: list[list[str]], lines: Mapping[str, list[str]]
           ) -> dict[str, _Box]:
    """Boxes sized to their text, rows centred on x = 0; a self-loop widens its box's slot."""
    loops = {e.source: _text_width(e.label, _LABEL_SIZE) + 56
             for e in graph.edges if e.source == e.target}
    sizes: dict[str, tuple[float, float]] = {}
    for sid, text in lines.items():
        width = max(_text_width(text[0], _TITLE_SIZE),
                    *(_text_width(t, _NOTE_SIZE) for t in text[1:]), 60.0)
        sizes[sid] = (width + 2 * _PAD_X, 2 * _PAD_Y + _TITLE_SIZE + (len(text) - 1) * _LINE)
    boxes: dict[str, _Box] = {}
    y = 0.0
    for r, row in enumerate(rows):
        slots = [sizes[s][0] + loops.get(s, 0.0) for s in row]
        x = -(sum(slots) + _COL_GAP * (len(row) - 1)) / 2
        height = max(sizes[s][1] for s in row)
        for sid, slot in zip(row, slots, strict=True):
            w, h = sizes[sid]
            boxes[sid] = _Box(x, y + (height - h) / 2, w, h, r, slot)
            x += slot + _COL_GAP
        y += height + _ROW_GAP
    return boxes


def _route(graph: _Graph, boxes: Mapping[str, _Box], start_label: str
           ) -> list[tuple[_Edge, str, _Label]]:
    """A path and a label position for every edge (and every composite's start arrow).

    Arrows to the next row go straight down (bowed apart when two join the same pair of
    states); arrows within a row go side to side or arc over it; arrows back up run in a
    lane to the right of everything they pass, arrows skipping rows in a lane to the left.
    """
    edges = list(graph.edges) + [
        _Edge(sid, n.initial_child, "start", [start_label])
        for sid, n in graph.nodes.items() if n.initial_child is not None
    ]
    pairs: dict[tuple[str, str], int] = {}
    for e in edges:
        pairs[(e.source, e.target)] = pairs.get((e.source, e.target), 0) + 1
    rows: dict[int, list[_Box]] = {}
    for box in boxes.values():
        rows.setdefault(box.row, []).append(box)
    seen: dict[tuple[str, str], int] = {}
    lanes = {"right": 0, "left": 0, "over": 0}
    routed: list[tuple[_Edge, str, _Label]] = []
    for e in edges:
        a, b = boxes[e.source], boxes[e.target]
        key = (e.source, e.target)
        k = seen[key] = seen.get(key, -1) + 1
        bow = (k - (pairs[key] - 1) / 2) * 2 * _LANE
        if e.source == e.target:
            x, y = a.right, a.cy + bow / 3
            d = (f"M{_fmt(x)},{_fmt(y - 8)} C{_fmt(x + 44)},{_fmt(y - 32)} "
                 f"{_fmt(x + 44)},{_fmt(y + 32)} {_fmt(x)},{_fmt(y + 8)}")
            routed.append((e, d, _Label(e.label, x + 42, y + 4, "start")))
        elif b.row == a.row + 1:
            x1, y1, x2, y2 = a.cx + bow / 2, a.bottom, b.cx + bow / 2, b.y
            cx, cy = (x1 + x2) / 2 + bow, (y1 + y2) / 2
            d = f"M{_fmt(x1)},{_fmt(y1)} Q{_fmt(cx)},{_fmt(cy)} {_fmt(x2)},{_fmt(y2)}"
            mx, my = (x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4
            # Bowed twins put their labels on their outer sides so that they never overlap.
            anchor: Anchor = "middle" if not bow else ("end" if bow < 0 else "start")
            mx += 0 if not bow else (-4 if bow < 0 else 4)
            routed.append((e, d, _Label(e.label, mx, my + 4, anchor)))
        elif b.row == a.row:
            between = [c for c in rows[a.row] if min(a.cx, b.cx) < c.cx < max(a.cx, b.cx)]
            looped = a.slot > a.w or b.slot > b.w
            if not between and not bow and not looped:
                x1, x2 = (a.right, b.x) if a.cx < b.cx else (a.x, b.right)
                d = f"M{_fmt(x1)},{_fmt(a.cy)} L{_fmt(x2)},{_fmt(b.cy)}"
                routed.append((e, d, _Label(e.label, (x1 + x2) / 2, a.cy - 5, "middle")))
            else:
                lanes["over"] += 1
                top = min(a.y, b.y) - 30 - _LANE * lanes["over"]
                d = (f"M{_fmt(a.cx)},{_fmt(a.y)} C{_fmt(a.cx)},{_fmt(top)} "
                     f"{_fmt(b.cx)},{_fmt(top)} {_fmt(b.cx)},{_fmt(b.y)}")
                label = _Label(e.label, (a.cx + b.cx) / 2, 0.25 * min(a.y, b.y) + 0.75 * top,
                               "middle")
                routed.append((e, d, label))
        else:
            side = "right" if b.row < a.row else "left"
            n = lanes[side] = lanes[side] + 1
            low, high = sorted((a.row, b.row))
            passed = [c for c in boxes.values() if low <= c.row <= high]
            if side == "right":
                lane = max(c.reach for c in passed) + 24 + _LANE * n
            else:
                lane = min(c.x for c in passed) - 24 - _LANE * n
            d = " ".join((_lane_end(a, rows[a.row], side, lane, n, leaving=True),
                          f"L{_fmt(lane)},{_fmt(_lane_y(b, rows[b.row], side, n))}",
                          _lane_end(b, rows[b.row], side, lane, n, leaving=False)))
            y1, y2 = _lane_y(a, rows[a.row], side, n), _lane_y(b, rows[b.row], side, n)
            # Labels of neighbouring lanes are staggered so that they do not sit on each other.
            y = (y1 + y2) / 2 + 4 + ((n - 1) % 3 - 1) * 16
            lane_anchor: Anchor = "start" if side == "right" else "end"
            offset = 5.0 if side == "right" else -5.0
            routed.append((e, d, _Label(e.label, lane + offset, y, lane_anchor)))
    return routed


def _spread(labels: list[_Label]) -> None:
    """Move each label down until it overlaps none placed before it (a greedy pass)."""
    placed: list[tuple[float, float, float, float]] = []
    for label in labels:
        left, right = label.extent()
        while any(left < r and x < right and label.y - _LABEL_SIZE < b and t < label.y + 4
                  for x, r, t, b in placed):
            label.y += _LABEL_SIZE + 4
        placed.append((left, right, label.y - _LABEL_SIZE, label.y + 4))


def _outermost(box: _Box, row: list[_Box], side: str) -> bool:
    """Whether nothing else in the row lies between `box` and the lanes on `side`."""
    if side == "right":
        # A self-loop and its label take the right side of a box.
        return box.slot == box.w and all(other.x <= box.x for other in row)
    return all(other.x >= box.x for other in row)


def _lane_y(box: _Box, row: list[_Box], side: str, n: int) -> float:
    """Where a lane edge turns towards `box`: level with it, or in the gap just above it."""
    return box.cy if _outermost(box, row, side) else box.y - 12 - 3 * (n % 4)


def _lane_end(box: _Box, row: list[_Box], side: str, lane: float, n: int, *,
              leaving: bool) -> str:
    """The path piece between `box` and its lane, through its side when it is the row's
    outermost box, else through its top, so that the edge never crosses another box."""
    if _outermost(box, row, side):
        x, y = (box.reach if side == "right" else box.x), box.cy
        if leaving:
            return f"M{_fmt(x)},{_fmt(y)} L{_fmt(lane)},{_fmt(y)}"
        return f"L{_fmt(lane)},{_fmt(y)} L{_fmt(x)},{_fmt(y)}"
    x = box.x + box.w * (0.8 if side == "right" else 0.2)
    y = _lane_y(box, row, side, n)
    if leaving:
        # Leave through the bottom instead, into the gap below the row.
        below = box.bottom + 12 + 3 * (n % 4)
        return (f"M{_fmt(x)},{_fmt(box.bottom)} L{_fmt(x)},{_fmt(below)} "
                f"L{_fmt(lane)},{_fmt(below)}")
    return f"L{_fmt(lane)},{_fmt(y)} L{_fmt(x)},{_fmt(y)} L{_fmt(x)},{_fmt(box.y)}"


def svg(workflow: CompiledWorkflow | WorkflowSpec, *, lang: Lang = "en",
        highlight: str | None = None) -> str:
    """A self-contained SVG of the workflow, labelled in `lang` (UTF-8 text)."""
    spec = _spec_of(workflow)
    graph = _graph(spec, lang)
    if highlight is not None and highlight not in graph.nodes:
        raise ValueError(f"cannot highlight '{highlight}': the workflow has no such state")
    lines = {
        sid: [n.label, *(["↳ " + graph.nodes[n.parent].label] if n.parent else []), *n.notes]
        for sid, n in graph.nodes.items()
    }
    boxes = _place(graph, _layers(graph), lines)
    routed = _route(graph, boxes, _word("start", lang))
    _spread([label for _, _, label in routed])

    start = boxes[graph.initial]
    points = [(float(x), float(y)) for _, d, _ in routed for x, y in _POINT.findall(d)]
    xs = [x for c in boxes.values() for x in (c.x, c.reach)] + [x for x, _ in points]
    ys = [start.y - 42, *(c.bottom for c in boxes.values()), *(y for _, y in points)]
    for _, _, label in routed:
        xs.extend(label.extent())
        ys.extend((label.y - _LABEL_SIZE - 1, label.y + 4))
    title = f"{graph.title} {spec.version}"
    legend_w = sum(46 + _text_width(_word(f"legend_{k}", lang), _LABEL_SIZE)
                   for k in _EDGE_STYLE)
    left = min(xs)
    right = max(*xs, left + legend_w, left + _text_width(title, 16))
    top, bottom = min(ys), max(ys)
    dx, dy = _MARGIN - left, _MARGIN + 30 - top  # room for the title above
    width, height = right - left + 2 * _MARGIN, bottom - top + 2 * _MARGIN + 70

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_fmt(width)}" '
        f'height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
        f'font-family="{_FONT}">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#374151"/></marker></defs>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="{_MARGIN}" y="{_MARGIN + 12}" font-size="16" font-weight="bold" '
        f'fill="#111827">{escape(title)}</text>',
        f'<g transform="translate({_fmt(dx)},{_fmt(dy)})">',
        f'<circle class="start" cx="{_fmt(start.cx)}" cy="{_fmt(start.y - 34)}" r="7" '
        'fill="#111827"/>',
        _path(f"M{_fmt(start.cx)},{_fmt(start.y - 27)} L{_fmt(start.cx)},{_fmt(start.y)}",
              "action"),
    ]
    out.extend(_path(d, e.kind) for e, d, _ in routed)
    for sid, node in graph.nodes.items():
        out.extend(_box_svg(node, boxes[sid], lines[sid], sid == highlight))
    for _, _, label in routed:
        out.extend(_label_svg(label))
    out.append("</g>")
    out.extend(_legend(lang, _MARGIN, height - _MARGIN))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _path(d: str, kind: EdgeKind) -> str:
    return (f'<path class="edge {kind}" d="{d}" fill="none" stroke-width="1.4" '
            f'{_EDGE_STYLE[kind]} marker-end="url(#arrow)"/>')


def _label_svg(label: _Label) -> list[str]:
    left, right = label.extent()
    return [
        f'<rect x="{_fmt(left - 3)}" y="{_fmt(label.y - _LABEL_SIZE - 1)}" '
        f'width="{_fmt(right - left + 6)}" height="{_fmt(_LABEL_SIZE + 5)}" fill="#ffffff" '
        'fill-opacity="0.9"/>',
        f'<text x="{_fmt(label.x)}" y="{_fmt(label.y)}" font-size="{_LABEL_SIZE}" '
        f'text-anchor="{label.anchor}" fill="#111827">{escape(label.text)}</text>',
    ]


def _box_svg(node: _Node, box: _Box, lines: list[str], current: bool) -> list[str]:
    fill = "#fde68a" if current else ("#e5e7eb" if node.final else "#f9fafb")
    stroke = "#b45309" if current else "#374151"
    width = 3 if current else 1.4
    dash = ' stroke-dasharray="6 3"' if node.children else ""
    cls = "state" + (" final" if node.final else "") + (" current" if current else "")
    out = [f'<g class="{cls}" id="state-{node.id}">',
           f'<rect x="{_fmt(box.x)}" y="{_fmt(box.y)}" width="{_fmt(box.w)}" '
           f'height="{_fmt(box.h)}" rx="10" ry="10" fill="{fill}" stroke="{stroke}" '
           f'stroke-width="{width}"{dash}/>']
    if node.final:
        out.append(f'<rect x="{_fmt(box.x + 4)}" y="{_fmt(box.y + 4)}" '
                   f'width="{_fmt(box.w - 8)}" height="{_fmt(box.h - 8)}" rx="7" ry="7" '
                   f'fill="none" stroke="{stroke}"/>')
    y = box.y + _PAD_Y + _TITLE_SIZE
    out.append(f'<text x="{_fmt(box.cx)}" y="{_fmt(y)}" font-size="{_TITLE_SIZE}" '
               f'text-anchor="middle" fill="#111827">{escape(lines[0])}</text>')
    for line in lines[1:]:
        y += _LINE
        out.append(f'<text x="{_fmt(box.cx)}" y="{_fmt(y)}" font-size="{_NOTE_SIZE}" '
                   f'text-anchor="middle" fill="#4b5563">{escape(line)}</text>')
    out.append("</g>")
    return out


def _legend(lang: Lang, x: float, y: float) -> list[str]:
    out = []
    for kind in _EDGE_STYLE:
        label = _word(f"legend_{kind}", lang)
        out.append(_path(f"M{_fmt(x)},{_fmt(y)} L{_fmt(x + 30)},{_fmt(y)}", kind))
        out.append(f'<text x="{_fmt(x + 36)}" y="{_fmt(y + 4)}" font-size="{_LABEL_SIZE}" '
                   f'fill="#374151">{escape(label)}</text>')
        x += 46 + _text_width(label, _LABEL_SIZE)
    return out
