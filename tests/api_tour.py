"""A tour of the API with real data: every documented operation called, its answers kept in order of calls."""

import time

from conftest import PASSWORD, bearer, container

MINUTE = 60


def _stamp(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _push_body(ts, restarts, status="running"):
    """Return a push at ts of two containers (one stopping), a node and a pod, with every field the API shows."""
    return {
        "timestamp": _stamp(ts),
        "containers": [
            container("c1", "web", cpuPercent=12.345, memoryMB=48.5, restartCount=restarts, health="healthy",
                      networkRxBytes=10240 + ts % 7 * 1000, networkTxBytes=8192 + ts % 5 * 333),
            container("c2", "batch", status=status, exitCode=None if status == "running" else 137,
                      oomKilled=status != "running", cpuPercent=0.1),
        ],
        "nodes": [{"name": "node-1", "status": "Ready", "kubeletVersion": "v1.30.1", "cpuCores": 4, "cpuPercent": 20.5,
                   "memoryMB": 2048.25, "memoryCapacityMB": 8192, "podCount": 3, "podCapacity": 110,
                   "networkRxBytes": 99000 + ts % 11, "networkTxBytes": 7000, "fsUsedBytes": 10**9,
                   "fsCapacityBytes": 10**10}],
        "pods": [{"name": "web-1", "namespace": "shop", "uid": "u-1", "nodeName": "node-1", "phase": "Running",
                  "ready": True, "containerCount": 2, "readyContainers": 2, "restartCount": restarts,
                  "cpuPercent": 2.25, "memoryMB": 64, "memoryLimitMB": 128, "networkRxBytes": 500 + ts % 3,
                  "networkTxBytes": 400}],
    }


def tour(app, org, receiver_url, now=None):
    """Call every documented operation of the API as org's admin and viewer; return [(label, response)].

    label is "METHOD /documented/path". now (default: the clock) dates the pushes: the last is at now.
    """
    now = int(time.time() if now is None else now)
    client, answers = org.client, []
    admin, viewer = bearer(org.admin), bearer(org.viewer)

    def call(label, path, headers=None, **kwargs):
        method = label.split(" ")[0]
        response = client.open(path, method=method, headers=headers if headers is not None else admin, **kwargs)
        answers.append((label, response))
        return response

    agent = call("POST /api/v1/agents/register", "/api/v1/agents/register", {"X-API-Key": org.api_key},
                 json={"name": "prod-web", "hostname": "prod-web-01", "version": "1.4.2", "platform": "docker"}).json
    agent_id, token = agent["agentId"], bearer(agent["token"])
    pushes = [now - 3 * MINUTE, now - 2 * MINUTE, now - MINUTE, now]
    for index, ts in enumerate(pushes):
        call("POST /api/v1/agents/{agent_id}/push", f"/api/v1/agents/{agent_id}/push", token,
             json=_push_body(ts, restarts=index // 2, status="running" if index < 3 else "exited"))
    call("GET /healthz", "/healthz", {})
    call("GET /metrics", "/metrics")
    call("GET /api/v1/agents", "/api/v1/agents", viewer)
    call("GET /api/v1/agents/{agent_id}", f"/api/v1/agents/{agent_id}", viewer)
    call("GET /api/v1/agents/{agent_id}", "/api/v1/agents/agent_missing", viewer)
    base = f"/api/v1/agents/{agent_id}"
    for query in ("", "?status=running", "?status=exited"):
        call("GET /api/v1/agents/{agent_id}/containers", f"{base}/containers{query}", viewer)
    call("GET /api/v1/agents/{agent_id}/nodes", f"{base}/nodes", viewer)
    for query in ("", "?namespace=shop", "?namespace=none"):
        call("GET /api/v1/agents/{agent_id}/pods", f"{base}/pods{query}", viewer)
    window = f"from={_stamp(now - 10 * MINUTE)}&to={_stamp(now)}"
    for query in ("", f"?{window}", f"?{window}&step=1m", f"?{window}&step=5m", f"?{window}&step=1h",
                  "?step=0", f"?from={_stamp(now)}&to={_stamp(now - MINUTE)}"):
        call("GET /api/v1/agents/{agent_id}/containers/{container_id}/metrics", f"{base}/containers/c1/metrics{query}",
             viewer)
        call("GET /api/v1/agents/{agent_id}/nodes/{name}/metrics", f"{base}/nodes/node-1/metrics{query}", viewer)
        call("GET /api/v1/agents/{agent_id}/pods/{namespace}/{name}/metrics", f"{base}/pods/shop/web-1/metrics{query}",
             viewer)
        call("GET /api/v1/agents/{agent_id}/metrics", f"{base}/metrics{query}", viewer)
    call("GET /api/v1/agents/{agent_id}/containers/{container_id}/metrics", f"{base}/containers/none/metrics", viewer)

    call("POST /api/v1/auth/login", "/api/v1/auth/login", {}, json={"email": "nobody@x.test", "password": "wrong"})
    key = call("POST /api/v1/api-keys", "/api/v1/api-keys", json={"name": "ci", "scope": "read"}).json
    call("GET /api/v1/api-keys", "/api/v1/api-keys")
    call("DELETE /api/v1/api-keys/{key_id}", f"/api/v1/api-keys/{key['id']}")
    call("DELETE /api/v1/api-keys/{key_id}", "/api/v1/api-keys/key_missing")

    invited = call("POST /api/v1/users", "/api/v1/users", json={"email": "new@acme.test", "role": "viewer"}).json
    typed = call("POST /api/v1/users", "/api/v1/users", json={"email": "typed@acme.test", "role": "viewer",
                                                              "password": "a typed long password"}).json
    call("POST /api/v1/users", "/api/v1/users", json={"email": "new@acme.test", "role": "viewer"})
    call("GET /api/v1/users", "/api/v1/users")
    call("PATCH /api/v1/users/{user_id}", f"/api/v1/users/{invited['id']}", json={"role": "admin"})
    call("PATCH /api/v1/users/{user_id}", "/api/v1/users/usr_missing", json={"role": "admin"})
    call("POST /api/v1/users/{user_id}/password", f"/api/v1/users/{invited['id']}/password", json={})
    call("POST /api/v1/users/{user_id}/password", f"/api/v1/users/{typed['id']}/password",
         json={"password": "another long password"})
    call("DELETE /api/v1/users/{user_id}", f"/api/v1/users/{typed['id']}")
    call("DELETE /api/v1/users/{user_id}", "/api/v1/users/usr_missing")
    call("PUT /api/v1/users/me/password", "/api/v1/users/me/password", viewer,
         json={"currentPassword": "not it", "newPassword": "a new long password"})

    channel = call("POST /api/v1/notification-channels", "/api/v1/notification-channels",
                   json={"name": "hook", "url": receiver_url}).json
    call("GET /api/v1/notification-channels", "/api/v1/notification-channels", viewer)
    call("POST /api/v1/notification-channels/{channel_id}/test",
         f"/api/v1/notification-channels/{channel['id']}/test")
    call("POST /api/v1/notification-channels/{channel_id}/test", "/api/v1/notification-channels/chan_missing/test")
    rule = call("POST /api/v1/alert-rules", "/api/v1/alert-rules", json={
        "name": "busy", "kind": "cpu_above", "threshold": 10, "forSeconds": 0, "channels": [channel["id"]]}).json
    stopped = call("POST /api/v1/alert-rules", "/api/v1/alert-rules", json={
        "name": "stopped", "kind": "container_stopped", "agentId": agent_id, "match": "batch*"}).json
    call("POST /api/v1/alert-rules", "/api/v1/alert-rules", json={"name": "bad", "kind": "cpu_above"})
    call("GET /api/v1/alert-rules", "/api/v1/alert-rules", viewer)
    call("PATCH /api/v1/alert-rules/{rule_id}", f"/api/v1/alert-rules/{stopped['id']}", json={"repeatSeconds": 3600})
    call("PATCH /api/v1/alert-rules/{rule_id}", "/api/v1/alert-rules/rule_missing", json={"enabled": False})
    from kubewatch.alerting.evaluate import Evaluator
    with app.app_context():
        Evaluator().run(app.config, now)
    for query in ("", "?state=firing", "?state=resolved"):
        call("GET /api/v1/alerts", f"/api/v1/alerts{query}", viewer)
    silence = call("POST /api/v1/silences", "/api/v1/silences", json={
        "agentId": agent_id, "until": _stamp(now + 3600), "comment": "maintenance"}).json
    call("POST /api/v1/silences", "/api/v1/silences", json={"until": _stamp(now + 3600), "ruleId": "rule_missing"})
    call("GET /api/v1/silences", "/api/v1/silences", viewer)
    call("DELETE /api/v1/silences/{silence_id}", f"/api/v1/silences/{silence['id']}")
    call("DELETE /api/v1/silences/{silence_id}", "/api/v1/silences/silence_missing")
    call("DELETE /api/v1/alert-rules/{rule_id}", f"/api/v1/alert-rules/{rule['id']}")
    call("GET /api/v1/alerts", "/api/v1/alerts", viewer)
    call("DELETE /api/v1/alert-rules/{rule_id}", "/api/v1/alert-rules/rule_missing")
    call("DELETE /api/v1/notification-channels/{channel_id}", f"/api/v1/notification-channels/{channel['id']}")
    call("DELETE /api/v1/notification-channels/{channel_id}", "/api/v1/notification-channels/chan_missing")

    call("POST /api/v1/auth/login", "/api/v1/auth/login", {}, json={"email": f"viewer@{org.name}.test",
                                                                    "password": PASSWORD})
    gone = org.register(name="gone", hostname="gone-01")
    call("DELETE /api/v1/agents/{agent_id}", f"/api/v1/agents/{gone['agentId']}")
    call("DELETE /api/v1/agents/{agent_id}", f"/api/v1/agents/{gone['agentId']}")
    call("PUT /api/v1/users/me/password", "/api/v1/users/me/password", viewer,
         json={"currentPassword": PASSWORD, "newPassword": "a new long password"})
    return answers
