"""Which request a piece of work belongs to, and logs an operator's tools can read.

The HTTP layer names every request (`X-Request-ID`, taken from the caller when it sent a
usable one, else made here) and sets `REQUEST_ID` for the work done on its behalf; worker
threads inherit it (anyio copies the context). The operations log records it with each
entry, and every log line carries it, so an auditor can go from a change in the history to
the request's log line and from there to the operations log.

`configure_logging("json")` writes one JSON object per line (time, level, logger, message,
request_id, and the `extra` fields a caller gave, such as the access line's status and
duration); `"text"` keeps the usual lines with the request id appended.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["ATTEMPT", "REQUEST_ID", "Attempt", "JsonLines", "configure_logging", "log_line",
           "new_request_id", "usable_request_id"]

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hatchery_request_id", default=None)


@dataclass
class Attempt:
    """A request that tries to change something, as the operations log names it when it is
    refused: who (`actor`, `community`: the caller's scope), what (`method`, `target`: the
    address), through which desk (`via`). The HTTP layer sets it for each changing request
    and fills in the caller once known; the door records a refused attempt in the
    transaction that refused it and sets `logged`, so nothing records it twice."""

    method: str
    target: str
    actor: str | None = None
    community: str | None = None
    via: str | None = None
    logged: bool = False

    def detail(self, code: str) -> dict[str, Any]:
        found: dict[str, Any] = {"method": self.method, "code": code}
        if self.via is not None:
            found["via"] = self.via
        return found


ATTEMPT: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "hatchery_attempt", default=None)
_USABLE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}


_IDS_PER_READ = 256
_ids: list[str] = []  # ready request ids, taken from the end (list.pop: atomic)


def new_request_id() -> str:
    """A random request id, as `uuid.uuid4().hex` writes it (32 hex digits, version 4).

    uuid4 asks the kernel for 16 random bytes each time (a system call, which also lets
    another thread take the GIL from the event loop); here one call brings the bytes of
    `_IDS_PER_READ` ids, as random. A forked child throws its parent's away (`_forget_ids`):
    two processes never hand out the same ids."""
    while True:
        try:
            return _ids.pop()
        except IndexError:
            _ids.extend(_uuid4_hex(os.urandom(16 * _IDS_PER_READ)))


def _uuid4_hex(random: bytes) -> list[str]:
    """`uuid.UUID(bytes=part, version=4).hex` of each 16-byte part of `random`: the
    variant bits set to RFC 4122's, the version bits to 4."""
    keep = ~((0xC000 << 48) | (0xF000 << 64))
    mark = (0x8000 << 48) | (4 << 76)
    return [f"{int.from_bytes(random[at:at + 16]) & keep | mark:032x}"
            for at in range(0, len(random), 16)]


def _forget_ids() -> None:
    _ids.clear()


os.register_at_fork(after_in_child=_forget_ids)


def usable_request_id(offered: str | None) -> str:
    """The caller's request id when it is a short plain token (a proxy's), else a new one:
    an id goes into logs and the operations log, so it must not carry arbitrary text."""
    if offered is not None and _USABLE.fullmatch(offered):
        return offered
    return new_request_id()


class JsonLines(logging.Formatter):
    """One JSON object per record, UTF-8 text kept as it is (Chinese stays readable)."""

    def format(self, record: logging.LogRecord) -> str:
        return self.line(record.created, record.levelname, record.name, record.getMessage(),
                         record.__dict__,
                         self.formatException(record.exc_info) if record.exc_info else None)

    @staticmethod
    def line(created: float, levelname: str, name: str, message: str,
             fields: dict[str, Any], exception: str | None = None) -> str:
        """The object of a record with these values; of `fields`, those a caller gave
        (`extra=`), in their order."""
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
            "level": levelname.lower(),
            "logger": name,
            "message": message,
            "request_id": REQUEST_ID.get(),
        }
        for key, value in fields.items():
            if key not in _STANDARD and not key.startswith("_"):
                document[key] = value
        if exception:
            document["exception"] = exception
        return json.dumps(document, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _WithRequestId(logging.Formatter):
    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord,
                   datefmt: str | None = None) -> str:
        """logging's own time text, its strftime done once a second rather than for every
        line (an access line per request)."""
        if (datefmt is not None or self.datefmt is not None
                or self.default_msec_format is None or record.created < 0):
            return super().formatTime(record, datefmt)
        return self._time_text(record.created, record.msecs)

    def _time_text(self, created: float, msecs: float) -> str:
        second = int(created)  # what time.localtime rounds it down to
        if self._second[0] != second:
            self._second = (second, time.strftime(self.default_time_format,
                                                  self.converter(created)))
        return str(self.default_msec_format) % (self._second[1], msecs)  # never None here

    def format(self, record: logging.LogRecord) -> str:
        return self._with_id(super().format(record))

    @staticmethod
    def _with_id(line: str) -> str:
        found = REQUEST_ID.get()
        return f"{line} [request {found}]" if found else line

    def line(self, created: float, levelname: str, name: str, message: str) -> str | None:
        """What `format` writes for a record with these values and without exception or
        stack, when this formatter writes `TEXT_FORMAT` as `configure_logging` made it
        (else None)."""
        if (type(self) is not _WithRequestId or self._fmt != TEXT_FORMAT
                or type(self._style) is not logging.PercentStyle or self.datefmt is not None
                or self.default_msec_format is None):
            return None
        # A LogRecord's milliseconds, taken from its `created` as logging does.
        msecs = int((created - int(created)) * 1000) + 0.0
        return self._with_id(f"{self._time_text(created, msecs)} {levelname} {name}: {message}")


