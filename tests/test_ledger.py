"""Tamper evidence: canonical JSON, per-case hash chains, and checkpoints (engine.ledger.chain)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.ledger.chain import (
    ALL_REASONS,
    GENESIS,
    ChainBreak,
    ChainEvent,
    ChainHead,
    Checkpoint,
    canonical_json,
    checkpoint_digest,
    event_hash,
    verify_against_checkpoint,
    verify_chain,
)

STATES = ["applied", "screening", "selected", "incubating", "graduated"]


def build_chain(
    case_id: str, bodies: Sequence[Mapping[str, Any]]
) -> tuple[list[ChainEvent], str]:
    """Events chained from GENESIS, seq 1..n, and the resulting head hash."""
    events: list[ChainEvent] = []
    prev = GENESIS
    for seq, body in enumerate(bodies, start=1):
        event = ChainEvent.create(case_id, seq, prev, body)
        events.append(event)
        prev = event.hash
    return events, prev


def head_for(case_id: str, events: Sequence[ChainEvent], state: str | None = None) -> ChainHead:
    """The case row an honest writer would have left for these events."""
    last_hash = events[-1].hash if events else GENESIS
    if state is None:
        state = str(events[-1].body["to_state"]) if events else "applied"
    return ChainHead(case_id, last_hash, len(events), state)


def transition_bodies(case_id: str, n: int) -> list[dict[str, Any]]:
    at = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    return [
        {
            "case_id": case_id,
            "seq": i + 1,
            "trigger": f"step_{i}",
            "from_state": STATES[i % len(STATES)],
            "to_state": STATES[(i + 1) % len(STATES)],
            "actor": "王小明",
            "at": at + timedelta(days=i),
            "comment": "场地已落实" if i % 2 else "",
        }
        for i in range(n)
    ]


def sample_case(case_id: str = "case-1", n: int = 5) -> tuple[ChainHead, list[ChainEvent]]:
    events, _ = build_chain(case_id, transition_bodies(case_id, n))
    return head_for(case_id, events), events


def renumber(events: Sequence[ChainEvent]) -> list[ChainEvent]:
    """What an attacker does after removing or inserting rows: close the seq gaps."""
    return [replace(e, seq=i) for i, e in enumerate(events, start=1)]


def assert_break(
    found: ChainBreak | None, case_id: str, seq: int | None, reason: str
) -> ChainBreak:
    assert found is not None, "tampering went undetected"
    assert (found.case_id, found.seq, found.reason) == (case_id, seq, reason), found
    assert found.reason in ALL_REASONS
    assert case_id in found.message
    if seq is not None:
        assert str(seq) in found.message
    return found


# --- canonical JSON --------------------------------------------------------------------


def test_canonical_json_does_not_depend_on_key_insertion_order() -> None:
    a = {"b": 1, "a": {"y": 2, "x": 3}}
    b = {"a": {"x": 3, "y": 2}, "b": 1}
    assert canonical_json(a) == canonical_json(b) == b'{"a":{"x":3,"y":2},"b":1}'


def test_canonical_json_has_no_insignificant_whitespace() -> None:
    assert canonical_json({"k": [1, "a b", None, {}]}) == b'{"k":[1,"a b",null,{}]}'


def test_canonical_json_keeps_chinese_text_as_readable_utf8() -> None:
    out = canonical_json({"comment": "党建指导员已到位"})
    assert out == '{"comment":"党建指导员已到位"}'.encode()
    assert b"\\u" not in out


def test_canonical_json_renders_utc_datetime_with_microseconds_and_z() -> None:
    value = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert canonical_json(value) == b'"2024-05-06T07:08:09.000000Z"'


def test_canonical_json_converts_offset_datetime_to_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    value = datetime(2024, 5, 6, 8, 0, 0, 123456, tzinfo=beijing)
    assert canonical_json(value) == b'"2024-05-06T00:00:00.123456Z"'


def test_canonical_json_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        canonical_json({"at": datetime(2024, 5, 6, 7, 8, 9)})


def test_canonical_json_renders_date_as_iso_day() -> None:
    assert canonical_json({"due": date(2025, 1, 2)}) == b'{"due":"2025-01-02"}'


def test_canonical_json_hashes_datetime_like_its_stored_string() -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC)
    stored = json.loads(canonical_json({"at": at}))
    assert event_hash(GENESIS, {"at": at}) == event_hash(GENESIS, stored)


def test_canonical_json_renders_floats_in_shortest_round_trip_form() -> None:
    assert canonical_json([0.1, 1.0, -0.0, 1e16, 2.5e-7]) == b"[0.1,1.0,-0.0,1e+16,2.5e-07]"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), Decimal("NaN")])
def test_canonical_json_rejects_nan_and_infinity(value: Any) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json({"x": value})


def test_canonical_json_renders_decimal_as_string() -> None:
    assert canonical_json({"funds": Decimal("50000.00")}) == b'{"funds":"50000.00"}'


def test_canonical_json_renders_tuple_as_list() -> None:
    assert canonical_json({"t": (1, "a")}) == canonical_json({"t": [1, "a"]})


def test_canonical_json_renders_uuid_as_string() -> None:
    value = UUID("12345678-1234-5678-1234-567812345678")
    assert canonical_json(value) == b'"12345678-1234-5678-1234-567812345678"'


def test_canonical_json_distinguishes_bools_from_ints() -> None:
    assert canonical_json([True, False]) == b"[true,false]"
    assert event_hash(GENESIS, {"x": True}) != event_hash(GENESIS, {"x": 1})


@pytest.mark.parametrize("value", [{1: "a"}, {"s": {1, 2}}, {"b": b"raw"}, {"o": object()}])
def test_canonical_json_rejects_values_without_a_canonical_form(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_genesis_is_sha256_of_the_fixed_label() -> None:
    assert hashlib.sha256(b"hatchery:genesis").hexdigest() == GENESIS


def test_event_hash_is_sha256_of_previous_hash_and_canonical_body() -> None:
    body = {"to_state": "selected", "actor": "王"}
    expected = hashlib.sha256(GENESIS.encode("ascii") + canonical_json(body)).hexdigest()
    assert event_hash(GENESIS, body) == expected


def test_event_hash_of_a_known_body_never_changes() -> None:
    body = {"to_state": "applied", "actor": "王", "at": datetime(2024, 1, 1, tzinfo=UTC)}
    assert event_hash(GENESIS, body) == (
        "91d40125f5c28382c20291b4fd12a578b3c23b5ae46890dd281084203e8e5fe0"
    )


def test_event_hash_rejects_a_malformed_previous_hash() -> None:
    with pytest.raises(ValueError, match="previous_hash"):
        event_hash("not-a-hash", {})


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(json_values)
def test_canonical_json_is_stable_through_a_json_round_trip(value: Any) -> None:
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once


moments = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                                   timezone(timedelta(hours=-3, minutes=-30))]))
body_values = st.recursive(
    json_leaves | moments,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5) | st.sampled_from(["%s", "a%", "%%"]), inner),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), body_values, max_size=16))
def test_canonical_json_of_a_dict_is_the_encoders_text_of_its_plain_form(
        value: dict[str, Any]) -> None:
    # The quick writing of dicts (`_object_text`) against the encoder over `_plain`.
    from engine.ledger.hashing import _plain

    expected = json.dumps(_plain(value, "$"), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert canonical_json(value) == expected
    assert canonical_json(value) == expected  # its shape known now


def test_canonical_json_writes_dicts_past_the_shapes_it_keeps() -> None:
    from engine.ledger import hashing

    for i in range(hashing._MOST_SHAPES + 5):
        value = {f"k{i}": i, "a": [1], "b": {"c": None}}
        assert canonical_json(value) == json.dumps(
            value, sort_keys=True, separators=(",", ":")).encode()
    assert len(hashing._SHAPES) <= hashing._MOST_SHAPES


# --- verify_chain ----------------------------------------------------------------------


def test_clean_chain_passes() -> None:
    head, events = sample_case()
    assert verify_chain(head, events) is None


def test_empty_case_with_genesis_head_passes() -> None:
    assert verify_chain(ChainHead("case-0", GENESIS, 0, "applied"), []) is None


def test_edited_field_is_reported_at_its_event() -> None:
    head, events = sample_case()
    events[2] = replace(events[2], body={**events[2].body, "actor": "李四"})
    assert_break(verify_chain(head, events), "case-1", 3, "content_changed")


def test_edited_field_with_recomputed_hash_breaks_the_next_link() -> None:
    head, events = sample_case()
    body = {**events[1].body, "comment": "改写"}
    events[1] = replace(events[1], body=body, hash=event_hash(events[1].prev_hash, body))
    found = assert_break(verify_chain(head, events), "case-1", 3, "prev_mismatch")
    assert "event 2" in found.message


def test_deleted_middle_event_is_reported_as_a_seq_gap() -> None:
    head, events = sample_case()
    del events[2]
    assert_break(verify_chain(head, events), "case-1", 3, "seq_gap")


def test_deleted_middle_event_with_renumbering_breaks_the_link() -> None:
    head, events = sample_case()
    del events[2]
    assert_break(verify_chain(head, renumber(events)), "case-1", 3, "prev_mismatch")


def test_deleted_first_event_is_reported_as_a_seq_gap_at_one() -> None:
    head, events = sample_case()
    assert_break(verify_chain(head, events[1:]), "case-1", 1, "seq_gap")


def test_deleted_tail_is_reported_as_a_count_mismatch() -> None:
    head, events = sample_case(n=5)
    assert_break(verify_chain(head, events[:3]), "case-1", 4, "count_mismatch")


def test_event_written_without_updating_the_case_is_a_count_mismatch() -> None:
    head, events = sample_case(n=3)
    extra = ChainEvent.create("case-1", 4, events[-1].hash, {"to_state": head.state})
    assert_break(verify_chain(head, [*events, extra]), "case-1", 4, "count_mismatch")


def test_inserted_event_is_reported_at_its_seq() -> None:
    head, events = sample_case(n=5)
    forged = ChainEvent.create("case-1", 3, events[1].hash, {"to_state": "selected"})
    tampered = renumber([*events[:2], forged, *events[2:]])
    found = assert_break(
        verify_chain(replace(head, event_count=6), tampered), "case-1", 3, "inserted_event"
    )
    assert "event 4 links directly to event 2" in found.message


def test_event_inserted_before_the_first_is_reported_at_seq_one() -> None:
    head, events = sample_case(n=3)
    forged = ChainEvent.create("case-1", 1, GENESIS, {"to_state": "applied"})
    tampered = renumber([forged, *events])
    assert_break(verify_chain(head, tampered), "case-1", 1, "inserted_event")


def test_reordered_events_are_reported_at_the_first_moved_seq() -> None:
    head, events = sample_case(n=5)
    swapped = [events[0], replace(events[2], seq=2), replace(events[1], seq=3), *events[3:]]
    assert_break(verify_chain(head, swapped), "case-1", 2, "reordered")


def test_repeated_seq_number_is_reported() -> None:
    head, events = sample_case(n=4)
    repeated = [events[0], events[1], events[1], events[2]]
    assert_break(verify_chain(head, repeated), "case-1", 2, "seq_order")


def test_head_hash_not_matching_last_event_is_reported() -> None:
    head, events = sample_case(n=3)
    assert_break(
        verify_chain(replace(head, head_hash=events[1].hash), events),
        "case-1",
        3,
        "head_mismatch",
    )


def test_empty_case_with_non_genesis_head_is_reported() -> None:
    head = ChainHead("case-0", "0" * 64, 0, "applied")
    assert_break(verify_chain(head, []), "case-0", None, "head_mismatch")


def test_case_state_not_matching_last_event_is_reported() -> None:
    head, events = sample_case(n=3)
    found = assert_break(
        verify_chain(replace(head, state="graduated"), events),
        "case-1",
        3,
        "state_mismatch",
    )
    assert "graduated" in found.message


def test_state_check_uses_the_latest_event_that_names_a_state() -> None:
    head, events = sample_case(n=2)
    tick = ChainEvent.create("case-1", 3, events[-1].hash, {"checklist_item": "venue"})
    events.append(tick)
    assert verify_chain(head_for("case-1", events, state=head.state), events) is None
    assert_break(
        verify_chain(head_for("case-1", events, state="applied"), events),
        "case-1",
        2,
        "state_mismatch",
    )


def test_state_of_callback_reads_the_state_from_a_custom_body_key() -> None:
    events, last = build_chain("c", [{"to": "applied"}, {"to": "selected"}])
    head = ChainHead("c", last, 2, "selected")
    assert verify_chain(head, events, state_of=lambda body: body["to"]) is None
    assert_break(
        verify_chain(replace(head, state="applied"), events, state_of=lambda body: body["to"]),
        "c",
        2,
        "state_mismatch",
    )


def test_event_of_another_case_is_reported() -> None:
    head, events = sample_case(n=3)
    events[1] = replace(events[1], case_id="case-2")
    assert_break(verify_chain(head, events), "case-1", 2, "case_mismatch")


def test_body_that_can_no_longer_be_hashed_is_reported_not_raised() -> None:
    head, events = sample_case(n=3)
    events[0] = replace(events[0], body={**events[0].body, "score": float("nan")})
    assert_break(verify_chain(head, events), "case-1", 1, "content_changed")


chain_bodies = st.lists(
    st.dictionaries(st.text(min_size=1, max_size=8), json_values, min_size=1, max_size=5),
    min_size=1,
    max_size=8,
)


@given(chain_bodies)
def test_any_honestly_built_chain_verifies(bodies: list[dict[str, Any]]) -> None:
    events, last = build_chain("prop", bodies)
    assert verify_chain(ChainHead("prop", last, len(events), "any"), events) is None


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
          deadline=None)
@given(chain_bodies, st.data())
def test_changing_any_single_body_value_fails_at_exactly_that_seq(
    bodies: list[dict[str, Any]], data: st.DataObject
) -> None:
    events, last = build_chain("prop", bodies)
    index = data.draw(st.integers(0, len(events) - 1), label="event index")
    key = data.draw(st.sampled_from(sorted(bodies[index])), label="key")
    new_value = data.draw(json_values, label="new value")
    assume(canonical_json(new_value) != canonical_json(bodies[index][key]))
    events[index] = replace(events[index], body={**bodies[index], key: new_value})
    found = verify_chain(ChainHead("prop", last, len(events), "any"), events)
    assert found is not None
    assert (found.case_id, found.seq, found.reason) == ("prop", index + 1, "content_changed")


# --- checkpoints -----------------------------------------------------------------------


class FakeStore:
    """Cases and their events, as a store would answer the checkpoint's two questions."""

    def __init__(self) -> None:
        self.events: dict[str, list[ChainEvent]] = {}

    def add_case(self, case_id: str, n: int) -> None:
        self.events[case_id], _ = build_chain(case_id, transition_bodies(case_id, n))

    def append(self, case_id: str, body: Mapping[str, Any]) -> None:
        chain = self.events[case_id]
        prev = chain[-1].hash if chain else GENESIS
        chain.append(ChainEvent.create(case_id, len(chain) + 1, prev, body))

    def heads(self) -> list[tuple[str, str, int]]:
        return [
            (case_id, chain[-1].hash if chain else GENESIS, len(chain))
            for case_id, chain in self.events.items()
        ]

    def hash_at(self, case_id: str, seq: int) -> str | None:
        chain = self.events.get(case_id, [])
        return chain[seq - 1].hash if 0 < seq <= len(chain) else None

    def count(self, case_id: str) -> int | None:
        chain = self.events.get(case_id)
        return None if chain is None else len(chain)

    def verify(self, checkpoint: Checkpoint, **kwargs: Any) -> ChainBreak | None:
        return verify_against_checkpoint(checkpoint, self.hash_at, self.count, **kwargs)


