"""Mermaid `stateDiagram-v2` text of a workflow (see the package's docstring for why it is
generated here rather than by `transitions`)."""

from __future__ import annotations

from engine.contrib.diagram.graph import Lang, _graph, _spec_of
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import WorkflowSpec

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
