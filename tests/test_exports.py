"""Exports: CSV with a byte-order mark, JSON Lines and xlsx, labels in zh/en, personal data
masked without pii, a trailer with the row count and the chain-head digest."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, COMMUNITY

from engine.audit.exports import KINDS, ExportFilter, Trailer, export
from engine.audit.masking import mask_value
from engine.audit.verify import checkpoint
from engine.definitions.registry import WorkflowRegistry
from engine.ledger.chain import checkpoint_digest
from engine.service import CaseService
from engine.store.tables import EVENT_KINDS

INCUBATION = "store_incubation"
PHONE = "13800138000"


def start(service: CaseService, name: str, community: str = COMMUNITY) -> str:
    return service.start_case(INCUBATION, {"name": name, "residents_need": "elderly care",
                                           "contact_phone": PHONE}, actor=COMMITTEE,
                              community=community).case.id


def run(engine: sa.Engine, registry: WorkflowRegistry, f: ExportFilter | None = None,
        **options: Any) -> bytes:
    return b"".join(export(engine, registry.get, f or ExportFilter(), **options))


def jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_csv_starts_with_a_bom_has_zh_labels_and_ends_with_the_trailer(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    case_id = start(service, "Sunshine")
    service.fire(case_id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE,
                 comment="=HYPERLINK(\"x\")")
    data = run(engine, registry, fmt="csv", lang="zh", page=1, trailer=True)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["事项编号", "序号", "时间（UTC）"]
    assert rows[1][6] == "启动"
    assert rows[2][10] == "confirmation" and rows[2][11] not in ("", "confirmation")
    assert rows[-1][0] == "# 结束" and rows[-1][2] == "2"
    assert PHONE not in data.decode("utf-8")
    assert rows[2][16] == "'=HYPERLINK(\"x\")"  # a spreadsheet shows it, never runs it


def test_csv_without_the_trailer_is_a_plain_table_and_the_trailer_still_comes_out(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    start(service, "Plain")
    ended: list[Trailer] = []
    data = b"".join(export(engine, registry.get, ExportFilter(), fmt="csv", lang="zh",
                           on_end=ended.append))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True))
    assert len(rows) == 2 and {len(row) for row in rows} == {len(rows[0])}
    [trailer] = ended
    assert (trailer.rows, trailer.cases) == (1, 1)
    assert trailer.digest == checkpoint(engine).digest


def test_the_trailer_digest_equals_a_checkpoint_of_a_whole_store_export(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    for n in range(3):
        case_id = start(service, f"Org {n}")
        service.fire(case_id, "select", input={"not_on_abnormal_lists": True},
                     actor=COMMITTEE)
    lines = jsonl(run(engine, registry, fmt="jsonl", page=2, trailer=True))
    trailer = lines[-1]["trailer"]
    assert trailer["rows"] == len(lines) - 1 == 6
    assert trailer["chain_head_digest"] == checkpoint(engine).digest
    heads = {}
    for row in lines[:-1]:
        heads[row["case_id"]] = (row["case_id"], row["hash"], row["seq"])
    assert checkpoint_digest(heads.values()) == trailer["chain_head_digest"]


def test_pii_sees_sensitive_fields_and_others_see_them_masked(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    start(service, "Phone owners")
    masked = jsonl(run(engine, registry, fmt="jsonl"))[0]
    clear = jsonl(run(engine, registry, fmt="jsonl", pii=True))[0]
    assert clear["changes"]["contact_phone"] == PHONE
    assert masked["changes"]["contact_phone"] == mask_value(PHONE) != PHONE


def test_filters_keep_only_the_asked_community_and_time(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    inside = start(service, "Inside")
    start(service, "Outside", community="fuzhou/gulou/a/b")
    lines = jsonl(run(engine, registry, ExportFilter(community_prefix=COMMUNITY),
                      fmt="jsonl", trailer=True))
    assert [row["case_id"] for row in lines[:-1]] == [inside]
    assert lines[-1]["trailer"]["cases"] == 1


def test_xlsx_opens_with_labels_rows_and_trailer_and_keeps_formulas_as_text(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    from openpyxl import load_workbook

    case_id = start(service, "Formulas")
    service.fire(case_id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE,
                 comment="=1+1")
    book = load_workbook(io.BytesIO(run(engine, registry, fmt="xlsx", lang="en",
                                        trailer=True)))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "Case" and rows[-1][0] == "# end" and rows[-1][2] == 2
    assert rows[2][16] == "=1+1"
    assert book.active["Q3"].data_type == "s"  # text, never a formula


def test_an_empty_store_exports_a_header_and_a_trailer(engine: sa.Engine,
                                                        registry: WorkflowRegistry) -> None:
    lines = jsonl(run(engine, registry, fmt="jsonl", trailer=True))
    assert lines == [{"trailer": {"rows": 0, "chain_head_digest": checkpoint_digest([]),
                                  "cases": 0}}]


def test_masking_keeps_four_characters_at_each_end_of_long_values_only() -> None:
    assert mask_value("350102199001011234") == "3501**********1234"
    assert mask_value("13800138000") == "***********"
    assert mask_value(12) == "****" and mask_value(None) is None
    assert mask_value(["x" * 20]) == ["xxxx" + "*" * 12 + "xxxx"]


def test_the_export_command_writes_the_file_and_logs_the_operation(
        service: CaseService, engine: sa.Engine, db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from cli.export import export_events
    from engine.store.operations import list_operations

    start(service, "Exported")
    app = typer.Typer()
    app.command("export")(export_events)
    monkeypatch.setenv("DATABASE_URL", db_url)
    target = tmp_path / "events.jsonl"
    result = CliRunner().invoke(app, ["--output", str(target), "--format", "jsonl",
                                      "--community", COMMUNITY, "--trailer"])
    assert result.exit_code == 0, result.output
    lines = jsonl(target.read_bytes())
    assert lines[-1]["trailer"]["rows"] == 1 and PHONE not in target.read_text("utf-8")
    [entry] = list_operations(engine)[0]
    assert entry.action == "export"
    assert entry.detail["chain_head_digest"] == lines[-1]["trailer"]["chain_head_digest"]
    bad = CliRunner().invoke(app, ["--output", str(target), "--format", "pdf"])
    assert bad.exit_code == 2 and "--format" in bad.output


def test_enumerated_values_read_by_their_titles_in_csv_and_stay_codes_in_jsonl(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    from datetime import timedelta

    from engine.core.decision import Actor

    fixture = Path(__file__).parent / "fixtures" / "workflows" / "charity_venture.yaml"
    registry.register_text(fixture.read_text(encoding="utf-8"), str(fixture))
    applicant = Actor("chen", frozenset({"applicant"}))
    case_id = service.start_case("charity_venture", {"project_name": "银龄食堂"},
                                 actor=applicant, community=COMMUNITY).case.id
    day = (service.clock.now() - timedelta(days=1)).date().isoformat()
    service.fire(case_id, "submit", input={"budget": 100, "area": "elderly",
                                           "submitted_on": day}, actor=applicant)
    only = ExportFilter(case_id=case_id)
    zh = run(engine, registry, only, fmt="csv", lang="zh").decode("utf-8-sig")
    assert "为老服务" in zh and '"elderly"' not in zh
    en = run(engine, registry, only, fmt="csv", lang="en").decode("utf-8-sig")
    assert "Elderly care" in en
    raw = jsonl(run(engine, registry, only, fmt="jsonl", lang="zh"))
    assert raw[1]["input"]["area"] == "elderly"


def test_every_kind_of_event_has_a_chinese_label() -> None:
    assert list(KINDS) == list(EVENT_KINDS)
