"""Reading YAML text into a node graph, safely: the YAML 1.2 core schema, a depth limit,
and parser errors in words a designer understands.

- Only the *node graph* is taken from ruamel.yaml (`compose`); `engine.definitions.yaml_data`
  turns nodes into plain data itself, so no YAML tag can construct a Python object.
  Nodes carry their start and end marks, from which every diagnostic is located.
- Scalars are resolved with the YAML 1.2 core schema, whatever a `%YAML` directive says.
  YAML 1.1 turns `on`, `off`, `yes`, `no`, `y` and `n` into booleans (the "Norway
  problem"): an enum value `no`, a trigger named `on` or a Chinese pinyin abbreviation
  would silently become true/false. In 1.2 only `true` and `false` are booleans. Dates
  also stay text (`2026-07-01`), which is how case data stores them.
- Nesting is limited to `MAX_DEPTH` levels (libyaml's C composer would otherwise
  overflow the C stack on deeply nested brackets).
- The C parser of ruamel.yaml.clib is used when it is installed (about 15 times faster);
  the pure-Python parser otherwise. Both feed the same resolver.
- Building the nodes, not parsing, is most of the C composer's time (libyaml parses 200
  states in 2.5 ms; composing their 17,000 nodes took 26): it calls back into Python for
  each node's tag, its depth and the node itself. `compose` hands it plain functions for
  the first two and, for the length of the call, lean node classes (`LeanScalar` ...):
  ruamel's own node classes with a constructor of one call instead of two, which the
  composer finds by name in its module. That takes composing from 229 to 163 million
  instructions.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.tag import Tag

from engine.language.diagnostics import Reporter, Words

try:  # the optional C parser (package ruamel.yaml.clib)
    import _ruamel_yaml as _c_yaml  # type: ignore[import-not-found, unused-ignore]
    from _ruamel_yaml import CParser as _CParser  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the installation
    _c_yaml = _CParser = None

MAX_DEPTH = 64

TAG_PREFIX = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (f"{TAG_PREFIX}{k}"
                               for k in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = f"{TAG_PREFIX}map", f"{TAG_PREFIX}seq", f"{TAG_PREFIX}merge"

_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


class _TooDeep(Exception):
    def __init__(self, node: Node | None) -> None:
        super().__init__("too deep")
        self.node = node


class LeanScalar(ScalarNode):
    """A ruamel `ScalarNode` as the C composer builds it: its five arguments in one call
    (ruamel's constructor takes keywords and calls its base's). Used only while `compose`
    runs the C composer; every reader of nodes treats it as the `ScalarNode` it is."""

    __slots__ = ()

    def __init__(self, tag: Any, value: Any, start_mark: Any, end_mark: Any,
                 style: Any) -> None:
        self.ctag = tag if tag.__class__ is Tag else Tag(suffix=tag)  # an explicit tag is text
        self.value = value
        self.start_mark = start_mark
        self.end_mark = end_mark
        self.style = style
        self.comment = self.anchor = None


class LeanSequence(SequenceNode):
    """A ruamel `SequenceNode` as the C composer builds it (see `LeanScalar`)."""

    __slots__ = ()

    def __init__(self, tag: Any, value: Any, start_mark: Any, end_mark: Any,
                 flow_style: Any) -> None:
        self.ctag = tag if tag.__class__ is Tag else Tag(suffix=tag)
        self.value = value
        self.start_mark = start_mark
        self.end_mark = end_mark
        self.flow_style = flow_style
        self.comment = self.anchor = None


class LeanMapping(MappingNode):
    """A ruamel `MappingNode` as the C composer builds it (see `LeanScalar`)."""

    __slots__ = ()

    def __init__(self, tag: Any, value: Any, start_mark: Any, end_mark: Any,
                 flow_style: Any) -> None:
        self.ctag = tag if tag.__class__ is Tag else Tag(suffix=tag)
        self.value = value
        self.start_mark = start_mark
        self.end_mark = end_mark
        self.flow_style = flow_style
        self.comment = self.anchor = self.merge = None


# What `compose` may return: the C composer's lean nodes or the pure-Python composer's.
SCALARS = (LeanScalar, ScalarNode)
_SEQUENCES = (LeanSequence, SequenceNode)


def resolve_tag(kind: type, value: str | None, implicit: Any) -> Any:
    """The core-schema tag of an untagged node (`kind` is the node's class). Called once
    per node (17,000 times for 200 states), so it does as little as it can in Python."""
    if kind is LeanScalar or kind is ScalarNode:
        if not (implicit[0] if type(implicit) is tuple else implicit):
            return STR_TAG
        # _resolve_plain, inlined: most plain scalars are words (keys, state names)
        word = value or ""
        known = _WORD_TAGS.get(word)
        if known is not None:
            return known
        if word[0] not in _NUMBER_START:  # "" is one of the words
            return STR_TAG
        return TAGS[_resolve_plain(word)]
    return SEQ_TAG if kind in _SEQUENCES else MAP_TAG


class _CoreResolver:
    """`resolve_tag` and a limit on nesting depth, for ruamel's pure-Python composer,
    which reaches it as `loader.resolver`: the nodes being composed are a stack, left by
    the stack's own `pop`."""

    processing_version = (1, 2)
    resolve = staticmethod(resolve_tag)

    def __init__(self, version: Any = None, loader: Any = None, **_: Any) -> None:
        self._loader_version = version  # ruamel's YAML() compares it to decide on reuse
        self._open: list[Node | None] = []  # the node being composed and those around it
        self.ascend_resolver = self._open.pop
        self.nodes = 0  # how many nodes were composed (an alias composes none)

    def descend_resolver(self, parent: Node | None, index: Any) -> None:
        self.nodes += 1
        opened = self._open
        opened.append(parent)
        if len(opened) > MAX_DEPTH:
            raise _TooDeep(parent)


def _shared_tag(name: str) -> Tag:
    tag = Tag(suffix=name)
    str(tag)  # computes and caches the decoded form once, instead of once per node
    return tag


# One `Tag` per resolved kind, shared by every node (ruamel would build one per node), and
# its text, so that reading a node's tag is a dictionary lookup, not ruamel's str().
TAGS = {name: _shared_tag(name) for name in (STR, INT, FLOAT, BOOL, NULL, MAP, SEQ,
                                                       MERGE)}
_SHARED_TAG_TEXT = {id(tag): name for name, tag in TAGS.items()}


STR_TAG, SEQ_TAG, MAP_TAG = TAGS[STR], TAGS[SEQ], TAGS[MAP]
INT_TAG, FLOAT_TAG, BOOL_TAG = TAGS[INT], TAGS[FLOAT], TAGS[BOOL]
NULL_TAG, MERGE_TAG = TAGS[NULL], TAGS[MERGE]
# The plain scalars that are not text: the few null and boolean spellings, the merge key,
# and numbers, which all begin with a digit, a sign or a dot. Most plain scalars are words
# (keys, state names), which this tells apart with one set lookup and one character test.
_WORDS = {"<<": MERGE, **dict.fromkeys(("~", "null", "Null", "NULL", ""), NULL),
          **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), BOOL)}
