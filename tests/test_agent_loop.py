"""The agent's loop: against the real server for a whole run, and against stubs for the rarer answers."""

import logging
import threading
from datetime import datetime
from types import SimpleNamespace

import pytest
import requests

from agent_run import CONTAINERS, IDENTITY, FixedCollector, RunningAgent
from kubewatch_agent.backoff import Backoff
from kubewatch_agent.client import Refused, Registration, Unreachable
from kubewatch_agent.loop import Agent
from live_server import LiveServer
from stored import unpacked

ADMIN = {"email": "ops@example.com", "password": "a long admin password"}


def live_server(workdir):
    """Return the real server with tokens that expire after 2 s and pushes every second."""
    return LiveServer(workdir, AGENT_TOKEN_TTL=2, PUSH_INTERVAL_SECONDS=1, ADMIN_EMAIL=ADMIN["email"],
                      ADMIN_PASSWORD=ADMIN["password"]).start()


def epoch(timestamp):
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


def renewed_after_expiry(events):
    """Return the timestamp of a push refused with 401, then taken right after registering again."""
    for refused, registered, taken in zip(events, events[1:], events[2:]):
        if refused[:2] == ("push", 401) and registered == ("register", 200) and taken == ("push", 200, refused[2]):
            return refused[2]
    return None


def as_admin(server):
    token = requests.post(server.url + "/api/v1/auth/login", json=ADMIN, timeout=5).json()["token"]
    return {"Authorization": f"Bearer {token}"}


