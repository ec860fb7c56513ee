"""Communities shown by name, never by path: the case page, the queue of a wider scope, the
start form and the designer's parameters read the operator's directory (`communities.yaml`);
a community it lacks is shown by its last segment, with the path as its title."""

from __future__ import annotations

import html
import re

from api.console.i18n import LANG_COOKIE
from console.conftest import COMMUNITY, Console, form_tokens, start_record


def _case_community(page: str) -> tuple[str, str]:
    found = re.search(r'<dd id="case-community" title="([^"]*)">([^<]*)</dd>', page)
    assert found is not None, page
    return html.unescape(found.group(2)), html.unescape(found.group(1))


def test_the_case_page_names_the_community_with_its_district_and_street_as_title(
        console: Console) -> None:
    record = start_record(console, "社区名称 甲")
    client = console.signed_in(console.person())
    page = client.get(f"/cases/{record}").text
    assert _case_community(page) == ("金州社区", "福州市 仓山区 金山街道 金州社区")
    assert COMMUNITY not in page


def test_the_case_page_in_english_uses_the_english_names(console: Console) -> None:
    record = start_record(console, "社区名称 乙")
    client = console.signed_in(console.person())
    client.cookies.set(LANG_COOKIE, "en")
    page = client.get(f"/cases/{record}").text
    assert _case_community(page) == (
        "Jinzhou Community", "Fuzhou Cangshan District Jinshan Subdistrict Jinzhou Community")


def test_a_community_the_directory_lacks_is_shown_by_its_last_segment_with_the_path_as_title(
        console: Console) -> None:
    area = f"{COMMUNITY}/xinyuan"
    record = start_record(console, "社区名称 丙", area)
    client = console.signed_in(console.person(community=area))
    assert _case_community(client.get(f"/cases/{record}").text) == ("xinyuan", area)


def test_the_queue_of_a_wider_scope_names_each_records_community(console: Console) -> None:
    start_record(console, "社区名称 丁")
    client = console.signed_in(console.person(community="fuzhou/cangshan"))
    page = client.get("/", params={"view": "all", "q": "社区名称 丁"}).text
    assert ('<span class="community" title="福州市 仓山区 金山街道 金州社区">金州社区</span>'
            in page)
    assert "fuzhou/cangshan/jinshan/jinzhou<" not in page


def test_the_queue_of_ones_own_community_does_not_repeat_it(console: Console) -> None:
    start_record(console, "社区名称 戊")
    client = console.signed_in(console.person())
    page = client.get("/", params={"view": "all", "q": "社区名称 戊"}).text
    assert "社区名称 戊" in page
    assert 'class="community"' not in page


def test_the_start_form_offers_the_communities_in_scope_by_name(console: Console) -> None:
    client = console.signed_in(console.person(community="fuzhou/cangshan"))
    page = client.get("/cases/new/social_org_incubation").text
    select = re.search(r'<select[^>]*name="community".*?</select>', page, re.S)
    assert select is not None, page
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))
    assert options == [("", "请选择"),
                       ("fuzhou/cangshan", "福州市 仓山区"),
                       ("fuzhou/cangshan/jinshan", "福州市 仓山区 金山街道"),
                       ("fuzhou/cangshan/jinshan/jinzhou", "福州市 仓山区 金山街道 金州社区")]


def test_the_start_form_preselects_a_caseworkers_own_community(console: Console) -> None:
    client = console.signed_in(console.person())
    page = client.get("/cases/new/social_org_incubation").text
    assert re.search(r'<option value="fuzhou/cangshan/jinshan/jinzhou" selected>', page)


def test_a_start_without_a_chosen_community_asks_to_choose_one(console: Console) -> None:
    client = console.signed_in(console.person(community="fuzhou/cangshan"))
    form = client.get("/cases/new/social_org_incubation").text
    answer = client.post("/cases/new/social_org_incubation", data={
        **form_tokens(form), "community": "", "name": "无社区", "residents_need": "助老"})
    assert answer.status_code == 422
    assert "请选择所属社区" in answer.text


def test_the_designers_parameters_are_chosen_and_titled_by_community_name(
        console: Console) -> None:
    client = console.signed_in(console.person(roles=("designer",), community="fuzhou"))
    page = client.get("/design/workflows/social_org_incubation",
                      params={"community": COMMUNITY}).text
    assert re.search(r'<option value="fuzhou/cangshan/jinshan/jinzhou" selected>'
                     r'福州市 仓山区 金山街道 金州社区</option>', page)
    assert "福州市 仓山区 金山街道 金州社区" in re.search(
        r'<th scope="col">[^<]*福州市[^<]*</th>', page).group(0)
