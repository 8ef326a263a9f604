"""Reading a request body within limits, before anything parses it.

A body is refused (413) as soon as it is known to be too big: by its Content-Length before
the first byte is read, else by counting bytes while reading (chunked uploads carry no
length), and again while gunzipping (a 1 MB gzip body can expand to gigabytes: the zip bomb).
What was read up to the limit is kept, so the dead letter can carry the start of the body.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request

from registry_service.gateway import errors


@dataclass
class BodyError(Exception):
    """The body cannot be used; ``raw`` is what was read (possibly only its start)."""

    status: int
    reason: str
    message: str
    raw: bytes

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Body:
    """A request body as sent (``raw``) and decoded (``data``, gunzipped when it was gzip)."""

    raw: bytes
    data: bytes


async def read_body(
    request: Request,
    *,
    max_body_bytes: int,
    max_decompressed_bytes: int,
    keep_bytes: int,
) -> Body:
    """The body, or BodyError (413 too large, 415 unknown encoding, 400 broken gzip).

    ``keep_bytes`` bounds what a BodyError keeps of a body that was too large.
    """
    cached = getattr(request.state, "refract_body", None)
    if isinstance(cached, Body):
        return cached
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise BodyError(
                400, errors.MALFORMED_BATCH, "Content-Length is not a number", b""
            ) from None
        if length > max_body_bytes:
            head = await _read_head(request, keep_bytes)
            raise BodyError(
                413,
                errors.PAYLOAD_TOO_LARGE,
                f"the body is {length} bytes (Content-Length), over the {max_body_bytes}-byte limit",
                head,
            )
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_body_bytes:
                chunks.append(chunk)
                head = b"".join(chunks)[:keep_bytes]
                raise BodyError(
                    413,
                    errors.PAYLOAD_TOO_LARGE,
                    f"the body is over the {max_body_bytes}-byte limit (stopped reading at {total})",
                    head,
                )
            chunks.append(chunk)
    except ClientDisconnect:
        raise BodyError(
            400, errors.MALFORMED_BATCH, "the client disconnected mid-body", b""
        ) from None
    raw = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        data = raw
    elif encoding in ("gzip", "x-gzip"):
        data = gunzip(raw, max_decompressed_bytes)
    else:
        raise BodyError(
            415,
            errors.UNSUPPORTED_ENCODING,
            f"Content-Encoding {encoding[:40]!r} is not supported (use gzip or none)",
            raw,
        )
    if len(data) > max_decompressed_bytes:
        raise BodyError(
            413,
            errors.PAYLOAD_TOO_LARGE,
            f"the body is {len(data)} bytes, over the {max_decompressed_bytes}-byte limit",
            raw,
        )
    body = Body(raw, data)
    request.state.refract_body = body
    return body


def gunzip(raw: bytes, limit: int) -> bytes:
    """``raw`` gunzipped, never producing more than ``limit`` bytes (BodyError 413 beyond)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise BodyError(
            400, errors.MALFORMED_JSON, f"the body is not valid gzip: {exc}", raw
        ) from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise BodyError(
            413,
            errors.PAYLOAD_TOO_LARGE,
            f"the body expands beyond the {limit}-byte limit when decompressed",
            raw,
        )
    if not inflater.eof:
        raise BodyError(400, errors.MALFORMED_JSON, "the gzip body is truncated", raw)
    if inflater.unused_data:
        raise BodyError(400, errors.MALFORMED_JSON, "bytes follow the gzip stream", raw)
    return data


async def _read_head(request: Request, keep: int) -> bytes:
    """Up to ``keep`` bytes of a body that will be refused (for its dead letter)."""
    head = bytearray()
    try:
        async for chunk in request.stream():
            head += chunk[: keep - len(head)]
            if len(head) >= keep:
                break
    except ClientDisconnect:
        pass
    return bytes(head)
