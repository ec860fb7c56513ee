"""What may be done on a case now, and why not."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.base import Public


class RefusalPublic(Public):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ActionPublic(Public):
    """A transition the caller may fire now, or one near but refused (why, in the caller's
    language), and the form to fill."""

    trigger: str
    title: str
    description: str | None = None
    allowed: bool
    refusal: RefusalPublic | None = Field(default=None, description="Why not now: the role, "
                                          "the condition, the checklist, or the case's "
                                          "status.")
    to: str | None = None
    to_title: str | None = None
    input_schema: dict[str, Any] = Field(description="JSON Schema of the input to send.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "trigger": "select", "title": "Select", "allowed": True, "refusal": None,
        "to": "confirmation", "to_title": "Confirmation", "input_schema": {
            "type": "object", "additionalProperties": False,
            "required": ["not_on_abnormal_lists"],
            "properties": {"not_on_abnormal_lists": {"type": "boolean",
                                                     "title": "Not on the lists"}}}}]})


class ActionsPublic(Public):
    """What may be done on a case now: the transitions a person may fire from its state
    (allowed, or near but refused, with why); automatic ones and those of other states are
    not listed."""

    case_id: str
    version: int
    state: str
    state_title: str
    status: str = Field(description="active, suspended or closed")
    actions: list[ActionPublic]
