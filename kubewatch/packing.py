"""One push's samples of one kind, packed into a small blob and back.

A blob holds, compressed, the objects' per-agent keys and then one column per metric: doubles
(NaN for "not measured") or 64-bit integers (-1 for "not measured"; pushed integers are never
negative). Column by column, a push of 30 containers packs to about 27 bytes a sample.
"""

import math
import struct
import sys
import threading
import zlib
from array import array

import zstandard

# The first byte of every blob says how the rest is compressed. Blobs of format 1 (raw deflate)
# were written before format 2 (a zstd frame) and are still read.
DEFLATED, ZSTD = 1, 2
FORMAT = ZSTD  # what pack writes
# zstd's level 3 against deflate's level 6, measured with bench/history.py: about a quarter of the
# time packing takes, for blobs about 4 % larger and 7 % more bytes on disk over the raw tier.
_LEVEL = 3
_COUNT = struct.Struct("<I")
_SWAP = sys.byteorder == "big"  # blobs are little-endian on every machine
_codecs = threading.local()  # a zstd (de)compressor is not to be used by two threads at once


def pack(metrics, keys, rows):
    """Return the blob of one push: keys[i] is the key of the object measured in rows[i]."""
    columns = [_column("I", keys)]
    for metric, values in zip(metrics, zip(*rows) if rows else [()] * len(metrics)):
        typecode = "q" if metric.integer else "d"
        try:  # a column with every value measured is taken as it is, without a loop in Python
            columns.append(_column(typecode, values))
            continue
        except TypeError:  # a None: not measured
            pass
        missing = _NOT_MEASURED[metric.integer]
        if values.count(None) == len(values):  # none measured (a metric the agent does not report): no loop either
            columns.append(_column(typecode, [missing]) * len(values))
        else:
            columns.append(_column(typecode, [missing if value is None else value for value in values]))
    return bytes([FORMAT]) + _compressor().compress(_COUNT.pack(len(keys)) + b"".join(columns))


def unpack(metrics, blob):
    """Return {key: row} from a blob, each row a tuple of the metrics' values (None: not measured)."""
    return unpack_keys(metrics, blob, None, None)


def unpack_keys(metrics, blob, first_key, end_key):
    """Return {key: row} as unpack does, of the keys with first_key <= key < end_key only (None: no bound).

    For readers that hold a slice of a big push's objects at a time (the rollup job).
    """
    data = _decompressed(blob)
    count = _COUNT.unpack_from(data)[0]
    keys, offset = _read("I", data, _COUNT.size, count)
    picked = None
    if keys and (first_key is not None and min(keys) < first_key or end_key is not None and max(keys) >= end_key):
        low = -1 if first_key is None else first_key
        high = math.inf if end_key is None else end_key
        picked = [index for index, key in enumerate(keys) if low <= key < high]
        keys = [keys[index] for index in picked]
    columns = []
    for metric in metrics:
        values, offset = _read("q" if metric.integer else "d", data, offset, count)
        if picked is not None:
            values = [values[index] for index in picked]
        columns.append([None if value == -1 else value for value in values] if metric.integer
                       else [None if value != value else value for value in values])  # NaN is not equal to itself
    return dict(zip(keys, zip(*columns))) if columns else dict.fromkeys(keys, ())


def unpack_columns(metrics, blob):
    """Return (keys, columns) of a blob as arrays, one column per metric: NaN or -1 where not measured.

    For readers of every value (the Prometheus exporter) that skip the not-measured ones themselves.
    """
    data = _decompressed(blob)
    count = _COUNT.unpack_from(data)[0]
    keys, offset = _read("I", data, _COUNT.size, count)
    columns = []
    for metric in metrics:
        values, offset = _read("q" if metric.integer else "d", data, offset, count)
        columns.append(values)
    return keys, columns


def unpack_one(metrics, blob, key):
    """Return the row of one key from a blob (as unpack would), or None when the push did not have it."""
    data = _decompressed(blob)
    count = _COUNT.unpack_from(data)[0]
    keys, offset = _read("I", data, _COUNT.size, count)
    try:
        index = keys.index(key)
    except ValueError:
        return None
    row = []
    for metric in metrics:
        width = _WIDTH[metric.integer]
        value = width.unpack_from(data, offset + index * width.size)[0]
        row.append(None if (value == -1 if metric.integer else value != value) else value)
        offset += count * width.size
    return tuple(row)


_WIDTH = {True: struct.Struct("<q"), False: struct.Struct("<d")}
_NOT_MEASURED = {True: -1, False: math.nan}


def _compressor():
    """Return this thread's zstd compressor."""
    try:
        return _codecs.compressor
    except AttributeError:
        _codecs.compressor = zstandard.ZstdCompressor(level=_LEVEL)
        return _codecs.compressor


def _decompressor():
    """Return this thread's zstd decompressor."""
    try:
        return _codecs.decompressor
    except AttributeError:
        _codecs.decompressor = zstandard.ZstdDecompressor()
        return _codecs.decompressor


def _decompressed(blob):
    """Return a blob's columns, uncompressed, by the format its first byte names."""
    if blob[0] == ZSTD:
        return _decompressor().decompress(memoryview(blob)[1:])
    if blob[0] == DEFLATED:
        return zlib.decompress(memoryview(blob)[1:], -15)
    raise ValueError(f"unknown sample format {blob[0]}")


def _column(typecode, values):
    column = array(typecode, values)
    if _SWAP:
        column.byteswap()
    return column.tobytes()


def _read(typecode, data, offset, count):
    column = array(typecode)
    end = offset + count * column.itemsize
    column.frombytes(data[offset:end])
    if _SWAP:
        column.byteswap()
    return column, end
