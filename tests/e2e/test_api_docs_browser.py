"""The API document at /docs works with no internet: Swagger UI's script and style are the project's own
(static/swagger), not a CDN's (FastAPI's page was blank on a node without internet: found by review)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, Route, expect


def test_the_docs_page_loads_nothing_from_elsewhere(portal_client: TestClient) -> None:
    page = portal_client.get("/docs")
    assert page.status_code == 200 and "cdn.jsdelivr.net" not in page.text
    assert "/static/swagger/swagger-ui-bundle.js" in page.text and "/static/swagger/swagger-ui.css" in page.text
    script = portal_client.get("/static/swagger/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert portal_client.get("/static/swagger/swagger-ui.css").status_code == 200
    assert portal_client.get("/redoc").status_code == 404  # a CDN page too: not served


@pytest.mark.browser
def test_the_docs_page_shows_the_api_offline(page: Page) -> None:
    outside: list[str] = []

    def block(route: Route) -> None:  # as on a node without internet: only the node itself answers
        if route.request.url.startswith(("http://127.0.0.1", "http://localhost")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", block)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Chengxin credit service")
    expect(page.locator(".opblock-summary-path", has_text="/v1/access-journal")).to_be_visible()
    assert outside == []
