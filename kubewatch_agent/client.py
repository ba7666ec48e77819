"""Talking to the kubewatch server: register with the API key, push with the agent token."""

import gzip
import json
import logging
import socket
from email.utils import formatdate
from typing import NamedTuple
from urllib.parse import urlsplit

import requests

from kubewatch_agent import __version__
from kubewatch_agent.outages import one_line
from kubewatch_agent.urls import plain_http, root_of

log = logging.getLogger("kubewatch_agent")

# Connect fast, but give a busy server time to answer a large push.
TIMEOUT = (5, 30)
# Pushes are sent gzip-compressed: a push's JSON repeats its field names, and shrinks about tenfold.
# Level 5 is nearly level 9's size at a third of its time (a 10,000-pod push: about 40 ms).
GZIP_LEVEL = 5


class ServerError(Exception):
    """The server did not take a request; str() is a one-line reason without any secret."""

    retry_after = None  # seconds the server asked to wait, when it did


class Unreachable(ServerError):
    """No answer, or one that says to try later (5xx, 429): the request may be retried as it is."""

    def __init__(self, reason, retry_after=None):
        super().__init__(reason)
        self.retry_after = retry_after


class Refused(ServerError):
    """The server answered 4xx: the request as sent will not be taken."""

    def __init__(self, what, status, message, unreadable=False):
        super().__init__(f"{what} refused ({status}): {message}")
        self.status = status
        self.unreadable = unreadable  # the server could not read the body as JSON at all


class WrongURL(Refused):
    """A 404 where the API should be: --url names another server, or a path below the root."""

    def __init__(self, url, path):
        hint = "" if root_of(url) == url else f" ({root_of(url)})"
        ServerError.__init__(self, f"the server answered 404 at {path}: --url should be the server's root{hint}")
        self.status = 404


class Registration(NamedTuple):
    agent_id: str
    token: str
    token_expires_in: int
    push_interval: int

    def __repr__(self):
        # A registration printed in a log or a traceback must not carry its token.
        return (f"Registration(agent_id={self.agent_id!r}, token=<hidden>, "
                f"token_expires_in={self.token_expires_in}, push_interval={self.push_interval})")


class ServerClient:
    """One server, one API key, and one keep-alive connection for requests back to back.

    A push sent with keep_alive=False asks the server to close the connection once it has
    answered: an agent between pushes holds no connection, so a server serves many more agents
    than it keeps connections open (its connection_limit).
    """

    def __init__(self, url, api_key, timeout=TIMEOUT):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.compress = True
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": f"kubewatch-agent/{__version__}",
                                     "Content-Type": "application/json"})

    def register(self, identity):
        """Register identity (name, hostname, version, platform); return a Registration or raise ServerError."""
        answer = self._post("registration", "/api/v1/agents/register", _json(identity), {"X-API-Key": self.api_key})
        try:
            return Registration(answer["agentId"], answer["token"], int(answer["tokenExpiresIn"]),
                                max(1, int(answer["pushIntervalSeconds"])))
        except (KeyError, TypeError, ValueError):
            raise Unreachable(f"the answer to the registration is not one: is {self.url} a kubewatch server?") from None

    def push(self, registration, body, keep_alive=True):
        """Send one push body, gzip-compressed; raise ServerError unless the server stored it (or already had it).

        With keep_alive False the connection is closed once the server has answered (the last push
        before a wait). A server that does not take compressed pushes (an older one) gets this push,
        and the following ones, as they are.
        """
        path, data = f"/api/v1/agents/{registration.agent_id}/push", _json(body)
        # Date: when it is sent, by this machine's clock, so that the server measures the clock's skew
        # apart from how old the push is (one sent from the backlog).
        headers = {"Authorization": f"Bearer {registration.token}", "Date": formatdate(usegmt=True)}
        if not keep_alive:
            headers["Connection"] = "close"
        if self.compress:
            try:
                return self._post("push", path, gzip.compress(data, GZIP_LEVEL, mtime=0),
                                  {**headers, "Content-Encoding": "gzip"}, len(data))
            except Refused as error:
                if error.status != 415 and not (error.status == 400 and error.unreadable):
                    raise
            self._post("push", path, data, headers)  # raises when the body itself is refused
            self.compress = False
            log.warning("the server does not take gzip-compressed pushes (an older kubewatch?): sending them "
                        "uncompressed from now on")
            return None
        return self._post("push", path, data, headers)

    def close(self):
        """Close the connection to the server, if one is open; the next request opens a new one."""
        self.session.close()

    def _post(self, what, path, data, headers, uncompressed=None):
        try:
            response = self.session.post(self.url + path, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            if self.url.startswith("https://") and speaks_plain_http(self.url):
                raise Unreachable(f"TLS handshake failed: is the server plain HTTP? try --url {plain_http(self.url)}") \
                    from None
            raise Unreachable(f"cannot reach the server at {self.url}: {one_line(error)}") from None
        if response.status_code == 404:
            # No kubewatch answers 404 to these paths: the URL names something else, or a path below it.
            raise WrongURL(self.url, urlsplit(response.url).path)
        if response.status_code >= 500 or response.status_code == 429:
            raise Unreachable(f"the server answered {response.status_code} to the {what}: {_message(response)}",
                              _retry_after(response))
        if response.status_code == 413:
            raise Refused(what, 413, f"{_message(response)} (this {what} is {uncompressed or len(data)} bytes"
                                     f"{f', {len(data)} compressed' if uncompressed else ''}: raise the server's "
                                     f"{_setting_to_raise(response)})")
        if response.status_code >= 400:
            raise Refused(what, response.status_code, _message(response), _unreadable(response))
        try:
            return response.json()
        except ValueError:
            raise Unreachable(f"the answer to the {what} is not JSON: is {self.url} a kubewatch server?") from None


def _message(response):
    """Return the server's error message on one line, or the HTTP reason when there is none."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no reason given"
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(body, dict) and body.get("errors"):
        message = f"{message} {json.dumps(body['errors'], separators=(',', ':'))}"
    return one_line(message or response.reason or "no reason given")


def _retry_after(response):
    """Return the Retry-After header in seconds, or None when absent or a date."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def speaks_plain_http(url, timeout=2):
    """Return True when url's host and port answer a plain HTTP request: a TLS client there never gets an answer."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: " + parts.netloc.encode("idna") + b"\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except (OSError, UnicodeError):
        return False
def _json(body):
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def _setting_to_raise(response):
    """Return the server setting a 413 asks to raise: the one its message names, else max_content_length."""
    message = _message(response).lower()
    if "max_decompressed_length" in message:
        return "max_decompressed_length (KUBEWATCH_MAX_DECOMPRESSED_LENGTH)"
    return "max_content_length (KUBEWATCH_MAX_CONTENT_LENGTH)"


def _unreadable(response):
    """Return True when a 400 says the body was not JSON at all (an older server given gzip), not which field."""
    try:
        errors = response.json().get("errors") or {}
    except (ValueError, AttributeError):
        return False
    return isinstance(errors, dict) and isinstance(errors.get("json"), list)
