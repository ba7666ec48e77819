"""Packed samples: what pack writes, and blobs of the earlier deflate format still read."""

import pytest

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
