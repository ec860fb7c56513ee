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
  `transitions` (`engine.core.machine` is meant to be the only one).

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

from engine.contrib.diagram.graph import Lang, timer_phrase
from engine.contrib.diagram.mermaid import mermaid
from engine.contrib.diagram.svg import svg

__all__ = ["Lang", "mermaid", "svg", "timer_phrase"]
