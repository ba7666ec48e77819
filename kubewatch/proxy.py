"""Behind a reverse proxy: the client, scheme, host and path prefix the proxy forwards, when trusted."""

from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app):
    """Believe X-Forwarded-For, -Proto, -Host and -Prefix for TRUSTED_PROXY_HOPS proxies; 0 believes none.

    Call it after every other WSGI middleware, so that all of them (the push shortcut too) see
    the client and the path as the public side sent them.
    """
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(_StripPrefix(app.wsgi_app), x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)


class _StripPrefix:
    """Take the forwarded prefix off the path when the proxy passed the path on whole.

    A proxy that strips /kubewatch itself sends /api/...; one that does not sends
    /kubewatch/api/...: both reach the same view, and URLs are built under the prefix.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        prefix = environ.get("SCRIPT_NAME", "").rstrip("/")
        environ["SCRIPT_NAME"] = prefix
        path = environ.get("PATH_INFO", "")
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            environ["PATH_INFO"] = path[len(prefix):]
        return self.wsgi_app(environ, start_response)
