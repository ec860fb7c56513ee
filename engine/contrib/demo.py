"""A demo community modelled on Jinzhou (金洲社区, Cangshan, Fuzhou), loaded through the one door.

`load_demo` replays two years of a community's life, from November 2024 to October 2026,
on a `FrozenClock`: every case is started, fired, ticked and linked through `CaseService`
exactly as caseworkers would, and the clock is moved forward between steps with `advance`,
which fires the timers that fall due on the way (notices that end, deadlines marked
overdue, periodic reminders) as `system:timer` through `engine.timers.fire_due`. Nothing
is written to a table directly, so every case's history is a real one: its events, its
hash chain, its automatic transitions (a party organization moves by itself as its
members' cases progress) and its timers.

What the article names (seeds/jinzhou-dual-incubation.zh.txt), and where it is:

- six incubated social organizations (`social_org_incubation`) at different stages:
  上古健康服务中心 graduated after one year; 熠家心理工作室 renewed for a second period;
  乐探机器人工作室 graduated; 青禾社工 in cultivation; 科普工作室 in cultivation with
  one of the "four ones" (its party-building instructor) still missing; 番薯乐园自然科学推广中心
  selected late (its reply deadline was marked overdue) and confirming its agreement;
- the Shanggu centre's party organization (`party_organization`): its members joined, it
  sat in the community's joint "incubator" branch (孵化器支部) with two full members,
  became eligible by itself with the third, applied, was approved by the Jinshan street
  party working committee, elected its secretary, missed one themed party day in its first
  months (found by the monthly check), then kept every meeting on schedule for a year and
  was recognised as having a mechanism; 青禾社工's party organization is in the joint branch;
- the Shanggu branch's people (`member_development`, linked to its case): 6 full members,
  1 probationary member (陈静, developed from her application in December 2024 through the
  five stages) and 2 activists; the full members joined by transfer of their membership
  (组织关系转入), since developing a member takes over two years and the demo covers two;
- co-building agreements (`co_building_agreement`): 金山幼儿园's weekly picture-book reading
  ("阅读进社区，书香飘万家"), and joint building with Fuzhou University and Fujian
  Agriculture and Forestry University, whose psychologists support the psychology studio;
- the "big party committee": 5 part-time members from local units, chosen by three
  recommendations, one election and one commitment (`committee_election`), attending
  quarterly joint meetings;
- the 9 volunteer teams (800+ volunteers), run on the self-organization workflow
  (`self_organization`: charter, venue, incentive mechanism), since neither source gives
  volunteer teams a procedure of their own.

People's names, unit names other than those the article gives, dates and numbers are
illustrative; no contact data is made up. Running the demo twice does not duplicate anything:
`load_demo` first looks for cases in the demo community and, finding some, writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from engine.clock import FrozenClock
from engine.core.decision import Actor
from engine.service.door import CaseService
from engine.timers.calendar import CHINA_TZ
from engine.timers.worker import fire_due

__all__ = ["DEMO_COMMUNITY", "DEMO_END", "DEMO_START", "DemoSummary", "advance", "load_demo",
           "summarise"]

DEMO_COMMUNITY = "fuzhou/cangshan/jinshan/jinzhou"
DEMO_START = datetime(2024, 11, 4, 9, 0, tzinfo=CHINA_TZ)
DEMO_END = datetime(2026, 10, 30, 17, 30, tzinfo=CHINA_TZ)
TIMER_WORKER = "demo:timers"

# Who acts (illustrative people; the roles are those the workflows declare).
COMMITTEE = Actor("chen.hong", frozenset({"party_committee", "higher_committee"}))
"""陈红, member of the Jinzhou community party committee and party-building instructor; the
community party committee is also the higher committee that approves admissions."""
STREET = Actor("liu.jian", frozenset({"street_committee"}))
"""刘建, Jinshan street party working committee (金山街道党工委)."""
INCUBATOR = Actor("xu.li", frozenset({"branch"}))
"""徐丽, secretary of the community's joint "incubator" branch (孵化器支部)."""
SHANGGU = Actor("huang.min", frozenset({"branch"}))
"""黄敏, director of the Shanggu centre and, from April 2025, secretary of its branch."""
CASEWORKER = Actor("wang.fang", frozenset({"caseworker"}))
"""王芳, community social worker who records activities."""


