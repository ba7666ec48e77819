"""The agent's loop: register, collect on the server's interval, push oldest first, survive trouble."""

import logging
import threading
import time

from kubewatch_agent.backlog import DEFAULT_SECONDS, Backlog
from kubewatch_agent.backoff import Backoff
from kubewatch_agent.client import Refused, ServerError
from kubewatch_agent.collectors import CollectorUnavailable
from kubewatch_agent.outages import OutageLog, one_line
from kubewatch_agent.report import ActivityReport
from kubewatch_agent.sample import Sampler

log = logging.getLogger("kubewatch_agent")

SERVER = "server"
# Answers that mean this body will never be taken: drop it rather than block the pushes behind it.
BODY_REJECTED = frozenset({400, 413, 422})
# A server asking for more patience than this is misconfigured: the backlog would be lost anyway.
MAX_RETRY_AFTER = 3600


class Agent:
    """One agent: its identity, its server, its collector and the pushes still to send."""

    def __init__(self, client, collector, identity, backlog_seconds=DEFAULT_SECONDS, backoff=None,
                 clock=time.monotonic):
        self.client = client
        self.identity = identity
        self.outages = OutageLog(log)
        self.sample = Sampler(collector, self.outages)
        self.backlog = Backlog(backlog_seconds)
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.registration = None
        self.interval = None
        self.next_collect = None
        self.retry_at = 0.0
        self.stopping = threading.Event()
        self.report = ActivityReport(clock)

    def once(self):
        """Collect one sample, register and push it; return the body.

        Raise CollectorUnavailable, before contacting the server, when the platform cannot be read:
        registering would relabel the agent's platform for a push of nothing. Raise ServerError when not taken.
        """
        body, trouble = self.sample.collect()
        if trouble is not None:
            raise CollectorUnavailable(trouble)
        self.register()
        self.send(body)
        return body

    def run(self, stop):
        """Push every interval until stop is set; a push in flight then is finished first."""
        self.stopping = stop
        while not stop.is_set():
            now = self.clock()
            if self.next_collect is not None and now >= self.next_collect:
                self.backlog.add(self.sample())
                self.next_collect += self.interval
                if self.next_collect <= now:  # collecting took longer than an interval: skip, never hurry
                    self.next_collect = now + self.interval
            if now >= self.retry_at:
                self.attempt()
            self.report.tick(len(self.backlog), self.backlog.dropped_total)
            stop.wait(max(0.0, self.next_wakeup() - self.clock()))
        if len(self.backlog):
            log.warning("stopping with %d collected pushes not sent", len(self.backlog))

    def next_wakeup(self):
        """Return when there is something to do: the next collection, or the next try at the server."""
        due = [self.retry_at] if len(self.backlog) or self.registration is None else []
        if self.next_collect is not None:  # None until the first registration gives the interval
            due.append(self.next_collect)
        return min(due)

    def attempt(self):
        """Register when needed and send the backlog; on trouble, schedule the next try with backoff."""
        try:
            if self.registration is None:
                self.register()
            self.flush()
        except ServerError as error:
            level = logging.ERROR if isinstance(error, Refused) else logging.WARNING
            self._retry_later(str(error), error.retry_after, level)
        except Exception as error:  # a bug must not end the pushes: the next try may well succeed
            self._retry_later(f"unexpected {type(error).__name__}: {one_line(error)}", None, logging.ERROR)
        else:
            self.backoff.reset()
            self.retry_at = 0.0
            self.outages.recovered(SERVER, "pushing again")

    def _retry_later(self, reason, retry_after, level):
        # No connection held while waiting: a server answering 503 to many agents frees their connections.
        self.client.close()
        self.retry_at = self.clock() + max(self.backoff.next_delay(), min(retry_after or 0, MAX_RETRY_AFTER))
        self.outages.failed(SERVER, f"{reason}; trying again with backoff", level)
        self.report.failed(reason)

    def register(self):
        """Register with the server and size the backlog for its interval; raise ServerError when refused."""
        self.registration = None
        registration = self.client.register(self.identity)
        self.registration, self.interval = registration, registration.push_interval
        self.backlog.resize(registration.push_interval)
        if self.next_collect is None:
            self.next_collect = self.clock()
        log.info("registered as %s: pushing every %d s", registration.agent_id, registration.push_interval)

    def send(self, body, keep_alive=False):
        """Push body; on 401 register again and retry it once; raise ServerError when not taken.

        Unless keep_alive, the connection is closed once the server has answered: an agent holds no
        connection between pushes an interval apart, only while it sends its backlog back to back.
        """
        try:
            self.client.push(self.registration, body, keep_alive)
        except Refused as error:
            if error.status != 401:
                raise
            log.info("the server refused the agent token (expired, or the agent was deleted): registering again")
            self.register()
            self.client.push(self.registration, body, keep_alive)

    def flush(self):
        """Send the backlog oldest first, stopping early when asked to stop; raise ServerError on trouble."""
        if len(self.backlog) > 1:
            log.info("sending %d queued pushes, oldest first", len(self.backlog))
        while len(self.backlog) and not self.stopping.is_set():
            body = self.backlog.oldest()
            try:
                self.send(body, keep_alive=len(self.backlog) > 1)
            except Refused as error:
                if error.status not in BODY_REJECTED:
                    self.registration = None  # this agent is refused: register again, with backoff
                    raise
                log.error("dropped the push collected at %s: %s", body["timestamp"], error)
                self.report.rejected_one()
                self.report.failed(str(error))
            else:
                log.debug("pushed the sample collected at %s", body["timestamp"])
                self.report.pushed(body)
            self.backlog.remove_oldest()
