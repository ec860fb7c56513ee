"""The caseworker's desk over plain HTTP: the queue's order, filters and saved filters, the
record's page as the API shows it (masking without `pii`), and changes refused as the API
refuses them (CSRF, another community, a stale form, refusals in the operations log)."""

from __future__ import annotations

import re

import httpx

from console.conftest import COMMUNITY, Console, form_tokens, start_record
from engine.core.decision import Actor
from engine.store.operations import list_operations
from engine.timers.calendar import CHINA_TZ

SEED = Actor("seed.worker", frozenset({"caseworker"}))
ALL = {"view": "all"}  # every record in the person's scope, not only their own
PHONE = "13800138000"


def _record(console: Console, name: str, community: str = COMMUNITY, **data: object) -> str:
    result = console.app.state.service.start_case(
        "social_org_incubation", {"name": name, "residents_need": "助老", **data},
        actor=SEED, community=community)
    return str(result.case.id)


def _with_a_party_member(console: Console, record_id: str, community: str) -> None:
    """Give the organization a party record with one member transferred in, linked to it:
    party presence is read from there (issue 13), never typed."""
    service = console.app.state.service
    committee = Actor("seed.committee", frozenset({"party_committee", "branch"}))
    party = service.start_case("party_organization", {"name": "乙 有党组织"},
                               actor=committee, community=community).case.id
    member = service.start_case("membership_transfer", {
        "name": "党员甲", "birth_date": "1980-01-01", "status_on_arrival": "full_member",
        "joined_on": "2005-07-01", "full_member_since": "2006-07-01",
        "from_organization": "原单位党支部", "letter_number": "转〔2026〕1号",
        "letter_issued_on": "2026-01-05"}, actor=committee, community=community).case.id
    service.link(member, party, relation="party_organization", actor=committee)
    service.fire(member, "accept", input={"reported_on": "2026-01-06"}, actor=committee)
    opened = service.get_case(party).created_at.astimezone(CHINA_TZ).date().isoformat()
    service.fire(party, "register_without_branch", input={"registered_on": opened},
                 actor=committee)
    service.link(record_id, party, relation="party_organization", actor=committee)


def _titles(page: str) -> list[str]:
    return re.findall(r'class="record-link" href="/cases/[0-9a-f]+">([^<]+)<', page)


def test_the_queue_puts_organizations_with_a_party_presence_first(console: Console) -> None:
    area = f"{COMMUNITY}/order"
    _record(console, "甲 无党员组织", area)
    _with_a_party_member(console, _record(console, "乙 有党组织", area), f"{area}-party")
    client = console.signed_in(console.person(community=area))
    titles = _titles(client.get("/", params=ALL).text)
    assert titles == ["乙 有党组织", "甲 无党员组织"]


def test_the_queue_filters_by_stage_and_title(console: Console) -> None:
    area = f"{COMMUNITY}/filters"
    _record(console, "金洲书画社", area)
    _record(console, "金洲合唱团", area)
    client = console.signed_in(console.person(community=area))
    assert _titles(client.get("/", params={**ALL, "q": "书画"}).text) == ["金洲书画社"]
    by_stage = client.get("/", params={**ALL, "workflow": "social_org_incubation",
                                       "stage": "cultivation"})
    assert _titles(by_stage.text) == [] and "没有符合条件的档案" in by_stage.text


def test_a_person_saves_a_filter_under_a_name_and_finds_it_again(console: Console) -> None:
    client = console.signed_in(console.person())
    page = client.get("/", params={"q": "书画"})
    saved = client.post("/filters", data={**form_tokens(page.text), "name": "书画类",
                                          "query": "q=%E4%B9%A6%E7%94%BB"})
    assert saved.status_code == 303
    assert '>书画类</a>' in client.get("/").text


def test_the_queue_is_paged(console: Console) -> None:
    area = f"{COMMUNITY}/paged"
    for n in range(27):
        _record(console, f"分页组织{n:02d}", area)
    client = console.signed_in(console.person(community=area))
    first = client.get("/", params=ALL)
    following = re.search(r'href="/\?(view=all&amp;cursor=[^"]+)" rel="next"', first.text)
    assert following is not None and len(_titles(first.text)) == 25
    second = client.get("/?" + following.group(1).replace("&amp;", "&"))
    assert len(_titles(second.text)) == 2
    assert not set(_titles(first.text)) & set(_titles(second.text))


def test_personal_data_is_masked_without_pii_as_in_the_api(console: Console) -> None:
    case_id = _record(console, "手机号组织", contact_phone=PHONE)
    without = console.signed_in(console.person()).get(f"/cases/{case_id}")
    with_pii = console.signed_in(console.person(permissions=("pii",))).get(f"/cases/{case_id}")
    assert PHONE not in without.text and PHONE in with_pii.text


def test_a_change_without_the_csrf_token_is_refused_and_nothing_changes(
        console: Console) -> None:
    case_id = _record(console, "无令牌组织")
    client = console.signed_in(console.person())
    page = client.get(f"/cases/{case_id}")
    tokens = form_tokens(page.text)
    refused = client.post(f"/cases/{case_id}/fire/select",
                          data={"version": "1", "key": tokens["key"],
                                "in-not_on_abnormal_lists": "true"})
    assert refused.status_code == 403
    assert console.app.state.service.get_case(case_id).version == 1


