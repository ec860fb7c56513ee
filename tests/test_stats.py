"""Stage statistics: cases in each state now, passed through, time spent, overdue, and
throughput per month (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import COMMITTEE, COMMUNITY, START, STORE_FIXTURES
from typer.testing import CliRunner

from engine.audit.stats import StageRow, stage_stats
from engine.clock import FrozenClock
from engine.definitions.registry import WorkflowRegistry
from engine.service import CaseService

INCUBATION = "store_incubation"
DAY = timedelta(days=1)


def start(service: CaseService, name: str, community: str = COMMUNITY) -> str:
    return service.start_case(INCUBATION, {"name": name, "residents_need": "elderly care"},
                              actor=COMMITTEE, community=community).case.id


def by_state(rows: list[StageRow]) -> dict[str, StageRow]:
    return {row.state: row for row in rows}


def test_counts_durations_and_throughput_follow_the_events(
        service: CaseService, clock: FrozenClock, engine: sa.Engine,
        registry: WorkflowRegistry) -> None:
    fast, slow = start(service, "Fast"), start(service, "Slow")
    start(service, "Waiting")
    clock.advance(DAY)
    service.fire(fast, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    clock.advance(3 * DAY)
    service.fire(slow, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    stats = stage_stats(engine, registry, INCUBATION)
    rows = by_state(stats.states)
    selection = rows["selection"]
    assert (selection.in_now, selection.passed_through, selection.completed) == (1, 3, 2)
    assert selection.median_seconds == 2.5 * DAY.total_seconds()
    assert selection.max_seconds == 4 * DAY.total_seconds()
    assert selection.p90_seconds == 4 * DAY.total_seconds()
    assert rows["confirmation"].in_now == 2
    assert rows["confirmation"].median_seconds is None
    assert stats.throughput == [{"month": "2026-03", "started": 3, "closed": 0}]
    assert rows["selection"].title != "selection"  # the state's title, in English
    zh = by_state(stage_stats(engine, registry, INCUBATION, lang="zh").states)
    assert zh["selection"].title == "社会组织选择"


def test_the_period_and_the_community_narrow_the_figures(
        service: CaseService, clock: FrozenClock, engine: sa.Engine,
        registry: WorkflowRegistry) -> None:
    start(service, "Here")
    start(service, "There", community="fuzhou/gulou/a/b")
    clock.advance(40 * DAY)
    start(service, "Later")
    scoped = by_state(stage_stats(engine, registry, INCUBATION,
                                  community_prefix=COMMUNITY).states)
    assert scoped["selection"].in_now == 2
    april = stage_stats(engine, registry, INCUBATION, since=START + 30 * DAY)
    assert by_state(april.states)["selection"].passed_through == 1
    assert [m["month"] for m in april.throughput] == ["2026-04"]


def test_overdue_cases_are_counted_in_their_state(
        service: CaseService, engine: sa.Engine, registry: WorkflowRegistry) -> None:
    late = start(service, "Late")
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE cases SET overdue = :t WHERE id = :id"),
                           {"t": True, "id": late})
    assert by_state(stage_stats(engine, registry, INCUBATION).states)["selection"].overdue == 1


def test_hatchery_stats_prints_the_table_and_draws_the_chart(
        service: CaseService, clock: FrozenClock, engine: sa.Engine, db_url: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    case_id = start(service, "Charted")
    clock.advance(DAY)
    service.fire(case_id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HATCHERY_WORKFLOWS_DIR", str(STORE_FIXTURES))
    chart = tmp_path / "stages.png"
    result = CliRunner().invoke(app, ["stats", "--workflow", INCUBATION, "--ids", "--plot",
                                      str(chart)])
    assert result.exit_code == 0, result.output
    assert "selection" in result.output and "2026-03" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    inverted = CliRunner().invoke(app, ["stats", "--workflow", INCUBATION, "--from",
                                        "2026-05-01", "--to", "2026-04-01"])
    assert inverted.exit_code == 2 and "--to" in inverted.output


def _stats_cli(db_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    from cli.main import app

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HATCHERY_WORKFLOWS_DIR", str(STORE_FIXTURES))
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, ["stats", "--workflow", INCUBATION, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_stats_table_fits_80_columns_with_every_title_whole(
        service: CaseService, clock: FrozenClock, db_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.cells import cell_len

    start(service, "Eighty")
    for lang in ("en", "zh"):
        shown = _stats_cli(db_url, monkeypatch, "--lang", lang)
        assert max(cell_len(line) for line in shown.splitlines()) <= 80
        titles = by_state(stage_stats(service.engine, service.registry, INCUBATION,
                                      lang=lang).states)
        # the stage column, read down the table: each title whole, however it wrapped
        column = "".join(line.split("│")[1].strip() for line in shown.splitlines()
                         if line.startswith("│"))
        for row in titles.values():
            assert "".join(row.title.split()) in "".join(column.split()), row.title


def test_a_chinese_chart_has_chinese_titles_in_a_font_that_has_them(
        service: CaseService, clock: FrozenClock, db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import warnings

    from cli.stats import cjk_font, draw

    case_id = start(service, "图表")
    clock.advance(DAY)
    service.fire(case_id, "select", input={"not_on_abnormal_lists": True}, actor=COMMITTEE)
    found = stage_stats(service.engine, service.registry, INCUBATION, lang="zh")
    font = cjk_font()
    assert font is not None, "the machine lacks a CJK font (apt-get install fonts-noto-cjk)"
    chart = tmp_path / "zh.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw(found, chart, "zh", font)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == [] and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_chinese_chart_without_a_chinese_font_is_refused_with_the_remedy(
        service: CaseService, db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app

    monkeypatch.setattr("cli.stats.CJK_FONTS", ("No Such CJK Font",))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HATCHERY_WORKFLOWS_DIR", str(STORE_FIXTURES))
    result = CliRunner().invoke(app, ["stats", "--workflow", INCUBATION, "--lang", "zh",
                                      "--plot", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "fonts-noto-cjk" in result.output and not (tmp_path / "x.png").exists()
