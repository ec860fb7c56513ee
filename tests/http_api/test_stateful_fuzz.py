"""Sequences, found by a machine: schemathesis in stateful mode over the live /api/v1.

The per-operation fuzz (test_hostile_fuzz.py) sends each request alone, so most of what it
sends at /cases/{case_id}/… names a case that does not exist and stops at a 404. Here
schemathesis chains operations through the links it infers from the OpenAPI document (the
`id` of a case that POST /cases or GET /cases/{case_id} returns feeds every `case_id` path
parameter: fire an event, tick the checklist, link, suspend, resume, assign, follow up,
history, state-at; and the one link declared in the app, FireOffered: the first trigger
that /actions offers is fired at /events), so the later requests of a sequence reach a
real case in whatever state the earlier ones left it. Whatever the sequence: no 5xx, no
traceback, every 4xx is problem+json, and afterwards `audit verify` finds the store intact
(the `target` fixture, shared with the per-operation suite). SQLite and PostgreSQL, each
its own server and store.

Bounded and derandomized (the same sequences on every run); `HATCHERY_FUZZ_EXAMPLES=200`
for a longer hunt."""

from __future__ import annotations

import os
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import initialize
from schemathesis import Case
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from http_api.conftest import WORKFLOW, Api
from http_api.test_hostile_fuzz import SCHEMA, target  # noqa: F401  (the fixture)

# The operations on one case, chained by links. Not the list of cases nor the workflow
# operations: their answers change with what earlier sequences left in the shared store
# (more cases, a retired workflow), and Hypothesis refuses a strategy whose draws depend on
# that. Each sequence here starts its own case, so its steps answer the same on every run.
CASES = SCHEMA.include(path_regex="^/api/v1/cases").exclude(path="/api/v1/cases",
                                                             method="GET")
START = CASES["/api/v1/cases"]["POST"]
STARTED = "POST /api/v1/cases -> 201"
# Sequences per database, each of at most STEPS requests.
EXAMPLES = int(os.environ.get("HATCHERY_FUZZ_EXAMPLES", "10"))
STEPS = 8


def _check(status: int, content_type: str, text: str, payload: Any, what: str) -> None:
    """The answer every request must get, whatever it sent."""
    assert status < 500, f"{what}: {status} {text[:500]}"
    assert "Traceback" not in text, what
    if status >= 400:
        assert content_type.startswith("application/problem+json"), f"{what}: {content_type}"
        assert payload.get("status") == status, what


def test_operation_links_exist_between_case_operations() -> None:
    """Without links the stateful run has nothing to chain; this says so loudly."""
    machine = CASES.as_state_machine()
    rules = [name for name in vars(machine) if "__POST_api_v1_cases_case_id_events" in name
             and name.startswith("POST_api_v1_cases___201")]
    assert rules, "no link from POST /cases to POST /cases/{case_id}/events"


def test_no_sequence_of_operations_gets_a_5xx_or_a_bare_error(
        target: dict[str, Any]) -> None:  # noqa: F811
    api: Api = target["api"]
    session = requests.Session()
    seen: list[int] = []

    base = CASES.as_state_machine()

    class Machine(base):  # type: ignore[valid-type, misc]
        @initialize(target=base.bundles[STARTED])
        def start(self) -> StepOutput:
            """Every sequence begins with a case that exists: schemathesis takes POST /cases
            for no root (its `workflow_id` names a resource nothing in the schema makes),
            so without this every later step would name a random case and stop at 404."""
            body = {"workflow_id": WORKFLOW, "community": "fuzz/stateful",
                    "data": {"applicant": "林梅", "phone": "13800138000"}}
            step = StepInput.initial(START.Case(body=body))
            # As schemathesis' own root steps do: later steps find their parent here.
            self.recorder.record_case(case=step.case)
            self.control.record_step(step, self.recorder)
            return self.step(step)

        def setup(self) -> None:
            # A token per sequence: refused attempts count per token and end in 429 after
            # a burst, which would make the answers (and so the draws that follow them)
            # depend on the sequences before; Hypothesis refuses such a strategy.
            self.bearer = f"Bearer {api.token(['admin'], '*', ('pii',))}"

        def before_call(self, case: Case) -> None:
            # The generated Authorization is a stranger's (401 covered per operation).
            case.headers = {**(case.headers or {}), "Authorization": self.bearer}

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": api.url, "session": session, "timeout": 60}

        def validate_response(self, response: Response, case: Case, *args: Any,
                              **kwargs: Any) -> None:
            seen.append(response.status_code)
            kind = (response.headers.get("content-type") or [""])[0]
            text = response.text or ""
            payload = response.json() if kind.endswith("json") and text else {}
            _check(response.status_code, kind, text,
                   payload if isinstance(payload, dict) else {},
                   f"{case.method} {case.formatted_path}")

    # No shrinking phase: each step is an HTTP request; the failing sequence is printed as is.
    with session:
        Machine.run(settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, phases=[Phase.generate],
            deadline=None, derandomize=True, database=None, print_blob=True,
            suppress_health_check=list(HealthCheck)))
    # The sequences reached real cases, not only 404s and 422s.
    assert any(200 <= status < 300 for status in seen), seen
