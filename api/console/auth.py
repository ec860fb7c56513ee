"""Who is at the desk: the signed session cookie, the CSRF token of changing forms, and the
redirects that send a person to sign in or to change a first password.

The cookie (`hatchery_session`) is HttpOnly, SameSite=Lax, Secure when served over HTTPS,
and holds `random id . HMAC` signed with the installation's secret; the session itself is
on the server (`engine.access.sessions`). Every form that changes something carries the
session's CSRF token in a hidden `csrf` field and is refused without it. The sign-in form,
before any session exists, carries a token that must match a signed cookie of its own
(double submit), so that no other site can sign a person in as someone else.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.access.principals import Principal
from engine.access.sessions import SessionInfo, SessionStore, load_secret, sign, unsign
from engine.access.users import UserStore
from engine.clock import Clock
from engine.observability import ATTEMPT
from engine.settings import Settings

SESSION_COOKIE = "hatchery_session"
SIGNIN_COOKIE = "hatchery_signin"
CSRF_FIELD = "csrf"
PASSWORD_PATH = "/account/password"


class SignInRequired(Exception):
    """No live session: the person is sent to sign in, and back afterwards."""

    def __init__(self, next_path: str, expired: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class PasswordChangeRequired(Exception):
    """The person signed in with a first (or reset) password that must be changed first."""


class CsrfRefused(Exception):
    """A changing form came without the session's CSRF token (or with another one)."""


@dataclass
class Accounts:
    """The stores and secret the console's sign-in needs, made once per app."""

    users: UserStore
    sessions: SessionStore
    secret: bytes
    clock: Clock


@dataclass(frozen=True)
class Desk:
    """The signed-in person of one request, as the templates and routes see them."""

    session: SessionInfo
    lang: str

    @property
    def principal(self) -> Principal:
        return self.session.principal

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def display_name(self) -> str:
        return self.session.display_name


def accounts(request: Request) -> Accounts:
    """The app's accounts (built at the first request: the service exists only then)."""
    state = request.app.state
    found: Accounts | None = getattr(state, "console_accounts", None)
    if found is None:
        settings: Settings = state.console_settings
        service = state.service
        found = Accounts(
            UserStore(service.engine),
            SessionStore(service.engine,
                         idle=timedelta(minutes=settings.session_idle_minutes)),
            load_secret(settings.session_secret, settings.data_dir), service.clock)
        state.console_accounts = found
    return found


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def local_path(candidate: str | None, default: str = "/") -> str:
    """A redirect target on this site only (no `//host`, no scheme)."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//") \
            or "\\" in candidate or len(candidate) > 500:
        return default
    return candidate


def session_of(request: Request) -> SessionInfo | None:
    """The live session of the request's cookie, if any."""
    signed = request.cookies.get(SESSION_COOKIE)
    if not signed:
        return None
    found = accounts(request)
    token = unsign(signed, found.secret)
    if token is None:
        return None
    return found.sessions.lookup(token, now=found.clock.now())


def current_desk(request: Request) -> Desk:
    """The signed-in person; otherwise sign in first (and change a first password)."""
    session = session_of(request)
    if session is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(here, expired=SESSION_COOKIE in request.cookies)
    lang = str(request.state.lang)
    desk = Desk(session, lang)
    request.state.desk = desk
    attempt = ATTEMPT.get()
    if attempt is not None:  # a refused change is logged as the console's
        attempt.actor, attempt.community = desk.principal.name, desk.principal.community
        attempt.via = "console"
    if session.must_change_password and request.url.path != PASSWORD_PATH:
        raise PasswordChangeRequired
    return desk


CurrentDesk = Annotated[Desk, Depends(current_desk)]


async def checked_form(request: Request, desk: CurrentDesk) -> FormData:
    """The submitted form, refused without the session's CSRF token."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, desk.csrf_token):
        raise CsrfRefused
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def signin_token(request: Request) -> tuple[str, str]:
    """The sign-in form's token and the signed value of its cookie (double submit)."""
    secret = accounts(request).secret
    value = unsign(request.cookies.get(SIGNIN_COOKIE, ""), secret)
    if value is None:
        value = secrets.token_urlsafe(24)
    return value, sign(value, secret)


def signin_token_valid(request: Request, sent: object) -> bool:
    value = unsign(request.cookies.get(SIGNIN_COOKIE, ""), accounts(request).secret)
    return (value is not None and isinstance(sent, str)
            and hmac.compare_digest(sent, value))


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")


def start_session(request: Request, response: Response, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, sign(token, accounts(request).secret))


def end_session(request: Request, response: Response) -> None:
    signed = request.cookies.get(SESSION_COOKIE)
    found = accounts(request)
    token = unsign(signed, found.secret) if signed else None
    if token is not None:
        found.sessions.close(token, now=found.clock.now(), address=client_address(request))
    response.delete_cookie(SESSION_COOKIE, path="/")


def install(app: FastAPI, settings: Settings) -> None:
    """Remember the settings and send people where the exceptions above say."""
    app.state.console_settings = settings

    async def to_sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        target = "/signin?next=" + quote(exc.next_path, safe="/")
        if exc.expired:
            target += "&expired=1"
        response = RedirectResponse(target, status_code=303)
        if exc.expired:
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def to_password(request: Request, exc: Exception) -> Response:
        return RedirectResponse(PASSWORD_PATH, status_code=303)

    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_exception_handler(PasswordChangeRequired, to_password)
