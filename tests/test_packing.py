"""Packed samples: what pack writes, every number kept exactly, one key read alone, blobs of the deflate format read."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubewatch import packing
from kubewatch.kinds import CONTAINERS
from stored import deflated

KEYS = [3, 1, 7]
ROWS = [(12.5, 100.0, 2048.0, 10, 20, 0), (None, 50.5, None, None, 7, 1), (0.0, 0.0, 512.0, 0, 0, None)]


def test_pack_writes_zstd_frames():
    blob = packing.pack(CONTAINERS.metrics, KEYS, ROWS)
    assert blob[0] == packing.ZSTD
    assert blob[1:5] == b"\x28\xb5\x2f\xfd"  # a zstd frame's magic number


def test_blobs_deflated_before_zstd_are_still_read():
    old = deflated(packing.pack(CONTAINERS.metrics, KEYS, ROWS))
    assert packing.unpack(CONTAINERS.metrics, old) == dict(zip(KEYS, ROWS))
    assert packing.unpack_one(CONTAINERS.metrics, old, 1) == ROWS[1]


def test_an_unknown_format_is_refused():
    blob = packing.pack(CONTAINERS.metrics, KEYS, ROWS)
    with pytest.raises(ValueError, match="unknown sample format 9"):
        packing.unpack(CONTAINERS.metrics, b"\x09" + blob[1:])


_value = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
_counter = st.one_of(st.none(), st.integers(min_value=0, max_value=10 ** 12))
_rows = st.lists(st.tuples(_value, _value, _value, _counter, _counter, _counter), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(_rows)
def test_packing_keeps_every_number_exactly(rows):
    keys = list(range(1, len(rows) + 1))
    assert packing.unpack(CONTAINERS.metrics, packing.pack(CONTAINERS.metrics, keys, rows)) == dict(zip(keys, rows))


@settings(max_examples=100, deadline=None)
@given(_rows, st.data())
def test_unpacking_one_key_gives_its_row_as_unpacking_all(rows, data):
    keys = data.draw(st.lists(st.integers(min_value=1, max_value=2**32 - 1), min_size=len(rows), max_size=len(rows),
                              unique=True))
    blob = packing.pack(CONTAINERS.metrics, keys, rows)
    everything = packing.unpack(CONTAINERS.metrics, blob)
    for key in keys:
        assert packing.unpack_one(CONTAINERS.metrics, blob, key) == everything[key]
    assert packing.unpack_one(CONTAINERS.metrics, blob, 0) is None