TAKEN_AT = datetime(2024, 6, 30, 16, 0, tzinfo=UTC)


def store_and_checkpoint() -> tuple[FakeStore, Checkpoint]:
    store = FakeStore()
    store.add_case("case-a", 4)
    store.add_case("case-b", 2)
    store.add_case("社区-c", 3)
    store.add_case("case-empty", 0)
    return store, Checkpoint.take(store.heads(), TAKEN_AT)


def test_checkpoint_digest_does_not_depend_on_row_order() -> None:
    store, _ = store_and_checkpoint()
    rows = store.heads()
    assert checkpoint_digest(rows) == checkpoint_digest(list(reversed(rows)))


def test_checkpoint_digest_covers_every_count_and_head() -> None:
    store, _ = store_and_checkpoint()
    rows = store.heads()
    changed = [(c, h, n + 1 if c == "case-b" else n) for c, h, n in rows]
    assert checkpoint_digest(rows) != checkpoint_digest(changed)


def test_checkpoint_digest_rejects_a_case_given_twice() -> None:
    with pytest.raises(ValueError, match="twice"):
        checkpoint_digest([("a", GENESIS, 0), ("a", GENESIS, 0)])


def test_unchanged_store_passes_the_checkpoint() -> None:
    store, checkpoint = store_and_checkpoint()
    assert store.verify(checkpoint) is None


