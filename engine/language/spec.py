"""Typed model of a workflow definition: the neutral form between YAML and the compiler.

Every model forbids unknown keys and is frozen, so a definition that loaded is exactly the
definition that runs. Cross-references (a transition naming a state, a guard naming a
field) are checked by `engine.language.lint`, not here: this module only says what shapes exist,
so that pydantic's errors stay about shape and the linter's about meaning.

The JSON Schema shipped for editors (`workflows/schema.json`) is generated from
`WorkflowSpec`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.language.patterns import compile_pattern

IDENT_PATTERN = r"^[a-z][a-z0-9_]*$"
SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$"
Ident = Annotated[str, Field(pattern=IDENT_PATTERN, max_length=64)]
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$")
Expression = Annotated[str, Field(min_length=1, max_length=4000)]



def version_key(version: str) -> tuple[Any, ...]:
    """Sort key of a semantic version: 1.10.0 after 1.9.0, a pre-release before its release."""
    match = _SEMVER.match(version)
    if match is None:
        return (-1, -1, -1, 0, version)
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)


FieldType = Literal[
    "string", "text", "integer", "number", "boolean", "date", "datetime", "enum", "list",
    "reference",
]
ItemType = Literal["string", "integer", "number", "boolean", "date"]
TimerAction = Literal["fire", "mark_overdue", "escalate"]
FlagAction = Literal["mark_overdue", "escalate"]
Counting = Literal["working", "calendar"]


class Model(BaseModel):
    """Base of every spec model: unknown keys are errors, instances never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Model):
    """A bilingual label. Either language may be missing; the other is shown instead."""

    zh: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _one_language(self) -> Text:
        if not self.zh and not self.en:
            raise ValueError("a label needs at least one of zh or en")
        return self

    def get(self, lang: str = "en") -> str:
        """The label in `lang`, falling back to the other language."""
        first, second = (self.zh, self.en) if lang == "zh" else (self.en, self.zh)
        return first or second or ""


