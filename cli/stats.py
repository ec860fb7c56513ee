"""`hatchery stats`: stage statistics of a workflow as a table, and time in stage as a chart.

The same figures as `GET /api/v1/stats/stages` (`engine.audit.stats.stage_stats`). The
table fits an 80-column terminal: stages are shown by their titles in the chosen language
(the ids with `--ids`), the title column wraps, the figures keep their width. The chart's
titles follow `--lang`; Chinese needs a font with Chinese characters (`require_cjk_font`).
"""

from __future__ import annotations

import importlib.util
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from engine.audit.stats import StageStats, stage_stats
from engine.catalogue import Catalogue
from engine.errors import HatcheryError
from engine.settings import Settings

DAY = 86400.0
# Noto CJK's collections register their first face (JP) in matplotlib; every face of the
# collection has the Chinese characters.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC",
             "Source Han Serif SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Droid Sans Fallback", "AR PL UMing CN", "SimHei", "Microsoft YaHei",
             "Noto Sans CJK JP", "Noto Serif CJK JP")
CJK_FILE_HINTS = ("CJK", "SourceHan", "wqy", "DroidSansFallback", "uming", "simhei", "msyh")
NO_CJK_FONT = ("no font with Chinese characters was found, so a Chinese chart would show "
               "boxes: install one (on Debian or Ubuntu: apt-get install fonts-noto-cjk), "
               "or draw the chart with --lang en")

WORDS = Catalogue.en_zh("cli.stats", {
    "state": ("stage", "阶段"), "now": ("now", "现有"), "passed": ("passed", "经过"),
    "done": ("done", "完成"), "median": ("median d", "中位天"), "p90": ("p90 d", "90%天"),
    "max": ("max d", "最长天"), "overdue": ("late", "逾期"),
    "months": ("Throughput per month (UTC+8)", "每月办理量（北京时间）"),
    "month": ("month", "月份"), "started": ("started", "新建"), "closed": ("closed", "办结"),
    "chart": ("Time in stage", "各阶段停留时间"), "days": ("days", "天"),
    "median_l": ("median", "中位数"), "p90_l": ("p90", "90%分位"), "max_l": ("max", "最长"),
})


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date or time (ISO 8601)",
                                 param_hint=name) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _days(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / DAY:.1f}"


def stats(
    workflow: Annotated[str, typer.Option("--workflow", help="A workflow id.")],
    since: Annotated[str | None, typer.Option("--from", help="From (ISO 8601, inclusive).")]
    = None,
    until: Annotated[str | None, typer.Option("--to", help="Before (ISO 8601).")] = None,
    community: Annotated[str | None, typer.Option(
        "--community", help="Only this community and those nested in it.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en (titles).")] = "en",
    ids: Annotated[bool, typer.Option("--ids", help="Show the state ids too.")] = False,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Also draw time in stage (median, p90, max) to this PNG.")] = None,
) -> None:
    """Per stage: cases in it now, passed through, days spent (median, p90, max), overdue;
    then throughput per month."""
    language = "zh" if lang == "zh" else "en"
    start, end = _moment(since, "--from"), _moment(until, "--to")
    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("must be later than --from", param_hint="--to")
    if plot is not None and importlib.util.find_spec("matplotlib") is None:
        typer.echo("error: --plot draws with matplotlib, which is not installed: "
                   "pip install 'hatchery[plot]'", err=True)
        raise typer.Exit(2)
    font = require_cjk_font() if plot is not None and language == "zh" else None
    from engine.service import build_service

    try:
        service = build_service(Settings())
        try:
            found = stage_stats(service.engine, service.registry, workflow, since=start,
                                until=end, community_prefix=(community or "").strip("/")
                                or None, lang=language)
        finally:
            service.engine.dispose()
    except HatcheryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    print_stats(found, language, ids=ids)
    if plot is not None:
        draw(found, plot, language, font)
        typer.echo(f"chart written to {plot}", err=True)


def require_cjk_font() -> str:
    """The name of an installed font with Chinese characters; exit 2 with how to get one."""
    found = cjk_font()
    if found is None:
        typer.echo(f"error: {NO_CJK_FONT}", err=True)
        raise typer.Exit(2)
    return found


def cjk_font() -> str | None:
    """An installed font family that has Chinese characters, or None.

    matplotlib's font cache may predate the fonts (or skip font collections such as
    Noto CJK's `.ttc`), so the system's font files are looked at too and added."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from matplotlib import font_manager

        manager = font_manager.fontManager
        installed = {font.name for font in manager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
        if found is not None:
            return found
        for path in font_manager.findSystemFonts():
            if any(hint in path for hint in CJK_FILE_HINTS):
                manager.addfont(path)
        installed = {font.name for font in manager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def print_stats(found: StageStats, lang: str = "en", *, ids: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    words = WORDS.texts(lang)
    console = Console()
    table = Table(title=f"{found.title or found.workflow_id} {found.version}"
                  + (f" · {found.community}" if found.community else ""),
                  title_justify="left", pad_edge=False, padding=(0, 1))
    table.add_column(words["state"], min_width=12, ratio=1, overflow="fold")
    for key in ("now", "passed", "done", "median", "p90", "max", "overdue"):
        table.add_column(words[key], justify="right", no_wrap=True)
    for row in found.states:
        indent = "  " if row.parent else ""
        label = indent + row.title + (f" ({row.state})" if ids and row.title != row.state
                                      else "")
        table.add_row(label, str(row.in_now), str(row.passed_through), str(row.completed),
                      _days(row.median_seconds), _days(row.p90_seconds),
                      _days(row.max_seconds), str(row.overdue))
    console.print(table)
    months = Table(title=words["months"], title_justify="left")
    for heading in ("month", "started", "closed"):
        months.add_column(words[heading], justify="right")
    for entry in found.throughput:
        months.add_row(entry["month"], str(entry["started"]), str(entry["closed"]))
    console.print(months)


def draw(found: StageStats, path: Path, lang: str = "en", font: str | None = None) -> None:
    """A bar chart of days in each stage (median, p90, max), for reports, titled in `lang`."""
    with warnings.catch_warnings():
        # matplotlib's font lookup still calls pyparsing names deprecated since 3.3.
        warnings.simplefilter("ignore", DeprecationWarning)
        _draw(found, path, lang, font)


def _draw(found: StageStats, path: Path, lang: str, font: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    words = WORDS.texts(lang)
    rows = [r for r in found.states if r.completed]
    labels = [r.title for r in rows]
    style = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with plt.rc_context(style):
        figure, axes = plt.subplots(figsize=(max(6.0, len(rows) * 1.2), 4.0))
        width = 0.27
        for offset, (name, values) in enumerate((
                (words["median_l"], [(r.median_seconds or 0) / DAY for r in rows]),
                (words["p90_l"], [(r.p90_seconds or 0) / DAY for r in rows]),
                (words["max_l"], [(r.max_seconds or 0) / DAY for r in rows]))):
            axes.bar([i + (offset - 1) * width for i in range(len(rows))], values, width,
                     label=name)
        axes.set_xticks(range(len(rows)), labels, rotation=30, ha="right")
        axes.set_ylabel(words["days"])
        colon = "：" if lang == "zh" else ": "
        axes.set_title(f"{words['chart']}{colon}{found.title or found.workflow_id} "
                       f"{found.version}")
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)