def _moment(when: str) -> datetime:
    """`YYYY-MM-DD` (09:00) or `YYYY-MM-DD HH:MM`, in China Standard Time."""
    day, _, clock = when.partition(" ")
    hour, minute = (int(x) for x in (clock or "09:00").split(":"))
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=CHINA_TZ)


def advance(service: CaseService, clock: FrozenClock, to: datetime, *,
            worker_id: str = TIMER_WORKER) -> int:
    """Move the clock to `to`, firing every timer that falls due on the way, in due order.

    The clock stops at each due time and `engine.timers.fire_due` fires what is due then,
    as a worker polling without pause would. Returns how many timers were handled (fired or
    refused). A timer that fails raises: in a replayed story that is a bug.
    """
    if to < clock.now():
        raise ValueError(f"the clock cannot go back from {clock.now()} to {to}")
    handled = 0
    while True:
        due, _ = service.list_timers(state="pending", due_before=to + timedelta(microseconds=1),
                                     limit=1)
        if not due:
            break
        clock.set(max(due[0].due_at, clock.now()))
        outcomes = fire_due(service, clock, worker_id=worker_id)
        failed = [o for o in outcomes if o.result == "failed"]
        if failed:
            raise RuntimeError(f"timer {failed[0].key} of case {failed[0].case_id} failed: "
                               f"{failed[0].detail}")
        if not outcomes:
            break
        handled += len(outcomes)
    clock.set(to)
    return handled


# ---------------------------------------------------------------------------------------
# The story: steps at given moments, run in time order through the service

Step = Callable[["_Community"], None]


class _Today:
    """Stands for the current date (`YYYY-MM-DD` in China) in a step's values."""


TODAY: Any = _Today()


@dataclass(frozen=True)
class _Ref:
    """Stands for the id of the demo case started under `name`."""

    name: str