def test_checkpoint_allows_events_appended_after_it() -> None:
    store, checkpoint = store_and_checkpoint()
    store.append("case-a", {"to_state": "graduated"})
    store.append("case-empty", {"to_state": "applied"})
    store.add_case("case-new", 2)
    assert store.verify(checkpoint) is None


def test_checkpoint_detects_history_rewritten_before_it() -> None:
    store, checkpoint = store_and_checkpoint()
    # A full rewrite with every hash recomputed: the chain itself is consistent again.
    bodies = [dict(e.body) for e in store.events["case-b"]]
    bodies[0]["actor"] = "冒名者"
    store.events["case-b"], last = build_chain("case-b", bodies)
    head = ChainHead("case-b", last, 2, str(bodies[-1]["to_state"]))
    assert verify_chain(head, store.events["case-b"]) is None
    assert_break(store.verify(checkpoint), "case-b", 2, "checkpoint_rewritten")


def test_checkpoint_detects_a_removed_case() -> None:
    store, checkpoint = store_and_checkpoint()
    del store.events["社区-c"]
    assert_break(store.verify(checkpoint), "社区-c", None, "checkpoint_missing_case")


def test_checkpoint_detects_events_removed_before_it() -> None:
    store, checkpoint = store_and_checkpoint()
    del store.events["case-a"][2:]
    assert_break(store.verify(checkpoint), "case-a", 3, "checkpoint_events_missing")


