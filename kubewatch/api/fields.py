"""Fields shared by the API's schemas."""

import functools
import re
from datetime import datetime, timedelta, timezone

from marshmallow import ValidationError, fields, validate

# SQLite's INTEGER is signed 64-bit; a larger counter could not be stored.
MAX_INTEGER = 2**63 - 1


class Number(fields.Float):
    """A finite JSON number, never a string or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (str, bool)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StoredBoolean(fields.Boolean):
    """A boolean that SQLite keeps as 0 or 1: answered as false or true (marshmallow's Boolean dumps it as is)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else bool(value)


def non_negative_number(**kwargs):
    """Return an optional field for a number >= 0 (null means not measured)."""
    return Number(validate=validate.Range(min=0), allow_none=True, **kwargs)


def non_negative_integer(**kwargs):
    """Return an optional field for an integer from 0 to 2^63-1 (null means not measured)."""
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_INTEGER),
                          allow_none=True, **kwargs)


def text(max_length, *, required=False, **kwargs):
    """Return a string field of at most max_length characters; required ones are not empty."""
    return fields.String(required=required, allow_none=not required,
                         validate=validate.Length(min=1 if required else 0, max=max_length), **kwargs)


# A name that is one segment of a URL path: no "/", and not "." or "..", which clients resolve away.
# Anchored at both ends with \Z, as msgspec searches where marshmallow matches (push_validation.py).
PATH_SEGMENT = validate.Regexp(r"^(?!\.\.?\Z)[^/]*\Z",
                               error="Must not contain \"/\" nor be \".\" or \"..\": it names the object in its URL.")


def name_in_url(max_length, **kwargs):
    """Return a required string field of 1 to max_length characters that can stand as one URL path segment."""
    return fields.String(required=True, validate=[validate.Length(min=1, max=max_length), PATH_SEGMENT], **kwargs)


@functools.lru_cache(maxsize=1024)
def _date(days):
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class EpochTime(fields.Field):
    """Integer epoch seconds shown as ISO 8601 UTC with `Z`, or null."""

    @staticmethod
    def format(value):
        """Return epoch seconds as ISO 8601 UTC with Z; None stays None."""
        if value is None:
            return None
        # A day of one-minute points formats 1,440 times: the date part is made once per day.
        days, seconds = divmod(int(value), 86400)
        hours, seconds = divmod(seconds, 3600)
        return f"{_date(days)}T{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}Z"

    def _serialize(self, value, attr, obj, **kwargs):
        return self.format(value)

    def _deserialize(self, value, attr, data, **kwargs):
        raise ValidationError("read-only field")


# A "+" typed into a URL's query arrives as a space: "10:00:00+00:00" reads "10:00:00 00:00".
_OFFSET_SIGN_AS_SPACE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


class QueryTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset; a space where the offset's sign belongs is read as the "+" it was."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = _OFFSET_SIGN_AS_SPACE.sub(r"\1+\2", value.strip())
        return super()._deserialize(value, attr, data, **kwargs)
