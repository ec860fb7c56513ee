"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import Public
from api.schemas.workflows import RejectedDefinitionPublic


class HealthPublic(Public):
    status: Literal["ok"]


class CalendarCoveragePublic(Public):
    """The years whose working days are known (the holidays package and imported notices);
    from December on, a warning when next year's notice is not loaded yet."""

    first_year: int
    last_year: int
    provisional_until: int
    imported: list[int]
    warning: str | None = None
    warning_zh: str | None = None


class ReplicaPublic(Public):
    """The streaming replica that auditors' reads may go to (DATABASE_READ_URL)."""

    database: str
    reachable: bool
    lag_seconds: float | None = Field(
        None, description="How far its replay is behind; null when it cannot be measured.")
    max_lag_seconds: float
    in_use: bool = Field(description="Whether reads go to it now (lag within the bound).")
    error: str | None = None


class ReadyPublic(Public):
    status: Literal["ready", "not_ready"]
    database: bool
    revision: str | None = None
    head: str | None = None
    rejected_definitions: list[RejectedDefinitionPublic] = Field(
        default_factory=list,
        description="Workflow files not loaded; the service runs with the others.")
    calendar: CalendarCoveragePublic | None = None
    guards_missing: list[str] = Field(
        default_factory=list,
        description="Append-only triggers of the history or the operations log that are "
                    "missing or disabled (the service is not ready while any is).")
    replica: ReplicaPublic | None = Field(
        None, description="The read replica, when one is configured: a replica that is "
                          "down or behind does not make the service unready (the primary "
                          "answers its reads).")
