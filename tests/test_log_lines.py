"""The text log lines (`engine.observability.configure_logging("text")`): logging's own
format, with the request id appended."""

from __future__ import annotations

import logging

from engine.observability import REQUEST_ID, _WithRequestId

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
