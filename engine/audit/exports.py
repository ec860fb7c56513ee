"""Exports of events for auditors: CSV, JSON Lines and xlsx, streamed.

Events are read in pages by id (keyset, `PAGE` rows at a time) up to the last id that
existed when the export began, so an export is a fixed set however long it takes and
memory does not grow with it (beyond one entry per exported case for the trailer).

Every export has a trailer: the number of rows and the chain-head digest,
`engine.ledger.checkpoint_digest` over `(case_id, hash, seq)` of the last exported event
of each exported case. A reader recomputes it from the rows themselves, and for an
export of whole histories compares it with a checkpoint: a truncated or edited export
does not match. The trailer is written as the file's last row only when asked for
(`trailer=True`): a row of another shape breaks strict CSV readers and Excel's tables.
Either way `on_end` receives it, and the callers keep it in the export's entry of the
operations log (the file's sidecar).

CSV starts with a UTF-8 byte-order mark (Excel then reads Chinese correctly); xlsx is
written by openpyxl in write-only mode. Text that a spreadsheet would run as a formula
(`=`, `+`, `-`, `@` first) is kept as text. Sensitive fields are masked unless the
reader may see personal data (`pii=True`).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine

from engine.access.principals import community_scope
from engine.audit.filters import InputCondition
from engine.audit.masking import mask_fields, sensitive_names
from engine.catalogue import Catalogue
from engine.core.compiler import CompiledWorkflow
from engine.language.spec import as_text
from engine.language.texts import shown
from engine.ledger.chain import checkpoint_digest
from engine.store.db import read_connection
from engine.store.repository import input_clause
from engine.store.tables import CASES, EVENTS

__all__ = ["COLUMNS", "FORMATS", "ExportFilter", "Trailer", "count_rows", "export",
           "media_type"]

PAGE = 1000
Format = Literal["csv", "jsonl", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BOM = "\ufeff"

# The columns in order, each headed in the export's language.
COLUMNS = Catalogue.en_zh("export columns", {
    "case_id": ("Case", "事项编号"),
    "seq": ("Seq", "序号"),
    "at": ("Time (UTC)", "时间（UTC）"),
    "community": ("Community", "社区"),
    "workflow_id": ("Workflow", "流程"),
    "workflow_version": ("Version", "流程版本"),
    "kind": ("Kind", "类型"),
    "trigger": ("Trigger", "操作"),
    "from_state": ("From", "原阶段"),
    "from_title": ("From (title)", "原阶段名称"),
    "to_state": ("To", "新阶段"),
    "to_title": ("To (title)", "新阶段名称"),
    "actor": ("Actor", "操作人"),
    "role": ("Role", "角色"),
    "input": ("Input", "输入"),
    "changes": ("Changes", "数据变更"),
    "comment": ("Comment", "备注"),
    "prev_hash": ("Previous hash", "前一哈希"),
    "hash": ("Hash", "哈希"),
})
# Event kinds: in English an export keeps the kind's own name.
KINDS = Catalogue.en_zh("event kinds", {
    "start": ("start", "启动"), "transition": ("transition", "流转"),
    "checklist_tick": ("checklist_tick", "勾选清单"),
    "checklist_untick": ("checklist_untick", "取消勾选"), "link": ("link", "关联"),
    "unlink": ("unlink", "取消关联"), "suspend": ("suspend", "暂停"),
    "resume": ("resume", "恢复"), "migration": ("migration", "版本迁移"),
    "overdue": ("overdue", "逾期"), "escalation": ("escalation", "督办提醒"),
    "timer_refused": ("timer_refused", "期限未执行"), "assignment": ("assignment", "指定责任人"),
    "follow_up": ("follow_up", "跟进日期"),
})
TRAILER = Catalogue.en_zh("export trailer", {
    "end": ("# end", "# 结束"), "rows": ("rows", "行数"),
    "digest": ("chain_head_digest", "链头摘要"), "cases": ("cases", "事项数"),
})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFilter:
    """Which events: all filters optional, `since` inclusive, `until` exclusive."""

    workflow_id: str | None = None
    community_prefix: str | None = None
    case_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    role: str | None = None
    trigger: str | None = None
    state: str | None = None
    conditions: tuple[InputCondition, ...] = ()


@dataclass
class Trailer:
    """What closes an export: how many rows, and the digest over the exported heads."""

    rows: int = 0
    digest: str = ""
    cases: int = 0


def media_type(fmt: str) -> str:
    return MEDIA_TYPES[fmt]


def _query(f: ExportFilter, after: int, last: int, limit: int) -> sa.Select[Any]:
    query = (sa.select(EVENTS.c.id, EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.at,
                       CASES.c.community, EVENTS.c.workflow_id, EVENTS.c.workflow_version,
                       EVENTS.c.kind, EVENTS.c.trigger, EVENTS.c.from_state,
                       EVENTS.c.to_state, EVENTS.c.actor, EVENTS.c.role, EVENTS.c.input,
                       EVENTS.c.changes, EVENTS.c.comment, EVENTS.c.prev_hash,
                       EVENTS.c.hash)
             .select_from(EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id))
             .where(EVENTS.c.id > after, EVENTS.c.id <= last)
             .order_by(EVENTS.c.id).limit(limit))
    if f.workflow_id is not None:
        query = query.where(EVENTS.c.workflow_id == f.workflow_id)
    if f.case_id is not None:
        query = query.where(EVENTS.c.case_id == f.case_id)
    if f.actor is not None:
        query = query.where(EVENTS.c.actor == f.actor)
    if f.since is not None:
        query = query.where(EVENTS.c.at >= f.since)
    if f.until is not None:
        query = query.where(EVENTS.c.at < f.until)
    if f.role is not None:
        query = query.where(EVENTS.c.role == f.role)
    if f.trigger is not None:
        query = query.where(EVENTS.c.trigger == f.trigger)
    if f.state is not None:
        query = query.where(sa.or_(EVENTS.c.from_state == f.state, EVENTS.c.to_state == f.state))
    for condition in f.conditions:
        query = query.where(input_clause(condition))
    if f.community_prefix:
        query = query.where(community_scope(CASES.c.community, f.community_prefix))
    return query


def count_rows(engine: Engine, f: ExportFilter) -> int:
    """How many events the filter keeps now (for a progress bar)."""
    inner = _query(f, 0, 2**62, 2**62).with_only_columns(EVENTS.c.id).order_by(None).limit(None)
    with read_connection(engine) as connection:
        return int(connection.execute(
            sa.select(sa.func.count()).select_from(inner.subquery())).scalar_one())


def event_rows(engine: Engine, f: ExportFilter, *, page: int = PAGE
               ) -> Iterator[dict[str, Any]]:
    """The events the filter keeps, oldest id first, read a page at a time."""
    with read_connection(engine) as connection:
        last = connection.execute(sa.select(sa.func.max(EVENTS.c.id))).scalar()
    if last is None:
        return
    after = 0
    while True:
        with read_connection(engine) as connection:
            rows = [dict(r) for r in connection.execute(_query(f, after, last, page)).mappings()]
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1]["id"]


class _Rows:
    """Turns stored events into export rows: labels, masking, and the trailer's heads."""

    def __init__(self, workflow: Callable[[str, str], CompiledWorkflow | None], lang: str,
                 pii: bool, titled: bool = False) -> None:
        self.workflow = workflow
        self.lang = lang
        self.pii = pii
        self.titled = titled  # enumerated values shown by their titles (csv and xlsx)
        self.heads: dict[str, tuple[str, int]] = {}
        self.count = 0
        self._sensitive: dict[tuple[str, str], frozenset[str] | None] = {}

    def sensitive(self, workflow_id: str, version: str) -> frozenset[str] | None:
        key = (workflow_id, version)
        if key not in self._sensitive:
            wf = self.workflow(workflow_id, version)
            self._sensitive[key] = sensitive_names(wf) if wf is not None else None
        return self._sensitive[key]

    def title(self, row: Mapping[str, Any], state: str | None) -> str | None:
        if state is None:
            return None
        wf = self.workflow(row["workflow_id"], row["workflow_version"])
        info = wf.states.get(state) if wf is not None else None
        return as_text(info.spec.title, self.lang, state) if info is not None else state

    def shown(self, row: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Enumerated values by their titles in the export's language (people read these)."""
        wf = self.workflow(row["workflow_id"], row["workflow_version"]) if self.titled else None
        if wf is None:
            return values
        inputs = next((t.spec.input for t in wf.transitions if t.trigger == row["trigger"]), {})
        out: dict[str, Any] = {}
        for name, value in values.items():
            spec = inputs.get(name)
            if spec is None or not isinstance(spec.values, dict):
                spec = wf.fields.get(name, spec)
            out[name] = shown(spec, value, self.lang) if spec is not None and spec.values \
                and value is not None else value
        return out

    def make(self, row: Mapping[str, Any]) -> dict[str, Any]:
        values, changes = dict(row["input"] or {}), dict(row["changes"] or {})
        if not self.pii:
            names = self.sensitive(row["workflow_id"], row["workflow_version"])
            values, changes = mask_fields(values, names), mask_fields(changes, names)
        seen = self.heads.get(row["case_id"])
        if seen is None or seen[1] < row["seq"]:
            self.heads[row["case_id"]] = (row["hash"], row["seq"])
        self.count += 1
        kind = row["kind"]
        return {
            "case_id": row["case_id"], "seq": row["seq"], "at": row["at"].isoformat(),
            "community": row["community"], "workflow_id": row["workflow_id"],
            "workflow_version": row["workflow_version"],
            "kind": KINDS.text(kind, self.lang) if kind in KINDS else kind,
            "trigger": row["trigger"], "from_state": row["from_state"],
            "from_title": self.title(row, row["from_state"]), "to_state": row["to_state"],
            "to_title": self.title(row, row["to_state"]), "actor": row["actor"],
            "role": row["role"], "input": self.shown(row, values),
            "changes": self.shown(row, changes),
            "comment": row["comment"], "prev_hash": row["prev_hash"], "hash": row["hash"],
        }

    def trailer(self) -> Trailer:
        digest = checkpoint_digest((case_id, digest, seq)
                                   for case_id, (digest, seq) in self.heads.items())
        return Trailer(self.count, digest, len(self.heads))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return value


def _safe_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export(engine: Engine, workflow: Callable[[str, str], CompiledWorkflow | None],
           f: ExportFilter, *, fmt: str = "csv", lang: str = "en", pii: bool = False,
           on_row: Callable[[int], None] | None = None, page: int = PAGE,
           trailer: bool = False, on_end: Callable[[Trailer], None] | None = None,
           ) -> Iterator[bytes]:
    """The export as chunks of bytes, with the trailer as its last row when `trailer`;
    `on_row(n)` after every `page` rows, `on_end(trailer)` after the last."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    lang = "zh" if lang == "zh" else "en"
    rows = _Rows(workflow, lang, pii, titled=fmt != "jsonl")

    def made() -> Iterator[dict[str, Any]]:
        for n, row in enumerate(event_rows(engine, f, page=page), start=1):
            yield rows.make(row)
            if on_row is not None and n % page == 0:
                on_row(n)

    closing = rows if trailer else None
    if fmt == "csv":
        yield from _csv(made(), closing, lang)
    elif fmt == "jsonl":
        yield from _jsonl(made(), closing)
    else:
        yield from _xlsx(made(), closing, lang)
    if on_row is not None:
        on_row(rows.count)
    if on_end is not None:
        on_end(rows.trailer())


def _header(lang: str) -> list[str]:
    return list(COLUMNS.texts(lang).values())


def _trailer_row(t: Trailer, lang: str) -> list[Any]:
    end, count, digest, cases = (TRAILER.text(k, lang) for k in ("end", "rows", "digest",
                                                                   "cases"))
    return [end, count, t.rows, digest, t.digest, cases, t.cases]


def _csv(made: Iterator[dict[str, Any]], rows: _Rows | None, lang: str) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(_header(lang))
    for n, row in enumerate(made, start=1):
        writer.writerow([_safe_text(_cell(row[name])) for name in COLUMNS])
        if n % 200 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if rows is not None:
        writer.writerow(_trailer_row(rows.trailer(), lang))
    yield buffer.getvalue().encode("utf-8")


def _jsonl(made: Iterator[dict[str, Any]], rows: _Rows | None) -> Iterator[bytes]:
    chunk: list[str] = []
    for row in made:
        chunk.append(json.dumps(row, ensure_ascii=False, default=str))
        if len(chunk) >= 200:
            yield ("\n".join(chunk) + "\n").encode("utf-8")
            chunk = []
    if rows is not None:
        t = rows.trailer()
        chunk.append(json.dumps({"trailer": {"rows": t.rows, "chain_head_digest": t.digest,
                                             "cases": t.cases}}))
    if chunk:
        yield ("\n".join(chunk) + "\n").encode("utf-8")


def _xlsx(made: Iterator[dict[str, Any]], rows: _Rows | None, lang: str) -> Iterator[bytes]:
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    sheet = book.create_sheet("事件" if lang == "zh" else "events")
    sheet.append(_header(lang))
    for row in made:
        cells = []
        for name in COLUMNS:
            value = _cell(row[name])
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula
            cells.append(cell)
        sheet.append(cells)
    if rows is not None:
        sheet.append(_trailer_row(rows.trailer(), lang))
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        book.save(out)
        out.seek(0)
        while chunk := out.read(64 * 1024):
            yield chunk
