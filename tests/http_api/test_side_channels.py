"""Nothing a reader may not see leaks by a side way: links to cases outside the reader's
scope, searches and filters over personal data the reader sees masked."""

from __future__ import annotations

from http_api.conftest import Api, start_case


def test_a_link_to_a_case_outside_the_readers_scope_is_not_shown(api: Api, area: str) -> None:
    here, there = f"{area}/here", f"{area}/there"
    with api.as_(["admin"], area) as admin:
        mine = start_case(admin, here)
        other = start_case(admin, there)
        linked = admin.post(f"/cases/{mine['id']}/links", json={"case_id": other["id"]})
        assert linked.status_code == 200, linked.text
        assert [link["case_id"] for link in linked.json()["case"]["links"]] == [other["id"]]
        assert [link["case_id"] for link in admin.get(f"/cases/{mine['id']}").json()["links"]
                ] == [other["id"]]
    with api.as_(["auditor"], here) as reader:
        seen = reader.get(f"/cases/{mine['id']}").json()
        assert seen["links"] == []
        listed = reader.get("/cases").json()["data"]
        assert [c["links"] for c in listed] == [[]]
