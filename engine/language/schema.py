"""The JSON Schema of the workflow language, generated from `engine.spec.WorkflowSpec`.

Editors use it to complete and check definitions as a designer types: every shipped
workflow starts with the yaml-language-server modeline pointing at the committed copy,
`workflows/schema.json`. The committed copy is this module's output (`hatchery schema >
workflows/schema.json`), and a test fails when the two differ, so it cannot go stale.
"""

from __future__ import annotations

import json
from typing import Any

from engine.language.spec import WorkflowSpec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:hatchery:workflow-language"
MODELINE = "# yaml-language-server: $schema=./schema.json"

__all__ = ["MODELINE", "SCHEMA_ID", "render", "workflow_schema"]


def workflow_schema() -> dict[str, Any]:
    """The schema as a dict: the models' validation schema under their YAML names."""
    generated = WorkflowSpec.model_json_schema(by_alias=True)
    # `from: "*"` is accepted (the model reads it as `any`) but is not an identifier, so the
    # generated schema would flag it; allow it where the model does.
    transition = generated["$defs"]["TransitionSpec"]["properties"]["from"]
    transition["anyOf"].insert(0, {"const": "*"})
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "Hatchery workflow definition",
        **{key: value for key, value in generated.items() if key != "title"},
    }


def render() -> str:
    """The schema as the text committed in `workflows/schema.json` (stable, UTF-8)."""
    return json.dumps(workflow_schema(), ensure_ascii=False, indent=2) + "\n"
