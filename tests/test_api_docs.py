"""/api/docs: Swagger UI over the API's own OpenAPI document, every asset served by kubewatch itself."""

import shutil
import socketserver
import subprocess
import threading

import pytest

from kubewatch.api import SWAGGER_UI_ASSETS
from live_server import LiveServer

# Chromium's own services, called whatever the page: not the page's requests.
BROWSER_SERVICES = {"update.googleapis.com", "clients2.google.com", "accounts.google.com", "clientservices.googleapis.com",
                    "safebrowsing.googleapis.com", "optimizationguide-pa.googleapis.com",
                    "content-autofill.googleapis.com", "redirector.gvt1.com", "edgedl.me.gvt1.com"}
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


class Recorder(socketserver.ThreadingTCPServer):
    """A proxy that answers nothing and remembers the first line of every request sent through it."""

    daemon_threads = True

    def __init__(self):
        self.seen = []
        recorder = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                recorder.seen.append(self.rfile.readline().decode(errors="replace").strip())

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_a_browser_renders_every_operation_without_asking_another_host(db_engine, tmp_path):
    server = LiveServer(tmp_path / "server").start()
    proxy = Recorder()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        # Loopback goes direct; any other host would go through the recording proxy.
        rendered = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             # The browser's own calls home (updates, sync, field trials) are not the page's.
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-domain-reliability", "--metrics-recording-only",
             f"--user-data-dir={tmp_path / 'profile'}", f"--proxy-server=http://127.0.0.1:{proxy.server_address[1]}",
             "--virtual-time-budget=15000", "--dump-dom", server.url + "/api/docs"],
            capture_output=True, text=True, timeout=120).stdout
    finally:
        proxy.shutdown()
        proxy.server_close()
        server.stop()
    assert 'class="swagger-ui' in rendered
    for path in ("/api/v1/agents/register", "/api/v1/agents/{agent_id}/push", "/api/v1/auth/login", "/healthz"):
        assert f'data-path="{path}"' in rendered, path
    asked = [line for line in proxy.seen if host_of(line) not in BROWSER_SERVICES]
    assert asked == []


def host_of(request_line):
    """Return the host of a proxied request line: CONNECT host:443 or GET http://host/path."""
    target = request_line.split(" ")[1] if " " in request_line else request_line
    return target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
