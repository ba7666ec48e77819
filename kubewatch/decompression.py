"""Request bodies sent compressed (Content-Encoding: gzip or deflate), decompressed before anyone reads them.

WSGI middleware, so that a compressed push takes the same path as a plain one, the push shortcut
included. MAX_CONTENT_LENGTH bounds the body as sent; MAX_DECOMPRESSED_LENGTH bounds what it
decompresses to, checked while decompressing: a small bomb stops at the bound, never expands whole.
"""

import io
import zlib

from flask import Request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.wsgi import get_content_length

# The environ key that marks a decompressed body; its value is the size as sent.
DECOMPRESSED = "kubewatch.decompressed_from"
# zlib's window bits: 16 + 15 reads a gzip member; 15 a zlib stream (HTTP's "deflate"); -15 raw deflate,
# which some clients send as "deflate" all the same.
_WBITS = {"gzip": (31,), "x-gzip": (31,), "deflate": (15, -15)}


def init_app(app):
    """Decompress request bodies in front of app's WSGI app; Flask then reads them within MAX_DECOMPRESSED_LENGTH."""
    app.request_class = _Request
    app.wsgi_app = Decompress(app, app.wsgi_app)


class _Request(Request):
    @property
    def max_content_length(self):
        """The bound of the body Flask reads: the decompressed one for a body that was compressed."""
        if DECOMPRESSED in self.environ:
            return self.environ[DECOMPRESSED + ".limit"]
        return super().max_content_length


class Decompress:
    """WSGI middleware: replaces a gzip or deflate body with what it decompresses to; other requests pass as they are."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        """Answer one WSGI request, its body decompressed when it came compressed."""
        encoding = environ.get("HTTP_CONTENT_ENCODING")
        if encoding:
            try:
                self._decompress(environ, encoding.strip().lower())
            except HTTPException as error:
                return self._answer(error, environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _decompress(self, environ, encoding):
        """Put the decompressed body in environ; raise 413, 415 or 400 with the reason."""
        if encoding == "identity":
            del environ["HTTP_CONTENT_ENCODING"]
            return
        if encoding not in _WBITS:
            raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none.")
        config = self.app.config
        sent_limit, limit = config["MAX_CONTENT_LENGTH"], config["MAX_DECOMPRESSED_LENGTH"]
        length = get_content_length(environ)
        if sent_limit is not None and length is not None and length > sent_limit:
            raise too_large(f"The request body is larger than the {sent_limit} bytes this server takes "
                            "(max_content_length).")
        stream = environ["wsgi.input"]
        # Without a length (chunked), read one byte past the bound to know it was passed.
        sent = stream.read(length) if length is not None else stream.read(
            sent_limit + 1 if sent_limit is not None else -1)
        if sent_limit is not None and len(sent) > sent_limit:
            raise too_large(f"The request body is larger than the {sent_limit} bytes this server takes "
                            "(max_content_length).")
        body = _inflate(sent, _WBITS[encoding], limit)
        environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                        DECOMPRESSED: len(sent), DECOMPRESSED + ".limit": limit})
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        del environ["HTTP_CONTENT_ENCODING"]

    def _answer(self, error, environ, start_response):
        """Answer as Flask answers an error: the one error shape, the after_request headers."""
        environ.pop("HTTP_CONTENT_ENCODING", None)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(), "0"  # the body is not read again
        with self.app.request_context(environ):
            response = self.app.finalize_request(self.app.handle_user_exception(error))
            return response(environ, start_response)


def too_large(message):
    return RequestEntityTooLarge(message)


def _inflate(sent, wbits_to_try, limit):
    """Return sent decompressed, at most limit bytes; raise 413 past it, 400 when it is not that encoding."""
    for wbits in wbits_to_try:
        try:
            return _inflate_members(sent, wbits, limit)
        except zlib.error:
            continue
    raise BadRequest("The request body is not valid for its Content-Encoding.")


def _inflate_members(sent, wbits, limit):
    """Decompress every member (gzip allows several in a row), never holding more than limit + 1 bytes."""
    parts, size, rest = [], 0, sent
    while True:
        inflater, data = zlib.decompressobj(wbits), rest
        while True:
            # A bound of 0 would mean none to zlib: size is at most limit here, so it is at least 1.
            part = inflater.decompress(data, limit + 1 - size)
            size += len(part)
            if size > limit:
                raise too_large(f"The request body decompresses to more than the {limit} bytes this server "
                                "takes (max_decompressed_length).")
            parts.append(part)
            data = inflater.unconsumed_tail
            if inflater.eof or not (data or part):
                break
        if not inflater.eof:
            raise zlib.error("truncated")
        rest = inflater.unused_data
        if not rest:
            return b"".join(parts)
        if wbits != 31:  # only gzip has members: anything after a zlib stream is garbage
            raise zlib.error("trailing bytes")
