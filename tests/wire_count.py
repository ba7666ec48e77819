"""Round trips and statements between kubewatch and PostgreSQL, counted on the wire by a loopback proxy.

Used by tests/test_push_round_trips.py and bench/push_round_trips.py: an app whose DATABASE_URL
names the proxy talks to the server through it, and the proxy counts what its clients send.
"""

import socket
import struct
import threading

from sqlalchemy.engine import make_url

# Untyped messages a client sends before its startup message: SSLRequest, GSSENCRequest, CancelRequest.
_REQUESTS = {80877103, 80877104, 80877102}
_CANCEL = 80877102  # sent on a connection of its own, which the server closes without a word
# Typed messages the server does not answer: Flush (answered only with output it holds; psycopg
# sends one after Sync, and none comes once Sync's answer has gone) and Terminate.
_UNANSWERED = b"HX"


class _Stream:
    """What one client connection has sent: its bytes not yet read as whole messages, and its state."""

    def __init__(self):
        self.buffer, self.typed, self.answered = b"", False, True

    def client_sent(self, data):
        """Take data the client sent; return (how many statements it asks to run, whether it starts a round trip).

        Statements are Execute and simple Query messages. A round trip starts when a whole message
        the server answers comes after the server's last answer: the client waits from then on.
        A lone Flush could be a wait too, when the messages it flushes went out while an answer was
        outstanding; kubewatch's paths never send so (psycopg blocks on each result it fetches).
        """
        statements, asks = self._read(data)
        starts = asks and self.answered
        if starts:
            self.answered = False
        return statements, starts

    def server_sent(self):
        """Note that the server answered."""
        self.answered = True

    def _read(self, data):
        """Read data's whole messages; return (how many are statements, whether any is answered)."""
        self.buffer += data
        found, asks = 0, False
        while True:
            if self.typed:  # a type byte, then the length of the rest, itself included
                if len(self.buffer) < 5:
                    return found, asks
                end = 1 + int.from_bytes(self.buffer[1:5], "big")
                if len(self.buffer) < end:
                    return found, asks
                found += self.buffer[0] in b"EQ"
                asks = asks or self.buffer[0] not in _UNANSWERED
            else:  # the length, itself included, then a code
                if len(self.buffer) < 8:
                    return found, asks
                end, code = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < end:
                    return found, asks
                self.typed = code not in _REQUESTS
                asks = asks or code != _CANCEL
            self.buffer = self.buffer[end:]


class WireCount:
    """A proxy on a free loopback port in front of a PostgreSQL server, counting what its clients send.

    round_trips: the times a client sent a whole message the server answers, after the server had
    answered it (a client's first message counts one): each is a wait for the server.
    statements: Execute and Query messages.
    """

    def __init__(self, url):
        self.upstream = make_url(url)
        self.round_trips = self.statements = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        """The URL of the upstream database, through this proxy."""
        return self.upstream.set(host="127.0.0.1", port=self._listener.getsockname()[1]).render_as_string(
            hide_password=False)

    def counts(self):
        """Return (round_trips, statements) so far."""
        with self._lock:
            return self.round_trips, self.statements

    def close(self):
        """Close the proxy and every connection through it."""
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection((self.upstream.host, self.upstream.port or 5432))
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, server]
            stream = _Stream()
            threading.Thread(target=self._pump, args=(client, server, stream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, stream, False), daemon=True).start()

    def _pump(self, source, sink, stream, from_client):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    sink.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self._lock:  # before passing it on: the other side may answer at once
                if not from_client:
                    stream.server_sent()
                else:
                    statements, starts = stream.client_sent(data)
                    self.statements += statements
                    self.round_trips += starts
            try:
                sink.sendall(data)
            except OSError:
                return
