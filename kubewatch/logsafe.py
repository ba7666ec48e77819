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


# PostgreSQL's errors carry a DETAIL line that can quote the statement's values ("Key
# (key_hash)=(...) already exists"): in a database error's text and in the driver's below it.
# SQLAlchemy's hide_parameters (kubewatch/engines.py) hides the parameters it prints, not those.
_DETAIL = re.compile(r"^DETAIL: .*$", re.M)
DETAIL_LEFT_OUT = "DETAIL:  (left out: it may quote the statement's values)"


class OneLineFormatter(logging.Formatter):
    """A formatter whose every record is one line: control characters in it, tracebacks included, escaped;
    the DETAIL of a PostgreSQL error left out."""

    def format(self, record):
        return escaped(_DETAIL.sub(DETAIL_LEFT_OUT, super().format(record)))
