"""A wrong --url is answered with one line that says what is wrong and what to try."""

import time

import pytest

from kubewatch_agent.urls import BadURL, server_url
from live_server import LiveServer
from test_agent_cli import agent, agent_env


@pytest.fixture(scope="module")
def server(db_engine, tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("server")).start()
    yield live
    live.stop()


@pytest.mark.parametrize("typed, expected", [
    ("http://monitor.lan:8080", "http://monitor.lan:8080"),
    ("https://monitor.lan/", "https://monitor.lan"),
    ("  http://[::1]:8080/ ", "http://[::1]:8080"),
    ("http://monitor.lan/kubewatch", "http://monitor.lan/kubewatch"),  # behind a proxy, under a path
])
def test_a_server_url_is_kept_without_its_trailing_slash(typed, expected):
    assert server_url(typed) == expected


@pytest.mark.parametrize("typed, message", [
    ("127.0.0.1:8080", "no scheme in --url '127.0.0.1:8080': did you mean http://127.0.0.1:8080?"),
    ("localhost:8080", "no scheme in --url 'localhost:8080': did you mean http://localhost:8080?"),
    ("monitor.lan", "no scheme in --url 'monitor.lan': did you mean http://monitor.lan?"),
    ("ftp://monitor.lan", "--url 'ftp://monitor.lan' has the scheme ftp: the server speaks http:// (or https:// "
                          "behind a TLS proxy)"),
    ("http://:8080", "no host in --url 'http://:8080': e.g. http://monitor.lan:8080"),
    ("http://monitor.lan:80800", "--url 'http://monitor.lan:80800' has a port that is not a number from 1 to 65535"),
    ("http://monitor.lan:8080/?x=1", "--url 'http://monitor.lan:8080/?x=1' should be the server's root, "
                                     "e.g. http://monitor.lan:8080"),
])
def test_a_url_that_cannot_work_says_what_to_try(typed, message):
    with pytest.raises(BadURL) as raised:
        server_url(typed)
    assert str(raised.value) == message


def run_once(url, key):
    return agent("--once", "--platform", "host", "--url", url, "--api-key", key, env=agent_env())


def test_a_url_without_scheme_exits_2_with_the_url_to_use(server):
    typed = server.url.removeprefix("http://")
    done = run_once(typed, server.first_run_key())
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"kubewatch-agent: no scheme in --url '{typed}': did you mean {server.url}?\n"


def test_https_against_the_plain_http_server_says_the_handshake_failed(server):
    started = time.monotonic()
    done = run_once(server.url.replace("http://", "https://"), server.first_run_key())
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"kubewatch-agent: TLS handshake failed: is the server plain HTTP? "
                           f"try --url {server.url}\n")
    assert time.monotonic() - started < 20


def test_a_url_below_the_server_s_root_says_to_give_the_root(server):
    done = run_once(server.url + "/api/v1", server.first_run_key())
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"kubewatch-agent: the server answered 404 at /api/v1/api/v1/agents/register: "
                           f"--url should be the server's root ({server.url})\n")
