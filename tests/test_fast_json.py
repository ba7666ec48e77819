"""kubewatch/api/fast_json.py: the app's JSON, written by orjson, reads as the standard encoder's."""

import datetime
import decimal
import json

import pytest
from flask import jsonify


def test_a_response_is_json_with_a_newline_and_the_documented_field_order(app):
    body = {"z": 1, "a": [1.5, None, True], "m": {"nested": "é"}}
    with app.app_context():
        response = jsonify(body)
    assert response.mimetype == "application/json"
    assert response.get_data().endswith(b"\n")
    assert list(json.loads(response.get_data())) == ["z", "a", "m"]
    assert json.loads(response.get_data()) == body


def test_error_details_keyed_by_list_position_become_string_keys(app):
    with app.app_context():
        assert json.loads(app.json.dumps({"containers": {0: {"cpuPercent": ["bad"]}}})) == {
            "containers": {"0": {"cpuPercent": ["bad"]}}}


def test_dates_are_iso_8601_and_what_orjson_does_not_know_goes_to_flasks_default(app):
    with app.app_context():
        dumped = json.loads(app.json.dumps({"price": decimal.Decimal("1.50"), "day": datetime.date(2026, 6, 16)}))
    assert dumped == {"price": "1.50", "day": "2026-06-16"}


def test_something_no_encoder_knows_is_a_type_error(app):
    with app.app_context(), pytest.raises(TypeError):
        app.json.dumps({"x": object()})
