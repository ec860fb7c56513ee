"""Loading workflow definitions: safe YAML -> validated spec -> lint -> compiled workflow.

`load_text` never raises. Whatever a file holds, the designer gets a `LoadResult` whose
diagnostics say, each at a line and column, everything that is wrong with it: YAML
problems, every shape problem pydantic finds, then every problem of meaning `engine.language.lint`
finds. Only a definition with no error is compiled.

How the YAML is read, and why:

- Only the *node graph* is taken from ruamel.yaml (`compose`); this module turns nodes
  into plain dicts, lists, strings, numbers, booleans and None itself. No YAML tag can
  construct a Python object: any tag outside the core schema (`!!python/object`,
  `!!binary`, `!!set`, a local `!tag`) is refused with a diagnostic. Nodes carry their
  start and end marks, which become the `SourceMap` used to locate every diagnostic.
- Scalars are resolved with the YAML 1.2 core schema, whatever a `%YAML` directive says.
  YAML 1.1 turns `on`, `off`, `yes`, `no`, `y` and `n` into booleans (the "Norway
  problem"): an enum value `no`, a trigger named `on` or a Chinese pinyin abbreviation
  would silently become true/false. In 1.2 only `true` and `false` are booleans. Dates
  also stay text (`2026-07-01`), which is how case data stores them.
- Anchors and aliases are allowed, but an alias is expanded at most `MAX_ALIAS_VALUES`
  values in total and may not contain itself, so a "billion laughs" file is refused
  instead of exhausting memory. Nesting is limited to `MAX_DEPTH` levels (libyaml's C
  composer would otherwise overflow the C stack on deeply nested brackets).
- Duplicate keys are reported at the second occurrence (the first one is kept).
- The C parser of ruamel.yaml.clib is used when it is installed (about 15 times faster);
  the pure-Python parser otherwise. Both feed the same resolver and node walk.
- Positions are noted only when a diagnostic needs one. A file of plain keys and untagged
  values (nearly every file) is read by a quick walk that notes none; the source map is
  filled from the same nodes, by the careful walk, at the first lookup. Anything else
  (an alias, a merge key, a tag, a duplicate key) is read by the careful walk at once.
  For 200 states this takes the node walk from about 25 to 3 ms.
"""

from __future__ import annotations

import gc
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.tag import Tag

from engine.core.compiler import CompiledWorkflow, compile_workflow
from engine.language.diagnostics import (
    Diagnostic,
    Reporter,
    ScalarSpan,
    Severity,
    SourceMap,
    Words,
    YamlPath,
    did_you_mean,
    without_thousands_separators,
)
from engine.language.lint import lint
from engine.language.spec import IDENT_PATTERN, SEMVER_PATTERN, WorkflowSpec

try:  # the optional C parser (package ruamel.yaml.clib)
    from _ruamel_yaml import CParser as _CParser  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the installation
    _CParser = None

