"""Reading a libpq protocol trace (`PGconn.trace`), to count a connection's round trips."""

from __future__ import annotations

import os
from typing import IO


def round_trip_messages(trace: IO[str]) -> list[str]:
    """The messages the client sent that wait for the server's answer (a simple `Query`,
    or the `Sync` ending an extended-protocol exchange), each as its trace line shows it;
    read from the start of `trace` once libpq stopped writing it."""
    trace.flush()
    os.fsync(trace.fileno())
    trace.seek(0)
    found = []
    for line in trace:
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 4 and parts[1] == "F" and parts[3].split(" ")[0] in (
                "Query", "Sync"):
            found.append(parts[3].strip())
    return found
