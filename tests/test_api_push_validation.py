"""The fast push loader accepts and rejects exactly what PushSchema does, and loads the same."""

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from conftest import bearer, container, sample_push
from kubewatch.api.push_schema import PushSchema
from kubewatch.api.push_validation import as_loaded, fast_load

SCHEMA = PushSchema()
SETTINGS = settings(max_examples=1500, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck))

good_text = st.text(min_size=1, max_size=20)
wrong = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=3), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=2), st.integers(), max_size=1), st.integers(2**62, 2**1100))
number = st.one_of(st.floats(min_value=0, max_value=1e300), st.integers(0, 2**80), st.none())
counter = st.one_of(st.integers(0, 2**63 - 1), st.none())
unknown = {"unknownField": st.integers(), "labels": st.dictionaries(good_text, good_text, max_size=2)}

# An identity is one segment of its series URL: never "/", ".", "..".
segment = st.text(min_size=1, max_size=128).filter(lambda text: "/" not in text and text not in (".", ".."))
CONTAINER = ({"id": segment, "name": st.text(min_size=1, max_size=255)}, {
    "image": st.one_of(st.text(max_size=512), st.none()), "status": st.sampled_from(["running", "exited", ""]),
    "cpuPercent": number, "memoryMB": number, "memoryLimitMB": number, "networkRxBytes": counter,
    "networkTxBytes": counter, "restartCount": counter})
NODE = ({"name": st.sampled_from(["n1", "n2", "n3"])}, {
    "status": st.sampled_from(["Ready", "NotReady", "Unknown", None]), "kubeletVersion": good_text,
    "cpuCores": number, "cpuPercent": number, "memoryMB": number, "memoryCapacityMB": number,
    "podCount": counter, "podCapacity": counter, "networkRxBytes": counter, "networkTxBytes": counter,
    "fsUsedBytes": counter, "fsCapacityBytes": counter})
POD = ({"name": st.sampled_from(["p1", "p2"]), "namespace": st.sampled_from(["default", "shop"])}, {
    "uid": good_text, "nodeName": good_text, "phase": st.sampled_from(["Pending", "Running", "Unknown"]),
    "ready": st.sampled_from([True, False, None, 0, 1, 1.0]), "containerCount": counter,
    "readyContainers": counter, "restartCount": counter, "cpuPercent": number, "memoryMB": number,
    "memoryLimitMB": number, "networkRxBytes": counter, "networkTxBytes": counter})
BAD_VALUES = {"id": st.sampled_from(["", "x" * 129, "a/b", "/", ".", "..", "x" * 127 + "/"]), "name": st.sampled_from(["", "x" * 256]),
              "status": st.sampled_from(["x" * 33, "Fine", "Sleeping"]), "phase": st.just("Sleeping"),
              "ready": st.sampled_from([2, "true", -1])}


def objects(spec, bad):
    """Objects of spec with unknown fields beside them; when bad, any value may be wrong or left out."""
    required, optional = spec
    value = (lambda name, good: st.one_of(good, good, wrong, BAD_VALUES.get(name, wrong))) if bad else (
        lambda name, good: good)
    fields = {name: value(name, good) for name, good in required.items()}
    if bad:  # a required field may be missing too
        return st.fixed_dictionaries({}, optional={**fields, **{n: value(n, g) for n, g in optional.items()}, **unknown})
    return st.fixed_dictionaries(fields, optional={**{n: value(n, g) for n, g in optional.items()}, **unknown})


def push_bodies(bad):
    """Push bodies: all valid, or each part possibly wrong."""
    def listed(spec, identity):
        items = st.lists(objects(spec, bad), max_size=4, unique_by=None if bad else identity)
        return st.one_of(items, items, wrong) if bad else items
    timestamp = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    if bad:
        timestamp = st.one_of(timestamp, st.sampled_from(
            ["2026-06-16T10:00:00", "2026-06-16", "", "yesterday", "2026-13-01T00:00:00Z"]), wrong)
    return st.fixed_dictionaries(
        {"timestamp": timestamp, "containers": listed(CONTAINER, lambda c: c["id"])},
        optional={"nodes": listed(NODE, lambda n: n["name"]),
                  "pods": listed(POD, lambda p: (p["namespace"], p["name"])), "kernel": good_text},
    )


def reference(body):
    """Return what PushSchema loads from a body (as the server parses its JSON), or None when it refuses."""
    try:
        return as_loaded(SCHEMA.load(json.loads(encoded(body))))
    except ValidationError:
        return None


def encoded(body):
    return json.dumps(body).encode()  # NaN and Infinity as Python's json writes them


KNOWN = {"push": {"timestamp", "containers", "nodes", "pods"}, "containers": set(CONTAINER[0]) | set(CONTAINER[1]),
         "nodes": set(NODE[0]) | set(NODE[1]), "pods": set(POD[0]) | set(POD[1])}


def unknown_fields(body):
    """Whether the body or one of its objects has a field PushSchema does not know (and ignores)."""
    if set(body) - KNOWN["push"]:
        return True
    return any(isinstance(body.get(kind), list) and any(isinstance(item, dict) and set(item) - KNOWN[kind]
                                                        for item in body[kind]) for kind in ("containers", "nodes", "pods"))


def left_to_the_schema(body):
    """Whether fast_load leaves a valid body to PushSchema: a numeric ready, or fields it does not know."""
    return numeric_ready(body) or unknown_fields(body)


def numeric_ready(body):
    """Whether a pod's ready is 1, 0, 1.0 or 0.0, which the schema takes and fast_load leaves to it."""
    pods = body.get("pods") if isinstance(body, dict) else None
    return isinstance(pods, list) and any(isinstance(p, dict) and type(p.get("ready")) in (int, float) for p in pods)


