"""The read side the API and the console use beyond cases: workflow definitions, the
auditor's desk (a case at an instant, cases in a state, exports, integrity proofs, stage
statistics, the operations log) and the time. Callers never hold the database engine, the
registry or the clock: each method here passes them on, so the read side has one typed
surface (`CaseService`), and the engine modules behind it stay replaceable."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from engine.audit.exports import ExportFilter, Trailer, export
from engine.audit.history import CaseAt, InStateAt, case_at, cases_in_state
from engine.audit.proofs import checkpoint_scope, verify_scope
from engine.audit.stats import StageStats, stage_stats
from engine.audit.verify import verify
from engine.core.compiler import CompiledWorkflow
from engine.definitions.registry import Definition
from engine.ledger.chain import ChainBreak, Checkpoint
from engine.service.door import Door
from engine.store.operations import OperationView, list_operations, record

__all__ = ["Records"]


class Records(Door):
    """Definitions, audit reads and the operations log."""

    def now(self) -> datetime:
        """The service's time (the injected clock)."""
        return self.clock.now()

    # -- definitions ----------------------------------------------------------------------

    def workflow(self, workflow_id: str, version: str | None = None) -> CompiledWorkflow:
        """A compiled workflow version (the latest by default); `NotFound` otherwise."""
        return self.registry.get(workflow_id, version)

    def definitions(self) -> list[Definition]:
        """The latest version in use of every workflow not wholly retired."""
        return list(self.registry.definitions())

    # -- the auditor's desk -------------------------------------------------------------

    def case_at(self, case_id: str, at: datetime) -> CaseAt:
        """The case as it stood at `at`, replayed from its history."""
        return case_at(self.engine, self.registry, case_id, at)

    def cases_in_state(self, workflow_id: str, state: str, at: datetime, *,
                       community_prefix: str | None = None, after: str | None = None,
                       limit: int = 100) -> tuple[list[InStateAt], str | None]:
        """The cases of a workflow that were in `state` at `at`, a page at a time."""
        return cases_in_state(self.engine, self.registry, workflow_id, state, at,
                              community_prefix=community_prefix, after=after, limit=limit)

    def export(self, workflow: Callable[[str, str], CompiledWorkflow | None],
               filters: ExportFilter, *, fmt: str = "csv", lang: str = "en",
               pii: bool = False, on_row: Callable[[int], None] | None = None,
               trailer: bool = False, on_end: Callable[[Trailer], None] | None = None,
               ) -> Iterator[bytes]:
        """The events in scope as CSV, JSON lines or xlsx, streamed (`engine.audit.exports`:
        the trailer as the last row when `trailer`, and given to `on_end`)."""
        return export(self.engine, workflow, filters, fmt=fmt, lang=lang, pii=pii,
                      on_row=on_row, trailer=trailer, on_end=on_end)

    def verify(self, *, case_id: str | None = None,
               community_prefix: str | None = None) -> list[ChainBreak]:
        """Every break of the hash chains of one case, or of the cases in scope."""
        if case_id is not None:
            return verify(self.engine, case_id)
        return verify_scope(self.engine, community_prefix)

    def checkpoint(self, community_prefix: str | None = None) -> Checkpoint:
        """Every head in scope now, and their digest."""
        return checkpoint_scope(self.engine, self.clock.now(), community_prefix)

    def stage_stats(self, workflow_id: str, *, since: datetime | None = None,
                    until: datetime | None = None, community_prefix: str | None = None,
                    lang: str = "en") -> StageStats:
        """How long cases stay in each stage, and how many are overdue."""
        return stage_stats(self.engine, self.registry, workflow_id, since=since, until=until,
                           community_prefix=community_prefix, lang=lang)

    # -- the operations log -------------------------------------------------------------

    def operations(self, **filters: Any) -> tuple[list[OperationView], int | None]:
        """A page of the operations log (`engine.store.operations.list_operations`)."""
        return list_operations(self.engine, **filters)

    def log_operation(self, *, actor: str, action: str, target: str | None = None,
                      community: str | None = None,
                      detail: Mapping[str, Any] | None = None, outcome: str = "done") -> None:
        """Record an operation that changed no case (an export, a verification)."""
        record(self.engine, actor=actor, action=action, at=self.clock.now(), outcome=outcome,
               target=target, community=community, detail=detail)
