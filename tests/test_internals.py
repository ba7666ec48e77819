"""The private parts of Flask, webargs and marshmallow behind kubewatch/api/internals.py: still there, still as used."""

import inspect
from importlib.metadata import version

import flask
import pytest
from marshmallow import Schema, fields

from kubewatch.api import internals
from kubewatch.api.push_schema import ContainerSchema


@pytest.mark.parametrize("package", sorted(internals.CHECKED_AGAINST))
def test_the_installed_version_is_the_one_the_internals_were_checked_against(package):
    assert version(package) == internals.CHECKED_AGAINST[package], (
        f"{package} moved from {internals.CHECKED_AGAINST[package]}: read kubewatch/api/internals.py against "
        "its source, then update CHECKED_AGAINST")


def test_webargs_still_decodes_json_in_the_method_the_parser_overrides():
    base = internals.JSONParser.__mro__[1]
    assert list(inspect.signature(base._raw_load_json).parameters) == ["self", "req"]


def test_marshmallow_still_keeps_declared_fields_by_attribute_in_order():
    class Declared(Schema):
        second = fields.String(data_key="b")
        first = fields.Integer()

    declared = internals.declared_fields(Declared)
    assert list(declared) == ["second", "first"] and declared["second"].data_key == "b"
    assert list(internals.declared_fields(ContainerSchema))[:2] == ["runtime_id", "name"]


@pytest.mark.parametrize("method, parameters", [
    ("process_response", ["self", "response"]),
    ("handle_user_exception", ["self", "e"]),
    ("finalize_request", ["self", "rv", "from_error_handler"]),
])
def test_flask_still_has_the_request_steps_the_shortcut_drives(method, parameters):
    assert list(inspect.signature(getattr(flask.Flask, method)).parameters) == parameters


def test_flask_still_keeps_its_per_request_hooks_where_the_shortcut_looks():
    app = flask.Flask(__name__)
    assert internals.per_request_work(app) == []
    app.before_request(lambda: None)
    app.teardown_request(lambda error: None)
    app.url_value_preprocessor(lambda endpoint, values: None)
    assert internals.per_request_work(app) == ["before_request", "teardown_request", "url_value_preprocessor"]


def test_an_error_is_answered_through_flasks_handlers_then_its_hooks():
    app = flask.Flask(__name__)
    app.register_error_handler(KeyError, lambda error: ("handled", 418))
    app.after_request(lambda response: (response.headers.update({"X-Hook": "1"}), response)[1])
    with app.test_request_context():
        response = internals.as_flask_answers_error(app, KeyError("x"))
        assert (response.status_code, response.headers["X-Hook"]) == (418, "1")
        assert internals.as_flask_sends(app, app.make_response("ok")).headers["X-Hook"] == "1"
