"""Signing in and out, changing one's password, and the language switch.

Sign-in answers with the status that says what happened (401 wrong name or password, 429
slowed down, 423 locked, 403 disabled), and the same words whether the name exists or not.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import (
    PASSWORD_PATH,
    SIGNIN_COOKIE,
    CheckedForm,
    CurrentDesk,
    accounts,
    client_address,
    end_session,
    local_path,
    set_cookie,
    signin_token,
    signin_token_valid,
    start_session,
)
from api.console.forms import FormField
from api.console.i18n import LANG_COOKIE, LANGS, text
from api.console.templating import render
from engine.access.passwords import MIN_CLASSES, MIN_LENGTH
from engine.access.users import PasswordRefused, SignInRefused

router = APIRouter(include_in_schema=False)

REFUSAL_STATUS = {"failed": 401, "slowed": 429, "locked": 423, "disabled": 403}


def _signin_fields(lang: str, name: str = "") -> list[FormField]:
    return [FormField("name", text("signin.name", lang), value=name, required=True,
                      autocomplete="username"),
            FormField("password", text("signin.password", lang), widget="password",
                      required=True, autocomplete="current-password")]


def _signin_page(request: Request, *, name: str = "", next_path: str = "/",
                 errors: dict[str, str] | None = None, status: int = 200,
                 notice: str | None = None) -> Response:
    lang = str(request.state.lang)
    token, cookie = signin_token(request)
    page = render(request, "signin.html", {
        "fields": _signin_fields(lang, name), "errors": errors or {}, "next_path": next_path,
        "notice": notice, "signin_token": token}, status=status)
    set_cookie(request, page, SIGNIN_COOKIE, cookie)
    return page


@router.get("/signin")
def signin_form(request: Request, next: str | None = None, expired: str | None = None,
                out: str | None = None) -> Response:
    lang = str(request.state.lang)
    notice = (text("signin.expired", lang) if expired else
              text("signin.signed_out", lang) if out else None)
    return _signin_page(request, next_path=local_path(next), notice=notice)


@router.post("/signin")
async def signin(request: Request, name: Annotated[str, Form(max_length=200)] = "",
                 password: Annotated[str, Form(max_length=200)] = "",
                 signin_token: Annotated[str, Form(max_length=200)] = "",
                 next: Annotated[str, Form(max_length=600)] = "/") -> Response:
    lang = str(request.state.lang)
    next_path = local_path(next)
    if not signin_token_valid(request, signin_token):
        return _signin_page(request, name=name, next_path=next_path, status=403,
                            errors={"name": text("form.csrf", lang)})
    errors = {}
    if not name.strip():
        errors["name"] = text("form.required", lang, field=text("signin.name", lang))
    if not password:
        errors["password"] = text("form.required", lang, field=text("signin.password", lang))
    if errors:
        return _signin_page(request, name=name, next_path=next_path, errors=errors,
                            status=422)
    found = accounts(request)
    try:
        user, token = await run_in_threadpool(
            found.users.sign_in, name.strip(), password, address=client_address(request),
            now=found.clock.now())
    except SignInRefused as refused:
        return _signin_page(request, name=name, next_path=next_path,
                            errors={"name": _refusal_text(refused, lang)},
                            status=REFUSAL_STATUS[refused.reason])
    target = PASSWORD_PATH if user.must_change_password else next_path
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, token)
    return response


def _refusal_text(refused: SignInRefused, lang: str) -> str:
    seconds = max(int(refused.wait.total_seconds() + 0.999), 1)
    if refused.reason == "locked":
        return text("signin.locked", lang, minutes=max(seconds // 60, 1))
    if refused.reason == "slowed":
        return text("signin.slowed", lang, seconds=seconds)
    if refused.reason == "disabled":
        return text("signin.disabled", lang)
    return text("signin.failed", lang)


@router.post("/signout")
def signout(request: Request, form: CheckedForm) -> Response:
    response = RedirectResponse("/signin?out=1", status_code=303)
    end_session(request, response)
    return response


def _password_fields(lang: str) -> list[FormField]:
    hint = text("password.hint", lang, length=MIN_LENGTH, classes=MIN_CLASSES)
    return [FormField("current", text("password.current", lang), widget="password",
                      required=True, autocomplete="current-password"),
            FormField("new", text("password.new", lang), widget="password", required=True,
                      hint=hint, autocomplete="new-password"),
            FormField("repeat", text("password.repeat", lang), widget="password",
                      required=True, autocomplete="new-password")]


@router.get(PASSWORD_PATH)
def password_form(request: Request, desk: CurrentDesk) -> Response:
    return render(request, "password.html", {"fields": _password_fields(desk.lang),
                                             "errors": {}})


@router.post(PASSWORD_PATH)
def change_password(request: Request, desk: CurrentDesk, form: CheckedForm) -> Response:
    lang = desk.lang
    current, new, repeat = (str(form.get(k) or "") for k in ("current", "new", "repeat"))
    errors: dict[str, str] = {}
    if new != repeat:
        errors["repeat"] = text("password.mismatch", lang)
    else:
        found = accounts(request)
        try:
            found.users.change_password(desk.session.user_id, current, new,
                                        now=found.clock.now(),
                                        address=client_address(request))
        except PasswordRefused as refused:
            for problem in refused.problems:
                key = "current" if problem.code == "wrong_current" else "new"
                errors.setdefault(key, problem.message(lang))
    if errors:
        return render(request, "password.html", {"fields": _password_fields(lang),
                                                 "errors": errors}, status=422)
    return RedirectResponse("/?changed=password", status_code=303)


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    """Remember the person's language (a cookie) and go back to the page they were on."""
    response = RedirectResponse(local_path(next), status_code=303)
    if code in LANGS:
        set_cookie(request, response, LANG_COOKIE, code)
    return response