class CapturedLogs(logging.Handler):
    """Every log line of every logger, DEBUG included, while in the with block."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self)
        return self

    def __exit__(self, *exc_info):
        logging.getLogger().removeHandler(self)
        logging.getLogger().setLevel(self._level)

    def text(self):
        return "\n".join(logging.Formatter().format(record) for record in self.records)


@pytest.fixture(scope="module")
def whole_run(db_engine, tmp_path_factory):
    """Run the agent through a token expiry and a server restart; return what each side saw."""
    server = live_server(tmp_path_factory.mktemp("server"))
    try:
        with CapturedLogs() as logs, RunningAgent(server.url, server.first_run_key()) as run:
            run.wait_for(lambda: renewed_after_expiry(run.client.events))
            server.stop()
            run.wait_for(lambda: len(run.agent.backlog) >= 3)
            queued = [body["timestamp"] for body in run.agent.backlog]
            server.start()
            run.wait_for(lambda: not len(run.agent.backlog) and run.client.pushed()[-1] > queued[-1])
        agents = requests.get(server.url + "/api/v1/agents", headers=as_admin(server), timeout=5).json()
        yield SimpleNamespace(
            client=run.client, collected_at=run.collector.times, queued=queued, logs=logs, agents=agents,
            key=server.first_run_key(),
            pushes=server.rows("SELECT agent_id, ts, received_at FROM pushes ORDER BY ts"),
            samples=len(unpacked(server.rows("SELECT ts, containers FROM pushes"))))
    finally:
        server.stop()


def test_the_agent_registers_then_pushes_its_containers_every_interval(whole_run):
    [agent] = whole_run.agents
    assert (agent["name"], agent["hostname"], agent["platform"]) == ("prod-web", "prod-web-01", "docker")
    assert (agent["status"], agent["containerCount"]) == ("connected", len(CONTAINERS))
    pushed = whole_run.client.pushed()
    assert [epoch(ts) for ts in sorted(set(pushed))] == [ts for _, ts, _ in whole_run.pushes]
    assert {agent_id for agent_id, _, _ in whole_run.pushes} == {agent["id"]}
    assert whole_run.samples == len(CONTAINERS) * len(whole_run.pushes)


def test_samples_are_collected_once_per_interval_even_while_the_backlog_is_replayed(whole_run):
    times = whole_run.collected_at
    assert len(times) >= 6
    # On a 1 s schedule: a late collection makes the next gap shorter, by as much as it was late, but
    # never two in one interval, and never ahead of the schedule (allowing half a second of lateness
    # on a loaded machine).
    assert all(later - earlier > 0.5 for earlier, later in zip(times, times[1:]))
    assert all(at - times[0] >= number - 0.5 for number, at in enumerate(times))
    assert len(set(whole_run.client.pushed())) == len(whole_run.client.pushed()), "none was sent twice"


def test_an_expired_token_makes_the_agent_register_again_and_retry_the_same_push(whole_run):
    assert renewed_after_expiry(whole_run.client.events)
    assert {registration.agent_id for registration in whole_run.client.registrations} == {whole_run.agents[0]["id"]}


def test_pushes_queued_while_the_server_was_down_are_sent_oldest_first_when_it_is_back(whole_run):
    stored = {ts: received for _, ts, received in whole_run.pushes}
    assert all(epoch(ts) in stored for ts in whole_run.queued)
    oldest = epoch(whole_run.queued[0])
    assert stored[oldest] - oldest >= 2, "the oldest queued push was received when the server came back"
    pushed = whole_run.client.pushed()
    assert pushed == sorted(pushed)
    messages = [record.getMessage() for record in whole_run.logs.records if record.name == "kubewatch_agent"]
    assert any(message.startswith("sending ") and "queued pushes, oldest first" in message for message in messages)
    assert sum(message.startswith("server: cannot reach the server") for message in messages) == 1
    assert "server: pushing again" in messages


def test_logs_of_a_whole_run_never_contain_the_api_key_or_a_token(whole_run):
    text = whole_run.logs.text()
    assert "registered as agent_" in text and "registering again" in text
    secrets = [whole_run.key] + [registration.token for registration in whole_run.client.registrations]
    assert len(secrets) >= 3
    for secret in secrets:
        assert secret not in text
        assert secret[-12:] not in text


def test_each_event_is_logged_on_one_line(whole_run):
    for record in whole_run.logs.records:
        if record.name.startswith("kubewatch_agent"):
            assert "\n" not in record.getMessage() and record.exc_info is None


def test_a_revoked_key_is_said_plainly_and_registration_retried_without_dying(db_engine, tmp_path, caplog):
    server = live_server(tmp_path)
    try:
        admin = as_admin(server)
        created = requests.post(server.url + "/api/v1/api-keys", json={"name": "rack-2"}, headers=admin,
                                timeout=5).json()
        requests.delete(f"{server.url}/api/v1/api-keys/{created['id']}", headers=admin, timeout=5)
        with RunningAgent(server.url, created["key"]) as run:
            run.wait_for(lambda: run.client.events.count(("register", 401)) >= 3)
            assert run.thread.is_alive()
    finally:
        server.stop()
    refused = [record for record in caplog.records if "registration refused (401)" in record.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.ERROR
    assert "revoked" in refused[0].getMessage() and "trying again with backoff" in refused[0].getMessage()
    assert created["key"] not in caplog.text


class StubClient:
    """A server that answers each push from a script: None takes it, an exception refuses it."""

    url = "http://stub.invalid"

    def __init__(self, push_answers=()):
        self.push_answers = list(push_answers)
        self.registered = 0
        self.taken = []
        self.push_started = threading.Event()
        self.release_push = None

    def register(self, identity):
        self.registered += 1
        return Registration(f"agent_{self.registered:08x}", f"kwa_token{self.registered}", 3600, 1)

    def push(self, registration, body, keep_alive=True):
        self.push_started.set()
        if self.release_push is not None:
            self.release_push.wait(timeout=5)
        answer = self.push_answers.pop(0) if self.push_answers else None
        if answer is not None:
            raise answer
        self.taken.append(body["timestamp"])

    def close(self):
        pass


def stub_agent(client, **options):
    return Agent(client, FixedCollector(), dict(IDENTITY), backoff=Backoff(base=0.01, cap=0.02), **options)


def test_a_403_drops_the_registration_and_keeps_the_push_for_after_registering_again():
    client = StubClient([Refused("push", 403, "This agent token belongs to another agent.")])
    agent = stub_agent(client)
    agent.register()
    agent.backlog.add(agent.sample())
    agent.attempt()
    assert (agent.registration, len(agent.backlog), agent.retry_at > 0) == (None, 1, True)
    agent.attempt()
    assert (client.registered, len(client.taken), len(agent.backlog)) == (2, 1, 0)


def test_a_body_the_server_rejects_is_dropped_and_the_next_one_sent(caplog):
    client = StubClient([Refused("push", 400, "The request is not valid")])
    agent = stub_agent(client)
    agent.register()
    first, second = agent.sample(), dict(agent.sample(), timestamp="2026-06-16T10:00:01Z")
    agent.backlog.add(first)
    agent.backlog.add(second)
    agent.attempt()
    assert client.taken == [second["timestamp"]]
    assert f"dropped the push collected at {first['timestamp']}: push refused (400)" in caplog.text


def test_retry_after_of_a_busy_server_is_waited_for():
    client = StubClient([Unreachable("the server answered 503 to the push", retry_after=0.015)])
    agent = stub_agent(client)
    agent.register()
    agent.backlog.add(agent.sample())
    before = agent.clock()
    agent.attempt()
    assert agent.retry_at - before >= 0.015 and len(agent.backlog) == 1


def test_an_unexpected_error_is_logged_and_retried_instead_of_ending_the_loop(caplog):
    client = StubClient([RuntimeError("bug")])
    agent = stub_agent(client)
    agent.register()
    agent.backlog.add(agent.sample())
    agent.attempt()
    assert len(agent.backlog) == 1 and agent.retry_at > 0
    assert "server: unexpected RuntimeError: bug; trying again with backoff" in caplog.text
    agent.attempt()
    assert len(client.taken) == 1 and not len(agent.backlog)


def test_stopping_finishes_the_push_in_flight_and_sends_no_other():
    client = StubClient()
    client.release_push = threading.Event()
    agent = stub_agent(client)
    agent.backlog.add(dict(agent.sample(), timestamp="2026-06-16T09:59:58Z"))
    agent.backlog.add(dict(agent.sample(), timestamp="2026-06-16T09:59:59Z"))  # waiting behind the one in flight
    stop = threading.Event()
    loop = threading.Thread(target=agent.run, args=(stop,))
    loop.start()
    assert client.push_started.wait(timeout=5)
    stop.set()
    client.release_push.set()
    loop.join(timeout=5)
    assert not loop.is_alive()
    assert client.taken == ["2026-06-16T09:59:58Z"]
    assert [body["timestamp"] for body in agent.backlog] == ["2026-06-16T09:59:59Z"]
