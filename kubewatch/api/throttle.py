"""Slowing down guessing, as OWASP's guidance on account lockout has it, counted where every server process sees it.

- Per account and address: AUTH_FAILURE_LIMIT failed logins within AUTH_FAILURE_WINDOW, and that
  address is refused for that account (429) until the window ends. Another address is not: an
  attacker who knows an email cannot keep its owner out.
- Per account: past AUTH_ACCOUNT_FAILURE_LIMIT failures within the window, from any addresses,
  the account slows rather than blocks: one sign-in attempt every AUTH_ACCOUNT_SLOW_SECONDS,
  whoever makes it; the others are 429 with Retry-After.
- Per address, for registrations with a wrong API key: AUTH_FAILURE_LIMIT within the window.

An IPv6 address counts as its /64 network: one host is given a whole /64 and can change its
address within it at will.
"""

import hashlib
import ipaddress
import json
import logging
import time

from flask import current_app, request
from flask_smorest import abort

from kubewatch.logsafe import shown
from kubewatch.repository import auth_failures

log = logging.getLogger("kubewatch.auth")


def now():
    """Return the time failures are counted in: epoch seconds, the same in every process."""
    return int(time.time())


def _key(*parts):
    # A digest: the table holds no email or address, and every key has one length.
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def address_of(remote_addr):
    """Return the address failures are counted for: an IPv4 address as it is, an IPv6 one as its /64 network."""
    try:
        parsed = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr  # not an IP address (a test client, a Unix socket): counted as it is
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def _keys(action, account):
    address = address_of(request.remote_addr or "")
    if account is None:
        return _key(action, "address", address), None
    return _key(action, "account and address", account, address), _key(action, "account", account)


# A client refused for its failures is told what failed: an agent's wrong key must stay visible.
_TOO_MANY = {"register": "Too many registrations with a missing, unknown or revoked API key from this address: "
                         "check the key, then wait before trying again."}


def guard(action, account=None):
    """Abort 429 with Retry-After when this address failed too often for this account (or at all, without one),
    or when the account is slowed and its one attempt of the moment is taken."""
    config, at = current_app.config, now()
    window = config["AUTH_FAILURE_WINDOW"]
    pair, whole_account = _keys(action, account)
    counted = auth_failures.counts([k for k in (pair, whole_account) if k], at, window)
    failures, started = counted.get(pair, (0, at))
    if failures >= config["AUTH_FAILURE_LIMIT"]:
        _refuse(action, account, started + window - at)
    if whole_account and counted.get(whole_account, (0, at))[0] >= config["AUTH_ACCOUNT_FAILURE_LIMIT"]:
        slow = config["AUTH_ACCOUNT_SLOW_SECONDS"]
        if not auth_failures.take_turn(whole_account, at, slow):
            _refuse(action, account, slow)


def _refuse(action, account, wait):
    wait = max(1, wait)
    log.warning("%s refused for %ss: too many failures%s from %s", action, wait,
                "" if account is None else f" for {shown(account)}", shown(request.remote_addr))
    abort(429, message=_TOO_MANY.get(action, "Too many failed attempts: wait before trying again."),
          headers={"Retry-After": str(wait)})


def failed(action, account=None):
    """Count a failed attempt of this address (for this account, and against the account, when there is one)."""
    pair, whole_account = _keys(action, account)
    auth_failures.fail([k for k in (pair, whole_account) if k], now(), current_app.config["AUTH_FAILURE_WINDOW"])
    if account is None:
        log.warning("%s failed from %s", action, shown(request.remote_addr))
    else:
        log.warning("%s failed for %s from %s", action, shown(account), shown(request.remote_addr))


def succeeded(action, account):
    """Forget this address's failures for the account once it signs in; the account's own count stays."""
    auth_failures.clear(_keys(action, account)[0])
