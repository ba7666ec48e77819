"""Requests that check a password wait in a lane of their own, on real waitress: a flood of them neither
holds the thread that serves pushes nor is refused at once (which made its clients come straight back)."""

import threading
import time

import pytest
import requests

from conftest import TEST_CONFIG, Org, bearer, sample_push
from kubewatch import create_app, credentials, server, sign_in_lane
from kubewatch.api import access
from kubewatch.db import db
from polling import wait_until


LOOP_THREAD = "serving-loop"  # the name of waitress's loop thread in `serving`


@pytest.fixture
def serving(tmp_path):
    """The app served by waitress on a free loopback port, as `python app.py` serves it, in this process."""
    app = create_app(dict(TEST_CONFIG, DATABASE_URL=f"sqlite:///{tmp_path / 'kubewatch.db'}", HOST="127.0.0.1",
                          PORT=0))
    made = server.create_server(app, app.config)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            made.asyncore.loop(timeout=0.05, map=made._map, count=1)

    thread = threading.Thread(target=loop, name=LOOP_THREAD, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{made.socket.getsockname()[1]}"
    stop.set()
    thread.join()
    made.task_dispatcher.shutdown()
    for channel in list(made._map.values()):  # the listening socket, its trigger and every connection
        channel.close()
    with app.app_context():
        db.engine.dispose()


def test_sign_ins_past_every_place_wait_while_pushes_are_answered(serving, monkeypatch):
    app, url = serving
    org = Org(app, app.test_client(), "acme")
    agent = org.register()
    release, checks, lanes = threading.Event(), [], []
    monkeypatch.setattr(credentials, "password_matches", lambda *args: checks.append(1) or release.wait(20) and False)
    real = access.user_signing_in
    monkeypatch.setattr(access, "user_signing_in",
                        lambda *args: lanes.append(threading.current_thread().name) or real(*args))
    places = app.config["HASH_WORKERS"] + app.config["HASH_QUEUE"]
    answers = []

    def sign_in(n):
        answers.append(requests.post(url + "/api/v1/auth/login", json={"email": f"nobody-{n}@example.com",
                                                                      "password": "guess"}, timeout=30).status_code)

    flood = [threading.Thread(target=sign_in, args=(n,)) for n in range(3 * places)]
    for thread in flood:
        thread.start()
    try:
        # Every thread of the lane is taken by a sign-in, one checking its password, and more wait.
        wait_until(lambda: len(lanes) == places and checks, "the lane to be full", 10)
        started = time.monotonic()
        pushed = requests.post(f"{url}/api/v1/agents/{agent['agentId']}/push", json=sample_push(),
                               headers=bearer(agent["token"]), timeout=10)
        answered_in = time.monotonic() - started
        assert pushed.status_code == 200 and not answers  # no sign-in answered yet: none refused at once
    finally:
        release.set()
        for thread in flood:
            thread.join()
    assert answers == [401] * 3 * places  # each waited its turn; none was 503
    assert {name.rsplit("-", 1)[0] for name in lanes} == {"kubewatch-sign-in"}
    print(f"\na push answered in {answered_in * 1000:.1f} ms while {3 * places} sign-ins waited")


@pytest.mark.parametrize("method, path", [("POST", "/api/v1/auth/login"), ("POST", "/login"),
                                          ("POST", "/api/v1/users"), ("POST", "/api/v1/users/usr_1/password"),
                                          ("PUT", "/api/v1/users/me/password"),
                                          # behind a proxy that passes its prefix on (trusted_proxy_hops)
                                          ("POST", "/kubewatch/api/v1/auth/login"), ("POST", "/kubewatch/login"),
                                          ("PUT", "/a/b/api/v1/users/me/password")])
def test_every_request_that_checks_or_hashes_a_password_takes_the_lane(method, path):
    assert sign_in_lane.checks_a_password(method, path)


@pytest.mark.parametrize("method, path", [("POST", "/api/v1/agents/agent_1/push"), ("GET", "/login"),
                                          ("GET", "/api/v1/users"), ("PATCH", "/api/v1/users/usr_1"),
                                          ("POST", "/api/v1/auth/login/x"), ("POST", "/api/v1/agents/register"),
                                          ("POST", "/kubewatch/api/v1/agents/agent_1/push"), ("GET", "/kubewatch/login")])
def test_every_other_request_is_served_with_the_pushes(method, path):
    assert not sign_in_lane.checks_a_password(method, path)