class _Community:
    """Runs the steps: names the cases it starts, and fills in today's date and case ids."""

    def __init__(self, service: CaseService, clock: FrozenClock, community: str) -> None:
        self.service = service
        self.clock = clock
        self.community = community
        self.ids: dict[str, str] = {}

    @property
    def today(self) -> str:
        return self.clock.now().astimezone(CHINA_TZ).date().isoformat()

    def values(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        def resolve(value: Any) -> Any:
            if value is TODAY:
                return self.today
            if isinstance(value, _Ref):
                return self.ids[value.name]
            return value

        return {name: resolve(value) for name, value in (given or {}).items()}


def _start(name: str, workflow_id: str, data: Mapping[str, Any], *, actor: Actor,
           comment: str | None = None) -> Step:
    def step(c: _Community) -> None:
        if name in c.ids:
            raise ValueError(f"case name {name!r} used twice in the demo")
        result = c.service.start_case(workflow_id, c.values(data), actor=actor,
                                      community=c.community, comment=comment)
        c.ids[name] = result.case.id

    return step


def _fire(name: str, trigger: str, values: Mapping[str, Any] | None = None, *, actor: Actor,
          comment: str | None = None) -> Step:
    def step(c: _Community) -> None:
        c.service.fire(c.ids[name], trigger, input=c.values(values), actor=actor,
                       comment=comment)

    return step


def _tick(name: str, item: str, evidence: str, *, actor: Actor) -> Step:
    def step(c: _Community) -> None:
        c.service.tick(c.ids[name], item, evidence=evidence, actor=actor)

    return step


def _link(name: str, other: str, relation: str, *, actor: Actor) -> Step:
    def step(c: _Community) -> None:
        c.service.link(c.ids[name], c.ids[other], relation=relation, actor=actor)

    return step


def _together(*steps: Step) -> Step:
    def step(c: _Community) -> None:
        for each in steps:
            each(c)

    return step


@dataclass
class _Script:
    steps: list[tuple[datetime, int, Step]] = field(default_factory=list)

    def on(self, when: str, step: Step) -> None:
        self.steps.append((_moment(when), len(self.steps), step))

    def run(self, community: _Community) -> None:
        for when, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            advance(community.service, community.clock, max(when, community.clock.now()))
            step(community)


# ---------------------------------------------------------------------------------------
# Social organizations


LISTS_CHECKED = "经查询，未列入活动异常名录和严重违法失信名单"


def _incubate(s: _Script, key: str, *, name: str, need: str, applied: str, selected: str,
              signed: str, services: str, sessions: int, effect: str,
              ones: Mapping[str, tuple[str, str]], party_members: int = 0) -> None:
    """An organization brought in, selected, confirmed by agreement and given its ones."""
    s.on(applied, _start(key, "social_org_incubation", {
        "name": name, "residents_need": need, "has_party_organization": False,
        "party_member_count": party_members}, actor=COMMITTEE))
    s.on(selected, _fire(key, "select", {"not_on_abnormal_lists": True}, actor=COMMITTEE,
                         comment=LISTS_CHECKED))
    s.on(signed, _fire(key, "sign_agreement", {
        "services": services, "activity_sessions": sessions, "expected_effect": effect,
        "agreement_date": TODAY}, actor=COMMITTEE))
    for item, (when, evidence) in ones.items():
        s.on(when, _tick(key, item, evidence, actor=COMMITTEE))


def _evaluate(s: _Script, key: str, when: str, result: str) -> None:
    s.on(when, _fire(key, "record_evaluation", {"result": result}, actor=COMMITTEE))


def _final(s: _Script, key: str, when: str, result: str, then: str,
           then_input: Mapping[str, Any] | None = None) -> None:
    s.on(when, _fire(key, "record_final_result", {"result": result}, actor=COMMITTEE))
    s.on(f"{when} 15:00", _fire(key, then, then_input, actor=COMMITTEE))


def _social_organizations(s: _Script) -> None:
    _incubate(
        s, "soi:shanggu", name="上古健康服务中心",
        need="辖区老年人居家养老：上门健康监测、慢病管理和康复护理",
        applied="2024-11-04 09:30", selected="2024-11-06", signed="2024-11-15",
        services="居家养老健康服务：上门健康监测、慢病管理、康复护理、健康讲座",
        sessions=48, effect="辖区居家老人建立健康档案，每月开展健康服务活动，满意度90%以上",
        party_members=2,
        ones={"venue": ("2024-11-18", "社区党群服务中心一楼活动室免费使用"),
              "startup_funds": ("2024-11-18 10:00", "社区拨付启动资金2万元"),
              "party_instructor": ("2024-11-25", "下派党建指导员：社区党委委员陈红"),
              "incubation_plan": ("2024-11-29", "《上古健康服务中心孵化方案》")})
    _evaluate(s, "soi:shanggu", "2025-05-20", "good")
    # The incubation period ends by its timer on 15 November 2025: final evaluation.
    _final(s, "soi:shanggu", "2025-11-20", "passed", "graduate")

    _incubate(
        s, "soi:yijia", name="熠家心理工作室",
        need="家长对孩子教育的需求：青少年自主学习和心理健康",
        applied="2024-12-02", selected="2024-12-04", signed="2025-01-06",
        services="青少年自主学习研究与家长课堂；沙盘游戏心理辅导",
        sessions=24, effect="跟踪辅导青少年自主学习，解决家长在孩子教育中的困惑",
        ones={"venue": ("2025-01-08", "社区党群服务中心二楼沙盘室"),
              "startup_funds": ("2025-01-08 10:00", "社区拨付启动资金1.5万元"),
              "party_instructor": ("2025-01-08 11:00", "下派党建指导员：社区党委委员陈红"),
              "incubation_plan": ("2025-01-10", "《熠家心理工作室孵化方案》")})
    _evaluate(s, "soi:yijia", "2025-07-10", "good")
    _final(s, "soi:yijia", "2026-01-12", "renew", "renew", {"agreement_date": TODAY})
    for item, evidence in (("venue", "续驻：沙盘室继续免费使用"),
                           ("startup_funds", "续驻：第二期经费1万元"),
                           ("party_instructor", "续驻：党建指导员陈红继续联系"),
                           ("incubation_plan", "《熠家心理工作室续驻孵化方案》")):
        s.on("2026-01-16", _tick("soi:yijia", item, evidence, actor=COMMITTEE))
    _evaluate(s, "soi:yijia", "2026-07-20", "good")

    _incubate(
        s, "soi:letan", name="乐探机器人工作室",
        need="青少年课后科技教育",
        applied="2025-03-03", selected="2025-03-05", signed="2025-04-01",
        services="青少年机器人编程与科创课程", sessions=36,
        effect="每学期开设两期机器人编程课，参与青少年不少于60人",
        ones={"venue": ("2025-04-03", "社区青少年活动室"),
              "startup_funds": ("2025-04-03 10:00", "社区拨付启动资金1万元"),
              "party_instructor": ("2025-04-07", "下派党建指导员：社区党委委员徐丽"),
              "incubation_plan": ("2025-04-10", "《乐探机器人工作室孵化方案》")})
    _evaluate(s, "soi:letan", "2025-10-13", "fair")
    _final(s, "soi:letan", "2026-04-08", "passed", "graduate")

    _incubate(
        s, "soi:qinghe", name="青禾社工",
        need="困境家庭帮扶和青少年成长",
        applied="2025-10-13", selected="2025-10-15", signed="2025-11-03",
        services="困境家庭个案帮扶、青少年成长小组、邻里互助活动", sessions=30,
        effect="建立困境家庭档案并定期走访，每季度开展青少年成长小组活动",
        party_members=1,
        ones={"venue": ("2025-11-05", "社区党群服务中心社工室"),
              "startup_funds": ("2025-11-05 10:00", "社区拨付启动资金1.5万元"),
              "party_instructor": ("2025-11-05 11:00", "下派党建指导员：社区党委委员徐丽"),
              "incubation_plan": ("2025-11-12", "《青禾社工孵化方案》")})
    _evaluate(s, "soi:qinghe", "2026-05-08", "good")

    # Still waiting for its party-building instructor: one of the four ones is missing.
    _incubate(
        s, "soi:kepu", name="科普工作室",
        need="社区科普和青少年科学兴趣",
        applied="2026-05-11", selected="2026-05-13", signed="2026-06-01",
        services="社区科普讲座、青少年科学实验课", sessions=20,
        effect="每月一次科普活动，覆盖辖区中小学生",
        ones={"venue": ("2026-06-03", "社区图书馆分馆多功能厅"),
              "startup_funds": ("2026-06-03 10:00", "社区拨付启动资金8000元"),
              "incubation_plan": ("2026-06-10", "《科普工作室孵化方案》")})

    # Applied in October 2026; the reply deadline passes before the committee selects it.
    s.on("2026-10-19", _start("soi:fanshu", "social_org_incubation", {
        "name": "番薯乐园自然科学推广中心", "residents_need": "儿童自然教育和亲子科普",
        "has_party_organization": False, "party_member_count": 0}, actor=COMMITTEE))
    s.on("2026-10-28", _fire("soi:fanshu", "select", {"not_on_abnormal_lists": True},
                             actor=COMMITTEE, comment=f"{LISTS_CHECKED}；核查耗时，答复逾期"))


# ---------------------------------------------------------------------------------------
# Party organizations and their people


def _person(name: str, born: str, unit: str, org: str) -> dict[str, Any]:
    return {"name": name, "birth_date": born, "application_date": TODAY, "unit": unit,
            "party_organization": _Ref(org)}


def _transfer_in(s: _Script, when: str, key: str, *, name: str, born: str, unit: str,
                 org: str, letter: str, since: str, branch: Actor) -> None:
    """A full member who joined elsewhere: recorded, linked, transferred in, archived."""
    s.on(when, _together(
        _start(key, "member_development", _person(name, born, unit, org), actor=branch,
               comment="正式党员组织关系转入"),
        _link(key, org, "party_organization", actor=branch),
        _fire(key, "transfer_in_full_member", {"transfer_letter": letter,
                                               "full_member_since": since},
              actor=COMMITTEE)))
    s.on(f"{when} 16:00", _tick(key, "records_archived", "档案已接收", actor=branch))


def _apply(s: _Script, when: str, key: str, *, name: str, born: str, unit: str, org: str,
           branch: Actor) -> None:
    s.on(when, _together(
        _start(key, "member_development", _person(name, born, unit, org), actor=branch),
        _link(key, org, "party_organization", actor=branch)))


def _become_activist(s: _Script, key: str, *, talk: str, decided: str, branch: Actor,
                     mentors: tuple[str, str]) -> None:
    """Talk, nomination and notice (ended by its timer), decision, filing."""
    s.on(talk, _fire(key, "record_talk", {"talk_date": TODAY}, actor=branch))
    s.on(f"{talk} 10:00", _fire(key, "recommend_activist", {"method": "party_members"},
                                actor=branch))
    s.on(decided, _fire(key, "decide_activist", {"decision_date": TODAY,
                                                 "mentors": list(mentors)}, actor=branch))
    s.on(f"{decided} 15:00", _tick(key, "activist_filed", "报金洲社区党委备案", actor=branch))


def _assess(s: _Script, key: str, when: str, branch: Actor) -> None:
    s.on(when, _fire(key, "record_assessment", {"assessed_on": TODAY, "result": "good"},
                     actor=branch))


def _shanggu_party(s: _Script) -> None:
    org = "po:shanggu"
    s.on("2024-11-18 14:00", _together(
        _start(org, "party_organization", {"name": "上古健康服务中心",
                                           "social_organization": _Ref("soi:shanggu")},
               actor=COMMITTEE),
        _link(org, "soi:shanggu", "social_organization", actor=COMMITTEE)))

    # No party organization of its own: two full members, so a joint branch.
    _transfer_in(s, "2024-11-20", "md:huangmin", name="黄敏", born="1978-03-12",
                 unit="上古健康服务中心 主任", org=org, letter="闽仓组转〔2024〕118号",
                 since="2006-07-01", branch=INCUBATOR)
    _transfer_in(s, "2024-12-02", "md:guoqiang", name="郭强", born="1985-09-30",
                 unit="上古健康服务中心 康复治疗师", org=org,
                 letter="闽仓组转〔2024〕126号", since="2011-06-20", branch=INCUBATOR)
    s.on("2024-12-05", _fire(org, "join_joint_branch", {
        "joint_branch_name": "金洲社区非公企业和社会组织“孵化器”党支部", "units_before": 2},
        actor=COMMITTEE))
    s.on("2024-12-05 10:00", _tick(org, "instructor_assigned",
                                   "下派党建指导员：社区党委委员陈红", actor=COMMITTEE))

    # 陈静 applies in the joint branch and is developed through the five stages.
    person = "md:chenjing"
    _apply(s, "2024-12-09", person, name="陈静", born="1994-05-18",
           unit="上古健康服务中心 护理部主管", org=org, branch=INCUBATOR)
    _become_activist(s, person, talk="2024-12-16", decided="2024-12-26", branch=INCUBATOR,
                     mentors=("黄敏", "郭强"))

    # The third full member: the organization is eligible by itself, applies, is approved.
    _transfer_in(s, "2025-03-03", "md:linxiao", name="林晓", born="1982-11-02",
                 unit="上古健康服务中心 护士长", org=org,
                 letter="闽仓组转〔2025〕021号", since="2008-05-04", branch=INCUBATOR)
    s.on("2025-03-10", _fire(org, "apply_for_branch", {"application_date": TODAY},
                             actor=COMMITTEE))
    s.on("2025-03-28", _fire(org, "approve_branch", {
        "approved_on": TODAY, "approval_reference": "金街工委〔2025〕9号",
        "branch_name": "中共福州市仓山区上古健康服务中心支部委员会"}, actor=STREET,
        comment="经仓山区委组织部同意"))
    s.on("2025-04-08 15:00", _fire(org, "elect_branch", {
        "election_date": TODAY, "secretary": "黄敏", "committee_size": 0,
        "has_groups": False}, actor=SHANGGU, comment="支部党员大会：应到3人，实到3人"))
    s.on("2025-04-10", _tick(org, "election_filed", "选举结果报金山街道党工委备案",
                             actor=COMMITTEE))
    s.on("2025-04-10 10:00", _tick(org, "shared_venue", "共享社区党群服务中心党员活动室",
                                   actor=COMMITTEE))

    # Organizational life. The first themed party day is missed (May 2025): the monthly
    # check of 8 June finds it; from then on every meeting is held on schedule.
    def meeting(when: str, kind: str) -> None:
        s.on(when, _fire(org, "record_meeting", {"kind": kind, "held_on": TODAY},
                         actor=SHANGGU))

    for month in _months("2025-06", "2026-10"):
        meeting(f"{month}-10 14:00", "themed_party_day")
    for day in ("2025-07-04", "2025-10-10", "2026-01-09", "2026-04-10", "2026-07-10",
                "2026-10-09"):
        meeting(f"{day} 15:00", "general_meeting")
        meeting(f"{day} 16:00", "party_lecture")
    meeting("2026-01-23 15:00", "life_meeting")
    s.on("2026-06-15", _fire(org, "recognise_mechanism", actor=COMMITTEE,
                             comment="自2025年6月起各项组织生活按期开展满一年"))

    # More full members join the branch; 陈静 becomes a development target and is admitted.
    _transfer_in(s, "2025-06-16", "md:wanglei", name="王磊", born="1987-02-14",
                 unit="上古健康服务中心 全科医生", org=org,
                 letter="闽仓组转〔2025〕077号", since="2012-07-01", branch=SHANGGU)
    _assess(s, person, "2025-06-20", INCUBATOR)
    _transfer_in(s, "2025-09-15", "md:zhangli", name="张丽", born="1990-08-08",
                 unit="上古健康服务中心 社工", org=org,
                 letter="闽仓组转〔2025〕132号", since="2014-06-30", branch=SHANGGU)
    _assess(s, person, "2025-12-12", SHANGGU)
    s.on("2025-12-29", _fire(person, "propose_development_target", actor=SHANGGU))
    s.on("2026-01-09 10:00", _fire(person, "decide_development_target", {
        "decision_date": TODAY, "sponsors": ["黄敏", "林晓"],
        "sponsors_are_full_members": True}, actor=SHANGGU))
    s.on("2026-01-09 11:00", _tick(person, "target_filed", "报金洲社区党委备案",
                                   actor=SHANGGU))
    s.on("2026-01-20", _tick(person, "political_review", "政治审查报告：政治审查合格",
                             actor=SHANGGU))
    _transfer_in(s, "2026-02-02", "md:liuyang", name="刘洋", born="1988-12-01",
                 unit="上古健康服务中心 药剂师", org=org,
                 letter="闽仓组转〔2026〕015号", since="2013-07-01", branch=SHANGGU)
    s.on("2026-03-20", _fire(person, "record_training", {"days": 3, "hours": 24},
                             actor=COMMITTEE, comment="金山街道党工委发展对象培训班"))
    s.on("2026-03-23", _fire(person, "submit_for_review", actor=SHANGGU))
    s.on("2026-03-24", _fire(person, "pass_branch_review", actor=SHANGGU))
    s.on("2026-03-27", _fire(person, "pass_pre_review", actor=COMMITTEE))
    s.on("2026-04-08", _tick(person, "application_form_completed", "入党志愿书已填写",
                             actor=SHANGGU))
    s.on("2026-04-10 15:30", _fire(person, "hold_admission_vote", {
        "meeting_date": TODAY, "entitled": 6, "present": 6, "yes_votes": 6}, actor=SHANGGU))
    s.on("2026-04-20", _fire(person, "complete_interview", actor=COMMITTEE))
    s.on("2026-05-08", _fire(person, "approve_admission", {"approved_on": TODAY},
                             actor=COMMITTEE))
    s.on("2026-05-12", _tick(person, "admission_filed", "报仓山区委组织部备案",
                             actor=SHANGGU))
    s.on("2026-05-12 10:00", _tick(person, "assigned_to_group", "编入上古健康服务中心支部",
                                   actor=SHANGGU))
    s.on("2026-07-01 10:00", _tick(person, "oath_taken", "七一入党宣誓", actor=SHANGGU))
    _assess(s, person, "2026-10-15", SHANGGU)

    # Two activists.
    _apply(s, "2025-09-01", "md:wufang", name="吴芳", born="1996-01-20",
           unit="上古健康服务中心 护士", org=org, branch=SHANGGU)
    _become_activist(s, "md:wufang", talk="2025-09-10", decided="2025-09-24", branch=SHANGGU,
                     mentors=("林晓", "王磊"))
    _assess(s, "md:wufang", "2026-03-16", SHANGGU)
    _assess(s, "md:wufang", "2026-09-14", SHANGGU)
    _apply(s, "2026-03-02", "md:zhengkai", name="郑凯", born="1999-07-07",
           unit="上古健康服务中心 康复治疗师", org=org, branch=SHANGGU)
    _become_activist(s, "md:zhengkai", talk="2026-03-20", decided="2026-04-01",
                     branch=SHANGGU, mentors=("郭强", "张丽"))
    _assess(s, "md:zhengkai", "2026-09-25", SHANGGU)


def _qinghe_party(s: _Script) -> None:
    org = "po:qinghe"
    s.on("2025-11-10", _together(
        _start(org, "party_organization", {"name": "青禾社工",
                                           "social_organization": _Ref("soi:qinghe")},
               actor=COMMITTEE),
        _link(org, "soi:qinghe", "social_organization", actor=COMMITTEE)))
    _transfer_in(s, "2025-11-17", "md:zhaolei", name="赵磊", born="1991-04-03",
                 unit="青禾社工 项目主管", org=org, letter="闽仓组转〔2025〕168号",
                 since="2015-07-01", branch=INCUBATOR)
    s.on("2025-11-24", _fire(org, "join_joint_branch", {
        "joint_branch_name": "金洲社区非公企业和社会组织“孵化器”党支部", "units_before": 2},
        actor=COMMITTEE))
    s.on("2025-11-24 10:00", _tick(org, "instructor_assigned",
                                   "下派党建指导员：社区党委委员徐丽", actor=COMMITTEE))


# ---------------------------------------------------------------------------------------
# Co-building units, the big party committee, volunteer teams


JOINT_TERMS = ("organization_building", "joint_activities", "shared_resources",
               "member_management")


def _agreement(s: _Script, key: str, *, unit: str, party_org: str, scope: str,
               proposed: str, terms: str, signed: str, planned: int,
               evidence: tuple[str, str, str, str], activities: list[tuple[str, str]],
               reviewed: str) -> None:
    s.on(proposed, _start(key, "co_building_agreement", {
        "unit_name": unit, "unit_party_organization": party_org, "scope": scope},
        actor=COMMITTEE))
    s.on(terms, _fire(key, "draft_terms", actor=COMMITTEE))
    for item, text in zip(JOINT_TERMS, evidence, strict=True):
        s.on(f"{terms} 15:00", _tick(key, item, text, actor=COMMITTEE))
    s.on(signed, _fire(key, "sign", {"signed_on": TODAY, "planned_activities": planned},
                       actor=COMMITTEE))
    for when, title in activities:
        s.on(when, _fire(key, "record_activity", {"held_on": TODAY, "title": title},
                         actor=CASEWORKER))
    # The annual review falls due by its timer, one year after signing.
    s.on(reviewed, _fire(key, "record_annual_review", {
        "result": "effective", "summary": "按协议开展联建活动，居民反映良好"},
        actor=COMMITTEE))


def _school_saturdays(first: str, last: str) -> list[str]:
    """Saturdays from `first` to `last` outside the winter and summer school holidays."""
    breaks = [("2025-01-18", "2025-02-16"), ("2025-07-05", "2025-08-31"),
              ("2026-01-24", "2026-03-01"), ("2026-07-04", "2026-08-31")]
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    day += timedelta(days=(5 - day.weekday()) % 7)
    found = []
    while day <= end:
        text = day.isoformat()
        if not any(a <= text <= b for a, b in breaks):
            found.append(text)
        day += timedelta(days=7)
    return found


def _co_building(s: _Script) -> None:
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


def _big_party_committee(s: _Script) -> None:
    for key, candidate, unit, agreement in PART_TIME_MEMBERS:
        data: dict[str, Any] = {"candidate_name": candidate, "unit_name": unit,
                                "position": "党支部书记"}
        if agreement is not None:
            data["co_building"] = _Ref(agreement)
        s.on("2025-01-06", _start(key, "committee_election", data, actor=COMMITTEE))
        for n, source in enumerate(SOURCES):
            s.on(f"2025-01-{7 + n:02d}", _fire(key, "record_recommendation", {
                "source": source, "recommended_on": TODAY}, actor=COMMITTEE))
        s.on("2025-01-13", _fire(key, "submit_candidate", actor=COMMITTEE))
        s.on("2025-01-15", _fire(key, "approve_candidate", actor=STREET))
        s.on("2025-01-17 15:00", _fire(key, "hold_election", {
            "election_date": TODAY, "entitled": 126, "present": 108, "yes_votes": 104},
            actor=COMMITTEE, comment="社区党员大会选举兼职委员"))
        s.on("2025-01-17 16:00", _tick(key, "pledge_signed",
                                       "签订《社区党委兼职委员履职承诺书》", actor=COMMITTEE))
        s.on("2025-01-20", _fire(key, "take_office", {"term_start": TODAY}, actor=COMMITTEE))
        for day in ("2025-04-15", "2025-07-15", "2025-10-15", "2026-01-15", "2026-04-15",
                    "2026-07-15", "2026-10-15"):
            s.on(f"{day} 15:00", _fire(key, "record_joint_meeting", {"held_on": TODAY},
                                       actor=CASEWORKER))


VOLUNTEER_TEAMS = (
    ("文化宣传", "林秀英", 120), ("环保宣传", "陈建国", 85), ("医疗宣传", "黄丽华", 96),
    ("计生宣传", "郑美玲", 60), ("邻里互助", "王德明", 140), ("治安巡逻", "刘志强", 110),
    ("就业帮扶", "张晓红", 48), ("小小志愿者", "吴静", 75), ("党员志愿者", "徐国平", 92),
)


def _volunteer_teams(s: _Script) -> None:
    for n, (name, leader, members) in enumerate(VOLUNTEER_TEAMS):
        key, team = f"so:{n}", f"金洲社区{name}志愿服务队"
        s.on(f"2024-11-{25 + n % 5:02d} 10:00", _start(key, "self_organization", {
            "name": team, "kind": "volunteering", "leader": leader}, actor=COMMITTEE))
        for item, evidence in (("charter", f"《{team}章程》"),
                               ("venue", "社区党群服务中心志愿者之家"),
                               ("incentive_mechanism", "志愿服务积分兑换和年度表彰办法")):
            s.on(f"2024-12-{2 + n:02d} 10:00", _tick(key, item, evidence, actor=COMMITTEE))
        s.on(f"2024-12-{2 + n:02d} 15:00", _fire(key, "recognise", {
            "recognised_on": TODAY, "venue": "社区党群服务中心志愿者之家", "members": members},
            actor=COMMITTEE))
        for month in ("2025-02", "2025-05", "2025-08", "2025-11", "2026-02", "2026-05",
                      "2026-08"):
            s.on(f"{month}-{10 + n:02d} 09:30", _fire(key, "record_activity", {
                "held_on": TODAY, "title": f"{name}志愿服务活动", "participants": 20},
                actor=CASEWORKER))
        s.on("2025-12-26 15:00", _fire(key, "award_incentive", {
            "description": "年度优秀志愿服务队表彰"}, actor=COMMITTEE))


def _months(first: str, last: str) -> list[str]:
    """`YYYY-MM` from `first` to `last` inclusive."""
    year, month = (int(x) for x in first.split("-"))
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def _script() -> _Script:
    s = _Script()
    _social_organizations(s)
    _shanggu_party(s)
    _qinghe_party(s)
    _co_building(s)
    _big_party_committee(s)
    _volunteer_teams(s)
    return s


# ---------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class DemoSummary:
    """What the demo community holds: `loaded` is False when it was found already there."""

    community: str
    loaded: bool
    cases: int
    events: int
    by_workflow: dict[str, int]
    by_state: dict[str, dict[str, int]]


def summarise(service: CaseService, community: str, *, loaded: bool) -> DemoSummary:
    """Count the cases and events of `community` (and the communities under it)."""
    cases = events = 0
    by_workflow: dict[str, int] = {}
    by_state: dict[str, dict[str, int]] = {}
    cursor: str | None = None
    while True:
        page, cursor = service.list_cases(community_prefix=community, order="updated",
                                          limit=500, cursor=cursor)
        for case in page:
            cases += 1
            events += case.event_count
            by_workflow[case.workflow_id] = by_workflow.get(case.workflow_id, 0) + 1
            states = by_state.setdefault(case.workflow_id, {})
            states[case.state] = states.get(case.state, 0) + 1
        if cursor is None:
            break
    return DemoSummary(community, loaded, cases, events, dict(sorted(by_workflow.items())),
                       {k: dict(sorted(v.items())) for k, v in sorted(by_state.items())})


def load_demo(service: CaseService, clock: FrozenClock, *,
              community: str = DEMO_COMMUNITY) -> DemoSummary:
    """Replay the demo community's two years through `service`, on `clock`.

    `clock` must be the service's clock; it is set to `DEMO_START` and left at `DEMO_END`.
    If `community` already holds cases, nothing is written and they are summarised.
    """
    existing, _ = service.list_cases(community_prefix=community, limit=1)
    if existing:
        return summarise(service, community, loaded=False)
    clock.set(DEMO_START)
    _script().run(_Community(service, clock, community))
    advance(service, clock, DEMO_END)
    return summarise(service, community, loaded=True)
