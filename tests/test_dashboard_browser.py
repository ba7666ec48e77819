"""The dashboard in real headless Chromium against the real server: what a person signing in sees and does."""

import math
import re
import time

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from alerting_world import Receiver
from browser import (ADMIN_EMAIL, ADMIN_PASSWORD, ARTIFACTS, Agent, container, followed_running, launch, sideways_overflow,
                     sign_in)
from live_server import LiveServer
from polling import wait_until

INTERVAL = 2  # seconds between the page's refreshes; the tests push faster than three of them


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("dashboard"), ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD,
                      PUSH_INTERVAL_SECONDS=INTERVAL, ROLLUP_INTERVAL=0).start()
    live.api_key = live.first_run_key()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def admin(page, server):
    sign_in(page, server.url)
    return page


def row_of(page, name):
    return page.locator("#agents tbody tr", has=page.get_by_role("link", name=name, exact=True))


def pushed_for_a_while(agent, containers, pushes=6, step=10):
    """Push the same containers every step seconds up to now, so that charts have points."""
    now = int(time.time())
    for ts in range(now - step * (pushes - 1), now + 1, step):
        agent.push(ts, containers)


def test_signing_in_sets_an_http_only_lax_cookie_and_returns_to_the_page_asked_for(page, server):
    agent = Agent(server.url, server.api_key, "return-to")
    page.goto(f"{server.url}/agents/{agent.id}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/agents/{agent.id}")
    expect(page.get_by_role("heading", name="return-to")).to_be_visible()
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (
        "kubewatch_session", True, "Lax", False)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login")
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_an_agent_turns_connected_and_its_page_shows_containers_and_a_drawn_chart(admin, server):
    agent = Agent(server.url, server.api_key, "turns-connected")
    admin.reload()
    expect(row_of(admin, "turns-connected")).to_contain_text("pending")
    pushed_for_a_while(agent, [container("c1", "web"), container("c2", "db", memory=200)])
    row = row_of(admin, "turns-connected")
    expect(row).to_contain_text("connected", timeout=3 * INTERVAL * 1000)  # refreshed without a reload
    expect(row.locator("td.containers")).to_have_text("2 / 2")
    row.get_by_role("link", name="turns-connected").click()
    expect(admin).to_have_url(f"{server.url}/agents/{agent.id}")
    expect(admin.locator("#containers tbody tr")).to_have_count(2)
    expect(admin.locator("#containers")).to_contain_text("example/web:1")
    cpu = admin.locator('figure[data-chart="cpu"]')
    expect(cpu).to_have_attribute("data-drawn", "true")
    assert int(cpu.get_attribute("data-points")) > 0
    assert cpu.locator("canvas").count() == 1
    admin.get_by_label("Showing").select_option(label="db")
    expect(cpu).to_have_attribute("data-points", re.compile(r"[1-9]"))
    admin.get_by_role("button", name="7 d").click()
    expect(admin.get_by_role("button", name="7 d")).to_have_attribute("aria-pressed", "true")
    expect(cpu).to_have_attribute("data-drawn", "true")


def test_a_container_that_stopped_after_running_is_highlighted(admin, server):
    agent = Agent(server.url, server.api_key, "stops")
    now = int(time.time())
    agent.push(now - 20, [container("c1", "web"), container("c2", "once", status="exited")])
    agent.push(now - 10, [container("c1", "web", status="exited"), container("c2", "once", status="exited")])
    admin.goto(f"{server.url}/agents/{agent.id}")
    web = admin.locator("#containers tbody tr", has_text="web")
    expect(web.locator("td.attention")).to_have_text(re.compile("exited"))
    once = admin.locator("#containers tbody tr", has_text="once")
    expect(once).to_contain_text("exited")
    assert once.locator("td.attention").count() == 0  # never seen running: not a surprise
    admin.get_by_role("button", name="Status").click()
    expect(admin.locator("#containers th[data-key=status]")).to_have_attribute("aria-sort", "ascending")
    admin.goto(f"{server.url}/")
    cell = row_of(admin, "stops").locator("td.containers")
    expect(cell).to_have_text("0 / 2")
    expect(cell).to_have_class(re.compile("attention"))
    expect(cell).to_have_attribute("title", "1 stopped after running")


