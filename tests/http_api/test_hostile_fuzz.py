"""Hostile values, found by a machine: every /api/v1 operation of the live schema, each
request shaped by schemathesis from the OpenAPI document and then salted by Hypothesis with
values nothing should store, hash or compare (NUL, lone surrogates, NaN, 1e309, integers
beyond 64 bits, the year 0001 with an offset, non-ASCII digits in headers, huge strings),
in path, query, headers and body. Whatever is sent: no 5xx, no traceback, every 4xx is
problem+json, and afterwards `audit verify` finds the store intact. SQLite and PostgreSQL,
each its own server and store (tampering nobody: verify must be clean).

The examples are bounded and derandomized (the same requests on every run) so that the
whole module costs about a minute in CI (most of it the PostgreSQL half)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from database_copies import PostgresTemplate, copy_sqlite, schema_url
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from api.main import create_app
from engine.audit import verify as audit
from engine.settings import Settings
from http_api.conftest import WORKFLOW, Api, _serve, start_case

# Per operation and database; `HATCHERY_FUZZ_EXAMPLES=200` for a longer hunt.
EXAMPLES = int(os.environ.get("HATCHERY_FUZZ_EXAMPLES", "6"))
OPENAPI = create_app(Settings()).openapi()
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
OPERATIONS = [(path, method) for path, methods in OPENAPI["paths"].items()
              for method in methods if path.startswith("/api/v1/")]

HOSTILE_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\udc00\ud800",
                "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01",
                "0001-01-01T00:00:00Z", "NaN", "Infinity", "-1e309", "1e309",
                str(2**64), str(-(2**63) - 1), "9" * 40, "１２３", "٣", "²", "x" * 70_000,
                "事项" * 5_000, "..", "../..", "%00", "\u202e", " ", "", "true", "null",
                "flag=true", "a=\x00", "count>1e309", "time>0001-01-01T00:00:00+01:00"]
# In a URL a huge value is kept under the request line's limit (the HTTP server's own
# 400 for a longer one is covered by tests/http_api/test_errors.py).
HOSTILE_IN_URL = [v if len(v) < 5000 else v[:300] for v in HOSTILE_TEXT]
HOSTILE_NUMBERS: list[Any] = [math.nan, math.inf, -math.inf, 2**64, -(2**70), 10**40,
                              1e308, -0.0]
HOSTILE_HEADERS = {
    "If-Match": ['"²"', '"١٢"', '"1e309"', '"' + "9" * 30 + '"', "*", '"-1"', "W/\"1\""],
    "Idempotency-Key": ["١٢٣", "x" * 5000, "事项", "a b", "0"],
    "Accept-Language": ["zh\u00ff", "٣", "*;q=NaN", "x" * 3000],
    "X-Request-ID": ["事项", "x" * 3000, "\u00ff"],
    "Content-Type": ["application/json; charset=latin-1", "text/plain"],
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                              marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           api_workflows_dir: Any) -> Iterator[dict[str, Any]]:
    """A server and store of this module's own, some cases in it, an all-seeing token.
    When the module is done with it, its history must still verify."""
    data = tmp_path_factory.mktemp("hostile")
    if request.param == "sqlite":
        url = copy_sqlite(request.getfixturevalue("sqlite_template"), data / "api.db")
        schema = None
    else:
        template: PostgresTemplate = request.getfixturevalue("postgres_template")
        schema = template.copy()
        url = schema_url(template.base, schema)
    served = _serve(Settings(database_url=url, HATCHERY_DATA_DIR=data,
                             HATCHERY_WORKFLOWS_DIR=api_workflows_dir), request.param)
    api: Api = next(served)
    token = api.token(["admin"], "*", ("pii",))
    with api.client(token) as client:
        cases = [start_case(client, community, phone="13800138000")["id"]
                 for community in ("fuzz/a", "fuzz/b")]
        client.post(f"/cases/{cases[0]}/events", json={"trigger": "note"})
    yield {"api": api, "token": token, "cases": cases}
    engine = api.app.state.service.engine
    assert audit.verify(engine) == [], "the fuzzed store no longer verifies"
    next(served, None)
    if schema is not None:
        template.drop(schema)


def _salt(draw: st.DrawFn, value: Any, depth: int = 0, url: bool = False) -> Any:
    """`value` with some of its leaves (and keys) replaced by hostile values."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if draw(st.integers(0, 9)) == 0:
                key = draw(st.sampled_from([*HOSTILE_TEXT[:5], "事项", "9" * 40]))
            out[key] = _salt(draw, item, depth + 1, url)
        if draw(st.integers(0, 5)) == 0:
            out[draw(st.sampled_from(["comment", "input", "data", "x"]))] = draw(
                st.sampled_from(HOSTILE_TEXT + HOSTILE_NUMBERS))
        return out
    if isinstance(value, list):
        return [_salt(draw, item, depth + 1, url) for item in value]
    if draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from((HOSTILE_IN_URL if url else HOSTILE_TEXT)
                                    + HOSTILE_NUMBERS))
    return value