_NUMBER_START = frozenset("0123456789+-.")
_WORD_TAGS = {word: TAGS[name] for word, name in _WORDS.items()}


def tag_of(node: Node) -> str:
    tag = node.ctag
    known = _SHARED_TAG_TEXT.get(id(tag))
    return known if known is not None and TAGS.get(known) is tag else str(tag)


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

    class _CComposer(_CParser):  # type: ignore[misc]
        """The C composer, with the callbacks it looks up on itself (`resolve`,
        `descend_resolver`, `ascend_resolver`) as plain functions rather than methods."""

    # The node classes the C composer builds, found by name in its module's globals.
    _RUAMEL_NODES = (_c_yaml.ScalarNode, _c_yaml.SequenceNode, _c_yaml.MappingNode)
    _LEAN_NODES = (LeanScalar, LeanSequence, LeanMapping)
    # Held while the lean classes are in place: the C composer holds the GIL throughout,
    # so this serializes nothing that could run at the same time anyway.
    _C_COMPOSING = threading.Lock()


def _compose_c(text: str) -> tuple[Node | None, int]:
    opened: list[Node | None] = []  # the node being composed and those around it
    nodes = 0

    def descend(parent: Node | None, index: Any) -> None:
        nonlocal nodes
        nodes += 1
        opened.append(parent)
        if len(opened) > MAX_DEPTH:
            raise _TooDeep(parent)

    composer = _CComposer(text)
    composer.resolve = resolve_tag
    composer.descend_resolver = descend
    composer.ascend_resolver = opened.pop
    with _C_COMPOSING:
        _c_yaml.ScalarNode, _c_yaml.SequenceNode, _c_yaml.MappingNode = _LEAN_NODES
        try:
            root = composer.get_single_node()
        finally:
            _c_yaml.ScalarNode, _c_yaml.SequenceNode, _c_yaml.MappingNode = _RUAMEL_NODES
    return root, nodes


def compose(text: str) -> tuple[Node | None, int]:
    """The node graph of the single document in `text` (None when there is none), and
    how many nodes it has (an alias adds none: it is the node it names)."""
    if _CParser is not None:
        return _compose_c(text)
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


def parse_yaml(text: str, report: Reporter) -> tuple[Node | None, int, bool]:
    """The root node, its number of nodes, and whether parsing succeeded (problems are
    reported)."""
    try:
        return (*compose(text), True)
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
