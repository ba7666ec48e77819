"""Rows turned into API objects, field by field as the response schemas that document them say.

A schema's marshmallow dump is the reference. Answers of many rows (a thousand agents, a day of
one-minute points) take a fast path read once from the same schema: each field's API name, the
row key it comes from and its conversion; marshmallow's dump of them took longer than the query.
tests/test_api_answers.py proves that both give the same objects.
"""

from flask import jsonify
from marshmallow import fields

from kubewatch.api.fields import EpochTime, StoredBoolean
from kubewatch.api.precision import Rounded


def _boolean(value):
    return None if value is None else bool(value)  # as StoredBoolean dumps it


def _converted(field, value, scope):
    """Return Python source of value (an expression) as field dumps it, adding what it calls to scope."""
    if isinstance(field, EpochTime):
        scope["epoch_time"] = EpochTime.format
        return f"epoch_time({value})"
    if isinstance(field, Rounded):  # inline: a call per figure cost a tenth of a day of points' answer
        return f"(round(v, {field.places}) if type(v := {value}) is float else v)"
    if isinstance(field, StoredBoolean):
        scope["boolean"] = _boolean
        return f"boolean({value})"
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        name = f"each_{len(scope)}"
        scope[name] = Shape(field.inner.schema)
        return f"[{name}(item) for item in {value}]"
    return None  # text, integers, numbers and mappings: the row holds them as the API shows them


class Shape:
    """A response schema read once: shape(row) is the API object that schema.dump(row) gives, faster.

    The row holds every field under its attribute (or its name). A row already named as the API
    names it, holding only the schema's fields, is converted in place; the rest become a new dict
    with the schema's fields in its order.
    """

    def __init__(self, schema):
        self.schema = schema() if isinstance(schema, type) else schema
        dumped = self.schema.dump_fields
        self.names = tuple(field.data_key or name for name, field in dumped.items())
        sources = tuple(field.attribute or name for name, field in dumped.items())
        self._renamed = self.names != sources
        self._build = (_dict_display if self._renamed else _in_place)(self.names, sources, dumped.values())

    def __call__(self, row):
        """Return row as the API shows it."""
        return self._build(row)

    def many(self, rows):
        """Return the JSON response of rows as a list of API objects; flask-smorest passes it through."""
        return jsonify([self(row) for row in rows])

    def one(self, row):
        """Return the JSON response of one row as an API object."""
        return jsonify(self(row))


def _dict_display(names, sources, dumped):
    """Return a function of a row written as a hand-made one would be: {"name": convert(row["source"]), ...}.

    Generated from the schema's fields, so that the names are still set once: a loop over the fields
    took twice as long as the hand-made dict for a thousand agents.
    """
    scope, items = {}, []
    for name, source, field in zip(names, sources, dumped):
        value = f"row[{source!r}]"
        items.append(f"{name!r}: {_converted(field, value, scope) or value}")
    return _compiled(f"    return {{{', '.join(items)}}}", scope)


def _in_place(names, sources, dumped):
    """Return a function converting a row already named as the API names it, in place; raw points lack maxima."""
    scope, lines = {}, []
    for name, field in zip(names, dumped):
        converted = _converted(field, f"row[{name!r}]", scope)
        if converted:
            lines.append(f"    if {name!r} in row:\n        row[{name!r}] = {converted}")
    return _compiled("\n".join(lines + ["    return row"]), scope)


def _compiled(body, scope):
    exec(f"def build(row):\n{body}\n", scope)
    return scope["build"]