def as_text(value: str | Text | None, lang: str = "en", default: str = "") -> str:
    """Render an optional label given either as plain text or as a bilingual `Text`."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    return value.get(lang)


Label = str | Text


class FieldSpec(Model):
    """A typed case field, transition input or parameter."""

    type: FieldType
    title: Label | None = None
    description: Label | None = None
    required: bool = False
    default: Any = None
    sensitive: bool = Field(
        default=False,
        description="Personal data (ID number, phone, birth date): masked unless the reader "
        "holds the pii permission, never logged.",
    )
    min: float | None = Field(default=None, description="Lowest number, or shortest list.")
    max: float | None = Field(default=None, description="Highest number, or longest list.")
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    pattern: str | None = Field(default=None, description="Regular expression a string matches.")
    values: list[str] | dict[str, Label] | None = Field(
        default=None,
        description="The allowed values of an enum (or of a list's elements): a list, or a "
        "mapping from each value to its title ({zh: ..., en: ...}) shown to people.")
    items: ItemType | None = Field(default=None, description="Type of the elements of a list.")
    workflow: Ident | None = Field(
        default=None, description="For a reference: the workflow of the referenced case."
    )

    @property
    def value_ids(self) -> list[str]:
        """The allowed values (without their titles)."""
        return list(self.values or [])

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_pattern(value)  # a PatternError is a ValueError: pydantic reports it
        return value

    @model_validator(mode="after")
    def _constraints_fit_type(self) -> FieldSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum field needs a non-empty list of values")
        if self.values is not None and self.type not in ("enum", "list"):
            raise ValueError("values are only allowed on enum (and list) fields")
        if self.type == "list" and self.items is None:
            raise ValueError("a list field needs items: the type of its elements")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.pattern is not None and self.type not in ("string", "text"):
            raise ValueError("a pattern is only allowed on string and text fields")
        return self


class ParameterSpec(Model):
    """A named value with a default that a deployment or a community may override."""

    type: Literal["integer", "number", "boolean", "string", "duration"]
    default: int | float | bool | str
    title: Label | None = None
    description: Label | None = None
    min: float | None = None
    max: float | None = None
    values: list[str] | None = Field(
        default=None, description="For a string parameter: the values an override may take.")


class ChecklistItemSpec(Model):
    """An item a state must complete, with evidence, before the case may leave it."""

    title: Label | None = None
    description: Label | None = None
    evidence: bool = Field(default=True, description="Whether ticking requires evidence text.")


class TimerSpec(Model):
    """A deadline or period armed on entering a state and cancelled on leaving it."""

    id: Ident
    title: Label | None = None
    duration: str | None = Field(
        default=None,
        description="ISO 8601 calendar duration (P1Y, P6M, P30D, PT12H) or params.NAME.",
    )
    working_days: int | str | None = Field(
        default=None,
        description="Working days on the official Chinese calendar: a number or params.NAME.",
    )
    days: int | str | None = Field(
        default=None,
        description="A number of days (or params.NAME), counted as `counting` says.",
    )
    counting: Counting | str = Field(
        default="working",
        description="For `days`: 'working' (the official Chinese calendar), 'calendar', or "
        "params.NAME (a string parameter holding one of them).",
    )
    relative_to: str = Field(
        default="entry",
        description="'entry' (when the state was entered) or the name of a date field.",
    )
    action: TimerAction | list[FlagAction] = Field(
        default="fire",
        description="fire, mark_overdue or escalate; or a list: [mark_overdue, escalate].",
    )
    trigger: Ident | None = Field(default=None, description="The trigger fired when due.")
    repeat: bool = Field(default=False, description="Re-arm after firing (periodic review).")

    @property
    def actions(self) -> tuple[str, ...]:
        """What the timer does when due, in order (one timer may mark overdue and escalate)."""
        if isinstance(self.action, str):
            return (self.action,)
        return tuple(dict.fromkeys(self.action))

    @model_validator(mode="after")
    def _one_length(self) -> TimerSpec:
        lengths = [v for v in (self.duration, self.working_days, self.days) if v is not None]
        if len(lengths) != 1:
            raise ValueError("a timer needs exactly one of duration, working_days or days")
        if self.action == "fire" and self.trigger is None:
            raise ValueError("a timer with action 'fire' needs a trigger")
        if not self.actions:
            raise ValueError("a timer needs at least one action")
        for length in (self.working_days, self.days):
            if isinstance(length, int) and length < 0:
                raise ValueError("working_days must not be negative")
        return self


class StateSpec(Model):
    """A stage of the procedure; may hold steps of its own as nested states."""

    title: Label | None = None
    description: Label | None = None
    initial: bool = False
    final: bool = False
    outcome: Ident | None = Field(
        default=None, description="For a final state: graduated, exited, approved, ..."
    )
    checklist: dict[Ident, ChecklistItemSpec] = Field(default_factory=dict)
    timers: list[TimerSpec] = Field(default_factory=list)
    states: dict[Ident, StateSpec] = Field(
        default_factory=dict, description="Steps of this stage; one of them is initial."
    )


class ConditionSpec(Model):
    """One condition of a transition, with the refusal a caseworker reads when it is false."""

    guard: Expression
    refusal: Label | None = Field(
        default=None,
        description="Shown when this condition is false; may name {params.X}, {data.X}, "
        "{input.X}.")


class TransitionSpec(Model):
    """A move from one or more states to another, fired by a trigger."""

    trigger: Ident
    source: Ident | list[Ident] = Field(
        alias="from", description="One state, a list of states, or '*' for any non-final state."
    )
    to: Ident
    title: Label | None = None
    description: Label | None = None
    roles: list[Ident] = Field(default_factory=list, description="Empty: any caseworker.")
    guard: Expression | None = None
    refusal: Label | None = Field(
        default=None, description="Shown to the caseworker when the guard is false; may name "
        "{params.X}, {data.X}, {input.X}."
    )
    conditions: list[ConditionSpec] = Field(
        default_factory=list,
        description="Further conditions, each with its own refusal text, checked in order "
        "after `guard`.",
    )
    input: dict[Ident, FieldSpec] = Field(default_factory=dict)
    effects: dict[Ident, Expression] = Field(
        default_factory=dict, description="Case field -> CEL expression computing its new value."
    )
    automatic: bool = Field(default=False, description="Fires by itself when its guard is true.")
    check_checklist: bool = Field(
        default=True,
        description="Whether the source state's checklist must be complete (false for exits).",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("source", mode="before")
    @classmethod
    def _star_means_any(cls, value: Any) -> Any:
        return "any" if value == "*" else value

    @property
    def sources(self) -> list[str]:
        """The source states as a list (`any` stands for every non-final state)."""
        return [self.source] if isinstance(self.source, str) else list(self.source)


class WorkflowSpec(Model):
    """A whole workflow definition, as a designer writes it in YAML."""

    id: Ident
    version: str = Field(pattern=SEMVER_PATTERN, description="Semantic version, e.g. 1.2.0.")
    title: Label
    description: Label | None = None
    source: str | None = Field(default=None, description="Which rule or article this models.")
    roles: list[Ident] = Field(
        default_factory=list, description="Workflow roles used by transitions (party_committee)."
    )
    start_roles: list[Ident] = Field(
        default_factory=list,
        description="Who may start a case (any one of these roles; admin always may). Empty: "
        "anyone with a role of the workflow, or a caseworker.",
    )
    title_field: Ident | None = Field(
        default=None, description="The field shown as a case's title and searched by text."
    )
    parameters: dict[Ident, ParameterSpec] = Field(default_factory=dict)
    fields: dict[Ident, FieldSpec] = Field(default_factory=dict)
    priority: Expression | None = Field(
        default=None, description="CEL expression ranking cases in a work queue (higher first)."
    )
    states: dict[Ident, StateSpec]
    transitions: list[TransitionSpec]
    migrations: dict[str, dict[Ident, Ident]] = Field(
        default_factory=dict,
        description="Earlier version -> {old state: new state} for moving running cases.",
    )
