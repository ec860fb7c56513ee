"""The designer's desk over plain HTTP: workflows and versions with the diagram, the
parameters and the rule behind each condition and deadline; community parameters set by
those allowed; the editor's located diagnostics, preview and storing a new version."""

from __future__ import annotations

import uuid

from console.conftest import COMMUNITY, Console, form_tokens
from engine.store.operations import list_operations

BROKEN = """id: neighbourhood_watch
version: 1.0.0
title: {zh: 邻里守望队登记, en: Neighbourhood watch}
states:
  applied: {initial: true, title: {zh: 已申请, en: Applied}}
  registered: {final: true, title: {zh: 已登记, en: Registered}}
transitions:
  - trigger: register
    from: applied
    to: registerd
    roles: [caseworker]
"""


def good(workflow_id: str) -> str:
    return f"""id: {workflow_id}
version: 1.0.0
title: {{zh: 邻里守望队登记, en: Neighbourhood watch}}
states:
  applied: {{initial: true, title: {{zh: 已申请, en: Applied}}}}
  registered: {{final: true, title: {{zh: 已登记, en: Registered}}}}
transitions:
  - trigger: register
    from: applied
    to: registered
    title: {{zh: 登记, en: Register}}
    roles: [caseworker]
"""


def _designer(console: Console, community: str = COMMUNITY) -> str:
    return console.person(roles=("designer",), community=community)


def test_a_caseworker_is_refused_the_designers_desk(console: Console) -> None:
    client = console.signed_in(console.person())
    assert "流程设计" not in client.get("/").text.split("</nav>")[0]
    refused = client.get("/design")
    assert refused.status_code == 403 and "流程设计功能仅供" in refused.text


def test_the_workflows_are_listed_by_title_with_their_versions(console: Console) -> None:
    page = console.signed_in(_designer(console)).get("/design").text
    assert "社会组织孵化" in page and "发展党员" in page
    version = console.app.state.service.registry.get("social_org_incubation").version
    assert f'href="/design/workflows/social_org_incubation?version={version}"' in page


def test_a_workflow_shows_its_diagram_parameters_and_rules(console: Console) -> None:
    page = console.signed_in(_designer(console)).get(
        "/design/workflows/social_org_incubation").text
    assert "<svg" in page.split('id="diagram"')[1]
    parameters = page.split('id="parameter-table"')[1]
    assert "协议最少活动场次" in parameters and "整数" in parameters
    rules = page.split('id="rules"')[1]
    assert "选定" in rules and "列入活动异常名录或严重违法失信名单的组织不能入选" in rules
    assert "地方规定" in rules  # the rule docs/workflows.md gives for the guard
    timers = page.split('id="timers"')[1]
    assert "个工作日" in timers and "标记为逾期" in timers


def test_a_designer_sets_a_parameter_for_a_community(console: Console) -> None:
    area = f"{COMMUNITY}/design-param"
    name = _designer(console, area)
    client = console.signed_in(name)
    page = client.get("/design/workflows/social_org_incubation").text
    answer = client.post("/design/workflows/social_org_incubation/parameters", data={
        **form_tokens(page), "name": "minimum_sessions", "value": "3", "community": area})
    assert answer.status_code == 303
    shown = client.get(answer.headers["location"]).text
    row = shown.split('id="param-minimum_sessions"')[1].split("</tr>")[0]
    assert '<span class="in-force">3</span>' in row
    assert "已设定参数" in shown
    logged, _ = list_operations(console.app.state.service.engine, actor=name,
                                action="parameter_set")
    assert logged[-1].detail["value"] == 3 and logged[-1].community == area


def test_a_parameter_value_of_the_wrong_type_is_refused_in_words(console: Console) -> None:
    area = f"{COMMUNITY}/design-param-bad"
    client = console.signed_in(_designer(console, area))
    page = client.get("/design/workflows/social_org_incubation").text
    answer = client.post("/design/workflows/social_org_incubation/parameters", data={
        **form_tokens(page), "name": "minimum_sessions", "value": "许多", "community": area})
    assert answer.status_code == 422
    assert "参数值不符合要求" in answer.text and "error-summary" in answer.text


def test_a_parameter_outside_the_persons_scope_is_refused(console: Console) -> None:
    client = console.signed_in(_designer(console, f"{COMMUNITY}/design-mine"))
    page = client.get("/design/workflows/social_org_incubation").text
    answer = client.post("/design/workflows/social_org_incubation/parameters", data={
        **form_tokens(page), "name": "minimum_sessions", "value": "3",
        "community": f"{COMMUNITY}/design-theirs"})
    assert answer.status_code == 403 and "不在您的工作范围内" in answer.text


def test_a_broken_definition_shows_each_problem_at_its_line_and_column(
        console: Console) -> None:
    client = console.signed_in(_designer(console))
    tokens = form_tokens(client.get("/design/editor").text)
    answer = client.post("/design/editor", data={**tokens, "source": BROKEN,
                                                 "action": "check"})
    assert answer.status_code == 422
    diagnostics = answer.text.split('id="diagnostics"')[1].split("</ol>")[0]
    assert "第 10 行第 9 列" in diagnostics
    assert "没有名为“registerd”的状态；是不是“registered”？" in diagnostics
    assert "unknown_state" not in answer.text
    assert 'value="store"' not in answer.text


def test_a_broken_definition_is_never_stored(console: Console) -> None:
    client = console.signed_in(_designer(console))
    tokens = form_tokens(client.get("/design/editor").text)
    answer = client.post("/design/editor", data={**tokens, "source": BROKEN,
                                                 "action": "store"})
    assert answer.status_code == 422
    ids = [d.id for d in console.app.state.service.registry.definitions()]
    assert "neighbourhood_watch" not in ids


def test_a_good_definition_is_drawn_then_stored_as_a_new_version(console: Console) -> None:
    workflow_id = f"watch_{uuid.uuid4().hex[:8]}"
    name = _designer(console)
    client = console.signed_in(name)
    tokens = form_tokens(client.get("/design/editor").text)
    checked = client.post("/design/editor", data={**tokens, "source": good(workflow_id),
                                                  "action": "check"})
    assert checked.status_code == 200
    assert "检查通过：邻里守望队登记 版本 1.0.0" in checked.text
    assert "<svg" in checked.text.split('id="preview"')[1]
    stored = client.post("/design/editor", data={**tokens, "source": good(workflow_id),
                                                 "action": "store"})
    assert stored.status_code == 303
    page = client.get(stored.headers["location"]).text
    assert "已保存：邻里守望队登记 版本 1.0.0" in page
    assert console.app.state.service.registry.get(workflow_id).version == "1.0.0"
    logged, _ = list_operations(console.app.state.service.engine, actor=name,
                                action="definition_upload")
    assert logged[-1].target == workflow_id


def test_an_uploaded_file_is_checked_like_pasted_text(console: Console) -> None:
    client = console.signed_in(_designer(console))
    tokens = form_tokens(client.get("/design/editor").text)
    answer = client.post("/design/editor", data={**tokens, "action": "check"}, files={
        "file": ("watch.yaml", BROKEN.encode(), "application/yaml")})
    assert "第 10 行第 9 列" in answer.text


def test_the_editor_starts_from_a_stored_version(console: Console) -> None:
    page = console.signed_in(_designer(console)).get(
        "/design/editor", params={"from": "social_org_incubation"}).text
    assert "id: social_org_incubation" in page


def test_storing_needs_the_forms_token(console: Console) -> None:
    client = console.signed_in(_designer(console))
    answer = client.post("/design/editor", data={"source": good("watch_csrf"),
                                                 "action": "store"})
    assert answer.status_code == 403
