"""Reading YAML into nodes with the C parser: lean node classes only for the length of a
read, nodes that are ruamel's own in every respect, and ruamel left as it was."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.tag import Tag

import engine.definitions.yaml_nodes as yaml_nodes
from engine.definitions.loader import load_text

pytestmark = pytest.mark.skipif(yaml_nodes._CParser is None,
                                reason="ruamel.yaml.clib is not installed")

TEXT = "a: !local 1\nb: [x, 2, '3']\nc: {d: ~}\n"


def _ruamel_node_classes() -> tuple[type, type, type]:
    c_module = yaml_nodes._c_yaml
    return c_module.ScalarNode, c_module.SequenceNode, c_module.MappingNode


def test_the_c_composer_builds_nodes_that_are_ruamels_nodes() -> None:
    root, nodes = yaml_nodes.compose(TEXT)
    assert isinstance(root, MappingNode)
    (a, local), (_, seq), (_, mapping) = root.value
    assert isinstance(a, ScalarNode) and isinstance(seq, SequenceNode)
    assert isinstance(mapping, MappingNode) and mapping.merge is None
    assert local.ctag == Tag(suffix="!local") and isinstance(local.ctag, Tag)
    assert [yaml_nodes.tag_of(n) for n in seq.value] == [
        yaml_nodes.STR, yaml_nodes.INT, yaml_nodes.STR]
    assert (a.anchor, a.comment, a.style, seq.flow_style) == (None, None, "", True)
    assert (local.start_mark.line, local.start_mark.column) == (0, 3)
    assert nodes == 12  # an explicitly tagged node is counted too


@pytest.mark.parametrize("text", [TEXT, "a: [", "a: " + "[" * 100 + "]" * 100])
def test_reading_leaves_ruamels_c_composer_building_its_own_nodes(text: str) -> None:
    before = _ruamel_node_classes()
    load_text(text)
    assert _ruamel_node_classes() == before == (ScalarNode, SequenceNode, MappingNode)
    root = YAML(typ="safe").compose(TEXT)  # ruamel's own C loader, after ours
    assert type(root) is MappingNode
    assert type(root.value[0][0]) is ScalarNode
