"""Signing in to the console as an MLPS level 2 assessment checks it: names and passwords,
a forced change of the first password, slowed and locked repeated failures, idle sessions
ended, signing out ending the session on the server, every attempt recorded with its
address, CSRF tokens on every changing form."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from console.conftest import PASSWORD, Console, form_tokens, sign_in
from engine.store.operations import list_operations


def _log(console: Console, actor: str, action: str) -> list[object]:
    found, _ = list_operations(console.app.state.service.engine, actor=actor, action=action,
                               limit=100)
    return list(found)


def test_a_person_signs_in_with_name_and_password(console: Console, http: httpx.Client
                                                  ) -> None:
    name = console.person()
    response = sign_in(http, name, PASSWORD, next_path="/cases/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/cases/new"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert http.get("/").status_code == 200


def test_pages_send_a_person_who_has_not_signed_in_to_sign_in(http: httpx.Client) -> None:
    response = http.get("/cases/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/cases/new"


def test_a_redirect_after_sign_in_stays_on_this_site(console: Console,
                                                     http: httpx.Client) -> None:
    response = sign_in(http, console.person(), PASSWORD, next_path="//evil.example/")
    assert response.headers["location"] == "/"


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
        console: Console, http: httpx.Client) -> None:
    wrong = sign_in(http, console.person(), "Not-the-password-1")
    unknown = sign_in(http, "nobody.here", "Not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text


def test_the_first_password_must_be_changed_before_anything_else(
        console: Console, http: httpx.Client) -> None:
    name = console.person(ready=False)
    assert sign_in(http, name, PASSWORD).headers["location"] == "/account/password"
    assert http.get("/").headers["location"] == "/account/password"
    page = http.get("/account/password")
    assert "首次登录" in page.text
    changed = http.post("/account/password", data={
        **form_tokens(page.text), "current": PASSWORD, "new": "Another-pass-2026",
        "repeat": "Another-pass-2026"})
    assert changed.status_code == 303
    assert http.get("/").status_code == 200


def test_a_new_password_must_meet_the_policy(console: Console) -> None:
    client = console.signed_in(console.person())
    page = client.get("/account/password")
    refused = client.post("/account/password", data={
        **form_tokens(page.text), "current": PASSWORD, "new": "shortpw", "repeat": "shortpw"})
    assert refused.status_code == 422
    assert "至少需要 10 个字符" in refused.text
    assert 'href="#field-new"' in refused.text  # the error summary links to the field


def test_repeated_failures_are_slowed_down(console: Console, http: httpx.Client) -> None:
    name = console.person()
    for _ in range(3):
        assert sign_in(http, name, "Wrong-password-1").status_code == 401
    slowed = sign_in(http, name, PASSWORD)
    assert slowed.status_code == 429
    assert "秒后再试" in slowed.text
    console.clock.advance(timedelta(seconds=2))
    assert sign_in(http, name, PASSWORD).status_code == 303


def test_an_account_locks_after_five_failures_until_the_lock_ends(
        console: Console, http: httpx.Client) -> None:
    name = console.person()
    for _ in range(5):
        sign_in(http, name, "Wrong-password-1")
        console.clock.advance(timedelta(seconds=10))
    locked = sign_in(http, name, PASSWORD)
    assert locked.status_code == 423
    assert "已锁定" in locked.text
    console.clock.advance(timedelta(minutes=31))
    assert sign_in(http, name, PASSWORD).status_code == 303


def test_every_sign_in_attempt_is_recorded_with_its_address(
        console: Console, http: httpx.Client) -> None:
    name = console.person()
    sign_in(http, name, "Wrong-password-1")
    console.clock.advance(timedelta(seconds=1))
    sign_in(http, name, PASSWORD)
    entries = _log(console, name, "sign_in")
    outcomes = [(e.outcome, e.target) for e in entries]  # type: ignore[attr-defined]
    assert ("refused", "127.0.0.1") in outcomes and ("done", "127.0.0.1") in outcomes


def test_signing_out_ends_the_session_on_the_server(console: Console) -> None:
    name = console.person()
    client = console.signed_in(name)
    cookie = client.cookies.get("hatchery_session")
    page = client.get("/")
    assert client.post("/signout", data=form_tokens(page.text)).status_code == 303
    with console.client() as replay:
        replay.cookies.set("hatchery_session", cookie or "")
        assert replay.get("/").status_code == 303  # the old cookie no longer works
    assert [e.target for e in _log(console, name, "sign_out")] == ["127.0.0.1"]  # type: ignore[attr-defined]


def test_an_idle_session_ends(console: Console) -> None:
    name = console.person()
    client = console.signed_in(name)
    console.clock.advance(timedelta(minutes=31))
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"].endswith("expired=1")
    assert any(e.detail == {"reason": "idle"}  # type: ignore[attr-defined]
               for e in _log(console, name, "sign_out"))


def test_a_changing_form_without_its_csrf_token_is_refused(console: Console) -> None:
    client = console.signed_in(console.person())
    missing = client.post("/signout", data={})
    forged = client.post("/signout", data={"csrf": "forged"})
    assert missing.status_code == forged.status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_the_sign_in_form_needs_its_own_token(console: Console, http: httpx.Client) -> None:
    response = http.post("/signin", data={"name": console.person(), "password": PASSWORD})
    assert response.status_code == 403


def test_a_disabled_person_is_signed_out_at_once(console: Console) -> None:
    name = console.person()
    client = console.signed_in(name)
    console.users.disable(name, now=console.clock.now())
    assert client.get("/").status_code == 303
    assert sign_in(client, name, PASSWORD).status_code == 403


def test_every_page_carries_the_security_headers(console: Console, http: httpx.Client
                                                 ) -> None:
    for response in (http.get("/signin"), console.signed_in(console.person()).get("/")):
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "<script>" not in response.text


def test_the_language_switch_returns_to_the_same_page_in_english(console: Console) -> None:
    client = console.signed_in(console.person())
    page = client.get("/", params={"q": "书画"})
    switch = re.search(r'class="lang-switch" href="([^"]+)"', page.text)
    assert switch is not None
    back = client.get(switch.group(1).replace("&amp;", "&"))
    assert back.status_code == 303 and back.headers["location"] == "/?q=%E4%B9%A6%E7%94%BB"
    english = client.get(back.headers["location"])
    assert "Work queue" in english.text and 'lang="en"' in english.text
