"""Turning a YAML node graph into plain data (dicts, lists, strings, numbers, booleans,
None) and, when a diagnostic needs them, the positions of every key and value.

- No YAML tag can construct a Python object: any tag outside the core schema
  (`!!python/object`, `!!binary`, `!!set`, a local `!tag`) is refused with a diagnostic.
- Anchors and aliases are allowed, but an alias is expanded at most `MAX_ALIAS_VALUES`
  values in total and may not contain itself, so a "billion laughs" file is refused
  instead of exhausting memory.
- Duplicate keys are reported at the second occurrence (the first one is kept).
- Positions are noted only when a diagnostic needs one. A file of untagged values,
  written-out keys, aliases and merges within the limits (nearly every file) is read by
  a quick walk (`plain_data`) that notes none; the source map is filled from the same
  nodes, by the careful walk (`Builder`), at the first lookup (`fill_source_map`).
  Anything else (a tag, a duplicate key, a bomb) is read by the careful walk at once,
  which says what is wrong. For 200 states this takes the node walk from about 25 to
  3 ms.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.definitions.yaml_nodes import (
    BOOL,
    BOOL_TAG,
    FLOAT,
    FLOAT_TAG,
    INT,
    INT_TAG,
    MAP,
    MAP_TAG,
    MERGE,
    MERGE_TAG,
    NULL,
    NULL_TAG,
    SCALARS,
    SEQ,
    SEQ_TAG,
    STR,
    STR_TAG,
    TAG_PREFIX,
    tag_of,
)
from engine.language.diagnostics import Reporter, ScalarSpan, SourceMap, Words, YamlPath

MAX_ALIAS_VALUES = 10_000


class Refused(Exception):
    """The whole file is refused (YAML bomb, recursive alias)."""

    def __init__(self, code: str, path: YamlPath, **args: Any) -> None:
        super().__init__(code)
        self.code = code
        self.path = path
        self.args_ = args


def mark_position(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


class Unclean(Exception):
    """The quick walk met something only `Builder` handles: an explicit tag, a complex
    or a duplicate key, a merge of something else than mappings, or more alias copies
    than `MAX_ALIAS_VALUES` (a bomb, or an alias that contains itself)."""


# Keys are read as their text whatever they resolve to (`1:` is the key "1"); a key with
# an explicit tag (`!!merge <<`, `!x key`) is left to the careful walk.
_PLAIN_KEY_TAGS = (STR_TAG, INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG)


def plain_data(root: Node, nodes: int) -> Any:
    """The plain data of a node graph that holds nothing but untagged core-schema values
    and written-out keys, without noting any position: the common case, about five
    times faster than `Builder`. Raises `Unclean` for anything else.

    Aliases and merge keys read as `Builder` reads them (a fresh copy at each use, keys
    written in a mapping winning over merged ones). Each of the `nodes` composed nodes is
    reached once unless an alias names it again, so allowing `nodes + MAX_ALIAS_VALUES`
    visits bounds the copies as `Builder` does, without a set of visited nodes; past it
    (a bomb, or an alias that contains itself) the careful walk says what is wrong.
    """
    try:
        return _QuickWalk(nodes + MAX_ALIAS_VALUES).value(root)
    except RecursionError:  # an alias that contains itself, followed round and round
        raise Unclean from None


class _QuickWalk:
    """`plain_data`'s walk (an object rather than a recursive closure, which would be a
    reference cycle left to the collector)."""

    __slots__ = ("budget",)

    def __init__(self, budget: int) -> None:
        self.budget = budget  # visits left

    def value(self, node: Node) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise Unclean
        tag = node.ctag
        if tag is STR_TAG:
            return node.value
        if tag is MAP_TAG:
            result: dict[str, Any] = {}
            merges: list[Node] = []
            for key_node, value_node in node.value:
                key_tag = key_node.ctag
                if key_tag is MERGE_TAG:
                    self.budget -= 1
                    merges.append(value_node)
                    continue
                if key_node.__class__ not in SCALARS or (
                        key_tag is not STR_TAG and key_tag not in _PLAIN_KEY_TAGS):
                    raise Unclean
                key = key_node.value
                if key in result:
                    raise Unclean
                if value_node.ctag is STR_TAG:  # most values are text: read here, not by a call
                    self.budget -= 2
                    if self.budget < 0:
                        raise Unclean
                    result[key] = value_node.value
                else:
                    self.budget -= 1
                    result[key] = self.value(value_node)
            for merge in merges:
                for part in merge.value if isinstance(merge, SequenceNode) else [merge]:
                    if not isinstance(part, MappingNode):
                        raise Unclean
                    for key, merged in self.value(part).items():
                        result.setdefault(key, merged)
            return result
        if tag is SEQ_TAG:
            return [self.value(item) for item in node.value]
        if tag is NULL_TAG:
            return None
        if tag is BOOL_TAG:
            return node.value.lower() == "true"  # resolved: one of the six spellings
        try:
            if tag is INT_TAG:
                return _to_int(node.value)
            if tag is FLOAT_TAG:
                return _to_float(node.value)
        except ValueError:
            pass
        raise Unclean


class Builder:
    """Turns the node graph into plain data, recording where each path is written.

    Used when `plain_data` cannot (the file has tags or problems to report), and to fill
    the source map when a diagnostic needs a position."""

    def __init__(self, report: Reporter) -> None:
        self.report = report
        self.source = report.source
        self.active: set[int] = set()
        self.built: set[int] = set()
        self.copies = 0
        self.alias_at: YamlPath | None = None
        self.poisoned: list[YamlPath] = []

    def value(self, node: Node, path: YamlPath) -> Any:
        ident = id(node)
        if ident in self.active:
            raise Refused("yaml_recursive_alias", path)
        outermost_alias = False
        if ident in self.built:
            if self.alias_at is None:
                self.alias_at, outermost_alias = path, True
            self.copies += 1
            if self.copies > MAX_ALIAS_VALUES:
                raise Refused("yaml_bomb", self.alias_at, limit=MAX_ALIAS_VALUES)
        else:
            self.built.add(ident)
        self.source.values.setdefault(path, mark_position(node.start_mark))
        try:
            if isinstance(node, ScalarNode):
                return self.scalar(node, path)
            self.active.add(ident)
            try:
                if isinstance(node, SequenceNode):
                    return self.sequence(node, path)
                if isinstance(node, MappingNode):
                    return self.mapping(node, path)
                return None
            finally:
                self.active.discard(ident)
        finally:
            if outermost_alias:
                self.alias_at = None

    def refuse_tag(self, node: Node, path: YamlPath) -> None:
        tag = shown_tag(tag_of(node))
        if tag.startswith("!") and not tag.startswith("!!"):
            # `guard: !data.has_branch`: YAML read the `!` of a negation as a tag
            self.report.add("error", "yaml_tag_expression", mark_position(node.start_mark), tag=tag)
        else:
            self.report.add("error", "yaml_tag", mark_position(node.start_mark), tag=tag)
        self.poisoned.append(path)

    def scalar(self, node: ScalarNode, path: YamlPath) -> Any:
        tag, text = tag_of(node), str(node.value)
        style = node.style or "plain"
        self.source.scalars.setdefault(path, ScalarSpan(
            style, *mark_position(node.start_mark), *mark_position(node.end_mark)))
        if tag == STR:
            return text
        if tag == NULL:
            return None
        try:
            if tag == BOOL:
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                return text.lower() == "true"
            if tag == INT:
                return _to_int(text)
            if tag == FLOAT:
                return _to_float(text)
        except ValueError:
            expected = {BOOL: Words("true or false", "true 或 false"),
                        INT: Words("a whole number", "整数"),
                        FLOAT: Words("a number", "数字")}[tag]
            self.report.add("error", "yaml_bad_tagged_value", mark_position(node.start_mark),
                            value=text if len(text) <= 40 else text[:37] + "...",
                            expected=expected)
            self.poisoned.append(path)
            return None
        self.refuse_tag(node, path)
        return None

    def sequence(self, node: SequenceNode, path: YamlPath) -> Any:
        if tag_of(node) != SEQ:
            self.refuse_tag(node, path)
            return None
        return [self.value(child, (*path, i)) for i, child in enumerate(node.value)]

    def mapping(self, node: MappingNode, path: YamlPath) -> Any:
        if tag_of(node) != MAP:
            self.refuse_tag(node, path)
            return None
        result: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if tag_of(key_node) == MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.report.add("error", "yaml_complex_key", mark_position(key_node.start_mark))
                continue
            key = str(key_node.value)
            where = (*path, key)
            if key in result:
                self.report.add("error", "duplicate_key", mark_position(key_node.start_mark),
                                key=key, first_line=self.source.keys[where][0])
                continue
            # setdefault: under `<<: *base` the keys written in the mapping keep their place
            self.source.keys.setdefault(where, mark_position(key_node.start_mark))
            result[key] = self.value(value_node, where)
        for merge in merges:
            self.merge(merge, path, result)
        return result

    def merge(self, node: Node, path: YamlPath, into: dict[str, Any]) -> None:
        """`<<: *defaults`: keys written in the mapping itself win over merged ones."""
        parts = node.value if isinstance(node, SequenceNode) else [node]
        for part in parts:
            if not isinstance(part, MappingNode):
                self.report.add("error", "yaml_merge_invalid", mark_position(part.start_mark))
                continue
            merged = self.value(part, path)
            if isinstance(merged, dict):
                for key, value in merged.items():
                    into.setdefault(key, value)


def shown_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(TAG_PREFIX) if tag.startswith(TAG_PREFIX) else tag


def _to_int(text: str) -> int:
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    if digits.startswith(("0o", "0O")):
        return sign * int(digits[2:], 8)
    if digits.startswith(("0x", "0X")):
        return sign * int(digits[2:], 16)
    return sign * int(digits, 10)


def _to_float(text: str) -> float:
    lowered = text.lower()
    if lowered.lstrip("+-") == ".inf":
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)


def fill_source_map(root: Node, path: str, lang: str, source: SourceMap) -> None:
    """Note every position of a graph `plain_data` read (so `Builder` finds nothing to
    report in it)."""
    Builder(Reporter(path, lang, source)).value(root, ())
