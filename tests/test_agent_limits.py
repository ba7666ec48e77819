"""The agent says why the server refused its push: too many objects (413), too many pushes (429)."""

import logging

from agent_run import IDENTITY, FixedCollector
from kubewatch_agent.client import ServerClient
from kubewatch_agent.loop import Agent
from live_server import LiveServer


def test_the_agent_logs_the_servers_reason_for_413_and_429(db_engine, tmp_path, caplog):
    server = LiveServer(tmp_path, MAX_OBJECTS_PER_PUSH=1, PUSHES_PER_INTERVAL=1, PUSH_INTERVAL_SECONDS=60).start()
    client = ServerClient(server.url, server.first_run_key())
    try:
        agent = Agent(client, FixedCollector(), dict(IDENTITY))
        agent.register()
        with caplog.at_level(logging.INFO, "kubewatch_agent"):
            agent.backlog.add(agent.sample())  # two containers, one more than the server takes
            agent.attempt()
            assert len(agent.backlog) == 0  # dropped: it will never be taken
            agent.backlog.add(agent.sample())
            agent.attempt()  # the second push within the interval
            assert len(agent.backlog) == 1  # kept, to be sent once the server allows
    finally:
        client.close()
        server.stop()
    lines = [record.getMessage() for record in caplog.records]
    assert any("refused (413)" in line and "at most 1 are taken in one push (max_objects_per_push)" in line
               for line in lines), lines
    assert any("answered 429" in line and "More than 1 pushes in 60 s from this agent" in line for line in lines), lines
