"""Every page works on a closed network: scripts, styles and fonts come from the process
itself, with cache headers; the API reference at /docs too."""

from __future__ import annotations

import re

import httpx

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_api_reference_loads_swagger_ui_from_the_process_itself(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    urls = ASSET.findall(page.text)
    assert any("swagger-ui-bundle.js" in url for url in urls)
    assert all(url.startswith("/static/") for url in urls), urls


def test_every_asset_of_the_api_reference_is_served(http: httpx.Client) -> None:
    for url in ASSET.findall(http.get("/docs").text):
        response = http.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 0


def test_fingerprinted_assets_are_cached_for_a_year(http: httpx.Client) -> None:
    url = next(u for u in ASSET.findall(http.get("/docs").text) if u.endswith(".css")
               or ".css?" in u)
    response = http.get(url)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith("text/css")


def test_an_asset_without_its_fingerprint_is_revalidated(http: httpx.Client) -> None:
    response = http.get("/static/vendor/htmx/htmx.min.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert "etag" in response.headers


def test_vendored_scripts_ship_with_their_licences(http: httpx.Client) -> None:
    for path in ("/static/vendor/htmx/LICENSE", "/static/vendor/swagger-ui/LICENSE"):
        assert http.get(path).status_code == 200


def test_the_api_reference_allows_no_inline_script(http: httpx.Client) -> None:
    page = http.get("/docs")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "<script>" not in page.text


def test_api_responses_carry_the_security_headers_too(http: httpx.Client) -> None:
    response = http.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
