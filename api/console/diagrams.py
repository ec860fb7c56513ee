"""The workflow diagram on a record's page, with the record's stage highlighted: the SVG
that `engine.contrib.diagram` draws for designers, drawn once per workflow version,
language and stage, and kept (a version never changes)."""

from __future__ import annotations

import threading

from markupsafe import Markup

from engine.contrib.diagram import svg
from engine.core.compiler import CompiledWorkflow

_CACHE: dict[tuple[str, str, str, str], Markup] = {}
_LOCK = threading.Lock()
MAX_CACHED = 512


def case_diagram(wf: CompiledWorkflow, state: str, lang: str) -> Markup:
    """The diagram as markup to place in the page (our own SVG: no script, no style)."""
    key = (wf.id, wf.version, lang, state)
    found = _CACHE.get(key)
    if found is None:
        try:
            drawn = svg(wf, lang="zh" if lang == "zh" else "en", highlight=state)
        except ValueError:
            drawn = svg(wf, lang="zh" if lang == "zh" else "en")
        labelled = (drawn.replace("<svg xmlns", '<svg role="img" aria-labelledby='
                                  '"diagram-title" xmlns', 1)
                    .replace("<title>", '<title id="diagram-title">', 1))
        found = Markup(labelled)  # drawn by our own code, every text escaped
        with _LOCK:
            if len(_CACHE) >= MAX_CACHED:
                _CACHE.clear()
            _CACHE[key] = found
    return found
