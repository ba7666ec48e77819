"""Loading a push body fast, with types built from PushSchema's own fields.

PushSchema stays the schema of record (it documents the API), but marshmallow spends about
2 ms on a 50-container push. msgspec decodes and checks the same body straight from its bytes
in about 50 microseconds, with types derived here from the schema's fields, so each rule is
written once. fast_load answers None for anything they refuse, which then goes through
PushSchema and gets its field-by-field errors, as does any body with a field PushSchema does
not know (and ignores). tests/test_api_push_validation.py feeds both the same bodies.
"""

import re
import sys
from datetime import datetime
from typing import Annotated, Literal, NamedTuple, Optional

import msgspec
from flask import request
from flask_smorest import abort
from marshmallow import ValidationError, fields, missing, validate

from kubewatch.api.fields import PATH_SEGMENT
from kubewatch.api.impossible_numbers import impossible_numbers, left_out
from kubewatch.api.internals import declared_fields
from kubewatch.api.push_schema import ContainerSchema, NodeSchema, PodSchema, PushSchema

_SCHEMA = PushSchema()


class LoadedPush(NamedTuple):
    timestamp: datetime
    containers: list  # of Container, with one attribute per ContainerSchema field
    nodes: list  # of Node
    pods: list  # of Pod
    impossible: tuple = ()  # of plausible.Impossible: figures that were no possible number, left out


def _checked(kind, field):
    """Return kind with the bounds of the field's Length or Range validator."""
    bounds = {}
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.equal is None:
            bounds.update(min_length=validator.min or 0, max_length=validator.max)
        elif isinstance(validator, validate.Range) and validator.min_inclusive and validator.max_inclusive:
            bounds.update(ge=validator.min, le=validator.max)
        elif validator is PATH_SEGMENT:
            continue  # checked after decoding, in C, by _fit_in_url: msgspec's regex per string doubled the decode
        elif isinstance(validator, validate.Regexp) and not validator.regex.flags & ~re.UNICODE:
            bounds.update(pattern=validator.regex.pattern)  # anchored at both ends: search and match agree
        elif not isinstance(validator, validate.OneOf):
            raise TypeError(f"no msgspec equivalent for {validator!r}")
    if kind is float:
        # marshmallow refuses what overflows to infinity; msgspec would take it without this bound.
        bounds["le"] = sys.float_info.max if bounds.get("le") is None else min(bounds["le"], sys.float_info.max)
    bounds = {name: value for name, value in bounds.items() if value is not None}
    return Annotated[kind, msgspec.Meta(**bounds)] if bounds else kind


def _type(field):
    """Return the msgspec type of a marshmallow field: it accepts what the field accepts, or less."""
    choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
    if choices:
        kind = Literal[tuple(choices[0])]
    elif isinstance(field, fields.String):
        kind = _checked(str, field)
    elif isinstance(field, fields.Integer) and field.strict:
        kind = _checked(int, field)
    elif isinstance(field, fields.Float):
        kind = _checked(float, field)
    elif isinstance(field, fields.Boolean):
        # marshmallow's truthy {True} also takes 1 and 1.0; those rare bodies go through the schema.
        kind = bool
    else:
        raise TypeError(f"no msgspec equivalent for {field!r}")
    return Optional[kind] if field.allow_none else kind


def _struct(schema):
    """Return a msgspec Struct with one attribute per field of a marshmallow schema."""
    attributes = []
    for attribute, field in declared_fields(schema).items():
        where = msgspec.field(name=field.data_key or attribute) if field.required else msgspec.field(
            default=None, name=field.data_key or attribute)
        attributes.append((attribute, _type(field), where))
    # Sorted so that the required attributes, which have no default, come first.
    attributes.sort(key=lambda a: a[2].default is not msgspec.NODEFAULT)
    # gc=False: plain values only, so never in a cycle; the collector then never walks them.
    return msgspec.defstruct(schema.__name__.removesuffix("Schema"), attributes, gc=False,
                             forbid_unknown_fields=True)


Container, Node, Pod = _struct(ContainerSchema), _struct(NodeSchema), _struct(PodSchema)
# {kind: attributes whose value names the object in its URL}, as PATH_SEGMENT marks them.
_IN_URL = {kind: tuple(attribute for attribute, field in declared_fields(schema).items() if PATH_SEGMENT in field.validators)
           for kind, schema in (("containers", ContainerSchema), ("nodes", NodeSchema), ("pods", PodSchema))}
_DOTS = frozenset((".", ".."))


# Unknown fields send a body to PushSchema, which ignores them: msgspec skips what it does not
# know without the checks Python's json parser makes (UTF-8, nesting, digits of an integer), so
# a body it would take could still be one the schema path refuses as JSON.
class _Push(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    timestamp: str  # parsed below as AwareDateTime parses it
    containers: list[Container]
    nodes: list[Node] = []
    pods: list[Pod] = []


_DECODER = msgspec.json.Decoder(_Push)


def _aware(text):
    try:
        timestamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return timestamp if timestamp.utcoffset() is not None else None


def _unique(keys):
    return len(set(keys)) == len(keys)


def _fit_in_url(push):
    """Return whether every name of an object's URL is one path segment, as PATH_SEGMENT has it: no "/", not "." or ".."."""
    for kind, attributes in _IN_URL.items():
        objects = getattr(push, kind)
        for attribute in attributes:
            values = [getattr(found, attribute) for found in objects]
            if "/" in "\n".join(values) or not _DOTS.isdisjoint(values):
                return False
    return True


def fast_load(raw):
    """Return a push body's bytes as PushSchema would load them, or None when they may be invalid."""
    try:
        push = _DECODER.decode(raw)
    # msgspec's DecodeError and ValidationError are ValueErrors, as is bad UTF-8 within a string.
    except (ValueError, RecursionError):
        return None
    timestamp = _aware(push.timestamp)
    if timestamp is None:
        return None
    if not (_unique([c.runtime_id for c in push.containers]) and _unique([n.name for n in push.nodes])
            and _unique([(p.namespace, p.name) for p in push.pods]) and _fit_in_url(push)):
        return None
    return LoadedPush(timestamp, push.containers, push.nodes, push.pods)


def as_loaded(data):
    """Return what PushSchema loaded in the form fast_load gives."""
    return LoadedPush(data["timestamp"], [Container(**c) for c in data["containers"]],
                      [Node(**n) for n in data["nodes"]], [Pod(**p) for p in data["pods"]])


def load_push(parser):
    """Return the request's push body, loaded; abort 400 with field-by-field errors when invalid."""
    if request.is_json:  # as the parser requires before it reads a body
        loaded = fast_load(request.get_data(cache=True))
        if loaded is not None:
            return loaded
    body = parser.load_json(request, _SCHEMA)  # aborts 400 on malformed JSON, like every endpoint
    body = {} if body is missing else body
    try:
        return as_loaded(_SCHEMA.load(body))
    except ValidationError as error:
        found = impossible_numbers(body, error.messages)
        if found is None:
            abort(400, errors={"json": error.messages})
    impossible = tuple(left_out(body, found))
    try:  # once more: the checks across objects (duplicate ids) run once every field is valid
        return as_loaded(_SCHEMA.load(body))._replace(impossible=impossible)
    except ValidationError as error:
        abort(400, errors={"json": error.messages})