def test_a_kubernetes_agent_shows_nodes_and_pods_filtered_by_namespace(admin, server):
    agent = Agent(server.url, server.api_key, "cluster", platform="kubernetes")
    pod = {"phase": "Running", "ready": True, "containerCount": 1, "readyContainers": 1, "cpuPercent": 2.0,
           "memoryMB": 64.0, "restartCount": 0, "nodeName": "node-1"}
    agent.push(int(time.time()), [], nodes=[{"name": "node-1", "status": "Ready", "cpuPercent": 30.0, "memoryMB": 900.0,
                                             "memoryCapacityMB": 4000.0, "podCount": 2, "podCapacity": 110}],
               pods=[{**pod, "name": "api-1", "namespace": "shop"}, {**pod, "name": "job-1", "namespace": "batch"}])
    admin.goto(f"{server.url}/agents/{agent.id}")
    expect(admin.locator("#nodes tbody tr")).to_have_count(1)
    expect(admin.locator("#nodes")).to_contain_text("node-1")
    expect(admin.locator("#pods tbody tr")).to_have_count(2)
    admin.get_by_label("Namespace").select_option("shop")
    expect(admin.locator("#pods tbody tr")).to_have_count(1)
    expect(admin.locator("#pods tbody")).to_contain_text("api-1")
    assert admin.locator("#containers-section").is_hidden()
    admin.locator("#pods").get_by_role("button", name="api-1").click()
    expect(admin).to_have_url(re.compile(r"#pod%3Ashop%2Fapi-1$"))
    expect(admin.locator('figure[data-chart="cpu"]')).to_have_attribute("data-points", "1")


def test_an_admin_creates_a_key_that_registers_an_agent_and_revokes_it(admin, server):
    admin.get_by_role("link", name="API keys").click()
    admin.get_by_label("Label").fill("garage pi")
    admin.get_by_role("button", name="Create key").click()
    key = admin.locator("#newkey-value")
    expect(key).to_have_text(re.compile(r"^kw_live_"))
    secret = key.text_content()
    expect(admin.locator("#newkey-command")).to_have_text(
        f"kubewatch-agent --url {server.url} --api-key {secret}")
    expect(admin.locator("#newkey-docker")).to_contain_text(f"KUBEWATCH_URL={server.url}")
    row = admin.locator("#keys tbody tr", has_text="garage pi")
    expect(row).to_contain_text(secret[:12] + "…")
    Agent(server.url, secret, "via-new-key")
    admin.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(row).to_contain_text("revoked")
    refused = requests.post(f"{server.url}/api/v1/agents/register", headers={"X-API-Key": secret}, timeout=10,
                            json={"name": "late", "hostname": "late"})
    assert refused.status_code == 401


def test_an_invited_viewer_sees_no_admin_controls_and_is_refused_if_they_try(admin, server, browser):
    admin.get_by_role("link", name="Users").click()
    admin.get_by_label("Email", exact=True).fill("viewer@example.test")
    admin.get_by_label("Role", exact=True).select_option("viewer")
    admin.get_by_role("button", name="Invite").click()
    password = admin.locator("#given-value")
    expect(password).not_to_be_empty()
    expect(admin.locator("#users tbody")).to_contain_text("viewer@example.test")
    agent = Agent(server.url, server.api_key, "seen-by-viewer")

    context = browser.new_context()
    viewer = context.new_page()
    sign_in(viewer, server.url, "viewer@example.test", password.text_content())
    expect(viewer.get_by_role("link", name="API keys")).to_have_count(0)
    expect(viewer.get_by_role("link", name="Users")).to_have_count(0)
    viewer.goto(f"{server.url}/agents/{agent.id}")
    expect(viewer.get_by_role("heading", name="seen-by-viewer")).to_be_visible()
    expect(viewer.get_by_role("button", name="Delete agent")).to_have_count(0)
    for path in ("/keys", "/users"):
        assert viewer.goto(f"{server.url}{path}").status == 403
    token = viewer.locator('meta[name="csrf-token"]').get_attribute("content")
    for method, path in (("POST", "/api/v1/api-keys"), ("POST", "/api/v1/users"),
                         ("DELETE", f"/api/v1/agents/{agent.id}")):
        answer = viewer.request.fetch(f"{server.url}{path}", method=method, headers={"X-CSRFToken": token},
                                      data={"name": "x", "email": "x@example.test", "role": "admin"})
        assert answer.status == 403, (path, answer.text())
    context.close()
    admin.reload()
    expect(admin.locator("#users tbody tr")).to_have_count(2)
    assert requests.get(f"{server.url}/api/v1/agents/{agent.id}", timeout=10,
                        headers=bearer(server)).status_code == 200


