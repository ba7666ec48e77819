"""Notification channels through Apprise: checking a URL, showing it without secrets, sending to it."""

import logging
import re
import threading
import warnings
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

# Apprise's own retries are off: the courier retries with backoff, and records every failure.
_TYPES = {"failure": apprise.NotifyType.FAILURE, "success": apprise.NotifyType.SUCCESS,
          "warning": apprise.NotifyType.WARNING, "info": apprise.NotifyType.INFO}


class Sent(NamedTuple):
    delivered: bool
    error: str | None  # why not, with no secret of the URL in it


_loaded = threading.Lock()
_plugins_loaded = False


def _load_plugins():
    """Load Apprise's plugins once, without the DeprecationWarnings some of them raise on import (imghdr)."""
    global _plugins_loaded
    with _loaded:
        if not _plugins_loaded:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                apprise.Apprise.instantiate("json://localhost", suppress_exceptions=True)
            _plugins_loaded = True


def plugin(url):
    """Return Apprise's plugin for url, or None when Apprise does not take it."""
    if not _plugins_loaded:
        _load_plugins()
    try:
        return apprise.Apprise.instantiate(url, suppress_exceptions=True)
    except Exception:  # a plugin that breaks on odd input: as unusable as an unknown scheme
        return None


def is_valid(url):
    """Return True when Apprise can send to url."""
    return isinstance(url, str) and "://" in url and plugin(url) is not None


def masked(url):
    """Return scheme://host of a channel URL, never its secrets: `***` where the host itself is one.

    Many services keep a token where a host would be (tgram://{bot token}/...); Apprise's privacy
    form abbreviates those, and a host shown there differently from the URL's is taken as one.
    """
    scheme = url.split("://", 1)[0].lower()
    found = plugin(url)
    if found is None:
        return f"{scheme}://***"
    private = urlsplit(found.url(privacy=True))
    host = (found.host or "").lower()
    if not host or private.hostname != host or "..." in host:
        return f"{scheme}://***"
    port = f":{urlsplit(url).port}" if urlsplit(url).port else ""
    return f"{scheme}://{host}{port}"


def send(url, title, body, notify_type, timeout):
    """Send one message to url, waiting at most about timeout seconds for each connect and read; return Sent."""
    found = plugin(url)
    if found is None:
        return Sent(False, "Apprise does not take this channel's URL.")
    found.socket_connect_timeout = found.socket_read_timeout = timeout
    if hasattr(found, "timeout"):  # the mail plugin's socket timeout
        found.timeout = timeout
    with apprise.LogCapture(level=logging.WARNING) as captured:
        try:
            delivered = found.notify(body=body, title=title, notify_type=_TYPES.get(notify_type, "info"))
        except Exception as error:  # a plugin's bug is this channel's failure, not the courier's
            delivered, reason = False, f"{type(error).__name__}: {error}"
        else:
            reason = _last_line(captured.getvalue())
    if delivered:
        return Sent(True, None)
    return Sent(False, scrub(reason or "The service did not accept the message.", url))


def _last_line(log):
    """Return the last message Apprise logged, without its timestamp and level."""
    lines = [line for line in log.splitlines() if line.strip()]
    if not lines:
        return None
    return re.sub(r"^\S+ \S+ - [A-Z]+ - ", "", lines[-1]).strip()


def scrub(message, url):
    """Return message with every part of url that may be a secret (user, password, path, query) replaced."""
    parts = urlsplit(url)
    secrets = [parts.username, parts.password, *parts.path.split("/"), *(v for _, v in parse_qsl(parts.query))]
    if masked(url).endswith("***"):  # the host is a token
        secrets.append(parts.netloc.rpartition("@")[2])
    for secret in sorted({unquote(s) for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message[:500]
