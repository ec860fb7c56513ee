"""The SVG's layered layout: rows by breadth-first distance from the initial state, one
barycentre sweep to reduce crossings, boxes sized to their text, arrows routed downwards
or around the side in lanes, labels spread so they do not overlap."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from engine.contrib.diagram.graph import Anchor, EdgeKind, _Edge, _Graph

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
