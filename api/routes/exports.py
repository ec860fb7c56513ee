"""Exports of the events in scope (CSV, JSON Lines, xlsx), streamed, and kept in the
operations log with their trailer (row count and chain-head digest) once the last byte is
out; `trailer=true` also writes the trailer as the file's last row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.deps import Auditing, Context
from api.edge import Instant
from api.routes.audit import log, ordered, utc
from api.routes.common import ApiRoute, problems, scope_prefix
from engine.audit.exports import ExportFilter, Trailer, media_type

router = APIRouter(tags=["audit"], route_class=ApiRoute)


@router.get("/audit/export", summary="Events as CSV, JSON Lines or xlsx, streamed",
            responses={**problems(401, 403, 404, 422),
                       200: {"content": {media_type(f): {} for f in ("csv", "jsonl", "xlsx")},
                             "description": "The export: a header row, then one row per "
                                            "event (with `trailer=true`, a last row with the "
                                            "row count and the chain-head digest)."}},
            description="The trailer (how many rows, and the digest over the last exported "
                        "event of each case, comparable with a checkpoint) is kept in the "
                        "export's entry of the operations log (`GET /audit/operations"
                        "?action=export`: `rows`, `chain_head_digest`, `cases`); "
                        "`trailer=true` also writes it as the file's last row, which strict "
                        "CSV readers and Excel's tables do not expect.")
def audit_export(
    ctx: Auditing,
    format: Annotated[Literal["csv", "jsonl", "xlsx"], Query()] = "csv",
    lang: Annotated[Literal["zh", "en"] | None, Query(
        description="Labels; the Accept-Language otherwise.")] = None,
    workflow: Annotated[str | None, Query(max_length=64)] = None,
    community: Annotated[str | None, Query(max_length=700)] = None,
    case: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[Instant | None, Query(description="From (inclusive).")] = None,
    until: Annotated[Instant | None, Query(description="Before.")] = None,
    trailer: Annotated[bool, Query(description="End the file with the trailer row (row "
                                   "count and chain-head digest).")] = False,
) -> StreamingResponse:
    since, until = utc(since), utc(until)
    ordered(since, until, "since", "until")
    if case is not None:
        ctx.check(case)
    prefix = scope_prefix(ctx.principal, community)
    chosen = lang or ctx.lang
    f = ExportFilter(workflow_id=workflow, community_prefix=prefix, case_id=case,
                     actor=actor, since=since, until=until)
    progress = ExportProgress()
    chunks = ctx.service.export(ctx.presenter.workflow, f, fmt=format, lang=chosen,
                                pii=ctx.principal.sees_pii, trailer=trailer,
                                on_row=progress.row, on_end=progress.end)
    detail = {
        "format": format, "workflow": workflow, "actor": actor, "pii": ctx.principal.sees_pii,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None, "trailer": trailer}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        logged_export(ctx, chunks, progress, community=prefix, target=case, detail=detail),
        media_type=media_type(format),
        headers={"Content-Disposition": f'attachment; filename="events-{stamp}.{format}"'})


@dataclass
class ExportProgress:
    """How far an export has come: the rows written, and its trailer once it ended."""

    rows: int = 0
    trailer: Trailer | None = None

    def row(self, count: int) -> None:
        self.rows = count

    def end(self, trailer: Trailer) -> None:
        self.trailer = trailer


def logged_export(ctx: Context, chunks: Iterator[bytes], progress: ExportProgress, *,
                  community: str | None, target: str | None,
                  detail: dict[str, Any]) -> Iterator[bytes]:
    """The export's chunks; the operations log records it once the last one is out, with
    its trailer (`complete: false`, and the rows so far, when the stream stopped before
    its end)."""
    complete = False
    try:
        yield from chunks
        complete = True
    finally:
        kept: dict[str, Any] = {"rows": progress.rows, "complete": complete}
        if complete and progress.trailer is not None:
            kept.update(chain_head_digest=progress.trailer.digest,
                        cases=progress.trailer.cases)
        log(ctx, "export", community=community, target=target, detail={**detail, **kept})
