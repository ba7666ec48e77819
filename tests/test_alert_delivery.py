"""Delivery: once per fire and resolve across restarts, a hanging or failing channel holding back only
itself, retries with backoff, silences and reminders; real HTTP and SMTP servers on loopback."""

import time
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from alerting_world import Receiver, World
from conftest import container, fresh_config
from engines import file_url
from kubewatch import create_app
from kubewatch.alerting.courier import Courier, retry_delay
from kubewatch.db import db
from live_server import free_port
from polling import wait_until

T = int(time.time()) - 3600


@pytest.fixture
def app(db_engine, tmp_path):
    """The app on a database file: the courier sends to each channel from a thread of its own, and an in-memory
    SQLite database is one connection shared by every thread, where one thread's read ending rolls back
    another's write ("cannot commit - no transaction is active")."""
    app = create_app(fresh_config(DATABASE_URL=file_url(tmp_path / "kubewatch.db")))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def world(app, org, receiver):
    app.config["ALERT_DELIVERY_TIMEOUT"] = 2
    return World(app, org, receiver)


def stop_web(world, at):
    world.push(at, [container("c1", "web")])
    world.evaluate(at)
    world.push(at + 15, [container("c1", "web", status="exited", exitCode=1)])
    return world.evaluate(at + 15)


def channels_by_name(world):
    return {c["name"]: c for c in world.api("GET", "/api/v1/notification-channels").json}


def test_a_hanging_channel_and_a_failing_one_do_not_delay_another(world, receiver):
    receiver.hang.add("hang")
    receiver.fail.add("fail")
    world.rule(kind="container_stopped", channels=[world.channel("hang"), world.channel("fail"), world.channel("ok")])
    world.push(T, [container("c1", "web")])
    world.evaluate(T)
    world.push(T + 15, [container("c1", "web", status="exited", exitCode=1)])
    with world.app.app_context():
        world.evaluator.run(world.app.config, T + 15)
    started = time.monotonic()
    world.courier.dispatch()
    wait_until(lambda: receiver.titles("ok"), "the channel that answers to be sent to", 5, every=0.01)
    took = time.monotonic() - started
    assert receiver.titles("ok") == ["[kubewatch] FIRING: container_stopped: web on prod-web"]
    assert took < 1.0, took  # the hanging channel waits for its timeout (2 s) on its own
    assert world.courier.wait(10)
    shown = channels_by_name(world)
    assert shown["ok"]["lastDeliveredAt"] is not None and shown["ok"]["lastError"] is None
    assert shown["hang"]["lastDeliveredAt"] is None and "127.0.0.1" in shown["hang"]["lastError"]
    assert "500" in shown["fail"]["lastError"] or "Internal Server Error" in shown["fail"]["lastError"]


def test_a_failed_message_is_retried_with_backoff_and_delivered_once(world, receiver):
    receiver.fail.add("flaky")
    world.rule(kind="container_stopped", channels=[world.channel("flaky")])
    clock = [time.time()]
    world.courier = Courier(world.app, clock=lambda: clock[0])
    stop_web(world, T)
    assert receiver.titles() == [] and channels_by_name(world)["flaky"]["lastError"]
    world.deliver()  # not due again yet
    receiver.fail.clear()
    clock[0] += retry_delay(1) - 1
    world.deliver()
    assert receiver.titles() == []
    clock[0] += 1
    world.deliver()
    world.deliver()
    assert receiver.titles() == ["[kubewatch] FIRING: container_stopped: web on prod-web"]
    assert [retry_delay(n) for n in (1, 2, 3, 9, 12)] == [5, 10, 20, 600, 600]


def test_a_restart_mid_alert_sends_no_second_fire_and_the_resolve_still_comes(world, receiver):
    world.rule(kind="container_stopped", channels=[world.channel()])
    stop_web(world, T)
    world.restart()
    world.push(T + 30, [container("c1", "web", status="exited", exitCode=1)])
    assert world.evaluate(T + 30).fired == 0
    world.push(T + 45, [container("c1", "web")])
    world.evaluate(T + 45)
    assert receiver.titles() == ["[kubewatch] FIRING: container_stopped: web on prod-web",
                                 "[kubewatch] RESOLVED: container_stopped: web on prod-web"]


