"""Moving a running case to a newer version of its workflow, through the door."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from engine.core.change import Change
from engine.core.migration import may_migrate, migrate
from engine.core.snapshot import Actor
from engine.errors import Refusal
from engine.service.door import Door
from engine.service.loading import Loaded
from engine.service.views import FireResult
from engine.store import repository as repo

__all__ = ["Migration"]


class Migration(Door):
    """Moving cases between versions of their workflow."""

    def migrate_case(self, case_id: str, to_version: str, *, actor: Actor,
                     expected_version: int | None = None,
                     comment: str | None = None) -> FireResult:
        """Move a running case to `to_version` of its workflow, with a `migration` event.

        `engine.core.migration.plan_case` decides whether it can move and to which state;
        when it cannot, `Refused` (code `migration_blocked`, every reason in
        `details["problems"]`) and nothing is written. The actor needs the role admin or
        designer. In the same transaction: the case row takes the new version, state and
        data (defaults of new fields filled in); states the case stays in keep their entry
        (checklist ticks, running timers); timers the new version no longer defines are
        cancelled, and states entered afresh arm theirs (paused if the case is
        suspended). Then the automatic transitions of the new version are taken, as after
        any change. Closed cases are not migrated (`case_closed`).
        """
        request = {"case_id": case_id, "to_version": to_version,
                   "expected_version": expected_version, "comment": comment}

        def decide(connection: Connection, case: Loaded, now: datetime) -> Change | Refusal:
            snapshot = case.snapshot()
            _, refused = may_migrate(case.wf, snapshot, actor)
            if refused is not None:
                return refused
            target = self.registry.get(case.wf.id, to_version)
            overrides = repo.parameter_overrides(connection, target.id, case.row["community"])
            return migrate(case.wf, snapshot, case.id, target, actor, now,
                           target.resolve_params(overrides), comment)

        return self.apply("migrate", actor, None, request, case_id, expected_version, decide)