__all__ = [
    "MAX_ALIAS_VALUES", "MAX_BYTES", "MAX_DEPTH", "Diagnostic", "LoadResult", "Severity",
    "load_file", "load_text",
]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 10_000

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (f"{_TAG}{k}" for k in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = f"{_TAG}map", f"{_TAG}seq", f"{_TAG}merge"

_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


@dataclass(frozen=True)
class LoadResult:
    """The spec (when it could be built), every diagnostic found, and the compiled workflow
    (only when there is no error)."""

    path: str
    text: str
    spec: WorkflowSpec | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    compiled: CompiledWorkflow | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.spec is not None and not self.errors


# ---------------------------------------------------------------------------------------
# YAML -> nodes


class _TooDeep(Exception):
    def __init__(self, node: Node | None) -> None:
        super().__init__("too deep")
        self.node = node


class _CoreResolver:
    """YAML 1.2 core-schema tags for untagged scalars, and a limit on nesting depth.

    Serves both parsers: ruamel's pure-Python composer reaches it as `loader.resolver`,
    the C parser calls the same methods on itself (it is mixed in below).
    """

    processing_version = (1, 2)

    def __init__(self, version: Any = None, loader: Any = None, **_: Any) -> None:
        self._loader_version = version  # ruamel's YAML() compares it to decide on reuse
        self._depth = 0
        self.nodes = 0  # how many nodes were composed (an alias composes none)

    def resolve(self, kind: type, value: str | None, implicit: Any) -> Any:
        if kind is ScalarNode:
            plain = implicit[0] if isinstance(implicit, tuple) else bool(implicit)
            return _SHARED_TAGS[_resolve_plain(value or "")] if plain else _STR_TAG
        return _SEQ_TAG if issubclass(kind, SequenceNode) else _MAP_TAG

    def descend_resolver(self, parent: Node | None, index: Any) -> None:
        self.nodes += 1
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep(parent)

    def ascend_resolver(self) -> None:
        self._depth -= 1


def _shared_tag(name: str) -> Tag:
    tag = Tag(suffix=name)
    str(tag)  # computes and caches the decoded form once, instead of once per node
    return tag


# One `Tag` per resolved kind, shared by every node (ruamel would build one per node), and
# its text, so that reading a node's tag is a dictionary lookup, not ruamel's str().
_SHARED_TAGS = {name: _shared_tag(name) for name in (STR, INT, FLOAT, BOOL, NULL, MAP, SEQ,
                                                       MERGE)}
_SHARED_TAG_TEXT = {id(tag): name for name, tag in _SHARED_TAGS.items()}


_STR_TAG, _SEQ_TAG, _MAP_TAG = _SHARED_TAGS[STR], _SHARED_TAGS[SEQ], _SHARED_TAGS[MAP]
_INT_TAG, _FLOAT_TAG, _BOOL_TAG = _SHARED_TAGS[INT], _SHARED_TAGS[FLOAT], _SHARED_TAGS[BOOL]
_NULL_TAG, _MERGE_TAG = _SHARED_TAGS[NULL], _SHARED_TAGS[MERGE]
# The plain scalars that are not text: the few null and boolean spellings, the merge key,
# and numbers, which all begin with a digit, a sign or a dot. Most plain scalars are words
# (keys, state names), which this tells apart with one set lookup and one character test.
_WORDS = {"<<": MERGE, **dict.fromkeys(("~", "null", "Null", "NULL", ""), NULL),
          **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), BOOL)}
_NUMBER_START = frozenset("0123456789+-.")


def _resolve_plain(value: str) -> str:
    known = _WORDS.get(value)
    if known is not None:
        return known
    if value[0] not in _NUMBER_START:
        return STR
    if _INT.fullmatch(value):
        return INT
    if _FLOAT.fullmatch(value):
        return FLOAT
    return STR


if _CParser is not None:

    class _CComposer(_CParser, _CoreResolver):  # type: ignore[misc]
        def __init__(self, text: str) -> None:
            _CParser.__init__(self, text)
            _CoreResolver.__init__(self)


def _compose(text: str) -> tuple[Node | None, int]:
    """The node graph of the single document in `text` (None when there is none), and
    how many nodes it has (an alias adds none: it is the node it names)."""
    if _CParser is not None:
        composer = _CComposer(text)
        return composer.get_single_node(), composer.nodes
    yaml = YAML(typ="safe", pure=True)
    yaml.Resolver = _CoreResolver
    yaml.composer.warn_double_anchors = False  # reusing an anchor name is legal YAML
    root = yaml.compose(text)
    return root, yaml.resolver.nodes