def bearer(server):
    token = requests.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                          timeout=10).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_deletes_an_agent_after_a_confirmation_that_names_it(admin, server):
    agent = Agent(server.url, server.api_key, "to-delete")
    admin.goto(f"{server.url}/agents/{agent.id}")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()
    admin.once("dialog", answer)
    admin.get_by_role("button", name="Delete agent").click()
    expect(admin).to_have_url(f"{server.url}/")
    assert '"to-delete"' in asked[0]
    expect(row_of(admin, "to-delete")).to_have_count(0)
    assert requests.get(f"{server.url}/api/v1/agents/{agent.id}", timeout=10,
                        headers=bearer(server)).status_code == 404


def test_a_cross_site_form_post_without_the_token_changes_nothing(admin, server, tmp_path):
    agent = Agent(server.url, server.api_key, "under-attack")
    # A page on another origin (a file here) that posts to the server with the victim's cookie.
    attack = tmp_path / "attack.html"
    attack.write_text(f"""<form id="f" method="post" action="{server.url}/api/v1/api-keys">
        <input name="name" value="stolen"></form>
        <form id="g" method="post" action="{server.url}/logout"></form>""")
    keys_before = requests.get(f"{server.url}/api/v1/api-keys", headers=bearer(server), timeout=10).json()
    admin.goto(attack.as_uri())
    with admin.expect_navigation():
        admin.evaluate("document.getElementById('f').submit()")
    assert requests.get(f"{server.url}/api/v1/api-keys", headers=bearer(server), timeout=10).json() == keys_before
    # And with the cookie sent (as a same-site page could), still refused without the token.
    answer = admin.context.request.post(f"{server.url}/api/v1/api-keys", data={"name": "stolen"})
    assert answer.status == 400 and "CSRF" in answer.json()["message"]
    answer = admin.context.request.delete(f"{server.url}/api/v1/agents/{agent.id}")
    assert answer.status == 400
    assert requests.get(f"{server.url}/api/v1/api-keys", headers=bearer(server), timeout=10).json() == keys_before
    assert requests.get(f"{server.url}/api/v1/agents/{agent.id}", headers=bearer(server), timeout=10).status_code == 200
    admin.goto(f"{server.url}/")
    expect(admin).to_have_url(f"{server.url}/")  # still signed in


@pytest.fixture(scope="module")
def showcase(db_engine, tmp_path_factory):
    """A server of its own with what a homelab shows: a busy Docker host with an hour of history, one down, one new;
    alert rules with one alert firing, one resolved, a channel that delivers and one that fails."""
    receiver = Receiver()
    live = LiveServer(tmp_path_factory.mktemp("showcase"), ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD,
                      PUSH_INTERVAL_SECONDS=60, ROLLUP_INTERVAL=0, ALERT_INTERVAL=1).start()
    key = live.first_run_key()
    nas = Agent(live.url, key, "nas")
    now = int(time.time())

    def nas_containers(minute, certbot="running", backup="running"):
        wave = 1 + math.sin(minute / 6)
        return [
            container("c1", "nginx-proxy", cpu=8 + 6 * wave, memory=48 + 4 * wave, rx=(60 - minute) * 9_000_000,
                      tx=(60 - minute) * 4_000_000),
            container("c2", "postgres", cpu=3 + 2 * wave, memory=380 + 30 * wave, rx=(60 - minute) * 500_000,
                      tx=(60 - minute) * 800_000, restarts=0 if minute > 5 else 1),
            container("c3", "immich-server", cpu=20 + 15 * wave, memory=300, rx=(60 - minute) * 2_000_000),
            container("c4", "backup", status=backup, cpu=1, memory=20),
            container("c5", "certbot", status=certbot, cpu=0.2, memory=12)]
    for minute in range(60, -1, -1):
        nas.push(now - minute * 60, nas_containers(minute))
    Agent(live.url, key, "garage-pi", platform="host").push(now - 3600, [])
    Agent(live.url, key, "new-vm")
    admin = bearer(live)
    hook, dead = [requests.post(f"{live.url}/api/v1/notification-channels", headers=admin, timeout=10,
                                json={"name": name, "url": url}).json()["id"]
                  for name, url in (("home-assistant", receiver.url("hook")), ("old-webhook", "json://127.0.0.1:9/x"))]
    for rule in ({"name": "container stopped", "kind": "container_stopped", "channels": [hook, dead]},
                 {"name": "busy CPU", "kind": "cpu_above", "threshold": 90, "forSeconds": 300, "channels": [hook]},
                 {"name": "nas quiet", "kind": "agent_down", "agentId": nas.id, "channels": [hook],
                  "repeatSeconds": 3600}):
        assert requests.post(f"{live.url}/api/v1/alert-rules", headers=admin, json=rule, timeout=10).status_code == 201
    # The evaluator fires for a container it saw running: certbot stops and runs again, then backup stops.
    def alerts(state):
        return requests.get(f"{live.url}/api/v1/alerts?state={state}", headers=admin, timeout=10).json()
    nas.push(int(time.time()) + 1, nas_containers(0))
    followed_running(live, nas.id, "certbot")
    nas.push(int(time.time()) + 2, nas_containers(0, certbot="exited"))
    wait_until(lambda: alerts("firing"), "an alert firing", 10)
    nas.push(int(time.time()) + 3, nas_containers(0))
    wait_until(lambda: alerts("resolved"), "an alert resolved", 10)
    nas.push(int(time.time()) + 4, nas_containers(0, backup="exited"))
    wait_until(lambda: [a for a in alerts("firing") if a["object"] == "backup"], "the backup container's alert", 10)
    live.agent_id = nas.id
    yield live
    live.stop()
    receiver.stop()


