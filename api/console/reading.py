"""The console's read side for one person: the service's queries and the API's `Presenter`,
put into the words the pages show (titles, never ids; personal data masked without `pii`).

Nothing here reads the database by itself: every record, event and timer comes through
the service the API uses, and leaves through the presenter that masks for the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from api.console.auth import Desk
from api.console.forms import value_title
from api.console.i18n import CHINA, format_date, format_datetime, text
from api.schemas import CasePublic
from api.views import Presenter
from engine.access.principals import Principal
from engine.core.compiler import CompiledWorkflow
from engine.errors import HatcheryError, NotFound
from engine.language.spec import as_text
from engine.timers.calendar import CalendarCoverageError, default_calendar

STATUSES = ("active", "suspended", "closed", "all")
MAX_REFERENCES = 500
"""A reference field offers the records it may name up to this many (else it is typed)."""
VIEWS = ("mine", "unassigned", "all")
SORTS = ("priority", "follow_up", "deadline")
"""The queue's orders: the workflow's priority (the default), the follow-up date, the next
deadline (`engine.store.queue_orders`)."""
DEFAULT_STATUS = "active"
"""The queue shows records in progress unless asked for others."""
HIDDEN_REFUSALS = frozenset({"unknown_trigger", "not_allowed_from_state"})
"""Actions refused for these reasons are not offered at all (they do not belong to the
record's stage); other refusals are shown with their reason, never as a silent gap."""


@dataclass(frozen=True)
class WorkflowChoice:
    """A workflow a person may pick: its latest version's title and stages."""

    id: str
    version: str
    title: str
    stages: dict[str, str]


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue, in the person's words."""

    id: str
    title: str
    workflow: str
    stage: str
    status: str
    days_in_stage: int
    next_due: datetime | None
    overdue: bool
    community: str
    responsible: str | None = None
    follow_up_on: date | None = None
    follow_up_due: bool = False
    escalated: bool = False


@dataclass(frozen=True)
class QueueFilters:
    """The filters of the queue as the query string gives them (unknown values dropped).

    `view` is whose records: "mine" (the person's own, the default for people who change
    records), "unassigned", or "all" in the person's scope (the default for the others).
    """

    workflow: str | None = None
    stage: str | None = None
    overdue: bool = False
    status: str = DEFAULT_STATUS
    q: str | None = None
    view: str = "all"
    default_view: str = "all"
    follow_up: bool = False
    sort: str = "priority"
    escalated: bool = False

    @classmethod
    def read(cls, params: Any, workflows: list[WorkflowChoice],
             default_view: str = "all") -> QueueFilters:
        known = {w.id: w for w in workflows}
        workflow = params.get("workflow") if params.get("workflow") in known else None
        stages = known[workflow].stages if workflow else {}
        stage = params.get("stage") if params.get("stage") in stages else None
        status = params.get("status") if params.get("status") in STATUSES else DEFAULT_STATUS
        query = (params.get("q") or "").strip()[:100] or None
        view = params.get("view") if params.get("view") in VIEWS else default_view
        sort = params.get("sort") if params.get("sort") in SORTS else "priority"
        return cls(workflow, stage, params.get("overdue") == "1", status, query, view,
                   default_view, params.get("follow_up") == "1", sort,
                   params.get("escalated") == "1")

    def query(self, **extra: str) -> str:
        values = {"view": None if self.view == self.default_view else self.view,
                  "workflow": self.workflow, "stage": self.stage,
                  "overdue": "1" if self.overdue else None,
                  "follow_up": "1" if self.follow_up else None,
                  "escalated": "1" if self.escalated else None,
                  "status": None if self.status == DEFAULT_STATUS else self.status,
                  "q": self.q, "sort": None if self.sort == "priority" else self.sort,
                  **extra}
        return urlencode({k: v for k, v in values.items() if v})

    def with_view(self, view: str) -> str:
        """The same filters in another view (the view tabs' links)."""
        return replace(self, view=view).query()

    @property
    def any(self) -> bool:
        return any((self.workflow, self.stage, self.overdue, self.q, self.follow_up,
                    self.escalated, self.status != DEFAULT_STATUS, self.sort != "priority"))

    @property
    def status_filter(self) -> str | None:
        """The status the service filters by (None: every status)."""
        return None if self.status == "all" else self.status


@dataclass(frozen=True)
class Deadline:
    """A pending timer as a person reads it."""

    title: str
    due_at: datetime
    working_days_left: int | None
    overdue: bool


@dataclass(frozen=True)
class LinkView:
    """A linked record, from either side; `title` is None outside the person's scope."""

    case_id: str
    title: str | None
    workflow: str
    stage: str | None
    relation: str
    direction: str


@dataclass
class CaseDetail:
    """Everything the case page shows."""

    case: CasePublic
    workflow: CompiledWorkflow
    workflow_title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)


