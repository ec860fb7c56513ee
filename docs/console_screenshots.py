"""Screenshots of the console's desks (zh) for docs/console.md, taken in Debian's Chromium.

    .venv/bin/python docs/console_screenshots.py

Loads the demo community into a temporary SQLite file (the real transitions, two years of
history), makes the demo's people, serves the app on a loopback port and photographs each
page at a desktop and a phone size into docs/console/. Needs /usr/bin/chromium (Debian's
package `chromium`, with `fonts-noto-cjk`).
"""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from console.browser import CHROMIUM, DESKTOP, FLAGS, PHONE  # noqa: E402
from http_api.conftest import LiveServer  # noqa: E402

from api.main import create_app  # noqa: E402
from engine.access.demo import create_demo_people  # noqa: E402
from engine.access.users import UserStore  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.contrib.demo import DEMO_COMMUNITY, DEMO_START, load_demo  # noqa: E402
from engine.core.decision import Actor  # noqa: E402
from engine.service import build_service  # noqa: E402
from engine.settings import Settings  # noqa: E402

OUT = ROOT / "docs" / "console"
PERSON = "demo.secretary"
AUDITOR = "demo.auditor"
DESIGNER = "demo.designer"


def _prepare(data: Path) -> tuple[Settings, FrozenClock, dict[str, str]]:
    settings = Settings(database_url=f"sqlite:///{data / 'demo.db'}", HATCHERY_DATA_DIR=data,
                        HATCHERY_RUN_TIMERS=False)
    clock = FrozenClock(DEMO_START)
    service = build_service(settings, clock)
    load_demo(service, clock, community=DEMO_COMMUNITY)
    people = dict((p.name, password) for p, password in create_demo_people(
        UserStore(service.engine), community=DEMO_COMMUNITY, now=clock.now()))
    _assign_some(service, clock)
    service.engine.dispose()
    return settings, clock, people


def _assign_some(service: Any, clock: FrozenClock) -> None:
    """Give the secretary and the caseworker records of their own, one with a follow-up
    date, so that "my records" shows what a working desk looks like."""
    lead = Actor(PERSON, frozenset({"caseworker", "party_committee"}))
    views, _ = service.list_cases(community_prefix=DEMO_COMMUNITY, status="active", limit=40)
    for n, view in enumerate(views):
        who = PERSON if n % 3 == 0 else "demo.caseworker" if n % 3 == 1 else None
        if who is not None:
            service.assign(view.id, who, actor=lead)
        if who == PERSON and n % 2 == 0:
            service.follow_up(view.id, clock.now().date() + timedelta(days=n % 5),
                              actor=lead)


def _shoot(page: Any, url: str, name: str, *, full: bool = True) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print(f"docs/console/{name}.png")


def _sign_in(page: Any, url: str, name: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(url + "/signin")
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings, clock, passwords = _prepare(Path(tmp))
        app = create_app(settings, clock=clock)
        with LiveServer(app) as server, sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"), executable_path=str(CHROMIUM), headless=True,
                args=FLAGS, viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
            page = context.new_page()
            url = server.url
            _shoot(page, url + "/signin", "signin", full=False)
            _sign_in(page, url, PERSON, passwords[PERSON])
            _shoot(page, url + "/", "queue")
            page.goto(url + "/?view=all&q=" + "科普")
            page.get_by_role("link", name=re.compile("科普")).first.click()
            page.wait_for_load_state()
            case_url = page.url
            _shoot(page, case_url, "case")
            _shoot(page, url + "/cases/new/social_org_incubation", "start")
            _shoot(page, url + "/handover?from=demo.caseworker", "handover")
            page.set_viewport_size(PHONE)
            _shoot(page, url + "/", "queue-phone")
            _shoot(page, case_url, "case-phone")
            page.set_viewport_size(DESKTOP)

            _sign_in(page, url, AUDITOR, passwords[AUDITOR])
            _shoot(page, url + "/audit?workflow=social_org_incubation&step=select", "audit")
            _shoot(page, url + "/audit/stats?workflow=social_org_incubation", "audit-stats")
            page.goto(url + "/audit/integrity")
            page.get_by_role("button", name="开始核验").click()
            page.wait_for_load_state()
            page.screenshot(path=str(OUT / "audit-verify.png"), full_page=True)
            print("docs/console/audit-verify.png")
            _shoot(page, url + "/audit/at?workflow=social_org_incubation&stage=cultivation",
                   "audit-at")
            page.set_viewport_size(PHONE)
            _shoot(page, url + "/audit", "audit-phone")
            page.set_viewport_size(DESKTOP)

            _sign_in(page, url, DESIGNER, passwords[DESIGNER])
            _shoot(page, url + "/design/workflows/social_org_incubation", "design")
            page.goto(url + "/design/editor?from=social_org_incubation")
            editor = page.get_by_label("流程定义（YAML）")
            editor.fill(editor.input_value().replace("to: confirmation", "to: confirmaton", 1))
            page.get_by_role("button", name="检查").click()
            page.wait_for_load_state()
            page.screenshot(path=str(OUT / "design-editor.png"), full_page=False)
            print("docs/console/design-editor.png")
            context.close()
        app.state.db.dispose()


if __name__ == "__main__":
    main()
