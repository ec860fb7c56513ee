"""Every date a person types in a shipped workflow is bounded on both sides (issue 13,
item 1; DOMAIN.md: "every date a person types is bounded on both sides"): below by the
event it follows, above by today, directly or through another date of the same form
that is. The scenario files try each bound through the one door; this check keeps a
date added later from slipping through without one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions.loader import load_file
from engine.settings import PROJECT_ROOT

WORKFLOWS = sorted((PROJECT_ROOT / "workflows").glob("*.yaml"))

NO_LOWER_BOUND = {
    # An organization arriving at the rung it reached brings the dates of its past: they
    # precede the record by nature, and are ordered up to the registration (approval <=
    # election <= registration, joining <= registration), which the record's opening bounds
    # (a check of this file found every registration unbounded below before 2.3.0).
    ("party_organization", "register_existing_branch", "approved_on"),
    ("party_organization", "register_existing_branch", "election_date"),
    ("party_organization", "register_branch_with_mechanism", "approved_on"),
    ("party_organization", "register_branch_with_mechanism", "election_date"),
    ("party_organization", "register_in_joint_branch", "joined_on"),
}
NO_UPPER_BOUND = {
    # The deadline for providing the four ones lies ahead of the agreement, by design.
    ("social_org_incubation", "sign_agreement", "resources_due"),
    ("social_org_incubation", "renew", "resources_due"),
}


def _bounds(path: Path) -> list[tuple[str, str, str, bool, bool]]:
    """(workflow, trigger, input, has a lower bound, has an upper bound) for every date input."""
    spec = load_file(path).spec
    assert spec is not None
    found = []
    for t in spec.transitions:
        text = " ;; ".join([t.guard or "", *(c.guard for c in t.conditions or [])])
        dates = [name for name, field in t.input.items() if field.type == "date"]
        lower = {n for n in dates
                 if re.search(rf"input\.{n}\s*>=\s*(data\.|entered_on\b)", text)}
        upper = {n for n in dates if re.search(rf"input\.{n}\s*<=\s*today\b", text)}
        while True:  # a date no earlier (later) than one bounded is bounded too
            below = {n for n in dates for m in lower
                     if re.search(rf"input\.{n}\s*>=\s*input\.{m}\b"
                                  rf"|input\.{m}\s*<=\s*input\.{n}\b", text)} - lower
            above = {n for n in dates for m in upper
                     if re.search(rf"input\.{n}\s*<=\s*input\.{m}\b", text)} - upper
            if not below and not above:
                break
            lower, upper = lower | below, upper | above
        found += [(spec.id, t.trigger, n, n in lower, n in upper) for n in dates]
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_typed_date_is_bounded_below_and_above(path: Path) -> None:
    found = _bounds(path)
    unbounded = [(w, t, n, "below") for w, t, n, low, _ in found
                 if not low and (w, t, n) not in NO_LOWER_BOUND]
    unbounded += [(w, t, n, "above") for w, t, n, _, high in found
                  if not high and (w, t, n) not in NO_UPPER_BOUND]
    assert unbounded == []


def test_the_exceptions_still_exist() -> None:
    """An exception left behind after its transition changed would hide nothing: each
    names a date input that is there and indeed lacks that bound."""
    found = {(w, t, n): (low, high) for path in WORKFLOWS for w, t, n, low, high in _bounds(path)}
    assert all(key in found and not found[key][0] for key in NO_LOWER_BOUND)
    assert all(key in found and not found[key][1] for key in NO_UPPER_BOUND)
