"""A self-contained SVG of a workflow from the layered layout: boxes, arrows by kind,
labels and a legend; deterministic (the same definition gives the same bytes)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from engine.contrib.diagram.graph import EdgeKind, Lang, _graph, _Node, _spec_of, _word
from engine.contrib.diagram.layout import (
    _EDGE_STYLE,
    _FONT,
    _LABEL_SIZE,
    _LINE,
    _MARGIN,
    _NOTE_SIZE,
    _PAD_Y,
    _POINT,
    _TITLE_SIZE,
    _Box,
    _fmt,
    _Label,
    _layers,
    _place,
    _route,
    _spread,
    _text_width,
)
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import WorkflowSpec


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
