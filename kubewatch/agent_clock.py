"""An agent's clock against the server's: its skew, and when a push happened on the server's clock.

A push's timestamp is the agent's collection time, by the agent's clock. The server receives it
later (at once, or from a backlog after an outage), so a timestamp alone cannot tell a clock
running behind from a push sent late. The agent also sends the HTTP Date header, its clock when it
sent the request: Date against the receive time is the skew, whatever the push's age.
"""

import email.utils
import functools


@functools.lru_cache(maxsize=16)
def sent_at(header):
    """Return an HTTP Date header as epoch seconds, or None when absent or not a date (parsed once a second)."""
    if not header:
        return None
    try:
        return int(email.utils.mktime_tz(email.utils.parsedate_tz(header)))
    except (TypeError, ValueError, OverflowError):
        return None


def sent_skew(header, received_at, most):
    """Return the agent's clock against the server's in seconds (negative: behind), as its Date header tells it.

    None without a Date header, or with one further off than most seconds (a date that cannot be
    the agent's clock: a proxy's, or garbage).
    """
    sent = sent_at(header)
    if sent is None or abs(sent - received_at) > most:
        return None
    return sent - received_at


def happened_at(ts, received_at, skew):
    """Return when a push happened on the server's clock: its timestamp less the agent's known skew, or
    its receive time when that is earlier (a clock running fast, or not known to).

    A skew of one second is no skew: Date counts whole seconds, and the server's second may have turned since.
    """
    if skew is not None and abs(skew) > 1:
        ts -= skew
    return min(ts, received_at)