def test_a_message_decided_before_a_crash_is_sent_after_the_restart(world, receiver):
    world.rule(kind="container_stopped", channels=[world.channel()])
    world.push(T, [container("c1", "web")])
    world.evaluate(T)
    world.push(T + 15, [container("c1", "web", status="exited")])
    with world.app.app_context():
        world.evaluator.run(world.app.config, T + 15)  # decided and stored; the process dies before sending
    world.restart()
    world.evaluate(T + 30)
    assert receiver.titles() == ["[kubewatch] FIRING: container_stopped: web on prod-web"]


def test_a_silenced_alert_is_recorded_not_sent_and_is_sent_once_the_silence_ends(world, receiver):
    world.rule(kind="container_stopped", channels=[world.channel()])
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    silence = world.api("POST", "/api/v1/silences", json={"agentId": world.agent["agentId"], "until": until})
    assert silence.status_code == 201, silence.json
    stop_web(world, T)
    assert receiver.titles() == [] and [a["object"] for a in world.alerts("firing")] == ["web"]
    assert world.api("DELETE", f"/api/v1/silences/{silence.json['id']}").status_code == 204
    world.evaluate(T + 30)
    world.evaluate(T + 45)
    assert receiver.titles() == ["[kubewatch] FIRING: container_stopped: web on prod-web"]


def test_a_reminder_is_sent_every_repeat_seconds_while_firing(world, receiver):
    world.rule(kind="container_stopped", repeatSeconds=300, channels=[world.channel()])
    stop_web(world, T)
    for offset in (100, 200, 316, 400, 620):
        world.evaluate(T + offset)
    assert [t.split(":")[0] for t in receiver.titles()] == ["[kubewatch] FIRING", "[kubewatch] STILL FIRING",
                                                            "[kubewatch] STILL FIRING"]


def test_the_message_links_to_the_agent_page_when_external_url_is_set(world, receiver):
    world.app.config["EXTERNAL_URL"] = "https://monitor.example.com/"
    world.rule(kind="container_stopped", channels=[world.channel()])
    stop_web(world, T)
    [fired] = receiver.messages()
    assert fired["message"].endswith(f"\nhttps://monitor.example.com/agents/{world.agent['agentId']}")


def test_the_test_message_answers_whether_it_was_delivered_and_why_not_without_secrets(world, receiver):
    ok = world.channel("ok")
    assert world.api("POST", f"/api/v1/notification-channels/{ok}/test").json == {"delivered": True, "error": None}
    assert receiver.titles("ok") == ["[kubewatch] Test message"]
    port = free_port()  # nothing listens there
    secret = world.api("POST", "/api/v1/notification-channels",
                       json={"name": "dead", "url": f"json://user:hunter2pass@127.0.0.1:{port}/s3cr3t-path"}).json
    tested = world.api("POST", f"/api/v1/notification-channels/{secret['id']}/test").json
    assert tested["delivered"] is False and "127.0.0.1" in tested["error"]
    assert "hunter2pass" not in tested["error"] and "s3cr3t" not in tested["error"]
    assert channels_by_name(world)["dead"]["lastError"] == tested["error"]


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def test_a_mail_channel_delivers_to_a_real_smtp_server(world, receiver):
    inbox = _Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        response = world.api("POST", "/api/v1/notification-channels", json={
            "name": "mail", "url": f"mailto://127.0.0.1:{smtp.port}/ops@example.com?from=kubewatch@example.com"})
        assert response.status_code == 201, response.json
        assert response.json["url"] == f"mailto://127.0.0.1:{smtp.port}"
        world.rule(kind="container_stopped", channels=[response.json["id"]])
        stop_web(world, T)
    finally:
        smtp.stop()
    [(recipients, mail)] = inbox.messages
    assert recipients == ["ops@example.com"]
    assert mail["Subject"] == "[kubewatch] FIRING: container_stopped: web on prod-web"


def test_resolved_alerts_older_than_90_days_are_pruned_with_the_rest(world, receiver, runner, query):
    world.rule(kind="container_stopped", channels=[world.channel()])
    stop_web(world, T)
    world.push(T + 30, [container("c1", "web")])
    world.evaluate(T + 30)
    query_count = "SELECT COUNT(*) FROM alerts"
    assert query(query_count) == [(1,)]
    with world.app.app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alerts SET resolved_at = resolved_at - 91 * 86400")
    assert "pruned" in runner.invoke(args=["prune"]).output
    assert query(query_count) == [(0,)] and query("SELECT COUNT(*) FROM alert_deliveries") == [(0,)]
