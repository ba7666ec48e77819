"""Serving the app with waitress, as `python app.py` does."""

import errno
import gc
import json
import logging
import threading
import warnings
from http import HTTPStatus

import waitress
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

from kubewatch import alerting, backup, rollup_job, sign_in_lane, sqlite_owner
from kubewatch.config import ConfigError
from kubewatch.first_run import bootstrap
from kubewatch.logsafe import OneLineFormatter

log = logging.getLogger("kubewatch")

# Why a listening socket could not be made, in words; anything else is waitress's own message.
_LISTEN_ERRORS = {errno.EADDRINUSE: "the address is already in use (another server, or an earlier kubewatch?)",
                  errno.EACCES: "permission denied (ports below 1024 need privileges)",
                  errno.EADDRNOTAVAIL: "this machine has no such address"}


def serve(app):
    """Create the first admin when needed, start the rollup, backup and alerting timers, then serve app.

    Raises ConfigError, naming the address and where it was set, when the port cannot be listened on,
    and when another server process already serves the same SQLite file.
    """
    configure_logging(app.config["LOG_LEVEL"])
    sources = app.extensions.get("kubewatch.sources", {})
    settings_file = sources.get("_FILE")
    log.info("settings: the defaults, %s, then KUBEWATCH_* variables; instance folder %s",
             f"then the file {settings_file}" if settings_file else "no settings file", app.instance_path)
    sqlite_owner.claim(app)  # before listening: a second server on the file is told why, whatever its port
    server = listen(app, app.config, sources)
    bootstrap(app)
    rollup_job.start_timer(app)
    backup.start_timer(app)
    alerting.start(app)
    # What was made to start (modules, the app, the routes) lives as long as the server, and a full
    # collection walked it all with the GIL held: measured, 200 ms at a time while a 20,000-container
    # push allocated, against 3 ms frozen. Frozen, collections walk only what came since; the
    # garbage of the start is collected first, not kept for good.
    gc.collect()
    gc.freeze()
    server.print_listen("Serving on http://{}:{}")
    server.run()


def listen(app, config, sources):
    """Return the waitress server bound to the configured host and port; raise ConfigError when it cannot bind."""
    try:
        return create_server(app, config)
    except OSError as error:
        reason = _LISTEN_ERRORS.get(error.errno, error.strerror or str(error))
        origin = ", ".join(f"{name.lower()} {where(sources.get(name, 'default'))}" for name in ("HOST", "PORT"))
        raise ConfigError(f"cannot listen on {config['HOST']}:{config['PORT']}: {reason}; {origin}") from None


def where(source):
    """Return where a setting came from, in words."""
    if source == "default":
        return "is the default"
    if source.startswith("KUBEWATCH_"):
        return f"set by {source} in the environment"
    return f"set in {source}"


def create_server(app, config):
    """Return a waitress server for app on the configured settings, bound but not yet serving."""
    with warnings.catch_warnings():
        # Deprecated in waitress 3, but still the only switch for what waitress_options explains.
        warnings.filterwarnings("ignore", "send_bytes", DeprecationWarning)
        options = waitress_options(config)
        lanes = sign_in_lane.Lanes(options["threads"], config["HASH_WORKERS"] + config["HASH_QUEUE"])
        server = waitress.create_server(app, _dispatcher=lanes, **options)
    # A host that resolves to several addresses (localhost: 127.0.0.1 and ::1) gets one listener each.
    listeners = ([listener for listener in server.map.values() if isinstance(listener, BaseWSGIServer)]
                 if isinstance(server, MultiSocketServer) else [server])
    for listener in listeners:
        listener.channel_class = LoopChannel
    return server


def run_waitress(app, config):
    """Serve app with waitress on the configured settings until stopped; the benchmark's baseline runs here too."""
    server = create_server(app, config)
    server.print_listen("Serving on http://{}:{}")
    server.run()


def configure_logging(level):
    """Log one line per event to standard error, without waitress's per-request queue warnings."""
    handler = logging.StreamHandler()
    # Values from requests are escaped where they are logged (logsafe.shown); this keeps every
    # other record, a traceback or a driver's message, to one line too.
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    # waitress warns once per queued request: under load, thousands of lines a second that cost
    # more than the requests. A queue is normal; its real errors are still logged.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def waitress_options(config):
    """Return waitress's settings from the app's config (the benchmark serves its baseline with them too)."""
    return {
        "host": config["HOST"], "port": config["PORT"],
        # Requests that check a password have a queue and threads of their own besides these
        # (kubewatch/sign_in_lane.py): pushes always find THREADS free.
        "threads": config["THREADS"],
        # Every agent keeps a connection open between pushes; waitress's default of 100 would
        # make the 101st agent wait for one of them to time out.
        "connection_limit": config["CONNECTION_LIMIT"],
        "channel_timeout": config["CHANNEL_TIMEOUT"],
        # With waitress's send_bytes of 1, the thread that made a response sends it itself while
        # holding the connection's buffer lock; the main loop, finding the connection writable
        # but the lock taken, spins and keeps the GIL from that thread. Measured with
        # bench/ingest.py, a hello-world app on one thread answered 100 to 450 requests/s under
        # 16 connections with it and 4,000 to 6,000 with this: the main loop sends every response
        # below it. Larger responses (long series) are still sent by their thread, as before. A
        # client that pipelines requests would see a small response wait, and the main loop spin,
        # until the next one is done; agents and browsers do not pipeline.
        "send_bytes": 18000,
        # A 50-container push is about 12 KB: read whole in one call rather than in 8 KB pieces.
        "recv_bytes": 65536,
        "ident": "kubewatch",
        # waitress refuses a declared Content-Length from this size on before reading the body, and
        # stops a chunked one there: left at its 1 GiB, a body over max_content_length was spooled
        # to a temporary file first, only for Flask to answer 413.
        "max_request_body_size": config["MAX_CONTENT_LENGTH"] + 1,
        # waitress drops X-Forwarded-For, -Host and -Proto itself unless told to trust a proxy: with
        # trusted proxies, leave them to ProxyFix (kubewatch/proxy.py), which counts the hops.
        "clear_untrusted_proxy_headers": not config["TRUSTED_PROXY_HOPS"],
    }


class JsonErrorTask(ErrorTask):
    """waitress's answer to a request it refuses itself (too large, malformed), in the API's one error shape."""

    def execute(self):
        error = self.request.error
        message = (f"The body is larger than max_content_length ({self.channel.server.adj.max_request_body_size - 1}"
                   " bytes)." if isinstance(error, RequestEntityTooLarge) else error.body)
        body = json.dumps({"code": error.code, "status": HTTPStatus(error.code).phrase, "message": message}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class LoopChannel(HTTPChannel):
    """waitress's connection: its own refusals answered in the API's one error shape, and a small push
    served on the loop thread that read it, when sign_in_lane.Lanes leaves it there."""

    error_task_class = JsonErrorTask
    serve_on_loop = False

    def __init__(self, server, sock, addr, adj, map=None):
        self.loop_thread = threading.get_ident()  # waitress makes a connection on its loop thread
        super().__init__(server, sock, addr, adj, map)

    def received(self, data):
        """Take bytes read from the client, as waitress does; then serve the push they completed, if left here."""
        taken = super().received(data)
        # After the requests lock is let go: serving takes it again. Serving one request may leave
        # the next one, already read, here too.
        while self.serve_on_loop:
            self.serve_on_loop = False
            self.service()
        return taken
