"""`GET /events?input=...` reads each value as its field's declared type, on both
databases: never a 5xx for what a client writes there."""

from __future__ import annotations

from http_api.conftest import WORKFLOW, Api, start_case


def test_conditions_are_typed_by_the_declared_field(api: Api, area: str) -> None:
    with api.as_(["caseworker"], area) as worker:
        start_case(worker, area, applicant="00123", urgent=True)
        start_case(worker, area, applicant="123")
    with api.as_(["auditor"], area) as auditor:
        def applicants(condition: str) -> list[str]:
            response = auditor.get("/events", params={"workflow": WORKFLOW, "input": condition,
                                                      "community": area})
            assert response.status_code == 200, response.text
            return [e["input"]["applicant"] for e in response.json()["data"]]

        assert applicants("urgent=true") == ["00123"]
        assert applicants("urgent=false") == ["123"]
        assert applicants("applicant=00123") == ["00123"]
        assert applicants("notes>=0") == ["00123", "123"]
        for condition, code in (("notes=nan", "condition_value"),
                                ("applicant>100", "condition_operator"),
                                ("urgent=maybe", "condition_value")):
            response = auditor.get("/events", params={"workflow": WORKFLOW,
                                                      "input": condition})
            assert response.status_code == 422, (condition, response.text)
            assert response.json()["errors"][0]["code"] == code
