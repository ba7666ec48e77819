"""Loading a push body fast: a validator that accepts exactly what PushSchema accepts.

PushSchema stays the schema of record (it documents the API); marshmallow spends about 2 ms on
a 50-container push, most of the push path. fast_load accepts a valid body in a tenth of that
and answers None for anything it is not sure of, which then goes through PushSchema and gets
its field-by-field errors. tests/test_api_push_validation.py feeds both the same bodies.
"""

import math
from datetime import datetime

from flask import request
from flask_smorest import abort
from marshmallow import ValidationError, missing

from kubewatch.api.fields import MAX_INTEGER
from kubewatch.api.push_schema import ContainerSchema, NodeSchema, PodSchema, PushSchema

_SCHEMA = PushSchema()
_ABSENT = object()
TEXT, NUMBER, INTEGER, BOOLEAN = "text", "number", "integer", "boolean"


def _rules(schema):
    """Return {json name: (attribute, kind, required, min length, max length, choices)} of a schema."""
    rules = {}
    for attribute, field in schema._declared_fields.items():
        kind = {"String": TEXT, "Number": NUMBER, "Integer": INTEGER, "Boolean": BOOLEAN}[type(field).__name__]
        lengths = [v for v in field.validators if hasattr(v, "max") and kind == TEXT]
        choices = [v.choices for v in field.validators if hasattr(v, "choices")]
        rules[field.data_key or attribute] = (
            attribute, kind, field.required,
            lengths[0].min if lengths else 0, lengths[0].max if lengths else math.inf,
            frozenset(choices[0]) if choices else None,
        )
    return rules


def _spec(schema):
    """Return (rules, the json names every object must have) of a schema."""
    rules = _rules(schema)
    return rules, frozenset(name for name, rule in rules.items() if rule[2])


_CONTAINER, _NODE, _POD = _spec(ContainerSchema), _spec(NodeSchema), _spec(PodSchema)


def _load_objects(items, spec):
    """Return the loaded objects, or None when any of them may be invalid."""
    # One loop with the checks inline: this runs for every field of every container of every push.
    if type(items) is not list:
        return None
    rules, required = spec
    loaded = []
    for item in items:
        if type(item) is not dict or not required <= item.keys():
            return None
        out = {}
        for name, value in item.items():
            rule = rules.get(name)
            if rule is None:
                continue  # unknown fields are ignored
            attribute, kind, is_required, min_length, max_length, choices = rule
            if value is None:
                if is_required:
                    return None
                out[attribute] = None
                continue
            kind_of = type(value)
            if kind is NUMBER:
                if kind_of is float:
                    if not 0 <= value < math.inf:  # also false for NaN
                        return None
                elif kind_of is int and 0 <= value < 2**1023:
                    value = float(value)
                else:
                    return None
            elif kind is INTEGER:
                if kind_of is not int or not 0 <= value <= MAX_INTEGER:
                    return None
            elif kind is TEXT:
                if kind_of is not str or not min_length <= len(value) <= max_length \
                        or (choices is not None and value not in choices):
                    return None
            # marshmallow's Boolean(truthy={True}, falsy={False}) also takes 1, 0, 1.0 and 0.0, as == does
            elif kind_of in (bool, int, float) and value in (True, False):
                value = bool(value)
            else:
                return None
            out[attribute] = value
        loaded.append(out)
    return loaded


def _unique(items, identity):
    keys = [identity(item) for item in items]
    return len(set(keys)) == len(keys)


def fast_load(body):
    """Return the body as PushSchema would load it, or None when it may be invalid."""
    if type(body) is not dict or type(body.get("timestamp")) is not str:
        return None
    try:
        timestamp = datetime.fromisoformat(body["timestamp"])
    except ValueError:
        return None
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        return None
    containers = _load_objects(body.get("containers"), _CONTAINER)
    nodes = _load_objects(body.get("nodes", []), _NODE)
    pods = _load_objects(body.get("pods", []), _POD)
    if containers is None or nodes is None or pods is None:
        return None
    if not (_unique(containers, lambda c: c["runtime_id"]) and _unique(nodes, lambda n: n["name"])
            and _unique(pods, lambda p: (p["namespace"], p["name"]))):
        return None
    return {"timestamp": timestamp, "containers": containers, "nodes": nodes, "pods": pods}


def load_push(parser):
    """Return the request's push body, loaded; abort 400 with field-by-field errors when invalid."""
    body = parser.load_json(request, _SCHEMA)  # aborts 400 on malformed JSON, like every endpoint
    loaded = fast_load(body)
    if loaded is not None:
        return loaded
    try:
        return _SCHEMA.load({} if body is missing else body)
    except ValidationError as error:
        abort(400, errors={"json": error.messages})