class _Lines(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs: logging's own, which can also write a
    line made without a record (`log_line`)."""

    def line(self, created: float, level: int, name: str, message: str,
             fields: dict[str, Any]) -> str | None:
        """The text `format` would give a record with these values, when this handler's
        formatter is one `configure_logging` made; else None."""
        formatter = self.formatter
        levelname = logging.getLevelName(level)
        if type(formatter) is JsonLines:
            return formatter.line(created, levelname, name, message, fields)
        if isinstance(formatter, _WithRequestId):
            return formatter.line(created, levelname, name, message)
        return None

    def write(self, text: str) -> bool:
        """Write one formatted line as `emit` does (`flush` inlined); False when it
        failed."""
        lock = self.lock
        if lock is not None:
            lock.acquire()
        try:
            stream = self.stream
            stream.write(text + self.terminator)
            if stream and hasattr(stream, "flush"):
                stream.flush()
        except RecursionError:
            raise
        except Exception:
            return False
        finally:
            if lock is not None:
                lock.release()
        return True


def _sole_lines(logger: logging.Logger, level: int) -> _Lines | None:
    """The handler that alone writes `logger`'s records of `level` (`configure_logging`'s,
    with nothing else looking: no filter, other handler, logger class or record factory
    of anyone's), or None."""
    if (type(logger) is not logging.Logger or logger.filters or logger.disabled
            or logging.getLogRecordFactory() is not logging.LogRecord):
        return None
    found = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if (found is not None or type(handler) is not _Lines or handler.filters
                    or level < handler.level):
                return None
            found = handler
        current = current.parent if current.propagate else None
    return found


def log_line(logger: logging.Logger, level: int, msg: str, args: tuple[object, ...],
             fields: dict[str, Any]) -> None:
    """`logger.log(level, msg, *args, extra=fields)`, the same line written.

    A record costs more than the line it gives (the caller's frame looked up, a dozen
    attributes of the process and thread read, the logger tree walked, the formatter's
    generic steps): a fifth of the event loop's work for a request, whose access line
    this writes. So when `configure_logging`'s handler alone would see the record, the
    line is made from these values directly, as its formatter makes it from a record;
    anything else (a test's capture, an operator's handler or filter) gets the record."""
    if not logger.isEnabledFor(level):
        return
    handler = _sole_lines(logger, level)
    if handler is not None and _STANDARD.isdisjoint(fields):
        created = time.time()  # as a LogRecord takes it
        text = handler.line(created, level, logger.name, msg % args if args else msg, fields)
        if text is not None:
            if not handler.write(text):  # let logging report it its way
                handler.handleError(logger.makeRecord(logger.name, level, "(unknown file)",
                                                      0, msg, args, None, extra=fields))
            return
    logger.log(level, msg, *args, extra=fields, stacklevel=2)


def configure_logging(form: str, level: str = "INFO") -> None:
    """Send every logger's records to standard error as JSON lines or as text."""
    handler = _Lines()
    handler.setFormatter(JsonLines() if form == "json" else _WithRequestId(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Their INFO lines are about themselves (each timer poll, each migration plugin).
    for chatty in ("apscheduler", "alembic"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
