"""The round trips and statements tests/wire_count.py counts, from the bytes of PostgreSQL's protocol."""

import struct

from wire_count import _Stream


def message(kind, body=b""):
    """Return one typed message of the frontend protocol: its type byte, its length, its body."""
    return kind + struct.pack("!i", 4 + len(body)) + body


STARTUP = struct.pack("!ii", 8 + 5, 196608) + b"user\0"  # protocol 3.0, then its parameters
QUERY = message(b"Q", b"SELECT 1\0")
EXTENDED = message(b"P", b"\0SELECT 1\0\0\0") + message(b"B", b"\0\0" + bytes(6)) + message(b"E", b"\0" + bytes(4))


def started():
    stream = _Stream()
    stream.client_sent(STARTUP)
    stream.server_sent()
    return stream


def test_a_query_then_another_after_its_answer_are_two_round_trips():
    stream = started()
    assert stream.client_sent(QUERY) == (1, True)
    stream.server_sent()
    assert stream.client_sent(QUERY) == (1, True)


def test_messages_sent_before_the_answer_belong_to_the_round_trip_under_way():
    stream = started()
    assert stream.client_sent(EXTENDED) == (1, True)  # queued in a pipeline: no answer asked yet
    assert stream.client_sent(EXTENDED + message(b"S")) == (1, False)
    stream.server_sent()
    assert stream.client_sent(EXTENDED + message(b"S")) == (1, True)


def test_a_flush_after_the_sync_was_answered_starts_no_round_trip():
    stream = started()
    assert stream.client_sent(EXTENDED + message(b"S")) == (1, True)
    stream.server_sent()
    assert stream.client_sent(message(b"H")) == (0, False)  # psycopg's Flush after Sync, sent apart
    assert stream.client_sent(QUERY) == (1, True)  # the next statement still waits for its answer


def test_terminate_and_cancel_are_not_waited_for():
    stream = started()
    assert stream.client_sent(message(b"X")) == (0, False)
    cancel = _Stream()
    assert cancel.client_sent(struct.pack("!iiii", 16, 80877102, 1234, 5678)) == (0, False)


def test_a_message_split_across_reads_counts_once_it_is_whole():
    stream = started()
    assert stream.client_sent(QUERY[:3]) == (0, False)
    assert stream.client_sent(QUERY[3:]) == (1, True)


def test_the_startup_message_is_the_first_round_trip():
    assert _Stream().client_sent(STARTUP) == (0, True)
