"""A field that names another record is chosen by the record's title among those in the
person's scope (in a real Chromium), never typed as an id."""

from __future__ import annotations

import re
from typing import Any

from console.browser import sign_in_page
from console.conftest import COMMUNITY, PASSWORD, Console
from engine.core.decision import Actor

COMMITTEE = Actor("seed.committee", frozenset({"party_committee", "branch"}))


def test_a_reference_is_chosen_by_the_records_title(page: Any, console: Console) -> None:
    area = f"{COMMUNITY}/reference"
    service = console.app.state.service
    party = service.start_case("party_organization", {"name": "金洲书画社党小组"},
                               actor=COMMITTEE, community=area).case.id
    service.start_case("party_organization", {"name": "鼓楼别处的党组织"}, actor=COMMITTEE,
                       community="fuzhou/gulou/dongjie")
    sign_in_page(page, console.url, console.person(community=area), PASSWORD)
    page.goto(console.url + "/cases/new/social_org_incubation")
    chosen = page.get_by_label("对应的党组织孵化档案")
    assert chosen.evaluate("e => e.tagName") == "SELECT"
    offered = chosen.locator("option").all_inner_texts()
    assert "金洲书画社党小组" in offered and "鼓楼别处的党组织" not in offered
    page.get_by_label("组织名称").fill("金洲书画社")
    page.get_by_label("对应的居民需求").fill("书画培训")
    chosen.select_option(label="金洲书画社党小组")
    page.get_by_role("button", name="建档").click()
    page.wait_for_url(re.compile(r"/cases/[0-9a-f]+\?done=start"))
    case_id = page.url.split("/cases/")[1].split("?")[0]
    assert service.get_case(case_id).data["party_organization"] == party