def test_a_record_of_another_community_cannot_be_changed(console: Console) -> None:
    case_id = _record(console, "外社区组织", "fuzhou/gulou/dongjie")
    client = console.signed_in(console.person())
    page = client.get("/")
    response = client.post(f"/cases/{case_id}/fire/select", data={
        **form_tokens(page.text), "version": "1", "in-not_on_abnormal_lists": "true"})
    assert response.status_code == 404
    assert console.app.state.service.get_case(case_id).version == 1


def test_a_record_cannot_be_started_outside_the_persons_scope(console: Console) -> None:
    client = console.signed_in(console.person())
    page = client.get("/cases/new/social_org_incubation")
    response = client.post("/cases/new/social_org_incubation", data={
        **form_tokens(page.text), "community": "fuzhou/gulou/dongjie", "name": "越界组织",
        "residents_need": "助学"})
    assert response.status_code == 422
    assert "不在您的工作范围内" in response.text


def test_a_stale_form_is_refused_and_shows_the_record_as_it_stands(console: Console) -> None:
    case_id = _record(console, "并发组织")
    client = console.signed_in(console.person())
    tokens = form_tokens(client.get(f"/cases/{case_id}").text)
    console.app.state.service.suspend(case_id, actor=SEED, reason="负责人变更")
    response = client.post(f"/cases/{case_id}/fire/select", data={
        **tokens, "version": "1", "in-not_on_abnormal_lists": "true"})
    assert response.status_code == 409
    assert "其他人已办理了本档案" in response.text and "本档案已暂停办理" in response.text


def test_a_refused_change_is_recorded_in_the_operations_log(console: Console) -> None:
    case_id = _record(console, "被拒组织")
    name = console.person()
    client = console.signed_in(name)
    tokens = form_tokens(client.get(f"/cases/{case_id}").text)
    refused = client.post(f"/cases/{case_id}/fire/select", data={
        **tokens, "version": "1", "in-not_on_abnormal_lists": "false"})
    assert refused.status_code == 422
    entries, _ = list_operations(console.app.state.service.engine, actor=name,
                                 action="change_refused")
    assert [(e.target, e.detail["code"]) for e in entries] == [
        (f"/cases/{case_id}/fire/select", "guard_false")]


def test_an_auditor_reads_a_record_but_is_offered_no_change(console: Console) -> None:
    case_id = _record(console, "只读组织")
    page = console.signed_in(console.person(roles=("auditor",))).get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "您的角色只能查看" in page.text and "/fire/" not in page.text


def test_the_page_of_a_record_that_does_not_exist_is_not_found(console: Console,
                                                               http: httpx.Client) -> None:
    client = console.signed_in(console.person())
    assert client.get("/cases/0000000000000000").status_code == 404


def test_htmx_gets_the_queue_alone_from_the_same_template(console: Console) -> None:
    client = console.signed_in(console.person())
    whole = client.get("/", params={"workflow": "social_org_incubation"})
    part = client.get("/", params={"workflow": "social_org_incubation"},
                      headers={"HX-Request": "true"})
    assert part.text.lstrip().startswith('<div class="queue-wrap" id="queue">')
    assert "<html" not in part.text and part.text.strip() in whole.text


def test_an_unknown_address_is_a_page_for_a_browser_and_a_problem_for_the_api(
        http: httpx.Client) -> None:
    page = http.get("/no/such/page", headers={"Accept": "text/html"})
    api = http.get("/api/v1/no/such/thing", headers={"Accept": "text/html"})
    assert page.status_code == api.status_code == 404
    assert "未找到该页面或记录" in page.text
    assert api.headers["content-type"] == "application/problem+json"


def test_each_row_shows_its_next_deadline_in_peoples_words(console: Console) -> None:
    area = f"{COMMUNITY}/deadlines"
    _record(console, "答复期限组织", area)
    page = console.signed_in(console.person(community=area)).get("/", params=ALL)
    assert "2026年3月9日" in page.text  # five working days after Monday 2 March 2026


def test_the_queue_shows_records_in_progress_unless_asked_for_others(console: Console) -> None:
    area = f"{COMMUNITY}/statuses"
    _record(console, "办理中的组织", area)
    paused = _record(console, "暂停的组织", area)
    console.app.state.service.suspend(paused, actor=SEED, reason="负责人变更")
    client = console.signed_in(console.person(community=area))
    assert _titles(client.get("/", params=ALL).text) == ["办理中的组织"]
    assert _titles(client.get("/", params={**ALL, "status": "suspended"}).text) == [
        "暂停的组织"]
    assert len(_titles(client.get("/", params={**ALL, "status": "all"}).text)) == 2


def test_a_link_shows_on_both_records_timelines_by_title(console: Console) -> None:
    # Given two records of one community, one linked to the other by the party committee
    area = f"{COMMUNITY}/links"
    made = start_record(console, "上古健康服务中心", area)
    other = start_record(console, "熠家心理工作室", area)
    console.app.state.service.link(made, other, relation="related",
                                   actor=Actor("seed.committee", frozenset({"caseworker"})))
    client = console.signed_in(console.person(community=area))
    # Then each record's timeline names the other by its title and says which side made it,
    # never its id or the stored direction code
    for case_id, title, side in ((made, "熠家心理工作室", "本档案关联"),
                                 (other, "上古健康服务中心", "关联本档案")):
        page = client.get(f"/cases/{case_id}").text
        timeline = page.split('id="timeline"')[1].split("</ol>")[0]
        assert "关联档案" in timeline and f"{title} · {side}" in timeline
        assert "incoming" not in timeline and (other if case_id == made else made) not in timeline
