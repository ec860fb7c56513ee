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
from engine.service.door import build_service  # noqa: E402
from engine.settings import Settings  # noqa: E402

OUT = ROOT / "docs" / "console"
PERSON = "demo.secretary"


def _prepare(data: Path) -> tuple[Settings, FrozenClock, str]:
    settings = Settings(database_url=f"sqlite:///{data / 'demo.db'}", HATCHERY_DATA_DIR=data,
                        HATCHERY_RUN_TIMERS=False)
    clock = FrozenClock(DEMO_START)
    service = build_service(settings, clock)
    load_demo(service, clock, community=DEMO_COMMUNITY)
    people = dict((p.name, password) for p, password in create_demo_people(
        UserStore(service.engine), community=DEMO_COMMUNITY, now=clock.now()))
    service.engine.dispose()
    return settings, clock, people[PERSON]


def _shoot(page: Any, url: str, name: str, *, full: bool = True) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print(f"docs/console/{name}.png")


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings, clock, password = _prepare(Path(tmp))
        app = create_app(settings, clock=clock)
        with LiveServer(app) as server, sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"), executable_path=str(CHROMIUM), headless=True,
                args=FLAGS, viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
            page = context.new_page()
            _shoot(page, server.url + "/signin", "signin", full=False)
            page.get_by_label("用户名").fill(PERSON)
            page.get_by_label("密码").fill(password)
            page.get_by_role("button", name="登录").click()
            page.wait_for_load_state()
            _shoot(page, server.url + "/", "queue")
            page.goto(server.url + "/?q=" + "科普")
            page.get_by_role("link", name=re.compile("科普")).first.click()
            page.wait_for_load_state()
            case_url = page.url
            _shoot(page, case_url, "case")
            _shoot(page, server.url + "/cases/new/social_org_incubation", "start")
            page.set_viewport_size(PHONE)
            _shoot(page, server.url + "/", "queue-phone")
            _shoot(page, case_url, "case-phone")
            context.close()
        app.state.db.dispose()


if __name__ == "__main__":
    main()