@pytest.mark.parametrize("width", [375, 1920])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_agents_an_agent_the_keys_and_the_alerts_page(browser, showcase, width, scheme):
    server = showcase
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    sign_in(page, server.url)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expect(row_of(page, "nas")).to_contain_text("connected")
    expect(row_of(page, "nas").locator(".badge.firing")).to_have_text("1 firing")
    assert sideways_overflow(page) == []
    page.screenshot(path=ARTIFACTS / f"agents-{width}-{scheme}.png", full_page=True)
    page.goto(f"{server.url}/agents/{server.agent_id}")
    expect(page.locator('figure[data-chart="memory"]')).to_have_attribute("data-drawn", "true")
    expect(page.locator("#containers tbody tr")).to_have_count(5)
    expect(page.locator("#containers tbody tr", has_text="backup").locator(".badge.firing")).to_be_visible()
    assert sideways_overflow(page) == []
    page.screenshot(path=ARTIFACTS / f"agent-{width}-{scheme}.png", full_page=True)
    page.goto(f"{server.url}/keys")
    expect(page.locator("#keys tbody tr").first).to_contain_text("kw_live_")
    expect(page.locator("#keys tbody tr").first.locator("td.last-used")).to_contain_text("ago")
    assert sideways_overflow(page) == []
    page.screenshot(path=ARTIFACTS / f"keys-{width}-{scheme}.png", full_page=True)
    page.goto(f"{server.url}/alerts")
    expect(page.locator("#firing tbody tr")).to_have_count(1)
    expect(page.locator("#firing tbody")).to_contain_text("backup exited")
    expect(page.locator("#history tbody")).to_contain_text("certbot exited")
    expect(page.locator("#channels tbody tr", has_text="old-webhook")).to_contain_text("127.0.0.1")
    expect(page.locator("#rules tbody tr")).to_have_count(3)
    assert sideways_overflow(page) == []
    page.screenshot(path=ARTIFACTS / f"alerts-{width}-{scheme}.png", full_page=True)
    context.close()


def test_a_fast_agents_charts_end_at_its_own_now_and_its_page_says_how_far_ahead(admin, server):
    """Samples keep the agent's timestamps: a clock 300 s ahead still has its last hour charted (issue 11, item 5)."""
    agent = Agent(server.url, server.api_key, "fast-clock")
    now = int(time.time())
    for step in range(4):
        agent.push(now + 270 + 10 * step, [container("c1", "web")])  # the latest 300 s ahead
    admin.goto(f"{server.url}/agents/{agent.id}")
    expect(admin.locator("#agent-clock")).to_have_text(re.compile(r"^(29[89]|30[0-2]) s ahead of the server's$"))
    cpu = admin.locator('figure[data-chart="cpu"]')
    expect(cpu).to_have_attribute("data-drawn", "true")
    expect(cpu).to_have_attribute("data-points", re.compile(r"^[1-9]"))  # 0 when the chart ended at the server's now
