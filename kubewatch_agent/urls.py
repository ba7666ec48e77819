"""The server's URL as a person types it: checked before use, and what to try when it is wrong."""

from urllib.parse import urlsplit, urlunsplit


class BadURL(ValueError):
    """--url cannot name a kubewatch server; str() says what is wrong and what to try."""


def server_url(raw):
    """Return raw as the server's root URL without a trailing slash; raise BadURL saying what to try."""
    text = (raw or "").strip()
    if "://" not in text:
        # urlsplit reads "127.0.0.1:8080" as no scheme and "localhost:8080" as scheme "localhost".
        raise BadURL(f"no scheme in --url {text!r}: did you mean http://{text.lstrip('/')}?")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise BadURL(f"--url {text!r} has the scheme {parts.scheme}: the server speaks http:// (or https:// "
                     "behind a TLS proxy)")
    try:
        parts.port
    except ValueError:
        raise BadURL(f"--url {text!r} has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise BadURL(f"no host in --url {text!r}: e.g. http://monitor.lan:8080")
    if parts.query or parts.fragment:
        raise BadURL(f"--url {text!r} should be the server's root, e.g. {root_of(text)}")
    return text.rstrip("/")


def root_of(url):
    """Return url without its path, query and fragment: the server's root."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def plain_http(url):
    """Return url with http:// in place of https://."""
    parts = urlsplit(url)
    return urlunsplit(("http", parts.netloc, parts.path, "", ""))
