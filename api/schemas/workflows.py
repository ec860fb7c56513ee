"""Workflow definitions: a summary, a version in full, validation reports, retirement."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.base import Public
from api.schemas.problems import DiagnosticPublic


class FieldPublic(Public):
    """A typed field of a workflow or of a transition's input."""

    type: str
    title: str
    description: str | None = None
    required: bool = False
    sensitive: bool = False
    default: Any = None
    values: list[str] | None = None
    value_titles: dict[str, str] | None = Field(
        default=None, description="Each allowed value's title in the caller's language.")


class StatePublic(Public):
    id: str
    title: str
    description: str | None = None
    parent: str | None = None
    initial: bool = False
    final: bool = False
    outcome: str | None = None
    checklist: list[str] = Field(default_factory=list)
    checklist_titles: dict[str, str] = Field(
        default_factory=dict, description="Each checklist item's title in the caller's language.")


class TransitionPublic(Public):
    trigger: str
    title: str
    sources: list[str] = Field(description="States it leaves ('any': every non-final state).")
    to: str
    roles: list[str] = Field(description="Who may fire it; empty: any caseworker.")
    automatic: bool = False
    input: dict[str, FieldPublic] = Field(default_factory=dict)


class WorkflowSummary(Public):
    id: str
    version: str = Field(description="The latest version.")
    title: str
    description: str | None = None
    versions: list[str] = Field(description="Every registered version, oldest first.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "social_org_incubation", "version": "1.0.0", "title": "Social organization "
        "incubation", "description": None, "versions": ["1.0.0"]}]})


class RejectedDefinitionPublic(Public):
    """A file of the workflows folder that is not loaded, with every reason, located."""

    path: str
    diagnostics: list[DiagnosticPublic]


class WorkflowsPublic(Public):
    data: list[WorkflowSummary]
    count: int
    rejected: list[RejectedDefinitionPublic] = Field(
        default_factory=list,
        description="Files of the workflows folder that are not loaded (fix them and reload).")


class RetiredPublic(Public):
    """The versions a retirement took out of use (new cases no longer start on them)."""

    workflow_id: str
    versions: list[str]


class WorkflowPublic(WorkflowSummary):
    """One version of a definition: its fields, states and transitions, and its source."""

    content_hash: str
    roles: list[str]
    title_field: str | None = None
    fields: dict[str, FieldPublic]
    states: list[StatePublic]
    transitions: list[TransitionPublic]
    source_text: str = Field(description="The YAML as it was registered.")


class ValidationReport(Public):
    """What `hatchery validate` says about a definition, as data."""

    ok: bool
    workflow_id: str | None = None
    version: str | None = None
    diagnostics: list[DiagnosticPublic]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ok": False, "workflow_id": None, "version": None, "diagnostics": [{
            "path": "upload.yaml", "line": 3, "column": 10, "severity": "error",
            "code": "string_pattern_mismatch", "message": "version must look like 1.2.0"}]}]})
