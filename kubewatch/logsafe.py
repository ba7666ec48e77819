"""Values from requests made safe to log: control characters escaped, long values cut, one event a line."""

import logging
import re

# Longer values are cut: a 1 MiB agent name must not become a 1 MiB log line.
MAX_SHOWN = 200
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators some viewers break on.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match):
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escaped(text):
    """Return text with every control character written as an escape (\\n, \\x1b, \\u2028); never cut."""
    return _CONTROL.sub(_escape, text)


def shown(value, limit=MAX_SHOWN):
    """Return a request's value as it may be logged: str() of it escaped, cut past limit characters."""
    text = str(value)
    cut = len(text) > limit
    if cut:
        text = text[:limit]
    text = _CONTROL.sub(_escape, text)
    return f"{text}...({len(str(value))} characters)" if cut else text


class OneLineFormatter(logging.Formatter):
    """A formatter whose every record is one line: control characters in it, tracebacks included, escaped."""

    def format(self, record):
        return escaped(super().format(record))