def _text(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _encoded(value: Any) -> str:
    """Percent-encoded as UTF-8, a lone surrogate as the bytes it would have been; at most
    300 characters (a URL has to fit the request line)."""
    return quote(_text(value)[:300].encode("utf-8", "surrogatepass"), safe="")


@st.composite
def hostile_request(draw: st.DrawFn, path: str, method: str, cases: list[str]
                    ) -> tuple[str, str, dict[str, bytes], bytes | None]:
    """One request to `method path`: a schemathesis case, salted."""
    case = draw(SCHEMA[path][method.upper()].as_strategy())
    path_parameters = dict(case.path_parameters or {})
    for name in path_parameters:
        if name in ("case_id", "other_case_id") and draw(st.booleans()):
            path_parameters[name] = draw(st.sampled_from(cases))
        elif name == "workflow_id" and draw(st.booleans()):
            path_parameters[name] = WORKFLOW
        elif draw(st.integers(0, 2)) == 0:
            path_parameters[name] = draw(st.sampled_from(HOSTILE_IN_URL))
    url = path
    for name, value in path_parameters.items():
        url = url.replace("{" + name + "}", _encoded(value) or "x")
    query = {k: v for k, v in _salt(draw, dict(case.query or {}), url=True).items()}
    pairs = []
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append(f"{_encoded(name)}={_encoded(item)}")
    if pairs:
        url += "?" + "&".join(pairs)
    headers: dict[str, bytes] = {}
    for name, value in (case.headers or {}).items():
        if name.lower() not in ("authorization", "content-length"):
            headers[name] = _text(value).encode("utf-8", "surrogatepass")
    for name, values in HOSTILE_HEADERS.items():
        if draw(st.integers(0, 3)) == 0:
            headers[name] = draw(st.sampled_from(values)).encode("utf-8")
    # What the HTTP client itself refuses to send (h11): control characters, edge blanks.
    headers = {k: v.strip() for k, v in headers.items()
               if v.strip() and not any(b < 0x20 or b == 0x7F for b in v)}
    body: bytes | None = None
    if case.body is not None and not isinstance(case.body, schemathesis.core.NotSet):
        salted = _salt(draw, case.body)
        if isinstance(salted, str) and "json" not in (case.media_type or ""):
            body = salted.encode("utf-8", "surrogatepass")
        else:
            body = json.dumps(salted, ensure_ascii=True, allow_nan=True).encode()
            headers.setdefault("Content-Type", b"application/json")
        if case.media_type and "Content-Type" not in headers:
            headers["Content-Type"] = case.media_type.encode()
    return method.upper(), url, headers, body


def _check(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    assert "Traceback" not in response.text, what
    if response.status_code >= 400:
        kind = response.headers.get("content-type", "")
        assert kind.startswith("application/problem+json"), f"{what}: {kind} {response.text[:300]}"
        assert response.json().get("status") == response.status_code, what


@pytest.mark.parametrize(("path", "method"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_no_hostile_value_gets_a_5xx_or_a_bare_error(target: dict[str, Any], path: str,
                                                    method: str) -> None:
    api: Api = target["api"]
    client = httpx.Client(base_url=api.url, timeout=60)

    # No shrinking phase: each step is an HTTP request; the failing one is printed as is.
    @settings(max_examples=EXAMPLES, print_blob=True, phases=[Phase.generate], deadline=None,
              derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(request=hostile_request(path, method, target["cases"]))
    def one(request: tuple[str, str, dict[str, bytes], bytes | None]) -> None:
        verb, url, headers, body = request
        headers = {**headers, "Authorization": f"Bearer {target['token']}".encode()}
        response = client.request(verb, url, headers=headers, content=body)
        _check(response, f"{verb} {url[:300]}")

    with client:
        one()
