"""Agents hold no connection between pushes, so a server serves many more agents than its connection_limit."""

import sys
import threading
from datetime import datetime, timedelta, timezone

import psutil

from agent_run import IDENTITY, FixedCollector
from kubewatch_agent.client import ServerClient
from kubewatch_agent.loop import Agent
from kubewatch_agent.sample import utc_timestamp
from live_server import LiveServer
from polling import wait_until


def open_connections(server):
    """Return how many TCP connections the server process holds on its port, listening socket aside."""
    return sum(1 for conn in psutil.Process(server.process.pid).net_connections("tcp")
               if conn.laddr and conn.laddr.port == server.port and conn.status != psutil.CONN_LISTEN)


CONNECTED_TO = []


def _note_connects(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        CONNECTED_TO.append(args[1][:2])


# Audit hooks stay for the life of the process: this one only notes where sockets connect.
sys.addaudithook(_note_connects)


def connections_made(server):
    """Return how many TCP connections this process has opened to the server so far."""
    return CONNECTED_TO.count(("127.0.0.1", server.port))


def sample_at(agent, started, seconds):
    """Return the agent's next push body, dated seconds after started (each push its own time)."""
    body = agent.sample()
    body["timestamp"] = utc_timestamp(started + timedelta(seconds=seconds))
    return body


def test_between_pushes_the_server_holds_no_connection_of_the_agent(db_engine, tmp_path):
    server = LiveServer(tmp_path).start()
    client = ServerClient(server.url, server.first_run_key())
    try:
        agent = Agent(client, FixedCollector(), dict(IDENTITY))
        connected_before = connections_made(server)  # LiveServer's own checks that it answers
        agent.register()
        started = datetime.now(timezone.utc) - timedelta(minutes=1)
        for n in range(3):  # a backlog, as after an outage
            agent.backlog.add(sample_at(agent, started, n))
        agent.attempt()
        assert len(agent.backlog) == 0 and agent.retry_at == 0.0
        # The registration and the three queued pushes went back to back on one connection ...
        assert connections_made(server) - connected_before == 1
        # ... closed once the last was answered: nothing held until the next push.
        wait_until(lambda: open_connections(server) == 0, "the server to close the agent's connection", 10,
                   explain=lambda: f"{open_connections(server)} open")
        agent.backlog.add(sample_at(agent, started, 3))
        agent.attempt()
        assert len(agent.backlog) == 0 and connections_made(server) - connected_before == 2
        wait_until(lambda: open_connections(server) == 0, "the server to close the agent's connection", 10,
                   explain=lambda: f"{open_connections(server)} open")
    finally:
        client.close()
        server.stop()
    assert server.rows("SELECT count(*) FROM pushes") == [(4,)]


def test_the_agent_lets_go_of_its_connection_when_the_server_says_try_later(db_engine, tmp_path):
    server = LiveServer(tmp_path, PUSHES_PER_INTERVAL=1, PUSH_INTERVAL_SECONDS=60).start()
    client = ServerClient(server.url, server.first_run_key())
    try:
        agent = Agent(client, FixedCollector(), dict(IDENTITY))
        agent.register()
        started = datetime.now(timezone.utc) - timedelta(minutes=1)
        agent.backlog.add(sample_at(agent, started, 0))
        agent.backlog.add(sample_at(agent, started, 1))
        agent.attempt()  # the second push is one too many this interval: 429, kept for later
        assert len(agent.backlog) == 1 and agent.retry_at > 0
        wait_until(lambda: open_connections(server) == 0, "the server to see the agent's connection closed", 10,
                   explain=lambda: f"{open_connections(server)} open")
    finally:
        client.close()
        server.stop()


def test_a_server_with_connection_limit_n_serves_five_times_n_agents_pushing(db_engine, tmp_path):
    limit, rounds = 4, 3
    server = LiveServer(tmp_path, CONNECTION_LIMIT=limit).start()
    key = server.first_run_key()
    agents = [Agent(ServerClient(server.url, key, timeout=(5, 20)), FixedCollector(),
                    {**IDENTITY, "name": f"agent-{i}", "hostname": f"host-{i}"}) for i in range(5 * limit)]
    # Every agent waits for all the others between its pushes: an agent that kept its connection
    # open meanwhile would keep the others past the limit from being served at all.
    between_pushes = threading.Barrier(len(agents), timeout=60)
    failures, started = [], datetime.now(timezone.utc) - timedelta(minutes=1)

    def push_rounds(agent):
        for round_number in range(rounds):
            agent.backlog.add(sample_at(agent, started, round_number))
            agent.attempt()
            if len(agent.backlog) or agent.retry_at:
                failures.append(agent.report.last_error)
                between_pushes.abort()
                return
            between_pushes.wait()

    threads = [threading.Thread(target=push_rounds, args=(agent,)) for agent in agents]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        for agent in agents:
            agent.client.close()
        server.stop()
    assert failures == []
    registered = server.rows("SELECT count(*) FROM agents")
    pushed = server.rows("SELECT agent_id, count(*) FROM pushes GROUP BY agent_id")
    assert registered == [(5 * limit,)] and len(pushed) == 5 * limit
    assert all(count == rounds for _, count in pushed)
