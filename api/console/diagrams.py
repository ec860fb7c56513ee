"""The workflow diagram on a record's page, with the record's stage highlighted: the SVG
that `engine.contrib.diagram` draws for designers, drawn once per workflow version,
language and stage, and kept (a version never changes)."""

from __future__ import annotations

import threading

from markupsafe import Markup

from engine.contrib.diagram import Lang, svg
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import WorkflowSpec

_CACHE: dict[tuple[str, str, str, str], Markup] = {}
_LOCK = threading.Lock()
MAX_CACHED = 512


def labelled(drawn: str) -> Markup:
    """An SVG the diagram module drew, named for assistive technology by its title."""
    return Markup(drawn.replace("<svg xmlns", '<svg role="img" aria-labelledby='
                                '"diagram-title" xmlns', 1)
                  .replace("<title>", '<title id="diagram-title">', 1))


def draft_diagram(spec: WorkflowSpec, lang: str) -> Markup | None:
    """The diagram of a definition not stored yet (None when it cannot be drawn)."""
    try:
        return labelled(svg(spec, lang="zh" if lang == "zh" else "en"))
    except Exception:  # a definition with errors may not draw; its diagnostics say why
        return None


def workflow_diagram(wf: CompiledWorkflow, lang: str) -> Markup:
    """A stored version's diagram, nothing highlighted."""
    return case_diagram(wf, "", lang)


def case_diagram(wf: CompiledWorkflow, state: str, lang: str) -> Markup:
    """The diagram as markup to place in the page (our own SVG: no script, no style)."""
    key = (wf.id, wf.version, lang, state)
    found = _CACHE.get(key)
    if found is None:
        chosen: Lang = "zh" if lang == "zh" else "en"
        try:
            drawn = svg(wf, lang=chosen, highlight=state or None)
        except ValueError:
            drawn = svg(wf, lang=chosen)
        found = labelled(drawn)  # drawn by our own code, every text escaped
        with _LOCK:
            if len(_CACHE) >= MAX_CACHED:
                _CACHE.clear()
            _CACHE[key] = found
    return found
