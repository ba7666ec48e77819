"""/api/docs: Swagger UI over the API's own OpenAPI document, every asset served by kubewatch itself."""

import pytest
from playwright.sync_api import sync_playwright

from kubewatch.api import SWAGGER_UI_ASSETS
from browser import launch
from live_server import LiveServer

ASSETS = ["swagger-ui.css", "swagger-ui-standalone-preset.js", "swagger-ui-bundle.js"]


def test_the_page_loads_the_vendored_assets_and_the_openapi_document(client):
    page = client.get("/api/docs").get_data(as_text=True)
    for asset in ASSETS:
        assert f'"/api/docs/assets/{asset}"' in page
    assert 'url: "/api/v1/openapi.json"' in page
    assert '"validatorUrl":null' in page  # Swagger UI's default would call validator.swagger.io
    assert "http://" not in page and "https://" not in page


@pytest.mark.parametrize("asset", ASSETS)
def test_each_asset_is_served_as_released(client, asset):
    response = client.get(f"/api/docs/assets/{asset}")
    try:
        assert response.status_code == 200
        assert response.data == (SWAGGER_UI_ASSETS / asset).read_bytes()
    finally:
        response.close()


def test_a_browser_renders_every_operation_without_asking_another_host(db_engine, tmp_path):
    server = LiveServer(tmp_path / "server").start()
    asked = []

    def only_this_server(route):
        # Every request of the page and its workers passes here; the browser's own calls home do not.
        url = route.request.url
        asked.append(url)
        if url.startswith(server.url + "/"):
            route.continue_()
        else:
            route.abort()

    try:
        with sync_playwright() as playwright:
            chromium = launch(playwright)
            try:
                context = chromium.new_context()
                context.set_default_timeout(15_000)
                context.route("**/*", only_this_server)
                page = context.new_page()
                page.goto(server.url + "/api/docs")
                for path in ("/api/v1/agents/register", "/api/v1/agents/{agent_id}/push", "/api/v1/auth/login",
                             "/healthz"):
                    page.locator(f'[data-path="{path}"]').first.wait_for()
                page.wait_for_load_state("networkidle")
                assert page.locator(".swagger-ui").count() > 0
            finally:
                chromium.close()
    finally:
        server.stop()
    assert server.url + "/api/v1/openapi.json" in asked
    assert [url for url in asked if not url.startswith(server.url + "/")] == []
