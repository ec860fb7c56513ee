"""Request ids (`engine.observability.new_request_id`): uuid4's text, its random bytes
read from the kernel a few hundred ids at a time."""

from __future__ import annotations

import os
import re
import sys
import uuid

import pytest

from engine import observability
from engine.observability import _uuid4_hex, new_request_id


def test_an_id_is_what_uuid4_writes_for_the_same_random_bytes() -> None:
    parts = [bytes(16), b"\xff" * 16, bytes(range(16)), *(os.urandom(16) for _ in range(500))]
    assert _uuid4_hex(b"".join(parts)) == [uuid.UUID(bytes=p, version=4).hex for p in parts]


def test_ids_are_version_4_uuids_and_never_repeat() -> None:
    ids = [new_request_id() for _ in range(3 * observability._IDS_PER_READ + 7)]
    assert len(set(ids)) == len(ids)
    for found in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", found)
        parsed = uuid.UUID(hex=found)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_child_does_not_hand_out_its_parents_ids() -> None:
    new_request_id()  # the parent has ids ready
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.write(writing, new_request_id().encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    childs = os.read(reading, 64).decode()
    os.close(reading)
    assert childs and childs != new_request_id()
