"""Figures in a push body that are no possible number at all: left out as not measured, the rest kept.

PushSchema refuses a negative, NaN or infinite figure, one too large for a double, and a count
past 2^63-1 (SQLite's INTEGER). Such a figure cannot be true, and an agent that sends one (a
counter read wrapped) should not lose the rest of its push for it: the push view leaves it out,
as kubewatch/plausible.py does with numbers that are possible but not for that object.
"""

import math

from marshmallow import fields, validate

from kubewatch.api.fields import Number
from kubewatch.api.internals import declared_fields
from kubewatch.api.push_schema import ContainerSchema, NodeSchema, PodSchema
from kubewatch.plausible import Impossible


def _figures(schema, kind):
    """Return the payload names of a schema's fields of kind: Number ones, or counts (integers from 0)."""
    named = {}
    for attribute, field in declared_fields(schema).items():
        if isinstance(field, Number):
            named[field.data_key or attribute] = Number
        elif isinstance(field, fields.Integer) and any(
                isinstance(v, validate.Range) and v.min == 0 for v in field.validators):
            named[field.data_key or attribute] = fields.Integer
    return {name for name, found in named.items() if found is kind}


_NUMBERS = {"containers": _figures(ContainerSchema, Number), "nodes": _figures(NodeSchema, Number),
            "pods": _figures(PodSchema, Number)}
_COUNTS = {"containers": _figures(ContainerSchema, fields.Integer), "nodes": _figures(NodeSchema, fields.Integer),
           "pods": _figures(PodSchema, fields.Integer)}


def impossible_numbers(body, messages):
    """Return [(kind, index, field)] when every error PushSchema found in body is a figure that is no possible number.

    That is a JSON number refused for its value alone: below 0, NaN or infinite, too large for a
    double, or a count past 2^63-1 (a count that is a finite fraction is a wrong body, not a
    figure). Returns None when any error is of another sort: the push is refused as it is.
    """
    if not isinstance(body, dict) or not isinstance(messages, dict) or not set(messages) <= set(_NUMBERS):
        return None
    found = []
    for kind, by_index in messages.items():
        items = body.get(kind)
        if not isinstance(by_index, dict) or not isinstance(items, list):
            return None
        for index, errors in by_index.items():
            if not isinstance(index, int) or not isinstance(errors, dict) or not isinstance(items[index], dict):
                return None
            for field in errors:
                value = items[index].get(field)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    return None
                if field in _COUNTS[kind] and isinstance(value, float) and math.isfinite(value):
                    return None  # 1.5 bytes, 1e3 restarts: not a count
                if field not in _NUMBERS[kind] and field not in _COUNTS[kind]:
                    return None
                found.append((kind, index, field))
    return found


def left_out(body, found):
    """Set each found figure of body to None; return them as [Impossible], with their objects' identities."""
    impossible = []
    for kind, index, field in found:
        item = body[kind][index]
        identity = (f"{item.get('namespace')}/{item.get('name')}" if kind == "pods"
                    else item.get("id" if kind == "containers" else "name"))
        impossible.append(Impossible(kind, str(identity), field, item[field], "no possible number"))
        item[field] = None
    return impossible
