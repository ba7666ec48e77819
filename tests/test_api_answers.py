"""Rows turned into API objects: the fast path gives what the schemas' dumps give, and every answer keeps to
the OpenAPI document."""

import copy

import jsonschema_rs
import orjson
import pytest
from marshmallow import Schema, fields

from alerting_world import Receiver
from api_tour import tour
from kubewatch.api.answers import Shape
from kubewatch.api.fields import EpochTime, StoredBoolean
from kubewatch.api.metrics_schemas import LISTED, SERIES
from kubewatch.api.precision import Rounded
from kubewatch.api.push_schema import ContainerSchema, NodeSchema, PodSchema
from kubewatch.kinds import KINDS


class Inner(Schema):
    t = EpochTime()
    share = Rounded(2, allow_none=True)


class Row(Schema):
    id = fields.String()
    seenAt = EpochTime(attribute="seen_at", allow_none=True)
    ready = StoredBoolean(allow_none=True)
    share = Rounded(1, attribute="cpu", allow_none=True)
    count = fields.Integer(attribute="n")
    points = fields.List(fields.Nested(Inner))


def test_a_shape_dumps_a_row_as_its_schema_does_in_its_order():
    row = {"id": "a", "seen_at": 86400 + 3661, "ready": 1, "cpu": 0.1 + 0.2, "n": 3, "extra": "not shown",
           "points": [{"t": 0, "share": 1 / 3}, {"t": 60}]}
    expected = Row().dump(copy.deepcopy(row))
    shown = Shape(Row)(row)
    assert shown == expected == {
        "id": "a", "seenAt": "1970-01-02T01:01:01Z", "ready": True, "share": 0.3, "count": 3,
        "points": [{"t": "1970-01-01T00:00:00Z", "share": 0.33}, {"t": "1970-01-01T00:01:00Z"}]}
    assert list(shown) == list(expected) and shown["ready"] is expected["ready"] is True


def test_a_shape_keeps_nulls_and_integers_where_rounding_finds_no_float():
    row = {"id": "b", "seen_at": None, "ready": None, "cpu": None, "n": 0, "points": [{"t": 0, "share": 2}]}
    assert Shape(Row)(copy.deepcopy(row)) == Row().dump(row)
    assert type(Shape(Row)(copy.deepcopy(row))["points"][0]["share"]) is int


def test_a_row_named_as_the_api_names_it_is_converted_in_place():
    point = {"t": 120, "share": 0.125}
    assert Shape(Inner)(point) is point
    assert point == {"t": "1970-01-01T00:02:00Z", "share": 0.12}


@pytest.mark.parametrize("kind, pushed", [("containers", ContainerSchema), ("nodes", NodeSchema),
                                          ("pods", PodSchema)])
def test_a_metric_is_named_once_in_kinds_and_the_push_and_listed_schemas_follow(kind, pushed):
    fields_of_push = pushed().fields
    listed = LISTED[kind].schema.fields
    for metric in KINDS[kind].metrics:
        assert fields_of_push[metric.column].data_key == metric.field
        assert listed[metric.column].data_key == metric.field
    point = SERIES[kind].schema.fields["points"].inner.schema.fields
    assert set(point) >= {metric.field for metric in KINDS[kind].metrics if metric.how != "counter"}


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def dumped(monkeypatch):
    """Record every row a Shape turns into an API object, with its schema's dump of the same row."""
    seen = []
    fast = Shape.__call__

    def recording(shape, row):
        before = copy.deepcopy(row)
        shown = fast(shape, row)
        seen.append((shape, copy.deepcopy(shown), shape.schema.dump(before)))
        return shown

    monkeypatch.setattr(Shape, "__call__", recording)
    return seen


def test_every_fast_answer_of_the_tour_is_its_schemas_dump(app, org, receiver, dumped):
    tour(app, org, receiver.url("hook"))
    shapes = {type(shape.schema).__name__ for shape, _, _ in dumped}
    assert shapes >= {"AgentSchema", "AgentDetailSchema", "AlertSchema", "ListedContainer", "ListedNode", "ListedPod",
                      "ContainerSeries", "NodeSeries", "PodSeries", "TotalSeries", "ContainerPoint", "NodePoint",
                      "PodPoint", "TotalPoint"}
    assert len(dumped) > 80
    for shape, shown, expected in dumped:
        assert same_json(orjson.loads(orjson.dumps(shown)), expected), (type(shape.schema).__name__, shown, expected)
        if shape._renamed:
            assert list(shown) == list(expected)


def same_json(left, right):
    """Return whether two decoded JSON values are the same: 3 and 3.0 are one number (marshmallow's Float makes
    the row's 3 into 3.0), but true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict):
        return isinstance(right, dict) and left.keys() == right.keys() and all(
            same_json(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(map(same_json, left, right))
    return left == right and (type(left) is type(right) or {type(left), type(right)} == {int, float})


def test_the_comparison_of_answers_tells_a_boolean_from_a_number_but_not_3_from_3_point_0():
    assert same_json({"a": [3, None, "x"]}, {"a": [3.0, None, "x"]})
    assert not same_json({"ready": 1}, {"ready": True})
    assert not same_json({"a": 1}, {"a": 1, "b": None})
    assert not same_json(["1"], [1])


def _json_schema(node, components):
    """Return an OpenAPI 3.0 schema as JSON Schema: references inlined, nullable as a null type."""
    if isinstance(node, list):
        return [_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    converted = {key: ({name: _json_schema(value, components) for name, value in node[key].items()}
                       if key == "properties" else _json_schema(value, components))
                 for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def _documented(document, label, status):
    """Return the documented response of an operation for a status (or its default), references followed."""
    method, path = label.split(" ")
    responses = document["paths"][path][method.lower()]["responses"]
    response = responses.get(str(status)) or responses["default"]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_every_answer_of_every_documented_operation_keeps_to_its_schema(app, org, client, receiver):
    document = client.get("/api/v1/openapi.json").json
    components = document["components"]["schemas"]
    answered = tour(app, org, receiver.url("hook"))
    operations = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
                  if method != "parameters"}
    assert {label for label, response in answered if response.status_code < 300} == operations
    checked = 0
    for label, response in answered:
        documented = _documented(document, label, response.status_code)
        content = documented.get("content")
        if content is None:
            assert response.status_code == 204 and response.data == b"", label
            continue
        media = response.mimetype
        assert media in content, (label, response.status_code, media)
        if media != "application/json":
            continue
        validator = jsonschema_rs.validator_for(_json_schema(content[media]["schema"], components),
                                                validate_formats=True)
        errors = [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(response.json)]
        assert errors == [], (label, response.status_code, response.json)
        checked += 1
    assert checked > 80
