"""The Alerts page in real headless Chromium against the real server: an admin wires a channel and a rule, a stop fires."""

import re
import time

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from alerting_world import Receiver
from browser import ADMIN_EMAIL, ADMIN_PASSWORD, Agent, container, followed_running, launch, sign_in
from live_server import LiveServer
from polling import wait_until

INTERVAL = 2  # the pages' refresh; the evaluator runs every second


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("alerts"), ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD,
                      PUSH_INTERVAL_SECONDS=INTERVAL, ALERT_INTERVAL=1, ROLLUP_INTERVAL=0).start()
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
def receiver():
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def admin(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, server.url)
    yield page
    context.close()


def bearer(server):
    token = requests.post(f"{server.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                          timeout=10).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_adds_a_channel_and_a_rule_and_a_stop_fires_marks_the_agent_and_resolves(admin, server, receiver):
    agent = Agent(server.url, server.api_key, "nas")
    agent.push(int(time.time()) - 1, [container("c1", "postgres"), container("c2", "web")])
    admin.get_by_role("link", name="Alerts", exact=True).click()
    expect(admin.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(admin.locator("#firing tbody")).to_contain_text("Nothing is firing.")

    adding = admin.locator("#channel-form")
    adding.get_by_label("Name").fill("hook")
    adding.get_by_label("Apprise URL").fill(receiver.url("hook"))
    adding.get_by_role("button", name="Add channel").click()
    channel = admin.locator("#channels tbody tr", has_text="hook")
    expect(channel).to_contain_text(f"json://127.0.0.1:{receiver.port}")
    channel.get_by_role("button", name="Send a test message to hook").click()
    expect(admin.locator("#channel-tested")).to_have_text("Test message delivered to hook.")
    assert receiver.titles("hook") == ["[kubewatch] Test message"]
    expect(channel).not_to_contain_text("never")  # its last delivery is shown

    form = admin.locator("#rule-form")
    form.get_by_label("Name", exact=True).fill("postgres stops")
    form.get_by_label("Kind").select_option("container_stopped")
    expect(form.get_by_label("Threshold %")).to_be_disabled()
    form.get_by_label("Name pattern").fill("postgres*")
    form.get_by_label("hook").check()
    form.get_by_role("button", name="Create rule").click()
    rule = admin.locator("#rules tbody tr", has_text="postgres stops")
    expect(rule).to_contain_text("container_stopped")
    expect(rule).to_contain_text("every agent · postgres*")
    expect(rule).to_contain_text("hook")

    agent.push(int(time.time()), [container("c1", "postgres"), container("c2", "web")])
    followed_running(server, agent.id, "postgres")
    stopped = container("c1", "postgres", status="exited")
    stopped.update(exitCode=137, oomKilled=True)
    agent.push(int(time.time()) + 1, [stopped, container("c2", "web", status="exited")])
    firing = admin.locator("#firing tbody tr", has_text="postgres stops")
    expect(firing).to_contain_text("postgres exited with code 137 (killed: out of memory)", timeout=10_000)
    expect(admin.locator("#firing tbody tr")).to_have_count(1)  # web is not matched by postgres*
    fired = wait_until(lambda: receiver.titles("hook")[1:], "the firing message", 10)
    assert len(fired) == 1 and re.search(r"FIRING\b.*postgres on nas", fired[0]), fired

    admin.get_by_role("link", name="Agents").click()
    badge = admin.locator("#agents tbody tr", has=admin.get_by_role("link", name="nas", exact=True)).locator(".badge.firing")
    expect(badge).to_have_text("1 firing")
    expect(badge).to_have_attribute("title", re.compile("exited with code 137"))
    admin.get_by_role("link", name="nas", exact=True).click()
    expect(admin.locator("#agent-firing")).to_be_visible()
    expect(admin.locator("#agent-firing")).to_contain_text("postgres exited with code 137")
    postgres = admin.locator("#containers tbody tr", has_text="postgres")
    expect(postgres.locator(".badge.firing")).to_have_text("firing")
    expect(admin.locator("#containers tbody tr", has_text="web").locator(".badge")).to_have_count(0)

    admin.get_by_role("link", name="Alerts", exact=True).click()
    admin.get_by_role("button", name="Edit the rule postgres stops").click()
    form.get_by_label("Name", exact=True).fill("postgres stopped")
    form.get_by_role("button", name="Save rule").click()
    expect(admin.locator("#rules tbody tr", has_text="postgres stopped")).to_have_count(1)
    expect(form.get_by_role("button", name="Create rule")).to_be_visible()  # the form is back to a new rule

    silences = admin.locator("#silence-form")
    silences.get_by_label("Agent").select_option(label="nas")
    silences.get_by_label("Comment").fill("disk swap")
    silences.get_by_role("button", name="Silence").click()
    silence = admin.locator("#silences tbody tr", has_text="disk swap")
    expect(silence).to_contain_text("nas")
    silence.get_by_role("button", name="End this silence now").click()
    expect(admin.locator("#silences tbody")).to_contain_text("No silence.")

    agent.push(int(time.time()) + 2, [container("c1", "postgres"), container("c2", "web")])
    expect(admin.locator("#firing tbody")).to_contain_text("Nothing is firing.", timeout=10_000)
    # An alert keeps the name its rule had when it fired.
    expect(admin.locator("#history tbody tr", has_text="postgres stops")).to_contain_text("postgres exited")
    resolved = wait_until(lambda: receiver.titles("hook")[2:], "the resolved message", 10)
    assert len(resolved) == 1 and re.search(r"RESOLVED\b.*postgres on nas", resolved[0]), resolved
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Delete the rule postgres stopped").click()
    expect(admin.locator("#rules tbody")).to_contain_text("No rules yet.")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Delete the channel hook").click()
    expect(admin.locator("#channels tbody")).to_contain_text("No channels yet.")


def test_a_viewer_reads_the_alerts_page_without_a_form_and_is_refused_if_they_post(browser, server):
    admin = bearer(server)
    channel = requests.post(f"{server.url}/api/v1/notification-channels", headers=admin, timeout=10,
                            json={"name": "phone", "url": "ntfys://ntfy.sh/secret-topic"}).json()
    created = requests.post(f"{server.url}/api/v1/alert-rules", headers=admin, timeout=10,
                            json={"name": "hot", "kind": "cpu_above", "threshold": 90, "channels": [channel["id"]]})
    assert created.status_code == 201, created.text
    invited = requests.post(f"{server.url}/api/v1/users", headers=admin, timeout=10,
                            json={"email": "watcher@example.test", "role": "viewer", "password": "viewer password"})
    assert invited.status_code == 201, invited.text
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    viewer = context.new_page()
    sign_in(viewer, server.url, "watcher@example.test", "viewer password")
    viewer.get_by_role("link", name="Alerts", exact=True).click()
    expect(viewer.locator("#rules tbody tr", has_text="hot")).to_contain_text("90 %")
    expect(viewer.locator("#channels tbody tr", has_text="phone")).to_contain_text("ntfys://ntfy.sh")
    expect(viewer.locator("#channels tbody")).not_to_contain_text("secret-topic")
    assert viewer.locator("form").count() == 1  # only the header's sign-out
    for name in ("Create rule", "Add channel", "Silence"):
        expect(viewer.get_by_role("button", name=name)).to_have_count(0)
    expect(viewer.get_by_role("button", name=re.compile("^(Edit|Delete|Send a test)"))).to_have_count(0)
    token = viewer.locator('meta[name="csrf-token"]').get_attribute("content")
    for method, path in (("POST", "/api/v1/alert-rules"), ("DELETE", f"/api/v1/alert-rules/{created.json()['id']}"),
                         ("POST", "/api/v1/notification-channels"), ("POST", "/api/v1/silences"),
                         ("POST", f"/api/v1/notification-channels/{channel['id']}/test")):
        answer = viewer.request.fetch(f"{server.url}{path}", method=method, headers={"X-CSRFToken": token},
                                      data={"name": "x", "kind": "agent_down", "url": "json://127.0.0.1:9/x"})
        assert answer.status == 403, (path, answer.text())
    context.close()
    assert requests.get(f"{server.url}/api/v1/alert-rules", headers=admin, timeout=10).json()[0]["name"] == "hot"
