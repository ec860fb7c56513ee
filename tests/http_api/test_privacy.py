"""Personal data: sensitive fields are masked in every response unless the token has the
`pii` permission, and never reach the service's logs."""

from __future__ import annotations

import json
import logging
from typing import Any

from engine.audit.masking import mask_fields, mask_value
from http_api.conftest import ID_NUMBER, PHONE, WORKFLOW, Api

MASKED_ID = "3501**********1234"
MASKED_PHONE = "*" * len(PHONE)


def test_long_values_keep_their_ends_and_short_ones_are_masked_whole() -> None:
    assert mask_value(ID_NUMBER) == MASKED_ID
    assert mask_value(PHONE) == MASKED_PHONE
    assert mask_value("") == ""
    assert mask_value(None) is None
    assert mask_value(19900101) == "****"
    assert mask_value(["1234567890123456", "12"]) == ["1234********3456", "**"]
    assert mask_fields({"a": "secret", "b": "open"}, {"a"}) == {"a": "******", "b": "open"}


def _journey(api: Api, area: str, permissions: tuple[str, ...]) -> list[Any]:
    """Start a case with personal data, fire with a sensitive input, read everything back;
    returns every response body."""
    bodies: list[Any] = []
    with api.as_(["caseworker"], area, permissions) as client:
        created = client.post("/cases", json={
            "workflow_id": WORKFLOW, "community": area,
            "data": {"applicant": "Lin Mei", "phone": PHONE}})
        assert created.status_code == 201
        case = created.json()["case"]["id"]
        fired = client.post(f"/cases/{case}/events",
                            json={"trigger": "accept", "input": {"id_number": ID_NUMBER}})
        assert fired.status_code == 200
        bodies += [created.json(), fired.json()]
        for path, params in ((f"/cases/{case}", None), ("/cases", {"community": area}),
                             (f"/cases/{case}/history", None), ("/events", {"case": case}),
                             (f"/cases/{case}/actions", None)):
            response = client.get(path, params=params)
            assert response.status_code == 200
            bodies.append(response.json())
    return bodies


def test_sensitive_fields_are_masked_everywhere_without_pii(api: Api, area: str) -> None:
    bodies = _journey(api, area, ())
    text = json.dumps(bodies, ensure_ascii=False)
    assert ID_NUMBER not in text and PHONE not in text
    created, fired, case, listed, history, events, _ = bodies
    assert created["case"]["data"]["phone"] == MASKED_PHONE
    assert created["event"]["input"]["phone"] == MASKED_PHONE
    assert fired["case"]["data"]["id_number"] == MASKED_ID
    assert fired["event"]["input"]["id_number"] == MASKED_ID
    assert fired["event"]["changes"]["id_number"] == MASKED_ID
    assert case["data"] == {**case["data"], "phone": MASKED_PHONE, "id_number": MASKED_ID,
                            "applicant": "Lin Mei"}
    assert listed["data"][0]["data"]["id_number"] == MASKED_ID
    assert history[1]["input"]["id_number"] == MASKED_ID
    assert events["data"][1]["input"]["id_number"] == MASKED_ID


def test_a_pii_token_sees_personal_data(api: Api, area: str) -> None:
    _, fired, case, listed, history, _, _ = _journey(api, area, ("pii",))
    assert fired["event"]["input"]["id_number"] == ID_NUMBER
    assert case["data"]["phone"] == PHONE and case["data"]["id_number"] == ID_NUMBER
    assert listed["data"][0]["data"]["id_number"] == ID_NUMBER
    assert history[0]["input"]["phone"] == PHONE


def test_personal_data_never_reaches_the_logs(api: Api, area: str,
                                              log_records: list[logging.LogRecord]) -> None:
    _journey(api, area, ("pii",))
    with api.as_(["caseworker"], area) as client:
        # Refusals and invalid requests carrying personal data are logged no better.
        client.post("/cases", json={"workflow_id": WORKFLOW, "community": area,
                                    "data": {"applicant": ["not text"], "phone": PHONE}})
        client.get("/cases", params={"text": ID_NUMBER, "limit": "x"})
        client.post("/cases/0123456789abcdef/events",
                    json={"trigger": "accept", "input": {"id_number": ID_NUMBER}})
    # The test's own HTTP client (httpx, httpcore) logs its URLs; the service is the rest.
    served = [r for r in log_records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "uvicorn.access" for r in served), "no access log was captured"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in served)
    assert ID_NUMBER not in logged
    assert PHONE not in logged
