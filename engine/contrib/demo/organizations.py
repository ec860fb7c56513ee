"""The demo's organizations: six incubated social organizations with their agreements, the
four ones and the services they deliver; co-building units; the big party committee's
part-time members; the nine volunteer teams."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from engine.contrib.demo.actors import CASEWORKER, COMMITTEE, STREET
from engine.contrib.demo.script import TODAY, Ref, Script, fire, months, start, tick

LISTS_CHECKED = "经查询，未列入活动异常名录和严重违法失信名单"
FOUR_ONES = ("venue", "startup_funds", "party_instructor", "incubation_plan")


def _incubate(s: Script, key: str, *, name: str, need: str, applied: str, selected: str,
              signed: str, services: str, sessions: int, effect: str, venue: str,
              funds: int, instructor: str, due: str,
              ones: Mapping[str, tuple[str, str]]) -> None:
    """An organization brought in, selected, confirmed by agreement and given its ones."""
    s.on(applied, start(key, "social_org_incubation", {"name": name, "residents_need": need},
                        actor=COMMITTEE))
    s.on(selected, fire(key, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE,
                        comment=LISTS_CHECKED))
    s.on(signed, fire(key, "sign_agreement", {
        "services": services, "activity_sessions": sessions, "expected_effect": effect,
        "agreement_date": TODAY, "venue": venue, "startup_funds_yuan": funds,
        "instructor": instructor, "resources_due": due}, actor=COMMITTEE))
    for item, (when, evidence) in ones.items():
        s.on(when, tick(key, item, evidence, actor=COMMITTEE))


def _deliver(s: Script, key: str, first: str, last: str, *, per_month: int, title: str,
             people: int, kind: str = "activity", day: int = 12) -> None:
    """Services or activities recorded against the agreement, month by month."""
    for month in months(first, last):
        for n in range(per_month):
            s.on(f"{month}-{day + 7 * n:02d} 16:00", fire(key, "record_delivery", {
                "delivered_on": TODAY, "kind": kind, "title": title, "people_served": people,
                "evidence": "签到表、活动照片和服务记录"}, actor=CASEWORKER))


def _evaluate(s: Script, key: str, when: str, result: str,
              effect: str = "achieved") -> None:
    s.on(when, fire(key, "record_evaluation", {
        "evaluated_on": TODAY, "result": result, "services_as_agreed": True,
        "effect_achieved": effect}, actor=COMMITTEE))


def _final(s: Script, key: str, when: str, result: str, then: str,
           then_input: Mapping[str, Any] | None = None, comment: str | None = None) -> None:
    s.on(when, fire(key, "record_final_result", {
        "evaluated_on": TODAY, "result": result, "services_as_agreed": True,
        "effect_achieved": "achieved"}, actor=COMMITTEE))
    s.on(f"{when} 15:00", fire(key, then, then_input, actor=COMMITTEE, comment=comment))


def _ones(dates: tuple[str, str, str, str], evidence: tuple[str, str, str, str]
          ) -> dict[str, tuple[str, str]]:
    return {item: (when, text) for item, when, text in zip(FOUR_ONES, dates, evidence,
                                                            strict=True)}


def _shanggu(s: Script) -> None:
    _incubate(
        s, "soi:shanggu", name="上古健康服务中心",
        need="辖区老年人居家养老：上门健康监测、慢病管理和康复护理",
        applied="2024-11-04 09:30", selected="2024-11-06", signed="2024-11-15",
        services="居家养老健康服务：上门健康监测、慢病管理、康复护理、健康讲座",
        sessions=48, effect="辖区居家老人建立健康档案，每月开展健康服务活动，满意度90%以上",
        venue="社区党群服务中心一楼活动室", funds=20000, instructor="陈红", due="2024-11-30",
        ones=_ones(("2024-11-18", "2024-11-18 10:00", "2024-11-25", "2024-11-29"),
                   ("社区党群服务中心一楼活动室免费使用", "社区拨付启动资金2万元",
                    "下派党建指导员：社区党委委员陈红", "《上古健康服务中心孵化方案》")))
    # Two health lectures and the month's home services, every month.
    _deliver(s, "soi:shanggu", "2024-12", "2026-11", per_month=2, title="健康讲座",
             people=40, day=3)
    _deliver(s, "soi:shanggu", "2024-12", "2027-06", per_month=1, title="上门健康监测和康复护理",
             people=4200, kind="service", day=25)
    for when in ("2025-05-20", "2025-11-20", "2026-05-20", "2026-10-20"):
        _evaluate(s, "soi:shanggu", when, "good")
    # The story forward: the two-year period ends on 15 November 2026 by its timer; the
    # centre renews for a year while its branch grows to seven and elects a committee.
    _final(s, "soi:shanggu", "2026-11-20", "renew", "renew", {
        "agreement_date": TODAY, "activity_sessions": 24, "resources_due": "2026-11-30"},
        comment="党支部即将增设支部委员会，续驻一年巩固党建成果")
    for item, evidence in zip(FOUR_ONES, ("续驻：一楼活动室继续免费使用", "续驻：第二期经费1万元",
                                          "续驻：党建指导员陈红继续联系",
                                          "《上古健康服务中心续驻孵化方案》"), strict=True):
        s.on("2026-11-25", tick("soi:shanggu", item, evidence, actor=COMMITTEE))
    _deliver(s, "soi:shanggu", "2026-12", "2027-06", per_month=2, title="健康讲座", people=45,
             day=3)


def social_organizations(s: Script) -> None:
    _shanggu(s)

    _incubate(
        s, "soi:yijia", name="熠家心理工作室",
        need="家长对孩子教育的需求：青少年自主学习和心理健康",
        applied="2024-12-02", selected="2024-12-04", signed="2025-01-06",
        services="青少年自主学习研究与家长课堂；沙盘游戏心理辅导",
        sessions=24, effect="跟踪辅导青少年自主学习，解决家长在孩子教育中的困惑",
        venue="社区党群服务中心二楼沙盘室", funds=15000, instructor="陈红", due="2025-01-20",
        ones=_ones(("2025-01-08", "2025-01-08 10:00", "2025-01-08 11:00", "2025-01-10"),
                   ("社区党群服务中心二楼沙盘室", "社区拨付启动资金1.5万元",
                    "下派党建指导员：社区党委委员陈红", "《熠家心理工作室孵化方案》")))
    _deliver(s, "soi:yijia", "2025-02", "2026-12", per_month=1, title="家长课堂和沙盘游戏辅导",
             people=25)
    for when in ("2025-07-10", "2026-01-12", "2026-07-20"):
        _evaluate(s, "soi:yijia", when, "good")

    _incubate(
        s, "soi:letan", name="乐探机器人工作室",
        need="青少年课后科技教育",
        applied="2025-03-03", selected="2025-03-05", signed="2025-04-01",
        services="青少年机器人编程与科创课程", sessions=36,
        effect="每学期开设两期机器人编程课，参与青少年不少于60人",
        venue="社区青少年活动室", funds=10000, instructor="徐丽", due="2025-04-15",
        ones=_ones(("2025-04-03", "2025-04-03 10:00", "2025-04-07", "2025-04-10"),
                   ("社区青少年活动室", "社区拨付启动资金1万元",
                    "下派党建指导员：社区党委委员徐丽", "《乐探机器人工作室孵化方案》")))
    _deliver(s, "soi:letan", "2025-04", "2026-03", per_month=3, title="机器人编程课",
             people=20)
    _evaluate(s, "soi:letan", "2025-10-13", "fair", "partly_achieved")
    s.on("2026-04-01", fire("soi:letan", "begin_final_evaluation", actor=COMMITTEE))
    _final(s, "soi:letan", "2026-04-08", "passed", "graduate")

    _incubate(
        s, "soi:qinghe", name="青禾社工",
        need="困境家庭帮扶和青少年成长",
        applied="2025-10-13", selected="2025-10-15", signed="2025-11-03",
        services="困境家庭个案帮扶、青少年成长小组、邻里互助活动", sessions=30,
        effect="建立困境家庭档案并定期走访，每季度开展青少年成长小组活动",
        venue="社区党群服务中心社工室", funds=15000, instructor="徐丽", due="2025-11-15",
        ones=_ones(("2025-11-05", "2025-11-05 10:00", "2025-11-05 11:00", "2025-11-12"),
                   ("社区党群服务中心社工室", "社区拨付启动资金1.5万元",
                    "下派党建指导员：社区党委委员徐丽", "《青禾社工孵化方案》")))
    _deliver(s, "soi:qinghe", "2025-11", "2027-06", per_month=1, title="青少年成长小组",
             people=15, day=20)
    _evaluate(s, "soi:qinghe", "2026-05-08", "good")

    # Still waiting for its party-building instructor: the four ones are late.
    _incubate(
        s, "soi:kepu", name="科普工作室",
        need="社区科普和青少年科学兴趣",
        applied="2026-05-11", selected="2026-05-13", signed="2026-06-01",
        services="社区科普讲座、青少年科学实验课", sessions=20,
        effect="每月一次科普活动，覆盖辖区中小学生",
        venue="社区图书馆分馆多功能厅", funds=8000, instructor="徐丽", due="2026-06-15",
        ones={"venue": ("2026-06-03", "社区图书馆分馆多功能厅"),
              "startup_funds": ("2026-06-03 10:00", "社区拨付启动资金8000元"),
              "incubation_plan": ("2026-06-10", "《科普工作室孵化方案》")})
    _deliver(s, "soi:kepu", "2026-06", "2027-06", per_month=1, title="青少年科学实验课",
             people=30)

    # Applied in October 2026; the reply deadline passes before the committee selects it.
    s.on("2026-10-19", start("soi:fanshu", "social_org_incubation", {
        "name": "番薯乐园自然科学推广中心", "residents_need": "儿童自然教育和亲子科普"},
        actor=COMMITTEE))
    s.on("2026-10-28", fire("soi:fanshu", "select", {"not_on_abnormal_lists": True},
                            actor=COMMITTEE, comment=f"{LISTS_CHECKED}；核查耗时，答复逾期"))


# ---------------------------------------------------------------------------------------
# Co-building units, the big party committee, volunteer teams


JOINT_TERMS = ("organization_building", "joint_activities", "shared_resources",
               "member_management")


def _agreement(s: Script, key: str, *, unit: str, party_org: str, scope: str,
               proposed: str, terms: str, signed: str, planned: int,
               evidence: tuple[str, str, str, str], activities: list[tuple[str, str]],
               reviewed: str) -> None:
    s.on(proposed, start(key, "co_building_agreement", {
        "unit_name": unit, "unit_party_organization": party_org, "scope": scope},
        actor=COMMITTEE))
    s.on(terms, fire(key, "draft_terms", actor=COMMITTEE))
    for item, text in zip(JOINT_TERMS, evidence, strict=True):
        s.on(f"{terms} 15:00", tick(key, item, text, actor=COMMITTEE))
    s.on(signed, fire(key, "sign", {"signed_on": TODAY, "planned_activities": planned},
                      actor=COMMITTEE))
    for when, title in activities:
        s.on(when, fire(key, "record_activity", {"held_on": TODAY, "title": title},
                        actor=CASEWORKER))
    # The annual review falls due by its timer, one year after signing.
    s.on(reviewed, fire(key, "record_annual_review", {
        "result": "effective", "summary": "按协议开展联建活动，居民反映良好"},
        actor=COMMITTEE))


def _school_saturdays(first: str, last: str) -> list[str]:
    """Saturdays from `first` to `last` outside the winter and summer school holidays."""
    breaks = [("2025-01-18", "2025-02-16"), ("2025-07-05", "2025-08-31"),
              ("2026-01-24", "2026-03-01"), ("2026-07-04", "2026-08-31"),
              ("2027-01-23", "2027-02-28")]
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    day += timedelta(days=(5 - day.weekday()) % 7)
    found = []
    while day <= end:
        text = day.isoformat()
        if not any(a <= text <= b for a, b in breaks):
            found.append(text)
        day += timedelta(days=7)
    return found


def co_building(s: Script) -> None:
    _agreement(
        s, "cb:kindergarten", unit="金山幼儿园", party_org="金山幼儿园党支部",
        scope="within_area", proposed="2024-11-20", terms="2024-11-22", signed="2024-12-02",
        planned=40,
        evidence=("社区党委与幼儿园党支部结对共建", "每周一次绘本阅读故事会",
                  "依托福建省图书馆金洲社区分馆平台资源", "在职党员到社区报到服务"),
        activities=[(f"{day} 10:00", "阅读进社区，书香飘万家——幼儿阅读故事会")
                    for day in _school_saturdays("2024-12-07", "2026-10-30")],
        reviewed="2025-12-10")
    _agreement(
        s, "cb:fzu", unit="福州大学", party_org="福州大学心理学系党支部", scope="outside_area",
        proposed="2025-01-13", terms="2025-01-15", signed="2025-02-24", planned=4,
        evidence=("高校党支部与社区党委联建", "心理健康讲座和青少年成长营",
                  "教授为熠家心理工作室提供专业指导", "学生党员到社区志愿服务"),
        activities=[(f"{day} 14:30", "青少年心理健康讲座") for day in
                    ("2025-04-19", "2025-07-12", "2025-10-18", "2026-01-10", "2026-04-18",
                     "2026-07-11", "2026-10-17")],
        reviewed="2026-03-02")
    _agreement(
        s, "cb:fafu", unit="福建农林大学", party_org="福建农林大学心理健康教育中心党支部",
        scope="outside_area", proposed="2025-03-10", terms="2025-03-12", signed="2025-04-14",
        planned=4,
        evidence=("高校党支部与社区党委联建", "沙盘游戏心理辅导进社区",
                  "共享沙盘游戏治疗设备和研究资源", "教师党员联系社区家庭"),
        activities=[(f"{day} 14:30", "沙盘游戏亲子心理辅导") for day in
                    ("2025-05-17", "2025-08-16", "2025-11-15", "2026-02-28", "2026-05-16",
                     "2026-08-15")],
        reviewed="2026-04-20")


PART_TIME_MEMBERS = (
    ("ce:kindergarten", "周敏", "金山幼儿园", "cb:kindergarten"),
    ("ce:police", "钱峰", "金山派出所", None),
    ("ce:school", "孙立", "金山小学", None),
    ("ce:clinic", "李娟", "金山街道社区卫生服务中心", None),
    ("ce:property", "吴斌", "金洲物业服务公司", None),
)
SOURCES = ("party_members", "residents", "unit_party_organizations")


def big_party_committee(s: Script) -> None:
    for key, candidate, unit, agreement in PART_TIME_MEMBERS:
        data: dict[str, Any] = {"candidate_name": candidate, "unit_name": unit,
                                "position": "党支部书记", "round_opened_on": TODAY}
        if agreement is not None:
            data["co_building"] = Ref(agreement)
        s.on("2025-01-06", start(key, "committee_election", data, actor=COMMITTEE))
        for n, source in enumerate(SOURCES):
            s.on(f"2025-01-{7 + n:02d}", fire(key, "record_recommendation", {
                "source": source, "recommended_on": TODAY}, actor=COMMITTEE))
        s.on("2025-01-13", fire(key, "submit_candidate", actor=COMMITTEE))
        s.on("2025-01-15", fire(key, "approve_candidate", actor=STREET))
        s.on("2025-01-17 15:00", fire(key, "hold_election", {
            "election_date": TODAY, "entitled": 126, "present": 108, "yes_votes": 104},
            actor=COMMITTEE, comment="社区党员大会选举兼职委员：应到126人，实到108人"))
        s.on("2025-01-17 16:00", tick(key, "pledge_signed", "签订《社区党委兼职委员承诺书》",
                                      actor=COMMITTEE))
        s.on("2025-01-20", fire(key, "take_office", {"term_start": TODAY}, actor=COMMITTEE))
        for day in ("2025-04-15", "2025-07-15", "2025-10-15", "2026-01-15", "2026-04-15",
                    "2026-07-15", "2026-10-15", "2027-01-15", "2027-04-15"):
            s.on(f"{day} 15:00", fire(key, "record_joint_meeting", {"held_on": TODAY},
                                      actor=CASEWORKER))


VOLUNTEER_TEAMS = (
    ("文化宣传", "林秀英", 120), ("环保宣传", "陈建国", 85), ("医疗宣传", "黄丽华", 96),
    ("计生宣传", "郑美玲", 60), ("邻里互助", "王德明", 140), ("治安巡逻", "刘志强", 110),
    ("就业帮扶", "张晓红", 48), ("小小志愿者", "吴静", 75), ("党员志愿者", "徐国平", 92),
)


def volunteer_teams(s: Script) -> None:
    for n, (name, leader, members) in enumerate(VOLUNTEER_TEAMS):
        key, team = f"so:{n}", f"金洲社区{name}志愿服务队"
        s.on(f"2024-11-{25 + n % 5:02d} 10:00", start(key, "self_organization", {
            "name": team, "kind": "volunteering", "leader": leader, "founded_on": TODAY},
            actor=COMMITTEE))
        for item, evidence in (("charter", f"《{team}章程》"),
                               ("venue", "社区党群服务中心志愿者之家"),
                               ("incentive_mechanism", "志愿服务积分兑换和年度表彰办法")):
            s.on(f"2024-12-{2 + n:02d} 10:00", tick(key, item, evidence, actor=COMMITTEE))
        s.on(f"2024-12-{2 + n:02d} 15:00", fire(key, "recognise", {
            "recognised_on": TODAY, "venue": "社区党群服务中心志愿者之家", "members": members},
            actor=COMMITTEE))
        for month in ("2025-02", "2025-05", "2025-08", "2025-11", "2026-02", "2026-05",
                      "2026-08", "2026-11", "2027-02", "2027-05"):
            s.on(f"{month}-{10 + n:02d} 09:30", fire(key, "record_activity", {
                "held_on": TODAY, "title": f"{name}志愿服务活动", "participants": 20},
                actor=CASEWORKER))
        s.on("2025-12-26 15:00", fire(key, "award_incentive", {
            "description": "年度优秀志愿服务队表彰"}, actor=COMMITTEE))
