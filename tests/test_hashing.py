"""Password checks run on a pool of their own: never on the thread serving the request, never more than it holds."""

import os
import re
import threading

import pytest

from conftest import PASSWORD, bearer
from kubewatch import credentials, hashing


def test_a_login_checks_its_password_on_a_hashing_worker(client, org, monkeypatch):
    threads = []
    real = credentials.password_matches
    monkeypatch.setattr(credentials, "password_matches",
                        lambda *args: threads.append(threading.current_thread()) or real(*args))
    response = client.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": PASSWORD})
    assert response.status_code == 200
    assert [thread.name.startswith("kubewatch-hash") for thread in threads] == [True]
    assert threads[0] is not threading.current_thread()


def test_past_the_queue_a_login_is_503_at_once(app, client, org, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(credentials, "password_matches", lambda *args: release.wait(10) and False)
    pool = app.extensions["kubewatch.hashing"]
    places = app.config["HASH_WORKERS"] + app.config["HASH_QUEUE"]
    def hold():
        with pool.place():
            pool.run(credentials.password_matches, None, "x")

    waiting = [threading.Thread(target=hold) for _ in range(places)]
    for thread in waiting:
        thread.start()
    try:
        for _ in range(100):  # until every place is taken
            if not pool._free._value:
                break
            threading.Event().wait(0.01)
        response = client.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": PASSWORD})
        assert response.status_code == 503 and response.headers["Retry-After"] == "1"
        assert response.json["message"] == "Too many passwords are being checked at once: retry in a moment."
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
        page = client.post("/login", data={"email": "admin@acme.test", "password": PASSWORD, "csrf_token": token})
        assert page.status_code == 503 and b"Too many sign-ins at once" in page.data
    finally:
        release.set()
        for thread in waiting:
            thread.join()
    monkeypatch.undo()
    assert client.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("workers, queue", [(1, 0), (2, 3)])
def test_the_pool_holds_workers_plus_queue_checks_at_most(workers, queue):
    pool = hashing.HashPool(workers, queue)
    started, release = threading.Semaphore(0), threading.Event()
    results = []

    def slow():
        started.release()
        release.wait(10)
        return "done"

    def hold():
        with pool.place():
            results.append(pool.run(slow))
    threads = [threading.Thread(target=hold) for _ in range(workers + queue)]
    for thread in threads:
        thread.start()
    for _ in range(workers):
        assert started.acquire(timeout=10)
    while pool._free._value:
        threading.Event().wait(0.01)
    with pytest.raises(hashing.Busy), pool.place():
        pass
    release.set()
    for thread in threads:
        thread.join()
    assert results == ["done"] * (workers + queue)


def test_a_new_password_is_hashed_on_a_hashing_worker(client, org, monkeypatch):
    threads = []
    real = credentials.hash_password
    monkeypatch.setattr(credentials, "hash_password", lambda *args: threads.append(threading.current_thread()) or real(*args))
    invited = client.post("/api/v1/users", json={"email": "new@acme.test", "role": "viewer"}, headers=bearer(org.admin))
    assert invited.status_code == 201
    assert [thread.name.startswith("kubewatch-hash") for thread in threads] == [True]


def test_a_hashing_thread_is_nicer_than_the_threads_that_serve_pushes():
    pool = hashing.HashPool(1, 0)
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    with pool.place():
        there = pool.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert there == min(19, here + hashing.HASHING_NICENESS)
