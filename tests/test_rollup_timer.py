"""The real server rolls pushes up on its own timer, off the push path."""

import time

import requests

from kubewatch.api.fields import EpochTime
from live_server import LiveServer
from polling import wait_until


def test_the_server_rolls_up_past_minutes_by_itself(db_engine, tmp_path):
    server = LiveServer(tmp_path, ROLLUP_INTERVAL=1, ADMIN_PASSWORD="a long admin password").start()
    try:
        registered = requests.post(server.url + "/api/v1/agents/register", headers={"X-API-Key": server.first_run_key()},
                                   json={"name": "web", "hostname": "web-01"}).json()
        now = int(time.time())
        # Two minutes before this hour began: a whole minute, so the timer takes it, of an hour that was over
        # when the agent registered, so its hour is merged with it (an hour still open waits until it is over).
        minute = now - now % 3600 - 120
        for offset in (0, 15, 30, 45):
            response = requests.post(
                f"{server.url}/api/v1/agents/{registered['agentId']}/push",
                headers={"Authorization": f"Bearer {registered['token']}"},
                json={"timestamp": EpochTime.format(minute + offset),
                      "containers": [{"id": "c1", "name": "web", "cpuPercent": 10.0 * offset}]})
            assert response.status_code == 200
        def both_tiers():
            # The pushes are marked rolled up after their minute and hour are written, in a later transaction.
            if server.rows("SELECT COUNT(*) FROM pushes WHERE rolled_up = 0") != [(0,)]:
                return None
            found = server.rows("SELECT step, bucket, samples, cpu_percent_avg, cpu_percent_max "
                                 "FROM container_rollups ORDER BY step")
            return found if len(found) == 2 else None

        rolled = wait_until(both_tiers, "the timer to roll up a minute and an hour", 15, every=0.2)
        assert rolled == [(60, minute, 4, 225.0, 450.0), (3600, minute - minute % 3600, 4, 225.0, 450.0)]
    finally:
        server.stop()
