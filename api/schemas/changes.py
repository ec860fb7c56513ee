"""Request bodies of the changes other than firing: checklist, links, suspension,
assignment, follow-up."""

from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, Field

from api.schemas.base import CASE_ID_EXAMPLE, MAX_ID, Body


class ChecklistTick(Body):
    evidence: str | None = Field(default=None, max_length=4000,
                                 description="What shows the item is done.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "evidence": "room 203 of the community centre, agreement no. 2026-17"}]})


class LinkCreate(Body):
    case_id: str = Field(min_length=1, max_length=MAX_ID, description="The other case.")
    relation: str = Field(default="related", pattern=r"^[a-z][a-z0-9_]{0,63}$")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "case_id": CASE_ID_EXAMPLE, "relation": "member_of"}]})


class SuspendRequest(Body):
    reason: str = Field(min_length=1, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "reason": "the organization asked for a pause during relocation"}]})


class AssignmentRequest(Body):
    """Who is responsible for the case from now on (null: nobody), and why."""

    assignee: str | None = Field(max_length=200)
    comment: str | None = Field(default=None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "assignee": "wang.li", "comment": "周老师调岗，由王丽接手"}]})


class FollowUpRequest(Body):
    """The day the responsible person means to follow the case up (null: none)."""

    on: date | None
    comment: str | None = Field(default=None, max_length=4000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "on": "2026-03-16"}]})


class ResumeRequest(Body):
    comment: str | None = Field(default=None, max_length=4000)