class Reading:
    """The read side as one signed-in person sees it."""

    def __init__(self, service: Any, presenter: Presenter, principal: Principal,
                 lang: str) -> None:
        self.service = service
        self.presenter = presenter
        self.principal = principal
        self.lang = lang
        self._references: dict[str, list[tuple[str, str]] | None] = {}

    @classmethod
    def of(cls, request: Request, desk: Desk) -> Reading:
        state = request.app.state
        return cls(state.service, state.presenter, desk.principal, desk.lang)

    # -- workflows ------------------------------------------------------------------------

    def workflow(self, workflow_id: str, version: str | None = None) -> CompiledWorkflow:
        found: CompiledWorkflow = self.service.registry.get(workflow_id, version)
        return found

    def workflows(self) -> list[WorkflowChoice]:
        choices = []
        for definition in self.service.registry.definitions():
            wf = self.workflow(definition.id, definition.version)
            choices.append(WorkflowChoice(
                wf.id, wf.version, as_text(wf.spec.title, self.lang, wf.id),
                {sid: as_text(info.spec.title, self.lang, sid)
                 for sid, info in wf.states.items() if not info.children}))
        return sorted(choices, key=lambda c: c.title)

    def stages_of(self, workflow_id: str | None) -> list[tuple[str, str]]:
        if workflow_id is None:
            return []
        wf = self.workflow(workflow_id)
        return [(sid, as_text(info.spec.title, self.lang, sid))
                for sid, info in wf.states.items() if not info.children]

    def state_title(self, wf: CompiledWorkflow, state: str | None) -> str:
        info = wf.states.get(state or "")
        return as_text(info.spec.title, self.lang, state or "") if info else (state or "")

    def trigger_title(self, wf: CompiledWorkflow, trigger: str | None) -> str:
        return as_text(wf.trigger_titles.get(trigger or ""), self.lang, trigger or "")

    # -- the queue ------------------------------------------------------------------------

    def scope(self) -> str | None:
        community = self.principal.community
        return None if community == "*" else community

    def queue(self, filters: QueueFilters, cursor: str | None, limit: int
              ) -> tuple[list[QueueRow], str | None]:
        today = self.service.clock.now().astimezone(CHINA).date()
        views, following = self.service.list_cases(
            workflow_id=filters.workflow, state=filters.stage, community_prefix=self.scope(),
            overdue=True if filters.overdue else None, text=filters.q,
            status=filters.status_filter, pii=self.principal.sees_pii,
            order=filters.sort, limit=limit, cursor=cursor,
            assignee=self.principal.name if filters.view == "mine" else None,
            unassigned=filters.view == "unassigned",
            follow_up_by=today if filters.follow_up else None,
            escalated=True if filters.escalated else None)
        now = self.service.clock.now()
        due = self.service.next_due([view.id for view in views])
        rows = []
        for view in views:
            public = self.presenter.case(view, self.principal, self.lang)
            wf = self.workflow(view.workflow_id, view.workflow_version)
            follow = getattr(view, "follow_up_on", None)
            rows.append(QueueRow(
                id=view.id, title=public.title or public.state_title,
                workflow=as_text(wf.spec.title, self.lang, wf.id), stage=public.state_title,
                status=view.status, days_in_stage=max((now - view.entered_at).days, 0),
                next_due=due.get(view.id), overdue=bool(view.overdue), community=view.community,
                responsible=getattr(view, "assignee", None), follow_up_on=follow,
                follow_up_due=follow is not None and follow <= today,
                escalated=view.escalated_at is not None))
        return rows, following

    def references(self, spec: Any) -> list[tuple[str, str]] | None:
        """The records in the person's scope a reference field may name (of its workflow,
        not closed), as (id, title), latest changed first; None past `MAX_REFERENCES`."""
        if not getattr(spec, "workflow", None):
            return None
        if spec.workflow not in self._references:  # once a page, for every field naming it
            self._references[spec.workflow] = self._listed(spec.workflow)
        return self._references[spec.workflow]

    def _listed(self, workflow_id: str) -> list[tuple[str, str]] | None:
        found: list[tuple[str, str]] = []
        for status in ("active", "suspended"):
            views, following = self.service.list_cases(
                workflow_id=workflow_id, community_prefix=self.scope(), status=status,
                pii=self.principal.sees_pii, order="updated", limit=MAX_REFERENCES)
            if following is not None or len(found) + len(views) > MAX_REFERENCES:
                return None
            for view in views:
                public = self.presenter.case(view, self.principal, self.lang)
                found.append((view.id, public.title or public.state_title))
        return found

    # -- one record -----------------------------------------------------------------------

    def visible(self, case_id: str) -> Any:
        """The service's view of a record in the person's scope; `NotFound` otherwise (a
        record elsewhere cannot be told from one that does not exist)."""
        view = self.service.get_case(case_id)
        if not self.principal.sees(view.community):
            raise NotFound("case", case_id)
        return view

    def can_see(self, case_id: str) -> bool:
        try:
            self.visible(case_id)
        except NotFound:
            return False
        return True

    def case(self, case_id: str) -> CaseDetail:
        """Everything the record's page shows, if the person's scope covers it."""
        view = self.visible(case_id)
        public = self.presenter.case(view, self.principal, self.lang)
        wf = self.workflow(view.workflow_id, view.workflow_version)
        detail = CaseDetail(public, wf, as_text(wf.spec.title, self.lang, wf.id))
        detail.fields = [(as_text(spec.title, self.lang, name),
                          self.shown(spec, public.data[name]))
                         for name, spec in wf.fields.items() if name in public.data]
        detail.deadlines = self._deadlines(wf, case_id)
        detail.links = [self.link(link) for link in public.links]
        return detail

    def shown(self, spec: Any, value: Any) -> str:
        """A stored value as a person reads it (dates in their words, yes/no, titles)."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return text("form.yes" if value else "form.no", self.lang)
        if isinstance(value, list):
            return "、".join(self.shown(spec, v) for v in value)
        if spec is not None and spec.type == "reference" and isinstance(value, str):
            return self._record_title(value)
        if spec is not None and spec.type == "date" and isinstance(value, str):
            try:
                return format_date(date.fromisoformat(value), self.lang)
            except ValueError:
                return value
        if spec is not None and spec.type == "datetime" and isinstance(value, str):
            try:
                return format_datetime(datetime.fromisoformat(value), self.lang)
            except ValueError:
                return value
        if spec is not None and spec.values and isinstance(value, str):
            return value_title(spec, value, self.lang)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def _record_title(self, case_id: str) -> str:
        """A record another names, by its title: never its id; one out of the person's
        scope is said to be elsewhere (as a link to it is)."""
        try:
            other = self.visible(case_id)
        except HatcheryError:
            return text("case.link_elsewhere", self.lang)
        public = self.presenter.case(other, self.principal, self.lang)
        return str(public.title or public.state_title)

    def _deadlines(self, wf: CompiledWorkflow, case_id: str) -> list[Deadline]:
        timers, _ = self.service.list_timers(case_id=case_id, status="pending", limit=20)
        now = self.service.clock.now()
        calendar = default_calendar()
        found = []
        for timer in timers:
            spec = next((t for _, t in wf.timers_of(timer.state) if t.id == timer.timer_id),
                        None)
            title = as_text(spec.title if spec else None, self.lang, timer.timer_id)
            try:
                left: int | None = calendar.working_days_between(
                    now.astimezone(CHINA).date(), timer.due_at.astimezone(CHINA).date())
            except CalendarCoverageError:
                left = None
            found.append(Deadline(title, timer.due_at, left, timer.due_at <= now))
        return found

    def link(self, link: dict[str, Any]) -> LinkView:
        """A linked record as this person may see it (its title only within their scope)."""
        other_id = str(link.get("case_id"))
        try:
            other = self.service.get_case(other_id)
        except HatcheryError:
            other = None
        if other is None or not self.principal.sees(other.community):
            return LinkView(other_id, None, "", None, str(link.get("relation", "")),
                            str(link.get("direction", "")))
        public = self.presenter.case(other, self.principal, self.lang)
        wf = self.workflow(other.workflow_id, other.workflow_version)
        return LinkView(other_id, public.title or public.state_title,
                        as_text(wf.spec.title, self.lang, wf.id), public.state_title,
                        str(link.get("relation", "")), str(link.get("direction", "")))
