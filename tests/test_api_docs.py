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
    asked, answered, errors = [], {}, []

    def only_this_server(route):
        # Anything for another host is stopped here, so the run never leaves the machine; the
        # request events below record it, and every hop of a redirect.
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            route.abort()

    try:
        with sync_playwright() as playwright:
            chromium = launch(playwright)
            try:
                # The page's requests, its workers' included; the browser's own calls home are not the page's.
                context = chromium.new_context(service_workers="block")
                context.set_default_timeout(15_000)
                context.route("**/*", only_this_server)
                context.on("request", lambda request: asked.append(request.url))
                context.on("response", lambda response: answered.setdefault(response.url, response.status))
                page = context.new_page()
                page.on("websocket", lambda socket: asked.append(socket.url))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(server.url + "/api/docs")
                try:
                    for path in ("/api/v1/agents/register", "/api/v1/agents/{agent_id}/push", "/api/v1/auth/login",
                                 "/healthz"):
                        page.locator(f'[data-path="{path}"]').first.wait_for()
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(1000)  # what a timer of the page would ask for later
                finally:  # a page waiting for another host fails here naming it, not on a timeout
                    assert [url for url in asked if not url.startswith(server.url + "/")] == []
                assert page.locator(".swagger-ui").count() > 0
            finally:
                chromium.close()
    finally:
        server.stop()
    assert [url for url in asked if not url.startswith(server.url + "/")] == []
    for path in ["/api/v1/openapi.json"] + [f"/api/docs/assets/{asset}" for asset in ASSETS]:
        assert answered.get(server.url + path) == 200, path
    assert errors == []
