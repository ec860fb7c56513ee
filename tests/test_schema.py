"""The JSON Schema shipped for editors: generated from the models, committed, never stale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from engine.definitions.loader import load_file
from engine.language.schema import MODELINE, SCHEMA_ID, render, workflow_schema

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"
SHIPPED = sorted(WORKFLOWS.glob("*.yaml"))


def test_committed_schema_is_the_generated_one() -> None:
    committed = (WORKFLOWS / "schema.json").read_text(encoding="utf-8")
    assert committed == render(), (
        "workflows/schema.json is stale: regenerate it with `hatchery schema > "
        "workflows/schema.json`"
    )


def test_schema_names_its_dialect_id_and_title() -> None:
    schema = workflow_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"] == "Hatchery workflow definition"


def test_schema_uses_the_yaml_names_and_forbids_unknown_keys() -> None:
    schema = workflow_schema()
    transition = schema["$defs"]["TransitionSpec"]
    assert "from" in transition["properties"] and "source" not in transition["properties"]
    assert transition["additionalProperties"] is False
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"id", "version", "title", "states", "transitions"}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_workflow_starts_with_the_schema_modeline(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == MODELINE == "# yaml-language-server: $schema=./schema.json"


def test_there_is_a_shipped_workflow() -> None:
    assert SHIPPED, "workflows/ holds no definition"


FIXTURES = sorted((ROOT / "tests" / "fixtures" / "workflows").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED + FIXTURES, ids=[p.name for p in SHIPPED + FIXTURES])
def test_valid_workflows_satisfy_the_schema(path: Path) -> None:
    # An editor checks the raw YAML against the schema; it must accept what the loader
    # accepts. jsonschema_rs comes with the test tools (schemathesis).
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    assert load_file(path).ok
    raw = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    document = json.loads(json.dumps(raw, default=str))
    jsonschema_rs.validator_for(workflow_schema()).validate(document)


def test_the_schema_rejects_an_unknown_key() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    raw = YAML(typ="safe", pure=True).load(SHIPPED[0].read_text(encoding="utf-8"))
    raw["transitions"][0]["guards"] = "true"
    assert not jsonschema_rs.validator_for(workflow_schema()).is_valid(raw)


def test_hatchery_schema_prints_the_schema() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from cli.main import app; app()", "schema"],
        capture_output=True, text=True, encoding="utf-8", cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == workflow_schema()
