"""The log lines (`engine.observability.configure_logging`): logging's own text format,
with the request id appended, or JSON; the same when written without a record (`log_line`)."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator

import pytest

from engine.observability import (
    REQUEST_ID,
    _sole_lines,
    _WithRequestId,
    configure_logging,
    log_line,
)

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("hatchery.request", logging.INFO, __file__, 1, "%s %s",
                               ("GET", "/healthz"), None)
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return record


def test_the_time_of_a_line_is_the_one_logging_itself_writes_within_and_across_seconds(
        ) -> None:
    ours, logging_own = _WithRequestId(FORMAT), logging.Formatter(FORMAT)
    moments = [1_796_088_367 + step * 0.137 for step in range(40)]  # several seconds
    moments += [1_796_088_367.999_9, 1_796_088_368.0, 1_700_000_000.5, 1_796_088_367.25]
    for moment in moments:
        assert ours.format(_record(moment)) == logging_own.format(_record(moment)), moment


def test_a_line_logged_for_a_request_ends_with_its_id() -> None:
    token = REQUEST_ID.set("trace-7")
    try:
        line = _WithRequestId(FORMAT).format(_record(1_796_088_367.5))
    finally:
        REQUEST_ID.reset(token)
    assert line.endswith(" INFO hatchery.request: GET /healthz [request trace-7]")


@pytest.fixture
def configured() -> Iterator[None]:
    """`configure_logging`'s set-up for the test, the logging tree's as it was after."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler", "alembic")
    root = logging.getLogger()
    saved = root.handlers[:], root.level, [
        (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate,
         logging.getLogger(n).level) for n in names]
    try:
        yield
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, (handlers, propagate, level) in zip(names, saved[2], strict=True):
            logger = logging.getLogger(name)
            logger.handlers[:], logger.propagate, logger.level = handlers, propagate, level


FIELDS = {"method": "POST", "route": "/api/v1/cases/{case_id}/events", "status": 200,
          "duration_ms": 1.25, "case_id": "c1", "actor": "林梅"}
MOMENTS = [1_796_088_367.0, 1_796_088_367.000_4, 1_796_088_367.5, 1_796_088_367.999_9,
           1_700_000_000.123_456]


def _written(monkeypatch: pytest.MonkeyPatch, moment: float, log: Callable[[], None]) -> str:
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    monkeypatch.setattr(time, "time", lambda: moment)
    monkeypatch.setattr(time, "time_ns", lambda: int(moment * 1e9))
    log()
    monkeypatch.undo()
    return stream.getvalue()


@pytest.mark.parametrize("form", ["text", "json"])
@pytest.mark.parametrize("request_id", [None, "trace-7"])
def test_a_line_written_without_a_record_is_the_one_the_record_gives(
        configured: None, monkeypatch: pytest.MonkeyPatch, form: str,
        request_id: str | None) -> None:
    configure_logging(form)
    access = logging.getLogger("hatchery.request")
    assert _sole_lines(access, logging.INFO) is not None  # nothing else looks: no record
    token = REQUEST_ID.set(request_id)
    try:
        for moment in MOMENTS:
            direct = _written(monkeypatch, moment, lambda: log_line(
                access, logging.INFO, "%s %s %s", ("POST", FIELDS["route"], 200), FIELDS))
            recorded = _written(monkeypatch, moment, lambda: access.info(
                "%s %s %s", "POST", FIELDS["route"], 200, extra=FIELDS))
            assert direct == recorded and direct.endswith("\n"), (moment, direct, recorded)
            assert direct.count("\n") == 1
    finally:
        REQUEST_ID.reset(token)


def test_whoever_else_looks_gets_the_record_from_the_callers_line(
        configured: None, monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging("text")
    access = logging.getLogger("hatchery.request")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    access.addHandler(keep)
    assert _sole_lines(access, logging.INFO) is None
    try:
        written = _written(monkeypatch, MOMENTS[2], lambda: log_line(
            access, logging.INFO, "%s %s %s", ("POST", FIELDS["route"], 200), FIELDS))
    finally:
        access.removeHandler(keep)
    assert written.endswith(f" INFO hatchery.request: POST {FIELDS['route']} 200\n")
    [record] = records
    assert record.getMessage() == f"POST {FIELDS['route']} 200"
    assert record.route == FIELDS["route"] and record.actor == "林梅"  # type: ignore[attr-defined]
    assert record.funcName == "<lambda>" and record.pathname == __file__


def test_a_line_below_the_level_is_not_written(
        configured: None, monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging("text", "WARNING")
    written = _written(monkeypatch, MOMENTS[0], lambda: log_line(
        logging.getLogger("hatchery.request"), logging.INFO, "%s", ("x",), {}))
    assert written == ""