seen = {"valid": 0, "invalid": 0, "fast valid": 0}


@SETTINGS
@given(push_bodies(bad=False))
def test_fast_loader_takes_every_valid_body_as_the_schema_loads_it(body):
    expected = reference(body)
    assert expected is not None
    assert fast_load(encoded(body)) == (None if left_to_the_schema(body) else expected)
    seen["fast valid"] += not left_to_the_schema(body)


@SETTINGS
@given(push_bodies(bad=True))
def test_fast_loader_never_takes_a_body_the_schema_refuses_or_loads_differently(body):
    expected, fast = reference(body), fast_load(encoded(body))
    if expected is None:
        assert fast is None
        seen["invalid"] += 1
    else:
        assert fast == expected or (fast is None and left_to_the_schema(body))
        seen["valid"] += 1


def test_the_bodies_with_wrong_parts_were_mostly_refused():
    # Guards the test above: it must have compared many invalid bodies, and a valid one or more
    # (the test before it compares 1,500 valid ones).
    assert seen["invalid"] >= 1000 and seen["valid"] >= 1 and seen["fast valid"] >= 300, seen


@pytest.mark.parametrize("body", [None, [], "text", 5, {"timestamp": "2026-06-16T10:00:00Z"},
                                  {"timestamp": "2026-06-16T10:00:00Z", "containers": [container("c", "n", cpuPercent=math.nan)]}])
def test_fast_loader_defers_what_is_not_a_valid_push(body):
    assert fast_load(encoded(body)) is None
    assert reference(body) is None


@pytest.mark.parametrize("raw", [b"", b"{", b'{"timestamp": "2026-06-16T10:00:00Z", "containers": []', b"\xff\xfe",
                                 b'{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "\xff", "name": "n"}]}',
                                 b'{"timestamp": "2026-06-16T10:00:00Z", "containers": [], "x": ' + b"[" * 100000])
def test_fast_loader_defers_what_is_not_json(raw):
    assert fast_load(raw) is None


# What Python's json parser refuses but msgspec would skip unchecked in a field it does not know.
HIDDEN_IN_UNKNOWN = [b'"\xff"', b'"\xed\xa0\x80"', b'"\xc0\xaf"', b"1" + b"0" * 5000, b"[" * 900 + b"]" * 900,
                     b'{"\xff": 1}']


@pytest.mark.parametrize("value", HIDDEN_IN_UNKNOWN)
@pytest.mark.parametrize("where", ["top", "container"])
def test_a_body_with_fields_the_schema_does_not_know_is_left_to_it(value, where):
    if where == "top":
        raw = b'{"timestamp": "2026-06-16T10:00:00Z", "containers": [], "x": ' + value + b"}"
    else:
        raw = b'{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "c", "name": "n", "x": ' + value + b"}]}"
    assert fast_load(raw) is None


def test_a_body_with_an_unknown_field_is_stored_through_the_schema(client, org):
    agent = org.register()
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", headers=bearer(agent["token"]),
                           json={"timestamp": "2026-06-16T10:00:00Z", "kernel": "6.1",
                                 "containers": [container("c", "n", labels={"a": "b"})]})
    assert response.status_code == 200


@pytest.mark.parametrize("value", HIDDEN_IN_UNKNOWN[:4])
def test_bad_json_in_an_unknown_field_is_400(client, org, value):
    agent = org.register()
    raw = b'{"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "c", "name": "n", "x": ' + value + b"}]}"
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", headers=bearer(agent["token"]), data=raw,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json["errors"] == {"json": ["Invalid JSON body."]}


def test_a_50_container_push_takes_the_fast_path_and_loads_like_the_schema():
    body = {"timestamp": "2026-06-16T10:00:00Z", "containers": [container(f"c{i}", f"n{i}") for i in range(50)]}
    assert fast_load(encoded(body)) == as_loaded(SCHEMA.load(body))
    assert fast_load(encoded(body)).containers[0].memory_mb == 48.0
    assert type(fast_load(encoded(body)).containers[0].memory_mb) is float


def test_a_deferred_body_gets_the_schemas_field_errors(client, org):
    agent = org.register()
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", headers=bearer(agent["token"]),
                            json={"timestamp": "2026-06-16T10:00:00Z", "containers": [{"id": "c", "name": "n", "memoryMB": "48"}]})
    assert response.status_code == 400
    assert response.json["errors"] == {"json": {"containers": {"0": {"memoryMB": ["Not a valid number."]}}}}


@pytest.mark.parametrize("raw", ["5", "null", '"push"', "[" * 100000 + "]" * 100000])
def test_a_json_body_that_is_not_an_object_is_400(client, org, raw):
    agent = org.register()
    response = client.post(f"/api/v1/agents/{agent['agentId']}/push", headers=bearer(agent["token"]),
                           data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json["code"] == 400


@pytest.mark.parametrize("field, value", [("health", "sick"), ("exitCode", "137"), ("exitCode", 2**40),
                                          ("oomKilled", "yes")])
def test_a_bad_health_exit_code_or_oom_kill_is_a_400_that_stores_nothing(org, field, value):
    agent = org.register(name="strict")
    response = org.push(agent, sample_push(containers=[container("c1", "web", **{field: value})]))
    assert response.status_code == 400
    assert field in response.json["errors"]["json"]["containers"]["0"]
    listed = org.client.get(f"/api/v1/agents/{agent['agentId']}/containers", headers=bearer(org.viewer))
    assert listed.json == []