def test_checkpoint_survives_a_json_round_trip() -> None:
    _, checkpoint = store_and_checkpoint()
    text = checkpoint.to_json()
    assert "社区-c" in text
    assert Checkpoint.from_json(text) == checkpoint
    assert Checkpoint.from_json(text.encode()) == checkpoint


def test_tampered_checkpoint_file_is_reported() -> None:
    store, checkpoint = store_and_checkpoint()
    document = json.loads(checkpoint.to_json())
    document["heads"]["case-a"]["event_count"] = 3
    tampered = Checkpoint.from_json(json.dumps(document))
    found = store.verify(tampered)
    assert found is not None
    assert (found.case_id, found.seq, found.reason) == ("", None, "checkpoint_digest_mismatch")
    assert checkpoint.digest in found.message


def test_checkpoint_not_matching_the_digest_the_auditor_kept_is_reported() -> None:
    store, checkpoint = store_and_checkpoint()
    store.append("case-a", {"to_state": "graduated"})
    later = Checkpoint.take(store.heads(), TAKEN_AT + timedelta(days=1))
    assert store.verify(later, expected_digest=later.digest) is None
    found = store.verify(later, expected_digest=checkpoint.digest)
    assert found is not None and found.reason == "checkpoint_digest_mismatch"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"format": "something-else"}',
        '{"format": "hatchery-checkpoint", "version": 99}',
        '{"format": "hatchery-checkpoint", "version": 1, "digest": "x"}',
    ],
)
def test_malformed_checkpoint_file_is_refused_with_a_message(text: str) -> None:
    with pytest.raises(ValueError):
        Checkpoint.from_json(text)


