"""An OTLP/HTTP trace export body as it arrives: media type, gzip, size limit → `Decoded`.

The receiver and the benchmark share this, so what is measured is what is served. The size
limit applies to the body as sent and again after gunzip: decompression stops as soon as the
output passes the limit, so a small gzip bomb costs at most `max_body` bytes of memory.
"""

from __future__ import annotations

import zlib

from apm_tui.sources.otlp.otlp_json import OtlpDecodeError, decode_json
from apm_tui.sources.otlp.spans import Decoded

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
#: Media types accepted for protobuf bodies (application/protobuf is the newer IANA name).
PROTOBUF_TYPES = (PROTOBUF, "application/protobuf")
DEFAULT_MAX_BODY = 16 << 20


class BodyTooLarge(ValueError):
    """The body (or its gunzipped form) is over the limit: HTTP 413."""


class UnsupportedMedia(ValueError):
    """A content type or content encoding this receiver does not take: HTTP 415."""


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` → `application/json`; raises `UnsupportedMedia`."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == JSON:
        return JSON
    if kind in PROTOBUF_TYPES:
        return PROTOBUF
    said = f"unsupported content type {kind[:80]!r}" if kind else "no content type"
    raise UnsupportedMedia(f"{said}: send {JSON} or {PROTOBUF} (OTLP/HTTP)")


def is_gzip(content_encoding: str | None) -> bool:
    """True for gzip, False for none / identity; raises `UnsupportedMedia` otherwise."""
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        return False
    if coding in ("gzip", "x-gzip"):
        return True
    raise UnsupportedMedia(f"unsupported content encoding {coding[:40]!r}: send gzip or none")


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip (several members allowed), stopping once the output passes `limit`."""
    out = bytearray()
    rest = data
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise OtlpDecodeError(f"not valid gzip: {exc}") from None
        if len(out) > limit:
            raise BodyTooLarge(f"the body is over {limit} bytes after gunzip")
        if not inflater.eof:
            if inflater.unconsumed_tail:  # stopped at the limit with input left: too large
                raise BodyTooLarge(f"the body is over {limit} bytes after gunzip")
            raise OtlpDecodeError("not valid gzip: the stream is truncated")
        rest = inflater.unused_data
        if not rest.strip(b"\0"):  # trailing zero padding is allowed, as gzip(1) allows it
            return bytes(out)


def decode_body(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Decoded:
    """Decode one export body. Raises `UnsupportedMedia` (415), `BodyTooLarge` (413) or
    `OtlpDecodeError` (400); rejected spans are counted in the result, not raised."""
    kind = media_type(content_type)
    if is_gzip(content_encoding):
        body = gunzip(body, max_body)
    elif len(body) > max_body:
        raise BodyTooLarge(f"the body is over {max_body} bytes")
    if kind == JSON:
        return decode_json(body)
    from apm_tui.sources.otlp.proto import decode_protobuf

    return decode_protobuf(body)