def _index_position(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


_YAML_PROBLEMS: list[tuple[str, Words]] = [
    ("mapping values are not allowed", Words(
        "a ':' appears where it is not allowed: the line above may lack its own ':', or, if "
        "this text itself contains ': ', put it in quotes",
        "此处不能出现“:”：可能是上一行缺少“:”；如果文字本身含有“: ”，请给整段文字加上引号")),
    ("alphabetic or numeric character", Words(
        "'*' and '&' start an alias or an anchor (*name, &name); to write the character "
        "itself, put it in quotes, as in from: '*'",
        "“*”和“&”用于别名和锚点（*name、&name）；若要写这个字符本身，请加引号，例如 from: '*'")),
    ("unknown directive", Words(
        "a line starting with '%' is a YAML directive; put text that starts with '%' in quotes",
        "以“%”开头的行是 YAML 指令；以“%”开头的文字请加引号")),
    ("expected '-' indicator", Words(
        "the indentation here does not line up with the lines above",
        "此处的缩进与上面的行对不齐")),
    ("could not find expected ':'", Words(
        "a line here is not 'key: value' (a ':' may be missing, or the indentation is off)",
        "此处的行不是“键: 值”的形式（可能缺少“:”，或缩进不对）")),
    ("end of stream", Words(
        "the file ends before a quote or a bracket is closed",
        "文件结束时仍有引号或括号没有闭合")),
    ("expected ',' or ']'", Words(
        "a list in [ ] is not closed, or its items are not separated by commas",
        "方括号 [ ] 中的列表没有闭合，或各项之间缺少逗号")),
    ("expected ',' or '}'", Words(
        "a mapping in { } is not closed, or its entries are not separated by commas",
        "花括号 { } 中的映射没有闭合，或各项之间缺少逗号")),
    ("block end", Words(
        "the indentation here does not line up with the lines above",
        "此处的缩进与上面的行对不齐")),
    ("expected key", Words(
        "the indentation here does not line up with the lines above",
        "此处的缩进与上面的行对不齐")),
    ("sequence entries are not allowed", Words(
        "a '- ' list item appears where it is not allowed; check the indentation",
        "此处不能出现以“- ”开头的列表项；请检查缩进")),
    ("cannot start any token", Words(
        "this character cannot begin a value; put the text in quotes",
        "此字符不能作为值的开头；请给文字加上引号")),
    ("unknown escape character", Words(
        "an unknown escape sequence inside double quotes; use single quotes, or \\\\ for "
        "a backslash",
        "双引号中有无法识别的转义序列；可改用单引号，或用 \\\\ 表示反斜杠")),
]


def _yaml_problem(exc: MarkedYAMLError, text: str, report: Reporter) -> None:
    """Report a parser error at its place, in words a designer understands."""
    problem = str(exc.problem or "")
    context = str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    lines = text.split("\n")
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    indent = source_line[: len(source_line) - len(source_line.lstrip(" \t"))]
    if "tab" in problem or "\t" in indent or (problem.endswith("any token")
                                             and source_line[column - 1:column] == "\t"):
        tab_line = line
        if "\t" not in indent:  # reported after the offending line: find the tab nearby
            tab_line = next((n for n in (line, line - 1, line + 1)
                             if 0 < n <= len(lines) and "\t" in lines[n - 1]), line)
        tab_text = lines[tab_line - 1] if 0 < tab_line <= len(lines) else ""
        report.add("error", "yaml_tab", (tab_line, max(tab_text.find("\t"), 0) + 1))
        return
    if "undefined alias" in problem:
        found = re.match(r"\*([^\s,\[\]{}]+)", source_line[column - 1:])
        report.add("error", "yaml_undefined_alias", (line, column),
                   name=found.group(1) if found else "?")
        return
    if "another document" in problem or "single document" in context:
        report.add("error", "yaml_multiple_documents", (line, column))
        return
    opened = ("quoted scalar", "flow sequence", "flow mapping")
    if any(k in context for k in opened) and exc.context_mark is not None:
        # an unclosed quote or bracket is best shown where it was opened
        line, column = exc.context_mark.line + 1, exc.context_mark.column + 1
    words = next((w for key, w in _YAML_PROBLEMS if key in problem), None)
    report.add("error", "yaml_syntax", (line, column),
               problem=words or Words(problem or str(exc), "YAML 解析器无法读懂此处的写法"))


def _parse(text: str, report: Reporter) -> tuple[Node | None, int, bool]:
    """The root node, its number of nodes, and whether parsing succeeded (problems are
    reported)."""
    try:
        return (*_compose(text), True)
    except _TooDeep as exc:
        mark = exc.node.start_mark if exc.node is not None else None
        report.add("error", "yaml_too_deep",
                   (mark.line + 1, mark.column + 1) if mark else (1, 1), limit=MAX_DEPTH)
    except MarkedYAMLError as exc:
        _yaml_problem(exc, text, report)
    except ReaderError as exc:
        position = getattr(exc, "position", 0) or 0
        character = getattr(exc, "character", "")
        code = ord(character) if isinstance(character, str) and character else character
        report.add("error", "yaml_control_character", _index_position(text, position),
                   character=f"#x{code:04x}" if isinstance(code, int) else str(code))
    except RecursionError:
        report.add("error", "yaml_too_deep", (1, 1), limit=MAX_DEPTH)
    except UnicodeError:
        report.add("error", "not_text", (1, 1))
    except Exception as exc:  # any other parser failure is still a YAML problem
        report.add("error", "yaml_syntax", (1, 1),
                   problem=Words(str(exc), "YAML 解析器无法读懂此文件"))
    return None, 0, False


# ---------------------------------------------------------------------------------------
# nodes -> plain data + source map


class _Refused(Exception):
    """The whole file is refused (YAML bomb, recursive alias)."""

    def __init__(self, code: str, path: YamlPath, **args: Any) -> None:
        super().__init__(code)
        self.code = code
        self.path = path
        self.args_ = args


def _tag(node: Node) -> str:
    tag = node.ctag
    known = _SHARED_TAG_TEXT.get(id(tag))
    return known if known is not None and _SHARED_TAGS.get(known) is tag else str(tag)


def _mark(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


class _Unclean(Exception):
    """The quick walk met something only `_Builder` handles: an alias, a merge key, an
    explicit tag, a complex or a duplicate key."""


def _plain_data(root: Node, nodes: int) -> Any:
    """The plain data of a node graph that holds nothing but untagged core-schema values
    and written-out keys, without noting any position: the common case, about three
    times faster than `_Builder`. Raises `_Unclean` for anything else.

    Each of the `nodes` composed nodes is reached once unless an alias names it again,
    so counting the visits finds every alias (and stops a recursive one) without a set
    of visited nodes.
    """
    budget = nodes

    def value(node: Node) -> Any:
        nonlocal budget
        budget -= 1
        if budget < 0:
            raise _Unclean
        tag = node.ctag
        if tag is _STR_TAG:
            return node.value
        if tag is _MAP_TAG:
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                budget -= 1
                if key_node.__class__ is not ScalarNode or key_node.ctag is _MERGE_TAG:
                    raise _Unclean
                key = key_node.value
                if key in result:
                    raise _Unclean
                result[key] = value(value_node)
            return result
        if tag is _SEQ_TAG:
            return [value(item) for item in node.value]
        if tag is _NULL_TAG:
            return None
        if tag is _BOOL_TAG:
            return node.value.lower() == "true"  # resolved: one of the six spellings
        try:
            if tag is _INT_TAG:
                return _to_int(node.value)
            if tag is _FLOAT_TAG:
                return _to_float(node.value)
        except ValueError:
            pass
        raise _Unclean

    return value(root)


class _Builder:
    """Turns the node graph into plain data, recording where each path is written.

    Used when `_plain_data` cannot (the file has aliases, tags or problems to report),
    and to fill the source map when a diagnostic needs a position."""

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
            raise _Refused("yaml_recursive_alias", path)
        outermost_alias = False
        if ident in self.built:
            if self.alias_at is None:
                self.alias_at, outermost_alias = path, True
            self.copies += 1
            if self.copies > MAX_ALIAS_VALUES:
                raise _Refused("yaml_bomb", self.alias_at, limit=MAX_ALIAS_VALUES)
        else:
            self.built.add(ident)
        self.source.values.setdefault(path, _mark(node.start_mark))
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
        tag = _shown_tag(_tag(node))
        if tag.startswith("!") and not tag.startswith("!!"):
            # `guard: !data.has_branch`: YAML read the `!` of a negation as a tag
            self.report.add("error", "yaml_tag_expression", _mark(node.start_mark), tag=tag)
        else:
            self.report.add("error", "yaml_tag", _mark(node.start_mark), tag=tag)
        self.poisoned.append(path)

    def scalar(self, node: ScalarNode, path: YamlPath) -> Any:
        tag, text = _tag(node), str(node.value)
        style = node.style or "plain"
        self.source.scalars.setdefault(path, ScalarSpan(
            style, *_mark(node.start_mark), *_mark(node.end_mark)))
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
            self.report.add("error", "yaml_bad_tagged_value", _mark(node.start_mark),
                            value=text if len(text) <= 40 else text[:37] + "...",
                            expected=expected)
            self.poisoned.append(path)
            return None
        self.refuse_tag(node, path)
        return None

    def sequence(self, node: SequenceNode, path: YamlPath) -> Any:
        if _tag(node) != SEQ:
            self.refuse_tag(node, path)
            return None
        return [self.value(child, (*path, i)) for i, child in enumerate(node.value)]

    def mapping(self, node: MappingNode, path: YamlPath) -> Any:
        if _tag(node) != MAP:
            self.refuse_tag(node, path)
            return None
        result: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if _tag(key_node) == MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.report.add("error", "yaml_complex_key", _mark(key_node.start_mark))
                continue
            key = str(key_node.value)
            where = (*path, key)
            if key in result:
                self.report.add("error", "duplicate_key", _mark(key_node.start_mark), key=key,
                                first_line=self.source.keys[where][0])
                continue
            # setdefault: under `<<: *base` the keys written in the mapping keep their place
            self.source.keys.setdefault(where, _mark(key_node.start_mark))
            result[key] = self.value(value_node, where)
        for merge in merges:
            self.merge(merge, path, result)
        return result

    def merge(self, node: Node, path: YamlPath, into: dict[str, Any]) -> None:
        """`<<: *defaults`: keys written in the mapping itself win over merged ones."""
        parts = node.value if isinstance(node, SequenceNode) else [node]
        for part in parts:
            if not isinstance(part, MappingNode):
                self.report.add("error", "yaml_merge_invalid", _mark(part.start_mark))
                continue
            merged = self.value(part, path)
            if isinstance(merged, dict):
                for key, value in merged.items():
                    into.setdefault(key, value)


def _shown_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


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


def _describe(value: Any) -> Words:
    """What a value is, in words (for "must be X, but it is Y")."""
    if value is None:
        return Words("empty", "空的")
    if isinstance(value, bool):
        return Words(f"{str(value).lower()} (true/false)", f"{str(value).lower()}（布尔值）")
    if isinstance(value, int | float):
        return Words(f"the number {value}", f"数字 {value}")
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return Words(f"the text '{shown}'", f"文本“{shown}”")
    if isinstance(value, list):
        return Words("a list", "列表")
    return Words("a set of 'key: value' lines", "键值映射")


# ---------------------------------------------------------------------------------------
# pydantic errors -> diagnostics

_EXPECTED: dict[str, Words] = {
    "string_type": Words("text", "文本"),
    "int_type": Words("a whole number", "整数"),
    "int_parsing": Words("a whole number", "整数"),
    "int_from_float": Words("a whole number", "整数"),
    "float_type": Words("a number", "数字"),
    "float_parsing": Words("a number", "数字"),
    "bool_type": Words("true or false", "true 或 false"),
    "bool_parsing": Words("true or false", "true 或 false"),
    "list_type": Words("a list", "列表"),
    "dict_type": Words("a set of 'key: value' lines", "键值映射"),
    "model_type": Words("a set of 'key: value' lines", "键值映射"),
    "model_attributes_type": Words("a set of 'key: value' lines", "键值映射"),
}
_LABEL = Words("text, or a zh/en pair such as {zh: 孵化, en: Incubation}",
               "文本，或中英文对，例如 {zh: 孵化, en: Incubation}")
# Type mismatches of one union member: dropped when another member's error is more telling.
_TYPE_ERRORS = frozenset(_EXPECTED) - {"int_parsing", "float_parsing", "bool_parsing",
                                       "int_from_float"}

_VALUE_ERRORS: list[tuple[str, str]] = [
    ("a label needs", "label_needs_language"),
    ("an enum field needs", "enum_needs_values"),
    ("values are only allowed", "values_only_for_enum"),
    ("a list field needs items", "list_needs_items"),
    ("min is greater than max", "min_above_max"),
    ("a pattern is only allowed", "pattern_only_for_text"),
    ("the pattern is not a valid regular expression", "bad_regex"),
    ("the pattern cannot be matched in linear time", "regex_unsupported"),
    ("a timer needs exactly one", "timer_needs_one_length"),
    ("a timer with action 'fire' needs", "timer_needs_trigger"),
    ("working_days must not be negative", "negative_working_days"),
]


@dataclass
class _ShapeError:
    error: Mapping[str, Any]
    path: YamlPath  # where in the data the error lies
    union: YamlPath | None  # where a union's member tags were skipped
    missing: str | None  # the missing key, for type "missing"
    on_key: bool  # the error is about the key itself ("[key]")


def _shape_error(error: Mapping[str, Any], data: Any) -> _ShapeError:
    """Follow pydantic's `loc` through the data, skipping union member tags."""
    current: Any = data
    path: list[str | int] = []
    union: YamlPath | None = None
    missing: str | None = None
    on_key = False
    loc = list(error["loc"])
    for i, part in enumerate(loc):
        if part == "[key]":
            on_key = True
        elif _has(current, part):
            path.append(part)
            current = current[part]
        elif i == len(loc) - 1 and error["type"] == "missing":
            missing = str(part)
        elif union is None:
            union = tuple(path)
    return _ShapeError(error, tuple(path), union, missing, on_key)


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return isinstance(part, str) and part in container
    return (isinstance(container, list) and isinstance(part, int)
            and not isinstance(part, bool) and 0 <= part < len(container))


def _select(errors: list[_ShapeError]) -> list[_ShapeError | list[_ShapeError]]:
    """Errors to report: one per union, the most telling; lists are merged type errors."""
    chosen: list[_ShapeError | list[_ShapeError]] = []
    groups: dict[YamlPath, list[_ShapeError]] = {}
    for e in errors:
        if e.union is None:
            chosen.append(e)
        else:
            groups.setdefault(e.union, []).append(e)
    for root, group in groups.items():
        telling = [e for e in group if e.error["type"] not in _TYPE_ERRORS]
        if telling:
            chosen.extend(telling)
            continue
        deepest = max(len(e.path) for e in group)
        if deepest > len(root):
            by_path: dict[YamlPath, list[_ShapeError]] = {}
            for e in group:
                if len(e.path) == deepest:
                    by_path.setdefault(e.path, []).append(e)
            chosen.extend(by_path.values())
        else:
            chosen.append(group)
    return chosen


def _model_keys(path: YamlPath, data: Any) -> list[str]:
    """The keys the model at `path` accepts (for "did you mean")."""
    annotation: Any = WorkflowSpec
    current = data
    for part in path:
        annotation = _member(annotation, current)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found = next((f.annotation for name, f in annotation.model_fields.items()
                          if part in (name, f.alias)), None)
            if found is None:
                return []
            annotation = found
        elif get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1 if get_origin(annotation) is dict else 0]
        else:
            return []
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
    annotation = _member(annotation, current)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _member(annotation: Any, value: Any) -> Any:
    """The member of a union (or the type inside Annotated) that fits `value`'s kind."""
    while get_args(annotation) and get_origin(annotation) not in (dict, list):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
            members = members[:1]
        fitting = [a for a in members
                   if (isinstance(value, dict) and (get_origin(a) is dict or (
                       isinstance(a, type) and issubclass(a, BaseModel))))
                   or (isinstance(value, list) and get_origin(a) is list)]
        annotation = (fitting or members or [None])[0]
    return annotation


def _name(path: YamlPath) -> Words:
    """How to call the thing at `path` in a message."""
    if not path:
        return Words("the workflow", "流程定义")
    last = path[-1]
    if isinstance(last, int):
        owner = next((p for p in reversed(path[:-1]) if isinstance(p, str)), "")
        return Words(f"item {last + 1} of '{owner}'", f"“{owner}”的第 {last + 1} 项")
    return Words(f"'{last}'", f"“{last}”")


def _shape_diagnostics(errors: Sequence[Mapping[str, Any]], data: Any, report: Reporter,
                       poisoned: Sequence[YamlPath]) -> None:
    located = [_shape_error(e, data) for e in errors]
    located = [e for e in located
               if not any(e.path[:len(p)] == p for p in poisoned)]
    for chosen in _select(located):
        if isinstance(chosen, list):
            _report_type_errors(chosen, report)
        else:
            _report_shape_error(chosen, data, report)


def _report_type_errors(group: list[_ShapeError], report: Reporter) -> None:
    first = group[0]
    expected: list[Words] = []
    for e in group:
        words = _EXPECTED.get(e.error["type"], Words("something else", "其他内容"))
        if (e.error.get("ctx") or {}).get("class_name") == "Text":
            words = _LABEL
        if words not in expected:
            expected.append(words)
    if _LABEL in expected:  # a label is text or a zh/en pair: say it once
        expected = [w for w in expected if w != _EXPECTED["string_type"]]
    value = first.error.get("input")
    if value is None and _EXPECTED["model_type"] in expected:
        # `review:` with nothing after it: the designer meant an empty mapping
        report.error("empty_mapping", first.path, at="key", name=_name(first.path))
        return
    either = Words(" or ".join(w.en for w in expected), "或".join(w.zh for w in expected))
    plain = without_thousands_separators(value)
    if plain is not None:
        report.error("thousands_separator", first.path, name=_name(first.path), value=value,
                     plain=plain)
        return
    report.error("wrong_type", first.path, at="key" if value is None else "value",
                 name=_name(first.path), expected=either, actual=_describe(value))


def _report_shape_error(e: _ShapeError, data: Any, report: Reporter) -> None:
    kind = e.error["type"]
    ctx = e.error.get("ctx") or {}
    value = e.error.get("input")
    path = e.path
    if kind == "missing":
        report.add("error", "missing_key", report.source.enclosing(path),
                   key=e.missing or "?", where=_name(path))
    elif kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        known = [k for k in _model_keys(path[:-1], data) if k != key]
        report.error("unknown_key", path, at="key", key=key,
                     suggestion=did_you_mean(key, known), choices=known)
    elif kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        report.error("bad_choice", path, value=value, choices=choices,
                     suggestion=did_you_mean(value, choices))
    elif kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        code = ("bad_name" if pattern == IDENT_PATTERN
                else "bad_version" if pattern == SEMVER_PATTERN else "bad_pattern")
        shown = path[-1] if e.on_key and path else value
        report.error(code, path, at="key" if e.on_key else "value", value=shown)
    elif kind == "string_too_short":
        limit = ctx.get("min_length", 1)
        report.error("empty_value" if limit == 1 else "too_short", path, name=_name(path),
                     limit=limit)
    elif kind in ("string_too_long", "too_long"):
        report.error("too_long", path, name=_name(path), limit=ctx.get("max_length", ""))
    elif kind in ("greater_than_equal", "greater_than"):
        report.error("too_small", path, name=_name(path), limit=ctx.get("ge", ctx.get("gt")))
    elif kind in ("less_than_equal", "less_than"):
        report.error("too_large", path, name=_name(path), limit=ctx.get("le", ctx.get("lt")))
    elif kind in _EXPECTED:
        _report_type_errors([e], report)
    elif kind == "value_error":
        detail = str(ctx.get("error", e.error.get("msg", "")))
        code = next((c for prefix, c in _VALUE_ERRORS if detail.startswith(prefix)),
                    "invalid_value")
        where = (report.source.enclosing(path) if isinstance(value, dict)
                 else report.source.locate(path))
        report.add("error", code, where, detail=detail.partition(": ")[2] or detail
                   if code in ("bad_regex", "regex_unsupported") else detail)
    else:
        report.error("invalid_value", path, detail=e.error.get("msg", kind))


# ---------------------------------------------------------------------------------------
# the entry points


def load_text(text: str, path: str = "<string>", lang: str = "en") -> LoadResult:
    """Parse, validate, lint and (when there is no error) compile one definition.

    Never raises: every problem, including a failure of this code itself, comes back as
    a diagnostic.
    """
    lang = "zh" if lang == "zh" else "en"
    try:
        with _no_cycle_collection():
            return _load(text, path, lang)
    except Exception as exc:  # a bug of ours must reach the designer as a diagnostic
        report = Reporter(path, lang)
        report.add("error", "internal_error", (1, 1), detail=f"{type(exc).__name__}: {exc}")
        return LoadResult(path, text if isinstance(text, str) else "", None,
                          report.diagnostics)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Loading allocates hundreds of thousands of small objects (YAML nodes, the spec, CEL
    programs) and frees almost none, so the cyclic collector's passes find nothing and
    cost about 40 % of a large definition's load (measured: 200 states, 190 -> 112 ms).
    It is paused for the load and resumed after; reference counting still frees as usual.
    Another thread's load may resume it early, which only costs speed."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _load(text: str, path: str, lang: str) -> LoadResult:
    if not isinstance(text, str):
        report = Reporter(path, lang)
        report.add("error", "not_text", (1, 1))
        return _result(path, "", None, report)
    text = text.removeprefix("\ufeff")
    report = Reporter(path, lang, SourceMap(text))
    try:
        size = len(text.encode("utf-8"))
    except UnicodeError:
        report.add("error", "not_text", (1, 1))
        return _result(path, text, None, report)
    if size > MAX_BYTES:
        report.add("error", "file_too_large", (1, 1), size=size, limit=MAX_BYTES)
        return _result(path, text, None, report)
    if _line_breaks_lost(text):
        report.add("error", "line_breaks_lost", (1, 1))
        return _result(path, text, None, report)
    root, nodes, parsed = _parse(text, report)
    if not parsed:
        return _result(path, text, None, report)
    if root is None:
        report.add("error", "empty_file", (1, 1))
        return _result(path, text, None, report)
    if not isinstance(root, MappingNode):
        builder = _Builder(report)
        try:
            actual = _describe(builder.value(root, ()))
        except _Refused:
            actual = _describe([])
        report.add("error", "not_a_mapping", _mark(root.start_mark), actual=actual)
        return _result(path, text, None, report)
    poisoned: list[YamlPath] = []
    try:
        data = _plain_data(root, nodes)
        # positions are only needed to place a diagnostic: the source map is filled from
        # the same nodes, by the same walk as below, the first time one is asked for
        report.source.defer(partial(_fill_source_map, root, path, lang))
    except _Unclean:
        builder = _Builder(report)
        try:
            data = builder.value(root, ())
        except _Refused as refused:
            # an alias's own place is not kept by the composer: point at the key holding it
            where = refused.path
            while where and where not in report.source.keys:
                where = where[:-1]
            report.add("error", refused.code, report.source.locate(where, "key"),
                       **refused.args_)
            return _result(path, text, None, report)
        poisoned = builder.poisoned
    try:
        spec = WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        _shape_diagnostics(exc.errors(include_url=False), data, report, poisoned)
        return _result(path, text, None, report)
    report.diagnostics.extend(lint(spec, report.source, path=path, lang=lang))
    compiled = None
    if not any(d.severity == "error" for d in report.diagnostics):
        try:
            compiled = compile_workflow(spec, text)
        except Exception as exc:  # lint should have caught it; say so rather than crash
            report.add("error", "compile_failed", (1, 1), detail=str(exc) or type(exc).__name__)
    return _result(path, text, spec, report, compiled)


def _fill_source_map(root: Node, path: str, lang: str, source: SourceMap) -> None:
    """Note every position of a graph `_plain_data` read (so `_Builder` finds nothing to
    report in it)."""
    _Builder(Reporter(path, lang, source)).value(root, ())


def _line_breaks_lost(text: str) -> bool:
    """A whole definition on one line: its line breaks were lost on the way (`curl -d`
    strips them), which YAML reads as one comment ("empty") or as one broken line."""
    body = text.strip()
    return "\n" not in body and (body.startswith("#") or body.count(": ") >= 3)


def _result(path: str, text: str, spec: WorkflowSpec | None, report: Reporter,
            compiled: CompiledWorkflow | None = None) -> LoadResult:
    unique = list(dict.fromkeys(report.diagnostics))
    unique.sort(key=Diagnostic.sort_key)
    return LoadResult(path, text, spec, unique, compiled)


def load_file(path: str | Path, lang: str = "en") -> LoadResult:
    """Read and load one definition file; a missing, huge or non-UTF-8 file is a diagnostic."""
    name = str(path)
    report = Reporter(name, "zh" if lang == "zh" else "en")
    try:
        file = Path(path)
        info = file.stat()
        if stat.S_ISDIR(info.st_mode):
            report.add("error", "file_unreadable", (1, 1),
                       reason=Words("it is a folder", "这是一个文件夹"))
            return _result(name, "", None, report)
        if info.st_size > MAX_BYTES:
            report.add("error", "file_too_large", (1, 1), size=info.st_size, limit=MAX_BYTES)
            return _result(name, "", None, report)
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        report.add("error", "file_not_found", (1, 1))
        return _result(name, "", None, report)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        report.add("error", "file_unreadable", (1, 1), reason=reason)
        return _result(name, "", None, report)
    if len(raw) > MAX_BYTES:
        report.add("error", "file_too_large", (1, 1), size=f">{MAX_BYTES}", limit=MAX_BYTES)
        return _result(name, "", None, report)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", "replace")) + 1
        report.add("error", "not_utf8", (before.count(b"\n") + 1, column))
        return _result(name, "", None, report)
    return load_text(text, name, lang)