def test_checkpoint_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Checkpoint.take([], datetime(2024, 1, 1))


_PLAIN_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=True)
    | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]))
    | st.datetimes() | st.decimals(allow_nan=False) | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4),
    max_leaves=12)


@given(_PLAIN_VALUES)
def test_the_fast_conversion_of_common_values_hashes_as_the_general_one(value: Any) -> None:
    from engine.ledger import hashing

    def general(item: Any) -> bytes | str:
        try:
            return json.dumps(hashing._plain(item, "$"), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as error:
            return f"{type(error).__name__}: {error}"

    try:
        fast: bytes | str = canonical_json(value)
    except (TypeError, ValueError) as error:
        fast = f"{type(error).__name__}: {error}"
    assert fast == general(value)


def _seven_fields(value: datetime) -> str:
    """The canonical timestamp as the hash chain has always written it: the UTC instant's
    seven fields, formatted one by one."""
    u = value.astimezone(UTC)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
            f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z")


@settings(max_examples=300)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)),
                                               timezone(timedelta(hours=-9, minutes=-30))])))
def test_a_timestamp_hashes_as_its_seven_utc_fields(value: datetime) -> None:
    from engine.ledger.hashing import format_datetime

    assert format_datetime(value) == _seven_fields(value)
    assert canonical_json({"at": value}) == f'{{"at":"{_seven_fields(value)}"}}'.encode()


@given(st.lists(st.datetimes(timezones=st.just(UTC)), min_size=1, max_size=4),
       st.lists(st.integers(min_value=0, max_value=3), max_size=12))
def test_an_instant_written_again_is_written_the_same_after_any_other(
        instants: list[datetime], order: list[int]) -> None:
    # The last instant's text is kept for the same object: whatever came between, each
    # one reads as its own seven fields, stored or hashed.
    from sqlalchemy.dialects import sqlite

    from engine.ledger.hashing import format_datetime
    from engine.store.tables.columns import UTCDateTime

    written = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    for index in order:
        value = instants[index % len(instants)]
        assert format_datetime(value) == _seven_fields(value)
        assert written(value) == _seven_fields(value)[:-1].replace("T", " ")
        assert written(value.replace()) == written(value)  # an equal, other object
